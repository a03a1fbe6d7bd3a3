/*
 * cmd_provision.c - `vouch provision`: end of line. Issues a device's
 * ProductionCredential with the project's issuer key, writes its bundle,
 * and records it in the provisioning log. Works offline.
 *
 * A bundle is a directory:
 *   credential.jwt   the ProductionCredential (VC-JWT)
 *   policy.jws       the current signed trust policy (what the device pins)
 *   bundle.json      {"server", "did", "serial", "hardware", "key"}
 * "key" is where the device finds its private key: a PKCS#11 URI (without
 * PIN) or a path, relative paths being relative to the bundle directory.
 *
 * The clone guard: P/provisioning.db (SQLite) has one row per device with
 * UNIQUE serial and UNIQUE key thumbprint (RFC 7638). A serial or a key
 * seen before is refused with VOUCH_E_PROVISION_DUPLICATE before anything
 * is written. P/provisioning.log gets one JSON line per device, fsynced
 * before the database commits, so every committed row has its line.
 *
 * Order for one device: checks -> BEGIN IMMEDIATE -> duplicate check ->
 * issue -> bundle written in a temporary directory, fsynced, renamed into
 * place (never over an existing path) -> INSERT -> log line, fsync ->
 * COMMIT. A failure after the bundle was placed removes it again.
 * Batch mode validates the whole CSV (syntax, keys, duplicates within the
 * file and against the database, existing bundles) before writing
 * anything, then works in chunks of PROV_CHUNK devices: one transaction,
 * one syncfs of the output directory, one fsync of the log per chunk.
 *
 * SQLite: the `vouch` program is not linked with libsqlite3 (see
 * CMakeLists.txt), so its functions are looked up at run time, in the
 * process first (once it is linked) and else in libsqlite3.so.0.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "project.h"
#include "vouch/cli.h"
#include "vouch/siop.h"

#define PROV_CHUNK 1000u
#define PROV_WRITERS 4     /* threads writing one chunk's bundles (I/O bound) */
#define PROV_MAX_BATCH 100000u
#define PROV_CSV_MAX (64u * 1024u * 1024u)
#define PROV_LINE_MAX 2048u
#define PROV_SERIAL_MAX 64u
#define PROV_DEFAULT_LIFETIME (20LL * 365 * 86400)
#define PROV_CSV_HEADER "device,serial,hardware,mac,production_date"

/* ------------------------------------------------------------- sqlite */

/* ------------------------------------------------------------- context */

typedef struct prov_ctx {
    proj pj;
    int pj_loaded;
    vouch_policy *policy;
    vouch_key *issuer;
    const char *issuer_kid;   /* borrowed from the policy */
    const char *policy_jws;   /* borrowed from the policy */
    size_t policy_len;
    const char *server;
    int64_t now, lifetime;
    sqlite3 *db;
    sqlite3_stmt *q_serial, *q_thumb, *ins;
    int logfd;
    int in_tx;
} prov_ctx;

/* One device to provision. */
typedef struct prov_dev {
    vouch_device_facts f;
    char thumb[VOUCH_THUMBPRINT_LEN + 1];
    char key_ref[1024];       /* bundle.json "key" */
    char bundle[PROJ_PATH_MAX];
    char jti[128];
    long line;                /* CSV line, 0 for --device */
    char *cred;               /* the credential, while it is being written */
    char *bjson;              /* bundle.json, likewise */
    int placed;               /* the bundle is in place (remove it on failure) */
    vouch_err werr;           /* a writer thread's failure */
} prov_dev;

static vouch_code prov_sql_fail(prov_ctx *c, const char *what, vouch_err *err)
{
    return vouch_err_set(err, VOUCH_E_DB, "provisioning database: %s: %.160s", what,
                         c->db ? sqlite3_errmsg(c->db) : "not open");
}

static vouch_code prov_exec(prov_ctx *c, const char *sql, vouch_err *err)
{
    if (sqlite3_exec(c->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return prov_sql_fail(c, sql, err);
    return VOUCH_OK;
}

static vouch_code prov_db_open(prov_ctx *c, vouch_err *err)
{
    char path[PROJ_PATH_MAX];
    vouch_code rc;

    if ((rc = proj_path(path, sizeof(path), c->pj.dir, "provisioning.db", err)) != VOUCH_OK)
        return rc;
    if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK)
        return prov_sql_fail(c, "open", err);
    sqlite3_busy_timeout(c->db, 10000);
    if ((rc = prov_exec(c, "PRAGMA journal_mode=WAL", err)) != VOUCH_OK ||
        (rc = prov_exec(c, "PRAGMA synchronous=FULL", err)) != VOUCH_OK ||
        (rc = prov_exec(c,
                        "CREATE TABLE IF NOT EXISTS devices ("
                        " serial TEXT NOT NULL UNIQUE,"
                        " thumbprint TEXT NOT NULL UNIQUE,"
                        " did TEXT NOT NULL,"
                        " hardware TEXT NOT NULL,"
                        " mac TEXT NOT NULL,"
                        " production_date TEXT NOT NULL,"
                        " produced_by TEXT NOT NULL,"
                        " jti TEXT NOT NULL,"
                        " issuer_kid TEXT NOT NULL,"
                        " issued_at INTEGER NOT NULL,"
                        " bundle TEXT NOT NULL,"
                        " credential TEXT NOT NULL)",
                        err)) != VOUCH_OK)
        return rc;
    if (sqlite3_prepare_v2(c->db, "SELECT 1 FROM devices WHERE serial = ?1", -1, &c->q_serial,
                      NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(c->db, "SELECT 1 FROM devices WHERE thumbprint = ?1", -1, &c->q_thumb,
                      NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(c->db,
                      "INSERT INTO devices (serial, thumbprint, did, hardware, mac, "
                      "production_date, produced_by, jti, issuer_kid, issued_at, bundle, "
                      "credential) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                      -1, &c->ins, NULL) != SQLITE_OK)
        return prov_sql_fail(c, "prepare", err);
    return VOUCH_OK;
}

/* 1 if the statement (bound to value) finds a row; -1 on error. */
static int prov_exists(prov_ctx *c, sqlite3_stmt *st, const char *value)
{
    int r;

    sqlite3_reset(st);
    if (sqlite3_bind_text(st, 1, value, -1, SQLITE_TRANSIENT) != SQLITE_OK)
        return -1;
    r = sqlite3_step(st);
    sqlite3_reset(st);
    return r == SQLITE_ROW ? 1 : r == SQLITE_DONE ? 0 : -1;
}

/* The clone guard: neither the serial nor the key may be known. */
static vouch_code prov_check_dup(prov_ctx *c, const prov_dev *d, vouch_err *err)
{
    char where[32] = "";
    int s = prov_exists(c, c->q_serial, d->f.serial), t;

    if (d->line)
        snprintf(where, sizeof(where), "line %ld: ", d->line);
    if (s < 0)
        return prov_sql_fail(c, "lookup", err);
    if (s)
        return vouch_err_set(err, VOUCH_E_PROVISION_DUPLICATE,
                             "%sserial %s was already provisioned", where, d->f.serial);
    t = prov_exists(c, c->q_thumb, d->thumb);
    if (t < 0)
        return prov_sql_fail(c, "lookup", err);
    if (t)
        return vouch_err_set(err, VOUCH_E_PROVISION_DUPLICATE,
                             "%sthe key of %.80s was already provisioned (thumbprint %s)",
                             where, d->f.did, d->thumb);
    return VOUCH_OK;
}

static vouch_code prov_insert(prov_ctx *c, const prov_dev *d, vouch_err *err)
{
    const char *vals[] = {d->f.serial,       d->thumb,          d->f.did,  d->f.hardware,
                          d->f.mac,          d->f.production_date, d->f.produced_by, d->jti,
                          c->issuer_kid};
    int r;

    sqlite3_reset(c->ins);
    for (int i = 0; i < 9; i++)
        if (sqlite3_bind_text(c->ins, i + 1, vals[i], -1, SQLITE_STATIC) != SQLITE_OK)
            return prov_sql_fail(c, "bind", err);
    if (sqlite3_bind_int64(c->ins, 10, c->now) != SQLITE_OK ||
        sqlite3_bind_text(c->ins, 11, d->bundle, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text(c->ins, 12, d->cred, -1, SQLITE_STATIC) != SQLITE_OK)
        return prov_sql_fail(c, "bind", err);
    r = sqlite3_step(c->ins);
    sqlite3_reset(c->ins);
    if (r == SQLITE_CONSTRAINT)
        return vouch_err_set(err, VOUCH_E_PROVISION_DUPLICATE,
                             "serial %s or its key was provisioned meanwhile", d->f.serial);
    if (r != SQLITE_DONE)
        return prov_sql_fail(c, "insert", err);
    return VOUCH_OK;
}

/* ---------------------------------------------------------------- files */

static vouch_code prov_write_fd(int fd, const void *p, size_t n, const char *path,
                                vouch_err *err)
{
    const char *s = p;

    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return vouch_err_set(err, VOUCH_E_IO, "cannot write %.200s: %s", path,
                                 strerror(errno));
        s += w;
        n -= (size_t)w;
    }
    return VOUCH_OK;
}

/* Creates dir/name (exclusively) with text; fsyncs it when durable. */
static vouch_code prov_file(const char *dir, const char *name, const char *text, size_t len,
                            int durable, vouch_err *err)
{
    char path[PROJ_PATH_MAX];
    int fd = -1;
    vouch_code rc;

    if ((rc = proj_path(path, sizeof(path), dir, name, err)) != VOUCH_OK)
        goto out;
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = vouch_err_set(err, VOUCH_E_IO, "cannot create %.200s: %s", path, strerror(errno));
        goto out;
    }
    if ((rc = prov_write_fd(fd, text, len, path, err)) != VOUCH_OK ||
        (rc = prov_write_fd(fd, "\n", 1, path, err)) != VOUCH_OK)
        goto out;
    if (durable && fsync(fd) != 0)
        rc = vouch_err_set(err, VOUCH_E_IO, "cannot sync %.200s: %s", path, strerror(errno));
out:
    if (fd >= 0)
        close(fd);
    return rc;
}

static vouch_code prov_fsync_path(const char *path, vouch_err *err)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    vouch_code rc = VOUCH_OK;

    if (fd < 0 || fsync(fd) != 0)
        rc = vouch_err_set(err, VOUCH_E_IO, "cannot sync %.200s: %s", path, strerror(errno));
    if (fd >= 0)
        close(fd);
    return rc;
}

/* The directory a path lives in ("." for a bare name). */
static void prov_parent(const char *path, char *out, size_t cap)
{
    const char *slash = strrchr(path, '/');

    if (!slash)
        snprintf(out, cap, ".");
    else if (slash == path)
        snprintf(out, cap, "/");
    else
        snprintf(out, cap, "%.*s", (int)(slash - path), path);
}

/* Removes a bundle directory we wrote (its three files, then itself). */
static void prov_remove_bundle(const char *dir)
{
    static const char *const files[] = {"credential.jwt", "policy.jws", "bundle.json"};
    char path[PROJ_PATH_MAX];

    for (size_t i = 0; i < 3; i++)
        if (proj_path(path, sizeof(path), dir, files[i], NULL) == VOUCH_OK)
            unlink(path);
    rmdir(dir);
}

/* Renames tmp to dst, never over an existing path. */
static int prov_rename_noreplace(const char *tmp, const char *dst)
{
    struct stat st;

    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dst, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -1;
    /* a file system without RENAME_NOREPLACE: check, then rename */
    if (lstat(dst, &st) == 0) {
        errno = EEXIST;
        return -1;
    }
    return rename(tmp, dst);
}

/*
 * Writes the bundle of d from d->cred and d->bjson (see the top of the
 * file). Allocates nothing, so that writer threads may run it.
 */
static vouch_code prov_write_bundle(const prov_ctx *c, const prov_dev *d, int durable,
                                    vouch_err *err)
{
    char tmp[PROJ_PATH_MAX], parent[PROJ_PATH_MAX];
    int made = 0;
    vouch_code rc;

    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp-%ld", d->bundle, (long)getpid()) >=
        sizeof(tmp)) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "bundle path too long");
        goto out;
    }
    if (mkdir(tmp, 0755) != 0) {
        rc = vouch_err_set(err, VOUCH_E_IO, "cannot create %.200s: %s", tmp, strerror(errno));
        goto out;
    }
    made = 1;
    if ((rc = prov_file(tmp, "credential.jwt", d->cred, strlen(d->cred), durable, err)) !=
            VOUCH_OK ||
        (rc = prov_file(tmp, "policy.jws", c->policy_jws, c->policy_len, durable, err)) !=
            VOUCH_OK ||
        (rc = prov_file(tmp, "bundle.json", d->bjson, strlen(d->bjson), durable, err)) !=
            VOUCH_OK)
        goto out;
    if (durable && (rc = prov_fsync_path(tmp, err)) != VOUCH_OK)
        goto out;
    if (prov_rename_noreplace(tmp, d->bundle) != 0) {
        rc = vouch_err_set(err, errno == EEXIST || errno == ENOTEMPTY ? VOUCH_E_EXISTS
                                                                      : VOUCH_E_IO,
                           "cannot place bundle %.200s: %s", d->bundle, strerror(errno));
        goto out;
    }
    made = 0;
    prov_parent(d->bundle, parent, sizeof(parent));
    if (durable)
        rc = prov_fsync_path(parent, err);
out:
    if (made)
        prov_remove_bundle(tmp);
    return rc;
}

/* One JSON line of the provisioning log for d into b (no secrets: the
 * credential is named by its jti, the key by its thumbprint). */
static vouch_code prov_log_line(const prov_ctx *c, const prov_dev *d, vouch_buf *b,
                                vouch_err *err)
{
    json_t *o = json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "time",
                          (json_int_t)c->now, "event", "provisioned", "serial", d->f.serial,
                          "did", d->f.did, "thumbprint", d->thumb, "hardware", d->f.hardware,
                          "mac", d->f.mac, "production_date", d->f.production_date,
                          "produced_by", d->f.produced_by, "jti", d->jti, "issuer_kid",
                          c->issuer_kid, "bundle", d->bundle);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    vouch_code rc;

    if (!s)
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory writing the log");
    else if ((rc = vouch_buf_append_str(b, s)) == VOUCH_OK)
        rc = vouch_buf_append(b, "\n", 1);
    if (rc != VOUCH_OK && rc != VOUCH_E_NOMEM)
        vouch_err_set(err, rc, "provisioning log line too long");
    vouch_free(s);
    json_decref(o);
    return rc;
}

static vouch_code prov_log_flush(prov_ctx *c, vouch_buf *b, vouch_err *err)
{
    vouch_code rc = prov_write_fd(c->logfd, b->data, b->len, "provisioning.log", err);

    if (rc == VOUCH_OK && fsync(c->logfd) != 0)
        rc = vouch_err_set(err, VOUCH_E_IO, "cannot sync provisioning.log: %s", strerror(errno));
    b->len = 0;
    return rc;
}

/* ------------------------------------------------------------- inputs */

static int prov_alnum(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

/* [A-Za-z0-9][A-Za-z0-9._-]{0,max-1}: a serial is also a directory name. */
static int prov_name_ok(const char *s, size_t max)
{
    size_t n = strnlen(s, max + 1);

    if (n == 0 || n > max || !prov_alnum(s[0]))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!prov_alnum(s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
            return 0;
    return 1;
}

/* "AA:BB:CC:DD:EE:FF" or with '-' -> "aa:bb:cc:dd:ee:ff"; "" stays "". */
static int prov_mac(const char *in, char out[18])
{
    size_t n = strnlen(in, 18);

    out[0] = '\0';
    if (n == 0)
        return 1;
    if (n != 17)
        return 0;
    for (size_t i = 0; i < 17; i++) {
        char ch = in[i];
        if (i % 3 == 2) {
            if (ch != ':' && ch != '-')
                return 0;
            out[i] = ':';
        } else if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')) {
            out[i] = ch;
        } else if (ch >= 'A' && ch <= 'F') {
            out[i] = (char)(ch - 'A' + 'a');
        } else {
            return 0;
        }
    }
    out[17] = '\0';
    return 1;
}

/* The device's public key from a did:key, a PKCS#11 URI or a key file
 * (relative paths under base when base is given). */
static vouch_code prov_device_key(const char *ref, const char *base, vouch_key **out,
                                  vouch_err *err)
{
    char path[PROJ_PATH_MAX];

    if (strncmp(ref, "did:", 4) == 0)
        return vouch_did_key_decode(ref, out, err);
    if (strncmp(ref, "pkcs11:", 7) == 0 || ref[0] == '/' || !base)
        return vouch_key_load(ref, out, err);
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", base, ref) >= sizeof(path))
        return vouch_err_set(err, VOUCH_E_ARG, "key path too long");
    return vouch_key_load(path, out, err);
}

/* Fills d from the device reference and the facts (all validated). */
static vouch_code prov_dev_fill(prov_ctx *c, prov_dev *d, const char *device, const char *base,
                                const char *serial, const char *hardware, const char *mac,
                                const char *date, const char *produced_by, const char *key_ref,
                                vouch_err *err)
{
    vouch_key *k = NULL;
    char *did = NULL, today[16];
    vouch_code rc;

    if (!prov_name_ok(serial, PROV_SERIAL_MAX)) {
        rc = vouch_err_set(err, VOUCH_E_USAGE,
                           "serial must be 1..%u of [A-Za-z0-9._-], starting alphanumeric",
                           PROV_SERIAL_MAX);
        goto out;
    }
    if (!prov_name_ok(hardware, sizeof(d->f.hardware) - 1)) {
        rc = vouch_err_set(err, VOUCH_E_USAGE,
                           "hardware must be 1..%zu of [A-Za-z0-9._-], starting alphanumeric",
                           sizeof(d->f.hardware) - 1);
        goto out;
    }
    if (!prov_mac(mac ? mac : "", d->f.mac)) {
        rc = vouch_err_set(err, VOUCH_E_USAGE, "mac must be aa:bb:cc:dd:ee:ff");
        goto out;
    }
    if (!date || !*date) {
        time_t t = (time_t)c->now;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(today, sizeof(today), "%Y-%m-%d", &tm);
        date = today;
    }
    if ((rc = prov_device_key(device, base, &k, err)) != VOUCH_OK) {
        vouch_err_prefix(err, "device key");
        goto out;
    }
    if ((rc = vouch_did_key_encode(k, &did, err)) != VOUCH_OK ||
        (rc = vouch_key_thumbprint(k, d->thumb, err)) != VOUCH_OK)
        goto out;
    snprintf(d->f.did, sizeof(d->f.did), "%s", did);
    snprintf(d->f.serial, sizeof(d->f.serial), "%s", serial);
    snprintf(d->f.hardware, sizeof(d->f.hardware), "%s", hardware);
    if ((size_t)snprintf(d->f.production_date, sizeof(d->f.production_date), "%s", date) >=
            sizeof(d->f.production_date) ||
        (size_t)snprintf(d->f.produced_by, sizeof(d->f.produced_by), "%s", produced_by) >=
            sizeof(d->f.produced_by) ||
        (size_t)snprintf(d->key_ref, sizeof(d->key_ref), "%s", key_ref) >= sizeof(d->key_ref)) {
        rc = vouch_err_set(err, VOUCH_E_USAGE, "production date, producer or key is too long");
        goto out;
    }
    if ((rc = vouch_production_facts_check(&d->f, err)) != VOUCH_OK) {
        char msg[VOUCH_ERR_MSG_MAX];
        snprintf(msg, sizeof(msg), "%s", err ? err->msg : "bad device facts");
        rc = vouch_err_set(err, VOUCH_E_USAGE, "%s", msg);
        goto out;
    }
out:
    vouch_free(did);
    vouch_key_free(k);
    return rc;
}

/* The jti of a credential we just issued (for the log, never the token). */
static vouch_code prov_jti(const char *cred, char *out, size_t cap, vouch_err *err)
{
    vouch_jws *j = NULL;
    json_t *claims = NULL;
    const char *jti = NULL;
    vouch_code rc;

    if ((rc = vouch_jws_parse(cred, strlen(cred), &j, err)) != VOUCH_OK ||
        (rc = vouch_json_parse_object((const char *)j->payload, j->payload_len, NULL, &claims,
                                      err)) != VOUCH_OK ||
        (rc = vouch_json_get_string(claims, "jti", &jti, err)) != VOUCH_OK)
        goto out;
    snprintf(out, cap, "%s", jti);
out:
    json_decref(claims);
    vouch_jws_free(j);
    return rc;
}

/* ------------------------------------------------------------ the run */

static void prov_ctx_free(prov_ctx *c)
{
    if (c->db) {
        if (c->in_tx)
            sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
        sqlite3_finalize(c->q_serial);
        sqlite3_finalize(c->q_thumb);
        sqlite3_finalize(c->ins);
        sqlite3_close(c->db);
    }
    if (c->logfd >= 0)
        close(c->logfd);
    vouch_key_free(c->issuer);
    vouch_policy_free(c->policy);
    if (c->pj_loaded)
        proj_free(&c->pj);
}

/* The issuer key: the issuer-role kid with the highest index we hold. */
static vouch_code prov_pick_key(prov_ctx *c, vouch_role want, const char **kid_out,
                                vouch_key **key, vouch_err *err)
{
    const char *best = NULL;
    long best_i = -1;

    for (size_t i = 0; i < vouch_policy_key_count(c->policy); i++) {
        const char *kid = NULL;
        vouch_role r = VOUCH_ROLE__COUNT;
        long idx;
        if (!vouch_policy_key_at(c->policy, i, &kid, &r) || r != want ||
            !json_object_get(c->pj.keys, kid))
            continue;
        idx = proj_kid_index(kid, vouch_role_name(want));
        if (idx > best_i) {
            best_i = idx;
            best = kid;
        }
    }
    if (!best)
        return vouch_err_set(err, VOUCH_E_NOTFOUND, "the project holds no %s key of policy %lld",
                             vouch_role_name(want), (long long)vouch_policy_version(c->policy));
    *kid_out = best;
    return proj_load_key(&c->pj, best, key, err);
}

static vouch_code prov_open(prov_ctx *c, const cli_args *a, vouch_err *err)
{
    const char *dir, *exp = cli_get(a, "expires");
    char origin[1024], path[PROJ_PATH_MAX];
    vouch_code rc;

    memset(c, 0, sizeof(*c));
    c->logfd = -1;
    c->now = (int64_t)time(NULL);
    c->lifetime = PROV_DEFAULT_LIFETIME;
    if ((rc = cli_require(a, "dir", &dir, err)) != VOUCH_OK ||
        (rc = cli_require(a, "server", &c->server, err)) != VOUCH_OK)
        return rc;
    if (strlen(c->server) > 1000 ||
        vouch_siop_origin(c->server, origin, sizeof(origin), NULL) != VOUCH_OK)
        return vouch_err_set(err, VOUCH_E_USAGE,
                             "--server must be an http(s) URL such as https://updates.example.com");
    if (exp && (rc = proj_parse_duration(exp, "expires", &c->lifetime, err)) != VOUCH_OK)
        return rc;
    if ((rc = proj_load(dir, &c->pj, err)) != VOUCH_OK)
        return rc;
    c->pj_loaded = 1;
    if ((rc = proj_current_policy(&c->pj, &c->policy, err)) != VOUCH_OK ||
        (rc = prov_pick_key(c, VOUCH_ROLE_ISSUER, &c->issuer_kid, &c->issuer, err)) != VOUCH_OK)
        return rc;
    c->policy_jws = vouch_policy_jws(c->policy, &c->policy_len);
    if (!c->policy_jws)
        return vouch_err_set(err, VOUCH_E_INTERNAL, "the policy has no signed text");
    if ((rc = prov_db_open(c, err)) != VOUCH_OK ||
        (rc = proj_path(path, sizeof(path), c->pj.dir, "provisioning.log", err)) != VOUCH_OK)
        return rc;
    c->logfd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (c->logfd < 0)
        return vouch_err_set(err, VOUCH_E_IO, "cannot open %.200s: %s", path, strerror(errno));
    return VOUCH_OK;
}

/* Issues d's credential and makes its bundle.json text (in memory). */
static vouch_code prov_prepare(const prov_ctx *c, prov_dev *d, vouch_err *err)
{
    json_t *bj = NULL;
    vouch_code rc;

    if ((rc = vouch_production_issue(c->issuer, c->pj.did, c->issuer_kid, &d->f, c->now,
                                     c->lifetime, &d->cred, err)) != VOUCH_OK ||
        (rc = prov_jti(d->cred, d->jti, sizeof(d->jti), err)) != VOUCH_OK)
        goto out;
    bj = json_pack("{s:s,s:s,s:s,s:s,s:s}", "server", c->server, "did", d->f.did, "serial",
                   d->f.serial, "hardware", d->f.hardware, "key", d->key_ref);
    if (!bj || !(d->bjson = json_dumps(bj, JSON_INDENT(2))))
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory writing bundle.json");
out:
    json_decref(bj);
    return rc;
}

static void prov_release(prov_dev *d)
{
    vouch_free(d->cred);
    vouch_free(d->bjson);
    d->cred = d->bjson = NULL;
}

/* Writer threads: each takes the next device of the chunk and writes its
 * bundle; they share nothing but the index (and allocate nothing). */
typedef struct prov_job {
    const prov_ctx *c;
    prov_dev *devs;
    size_t end;
    size_t next;
    pthread_mutex_t lock;
} prov_job;

static void *prov_writer(void *arg)
{
    prov_job *j = arg;

    for (;;) {
        size_t i;
        pthread_mutex_lock(&j->lock);
        i = j->next++;
        pthread_mutex_unlock(&j->lock);
        if (i >= j->end)
            break;
        vouch_err_clear(&j->devs[i].werr);
        if (prov_write_bundle(j->c, &j->devs[i], 0, &j->devs[i].werr) == VOUCH_OK)
            j->devs[i].placed = 1;
    }
    return NULL;
}

/* Writes the bundles of devs[from..end) with PROV_WRITERS threads. */
static vouch_code prov_write_chunk(const prov_ctx *c, prov_dev *devs, size_t from, size_t end,
                                   vouch_err *err)
{
    pthread_t t[PROV_WRITERS];
    prov_job j = {c, devs, end, from, PTHREAD_MUTEX_INITIALIZER};
    int n = 0;

    for (; n < PROV_WRITERS; n++)
        if (pthread_create(&t[n], NULL, prov_writer, &j) != 0)
            break;
    if (n == 0)
        prov_writer(&j); /* no thread to be had: write them here */
    for (int k = 0; k < n; k++)
        pthread_join(t[k], NULL);
    for (size_t i = from; i < end; i++)
        if (!devs[i].placed) {
            *err = devs[i].werr;
            return devs[i].werr.code != VOUCH_OK ? devs[i].werr.code
                                                 : vouch_err_set(err, VOUCH_E_INTERNAL,
                                                                 "bundle not written");
        }
    return VOUCH_OK;
}

static vouch_code prov_single(const cli_args *a, vouch_err *err)
{
    const char *device, *serial, *hardware, *outp, *key = cli_get(a, "key");
    char keyref[1024];
    prov_ctx c;
    prov_dev *d = vouch_calloc(1, sizeof(*d));
    vouch_buf log;
    struct stat st;
    vouch_code rc;

    vouch_buf_init(&log, 64u * 1024u);
    if ((rc = prov_open(&c, a, err)) != VOUCH_OK)
        goto out;
    if (!d) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory");
        goto out;
    }
    if ((rc = cli_require(a, "device", &device, err)) != VOUCH_OK ||
        (rc = cli_require(a, "serial", &serial, err)) != VOUCH_OK ||
        (rc = cli_require(a, "hardware", &hardware, err)) != VOUCH_OK ||
        (rc = cli_require(a, "out", &outp, err)) != VOUCH_OK)
        goto out;
    if (!key) {
        /* the token's URI without its query (never a PIN in a bundle) */
        if (strncmp(device, "pkcs11:", 7) == 0)
            snprintf(keyref, sizeof(keyref), "%.*s", (int)strcspn(device, "?"), device);
        else
            snprintf(keyref, sizeof(keyref), "key.pem");
        key = keyref;
    }
    if (strlen(outp) >= sizeof(d->bundle) - 32) {
        rc = vouch_err_set(err, VOUCH_E_USAGE, "--out is too long");
        goto out;
    }
    snprintf(d->bundle, sizeof(d->bundle), "%s", outp);
    if ((rc = prov_dev_fill(&c, d, device, NULL, serial, hardware, cli_get(a, "mac"),
                            cli_get(a, "production-date"),
                            cli_get(a, "produced-by") ? cli_get(a, "produced-by") : c.pj.did,
                            key, err)) != VOUCH_OK)
        goto out;
    if ((rc = prov_exec(&c, "BEGIN IMMEDIATE", err)) != VOUCH_OK)
        goto out;
    c.in_tx = 1;
    if ((rc = prov_check_dup(&c, d, err)) != VOUCH_OK)
        goto out;
    if (lstat(d->bundle, &st) == 0) {
        rc = vouch_err_set(err, VOUCH_E_EXISTS, "%.200s exists", d->bundle);
        goto out;
    }
    if ((rc = prov_prepare(&c, d, err)) != VOUCH_OK ||
        (rc = prov_write_bundle(&c, d, 1, err)) != VOUCH_OK)
        goto out;
    d->placed = 1;
    if ((rc = prov_insert(&c, d, err)) != VOUCH_OK ||
        (rc = prov_log_line(&c, d, &log, err)) != VOUCH_OK ||
        (rc = prov_log_flush(&c, &log, err)) != VOUCH_OK ||
        (rc = prov_exec(&c, "COMMIT", err)) != VOUCH_OK)
        goto out;
    c.in_tx = 0;
    d->placed = 0;
    if (a->json)
        rc = cli_print_json(json_pack("{s:s,s:s,s:s,s:s,s:s}", "serial", d->f.serial, "did",
                                      d->f.did, "thumbprint", d->thumb, "jti", d->jti, "bundle",
                                      d->bundle),
                            err);
    else
        printf("provisioned %s (%s) -> %s\n", d->f.serial, d->f.did, d->bundle);
out:
    if (d && d->placed)
        prov_remove_bundle(d->bundle);
    if (d)
        prov_release(d);
    vouch_buf_free(&log);
    prov_ctx_free(&c);
    vouch_free(d);
    return rc;
}

/* --------------------------------------------------------------- batch */

/* Splits the next line of the CSV text at *pos; 0 at the end. */
static int prov_next_line(char *text, size_t len, size_t *pos, char **line, size_t *n)
{
    size_t s = *pos, e;

    if (s >= len)
        return 0;
    for (e = s; e < len && text[e] != '\n'; e++)
        ;
    *pos = e < len ? e + 1 : e;
    if (e > s && text[e - 1] == '\r')
        e--;
    text[e] = '\0';
    *line = text + s;
    *n = e - s;
    return 1;
}

typedef struct prov_key_line {
    const char *key;
    long line;
} prov_key_line;

static int prov_cmp_key(const void *x, const void *y)
{
    return strcmp(((const prov_key_line *)x)->key, ((const prov_key_line *)y)->key);
}

/* Duplicates within the file: sorted, then neighbours compared. */
static vouch_code prov_dups_in_file(prov_key_line *v, size_t n, const char *what,
                                    vouch_err *err)
{
    qsort(v, n, sizeof(*v), prov_cmp_key);
    for (size_t i = 1; i < n; i++)
        if (strcmp(v[i - 1].key, v[i].key) == 0) {
            long a = v[i - 1].line < v[i].line ? v[i - 1].line : v[i].line;
            long b = v[i - 1].line < v[i].line ? v[i].line : v[i - 1].line;
            return vouch_err_set(err, VOUCH_E_PROVISION_DUPLICATE,
                                 "line %ld: %s repeats line %ld", b, what, a);
        }
    return VOUCH_OK;
}

/* Parses and checks the whole CSV into devs (see the top of the file). */
static vouch_code prov_parse_csv(prov_ctx *c, const char *csv, const char *outdir,
                                 const char *produced_by, prov_dev **devs_out, size_t *ndevs,
                                 vouch_err *err)
{
    unsigned char *text = NULL;
    size_t len = 0, pos = 0, n = 0, cap = 0, ln;
    char base[PROJ_PATH_MAX], *line;
    prov_dev *devs = NULL;
    prov_key_line *kl = NULL;
    long lineno = 0;
    vouch_code rc;

    *devs_out = NULL;
    *ndevs = 0;
    prov_parent(csv, base, sizeof(base));
    if ((rc = vouch_file_read(csv, PROV_CSV_MAX, &text, &len, err)) != VOUCH_OK)
        goto out;
    if (memchr(text, '\0', len)) {
        rc = vouch_err_set(err, VOUCH_E_USAGE, "%.200s: NUL byte in the CSV", csv);
        goto out;
    }
    if (!prov_next_line((char *)text, len, &pos, &line, &ln) ||
        strcmp(line, PROV_CSV_HEADER) != 0) {
        rc = vouch_err_set(err, VOUCH_E_USAGE, "%.200s: line 1 must be \"" PROV_CSV_HEADER "\"",
                           csv);
        goto out;
    }
    lineno = 1;
    while (prov_next_line((char *)text, len, &pos, &line, &ln)) {
        char *f[5], *p = line;
        int nf = 0;

        lineno++;
        if (ln > PROV_LINE_MAX) {
            rc = vouch_err_set(err, VOUCH_E_USAGE, "%.200s: line %ld is longer than %u bytes",
                               csv, lineno, PROV_LINE_MAX);
            goto out;
        }
        if (strchr(line, '"')) {
            rc = vouch_err_set(err, VOUCH_E_USAGE,
                               "%.200s: line %ld: quoted fields are not supported", csv, lineno);
            goto out;
        }
        for (;;) {
            char *comma = strchr(p, ',');
            if (nf == 5) {
                nf = 6;
                break;
            }
            f[nf++] = p;
            if (!comma)
                break;
            *comma = '\0';
            p = comma + 1;
        }
        if (nf != 5) {
            rc = vouch_err_set(err, VOUCH_E_USAGE, "%.200s: line %ld: want 5 fields (%s)", csv,
                               lineno, PROV_CSV_HEADER);
            goto out;
        }
        if (n == PROV_MAX_BATCH) {
            rc = vouch_err_set(err, VOUCH_E_LIMIT, "%.200s: more than %u devices", csv,
                               PROV_MAX_BATCH);
            goto out;
        }
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 256;
            prov_dev *nd = vouch_realloc(devs, ncap * sizeof(*devs));
            if (!nd) {
                rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory reading the CSV");
                goto out;
            }
            devs = nd;
            cap = ncap;
        }
        memset(&devs[n], 0, sizeof(devs[n]));
        devs[n].line = lineno;
        if (!f[0][0] || !f[1][0] || !f[2][0]) {
            rc = vouch_err_set(err, VOUCH_E_USAGE,
                               "%.200s: line %ld: device, serial and hardware are required", csv,
                               lineno);
            goto out;
        }
        if ((size_t)snprintf(devs[n].bundle, sizeof(devs[n].bundle), "%s/%s", outdir, f[1]) >=
            sizeof(devs[n].bundle)) {
            rc = vouch_err_set(err, VOUCH_E_USAGE, "--out-dir is too long");
            goto out;
        }
        rc = prov_dev_fill(c, &devs[n], f[0], base, f[1], f[2], f[3], f[4], produced_by,
                           strncmp(f[0], "pkcs11:", 7) == 0 ? f[0] : "key.pem", err);
        if (rc == VOUCH_OK && strchr(devs[n].key_ref, '?'))
            devs[n].key_ref[strcspn(devs[n].key_ref, "?")] = '\0';
        if (rc != VOUCH_OK) {
            vouch_err_prefix(err, "%.200s: line %ld", csv, lineno);
            goto out;
        }
        n++;
    }
    if (n == 0) {
        rc = vouch_err_set(err, VOUCH_E_USAGE, "%.200s: no devices", csv);
        goto out;
    }
    kl = vouch_calloc(n, sizeof(*kl));
    if (!kl) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory checking duplicates");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        kl[i] = (prov_key_line){devs[i].f.serial, devs[i].line};
    if ((rc = prov_dups_in_file(kl, n, "the serial", err)) != VOUCH_OK)
        goto out;
    for (size_t i = 0; i < n; i++)
        kl[i] = (prov_key_line){devs[i].thumb, devs[i].line};
    if ((rc = prov_dups_in_file(kl, n, "the device key", err)) != VOUCH_OK)
        goto out;
    *devs_out = devs;
    *ndevs = n;
    devs = NULL;
out:
    vouch_free(kl);
    vouch_free(devs);
    vouch_free(text);
    return rc;
}

static vouch_code prov_batch(const cli_args *a, vouch_err *err)
{
    const char *csv, *outdir;
    prov_ctx c;
    prov_dev *devs = NULL;
    size_t ndevs = 0, done = 0;
    vouch_buf log;
    struct stat st;
    int dirfd = -1;
    vouch_code rc;

    vouch_buf_init(&log, 64u * 1024u * 1024u);
    if ((rc = prov_open(&c, a, err)) != VOUCH_OK)
        goto out;
    if ((rc = cli_require(a, "batch", &csv, err)) != VOUCH_OK ||
        (rc = cli_require(a, "out-dir", &outdir, err)) != VOUCH_OK)
        goto out;
    if (cli_get(a, "device") || cli_get(a, "serial") || cli_get(a, "hardware") ||
        cli_get(a, "mac") || cli_get(a, "production-date") || cli_get(a, "out") ||
        cli_get(a, "key")) {
        rc = vouch_err_set(err, VOUCH_E_USAGE,
                           "--batch takes the devices from the CSV: no --device, --serial, "
                           "--hardware, --mac, --production-date, --out or --key");
        goto out;
    }
    if ((rc = prov_parse_csv(&c, csv, outdir,
                             cli_get(a, "produced-by") ? cli_get(a, "produced-by") : c.pj.did,
                             &devs, &ndevs, err)) != VOUCH_OK)
        goto out;
    /* nothing is written until every device passed the clone guard */
    for (size_t i = 0; i < ndevs; i++)
        if ((rc = prov_check_dup(&c, &devs[i], err)) != VOUCH_OK)
            goto out;
    if (mkdir(outdir, 0755) != 0 && errno != EEXIST) {
        rc = vouch_err_set(err, VOUCH_E_IO, "cannot create %.200s: %s", outdir, strerror(errno));
        goto out;
    }
    for (size_t i = 0; i < ndevs; i++)
        if (lstat(devs[i].bundle, &st) == 0) {
            rc = vouch_err_set(err, VOUCH_E_EXISTS, "line %ld: %.200s exists", devs[i].line,
                               devs[i].bundle);
            goto out;
        }
    dirfd = open(outdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0) {
        rc = vouch_err_set(err, VOUCH_E_IO, "cannot open %.200s: %s", outdir, strerror(errno));
        goto out;
    }
    while (done < ndevs) {
        size_t end = done + PROV_CHUNK < ndevs ? done + PROV_CHUNK : ndevs, i;

        for (i = done; i < end; i++)
            if ((rc = prov_prepare(&c, &devs[i], err)) != VOUCH_OK) {
                vouch_err_prefix(err, "line %ld", devs[i].line);
                goto chunk_failed;
            }
        if ((rc = prov_write_chunk(&c, devs, done, end, err)) != VOUCH_OK ||
            (rc = prov_exec(&c, "BEGIN IMMEDIATE", err)) != VOUCH_OK)
            goto chunk_failed;
        c.in_tx = 1;
        for (i = done; i < end; i++) {
            if ((rc = prov_insert(&c, &devs[i], err)) != VOUCH_OK ||
                (rc = prov_log_line(&c, &devs[i], &log, err)) != VOUCH_OK) {
                vouch_err_prefix(err, "line %ld", devs[i].line);
                break;
            }
        }
        /* the chunk's bundles, then its log lines, are on disk before it
         * commits */
        if (rc == VOUCH_OK && (syncfs(dirfd) != 0 || fsync(dirfd) != 0))
            rc = vouch_err_set(err, VOUCH_E_IO, "cannot sync %.200s: %s", outdir,
                               strerror(errno));
        if (rc == VOUCH_OK)
            rc = prov_log_flush(&c, &log, err);
        if (rc == VOUCH_OK)
            rc = prov_exec(&c, "COMMIT", err);
    chunk_failed:
        if (rc != VOUCH_OK) {
            /* this chunk never happened: its bundles go, the earlier stay */
            for (size_t k = done; k < end; k++)
                if (devs[k].placed)
                    prov_remove_bundle(devs[k].bundle);
            if (rc != VOUCH_E_PROVISION_DUPLICATE)
                vouch_err_prefix(err, "%zu devices were provisioned before this failure",
                                 done);
            goto out;
        }
        c.in_tx = 0;
        for (i = done; i < end; i++) {
            devs[i].placed = 0;
            prov_release(&devs[i]);
        }
        done = end;
    }
    if (a->json)
        rc = cli_print_json(json_pack("{s:I,s:s}", "provisioned", (json_int_t)done, "out_dir",
                                      outdir),
                            err);
    else
        printf("provisioned %zu devices into %s\n", done, outdir);
out:
    for (size_t i = 0; devs && i < ndevs; i++)
        prov_release(&devs[i]);
    if (dirfd >= 0)
        close(dirfd);
    vouch_buf_free(&log);
    prov_ctx_free(&c);
    vouch_free(devs);
    return rc;
}

static vouch_code provision_run(const cli_args *a, vouch_err *err)
{
    return cli_get(a, "batch") ? prov_batch(a, err) : prov_single(a, err);
}

const cli_cmd cli_provision_cmds[] = {
    {"provision", "",
     "--dir P --device DID|KEY-FILE|PKCS11-URI --serial S --hardware HW [--mac MAC] "
     "[--production-date YYYY-MM-DD] [--produced-by ID] [--key REF] --server URL --out BUNDLE\n"
     "       vouch provision --dir P --batch CSV --server URL --out-dir DIR [--produced-by ID]",
     "End of line, offline: issue a device's ProductionCredential (signed by the project's "
     "issuer key) and write its bundle BUNDLE (credential.jwt, policy.jws, bundle.json), "
     "recorded in P/provisioning.db and P/provisioning.log. A serial or a device key "
     "provisioned before is refused (exit 184) and nothing is written. --batch reads a CSV "
     "with the header \"" PROV_CSV_HEADER "\" (device: a did:key or a public key file, "
     "relative to the CSV) and writes DIR/<serial> for each line.",
     0, 0,
     {{"dir", "P", "the project directory", 0},
      {"device", "DID|KEY-FILE|PKCS11-URI", "the device's public key (its did:key is its DID)",
       0},
      {"serial", "S", "serial number ([A-Za-z0-9._-], at most 64)", 0},
      {"hardware", "HW", "hardware model ([A-Za-z0-9._-])", 0},
      {"mac", "MAC", "MAC address aa:bb:cc:dd:ee:ff", 0},
      {"production-date", "YYYY-MM-DD", "production date (default today, UTC)", 0},
      {"produced-by", "ID", "the factory or line (default the project's DID)", 0},
      {"key", "REF", "where the device finds its key, for bundle.json (default key.pem, or "
                     "the PKCS#11 URI without PIN)", 0},
      {"server", "URL", "the update server the device logs in to", 0},
      {"out", "BUNDLE", "the bundle directory to create", 0},
      {"batch", "CSV", "provision every device of a CSV file", 0},
      {"out-dir", "DIR", "batch: where the bundles go (DIR/<serial>)", 0},
      {"expires", "DURATION", "credential lifetime (default 20y)", 0}},
     provision_run},
    {NULL, NULL, NULL, NULL, 0, 0, {{NULL, NULL, NULL, 0}}, NULL},
};
