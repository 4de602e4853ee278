#!/usr/bin/env bash
# test_backup.sh - backup and restore through the vmdedup command, against the
# throwaway cluster, on disk images made by vmd-gen; every restore is compared
# byte for byte (cmp) with the image it came from.
#
#   round trips     sizes that are no multiple of a segment or a chunk (37 MiB +
#                   12345 bytes, 2 MiB + 1, 5000 bytes), an all-zero disk, a
#                   child with inserted/deleted bytes that shift content
#   chains          10 snapshots with dirty maps, 10 without (found equal to the
#                   parent); each restored; the json stats of every incremental
#                   snapshot show level-1 bytes and new bytes far below the disk
#   range restore   --offset/--length against the same range of the image
#   CBT map         a base64 CBT bitmap as the dirty map
#   concurrency     two VMs backed up by two processes at once; two backups of
#                   one VM at once (one may be refused as busy, nothing breaks)
#   kill -9         a client killed in the middle of a backup of a 200 MiB
#                   disk: committed snapshots still restore, `check VM` reports
#                   the leftovers, the next backup works
#   bad input       missing image, a directory as image, dirty map beyond the
#                   disk, malformed map (line number), map without a parent,
#                   unknown VM, snapshot and parent, bad VM id, range beyond the
#                   disk, store not initialised, missing pool: exit 1, one line
#                   "vmdedup: error: ...", and `ls` shows the store unchanged
#
# Every group runs in its own namespace (vmdedup init --partitions 16), in a
# scratch directory under SCRATCH_PARENT that is removed at the end.
#
# usage: test_backup.sh PATH/TO/vmdedup PATH/TO/vmd-gen SCRATCH_PARENT
#        (CEPH_CONF must point at the cluster)
# shellcheck source-path=SCRIPTDIR source=../lib/vmd-test.sh
. "$(dirname "$0")/../lib/vmd-test.sh"
vmd_test_init test_backup
vmdedup=${1:?usage: test_backup.sh PATH/TO/vmdedup PATH/TO/vmd-gen SCRATCH_PARENT}
gen=${2:?usage: test_backup.sh PATH/TO/vmdedup PATH/TO/vmd-gen SCRATCH_PARENT}
scratch_parent=${3:?usage: test_backup.sh PATH/TO/vmdedup PATH/TO/vmd-gen SCRATCH_PARENT}
vmd_need_cluster
MiB=$((1024 * 1024))

vmd_scratch "$scratch_parent" test_backup # dir, out, err; bg_pids are killed at exit
ns=

# --- helpers -----------------------------------------------------------------

# vmd ARGS...: vmdedup in the current namespace; stdout in $out, stderr in $err.
vmd() {
    "$vmdedup" --namespace "$ns" "$@" >"$out" 2>"$err" </dev/null
}

# use_ns NAME: switches to a fresh namespace and initialises the store there.
use_ns() {
    ns="tb-$$-$1"
    if ! vmd init --partitions 16; then
        fail "init namespace $ns" "exit $?"
        return 1
    fi
}

# jnum KEY [FILE]: the first number after "KEY": in a json text (default: the output
# of the last backup).
jnum() {
    vmd_jnum "$1" "${2:-$dir/backup.json}"
}

# reports_leftovers FILE: the json of `vmdedup check VM` lists an orphan (an uncommitted
# snapshot number that left objects).
reports_leftovers() {
    grep -Eq '"orphans":\[\{|"norphans":[1-9]' "$1"
}

# image NAME ARGS...: vmd-gen base ARGS into $dir/NAME.img.
image() {
    local name=$1
    shift
    "$gen" base "$@" "$dir/$name.img" || {
        echo "vmd-gen base $* failed" >&2
        return 1
    }
}

# child PARENT NAME SEED [ARGS...]: vmd-gen mutate PARENT.img into NAME.img and NAME.map.
child() {
    local parent=$1 name=$2 seed=$3
    shift 3
    "$gen" mutate --seed "$seed" --in "$dir/$parent.img" --out "$dir/$name.img" \
        --dirty-map "$dir/$name.map" "$@" || {
        echo "vmd-gen mutate $parent -> $name failed" >&2
        return 1
    }
}

# backup NAME VM IMG [ARGS...]: a backup with json output; fails the check NAME unless
# it exits 0 and prints the snapshot. Sets $snap; the json stays in $dir/backup.json.
backup() {
    local name=$1 vm=$2 img=$3
    shift 3
    rm -f "$dir/backup.json"
    vmd backup "$vm" "$dir/$img.img" --format json "$@"
    local rc=$?
    if [ $rc -ne 0 ]; then
        fail "$name" "backup exit $rc"
        return 1
    fi
    cp "$out" "$dir/backup.json"
    snap=$(jnum snap)
    if [ -z "$snap" ] || [ "$(jnum logical_bytes)" != "$(stat -c %s "$dir/$img.img")" ]; then
        fail "$name" "no snapshot number or wrong logical_bytes in the output"
        return 1
    fi
    # No byte of the disk is counted twice (level-3 hits are in none of the four).
    local sum=$(($(jnum level1_bytes) + $(jnum level2_bytes) + $(jnum level3_bytes) + $(jnum zero_bytes) + $(jnum new_bytes)))
    if [ "$sum" -gt "$(jnum logical_bytes)" ]; then
        fail "$name" "level1 + level2 + zero + new = $sum > logical_bytes"
        return 1
    fi
}

# restored VM SNAP IMG [WHY]: restores and compares with the image; 0 when identical.
restored() {
    local vm=$1 s=$2 img=$3
    rm -f "$dir/restored.img"
    vmd restore "$vm" "$s" "$dir/restored.img" || return 1
    cmp "$dir/restored.img" "$dir/$img.img" >>"$err" 2>&1
}

# roundtrip NAME VM IMG [BACKUP ARGS...]: backup, then restore and cmp.
roundtrip() {
    local name=$1 vm=$2 img=$3
    shift 3
    backup "$name" "$vm" "$img" "$@" || return 1
    if restored "$vm" "$snap" "$img"; then
        pass "$name"
    else
        fail "$name" "restore of snapshot $snap differs or failed"
        return 1
    fi
}

# state: what `ls` shows of the store (VMs and the snapshots of VM vm1), for "unchanged".
state() {
    local s
    s=$("$vmdedup" --namespace "$ns" ls --format json 2>&1)
    s+=$'\n'$("$vmdedup" --namespace "$ns" ls vm1 --format json 2>&1)
    printf '%s\n' "$s"
}

# refused NAME PATTERN ARGS...: the command fails with exit 1, exactly one line on stderr
# "vmdedup: error: ...PATTERN...", and the store is as it was.
refused() {
    local name=$1 pattern=$2 before after rc
    shift 2
    before=$(state)
    vmd "$@"
    rc=$?
    after=$(state)
    if [ "$rc" -ne 1 ]; then
        fail "$name" "exit $rc, want 1"
    elif [ "$(wc -l <"$err")" -ne 1 ] || ! grep -Eq -- "^vmdedup: error: .*$pattern" "$err"; then
        fail "$name" "want one line 'vmdedup: error: ...$pattern...'"
    elif [ "$before" != "$after" ]; then
        fail "$name" "the store changed: $(diff <(echo "$before") <(echo "$after") | head -5)"
    else
        pass "$name ($(cut -c1-110 "$err"))"
    fi
}

# --- round trips ---------------------------------------------------------------

echo "Suite: backup and restore"
if use_ns round; then
    image odd --seed 1 --size $((37 * MiB + 12345)) --os-family debian &&
        roundtrip "round trip: 37 MiB + 12345 bytes" odd odd
    [ -n "$(jnum zero_bytes)" ] && [ "$(jnum zero_bytes)" -ge $((2 * MiB)) ]
    judge "zero regions of the image are counted as zero bytes ($(jnum zero_bytes))" \
        "zero_bytes $(jnum zero_bytes)" $?
    image seg1 --seed 2 --size $((2 * MiB + 1)) --os-family debian &&
        roundtrip "round trip: 2 MiB + 1 byte (last segment of 1 byte)" seg1 seg1
    image tiny --seed 3 --size 5000 --os-family debian &&
        roundtrip "round trip: 5000 bytes (less than a segment and a page)" tiny tiny
    truncate -s $((9 * MiB + 100)) "$dir/zero.img" &&
        roundtrip "round trip: an all-zero disk of 9 MiB + 100 bytes" zero zero
    [ "$(jnum new_bytes)" = 0 ]
    judge "an all-zero disk stores no chunk" "new_bytes $(jnum new_bytes)" $?
    # restored.img still holds the all-zero disk: restored as holes, not written zeros.
    [ -f "$dir/restored.img" ] && [ "$(stat -c %b "$dir/restored.img")" -lt 2048 ]
    judge "an all-zero disk restores sparse ($(stat -c %b "$dir/restored.img" 2>&1) blocks)" \
        "allocated blocks" $?
    # Restore over a larger existing file: truncated to the disk.
    head -c $((40 * MiB)) /dev/urandom >"$dir/restored.img"
    vmd restore seg1 1 "$dir/restored.img" && cmp "$dir/restored.img" "$dir/seg1.img" >>"$err" 2>&1
    judge "restore over a larger existing file truncates it" "differs" $?
    # -q prints only the snapshot number; --threads 1 gives the same disk back.
    vmd -q backup tiny "$dir/tiny.img" --threads 1 && [ "$(cat "$out")" = 2 ] &&
        restored tiny 2 tiny
    judge "backup -q --threads 1 prints the number alone and restores exactly" "output/restore" $?
    child odd odd2 5 --rate 0.05 &&
        roundtrip "round trip: child with inserted/deleted bytes, with its dirty map" odd odd2 \
            --dirty-map "$dir/odd2.map"
    l2=$(jnum level2_bytes)
    [ -n "$l2" ] && [ "$l2" -gt 0 ]
    judge "level 2 finds chunks in the dirty segments ($l2 bytes)" "level2_bytes '$l2'" $?
    restored odd 1 odd
    judge "snapshot 1 still restores after its child" "differs" $?
    roundtrip "round trip: --full of a child" odd odd2 --full
    [ "$(jnum parent)" = 0 ]
    judge "--full has no parent" "parent $(jnum parent)" $?
fi

# --- chains of 10 ---------------------------------------------------------------

# chain NAME VM WITH_MAP: 10 snapshots of a 20 MiB + 777 disk; each restored.
chain() {
    local name=$1 vm=$2 with_map=$3 i size ok=1 why='' l1 new read imgs=()
    size=$((20 * MiB + 777))
    image "$vm-1" --seed 31 --size "$size" --os-family centos || return
    imgs+=("$vm-1")
    backup "$name: snapshot 1" "$vm" "$vm-1" || return
    for i in 2 3 4 5 6 7 8 9 10; do
        child "$vm-$((i - 1))" "$vm-$i" "$((100 + i))" --rate 0.02 || return
        if [ "$with_map" = 1 ]; then
            backup "$name: snapshot $i" "$vm" "$vm-$i" --dirty-map "$dir/$vm-$i.map" || return
        else
            backup "$name: snapshot $i" "$vm" "$vm-$i" || return
        fi
        if [ "$snap" != "$i" ] || [ "$(jnum parent)" != $((i - 1)) ]; then
            ok=0 why+=" snapshot $i: snap $snap parent $(jnum parent);"
        fi
        l1=$(jnum level1_bytes) new=$(jnum new_bytes) read=$(jnum bytes_read)
        if [ "${l1:-0}" -le 0 ] || [ "${new:-$size}" -ge $((size / 4)) ]; then
            ok=0 why+=" snapshot $i: level1 $l1 new $new;"
        fi
        if [ "$with_map" = 1 ] && [ "${read:-$size}" -ge "$size" ]; then
            ok=0 why+=" snapshot $i: read $read of $size with a dirty map;"
        fi
        imgs+=("$vm-$i")
        [ "$i" = 5 ] && cp "$dir/backup.json" "$dir/$vm-5.json"
    done
    [ $ok = 1 ]
    judge "$name: 10 snapshots, each parent the last, level 1 > 0, new < 1/4 of the disk (last: level1 $l1 new $new read $read)" "$why" $?
    ok=1 why=''
    for i in 1 2 3 4 5 6 7 8 9 10; do
        restored "$vm" "$i" "${imgs[$((i - 1))]}" || { ok=0 why+=" $i"; }
    done
    [ $ok = 1 ]
    judge "$name: all 10 snapshots restore exactly" "differ or fail:$why" $?
    vmd ls "$vm" --format json && [ "$(grep -o '"snap":' "$out" | wc -l)" = 10 ] &&
        vmd info "$vm" 5 --format json && [ "$(jnum snap "$out")" = 5 ] &&
        [ "$(grep -o '"stats":{[^}]*}' "$out")" = "$(grep -o '"stats":{[^}]*}' "$dir/$vm-5.json")" ]
    judge "$name: ls lists 10 snapshots, info 5 shows the stats its backup printed" "ls/info" $?
}

if use_ns chain; then
    chain "chain with dirty maps" mapped 1
    # A range of snapshot 5, at odd offsets, against the same bytes of the image.
    img=$dir/mapped-5.img
    size=$(stat -c %s "$img")
    for range in "$((3 * MiB + 1234)):$((5 * MiB + 99))" "0:4096" "$((size - 1000)):1000" \
        "$((2 * MiB - 1)):2"; do
        off=${range%:*} len=${range#*:}
        rm -f "$dir/range.out"
        if vmd restore mapped 5 "$dir/range.out" --offset "$off" --length "$len" &&
            [ "$(stat -c %s "$dir/range.out")" = "$len" ] &&
            cmp -n "$len" -i "$off:0" "$img" "$dir/range.out" >>"$err" 2>&1; then
            pass "range restore --offset $off --length $len"
        else
            fail "range restore --offset $off --length $len" "differs or failed"
        fi
    done
    off=$((7 * MiB + 3))
    rm -f "$dir/range.out"
    vmd restore mapped 5 "$dir/range.out" --offset "$off" &&
        [ "$(stat -c %s "$dir/range.out")" = $((size - off)) ] &&
        cmp -i "$off:0" "$img" "$dir/range.out" >>"$err" 2>&1
    judge "range restore --offset $off alone: to the end of the disk" "differs or failed" $?
    chain "chain without dirty maps" unmapped 0
    if vmd check mapped --format json && ! reports_leftovers "$out"; then
        pass "check of a VM without interrupted backups reports nothing ($(head -c 120 "$out"))"
    else
        fail "check of a VM without interrupted backups reports nothing" "exit or report"
    fi
fi

# --- the CBT format ---------------------------------------------------------------

if use_ns cbt; then
    if image cbt-1 --seed 41 --size $((18 * MiB + 4321)) --os-family debian &&
        backup "CBT: snapshot 1" cbt cbt-1 && child cbt-1 cbt-2 42 --cbt-map "$dir/cbt-2.cbt" &&
        roundtrip "CBT: snapshot 2 with a base64 CBT dirty map restores exactly" cbt cbt-2 \
            --dirty-map "$dir/cbt-2.cbt"; then
        l1=$(jnum level1_bytes) read=$(jnum bytes_read)
        [ "${l1:-0}" -gt 0 ] && [ "${read:-0}" -lt $((18 * MiB)) ]
        judge "CBT: clean segments are not read (read $read, level1 $l1)" "stats" $?
    fi
    # The same without the cbt: prefix, wrapped differently (auto-detected).
    child cbt-2 cbt-3 43 --cbt-map "$dir/cbt-3.cbt" &&
        sed 1d "$dir/cbt-3.cbt" | tr -d '\n' | fold -w 60 >"$dir/cbt-3.bare" &&
        roundtrip "CBT: a bitmap without 'cbt:' rewrapped at 60 columns" cbt cbt-3 \
            --dirty-map "$dir/cbt-3.bare"
fi

# --- two processes at once ---------------------------------------------------------

# Runs `backup ${a_args[@]}` and `backup ${b_args[@]}` at once, by two processes
# (output in $dir/a.* and $dir/b.*); ra and rb are their exit codes.
two_backups() {
    "$vmdedup" --namespace "$ns" backup "${a_args[@]}" >"$dir/a.out" 2>"$dir/a.err" &
    pa=$!
    "$vmdedup" --namespace "$ns" backup "${b_args[@]}" >"$dir/b.out" 2>"$dir/b.err" &
    pb=$!
    bg_pids+=("$pa" "$pb")
    wait "$pa"
    ra=$?
    wait "$pb"
    rb=$?
    bg_pids=()
}

if use_ns conc; then
    image ca-1 --seed 51 --size $((24 * MiB + 5)) --os-family debian &&
        image cb-1 --seed 52 --size $((26 * MiB + 3)) --os-family debian &&
        child ca-1 ca-2 53 && child cb-1 cb-2 54
    for round in 1 2; do
        amap=() bmap=()
        if [ $round = 2 ]; then
            amap=(--dirty-map "$dir/ca-2.map") bmap=(--dirty-map "$dir/cb-2.map")
        fi
        a_args=(vmA "$dir/ca-$round.img" ${amap[@]+"${amap[@]}"})
        b_args=(vmB "$dir/cb-$round.img" ${bmap[@]+"${bmap[@]}"})
        two_backups
        if [ $ra = 0 ] && [ $rb = 0 ] && restored vmA "$round" "ca-$round" &&
            restored vmB "$round" "cb-$round"; then
            pass "two VMs backed up at once by two processes (snapshot $round), both restore exactly"
        else
            cat "$dir/a.err" "$dir/b.err" >>"$err"
            fail "two VMs backed up at once (snapshot $round)" "exits $ra $rb, or a restore differs"
        fi
    done
    # One VM twice at once: both may succeed (serialised) or one is refused; nothing breaks.
    a_args=(vmA "$dir/ca-2.img")
    b_args=(vmA "$dir/ca-1.img")
    two_backups
    vmd ls vmA --format json
    n=$(grep -o '"snap":' "$out" | wc -l)
    ok=1
    [ $ra = 0 ] || [ $rb = 0 ] || ok=0
    [ $ra = 0 ] || grep -qi "busy\|running\|in progress" "$dir/a.err" || ok=0
    [ $rb = 0 ] || grep -qi "busy\|running\|in progress" "$dir/b.err" || ok=0
    [ "$n" -eq $((2 + (ra == 0) + (rb == 0))) ] || ok=0
    restored vmA 2 ca-2 || ok=0
    if [ $ok = 1 ]; then
        pass "one VM twice at once: exits $ra/$rb, $n snapshots, earlier ones intact ($(cat "$dir/a.err" "$dir/b.err" | head -1))"
    else
        cat "$dir/a.err" "$dir/b.err" >>"$err"
        fail "one VM twice at once" "exits $ra $rb, $n snapshots"
    fi
fi

# --- kill -9 in the middle of a backup ------------------------------------------------

if use_ns kill; then
    image k-1 --seed 61 --size $((200 * MiB)) --os-family debian &&
        child k-1 k-2 62 --rate 0.3
    t0=$(date +%s%N)
    if backup "kill: snapshot 1 (200 MiB)" big k-1; then
        t1=$(($(date +%s%N) - t0))
        # Kill the second (full: it reads and writes everything) at half the first's time.
        delay=$(awk -v ns="$t1" 'BEGIN { d = ns / 2e9; if (d < 0.3) d = 0.3; printf "%.2f", d }')
        "$vmdedup" --namespace "$ns" backup big "$dir/k-2.img" --full >"$dir/k.out" 2>"$dir/k.err" &
        pk=$!
        bg_pids+=("$pk")
        sleep "$delay"
        kill -9 "$pk" 2>/dev/null
        wait "$pk" 2>/dev/null
        rk=$? # 128 + 9 only if SIGKILL ended it (a finished one exits 0 or 1)
        bg_pids=()
        if [ $rk = 137 ]; then
            pass "kill: a backup killed with SIGKILL after ${delay}s, while still running"
            vmd ls big --format json
            [ "$(grep -o '"snap":' "$out" | wc -l)" = 1 ] && restored big 1 k-1
            judge "kill: the committed snapshot is alone and restores exactly" "ls/restore" $?
            # The killed attempt had number 2 and had written containers by then.
            vmd check big --format json && reports_leftovers "$out" &&
                grep -Eq '"orphans":\[\{"snap":2,[^}]*"containers":[1-9]' "$out"
            judge "kill: check reports what the killed backup left ($(head -c 200 "$out"))" \
                "exit or report" $?
            vmd check big && grep -q "snapshot 2 (never committed)" "$out"
            judge "kill: check in plain text names the interrupted snapshot" "report" $?
            # The dead client's lock lapses by itself (30 s lease): until then the next
            # backup is refused as busy.
            t0=$SECONDS
            while ! vmd backup big "$dir/k-2.img" --format json && grep -q "busy\|running" "$err" &&
                [ $((SECONDS - t0)) -lt 60 ]; do
                sleep 2
            done
            cp "$out" "$dir/backup.json"
            snap=$(jnum snap)
            echo "    (the next backup, snapshot ${snap:-none}, ran after $((SECONDS - t0)) s)"
            if [ -n "$snap" ] && restored big "$snap" k-2; then
                pass "kill: the next backup (snapshot $snap) works and restores exactly"
            else
                fail "kill: the next backup works and restores exactly" "backup or restore failed"
            fi
            restored big 1 k-1
            judge "kill: snapshot 1 still restores" "differs" $?
        else
            fail "kill: a backup killed with SIGKILL while running" \
                "it ended before ${delay}s (exit $rk): use a larger image"
        fi
    fi
fi

# --- bad input -----------------------------------------------------------------

if use_ns bad; then
    image b-1 --seed 71 --size $((6 * MiB + 1)) --os-family debian &&
        child b-1 b-2 72 && backup "bad input: a first snapshot" vm1 b-1 &&
        pass "bad input: a first snapshot"
    mkdir -p "$dir/adir"
    printf '0\n1\nfoo\n' >"$dir/malformed.map"
    printf '0\n100\n' >"$dir/beyond.map"
    printf 'cbt:\nAAAAAAAA\n' >"$dir/short.cbt"
    img=$dir/b-2.img
    refused "missing image" "nonexistent.*(No such file|not found|does not exist)" \
        backup vm1 "$dir/nonexistent.img"
    refused "a directory as image" "adir" backup vm1 "$dir/adir"
    refused "dirty map beyond the disk" "beyond the disk" backup vm1 "$img" \
        --dirty-map "$dir/beyond.map"
    refused "CBT map of the wrong length" "CBT bitmap has 6 bytes" backup vm1 "$img" \
        --dirty-map "$dir/short.cbt"
    refused "malformed dirty map names the line" "line 3" backup vm1 "$img" \
        --dirty-map "$dir/malformed.map"
    refused "missing dirty map" "nosuch.map" backup vm1 "$img" --dirty-map "$dir/nosuch.map"
    refused "dirty map without a parent (new VM)" "parent" backup vm2 "$img" \
        --dirty-map "$dir/b-2.map"
    refused "unknown parent snapshot" "99" backup vm1 "$img" --parent 99
    refused "bad VM id" "VM|vm" backup "bad/vm id" "$img"
    refused "restore of an unknown VM" "nosuchvm" restore nosuchvm 1 "$dir/x.out"
    refused "restore of an unknown snapshot" "99" restore vm1 99 "$dir/x.out"
    refused "info of an unknown VM" "nosuchvm" info nosuchvm 1
    refused "info of an unknown snapshot" "99" info vm1 99
    refused "ls of an unknown VM" "nosuchvm" ls nosuchvm
    refused "range beyond the disk" "range|beyond|disk" restore vm1 1 "$dir/x.out" \
        --offset $((7 * MiB)) --length 10
    refused "restore into a missing directory" "nosuchdir" restore vm1 1 "$dir/nosuchdir/x"
    refused "wrong data pool" "nosuch" --data-pool nosuch backup vm1 "$img"
    refused "wrong meta pool" "nosuch" --meta-pool nosuch backup vm1 "$img"
    # A store not initialised: another namespace; nothing may appear in any pool there.
    other="tb-$$-uninit"
    "$vmdedup" --namespace "$other" backup vm1 "$img" >"$out" 2>"$err"
    rc=$?
    objs=$(for p in vmd.meta vmd.data vmd.popular; do rados -p "$p" -N "$other" ls; done 2>&1)
    if [ $rc = 1 ] && [ "$(wc -l <"$err")" = 1 ] && grep -q "not initialised" "$err" &&
        [ -z "$objs" ]; then
        pass "a store not initialised ($(cat "$err"))"
    else
        fail "a store not initialised" "exit $rc, objects: $objs"
    fi
    restored vm1 1 b-1
    judge "bad input: snapshot 1 restores after all that" "differs" $?
fi

vmd_test_summary time
