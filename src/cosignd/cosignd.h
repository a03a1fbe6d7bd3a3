/*
 * cosignd.h - the inside of vouch-cosignd, the co-signing service (the
 * second factor). One file per concern:
 *
 *   main.c       the table-driven command line (init, serve, allow, revoke,
 *                list, audit, config)
 *   config.c     the state directory: config.json (strict), the key, paths
 *   db.c         SQLite: build servers, the jti cache, the highest
 *                securityVersion per hardware, the append-only audit table
 *   audit.c      the JSON-lines audit file (append, fsync)
 *   ratelimit.c  token buckets per build server (in memory)
 *   decide.c     one co-sign request in, one decision out (no HTTP)
 *   http.c       libmicrohttpd: routes, body cap, TLS, clean stop
 *
 * Protocol and decisions: docs/cosign.md and vouch/cosign.h.
 */
#ifndef VOUCH_COSIGND_H
#define VOUCH_COSIGND_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "vouch/cosign.h"
#include "vouch/vouch.h"

/* ------------------------------------------------------------------ config */

#define COSIGND_KEY_FILE "cosign.pem"
#define COSIGND_DB_FILE "cosign.db"
#define COSIGND_CONFIG_FILE "config.json"
#define COSIGND_AUDIT_FILE "audit.log"
#define COSIGND_PATH_MAX 4096
#define COSIGND_KEYREF_MAX 1024
#define COSIGND_CONFIG_MAX_BYTES (16u * 1024u)

/* Bounds of each setting; config.json outside them is refused. */
#define COSIGND_MAX_LIFETIME_DEFAULT 7776000   /* 90 days */
#define COSIGND_MAX_LIFETIME_MAX 315360000     /* 10 years */
#define COSIGND_RATE_BURST_DEFAULT 20
#define COSIGND_RATE_BURST_MAX 100000
#define COSIGND_RATE_PER_MIN_DEFAULT 120
#define COSIGND_RATE_PER_MIN_MAX 6000000

typedef struct cosignd_config {
    char vendor[VOUCH_DID_MAX + 1]; /* the issuer every release must have; "" = none yet */
    int64_t max_release_lifetime;   /* seconds, exp - nbf of a release */
    int64_t skew;                   /* seconds a request's iat may be ahead */
    int64_t rate_burst;             /* token bucket size per build server */
    int64_t rate_per_minute;        /* refill per build server */
    char key[COSIGND_KEYREF_MAX];   /* "cosign.pem" (in the dir) or a pkcs11: URI */
} cosignd_config;

void cosignd_config_defaults(cosignd_config *c);
/* Strict: unknown or missing members, wrong types and values out of bounds
 * are refused (VOUCH_E_USAGE naming the member; VOUCH_E_JSON_* for syntax). */
vouch_code cosignd_config_parse(const char *text, size_t len, cosignd_config *c, vouch_err *err);
vouch_code cosignd_config_load(const char *dir, cosignd_config *c, vouch_err *err);
/* Writes config.json atomically, mode 0600 (it may name a PKCS#11 PIN source). */
vouch_code cosignd_config_save(const char *dir, const cosignd_config *c, int exclusive,
                               vouch_err *err);
json_t *cosignd_config_json(const cosignd_config *c);
/* dir/name into out (cap bytes); VOUCH_E_LIMIT if it does not fit. */
vouch_code cosignd_path(const char *dir, const char *name, char *out, size_t cap, vouch_err *err);
/* The signing key config.key names (a file in dir, or a PKCS#11 URI). */
vouch_code cosignd_key_load(const char *dir, const cosignd_config *c, vouch_key **k,
                            vouch_err *err);
/* Checks a vendor DID's syntax (did:<method>:<id>, printable, bounded). */
vouch_code cosignd_check_vendor(const char *did, vouch_err *err);

/* ---------------------------------------------------------------------- db */

typedef struct cosignd_db cosignd_db;

typedef struct cosignd_server_row {
    int found;
    int revoked;
    int allow_force;
} cosignd_server_row;

/* One audit record. Every text is validated or our own; NULL means unknown. */
typedef struct cosignd_audit {
    int64_t time;
    const char *event;          /* "signed", "refused", "allowed", "revoked", "init" */
    const char *build_server;   /* a verified or operator-given DID */
    const char *jti;
    const char *release_sha256; /* hex SHA-256 of the release payload */
    const char *version;
    int64_t security_version;   /* -1 when unknown */
    int forced;
    vouch_code code;
    const char *reason;
    const char *peer;           /* the client's address */
} cosignd_audit;

/* Opens (create: creates and initializes) the database; WAL, FULL sync. */
vouch_code cosignd_db_open(const char *path, int create, cosignd_db **out, vouch_err *err);
void cosignd_db_close(cosignd_db *db);
/* PRAGMA quick_check; VOUCH_E_DB if the file is damaged. */
vouch_code cosignd_db_check(cosignd_db *db, vouch_err *err);

/* BEGIN IMMEDIATE: one writer at a time, across threads and processes. */
vouch_code cosignd_db_begin(cosignd_db *db, vouch_err *err);
vouch_code cosignd_db_commit(cosignd_db *db, vouch_err *err);
void cosignd_db_rollback(cosignd_db *db);

vouch_code cosignd_db_server(cosignd_db *db, const char *did, cosignd_server_row *row,
                             vouch_err *err);
/* Allows did (or updates allow_force); VOUCH_E_COSIGN_REVOKED if revoked. */
vouch_code cosignd_db_allow(cosignd_db *db, const char *did, int allow_force, int64_t now,
                            vouch_err *err);
/* Revokes did (allowed or not: a revoked DID can never be allowed again). */
vouch_code cosignd_db_revoke(cosignd_db *db, const char *did, int64_t now, vouch_err *err);
/* 1 in *used if (did, jti) was co-signed and is still remembered. */
vouch_code cosignd_db_jti_used(cosignd_db *db, const char *did, const char *jti, int *used,
                               vouch_err *err);
/* The highest securityVersion co-signed for hw, or -1 in *sv. */
vouch_code cosignd_db_highest(cosignd_db *db, const char *hw, int64_t *sv, vouch_err *err);
/* Records a signature: the jti (kept until exp) and the highest per hardware. */
vouch_code cosignd_db_record(cosignd_db *db, const char *did, const char *jti, int64_t exp,
                             const vouch_release *rel, const char *sha_hex, int64_t now,
                             vouch_err *err);
/* Forgets jtis that expired more than an hour before now. */
vouch_code cosignd_db_prune(cosignd_db *db, int64_t now, vouch_err *err);
vouch_code cosignd_db_audit_insert(cosignd_db *db, const cosignd_audit *a, int64_t *id,
                                   vouch_err *err);
/* Listings as JSON arrays (new references). */
vouch_code cosignd_db_list_servers(cosignd_db *db, json_t **out, vouch_err *err);
vouch_code cosignd_db_list_highest(cosignd_db *db, json_t **out, vouch_err *err);
vouch_code cosignd_db_list_audit(cosignd_db *db, int64_t limit, json_t **out, vouch_err *err);
vouch_code cosignd_db_counts(cosignd_db *db, int64_t *audit_rows, int64_t *jti_rows,
                             vouch_err *err);

/* ------------------------------------------------------------------- audit */

/* Opens dir/audit.log for appending (0600), terminating a torn last line. */
vouch_code cosignd_auditlog_open(const char *dir, int *fd, vouch_err *err);
/* Appends one JSON line for audit row id and fsyncs it. */
vouch_code cosignd_auditlog_append(int fd, int64_t id, const cosignd_audit *a, vouch_err *err);
/* The record as a JSON object (new reference), id included when >= 0. */
json_t *cosignd_audit_json(int64_t id, const cosignd_audit *a);
/* Appends a to the audit table and then to the file, inside the caller's
 * transaction (the caller commits only if both succeeded). */
vouch_code cosignd_audit_write(cosignd_db *db, int fd, const cosignd_audit *a, vouch_err *err);

/* --------------------------------------------------------------- ratelimit */

typedef struct cosignd_rate cosignd_rate;

vouch_code cosignd_rate_new(int64_t burst, int64_t per_minute, cosignd_rate **out,
                            vouch_err *err);
void cosignd_rate_free(cosignd_rate *r);
/* Takes one token for key at monotonic time now_ms: 1 if allowed. Not
 * thread-safe (the caller holds the decision lock). */
int cosignd_rate_take(cosignd_rate *r, const char *key, int64_t now_ms);

/* ------------------------------------------------------------------ decide */

typedef struct cosignd_server {
    const char *dir;
    cosignd_config cfg;
    vouch_key *key;
    char *did;             /* the co-signer's did:key */
    char *kid;             /* its verification method id */
    char *did_body;        /* the GET /v1/did answer */
    size_t did_body_len;
    cosignd_db *db;
    int audit_fd;
    cosignd_rate *rate;
    pthread_mutex_t lock;  /* the connection, the audit file and the buckets */
    int audit_failed;      /* set when the audit file could not be written */
    int64_t (*clock)(void);/* unix seconds (tests may inject) */
} cosignd_server;

typedef struct cosignd_reply {
    unsigned status;
    char *body; /* vouch_malloc'd JSON */
    size_t len;
} cosignd_reply;

/* Opens everything serve needs from dir (key, config, db, audit file). */
vouch_code cosignd_server_open(cosignd_server *s, const char *dir, vouch_err *err);
void cosignd_server_close(cosignd_server *s);

/*
 * Decides one POST /v1/cosign: body (len bytes; too_large when the HTTP
 * layer stopped reading at the cap), from peer (text, may be NULL). Always
 * fills *out (status and a JSON body); audits the decision first.
 */
void cosignd_decide(cosignd_server *s, const char *body, size_t len, int too_large,
                    const char *peer, cosignd_reply *out);

/* A refusal reply for the HTTP layer (404, 405, 413 ...). */
void cosignd_reply_error(cosignd_reply *out, vouch_code code, const char *msg);

/* -------------------------------------------------------------------- http */

typedef struct cosignd_listen {
    const char *listen;   /* "ADDR:PORT" or "[ADDR]:PORT" */
    const char *tls_cert; /* PEM files, or NULL for plain HTTP (loopback only) */
    const char *tls_key;
    unsigned threads;
} cosignd_listen;

/* Serves until SIGTERM or SIGINT, then stops cleanly. */
vouch_code cosignd_http_serve(cosignd_server *s, const cosignd_listen *l, vouch_err *err);

#endif
