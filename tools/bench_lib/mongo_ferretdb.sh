# mongo_ferretdb.sh - the FerretDB part of tools/bench (sourced; kind "ferretdb"): MongoDB
# → MongoDB on a real wire-protocol server, FerretDB v1.24.2 on SQLite (tools/servers/
# ferretdb.sh), FERRET_DOCS generated documents (bench_lib/mongo_bench.py, the same as the
# mongo kind's) copied by tideline and, in the same run, by the best peer available here:
# `mongodump | mongorestore` does not build from the Go module proxy (mongo-tools' release
# tags are not Go module versions: "100.10.0" was tried once and refused), so the peer is
# what a user would otherwise write, bench_lib/mongo_copy_go (the official Go driver,
# go.mongodb.org/mongo-driver v1.17.10: find, then unordered insertMany of 1,000
# documents), built here with this machine's Go into the cache, never committed.

FERRET_COPY_SRC=$BENCH_LIB/mongo_copy_go
FERRET_COPY_BIN=${TL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tideline}/bench/mongo_copy_go

# ferret_build_peer: (re)builds the Go peer when its source is newer than the binary.
ferret_build_peer() {
  if [ -x "$FERRET_COPY_BIN" ] && [ -z "$(find "$FERRET_COPY_SRC" -newer "$FERRET_COPY_BIN" -type f)" ]; then
    return 0
  fi
  command -v go >/dev/null || { [ -x /usr/local/go/bin/go ] && PATH=$PATH:/usr/local/go/bin; }
  command -v go >/dev/null || die "ferretdb: no Go to build the peer (bench_lib/mongo_copy_go)"
  say "ferretdb: building the Go driver peer into $FERRET_COPY_BIN"
  mkdir -p "$(dirname "$FERRET_COPY_BIN")"
  (cd "$FERRET_COPY_SRC" && GOTOOLCHAIN=local GOFLAGS=-mod=mod go build -trimpath -o "$FERRET_COPY_BIN.tmp" .) \
    || die "ferretdb: building bench_lib/mongo_copy_go failed"
  mv "$FERRET_COPY_BIN.tmp" "$FERRET_COPY_BIN"
}

# ferret_cpu SRC|DST: CPU seconds used so far by that one FerretDB process (srv_cpu sums both;
# the split shows which side a tool loads: a sorted read costs the source, inserts the target).
ferret_cpu() {
  local url port
  if [ "$1" = SRC ]; then url=$TL_FERRETDB_SRC_URL; else url=$TL_FERRETDB_DST_URL; fi
  port=${url##*:}
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f\n", ($12 + $13) / hz }' \
    "/proc/$(cat "$SERVERS/ferretdb-$port/pid")/stat" 2>/dev/null || echo 0
}
# ferret_split_start / ferret_split_add KEY: the source / target CPU of one run, kept per KEY
# for the summary ("source/target" pairs, and their medians).
declare -A FR_SPLIT_S=() FR_SPLIT_D=()
ferret_split_start() { FR_S0=$(ferret_cpu SRC); FR_D0=$(ferret_cpu DST); }
ferret_split_add() {
  local k=$1 s d
  s=$(sub "$(ferret_cpu SRC)" "$FR_S0"); d=$(sub "$(ferret_cpu DST)" "$FR_D0")
  FR_SPLIT_S[$k]="${FR_SPLIT_S[$k]:-}${FR_SPLIT_S[$k]:+ }$s"
  FR_SPLIT_D[$k]="${FR_SPLIT_D[$k]:-}${FR_SPLIT_D[$k]:+ }$d"
  say "  $k: FerretDB CPU source ${s}s, target ${d}s"
}
ferret_split_line() { # KEY LABEL -> one summary line
  local k=$1 label=$2 i out="" ; local -a s d
  read -r -a s <<< "${FR_SPLIT_S[$k]}"; read -r -a d <<< "${FR_SPLIT_D[$k]}"
  for i in "${!s[@]}"; do out="$out ${s[$i]}/${d[$i]}"; done
  printf '  %-34s source %6.2f s, target %6.2f s (medians; per run source/target:%s)\n' "$label" \
    "$(median "${s[@]}")" "$(median "${d[@]}")" "$out"
}

ferret_verify() {
  local n; n=$("${MB_PY[@]}" count --url "$TL_FERRETDB_DST_URL" --db bench --coll docs)
  if [ "$n" = "$FR_ROWS" ]; then echo ok; else echo "MISMATCH($n)"; fi
}

ferret_drop() { "${MB_PY[@]}" drop --url "$TL_FERRETDB_DST_URL" --db bench; }

ferret_tideline() { # LABEL CKPT -> LAST_*
  local label=$1 ckpt=$2 name="ferretdb-$1" ini="$WORK/ferretdb-$1.ini"
  ferret_drop
  ferret_split_start
  tl_task "$ini" mongo "$TL_FERRETDB_SRC_URL" "$TL_FERRETDB_DST_URL" do_dbs bench table 1 "$ckpt" "$WORK/logs-$name"
  tl_run ferretdb "$name" "$ini" ferret_drop
  ferret_split_add "tl-${label%-*}"
  LAST_SECS=$TL_SECS LAST_RSS=$TL_RSS LAST_CPU=$TL_CPU LAST_SCPU=$TL_SCPU LAST_VER=$(ferret_verify)
  LAST_NOTE=$TL_NOTE
}

ferret_gocopy() { # -> LAST_*: the whole process is timed (connecting included), as for tideline
  local t0 t1 s0
  ferret_drop
  ferret_split_start
  s0=$(srv_cpu ferretdb)
  t0=$(now)
  timed "$WORK/rss.gocopy" "$FERRET_COPY_BIN" -from "$TL_FERRETDB_SRC_URL" -to "$TL_FERRETDB_DST_URL" \
    -db bench -coll docs -batch 1000 >"$WORK/gocopy.out" 2>&1 || { cat "$WORK/gocopy.out" >&2; die "mongo_copy_go failed"; }
  t1=$(now)
  LAST_SCPU=$(sub "$(srv_cpu ferretdb)" "$s0")
  LAST_SECS=$(elapsed "$t0" "$t1") LAST_RSS=$(rss_of "$WORK/rss.gocopy") LAST_CPU=$(cpu_of "$WORK/rss.gocopy")
  ferret_split_add go
  LAST_VER=$(ferret_verify)
}

bench_ferretdb() {
  local out i
  [ -n "${TL_FERRETDB_SRC_URL:-}" ] || die "ferretdb: no FerretDB servers (tools/install-deps.sh builds FerretDB with Go >= 1.24)"
  ferret_build_peer
  say "ferretdb: loading $FERRET_DOCS generated documents into bench.docs"
  out=$("${MB_PY[@]}" load --url "$TL_FERRETDB_SRC_URL" --db bench --coll docs --n "$FERRET_DOCS")
  FR_ROWS=${out% *}; FR_BYTES=${out#* }
  for i in $(seq 1 "$REPEAT"); do
    say "ferretdb: round $i of $REPEAT"
    ferret_tideline "ckpt1-$i" 1;         acc_add fr-ref
    ferret_tideline "ckpt86400-$i" 86400; acc_add fr-off
    ferret_gocopy;                        acc_add fr-go
  done
  acc_emit fr-ref ferretdb ref tideline "1 collection ckpt=1s" "$FR_ROWS" "$FR_BYTES"
  acc_emit fr-off ferretdb ckpt tideline "1 collection ckpt=86400s" "$FR_ROWS" "$FR_BYTES"
  acc_emit fr-go ferretdb peer "Go driver find+insertMany" "mongo-driver v1.17.10; 1000-doc batches" "$FR_ROWS" "$FR_BYTES"
  {
    echo "ferretdb: CPU seconds per FerretDB process (the stable measure on a shared machine):"
    ferret_split_line tl-ckpt1 "tideline ckpt=1s"
    ferret_split_line tl-ckpt86400 "tideline ckpt=86400s"
    ferret_split_line go "Go driver find+insertMany"
    echo
  } >> "$OUT/summary.txt"
}
