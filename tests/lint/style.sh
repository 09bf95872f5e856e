#!/usr/bin/env bash
# style.sh - runs tools/check_style.sh (banned calls, module boundaries, file headers).
exec bash "$TL_SRC/tools/check_style.sh"
