#!/usr/bin/env bash
# pg.sh - PostgreSQL source and target hit mid-copy by each fault of tools/fault_matrix.py
# (restart, freeze, pg_terminate_backend of tideline's sessions, TCP resets): every run
# finishes by itself (retries), the target equals the source, no run hangs.
# Not yet #19's `durable` trial (SIGKILL of a target with synchronous_commit=off right after
# a checkpoint): tideline records positions of commits that are not yet durable and the
# trial loses rows until #19 is done (`tools/fault_matrix.py --kinds pg --faults durable`).
set -uo pipefail
source "$(dirname "$0")/_lib.sh"
fault_run pg restart,freeze,kill-conn,tcp-reset
