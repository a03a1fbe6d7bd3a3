#!/usr/bin/env bash
# cli.sh - the vouch CLI as a user meets it: help, usage errors, exit codes,
# file permissions, --json, and refusals that leave files untouched.
set -euo pipefail
VOUCH=${VOUCH_CLI:?run through ctest}
SRC=${VOUCH_SOURCE_DIR:?}
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

# help: every command, stdout, exit 0
expect 0 "$VOUCH" --help
grep -q "jws verify" out.txt && ok || bad "main help lists commands"
for c in "key generate" "key public" "jws sign" "jws verify" "did resolve"; do
  # shellcheck disable=SC2086
  expect 0 "$VOUCH" $c --help
  grep -q "^usage: vouch $c" out.txt && ok || bad "help of $c"
  [ ! -s err.txt ] && ok || bad "help of $c wrote to stderr"
done
expect 2 "$VOUCH"
expect 2 "$VOUCH" nosuch
expect 2 "$VOUCH" key nosuch
expect 2 "$VOUCH" key generate --type p256
expect 2 "$VOUCH" key generate --type rsa --out x.pem
expect 2 "$VOUCH" key generate --type p256 --out a.pem --bogus
expect 2 "$VOUCH" key generate --type p256 --type p256 --out a.pem
grep -q "given twice" err.txt && ok || bad "duplicate option message"
[ ! -e a.pem ] && ok || bad "usage error created a file"

# keys: 0600, never overwritten, formats
expect 0 "$VOUCH" key generate --type p256 --out p.pem
[ "$(stat -c %a p.pem)" = 600 ] && ok || bad "private key mode is $(stat -c %a p.pem)"
grep -q '^did:key:zDn' out.txt && ok || bad "p256 did:key prefix"
cp p.pem p.orig
expect 8 "$VOUCH" key generate --type p256 --out p.pem
cmp -s p.pem p.orig && ok || bad "refused generate changed the file"
expect 0 "$VOUCH" key generate --type ed25519 --out e.pem
grep -q '^did:key:z6Mk' out.txt && ok || bad "ed25519 did:key prefix"
expect 0 "$VOUCH" key public e.pem --format thumbprint
[ "$(tr -d '\n' < out.txt | wc -c)" = 43 ] && ok || bad "thumbprint length"
expect 0 "$VOUCH" key public p.pem --format jwk
cp out.txt p.jwk
grep -q '"d"' p.jwk && bad "public JWK has d" || ok
expect 0 "$VOUCH" key public p.pem --format did
PDID=$(cat out.txt)
expect 0 "$VOUCH" key public p.pem --json
python3 -c 'import json,sys; d=json.load(open("out.txt")); assert d["did"].startswith("did:key:")' && ok || bad "--json key public"
expect 2 "$VOUCH" key public p.pem --format xml
cp p.pem loose.pem && chmod 644 loose.pem
expect 7 "$VOUCH" key public loose.pem
expect 9 "$VOUCH" key public missing.pem

# jws: round trip, by PEM, JWK and did:key; refusals with their codes
printf '{"hello":"world"}' > msg.json
"$VOUCH" jws sign --key p.pem --typ demo+jwt --payload msg.json > t.jws && ok || bad "sign"
for k in p.pem p.jwk "$PDID"; do
  expect 0 "$VOUCH" jws verify --key "$k" --typ demo+jwt t.jws
  cmp -s out.txt msg.json && ok || bad "payload out of verify with $k"
done
expect 0 "$VOUCH" jws verify --key p.pem --typ application/DEMO+JWT t.jws
expect 57 "$VOUCH" jws verify --key p.pem --typ other+jwt t.jws
expect 53 "$VOUCH" jws verify --key e.pem t.jws
expect 0 "$VOUCH" key generate --type p256 --out p2.pem
expect 60 "$VOUCH" jws verify --key p2.pem t.jws
sed 's/\.\(.\)/.A\1/' t.jws > bad.jws
set +e; "$VOUCH" jws verify --key p.pem bad.jws >/dev/null 2>&1; rc=$?; set -e
[ "$rc" -ne 0 ] && ok || bad "tampered token accepted"
printf 'a.b' > two.jws
expect 50 "$VOUCH" jws verify --key p.pem two.jws
expect 50 "$VOUCH" jws verify --key p.pem --json two.jws
python3 -c 'import json; d=json.load(open("err.txt")); assert d["error"]["name"]=="VOUCH_E_JWS_FORMAT", d' && ok || bad "--json error object"
expect 35 "$VOUCH" jws sign --key "$PDID" --payload msg.json
# stdin in, stdout out
"$VOUCH" jws sign --key e.pem < msg.json | "$VOUCH" jws verify --key e.pem > o.json && cmp -s o.json msg.json && ok || bad "stdin/stdout round trip"

# two signers: --add-to, and verify demanding both keys
"$VOUCH" jws sign --key p.pem --kid a --general --payload msg.json > g1.json
"$VOUCH" jws sign --key e.pem --kid b --add-to g1.json > g2.json
expect 0 "$VOUCH" jws verify --key p.pem --key e.pem g2.json
expect 65 "$VOUCH" jws verify --key p.pem --key p2.pem g2.json
expect 2 "$VOUCH" jws sign --key e.pem --add-to g1.json --general

# did resolve
expect 0 "$VOUCH" did resolve "$PDID"
python3 -c 'import json,sys; d=json.load(open("out.txt")); assert d["id"]==sys.argv[1]' "$PDID" && ok || bad "did document id"
expect 80 "$VOUCH" did resolve notadid
expect 81 "$VOUCH" did resolve did:web:example.com

# the exit-code table in docs/cli.md is the one the program prints
"$VOUCH" errors > codes.txt
while read -r code name _; do
  [ "$code" = exit ] && continue
  grep -q "| $code | \`$name\`" "$SRC/docs/cli.md" && ok || bad "docs/cli.md lacks $code $name"
done < codes.txt

# ...and every command the program lists has its row there
"$VOUCH" --help | awk '/^commands:/ {on=1; next} on && NF == 0 {exit} on {print $1, $2}' > cmds.txt
while read -r g c; do
  "$VOUCH" "$g" "$c" --help >/dev/null 2>&1 || c=""  # a group that is one command
  grep -q "| \`vouch $g${c:+ $c}" "$SRC/docs/cli.md" && ok || bad "docs/cli.md lacks vouch $g $c (run scripts/gen-cli-doc)"
done < cmds.txt

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
