# shellcheck shell=bash
# _lib.sh - the preamble and helpers every shell test repeated (tests/integration/*.sh,
# tests/crash/*.sh and its own tests/crash/_lib.sh, tests/conformance/_case.sh): skip or
# fail on missing servers, find the tideline binary, a work dir removed at exit, a task
# file, a named check. Not a test itself (ctest skips names starting with "_"); source it:
#
#   source "$(dirname "$0")/../_lib.sh"
#   TL_BIN=$(tl_sh_tideline) || exit 1   # the binary ctest passes in TL_BIN, absolute
#   tl_sh_require_env TL_MYSQL_SRC_URL TL_MYSQL_DST_URL   # exit 77, or 1 under CI
#   tl_sh_have_env TL_PG_SRC_URL TL_PG_DST_URL || ...     # optional part (1 under CI)
#   tl_sh_tmpdir NAME; work=$TL_SH_TMPDIR # /tmp/tl-NAME-XXXXXX, removed at exit
#   tl_sh_setup NAME VAR...; work=$TL_SH_TMPDIR           # the three above in one
#   tl_sh_on_exit 'kill $pid'             # more to do at exit (before the dirs go)
#   tl_sh_task FILE mysql SRC DST filter.do_dbs=x runtime.log_dir=...   # the task file
#   tl_sh_mysql URL -e "SQL"              # mariadb client on URL's port, -N -B
#   tl_sh_mysql_db DB "CREATE TABLE ..." "INSERT ..."   # fresh DB on both servers
#   tl_sh_check "what" "EXPR" ... ; tl_sh_result   # "ok/FAIL what" lines, "N failed"
#
# The environment comes from tests/CMakeLists.txt: TL_BIN (the tideline binary), TL_SRC
# (the source tree; derived from this file's place when unset) and TL_BUILD; the server
# URLs (TL_MYSQL_SRC_URL, ...) from the env.sh that `tools/servers.sh start DIR` writes.

TL_SH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${TL_SRC:=$(cd "$TL_SH_DIR/.." && pwd)}"
TL_SH_TMPDIR=
TL_SH_TMPDIRS=()
TL_SH_ON_EXIT=()
TL_SH_FAILS=0

# tl_sh_skip MSG...: a missing prerequisite: "skipped: MSG" and exit 77 (ctest: skipped);
# under CI (CI set) nothing may be skipped, so it is a failure (exit 1).
tl_sh_skip() {
  if [ -n "${CI:-}" ]; then echo "FAIL: $* (CI is set, so this is not a skip)"; exit 1; fi
  echo "skipped: $*"; exit 77
}

# tl_sh_require_env VAR...: tl_sh_skip unless every VAR is set and not empty.
tl_sh_require_env() {
  local v
  for v in "$@"; do
    [ -n "${!v:-}" ] || tl_sh_skip "$v not set (start servers with tools/servers.sh and source its env.sh)"
  done
}

# tl_sh_have_env VAR...: whether every VAR is set and not empty, for a test that leaves out
# the part a missing server would serve; under CI a missing VAR is a failure (tl_sh_skip).
tl_sh_have_env() {
  local v
  for v in "$@"; do
    [ -n "${!v:-}" ] || { [ -z "${CI:-}" ] || tl_sh_skip "$v not set"; return 1; }
  done
}

# tl_sh_tideline [CANDIDATE...]: prints the tideline binary as an absolute path (tests cd
# into work dirs): $TL_BIN when set (ctest sets it), else the first executable CANDIDATE.
# None, or not executable: a failure, never a skip (returns 1: `TL_BIN=$(...) || exit 1`).
# shellcheck disable=SC2120  # CANDIDATEs are optional: most callers pass none
tl_sh_tideline() {
  local b=${TL_BIN:-} c
  if [ -z "$b" ]; then
    for c in "$@"; do [ -x "$c" ] && { b=$c; break; }; done
  fi
  if [ -z "$b" ] || [ ! -x "$b" ]; then
    echo "FAIL: TL_BIN (tideline binary) not found${b:+: $b}" >&2; return 1
  fi
  printf '%s/%s\n' "$(cd "$(dirname "$b")" && pwd)" "$(basename "$b")"
}

# tl_sh_exit: the EXIT trap: the tl_sh_on_exit commands in order, then removes the dirs of
# tl_sh_tmpdir. The script's exit status stays what it was.
tl_sh_exit() {
  local tl_sh_cmd
  for tl_sh_cmd in "${TL_SH_ON_EXIT[@]}"; do eval "$tl_sh_cmd"; done
  [ ${#TL_SH_TMPDIRS[@]} -eq 0 ] || rm -rf "${TL_SH_TMPDIRS[@]}"
}

# tl_sh_on_exit CMD: CMD (evaluated then, so it sees the variables as they are at exit)
# runs at exit, before the work dirs are removed; e.g. '[ -z "$pid" ] || kill -9 $pid'.
tl_sh_on_exit() {
  TL_SH_ON_EXIT+=("$1")
  trap tl_sh_exit EXIT
}

# tl_sh_tmpdir NAME: makes the work dir /tmp/tl-NAME-XXXXXX, removed at exit; its path is
# in TL_SH_TMPDIR. Exit 1 when it cannot be made.
tl_sh_tmpdir() {
  TL_SH_TMPDIR=$(mktemp -d "/tmp/tl-$1-XXXXXX") || { echo "FAIL: cannot make a work dir in /tmp"; exit 1; }
  TL_SH_TMPDIRS+=("$TL_SH_TMPDIR")
  trap tl_sh_exit EXIT
}

# tl_sh_setup NAME VAR...: the preamble of a test that needs the servers of VAR...: TL_BIN
# from tl_sh_tideline (exit 1 without one), tl_sh_require_env VAR..., tl_sh_tmpdir NAME.
tl_sh_setup() {
  TL_BIN=$(tl_sh_tideline) || exit 1
  tl_sh_require_env "${@:2}"
  tl_sh_tmpdir "$1"
}

# tl_sh_task FILE KIND SRC_URL DST_URL [SECTION.KEY=VALUE...]: writes the task file of a
# KIND to KIND copy (mysql, pg, mongo): [extractor] and [sinker] with db_type=KIND and
# their url, then every KEY=VALUE under its [SECTION] (an extractor or sinker key joins
# that section; other sections follow in the order of their first key, keys in the order
# given). Returns 2 on an argument that is not SECTION.KEY=VALUE.
tl_sh_task() {
  local file=$1 kind=$2 src=$3 dst=$4 arg sec kv
  local -a order=(extractor sinker)
  local -A body=([extractor]="db_type=$kind"$'\n'"url=$src" [sinker]="db_type=$kind"$'\n'"url=$dst")
  shift 4
  for arg in "$@"; do
    sec=${arg%%.*} kv=${arg#*.}
    if ! [[ $sec =~ ^[a-z_]+$ && $kv == [a-z_]*=* ]]; then
      echo "tl_sh_task: '$arg' is not SECTION.KEY=VALUE" >&2; return 2
    fi
    [ -n "${body[$sec]+set}" ] || { order+=("$sec"); body[$sec]=; }
    body[$sec]+=${body[$sec]:+$'\n'}$kv
  done
  for sec in "${order[@]}"; do printf '[%s]\n%s\n' "$sec" "${body[$sec]}"; done > "$file"
}

# tl_sh_port URL: the port of a server URL (scheme://user:pw@host:PORT[/path]).
# shellcheck disable=SC2001  # the one sed expression the tests used, kept as it was
tl_sh_port() { echo "$1" | sed 's#.*:\([0-9]*\)\(/.*\)\{0,1\}$#\1#'; }

# tl_sh_mysql URL [ARG...]: the mariadb client, as root over TCP on 127.0.0.1 at the port
# of URL, tab-separated output without column names (-N -B), with the ARGs (-e SQL, ...).
tl_sh_mysql() { mariadb --protocol=TCP -h127.0.0.1 -P"$(tl_sh_port "$1")" -uroot -N -B "${@:2}"; }

# tl_sh_mysql_db DB SCHEMA [DATA]: a fresh database DB (as SQL writes it: quote it where
# it needs quotes) on both MySQL servers (TL_MYSQL_SRC_URL, TL_MYSQL_DST_URL): dropped if
# there, created, then SCHEMA on both; then DATA on the source, DB the default database.
tl_sh_mysql_db() {
  local sql="DROP DATABASE IF EXISTS $1; CREATE DATABASE $1; $2"
  tl_sh_mysql "$TL_MYSQL_SRC_URL" -e "$sql"; tl_sh_mysql "$TL_MYSQL_DST_URL" -e "$sql"
  [ -z "${3:-}" ] || tl_sh_mysql "$TL_MYSQL_SRC_URL" -e "USE $1; $3"
}

# tl_sh_check WHAT EXPR: evaluates EXPR (a string, so quote what it expands late) and
# prints "ok   WHAT" or "FAIL WHAT"; failures are counted in TL_SH_FAILS.
tl_sh_check() {
  if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; TL_SH_FAILS=$((TL_SH_FAILS + 1)); fi
}

# tl_sh_result: prints "N failed"; the status is 0 when no tl_sh_check failed (the last
# command of a test script, so its exit status).
tl_sh_result() {
  echo "$TL_SH_FAILS failed"
  [ "$TL_SH_FAILS" -eq 0 ]
}
