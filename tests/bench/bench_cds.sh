#!/usr/bin/env bash
# bench_cds.sh - the size of the common data set (level 3) against what it saves:
# a sweep of `vmdedup cds update --top P` on one generated fleet (a benchmark, not a
# test: nothing fails on a poor figure; a wrong restore or lookup fails).
#
# The fleet (docs/datasets.md): `vmd-gen fleet` with N VMs x K snapshots, cached in
# $VMD_FLEET_CACHE (default /var/tmp/vmdedup-fleets) keyed by the parameters and the
# source of vmd-gen. Its VMs are split in two halves, in name order:
#   training  the first half: backed up first; the CDS is built from the popularity
#             their chunks reach in the index (only chunks held by >= 2 VMs qualify)
#   new       the second half: VMs of the same OS families backed up after the CDS is
#             published, so level 3 can find their OS and popular chunks
#
# One throwaway cluster (ceph-conf/vmd-cluster, 1 memstore OSD by default, in
# WORK/cluster, always stopped: trap). For each P in the sweep (default 0 0.5 1 1.5 2 5),
# a fresh store in a namespace of its own (bench-P; `vmdedup init --partitions 64`):
#   1. every snapshot of the training VMs, in fleet.list order, with their dirty maps
#   2. `vmdedup cds update --top P` (not for P = 0: the baseline without level 3; for
#      P = all, `cds update --min-vms 2`: every chunk held by 2 training VMs or more,
#      the most a CDS built from their popularity can find)
#   3. every snapshot of the new VMs, likewise, each under `/usr/bin/time -v`
#   4. `vmdedup stats --format json --no-availability` (after 2 and after 3) and
#      `vmdedup cds show --format json`; one restore (the last snapshot of the first new
#      VM) compared with its image by cmp, untimed
#   5. the namespace's objects are removed (the memstore OSD holds everything in memory)
# and reports per P: the CDS (chunks, bytes, host memory of the table: `cds show`),
# what level 3 saved the new VMs and what they stored, which share of the new VMs'
# cross-VM duplicates level 3 found (level-3 bytes / (level-3 + new bytes - the unique
# bytes they added to the index): the chunks some VM of the store already held), and
# two fractions of perfect global dedup (docs/admin.md, "Statistics"):
#   store      `stats`' global_fraction over the whole store, (L - Z - S) / (L - Z - U),
#              S counting the popular copies too (the published figure of merit)
#   new VMs    the same formula over the new VMs alone, with U the unique bytes they
#              added to the index (unique after 3 minus unique after 2) and S their new
#              (uncompressed) bytes: how close level 3 brings the VMs that arrive after
#              the CDS is built to perfect global dedup
# The lookup cost comes from build/tests/bench_cds_lookup (tests/bench/bench_cds_lookup.c):
# vmd_cds_find() on tables of the sizes the sweep produced, random fingerprints, hits
# and misses, 1 and 2 threads, ns of thread CPU per lookup; it runs after the cluster is
# stopped.
#
# The results (markdown, with the machine, the fleet's parameters, the date) go to
# BUILD_DIR/bench_cds.md and, unless --no-doc, into docs/benchmarks.md, section
# "Common data set: size sweep", between the markers <!-- bench_cds begin ... --> and
# <!-- bench_cds end --> (only those lines are replaced; the rest of the file is left
# alone; the section is appended if missing).
#
# usage: tests/bench/bench_cds.sh [BUILD_DIR] [--no-doc] [--keep] [--note TEXT]
#   BUILD_DIR  default: build (needs client/vmdedup, cls/, tests/vmd-gen,
#              tests/bench_cds_lookup)
#   --note     a sentence added under the table (e.g. what else loaded the machine)
#   --keep     keep the work directory (json outputs, logs)
# Environment (defaults in brackets; every value used is printed with the results):
#   VMD_CDS_VMS [8] VMD_CDS_SNAPS [3] VMD_CDS_SIZE [256M] VMD_CDS_SEED [1]
#   VMD_CDS_FAMILIES [debian,ubuntu] VMD_CDS_RATE [0.02] VMD_CDS_POPULAR [0.5]
#   VMD_CDS_ZIPF [1] VMD_CDS_ZIPF_HEAD [vmd-gen's default]   the fleet (vmd-gen fleet)
#   VMD_CDS_TOPS ["0 0.5 1 1.5 2 5 all"]  the sweep: percent of the unique chunks, or all
#   VMD_CDS_PARTITIONS [64]            index partitions of each store
#   VMD_CDS_BUDGET [unset: 8M]         --cds-budget of the backups (host memory)
#   VMD_BENCH_DIR [/var/tmp/vmdedup-bench-cds]  work directory (removed unless --keep)
#   VMD_FLEET_CACHE [/var/tmp/vmdedup-fleets]   where the fleet is generated and kept
#   VMD_BENCH_OSDS [1]                 memstore OSDs of the cluster
#   VMD_BENCH_OSD_RSS_MAX [6144]       MiB: the run stops if the OSDs grow beyond it
# Needs /usr/bin/time, python3 (json) and the rados command (ceph-conf/install-deps).
# shellcheck source-path=SCRIPTDIR source=../lib/vmd-test.sh
. "$(dirname "$0")/../lib/vmd-test.sh"
vmd_bench_init bench_cds
root=$vmd_root
build=$root/build
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
    build=$1
    shift
fi
[ -d "$build" ] || die "no build directory $build"
build=$(cd "$build" && pwd)
doc=1 keep=0 note=""
while [ $# -gt 0 ]; do
    case $1 in
    --no-doc) doc=0 ;;
    --keep) keep=1 ;;
    --note) note=${2:?--note needs a text} && shift ;;
    -h | --help)
        sed -n '/^# usage:/,/^# Needs/p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "bench_cds: unknown argument '$1' (see --help)" >&2
        exit 2
        ;;
    esac
    shift
done

vms=${VMD_CDS_VMS:-8} snaps=${VMD_CDS_SNAPS:-3} size=${VMD_CDS_SIZE:-256M} seed=${VMD_CDS_SEED:-1}
families=${VMD_CDS_FAMILIES:-debian,ubuntu} rate=${VMD_CDS_RATE:-0.02}
popular=${VMD_CDS_POPULAR:-0.5} zipf=${VMD_CDS_ZIPF:-1} zipf_head=${VMD_CDS_ZIPF_HEAD:-}
read -r -a tops <<<"${VMD_CDS_TOPS:-0 0.5 1 1.5 2 5 all}"
partitions=${VMD_CDS_PARTITIONS:-64}
budget=${VMD_CDS_BUDGET:-}
work=${VMD_BENCH_DIR:-/var/tmp/vmdedup-bench-cds}
fleet_cache=${VMD_FLEET_CACHE:-/var/tmp/vmdedup-fleets}
osds=${VMD_BENCH_OSDS:-1}
osd_rss_max=${VMD_BENCH_OSD_RSS_MAX:-6144}
cluster=$work/cluster
vmdedup=$build/client/vmdedup
gen=$build/tests/vmd-gen
lookup=$build/tests/bench_cds_lookup

[ "$vms" -ge 4 ] 2>/dev/null || die "VMD_CDS_VMS must be a number >= 4 (2 training VMs at least: popularity needs 2 VMs)"
[ "$snaps" -ge 1 ] 2>/dev/null || die "VMD_CDS_SNAPS must be a number >= 1"
[ ${#tops[@]} -gt 0 ] || die "VMD_CDS_TOPS is empty"
for p in "${tops[@]}"; do
    [ "$p" != all ] || continue
    [[ $p =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "VMD_CDS_TOPS: '$p' is neither a percentage nor all"
    awk -v p="$p" 'BEGIN { exit !(p <= 100) }' || die "VMD_CDS_TOPS: '$p' is above 100"
done
[ -x "$vmdedup" ] || die "no $vmdedup: build first (cmake --build $build)"
[ -e "$build/cls/libcls_vmdedup.so" ] || die "no $build/cls/libcls_vmdedup.so: build first"
[ -x "$gen" ] || die "no $gen: build first (cmake --build $build)"
[ -x "$lookup" ] || die "no $lookup: build first (cmake --build $build --target bench_cds_lookup)"
"$gen" --help 2>&1 | grep -q "fleet" || die "$gen has no fleet subcommand: rebuild it"
[ -x /usr/bin/time ] || die "/usr/bin/time missing: apt-get install time (or ceph-conf/install-deps)"
command -v python3 >/dev/null || die "python3 missing (it reads the json outputs)"
command -v rados >/dev/null || die "the rados command is missing (ceph-conf/install-deps)"

rm -rf "$work"
mkdir -p "$work" "$fleet_cache"
cleanup() {
    vmd_cluster_stop "$cluster"
    [ "$keep" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT

# --- the fleet -------------------------------------------------------------------------
gen_args=(--seed "$seed" --vms "$vms" --snaps "$snaps" --size "$size" --families "$families"
    --rate "$rate" --popular "$popular" --zipf "$zipf")
[ -z "$zipf_head" ] || gen_args+=(--zipf-head "$zipf_head")
key=$(vmd_gen_key "${gen_args[@]}")
fleet=$fleet_cache/cds-v$vms-k$snaps-$size-s$seed-$key
if [ ! -e "$fleet/.done" ]; then
    say "generating the fleet: vmd-gen fleet ${gen_args[*]}"
    rm -rf "$fleet"
    t0=$SECONDS
    "$gen" fleet "${gen_args[@]}" "$fleet" >"$work/gen.log" 2>&1 || {
        tail -n 20 "$work/gen.log" >&2
        die "vmd-gen fleet failed"
    }
    touch "$fleet/.done"
    say "generated in $((SECONDS - t0)) s: $fleet"
fi
[ -e "$fleet/fleet.list" ] || die "no $fleet/fleet.list"
fleet_params=$(grep -m1 -- '--seed' "$fleet/fleet.list" | sed 's/^# *//') || fleet_params="${gen_args[*]}"

L_vm=() L_snap=() L_img=() L_map=() names=()
declare -A seen=()
while read -r a b c d; do
    case $a in '#'* | '') continue ;; esac
    L_vm+=("$a") L_snap+=("$b") L_img+=("$fleet/$c")
    if [ "$d" = - ]; then L_map+=(""); else L_map+=("$fleet/$d"); fi
    [ -n "${seen[$a]:-}" ] || names+=("$a")
    seen[$a]=1
done <"$fleet/fleet.list"
n=${#L_vm[@]}
[ "$n" -gt 0 ] || die "$fleet/fleet.list lists no snapshot"
mapfile -t sorted < <(printf '%s\n' "${names[@]}" | sort)
half=$((${#sorted[@]} / 2))
declare -A is_new=()
for ((i = half; i < ${#sorted[@]}; i++)); do is_new[${sorted[i]}]=1; done
train_vms=("${sorted[@]:0:half}") new_vms=("${sorted[@]:half}")
first_new=${new_vms[0]}
last_new_snap="" last_new_img=""
for ((i = 0; i < n; i++)); do
    if [ "${L_vm[i]}" = "$first_new" ]; then last_new_snap=${L_snap[i]} last_new_img=${L_img[i]}; fi
done

say "reference figures: vmd-gen stats"
"$gen" stats "$fleet" >"$work/ref.txt" || die "vmd-gen stats $fleet failed"
ref() { awk -F= -v k="$1" '$1 == k { print $2 }' "$work/ref.txt"; }

# --- the cluster ----------------------------------------------------------------------
avail_kb() { vmd_avail_kb; }
osd_rss_kb() { # resident memory of the cluster's OSDs now (VmRSS) or at peak (VmHWM)
    local f pid kb total=0
    for f in "$cluster"/run/osd*.pid; do
        [ -e "$f" ] || continue
        pid=$(head -n1 "$f")
        kb=$(awk -v k="$1:" '$1 == k { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
        total=$((total + ${kb:-0}))
    done
    echo "$total"
}

# One store at a time: its data is about 3.5x the perfect-dedup bytes of the fleet in
# the OSD's memory (bench_compare.sh measured 2770 MiB of OSD RSS for 786 MiB), plus
# 0.3 GiB per OSD, plus the 1 GiB the guard keeps free.
need=$(($(ref perfect_dedup_bytes) * 35 / 10240 + osds * 314572 + 1048576))
[ "$(avail_kb)" -ge "$need" ] ||
    die "needs about $((need >> 10)) MiB of memory, $(($(avail_kb) >> 10)) MiB available"
[ $((need >> 10)) -le $((osd_rss_max + 1024)) ] ||
    die "the fleet needs about $((need >> 10)) MiB, above VMD_BENCH_OSD_RSS_MAX=$osd_rss_max MiB: make it smaller"
memstore=$(($(ref perfect_dedup_bytes) * 4 + (1 << 30))) # an accounting cap, not allocated
say "cluster: $osds memstore OSD(s) of $((memstore >> 20)) MiB in $cluster"
vmd_cluster_start "$cluster" "$osds" "$memstore" "$build/cls"

# timed OUT ERR CMD...: CMD under /usr/bin/time -v; sets T_wall, T_rss (KiB).
# Memory guard: below 1 GiB available, or the OSDs above VMD_BENCH_OSD_RSS_MAX, CMD is
# stopped (by pid: the child of this time process) and the benchmark ends.
timed() {
    local out=$1 err=$2 tf=$work/time.txt rc=0 tpid cpid low=""
    shift 2
    /usr/bin/time -v -o "$tf" "$@" >"$out" 2>"$err" &
    tpid=$!
    while kill -0 "$tpid" 2>/dev/null; do
        if [ "$(avail_kb)" -lt 1048576 ]; then
            low="less than 1 GiB of memory available"
        elif [ "$(osd_rss_kb VmRSS)" -gt $((osd_rss_max << 10)) ]; then
            low="the OSDs use more than $osd_rss_max MiB"
        fi
        if [ -n "$low" ]; then
            for cpid in $(ps -o pid= --ppid "$tpid"); do kill "$cpid" 2>/dev/null || true; done
        fi
        sleep 0.2
    done
    wait "$tpid" || rc=$?
    [ -z "$low" ] || die "$low: stopped $*"
    if [ $rc -ne 0 ]; then
        tail -n 20 "$err" >&2
        die "failed (exit $rc): $*"
    fi
    vmd_time_read "$tf"
}

# jq-like: jval FILE EXPR, EXPR a python expression over `j` (the parsed json)
jval() {
    python3 -c 'import json, sys; j = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

# purge NS: removes every object of the namespace from the three pools.
purge() {
    local pool
    for pool in vmd.meta vmd.data vmd.popular; do
        rados -p "$pool" -N "$1" ls >"$work/objs.txt" || die "rados ls of $pool/$1 failed"
        [ -s "$work/objs.txt" ] || continue
        xargs -r -n 500 rados -p "$pool" -N "$1" rm <"$work/objs.txt" ||
            die "removing the objects of $pool/$1 failed"
    done
}

# backup_all NS WHICH TAG: backs up every snapshot of the training (WHICH=train) or the
# new VMs, in fleet.list order; json of each in WORK/TAG-i.json
budget_opt=()
[ -z "$budget" ] || budget_opt=(--cds-budget "$budget")
backup_all() {
    local ns=$1 which=$2 tag=$3 i m
    for ((i = 0; i < n; i++)); do
        if [ "$which" = new ] && [ -z "${is_new[${L_vm[i]}]:-}" ]; then continue; fi
        if [ "$which" = train ] && [ -n "${is_new[${L_vm[i]}]:-}" ]; then continue; fi
        m=()
        if [ -n "${L_map[i]}" ]; then m=(--dirty-map "${L_map[i]}"); fi
        cat "${L_img[i]}" >/dev/null # in the page cache
        timed "$work/$tag-$i.json" "$work/backup.err" "$vmdedup" --namespace "$ns" --format json \
            -q ${budget_opt[@]+"${budget_opt[@]}"} backup "${L_vm[i]}" "${L_img[i]}" \
            ${m[@]+"${m[@]}"}
        echo "   $tag: backup ${L_vm[i]} ${L_snap[i]}: ${T_wall}s, $((T_rss / 1024)) MiB" >&2
        [ "$which" = train ] || echo "$T_wall $T_rss" >>"$work/$tag-times.txt"
    done
}

# --- the sweep -------------------------------------------------------------------------
cds_sizes=()
osd_peak=0
for p in "${tops[@]}"; do
    ns=bench-$p
    tag=p$p
    say "P = $p %: store in namespace $ns"
    "$vmdedup" --namespace "$ns" init --partitions "$partitions" >"$work/$tag-init.out" 2>&1 || {
        cat "$work/$tag-init.out" >&2
        die "vmdedup init in $ns failed"
    }
    backup_all "$ns" train "$tag-train"
    upd_s=0 selected=0 target=0
    sel=(--top "$p")
    [ "$p" != all ] || sel=(--min-vms 2)
    if [ "$p" = all ] || awk -v p="$p" 'BEGIN { exit !(p > 0) }'; then
        timed "$work/$tag-update.json" "$work/update.err" "$vmdedup" --namespace "$ns" \
            --format json -q cds update "${sel[@]}"
        upd_s=$T_wall
        selected=$(jval "$work/$tag-update.json" 'j["selected"]')
        target=$(jval "$work/$tag-update.json" 'j["target"]')
        echo "   cds update ${sel[*]}: $selected chunks selected (wanted $target) in ${upd_s}s" >&2
    fi
    "$vmdedup" --namespace "$ns" --format json stats --no-availability >"$work/$tag-stats1.json" ||
        die "vmdedup stats in $ns failed"
    : >"$work/$tag-new-times.txt"
    backup_all "$ns" new "$tag-new"
    "$vmdedup" --namespace "$ns" --format json stats --no-availability >"$work/$tag-stats2.json" ||
        die "vmdedup stats in $ns failed"
    "$vmdedup" --namespace "$ns" --format json ${budget_opt[@]+"${budget_opt[@]}"} cds show \
        >"$work/$tag-show.json" || die "vmdedup cds show in $ns failed"
    # one restore: the last snapshot of the first new VM (level-3 references), untimed
    "$vmdedup" --namespace "$ns" -q restore "$first_new" "$last_new_snap" "$work/restored.img" ||
        die "restore of $first_new $last_new_snap in $ns failed"
    cmp "$work/restored.img" "$last_new_img" ||
        die "restore of $first_new $last_new_snap in $ns differs from its image"
    rm -f "$work/restored.img"
    echo "   restore $first_new $last_new_snap: cmp ok" >&2

    # the figures of this P, as one line of key=value
    python3 - "$work" "$tag" "${new_vms[*]}" >"$work/$tag-row.txt" <<'EOF' || die "reading the json outputs of $tag failed"
import json, sys
work, tag, new = sys.argv[1], sys.argv[2], sys.argv[3].split()
s1 = json.load(open(f"{work}/{tag}-stats1.json"))
s2 = json.load(open(f"{work}/{tag}-stats2.json"))
show = json.load(open(f"{work}/{tag}-show.json"))
u = {k: 0 for k in ("logical_bytes", "zero_bytes", "level1_bytes", "level2_bytes",
                    "level3_bytes", "new_bytes", "stored_bytes")}
for v in s2["vms"]:
    if v["vm"] in new:
        for k in u:
            u[k] += v["usage"][k]
du = s2["unique_bytes"] - s1["unique_bytes"]
l = u["logical_bytes"] - u["zero_bytes"]
best = l - du
f_new = (l - u["new_bytes"]) / best if best > 0 else 1.0
dup = u["new_bytes"] + u["level3_bytes"] - du  # chunks of the new VMs some VM already held
cover = u["level3_bytes"] / dup if dup > 0 else 0.0
secs = [float(x.split()[0]) for x in open(f"{work}/{tag}-new-times.txt")]
rss = [int(x.split()[1]) for x in open(f"{work}/{tag}-new-times.txt")]
out = dict(
    entries=show["entries"], cds_bytes=show["bytes"], mem=show["mem"],
    loaded=show.get("loaded", 0), loaded_mem=show.get("loaded_mem", 0),
    threshold=show["threshold"], unique_before=s1["unique_chunks"],
    unique_bytes_before=s1["unique_bytes"], unique_after=s2["unique_chunks"],
    unique_bytes_after=s2["unique_bytes"], popular_bytes=s2["popular_bytes"],
    f_store=s2["global_fraction"], f_new=f_new, dup=dup, cover=cover, new_logical=u["logical_bytes"],
    new_zero=u["zero_bytes"], new_l1=u["level1_bytes"], new_l2=u["level2_bytes"],
    new_l3=u["level3_bytes"], new_new=u["new_bytes"], new_stored=u["stored_bytes"],
    new_added_unique=du, new_secs=sum(secs), new_rss=max(rss) if rss else 0,
    store_new=s2["total"]["new_bytes"], store_stored=s2["total"]["stored_bytes"])
print(" ".join(f"{k}={v}" for k, v in out.items()))
EOF
    echo "p=$p update_s=$upd_s selected=$selected target=$target $(cat "$work/$tag-row.txt")" \
        >>"$work/rows.txt"
    entries=$(jval "$work/$tag-show.json" 'j["entries"]')
    [ "$entries" = 0 ] || cds_sizes+=("$entries")
    echo "   $(tail -n1 "$work/rows.txt")" >&2
    kb=$(osd_rss_kb VmHWM)
    [ "$kb" -le "$osd_peak" ] || osd_peak=$kb
    say "P = $p %: removing namespace $ns (OSD peak RSS so far $((osd_peak >> 10)) MiB)"
    purge "$ns"
done
"$root/ceph-conf/vmd-cluster" stop "$cluster" >/dev/null || die "stopping the cluster failed"

# --- lookup cost -----------------------------------------------------------------------
say "lookup cost: bench_cds_lookup on tables of the sweep's sizes"
mapfile -t lsizes < <(printf '%s\n' ${cds_sizes[@]+"${cds_sizes[@]}"} 114560 | sort -n -u)
"$lookup" -n "$(
    IFS=,
    echo "${lsizes[*]}"
)" -t 1,2 >"$work/lookup.txt" || die "bench_cds_lookup failed"
cat "$work/lookup.txt" >&2
lk() { # lk N THREADS KEY
    awk -v n="n=$1" -v t="threads=$2" -v k="$3" '$1 == n && $3 == t {
        for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) print substr($i, length(k) + 2) }' \
        "$work/lookup.txt"
}

# --- the report ------------------------------------------------------------------------
get() { # get P KEY: a figure of the row of P
    awk -v p="p=$1" -v k="$2" '$1 == p { for (i = 1; i <= NF; i++)
        if (index($i, k "=") == 1) print substr($i, length(k) + 2) }' "$work/rows.txt"
}
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
kib() { awk -v b="$1" 'BEGIN { printf "%.0f", b / 1024 }'; }
pct() { awk -v f="$1" 'BEGIN { if (f == "None" || f == "") print "-"; else printf "%.1f%%", 100 * f }'; }
num() { echo "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; }
budget_desc=${budget:-8M (default)}
report=$build/bench_cds.md
{
    echo "<!-- bench_cds begin: written by tests/bench/bench_cds.sh, do not edit by hand -->"
    echo "#### Generated fleet, $vms VMs ($(date -u +%Y-%m-%d))"
    echo
    echo "- Fleet: \`$fleet_params\` ($n snapshots);" \
        "training VMs ${train_vms[*]} (CDS built from them), new VMs ${new_vms[*]} (backed up after it)."
    echo "- Machine: \`$(uname -srmo)\`; $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)," \
        "$(nproc) cores, $(awk '/^MemTotal:/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM;" \
        "vmdedup $(git -C "$root" describe --always --dirty 2>/dev/null || echo '?')," \
        "ceph $(ceph --version | awk '{ print $3 }'); $osds memstore OSD(s) on this host."
    echo "- Command: \`tests/bench/bench_cds.sh BUILD\` (VMD_CDS_TOPS=\"${tops[*]}\"," \
        "--partitions $partitions, host CDS budget $budget_desc)."
    [ -z "$note" ] || echo "- Note: $note"
    echo "- Fleet reference (\`vmd-gen stats\`, 4 KiB blocks): logical $(mib "$(ref logical_bytes)") MiB," \
        "perfect dedup $(mib "$(ref perfect_dedup_bytes)") MiB, per-VM dedup $(mib "$(ref per_vm_dedup_bytes)") MiB;" \
        "blocks by the number of VMs holding them: \`$(ref held_by_vms)\`."
    echo
    echo "| CDS % | CDS chunks | CDS MiB | host table KiB (B/chunk) | new VMs: level 3 MiB | new VMs: new MiB (stored) | level 3 / cross-VM dups | fraction of perfect dedup, store | fraction, new VMs | lookup ns hit / miss, 1 thread | 2 threads |"
    echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for p in "${tops[@]}"; do
        e=$(get "$p" entries)
        if [ "$e" = 0 ]; then
            tbl="0" lk1="-" lk2="-"
        else
            tbl="$(kib "$(get "$p" mem)") ($(awk -v m="$(get "$p" mem)" -v e="$e" 'BEGIN { printf "%.1f", m / e }'))"
            [ "$(get "$p" loaded)" = "$e" ] || tbl+=", $(get "$p" loaded) loaded"
            lk1="$(lk "$e" 1 hit_ns) / $(lk "$e" 1 miss_ns)"
            lk2="$(lk "$e" 2 hit_ns) / $(lk "$e" 2 miss_ns)"
        fi
        echo "| $p | $(num "$e") | $(mib "$(get "$p" cds_bytes)") | $tbl | $(mib "$(get "$p" new_l3)")" \
            "| $(mib "$(get "$p" new_new)") ($(mib "$(get "$p" new_stored)")) | $(pct "$(get "$p" cover)")" \
            "| $(pct "$(get "$p" f_store)")" \
            "| $(pct "$(get "$p" f_new)") | $lk1 | $lk2 |"
    done
    p0=${tops[0]}
    echo
    echo "- CDS: \`cds show\` of the published version: chunks, their raw bytes, and the host" \
        "memory of the lock-free table that holds all of them (64-byte nodes, 16-byte buckets," \
        "8 KiB fixed). The update selects P % of the index's unique chunks *after the training" \
        "VMs* ($(num "$(get "$p0" unique_before)") chunks), only chunks held by >= 2 VMs."
    echo "- New VMs: the $(( ${#new_vms[@]} * snaps )) snapshots of ${new_vms[*]}" \
        "($(mib "$(get "$p0" new_logical)") MiB logical, $(mib "$(get "$p0" new_zero)") MiB of it zero):" \
        "bytes level 3 found in the CDS, and the new chunk bytes they wrote to their own" \
        "containers, raw (compressed in brackets). Cross-VM duplicates: of the chunk bytes" \
        "levels 1 and 2 left, those some VM of the store already held" \
        "($(mib "$(get "$p0" dup)") MiB); level 3 can only find those in the CDS."
    if [[ " ${tops[*]} " == *" all "* ]]; then
        echo "- CDS % = all: \`cds update --min-vms 2\`, every chunk held by >= 2 training VMs" \
            "(the bound of a CDS built from their popularity)."
    fi
    echo "- Fraction of perfect global dedup, (L - Z - S) / (L - Z - U) (docs/admin.md):" \
        "*store* is \`stats\`' global_fraction over the whole store (training and new VMs; S" \
        "includes the popular copies); *new VMs* is the same formula over the new VMs alone," \
        "with S their new bytes and U the unique bytes they added to the index (chunks no VM of" \
        "the store held before)."
    echo "- Lookup: \`bench_cds_lookup\` (tests/bench/bench_cds_lookup.c), \`vmd_cds_find()\` on a" \
        "table of that many random fingerprints, thread CPU ns per lookup, best of 9 interleaved runs of" \
        "2,000,000 lookups per thread; a miss is what every chunk levels 1 and 2 did not find pays."
    tables=""
    for s in "${lsizes[@]}"; do
        tables+="${tables:+; }$(num "$s") entries ($(kib "$(lk "$s" 1 mem)") KiB): $(lk "$s" 1 hit_ns) / $(lk "$s" 1 miss_ns) ns, 2 threads $(lk "$s" 2 hit_ns) / $(lk "$s" 2 miss_ns)"
    done
    echo "  All sizes measured (hit / miss): $tables; 114,560 entries is a full table at the" \
        "default 8 MiB budget."
    times=""
    for p in "${tops[@]}"; do
        lbl="$p %"
        [ "$p" != all ] || lbl=all
        times+="${times:+, }$lbl"
        times+=": $(printf '%.0f' "$(get "$p" new_secs)") s / $(($(get "$p" new_rss) / 1024)) MiB"
    done
    echo "- Backups of the new VMs, wall seconds in all / peak RSS of one: $times." \
        "The memstore OSD peaked at $((osd_peak >> 10)) MiB RSS (one store at a time; each" \
        "namespace was removed after its figures were read)."
    echo "<!-- bench_cds end -->"
} >"$report"
cat "$report"

# --- into docs/benchmarks.md: only the block between the markers ------------------------
if [ "$doc" = 1 ]; then
    vmd_doc_splice "## Common data set: size sweep" bench_cds "$report" \
        "Written by \`tests/bench/bench_cds.sh\` (its header comment has the details)."
fi
