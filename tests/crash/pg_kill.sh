#!/usr/bin/env bash
# pg_kill.sh - proves, for PostgreSQL, that whatever happens to a run, running it again
# gives a target equal to the source:
# SIGKILL mid-copy: (1) while the big table is 10-90% copied and a position of it is
# recorded (the position must not be past the committed rows; the next run must resume,
# not start over); (2) random kill points with 3 parallel workers, the second run killed
# too; (3) a 'run --init' over the logs of a completed copy, killed, then a plain run.
# Equal = per table: row count, distinct keys (no duplicates) and an ordered content digest
# computed in SQL (a multiset digest for the keyless table); dataset and checks in _lib.sh.
# Needs TL_PG_SRC_URL / TL_PG_DST_URL: exit 77 without them (failure when CI is set).
set -uo pipefail
# 200,000 rows of big per CI run (the scenario's windows are timed, not sized); the
# original 600,000 with TL_TEST_FULL=1 (docs/testing.md)
[ "${TL_TEST_FULL:-}" = 1 ] && export CR_BIG_ROWS=${CR_BIG_ROWS:-600000}
export CR_BIG_ROWS=${CR_BIG_ROWS:-200000}
source "$(dirname "$0")/_lib.sh"
cr_init pg tlc_pg_kill
cr_scenario_kill
