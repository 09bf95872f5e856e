#!/usr/bin/env bash
# mysql.sh - MariaDB source and target hit mid-copy by each fault of tools/fault_matrix.py
# (restart, freeze, server-side KILL of tideline's sessions, TCP resets, and #19's SIGKILL
# of the target right after a checkpoint): every run finishes by itself (retries), the
# target equals the source, no run hangs; an outage longer than the retry window ends the
# run with the budget's message and a rerun finishes (outlast). tests/fault/_lib.sh has
# the knobs.
set -uo pipefail
source "$(dirname "$0")/_lib.sh"
fault_run mysql restart,freeze,kill-conn,tcp-reset,durable,outlast
