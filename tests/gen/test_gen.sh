#!/usr/bin/env bash
# test_gen.sh - vmd-gen is deterministic and its dirty maps are right (no cluster).
#
#   - `base` twice with the same arguments: the same bytes (cmp, sha256);
#     another seed: different bytes; a size that is not a multiple of 4 KiB
#   - `mutate` twice: the same child, text map and CBT map
#   - every 2 MiB segment where parent and child differ is in the text map,
#     every 64 KiB block where they differ has its bit in the CBT map, and the
#     CBT map has the length docs/dirty-maps.md requires
#   - two VMs of one OS family share blocks at the same offsets
#   - `fleet` twice: the same directory, byte for byte; its maps cover every
#     changed segment; its popular layer puts blocks in every VM, also across
#     families; `stats` adds up; `diffmap` marks exactly the differing segments
#
# usage: test_gen.sh PATH/TO/vmd-gen [SCRATCH_DIR]
# shellcheck source-path=SCRIPTDIR source=../lib/vmd-test.sh
. "$(dirname "$0")/../lib/vmd-test.sh"
vmd_test_init test_gen
gen=${1:?usage: test_gen.sh PATH/TO/vmd-gen [SCRATCH_DIR]}
vmd_scratch "${2:-${TMPDIR:-/tmp}}" test_gen
out="" err="" # the checks below keep no command output to show

# covered_segments MAP: the segment numbers a text-list map marks (N and N-M lines).
covered_segments() {
    sed 's/#.*//' "$1" | awk 'NF { n = split($1, r, "-"); for (s = r[1]; s <= r[n]; s++) print s }'
}

# differing UNIT A B: the numbers of the UNIT-byte pieces where files A and B differ.
differing() {
    cmp -l "$2" "$3" | awk -v u="$1" '{ print int(($1 - 1) / u) }' | uniq
}

# differing_segments A B: the 2 MiB segments where A and B differ (one cmp per segment:
# faster than cmp -l when much differs).
differing_segments() {
    local n=$((($(stat -c %s "$1") + 2097151) / 2097152)) s
    for ((s = 0; s < n; s++)); do
        cmp -s -i $((s * 2097152)) -n 2097152 "$1" "$2" || echo "$s"
    done
}

echo "Suite: vmd-gen"
size=$((21 * 1024 * 1024 + 12345))
"$gen" base --seed 11 --size "$size" --os-family debian "$dir/a.img" &&
    "$gen" base --seed 11 --size "$size" --os-family debian "$dir/b.img" &&
    cmp "$dir/a.img" "$dir/b.img" &&
    [ "$(sha256sum <"$dir/a.img")" = "$(sha256sum <"$dir/b.img")" ] &&
    [ "$(stat -c %s "$dir/a.img")" -eq "$size" ]
result "base: same arguments, same bytes and size" $?

"$gen" base --seed 12 --size "$size" --os-family debian "$dir/c.img" &&
    ! cmp -s "$dir/a.img" "$dir/c.img"
result "base: another seed, other bytes" $?

# Same family: a good share of the first 1024 blocks of 4 KiB are equal at the same offsets;
# fewer with another family. (cmp -l prints every differing byte: kept to 4 MiB.)
# differ_blocks A B: how many of the first 1024 blocks differ.
differ_blocks() {
    cmp -l -n $((4 * 1024 * 1024)) "$1" "$2" | awk '{ print int(($1 - 1) / 4096) }' | uniq | wc -l
}
differ=$(differ_blocks "$dir/a.img" "$dir/c.img")
[ "$differ" -lt 768 ] &&
    "$gen" base --seed 12 --size "$size" --os-family centos "$dir/d.img" &&
    [ "$(differ_blocks "$dir/c.img" "$dir/d.img")" -gt "$differ" ]
result "base: one family shares blocks at the same offsets, another does not" $?

for i in 1 2; do
    "$gen" mutate --seed 5 --in "$dir/a.img" --out "$dir/m$i.img" --dirty-map "$dir/m$i.map" \
        --cbt-map "$dir/m$i.cbt" --rate 0.03 || break
done
cmp "$dir/m1.img" "$dir/m2.img" && cmp "$dir/m1.map" "$dir/m2.map" &&
    cmp "$dir/m1.cbt" "$dir/m2.cbt" && [ "$(stat -c %s "$dir/m1.img")" -eq "$size" ]
result "mutate: same arguments, same child and maps, same size" $?

missing=$(comm -23 <(differing 2097152 "$dir/a.img" "$dir/m1.img" | sort) \
    <(covered_segments "$dir/m1.map" | sort -u))
[ -n "$(differing 2097152 "$dir/a.img" "$dir/m1.img")" ] && [ -z "$missing" ]
result "mutate: the text map covers every changed segment${missing:+ (missing: $missing)}" $?

# The CBT bitmap, one decimal byte per line.
sed 1d "$dir/m1.cbt" | tr -d '\n' | base64 -d | od -An -v -tu1 -w1 | tr -d ' ' >"$dir/cbt.bytes"
want=$(((((size + 65535) / 65536) + 7) / 8))
bad=$(differing 65536 "$dir/a.img" "$dir/m1.img" |
    awk 'NR == FNR { byte[NR - 1] = $1; next }
         { b = $1; v = byte[int(b / 8)]; if (int(v / 2 ^ (b % 8)) % 2 != 1) print b }' \
        "$dir/cbt.bytes" -)
[ "$(head -1 "$dir/m1.cbt")" = "cbt:" ] && [ "$(wc -l <"$dir/cbt.bytes")" -eq "$want" ] &&
    [ -z "$bad" ]
result "mutate: the CBT map has $want bytes and covers every changed 64 KiB block" $?

"$gen" mutate --seed 5 --in "$dir/a.img" --out "$dir/z.img" --dirty-map "$dir/z.map" --rate 0 &&
    cmp "$dir/a.img" "$dir/z.img" && [ -z "$(covered_segments "$dir/z.map")" ]
result "mutate: rate 0 copies the parent and writes an empty map" $?

# diffmap: exactly the segments where the images differ.
"$gen" diffmap "$dir/a.img" "$dir/m1.img" "$dir/d1.map" &&
    [ "$(covered_segments "$dir/d1.map" | sort -u)" = "$(differing_segments "$dir/a.img" "$dir/m1.img" | sort -u)" ] &&
    "$gen" diffmap "$dir/a.img" "$dir/a.img" "$dir/d0.map" && [ -z "$(covered_segments "$dir/d0.map")" ]
result "diffmap: marks exactly the differing segments" $?

# fleet: 3 VMs of 3 families, 3 snapshots of 20 MiB, twice.
for i in 1 2; do
    "$gen" fleet --seed 9 --vms 3 --snaps 3 --size 20M --rate 0.05 "$dir/fleet$i" || break
done
diff -r "$dir/fleet1" "$dir/fleet2" >/dev/null && [ "$(grep -vc '^#' "$dir/fleet1/fleet.list")" -eq 9 ] &&
    [ "$(sed -n 3p "$dir/fleet1/fleet.list")" = "vm01 1 vm01/1.img -" ] &&
    [ "$(tail -n1 "$dir/fleet1/fleet.list")" = "vm03 3 vm03/3.img vm03/3.map" ]
result "fleet: same arguments, same files; fleet.list in backup order" $?

missing=""
for vm in vm01 vm02 vm03; do
    for s in 2 3; do
        m=$(comm -23 <(differing_segments "$dir/fleet1/$vm/$((s - 1)).img" "$dir/fleet1/$vm/$s.img" | sort) \
            <(covered_segments "$dir/fleet1/$vm/$s.map" | sort -u))
        missing="$missing${m:+ $vm/$s: $m}"
    done
done
[ -z "$missing" ]
result "fleet: every map covers every changed segment${missing:+ (missing:$missing)}" $?

# shellcheck disable=SC1091,SC2154 # the variables come from the stats output
"$gen" stats "$dir/fleet1" >"$dir/stats" && . "$dir/stats" &&
    [ "$logical_bytes" -eq $((9 * 20 * 1024 * 1024)) ] &&
    [ "$first_snapshot_bytes" -eq $((3 * 20 * 1024 * 1024)) ] &&
    [ "$perfect_dedup_bytes" -lt "$per_vm_dedup_bytes" ] &&
    [ "$per_vm_dedup_bytes" -le "$nonzero_bytes" ] &&
    [ "$dirty_segment_bytes" -gt "$first_snapshot_bytes" ] &&
    [ "$dirty_segment_bytes" -lt "$logical_bytes" ] &&
    [ "${held_by_vms##*3:}" -gt 0 ]
result "fleet: stats add up, popular blocks are in all 3 VMs of 3 families" $?

"$gen" base --seed 1 --size 0 --os-family debian "$dir/e.img" 2>"$dir/err"
[ $? -eq 2 ] && grep -q "size must be above 0" "$dir/err"
result "usage error: size 0" $?
"$gen" mutate --seed 1 --in "$dir/nosuch" --out "$dir/x" --dirty-map "$dir/x.map" 2>"$dir/err"
[ $? -eq 1 ] && grep -q "^vmd-gen: error: cannot open .*nosuch" "$dir/err"
result "error: a missing parent" $?

vmd_test_summary
