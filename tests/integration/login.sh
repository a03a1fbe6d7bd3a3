#!/usr/bin/env bash
# login.sh - the device login end to end with real processes: `vouch init`,
# two devices provisioned (one key in a file, one generated inside a
# SoftHSM2 token), the server directory exported, `vouchd serve` on
# 127.0.0.1, `vouch-agent login` and `whoami` for both; `vouchd revoke` of
# one -> its next call and its next login are refused; a replayed login is
# refused; tokens survive a restart; an expired token is refreshed by a new
# login (the clock moved past access_ttl on both sides).
#
# `vouch provision` and `vouch server export` are used when they exist;
# until they land the test builds the same files itself (the bundle and S
# layouts of docs/server.md) and says so.
#
# Last line: "login: N passed, M failed".
set -u

VOUCH=${VOUCH_CLI:?VOUCH_CLI not set}
VOUCHD=${VOUCHD:?VOUCHD not set}
AGENT=${VOUCH_AGENT:?VOUCH_AGENT not set}
SRC=${VOUCH_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
HELPER="$SRC/tests/attacks/siop_device.py"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

T=$(mktemp -d)
PID=""
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT

PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok   - $1"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL - $1${2:+: $2}"; }
finish() { echo "login: $PASS passed, $FAIL failed"; [ "$FAIL" = 0 ]; exit $?; }
h() { "$PY" "$HELPER" "$@"; }
jf() { "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d.get(sys.argv[2], ""))' "$1" "$2"; }

cd "$T"
PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL="http://127.0.0.1:$PORT"

# --------------------------------------------------------------- project
"$VOUCH" key generate --type p256 --out cosigner.pem >/dev/null
if "$VOUCH" init --domain example.com --dir P --cosigner "$("$VOUCH" key public cosigner.pem --format did)" >/dev/null; then
  ok "vouch init"
else bad "vouch init"; finish; fi

# ---------------------------------------------------------------- devices
"$VOUCH" key generate --type p256 --out dev1.pem >/dev/null
DID1=$("$VOUCH" key public dev1.pem --format did)
KEY2=""
if [ -r /usr/lib/softhsm/libsofthsm2.so ] && command -v softhsm2-util >/dev/null; then
  mkdir -p softhsm/tokens
  printf 'directories.tokendir = %s/softhsm/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$T" >softhsm/softhsm2.conf
  export SOFTHSM2_CONF="$T/softhsm/softhsm2.conf"
  softhsm2-util --init-token --free --label vouch-dev --pin 1234 --so-pin 123456 >/dev/null &&
    KEY2="pkcs11:token=vouch-dev;object=device-2?pin-value=1234"
fi
if [ -n "$KEY2" ] && DID2=$("$VOUCH" key generate --type p256 --out "$KEY2"); then
  ok "device 2 key generated inside SoftHSM2 ($DID2)"
else bad "SoftHSM2 device key"; finish; fi

# ------------------------------------------------------------- provision
if "$VOUCH" provision --help 2>/dev/null | grep -q -- '--server'; then
  for n in 1 2; do
    did=DID$n
    "$VOUCH" provision --dir P --device "${!did}" --serial "SN-000$n" --hardware board-a \
      --production-date 2025-06-0$n --server "$URL" --out "B$n" >/dev/null ||
      bad "vouch provision device $n"
  done
  PROVISIONED="vouch provision"
else
  for n in 1 2; do
    did=DID$n
    mkdir -p "B$n"
    h vc --issuer-key P/keys/issuer-1.pem --issuer did:web:example.com --kid issuer-1 \
      --device "${!did}" --serial "SN-000$n" --hardware board-a --date "2025-06-0$n" >"B$n/credential.jwt"
    cp P/policy/1.jws "B$n/policy.jws"
    "$PY" -c 'import json,sys; print(json.dumps({"server":sys.argv[1],"did":sys.argv[2],"serial":sys.argv[3],"hardware":"board-a"}))' \
      "$URL" "${!did}" "SN-000$n" >"B$n/bundle.json"
  done
  PROVISIONED="the test's own bundles (vouch provision has not landed)"
fi
if [ -s B1/credential.jwt ] && [ -s B2/credential.jwt ]; then ok "two devices provisioned by $PROVISIONED"
else bad "provisioning"; finish; fi

# ---------------------------------------------------------- server export
AUTHZ='{"mode":"credential","hardware":["board-a"],"production_date_from":"2025-01-01","access_ttl":60,"nonce_ttl":60}'
if "$VOUCH" server export --help 2>/dev/null | grep -q -- '--out'; then
  "$VOUCH" server export --dir P --out S >/dev/null || bad "vouch server export"
  EXPORTED="vouch server export"
else
  mkdir -p S
  cp P/keys/server-1.pem S/server.pem && chmod 600 S/server.pem
  cp P/policy/1.jws S/policy.jws
  cp P/did.json P/did-configuration.json S/
  printf '{"domain":"example.com","did":"did:web:example.com","kid":"server-1"}\n' >S/server.json
  EXPORTED="the test's own copy (vouch server export has not landed)"
fi
printf '%s\n' "$AUTHZ" >S/authz.json
[ -s S/server.pem ] && [ -s S/policy.jws ] && ok "server directory from $EXPORTED" || bad "server export"

start() { # start [clock skew]
  VOUCHD_CLOCK_SKEW=${1:-0} "$VOUCHD" serve --dir S --listen "127.0.0.1:$PORT" --threads 2 >>vouchd.log 2>&1 &
  PID=$!
  for _ in $(seq 1 100); do
    curl -sf "$URL/healthz" >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  bad "vouchd start" "$(tail -5 vouchd.log)"
  finish
}
stop() { kill -TERM "$PID" && wait "$PID"; local rc=$?; PID=""; return $rc; }

start
curl -sf "$URL/.well-known/did.json" | cmp -s - S/did.json && ok "did:web document served" || bad "did.json"
[ "$(stat -c %a S/vouchd.db)" = 600 ] && ok "S/vouchd.db (it holds the key that seals login states) is 0600" ||
  bad "database mode" "$(stat -c %a S/vouchd.db)"

# ------------------------------------------------------------ both log in
"$AGENT" login --bundle B1 --state B1 --key dev1.pem --json >l1.json 2>err1.txt &&
  [ "$(jf l1.json new_login)" = True ] && ok "device 1 (file key) logs in" || bad "device 1 login" "$(cat err1.txt)"
"$AGENT" login --bundle B2 --state B2 --key "$KEY2" --json >l2.json 2>err2.txt &&
  ok "device 2 (SoftHSM2 key) logs in" || bad "device 2 login" "$(cat err2.txt)"
[ "$(stat -c %a B1/token.json 2>/dev/null)" = 600 ] && ok "token kept with mode 0600" || bad "token mode"
"$AGENT" login --bundle B1 --state B1 --key dev1.pem --json >l1b.json 2>/dev/null &&
  [ "$(jf l1b.json new_login)" = False ] && ok "a fresh token is reused, no new login" || bad "token reuse"

"$AGENT" whoami --bundle B1 --state B1 --key dev1.pem --json >w1.json 2>err.txt &&
  [ "$(jf w1.json did)" = "$DID1" ] && [ "$(jf w1.json serial)" = SN-0001 ] && [ "$(jf w1.json hardware)" = board-a ] &&
  ok "whoami for device 1: its DID, serial and hardware" || bad "whoami 1" "$(cat w1.json err.txt)"
"$AGENT" whoami --bundle B2 --state B2 --key "$KEY2" --json >w2.json 2>err.txt &&
  [ "$(jf w2.json did)" = "$DID2" ] && [ "$(jf w2.json serial)" = SN-0002 ] &&
  ok "whoami for device 2" || bad "whoami 2" "$(cat w2.json err.txt)"

# ---------------------------------------------------- a replayed login
# (the helper is a second session of device 1's key: a clone signal, logged)
out=$(h login --url "$URL" --key dev1.pem --vc B1/credential.jwt --replay)
if [ "$("$PY" -c 'import json,sys; d=json.loads(sys.argv[1]); print(d["status"], d["replay"]["status"], json.loads(d["replay"]["body"])["error"]["name"])' "$out")" = "200 409 VOUCH_E_LOGIN_NONCE" ]; then
  ok "a replayed login response is refused (409 VOUCH_E_LOGIN_NONCE)"
else bad "replayed login" "$out"; fi

# --------------------------------------------- tokens survive a restart
TOK1=$(jf B1/token.json access_token)
stop && ok "SIGTERM: clean stop" || bad "clean stop"
start
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOK1" "$URL/api/v1/whoami")
[ "$code" = 200 ] && ok "the access token works after a restart (SQLite)" || bad "token after restart" "$code"

# ------------------------------------------------------------- revocation
TOK2=$(jf B2/token.json access_token)
"$VOUCHD" revoke --dir S "$DID2" >/dev/null && ok "vouchd revoke device 2" || bad "vouchd revoke"
code=$(curl -s -o body.txt -w '%{http_code}' -H "Authorization: Bearer $TOK2" "$URL/api/v1/whoami")
[ "$code" = 401 ] && grep -q VOUCH_E_LOGIN_TOKEN body.txt && ok "revoked device: its next call is refused (401)" ||
  bad "revoked call" "$code $(cat body.txt)"
"$AGENT" whoami --bundle B2 --state B2 --key "$KEY2" >/dev/null 2>err.txt
rc=$?
[ "$rc" = 180 ] && grep -q VOUCH_E_LOGIN_REVOKED err.txt && ok "revoked device: its next login is refused (exit 180)" ||
  bad "revoked login" "rc=$rc $(cat err.txt)"
"$AGENT" whoami --bundle B1 --state B1 --key dev1.pem >/dev/null 2>&1 && ok "the other device is unaffected" ||
  bad "device 1 after revoke"

# ------------------------------------------- expiry and refresh (clock + 120 s)
stop
start 120
LOGLINES=$(wc -l <vouchd.log)
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOK1" "$URL/api/v1/whoami")
[ "$code" = 401 ] && ok "an expired token is refused by the server (401)" || bad "expired token" "$code"
LATER=$(( $(date +%s) + 120 ))
"$AGENT" whoami --bundle B1 --state B1 --key dev1.pem --now "$LATER" --json >w1c.json 2>err.txt &&
  [ "$(jf w1c.json did)" = "$DID1" ] && [ "$(jf B1/token.json access_token)" != "$TOK1" ] &&
  ok "the agent refreshes an expired token by logging in again" || bad "refresh" "$(cat err.txt)"
tail -n +"$((LOGLINES + 1))" vouchd.log | grep -q "clone signal" && bad "refresh raised a clone signal" || ok "a refresh after expiry is not a clone"

stop
grep -qE '"access_token"|Bearer [A-Za-z0-9_-]{43}' vouchd.log && bad "log hygiene" || ok "no token in the server log"

# --------------------------------------------------- schema 1 is upgraded
# A database made by the first vouchd (schema 1: logins with a request id
# beside the state, rowid tables): devices and audit survive the upgrade,
# logins and tokens (minutes to hours of life) are made anew.
"$PY" - "$DID2" <<'PYEOF'
import sqlite3, sys
db = sqlite3.connect("v1.db")
db.executescript("""
CREATE TABLE logins(id TEXT PRIMARY KEY NOT NULL, state TEXT NOT NULL UNIQUE, nonce TEXT NOT NULL,
  did TEXT NOT NULL, created INTEGER NOT NULL, expires INTEGER NOT NULL,
  used INTEGER NOT NULL DEFAULT 0 CHECK(used IN (0,1))) STRICT;
CREATE INDEX logins_expires ON logins(expires);
CREATE TABLE devices(did TEXT PRIMARY KEY NOT NULL,
  registered INTEGER NOT NULL DEFAULT 0 CHECK(registered IN (0,1)),
  revoked INTEGER NOT NULL DEFAULT 0 CHECK(revoked IN (0,1)),
  registered_at INTEGER, revoked_at INTEGER) STRICT;
CREATE TABLE tokens(hash BLOB PRIMARY KEY NOT NULL CHECK(length(hash) = 32), did TEXT NOT NULL,
  serial TEXT NOT NULL, hardware TEXT NOT NULL, login_state TEXT NOT NULL, issued INTEGER NOT NULL,
  expires INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0 CHECK(revoked IN (0,1))) STRICT;
CREATE INDEX tokens_did ON tokens(did, expires);
CREATE INDEX tokens_expires ON tokens(expires);
CREATE TABLE audit(id INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL,
  event TEXT NOT NULL CHECK(event IN ('login','clone','revoked','registered')),
  did TEXT NOT NULL, code INTEGER NOT NULL, peer TEXT);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
PRAGMA user_version = 1;
""")
db.execute("INSERT INTO devices(did, revoked, revoked_at) VALUES(?, 1, 1)", (sys.argv[1],))
db.execute("INSERT INTO audit(time, event, did, code) VALUES(1, 'revoked', ?, 0)", (sys.argv[1],))
db.execute("INSERT INTO logins VALUES('i', 's', 'n', ?, 1, 2, 0)", (sys.argv[1],))
db.execute("INSERT INTO tokens VALUES(zeroblob(32), ?, 'SN', 'hw', 's', 1, 2, 0)", (sys.argv[1],))
db.commit()
PYEOF
"$VOUCHD" revoke --dir S --db "sqlite:$PWD/v1.db" "$DID1" >/dev/null 2>err.txt && ok "vouchd opens a schema-1 database" || bad "schema 1" "$(cat err.txt)"
got=$("$PY" -c '
import sqlite3; db = sqlite3.connect("v1.db"); q = lambda s: db.execute(s).fetchone()[0]
cols = [r[1] for r in db.execute("PRAGMA table_info(logins)")]
print(q("PRAGMA user_version"), q("SELECT count(*) FROM devices WHERE revoked = 1"),
      q("SELECT count(*) FROM audit"), q("SELECT count(*) FROM logins"), q("SELECT count(*) FROM tokens"),
      "id" in cols)')
[ "$got" = "3 2 2 0 0 False" ] && ok "schema 1 -> 3: revocations and audit kept, logins and tokens made anew" ||
  bad "schema upgrade" "$got"

# --------------------------------------------------- schema 2 is upgraded
# Schema 2 stored every login when it started; schema 3 stores a login only
# when it is answered (its state is sealed) and keeps the key that seals
# states. Devices, tokens and audit survive; logins are made anew.
"$PY" - "$DID2" <<'PYEOF'
import sqlite3, sys
db = sqlite3.connect("v2.db")
db.executescript("""
CREATE TABLE logins(state TEXT PRIMARY KEY NOT NULL, nonce TEXT NOT NULL, did TEXT NOT NULL,
  created INTEGER NOT NULL, expires INTEGER NOT NULL,
  used INTEGER NOT NULL DEFAULT 0 CHECK(used IN (0,1))) STRICT, WITHOUT ROWID;
CREATE TABLE devices(did TEXT PRIMARY KEY NOT NULL,
  registered INTEGER NOT NULL DEFAULT 0 CHECK(registered IN (0,1)),
  revoked INTEGER NOT NULL DEFAULT 0 CHECK(revoked IN (0,1)),
  registered_at INTEGER, revoked_at INTEGER) STRICT;
CREATE TABLE tokens(key BLOB PRIMARY KEY NOT NULL CHECK(length(key) = 40), did TEXT NOT NULL,
  serial TEXT NOT NULL, hardware TEXT NOT NULL, login_state TEXT NOT NULL, issued INTEGER NOT NULL,
  expires INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0 CHECK(revoked IN (0,1))) STRICT, WITHOUT ROWID;
CREATE INDEX tokens_did ON tokens(did, expires);
CREATE TABLE audit(id INTEGER PRIMARY KEY, time INTEGER NOT NULL,
  event TEXT NOT NULL CHECK(event IN ('login','clone','revoked','registered')),
  did TEXT NOT NULL, code INTEGER NOT NULL, peer TEXT);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
PRAGMA user_version = 2;
""")
db.execute("INSERT INTO devices(did, revoked, revoked_at) VALUES(?, 1, 1)", (sys.argv[1],))
db.execute("INSERT INTO audit(time, event, did, code) VALUES(1, 'revoked', ?, 0)", (sys.argv[1],))
db.execute("INSERT INTO logins VALUES('s', 'n', ?, 1, 2, 0)", (sys.argv[1],))
db.execute("INSERT INTO tokens VALUES(zeroblob(40), ?, 'SN', 'hw', 's', 1, 2, 0)", (sys.argv[1],))
db.commit()
PYEOF
chmod 0644 v2.db
"$VOUCHD" revoke --dir S --db "sqlite:$PWD/v2.db" "$DID1" >/dev/null 2>err.txt && ok "vouchd opens a schema-2 database" || bad "schema 2" "$(cat err.txt)"
got=$("$PY" -c '
import sqlite3; db = sqlite3.connect("v2.db"); q = lambda s: db.execute(s).fetchone()[0]
cols = [r[1] for r in db.execute("PRAGMA table_info(logins)")]
print(q("PRAGMA user_version"), q("SELECT count(*) FROM devices WHERE revoked = 1"),
      q("SELECT count(*) FROM audit"), q("SELECT count(*) FROM logins"), q("SELECT count(*) FROM tokens"),
      cols, q("SELECT length(value) FROM secrets WHERE name = \"state\""))')
[ "$got" = "3 2 2 0 1 ['state', 'did', 'answered', 'expires'] 32" ] &&
  ok "schema 2 -> 3: revocations, tokens and audit kept, logins made anew, a 32-byte state key" ||
  bad "schema 2 upgrade" "$got"
[ "$(stat -c %a v2.db)" = 600 ] && ok "the upgraded database (it holds the state key) is made private (0600)" ||
  bad "database mode" "$(stat -c %a v2.db)"
"$PY" -c 'import sqlite3; db = sqlite3.connect("v9.db"); db.execute("CREATE TABLE t(x)"); db.execute("PRAGMA user_version = 9"); db.commit()'
set +e; "$VOUCHD" revoke --dir S --db "sqlite:$PWD/v9.db" "$DID1" >/dev/null 2>err.txt; rc=$?; set -e
v9=$("$PY" -c 'import sqlite3; db = sqlite3.connect("v9.db"); print(db.execute("PRAGMA user_version").fetchone()[0], [r[0] for r in db.execute("SELECT name FROM sqlite_master")])')
[ "$rc" = 160 ] && grep -q "schema version 9" err.txt && [ "$v9" = "9 ['t']" ] && ok "a database of an unknown schema is refused (exit 160), untouched" ||
  bad "unknown schema" "rc=$rc $v9 $(cat err.txt)"
finish
