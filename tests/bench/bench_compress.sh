#!/usr/bin/env bash
# bench_compress.sh - bytes stored and backup speed of vmdedup at several zstd levels,
# on one fleet (a benchmark, not a test).
#
# For each level (default: none 1 3) a fresh store in its own RADOS namespace of one
# throwaway cluster (1 memstore OSD) is made with `vmdedup init --zstd-level L`, and
# every snapshot of the fleet is backed up in the fleet's order (fleet.list, with the
# dirty maps it names). It prints, per level: the new (deduplicated, uncompressed)
# bytes, the stored bytes, their ratio, and the wall and CPU seconds of all backups
# (client only, /usr/bin/time). A markdown table goes to stdout and to
# WORK/bench_compress.md.
#
# usage: tests/bench/bench_compress.sh BUILD_DIR FLEET_DIR [LEVEL...]
#        FLEET_DIR: a fleet made by tests/gen/vmd-osimg or `vmd-gen fleet`
#        VMD_BENCH_DIR  work directory (default BUILD_DIR/bench-compress)
# shellcheck source-path=SCRIPTDIR source=../lib/vmd-test.sh
. "$(dirname "$0")/../lib/vmd-test.sh"
vmd_bench_init bench_compress
[ $# -ge 2 ] || {
    echo "usage: $0 BUILD_DIR FLEET_DIR [LEVEL...]" >&2
    exit 2
}
build=$(cd "$1" && pwd)
fleet=$(cd "$2" && pwd)
shift 2
levels=("$@")
[ ${#levels[@]} -gt 0 ] || levels=(none 1 3)
vmdedup=$build/client/vmdedup
work=${VMD_BENCH_DIR:-$build/bench-compress}
cluster=$work/cluster
[ -x "$vmdedup" ] || die "$vmdedup not built"
[ -f "$fleet/fleet.list" ] || die "$fleet/fleet.list: no such file (not a fleet directory)"
command -v /usr/bin/time >/dev/null || die "/usr/bin/time missing (Debian package time)"
mkdir -p "$work"
stop() { vmd_cluster_stop "$cluster"; }
trap stop EXIT

# memstore: the stored data of every level, twice over, and at least 2 GiB
logical=$(awk '!/^#/ { print $3 }' "$fleet/fleet.list" | while read -r img; do
    stat -c %s "$fleet/$img"
done | awk '{ s += $1 } END { print s }')
memstore=$((logical / 4 * ${#levels[@]}))
[ "$memstore" -ge $((2 << 30)) ] || memstore=$((2 << 30))
echo "bench_compress: cluster of 1 memstore OSD ($((memstore >> 20)) MiB) in $cluster" >&2
vmd_cluster_start "$cluster" 1 "$memstore"

out=$work/bench_compress.md
{
    echo "| zstd level | new (dedup, raw) MiB | stored MiB | stored / new | backup wall s | client CPU s |"
    echo "|---|---:|---:|---:|---:|---:|"
} >"$out"
for level in "${levels[@]}"; do
    ns=compress-$level
    "$vmdedup" --namespace "$ns" -q init --partitions 256 --zstd-level "$level" >/dev/null
    new=0 stored=0 wall=0 cpu=0
    while read -r vm snap img map; do
        case $vm in '#'* | '') continue ;; esac
        args=(--namespace "$ns" -q --format json backup "$vm" "$fleet/$img")
        [ "$map" = - ] || args+=(--dirty-map "$fleet/$map")
        /usr/bin/time -f '%e %U %S' -o "$work/time" "$vmdedup" "${args[@]}" >"$work/b.json" ||
            die "backup of $vm snapshot $snap (level $level) failed"
        n=$(grep -o '"new_bytes":[0-9]*' "$work/b.json" | cut -d: -f2)
        s=$(grep -o '"stored_bytes":[0-9]*' "$work/b.json" | cut -d: -f2)
        new=$((new + n))
        stored=$((stored + s))
        read -r e u y <"$work/time"
        wall=$(awk -v a="$wall" -v b="$e" 'BEGIN { print a + b }')
        cpu=$(awk -v a="$cpu" -v b="$u" -v c="$y" 'BEGIN { print a + b + c }')
    done <"$fleet/fleet.list"
    awk -v l="$level" -v n="$new" -v s="$stored" -v w="$wall" -v c="$cpu" 'BEGIN {
        printf "| %s | %.1f | %.1f | %.3f | %.1f | %.1f |\n", l, n / 1048576, s / 1048576,
            n ? s / n : 0, w, c }' >>"$out"
    echo "bench_compress: level $level done" >&2
done
echo "fleet: $(head -1 "$fleet/fleet.list" | sed 's/^# //'); logical $((logical >> 20)) MiB"
cat "$out"
