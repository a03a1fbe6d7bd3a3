#!/usr/bin/env bash
# vc.sh - a vouch project (did:web document, DomainLinkageCredential, signed
# trust policies through two rotations) checked by independent
# implementations: did-resolver + did-jwt and panva/jose on Node
# (tests/interop/vc/vc_interop.mjs, packages pinned in
# tests/interop/vc/package-lock.json). One P-256 project and one Ed25519
# project. Nothing is skipped: a missing runtime or package is a failure.
set -euo pipefail
VOUCH=${VOUCH_CLI:?run through ctest (VOUCH_CLI unset)}
SRC=${VOUCH_SOURCE_DIR:?run through ctest (VOUCH_SOURCE_DIR unset)}
HERE=$SRC/tests/interop/vc
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
passed=0 failed=0

fail() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }

if ! command -v node >/dev/null 2>&1; then
  fail "node is not installed (run scripts/setup)"
fi
for p in did-resolver did-jwt jose; do
  if [ ! -f "$HERE/node_modules/$p/package.json" ]; then
    fail "$HERE/node_modules/$p is missing (run: npm ci --prefix tests/interop/vc)"
  fi
done
[ -x "$VOUCH" ] || fail "vouch CLI not found at $VOUCH"
if [ "$failed" -ne 0 ]; then
  echo "vc-interop: $passed passed, $failed failed"
  exit 1
fi

# project NAME KEYTYPE DOMAIN: init, rotate twice, run the checks
project() {
  local name=$1 type=$2 domain=$3 out rc
  echo "== $name ($type, did:web:$domain)"
  (
    cd "$T"
    "$VOUCH" key generate --type ed25519 --out "$name-cos.pem" >/dev/null
    cos=$("$VOUCH" key public "$name-cos.pem" --format did)
    "$VOUCH" init --domain "$domain" --dir "$name" --key-type "$type" --cosigner "$cos" >/dev/null
    "$VOUCH" policy rotate --dir "$name" --replace-root root-1 >/dev/null
    "$VOUCH" policy rotate --dir "$name" --replace issuer-1 --add-key release >/dev/null
  ) || { fail "$name: could not create the project"; return; }
  set +e
  out=$(node "$HERE/vc_interop.mjs" "$T/$name" "$domain" 2>&1)
  rc=$?
  set -e
  printf '%s\n' "$out" | grep -v '^ok ' || true
  local line
  line=$(printf '%s\n' "$out" | tail -n 1)
  echo "   $line"
  if [ "$rc" -eq 0 ] && [[ "$line" =~ ^vc-interop:\ ([0-9]+)\ passed,\ 0\ failed$ ]]; then
    passed=$((passed + ${BASH_REMATCH[1]}))
  else
    fail "$name: $line"
    if [[ "$line" =~ ^vc-interop:\ ([0-9]+)\ passed ]]; then passed=$((passed + ${BASH_REMATCH[1]})); fi
  fi
}

echo "did-resolver $(node -p "require('$HERE/node_modules/did-resolver/package.json').version")," \
  "did-jwt $(node -p "require('$HERE/node_modules/did-jwt/package.json').version")," \
  "jose $(node -p "require('$HERE/node_modules/jose/package.json').version")"
project p256 p256 example.com
project ed25519 ed25519 updates.example.org

echo "vc-interop: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
