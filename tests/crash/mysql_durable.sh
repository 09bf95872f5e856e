#!/usr/bin/env bash
# mysql_durable.sh - #19 on MariaDB: a private target server with
# innodb_flush_log_at_trx_commit=0 (commits reach the log once a second) is SIGKILLed right
# after a checkpoint, started again, the task run again. No session can make such commits
# durable: the run warns, and when the crash lost committed rows the next run finds the
# checkpoint's row missing and copies the table again; the target equals the source.
# CR_TRIALS trials (default 1, 3 with TL_TEST_FULL=1). Needs TL_MYSQL_SRC_URL / TL_MYSQL_DST_URL (the private
# target listens on the source's port + 61): exit 77 without them (failure when CI is set).
set -uo pipefail
: "${CR_BIG_ROWS:=200000}"
source "$(dirname "$0")/_lib.sh"
cr_init mysql tlc_my_durable
cr_private_target 61 --innodb-flush-log-at-trx-commit=0 || cr_fail "cannot start a private MariaDB target"
cr_scenario_durable
