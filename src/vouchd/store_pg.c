/* store_pg.c - vouchd's store in PostgreSQL (libpq), behind the same
 * interface and with the same tables as store_sqlite.c, but for one thing:
 * PostgreSQL compares text by the database's collation, not byte by byte,
 * so logins and tokens are pruned through expiry indexes, not by the order
 * of their expiry-prefixed keys.
 *
 * One connection used under one mutex (like the SQLite backend); every
 * statement goes through PQexecParams with $n parameters, never text built
 * from input. login_finish takes a transaction-scoped advisory lock on the
 * device DID, so that two concurrent logins of one key are serialized and
 * the second sees the first one's token (the clone signal), as SQLite's
 * BEGIN IMMEDIATE gives for free. A lost connection is re-established once
 * per call (PQreset). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <openssl/rand.h>

#include "vouchd/vouchd.h"

#define PG_SCHEMA_VERSION 3
#define PG_STR_(x) #x
#define PG_STR(x) PG_STR_(x)

static const char pg_schema_sql[] =
    "CREATE TABLE IF NOT EXISTS vouchd_meta(version INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS logins("
    " state TEXT PRIMARY KEY NOT NULL,"
    " did TEXT NOT NULL,"
    " answered BIGINT NOT NULL,"
    " expires BIGINT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS logins_expires ON logins(expires);"
    "CREATE TABLE IF NOT EXISTS secrets("
    " name TEXT PRIMARY KEY NOT NULL,"
    " value BYTEA NOT NULL);"
    "CREATE TABLE IF NOT EXISTS devices("
    " did TEXT PRIMARY KEY NOT NULL,"
    " registered SMALLINT NOT NULL DEFAULT 0 CHECK(registered IN (0,1)),"
    " revoked SMALLINT NOT NULL DEFAULT 0 CHECK(revoked IN (0,1)),"
    " registered_at BIGINT,"
    " revoked_at BIGINT);"
    "CREATE TABLE IF NOT EXISTS tokens("
    " key BYTEA PRIMARY KEY NOT NULL CHECK(octet_length(key) = 40),"
    " did TEXT NOT NULL,"
    " serial TEXT NOT NULL,"
    " hardware TEXT NOT NULL,"
    " login_state TEXT NOT NULL,"
    " issued BIGINT NOT NULL,"
    " expires BIGINT NOT NULL,"
    " revoked SMALLINT NOT NULL DEFAULT 0 CHECK(revoked IN (0,1)));"
    "CREATE INDEX IF NOT EXISTS tokens_did ON tokens(did, expires);"
    "CREATE INDEX IF NOT EXISTS tokens_expires ON tokens(expires);"
    "CREATE TABLE IF NOT EXISTS audit("
    " id BIGSERIAL PRIMARY KEY,"
    " time BIGINT NOT NULL,"
    " event TEXT NOT NULL CHECK(event IN ('login','clone','revoked','registered')),"
    " did TEXT NOT NULL,"
    " code INTEGER NOT NULL,"
    " peer TEXT);"
    "CREATE OR REPLACE FUNCTION vouchd_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS"
    " $f$ BEGIN RAISE EXCEPTION 'audit is append-only'; END $f$;"
    "CREATE OR REPLACE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit"
    " FOR EACH ROW EXECUTE FUNCTION vouchd_audit_append_only();";

/* From schema 1, whose logins had a request id beside the state and whose
 * tokens were keyed by their bare SHA-256, and from schema 2, whose logins
 * were stored when started: logins last minutes and tokens at most a day,
 * so their tables are made anew (devices log in again; schema 2's tokens
 * are kept). */
static const char pg_migrate_1_sql[] = "DROP TABLE IF EXISTS logins; DROP TABLE IF EXISTS tokens";
static const char pg_migrate_2_sql[] = "DROP TABLE IF EXISTS logins";

typedef struct pg_store {
    vd_store base;
    PGconn *c;
    pthread_mutex_t lock;
} pg_store;

/* The server's message is about our fixed SQL, never echoes parameters
 * (libpq reports values only in DETAIL, which we do not print). */
static vouch_code pg_fail(pg_store *db, const PGresult *r, const char *what, vouch_err *err)
{
    const char *m = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;

    if (!m)
        m = db && db->c ? PQerrorMessage(db->c) : "cannot connect";
    return vouch_err_set(err, VOUCH_E_DB, "database: %s: %.160s", what, m);
}

/* Runs one statement with text parameters; *res gets the result (PQclear
 * it) when the status is the expected one. */
static vouch_code pg_exec(pg_store *db, const char *sql, int n, const char *const *params,
                          ExecStatusType want, PGresult **res, const char *what, vouch_err *err)
{
    PGresult *r;

    *res = NULL;
    if (PQstatus(db->c) != CONNECTION_OK)
        PQreset(db->c);
    r = PQexecParams(db->c, sql, n, NULL, params, NULL, NULL, 0);
    if (!r || PQresultStatus(r) != want) {
        vouch_code rc = pg_fail(db, r, what, err);
        PQclear(r);
        return rc;
    }
    *res = r;
    return VOUCH_OK;
}

static vouch_code pg_cmd(pg_store *db, const char *sql, int n, const char *const *params,
                         int *changes, const char *what, vouch_err *err)
{
    PGresult *r = NULL;
    vouch_code rc = pg_exec(db, sql, n, params, PGRES_COMMAND_OK, &r, what, err);

    if (rc == VOUCH_OK && changes)
        *changes = atoi(PQcmdTuples(r));
    PQclear(r);
    return rc;
}

static void pg_rollback(pg_store *db)
{
    if (PQtransactionStatus(db->c) != PQTRANS_IDLE)
        PQclear(PQexec(db->c, "ROLLBACK"));
}

static void i64(char *buf, size_t cap, int64_t v) { snprintf(buf, cap, "%lld", (long long)v); }

static void copy_val(const PGresult *r, int row, int col, char *out, size_t cap)
{
    const char *v = PQgetvalue(r, row, col);
    size_t n = v ? strlen(v) : 0;

    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(out, v, n);
    out[n] = '\0';
}

static vouch_code pg_state_key(vd_store *s, uint8_t key[VD_STATE_KEY_LEN], vouch_err *err)
{
    pg_store *db = (pg_store *)s;
    PGresult *r = NULL;
    uint8_t *raw = NULL;
    size_t n = 0;
    char *hex = NULL;
    vouch_code rc;

    pthread_mutex_lock(&db->lock);
    if ((rc = pg_exec(db, "SELECT encode(value, 'hex') FROM secrets WHERE name = 'state'", 0,
                      NULL, PGRES_TUPLES_OK, &r, "reading the state key", err)) != VOUCH_OK)
        goto out;
    hex = PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : NULL;
    if (!hex || vouch_hex_decode(hex, strlen(hex), &raw, &n, NULL) != VOUCH_OK ||
        n != VD_STATE_KEY_LEN) {
        rc = vouch_err_set(err, VOUCH_E_DB, "database: the state key is missing or malformed");
        goto out;
    }
    memcpy(key, raw, VD_STATE_KEY_LEN);
out:
    if (hex)
        vouch_wipe(hex, strlen(hex));
    if (raw)
        vouch_wipe(raw, n);
    vouch_free(raw);
    PQclear(r);
    pthread_mutex_unlock(&db->lock);
    return rc;
}

static vouch_code pg_audit(pg_store *db, int64_t now, const char *event, const char *did,
                           vouch_code code, const char *peer, vouch_err *err)
{
    char t[24], c[24];
    const char *p[5] = {t, event, did, c, peer};

    i64(t, sizeof(t), now);
    i64(c, sizeof(c), (int64_t)code);
    return pg_cmd(db, "INSERT INTO audit(time, event, did, code, peer) VALUES($1, $2, $3, $4, $5)",
                  5, p, NULL, "writing an audit row", err);
}

#define KEY_PARAM_LEN (2 + 2 * VD_TOKEN_KEY_LEN) /* "\\x" and hex */
#define KEY_HEX_LEN (2 + 2 * VD_STATE_KEY_LEN)

static void key_param(const uint8_t k[VD_TOKEN_KEY_LEN], char out[KEY_PARAM_LEN + 1])
{
    out[0] = '\\';
    out[1] = 'x';
    vouch_hex_encode_buf(k, VD_TOKEN_KEY_LEN, out + 2, KEY_PARAM_LEN - 1, NULL);
}

static vouch_code pg_login_finish(vd_store *s, const vd_finish *f, int *clone, vouch_err *err)
{
    pg_store *db = (pg_store *)s;
    PGresult *r = NULL;
    char now[24], exp[24], sexp[24], key[KEY_PARAM_LEN + 1];
    int changed = 0, registered = 0, revoked = 0;
    int64_t live = 0;
    vouch_code rc;

    *clone = 0;
    i64(now, sizeof(now), f->now);
    i64(exp, sizeof(exp), f->token_expires);
    i64(sexp, sizeof(sexp), f->state_expires);
    key_param(f->token_key, key);
    pthread_mutex_lock(&db->lock);
    if ((rc = pg_cmd(db, "BEGIN", 0, NULL, NULL, "begin", err)) != VOUCH_OK)
        goto out;
    {
        const char *p[1] = {f->did};
        if ((rc = pg_exec(db, "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", 1, p,
                          PGRES_TUPLES_OK, &r, "locking a device", err)) != VOUCH_OK)
            goto out;
        PQclear(r);
        r = NULL;
        if ((rc = pg_exec(db, "SELECT registered, revoked FROM devices WHERE did = $1", 1, p,
                          PGRES_TUPLES_OK, &r, "looking up a device", err)) != VOUCH_OK)
            goto out;
        if (PQntuples(r) == 1) {
            registered = atoi(PQgetvalue(r, 0, 0)) != 0;
            revoked = atoi(PQgetvalue(r, 0, 1)) != 0;
        }
        PQclear(r);
        r = NULL;
    }
    if (revoked) {
        rc = vouch_err_set(err, VOUCH_E_LOGIN_REVOKED, "this device is revoked");
        goto out;
    }
    if (f->allowlist_mode && !registered) {
        rc = vouch_err_set(err, VOUCH_E_LOGIN_NOT_REGISTERED, "this device key is not registered");
        goto out;
    }
    /* the single use of the nonce: a state answered before is already a row */
    if (f->state_expires <= f->now) {
        rc = vouch_err_set(err, VOUCH_E_LOGIN_NONCE, "nonce expired");
        goto out;
    }
    {
        const char *p[4] = {f->state, f->did, now, sexp};
        if ((rc = pg_cmd(db,
                         "INSERT INTO logins(state, did, answered, expires)"
                         " VALUES($1, $2, $3, $4) ON CONFLICT(state) DO NOTHING",
                         4, p, &changed, "consuming a nonce", err)) != VOUCH_OK)
            goto out;
    }
    if (changed != 1) {
        rc = vouch_err_set(err, VOUCH_E_LOGIN_NONCE, "nonce already used");
        goto out;
    }
    {
        const char *p[2] = {f->did, now};
        if ((rc = pg_exec(db,
                          /* whether one exists, not how many: a device that logs
                           * in often has many live tokens */
                          "SELECT count(*) FROM (SELECT 1 FROM tokens WHERE did = $1"
                          " AND expires > $2 AND revoked = 0 LIMIT 1) AS live",
                          2, p, PGRES_TUPLES_OK, &r, "counting live tokens", err)) != VOUCH_OK)
            goto out;
        live = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
        r = NULL;
    }
    if (live > 0) {
        *clone = 1;
        if ((rc = pg_audit(db, f->now, "clone", f->did,
                           f->refuse_clones ? VOUCH_E_LOGIN_CLONE : VOUCH_OK, f->peer, err)) !=
            VOUCH_OK)
            goto out;
        if (f->refuse_clones) {
            if ((rc = pg_cmd(db, "COMMIT", 0, NULL, NULL, "commit", err)) != VOUCH_OK)
                goto out;
            rc = vouch_err_set(err, VOUCH_E_LOGIN_CLONE,
                               "this device key already has a live session");
            goto out;
        }
    }
    {
        const char *p[7] = {key, f->did, f->serial, f->hardware, f->state, now, exp};
        if ((rc = pg_cmd(db,
                         "INSERT INTO tokens(key, did, serial, hardware, login_state, issued,"
                         " expires) VALUES($1, $2, $3, $4, $5, $6, $7)",
                         7, p, NULL, "storing a token", err)) != VOUCH_OK)
            goto out;
    }
    if ((rc = pg_audit(db, f->now, "login", f->did, VOUCH_OK, f->peer, err)) != VOUCH_OK ||
        (rc = pg_cmd(db, "COMMIT", 0, NULL, NULL, "commit", err)) != VOUCH_OK)
        goto out;
out:
    PQclear(r);
    pg_rollback(db);
    pthread_mutex_unlock(&db->lock);
    return rc;
}

static vouch_code pg_token_check(vd_store *s, const uint8_t key[VD_TOKEN_KEY_LEN], int64_t now,
                                 vd_token_row *row, vouch_err *err)
{
    pg_store *db = (pg_store *)s;
    PGresult *r = NULL;
    char h[KEY_PARAM_LEN + 1], t[24], got[KEY_PARAM_LEN + 1];
    const char *p[2] = {h, t};
    vouch_code rc;

    memset(row, 0, sizeof(*row));
    key_param(key, h);
    i64(t, sizeof(t), now);
    pthread_mutex_lock(&db->lock);
    if ((rc = pg_exec(db,
                      "SELECT t.key, t.did, t.serial, t.hardware, t.expires FROM tokens t"
                      " WHERE t.key = $1 AND t.expires > $2 AND t.revoked = 0"
                      " AND NOT EXISTS(SELECT 1 FROM devices d WHERE d.did = t.did"
                      " AND d.revoked = 1)",
                      2, p, PGRES_TUPLES_OK, &r, "checking a token", err)) != VOUCH_OK)
        goto out;
    copy_val(r, 0, 0, got, sizeof(got));
    if (PQntuples(r) != 1 || strlen(got) != KEY_PARAM_LEN ||
        !vouch_ct_equal(got, h, KEY_PARAM_LEN)) {
        rc = vouch_err_set(err, VOUCH_E_LOGIN_TOKEN, "access token unknown, expired or revoked");
        goto out;
    }
    copy_val(r, 0, 1, row->did, sizeof(row->did));
    copy_val(r, 0, 2, row->serial, sizeof(row->serial));
    copy_val(r, 0, 3, row->hardware, sizeof(row->hardware));
    row->expires = strtoll(PQgetvalue(r, 0, 4), NULL, 10);
out:
    PQclear(r);
    pthread_mutex_unlock(&db->lock);
    return rc;
}

static vouch_code pg_mark(vd_store *s, int revoke, const char *did, int64_t now, int *changed,
                          vouch_err *err)
{
    pg_store *db = (pg_store *)s;
    char t[24];
    const char *p[2] = {did, t};
    vouch_code rc;

    *changed = 0;
    i64(t, sizeof(t), now);
    pthread_mutex_lock(&db->lock);
    if ((rc = pg_cmd(db, "BEGIN", 0, NULL, NULL, "begin", err)) != VOUCH_OK)
        goto out;
    if (revoke)
        rc = pg_cmd(db,
                    "INSERT INTO devices(did, revoked, revoked_at) VALUES($1, 1, $2)"
                    " ON CONFLICT(did) DO UPDATE SET revoked = 1, revoked_at = $2"
                    " WHERE devices.revoked = 0",
                    2, p, changed, "revoking", err);
    else
        rc = pg_cmd(db,
                    "INSERT INTO devices(did, registered, registered_at) VALUES($1, 1, $2)"
                    " ON CONFLICT(did) DO UPDATE SET registered = 1, registered_at = $2"
                    " WHERE devices.registered = 0",
                    2, p, changed, "registering", err);
    if (rc != VOUCH_OK)
        goto out;
    if (revoke && (rc = pg_cmd(db, "UPDATE tokens SET revoked = 1 WHERE did = $1 AND revoked = 0",
                               1, p, NULL, "revoking tokens", err)) != VOUCH_OK)
        goto out;
    if (*changed && (rc = pg_audit(db, now, revoke ? "revoked" : "registered", did, VOUCH_OK,
                                   NULL, err)) != VOUCH_OK)
        goto out;
    rc = pg_cmd(db, "COMMIT", 0, NULL, NULL, "commit", err);
out:
    pg_rollback(db);
    pthread_mutex_unlock(&db->lock);
    return rc;
}

static vouch_code pg_revoke(vd_store *s, const char *did, int64_t now, int *changed,
                            vouch_err *err)
{
    return pg_mark(s, 1, did, now, changed, err);
}

static vouch_code pg_enroll(vd_store *s, const char *did, int64_t now, int *changed,
                            vouch_err *err)
{
    return pg_mark(s, 0, did, now, changed, err);
}

static vouch_code pg_prune(vd_store *s, int64_t before, vouch_err *err)
{
    pg_store *db = (pg_store *)s;
    char t[24];
    const char *p[1] = {t};
    vouch_code rc;

    i64(t, sizeof(t), before);
    pthread_mutex_lock(&db->lock);
    if ((rc = pg_cmd(db, "DELETE FROM logins WHERE expires < $1", 1, p, NULL, "pruning logins",
                     err)) == VOUCH_OK)
        rc = pg_cmd(db, "DELETE FROM tokens WHERE expires < $1", 1, p, NULL, "pruning tokens",
                    err);
    pthread_mutex_unlock(&db->lock);
    return rc;
}

static vouch_code pg_counts(vd_store *s, int64_t *logins, int64_t *tokens, int64_t *audit,
                            vouch_err *err)
{
    pg_store *db = (pg_store *)s;
    PGresult *r = NULL;
    vouch_code rc;

    pthread_mutex_lock(&db->lock);
    rc = pg_exec(db,
                 "SELECT (SELECT count(*) FROM logins), (SELECT count(*) FROM tokens),"
                 " (SELECT count(*) FROM audit)",
                 0, NULL, PGRES_TUPLES_OK, &r, "counting", err);
    if (rc == VOUCH_OK) {
        *logins = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        *tokens = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
        *audit = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
    }
    PQclear(r);
    pthread_mutex_unlock(&db->lock);
    return rc;
}

static void pg_close(vd_store *s)
{
    pg_store *db = (pg_store *)s;

    if (!db)
        return;
    PQfinish(db->c);
    pthread_mutex_destroy(&db->lock);
    vouch_free(db);
}

static const vd_store_ops pg_ops = {
    pg_state_key, pg_login_finish, pg_token_check, pg_revoke,
    pg_enroll,    pg_prune,        pg_counts,      pg_close,
};

/* Runs one fixed statement (nothing from outside reaches it) and keeps its
 * result in *r for the caller; VOUCH_OK when its status is `want`. */
static vouch_code pg_fixed(pg_store *db, const char *sql, ExecStatusType want, PGresult **r,
                           vouch_err *err)
{
    PQclear(*r);
    *r = PQexec(db->c, sql);
    if (PQresultStatus(*r) != want)
        return pg_fail(db, *r, "creating the schema", err);
    return VOUCH_OK;
}

/* A new state key, from OpenSSL's generator, unless one is there. */
static vouch_code pg_add_state_key(pg_store *db, vouch_err *err)
{
    uint8_t key[VD_STATE_KEY_LEN];
    char hex[KEY_HEX_LEN + 1];
    const char *p[1] = {hex};
    vouch_code rc;

    if (RAND_bytes(key, sizeof(key)) != 1) {
        rc = vouch_err_set(err, VOUCH_E_INTERNAL, "random: RAND_bytes failed");
        goto out;
    }
    hex[0] = '\\';
    hex[1] = 'x';
    if ((rc = vouch_hex_encode_buf(key, sizeof(key), hex + 2, sizeof(hex) - 2, err)) != VOUCH_OK)
        goto out;
    rc = pg_cmd(db,
                "INSERT INTO secrets(name, value) VALUES('state', $1::bytea)"
                " ON CONFLICT(name) DO NOTHING",
                1, p, NULL, "creating the state key", err);
out:
    vouch_wipe(key, sizeof(key));
    vouch_wipe(hex, sizeof(hex));
    return rc;
}

/*
 * Checks the schema version and creates the schema in an empty database,
 * or upgrades schema 1 or 2, with a new state key.
 * Several vouchd may start at once against one database, and CREATE TABLE
 * IF NOT EXISTS is not safe under concurrency in PostgreSQL: the check and
 * the creation run in one transaction under a fixed advisory lock, so one
 * server creates and the others then see version PG_SCHEMA_VERSION.
 */
static vouch_code pg_schema(pg_store *db, int create, vouch_err *err)
{
    PGresult *r = NULL;
    int version = 0;
    vouch_code rc;

    if ((rc = pg_fixed(db, "BEGIN", PGRES_COMMAND_OK, &r, err)) != VOUCH_OK ||
        /* 0x766f756368 is "vouch": one lock for the schema of every vouchd */
        (rc = pg_fixed(db, "SELECT pg_advisory_xact_lock(508264112232)", PGRES_TUPLES_OK, &r,
                       err)) != VOUCH_OK ||
        (rc = pg_fixed(db, "SELECT to_regclass('vouchd_meta') IS NOT NULL", PGRES_TUPLES_OK, &r,
                       err)) != VOUCH_OK)
        goto out;
    if (PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0) {
        if ((rc = pg_fixed(db, "SELECT version FROM vouchd_meta", PGRES_TUPLES_OK, &r, err)) !=
            VOUCH_OK)
            goto out;
        if (PQntuples(r) == 1)
            version = atoi(PQgetvalue(r, 0, 0));
    }
    if (version == PG_SCHEMA_VERSION) {
        rc = pg_fixed(db, "COMMIT", PGRES_COMMAND_OK, &r, err);
        goto out;
    }
    if (version != 1 && version != 2 && (version != 0 || !create)) {
        rc = vouch_err_set(err, VOUCH_E_DB, "database schema version %d; vouchd knows %d",
                           version, PG_SCHEMA_VERSION);
        goto out;
    }
    if ((version == 1 &&
         (rc = pg_fixed(db, pg_migrate_1_sql, PGRES_COMMAND_OK, &r, err)) != VOUCH_OK) ||
        (version == 2 &&
         (rc = pg_fixed(db, pg_migrate_2_sql, PGRES_COMMAND_OK, &r, err)) != VOUCH_OK) ||
        (rc = pg_fixed(db, pg_schema_sql, PGRES_COMMAND_OK, &r, err)) != VOUCH_OK ||
        (rc = pg_add_state_key(db, err)) != VOUCH_OK ||
        (rc = pg_fixed(db, "DELETE FROM vouchd_meta", PGRES_COMMAND_OK, &r, err)) != VOUCH_OK ||
        (rc = pg_fixed(db, "INSERT INTO vouchd_meta(version) VALUES(" PG_STR(PG_SCHEMA_VERSION) ")",
                       PGRES_COMMAND_OK, &r, err)) != VOUCH_OK)
        goto out;
    rc = pg_fixed(db, "COMMIT", PGRES_COMMAND_OK, &r, err);
out:
    PQclear(r);
    if (rc != VOUCH_OK)
        pg_rollback(db);
    return rc;
}

vouch_code vd_store_pg_open(const char *conninfo, int create, vd_store **out, vouch_err *err)
{
    pg_store *db = NULL;
    vouch_code rc;

    *out = NULL;
    db = vouch_calloc(1, sizeof(*db));
    if (!db) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory opening the database");
        goto out;
    }
    db->base.ops = &pg_ops;
    pthread_mutex_init(&db->lock, NULL);
    db->c = PQconnectdb(conninfo);
    if (!db->c || PQstatus(db->c) != CONNECTION_OK) {
        /* libpq's message may name the host, never the password */
        rc = vouch_err_set(err, VOUCH_E_DB, "database: cannot connect: %.160s",
                           db->c ? PQerrorMessage(db->c) : "out of memory");
        goto out;
    }
    PQclear(PQexec(db->c, "SET client_min_messages = warning"));
    if ((rc = pg_schema(db, create, err)) != VOUCH_OK)
        goto out;
    *out = &db->base;
    db = NULL;
    rc = VOUCH_OK;
out:
    if (db)
        pg_close(&db->base);
    return rc;
}
