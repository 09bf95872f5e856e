#!/usr/bin/env bash
# mysql_schema.sh - a whole mysql database copied into an empty server and killed while creating
# definitions, mid-data, mid-index-build and at random moments: the run after each must
# leave definitions and rows equal to the source's (scenario in _schema.sh).
# Needs TL_MYSQL_SRC_URL / TL_MYSQL_DST_URL: exit 77 without them (failure when CI is set).
set -uo pipefail
source "$(dirname "$0")/_schema.sh"
cr_init mysql tlc_mysql_schema
cr_scenario_schema
