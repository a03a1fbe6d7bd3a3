#!/usr/bin/env bash
# cosignd.sh - a real vouch-cosignd on 127.0.0.1 (a free port it picks) and
# the real `vouch release cosign`: init, allow, serve, co-sign, the
# signature verified by `vouch jws verify` with the co-signer's DID, audit
# rows in the table and the file, refusals with the server's code, state
# kept across a restart, a clean SIGTERM stop, concurrent requests, revoke,
# an Ed25519 co-signer, and HTTPS with a throwaway self-signed certificate.
set -euo pipefail
VOUCH=${VOUCH_CLI:?run through ctest}
COSIGND=${VOUCH_COSIGND:?run through ctest}
T=$(mktemp -d)
SPID=""
cleanup() {
  if [ -n "$SPID" ]; then kill -9 "$SPID" 2>/dev/null || true; fi
  rm -rf "$T"
}
trap cleanup EXIT
cd "$T"
pass=0 fail=0

ok()   { pass=$((pass + 1)); }
bad()  { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
check() { local what=$1; shift; if "$@"; then ok; else bad "$what"; fi; }
# expect CODE CMD...: runs CMD, checks its exit status (output in out.txt, err.txt)
expect() {
  local want=$1; shift
  set +e; "$@" >out.txt 2>err.txt; local got=$?; set -e
  if [ "$got" -eq "$want" ]; then ok; else bad "$* -> exit $got, want $want: $(head -c 400 err.txt)"; fi
}
# start DIR [ARGS...]: serve on a free loopback port; sets SPID and URL
start() {
  local dir=$1; shift
  : >serve.out  # truncated here, so no line of an earlier run is read
  "$COSIGND" serve --dir "$dir" --listen 127.0.0.1:0 "$@" >serve.out 2>serve.err &
  SPID=$!
  for _ in $(seq 200); do
    grep -q 'listening on' serve.out 2>/dev/null && break
    kill -0 "$SPID" 2>/dev/null || break
    sleep 0.05
  done
  URL=$(sed -n 's/.*listening on \([^ ]*\) as .*/\1/p' serve.out)
  [ -n "$URL" ] || { bad "serve did not start: $(cat serve.err)"; exit 1; }
}
# stop: SIGTERM, and the exit status must be 0 with "stopped" said
stop() {
  kill -TERM "$SPID"
  set +e; wait "$SPID"; local rc=$?; set -e
  SPID=""
  check "SIGTERM stops cleanly (exit $rc)" [ "$rc" -eq 0 ]
  check "stop is reported" grep -q 'stopped' serve.out
}
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }
audit_count() { "$COSIGND" audit --dir "$1" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["audit"]))'; }
new_release() { # OUT SV [VERSION]
  "$VOUCH" release create img.bin --version "${3:-1.0.$2}" --security-version "$2" \
    --hardware board-a,board-b --url https://cdn.example/fw.bin --issuer did:web:vendor.example \
    --expires 30d --out "$1" >/dev/null
}

head -c 65536 /dev/urandom > img.bin

# the client's options live in the `release cosign` row of src/vouch/cmd_release.c
if ! "$VOUCH" release cosign --help | grep -q -- '--cosigner-key'; then
  echo "FAIL: \`vouch release cosign\` does not take --cosigner-key: its row in" \
       "src/vouch/cmd_release.c lacks the options cmd_cosign.c reads (docs/cosign.md)" >&2
  exit 1
fi

# --- help and usage
expect 0 "$COSIGND" --help
for c in init config serve allow revoke list audit did; do
  expect 0 "$COSIGND" "$c" --help
  grep -q "^usage: vouch-cosignd $c" out.txt && ok || bad "help of $c"
done
expect 2 "$COSIGND"
expect 2 "$COSIGND" nosuch
expect 2 "$COSIGND" init
expect 2 "$COSIGND" init --dir C --key-type rsa

# --- init: key, config, database, audit log; never twice
expect 0 "$COSIGND" init --dir C --vendor did:web:vendor.example
COSDID=$(cat out.txt)
check "init prints a P-256 did:key" grep -q '^did:key:zDn' out.txt
check "state dir is 0700" [ "$(stat -c %a C)" = 700 ]
for f in cosign.pem config.json cosign.db audit.log; do
  check "$f is 0600" [ "$(stat -c %a "C/$f")" = 600 ]
done
cp C/cosign.pem key.orig
expect 8 "$COSIGND" init --dir C --vendor did:web:vendor.example
check "second init left the key alone" cmp -s C/cosign.pem key.orig
expect 0 "$COSIGND" did --dir C --json
check "did --json has the JWK" [ "$(json out.txt 'd["jwk"]["crv"]')" = P-256 ]
check "did --json kid is the vm id" [ "$(json out.txt 'd["kid"]')" = "$COSDID#${COSDID#did:key:}" ]
# a co-signer without a vendor refuses to serve (fail closed)
expect 0 "$COSIGND" init --dir NOVENDOR
expect 2 "$COSIGND" serve --dir NOVENDOR --listen 127.0.0.1:0
# plain HTTP only on loopback
expect 2 "$COSIGND" serve --dir C --listen 0.0.0.0:0
expect 2 "$COSIGND" serve --dir C --listen 127.0.0.1:0 --tls-cert nothere.pem
# strict config: an unknown member is refused
cp C/config.json config.orig
python3 - <<'EOF'
import json
c = json.load(open("C/config.json")); c["debug"] = True
json.dump(c, open("C/config.json", "w"))
EOF
expect 2 "$COSIGND" config --dir C
cp config.orig C/config.json

# --- build server identity, allow list
expect 0 "$VOUCH" key generate --type p256 --out build.pem
BUILD=$(cat out.txt)
expect 0 "$VOUCH" key generate --type ed25519 --out build2.pem
BUILD2=$(cat out.txt)
expect 0 "$COSIGND" allow --dir C "$BUILD"
expect 0 "$COSIGND" allow --dir C "$BUILD2"
expect 39 "$COSIGND" allow --dir C did:key:zDnaNOTAKEY
expect 81 "$COSIGND" allow --dir C did:web:example.com
expect 0 "$COSIGND" list --dir C --json
check "both build servers allowed" [ "$(json out.txt 'len([s for s in d["buildServers"] if not s["revoked"]])')" = 2 ]

# --- serve, co-sign, verify
start C
check "healthz" python3 -c "import urllib.request,sys; r=urllib.request.urlopen(sys.argv[1]+'/healthz'); sys.exit(r.status!=200)" "$URL"
python3 -c "import urllib.request,sys; print(urllib.request.urlopen(sys.argv[1]+'/v1/did').read().decode())" "$URL" > did.json
check "GET /v1/did names the co-signer" [ "$(json did.json 'd["did"]')" = "$COSDID" ]
rows0=$(audit_count C)
new_release r5.json 5
expect 0 "$VOUCH" release cosign r5.json --cosigner "$URL" --identity build.pem --cosigner-key "$COSDID"
expect 0 "$VOUCH" jws verify --key "$COSDID" --typ vouch-release+jwt r5.json
# the release key signs too: two signatures, each verifies with its key
expect 0 "$VOUCH" key generate --type ed25519 --out release.pem
RELDID=$(cat out.txt)
expect 0 "$VOUCH" release sign r5.json --key release.pem
expect 0 "$VOUCH" jws verify --key "$COSDID" --key "$RELDID" r5.json
# audit: one row more, "signed", with the jti, version and securityVersion; the file agrees
check "one audit row per decision" [ "$(audit_count C)" -eq $((rows0 + 1)) ]
"$COSIGND" audit --dir C --json --limit 1 > last.json
check "audit: signed" [ "$(json last.json 'd["audit"][0]["event"]')" = signed ]
check "audit: build server" [ "$(json last.json 'd["audit"][0]["buildServer"]')" = "$BUILD" ]
check "audit: version" [ "$(json last.json 'd["audit"][0]["version"]')" = 1.0.5 ]
check "audit: securityVersion" [ "$(json last.json 'd["audit"][0]["securityVersion"]')" = 5 ]
check "audit: jti recorded" [ -n "$(json last.json 'd["audit"][0]["jti"]')" ]
check "audit file has the same record" python3 - "$(json last.json 'd["audit"][0]["id"]')" <<'EOF'
import json, sys
lines = [json.loads(l) for l in open("C/audit.log")]
rec = [l for l in lines if l.get("id") == int(sys.argv[1])]
sys.exit(not (len(rec) == 1 and rec[0]["event"] == "signed"))
EOF
expect 0 "$COSIGND" list --dir C --json
check "highest recorded per hardware" [ "$(json out.txt '[h["securityVersion"] for h in d["hardware"]]')" = "[5, 5]" ]

# asking twice is refused locally, before any request (no audit row)
rows=$(audit_count C)
expect 8 "$VOUCH" release cosign r5.json --cosigner "$URL" --identity build.pem --cosigner-key "$COSDID"
check "local refusal made no request" [ "$(audit_count C)" -eq "$rows" ]

# refusal: rollback below the highest; the server's code, its reason, REL untouched
new_release r3.json 3
cp r3.json r3.orig
expect 155 "$VOUCH" release cosign r3.json --cosigner "$URL" --identity build.pem --cosigner-key "$COSDID"
check "refusal reason printed" grep -q 'highest co-signed' err.txt
check "refused release untouched" cmp -s r3.json r3.orig
expect 155 "$VOUCH" release cosign r3.json --cosigner "$URL" --identity build.pem --cosigner-key "$COSDID" --force
check "force without permission is refused" grep -q 'may not force' err.txt
# pinned to another key: the request is for another co-signer and is refused
expect 0 "$VOUCH" key generate --type p256 --out stranger.pem
STRANGER=$(cat out.txt)
new_release r6.json 6
expect 150 "$VOUCH" release cosign r6.json --cosigner "$URL" --identity build.pem --cosigner-key "$STRANGER"
# trust on first use: said on stderr; the Ed25519 build server
expect 0 "$VOUCH" release cosign r6.json --cosigner "$URL" --identity build2.pem --trust-on-first-use
check "TOFU is announced" grep -q 'on first use' err.txt
expect 0 "$VOUCH" jws verify --key "$COSDID" r6.json
# usage: pin or TOFU, exactly one; plain http only to loopback
expect 2 "$VOUCH" release cosign r6.json --cosigner "$URL" --identity build.pem
expect 2 "$VOUCH" release cosign r6.json --cosigner http://192.0.2.1:9 --identity build.pem --cosigner-key "$COSDID"
expect 2 "$VOUCH" release cosign r6.json --cosigner "ftp://127.0.0.1/" --identity build.pem --cosigner-key "$COSDID"

# concurrent requests (one securityVersion, so their order does not matter):
# all co-signed, one row each
for i in $(seq 10 17); do new_release "c$i.json" 9 "1.0.9-rc.$i"; done
rows=$(audit_count C)
pids=()
for i in $(seq 10 17); do
  "$VOUCH" release cosign "c$i.json" --cosigner "$URL" --identity build.pem --cosigner-key "$COSDID" >/dev/null 2>"c$i.err" &
  pids+=($!)
done
crc=0
for p in "${pids[@]}"; do wait "$p" || crc=$?; done
check "8 concurrent co-signs succeed (last failure $crc)" [ "$crc" -eq 0 ]
check "8 audit rows for 8 decisions" [ "$(audit_count C)" -eq $((rows + 8)) ]

# --- restart keeps state; SIGTERM stops cleanly
stop
start C
expect 155 "$VOUCH" release cosign r3.json --cosigner "$URL" --identity build.pem --cosigner-key "$COSDID"
new_release r20.json 20
expect 0 "$VOUCH" release cosign r20.json --cosigner "$URL" --identity build.pem --cosigner-key "$COSDID"

# --- revoke: refused from the next request on, never allowed again
expect 0 "$COSIGND" revoke --dir C "$BUILD"
new_release r21.json 21
expect 152 "$VOUCH" release cosign r21.json --cosigner "$URL" --identity build.pem --cosigner-key "$COSDID"
expect 152 "$COSIGND" allow --dir C "$BUILD"
# a server never allowed
expect 0 "$VOUCH" key generate --type p256 --out nobody.pem
expect 151 "$VOUCH" release cosign r21.json --cosigner "$URL" --identity nobody.pem --cosigner-key "$COSDID"
# the operator lets build2 force: a lower securityVersion is co-signed, marked forced
expect 0 "$COSIGND" allow --dir C "$BUILD2" --allow-force
expect 0 "$VOUCH" release cosign r3.json --cosigner "$URL" --identity build2.pem --cosigner-key "$COSDID" --force
"$COSIGND" audit --dir C --json --limit 1 > last.json
check "forced co-signature is audited as forced" [ "$(json last.json 'd["audit"][0]["forced"]')" = 1 ]
expect 0 "$COSIGND" list --dir C --json
check "forcing never lowers the highest" [ "$(json out.txt '[h["securityVersion"] for h in d["hardware"]]')" = "[20, 20]" ]
stop

# --- an Ed25519 co-signer over HTTPS with a throwaway self-signed certificate
expect 0 "$COSIGND" init --dir E --vendor did:web:vendor.example --key-type ed25519
EDDID=$(cat out.txt)
check "Ed25519 co-signer DID" grep -q '^did:key:z6Mk' out.txt
expect 0 "$COSIGND" allow --dir E "$BUILD2"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
  -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
  -keyout tls.key -out tls.crt >/dev/null 2>&1
chmod 600 tls.key
cp tls.key loose.key && chmod 644 loose.key
expect 7 "$COSIGND" serve --dir E --listen 127.0.0.1:0 --tls-cert tls.crt --tls-key loose.key
start E --tls-cert tls.crt --tls-key tls.key
check "TLS listener" grep -q 'listening on https://127.0.0.1:' serve.out
PORT=${URL##*:}
new_release t1.json 1
expect 0 "$VOUCH" release cosign t1.json --cosigner "$URL" --identity build2.pem --cosigner-key "$EDDID" --cacert tls.crt
expect 0 "$VOUCH" jws verify --key "$EDDID" --typ vouch-release+jwt t1.json
# the certificate is not trusted without --cacert; the name must match
new_release t2.json 2
expect 159 "$VOUCH" release cosign t2.json --cosigner "$URL" --identity build2.pem --cosigner-key "$EDDID"
expect 159 "$VOUCH" release cosign t2.json --cosigner "https://localhost:$PORT" --identity build2.pem --cosigner-key "$EDDID" --cacert tls.crt
# plain HTTP to a TLS port fails, and is not a way around TLS
expect 159 "$VOUCH" release cosign t2.json --cosigner "http://127.0.0.1:$PORT" --identity build2.pem --cosigner-key "$EDDID" --timeout 5
stop

echo "cosignd: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
