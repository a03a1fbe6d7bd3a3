#!/usr/bin/env bash
# release_pkcs11.sh - the release flow with every signing key inside a
# PKCS#11 token (SoftHSM2), as production keeps them: the co-signer's key,
# the build server's identity and the vendor's release key never leave
# their tokens. The release they make verifies on a device, and the keys
# are not extractable.
set -euo pipefail
VOUCH=${VOUCH_CLI:?run through ctest}
COSIGND=${VOUCH_COSIGND:?run through ctest}
VERIFY=${VOUCH_VERIFY:?run through ctest}
T=$(mktemp -d)
PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT
cd "$T"
pass=0 fail=0
ok()  { pass=$((pass + 1)); echo "ok   - $*"; }
bad() { fail=$((fail + 1)); echo "FAIL - $*"; }
step() { local what=$1; shift; if "$@" >out.txt 2>err.txt; then ok "$what"; else bad "$what: $(head -c 300 err.txt)"; fi; }

mkdir -p hsm/tokens
printf 'directories.tokendir = %s/hsm/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$T" > hsm/softhsm2.conf
export SOFTHSM2_CONF=$T/hsm/softhsm2.conf
for t in cosigner build vendor; do
  softhsm2-util --init-token --free --label "$t" --pin 1234 --so-pin 12345678 >/dev/null
done
export VOUCH_PKCS11_PIN=1234   # the PIN comes from the environment, never from a URI in a file
# Under ASan: SoftHSM2 leaks 37 bytes per Ed25519 signature (tests/lsan.supp).
# The slow unwinder is needed for the report to reach our frame, above which
# the suppression matches; the fast one stops inside libcrypto, and
# suppressing there would hide our own leaks.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}fast_unwind_on_malloc=0"
export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=${VOUCH_SOURCE_DIR:?}/tests/lsan.supp:print_suppressions=0"
COS_KEY='pkcs11:token=cosigner;object=cosign'
BUILD_KEY='pkcs11:token=build;object=identity'
REL_KEY='pkcs11:token=vendor;object=release'

step "the co-signer's key is generated inside its token" "$COSIGND" init --dir C --vendor did:web:hsm.example.com --key "$COS_KEY"
COS_DID=$(cat out.txt)
step "the build server's identity is generated inside its token" "$VOUCH" key generate --type p256 --out "$BUILD_KEY"
BUILD_DID=$(cat out.txt)
step "the vendor's release key is generated inside its token" "$VOUCH" key generate --type ed25519 --out "$REL_KEY"
[ ! -e C/cosign.pem ] && ok "the co-signer keeps no key file" || bad "cosign.pem written"

# the vendor project, with its release role moved to the token key
step "vouch init" "$VOUCH" init --domain hsm.example.com --dir P --cosigner "$COS_DID"
step "policy rotate: the release role now holds the token key (its public half)" \
  "$VOUCH" policy rotate --dir P --remove-key release-1 --add-key "release=$REL_KEY"
"$VOUCH" policy export --dir P --out policy.jws >/dev/null
REL_KID=$("$VOUCH" policy show policy.jws --json | /usr/bin/python3 -c '
import json, sys
print(json.load(sys.stdin)["roles"]["release"]["keys"][0]["kid"])')
[ -n "$REL_KID" ] && [ ! -e "P/keys/$REL_KID.pem" ] && ok "the policy names $REL_KID, and no file holds it" || bad "release kid $REL_KID"

"$COSIGND" allow --dir C "$BUILD_DID" >/dev/null
"$COSIGND" serve --dir C --listen 127.0.0.1:0 > serve.out 2> serve.err &
PID=$!
for _ in $(seq 1 100); do grep -q 'listening on' serve.out 2>/dev/null && break; sleep 0.1; done
URL=$(sed -n 's/.*listening on \([^ ]*\) as .*/\1/p' serve.out)
[ -n "$URL" ] && ok "the co-signer serves with its token key" || bad "serve: $(cat serve.err)"

head -c 100000 /dev/urandom > fw.img
step "release create" "$VOUCH" release create fw.img --version 3.0.0 --security-version 1 --hardware hsm-board \
  --url https://hsm.example.com/fw.img --dir P --out rel.json
step "release cosign, the request signed inside the build server's token" \
  "$VOUCH" release cosign rel.json --cosigner "$URL" --identity "$BUILD_KEY" --cosigner-key "$COS_DID"
step "release sign, with the vendor's key inside its token" \
  "$VOUCH" release sign rel.json --key "$REL_KEY" --kid "did:web:hsm.example.com#$REL_KID"
step "the device verifies the release (both signatures made in tokens)" \
  "$VERIFY" --policy policy.jws --credential rel.json --hardware hsm-board fw.img

# the keys stay in their tokens, and can only sign (the token's own word)
for t in cosigner:cosign build:identity vendor:release; do
  pkcs11-tool --module /usr/lib/softhsm/libsofthsm2.so --token-label "${t%%:*}" --login --pin 1234 \
    --list-objects --type privkey 2>/dev/null > attrs.txt || true
  if grep -q "never extractable" attrs.txt && grep -q "sensitive" attrs.txt &&
     [ "$(grep 'Usage:' attrs.txt | sed 's/.*Usage: *//')" = sign ]; then
    ok "${t%%:*} token: the private key is sensitive, never extractable, and can only sign"
  else bad "${t%%:*} token attributes: $(tr '\n' ' ' < attrs.txt)"; fi
done
kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
echo "release-pkcs11: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
