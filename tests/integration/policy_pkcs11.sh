#!/usr/bin/env bash
# policy_pkcs11.sh - rotating the trust policy with a root key that lives in
# a PKCS#11 token (SoftHSM2) and never in P/keys: `vouch policy rotate
# --root-key KID=KEY`. The token's key is added as a root, the other roots
# go offline, a rotation then needs the token's signature: without
# --root-key it falls short of the threshold (105); with it the new version
# verifies from the old one and carries the token's signature. A KEY whose
# public key is not the one listed under KID, a KID that is not a root, the
# same KID twice and a public-only KEY are refused with their exact codes,
# and every refusal leaves P exactly as it was.
set -euo pipefail
VOUCH=${VOUCH_CLI:?run through ctest}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T"
pass=0 fail=0
ok()  { pass=$((pass + 1)); echo "ok   - $*"; }
bad() { fail=$((fail + 1)); echo "FAIL - $*"; }
# expect CODE WHAT CMD...: runs CMD, checks its exit status
expect() {
  local want=$1 what=$2; shift 2
  set +e; "$@" >out.txt 2>err.txt; local got=$?; set -e
  if [ "$got" -eq "$want" ]; then ok "$what"; else bad "$what: exit $got, want $want: $(head -c 300 err.txt)"; fi
}
# the error line names the problem (the message, not just the code)
says() { if grep -qF -- "$1" err.txt; then ok "  says: $1"; else bad "message lacks '$1': $(head -c 300 err.txt)"; fi; }
json_ok() { python3 -c 'import json,sys; d=json.load(open("out.txt")); sys.exit(0 if eval(sys.argv[1]) else 1)' "$1"; }
# a digest of every file under a directory (names, modes, contents)
tree_sum() { (cd "$1" && find . -type f -printf '%p %m\n' | sort && find . -type f | sort | xargs cat) | sha256sum; }
# refused CODE WHAT ARGS...: a rotation refused with CODE, and P untouched
refused() {
  local want=$1 what=$2; shift 2
  local before; before=$(tree_sum P)
  expect "$want" "$what" "$VOUCH" policy rotate --dir P "$@"
  if [ "$(tree_sum P)" = "$before" ]; then ok "  P unchanged"; else bad "$what: P changed"; fi
}

mkdir -p hsm/tokens
printf 'directories.tokendir = %s/hsm/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$T" > hsm/softhsm2.conf
export SOFTHSM2_CONF=$T/hsm/softhsm2.conf
softhsm2-util --init-token --free --label roots --pin 1234 --so-pin 12345678 >/dev/null
export VOUCH_PKCS11_PIN=1234   # the PIN comes from the environment, never from a URI in a file
# Under ASan, as in release_pkcs11.sh: the slow unwinder, so that the
# SoftHSM2 suppressions (tests/lsan.supp) match above our frames only.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}fast_unwind_on_malloc=0"
export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=${VOUCH_SOURCE_DIR:?}/tests/lsan.supp:print_suppressions=0"
ROOT_KEY='pkcs11:token=roots;object=root'
OTHER_KEY='pkcs11:token=roots;object=other'

expect 0 "a P-256 root key is generated inside the token" "$VOUCH" key generate --type p256 --out "$ROOT_KEY"
expect 0 "a second key in the same token (the wrong object)" "$VOUCH" key generate --type p256 --out "$OTHER_KEY"
expect 0 "its public half" "$VOUCH" key public "$ROOT_KEY"
cp out.txt token.pub.pem
TOKEN_TP=$("$VOUCH" key public "$ROOT_KEY" --format thumbprint)
expect 0 "a co-signer key (a file; not what is tested here)" "$VOUCH" key generate --type ed25519 --out cosigner.pem
COSIGNER=$(cat out.txt)

expect 0 "vouch init (roots 2 of 3, files in P/keys)" "$VOUCH" init --domain p11.example.com --dir P --cosigner "$COSIGNER"
expect 0 "policy rotate --add-key root=<token> --threshold 2 (version 2: 2 of 4)" \
  "$VOUCH" policy rotate --dir P --add-key "root=$ROOT_KEY" --threshold 2 --json
json_ok 'd["version"]==2 and d["newKeys"]==[]' && ok "  no key file made for the token's key" || bad "rotate 1->2: $(cat out.txt)"
expect 0 "policy show version 2" "$VOUCH" policy show P/policy/2.jws --json
python3 -c 'import json,sys; d=json.load(open("out.txt")); r=d["roles"]["root"]; sys.exit(0 if r["threshold"]==2 and [k["kid"] for k in r["keys"]]==["root-1","root-2","root-3","root-4"] and r["keys"][3]["thumbprint"]==sys.argv[1] else 1)' "$TOKEN_TP" &&
  ok "  root-4 is the token's key (its thumbprint), 2 of 4" || bad "version 2 roots: $(cat out.txt)"
[ ! -e P/keys/root-4.pem ] && ok "  no P/keys/root-4.pem" || bad "root-4.pem written"

# two roots go to offline storage: P/keys keeps root-1 only, so the next
# rotation needs the token's key as the second root signature
mkdir -m 700 offline
mv P/keys/root-2.pem P/keys/root-3.pem offline/

refused 105 "without --root-key: the threshold is not met (VOUCH_E_POLICY_SIGNATURES)" --replace release-1
says "not enough root keys in P/keys or given with --root-key: 1 of 2 old and 1 of 2 new (VOUCH_E_POLICY_SIGNATURES)"
refused 2 "--root-key with a key file of another root (VOUCH_E_USAGE)" --replace release-1 --root-key root-4=offline/root-2.pem
says "--root-key root-4: KEY is not the key policy version 2 lists under root-4 (thumbprint $TOKEN_TP"
refused 2 "--root-key with the wrong object in the token (VOUCH_E_USAGE)" --replace release-1 --root-key "root-4=$OTHER_KEY"
says "--root-key root-4: KEY is not the key policy version 2 lists under root-4"
refused 2 "--root-key with a KID of another role (VOUCH_E_USAGE)" --replace release-1 --root-key "release-1=$ROOT_KEY"
says "--root-key release-1: not a root key of policy version 2 or 3 (VOUCH_E_USAGE)"
refused 2 "--root-key with a KID in no policy (VOUCH_E_USAGE)" --replace release-1 --root-key "root-9=$ROOT_KEY"
says "--root-key root-9: not a root key of policy version 2 or 3 (VOUCH_E_USAGE)"
refused 2 "--root-key with the same KID twice (VOUCH_E_USAGE)" --replace release-1 --root-key "root-4=$ROOT_KEY" --root-key "root-4=$ROOT_KEY"
says "--root-key: root-4 given twice (VOUCH_E_USAGE)"
refused 2 "--root-key without =KEY (VOUCH_E_USAGE)" --replace release-1 --root-key root-4
says "--root-key takes KID=KEY (VOUCH_E_USAGE)"
refused 35 "--root-key with a public key only (VOUCH_E_KEY_NOT_PRIVATE)" --replace release-1 --root-key root-4=token.pub.pem
says "--root-key root-4: KEY holds no private key (VOUCH_E_KEY_NOT_PRIVATE)"
VOUCH_PKCS11_PIN=4321 refused 37 "--root-key with the wrong PIN (VOUCH_E_KEY_PKCS11)" --replace release-1 --root-key "root-4=$ROOT_KEY"
says "CKR_PIN_INCORRECT"
if grep -q 4321 err.txt; then bad "the PIN appears in the message"; else ok "  the PIN is not in the message"; fi
[ ! -e P/policy/3.jws ] && [ -e P/keys/release-1.pem ] && [ ! -e P/keys/release-2.pem ] && ok "no version 3, no new key file" || bad "a refusal left files"

expect 0 "with --root-key root-4=<token>: version 3, signed in the token" \
  "$VOUCH" policy rotate --dir P --replace release-1 --root-key "root-4=$ROOT_KEY" --json
json_ok 'd["version"]==3 and sorted(d["signedBy"])==["root-1","root-4"]' && ok "  signed by root-1 and root-4" || bad "rotate 2->3: $(cat out.txt)"
expect 0 "version 3 verifies as the successor of version 2 (pinned)" "$VOUCH" policy verify P/policy/3.jws --trusted P/policy/2.jws
[ "$(cat out.txt)" = 3 ] && ok "  prints 3" || bad "verify printed $(cat out.txt)"
expect 0 "the chain 1 -> 2 -> 3 verifies from version 1" "$VOUCH" policy verify P/policy/2.jws P/policy/3.jws --trusted P/policy/1.jws
# the JWS itself: one signature's protected header names root-4, and that
# signature verifies under the token's public key
python3 - P/policy/3.jws <<'PY' && ok "  a signature of version 3 carries kid root-4 (ES256)" || bad "no root-4 signature in version 3"
import base64, json, sys
j = json.load(open(sys.argv[1]))
def hdr(s):
    p = s["protected"]
    return json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
hs = [hdr(s) for s in j["signatures"]]
sys.exit(0 if any(h.get("kid") == "root-4" and h.get("alg") == "ES256" and h.get("typ") == "vouch-policy+jwt" for h in hs) else 1)
PY
expect 0 "jws verify with the token's public key" "$VOUCH" jws verify --key token.pub.pem --typ vouch-policy+jwt P/policy/3.jws --json
json_ok 'any(s["kid"]=="root-4" and s["valid"] for s in d["signatures"]) and not any(s["kid"]!="root-4" and s["valid"] for s in d["signatures"])' &&
  ok "  the root-4 signature (and only it) verifies under the token's key" || bad "jws verify: $(cat out.txt)"

# KEY may also be a private key file kept offline
expect 0 "with --root-key root-2=<offline key file>: version 4" \
  "$VOUCH" policy rotate --dir P --replace release-2 --root-key root-2=offline/root-2.pem --json
json_ok 'd["version"]==4 and sorted(d["signedBy"])==["root-1","root-2"]' && ok "  signed by root-1 and root-2" || bad "rotate 3->4: $(cat out.txt)"
expect 0 "version 4 verifies as the successor of version 3" "$VOUCH" policy verify P/policy/4.jws --trusted P/policy/3.jws
[ ! -e P/keys/root-2.pem ] && ok "  the offline key was not copied into P/keys" || bad "root-2.pem copied into P/keys"

echo "policy_pkcs11: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
