#!/usr/bin/env bash
# pg_durable.sh - #19 on PostgreSQL: a private target server with synchronous_commit=off is
# SIGKILLed right after a checkpoint, started again, the task run again: the run resumes
# after the checkpoint (its commit was durable) and the target equals the source.
# CR_TRIALS trials (default 1, 3 with TL_TEST_FULL=1; the issue asks for 20: CR_TRIALS=20 bash pg_durable.sh).
# Needs TL_PG_SRC_URL / TL_PG_DST_URL (the private target listens on the source's port + 50
# + 10): exit 77 without them (failure when CI is set).
set -uo pipefail
: "${CR_BIG_ROWS:=200000}"
source "$(dirname "$0")/_lib.sh"
cr_init pg tlc_pg_durable
cr_private_target 50 || cr_fail "cannot start a private PostgreSQL target"
cr_scenario_durable
