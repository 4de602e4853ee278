#!/usr/bin/env bash
# test_restore_faults.sh - restore trusts the recipe, not a container table read twice.
#
# A segment whose chunks lie in more than 8 containers (restore's per-thread table
# cache) makes the cache evict and reload tables while one segment is restored. A
# table reloaded between planning the reads and decoding them may not be the one
# that was checked: here the first container is replaced by another valid
# container of the same VM while restore stalls there (test hook
# VMD_RESTORE_TEST_STALL=decode, 5 s). Restore must write exactly the snapshot
# (its chunks were read and checked before the swap, and each is verified
# against the recipe's fingerprint and length), and a later restore must name
# the damaged container and fail, never write other data.
#
# usage: test_restore_faults.sh PATH/TO/vmdedup PATH/TO/vmd-gen SCRATCH_PARENT
#        (CEPH_CONF must point at the cluster)
# shellcheck source-path=SCRIPTDIR source=../lib/vmd-test.sh
. "$(dirname "$0")/../lib/vmd-test.sh"
vmd_test_init test_restore_faults
vmdedup=${1:?usage: test_restore_faults.sh PATH/TO/vmdedup PATH/TO/vmd-gen SCRATCH_PARENT}
gen=${2:?usage: test_restore_faults.sh PATH/TO/vmdedup PATH/TO/vmd-gen SCRATCH_PARENT}
vmd_need_cluster
vmd_scratch "${3:-/tmp}" test_restore_faults
ns="test-rfault-$$"
vmd() { "$vmdedup" --namespace "$ns" "$@" >"$out" 2>"$err" </dev/null; }
KiB=1024

echo "Suite: restore faults"
vmd init --partitions 16
result "init" $?

# Snapshot 1 of a 2 MiB disk (one segment), then 11 snapshots that each rewrite another 64 KiB of
# it (bytes from a second seeded image): the last snapshot's segment holds
# chunks of every one of the 12 backups, each backup's new chunks in containers of
# their own.
"$gen" base --seed 41 --size 2M --os-family 2 "$dir/disk.img" >/dev/null &&
    "$gen" base --seed 42 --size 2M --os-family 3 "$dir/edits.img" >/dev/null
result "images generated" $?
ok=0
vmd backup vm-r "$dir/disk.img" || ok=1
for k in $(seq 1 11); do
    dd if="$dir/edits.img" of="$dir/disk.img" bs=$((64 * KiB)) skip=$((2 * k)) seek=$((2 * k)) \
        count=1 conv=notrunc status=none || ok=1
    vmd backup vm-r "$dir/disk.img" || ok=1
done
result "12 snapshots, segment 0 edited in each" $ok

ctrs=$(rados -p vmd.data --namespace "$ns" ls | grep "^c\.vm-r\." | sort)
n=$(wc -l <<<"$ctrs")
[ "$n" -gt 8 ]
judge "more containers than restore's table cache ($n > 8)" "only $n containers" $?

vmd restore vm-r 12 "$dir/plain.out" && cmp -s "$dir/plain.out" "$dir/disk.img"
result "restore of snapshot 12 equals the image" $?

# The swap: the first container (its table will have been evicted by the time its
# chunks are decoded) becomes a copy of the last one, during the stall.
first=$(head -1 <<<"$ctrs")
last=$(tail -1 <<<"$ctrs")
rados -p vmd.data --namespace "$ns" get "$last" "$dir/last.ctr"
VMD_RESTORE_TEST_STALL=decode "$vmdedup" --namespace "$ns" restore vm-r 12 "$dir/stalled.out" \
    --threads 1 >"$out" 2>"$err" </dev/null &
pid=$!
bg_pids+=("$pid")
sleep 2
rados -p vmd.data --namespace "$ns" put "$first" "$dir/last.ctr"
wait "$pid"
rc=$?
[ "$rc" -eq 0 ] && cmp -s "$dir/stalled.out" "$dir/disk.img"
judge "restore across the swap writes exactly the snapshot" "exit $rc or different bytes" $?

vmd restore vm-r 12 "$dir/after.out" --threads 1
rc=$?
[ "$rc" -ne 0 ] && grep -q "$first" "$err" && [ "$(wc -l <"$err")" -eq 1 ]
judge "a later restore fails naming the damaged container" "exit $rc" $?

vmd_test_summary
