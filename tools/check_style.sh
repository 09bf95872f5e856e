#!/usr/bin/env bash
# check_style.sh - the rules a reviewer should not have to check by eye (docs/style in
# ../shared/style.md): no banned C calls (strcpy, strcat, sprintf, vsprintf, gets, atoi,
# atol, sscanf, strtok), no exit() outside src/cli/, each library header included only by
# its own module (sqlite3.h in src/store, ini.h in src/core/config.c, mysql.h / libpq-fe.h
# / mongoc.h in their connectors; libpq-fe.h also in src/store/db_pg.c, the PostgreSQL
# checkpoint store, which uses libpq only for the store's own database), and a comment at
# the top of every C file.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bad=0
say() { echo "style: $*"; bad=1; }
files=$(git ls-files 'src/*.c' 'src/*.h' 'include/*.h' 2>/dev/null || find src include -name '*.[ch]')
for f in $files; do
  code=$(sed -e 's#//.*##' "$f")
  if echo "$code" | grep -nE '\b(strcpy|strcat|sprintf|vsprintf|gets|atoi|atol|sscanf|strtok)\s*\(' | grep -vE 'snprintf|vsnprintf' >/tmp/style.$$; then
    while read -r l; do say "$f:$l: banned call"; done < /tmp/style.$$
  fi
  case "$f" in src/cli/*) ;; *) echo "$code" | grep -nE '(^|[^_a-z])exit\s*\(' | sed "s#^#$f:#" | while read -r l; do echo "style: $l: exit() outside src/cli"; done | grep . && bad=1 ;; esac
  head -c 3 "$f" | grep -q '/\*' || say "$f: no comment at the top of the file"
done
rm -f /tmp/style.$$
chk() { # header, allowed path regex
  grep -lE "#include [<\"]($1)" $files | grep -vE "$2" | while read -r f; do echo "style: $f includes $1 outside its module"; done | grep . && bad=1
}
chk 'sqlite3\.h' '^src/store/'
chk 'ini\.h' '^src/core/config\.c$'
chk 'mysql\.h' '^src/connectors/mysql'
chk 'libpq-fe\.h' '^(src/connectors/pg|src/store/db_pg\.c$)'
chk 'mongoc|bson\.h|bson/' '^src/connectors/mongo'
[ $bad -eq 0 ] && echo "style: ok ($(echo "$files" | wc -w) files)"
exit $bad
