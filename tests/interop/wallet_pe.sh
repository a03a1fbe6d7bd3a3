#!/usr/bin/env bash
# wallet_pe.sh - "a standard SIOPv2/OID4VP wallet implementation can log in",
# in credential mode: an independent wallet answers our Presentation
# Exchange definition with the ProductionCredential `vouch provision` issued.
#
# The wallet (tests/interop/wallet_pe/wallet_pe.mjs, versions pinned in its
# package-lock.json) is Sphereon's OP from @sphereon/did-auth-siop 0.19.0,
# the last release with Presentation Exchange (SIOPv2 D12 + OpenID4VP D20;
# 0.20 is DCQL only, see wallet.sh), @sphereon/pex 5.0.0-unstable.28 for the
# selection and the presentation_submission, did-jwt-vc 4.0.16 for the VP
# JWT and did-jwt 8.0.18 for signatures. It parses the openid:// URL of
# `POST /auth/siop`, fetches request_uri, verifies the request object with
# the did:web document our vouchd serves, selects the credential with PEX,
# builds the VP (jwt_vp) and the submission and posts them with direct_post.
# @sphereon/ssi-types is overridden to 0.33.0 (0.19.0 asks for
# 0.33.1-next.73, which the npm registry we install from does not have).
#
# 0. The wallet refuses our request object when did:web:example.com resolves
#    to another vendor's document (its signature is really checked).
# 1. The wallet as the libraries make it (did-jwt-vc's defaults: a VP JWT
#    without iat, nbf or exp) logs in.
# 2. The same wallet with a VP lifetime of 600 s (did-jwt's expiresIn option,
#    a wallet setting): login, whoami, the replay of its exact POST, the
#    credential of another device, a tampered credential.
#
# Last line: "wallet_pe: N passed, M failed, K skipped".
set -u

VOUCH=${VOUCH_CLI:?VOUCH_CLI not set}
VOUCHD=${VOUCHD:?VOUCHD not set}
SRC=${VOUCH_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
WALLET="$SRC/tests/interop/wallet_pe"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

T=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$T"
}
trap cleanup EXIT

PASS=0
FAIL=0
SKIP=0
ok() { PASS=$((PASS + 1)); echo "ok   - $1"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL - $1${2:+: $2}"; }
skip() { SKIP=$((SKIP + 1)); echo "skip - $1${2:+: $2}"; }
finish() {
  echo "wallet_pe: $PASS passed, $FAIL failed, $SKIP skipped"
  [ "$FAIL" = 0 ]
  exit $?
}
# jget JSON EXPR: EXPR over d (the parsed JSON); "" when it fails or is None
jget() { "$PY" -c 'import json,sys; d=json.loads(sys.argv[1]); v=eval(sys.argv[2]); print("" if v is None else v)' "$1" "$2" 2>/dev/null; }

if [ ! -d "$WALLET/node_modules/@sphereon/did-auth-siop" ] || [ ! -d "$WALLET/node_modules/did-jwt-vc" ]; then
  bad "wallet libraries" "tests/interop/wallet_pe/node_modules is missing: scripts/setup runs npm ci there"
  finish
fi

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# start_server DIR PORT: vouchd serve, waits for /healthz
start_server() {
  "$VOUCHD" serve --dir "$1" --listen "127.0.0.1:$2" --threads 2 >"$1.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$2/healthz" >/dev/null 2>&1 && return 0; sleep 0.05; done
  bad "vouchd start ($1)" "$(tail -5 "$1.log")"
  finish
}

cd "$T"
PORT=$(free_port)
URL="http://127.0.0.1:$PORT"

# ------------------------------------------- project, devices, server
"$VOUCH" key generate --type p256 --out cosigner.pem >/dev/null
"$VOUCH" init --domain example.com --dir P --cosigner "$("$VOUCH" key public cosigner.pem --format did)" >/dev/null ||
  { bad "vouch init"; finish; }
for n in 1 2; do
  "$VOUCH" key generate --type p256 --out "dev$n.pem" >/dev/null
  "$VOUCH" provision --dir P --device "dev$n.pem" --serial "SN-000$n" --hardware board-a \
    --production-date "2025-06-0$n" --produced-by "did:web:example.com#line-3" \
    --server "$URL" --out "B$n" >/dev/null || { bad "vouch provision device $n"; finish; }
done
DID1=$("$VOUCH" key public dev1.pem --format did)
"$VOUCH" server export --dir P --out S >/dev/null || { bad "vouch server export"; finish; }
# credential mode with every constraint, so the definition has all four fields
printf '%s\n' '{"mode":"credential","produced_by":["did:web:example.com#line-3"],"production_date_from":"2025-01-01","production_date_to":"2025-12-31","hardware":["board-a"],"refuse_clones":false,"access_ttl":300,"nonce_ttl":120}' >S/authz.json
start_server S "$PORT"
ok "two devices provisioned by vouch provision, vouchd in credential mode on $URL"
# another vendor's did:web:example.com (other keys), for the wallet's refusal
"$VOUCH" init --domain example.com --dir Q --cosigner "$("$VOUCH" key public cosigner.pem --format did)" >/dev/null &&
  "$VOUCH" server export --dir Q --out S2 >/dev/null || { bad "second project"; finish; }
PORT2=$(free_port)
start_server S2 "$PORT2"

# login_url DID: the openid:// URL of POST /auth/siop
login_url() {
  curl -s -H 'Content-Type: application/json' -d "{\"did\":\"$1\"}" "$URL/auth/siop" |
    "$PY" -c 'import json,sys; print(json.load(sys.stdin)["request"])'
}
# wallet KEY CREDENTIAL [wallet options]: one login by the wallet with device
# 1's DID (a later --did-web-origin overrides the first)
wallet() {
  local key=$1 cred=$2 req
  shift 2
  req=$(login_url "$DID1") || return 1
  (cd "$WALLET" && timeout 120 node wallet_pe.mjs --request "$req" --key "$T/$key" --did "$DID1" \
    --credential "$T/$cred" --did-web-origin "$URL" "$@")
}
# the status and error name of the wallet's POST
pstatus() { jget "$1" 'd["post"]["status"]'; }
perror() { jget "$1" 'json.loads(d["body"])["error"]["name"]'; }
last_refusal() { grep 'refused' S.log | tail -1; }

# ------------------- 0. the wallet checks the request object's signature
# our request object, but did:web:example.com resolved to the other vendor
out=$(wallet dev1.pem B1/credential.jwt --did-web-origin "http://127.0.0.1:$PORT2")
if [ "$(jget "$out" 'd.get("stage")')" = verify-request ] && [ -z "$(jget "$out" 'd.get("post")')" ] &&
  jget "$out" 'd.get("error")' | grep -q 'invalid_signature'; then
  ok "the wallet refuses a request object that the resolved did:web document does not vouch for, nothing posted ($(jget "$out" 'd["error"]' | head -c 80))"
else bad "request object with another did:web document" "$out"; fi

# --------------------------------------- 1. the wallet as the libraries make it
out=$(wallet dev1.pem B1/credential.jwt)
if [ "$(jget "$out" 'd.get("request_verified")')" = True ] &&
  [ "$(jget "$out" 'd.get("version")')" = SIOPv2_D12_OID4VP_D20 ]; then
  ok "the OP parses our openid:// URL, fetches request_uri and verifies the request object with our did:web document (SIOPv2 D12 + OpenID4VP D20)"
else bad "request object" "$out"; fi
want_sub='{"definition_id": "vouch-production-credential", "descriptor_map": [{"format": "jwt_vp", "id": "production_credential", "path": "$", "path_nested": {"format": "jwt_vc", "id": "production_credential", "path": "$.vp.verifiableCredential[0]"}}]}'
if [ "$(jget "$out" 'd.get("selected")')" = 1 ] &&
  [ "$(jget "$out" 'json.dumps({k: v for k, v in d["presentation_submission"].items() if k != "id"}, sort_keys=True)')" = "$want_sub" ]; then
  ok "PEX selects the ProductionCredential against our presentation_definition and writes the submission (jwt_vp at \$, jwt_vc at \$.vp.verifiableCredential[0])"
else bad "Presentation Exchange" "$out"; fi
if [ "$(jget "$out" 'd["post"]["url"]')" = "$URL/auth/response" ] &&
  [ "$(jget "$out" 'd["post"]["content_type"]')" = application/x-www-form-urlencoded ] &&
  [ "$(jget "$out" 'sorted(d["response_fields"]) == ["id_token", "presentation_submission", "state", "vp_token"]')" = True ]; then
  ok "the wallet posts id_token, vp_token, presentation_submission and state to our response_uri (direct_post)"
else bad "direct_post" "$out"; fi
# did-jwt-vc's createVerifiablePresentationJwt sets no iat and maps only
# issuanceDate/expirationDate to nbf/exp, which a PEX presentation lacks: the
# VP's life is its nonce's (lib/siop.c, docs/decisions.md)
TOKEN0=$(jget "$out" 'json.loads(d["body"])["access_token"]')
if [ "$(pstatus "$out")" = 200 ] && [ -n "$TOKEN0" ] &&
  [ "$(jget "$out" 'sorted(k for k in ("iat", "nbf", "exp") if k in d.get("vp_token", {}).get("claims", {"iat": 0}))')" = "[]" ]; then
  ok "the wallet with the libraries' defaults (a VP without iat, nbf or exp) logged in (credential mode)"
else bad "login with the libraries' defaults" "$(head -c 400 <<<"$out") / $(last_refusal)"; fi

# ------------------------------ 2. the same wallet, its VP valid for 600 s
out=$(wallet dev1.pem B1/credential.jwt --vp-lifetime 600)
TOKEN=$(jget "$out" 'json.loads(d["body"])["access_token"]')
if [ "$(pstatus "$out")" = 200 ] && [ -n "$TOKEN" ]; then
  ok "the wallet (VP exp 600 s) logged in: access token issued"
  who=$(curl -s -H "Authorization: Bearer $TOKEN" "$URL/api/v1/whoami")
  if [ "$(jget "$who" 'd["did"]')" = "$DID1" ] && [ "$(jget "$who" 'd["serial"]')" = SN-0001 ]; then
    ok "whoami with the wallet's token: the device's DID and serial SN-0001"
  else bad "whoami" "$who"; fi
  # the wallet's exact POST again
  jget "$out" 'd["post"]["body"]' | tr -d '\n' >post.body
  code=$(curl -s -o replay.json -w '%{http_code}' -H "Content-Type: $(jget "$out" 'd["post"]["content_type"]')" \
    --data-binary @post.body "$(jget "$out" 'd["post"]["url"]')")
  if [ "$code" = 409 ] && [ "$(jget "$(cat replay.json)" 'd["error"]["name"]')" = VOUCH_E_LOGIN_NONCE ]; then
    ok "the wallet's exact POST replayed: 409 VOUCH_E_LOGIN_NONCE"
  else bad "replay" "$code $(cat replay.json)"; fi
else
  bad "the wallet (VP exp 600 s) login" "$out / $(last_refusal)"
  skip "whoami" "no token"
  skip "replay" "no accepted POST to replay"
fi

# device 1's key presenting device 2's credential
out=$(wallet dev1.pem B2/credential.jwt --vp-lifetime 600)
if [ "$(pstatus "$out")" = 401 ] && [ "$(perror "$out")" = VOUCH_E_LOGIN_SUBJECT ]; then
  ok "the credential of another device: 401 VOUCH_E_LOGIN_SUBJECT ($(last_refusal | sed 's/.*refused: //'))"
else bad "another device's credential" "$out / $(last_refusal)"; fi

# device 1's credential with a claim changed (serialNumber), signature kept
"$PY" - B1/credential.jwt >tampered.jwt <<'EOF'
import base64, json, sys
h, p, s = open(sys.argv[1]).read().strip().split('.')
c = json.loads(base64.urlsafe_b64decode(p + '=' * (-len(p) % 4)))
c['vc']['credentialSubject']['serialNumber'] = 'SN-0009'
p = base64.urlsafe_b64encode(json.dumps(c, separators=(',', ':')).encode()).rstrip(b'=').decode()
print(h + '.' + p + '.' + s)
EOF
out=$(wallet dev1.pem tampered.jwt --vp-lifetime 600)
if [ "$(pstatus "$out")" = 401 ] && [ "$(perror "$out")" = VOUCH_E_JWS_BAD_SIGNATURE ]; then
  ok "a tampered credential (serialNumber changed): 401 VOUCH_E_JWS_BAD_SIGNATURE ($(last_refusal | sed 's/.*refused: //'))"
else bad "tampered credential" "$out / $(last_refusal)"; fi

finish
