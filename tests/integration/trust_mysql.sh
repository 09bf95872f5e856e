#!/usr/bin/env bash
# trust_mysql.sh - issue #18 end to end on MySQL/MariaDB (the cases are in _trust_lib.sh): a
# target that lost rows mid-copy (ours: started over; another's: refused, then
# --recopy-lost), a split table's recorded bound, two tasks on one target table, and
# finished tables whose target lost rows copied again with --recopy-lost.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../_lib.sh
source "$(dirname "$0")/../_lib.sh"
# shellcheck source=_trust_lib.sh
source "$(dirname "$0")/_trust_lib.sh"
trust_main mysql
