#!/usr/bin/env bash
# test_cli_verbs.sh - the command's smaller promises, against the throwaway cluster:
#
#   version    the client's version always, exit 0, "class: not reachable (<why>)" without
#              a cluster (in a few seconds, not librados' 30) or without an initialised store
#   help       special only as the verb (vmdedup help [VERB]) and as -h/--help: a VM and a
#              file may be called help
#   inspect    every kind of object after two backups and a `cds update`: the VM list,
#              catalogs, recipes (VM and popular refs), the CDS pointer and manifest,
#              index partitions, VM and popular containers, the settings; plain and JSON
#   progress   under a pseudo-terminal (script -qfc) a bar with a rate (MB/s) and an ETA;
#              none with --format json, -q or without a terminal
#
# usage: test_cli_verbs.sh PATH/TO/vmdedup PATH/TO/vmd-gen   (CEPH_CONF: the cluster)
# shellcheck source-path=SCRIPTDIR source=../lib/vmd-test.sh
. "$(dirname "$0")/../lib/vmd-test.sh"
vmd_test_init test_cli_verbs
vmdedup=${1:?usage: test_cli_verbs.sh PATH/TO/vmdedup PATH/TO/vmd-gen}
gen=${2:?usage: test_cli_verbs.sh PATH/TO/vmdedup PATH/TO/vmd-gen}
vmdedup=$(cd "$(dirname "$vmdedup")" && pwd)/$(basename "$vmdedup")
vmd_need_cluster
ns="test-verbs-$$"
vmd_scratch "${TMPDIR:-/tmp}" test_cli_verbs

# check NAME EXPECTED_EXIT PATTERN_IN_STDOUT -- ARGS...   (run in $dir)
check() {
    local name=$1 want=$2 pout=$3
    shift 4
    (cd "$dir" && "$vmdedup" "$@") >"$out" 2>"$err" </dev/null
    local rc=$? ok=0
    [ "$rc" -eq "$want" ] || ok=1
    [ -z "$pout" ] || grep -Eq -- "$pout" "$out" || ok=1
    [ $ok -eq 0 ] || echo "    (exit $rc, want $want)" >>"$err"
    result "$name" $ok
}

# A disk image of n MiB from vmd-gen (seeded: the same bytes every run).
image() { "$gen" base --seed 15 --size "$2M" --os-family 1 "$dir/$1" >/dev/null; }

echo "Suite: cli verbs"

# ---- version -----------------------------------------------------------------
printf '[global]\nmon_host = 127.0.0.1:9\n' >"$dir/dead.conf"
start=$(date +%s)
check "version without a cluster: exit 0, client version, why not the class" 0 \
    "class: not reachable \(connecting to the cluster.*\)" -- -c "$dir/dead.conf" version
grep -q "^client: vmdedup [0-9]" "$out"
result "version without a cluster still prints the client's version" $?
[ $(($(date +%s) - start)) -le 15 ]
result "version without a cluster answers within 15 s" $?
check "version without a cluster, json" 0 \
    '^\{"client":"[0-9.]+","class":null,"class_error":"connecting to the cluster' -- \
    -c "$dir/dead.conf" version --format json
check "version with a missing config" 0 "class: not reachable \(.*/nonexistent/ceph.conf.*No such file" -- \
    -c /nonexistent/ceph.conf version
check "version before init, json" 0 '"class":null,"class_error":"store not initialised' -- \
    --namespace "$ns" version --format json
check "init" 0 "" -- --namespace "$ns" init

# ---- help --------------------------------------------------------------------
check "help" 0 "^usage: vmdedup" -- help
check "help VERB" 0 "^usage: vmdedup \[options\] backup VM IMAGE" -- help backup
check "help of an unknown verb is a usage error" 2 "" -- help frobnicate
check "-h after the verb" 0 "^usage: vmdedup" -- backup -h
image help 3
check "a file named help" 0 "^snapshot 1 of vm-a " -- --namespace "$ns" backup vm-a help
check "a VM named help" 0 "^snapshot 1 of help " -- --namespace "$ns" backup help help
check "ls of the VM named help" 0 "^ +1 +0 " -- --namespace "$ns" ls help
check "info of the VM named help" 0 "^snapshot 1 of help" -- --namespace "$ns" info help 1
check "restore of the VM named help into a file named help" 0 "" -- \
    --namespace "$ns" restore help 1 help.out
cmp -s "$dir/help" "$dir/help.out"
result "the restore is byte-exact" $?

# ---- inspect every kind --------------------------------------------------------
# vm-a and help hold the same disk; a CDS of the chunks both hold makes popular copies,
# and a third VM with the same disk then references them (level 3).
check "cds update" 0 "" -- --namespace "$ns" cds update --min-vms 2 -q
check "a backup that finds its chunks in the CDS" 0 "" -- --namespace "$ns" backup -q vm-c help
check "inspect vmd.vms" 0 "^  vm-a$" -- --namespace "$ns" inspect vmd.vms
check "inspect vmd.vms, json" 0 '^\{"object":"vmd.vms","kind":"vm_list","vms":\["help","vm-a","vm-c"\]\}$' -- \
    --namespace "$ns" inspect vmd.vms --format json
check "inspect a catalog" 0 "^catalog vm.vm-a \(pool vmd.meta\), next_seq 2" -- \
    --namespace "$ns" inspect vm.vm-a
check "inspect a catalog, json" 0 '^\{"object":"vm.help","kind":"catalog","vm":"help","next_seq":2,"snapshots":\[\{"snap":1,"parent":0,.*"size":3145728' -- \
    --namespace "$ns" inspect vm.help --format json
check "inspect a recipe" 0 "^recipe r.vm-a.00000001: [0-9]+ bytes, COMPLETE" -- \
    --namespace "$ns" inspect r.vm-a.00000001
grep -Eq "^  seg 1  CHUNKS  holder 1 " "$out" && grep -Eq "^    [0-9a-f]{64}  ctr 0000000001000000 slot 0 " "$out"
result "the recipe's segments and refs into the VM's container" $?
check "inspect a recipe, json" 0 '"kind":"recipe",.*"header":\{.*"complete":true,"snap":1,"parent":0,"vm":"vm-c","disk_size":3145728,"nsegs":2,.*"flag":"POPULAR"' -- \
    --namespace "$ns" inspect r.vm-c.00000001 --format json
check "inspect the CDS pointer" 0 "^CDS pointer vmd.cds \(pool vmd.meta\): current 1 previous 0 " -- \
    --namespace "$ns" inspect vmd.cds
check "inspect the CDS pointer, json" 0 '^\{"object":"vmd.cds","kind":"cds_pointer","current":1,' -- \
    --namespace "$ns" inspect vmd.cds --format json
check "inspect a CDS manifest" 0 "^CDS manifest cds.00000001: version 1, [1-9][0-9]* entries" -- \
    --namespace "$ns" inspect cds.00000001
grep -Eq "^  [0-9a-f]{64}  p.0000000000000001 slot [0-9]+  raw [0-9]+  vms 2$" "$out"
result "the manifest's entries" $?
check "inspect a CDS manifest, json" 0 '"kind":"cds_manifest","header":\{"version":1,.*"cds_version":1,.*"entries":\[\{"fp":"[0-9a-f]{64}","ctr":"0000000000000001",.*"vm_count":2\}' -- \
    --namespace "$ns" inspect cds.00000001 --format json
check "inspect a VM container" 0 "^container c.vm-a.0000000001000000: " -- \
    --namespace "$ns" inspect c.vm-a.0000000001000000
check "inspect a popular container, json" 0 '"popular":true' -- \
    --namespace "$ns" inspect p.0000000000000001 --format json
check "inspect the settings" 0 "partition_bits +12" -- --namespace "$ns" inspect vmd.store
part=$("$vmdedup" --namespace "$ns" inspect r.vm-a.00000001 | grep -Eom1 '^    [0-9a-f]{64}  ctr' | cut -c5-7)
check "inspect the index partition of a chunk" 0 "^idx.0$part: bits 12, partition 0$part" -- \
    --namespace "$ns" inspect "idx.0$part"
check "inspect a missing recipe" 1 "" -- --namespace "$ns" inspect r.vm-a.00000009
grep -q "r.vm-a.00000009.*No such file or directory" "$err"
result "a missing recipe is named" $?

# ---- progress bar ----------------------------------------------------------------
image big 40
tty_run() { script -qfc "$*" /dev/null </dev/null | tr '\r' '\n' >"$out"; }
tty_run "$vmdedup" --namespace "$ns" backup vm-p "$dir/big"
grep -Eq '^backup +\[#+ *\] +[0-9]+% .* [0-9.]+ MB/s ETA [0-9]+:[0-9]{2}' "$out"
result "progress bar on a terminal, with a rate and an ETA" $?
tty_run "$vmdedup" --namespace "$ns" restore vm-p 1 "$dir/big.out"
grep -Eq '^restore +\[#+ *\] +[0-9]+% .* MB/s ETA [0-9]+:[0-9]{2}' "$out"
result "progress bar of a restore" $?
tty_run "$vmdedup" --namespace "$ns" backup vm-p "$dir/big" --format json
! grep -q "ETA" "$out" && grep -q '"snap":2' "$out"
result "no bar with --format json" $?
tty_run "$vmdedup" --namespace "$ns" backup -q vm-p "$dir/big"
! grep -q "ETA" "$out" && grep -Eq '^3\s*$' "$out"
result "no bar with -q" $?
"$vmdedup" --namespace "$ns" backup vm-p "$dir/big" >"$out" 2>"$err"
! grep -q "ETA" "$err" && ! grep -q "ETA" "$out"
result "no bar without a terminal" $?

# ---- names that need quoting ------------------------------------------------------
# stats asks the monitors where objects live with JSON commands: a namespace holding a
# quote, a backslash and a control character must reach them escaped, not break them.
qns="q\"u\\o$(printf '\t')te-$$"
check "init in a namespace that needs JSON quoting" 0 "store initialised" -- \
    --namespace "$qns" init --partitions 16
check "backup there" 0 "^snapshot 1 of vm-q " -- --namespace "$qns" backup vm-q help
check "stats there: placement of every object found" 0 "P\(restorable\)" -- \
    --namespace "$qns" stats

vmd_test_summary
