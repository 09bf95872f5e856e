#!/usr/bin/env bash
# mysql_inject.sh - proves, for MySQL/MariaDB, that whatever happens to a run, running it again
# gives a target equal to the source:
# Crashes injected with TL_DEBUG_CRASH (the process SIGKILLs itself) at the commit
# points: after the target commit of batch N (in each table), after the store commit of
# position N, after a table's finished record reached the store, twice in a row, and with
# 3 workers; each time a run without the hook must complete the copy.
# Equal = per table: row count, distinct keys (no duplicates) and an ordered content digest
# computed in SQL (a multiset digest for the keyless table); dataset and checks in _lib.sh.
# Needs TL_MYSQL_SRC_URL / TL_MYSQL_DST_URL: exit 77 without them (failure when CI is set).
set -uo pipefail
export CR_BIG_ROWS=${CR_BIG_ROWS:-200000}
source "$(dirname "$0")/_lib.sh"
cr_init mysql tlc_mysql_inject
cr_scenario_inject
