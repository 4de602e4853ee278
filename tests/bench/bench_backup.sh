#!/usr/bin/env bash
# bench_backup.sh - end-to-end backup and restore figures of the vmdedup command
# on vmd-gen images (a benchmark, not a test: nothing fails on a slow figure).
#
# For each size (default 1 GiB and 8 GiB): vmd-gen makes a base image and one
# child of it (--rate 0.02, with its dirty map); then, each under
# `/usr/bin/time -v` (peak RSS, CPU seconds) and with the json stats of the
# backup:
#   full        snapshot 1, the base image (no parent)
#   incr map    snapshot 2, the child, with its dirty map (clean segments unread)
#   incr nomap  snapshot 3, the child again, --parent 1, without a map (every
#               segment read and compared with the parent)
#   restore 1   snapshot 1 to a file (verified against the image with cmp,
#               outside the timing), then restore 2 likewise
# It prints one table: wall seconds, MB/s of disk (10^6 bytes/s of the disk
# size), CPU seconds (user + sys) and CPU s per GB of disk, peak RSS, and the
# bytes read / new / stored of the backups. The table is also written to
# BUILD_DIR/bench_backup.md.
#
# Each size runs on a fresh throwaway cluster (3 memstore OSDs by default; the data pool
# has 2 copies, the meta and popular pools 3) in WORK/cluster, with a memstore
# cap per OSD from the free memory (VMD_BENCH_MEMSTORE bytes to override),
# stopped after the size and always at the end (trap). A size whose data would
# not fit in the available memory is skipped (a row says so) rather than
# pushing the machine into the OOM killer. The images are in the page cache
# when they are read: the figures are those of the client's pipeline and the
# cluster, not of a disk.
#
# usage: tests/bench/bench_backup.sh [BUILD_DIR] [SIZE...]
#        BUILD_DIR default: build; SIZE default: 1G 8G (vmd-gen size syntax)
#        VMD_BENCH_DIR  work directory (default BUILD_DIR/bench-backup; removed
#                       at the end unless VMD_BENCH_KEEP=1)
#        VMD_BENCH_THREADS  --threads of backup and restore (default: unset, one per core)
#        VMD_BENCH_OSDS  OSDs of the cluster (default 3; 1: every pool has one copy,
#                       about a third of the memory, for large sizes on small machines)
# Needs /usr/bin/time (Debian package `time`, in ceph-conf/install-deps).
# shellcheck source-path=SCRIPTDIR source=../lib/vmd-test.sh
. "$(dirname "$0")/../lib/vmd-test.sh"
vmd_bench_init bench_backup
root=$vmd_root
build=$(cd "${1:-$root/build}" && pwd)
shift || true
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1G 8G)
vmdedup=$build/client/vmdedup
gen=$build/tests/vmd-gen
work=${VMD_BENCH_DIR:-$build/bench-backup}
cluster=$work/cluster
ns=bench
osds=${VMD_BENCH_OSDS:-3}
threads=()
[ -n "${VMD_BENCH_THREADS:-}" ] && threads=(--threads "$VMD_BENCH_THREADS")

[ -x "$vmdedup" ] || die "no $vmdedup: build first (cmake --build $build)"
[ -x "$gen" ] || die "no $gen: build first (cmake --build $build)"
[ -x /usr/bin/time ] || die "/usr/bin/time missing: apt-get install time (or ceph-conf/install-deps)"
"$vmdedup" --help 2>&1 | grep -q "backup" || die "$vmdedup has no backup verb yet"

mkdir -p "$work"
cleanup() {
    vmd_cluster_stop "$cluster"
    if [ "${VMD_BENCH_KEEP:-0}" != 1 ]; then
        rm -rf "$work"
    fi
}
trap cleanup EXIT

# start_cluster: a fresh cluster for one size (so that sizes do not share memory), with a
# memstore cap per OSD of 55% of the available memory over the OSDs, unless given.
start_cluster() {
    local avail_kb memstore
    avail_kb=$(vmd_avail_kb)
    memstore=${VMD_BENCH_MEMSTORE:-$((avail_kb * 1024 * 55 / 100 / osds))}
    echo "== cluster: $osds memstore OSD(s) of $((memstore >> 20)) MiB in $cluster"
    vmd_cluster_start "$cluster" "$osds" "$memstore" "$build/cls"
    "$vmdedup" --namespace "$ns" init >/dev/null
}

rows=()
notes=()
# timed LABEL SIZE JSON_OUT CMD...: runs CMD under time -v, adds a row to the table.
timed() {
    local label=$1 size=$2 json=$3 tf rc
    shift 3
    tf=$work/time.txt
    /usr/bin/time -v -o "$tf" "$@" >"$json" 2>"$work/cmd.err" &
    local tpid=$! cpid
    # Memory guard: the OSDs grow with the data; below 1 GiB available, stop the command
    # (by pid: the child of this time process) before the OOM killer picks a victim.
    while kill -0 "$tpid" 2>/dev/null; do
        if [ "$(vmd_avail_kb)" -lt 1048576 ]; then
            echo "bench_backup: less than 1 GiB of memory available: stopping $label" >&2
            for cpid in $(ps -o pid= --ppid "$tpid"); do
                kill "$cpid" 2>/dev/null || true
            done
        fi
        sleep 1
    done
    set +e
    wait "$tpid"
    rc=$?
    set -e
    if [ $rc -ne 0 ]; then
        cat "$work/cmd.err" >&2
        die "$label failed (exit $rc): $*"
    fi
    local wall cpu rss
    vmd_time_read "$tf"
    wall=$T_wall cpu=$T_cpu rss=$T_rss
    local read new stored
    read=$(jget bytes_read "$json") new=$(jget new_bytes "$json") stored=$(jget stored_bytes "$json")
    rows+=("$(awk -v l="$label" -v sz="$size" -v w="$wall" -v cpu="$cpu" -v r="$rss" \
        -v rd="$read" -v nw="$new" -v st="$stored" 'BEGIN {
            gb = sz / 1e9
            printf "| %-18s | %7.1f | %8.1f | %7.1f | %8.2f | %8.1f | %9s | %9s | %9s |",
                l, w, (w > 0 ? sz / 1e6 / w : 0), cpu, cpu / gb, r / 1024,
                (rd == "" ? "-" : sprintf("%.1f", rd / 1048576)),
                (nw == "" ? "-" : sprintf("%.1f", nw / 1048576)),
                (st == "" ? "-" : sprintf("%.1f", st / 1048576)) }')")
    echo "   $label: ${wall}s, $((rss / 1024)) MiB peak RSS"
}

# jget KEY FILE: the number after "KEY": in a json file (empty if absent).
jget() {
    vmd_jnum "$1" "$2"
}

# bytes SIZE: a vmd-gen size in bytes.
bytes_of() {
    local n=${1%%[kKmMgGtT]*} u=${1#"${1%%[kKmMgGtT]*}"}
    case $u in
    k* | K*) echo $((n << 10)) ;;
    m* | M*) echo $((n << 20)) ;;
    g* | G*) echo $((n << 30)) ;;
    t* | T*) echo $((n << 40)) ;;
    *) echo "$n" ;;
    esac
}

for size in "${sizes[@]}"; do
    vm=vm-$size
    img=$work/$vm.img
    # The memstore OSDs hold everything in memory. Measured (2026-11): the 3 OSDs peak at
    # about 2.1 GiB of RSS per GiB of vmd-gen disk (a third of it stored, data pool size 2,
    # memstore and OSD overhead), one OSD at 1.3 GiB, far above --memstore-bytes. Skip a
    # size that would not fit rather than push the machine into the OOM killer.
    if [ "$osds" -ge 3 ]; then
        need=$(($(bytes_of "$size") * 24 / 10 + (1 << 30)))
    else # one copy of everything
        need=$(($(bytes_of "$size") * 14 / 10 + (1 << 30)))
    fi
    avail=$(($(vmd_avail_kb) * 1024))
    if [ "$need" -gt "$avail" ]; then
        echo "== $size: skipped: needs about $((need >> 20)) MiB of memory, $((avail >> 20)) MiB available"
        rows+=("$(printf '| %-18s | skipped: needs ~%d MiB of memory, %d MiB available |' \
            "$size" $((need >> 20)) $((avail >> 20)))")
        continue
    fi
    start_cluster
    echo "== $size: generating"
    t0=$SECONDS
    "$gen" base --seed 1 --size "$size" --os-family debian "$img"
    "$gen" mutate --seed 2 --in "$img" --out "$work/$vm-2.img" --dirty-map "$work/$vm-2.map" \
        --rate 0.02
    bytes=$(stat -c %s "$img")
    echo "   $bytes bytes, generated in $((SECONDS - t0)) s" \
        "($(du -m "$img" | cut -f1) MiB allocated: the rest is holes)"
    cat "$img" "$work/$vm-2.img" >/dev/null # both in the page cache

    echo "== $size: backups"
    timed "$size full" "$bytes" "$work/$vm-1.json" \
        "$vmdedup" --namespace "$ns" --format json -q backup "$vm" "$img" ${threads[@]+"${threads[@]}"}
    timed "$size incr map" "$bytes" "$work/$vm-2.json" \
        "$vmdedup" --namespace "$ns" --format json -q backup "$vm" "$work/$vm-2.img" \
        --dirty-map "$work/$vm-2.map" ${threads[@]+"${threads[@]}"}
    timed "$size incr nomap" "$bytes" "$work/$vm-3.json" \
        "$vmdedup" --namespace "$ns" --format json -q backup "$vm" "$work/$vm-2.img" \
        --parent 1 ${threads[@]+"${threads[@]}"}

    echo "== $size: restores"
    for s in 1 2; do
        src=$img
        [ $s = 2 ] && src=$work/$vm-2.img
        timed "$size restore $s" "$bytes" "$work/$vm-r$s.json" \
            "$vmdedup" --namespace "$ns" -q restore "$vm" "$s" "$work/restored.img" \
            ${threads[@]+"${threads[@]}"}
        cmp "$work/restored.img" "$src" || die "restore $s of $vm differs from its image"
        rm -f "$work/restored.img"
    done
    rm -f "$img" "$work/$vm-2.img"
    # What the cluster cost: the peak resident memory of the OSDs (memstore: all data in RAM).
    osd_kb=0
    for f in "$cluster"/run/osd*.pid; do
        pid=$(head -n1 "$f")
        kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)
        osd_kb=$((osd_kb + ${kb:-0}))
    done
    notes+=("$size: peak RSS of the $osds OSD(s) together $((osd_kb >> 10)) MiB")
    "$root/ceph-conf/vmd-cluster" stop "$cluster" >/dev/null
done

{
    echo
    echo "vmdedup backup/restore, $osds memstore OSD(s), $(nproc) cores, $(awk '/^MemTotal:/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)," \
        "$(uname -r), $(date -u +%Y-%m-%d)"
    echo "(MB = 10^6 bytes of disk; read/new/stored in MiB from the backup's json stats)"
    echo
    printf '| %-18s | %7s | %8s | %7s | %8s | %8s | %9s | %9s | %9s |\n' run "wall s" MB/s "CPU s" \
        "CPU s/GB" "RSS MiB" "read MiB" "new MiB" "stored MiB"
    echo "|--------------------|--------:|---------:|--------:|---------:|---------:|----------:|----------:|----------:|"
    printf '%s\n' "${rows[@]}"
    echo
    printf '%s\n' ${notes[@]+"${notes[@]}"}
} | tee "$build/bench_backup.md"
