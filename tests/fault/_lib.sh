# shellcheck shell=bash
# _lib.sh - what the fault tests (tests/fault/*.sh) share: a few trials of
# tools/fault_matrix.py per fault kind on one database kind, on servers the tool starts
# itself (ports TL_PORT_BASE + 80..87), because it kills, restarts and freezes them. Every
# run a fault hits must finish by itself (--require-same: the retries of issue #15), the
# freezes outlast a per-batch deadline of 2 s (so that it gives connections up), and the
# outlast trial's outage (8-9 s) outlasts its retry window (3 s). On FerretDB the deadline
# is 30 s (see below).
# Not a test itself (ctest skips names starting with "_"). Source it, then:
#
#   fault_run KIND FAULT,FAULT...    # exit status of the tool: 0 = every trial kept the
#                                    # data exact, no hang, every copy finished
#
# Knobs: TL_FAULT_TRIALS (trials per fault kind, default 1), TL_FAULT_SEED (default random,
# printed: rerun a failure with it), TL_FAULT_ARGS (more tool arguments), TL_TEST_FULL=1
# (FerretDB's 30,000 documents instead of 10,000).
# shellcheck source-path=SCRIPTDIR source=../_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../_lib.sh"

fault_run() {
  local kind=$1 faults=$2 seed=${TL_FAULT_SEED:-$((RANDOM * 32768 + RANDOM))}
  TL_BIN=$(tl_sh_tideline) || exit 1
  [ -x /usr/bin/python3 ] || tl_sh_skip "no /usr/bin/python3"
  command -v ss >/dev/null || tl_sh_skip "no ss (iproute2)"
  case $kind in
    mysql) command -v mariadb >/dev/null && command -v mariadbd >/dev/null || tl_sh_skip "no MariaDB server/client" ;;
    pg) command -v psql >/dev/null || tl_sh_skip "no psql" ;;
    mongo) /usr/bin/python3 -c 'import pymongo, mockupdb' 2>/dev/null || tl_sh_skip "no python3-pymongo/mockupdb" ;;
    ferretdb) bash "$TL_SRC/tools/servers/ferretdb.sh" path >/dev/null || tl_sh_skip "FerretDB not built (tools/install-deps.sh)" ;;
  esac
  echo "fault trials on $kind ($faults), seed $seed: rerun with TL_FAULT_SEED=$seed"
  # FerretDB answers a first batch read (a sort over its SQLite table) in seconds on a busy
  # machine, and its driver's silence bound is the deadline: a 2 s deadline would give up
  # every read. There a freeze is waited out instead (the deadline is what the Mongo test
  # server's and the SQL servers' trials check).
  local deadline=2 docs=30000
  [ "$kind" = ferretdb ] && deadline=30
  # and it copies documents several times slower: a third of them there per CI run (the
  # fault moments are drawn from the measured copy time, whatever its length)
  [ "$kind" = ferretdb ] && [ "${TL_TEST_FULL:-}" != 1 ] && docs=10000
  # shellcheck disable=SC2086  # TL_FAULT_ARGS: words on purpose
  /usr/bin/python3 "$TL_SRC/tools/fault_matrix.py" --kinds "$kind" --faults "$faults" \
    --trials "${TL_FAULT_TRIALS:-1}" --rows 200000 --mongo-rows "$docs" --down 0.3-1.5 --freeze 3-5 \
    --task pipeline.batch_timeout_secs=$deadline --outlast 8-9 --outlast-window 3 --require-same \
    --deadline 120 --seed "$seed" --tideline "$TL_BIN" ${TL_FAULT_ARGS:-}
}
