#!/usr/bin/env bash
# mongo.sh - a Mongo source and target hit mid-copy by the faults of tools/fault_matrix.py:
# on the Mongo test server the ones an in-memory server can take (freeze, its end of
# tideline's connections destroyed, TCP resets of tideline's end); registered a second time
# as mongo.ferretdb (tests/_ferretdb.sh points TL_MONGO_* at FerretDB), where restarts and
# #19's SIGKILL of the target right after a checkpoint run too, FerretDB keeping its data
# in files. Every run finishes by itself (retries), the target equals the source, no run
# hangs.
set -uo pipefail
source "$(dirname "$0")/_lib.sh"
if [ -n "${TL_FERRETDB_SRC_URL:-}" ] && [ "${TL_MONGO_SRC_URL:-}" = "$TL_FERRETDB_SRC_URL" ]; then
  fault_run ferretdb restart,freeze,kill-conn,tcp-reset,durable
else
  fault_run mongo freeze,kill-conn,tcp-reset
fi
