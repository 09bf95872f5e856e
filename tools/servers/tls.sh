#!/usr/bin/env bash
# tls.sh - makes the self-signed test certificates the throwaway servers enable TLS with
# (called by mariadb.sh and postgres.sh; idempotent: existing files are kept).
#
#   tools/servers/tls.sh DIR      writes DIR/tls/:
#     ca.pem          the test CA (verify_ca / verify_full against it succeed)
#     server.pem/key  the servers' certificate, signed by ca.pem, for DNS:localhost only
#                     (so verify_full to "localhost" passes and to "127.0.0.1" fails)
#     other-ca.pem    an unrelated CA (verifying against it must fail)
#
# Test material only: the private keys sit unencrypted in DIR.
set -euo pipefail
dir=${1:-}
[ -n "$dir" ] || { echo "usage: $0 DIR" >&2; exit 2; }
t="$dir/tls"
[ -f "$t/server.pem" ] && [ -f "$t/other-ca.pem" ] && exit 0
mkdir -p "$t"
tmp=$(mktemp -d "$t/.new-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
ca() { # NAME CN
  openssl req -x509 "${ec[@]}" -keyout "$tmp/$1.key" -out "$tmp/$1.pem" -days 3650 -subj "/CN=$2" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}
ca ca "tideline test CA"
ca other-ca "tideline unrelated CA"
openssl req "${ec[@]}" -keyout "$tmp/server.key" -out "$tmp/server.csr" -subj "/CN=localhost" 2>/dev/null
printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' \
  > "$tmp/server.ext"
openssl x509 -req -in "$tmp/server.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" -CAcreateserial \
  -out "$tmp/server.pem" -days 3650 -extfile "$tmp/server.ext" 2>/dev/null
chmod 644 "$tmp"/*.pem
chmod 600 "$tmp"/*.key
# rename into place: a concurrent caller sees either no files or complete ones
for f in ca.pem ca.key other-ca.pem other-ca.key server.key server.pem; do mv -f "$tmp/$f" "$t/$f"; done
chmod 755 "$t"
