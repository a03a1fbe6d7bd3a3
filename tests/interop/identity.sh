#!/usr/bin/env bash
# identity.sh - mainstream VC-JWT implementations and vouch's login
# messages (tests/interop/identity/, pinned in its package-lock.json):
#   - did-jwt-vc verifyCredential accepts the ProductionCredential that
#     `vouch provision` issues (did:web issuer resolved to the did.json that
#     `vouch server export` writes), for a P-256 and an Ed25519 device;
#   - did-jwt-vc verifyPresentation accepts the vp_token and did-jwt
#     verifyJWT the id_token that libvouch makes for a login (did:key
#     resolved by key-did-resolver), and both refuse tampering and
#     another nonce or audience;
#   - @sphereon/pex, a Presentation Exchange v2 engine, validates our
#     presentation_definition (with every constraint set) and evaluates the
#     credential against it, both ways;
#   - vouch's verifier accepts an id_token made by did-jwt and a VP made by
#     did-jwt-vc, with the "$.vp.verifiableCredential[0]" submission path or
#     the submission @sphereon/pex makes.
# The device side is tests/interop/identity/make_login.c, compiled here
# against the build's libvouch.a. Nothing is skipped: a missing runtime or
# package is a failure (scripts/setup installs them).
# Last line: "identity-interop: N passed, M failed".
set -uo pipefail
VOUCH=${VOUCH_CLI:?run through ctest (VOUCH_CLI unset)}
SRC=${VOUCH_SOURCE_DIR:?run through ctest (VOUCH_SOURCE_DIR unset)}
BUILD=${VOUCH_BUILD_DIR:?run through ctest (VOUCH_BUILD_DIR unset)}
HERE=$SRC/tests/interop/identity
SERVER=https://updates.example.com

T=$(mktemp -d "${TMPDIR:-/tmp}/vouch-identity.XXXXXX")
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
finish() {
  echo "identity-interop: $pass passed, $fail failed"
  [ "$fail" -eq 0 ]
  exit
}

if ! command -v node >/dev/null || [ ! -d "$HERE/node_modules/did-jwt-vc" ]; then
  bad "node or $HERE/node_modules missing: run scripts/setup (npm ci --prefix tests/interop/identity)"
  finish
fi
# the build's own compiler, and its sanitizers when the library has them
CC=$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$BUILD/CMakeCache.txt" 2>/dev/null)
SAN=()
if grep -q '^VOUCH_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" 2>/dev/null; then
  SAN=(-fsanitize=address,undefined -fno-omit-frame-pointer)
fi
if ! "${CC:-cc}" -std=c11 -D_GNU_SOURCE "${SAN[@]}" -I"$SRC/include" "$HERE/make_login.c" \
  "$BUILD/libvouch.a" $(pkg-config --cflags --libs jansson libcrypto) -ldl -lpthread \
  -o "$T/make_login" 2>"$T/cc.err"; then
  bad "cannot build make_login against $BUILD/libvouch.a: $(head -c 400 "$T/cc.err")"
  finish
fi
ok "make_login built against libvouch.a"

# two projects: ours, and another vendor's (for the foreign issuer document)
"$VOUCH" key generate --type p256 --out "$T/cos.pem" >/dev/null
"$VOUCH" init --domain example.com --dir "$T/P" --cosigner "$T/cos.pem" >/dev/null &&
  "$VOUCH" init --domain example.com --dir "$T/Q" --cosigner "$T/cos.pem" >/dev/null &&
  "$VOUCH" server export --dir "$T/P" --out "$T/S" >/dev/null ||
  { bad "vouch init / server export"; finish; }

# an authz.json with every constraint, which the devices below satisfy
today=$(date -u +%Y-%m-%d)
printf '{"mode":"credential","hardware":["board-a","board-b"],"production_date_from":"2025-01-01","production_date_to":"%s","produced_by":["did:web:example.com#line-3"]}\n' \
  "$(date -u -d '+1 year' +%Y-%m-%d)" >"$T/authz.json"
devices=()
for spec in p256:dev-p256:SN-I1 ed25519:dev-ed25519:SN-I2; do
  IFS=: read -r type name serial <<<"$spec"
  did=$("$VOUCH" key generate --type "$type" --out "$T/$name.pem")
  if ! "$VOUCH" provision --dir "$T/P" --device "$T/$name.pem" --serial "$serial" \
    --hardware board-a --production-date "$today" --produced-by 'did:web:example.com#line-3' \
    --server "$SERVER" --out "$T/$name" >/dev/null; then
    bad "vouch provision $name"
    continue
  fi
  nonce=$(head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
  if ! "$T/make_login" respond "$T/$name/policy.jws" "$T/S/server.pem" "$T/$name.pem" \
    "$T/$name/credential.jwt" "$nonce" "$T/authz.json" >"$T/$name.login" 2>"$T/err"; then
    bad "libvouch login for $name: $(cat "$T/err")"
    continue
  fi
  ok "libvouch made a login for $name ($type)"
  vm=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["verificationMethod"][0]["id"])' \
    < <("$VOUCH" did resolve "$did" --json))
  devices+=("$(python3 -c 'import json,sys
n,did,vm,key,cred,login=sys.argv[1:7]
print(json.dumps({"name":n,"did":did,"vm":vm,"key":key,"credential":open(cred).read().strip(),"login":json.load(open(login))}))' \
    "$name" "$did" "$vm" "$T/$name.pem" "$T/$name/credential.jwt" "$T/$name.login")")
done
printf '%s\n' "${devices[@]}" | python3 -c 'import json,sys
print(json.dumps({"issuer":"did:web:example.com","did_json":sys.argv[1],"other_did_json":sys.argv[2],
  "devices":[json.loads(l) for l in sys.stdin if l.strip()]}))' "$T/S/did.json" "$T/Q/did.json" >"$T/cases.json"

# they check ours
( cd "$HERE" && node identity_interop.mjs check "$T/cases.json" ) >"$T/node.out" 2>&1
cat "$T/node.out"
pass=$((pass + $(grep -c '^ok ' "$T/node.out")))
fail=$((fail + $(grep -c '^FAIL' "$T/node.out")))
grep -q '^ok .*verifyPresentation accepts' "$T/node.out" || bad "node check did not run to the end"

# we check theirs
if (cd "$HERE" && node identity_interop.mjs make "$T/cases.json" "$T/theirs") >"$T/make.out" 2>&1; then
  cat "$T/make.out"
  for name in dev-p256 dev-ed25519; do
    nonce=$(python3 -c 'import json,sys; print([d for d in json.load(open(sys.argv[1]))["devices"] if d["name"]==sys.argv[2]][0]["login"]["nonce"])' "$T/cases.json" "$name")
    if "$T/make_login" verify "$T/$name/policy.jws" "$T/theirs/$name.id_token" \
      "$T/theirs/$name.vp_token" "$T/theirs/$name.submission" "$nonce" >"$T/v.out" 2>"$T/err"; then
      ok "vouch accepts did-jwt's id_token and did-jwt-vc's VP for $name: $(cat "$T/v.out")"
    else
      bad "vouch refuses did-jwt(-vc) tokens for $name: $(cat "$T/v.out") $(cat "$T/err")"
    fi
    # and the same tokens for another login's nonce are refused
    if "$T/make_login" verify "$T/$name/policy.jws" "$T/theirs/$name.id_token" \
      "$T/theirs/$name.vp_token" "$T/theirs/$name.submission" "another-nonce-0123456789abc" >"$T/v.out" 2>/dev/null; then
      bad "vouch accepted $name's tokens for another nonce"
    elif grep -q '"name":"VOUCH_E_LOGIN_NONCE"' "$T/v.out"; then
      ok "vouch refuses them for another login's nonce (VOUCH_E_LOGIN_NONCE)"
    else
      bad "another nonce: $(cat "$T/v.out")"
    fi
  done
else
  bad "did-jwt(-vc) could not make tokens: $(cat "$T/make.out")"
fi
echo "packages: $(cd "$HERE" && node -e 'const l=require("./package-lock.json").packages;for(const n of ["did-jwt-vc","did-jwt","did-resolver","key-did-resolver","@sphereon/pex"])process.stdout.write(n+"@"+l["node_modules/"+n].version+" ")')node $(node --version)"
finish
