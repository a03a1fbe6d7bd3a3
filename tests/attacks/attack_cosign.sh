#!/usr/bin/env bash
# attack_cosign.sh - hostile build servers and clients against a real
# vouch-cosignd on 127.0.0.1 (THREATS.md A, B, C, F, G as they apply to the
# co-signer). Each scenario is one check: the exact HTTP status and error
# name, and that nothing persisted changed - the allow list and the highest
# securityVersion per hardware are as before, no signature was issued (no
# "signed" audit row, no 200), and exactly one "refused" audit row was added
# (none for requests that are not co-sign decisions: 404, 405).
# Requests are made by hand: claims in python3, signatures by `vouch jws
# sign`, raw HTTP with python3's http.client.
set -euo pipefail
VOUCH=${VOUCH_CLI:?run through ctest}
COSIGND=${VOUCH_COSIGND:?run through ctest}
T=$(mktemp -d)
SPIDS=()
cleanup() {
  for p in "${SPIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  sleep 0.2
  for p in "${SPIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$T"
}
trap cleanup EXIT
cd "$T"
pass=0 fail=0
VENDOR=did:web:vendor.example

ok()  { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*" >&2; }

# start DIR: serve on a free port; sets PID and PORT
start() {
  local out="serve.$1.out"
  : >"$out"
  "$COSIGND" serve --dir "$1" --listen 127.0.0.1:0 --threads 4 >"$out" 2>"serve.$1.err" &
  PID=$!
  disown "$PID"
  SPIDS+=("$PID")
  for _ in $(seq 200); do grep -q 'listening on' "$out" && break; sleep 0.05; done
  PORT=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\) as .*/\1/p' "$out")
  [ -n "$PORT" ] || { echo "serve $1 did not start: $(cat "serve.$1.err")" >&2; exit 1; }
}

# http METHOD PATH [BODY-FILE|-] [chunked]: raw request; prints the status,
# the body goes to resp.body
http() {
  python3 - "$PORT" "$@" <<'EOF'
import http.client, sys
port, method, path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
body = None
if len(sys.argv) > 4 and sys.argv[4] != "-":
    body = open(sys.argv[4], "rb").read()
chunked = len(sys.argv) > 5 and sys.argv[5] == "chunked"
c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
try:
    c.putrequest(method, path, skip_host=False, skip_accept_encoding=True)
    c.putheader("Content-Type", "application/jose")
    if body is not None and chunked:
        c.putheader("Transfer-Encoding", "chunked")
        c.endheaders()
        for i in range(0, len(body), 4096):
            part = body[i:i + 4096]
            c.send(b"%x\r\n%s\r\n" % (len(part), part))
        c.send(b"0\r\n\r\n")
    elif body is not None:
        c.putheader("Content-Length", str(len(body)))
        c.endheaders()
        c.send(body)
    else:
        c.endheaders()
    r = c.getresponse()
    data = r.read()
    open("resp.body", "wb").write(data)
    open("resp.allow", "w").write(r.getheader("Allow") or "")
    print(r.status)
except (ConnectionError, http.client.HTTPException) as e:
    open("resp.body", "wb").write(b"")
    print("closed")
EOF
}

# claims OUT KEY-DID RELEASE-FILE [python dict of overrides]: request claims
claims() {
  python3 - "$@" "$COSDID" <<'EOF' 
import json, sys, time, os, base64
out, iss, rel, over, aud = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) > 5 else "{}", sys.argv[-1]
now = int(time.time())
payload = json.load(open(rel))["payload"] if rel != "-" else ""
c = {"iss": iss, "aud": aud, "jti": base64.urlsafe_b64encode(os.urandom(12)).decode().rstrip("="),
     "iat": now, "exp": now + 120, "release": payload, "force": False}
c.update(eval(over, {"now": now, "b64": lambda s: base64.urlsafe_b64encode(s.encode()).decode().rstrip("=")}))
open(out, "w").write(json.dumps(c, separators=(",", ":")))
EOF
}

# sign OUT KEY KID CLAIMS [TYP]: a compact JWS request (no newline)
sign() {
  "$VOUCH" jws sign --key "$2" --kid "$3" --typ "${5:-vouch-cosign-req+jwt}" --payload "$4" | tr -d '\n' >"$1"
}

did_of() { "$VOUCH" key public "$1" --format did; }
vm_of() { local d; d=$(did_of "$1"); echo "$d#${d#did:key:}"; }

# mkreq OUT KEY RELEASE [overrides]: a well-signed request by KEY
mkreq() {
  local over="{}"
  [ $# -lt 4 ] || over=$4
  claims claims.json "$(did_of "$2")" "$3" "$over"
  sign "$1" "$2" "$(vm_of "$2")" claims.json
}

# snapshot DIR: what must not change
snapshot() {
  "$COSIGND" list --dir "$1" --json >"snap.list"
  "$COSIGND" audit --dir "$1" --json >"snap.audit"
}

# verdict NAME DIR STATUS WANT-STATUS WANT-NAME AUDIT-DELTA: checks one scenario
verdict() {
  local name=$1 dir=$2 status=$3 want=$4 wname=$5 delta=$6 why=""
  "$COSIGND" list --dir "$dir" --json >now.list
  "$COSIGND" audit --dir "$dir" --json >now.audit
  [ "$status" = "$want" ] || why="status $status, want $want"
  if [ -z "$why" ] && [ -n "$wname" ]; then
    got=$(python3 -c 'import json; print(json.load(open("resp.body"))["error"]["name"])' 2>/dev/null || echo "?")
    [ "$got" = "$wname" ] || why="error $got, want $wname"
  fi
  [ -n "$why" ] || cmp -s snap.list now.list || why="allow list or highest securityVersion changed"
  if [ -z "$why" ]; then
    why=$(python3 - "$delta" "$wname" <<'EOF'
import json, sys
delta, wname = int(sys.argv[1]), sys.argv[2]
a = json.load(open("snap.audit"))["audit"]; b = json.load(open("now.audit"))["audit"]
signed = lambda rows: sum(1 for r in rows if r["event"] == "signed")
if len(b) != len(a) + delta: print("audit rows +%d, want +%d" % (len(b) - len(a), delta))
elif signed(b) != signed(a): print("a signature was issued")
elif delta and (b[-1]["event"] != "refused" or b[-1]["name"] != wname):
    print("last audit row is %s %s" % (b[-1]["event"], b[-1]["name"]))
EOF
)
  fi
  if [ -z "$why" ]; then ok "$name"; else bad "$name: $why"; fi
}

# refused NAME DIR BODY-FILE WANT-STATUS WANT-NAME [chunked]: POST /v1/cosign
refused() {
  snapshot "$2"
  local st; st=$(http POST /v1/cosign "$3" "${6:-}")
  verdict "$1" "$2" "$st" "$4" "$5" 1
}

no_echo() { # NAME NEEDLE: the last answer does not contain NEEDLE
  if grep -qF -- "$2" resp.body; then bad "$1: the answer echoes the input"; else ok "$1 (not echoed)"; fi
}

# release OUT SV [EXPIRES]
release() {
  "$VOUCH" release create img.bin --version "1.0.$2" --security-version "$2" \
    --hardware board-a,board-b --url https://cdn.example/fw.bin --issuer "$VENDOR" \
    --expires "${3:-30d}" --out "$1" >/dev/null
}

head -c 4096 /dev/urandom >img.bin

# --- the co-signer and the build servers
"$COSIGND" init --dir C --vendor "$VENDOR" >cosdid.txt
COSDID=$(cat cosdid.txt)
for k in build forcer revoked unknown attacker; do "$VOUCH" key generate --type p256 --out "$k.pem" >/dev/null; done
"$VOUCH" key generate --type ed25519 --out build_ed.pem >/dev/null
"$COSIGND" allow --dir C "$(did_of build.pem)" >/dev/null
"$COSIGND" allow --dir C "$(did_of build_ed.pem)" >/dev/null
"$COSIGND" allow --dir C "$(did_of forcer.pem)" --allow-force >/dev/null
"$COSIGND" allow --dir C "$(did_of revoked.pem)" >/dev/null
"$COSIGND" revoke --dir C "$(did_of revoked.pem)" >/dev/null
# the limiter has its own scenario below (R); here it must not interfere
"$COSIGND" config --dir C --rate-burst 10000 --rate-per-minute 100000 >/dev/null
start C
CPORT=$PORT
CPID=$PID
release r10.json 10
release r5.json 5
release r11.json 11

# --- establish the highest securityVersion (10) with a valid request
mkreq ok10.jws build.pem r10.json
snapshot C
st=$(http POST /v1/cosign ok10.jws)
[ "$st" = 200 ] && ok "baseline: a valid request is co-signed" || bad "baseline: status $st $(cat resp.body)"

# --- B: who asks
mkreq a.jws unknown.pem r11.json
refused "unknown build server" C a.jws 403 VOUCH_E_COSIGN_UNKNOWN
mkreq a.jws revoked.pem r11.json
refused "revoked build server" C a.jws 403 VOUCH_E_COSIGN_REVOKED

# --- A: the envelope
mkreq a.jws build.pem r11.json
mkreq b.jws build.pem r11.json
python3 -c 'a=open("a.jws").read().split("."); b=open("b.jws").read().split("."); open("x.jws","w").write(".".join(a[:2]+b[2:]))'
refused "bad signature (another request's)" C x.jws 401 VOUCH_E_JWS_BAD_SIGNATURE
claims claims.json "$(did_of build.pem)" r11.json
sign x.jws attacker.pem "$(vm_of attacker.pem)" claims.json
refused "signed by a key other than iss's (own kid)" C x.jws 401 VOUCH_E_JWS_UNKNOWN_KEY
sign x.jws attacker.pem "$(vm_of build.pem)" claims.json
refused "signed by a key other than iss's (iss's kid)" C x.jws 401 VOUCH_E_JWS_BAD_SIGNATURE
python3 - "$(vm_of build.pem)" <<'EOF'
import base64, json, sys
b = lambda d: base64.urlsafe_b64encode(d).decode().rstrip("=")
h = b(json.dumps({"alg": "none", "typ": "vouch-cosign-req+jwt", "kid": sys.argv[1]}).encode())
p = b(open("claims.json", "rb").read())
open("none.jws", "w").write(h + "." + p + ".")
h2 = b(json.dumps({"alg": "ES256", "typ": "vouch-cosign-req+jwt", "kid": sys.argv[1],
                   "jwk": {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}}).encode())
open("jwk.jws", "w").write(h2 + "." + p + "." + "A" * 86)
EOF
refused "alg none" C none.jws 401 VOUCH_E_JWS_ALG
refused "header brings its own key (jwk)" C jwk.jws 401 VOUCH_E_JWS_EMBEDDED_KEY
sign x.jws build.pem "$(vm_of build.pem)" claims.json vouch-release+jwt
refused "a release token presented as a request (typ)" C x.jws 400 VOUCH_E_JWS_TYP
printf '{"payload":"e30","signatures":[]}' >x.jws
refused "JSON serialization instead of compact" C x.jws 400 VOUCH_E_JWS_FORMAT

# --- freshness and replay
mkreq x.jws build.pem r11.json '{"iat": now - 400, "exp": now - 100}'
refused "expired request" C x.jws 401 VOUCH_E_COSIGN_STALE
mkreq x.jws build.pem r11.json '{"iat": now + 3600, "exp": now + 3700}'
refused "iat far in the future" C x.jws 401 VOUCH_E_COSIGN_STALE
mkreq x.jws build.pem r11.json '{"iat": now, "exp": now + 3600}'
refused "exp - iat too long" C x.jws 401 VOUCH_E_COSIGN_STALE
refused "replayed jti" C ok10.jws 409 VOUCH_E_COSIGN_REPLAY
mkreq x.jws build.pem r11.json "{\"aud\": \"$(did_of attacker.pem)\"}"
refused "addressed to another co-signer (aud)" C x.jws 400 VOUCH_E_COSIGN_REQUEST

# --- C: what is asked for
mkreq x.jws build.pem r5.json
refused "rollback below the highest co-signed" C x.jws 409 VOUCH_E_COSIGN_ROLLBACK
mkreq x.jws build.pem r5.json '{"force": True}'
refused "force without the operator's permission" C x.jws 409 VOUCH_E_COSIGN_ROLLBACK
mkreq x.jws forcer.pem r5.json
refused "rollback by a force-allowed server without force" C x.jws 409 VOUCH_E_COSIGN_ROLLBACK
mkreq x.jws forcer.pem r5.json '{"force": True}'
snapshot C
st=$(http POST /v1/cosign x.jws)
"$COSIGND" list --dir C --json >now.list
forced=$("$COSIGND" audit --dir C --json --limit 1 | python3 -c 'import json,sys; r=json.load(sys.stdin)["audit"][0]; print(r["event"], r["forced"])')
if [ "$st" = 200 ] && cmp -s snap.list now.list && [ "$forced" = "signed 1" ]; then
  ok "forced rollback allowed only with --allow-force; the highest stays"
else bad "forced rollback with --allow-force: $st, audit '$forced'"; fi
release long.json 12 365d
mkreq x.jws build.pem long.json
refused "release lifetime beyond the maximum" C x.jws 403 VOUCH_E_COSIGN_LIFETIME
mkreq x.jws build.pem r11.json '{"release": b64("{\"not\":\"a release\"}")}'
refused "malformed release payload" C x.jws 400 VOUCH_E_COSIGN_REQUEST
mkreq x.jws build.pem r11.json '{"release": "!!not base64url!!"}'
refused "release not base64url" C x.jws 400 VOUCH_E_COSIGN_REQUEST
"$VOUCH" release create img.bin --version 9.9.9 --security-version 99 --hardware board-a \
  --url https://evil.example/fw.bin --issuer did:web:evil.example --expires 30d --out evil.json >/dev/null
mkreq x.jws build.pem evil.json
refused "another vendor's release (issuer)" C x.jws 403 VOUCH_E_VC_ISSUER
mkreq x.jws build.pem r11.json '{"admin": True}'
refused "unknown claim" C x.jws 400 VOUCH_E_COSIGN_REQUEST
claims claims.json "$(did_of build.pem)" r11.json
sed 's/}$/,"force":true}/' claims.json >dup.json
sign x.jws build.pem "$(vm_of build.pem)" dup.json
refused "duplicate claim (force twice)" C x.jws 400 VOUCH_E_COSIGN_REQUEST

# --- F: sizes and hostile ids
head -c 70000 /dev/zero | tr '\0' A >big.jws
refused "oversized body (Content-Length)" C big.jws 413 VOUCH_E_LIMIT
refused "oversized body (chunked)" C big.jws 413 VOUCH_E_LIMIT chunked
mkreq x.jws build.pem r11.json "{\"jti\": \"x\\\"';--<script>\"}"
refused "hostile jti (quotes, ';--)" C x.jws 400 VOUCH_E_COSIGN_REQUEST
no_echo "hostile jti" "';--"
LONGDID="did:key:z$(head -c 10240 /dev/zero | tr '\0' 'Q')"
claims claims.json "$LONGDID" r11.json
python3 - "$LONGDID" <<'EOF'
import base64, json, sys
b = lambda d: base64.urlsafe_b64encode(d).decode().rstrip("=")
p = b(open("claims.json", "rb").read())
for name, kid in (("long", sys.argv[1] + "#x"), ("kid200", "did:key:z" + "Q" * 200 + "#x"),
                  ("quote", "did:key:z\"';--#x")):
    h = b(json.dumps({"alg": "ES256", "typ": "vouch-cosign-req+jwt", "kid": kid}).encode())
    open(name + ".jws", "w").write(h + "." + p + "." + "A" * 86)
EOF
refused "10 KB DID as kid (header over its cap)" C long.jws 413 VOUCH_E_JWS_TOO_LARGE
no_echo "10 KB DID as kid" "QQQQQQQQQQQQQQQQ"
refused "200-byte kid" C kid200.jws 400 VOUCH_E_JWS_KID
no_echo "200-byte kid" "QQQQQQQQQQQQQQQQ"
sign x.jws build.pem "$(vm_of build.pem)" claims.json
refused "10 KB DID as iss, signed" C x.jws 400 VOUCH_E_COSIGN_REQUEST
no_echo "10 KB DID as iss" "QQQQQQQQQQQQQQQQ"
refused "quoted kid" C quote.jws 400 VOUCH_E_JWS_KID
no_echo "quoted kid" "';--"
snapshot C
st=$(http POST "/v1/cosign%00$(head -c 64 /dev/zero | tr '\0' Z)" ok10.jws)
verdict "NUL via %00 in the path" C "$st" 404 VOUCH_E_NOTFOUND 0
no_echo "NUL via %00" "%00"
snapshot C
st=$(http POST "/v1/$LONGDID" ok10.jws)
verdict "10 KB DID in the path" C "$st" 404 VOUCH_E_NOTFOUND 0
no_echo "10 KB DID in the path" "QQQQQQQQQQQQQQQQ"
snapshot C
st=$(http GET /v1/cosign)
verdict "wrong method (GET /v1/cosign)" C "$st" 405 VOUCH_E_USAGE 0
[ "$(cat resp.allow)" = POST ] && ok "405 names the allowed method" || bad "405 Allow header: $(cat resp.allow)"
snapshot C
st=$(http DELETE /v1/did)
verdict "wrong method (DELETE /v1/did)" C "$st" 405 VOUCH_E_USAGE 0
snapshot C
st=$(http POST /v2/cosign ok10.jws)
verdict "wrong path (/v2/cosign)" C "$st" 404 VOUCH_E_NOTFOUND 0

# --- rate limit: a co-signer allowing a burst of 2, then 1 a minute
"$COSIGND" init --dir R --vendor "$VENDOR" >/dev/null
"$COSIGND" config --dir R --rate-burst 2 --rate-per-minute 1 >/dev/null
"$COSIGND" allow --dir R "$(did_of build.pem)" >/dev/null
start R
COSDID_C=$COSDID
COSDID=$("$COSIGND" did --dir R)
for i in 1 2; do
  mkreq x.jws build.pem r11.json
  st=$(http POST /v1/cosign x.jws)
  [ "$st" = 200 ] || bad "rate: request $i within the burst got $st"
done
mkreq x.jws build.pem r11.json
refused "rate limit per build server" R x.jws 429 VOUCH_E_COSIGN_RATE
COSDID=$COSDID_C
PORT=$CPORT
PID=$CPID

# --- G: kill -9 during a burst, restart: consistent, no jti accepted twice
release burst.json 10
for i in $(seq 1 40); do mkreq "burst$i.jws" build_ed.pem burst.json; done
python3 - "$PORT" "$PID" <<'EOF'
import http.client, os, signal, sys, threading, time, json
port, pid = int(sys.argv[1]), int(sys.argv[2])
res = {}
def send(i):
    body = open("burst%d.jws" % i, "rb").read()
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("POST", "/v1/cosign", body)
        res[i] = c.getresponse().status
    except Exception:
        res[i] = 0
ts = [threading.Thread(target=send, args=(i,)) for i in range(1, 41)]
for t in ts: t.start()
while sum(1 for v in res.values() if v == 200) < 5 and any(t.is_alive() for t in ts):
    time.sleep(0.001)
os.kill(pid, signal.SIGKILL)
for t in ts: t.join()
json.dump(res, open("round1.json", "w"))
EOF
for _ in $(seq 200); do kill -0 "$PID" 2>/dev/null || break; sleep 0.05; done
start C
python3 - "$PORT" <<'EOF'
import http.client, json, sys
port = int(sys.argv[1])
res = {}
for i in range(1, 41):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("POST", "/v1/cosign", open("burst%d.jws" % i, "rb").read())
    r = c.getresponse()
    res[i] = (r.status, json.loads(r.read() or b"{}").get("error", {}).get("name"))
json.dump(res, open("round2.json", "w"))
EOF
"$COSIGND" audit --dir C --json >after.json
why=$(python3 - <<'EOF'
import json, base64
r1 = {int(k): v for k, v in json.load(open("round1.json")).items()}
r2 = {int(k): v for k, v in json.load(open("round2.json")).items()}
audit = json.load(open("after.json"))["audit"]
jtis = {}
for i in range(1, 41):
    tok = open("burst%d.jws" % i).read().split(".")[1]
    jtis[i] = json.loads(base64.urlsafe_b64decode(tok + "=" * (-len(tok) % 4)))["jti"]
signed = {}
for row in audit:
    if row["event"] == "signed":
        signed[row["jti"]] = signed.get(row["jti"], 0) + 1
problems = []
for i, j in jtis.items():
    n = signed.get(j, 0)
    if n != 1: problems.append("jti %d signed %d times" % (i, n))
    if r1.get(i) == 200 and r2[i][0] == 200: problems.append("jti %d accepted twice" % i)
    if r2[i][0] not in (200, 409): problems.append("jti %d: restart answered %s" % (i, r2[i]))
    if r2[i][0] == 409 and r2[i][1] != "VOUCH_E_COSIGN_REPLAY": problems.append("jti %d: %s" % (i, r2[i][1]))
for line in open("C/audit.log"):
    if line.strip():
        json.loads(line)
print("; ".join(problems[:5]))
EOF
)
if [ -z "$why" ] && [ "$(sqlite3 C/cosign.db 'PRAGMA integrity_check' 2>/dev/null || echo ok)" = ok ]; then
  ok "kill -9 during a burst: database consistent, every jti signed exactly once"
else bad "kill -9 during a burst: $why"; fi

# the services still running stop cleanly, with no sanitizer report (ASan builds)
for p in "${SPIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
for p in "${SPIDS[@]}"; do for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done; done
if grep -l -e 'Sanitizer' -e 'runtime error' serve.*.err >/dev/null 2>&1; then
  bad "sanitizer report from vouch-cosignd: $(grep -h -m1 -e Sanitizer -e 'runtime error' serve.*.err)"
fi

echo "cosign-attacks: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
