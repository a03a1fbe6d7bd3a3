/* db.c - the co-signer's state in SQLite (WAL, synchronous=FULL).
 *
 * Tables: build_servers (the allow list and revocations), jti (requests
 * co-signed, kept past their exp), highest (the highest securityVersion
 * co-signed per hardware id) and audit (append-only: triggers refuse UPDATE
 * and DELETE). Every statement has bound parameters; the texts below are
 * the only SQL in the program. Statements are prepared once per connection
 * and used under the caller's lock. */
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "cosignd/cosignd.h"
#include "sqlite/sqlu.h"

#define DB_SCHEMA_VERSION 1
#define DB_BUSY_MS 5000
#define JTI_KEEP_AFTER_EXP 3600 /* survives a clock stepped back by up to an hour */

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS build_servers("
    " did TEXT PRIMARY KEY NOT NULL,"
    " allow_force INTEGER NOT NULL DEFAULT 0 CHECK(allow_force IN (0,1)),"
    " revoked INTEGER NOT NULL DEFAULT 0 CHECK(revoked IN (0,1)),"
    " added INTEGER NOT NULL,"
    " revoked_at INTEGER) STRICT;"
    "CREATE TABLE IF NOT EXISTS jti("
    " build_server TEXT NOT NULL,"
    " jti TEXT NOT NULL,"
    " exp INTEGER NOT NULL,"
    " PRIMARY KEY(build_server, jti)) STRICT;"
    "CREATE INDEX IF NOT EXISTS jti_exp ON jti(exp);"
    "CREATE TABLE IF NOT EXISTS highest("
    " hardware TEXT PRIMARY KEY NOT NULL,"
    " security_version INTEGER NOT NULL CHECK(security_version >= 0),"
    " version TEXT NOT NULL,"
    " release_sha256 TEXT NOT NULL,"
    " updated INTEGER NOT NULL) STRICT;"
    "CREATE TABLE IF NOT EXISTS audit("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " time INTEGER NOT NULL,"
    " event TEXT NOT NULL CHECK(event IN ('signed','refused','allowed','revoked','init')),"
    " build_server TEXT,"
    " jti TEXT,"
    " release_sha256 TEXT,"
    " version TEXT,"
    " security_version INTEGER,"
    " forced INTEGER NOT NULL DEFAULT 0,"
    " code INTEGER NOT NULL,"
    " name TEXT NOT NULL,"
    " reason TEXT NOT NULL,"
    " peer TEXT);"
    "CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;"
    "CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;";

enum {
    Q_BEGIN,
    Q_COMMIT,
    Q_ROLLBACK,
    Q_SERVER,
    Q_ALLOW,
    Q_REVOKE,
    Q_JTI_USED,
    Q_JTI_ADD,
    Q_JTI_PRUNE,
    Q_HIGHEST,
    Q_HIGHEST_SET,
    Q_AUDIT_ADD,
    Q_LIST_SERVERS,
    Q_LIST_HIGHEST,
    Q_LIST_AUDIT,
    Q_COUNT_AUDIT,
    Q_COUNT_JTI,
    Q__COUNT
};

static const char *const query_sql[Q__COUNT] = {
    [Q_BEGIN] = "BEGIN IMMEDIATE",
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
    [Q_SERVER] = "SELECT revoked, allow_force FROM build_servers WHERE did = ?1",
    [Q_ALLOW] = "INSERT INTO build_servers(did, allow_force, added) VALUES(?1, ?2, ?3)"
                " ON CONFLICT(did) DO UPDATE SET allow_force = excluded.allow_force"
                " WHERE revoked = 0",
    [Q_REVOKE] = "INSERT INTO build_servers(did, revoked, added, revoked_at) VALUES(?1, 1, ?2, ?2)"
                 " ON CONFLICT(did) DO UPDATE SET revoked = 1, revoked_at = ?2"
                 " WHERE revoked = 0",
    [Q_JTI_USED] = "SELECT 1 FROM jti WHERE build_server = ?1 AND jti = ?2",
    [Q_JTI_ADD] = "INSERT INTO jti(build_server, jti, exp) VALUES(?1, ?2, ?3)",
    [Q_JTI_PRUNE] = "DELETE FROM jti WHERE exp < ?1",
    [Q_HIGHEST] = "SELECT security_version FROM highest WHERE hardware = ?1",
    [Q_HIGHEST_SET] =
        "INSERT INTO highest(hardware, security_version, version, release_sha256, updated)"
        " VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(hardware) DO UPDATE SET"
        " security_version = excluded.security_version, version = excluded.version,"
        " release_sha256 = excluded.release_sha256, updated = excluded.updated"
        " WHERE excluded.security_version > highest.security_version",
    [Q_AUDIT_ADD] = "INSERT INTO audit(time, event, build_server, jti, release_sha256, version,"
                    " security_version, forced, code, name, reason, peer)"
                    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    [Q_LIST_SERVERS] = "SELECT did, revoked, allow_force, added, revoked_at FROM build_servers"
                       " ORDER BY added, did",
    [Q_LIST_HIGHEST] = "SELECT hardware, security_version, version, release_sha256, updated"
                       " FROM highest ORDER BY hardware",
    [Q_LIST_AUDIT] = "SELECT id, time, event, build_server, jti, release_sha256, version,"
                     " security_version, forced, code, name, reason, peer FROM"
                     " (SELECT * FROM audit ORDER BY id DESC LIMIT ?1) ORDER BY id",
    [Q_COUNT_AUDIT] = "SELECT count(*) FROM audit",
    [Q_COUNT_JTI] = "SELECT count(*) FROM jti",
};

struct cosignd_db {
    sqlite3 *h;
    sqlite3_stmt *q[Q__COUNT];
};

static vouch_code db_pragmas(cosignd_db *db, vouch_err *err)
{
    char *msg = NULL;
    int r;

    sqlite3_busy_timeout(db->h, DB_BUSY_MS);
    /* each is a fixed text: nothing from outside reaches these */
    r = sqlite3_exec(db->h,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                     " PRAGMA foreign_keys=ON; PRAGMA trusted_schema=OFF;",
                     NULL, NULL, &msg);
    sqlite3_free(msg);
    if (r != SQLITE_OK)
        return sqlu_fail(db->h, "setting pragmas", err);
    return VOUCH_OK;
}

static vouch_code db_schema(cosignd_db *db, int create, vouch_err *err)
{
    sqlite3_stmt *st = NULL;
    char *msg = NULL;
    int version = -1, r;
    vouch_code rc;

    r = sqlite3_prepare_v2(db->h, "PRAGMA user_version", -1, &st, NULL);
    if (r == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (version < 0) {
        rc = sqlu_fail(db->h, "reading the schema version", err);
        goto out;
    }
    if (version == DB_SCHEMA_VERSION) {
        rc = VOUCH_OK;
        goto out;
    }
    if (version != 0 || !create) {
        rc = vouch_err_set(err, VOUCH_E_DB, "database schema version %d; this program knows %d",
                           version, DB_SCHEMA_VERSION);
        goto out;
    }
    r = sqlite3_exec(db->h, "BEGIN IMMEDIATE", NULL, NULL, &msg);
    if (r == SQLITE_OK)
        r = sqlite3_exec(db->h, schema_sql, NULL, NULL, &msg);
    if (r == SQLITE_OK)
        r = sqlite3_exec(db->h, "PRAGMA user_version = 1; COMMIT", NULL, NULL, &msg);
    sqlite3_free(msg);
    if (r != SQLITE_OK) {
        rc = sqlu_fail(db->h, "creating the schema", err);
        sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
        goto out;
    }
    rc = VOUCH_OK;
out:
    return rc;
}

vouch_code cosignd_db_open(const char *path, int create, cosignd_db **out, vouch_err *err)
{
    cosignd_db *db = NULL;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_NOFOLLOW;
    vouch_code rc;

    *out = NULL;
    db = vouch_calloc(1, sizeof(*db));
    if (!db) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory opening the database");
        goto out;
    }
    if (create)
        flags |= SQLITE_OPEN_CREATE;
    if (sqlite3_open_v2(path, &db->h, flags, NULL) != SQLITE_OK) {
        rc = create ? sqlu_fail(db->h, "opening", err)
                    : vouch_err_set(err, VOUCH_E_DB, "database: cannot open %s: %s", path,
                                    db->h ? sqlite3_errmsg(db->h) : "out of memory");
        goto out;
    }
    sqlite3_extended_result_codes(db->h, 1);
    if ((rc = db_pragmas(db, err)) != VOUCH_OK || (rc = db_schema(db, create, err)) != VOUCH_OK)
        goto out;
    for (int i = 0; i < Q__COUNT; i++)
        if (sqlite3_prepare_v3(db->h, query_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &db->q[i],
                               NULL) != SQLITE_OK) {
            rc = sqlu_fail(db->h, "preparing a statement", err);
            goto out;
        }
    *out = db;
    db = NULL;
    rc = VOUCH_OK;
out:
    cosignd_db_close(db);
    return rc;
}

void cosignd_db_close(cosignd_db *db)
{
    if (!db)
        return;
    for (int i = 0; i < Q__COUNT; i++)
        sqlite3_finalize(db->q[i]);
    sqlite3_close(db->h);
    vouch_free(db);
}

vouch_code cosignd_db_check(cosignd_db *db, vouch_err *err)
{
    sqlite3_stmt *st = NULL;
    int ok = 0;

    if (sqlite3_prepare_v2(db->h, "PRAGMA quick_check", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(st, 0);
        ok = t && strcmp((const char *)t, "ok") == 0;
    }
    sqlite3_finalize(st);
    if (!ok)
        return vouch_err_set(err, VOUCH_E_DB, "database fails its integrity check");
    return VOUCH_OK;
}

vouch_code cosignd_db_begin(cosignd_db *db, vouch_err *err)
{
    return sqlu_run(db->h, sqlu_fresh(db->q[Q_BEGIN]), "begin", NULL, err);
}

vouch_code cosignd_db_commit(cosignd_db *db, vouch_err *err)
{
    return sqlu_run(db->h, sqlu_fresh(db->q[Q_COMMIT]), "commit", NULL, err);
}

void cosignd_db_rollback(cosignd_db *db)
{
    if (!sqlite3_get_autocommit(db->h))
        (void)sqlu_run(db->h, sqlu_fresh(db->q[Q_ROLLBACK]), "rollback", NULL, NULL);
}

vouch_code cosignd_db_server(cosignd_db *db, const char *did, cosignd_server_row *row,
                             vouch_err *err)
{
    sqlite3_stmt *st = sqlu_fresh(db->q[Q_SERVER]);
    int r;

    memset(row, 0, sizeof(*row));
    if (sqlu_bind_text(st, 1, did) != SQLITE_OK)
        return sqlu_fail(db->h, "binding", err);
    r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        row->found = 1;
        row->revoked = sqlite3_column_int(st, 0) != 0;
        row->allow_force = sqlite3_column_int(st, 1) != 0;
    }
    sqlite3_reset(st);
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        return sqlu_fail(db->h, "looking up a build server", err);
    return VOUCH_OK;
}

vouch_code cosignd_db_allow(cosignd_db *db, const char *did, int allow_force, int64_t now,
                            vouch_err *err)
{
    sqlite3_stmt *st;
    cosignd_server_row row;
    vouch_code rc;

    if ((rc = cosignd_db_server(db, did, &row, err)) != VOUCH_OK)
        return rc;
    if (row.revoked)
        return vouch_err_set(err, VOUCH_E_COSIGN_REVOKED,
                             "this build server was revoked; a revoked key is never allowed again "
                             "(give the build server a new key)");
    st = sqlu_fresh(db->q[Q_ALLOW]);
    if (sqlu_bind_text(st, 1, did) != SQLITE_OK || sqlite3_bind_int(st, 2, allow_force ? 1 : 0) ||
        sqlite3_bind_int64(st, 3, now))
        return sqlu_fail(db->h, "binding", err);
    return sqlu_run(db->h, st, "allowing a build server", NULL, err);
}

vouch_code cosignd_db_revoke(cosignd_db *db, const char *did, int64_t now, vouch_err *err)
{
    sqlite3_stmt *st = sqlu_fresh(db->q[Q_REVOKE]);

    if (sqlu_bind_text(st, 1, did) != SQLITE_OK || sqlite3_bind_int64(st, 2, now))
        return sqlu_fail(db->h, "binding", err);
    return sqlu_run(db->h, st, "revoking a build server", NULL, err);
}

vouch_code cosignd_db_jti_used(cosignd_db *db, const char *did, const char *jti, int *used,
                               vouch_err *err)
{
    sqlite3_stmt *st = sqlu_fresh(db->q[Q_JTI_USED]);
    int r;

    *used = 0;
    if (sqlu_bind_text(st, 1, did) != SQLITE_OK || sqlu_bind_text(st, 2, jti) != SQLITE_OK)
        return sqlu_fail(db->h, "binding", err);
    r = sqlite3_step(st);
    sqlite3_reset(st);
    if (r == SQLITE_ROW)
        *used = 1;
    else if (r != SQLITE_DONE)
        return sqlu_fail(db->h, "looking up a jti", err);
    return VOUCH_OK;
}

vouch_code cosignd_db_highest(cosignd_db *db, const char *hw, int64_t *sv, vouch_err *err)
{
    sqlite3_stmt *st = sqlu_fresh(db->q[Q_HIGHEST]);
    int r;

    *sv = -1;
    if (sqlu_bind_text(st, 1, hw) != SQLITE_OK)
        return sqlu_fail(db->h, "binding", err);
    r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        *sv = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        return sqlu_fail(db->h, "looking up the highest securityVersion", err);
    return VOUCH_OK;
}

vouch_code cosignd_db_record(cosignd_db *db, const char *did, const char *jti, int64_t exp,
                             const vouch_release *rel, const char *sha_hex, int64_t now,
                             vouch_err *err)
{
    sqlite3_stmt *st = sqlu_fresh(db->q[Q_JTI_ADD]);
    vouch_code rc;

    /* the primary key is the last guard against a jti accepted twice */
    if (sqlu_bind_text(st, 1, did) != SQLITE_OK || sqlu_bind_text(st, 2, jti) != SQLITE_OK ||
        sqlite3_bind_int64(st, 3, exp))
        return sqlu_fail(db->h, "binding", err);
    if (sqlite3_step(st) != SQLITE_DONE) {
        int ext = sqlite3_extended_errcode(db->h);
        sqlite3_reset(st);
        if (ext == SQLITE_CONSTRAINT_PRIMARYKEY)
            return vouch_err_set(err, VOUCH_E_COSIGN_REPLAY, "request id (jti) already used");
        return sqlu_fail(db->h, "recording a jti", err);
    }
    sqlite3_reset(st);
    for (size_t i = 0; i < rel->nhardware; i++) {
        st = sqlu_fresh(db->q[Q_HIGHEST_SET]);
        if (sqlu_bind_text(st, 1, rel->hardware[i]) != SQLITE_OK ||
            sqlite3_bind_int64(st, 2, rel->security_version) ||
            sqlu_bind_text(st, 3, rel->version) != SQLITE_OK || sqlu_bind_text(st, 4, sha_hex) ||
            sqlite3_bind_int64(st, 5, now))
            return sqlu_fail(db->h, "binding", err);
        if ((rc = sqlu_run(db->h, st, "recording the highest securityVersion", NULL, err)) !=
            VOUCH_OK)
            return rc;
    }
    return VOUCH_OK;
}

vouch_code cosignd_db_prune(cosignd_db *db, int64_t now, vouch_err *err)
{
    sqlite3_stmt *st = sqlu_fresh(db->q[Q_JTI_PRUNE]);

    if (sqlite3_bind_int64(st, 1, now - JTI_KEEP_AFTER_EXP))
        return sqlu_fail(db->h, "binding", err);
    return sqlu_run(db->h, st, "pruning expired jtis", NULL, err);
}

vouch_code cosignd_db_audit_insert(cosignd_db *db, const cosignd_audit *a, int64_t *id,
                                   vouch_err *err)
{
    sqlite3_stmt *st = sqlu_fresh(db->q[Q_AUDIT_ADD]);
    int bad = 0;
    vouch_code rc;

    bad |= sqlite3_bind_int64(st, 1, a->time);
    bad |= sqlu_bind_text(st, 2, a->event);
    bad |= sqlu_bind_text(st, 3, a->build_server);
    bad |= sqlu_bind_text(st, 4, a->jti);
    bad |= sqlu_bind_text(st, 5, a->release_sha256);
    bad |= sqlu_bind_text(st, 6, a->version);
    bad |= a->security_version >= 0 ? sqlite3_bind_int64(st, 7, a->security_version)
                                    : sqlite3_bind_null(st, 7);
    bad |= sqlite3_bind_int(st, 8, a->forced ? 1 : 0);
    bad |= sqlite3_bind_int(st, 9, (int)a->code);
    bad |= sqlu_bind_text(st, 10, vouch_code_name(a->code));
    bad |= sqlu_bind_text(st, 11, a->reason ? a->reason : "");
    bad |= sqlu_bind_text(st, 12, a->peer);
    if (bad)
        return sqlu_fail(db->h, "binding", err);
    rc = sqlu_run(db->h, st, "appending to the audit table", NULL, err);
    if (rc == VOUCH_OK && id)
        *id = sqlite3_last_insert_rowid(db->h);
    return rc;
}

/* Column c of the current row as JSON (text, integer or null). */
static json_t *col_json(sqlite3_stmt *st, int c)
{
    switch (sqlite3_column_type(st, c)) {
    case SQLITE_INTEGER:
        return json_integer((json_int_t)sqlite3_column_int64(st, c));
    case SQLITE_TEXT:
        return json_stringn((const char *)sqlite3_column_text(st, c),
                            (size_t)sqlite3_column_bytes(st, c));
    default:
        return json_null();
    }
}

/* Runs a listing statement into an array of objects named by cols. */
static vouch_code db_list(cosignd_db *db, sqlite3_stmt *st, const char *const *cols, json_t **out,
                          vouch_err *err)
{
    json_t *arr = json_array(), *row;
    int r, ncols = 0;
    vouch_code rc = VOUCH_OK;

    *out = NULL;
    while (cols[ncols])
        ncols++;
    if (!arr) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory listing");
        goto out;
    }
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        row = json_object();
        if (!row || json_array_append_new(arr, row) != 0) {
            rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory listing");
            goto out;
        }
        for (int c = 0; c < ncols; c++)
            if (json_object_set_new(row, cols[c], col_json(st, c)) != 0) {
                rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory listing");
                goto out;
            }
    }
    if (r != SQLITE_DONE) {
        rc = sqlu_fail(db->h, "listing", err);
        goto out;
    }
    *out = arr;
    arr = NULL;
out:
    sqlite3_reset(st);
    json_decref(arr);
    return rc;
}

static const char *const server_cols[] = {"did", "revoked", "allowForce", "added", "revokedAt",
                                          NULL};
static const char *const highest_cols[] = {"hardware", "securityVersion", "version",
                                           "releaseSha256", "updated", NULL};
static const char *const audit_cols[] = {"id", "time", "event", "buildServer", "jti",
                                         "releaseSha256", "version", "securityVersion", "forced",
                                         "code", "name", "reason", "peer", NULL};

vouch_code cosignd_db_list_servers(cosignd_db *db, json_t **out, vouch_err *err)
{
    return db_list(db, sqlu_fresh(db->q[Q_LIST_SERVERS]), server_cols, out, err);
}

vouch_code cosignd_db_list_highest(cosignd_db *db, json_t **out, vouch_err *err)
{
    return db_list(db, sqlu_fresh(db->q[Q_LIST_HIGHEST]), highest_cols, out, err);
}

vouch_code cosignd_db_list_audit(cosignd_db *db, int64_t limit, json_t **out, vouch_err *err)
{
    sqlite3_stmt *st = sqlu_fresh(db->q[Q_LIST_AUDIT]);

    if (sqlite3_bind_int64(st, 1, limit))
        return sqlu_fail(db->h, "binding", err);
    return db_list(db, st, audit_cols, out, err);
}

static vouch_code db_count(cosignd_db *db, int q, int64_t *n, vouch_err *err)
{
    sqlite3_stmt *st = sqlu_fresh(db->q[q]);
    int r = sqlite3_step(st);

    *n = r == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_reset(st);
    if (r != SQLITE_ROW)
        return sqlu_fail(db->h, "counting", err);
    return VOUCH_OK;
}

vouch_code cosignd_db_counts(cosignd_db *db, int64_t *audit_rows, int64_t *jti_rows,
                             vouch_err *err)
{
    vouch_code rc = db_count(db, Q_COUNT_AUDIT, audit_rows, err);

    if (rc == VOUCH_OK)
        rc = db_count(db, Q_COUNT_JTI, jti_rows, err);
    return rc;
}
