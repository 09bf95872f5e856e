#!/usr/bin/env bash
# fleet_netns.sh - a fleet's workers as separate hosts (#17, docs/fleet.md): each worker
# runs in a network namespace of its own with its own host name (ip netns, veth pairs,
# unshare --uts), made by this test, and reaches the servers - source, target, and the
# shared store on the source's PostgreSQL - through forwarders in the root namespace on
# test-only addresses (10.250.x.1/24). Then, while a worker copies a keyless table:
#   1. SIGKILL of that worker: its lease expires (3 s), the other worker takes the table
#      over and finishes it;
#   2. its link cut (veth down): the same, and when the link comes back the cut-off worker
#      can record nothing for the table it lost (refused, naming the new holder).
# After each: every table equal to the source (count and content digest): 0 rows lost,
# 0 duplicates. Needs root and network namespaces: skipped with the reason when the kernel
# or sandbox refuses them (under CI that is a failure).
# shellcheck disable=SC2034  # out, got, ...: read by the tl_sh_check expressions (eval)
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../_lib.sh
source "$(dirname "$0")/../_lib.sh"
tl_sh_setup fleetns TL_PG_SRC_URL TL_PG_DST_URL; work=$TL_SH_TMPDIR
for c in ip socat unshare psql; do
  command -v $c >/dev/null || tl_sh_skip "$c is not installed"
done
[ "$(id -u)" = 0 ] || tl_sh_skip "network namespaces need root"
tag=$(( $$ % 100000 ))
probe=tlfleet-probe-$tag
ip netns add "$probe" 2>"$work/netns.err" || tl_sh_skip "the kernel or sandbox refuses network namespaces: $(cat "$work/netns.err")"
ip netns del "$probe"

S() { psql -X -q -v ON_ERROR_STOP=1 "$TL_PG_SRC_URL" "$@"; }
D() { psql -X -q -v ON_ERROR_STOP=1 "$TL_PG_DST_URL" "$@"; }
sport=$(tl_sh_port "$TL_PG_SRC_URL"); dport=$(tl_sh_port "$TL_PG_DST_URL")
rows=${TL_FLEETNS_ROWS:-60000}
sschema=tl_fleetns_store_$tag
ST() { psql -X -q -tA -v ON_ERROR_STOP=1 "$TL_PG_SRC_URL" -c "SET search_path TO $sschema; $1"; }

# two "hosts": namespace, veth pair, 10.250.N.0/24 (N from this run's pid: runs do not meet)
net=$(( (tag % 120) * 2 + 2 ))
hosts=(a b); declare -A ns veth addr
for i in 0 1; do
  h=${hosts[$i]}
  ns[$h]=tlfleet-$h-$tag
  veth[$h]=tlf$h$tag
  addr[$h]=10.250.$((net + i))
done
fwd_pids=(); wpids=(); declare -A wpid
cleanup_net() {
  local p h
  for p in "${wpids[@]}"; do kill -9 "$p" 2>/dev/null; done
  for p in "${fwd_pids[@]}"; do kill -- -"$p" 2>/dev/null; kill "$p" 2>/dev/null; done
  for h in "${hosts[@]}"; do
    ip link del "${veth[$h]}" 2>/dev/null
    ip netns del "${ns[$h]}" 2>/dev/null
  done
  S -c "DROP SCHEMA IF EXISTS $sschema CASCADE; DROP SCHEMA IF EXISTS tl_fleetns CASCADE" >/dev/null 2>&1
  D -c "DROP SCHEMA IF EXISTS tl_fleetns CASCADE" >/dev/null 2>&1
}
tl_sh_on_exit cleanup_net
for h in "${hosts[@]}"; do
  ip netns add "${ns[$h]}" && ip link add "${veth[$h]}" type veth peer name "${veth[$h]}p" &&
    ip link set "${veth[$h]}p" netns "${ns[$h]}" && ip addr add "${addr[$h]}.1/24" dev "${veth[$h]}" &&
    ip link set "${veth[$h]}" up && ip netns exec "${ns[$h]}" ip addr add "${addr[$h]}.2/24" dev "${veth[$h]}p" &&
    ip netns exec "${ns[$h]}" ip link set "${veth[$h]}p" up && ip netns exec "${ns[$h]}" ip link set lo up ||
    tl_sh_skip "cannot set up the network namespace ${ns[$h]} (veth pair, addresses)"
  # the servers, as this host sees them: forwarders on its side of the link
  for port in "$sport" "$dport"; do
    setsid socat "TCP-LISTEN:$port,bind=${addr[$h]}.1,fork,reuseaddr" "TCP:127.0.0.1:$port" 2>>"$work/socat.log" &
    fwd_pids+=($!)
  done
done
sleep 0.5
for h in "${hosts[@]}"; do
  ip netns exec "${ns[$h]}" psql -X -tA "postgres://postgres:@${addr[$h]}.1:$sport/postgres?connect_timeout=5" -c 'SELECT 1' >/dev/null 2>&1 ||
    tl_sh_skip "host $h cannot reach the servers through its link (forwarder on ${addr[$h]}.1)"
done
echo "hosts: a = ${ns[a]} (${addr[a]}.2), b = ${ns[b]} (${addr[b]}.2)"

ddl='DROP SCHEMA IF EXISTS tl_fleetns CASCADE; CREATE SCHEMA tl_fleetns;
CREATE TABLE tl_fleetns.big (id bigint PRIMARY KEY, v text);
CREATE TABLE tl_fleetns.nokey (x int, v text);
CREATE TABLE tl_fleetns.small (id int PRIMARY KEY, v text);'
S -c "$ddl" && D -c "$ddl" || { echo "FAIL: ddl"; exit 1; }
S -c "INSERT INTO tl_fleetns.big SELECT g, md5(g::text) FROM generate_series(1, $((rows / 2))) g;
INSERT INTO tl_fleetns.nokey SELECT CASE WHEN g % 17 = 0 THEN NULL ELSE g % 5003 END, md5(g::text) FROM generate_series(1, $rows) g;
INSERT INTO tl_fleetns.small SELECT g, md5(g::text) FROM generate_series(1, 5000) g; ANALYZE;"
digest() { echo "SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM tl_fleetns.$1 t"; }
same() { [ "$(S -tA -c "$(digest "$1")")" = "$(D -tA -c "$(digest "$1")")" ]; }
dups() { D -tA -c "SELECT count(*) - count(DISTINCT (x, v)) FROM tl_fleetns.nokey"; } # nokey's rows are distinct on the source
lost() { echo $(( $(S -tA -c "SELECT count(*) FROM tl_fleetns.nokey") - $(D -tA -c "SELECT count(DISTINCT (x, v)) FROM tl_fleetns.nokey") )); }

# task TASK HOST: the task file of a worker on HOST (its own URLs through its link)
task() {
  local a=${addr[$2]}.1
  tl_sh_task "$work/$1-$2.ini" pg "postgres://postgres:@$a:$sport/postgres" "postgres://postgres:@$a:$dport/postgres" \
    global.task_id="$1" 'filter.do_tbs=tl_fleetns.*' extractor.parallel_type=chunk extractor.batch_size=500 \
    pipeline.checkpoint_interval_secs=1 runtime.log_dir="$work/logs-$1-$2" \
    resumer.store="postgres://postgres:@$a:$sport/postgres?schema=$sschema" resumer.lease_secs=3 resumer.chunk_rows=10000
}
# worker TASK HOST: runs the worker HOST on its host (own namespace and host name), in the background
worker() {
  task "$1" "$2"
  ip netns exec "${ns[$2]}" unshare --uts sh -c "echo fleet-host-$2 > /proc/sys/kernel/hostname; exec \"\$0\" \"\$@\"" \
    "$TL_BIN" run "$work/$1-$2.ini" --worker "$2" > "$work/$1-$2.out" 2>&1 &
  wpid[$2]=$!; wpids+=($!)
}
# holder TASK: the worker that holds the keyless table once it recorded a position for it (empty: none yet)
holder() { ST "SELECT owner FROM work_item w WHERE task_id = '$1' AND kind = 'table' AND item_key = 'tl_fleetns.nokey' AND state = 'claimed'
  AND EXISTS (SELECT 1 FROM position p WHERE p.task_id = w.task_id AND p.tb = 'nokey')" 2>/dev/null; }
wait_holder() { # TASK: prints the holder, waits up to 60 s
  local h="" _
  for _ in $(seq 1 600); do h=$(holder "$1"); [ -n "$h" ] && break; sleep 0.1; done
  echo "$h"
}
other() { [ "$1" = a ] && echo b || echo a; }

# 1. SIGKILL of the worker copying the keyless table
worker k1 a; worker k1 b
h=$(wait_holder k1)
tl_sh_check "a worker copies the keyless table (${h:-none})" "[ -n '$h' ]"
if [ -n "$h" ]; then
  o=$(other "$h")
  kill -9 "${wpid[$h]}"; wait "${wpid[$h]}" 2>/dev/null
  echo "killed worker $h; worker $o goes on"
  wait "${wpid[$o]}"; rc=$?
  tl_sh_check "the other worker finishes the task (rc $rc)" "[ $rc -eq 0 ]"
  tl_sh_check "it took the keyless table over from the killed one" "grep -q \"claimed table 'tl_fleetns.nokey', taken over from worker '$h'\" '$work/logs-k1-$o/$o/default.log'"
  tl_sh_check "keyless table: 0 rows lost ($(lost)), 0 duplicates ($(dups))" "[ \"\$(lost)\" = 0 ] && [ \"\$(dups)\" = 0 ]"
  tl_sh_check "every table equal" "same big && same nokey && same small"
  tl_sh_check "the table's finish was recorded by the survivor" "[ \"\$(ST \"SELECT source FROM finished WHERE task_id = 'k1' AND tb = 'nokey'\")\" = 'worker $o' ]"
  tl_sh_check "the workers were seen as two hosts" "[ \"\$(ST \"SELECT count(DISTINCT host) FROM worker WHERE task_id = 'k1'\")\" = 2 ]"
fi

# 2. the link of the worker copying the keyless table is cut, then comes back
D -c 'TRUNCATE tl_fleetns.big, tl_fleetns.nokey, tl_fleetns.small'
worker c1 a; worker c1 b
h=$(wait_holder c1)
tl_sh_check "a worker copies the keyless table (${h:-none})" "[ -n '$h' ]"
if [ -n "$h" ]; then
  o=$(other "$h")
  ip link set "${veth[$h]}" down
  echo "cut the link of worker $h; worker $o goes on"
  wait "${wpid[$o]}"; rc=$?
  tl_sh_check "the other worker finishes the task while $h is cut off (rc $rc)" "[ $rc -eq 0 ]"
  tl_sh_check "it took the keyless table over from the cut-off one" "grep -q \"claimed table 'tl_fleetns.nokey', taken over from worker '$h'\" '$work/logs-c1-$o/$o/default.log'"
  fin=$(ST "SELECT finished_at FROM finished WHERE task_id = 'c1' AND tb = 'nokey'")
  ip link set "${veth[$h]}" up
  echo "link of worker $h is back"
  for _ in $(seq 1 900); do kill -0 "${wpid[$h]}" 2>/dev/null || break; sleep 0.1; done
  kill -0 "${wpid[$h]}" 2>/dev/null && { echo "worker $h still runs 90 s after its link came back"; kill -9 "${wpid[$h]}"; }
  wait "${wpid[$h]}"; rc=$?
  log="$work/logs-c1-$h/$h/default.log"
  grep -E "nokey|taken over|gave up|lease" "$log" | tail -5
  tl_sh_check "the cut-off worker was refused for the table it lost (it names the new holder)" "grep -Eq \"(tl_fleetns.nokey|nokey).*(taken over by worker '$o'|no longer this worker's)\" '$log'"
  tl_sh_check "its records for the table stopped: the finish is the new holder's, unchanged" "[ \"\$(ST \"SELECT source || ' ' || finished_at FROM finished WHERE task_id = 'c1' AND tb = 'nokey'\")\" = 'worker $o $fin' ]"
  tl_sh_check "the table's last position is the new holder's" "[ \"\$(ST \"SELECT DISTINCT source FROM position WHERE task_id = 'c1' AND tb = 'nokey'\")\" = 'worker $o' ]"
  tl_sh_check "keyless table: 0 rows lost ($(lost)), 0 duplicates ($(dups))" "[ \"\$(lost)\" = 0 ] && [ \"\$(dups)\" = 0 ]"
  tl_sh_check "every table equal" "same big && same nokey && same small"
fi
tl_sh_result
