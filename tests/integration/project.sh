#!/usr/bin/env bash
# project.sh - the real `vouch` CLI over a project's life: init (modes,
# refusals), did document, policy export/show/verify, two rotations and the
# chain walked one step at a time, refusals with their exact exit codes
# (files untouched), and every --json output parsed.
set -euo pipefail
VOUCH=${VOUCH_CLI:?run through ctest}
DATA=${VOUCH_TEST_DATA:?run through ctest}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T"
pass=0 fail=0

ok()   { pass=$((pass + 1)); }
bad()  { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
# expect CODE CMD...: runs CMD, checks its exit status
expect() {
  local want=$1; shift
  set +e; "$@" >out.txt 2>err.txt; local got=$?; set -e
  if [ "$got" -eq "$want" ]; then ok; else bad "$* -> exit $got, want $want: $(head -c 300 err.txt)"; fi
}
mode() { stat -c %a "$1"; }
json_ok() { python3 -c 'import json,sys; d=json.load(open("out.txt")); sys.exit(0 if eval(sys.argv[1]) else 1)' "$1"; }
# a digest of every file under a directory (names, modes, contents)
tree_sum() { (cd "$1" && find . -type f -printf '%p %m\n' | sort && find . -type f | sort | xargs cat) | sha256sum; }

# the co-signer's key: did:key of a key the co-signer holds
expect 0 "$VOUCH" key generate --type ed25519 --out cosigner.pem
COSIGNER=$(cat out.txt)

# --- init --------------------------------------------------------------------
expect 0 "$VOUCH" init --domain example.com --dir P --cosigner "$COSIGNER"
[ "$(mode P)" = 700 ] && ok || bad "project dir mode $(mode P)"
[ "$(mode P/keys)" = 700 ] && ok || bad "keys dir mode $(mode P/keys)"
for k in root-1 root-2 root-3 release-1 issuer-1 server-1; do
  [ -f "P/keys/$k.pem" ] && [ "$(mode "P/keys/$k.pem")" = 600 ] && ok || bad "P/keys/$k.pem missing or not 0600"
done
[ ! -e P/keys/cosign-1.pem ] && ok || bad "the co-signer's private key must not be in the project"
for f in policy/1.jws did.json did-configuration.json project.json; do
  [ -f "P/$f" ] && ok || bad "P/$f missing"
done
expect 0 "$VOUCH" policy verify P/policy/1.jws
[ "$(cat out.txt)" = 1 ] && ok || bad "policy verify prints the version"
expect 0 "$VOUCH" policy verify P/policy/1.jws --json
json_ok 'd["valid"] and d["version"]==1 and d["as"]=="root" and d["production"]' && ok || bad "verify --json"
# version 1 carries exactly the threshold of root signatures (2 of 3)
expect 0 "$VOUCH" policy show P/policy/1.jws --json
json_ok 'len(d["signatures"])==2 and d["roles"]["root"]["threshold"]==2 and len(d["roles"]["root"]["keys"])==3 and d["releaseRequires"]==["release","cosign"] and d["signaturesChecked"]==False' && ok || bad "show --json of version 1"
json_ok 'all(r in d["roles"] for r in ["root","release","cosign","issuer","server"])' && ok || bad "all five roles"
expect 0 "$VOUCH" policy show P/policy/1.jws
grep -q "role root    2 of 3" out.txt && ok || bad "show text"

# refusals leave everything as it was
SUM=$(tree_sum P)
expect 8 "$VOUCH" init --domain example.com --dir P --cosigner "$COSIGNER"
[ "$(tree_sum P)" = "$SUM" ] && ok || bad "refused init changed the project"
mkdir notempty && touch notempty/x
expect 8 "$VOUCH" init --domain example.com --dir notempty --cosigner "$COSIGNER"
expect 2 "$VOUCH" init --domain Example.COM --dir Q --cosigner "$COSIGNER"
expect 2 "$VOUCH" init --domain example.com --dir Q --cosigner "$COSIGNER" --threshold 4
expect 2 "$VOUCH" init --domain example.com --dir Q --cosigner "$COSIGNER" --threshold 0
expect 2 "$VOUCH" init --domain example.com --dir Q --cosigner "$COSIGNER" --expires soon
expect 2 "$VOUCH" init --domain example.com --dir Q
[ ! -e Q ] && ok || bad "usage errors created the project"
# a production project refuses a published development key as co-signer
cp "$DATA/keys/p256-1.pem" dev.pem && chmod 600 dev.pem
expect 108 "$VOUCH" init --domain example.com --dir Q --cosigner dev.pem
[ ! -e Q ] && ok || bad "refused init left a directory behind"
expect 0 "$VOUCH" init --domain dev.example.com --dir D --cosigner dev.pem --development --roots 1 --key-type ed25519 --json
json_ok 'd["production"]==False and d["rootThreshold"]==1 and d["roots"]==1' && ok || bad "development init --json"
expect 0 "$VOUCH" policy verify D/policy/1.jws --json
json_ok 'd["production"]==False' && ok || bad "development policy verifies"

# --- did:web ------------------------------------------------------------------
expect 0 "$VOUCH" did document --dir P
cmp -s out.txt P/did.json && ok || bad "did document differs from P/did.json"
expect 0 "$VOUCH" did document --dir P --json
json_ok 'd["id"]=="did:web:example.com" and len(d["verificationMethod"])==7 and d["authentication"]==["did:web:example.com#server-1"] and "did:web:example.com#cosign-1" in d["assertionMethod"] and all(v["type"]=="JsonWebKey2020" and "d" not in v["publicKeyJwk"] for v in d["verificationMethod"])' && ok || bad "did document content"
python3 - <<'EOF' && ok || bad "did-configuration.json"
import json, base64
c = json.load(open("P/did-configuration.json"))
assert c["@context"] == "https://identity.foundation/.well-known/did-configuration/v1"
jwt = c["linked_dids"][0]
h, p, s = jwt.split(".")
dec = lambda x: json.loads(base64.urlsafe_b64decode(x + "=" * (-len(x) % 4)))
h, p = dec(h), dec(p)
assert h["kid"] == "did:web:example.com#issuer-1" and h["alg"] == "ES256"
assert p["iss"] == p["sub"] == p["vc"]["credentialSubject"]["id"] == "did:web:example.com"
assert p["vc"]["credentialSubject"]["origin"] == "https://example.com"
assert p["vc"]["type"] == ["VerifiableCredential", "DomainLinkageCredential"]
assert p["exp"] > p["nbf"]
EOF
expect 9 "$VOUCH" did document --dir nosuch

# --- export --------------------------------------------------------------------
expect 0 "$VOUCH" policy export --dir P --out pinned-1.jws
cmp -s pinned-1.jws P/policy/1.jws && ok || bad "export differs from policy/1.jws"
cp pinned-1.jws keep.jws
expect 8 "$VOUCH" policy export --dir P --out pinned-1.jws
cmp -s pinned-1.jws keep.jws && ok || bad "refused export changed the file"
expect 0 "$VOUCH" policy export --dir P --out e.jws --json
json_ok 'd["version"]==1' && ok || bad "export --json"

# --- rotation 1 -> 2 -> 3 --------------------------------------------------------
expect 0 "$VOUCH" policy rotate --dir P --replace-root root-1 --json
json_ok 'd["version"]==2 and d["newKeys"]==["root-4"] and d["retiredKeys"]==["root-1"] and len(d["signedBy"])>=2' && ok || bad "rotate 1->2 --json"
[ "$(mode P/keys/root-4.pem)" = 600 ] && ok || bad "new root key mode"
python3 -c 'import json; d=json.load(open("P/project.json")); assert d["policyVersion"]==2 and "root-1" not in d["keys"] and d["keys"]["root-4"]=="keys/root-4.pem"' && ok || bad "project.json after rotate"
expect 0 "$VOUCH" did document --dir P --json
json_ok '"did:web:example.com#root-4" in d["assertionMethod"] and "did:web:example.com#root-1" not in d["assertionMethod"]' && ok || bad "did document follows the rotation"
expect 0 "$VOUCH" policy rotate --dir P --replace server-1 --add-key release --expires 30d
[ -f P/keys/server-2.pem ] && [ -f P/keys/release-2.pem ] && ok || bad "rotate 2->3 keys"
expect 0 "$VOUCH" policy show P/policy/3.jws --json
json_ok 'd["version"]==3 and len(d["roles"]["release"]["keys"])==2 and d["roles"]["server"]["keys"][0]["kid"]=="server-2" and d["expires"]-d["issued"]==30*86400' && ok || bad "version 3 content"

# the chain, one step at a time, from the pinned version 1
expect 0 "$VOUCH" policy verify P/policy/2.jws --trusted pinned-1.jws
[ "$(cat out.txt)" = 2 ] && ok || bad "1 -> 2"
expect 0 "$VOUCH" policy verify P/policy/3.jws --trusted P/policy/2.jws --json
json_ok 'd["version"]==3 and d["as"]=="successor"' && ok || bad "2 -> 3"
expect 0 "$VOUCH" policy verify P/policy/2.jws P/policy/3.jws --trusted pinned-1.jws
[ "$(cat out.txt)" = 3 ] && ok || bad "1 -> 2 -> 3 as a chain"
# no shortcut: version 3 is not signed by a threshold of version 1's roots
expect 105 "$VOUCH" policy verify P/policy/3.jws --trusted pinned-1.jws
# nor out of order, nor backwards
expect 104 "$VOUCH" policy verify P/policy/2.jws P/policy/2.jws --trusted pinned-1.jws
# backwards: version 1 lacks version 2's root threshold (root-1 was rotated out)
expect 105 "$VOUCH" policy verify pinned-1.jws --trusted P/policy/2.jws
# the same version again (its signers are still roots): not the next version
expect 104 "$VOUCH" policy verify P/policy/2.jws --trusted P/policy/2.jws
# every version is also a root of trust of its own (signed by its own roots)
expect 0 "$VOUCH" policy verify P/policy/3.jws
# expiry, with the test clock
"$VOUCH" policy show P/policy/3.jws --json > show3.json
EXP=$(python3 -c 'import json; print(json.load(open("show3.json"))["expires"])')
expect 103 "$VOUCH" policy verify P/policy/3.jws --trusted P/policy/2.jws --now "$EXP"
expect 0 "$VOUCH" policy verify P/policy/3.jws --trusted P/policy/2.jws --now $((EXP - 1))
expect 103 "$VOUCH" policy verify pinned-1.jws --now 99999999999
# the pinned policy may have expired: a fresh successor is still accepted
expect 0 "$VOUCH" policy verify P/policy/2.jws --trusted pinned-1.jws --now $((EXP - 1))

# --- rotation refusals leave the project untouched ------------------------------
SUM=$(tree_sum P)
expect 102 "$VOUCH" policy rotate --dir P --cosigner P/keys/release-1.pem
expect 101 "$VOUCH" policy rotate --dir P --threshold 5
expect 9 "$VOUCH" policy rotate --dir P --remove-key root-9
expect 2 "$VOUCH" policy rotate --dir P --replace cosign-1
expect 2 "$VOUCH" policy rotate --dir P --replace-root release-1
expect 2 "$VOUCH" policy rotate --dir P --add-key cosign
expect 107 "$VOUCH" policy rotate --dir P --remove-key server-2 --remove-key issuer-1 --remove-key release-1 --remove-key release-2
[ "$(tree_sum P)" = "$SUM" ] && ok || bad "refused rotations changed the project"
# a new co-signer
expect 0 "$VOUCH" key generate --type p256 --out cosigner2.pem
expect 0 "$VOUCH" policy rotate --dir P --cosigner cosigner2.pem --json
json_ok 'd["version"]==4' && ok || bad "rotate co-signer"
expect 0 "$VOUCH" policy verify P/policy/4.jws --trusted P/policy/3.jws
# root keys held elsewhere: without enough of them no rotation is signed
mkdir offline && mv P/keys/root-2.pem P/keys/root-3.pem offline/
SUM=$(tree_sum P)
expect 105 "$VOUCH" policy rotate --dir P --add-key issuer
[ "$(tree_sum P)" = "$SUM" ] && ok || bad "failed rotation changed the project"
mv offline/* P/keys/

# --- tampering -------------------------------------------------------------------
python3 - <<'EOF'
import json
j = json.load(open("P/policy/2.jws"))
j["signatures"] = [j["signatures"][0], j["signatures"][0]]
open("dup.jws", "w").write(json.dumps(j))
j = json.load(open("P/policy/2.jws"))
j["payload"] = j["payload"][:-4] + ("AAAA" if j["payload"][-4:] != "AAAA" else "BBBB")
open("tampered.jws", "w").write(json.dumps(j))
EOF
expect 105 "$VOUCH" policy verify dup.jws --trusted pinned-1.jws
set +e; "$VOUCH" policy verify tampered.jws --trusted pinned-1.jws >out.txt 2>err.txt; rc=$?; set -e
[ "$rc" -ne 0 ] && ok || bad "tampered payload accepted"
expect 9 "$VOUCH" policy verify P/policy/2.jws --trusted nosuch.jws
expect 2 "$VOUCH" policy verify P/policy/2.jws --now yesterday
set +e; "$VOUCH" policy verify P/policy/1.jws --now x --json >out.txt 2>err.txt; set -e
python3 -c 'import json; d=json.load(open("err.txt")); assert d["error"]["code"]==2' && ok || bad "--json error object"

# --- help -----------------------------------------------------------------------
for c in "init" "policy export" "policy show" "policy verify" "policy rotate" "did document"; do
  # shellcheck disable=SC2086
  expect 0 "$VOUCH" $c --help
  grep -q "^usage: vouch $c" out.txt && ok || bad "help of $c"
done

echo "project: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
