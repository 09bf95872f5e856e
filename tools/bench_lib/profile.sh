# profile.sh - optional part of tools/bench (--profile, sourced): runs the reference
# tideline copy of every benchmarked kind once more under `perf stat` (how much CPU
# tideline itself uses vs wall time) and `perf record` (flat profile of tideline's own
# CPU time by shared object and symbol), writing OUT/profile-KIND.txt. Servers are not
# profiled; when tideline's CPU share is small, the copy waits on the servers.

profile_run() { # KIND INI RESET_FN
  local kind=$1 ini=$2 reset=$3 f="$OUT/profile-$1.txt" data="$WORK/perf-$1.data"
  "$reset"
  rm -rf "$(awk -F= '/^log_dir=/{print $2}' "$ini")"
  {
    echo "== perf stat: tideline run ($kind reference task)"
    perf stat -e task-clock,context-switches,cpu-migrations,page-faults \
      "$TIDELINE" run "$ini" 2>&1 >/dev/null | sed -n '/Performance counter/,$p' || true
  } > "$f" 2>&1
  "$reset"
  rm -rf "$(awk -F= '/^log_dir=/{print $2}' "$ini")"
  perf record -q -F 1999 -o "$data" "$TIDELINE" run "$ini" >/dev/null 2>&1 || true
  {
    echo "== perf report: tideline's own CPU time by object and symbol (top 30)"
    perf report -i "$data" --no-children --sort dso,sym --stdio 2>/dev/null \
      | grep -v -e '^#' -e '^$' | sed -n '1,30p' || true
  } >> "$f"
  say "profile written to $f"
}

profile_all() {
  if ! command -v perf >/dev/null || ! perf stat -e task-clock true >/dev/null 2>&1; then
    say "perf is not usable here (perf_event_paranoid / container); skipping --profile"
    return 0
  fi
  if has_kind mysql; then
    mysql_reset_sbtest() { mysql_reset_target sbtest; }
    profile_run mysql "$WORK/my-p4-ckpt1-1.ini" mysql_reset_sbtest
  fi
  has_kind pg && profile_run pg "$WORK/pg-p4-ckpt1-1.ini" pg_reset_target
  if has_kind mongo; then
    mongo_reset() { "${MB_PY[@]}" drop --url "$TL_MONGO_DST_URL" --db bench; }
    profile_run mongo "$WORK/mongo-ckpt1-1.ini" mongo_reset
  fi
}
