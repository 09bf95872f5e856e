#!/usr/bin/env bash
# mysql.sh - MariaDB source and target hit mid-copy by each fault of tools/fault_matrix.py
# (restart, freeze, server-side KILL of tideline's sessions, TCP resets, and #19's SIGKILL
# of the target right after a checkpoint): after the run (and the reruns a run that gave
# up needs) the target equals the source, no run hangs. tests/fault/_lib.sh has the knobs.
set -uo pipefail
source "$(dirname "$0")/_lib.sh"
fault_run mysql restart,freeze,kill-conn,tcp-reset,durable
