#!/usr/bin/env bash
# jws.sh - interop of our JWS (ES256, EdDSA; compact, general, flattened)
# with two independent implementations, through the vouch CLI:
#   jose_interop.mjs     panva/jose 5 on Node (tests/interop/package-lock.json)
#   jwcrypto_interop.py  Debian's python3-jwcrypto on /usr/bin/python3
# Each direction is covered: they verify what we sign, we verify what they
# sign, and both refuse tampering. Nothing is skipped: a missing runtime or
# package is a failure (scripts/setup installs them).
set -euo pipefail
export VOUCH_CLI=${VOUCH_CLI:?run through ctest (VOUCH_CLI unset)}
SRC=${VOUCH_SOURCE_DIR:?run through ctest (VOUCH_SOURCE_DIR unset)}
HERE=$SRC/tests/interop
PY=/usr/bin/python3 # Debian's python, where python3-jwcrypto is installed

suites=0 failed=0
summary=()

# run NAME CMD...: runs one suite, records its verdict and last line
run() {
  local name=$1 out rc
  shift
  suites=$((suites + 1))
  echo "== $name"
  set +e
  out=$("$@" 2>&1)
  rc=$?
  set -e
  printf '%s\n' "$out"
  if [ "$rc" -eq 0 ]; then
    summary+=("ok    $name: $(printf '%s\n' "$out" | tail -n 1)")
  else
    failed=$((failed + 1))
    summary+=("FAIL  $name (exit $rc): $(printf '%s\n' "$out" | tail -n 1)")
  fi
}

# missing prerequisites fail the test with the command that fixes them
prereq() {
  suites=$((suites + 1))
  failed=$((failed + 1))
  summary+=("FAIL  $1")
  echo "FAIL: $1" >&2
}

[ -x "$VOUCH_CLI" ] || prereq "vouch CLI not found at $VOUCH_CLI"

if ! command -v node >/dev/null 2>&1; then
  prereq "jose: node is not installed (run scripts/setup)"
elif [ ! -f "$HERE/node_modules/jose/package.json" ]; then
  prereq "jose: $HERE/node_modules/jose is missing (run: npm ci --prefix tests/interop)"
else
  run "jose $(node -p "require('$HERE/node_modules/jose/package.json').version")" \
    node "$HERE/jose_interop.mjs"
fi

if [ ! -x "$PY" ] || ! "$PY" -c 'import jwcrypto' >/dev/null 2>&1; then
  prereq "jwcrypto: python3-jwcrypto is not importable by $PY (run scripts/setup)"
else
  run "jwcrypto $("$PY" -c 'import jwcrypto.jwk, importlib.metadata as m; print(m.version("jwcrypto"))')" \
    "$PY" "$HERE/jwcrypto_interop.py"
fi

echo
echo "JWS interop summary"
for line in "${summary[@]}"; do
  echo "  $line"
done
echo "interop-jws: $((suites - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
