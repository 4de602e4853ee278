#!/usr/bin/env bash
# test_cli.sh - the vmdedup command against the throwaway cluster: exit codes,
# one clear error line per failure, JSON output.
#
# usage: test_cli.sh PATH/TO/vmdedup   (CEPH_CONF must point at the cluster)
# shellcheck source-path=SCRIPTDIR source=../lib/vmd-test.sh
. "$(dirname "$0")/../lib/vmd-test.sh"
vmd_test_init test_cli
vmdedup=${1:?usage: test_cli.sh PATH/TO/vmdedup}
vmd_need_cluster
ns="test-cli-$$"
vmd_scratch "${TMPDIR:-/tmp}" test_cli

# check NAME EXPECTED_EXIT PATTERN_IN_STDOUT PATTERN_IN_STDERR -- ARGS...
check() {
    local name=$1 want=$2 pout=$3 perr=$4
    shift 5
    "$vmdedup" "$@" >"$out" 2>"$err" </dev/null
    local rc=$?
    local ok=1
    [ "$rc" -eq "$want" ] || ok=0
    [ -z "$pout" ] || grep -Eq -- "$pout" "$out" || ok=0
    [ -z "$perr" ] || grep -Eq -- "$perr" "$err" || ok=0
    if [ "$want" -ne 0 ] && [ "$(wc -l <"$err")" -ne 1 ]; then ok=0; fi # one line, not a screenful
    if [ $ok -eq 1 ]; then
        pass "$name"
    else
        fail "$name" "exit $rc, want $want"
    fi
}

echo "Suite: cli"
check "version before init: the client's, and why not the class's" 0 \
    "class: not reachable \(store not initialised.*vmdedup init.*No such file or directory\)" "" -- \
    --namespace "$ns" version
check "init" 0 "store initialised with 4096 index partitions" "" -- --namespace "$ns" init
check "init refuses a partition count not a power of two" 1 "" "power of two" -- \
    --namespace "$ns-bad" init --partitions 1000
check "init twice refuses" 1 "" "already initialised" -- --namespace "$ns" init
check "init --zstd-level 0 is a usage error" 2 "" "zstd-level wants 1 to 19 or 'none'" -- \
    --namespace "$ns-z" init --zstd-level 0
check "init --chunk-avg 3000 is a usage error" 2 "" "chunk-avg wants a power of two" -- \
    --namespace "$ns-z" init --chunk-avg 3000
check "init --zstd-level none --chunk-avg 8192" 0 "" "" -- \
    --namespace "$ns-z" init --zstd-level none --chunk-avg 8192
check "the settings are stored" 0 "zstd_level.*0" "" -- --namespace "$ns-z" inspect vmd.store
check "chunk sizes follow --chunk-avg" 0 "chunk_max.*32768" "" -- \
    --namespace "$ns-z" inspect vmd.store
check "the default level is 1" 0 "zstd_level.*1" "" -- --namespace "$ns" inspect vmd.store
check "version, plain" 0 "class: vmdedup 0\.1\.0.*compatible" "" -- --namespace "$ns" version
check "version, json" 0 '^\{"client":"0\.1\.0","class":\{"name":"vmdedup".*"compatible":true\}\}$' "" -- \
    --namespace "$ns" version --format json
check "global options after the verb" 0 "compatible" "" -- version --namespace "$ns" -c "$CEPH_CONF"
check "inspect settings" 0 "partition_bits +12" "" -- --namespace "$ns" inspect vmd.store
check "inspect settings, json" 0 '^\{"object":"vmd.store","kind":"settings",.*"partition_bits":"12"' "" -- \
    --namespace "$ns" inspect vmd.store --format json
check "inspect a foreign name" 1 "" "not a vmdedup object" -- --namespace "$ns" inspect foo.bar
check "inspect a missing partition" 1 "" "idx.0fff.*No such file or directory" -- \
    --namespace "$ns" inspect idx.0fff
check "missing config names the file" 1 "" "/nonexistent/ceph.conf" -- \
    -c /nonexistent/ceph.conf ls
check "missing pool names the pool" 1 "" "pool nosuch.data does not exist" -- \
    --data-pool nosuch.data ls
check "unknown verb is a usage error" 2 "" "unknown verb 'frobnicate'" -- frobnicate
check "unknown option is a usage error" 2 "" "unknown option '--frob'" -- version --frob
check "bad format is a usage error" 2 "" "unknown format 'xml'" -- --format xml version
check "help" 0 "usage: vmdedup" "" -- --help
if grep -qs control_d /proc/xen/capabilities; then
    check "xen ls in dom0" 0 "Domain-0" "" -- xen ls
else
    check "xen ls without Xen says so" 1 "" "Xen is not running here" -- xen ls
fi

vmd_test_summary
