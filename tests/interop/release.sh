#!/usr/bin/env bash
# release.sh - SPEC: "Each signature [of a release], taken with the shared
# payload, is on its own a valid compact VC-JWT." A release made the real way
# (vouch init, a real vouch-cosignd co-signing, the release key signing) has
# each of its signatures verified as a compact VC-JWT by did-jwt-vc and jose
# (tests/interop/vc/release_interop.mjs), for a P-256 and an Ed25519 vendor.
set -euo pipefail
VOUCH=${VOUCH_CLI:?run through ctest}
COSIGND=${VOUCH_COSIGND:?run through ctest}
SRC=${VOUCH_SOURCE_DIR:?}
HERE=$SRC/tests/interop/vc
for p in did-jwt-vc did-resolver jose; do
  [ -f "$HERE/node_modules/$p/package.json" ] || { echo "release-interop: $HERE/node_modules/$p missing (npm ci --prefix tests/interop/vc)"; echo "release-interop: 0 passed, 1 failed"; exit 1; }
done
T=$(mktemp -d)
PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$T"' EXIT
cd "$T"
passed=0 failed=0

run() { # TYPE: one vendor and co-signer of that key type, one release
  local type=$1 cos url
  cos=$("$COSIGND" init --dir "cos-$type" --vendor "did:web:$type.example.com" --key-type "$type")
  "$VOUCH" init --domain "$type.example.com" --dir "p-$type" --cosigner "$cos" --key-type "$type" >/dev/null
  "$COSIGND" serve --dir "cos-$type" --listen 127.0.0.1:0 > "serve-$type.out" 2>&1 &
  PID=$!
  for _ in $(seq 1 100); do grep -q 'listening on' "serve-$type.out" && break; sleep 0.1; done
  url=$(sed -n 's/.*listening on \([^ ]*\) as .*/\1/p' "serve-$type.out")
  "$VOUCH" key generate --type p256 --out "build-$type.pem" > "build-$type.did"
  "$COSIGND" allow --dir "cos-$type" "$(cat "build-$type.did")" >/dev/null
  head -c 65536 /dev/urandom > "fw-$type.img"
  "$VOUCH" release create "fw-$type.img" --version 2.0.1 --security-version 3 --hardware board-a \
    --url "https://$type.example.com/fw/2.0.1.img" --dir "p-$type" --out "rel-$type.json" >/dev/null
  "$VOUCH" release cosign "rel-$type.json" --cosigner "$url" --identity "build-$type.pem" --cosigner-key "$cos" >/dev/null
  "$VOUCH" release sign "rel-$type.json" --dir "p-$type" >/dev/null
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
  echo "== $type vendor"
  if node "$HERE/release_interop.mjs" "rel-$type.json" "p-$type/did.json" 2 | tee "out-$type.txt"; then :; fi
  # grep -c exits 1 when it counts 0, which set -e would take as a failure
  passed=$((passed + $(grep -c '^ok' "out-$type.txt" || true)))
  failed=$((failed + $(grep -c '^FAIL' "out-$type.txt" || true)))
  grep -q '^release-vc:' "out-$type.txt" || failed=$((failed + 1))
}
run p256
run ed25519
echo "release-interop: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
