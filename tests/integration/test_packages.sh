#!/usr/bin/env bash
# test_packages.sh - the Debian packages, built, installed on this machine and used.
#
#   build      dpkg-buildpackage -us -uc -b (nocheck: the unit tests run in their own
#              mode) in a copy of the source tree under a scratch directory, so the .debs
#              and the obj-* tree land there and not beside the checkout
#   contents   each of the four packages holds what it should (dpkg-deb -c)
#   install    apt-get install ./*.deb; the files are in place, the class directory is
#              the one ceph-osd reads, the installed library exports exactly what the
#              installed header declares, the command links the installed library
#   cluster    a throwaway cluster (ceph-conf/vmd-cluster --class-dir <installed dir>)
#              whose OSDs load the installed libcls_vmdedup.so (checked in their memory
#              maps); the installed /usr/bin/vmdedup initialises a store, asks the class
#              its version, backs up a generated image and restores it (compared byte for
#              byte; restore also checks every chunk's SHA-256)
#   pkg-config a small C program built with `pkg-config --cflags --libs vmdedup` calls
#              vmd_version() and opens the store
#   remove     the packages this script installed are purged again (so that the build
#              tree's tests never pick up installed copies), and their files are gone
#
# The cluster is stopped by pid (trap EXIT) and the packages are removed whatever
# happens. Packages that were installed before the script ran are left installed.
# Needs root (apt-get) and the build dependencies of debian/control.
#
# usage: tests/integration/test_packages.sh [SCRATCH_PARENT]   (default: /tmp)
# Prints "  Test: NAME ...passed|FAILED" per check and ends with "N passed, N failed".
# shellcheck source-path=SCRIPTDIR source=../lib/vmd-test.sh
. "$(dirname "$0")/../lib/vmd-test.sh"
vmd_test_init test_packages
here=$(cd "$(dirname "$0")" && pwd -P)
root=$(dirname "$(dirname "$here")")
scratch_parent=${1:-/tmp}
packages=(libvmdedup0 libvmdedup-dev vmdedup ceph-vmdedup-class)
version=$(dpkg-parsechangelog -l "$root/debian/changelog" -S Version 2>/dev/null || echo unknown)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
MiB=$((1024 * 1024))

dir=$(mktemp -d "$scratch_parent/test_packages.XXXXXX") || exit 1
out=$dir/stdout
err=$dir/stderr
cluster=$dir/cluster
installed_here=() # packages this script installed (and so removes)

# check NAME WHY COMMAND...: runs COMMAND (stdout in $out, stderr in $err); passes NAME
# when it exits 0.
check() {
    local name=$1 why=$2
    shift 2
    if "$@" >"$out" 2>"$err" </dev/null; then
        pass "$name"
        return 0
    fi
    fail "$name" "$why"
    return 1
}

# finish: the closing line; exit status 1 when anything failed.
finish() {
    echo "test_packages: $((SECONDS - t_start)) s"
    vmd_test_summary
    exit
}

remove_packages() {
    [ ${#installed_here[@]} -gt 0 ] || return 0
    DEBIAN_FRONTEND=noninteractive apt-get purge -y -q "${installed_here[@]}" >"$dir/purge.log" 2>&1
}

cleanup() {
    if [ -d "$cluster/run" ]; then
        "$root/ceph-conf/vmd-cluster" stop "$cluster" >/dev/null 2>&1
    fi
    remove_packages
    rm -rf "$dir"
}
trap cleanup EXIT

is_installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

# --- build ---------------------------------------------------------------------

if [ "$(id -u)" -ne 0 ]; then
    fail "root" "installing packages needs root (CI runs tests/run as root)"
    finish
fi
for p in dpkg-buildpackage dh; do
    if ! command -v "$p" >/dev/null; then
        fail "tools" "$p not found: run ceph-conf/install-deps"
        finish
    fi
done

# A copy of the tree as git sees it (tracked and new files, not ignored ones such as
# build directories), so a build here never writes into the checkout.
src=$dir/vmdedup-$version
mkdir -p "$src"
if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
    (cd "$root" && git ls-files -z --cached --others --exclude-standard |
        xargs -0 -I{} sh -c '[ -e "{}" ] && printf "%s\0" "{}"' |
        tar --null -T - -cf -) | tar -xf - -C "$src"
else
    tar -C "$root" --exclude='./build*' --exclude='./obj-*' -cf - . | tar -xf - -C "$src"
fi
if ! check "dpkg-buildpackage -us -uc -b" "the package build failed" \
    env DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" DEB_BUILD_PROFILES=nocheck \
    sh -c "cd '$src' && dpkg-buildpackage -us -uc -b"; then
    finish
fi

debs=()
for p in "${packages[@]}"; do
    f=$(ls "$dir/${p}_${version}_"*.deb 2>/dev/null | head -n1)
    if [ -n "$f" ]; then
        debs+=("$f")
    else
        fail "package $p built" "no ${p}_${version}_*.deb in $dir"
    fi
done
[ ${#debs[@]} -eq ${#packages[@]} ] && pass "four .deb files"

# deb_has PACKAGE PATH...: the package's file list holds every PATH.
deb_has() {
    local p=$1 f list
    shift
    list=$(dpkg-deb -c "$dir/${p}_${version}_"*.deb | awk '{print $6}' | sed 's#^\.##')
    for f in "$@"; do
        if ! grep -qx -- "$f" <<<"$list"; then
            echo "$p lacks $f; it has:"
            echo "$list"
            return 1
        fi
    done
}
libdir=/usr/lib/$multiarch
classdir=$libdir/rados-classes
check "libvmdedup0 contents" "library missing" \
    deb_has libvmdedup0 "$libdir/libvmdedup.so.0" "$libdir/libvmdedup.so.$version"
check "libvmdedup-dev contents" "header, link or .pc missing" \
    deb_has libvmdedup-dev /usr/include/vmdedup/vmdedup.h "$libdir/libvmdedup.so" \
    "$libdir/pkgconfig/vmdedup.pc"
check "vmdedup contents" "command missing" deb_has vmdedup /usr/bin/vmdedup /usr/sbin/vmd-pools
check "ceph-vmdedup-class contents" "class or ceph.conf snippet missing" \
    deb_has ceph-vmdedup-class "$classdir/libcls_vmdedup.so" \
    /usr/share/doc/ceph-vmdedup-class/examples/ceph.conf.vmdedup
check "only vmdedup.h is installed of the headers" "another header is packaged" \
    sh -c "[ \"\$(dpkg-deb -c '$dir'/libvmdedup-dev_*.deb | awk '{print \$6}' | grep -c '\\.h\$')\" = 1 ]"

# --- install -------------------------------------------------------------------

for p in "${packages[@]}"; do
    is_installed "$p" || installed_here+=("$p")
done
if ! check "apt-get install ./*.deb" "installation failed" \
    env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${debs[@]}"; then
    finish
fi
for p in "${packages[@]}"; do
    check "$p installed at $version" "dpkg-query shows another state or version" \
        sh -c "[ \"\$(dpkg-query -W -f='\${Status} \${Version}' $p)\" = 'install ok installed $version' ]"
done
check "files in place" "a file is missing" \
    ls -l /usr/bin/vmdedup /usr/sbin/vmd-pools "$libdir/libvmdedup.so.0" "$libdir/libvmdedup.so" \
    /usr/include/vmdedup/vmdedup.h "$libdir/pkgconfig/vmdedup.pc" "$classdir/libcls_vmdedup.so" \
    /usr/share/doc/ceph-vmdedup-class/examples/ceph.conf.vmdedup
osd_class_dir=$(ceph-osd -c /dev/null --show-config-value osd_class_dir 2>/dev/null | tail -n1)
check "class in ceph-osd's osd_class_dir" "ceph-osd reads $osd_class_dir" \
    test -f "$osd_class_dir/libcls_vmdedup.so" -a "$osd_class_dir" = "$classdir"
check "installed library exports exactly vmdedup.h's functions" "exports differ" \
    "$root/tests/api/check-exports" "$libdir/libvmdedup.so.0" /usr/include/vmdedup/vmdedup.h
# links_installed PROGRAM: the loader resolves PROGRAM's libvmdedup.so.0 to the installed
# file (compared after resolving links: /lib is /usr/lib on a merged-/usr system).
links_installed() {
    local lib
    lib=$(ldd "$1" | awk '$1 == "libvmdedup.so.0" { print $3 }')
    echo "$1: libvmdedup.so.0 => $lib"
    [ -n "$lib" ] && [ "$(realpath "$lib")" = "$(realpath "$libdir/libvmdedup.so.0")" ]
}
check "vmd-pools runs from /usr/sbin" "vmd-pools --help failed" /usr/sbin/vmd-pools --help
check "/usr/bin/vmdedup links the installed library" "ldd shows another libvmdedup" \
    links_installed /usr/bin/vmdedup
check "installed class exports only __cls_init" "other symbols exported" \
    sh -c "[ \"\$(nm -D --defined-only '$classdir/libcls_vmdedup.so' | awk '{print \$3}')\" = __cls_init ]"

# --- a cluster whose OSDs load the installed class --------------------------------

if ! check "cluster with the installed class" "vmd-cluster start failed" \
    "$root/ceph-conf/vmd-cluster" start "$cluster" --osds 3 --class-dir "$classdir"; then
    finish
fi
export CEPH_CONF=$cluster/ceph.conf
check "cluster links the installed class" "classes/libcls_vmdedup.so points elsewhere" \
    test "$(readlink "$cluster/classes/libcls_vmdedup.so")" = "$classdir/libcls_vmdedup.so"

vmd() {
    /usr/bin/vmdedup "$@" >"$out" 2>"$err" </dev/null
}
if ! vmd init --partitions 16; then
    fail "vmdedup init" "init failed"
    finish
fi
pass "vmdedup init"
if vmd version && grep -q "^client: vmdedup $version$" "$out" && grep -q '^class: vmdedup .*: compatible$' "$out"; then
    pass "vmdedup version reaches the class"
else
    fail "vmdedup version reaches the class" "no compatible class version"
fi
# The OSDs dlopen()ed classes/libcls_vmdedup.so, a link to the installed file: their
# memory maps name the installed path.
osd_maps() {
    local f pid n=0
    for f in "$cluster"/run/osd.*.pid; do
        pid=$(head -n1 "$f")
        grep -q " $classdir/libcls_vmdedup.so\$" "/proc/$pid/maps" && n=$((n + 1))
    done
    echo "OSDs that mapped $classdir/libcls_vmdedup.so: $n"
    [ "$n" -ge 1 ]
}
check "an OSD mapped the installed libcls_vmdedup.so" "no OSD has it in /proc/PID/maps" osd_maps

# A generated disk, from vmd-gen built by the project's own CMake (target vmd-gen alone)
# in the scratch directory.
gen=$dir/gen-build/tests/vmd-gen
if ! check "vmd-gen built" "cmake --build --target vmd-gen failed" \
    sh -c "cmake -S '$root' -B '$dir/gen-build' && cmake --build '$dir/gen-build' --target vmd-gen" ||
    ! check "image generated" "vmd-gen failed" \
        "$gen" base --seed 11 --size $((24 * MiB + 4321)) --os-family debian "$dir/disk.img"; then
    finish
fi
if vmd --format json backup vm1 "$dir/disk.img" && grep -q '"snap":1' "$out"; then
    pass "backup with the installed command"
else
    fail "backup with the installed command" "no snapshot 1"
fi
if vmd ls vm1 && grep -Eq '^ *1 ' "$out"; then
    pass "ls shows snapshot 1"
else
    fail "ls shows snapshot 1" "not listed"
fi
if vmd restore vm1 1 "$dir/restored.img" && cmp "$dir/disk.img" "$dir/restored.img" >>"$out" 2>&1; then
    pass "restore equals the image"
else
    fail "restore equals the image" "restore failed or differs"
fi

# --- a program built with pkg-config ------------------------------------------------

cat >"$dir/pc.c" <<'EOF'
#include <stdio.h>
#include <string.h>
#include <vmdedup/vmdedup.h>

int main(int argc, char **argv)
{
    vmd_store_opts opts;
    vmd_store *store = NULL;
    int rc;

    printf("vmd_version %s\n", vmd_version());
    if (argc > 1 && strcmp(vmd_version(), argv[1]) != 0)
        return 2;
    vmd_store_opts_init(&opts);
    rc = vmd_store_open(&store, &opts);
    if (rc) {
        printf("vmd_store_open: %d\n", rc);
        return 1;
    }
    rc = vmd_store_partitions(store);
    printf("partitions %d\n", rc);
    vmd_store_close(store);
    return rc > 0 ? 0 : 1;
}
EOF
if check "pkg-config program compiles" "cc with pkg-config --cflags --libs vmdedup failed" \
    sh -c "cc -std=c11 -Wall -Wextra -Werror -o '$dir/pc' '$dir/pc.c' \$(pkg-config --cflags --libs vmdedup)"; then
    check "pkg-config program links the installed library" "ldd shows another libvmdedup" \
        links_installed "$dir/pc"
    if "$dir/pc" "$version" >"$out" 2>"$err" && grep -qx 'partitions 16' "$out"; then
        pass "pkg-config program opens the store"
    else
        fail "pkg-config program opens the store" "wrong version or store not opened"
    fi
fi

# --- remove --------------------------------------------------------------------------

"$root/ceph-conf/vmd-cluster" stop "$cluster" >"$out" 2>"$err" || fail "cluster stopped" "stop failed"
if [ ${#installed_here[@]} -gt 0 ]; then
    if remove_packages; then
        installed_here=()
        check "packages removed" "files left behind" \
            sh -c "! ls /usr/bin/vmdedup '$libdir/libvmdedup.so.0' '$classdir/libcls_vmdedup.so' /usr/include/vmdedup/vmdedup.h 2>/dev/null | grep ."
    else
        fail "packages removed" "apt-get purge failed: $(tail -n3 "$dir/purge.log")"
    fi
fi
finish
