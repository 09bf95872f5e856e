#!/usr/bin/env bash
# pg_term.sh - proves, for PostgreSQL, that whatever happens to a run, running it again
# gives a target equal to the source:
# SIGTERM mid-copy stops cleanly: exit 130, the position of the last committed batch
# is recorded (nothing written past it, store state 'stopped'), the next run resumes
# exactly there and copies exactly the remaining rows; then a random SIGTERM in chunk
# mode with 2 workers.
# Equal = per table: row count, distinct keys (no duplicates) and an ordered content digest
# computed in SQL (a multiset digest for the keyless table); dataset and checks in _lib.sh.
# Needs TL_PG_SRC_URL / TL_PG_DST_URL: exit 77 without them (failure when CI is set).
set -uo pipefail
# 200,000 rows of big per CI run (the scenario's windows are timed, not sized); the
# original 600,000 with TL_TEST_FULL=1 (docs/testing.md)
[ "${TL_TEST_FULL:-}" = 1 ] && export CR_BIG_ROWS=${CR_BIG_ROWS:-600000}
export CR_BIG_ROWS=${CR_BIG_ROWS:-200000}
source "$(dirname "$0")/_lib.sh"
cr_init pg tlc_pg_term
cr_scenario_term
