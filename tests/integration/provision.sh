#!/usr/bin/env bash
# provision.sh - end of line through the real CLI: `vouch init`, one device
# with its key in a file and one with its key in SoftHSM2 (generated in the
# token, never exported), the clone guard (a serial or a key seen before:
# exit 184, no bundle, no log line, no database row), batch mode on 2,000
# devices from a CSV (strict parsing with line numbers), and `vouch server
# export` (exactly the expected files and modes, no other private key).
# Last line: "provision: N passed, M failed".
set -uo pipefail
VOUCH=${VOUCH_CLI:?run through ctest (VOUCH_CLI unset)}
BATCH_N=${PROVISION_BATCH_N:-2000}
SERVER=https://updates.example.com

T=$(mktemp -d "${TMPDIR:-/tmp}/vouch-provision.XXXXXX")
trap 'rm -rf "$T"' EXIT
pass=0 fail=0

ok() { pass=$((pass + 1)); echo "ok    $*"; }
bad() { fail=$((fail + 1)); echo "FAIL  $*"; }
# check DESC CMD...: passes when CMD succeeds
check() {
  local d=$1
  shift
  if "$@"; then ok "$d"; else bad "$d"; fi
}
# expect_exit DESC CODE CMD...: CMD must exit with CODE
expect_exit() {
  local d=$1 want=$2 rc
  shift 2
  "$@" >"$T/out" 2>"$T/err"
  rc=$?
  if [ "$rc" -eq "$want" ]; then ok "$d (exit $rc)"; else
    bad "$d: exit $rc, want $want: $(head -c 300 "$T/err")"
  fi
}
rows() { sqlite3 "$P/provisioning.db" "SELECT count(*) FROM devices"; }
loglines() { wc -l <"$P/provisioning.log"; }
mode() { stat -c %a "$1"; }
# jv FILE EXPR: prints the Python expression EXPR over the JSON document d
# of FILE (one line of JSON lines: the first); jt FILE EXPR: true if EXPR is
jv() { python3 -c 'import json,sys; t=open(sys.argv[1]).read(); d=json.loads(t.splitlines()[0] if t.lstrip()[:1]=="{" and "\n{" in t else t); r=eval(sys.argv[2]); print(json.dumps(r, separators=(",", ":")) if not isinstance(r, str) else r)' "$@"; }
jt() { python3 -c 'import json,sys; t=open(sys.argv[1]).read(); d=json.loads(t.splitlines()[0] if t.lstrip()[:1]=="{" and "\n{" in t else t); sys.exit(0 if eval(sys.argv[2]) else 1)' "$@"; }

P=$T/P
# ---------------------------------------------------------------- project
"$VOUCH" key generate --type p256 --out "$T/cosigner.pem" >/dev/null
check "vouch init" "$VOUCH" init --domain example.com --dir "$P" --cosigner "$T/cosigner.pem"

# --------------------------------------------------- device 1: a key file
DID1=$("$VOUCH" key generate --type p256 --out "$T/dev1.pem")
expect_exit "provision a device whose key is a file" 0 \
  "$VOUCH" provision --dir "$P" --device "$T/dev1.pem" --serial SN-1 --hardware board-a \
  --mac 02:00:5E:10:00:01 --production-date 2025-11-20 --server "$SERVER" --out "$T/b1" \
  --key /var/lib/vouch/device.pem
check "bundle holds credential.jwt, policy.jws, bundle.json" \
  test -s "$T/b1/credential.jwt" -a -s "$T/b1/policy.jws" -a -s "$T/b1/bundle.json"
check "bundle.json names server, did, serial, hardware, key" \
  test "$(jv "$T/b1/bundle.json" '[d["server"],d["did"],d["serial"],d["hardware"],d["key"]]')" = \
  "[\"$SERVER\",\"$DID1\",\"SN-1\",\"board-a\",\"/var/lib/vouch/device.pem\"]"
check "policy.jws is the project's current policy" cmp -s <(tr -d '\n' <"$T/b1/policy.jws") \
  <(tr -d '\n' <"$P/policy/1.jws")
# the credential verifies with the issuer key and names the device
"$VOUCH" key public "$P/keys/issuer-1.pem" >"$T/issuer.pub"
if "$VOUCH" jws verify --key "$T/issuer.pub" --typ JWT "$T/b1/credential.jwt" >"$T/claims.json" 2>"$T/err"; then
  check "credential: iss did:web, sub the device, ProductionCredential, normalized mac" \
    test "$(jv "$T/claims.json" '[d["iss"],d["sub"],d["vc"]["type"][1]]+[d["vc"]["credentialSubject"][k] for k in ("serialNumber","mac","productionDate","producedBy")]')" = \
    "[\"did:web:example.com\",\"$DID1\",\"ProductionCredential\",\"SN-1\",\"02:00:5e:10:00:01\",\"2025-11-20\",\"did:web:example.com\"]"
else
  bad "credential does not verify with the issuer key: $(cat "$T/err")"
fi
check "credential header kid is did:web:example.com#issuer-1" test \
  "$(python3 -c 'import base64,json,sys; h=open(sys.argv[1]).read().split(".")[0]; print(json.loads(base64.urlsafe_b64decode(h+"="*(-len(h)%4)))["kid"])' "$T/b1/credential.jwt")" = \
  "did:web:example.com#issuer-1"
check "one database row, one log line" test "$(rows)-$(loglines)" = "1-1"
check "the log line has no token and no key material" \
  bash -c "! grep -q -e 'eyJ' -e 'PRIVATE' '$P/provisioning.log'"
check "the log line: serial, thumbprint, credential id" jt "$P/provisioning.log" \
  'd["serial"]=="SN-1" and len(d["thumbprint"])==43 and d["jti"].startswith("urn:uuid:")'

# ------------------------------------------- device 2: a key in SoftHSM2
export SOFTHSM2_CONF=$T/softhsm2.conf
mkdir -p "$T/tokens"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
  "$T/tokens" >"$SOFTHSM2_CONF"
if softhsm2-util --init-token --free --label vouch-eol --pin 1234 --so-pin 5678 >/dev/null 2>&1; then
  URI='pkcs11:token=vouch-eol;object=dev2'
  DID2=$("$VOUCH" key generate --type p256 --out "$URI?pin-value=1234")
  check "key generated inside the token (did:key P-256)" test "${DID2:0:12}" = "did:key:zDna"
  expect_exit "provision a device whose key is in SoftHSM2" 0 \
    "$VOUCH" provision --dir "$P" --device "$URI?pin-value=1234" --serial SN-2 \
    --hardware board-b --server "$SERVER" --out "$T/b2"
  check "bundle.json: the token URI without its PIN, the token key's DID" \
    test "$(jv "$T/b2/bundle.json" '[d["key"],d["did"]]')" = "[\"$URI\",\"$DID2\"]"
  check "no PIN anywhere in the bundle or the log" \
    bash -c "! grep -rq -e 'pin-value' -e 1234 '$T/b2' && ! grep -q pin-value '$P/provisioning.log'"
  # the same key named by its did:key is still the same key
  expect_exit "the token's key again, by its did:key: refused" 184 \
    "$VOUCH" provision --dir "$P" --device "$DID2" --serial SN-2b --hardware board-b \
    --server "$SERVER" --out "$T/b2b"
else
  bad "softhsm2-util cannot initialise a token (apt-get install softhsm2)"
fi

# ------------------------------------------------------- the clone guard
before="$(rows)-$(loglines)"
"$VOUCH" key generate --type ed25519 --out "$T/dev3.pem" >/dev/null
expect_exit "a serial provisioned before" 184 \
  "$VOUCH" provision --dir "$P" --device "$T/dev3.pem" --serial SN-1 --hardware board-a \
  --server "$SERVER" --out "$T/dup1"
check "... names the serial" grep -q "serial SN-1 was already provisioned" "$T/err"
expect_exit "a key provisioned before (as a file)" 184 \
  "$VOUCH" provision --dir "$P" --device "$T/dev1.pem" --serial SN-9 --hardware board-a \
  --server "$SERVER" --out "$T/dup2"
expect_exit "a key provisioned before (as its did:key)" 184 \
  "$VOUCH" provision --dir "$P" --device "$DID1" --serial SN-10 --hardware board-a \
  --server "$SERVER" --out "$T/dup3"
check "no bundle was written for the refused ones" \
  bash -c "! ls -d '$T'/dup* 2>/dev/null | grep -q ."
check "no new database row, no new log line" test "$(rows)-$(loglines)" = "$before"
expect_exit "an existing bundle directory is never overwritten" 8 \
  "$VOUCH" provision --dir "$P" --device "$T/dev3.pem" --serial SN-3 --hardware board-a \
  --server "$SERVER" --out "$T/b1"
check "... and nothing was recorded" test "$(rows)-$(loglines)" = "$before"
expect_exit "bad usage: a serial that is no directory name" 2 \
  "$VOUCH" provision --dir "$P" --device "$T/dev3.pem" --serial ../x --hardware board-a \
  --server "$SERVER" --out "$T/b3"
expect_exit "bad usage: an impossible production date" 2 \
  "$VOUCH" provision --dir "$P" --device "$T/dev3.pem" --serial SN-3 --hardware board-a \
  --production-date 2025-02-30 --server "$SERVER" --out "$T/b3"
expect_exit "bad usage: a server that is no http(s) URL" 2 \
  "$VOUCH" provision --dir "$P" --device "$T/dev3.pem" --serial SN-3 --hardware board-a \
  --server "ftp://x" --out "$T/b3"
expect_exit "--json reports the device" 0 \
  "$VOUCH" provision --dir "$P" --device "$T/dev3.pem" --serial SN-3 --hardware board-a \
  --server "$SERVER" --out "$T/b3" --json
check "... with its did and thumbprint" jt "$T/out" \
  'd["serial"]=="SN-3" and d["did"].startswith("did:key:z6Mk") and len(d["thumbprint"])==43'

# ------------------------------------------------------------------ batch
mkdir -p "$T/batch/keys"
{
  echo "device,serial,hardware,mac,production_date"
  for i in $(seq 1 "$BATCH_N"); do
    d=$("$VOUCH" key generate --type p256 --out "$T/batch/keys/d$i.pem")
    mac=$(printf '02:00:00:%02x:%02x:%02x' $((i >> 16 & 255)) $((i >> 8 & 255)) $((i & 255)))
    # odd lines name the key by did:key, even lines by a key file (relative to the CSV)
    if [ $((i % 2)) -eq 1 ]; then dev=$d; else dev=keys/d$i.pem; fi
    if [ $((i % 5)) -eq 0 ]; then mac=; fi
    printf '%s,B-%06d,board-a,%s,2025-10-%02d\n' "$dev" "$i" "$mac" $((1 + i % 28))
  done
} >"$T/batch/devices.csv"
before="$(rows)-$(loglines)"
# strict parsing, with line numbers, before anything is written
sed '1s/.*/device;serial;hardware;mac;production_date/' "$T/batch/devices.csv" >"$T/batch/bad1.csv"
expect_exit "batch: a wrong header" 2 "$VOUCH" provision --dir "$P" --batch "$T/batch/bad1.csv" \
  --server "$SERVER" --out-dir "$T/bundles-x"
sed '5s/,board-a,/,board-a,extra,/' "$T/batch/devices.csv" >"$T/batch/bad2.csv"
expect_exit "batch: a line with 6 fields" 2 "$VOUCH" provision --dir "$P" --batch "$T/batch/bad2.csv" \
  --server "$SERVER" --out-dir "$T/bundles-x"
check "... names line 5" grep -q "line 5" "$T/err"
sed '7s/,2025-10-/,2025-13-/' "$T/batch/devices.csv" >"$T/batch/bad3.csv"
expect_exit "batch: an impossible date" 2 "$VOUCH" provision --dir "$P" --batch "$T/batch/bad3.csv" \
  --server "$SERVER" --out-dir "$T/bundles-x"
check "... names line 7" grep -q "line 7" "$T/err"
{ cat "$T/batch/devices.csv"; sed -n '3p' "$T/batch/devices.csv" | sed 's/,B-/,C-/'; } >"$T/batch/bad4.csv"
expect_exit "batch: one key twice in the file" 184 "$VOUCH" provision --dir "$P" \
  --batch "$T/batch/bad4.csv" --server "$SERVER" --out-dir "$T/bundles-x"
check "... names both lines" grep -q "line $((BATCH_N + 2)): the device key repeats line 3" "$T/err"
{ cat "$T/batch/devices.csv"; echo "$T/dev3.pem,SN-3x,board-a,,2025-10-01"; } >"$T/batch/bad5.csv"
expect_exit "batch: a key provisioned before" 184 "$VOUCH" provision --dir "$P" \
  --batch "$T/batch/bad5.csv" --server "$SERVER" --out-dir "$T/bundles-x"
DID6=$("$VOUCH" key generate --type p256 --out "$T/dev6.pem")
{ cat "$T/batch/devices.csv"; echo "$DID6,SN-1,board-a,,2025-10-01"; } >"$T/batch/bad6.csv"
expect_exit "batch: a serial provisioned before" 184 "$VOUCH" provision --dir "$P" \
  --batch "$T/batch/bad6.csv" --server "$SERVER" --out-dir "$T/bundles-x"
check "refused batches wrote nothing" \
  bash -c "test ! -e '$T/bundles-x' || test -z \"\$(ls -A '$T/bundles-x')\""
check "... and recorded nothing" test "$(rows)-$(loglines)" = "$before"
start=$(date +%s.%N)
expect_exit "batch of $BATCH_N devices" 0 "$VOUCH" provision --dir "$P" \
  --batch "$T/batch/devices.csv" --server "$SERVER" --out-dir "$T/bundles"
end=$(date +%s.%N)
awk -v n="$BATCH_N" -v a="$start" -v b="$end" 'BEGIN { printf "      batch: %d devices in %.2f s (%.0f devices/s; bench/provision measures the rate)\n", n, b - a, n / (b - a) }'
check "$BATCH_N bundles, each complete" test "$(ls "$T/bundles" | wc -l)" = "$BATCH_N" -a \
  "$(find "$T/bundles" -name credential.jwt | wc -l)" = "$BATCH_N"
check "$BATCH_N more database rows and log lines" \
  test "$(rows)-$(loglines)" = "$(( ${before%-*} + BATCH_N ))-$(( ${before#*-} + BATCH_N ))"
n=$((BATCH_N / 2 * 2))
check "bundle of line $((n + 1)) names its key file's DID" test \
  "$(jv "$T/bundles/B-$(printf %06d "$n")/bundle.json" 'd["did"]')" = \
  "$("$VOUCH" key public "$T/batch/keys/d$n.pem" --format did)"
expect_exit "the same batch again: every device is a duplicate" 184 "$VOUCH" provision \
  --dir "$P" --batch "$T/batch/devices.csv" --server "$SERVER" --out-dir "$T/bundles-again"

# ---------------------------------------------------------- server export
S=$T/S
expect_exit "vouch server export" 0 "$VOUCH" server export --dir "$P" --out "$S"
check "exactly the expected files" test "$(ls -A "$S" | tr '\n' ' ')" = \
  "authz.json did-configuration.json did.json issuers.json policy.jws server.json server.pem "
check "modes: S 700, server.pem 600, the rest 644" test \
  "$(mode "$S") $(mode "$S/server.pem") $(for f in authz.json did-configuration.json did.json issuers.json policy.jws server.json; do mode "$S/$f"; done | sort -u)" = \
  "700 600 644"
check "server.pem is the policy's server key" test \
  "$("$VOUCH" key public "$S/server.pem" --format thumbprint)" = \
  "$("$VOUCH" key public "$P/keys/server-1.pem" --format thumbprint)"
leak=0
for k in "$P"/keys/*.pem; do
  [ "$(basename "$k")" = server-1.pem ] && continue
  tp=$("$VOUCH" key public "$k" --format thumbprint)
  if grep -rq "$tp" "$S" 2>/dev/null || [ "$("$VOUCH" key public "$S/server.pem" --format thumbprint)" = "$tp" ]; then leak=1; fi
  # the private scalar of a JWK-encoded key never appears either
  if grep -rqF "$(sed -n 2p "$k")" "$S"; then leak=1; fi
done
check "no root, release or issuer private key in S" test "$leak" = 0
check "only server.pem holds a private key" test "$(grep -rl 'PRIVATE KEY' "$S" | xargs -n1 basename)" = server.pem
check "issuers.json: the issuer public key with its DID URL kid, no private member" \
  jt "$S/issuers.json" 'len(d["keys"])==1 and d["keys"][0]["kid"]=="did:web:example.com#issuer-1" and "d" not in d["keys"][0]'
check "server.json: domain, did, kid" jt "$S/server.json" \
  'd=={"domain":"example.com","did":"did:web:example.com","kid":"server-1"}'
check "authz.json: credential mode, no constraints, refuse_clones false, ttls 900/120" \
  jt "$S/authz.json" 'd["mode"]=="credential" and d["produced_by"]==[] and d["hardware"]==[] and d["refuse_clones"] is False and d["access_ttl"]==900 and d["nonce_ttl"]==120'
check "did.json and did-configuration.json are the project's" \
  bash -c "cmp -s '$P/did.json' '$S/did.json' && cmp -s '$P/did-configuration.json' '$S/did-configuration.json'"
check "policy.jws is the current signed policy" cmp -s <(tr -d '\n' <"$S/policy.jws") <(tr -d '\n' <"$P/policy/1.jws")
expect_exit "export into a non-empty directory is refused" 8 "$VOUCH" server export --dir "$P" --out "$S"

echo "provision: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
