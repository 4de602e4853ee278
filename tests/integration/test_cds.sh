#!/usr/bin/env bash
# test_cds.sh - the common data set and the statistics through the vmdedup command,
# against the throwaway cluster, on a small fleet made by vmd-gen.
#
#   fleet         4 VMs (vmd-gen base --os-family 1, seeds 1-4, 64 MiB), backed up
#   update        `cds update --top 5`: chunks selected and copied into popular
#                 containers p.<id16> that live in the popular pool, whose size is
#                 above the data pool's; `cds show` agrees; the popular containers
#                 pass the class's scrub (`inspect` shows them POPULAR)
#   incremental   a second update copies nothing and publishes a new version
#   budget        a smaller --cds-budget loads fewer entries, within the budget
#   stats         fractions in [0,1], availability in [0,1], with the popular pool's
#                 size >= as if it had the data pool's
#   kill -9       an update killed before marking (containers written) and one
#                 killed before publishing (entries marked, manifest written): the
#                 published CDS is unchanged, backups and restores work, the next
#                 update is refused while the lock lasts, then succeeds (adopting
#                 what the second one marked)
#   level 3       a new VM of the family backed up with a budget too small to load
#                 the CDS stores its OS chunks itself; after `cds update --min-vms 2`
#                 another stores markedly fewer new bytes (level 3), the index counts
#                 its popular references, and every snapshot restores byte for byte
#   bad input     options out of range, unknown sub-verb, unknown VM: exit 2 / 1
#                 with one error line
#
# usage: test_cds.sh PATH/TO/vmdedup PATH/TO/vmd-gen SCRATCH_PARENT
#        (CEPH_CONF must point at the cluster)
# shellcheck source-path=SCRIPTDIR source=../lib/vmd-test.sh
. "$(dirname "$0")/../lib/vmd-test.sh"
vmd_test_init test_cds
vmdedup=${1:?usage: test_cds.sh PATH/TO/vmdedup PATH/TO/vmd-gen SCRATCH_PARENT}
gen=${2:?usage: test_cds.sh PATH/TO/vmdedup PATH/TO/vmd-gen SCRATCH_PARENT}
scratch_parent=${3:?usage: test_cds.sh PATH/TO/vmdedup PATH/TO/vmd-gen SCRATCH_PARENT}
vmd_need_cluster

vmd_scratch "$scratch_parent" test_cds # dir, out, err; bg_pids are killed at exit
ns="tc-$$"

vmd() {
    "$vmdedup" --namespace "$ns" "$@" >"$out" 2>"$err" </dev/null
}

# jnum KEY [FILE]: the first number after "KEY": in a JSON text (default: $out)
jnum() {
    vmd_jnum "$1" "${2:-$out}"
}

# popular objects of the namespace
popular_objects() {
    rados -p vmd.popular --namespace "$ns" ls 2>/dev/null | grep -c '^p\.'
}

pool_size() {
    ceph osd pool get "$1" size 2>/dev/null | awk '{print $2}'
}

# check_bad NAME EXIT PATTERN -- ARGS: exits EXIT with one error line matching PATTERN
check_bad() {
    local name=$1 want=$2 pat=$3
    shift 4
    vmd "$@"
    local rc=$?
    if [ "$rc" -eq "$want" ] && grep -Eq -- "$pat" "$err" && [ "$(wc -l <"$err")" -eq 1 ]; then
        pass "$name"
    else
        fail "$name" "exit $rc, want $want"
    fi
}

# update_when_free ARGS: cds update, retried while a killed update's lock lasts (<= 45 s)
update_when_free() {
    local i
    for i in $(seq 1 45); do
        vmd cds update "$@" && return 0
        grep -q "lapses within" "$err" || return 1
        sleep 1
    done
    return 1
}

# kill_at STEP ARGS: starts cds update ARGS stalled before STEP, waits until WAITFOR
# says the stall was reached, then SIGKILLs it.
kill_at() {
    local step=$1 waitfor=$2 i
    shift 2
    VMD_CDS_TEST_STALL=$step "$vmdedup" --namespace "$ns" -q cds update "$@" \
        >"$dir/killed.out" 2>"$dir/killed.err" </dev/null &
    local pid=$!
    bg_pids+=("$pid")
    for i in $(seq 1 600); do
        eval "$waitfor" && break
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    bg_pids=()
}

restores() {
    local vm=$1 snap=$2 img=$3
    vmd restore "$vm" "$snap" "$dir/r.img" && cmp -s "$dir/r.img" "$img"
}

echo "Suite: cds"
if ! vmd init --partitions 16; then
    fail "init namespace $ns" "exit $?"
    exit 1
fi

# --- fleet ---------------------------------------------------------------------
ok=0
for i in 1 2 3 4; do
    "$gen" base --seed "$i" --size $((64 * 1024 * 1024)) --os-family 1 "$dir/vm$i.img" \
        >/dev/null 2>&1 || ok=1
    vmd backup "vm$i" "$dir/vm$i.img" -q || ok=1
done
judge "fleet of 4 VMs backed up" "backup failed" $ok

vmd cds show
judge "show before any update says none" "no 'no CDS'" "$(grep -q 'no CDS published' "$out"; echo $?)"

# --- first update ----------------------------------------------------------------
vmd cds update --top 5 --format json
rc=$?
cp "$out" "$dir/u1.json"
sel=$(jnum selected "$dir/u1.json")
added=$(jnum added "$dir/u1.json")
ok=1
[ $rc -eq 0 ] && [ "${sel:-0}" -gt 0 ] && [ "$added" = "$sel" ] &&
    [ "$(jnum containers_written "$dir/u1.json")" -ge 1 ] && [ "$(jnum version "$dir/u1.json")" = 1 ] && ok=0
judge "update --top 5 copies the most popular chunks" "rc $rc selected ${sel:-?} added ${added:-?}" $ok

unique=$(jnum unique_chunks "$dir/u1.json")
want=$(((unique * 5 + 99) / 100))
judge "update takes 5% of the unique chunks" "selected $sel of $unique" "$([ "$sel" -eq "$want" ]; echo $?)"

vmd cds show --format json
ok=1
[ "$(jnum version)" = 1 ] && [ "$(jnum entries)" = "$sel" ] && [ "$(jnum loaded)" = "$sel" ] &&
    [ "$(jnum threshold)" -ge 2 ] && ok=0
judge "show: version, entries, threshold, loaded" "$(cat "$out")" $ok
mpe=$(jnum mem_per_entry)
judge "show: memory per entry is about 80 bytes" "mem_per_entry $mpe" \
    "$(awk -v m="$mpe" 'BEGIN{exit !(m > 60 && m < 200)}'; echo $?)"
vmd cds show
judge "show, plain" "no version line" "$(grep -q '^CDS version 1' "$out"; echo $?)"

n=$(popular_objects)
judge "popular containers are in the popular pool" "$n objects" "$([ "$n" -ge 1 ]; echo $?)"
dsz=$(pool_size vmd.data)
psz=$(pool_size vmd.popular)
judge "popular pool size ($psz) is above the data pool's ($dsz)" "sizes" "$([ "$psz" -gt "$dsz" ]; echo $?)"
first=$(rados -p vmd.popular --namespace "$ns" ls | grep '^p\.' | sort | head -1)
vmd inspect "$first"
judge "inspect $first: a sealed popular container" "not POPULAR" \
    "$(grep -q 'POPULAR SEALED' "$out"; echo $?)"

# --- incremental -----------------------------------------------------------------
vmd cds update --top 5 --format json
rc=$?
ok=1
[ $rc -eq 0 ] && [ "$(jnum added)" = 0 ] && [ "$(jnum kept)" = "$sel" ] && [ "$(jnum version)" = 2 ] &&
    [ "$(popular_objects)" = "$n" ] && ok=0
judge "a second update copies nothing and publishes version 2" "$(head -c 300 "$out")" $ok

# --- budget ------------------------------------------------------------------------
vmd cds show --budget 20K --format json
l1=$(jnum loaded)
m1=$(jnum loaded_mem)
"$vmdedup" --namespace "$ns" --cds-budget 20K cds show --format json >"$dir/b2.json" 2>/dev/null
ok=1
[ "$l1" -gt 0 ] && [ "$l1" -lt "$sel" ] && [ "$m1" -le 20480 ] && [ "$(jnum loaded "$dir/b2.json")" = "$l1" ] && ok=0
judge "a 20 KiB budget loads fewer entries, within it" "loaded $l1 of $sel in $m1 bytes" $ok

# --- stats -------------------------------------------------------------------------
vmd stats --format json
ok=$?
cp "$out" "$dir/stats.json"
frac=$(jnum global_fraction "$dir/stats.json")
bad=$(grep -o '"with_popular":[0-9.e+-]*,"data_size":[0-9.e+-]*' "$dir/stats.json" |
    awk -F'[:,]' '{w=$2; d=$4; if (w < 0 || w > 1 || d < 0 || d > 1 || w < d - 1e-12) n++} END{print n+0}')
rows=$(grep -o '"with_popular"' "$dir/stats.json" | wc -l)
[ "$ok" -eq 0 ] && [ "$bad" -eq 0 ] && [ "$rows" -ge 5 ] &&
    awk -v f="$frac" 'BEGIN{exit !(f >= 0 && f <= 1)}' && ok=0 || ok=1
judge "stats: fraction in [0,1], availability in [0,1], with extra >= without" \
    "fraction $frac, $bad bad of $rows rows" $ok
vmd stats vm1
judge "stats VM, plain" "no snapshot line" "$(grep -q 'P(restorable)' "$out"; echo $?)"

# --- kill -9 before marking --------------------------------------------------------
before=$(popular_objects)
kill_at mark '[ "$(popular_objects)" -gt "$before" ]' --top 10
vmd cds show --format json
judge "killed before marking: the published CDS is unchanged" "$(head -c 200 "$out")" \
    "$([ "$(jnum version)" = 2 ] && [ "$(jnum entries)" = "$sel" ]; echo $?)"
"$gen" mutate --seed 9 --in "$dir/vm1.img" --out "$dir/vm5.img" --dirty-map "$dir/vm5.map" \
    >/dev/null 2>&1
vmd backup vm5 "$dir/vm5.img" -q
ok=$?
restores vm5 1 "$dir/vm5.img" && restores vm1 1 "$dir/vm1.img" || ok=1
judge "after the kill, backup and restores work" "exit/cmp" $ok
vmd cds update --top 10
judge "the killed update's lock refuses the next one, and says it lapses" "no busy message" \
    "$(grep -q 'lapses within' "$err"; echo $?)"
update_when_free --top 10 --format json
ok=$?
cp "$out" "$dir/u3.json"
judge "once the lock lapsed, the next update succeeds" "exit" $ok
v3=$(jnum version "$dir/u3.json")

# --- kill -9 before publishing -----------------------------------------------------
kill_at publish "rados -p vmd.meta --namespace $ns ls 2>/dev/null | grep -q 'cds.0*$((v3 + 1))\$'" --top 20
vmd cds show --format json
judge "killed before publishing: the published CDS is unchanged" "$(head -c 200 "$out")" \
    "$([ "$(jnum version)" = "$v3" ]; echo $?)"
"$gen" mutate --seed 10 --in "$dir/vm2.img" --out "$dir/vm6.img" --dirty-map "$dir/vm6.map" \
    >/dev/null 2>&1
vmd backup vm6 "$dir/vm6.img" -q
ok=$?
restores vm6 1 "$dir/vm6.img" && restores vm2 1 "$dir/vm2.img" && restores vm5 1 "$dir/vm5.img" ||
    ok=1
judge "after the second kill, backup and restores work" "exit/cmp" $ok
update_when_free --top 20 --format json
ok=$?
cp "$out" "$dir/u4.json"
[ $ok -eq 0 ] && [ "$(jnum adopted "$dir/u4.json")" -gt 0 ] && [ "$(jnum version "$dir/u4.json")" -gt $((v3 + 1)) ] || ok=1
judge "the next update adopts what the killed one marked" "$(head -c 300 "$dir/u4.json")" $ok
n=$(rados -p vmd.meta --namespace "$ns" ls | grep -c '^cds\.')
judge "unpublished manifests are tidied (at most current and previous left)" "$n cds.* objects" \
    "$([ "$n" -le 2 ]; echo $?)"
vmd stats --format json
judge "stats after the updates" "exit" $?

# --- level 3 in backup ------------------------------------------------------------
# Two new VMs of the same OS family: vm7 backed up with a budget too small to load any
# of the CDS (levels 1-2 only: VM-centric, it stores its OS chunks itself), vm8 after an
# update that takes every chunk held by 2 VMs or more (level 3 finds the OS chunks).
popular_refs() {
    local p total=0 v
    for p in $(seq 0 15); do
        "$vmdedup" --namespace "$ns" inspect "$(printf 'idx.%04x' "$p")" --format json \
            >"$dir/idx.json" 2>/dev/null || continue
        v=$(jnum popular_refs "$dir/idx.json")
        total=$((total + ${v:-0}))
    done
    echo "$total"
}
for i in 7 8; do
    "$gen" base --seed "$i" --size $((64 * 1024 * 1024)) --os-family 1 "$dir/vm$i.img" \
        >/dev/null 2>&1
done
vmd --cds-budget 1K backup vm7 "$dir/vm7.img" -q --format json
cp "$out" "$dir/b7.json"
update_when_free --min-vms 2 --format json
judge "update --min-vms 2" "exit" $?
refs0=$(popular_refs)
vmd backup vm8 "$dir/vm8.img" -q --format json
cp "$out" "$dir/b8.json"
new7=$(jnum new_bytes "$dir/b7.json")
new8=$(jnum new_bytes "$dir/b8.json")
l3_7=$(jnum level3_bytes "$dir/b7.json")
l3_8=$(jnum level3_bytes "$dir/b8.json")
judge "without the CDS loaded, level 3 finds nothing" "level3 $l3_7" "$([ "$l3_7" = 0 ]; echo $?)"
judge "with the CDS, level 3 finds the shared OS chunks" "level3 $l3_8 new $new8 (vm7 $new7)" \
    "$([ "${l3_8:-0}" -gt 0 ] && [ $((new8 * 10)) -lt $((new7 * 8)) ]; echo $?)"
refs1=$(popular_refs)
judge "the backup counted its popular references in the index" "popular_refs $refs0 -> $refs1" \
    "$([ "$refs1" -gt "$refs0" ]; echo $?)"
ok=0
restores vm7 1 "$dir/vm7.img" && restores vm8 1 "$dir/vm8.img" || ok=1
judge "snapshots using popular copies restore byte for byte" "cmp" $ok
"$gen" mutate --seed 81 --in "$dir/vm8.img" --out "$dir/vm8b.img" --dirty-map "$dir/vm8b.map" \
    >/dev/null 2>&1
vmd backup vm8 "$dir/vm8b.img" --dirty-map "$dir/vm8b.map" -q
ok=$?
restores vm8 2 "$dir/vm8b.img" && restores vm8 1 "$dir/vm8.img" || ok=1
for i in 1 2 3 4; do restores "vm$i" 1 "$dir/vm$i.img" || ok=1; done
judge "the next snapshot inherits popular references; every snapshot restores" "exit/cmp" $ok
vmd stats vm8 --format json
judge "stats vm8 shows level 3 savings" "$(head -c 300 "$out")" \
    "$([ "$(jnum level3_bytes)" -gt 0 ]; echo $?)"

# --- bad input ---------------------------------------------------------------------
check_bad "--top 0 is a usage error" 2 "--top wants a percentage" -- cds update --top 0
check_bad "--top abc is a usage error" 2 "--top wants a percentage" -- cds update --top abc
check_bad "--min-vms 0 is a usage error" 2 "--min-vms wants" -- cds update --min-vms 0
check_bad "--max-bytes x is a usage error" 2 "--max-bytes wants" -- cds update --max-bytes x
check_bad "--cds-budget 0 is a usage error" 2 "--cds-budget wants" -- --cds-budget 0 cds show
check_bad "unknown cds sub-verb" 2 "usage: vmdedup cds" -- cds frob
check_bad "--top on show" 2 "apply to cds update only" -- cds show --top 5
check_bad "--osd-failure 2 is a usage error" 2 "--osd-failure wants" -- stats --osd-failure 2
check_bad "stats of an unknown VM" 1 "unknown VM nosuch" -- stats nosuch
"$vmdedup" --namespace "$ns-none" cds show >"$out" 2>"$err" </dev/null
judge "cds show on a store not initialised" "exit" \
    "$([ $? -eq 1 ] && grep -q 'not initialised' "$err"; echo $?)"

vmd_test_summary
