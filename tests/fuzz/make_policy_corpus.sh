#!/usr/bin/env bash
# make_policy_corpus.sh - regenerates the seeds of fuzz_policy and its pinned
# policy (fuzz_policy_pinned.h) with the vouch CLI and the development keys
# in tests/data/keys (so every seed can be re-signed by anyone):
#   tests/fuzz/make_policy_corpus.sh build/vouch
# Version 1 (pinned): roots p256-1, p256-2, ed25519-1 (2 of 3), release
# p256-3, cosign ed25519-2, issuer p256-4, server ed25519-3; production
# false (development keys); expires 2100-01-01. The seeds are valid
# successors and roots, and the hostile variants of tests/attacks.
set -euo pipefail
VOUCH=$(realpath "${1:?usage: $0 PATH-TO-vouch}")
HERE=$(cd "$(dirname "$0")" && pwd)
KEYS=$HERE/../data/keys
OUT=$HERE/corpus/fuzz_policy
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir -p "$OUT"
rm -f "$OUT"/*

for k in "$KEYS"/*.pem; do cp "$k" "$T/"; chmod 600 "$T/$(basename "$k")"; done
for k in "$T"/*.pem; do "$VOUCH" key public "$k" --format jwk > "${k%.pem}.jwk"; done

# payload NAME VERSION PYTHON-MUTATION: writes $T/NAME.json
payload() {
  python3 - "$T" "$1" "$2" "$3" <<'EOF'
import json, sys
t, name, version, mutation = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
jwk = lambda k: json.load(open(f"{t}/{k}.jwk"))
roots = {1: ["p256-1", "p256-2", "ed25519-1"], 2: ["p256-2", "ed25519-1", "ed25519-4"],
         3: ["ed25519-1", "ed25519-4", "p256-1"]}[min(version, 3)]
kid = {"p256-1": "root-1", "p256-2": "root-2", "ed25519-1": "root-3", "ed25519-4": "root-4"}
keys = {kid[r]: jwk(r) for r in roots}
keys.update({"release-1": jwk("p256-3"), "cosign-1": jwk("ed25519-2"),
             "issuer-1": jwk("p256-4"), "server-1": jwk("ed25519-3")})
d = {"type": "vouch-trust-policy", "version": version, "issued": 1763683200,
     "expires": 4102444800, "issuer": "did:web:example.com", "keys": keys,
     "roles": {"root": {"threshold": 2, "keys": [kid[r] for r in roots]},
               "release": {"threshold": 1, "keys": ["release-1"]},
               "cosign": {"threshold": 1, "keys": ["cosign-1"]},
               "issuer": {"threshold": 1, "keys": ["issuer-1"]},
               "server": {"threshold": 1, "keys": ["server-1"]}},
     "releaseRequires": ["release", "cosign"], "maxReleaseLifetime": 7776000,
     "production": False}
exec(mutation)
open(f"{t}/{name}.json", "w").write(json.dumps(d, separators=(",", ":")))
EOF
}

# sign NAME PAYLOAD TYP KEY:KID...: signs $T/PAYLOAD.json into $OUT/NAME.jws
sign() {
  local name=$1 pl=$2 typ=$3 first=1 kk k kid
  shift 3
  for kk in "$@"; do
    k=${kk%%:*}; kid=${kk#*:}
    if [ $first = 1 ]; then
      "$VOUCH" jws sign --key "$T/$k.pem" --typ "$typ" --kid "$kid" --payload "$T/$pl.json" --general > "$T/$name.jws"
      first=0
    else
      "$VOUCH" jws sign --key "$T/$k.pem" --typ "$typ" --kid "$kid" --add-to "$T/$name.jws" > "$T/$name.next"
      mv "$T/$name.next" "$T/$name.jws"
    fi
  done
  cp "$T/$name.jws" "$OUT/$name.jws"
}
P=vouch-policy+jwt
OLD="p256-1:root-1 p256-2:root-2"
NEW="p256-2:root-2 ed25519-4:root-4"

payload v1 1 'pass'
sign v1 v1 $P $OLD
payload v2 2 'pass'
sign v2 v2 $P p256-1:root-1 $NEW
sign v2_all_roots v2 $P p256-1:root-1 p256-2:root-2 ed25519-1:root-3 ed25519-4:root-4
sign v2_old_only v2 $P $OLD
sign v2_new_only v2 $P ed25519-4:root-4 ed25519-1:root-3
sign v2_dup_sig v2 $P p256-1:root-1 p256-1:root-1 ed25519-4:root-4
sign v2_release_key_as_root v2 $P p256-1:root-1 p256-3:root-2 ed25519-4:root-4
sign v2_server_key_as_root v2 $P p256-1:root-1 ed25519-3:root-2 ed25519-4:root-4
sign v2_wrong_kids v2 $P p256-1:root-4 p256-2:root-1 ed25519-4:root-2
sign v2_typ_release v2 vouch-release+jwt p256-1:root-1 $NEW
payload v3 3 'pass'
sign v3_skip v3 $P p256-1:root-1 $NEW
payload v1_again 1 'd["roles"]["root"]["threshold"] = 1'
sign v1_again v1_again $P $OLD
payload v2_expired 2 'd["issued"] = 1000; d["expires"] = 2000'
sign v2_expired v2_expired $P p256-1:root-1 $NEW
payload v2_production_dev 2 'd["production"] = True'
sign v2_production_dev v2_production_dev $P p256-1:root-1 $NEW
for th in '0' '-1' '4' '1.5' '"2"' '2.0' 'None'; do
  n=v2_threshold_$(echo "$th" | tr -dc 'A-Za-z0-9' | head -c 8)
  [ "$th" = '-1' ] && n=v2_threshold_neg1
  payload "$n" 2 "d['roles']['root']['threshold'] = $th"
  sign "$n" "$n" $P p256-1:root-1 $NEW
done
payload v2_two_kids 2 'd["keys"]["root-9"] = d["keys"]["root-2"]; d["roles"]["root"]["keys"].append("root-9")'
sign v2_two_kids v2_two_kids $P p256-1:root-1 $NEW
payload v2_two_roles 2 'd["roles"]["release"]["keys"].append("server-1")'
sign v2_two_roles v2_two_roles $P p256-1:root-1 $NEW
payload v2_unknown_member 2 'd["allowUnsigned"] = True'
sign v2_unknown_member v2_unknown_member $P p256-1:root-1 $NEW
payload v2_unknown_role 2 'd["roles"]["admin"] = d["roles"].pop("server")'
sign v2_unknown_role v2_unknown_role $P p256-1:root-1 $NEW
payload v2_requires_root 2 'd["releaseRequires"] = ["root"]'
sign v2_requires_root v2_requires_root $P p256-1:root-1 $NEW
payload v2_requires_cosign_only 2 'd["releaseRequires"] = ["cosign"]'
sign v2_requires_cosign_only v2_requires_cosign_only $P p256-1:root-1 $NEW
payload v2_orphan_key 2 'd["keys"]["spare-1"] = jwk("p256-1")'
sign v2_orphan_key v2_orphan_key $P p256-1:root-1 $NEW
payload v2_no_root 2 'del d["roles"]["root"]'
sign v2_no_root v2_no_root $P p256-1:root-1 $NEW
payload v2_empty_role 2 'd["roles"]["release"]["keys"] = []'
sign v2_empty_role v2_empty_role $P p256-1:root-1 $NEW
payload v2_private_jwk 2 'd["keys"]["release-1"]["d"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"'
sign v2_private_jwk v2_private_jwk $P p256-1:root-1 $NEW
payload v2_bad_kid 2 'd["keys"]["../x"] = d["keys"].pop("server-1"); d["roles"]["server"]["keys"] = ["../x"]'
sign v2_bad_kid v2_bad_kid $P p256-1:root-1 $NEW
# compact and flattened forms of a valid successor, and raw payloads
"$VOUCH" jws sign --key "$T/p256-2.pem" --typ $P --kid root-2 --payload "$T/v2.json" > "$OUT/v2_compact.jws"
python3 - "$OUT" <<'EOF'
import json, sys
out = sys.argv[1]
g = json.load(open(f"{out}/v2.jws"))
s = g["signatures"][0]
json.dump({"payload": g["payload"], "protected": s["protected"], "signature": s["signature"]},
          open(f"{out}/v2_flattened.jws", "w"))
g["signatures"] = g["signatures"] * 5
json.dump(g, open(f"{out}/v2_five_copies.jws", "w"))
EOF
cp "$T/v1.json" "$OUT/payload_v1.json"
cp "$T/v2_threshold_15.json" "$OUT/payload_threshold_fraction.json" 2>/dev/null || true
cp "$T/v2_two_kids.json" "$OUT/payload_two_kids.json"
printf '{}' > "$OUT/empty_object.json"
printf 'not a policy' > "$OUT/junk.txt"
printf '{"payload":"","signatures":[]}' > "$OUT/no_signatures.jws"

# the pinned policy, as a C string for the harness
python3 - "$OUT/v1.jws" "$HERE/fuzz_policy_pinned.h" <<'EOF'
import sys, json
text = open(sys.argv[1]).read().strip()
lines = [text[i:i + 90] for i in range(0, len(text), 90)]
with open(sys.argv[2], "w") as f:
    f.write("/* fuzz_policy_pinned.h - generated by make_policy_corpus.sh: the version-1\n"
            " * policy (development keys of tests/data/keys) that fuzz_policy pins. */\n")
    f.write("static const char fuzz_policy_pinned[] =\n")
    for l in lines:
        f.write("    " + json.dumps(l) + "\n")
    f.write("    ;\n")
EOF
ls "$OUT" | wc -l
