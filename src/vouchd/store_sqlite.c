/* store_sqlite.c - vouchd's store in SQLite (WAL, busy timeout).
 *
 * One connection, prepared statements, used under one mutex: the
 * signature work of a login happens outside it, only the short statements
 * run inside. Every statement has bound parameters; the texts below are the
 * only SQL of this backend. synchronous=NORMAL in WAL mode: a process crash
 * (kill -9) loses nothing committed; a power loss may lose the last
 * transactions, which can only forget logins and tokens issued just before
 * it (docs/decisions.md). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>
#include <sqlite3.h>

#include "sqlite/sqlu.h"
#include "vouchd/vouchd.h"

#define DB_SCHEMA_VERSION 3
#define DB_STR_(x) #x
#define DB_STR(x) DB_STR_(x)
#define DB_BUSY_MS 5000

/* Schema 3. What one login writes is what the store costs: every page a
 * transaction changes is a WAL frame (a page-sized write, and a copy at the
 * next checkpoint), and every transaction takes and drops file locks. So a
 * login writes once, when it is answered (its state is sealed, not stored:
 * login_state.c), in one transaction; logins and tokens are WITHOUT ROWID
 * tables keyed by their own keys (one b-tree each, no unique index beside
 * it), and those keys begin with the expiry time (vd_exp_prefix): rows
 * arrive nearly in key order, and pruning is a range delete on the key,
 * with no expiry index to keep. The audit table's ids come from its rowid
 * (append-only, so never reused) rather than AUTOINCREMENT's extra
 * sqlite_sequence page. secrets holds the state key. */
static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS logins("
    " state TEXT PRIMARY KEY NOT NULL,"
    " did TEXT NOT NULL,"
    " answered INTEGER NOT NULL,"
    " expires INTEGER NOT NULL) STRICT, WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS secrets("
    " name TEXT PRIMARY KEY NOT NULL,"
    " value BLOB NOT NULL) STRICT;"
    "CREATE TABLE IF NOT EXISTS devices("
    " did TEXT PRIMARY KEY NOT NULL,"
    " registered INTEGER NOT NULL DEFAULT 0 CHECK(registered IN (0,1)),"
    " revoked INTEGER NOT NULL DEFAULT 0 CHECK(revoked IN (0,1)),"
    " registered_at INTEGER,"
    " revoked_at INTEGER) STRICT;"
    "CREATE TABLE IF NOT EXISTS tokens("
    " key BLOB PRIMARY KEY NOT NULL CHECK(length(key) = 40),"
    " did TEXT NOT NULL,"
    " serial TEXT NOT NULL,"
    " hardware TEXT NOT NULL,"
    " login_state TEXT NOT NULL,"
    " issued INTEGER NOT NULL,"
    " expires INTEGER NOT NULL,"
    " revoked INTEGER NOT NULL DEFAULT 0 CHECK(revoked IN (0,1))) STRICT, WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS tokens_did ON tokens(did, expires);"
    "CREATE TABLE IF NOT EXISTS audit("
    " id INTEGER PRIMARY KEY,"
    " time INTEGER NOT NULL,"
    " event TEXT NOT NULL CHECK(event IN ('login','clone','revoked','registered')),"
    " did TEXT NOT NULL,"
    " code INTEGER NOT NULL,"
    " peer TEXT);"
    "CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;"
    "CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;";

/* From schema 1 or 2: logins last minutes and tokens at most a day, so
 * their tables are made anew (devices log in again; schema 2's tokens are
 * kept); devices and audit are kept as they are (schema 1's audit keeps
 * AUTOINCREMENT, which is harmless). */
static const char migrate_1_sql[] = "DROP TABLE IF EXISTS logins; DROP TABLE IF EXISTS tokens;";
static const char migrate_2_sql[] = "DROP TABLE IF EXISTS logins;";

enum {
    Q_BEGIN,
    Q_COMMIT,
    Q_ROLLBACK,
    Q_STATE_KEY,
    Q_DEVICE,
    Q_ANSWER,
    Q_LIVE_TOKENS,
    Q_TOKEN_ADD,
    Q_AUDIT_ADD,
    Q_TOKEN_CHECK,
    Q_REVOKE,
    Q_REVOKE_TOKENS,
    Q_ENROLL,
    Q_PRUNE_LOGINS,
    Q_PRUNE_TOKENS,
    Q_COUNT_LOGINS,
    Q_COUNT_TOKENS,
    Q_COUNT_AUDIT,
    Q__COUNT
};

static const char *const query_sql[Q__COUNT] = {
    [Q_BEGIN] = "BEGIN IMMEDIATE",
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
    [Q_STATE_KEY] = "SELECT value FROM secrets WHERE name = 'state'",
    [Q_DEVICE] = "SELECT registered, revoked FROM devices WHERE did = ?1",
    /* the nonce's single use: a state answered before is already a row */
    [Q_ANSWER] = "INSERT INTO logins(state, did, answered, expires) VALUES(?1, ?2, ?3, ?4)"
                 " ON CONFLICT(state) DO NOTHING",
    /* whether one exists, not how many (a count walks every live token of
     * a device that logs in often) */
    [Q_LIVE_TOKENS] = "SELECT EXISTS(SELECT 1 FROM tokens WHERE did = ?1 AND expires > ?2"
                      " AND revoked = 0)",
    [Q_TOKEN_ADD] = "INSERT INTO tokens(key, did, serial, hardware, login_state, issued, expires)"
                    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [Q_AUDIT_ADD] = "INSERT INTO audit(time, event, did, code, peer) VALUES(?1, ?2, ?3, ?4, ?5)",
    [Q_TOKEN_CHECK] = "SELECT t.key, t.did, t.serial, t.hardware, t.expires FROM tokens t"
                      " WHERE t.key = ?1 AND t.expires > ?2 AND t.revoked = 0"
                      " AND NOT EXISTS(SELECT 1 FROM devices d WHERE d.did = t.did"
                      " AND d.revoked = 1)",
    [Q_REVOKE] = "INSERT INTO devices(did, revoked, revoked_at) VALUES(?1, 1, ?2)"
                 " ON CONFLICT(did) DO UPDATE SET revoked = 1, revoked_at = ?2"
                 " WHERE revoked = 0",
    [Q_REVOKE_TOKENS] = "UPDATE tokens SET revoked = 1 WHERE did = ?1 AND revoked = 0",
    [Q_ENROLL] = "INSERT INTO devices(did, registered, registered_at) VALUES(?1, 1, ?2)"
                 " ON CONFLICT(did) DO UPDATE SET registered = 1, registered_at = ?2"
                 " WHERE registered = 0",
    /* ?1: vd_exp_prefix(before), which sorts before every key of a row
     * expiring at or after `before` and after every key of one expiring
     * earlier */
    [Q_PRUNE_LOGINS] = "DELETE FROM logins WHERE state < ?1",
    [Q_PRUNE_TOKENS] = "DELETE FROM tokens WHERE key < ?1",
    [Q_COUNT_LOGINS] = "SELECT count(*) FROM logins",
    [Q_COUNT_TOKENS] = "SELECT count(*) FROM tokens",
    [Q_COUNT_AUDIT] = "SELECT count(*) FROM audit",
};

typedef struct sq_store {
    vd_store base;
    sqlite3 *h;
    sqlite3_stmt *q[Q__COUNT];
    pthread_mutex_t lock;
} sq_store;

static vouch_code sq_begin(sq_store *db, vouch_err *err)
{
    return sqlu_run(db->h, sqlu_fresh(db->q[Q_BEGIN]), "begin", NULL, err);
}

static vouch_code sq_commit(sq_store *db, vouch_err *err)
{
    return sqlu_run(db->h, sqlu_fresh(db->q[Q_COMMIT]), "commit", NULL, err);
}

static void sq_rollback(sq_store *db)
{
    if (!sqlite3_get_autocommit(db->h))
        (void)sqlu_run(db->h, sqlu_fresh(db->q[Q_ROLLBACK]), "rollback", NULL, NULL);
}

static vouch_code sq_state_key(vd_store *s, uint8_t key[VD_STATE_KEY_LEN], vouch_err *err)
{
    sq_store *db = (sq_store *)s;
    sqlite3_stmt *st;
    int r;
    vouch_code rc = VOUCH_OK;

    pthread_mutex_lock(&db->lock);
    st = sqlu_fresh(db->q[Q_STATE_KEY]);
    r = sqlite3_step(st);
    if (r == SQLITE_ROW && sqlite3_column_bytes(st, 0) == VD_STATE_KEY_LEN)
        memcpy(key, sqlite3_column_blob(st, 0), VD_STATE_KEY_LEN);
    else if (r == SQLITE_ROW || r == SQLITE_DONE)
        rc = vouch_err_set(err, VOUCH_E_DB, "database: the state key is missing or malformed");
    else
        rc = sqlu_fail(db->h, "reading the state key", err);
    sqlite3_reset(st);
    pthread_mutex_unlock(&db->lock);
    return rc;
}

static vouch_code sq_audit(sq_store *db, int64_t now, const char *event, const char *did,
                           vouch_code code, const char *peer, vouch_err *err)
{
    sqlite3_stmt *st = sqlu_fresh(db->q[Q_AUDIT_ADD]);

    if (sqlite3_bind_int64(st, 1, now) || sqlu_bind_text(st, 2, event) ||
        sqlu_bind_text(st, 3, did) || sqlite3_bind_int(st, 4, (int)code) ||
        sqlu_bind_text(st, 5, peer))
        return sqlu_fail(db->h, "binding", err);
    return sqlu_run(db->h, st, "writing an audit row", NULL, err);
}

static vouch_code sq_login_finish(vd_store *s, const vd_finish *f, int *clone, vouch_err *err)
{
    sq_store *db = (sq_store *)s;
    sqlite3_stmt *st;
    int r, changed = 0, registered = 0, revoked = 0;
    int64_t live = 0;
    vouch_code rc;

    *clone = 0;
    pthread_mutex_lock(&db->lock);
    if ((rc = sq_begin(db, err)) != VOUCH_OK)
        goto out;

    st = sqlu_fresh(db->q[Q_DEVICE]);
    if (sqlu_bind_text(st, 1, f->did) != SQLITE_OK) {
        rc = sqlu_fail(db->h, "binding", err);
        goto out;
    }
    r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        registered = sqlite3_column_int(st, 0) != 0;
        revoked = sqlite3_column_int(st, 1) != 0;
    }
    sqlite3_reset(st);
    if (r != SQLITE_ROW && r != SQLITE_DONE) {
        rc = sqlu_fail(db->h, "looking up a device", err);
        goto out;
    }
    if (revoked) {
        rc = vouch_err_set(err, VOUCH_E_LOGIN_REVOKED, "this device is revoked");
        goto out;
    }
    if (f->allowlist_mode && !registered) {
        rc = vouch_err_set(err, VOUCH_E_LOGIN_NOT_REGISTERED, "this device key is not registered");
        goto out;
    }

    /* the single use of the nonce: exactly one concurrent response wins */
    if (f->state_expires <= f->now) {
        rc = vouch_err_set(err, VOUCH_E_LOGIN_NONCE, "nonce expired");
        goto out;
    }
    st = sqlu_fresh(db->q[Q_ANSWER]);
    if (sqlu_bind_text(st, 1, f->state) || sqlu_bind_text(st, 2, f->did) ||
        sqlite3_bind_int64(st, 3, f->now) || sqlite3_bind_int64(st, 4, f->state_expires)) {
        rc = sqlu_fail(db->h, "binding", err);
        goto out;
    }
    if ((rc = sqlu_run(db->h, st, "consuming a nonce", &changed, err)) != VOUCH_OK)
        goto out;
    if (changed != 1) {
        rc = vouch_err_set(err, VOUCH_E_LOGIN_NONCE, "nonce already used");
        goto out;
    }

    st = sqlu_fresh(db->q[Q_LIVE_TOKENS]);
    if (sqlu_bind_text(st, 1, f->did) || sqlite3_bind_int64(st, 2, f->now)) {
        rc = sqlu_fail(db->h, "binding", err);
        goto out;
    }
    r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        live = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (r != SQLITE_ROW) {
        rc = sqlu_fail(db->h, "counting live tokens", err);
        goto out;
    }
    if (live > 0) {
        *clone = 1;
        if ((rc = sq_audit(db, f->now, "clone", f->did,
                           f->refuse_clones ? VOUCH_E_LOGIN_CLONE : VOUCH_OK, f->peer, err)) !=
            VOUCH_OK)
            goto out;
        if (f->refuse_clones) {
            if ((rc = sq_commit(db, err)) != VOUCH_OK)
                goto out;
            rc = vouch_err_set(err, VOUCH_E_LOGIN_CLONE,
                               "this device key already has a live session");
            goto out;
        }
    }

    st = sqlu_fresh(db->q[Q_TOKEN_ADD]);
    if (sqlite3_bind_blob(st, 1, f->token_key, VD_TOKEN_KEY_LEN, SQLITE_TRANSIENT) ||
        sqlu_bind_text(st, 2, f->did) || sqlu_bind_text(st, 3, f->serial) ||
        sqlu_bind_text(st, 4, f->hardware) || sqlu_bind_text(st, 5, f->state) ||
        sqlite3_bind_int64(st, 6, f->now) || sqlite3_bind_int64(st, 7, f->token_expires)) {
        rc = sqlu_fail(db->h, "binding", err);
        goto out;
    }
    if ((rc = sqlu_run(db->h, st, "storing a token", NULL, err)) != VOUCH_OK ||
        (rc = sq_audit(db, f->now, "login", f->did, VOUCH_OK, f->peer, err)) != VOUCH_OK ||
        (rc = sq_commit(db, err)) != VOUCH_OK)
        goto out;
out:
    sq_rollback(db);
    pthread_mutex_unlock(&db->lock);
    return rc;
}

static vouch_code sq_token_check(vd_store *s, const uint8_t key[VD_TOKEN_KEY_LEN], int64_t now,
                                 vd_token_row *row, vouch_err *err)
{
    sq_store *db = (sq_store *)s;
    sqlite3_stmt *st;
    int r;
    vouch_code rc = VOUCH_OK;

    memset(row, 0, sizeof(*row));
    pthread_mutex_lock(&db->lock);
    st = sqlu_fresh(db->q[Q_TOKEN_CHECK]);
    if (sqlite3_bind_blob(st, 1, key, VD_TOKEN_KEY_LEN, SQLITE_TRANSIENT) ||
        sqlite3_bind_int64(st, 2, now)) {
        rc = sqlu_fail(db->h, "binding", err);
        goto out;
    }
    r = sqlite3_step(st);
    if (r == SQLITE_ROW && sqlite3_column_bytes(st, 0) == VD_TOKEN_KEY_LEN &&
        vouch_ct_equal(sqlite3_column_blob(st, 0), key, VD_TOKEN_KEY_LEN)) {
        sqlu_copy_text(st, 1, row->did, sizeof(row->did));
        sqlu_copy_text(st, 2, row->serial, sizeof(row->serial));
        sqlu_copy_text(st, 3, row->hardware, sizeof(row->hardware));
        row->expires = sqlite3_column_int64(st, 4);
    } else if (r == SQLITE_ROW || r == SQLITE_DONE) {
        rc = vouch_err_set(err, VOUCH_E_LOGIN_TOKEN, "access token unknown, expired or revoked");
    } else {
        rc = sqlu_fail(db->h, "checking a token", err);
    }
    sqlite3_reset(st);
out:
    pthread_mutex_unlock(&db->lock);
    return rc;
}

static vouch_code sq_mark(vd_store *s, int q, const char *event, const char *did, int64_t now,
                          int *changed, vouch_err *err)
{
    sq_store *db = (sq_store *)s;
    sqlite3_stmt *st;
    vouch_code rc;

    *changed = 0;
    pthread_mutex_lock(&db->lock);
    if ((rc = sq_begin(db, err)) != VOUCH_OK)
        goto out;
    st = sqlu_fresh(db->q[q]);
    if (sqlu_bind_text(st, 1, did) || sqlite3_bind_int64(st, 2, now)) {
        rc = sqlu_fail(db->h, "binding", err);
        goto out;
    }
    if ((rc = sqlu_run(db->h, st, event, changed, err)) != VOUCH_OK)
        goto out;
    if (q == Q_REVOKE) {
        st = sqlu_fresh(db->q[Q_REVOKE_TOKENS]);
        if (sqlu_bind_text(st, 1, did)) {
            rc = sqlu_fail(db->h, "binding", err);
            goto out;
        }
        if ((rc = sqlu_run(db->h, st, "revoking tokens", NULL, err)) != VOUCH_OK)
            goto out;
    }
    if (*changed && (rc = sq_audit(db, now, event, did, VOUCH_OK, NULL, err)) != VOUCH_OK)
        goto out;
    rc = sq_commit(db, err);
out:
    sq_rollback(db);
    pthread_mutex_unlock(&db->lock);
    return rc;
}

static vouch_code sq_revoke(vd_store *s, const char *did, int64_t now, int *changed,
                            vouch_err *err)
{
    return sq_mark(s, Q_REVOKE, "revoked", did, now, changed, err);
}

static vouch_code sq_enroll(vd_store *s, const char *did, int64_t now, int *changed,
                            vouch_err *err)
{
    return sq_mark(s, Q_ENROLL, "registered", did, now, changed, err);
}

static vouch_code sq_prune(vd_store *s, int64_t before, vouch_err *err)
{
    sq_store *db = (sq_store *)s;
    sqlite3_stmt *st;
    char cut[VD_EXP_LEN + 1];
    vouch_code rc;

    vd_exp_prefix(before, cut);
    pthread_mutex_lock(&db->lock);
    st = sqlu_fresh(db->q[Q_PRUNE_LOGINS]);
    if (sqlite3_bind_text(st, 1, cut, VD_EXP_LEN, SQLITE_TRANSIENT)) {
        rc = sqlu_fail(db->h, "binding", err);
        goto out;
    }
    if ((rc = sqlu_run(db->h, st, "pruning logins", NULL, err)) != VOUCH_OK)
        goto out;
    st = sqlu_fresh(db->q[Q_PRUNE_TOKENS]);
    if (sqlite3_bind_blob(st, 1, cut, VD_EXP_LEN, SQLITE_TRANSIENT)) {
        rc = sqlu_fail(db->h, "binding", err);
        goto out;
    }
    rc = sqlu_run(db->h, st, "pruning tokens", NULL, err);
out:
    pthread_mutex_unlock(&db->lock);
    return rc;
}

static vouch_code sq_count(sq_store *db, int q, int64_t *n, vouch_err *err)
{
    sqlite3_stmt *st = sqlu_fresh(db->q[q]);
    int r = sqlite3_step(st);

    *n = r == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return r == SQLITE_ROW ? VOUCH_OK : sqlu_fail(db->h, "counting", err);
}

static vouch_code sq_counts(vd_store *s, int64_t *logins, int64_t *tokens, int64_t *audit,
                            vouch_err *err)
{
    sq_store *db = (sq_store *)s;
    vouch_code rc;

    pthread_mutex_lock(&db->lock);
    if ((rc = sq_count(db, Q_COUNT_LOGINS, logins, err)) == VOUCH_OK &&
        (rc = sq_count(db, Q_COUNT_TOKENS, tokens, err)) == VOUCH_OK)
        rc = sq_count(db, Q_COUNT_AUDIT, audit, err);
    pthread_mutex_unlock(&db->lock);
    return rc;
}

static void sq_close(vd_store *s)
{
    sq_store *db = (sq_store *)s;

    if (!db)
        return;
    for (int i = 0; i < Q__COUNT; i++)
        sqlite3_finalize(db->q[i]);
    sqlite3_close(db->h);
    pthread_mutex_destroy(&db->lock);
    vouch_free(db);
}

static const vd_store_ops sq_ops = {
    sq_state_key, sq_login_finish, sq_token_check, sq_revoke,
    sq_enroll,    sq_prune,        sq_counts,      sq_close,
};

static int sq_user_version(sq_store *db)
{
    sqlite3_stmt *st = NULL;
    int version = -1;

    if (sqlite3_prepare_v2(db->h, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return version;
}

/* A new state key, from OpenSSL's generator (not SQLite's randomblob). */
static int sq_add_state_key(sq_store *db)
{
    uint8_t key[VD_STATE_KEY_LEN];
    sqlite3_stmt *st = NULL;
    int r = SQLITE_ERROR;

    if (RAND_bytes(key, sizeof(key)) == 1 &&
        (r = sqlite3_prepare_v2(db->h, "INSERT INTO secrets(name, value) VALUES('state', ?1)", -1,
                                &st, NULL)) == SQLITE_OK &&
        (r = sqlite3_bind_blob(st, 1, key, sizeof(key), SQLITE_TRANSIENT)) == SQLITE_OK)
        r = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
    sqlite3_finalize(st);
    vouch_wipe(key, sizeof(key));
    return r;
}

/* Creates the schema in an empty database (create) or upgrades schema 1 or
 * 2; the version is read again inside the write transaction, so that of two
 * processes opening at once only one creates or upgrades. */
static vouch_code sq_schema(sq_store *db, int create, vouch_err *err)
{
    char *msg = NULL;
    int version = sq_user_version(db), r;
    vouch_code rc = VOUCH_OK;

    if (version == DB_SCHEMA_VERSION)
        goto out;
    if (sqlite3_exec(db->h, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK) {
        rc = sqlu_fail(db->h, "opening the schema", err);
        goto out;
    }
    version = sq_user_version(db);
    if (version < 0) {
        rc = sqlu_fail(db->h, "reading the schema version", err);
        goto out;
    }
    if (version == DB_SCHEMA_VERSION)
        goto out;
    if (version != 1 && version != 2 && (version != 0 || !create)) {
        rc = vouch_err_set(err, VOUCH_E_DB, "database schema version %d; vouchd knows %d",
                           version, DB_SCHEMA_VERSION);
        goto out;
    }
    r = version == 1   ? sqlite3_exec(db->h, migrate_1_sql, NULL, NULL, &msg)
        : version == 2 ? sqlite3_exec(db->h, migrate_2_sql, NULL, NULL, &msg)
                       : SQLITE_OK;
    if (r == SQLITE_OK)
        r = sqlite3_exec(db->h, schema_sql, NULL, NULL, &msg);
    if (r == SQLITE_OK)
        r = sq_add_state_key(db);
    if (r == SQLITE_OK)
        r = sqlite3_exec(db->h, "PRAGMA user_version = " DB_STR(DB_SCHEMA_VERSION), NULL, NULL, &msg);
    if (r == SQLITE_OK)
        r = sqlite3_exec(db->h, "COMMIT", NULL, NULL, &msg);
    if (r != SQLITE_OK)
        rc = sqlu_fail(db->h, version ? "upgrading the schema" : "creating the schema", err);
out:
    sqlite3_free(msg);
    if (!sqlite3_get_autocommit(db->h))
        sqlite3_exec(db->h, rc == VOUCH_OK ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* The database holds the state key: it and its -wal and -shm files (which
 * SQLite creates with the database's mode) are the owner's alone. Made so
 * before SQLite opens them, tightened if an older vouchd left them open. */
static vouch_code sq_private(const char *path, int create, vouch_err *err)
{
    static const char *const sfx[] = {"", "-wal", "-shm"};
    char p[VD_PATH_MAX + 8];
    struct stat sb;
    vouch_code rc = VOUCH_OK;

    for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]) && rc == VOUCH_OK; i++) {
        int fd;
        if ((size_t)snprintf(p, sizeof(p), "%s%s", path, sfx[i]) >= sizeof(p)) {
            rc = vouch_err_set(err, VOUCH_E_LIMIT, "database path too long");
            break;
        }
        fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (i == 0 && create ? O_CREAT : 0), 0600);
        if (fd < 0) {
            if (errno != ENOENT)
                rc = vouch_err_set(err, VOUCH_E_DB, "database: cannot open %s: %s", p,
                                   strerror(errno));
            continue;
        }
        if (fstat(fd, &sb) != 0 || ((sb.st_mode & 077) && fchmod(fd, sb.st_mode & 0700) != 0))
            rc = vouch_err_set(err, VOUCH_E_DB, "database: cannot make %s private: %s", p,
                               strerror(errno));
        close(fd);
    }
    return rc;
}

vouch_code vd_store_sqlite_open(const char *path, int create, vd_store **out, vouch_err *err)
{
    sq_store *db = NULL;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_NOFOLLOW;
    char *msg = NULL;
    vouch_code rc;

    *out = NULL;
    db = vouch_calloc(1, sizeof(*db));
    if (!db) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory opening the database");
        goto out;
    }
    db->base.ops = &sq_ops;
    pthread_mutex_init(&db->lock, NULL);
    if (create)
        flags |= SQLITE_OPEN_CREATE;
    if ((rc = sq_private(path, create, err)) != VOUCH_OK)
        goto out;
    if (sqlite3_open_v2(path, &db->h, flags, NULL) != SQLITE_OK) {
        rc = vouch_err_set(err, VOUCH_E_DB, "database: cannot open %s: %s", path,
                           db->h ? sqlite3_errmsg(db->h) : "out of memory");
        goto out;
    }
    sqlite3_extended_result_codes(db->h, 1);
    sqlite3_busy_timeout(db->h, DB_BUSY_MS);
    /* a fixed text: nothing from outside reaches it. wal_autocheckpoint:
     * a checkpoint copies each page once however often it changed, then
     * syncs; every 10,000 frames (a WAL of normally at most ~40 MiB) rather
     * than SQLite's 1,000 cut the store's CPU per login by a quarter when
     * it was measured (schema 1, login harness: 104 -> 77 us). Durability
     * is unchanged: commits are in the WAL either way. */
    if (sqlite3_exec(db->h,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                     " PRAGMA foreign_keys=ON; PRAGMA trusted_schema=OFF;"
                     " PRAGMA wal_autocheckpoint=10000;",
                     NULL, NULL, &msg) != SQLITE_OK) {
        sqlite3_free(msg);
        rc = sqlu_fail(db->h, "setting pragmas", err);
        goto out;
    }
    if ((rc = sq_schema(db, create, err)) != VOUCH_OK)
        goto out;
    for (int i = 0; i < Q__COUNT; i++)
        if (sqlite3_prepare_v3(db->h, query_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &db->q[i],
                               NULL) != SQLITE_OK) {
            rc = sqlu_fail(db->h, "preparing a statement", err);
            goto out;
        }
    *out = &db->base;
    db = NULL;
    rc = VOUCH_OK;
out:
    if (db)
        sq_close(&db->base);
    return rc;
}
