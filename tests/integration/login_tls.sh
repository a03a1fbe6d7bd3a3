#!/usr/bin/env bash
# login_tls.sh - vouchd over HTTPS with the real agent: a device logs in when
# it trusts the server's certificate (--cacert), and refuses to talk when the
# certificate is untrusted, names another host, or the server is reached over
# plain HTTP. vouchd itself refuses plain HTTP off loopback and a TLS key
# that others can read.
set -euo pipefail
VOUCH=${VOUCH_CLI:?run through ctest}
VOUCHD=${VOUCHD:?run through ctest}
AGENT=${VOUCH_AGENT:?run through ctest}
PY=/usr/bin/python3
T=$(mktemp -d)
PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT
cd "$T"
pass=0 fail=0
ok()  { pass=$((pass + 1)); echo "ok   - $*"; }
bad() { fail=$((fail + 1)); echo "FAIL - $*"; }
# expect CODE WHAT CMD...
expect() {
  local want=$1 what=$2; shift 2
  set +e; "$@" >out.txt 2>err.txt; local got=$?; set -e
  if [ "$got" -eq "$want" ]; then ok "$what (exit $got)"; else bad "$what: exit $got, want $want: $(head -c 300 err.txt)"; fi
}

PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# a throwaway certificate for localhost (what a vendor's CA would issue)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=localhost -addext subjectAltName=DNS:localhost \
  -keyout tls.key -out tls.crt >/dev/null 2>&1
chmod 600 tls.key
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=other -addext subjectAltName=DNS:other.example \
  -keyout other.key -out other.crt >/dev/null 2>&1

"$VOUCH" key generate --type p256 --out cos.pem >/dev/null
"$VOUCH" init --domain example.com --dir P --cosigner "$("$VOUCH" key public cos.pem --format did)" >/dev/null
"$VOUCH" server export --dir P --out S >/dev/null
"$VOUCH" key generate --type p256 --out dev.pem >/dev/null
"$VOUCH" provision --dir P --device dev.pem --serial SN-1 --hardware board-a \
  --key "$T/dev.pem" --server "https://localhost:$PORT" --out B >/dev/null
"$VOUCH" provision --dir P --device "$("$VOUCH" key generate --type p256 --out dev2.pem)" --serial SN-2 \
  --hardware board-a --key "$T/dev2.pem" --server "https://127.0.0.1:$PORT" --out B2 >/dev/null
"$VOUCH" key generate --type p256 --out dev3.pem >/dev/null
"$VOUCH" provision --dir P --device dev3.pem --serial SN-3 --hardware board-a \
  --key "$T/dev3.pem" --server "http://localhost:$PORT" --out B3 >/dev/null

# the server's own refusals
cp tls.key loose.key && chmod 644 loose.key
set +e; timeout 5 "$VOUCHD" serve --dir S --listen "127.0.0.1:$PORT" --tls-cert tls.crt --tls-key loose.key >/dev/null 2>err.txt; rc=$?; set -e
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && ok "vouchd refuses a TLS key others can read (exit $rc)" || bad "loose TLS key: exit $rc"
set +e; timeout 5 "$VOUCHD" serve --dir S --listen "0.0.0.0:$PORT" >/dev/null 2>err.txt; rc=$?; set -e
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && ok "vouchd refuses plain HTTP off loopback (exit $rc)" || bad "plain HTTP on 0.0.0.0: exit $rc"

"$VOUCHD" serve --dir S --listen "127.0.0.1:$PORT" --tls-cert tls.crt --tls-key tls.key \
  --public-url "https://localhost:$PORT" > vouchd.out 2> vouchd.err &
PID=$!
for _ in $(seq 1 100); do grep -q 'listening on' vouchd.out 2>/dev/null && break; sleep 0.1; done
grep -q 'listening on https://' vouchd.out && ok "vouchd serves HTTPS" || bad "vouchd did not start: $(cat vouchd.err)"

expect 0 "a device that trusts the certificate logs in over HTTPS" \
  "$AGENT" login --bundle B --state st --cacert tls.crt
expect 0 "and calls the device API" "$AGENT" whoami --bundle B --state st --cacert tls.crt
grep -q 'SN-1' out.txt && ok "whoami names the device" || bad "whoami: $(cat out.txt)"
expect 159 "the system store does not know the certificate: refused" \
  "$AGENT" login --bundle B --state st-sys
expect 159 "a certificate from another CA: refused" \
  "$AGENT" login --bundle B --state st-other --cacert other.crt
expect 159 "the certificate names another host (127.0.0.1): refused" \
  "$AGENT" login --bundle B2 --state st2 --cacert tls.crt
set +e; "$AGENT" login --bundle B3 --state st3 --cacert tls.crt >/dev/null 2>err.txt; rc=$?; set -e
[ "$rc" -ne 0 ] && ok "plain HTTP to the TLS server gets no login (exit $rc)" || bad "plain HTTP login succeeded"
[ ! -e st-sys/token.json ] && [ ! -e st2/token.json ] && [ ! -e st3/token.json ] \
  && ok "no refused connection left a token behind" || bad "a token was kept after a refused connection"

kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
echo "login-tls: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
