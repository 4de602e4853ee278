#!/usr/bin/env bash
# bench_compare.sh - vmdedup, restic and borg side by side on one fleet of VM disk
# images, in one run on one machine (a benchmark, not a test: nothing fails on a
# slow figure; a wrong restore fails).
#
# The fleet (docs/datasets.md): N VMs x K snapshots of raw disk images, each later
# snapshot with its dirty map, listed in backup order in FLEET/fleet.list:
#   --fleet gen  `vmd-gen fleet` (seeded: OS families, a Zipf-like popular layer shared
#                across VMs, per-VM data, churn); cached in $VMD_FLEET_CACHE (default
#                /var/tmp/vmdedup-fleets), keyed by the parameters and vmd-gen's sources
#   --fleet os   tests/gen/vmd-osimg (Debian bookworm trees from debootstrap, ext4
#                images, later snapshots edited with debugfs); cached by vmd-osimg
#
# Per tool, every snapshot is backed up in fleet.list order (every VM's snapshot 1,
# then every snapshot 2, ...), each under `/usr/bin/time -v`, images in the page cache
# (read once before each backup, untimed); then the chosen snapshots are restored
# (timed) and compared with their images with cmp (untimed):
#   vmdedup  a throwaway cluster (ceph-conf/vmd-cluster, memstore OSDs, in WORK/cluster),
#            `vmdedup init`, then `vmdedup backup VM IMG [--dirty-map MAP]`, store
#            defaults (VMD_BENCH_CDS_AFTER=K: `vmdedup cds update --min-vms 2` after the
#            K-th backup, timed with the first snapshots, so later VMs use level 3);
#            `vmdedup restore VM SNAP OUT`
#   restic   `restic init --repository-version 2` (compression auto = zstd), repository
#            on local disk, `restic backup` of the image (hard-linked to a fixed path
#            per VM, so restic finds the parent snapshot), `restic restore`
#   borg     `borg init -e none` (no encryption; default compression lz4), repository on
#            local disk, `borg create` of the image at the same fixed path, `borg extract`
# and reports: backup throughput of the first snapshots and of the later ones (MB/s of
# logical disk: 10^6 bytes per second), restore throughput, bytes stored, peak RSS,
# CPU seconds per GB of logical disk. For vmdedup, bytes stored is the sum of the
# backups' `stored_bytes` (compressed chunk bytes written to containers) and, next to
# it, what the three pools hold in the end (object data + omap + xattrs, one copy,
# summed with python3-rados: the throwaway cluster has no ceph-mgr, so `ceph df` has no
# pool figures); the CPU of the cluster's daemons during the backups is given apart.
# For restic and borg, bytes stored is `du -sb` of the repository.
#
# Reference figures of the fleet (`vmd-gen stats`): logical bytes, perfect dedup at 4 KiB
# fixed blocks (unique non-zero blocks x 4 KiB), per-VM dedup (sum over VMs of their
# unique blocks), dirty-segment-only (first snapshots whole + the dirty 2 MiB segments
# of the others).
#
# The results (markdown, with the machine, tool versions, fleet parameters, date) go to
# BUILD_DIR/bench_compare-FLEET.md and, unless --no-doc, into docs/benchmarks.md, section
# "Side by side: vmdedup, restic, borg", between the markers of this fleet kind (only
# those lines are replaced; the rest of the file is left alone).
#
# usage: tests/bench/bench_compare.sh [BUILD_DIR] [--fleet gen|os] [--vms N] [--snaps K]
#            [--size SIZE] [--seed S] [--restore last|all|VM:SNAP,...]
#            [--tools vmdedup,restic,borg] [--note TEXT] [--no-doc] [--keep]
#   BUILD_DIR  default: build (needs client/vmdedup, cls/, tests/vmd-gen)
#   defaults   gen: 4 VMs x 4 snapshots x 512M; os: 4 VMs x 4 snapshots x 1G; seed 1
#   --restore  last (default): the last snapshot of every VM and snapshot 1 of the
#              first VM; all: every snapshot; or a list such as vm01:1,vm02:4
#   --note     a sentence added under the table (e.g. what else loaded the machine)
#   --keep     keep the work directory (repositories, logs)
#   VMD_BENCH_DIR   work directory (default /var/tmp/vmdedup-bench-compare)
#   VMD_BENCH_OSDS  OSDs of the vmdedup cluster (default 1: one copy of everything, as
#                   the peers' local repositories; 3: the product's replication)
# Installs what it needs first (tests/bench/install-bench-deps). Needs root for the
# os fleet (debootstrap).
# shellcheck source-path=SCRIPTDIR source=../lib/vmd-test.sh
. "$(dirname "$0")/../lib/vmd-test.sh"
vmd_bench_init bench_compare
root=$vmd_root
build=$root/build
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
    build=$1
    shift
fi
build=$(cd "$build" && pwd) || {
    echo "bench_compare: no build directory $build" >&2
    exit 1
}
kind=gen vms=4 snaps=4 size="" seed=1 restore=last tools=vmdedup,restic,borg
note="" doc=1 keep=0
while [ $# -gt 0 ]; do
    case $1 in
    --fleet) kind=${2:?--fleet needs gen or os} && shift ;;
    --vms) vms=${2:?--vms needs a number} && shift ;;
    --snaps) snaps=${2:?--snaps needs a number} && shift ;;
    --size) size=${2:?--size needs a size} && shift ;;
    --seed) seed=${2:?--seed needs a number} && shift ;;
    --restore) restore=${2:?--restore needs last, all or VM:SNAP,...} && shift ;;
    --tools) tools=${2:?--tools needs a list} && shift ;;
    --note) note=${2:?--note needs a text} && shift ;;
    --no-doc) doc=0 ;;
    --keep) keep=1 ;;
    -h | --help)
        sed -n '/^# usage:/,/^# Installs/p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "bench_compare: unknown argument '$1' (see --help)" >&2
        exit 2
        ;;
    esac
    shift
done
case $kind in
gen) size=${size:-512M} ;;
os) size=${size:-1G} ;;
*)
    echo "bench_compare: --fleet gen or os, not '$kind'" >&2
    exit 2
    ;;
esac

vmdedup=$build/client/vmdedup
gen=$build/tests/vmd-gen
work=${VMD_BENCH_DIR:-/var/tmp/vmdedup-bench-compare}
fleet_cache=${VMD_FLEET_CACHE:-/var/tmp/vmdedup-fleets}
osds=${VMD_BENCH_OSDS:-1}
cluster=$work/cluster
ns=bench
has_tool() { [[ ",$tools," == *",$1,"* ]]; }

"$root/tests/bench/install-bench-deps" >&2 || die "installing the benchmark's packages failed"
[ -x "$gen" ] || die "no $gen: build first (cmake --build $build)"
"$gen" --help | grep -q "stats" || die "$gen has no fleet/stats subcommands: rebuild it"
if has_tool vmdedup; then
    [ -x "$vmdedup" ] || die "no $vmdedup: build first (cmake --build $build)"
    [ -e "$build/cls/libcls_vmdedup.so" ] || die "no $build/cls/libcls_vmdedup.so: build first"
    /usr/bin/python3 -c 'import rados' 2>/dev/null ||
        die "python3-rados missing (apt-get install python3-rados): it sums what the pools hold"
fi

rm -rf "$work"
mkdir -p "$work" "$fleet_cache"
cleanup() {
    vmd_cluster_stop "$cluster"
    [ "$keep" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT

# --- the fleet -----------------------------------------------------------------------
if [ "$kind" = gen ]; then
    src=$(vmd_gen_key)
    fleet=$fleet_cache/gen-v$vms-k$snaps-$size-s$seed-$src
    if [ ! -e "$fleet/.done" ]; then
        say "generating the fleet: vmd-gen fleet --seed $seed --vms $vms --snaps $snaps --size $size"
        rm -rf "$fleet"
        t0=$SECONDS
        "$gen" fleet --seed "$seed" --vms "$vms" --snaps "$snaps" --size "$size" "$fleet" ||
            die "vmd-gen fleet failed"
        touch "$fleet/.done"
        say "generated in $((SECONDS - t0)) s"
    fi
    fleet_desc="generated: \`vmd-gen fleet --seed $seed --vms $vms --snaps $snaps --size $size\`"
    fleet_desc+=" (defaults: families debian,ubuntu,centos; --rate 0.02; --popular 0.5; --zipf 1)"
else
    fleet=$("$root/tests/gen/vmd-osimg" --vms "$vms" --snaps "$snaps" --size "$size" \
        --seed "$seed" --gen "$gen" | tail -n1) || die "tests/gen/vmd-osimg failed"
    fleet_desc="Debian bookworm: \`tests/gen/vmd-osimg --vms $vms --snaps $snaps --size $size --seed $seed\`"
    fleet_desc+=" (ext4 images of debootstrap trees; kinds min, ssh, web, db; later snapshots edited with debugfs)"
fi
[ -e "$fleet/fleet.list" ] || die "no $fleet/fleet.list"

L_vm=() L_snap=() L_img=() L_map=()
while read -r a b c d; do
    case $a in '#'* | '') continue ;; esac
    L_vm+=("$a") L_snap+=("$b") L_img+=("$fleet/$c")
    if [ "$d" = - ]; then L_map+=(""); else L_map+=("$fleet/$d"); fi
done <"$fleet/fleet.list"
n=${#L_vm[@]}
[ "$n" -gt 0 ] || die "$fleet/fleet.list lists no snapshot"

# The restores: indexes into the list.
R=()
declare -A last_of=()
for ((i = 0; i < n; i++)); do last_of[${L_vm[i]}]=$i; done
case $restore in
all) for ((i = 0; i < n; i++)); do R+=("$i"); done ;;
last)
    R+=(0)
    for ((i = 0; i < n; i++)); do
        [ "${last_of[${L_vm[i]}]}" = "$i" ] && [ "$i" != 0 ] && R+=("$i")
    done
    ;;
*)
    IFS=, read -r -a want <<<"$restore"
    for w in "${want[@]}"; do
        found=""
        for ((i = 0; i < n; i++)); do
            [ "${L_vm[i]}:${L_snap[i]}" = "$w" ] && found=$i
        done
        [ -n "$found" ] || die "--restore: no snapshot $w in the fleet"
        R+=("$found")
    done
    ;;
esac

# --- reference figures -----------------------------------------------------------------
say "reference figures: vmd-gen stats $fleet"
"$gen" stats "$fleet" >"$work/ref.txt" || die "vmd-gen stats $fleet failed"
ref() { awk -F= -v k="$1" '$1 == k { print $2 }' "$work/ref.txt"; }
logical=$(ref logical_bytes) first_bytes=$(ref first_snapshot_bytes)
later_bytes=$((logical - first_bytes))
restore_bytes=0
for i in "${R[@]}"; do restore_bytes=$((restore_bytes + $(stat -c %s "${L_img[i]}"))); done

# --- timing -----------------------------------------------------------------------------
avail_kb() { vmd_avail_kb; }

# timed OUT ERR CMD...: runs CMD under /usr/bin/time -v; sets T_wall, T_cpu, T_rss (KiB).
# Memory guard: below 1 GiB available (the memstore OSDs grow with the data; the machine
# may be shared), CMD is stopped (by pid: the child of this time process) before the OOM
# killer picks a victim, and the benchmark ends.
timed() {
    local out=$1 err=$2 tf=$work/time.txt rc=0 tpid cpid low=0
    shift 2
    /usr/bin/time -v -o "$tf" "$@" >"$out" 2>"$err" &
    tpid=$!
    while kill -0 "$tpid" 2>/dev/null; do
        if [ "$(avail_kb)" -lt 1048576 ]; then
            low=1
            for cpid in $(ps -o pid= --ppid "$tpid"); do kill "$cpid" 2>/dev/null || true; done
        fi
        sleep 0.2
    done
    wait "$tpid" || rc=$?
    [ $low = 0 ] || die "less than 1 GiB of memory available: stopped $*"
    if [ $rc -ne 0 ]; then
        tail -n 20 "$err" >&2
        die "failed (exit $rc): $*"
    fi
    vmd_time_read "$tf"
}

# Per tool: sums of wall seconds and CPU seconds, and peak RSS, by phase.
declare -A W C M
acc() { # acc TOOL PHASE: adds the last timed run
    local k=$1.$2
    W[$k]=$(awk -v a="${W[$k]:-0}" -v b="$T_wall" 'BEGIN { print a + b }')
    C[$k]=$(awk -v a="${C[$k]:-0}" -v b="$T_cpu" 'BEGIN { print a + b }')
    [ "${M[$k]:-0}" -ge "$T_rss" ] || M[$k]=$T_rss
}
declare -A STORED EXTRA

# stage VM IMG: the image at the fixed path WORK/stage/VM.img (hard link; a copy if the
# fleet is on another file system), read once so that it is in the page cache.
stage() {
    mkdir -p "$work/stage"
    ln -f "$2" "$work/stage/$1.img" 2>/dev/null || cp --sparse=always "$2" "$work/stage/$1.img" ||
        die "cannot stage $2"
    cat "$2" >/dev/null
}

# daemon_cpu: user+sys seconds of the cluster's daemons so far.
daemon_cpu() {
    local f pid tck total=0
    tck=$(getconf CLK_TCK)
    for f in "$cluster"/run/*.pid; do
        pid=$(head -n1 "$f")
        [ -r "/proc/$pid/stat" ] || continue
        total=$((total + $(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$pid/stat")))
    done
    awk -v t="$total" -v k="$tck" 'BEGIN { print t / k }'
}

# --- vmdedup ----------------------------------------------------------------------------
run_vmdedup() {
    local memstore i m js stored=0 c0 c1 osd_kb=0 f pid kb need waited=0
    # Memstore OSDs hold everything in memory: about 3.5x the fleet's perfect-dedup bytes
    # per copy (measured: 2770 MiB of OSD RSS for 786 MiB on the generated 4x4x512M fleet),
    # plus ~0.3 GiB each, plus the 1 GiB the guard of `timed` keeps free. Wait (up to
    # VMD_BENCH_WAIT seconds, default 600) for that much memory rather than push a
    # shared machine into the OOM killer.
    need=$(($(ref perfect_dedup_bytes) / 1024 * 35 / 10 * (osds > 1 ? 2 : 1) + osds * 314572 + 1048576))
    while [ "$(avail_kb)" -lt "$need" ]; do
        [ "$waited" -lt "${VMD_BENCH_WAIT:-600}" ] ||
            die "vmdedup needs about $((need >> 10)) MiB of memory, $(($(avail_kb) >> 10)) MiB available"
        [ "$waited" -gt 0 ] || say "waiting for $((need >> 10)) MiB of memory ($(($(avail_kb) >> 10)) MiB available)"
        sleep 10
        waited=$((waited + 10))
    done
    memstore=$(($(avail_kb) * 1024 * 55 / 100 / osds))
    say "vmdedup: cluster of $osds memstore OSD(s) in $cluster"
    vmd_cluster_start "$cluster" "$osds" "$memstore" "$build/cls"
    "$vmdedup" --namespace "$ns" init >/dev/null || die "vmdedup init failed"
    c0=$(daemon_cpu)
    for ((i = 0; i < n; i++)); do
        m=()
        if [ -n "${L_map[i]}" ]; then m=(--dirty-map "${L_map[i]}"); fi
        cat "${L_img[i]}" >/dev/null
        js=$work/vmdedup-$i.json
        timed "$js" "$work/vmdedup.err" "$vmdedup" --namespace "$ns" --format json -q \
            backup "${L_vm[i]}" "${L_img[i]}" ${m[@]+"${m[@]}"}
        if [ "${L_snap[i]}" = 1 ]; then acc vmdedup first; else acc vmdedup incr; fi
        stored=$((stored + $(grep -o '"stored_bytes":[0-9]*' "$js" | head -n1 | cut -d: -f2)))
        echo "   vmdedup backup ${L_vm[i]} ${L_snap[i]}: ${T_wall}s, $((T_rss / 1024)) MiB" >&2
        if [ "${VMD_BENCH_CDS_AFTER:-0}" = $((i + 1)) ]; then
            timed "$work/cds.json" "$work/vmdedup.err" "$vmdedup" --namespace "$ns" \
                --format json -q cds update --min-vms 2
            acc vmdedup first
            echo "   vmdedup cds update --min-vms 2: ${T_wall}s (counted with the first backups)" >&2
        fi
    done
    c1=$(daemon_cpu)
    EXTRA[vmdedup.daemon_cpu]=$(awk -v a="$c0" -v b="$c1" 'BEGIN { print b - a }')
    for i in "${R[@]}"; do
        timed "$work/out.json" "$work/vmdedup.err" "$vmdedup" --namespace "$ns" -q \
            restore "${L_vm[i]}" "${L_snap[i]}" "$work/restored.img"
        acc vmdedup restore
        cmp "$work/restored.img" "${L_img[i]}" ||
            die "vmdedup: restore of ${L_vm[i]} ${L_snap[i]} differs from its image"
        rm -f "$work/restored.img"
        echo "   vmdedup restore ${L_vm[i]} ${L_snap[i]}: ${T_wall}s (cmp ok)" >&2
    done
    STORED[vmdedup]=$stored
    EXTRA[vmdedup.pools]=$(/usr/bin/python3 - "$CEPH_CONF" "$ns" <<'EOF'
import sys, rados
conf, ns = sys.argv[1], sys.argv[2]
total = {"data": 0, "omap": 0, "xattr": 0}
with rados.Rados(conffile=conf) as cl:
    for pool in ("vmd.meta", "vmd.data", "vmd.popular"):
        with cl.open_ioctx(pool) as io:
            io.set_namespace(rados.LIBRADOS_ALL_NSPACES)
            for o in list(io.list_objects()):
                io.set_namespace(o.nspace)
                size, _ = io.stat(o.key)
                total["data"] += size
                total["xattr"] += sum(len(k) + len(v) for k, v in io.get_xattrs(o.key))
                start = ""
                while True:
                    with rados.ReadOpCtx() as op:
                        it, _ = io.get_omap_vals(op, start, "", 1000)
                        io.operate_read_op(op, o.key)
                        got = 0
                        for k, v in it:
                            total["omap"] += len(k) + len(v or b"")
                            start = k
                            got += 1
                    if got < 1000:
                        break
print(total["data"] + total["omap"] + total["xattr"], total["data"], total["omap"], total["xattr"])
EOF
) || die "summing the pools with python3-rados failed"
    for f in "$cluster"/run/osd*.pid; do
        pid=$(head -n1 "$f")
        kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)
        osd_kb=$((osd_kb + ${kb:-0}))
    done
    OSD_KB=$osd_kb
    "$root/ceph-conf/vmd-cluster" stop "$cluster" >/dev/null || die "stopping the cluster failed"
}

# --- restic ------------------------------------------------------------------------------
run_restic() {
    local i id
    export RESTIC_REPOSITORY=$work/restic RESTIC_PASSWORD=bench-compare
    export RESTIC_CACHE_DIR=$work/restic-cache
    say "restic: repository $RESTIC_REPOSITORY (version 2)"
    restic init --repository-version 2 >"$work/restic.out" 2>&1 || {
        cat "$work/restic.out" >&2
        die "restic init failed"
    }
    declare -gA RESTIC_ID=()
    for ((i = 0; i < n; i++)); do
        stage "${L_vm[i]}" "${L_img[i]}"
        timed "$work/restic.json" "$work/restic.err" restic backup --json --host bench \
            "$work/stage/${L_vm[i]}.img"
        if [ "${L_snap[i]}" = 1 ]; then acc restic first; else acc restic incr; fi
        id=$(grep -o '"snapshot_id":"[0-9a-f]*"' "$work/restic.json" | tail -n1 | cut -d'"' -f4)
        [ -n "$id" ] || die "restic backup printed no snapshot_id"
        RESTIC_ID[$i]=$id
        echo "   restic backup ${L_vm[i]} ${L_snap[i]}: ${T_wall}s, $((T_rss / 1024)) MiB" >&2
    done
    rm -rf "$work/stage"
    for i in "${R[@]}"; do
        rm -rf "$work/rr"
        timed "$work/restic.out" "$work/restic.err" restic restore "${RESTIC_ID[$i]}" \
            --target "$work/rr"
        acc restic restore
        cmp "$work/rr$work/stage/${L_vm[i]}.img" "${L_img[i]}" ||
            die "restic: restore of ${L_vm[i]} ${L_snap[i]} differs from its image"
        echo "   restic restore ${L_vm[i]} ${L_snap[i]}: ${T_wall}s (cmp ok)" >&2
    done
    rm -rf "$work/rr"
    STORED[restic]=$(du -sb "$RESTIC_REPOSITORY" | cut -f1)
    EXTRA[restic.cache]=$(du -sb "$RESTIC_CACHE_DIR" | cut -f1)
}

# --- borg ----------------------------------------------------------------------------------
run_borg() {
    local i
    export BORG_REPO=$work/borg BORG_BASE_DIR=$work/borg-home
    export BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes BORG_RELOCATED_REPO_ACCESS_IS_OK=yes
    say "borg: repository $BORG_REPO (-e none)"
    borg init -e none >"$work/borg.out" 2>&1 || {
        cat "$work/borg.out" >&2
        die "borg init failed"
    }
    for ((i = 0; i < n; i++)); do
        stage "${L_vm[i]}" "${L_img[i]}"
        timed "$work/borg.out" "$work/borg.err" borg create "::${L_vm[i]}-${L_snap[i]}" \
            "$work/stage/${L_vm[i]}.img"
        if [ "${L_snap[i]}" = 1 ]; then acc borg first; else acc borg incr; fi
        echo "   borg create ${L_vm[i]} ${L_snap[i]}: ${T_wall}s, $((T_rss / 1024)) MiB" >&2
    done
    rm -rf "$work/stage"
    for i in "${R[@]}"; do
        rm -rf "$work/br" && mkdir -p "$work/br"
        cd "$work/br"
        timed "$work/borg.out" "$work/borg.err" borg extract "::${L_vm[i]}-${L_snap[i]}"
        cd "$root"
        acc borg restore
        cmp "$work/br$work/stage/${L_vm[i]}.img" "${L_img[i]}" ||
            die "borg: restore of ${L_vm[i]} ${L_snap[i]} differs from its image"
        echo "   borg extract ${L_vm[i]} ${L_snap[i]}: ${T_wall}s (cmp ok)" >&2
    done
    rm -rf "$work/br"
    STORED[borg]=$(du -sb "$BORG_REPO" | cut -f1)
}

ran=()
for t in vmdedup restic borg; do
    has_tool "$t" || continue
    "run_$t"
    ran+=("$t")
done

# --- the report -----------------------------------------------------------------------------
mib() { awk -v b="$1" 'BEGIN { printf "%.0f", b / 1048576 }'; }
mbps() { awk -v b="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.0f", b / 1e6 / s; else print "-" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "-" }'; }
spergb() { awk -v c="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", c / (b / 1e9); else print "-" }'; }
versions="vmdedup $(git -C "$root" describe --always --dirty 2>/dev/null || echo '?')"
versions+=", $(restic version | cut -d' ' -f1-2), $(borg --version)"
versions+=", ceph $(ceph --version | awk '{ print $3 }')"
report=$build/bench_compare-$kind.md
{
    echo "<!-- bench_compare $kind begin: written by tests/bench/bench_compare.sh, do not edit by hand -->"
    echo "#### Fleet: $kind ($(date -u +%Y-%m-%d))"
    echo
    echo "- Fleet: $fleet_desc; $n snapshots of $vms VMs."
    echo "- Machine: \`$(uname -a)\`; $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)," \
        "$(nproc) cores, $(awk '/^MemTotal:/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM."
    echo "- Versions: $versions."
    echo "- Command: \`tests/bench/bench_compare.sh BUILD --fleet $kind --vms $vms --snaps $snaps --size $size --seed $seed --restore $restore\`;" \
        "vmdedup on $osds memstore OSD(s) on this host (client and daemons share the cores)."
    [ -z "$note" ] || echo "- Note: $note"
    echo
    echo "Reference figures of the fleet (\`vmd-gen stats\`, 4 KiB blocks, no compression):"
    echo
    echo "| figure | MiB | logical / figure |"
    echo "|---|---:|---:|"
    for k in logical_bytes nonzero_bytes dirty_segment_bytes dirty_segment_nonzero_bytes \
        per_vm_dedup_bytes perfect_dedup_bytes; do
        case $k in
        logical_bytes) label="logical (all snapshots)" ;;
        nonzero_bytes) label="non-zero 4 KiB blocks" ;;
        dirty_segment_bytes) label="dirty-segment-only (first snapshots whole + dirty 2 MiB segments)" ;;
        dirty_segment_nonzero_bytes) label="dirty-segment-only, zero blocks skipped" ;;
        per_vm_dedup_bytes) label="per-VM dedup (unique non-zero blocks of each VM)" ;;
        perfect_dedup_bytes) label="perfect dedup (unique non-zero blocks of the fleet)" ;;
        esac
        echo "| $label | $(mib "$(ref "$k")") | $(ratio "$logical" "$(ref "$k")") |"
    done
    echo
    echo "Blocks by the number of VMs holding them: \`$(ref held_by_vms)\`."
    echo
    echo "| tool | backup first MB/s | backup incr MB/s | restore MB/s | stored MiB | logical / stored | peak RSS MiB backup / restore | CPU s/GB backup | CPU s/GB restore |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    for t in "${ran[@]}"; do
        cpu_b=$(awk -v a="${C[$t.first]:-0}" -v b="${C[$t.incr]:-0}" 'BEGIN { print a + b }')
        rss_b=${M[$t.first]:-0}
        [ "${M[$t.incr]:-0}" -le "$rss_b" ] || rss_b=${M[$t.incr]}
        echo "| $t | $(mbps "$first_bytes" "${W[$t.first]:-0}") | $(mbps "$later_bytes" "${W[$t.incr]:-0}")" \
            "| $(mbps "$restore_bytes" "${W[$t.restore]:-0}") | $(mib "${STORED[$t]}")" \
            "| $(ratio "$logical" "${STORED[$t]}") | $((rss_b / 1024)) / $((${M[$t.restore]:-0} / 1024))" \
            "| $(spergb "$cpu_b" "$logical") | $(spergb "${C[$t.restore]:-0}" "$restore_bytes") |"
    done
    echo
    echo "- Throughput is MB (10^6 bytes) of logical disk per wall second: first = the $vms" \
        "snapshots 1 ($(mib "$first_bytes") MiB), incr = the $((n - vms)) later ones ($(mib "$later_bytes") MiB)," \
        "restore = ${#R[@]} snapshots ($(mib "$restore_bytes") MiB, each compared with cmp afterwards)." \
        "CPU is user + sys of the tool's process per GB of logical disk."
    if has_tool vmdedup; then
        read -r p_all p_data p_omap p_xattr <<<"${EXTRA[vmdedup.pools]}"
        echo "- vmdedup stored = the backups' \`stored_bytes\` (compressed chunks written to" \
            "containers). The pools hold $(mib "$p_all") MiB in the end (object data $(mib "$p_data")," \
            "omap $(mib "$p_omap"), xattrs $(mib "$p_xattr"): recipes, catalog, index partitions;" \
            "logical / pools = $(ratio "$logical" "$p_all"))." \
            "The cluster's daemons used $(printf '%.0f' "${EXTRA[vmdedup.daemon_cpu]}") CPU s during the backups" \
            "($(spergb "${EXTRA[vmdedup.daemon_cpu]}" "$logical") s/GB on top of the client's);" \
            "the memstore OSD(s) peaked at $((OSD_KB / 1024)) MiB RSS (they hold the data in memory)." \
            "Later snapshots are backed up with their dirty maps; restic and borg read every image whole."
    fi
    if has_tool restic; then
        echo "- restic: repository version 2 (compression auto = zstd), encrypted (restic cannot" \
            "turn that off); its local cache ($(mib "${EXTRA[restic.cache]}") MiB) is not counted."
    fi
    if has_tool borg; then
        echo "- borg: \`borg init -e none\`, default chunker and lz4 compression."
    fi
    echo "<!-- bench_compare $kind end -->"
} >"$report"
cat "$report"

# --- into docs/benchmarks.md: only this fleet's block of the side-by-side section ------------
if [ "$doc" = 1 ]; then
    vmd_doc_splice "## Side by side: vmdedup, restic, borg" "bench_compare $kind" "$report" \
        "Written by \`tests/bench/bench_compare.sh\` (see docs/datasets.md for the fleets)."
fi
