#!/usr/bin/env bash
# login_pg.sh - vouchd on PostgreSQL, as a fleet that outgrew one machine
# runs it: a throwaway PostgreSQL cluster on 127.0.0.1, two stateless vouchd
# processes sharing its database (as behind a load balancer). A login started
# on one finishes on the other; one login response posted to both is accepted
# once (the nonce is consumed once across servers); a revocation made through
# one is enforced by the other at once.
set -euo pipefail
VOUCH=${VOUCH_CLI:?run through ctest}
VOUCHD=${VOUCHD:?run through ctest}
AGENT=${VOUCH_AGENT:?run through ctest}
SRC=${VOUCH_SOURCE_DIR:?}
PY=/usr/bin/python3
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
[ -x "$PGBIN/initdb" ] || { echo "FAIL - PostgreSQL server binaries missing (scripts/setup installs postgresql)"; echo "login-pg: 0 passed, 1 failed"; exit 1; }
T=$(mktemp -d)
chmod 755 "$T"
PIDS=()
# initdb refuses to run as root: the cluster belongs to the postgres user then
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -d "$T/pg" ] && as_pg "$PGBIN/pg_ctl" -D "$T/pg" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$T"
}
trap cleanup EXIT
cd "$T"
pass=0 fail=0
ok()  { pass=$((pass + 1)); echo "ok   - $*"; }
bad() { fail=$((fail + 1)); echo "FAIL - $*"; }
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# the cluster: loopback only, trust auth for the test user, no fsync (throwaway)
PGPORT=$(free_port)
mkdir pg sock && chown postgres pg sock 2>/dev/null || true
as_pg "$PGBIN/initdb" -D "$T/pg" -U vouch --auth=trust -E UTF8 >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$T/pg" -l "$T/pg/log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $T/sock -c fsync=off" start >/dev/null
as_pg "$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U vouch vouchd
DB="postgresql://vouch@127.0.0.1:$PGPORT/vouchd"
ok "throwaway PostgreSQL cluster on 127.0.0.1:$PGPORT"

P1=$(free_port); P2=$(free_port)
"$VOUCH" key generate --type p256 --out cos.pem >/dev/null
"$VOUCH" init --domain example.com --dir P --cosigner "$("$VOUCH" key public cos.pem --format did)" >/dev/null
"$VOUCH" server export --dir P --out S >/dev/null
DID1=$("$VOUCH" key generate --type p256 --out dev1.pem)
"$VOUCH" provision --dir P --device dev1.pem --serial SN-1 --hardware board-a --key "$T/dev1.pem" \
  --server "http://127.0.0.1:$P1" --out B1 >/dev/null
"$VOUCH" key generate --type p256 --out dev2.pem >/dev/null
"$VOUCH" provision --dir P --device dev2.pem --serial SN-2 --hardware board-a --key "$T/dev2.pem" \
  --server "http://127.0.0.1:$P2" --out B2 >/dev/null

for p in "$P1" "$P2"; do
  "$VOUCHD" serve --dir S --db "$DB" --listen "127.0.0.1:$p" > "vouchd-$p.out" 2> "vouchd-$p.err" &
  PIDS+=($!)
done
for p in "$P1" "$P2"; do
  for _ in $(seq 1 100); do grep -q 'listening on' "vouchd-$p.out" 2>/dev/null && break; sleep 0.1; done
  grep -q 'listening on' "vouchd-$p.out" && ok "vouchd on :$p shares the database" || { bad "vouchd :$p did not start: $(cat "vouchd-$p.err")"; }
done

"$AGENT" login --bundle B1 --state s1 >/dev/null 2>err.txt && ok "device 1 logs in through server 1" || bad "login 1: $(cat err.txt)"
"$AGENT" login --bundle B2 --state s2 >/dev/null 2>err.txt && ok "device 2 logs in through server 2" || bad "login 2: $(cat err.txt)"
# the token from server 1 is good on server 2: one database, stateless servers
TOK=$("$PY" -c 'import json; print(json.load(open("s1/token.json"))["access_token"])')
code=$(curl -s -o who.json -w '%{http_code}' -H "Authorization: Bearer $TOK" "http://127.0.0.1:$P2/api/v1/whoami")
[ "$code" = 200 ] && grep -q SN-1 who.json && ok "a token from server 1 is honoured by server 2" || bad "cross-server token: $code $(cat who.json)"

# one login response, posted to both servers: exactly one accepts it
"$PY" "$SRC/tests/attacks/siop_device.py" login --url "http://127.0.0.1:$P1" --key dev1.pem \
  --vc B1/credential.jwt --replay-url "http://127.0.0.1:$P2" > replay.json 2>err.txt || true
if "$PY" -c 'import json,sys; d=json.load(open("replay.json")); sys.exit(0 if d["status"]==200 and d["replay"]["status"]==409 else 1)' 2>/dev/null; then
  ok "a login response accepted by server 1 is refused by server 2 (409): one nonce, one login"
else bad "replay across the shared database: $(head -c 300 replay.json) $(head -c 200 err.txt)"; fi

# a login started on server 1, fetched and answered on server 2 (which
# never saw it: its state is sealed with the key the servers share through
# the database), then replayed to server 1 (whose own mark of the answered
# login is not what refuses it: the database is)
"$PY" "$SRC/tests/attacks/siop_device.py" login --url "http://127.0.0.1:$P1" --key dev1.pem \
  --vc B1/credential.jwt --answer-url "http://127.0.0.1:$P2" --replay-url "http://127.0.0.1:$P1" \
  > cross.json 2>err.txt || true
if "$PY" -c 'import json,sys; d=json.load(open("cross.json")); sys.exit(0 if d["status"]==200 and d["replay"]["status"]==409 and "VOUCH_E_LOGIN_NONCE" in d["replay"]["body"] else 1)' 2>/dev/null; then
  ok "a login started on server 1 completes on server 2; its replay to server 1 is refused (409 VOUCH_E_LOGIN_NONCE)"
else bad "cross-server login: $(head -c 300 cross.json) $(head -c 200 err.txt)"; fi

# revoke through one server's database; the other enforces it at once
"$VOUCHD" revoke --dir S --db "$DB" "$DID1" >/dev/null && ok "vouchd revoke on the shared database" || bad "revoke"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOK" "http://127.0.0.1:$P2/api/v1/whoami")
[ "$code" = 401 ] && ok "server 2 refuses the revoked device's token at once (401)" || bad "revoked token on server 2: $code"
# the agent's next call meets the 401, logs in again, and is refused
set +e; "$AGENT" whoami --bundle B1 --state s1 >/dev/null 2>err.txt; rc=$?; set -e
[ "$rc" -eq 180 ] && ok "the revoked device cannot log in again (exit 180)" || bad "revoked login: exit $rc $(cat err.txt)"
[ ! -e s1/token.json ] && ok "the refused token is forgotten" || bad "the agent kept a refused token"
"$AGENT" whoami --bundle B2 --state s2 >/dev/null 2>err.txt && ok "the other device is unaffected" || bad "device 2: $(cat err.txt)"

# a schema-2 database (logins stored when started, no state key) is
# upgraded: devices, tokens and audit kept, logins made anew, one key
as_pg "$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U vouch v2
psql_v2() { "$PGBIN/psql" -X -q -t -A -h 127.0.0.1 -p "$PGPORT" -U vouch -d v2 -v ON_ERROR_STOP=1 "$@"; }
psql_v2 >/dev/null <<SQL
CREATE TABLE vouchd_meta(version INTEGER NOT NULL);
INSERT INTO vouchd_meta VALUES(2);
CREATE TABLE logins(state TEXT PRIMARY KEY NOT NULL, nonce TEXT NOT NULL, did TEXT NOT NULL,
  created BIGINT NOT NULL, expires BIGINT NOT NULL, used SMALLINT NOT NULL DEFAULT 0);
CREATE INDEX logins_expires ON logins(expires);
CREATE TABLE devices(did TEXT PRIMARY KEY NOT NULL, registered SMALLINT NOT NULL DEFAULT 0,
  revoked SMALLINT NOT NULL DEFAULT 0, registered_at BIGINT, revoked_at BIGINT);
CREATE TABLE tokens(key BYTEA PRIMARY KEY NOT NULL, did TEXT NOT NULL, serial TEXT NOT NULL,
  hardware TEXT NOT NULL, login_state TEXT NOT NULL, issued BIGINT NOT NULL, expires BIGINT NOT NULL,
  revoked SMALLINT NOT NULL DEFAULT 0);
CREATE INDEX tokens_did ON tokens(did, expires);
CREATE INDEX tokens_expires ON tokens(expires);
CREATE TABLE audit(id BIGSERIAL PRIMARY KEY, time BIGINT NOT NULL, event TEXT NOT NULL,
  did TEXT NOT NULL, code INTEGER NOT NULL, peer TEXT);
INSERT INTO devices(did, revoked, revoked_at) VALUES('$DID1', 1, 1);
INSERT INTO audit(time, event, did, code) VALUES(1, 'revoked', '$DID1', 0);
INSERT INTO logins VALUES('s', 'n', '$DID1', 1, 2, 0);
INSERT INTO tokens VALUES('\\x00', '$DID1', 'SN', 'hw', 's', 1, 2, 0);
SQL
"$VOUCHD" revoke --dir S --db "postgresql://vouch@127.0.0.1:$PGPORT/v2" "$DID1" >/dev/null 2>err.txt &&
  ok "vouchd opens a schema-2 PostgreSQL database" || bad "schema 2 (PostgreSQL): $(cat err.txt)"
got=$(psql_v2 -c "SELECT (SELECT version FROM vouchd_meta), (SELECT count(*) FROM devices),
  (SELECT count(*) FROM audit), (SELECT count(*) FROM logins), (SELECT count(*) FROM tokens),
  (SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns
   WHERE table_name = 'logins'), (SELECT octet_length(value) FROM secrets WHERE name = 'state')")
[ "$got" = "3|1|1|0|1|state,did,answered,expires|32" ] &&
  ok "schema 2 -> 3 (PostgreSQL): devices, tokens and audit kept, logins made anew, a 32-byte state key" ||
  bad "schema 2 upgrade (PostgreSQL): $got"

echo "login-pg: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
