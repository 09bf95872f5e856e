#!/usr/bin/env bash
# mongo.sh - the Mongo test server as source and target hit mid-copy by the faults of
# tools/fault_matrix.py that an in-memory server can take (freeze, its end of tideline's
# connections destroyed, TCP resets of tideline's end): after the run (and the reruns a run
# that gave up needs) the target equals the source, no run hangs.
set -uo pipefail
source "$(dirname "$0")/_lib.sh"
fault_run mongo freeze,kill-conn,tcp-reset
