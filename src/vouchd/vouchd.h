/*
 * vouchd.h - the inside of vouchd, the update server (first version: did:web
 * hosting, SIOPv2 + OpenID4VP login, access tokens, revocation, clone
 * detection, allowlist mode). One file per concern:
 *
 *   main.c          the table-driven command line (serve, revoke, register)
 *   config.c        the server directory S (key, policy, authz, DID files)
 *   store.c         the store interface and the DB URL dispatch
 *   store_sqlite.c  the SQLite backend (default: S/vouchd.db)
 *   store_pg.c      the PostgreSQL backend (libpq)
 *   login.c         the login flow and the device API, no HTTP: one request
 *                   in, one reply (status + JSON body) out
 *   login_state.c   sealed login states (no row until a login is answered)
 *   metrics.c       counters and the Prometheus text
 *   http.c          libmicrohttpd: routes, body cap, TLS, clean stop
 *
 * Routes, statuses, error bodies and the schema: docs/server.md.
 */
#ifndef VOUCH_VOUCHD_H
#define VOUCH_VOUCHD_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "vouch/form.h"
#include "vouch/policy.h"
#include "vouch/siop.h"
#include "vouch/vouch.h"

#define VD_PATH_MAX 4096
#define VD_URL_MAX 512          /* --public-url */
#define VD_DB_URL_MAX 1024
#define VD_FILE_MAX (256u * 1024u) /* any file of S */
#define VD_ID_BYTES 16          /* a nonce: 128 bits */
#define VD_ID_LEN 22            /* base64url of 16 bytes */
#define VD_TOKEN_BYTES 32       /* the random part of an access token: 256 bits */
/* A state (also the request id) and an access token begin with their
 * expiry time, VD_EXP_LEN characters that sort in time order
 * (vd_exp_prefix), then base64url: the store keeps them in expiry order,
 * so inserts append and pruning is a range delete, with no expiry index to
 * write on every login. */
#define VD_EXP_LEN 8 /* a multiple of 4: the whole stays canonical base64url */
/* A state is sealed, not stored (login_state.c): after the expiry prefix,
 * VD_STATE_BODY bytes in base64url: VD_STATE_RAND random bytes, the first
 * VD_STATE_DIDH bytes of SHA-256(device DID), and a VD_STATE_TAG-byte
 * HMAC-SHA-256 tag over all of it under the store's state key. The same
 * HMAC gives the login's nonce, so no server keeps anything about a login
 * until it is answered. */
#define VD_STATE_RAND 12
#define VD_STATE_DIDH 9
#define VD_STATE_TAG 12
#define VD_STATE_BODY (VD_STATE_RAND + VD_STATE_DIDH + VD_STATE_TAG) /* a multiple of 3 */
#define VD_STATE_LEN (VD_EXP_LEN + VD_STATE_BODY / 3 * 4)
#define VD_STATE_KEY_LEN 32
#define VD_TOKEN_LEN (VD_EXP_LEN + 43)
/* A token's key in the store: its expiry prefix, then the SHA-256 of the
 * whole token (the token itself is never stored). */
#define VD_TOKEN_KEY_LEN (VD_EXP_LEN + 32)
#define VD_REQUEST_TTL_DEFAULT 300

/* ------------------------------------------------------------------ config */

typedef struct vd_config {
    char dir[VD_PATH_MAX];
    char domain[256];
    char did[VOUCH_DID_MAX + 1];   /* the vendor did:web = client_id */
    char kid[VOUCH_DID_MAX + 64];  /* the server key's kid ("<did>#<kid>") */
    vouch_key *key;                /* the server key (signs request objects) */
    vouch_policy *policy;          /* the trust policy (issuer keys) */
    vouch_authz authz;             /* S/authz.json */
    json_t *definition;            /* presentation_definition (from authz) */
    char *did_json;                /* bytes served at /.well-known/did.json */
    size_t did_json_len;
    char *did_config;              /* /.well-known/did-configuration.json */
    size_t did_config_len;
} vd_config;

/* Loads and checks everything serve needs from S. */
vouch_code vd_config_load(const char *dir, vd_config *c, vouch_err *err);
void vd_config_free(vd_config *c);
/* dir/name into out (VOUCH_E_LIMIT if it does not fit). */
vouch_code vd_path(const char *dir, const char *name, char *out, size_t cap, vouch_err *err);

/* ------------------------------------------------------------------- store */

/* What POST /auth/response wants the store to do, atomically. */
typedef struct vd_finish {
    const char *state;             /* opened (vd_state_open): ours, for this DID */
    int64_t state_expires;         /* the login's expiry, from the state */
    const char *did;               /* the verified device DID */
    const char *serial, *hardware; /* from the verified credential ("" in allowlist mode) */
    const uint8_t *token_key;      /* the new access token's key (VD_TOKEN_KEY_LEN) */
    int64_t now, token_expires;
    int allowlist_mode;            /* 1: the DID must be registered */
    int refuse_clones;             /* 1: refuse when another live token exists */
    const char *peer;
} vd_finish;

/* A token lookup. */
typedef struct vd_token_row {
    char did[VOUCH_DID_MAX + 1];
    char serial[128];
    char hardware[64];
    int64_t expires;
} vd_token_row;

typedef struct vd_store vd_store;

typedef struct vd_store_ops {
    /* The key that seals login states (VD_STATE_KEY_LEN random bytes), made
     * with the schema and shared by every server of this database. */
    vouch_code (*state_key)(vd_store *s, uint8_t key[VD_STATE_KEY_LEN], vouch_err *err);
    /*
     * In one transaction: consume the login's nonce (INSERT of the state
     * into logins, the answered logins, when state_expires > now; a state
     * already there is a replay: exactly one winner, VOUCH_E_LOGIN_NONCE
     * for the others), refuse a revoked device
     * (VOUCH_E_LOGIN_REVOKED) or, in allowlist mode, an unregistered one
     * (VOUCH_E_LOGIN_NOT_REGISTERED) - both leave the nonce unused - then
     * detect a clone (another live token of this DID): an audit row and
     * *clone = 1, and with refuse_clones VOUCH_E_LOGIN_CLONE (the nonce
     * stays consumed, the audit row is kept); else store the token hash and
     * an audit row.
     */
    vouch_code (*login_finish)(vd_store *s, const vd_finish *f, int *clone, vouch_err *err);
    /* VOUCH_E_LOGIN_TOKEN if unknown, expired, or the device is revoked */
    vouch_code (*token_check)(vd_store *s, const uint8_t key[VD_TOKEN_KEY_LEN], int64_t now,
                              vd_token_row *row, vouch_err *err);
    /* marks did revoked and its tokens dead; *changed 0 if it already was */
    vouch_code (*revoke)(vd_store *s, const char *did, int64_t now, int *changed,
                         vouch_err *err);
    vouch_code (*enroll)(vd_store *s, const char *did, int64_t now, int *changed,
                         vouch_err *err);
    /* deletes logins and tokens that expired before now - keep */
    vouch_code (*prune)(vd_store *s, int64_t before, vouch_err *err);
    /* rows for /metrics and tests */
    vouch_code (*counts)(vd_store *s, int64_t *logins, int64_t *tokens, int64_t *audit,
                         vouch_err *err);
    void (*close)(vd_store *s);
} vd_store_ops;

struct vd_store {
    const vd_store_ops *ops;
};

/* Opens the store named by url ("sqlite:PATH", "postgresql://...",
 * "postgres://..."), or S/vouchd.db when url is NULL. create: make the
 * schema when the database is empty. */
vouch_code vd_store_open(const char *dir, const char *url, int create, vd_store **out,
                         vouch_err *err);
void vd_store_close(vd_store *s);

vouch_code vd_store_sqlite_open(const char *path, int create, vd_store **out, vouch_err *err);
vouch_code vd_store_pg_open(const char *conninfo, int create, vd_store **out, vouch_err *err);

/* ----------------------------------------------------------------- metrics */

typedef enum vd_counter {
    VD_M_REQUESTS,
    VD_M_LOGIN_STARTED,
    VD_M_LOGIN_OK,
    VD_M_LOGIN_REFUSED,
    VD_M_CLONE,
    VD_M_TOKEN_OK,
    VD_M_TOKEN_REFUSED,
    VD_M__COUNT
} vd_counter;

void vd_metric_inc(vd_counter c);
/* a refusal, counted by its code too */
void vd_metric_refused(vouch_code code);
/* The Prometheus text exposition (vouch_malloc'd). */
vouch_code vd_metrics_text(vd_store *st, char **out, size_t *len, vouch_err *err);

/* ------------------------------------------------------------------- login */

/* The sealer of login states (login_state.c): the state key from the store
 * as a keyed HMAC-SHA-256, made once per process, read-only afterwards. */
typedef struct vd_sealer vd_sealer;

typedef struct vd_server {
    vd_config cfg;
    vd_store *store;
    vd_sealer *sealer;             /* with the store's state key */
    char public_url[VD_URL_MAX];   /* scheme://host[:port], no trailing '/' */
    int64_t (*clock)(void);        /* unix seconds; $VOUCHD_NOW for tests */
} vd_server;

typedef struct vd_reply {
    unsigned status;
    const char *content_type;      /* static */
    char *body;                    /* vouch_malloc'd */
    size_t len;
} vd_reply;

/* The JSON error body for code (message from our table, never the input). */
void vd_reply_error(vd_reply *r, vouch_code code, const char *msg);
/* The HTTP status for a refusal with this code. */
unsigned vd_status_of(vouch_code code);
void vd_reply_free(vd_reply *r);

/* POST /auth/siop */
void vd_login_start(vd_server *s, const char *body, size_t len, int form, vd_reply *out);
/* GET /auth/request/<id> */
void vd_login_request(vd_server *s, const char *id, vd_reply *out);
/* POST /auth/response */
void vd_login_response(vd_server *s, const char *body, size_t len, const char *peer,
                       vd_reply *out);
/* GET /api/v1/whoami with the Authorization header value (may be NULL) */
void vd_api_whoami(vd_server *s, const char *authorization, vd_reply *out);

/* ------------------------------------------------------------ login states */

vouch_code vd_sealer_new(const uint8_t key[VD_STATE_KEY_LEN], vd_sealer **out, vouch_err *err);
void vd_sealer_free(vd_sealer *s);

/* What an opened state holds. */
typedef struct vd_state_info {
    int64_t expires;
    char nonce[VD_ID_LEN + 1];
    uint8_t didh[VD_STATE_DIDH];
} vd_state_info;

/* A new state for a login of did that expires at `expires`, and its nonce. */
vouch_code vd_state_new(const vd_sealer *s, const char *did, int64_t expires,
                        char state[VD_STATE_LEN + 1], char nonce[VD_ID_LEN + 1],
                        vouch_err *err);
/* Opens state[0..len): `unknown` unless it is a state some server of this
 * store sealed (the tag is compared in constant time); then its expiry (not
 * checked here) and nonce in *out. */
vouch_code vd_state_open(const vd_sealer *s, const char *state, size_t len, vouch_code unknown,
                         vd_state_info *out, vouch_err *err);
/* 1 if the opened state was sealed for did. */
int vd_state_for(const vd_state_info *si, const char *did);

/* Answered logins this process saw (login_state.c): a fixed table, a new
 * mark overwrites an old one, so a miss means nothing; it only lets a
 * replay or a late GET be refused before any signature work. The store
 * alone decides (login_finish). Thread-safe. */
void vd_answered_mark(const char *state);
int vd_answered_seen(const char *state);

/* t (unix seconds, 0 <= t < 2^48) as VD_EXP_LEN characters of base64url's
 * alphabet taken in ASCII order, most significant first, so that the
 * prefixes of two times compare (memcmp) as the times do; plus a NUL. */
void vd_exp_prefix(int64_t t, char out[VD_EXP_LEN + 1]);
/* The store key of a token of VD_TOKEN_LEN characters. */
void vd_token_key(const char *token, uint8_t key[VD_TOKEN_KEY_LEN]);
/* Random bytes as base64url into out (cap >= encoded + 1). */
vouch_code vd_random_b64(size_t nbytes, char *out, size_t cap, vouch_err *err);
/* One log line on stderr, only printable ASCII (others as '?', cli_ascii). */
void vd_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* -------------------------------------------------------------------- http */

typedef struct vd_listen {
    const char *listen;    /* "ADDR:PORT" or "[ADDR]:PORT" */
    const char *tls_cert;
    const char *tls_key;
    const char *public_url;/* NULL: http(s)://ADDR:PORT on loopback, https://domain else */
    unsigned threads;
} vd_listen;

vouch_code vd_http_serve(vd_server *s, const vd_listen *l, vouch_err *err);

#endif
