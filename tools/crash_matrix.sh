#!/usr/bin/env bash
# shellcheck disable=SC2034  # CR_* variables are read by tests/crash/_lib.sh
# crash_matrix.sh - the long version of tests/crash: proves (or disproves) over many random
# trials that whatever happens to a run, running it again gives a target equal to the source.
#
#   tools/crash_matrix.sh mysql|pg|mongo|ferretdb [TRIALS]  (default 30 trials)
#
# mongo: each trial is tests/crash/mongo_kill.sh with CR_RANDOM_KILL=1 (120,000 ObjectId
# documents plus mixed _id types; SIGKILL at a random moment, sometimes twice; the final
# run must leave the target byte-identical to the source). ferretdb: the same trials
# against FerretDB (tests/_ferretdb.sh; servers from TL_FERRETDB_* or started here).
#
# One dataset (tests/crash/_lib.sh: a keyed table of CR_BIG_ROWS rows, default 300,000, a
# composite-key, a nullable-unique-key, a keyless and a large-row table). Each trial: empty
# the target tables and reset the task (a fresh log dir, or `run --init` in the previous
# trial's log dir), pick parallel_size 1-3, parallel_type table/chunk, checkpoint interval
# 0/1 s and a fault:
#   kill-time    SIGKILL at a random 0.2-2.5 s
#   kill-mid     SIGKILL when the big table is at a random 5-95 %
#   inj-target   TL_DEBUG_CRASH=after_target_commit:N (rows committed, position not yet)
#   inj-store    TL_DEBUG_CRASH=after_store_commit:N / after_store_finished:N
#   term         SIGTERM at a random 0.2-2.5 s (must exit 130, or 0 if already done)
# half the time the second run is SIGKILLed too (random 0.2-2 s), then a final run must
# exit 0 and the target must equal the source (count, distinct keys, ordered digest).
# Prints one line per trial and the totals: trials, rows lost, duplicates, mismatches,
# failed runs. Exits 1 if any of them is non-zero.
#
# Servers: uses TL_MYSQL_*/TL_PG_* URLs from the environment when set, else starts its own
# (tools/servers.sh, port base MATRIX_PORT_BASE, default 27400) and stops them at the end.
# Knobs: MATRIX_SEED (random seed, printed), MATRIX_RESET=mix|fresh|init (default mix),
# CR_BIG_ROWS, TL_BIN (default build-crash/tideline, built if missing), CR_KEEP=1.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
kind=${1:-}
trials=${2:-30}
case $kind in mysql|pg|mongo|ferretdb) ;; *) echo "usage: $0 mysql|pg|mongo|ferretdb [TRIALS]" >&2; exit 2 ;; esac
[[ $trials =~ ^[0-9]+$ ]] && [ "$trials" -gt 0 ] || { echo "TRIALS must be a positive number" >&2; exit 2; }
export CR_BIG_ROWS=${CR_BIG_ROWS:-300000}
reset_mode=${MATRIX_RESET:-mix}
seed=${MATRIX_SEED:-$(( $(date +%s) % 100000 ))}
RANDOM=$seed

if [ -z "${TL_BIN:-}" ]; then
  TL_BIN=$root/build-crash/tideline
  # always (re)build: a stale binary would test old code
  cmake -S "$root" -B "$root/build-crash" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
    make -C "$root/build-crash" -j2 tideline >/dev/null || { echo "build failed" >&2; exit 1; }
fi
export TL_BIN TL_SRC=$root

if [ "$kind" = mongo ] || [ "$kind" = ferretdb ]; then
  msrv=
  if [ "$kind" = mongo ]; then have=${TL_MONGO_SRC_URL:-}; else have=${TL_FERRETDB_SRC_URL:-}; fi
  if [ -z "$have" ]; then
    msrv=$(mktemp -d /tmp/tl-matrix-mongo-XXXXXX)
    CI=1 TL_PORT_BASE=${TL_PORT_BASE:-27400} "$root/tools/servers.sh" start "$msrv" "$kind" >/dev/null || exit 1
    # shellcheck disable=SC1091
    source "$msrv/env.sh"
  fi
  export TL_MONGO_SRC_URL TL_MONGO_DST_URL TL_FERRETDB_SRC_URL TL_FERRETDB_DST_URL CR_RANDOM_KILL=1
  runner=(); [ "$kind" = ferretdb ] && runner=(bash "$root/tests/_ferretdb.sh")
  failed=0
  echo "seed $seed, $trials trials, $kind, tideline $TL_BIN"
  for t in $(seq 1 "$trials"); do
    if out=$("${runner[@]}" bash "$root/tests/crash/mongo_kill.sh" 2>&1); then
      echo "trial $t: ok ($(echo "$out" | grep -c '^ok') collections equal)"
    else
      failed=$((failed + 1)); echo "trial $t: FAILED"; echo "$out" | tail -5
    fi
  done
  [ -n "$msrv" ] && { "$root/tools/servers.sh" stop "$msrv" >/dev/null 2>&1; rm -rf "$msrv"; }
  echo "  trials                 $trials"
  echo "  trials with a mismatch $failed (a mismatch is any lost, extra or different document)"
  [ $failed -eq 0 ] && echo "  target equal to source after every trial"
  exit $((failed > 0))
fi

srv_dir=
stop_servers() { [ -z "$srv_dir" ] || { "$root/tools/servers.sh" stop "$srv_dir" >/dev/null 2>&1; rm -rf "$srv_dir"; }; }
if [ "$kind" = mysql ]; then have=${TL_MYSQL_SRC_URL:-}; else have=${TL_PG_SRC_URL:-}; fi
if [ -z "$have" ]; then
  srv_dir=$(mktemp -d /tmp/tl-crash-matrix-servers-XXXXXX)
  chmod 755 "$srv_dir"
  trap 'stop_servers' EXIT
  echo "starting $kind servers (port base ${MATRIX_PORT_BASE:-27400}) in $srv_dir"
  TL_PORT_BASE=${MATRIX_PORT_BASE:-27400} "$root/tools/servers.sh" start "$srv_dir" "$kind" >/dev/null ||
    { echo "cannot start the $kind servers" >&2; exit 1; }
  # shellcheck disable=SC1091
  source "$srv_dir/env.sh"
fi

export CI=1   # inside the matrix a missing server is an error, never a skip
# shellcheck source=../tests/crash/_lib.sh
source "$root/tests/crash/_lib.sh"
CR_ON_EXIT=stop_servers
cr_init "$kind" "tlc_matrix_$kind"
cr_dataset || cr_fail "creating the dataset"
big_batches=$(( (CR_BIG_ROWS + 1999) / 2000 ))
echo "seed $seed, $trials trials, reset mode $reset_mode, tideline $TL_BIN"

pick() { local a=("$@"); echo "${a[RANDOM % ${#a[@]}]}"; }

# run_faulted DIR FAULT: runs once under FAULT; prints what happened (short word).
run_faulted() {
  local dir=$1 fault=$2 n
  case $fault in
    kill-time)
      cr_run_bg "$dir"; cr_rand_sleep 200 2500; cr_stop KILL ;;
    kill-mid)
      n=$(( 5 + RANDOM % 86 ))
      cr_run_bg "$dir"; CR_WAIT_NOPOS=1 cr_wait_mid "$dir" "$n" 99; cr_stop KILL ;;
    inj-target)
      n=$(( 1 + RANDOM % (big_batches + 60) ))
      cr_run_fg "$dir" TL_DEBUG_CRASH="after_target_commit:$n"; fault="$fault:$n" ;;
    inj-store)
      if [ $((RANDOM % 3)) = 0 ]; then
        n=$(( 1 + RANDOM % 5 )); cr_run_fg "$dir" TL_DEBUG_CRASH="after_store_finished:$n"; fault="inj-fin:$n"
      else
        n=$(( 1 + RANDOM % (CKPT == 0 ? big_batches + 40 : 4) ))
        cr_run_fg "$dir" TL_DEBUG_CRASH="after_store_commit:$n"; fault="$fault:$n"
      fi ;;
    term)
      cr_run_bg "$dir"; cr_rand_sleep 200 2500; cr_stop TERM ;;
  esac
  FAULT_DESC=$fault
}

rc_word() { # exit status -> short word
  case $1 in 0) echo "done" ;; 137) echo killed ;; 130) echo stopped ;; *) echo "rc$1" ;; esac
}

tot_lost=0; tot_dups=0; tot_mism=0; tot_fail=0; tot_resumed=0; bad_trials=()
declare -A by_n=() by_lost=() by_dups=() by_mism=()   # per reset mode (fresh / init)
printf '%-5s %-3s %-5s %-4s %-5s %-16s %-8s %-8s %-6s %8s %6s %5s %s\n' \
  trial par type ckpt reset fault run1 run2 final lost dups mism resumed
t_start=$SECONDS
prev_dir=
for i in $(seq 1 "$trials"); do
  PAR=$(pick 1 1 2 3); PTYPE=$(pick table table chunk); CKPT=$(pick 0 1)
  fault=$(pick kill-time kill-time kill-mid inj-target inj-store term)
  second=$((RANDOM % 2))
  case $reset_mode in
    fresh) reset=fresh ;; init) reset=init ;; *) reset=$(pick fresh init) ;;
  esac
  [ -n "$prev_dir" ] || reset=fresh
  cr_reset_target || cr_fail "resetting the target"
  if [ "$reset" = fresh ]; then dir=$CR_WORK/trial$i; else dir=$prev_dir; fi
  CR_PAR=$PAR CR_PTYPE=$PTYPE CR_CKPT=$CKPT cr_task "$dir"
  [ "$reset" = init ] && CR_RUN_ARGS=--init || CR_RUN_ARGS=
  run_faulted "$dir" "$fault"
  r1=$(rc_word "$CR_RC")
  CR_RUN_ARGS=
  r2=-
  if [ "$second" = 1 ]; then
    cr_run_bg "$dir"; cr_rand_sleep 200 2000; cr_stop KILL; r2=$(rc_word "$CR_RC")
  fi
  cr_run_fg "$dir"; rf=$(rc_word "$CR_RC")
  resumed=$(cr_new_log "$dir" | grep -c "resumer, \(get resume value\|check finished\)")
  [ "$CR_RC" = 0 ] || tot_fail=$((tot_fail + 1))
  [ "$resumed" -gt 0 ] && tot_resumed=$((tot_resumed + 1))
  if cr_compare "trial$i" > "$CR_WORK/compare.$i"; then :; else
    bad_trials+=("$i")
    { echo "== trial $i ($dir)"; cat "$CR_WORK/compare.$i"
      while IFS=$'\t' read -r t _ _ sh; do
        grep -qP "^$t\t.*\t$sh\$" "$CR_WORK/dst.summary" || cr_show_diff "$t"
      done < "$CR_WORK/src.summary"
      cr_new_log "$dir" | grep "resumer\|removing\|WARN\|ERROR" | cut -c 12- | head -n 20
    } >> "$CR_WORK/failures.txt" 2>&1
  fi
  tot_lost=$((tot_lost + CR_LOST)); tot_dups=$((tot_dups + CR_DUPS)); tot_mism=$((tot_mism + CR_MISM))
  by_n[$reset]=$(( ${by_n[$reset]:-0} + 1 )); by_lost[$reset]=$(( ${by_lost[$reset]:-0} + CR_LOST ))
  by_dups[$reset]=$(( ${by_dups[$reset]:-0} + CR_DUPS )); by_mism[$reset]=$(( ${by_mism[$reset]:-0} + CR_MISM ))
  printf '%-5s %-3s %-5s %-4s %-5s %-16s %-8s %-8s %-6s %8s %6s %5s %s\n' \
    "$i" "$PAR" "$PTYPE" "$CKPT" "$reset" "$FAULT_DESC" "$r1" "$r2" "$rf" "$CR_LOST" "$CR_DUPS" "$CR_MISM" "$resumed"
  prev_dir=$dir
done

echo
echo "== crash matrix ($kind, seed $seed, big table $CR_BIG_ROWS rows, $((SECONDS - t_start)) s)"
printf '  %-22s %s\n' trials "$trials" "rows lost" "$tot_lost" duplicates "$tot_dups" \
  "tables mismatching" "$tot_mism" "final runs failed" "$tot_fail" "trials that resumed" "$tot_resumed"
for r in fresh init; do
  [ -n "${by_n[$r]:-}" ] || continue
  printf '  reset by %-13s %s trials, lost %s, duplicates %s, mismatching tables %s\n' \
    "$([ $r = fresh ] && echo "new log dir:" || echo "run --init:")" "${by_n[$r]}" "${by_lost[$r]}" "${by_dups[$r]}" "${by_mism[$r]}"
done
if [ ${#bad_trials[@]} -gt 0 ] || [ "$tot_fail" -gt 0 ]; then
  echo "  differing trials: ${bad_trials[*]:-none}"
  [ -f "$CR_WORK/failures.txt" ] && { echo; cat "$CR_WORK/failures.txt"; }
  exit 1
fi
echo "  target equal to source after every trial"
exit 0
