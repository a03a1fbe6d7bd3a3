#!/usr/bin/env bash
# release.sh - the release credential CLI end to end, as a vendor and a
# device would use it: `vouch init`, `vouch release create|sign|verify|show`
# and `vouch-verify` (verify, commit, pin), with the exact exit code of each
# refusal and the device state checked byte for byte where it must not move.
#
# The co-signature is made with a local key through `vouch release sign
# --key` (what the co-signing service returns is the same signature entry;
# its own tests cover the service). Last line: "release: N passed, M failed".
set -u

VOUCH=${VOUCH_CLI:?VOUCH_CLI is not set (run through ctest)}
VERIFY=${VOUCH_VERIFY:?VOUCH_VERIFY is not set (run through ctest)}
pass=0
fail=0
W=$(mktemp -d "${TMPDIR:-/tmp}/vouch-release-XXXXXX")
trap 'rm -rf "$W"' EXIT
cd "$W" || exit 1

# expect NAME CODE CMD...: runs CMD, compares its exit code
expect() {
    local name=$1 want=$2 got
    shift 2
    "$@" > "$W/out" 2> "$W/err"
    got=$?
    if [ "$got" = "$want" ]; then
        pass=$((pass + 1))
        echo "ok   - $name (exit $got)"
    else
        fail=$((fail + 1))
        echo "FAIL - $name: exit $got, want $want: $(head -c 300 "$W/err")"
    fi
}

check() {
    local name=$1
    shift
    if "$@"; then
        pass=$((pass + 1))
        echo "ok   - $name"
    else
        fail=$((fail + 1))
        echo "FAIL - $name"
    fi
}

NOW=$(date +%s)
LATER=$((NOW + 100 * 86400))

# ---------------------------------------------------------------- vendor
"$VOUCH" key generate --type ed25519 --out cosign.pem > /dev/null
COSIGN=$("$VOUCH" key public cosign.pem --format did)
expect "init a project" 0 "$VOUCH" init --domain example.com --dir P --cosigner "$COSIGN"
expect "export the policy" 0 "$VOUCH" policy export --dir P --out policy.jws
head -c 1048577 /dev/urandom > fw.img

expect "create needs --hardware" 2 "$VOUCH" release create fw.img --version 1.4.2 \
    --security-version 7 --url https://u.example.com/fw.img --dir P --out r.json
expect "create refuses a non-semver version" 120 "$VOUCH" release create fw.img --version 1.4 \
    --security-version 7 --hardware board-a --url https://u.example.com/fw.img --dir P --out r.json
expect "create refuses an ftp URL" 120 "$VOUCH" release create fw.img --version 1.4.2 \
    --security-version 7 --hardware board-a --url ftp://u.example.com/fw.img --dir P --out r.json
expect "create refuses a bad hardware id" 120 "$VOUCH" release create fw.img --version 1.4.2 \
    --security-version 7 --hardware 'board a' --url https://u.example.com/fw.img --dir P --out r.json
expect "create --format swu refuses a non-archive" 131 "$VOUCH" release create fw.img \
    --format swu --version 1.4.2 --security-version 7 --hardware board-a \
    --url https://u.example.com/fw.swu --dir P --out r.json
expect "create a release" 0 "$VOUCH" release create fw.img --version 1.4.2 \
    --security-version 7 --hardware board-a,board-b --url https://u.example.com/fw.img \
    --expires 30d --dir P --out rel.json
check "the unsigned form has no signatures" grep -q '"signatures":\[\]' rel.json
expect "create never overwrites" 8 "$VOUCH" release create fw.img --version 1.4.2 \
    --security-version 7 --hardware board-a --url https://u.example.com/fw.img --dir P --out rel.json
expect "show an unsigned release" 0 "$VOUCH" release show rel.json
check "show says it verified nothing" grep -q "NOT verified" "$W/out"
expect "verify refuses the unsigned release" 121 "$VOUCH" release verify rel.json \
    --policy policy.jws
expect "sign with the project's release key" 0 "$VOUCH" release sign rel.json --dir P
expect "signing twice with one key is refused" 8 "$VOUCH" release sign rel.json --dir P
expect "verify refuses without the co-signature" 121 "$VOUCH" release verify rel.json \
    --policy policy.jws
expect "co-sign (local co-signer key)" 0 "$VOUCH" release sign rel.json --key cosign.pem \
    --kid "$COSIGN"
expect "verify" 0 "$VOUCH" release verify rel.json --policy policy.jws --hardware board-a
expect "verify with the image" 0 "$VOUCH" release verify rel.json --policy policy.jws \
    --image fw.img --hardware board-b --json
check "--json names the version" grep -q '"version":"1.4.2"' "$W/out"
expect "show the signatures" 0 "$VOUCH" release show rel.json --json
check "show lists both kids" grep -q "did:web:example.com#release-1" "$W/out"

cp fw.img bad.img
/usr/bin/python3 -c 'import sys; f=open(sys.argv[1],"r+b"); f.seek(1000); b=f.read(1); f.seek(1000); f.write(bytes([b[0]^0xff]))' bad.img  # flip one byte: always a change
expect "tampered image" 123 "$VOUCH" release verify rel.json --policy policy.jws --image bad.img
head -c 1048576 fw.img > short.img
expect "short image" 124 "$VOUCH" release verify rel.json --policy policy.jws --image short.img
expect "other hardware" 125 "$VOUCH" release verify rel.json --policy policy.jws \
    --hardware board-c
expect "expired at the given clock" 126 "$VOUCH" release verify rel.json --policy policy.jws \
    --now "$LATER"
expect "not yet valid" 127 "$VOUCH" release verify rel.json --policy policy.jws \
    --now $((NOW - 86400))
expect "no policy file: fail closed" 106 "$VOUCH" release verify rel.json --policy nope.jws

# another vendor's policy does not know our keys
"$VOUCH" key generate --type ed25519 --out cosign2.pem > /dev/null
"$VOUCH" init --domain other.example --dir Q --cosigner "$("$VOUCH" key public cosign2.pem \
    --format did)" > /dev/null
"$VOUCH" policy export --dir Q --out other-policy.jws > /dev/null
expect "another fleet's policy" 121 "$VOUCH" release verify rel.json --policy other-policy.jws

# a payload changed after signing
python3 - rel.json > mixed.json 2> /dev/null << 'EOF' || cp rel.json mixed.json
import base64, json, sys
rel = json.load(open(sys.argv[1]))
pad = "=" * (-len(rel["payload"]) % 4)
claims = json.loads(base64.urlsafe_b64decode(rel["payload"] + pad))
claims["vc"]["credentialSubject"]["securityVersion"] = 99
rel["payload"] = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
print(json.dumps(rel))
EOF
expect "payload changed after signing" 121 "$VOUCH" release verify mixed.json --policy policy.jws

# ---------------------------------------------------------------- device
expect "vouch-verify --help" 0 "$VERIFY" --help
check "help goes to stdout" grep -q "swupdate-hook" "$W/out"
expect "vouch-verify usage error" 2 "$VERIFY" --policy policy.jws --credential rel.json
expect "no policy given or pinned" 106 "$VERIFY" --credential rel.json fw.img
expect "device verify" 0 "$VERIFY" --policy policy.jws --credential rel.json --state dev \
    --hardware board-a fw.img
check "a verify creates no state" test ! -e dev
expect "device verify, tampered image" 123 "$VERIFY" --policy policy.jws --credential rel.json \
    --state dev --hardware board-a --json bad.img
check "--json error names the code" grep -q '"name":"VOUCH_E_RELEASE_DIGEST"' "$W/err"
expect "commit after install" 0 "$VERIFY" --commit --policy policy.jws --credential rel.json \
    --state dev --hardware board-a fw.img
check "the floor is 7" grep -q '"floor":7' dev/state.json
check "the policy is pinned" cmp -s policy.jws dev/policy.jws
cp dev/state.json state.before
expect "pinned policy is enough" 0 "$VERIFY" --credential rel.json --state dev \
    --hardware board-a fw.img

# an older release (securityVersion 6) is now a rollback
head -c 4096 /dev/urandom > old.img
"$VOUCH" release create old.img --version 1.3.0 --security-version 6 --hardware board-a \
    --url https://u.example.com/old.img --dir P --out old.json > /dev/null
"$VOUCH" release sign old.json --dir P > /dev/null
"$VOUCH" release sign old.json --key cosign.pem > /dev/null
expect "rollback below the floor" 122 "$VERIFY" --credential old.json --state dev \
    --hardware board-a old.img
expect "rollback commit refused" 122 "$VERIFY" --commit --credential old.json --state dev \
    --hardware board-a
expect "vendor verify sees the device floor" 122 "$VOUCH" release verify old.json \
    --policy policy.jws --state dev

# the same version with other content
head -c 4096 /dev/urandom > same.img
"$VOUCH" release create same.img --version 1.4.2 --security-version 7 --hardware board-a \
    --url https://u.example.com/same.img --dir P --out same.json > /dev/null
"$VOUCH" release sign same.json --dir P > /dev/null
"$VOUCH" release sign same.json --key cosign.pem > /dev/null
expect "same version, different content" 129 "$VERIFY" --credential same.json --state dev \
    --hardware board-a same.img
expect "another fleet's policy against the pinned one" 105 "$VERIFY" --policy other-policy.jws \
    --credential rel.json --state dev fw.img
check "no refusal moved the floor" cmp -s state.before dev/state.json
check "no refusal changed the pinned policy" cmp -s policy.jws dev/policy.jws

# a corrupted state fails closed
cp dev/state.json state.good
printf '{"stateVersion":1,"floor":' > dev/state.json
expect "corrupted state" 132 "$VERIFY" --credential rel.json --state dev fw.img
cp state.good dev/state.json

# end of line: pin a policy on a fresh device
expect "pin a policy" 0 "$VERIFY" --pin --policy policy.jws --state eol
check "pinned bytes are the policy" cmp -s policy.jws eol/policy.jws
expect "pin again is a no-op" 0 "$VERIFY" --pin --policy policy.jws --state eol
expect "pin another fleet's policy over it" 105 "$VERIFY" --pin --policy other-policy.jws \
    --state eol

echo "release: $pass passed, $fail failed"
[ $fail -eq 0 ]
