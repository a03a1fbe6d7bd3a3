/* login.c - the SIOPv2 + OpenID4VP login and the device API, without HTTP:
 * each function takes the request's bytes and fills one reply (status and
 * a JSON body, or the signed request object).
 *
 *   POST /auth/siop          {"did"} -> a sealed state (login_state.c: no
 *                            row; the state is also the request id) ->
 *                            openid:// URL
 *   GET /auth/request/<id>   the request object, signed by the server key
 *   POST /auth/response      id_token, vp_token, presentation_submission,
 *                            state -> open the state, verify (signatures
 *                            and claims, outside any lock) -> the store
 *                            consumes the nonce (inserts the state),
 *                            checks revocation and allowlist, detects clones
 *                            and keeps the SHA-256 of a new access token,
 *                            all in one transaction -> the token
 *   GET /api/v1/whoami       Bearer token -> the device's DID and facts
 *
 * Error bodies carry our code, its name and our own message for it: never
 * a byte of the request (docs/server.md). */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/rand.h>
#include <openssl/sha.h>

#include "common/cli.h"
#include "vouchd/vouchd.h"

#define RESPONSE_TOKEN_MAX VOUCH_LOGIN_MAX_BYTES
#define SUBMISSION_MAX (16u * 1024u)
#define STATE_MAX 128u

void vd_log(const char *fmt, ...)
{
    char line[512], clean[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    cli_ascii(line, clean, sizeof(clean));
    fprintf(stderr, "vouchd: %s\n", clean);
}

vouch_code vd_random_b64(size_t nbytes, char *out, size_t cap, vouch_err *err)
{
    uint8_t raw[64];
    size_t n = 0;
    vouch_code rc;

    if (nbytes > sizeof(raw))
        return vouch_err_set(err, VOUCH_E_ARG, "random: too many bytes");
    if (RAND_bytes(raw, (int)nbytes) != 1)
        return vouch_err_set(err, VOUCH_E_INTERNAL, "random: RAND_bytes failed");
    rc = vouch_b64url_encode_buf(raw, nbytes, out, cap, &n, err);
    vouch_wipe(raw, sizeof(raw));
    return rc;
}

unsigned vd_status_of(vouch_code c)
{
    switch (c) {
    case VOUCH_OK:
        return 200;
    case VOUCH_E_LIMIT:
    case VOUCH_E_JSON_SIZE:
    case VOUCH_E_JWS_TOO_LARGE:
        return 413;
    case VOUCH_E_NOTFOUND:
        return 404;
    case VOUCH_E_LOGIN_REVOKED:
    case VOUCH_E_LOGIN_NOT_REGISTERED:
    case VOUCH_E_LOGIN_CONSTRAINT:
    case VOUCH_E_PERM:
        return 403;
    case VOUCH_E_LOGIN_STATE:
    case VOUCH_E_LOGIN_NONCE:
    case VOUCH_E_LOGIN_CLONE:
        return 409;
    case VOUCH_E_LOGIN_AUDIENCE:
    case VOUCH_E_LOGIN_SUBJECT:
    case VOUCH_E_LOGIN_EXPIRED:
    case VOUCH_E_LOGIN_ISSUER:
    case VOUCH_E_LOGIN_TOKEN:
    case VOUCH_E_JWS_BAD_SIGNATURE:
    case VOUCH_E_JWS_UNKNOWN_KEY:
    case VOUCH_E_JWS_NO_VALID:
    case VOUCH_E_JWS_ALG_MISMATCH:
    case VOUCH_E_JWS_SIG_RANGE:
    case VOUCH_E_VC_EXPIRED:
    case VOUCH_E_VC_NOT_YET_VALID:
    case VOUCH_E_VC_ISSUER:
        return 401;
    case VOUCH_E_INTERNAL:
    case VOUCH_E_NOMEM:
    case VOUCH_E_IO:
    case VOUCH_E_DB:
        return 500;
    default:
        return 400;
    }
}

static void reply_json(vd_reply *r, unsigned status, json_t *o)
{
    char *s = NULL;
    size_t n = 0;

    r->status = status;
    r->content_type = "application/json";
    r->body = NULL;
    r->len = 0;
    if (o && vouch_json_dump(o, &s, &n, NULL) == VOUCH_OK) {
        r->body = s;
        r->len = n;
    } else {
        static const char oom[] = "{\"error\":{\"code\":3,\"name\":\"VOUCH_E_NOMEM\","
                                  "\"message\":\"out of memory\"}}";
        r->status = 500;
        r->body = vouch_strdup(oom);
        r->len = r->body ? sizeof(oom) - 1 : 0;
    }
    json_decref(o);
}

void vd_reply_error(vd_reply *r, vouch_code code, const char *msg)
{
    vouch_json_init();
    reply_json(r, vd_status_of(code),
               json_pack("{s:{s:i,s:s,s:s}}", "error", "code", (int)code, "name",
                         vouch_code_name(code), "message",
                         msg ? msg : vouch_code_describe(code)));
}

void vd_reply_free(vd_reply *r)
{
    vouch_free(r->body);
    r->body = NULL;
    r->len = 0;
}

/* Our message for a refusal: the code's description (the library's
 * detailed message may quote parts of the input, so it goes to the log
 * only, sanitized). */
static void refuse(vd_reply *out, const char *route, const vouch_err *e)
{
    vd_log("%s refused: %s: %s", route, vouch_code_name(e->code), e->msg);
    vd_reply_error(out, e->code, NULL);
}

void vd_token_key(const char *token, uint8_t key[VD_TOKEN_KEY_LEN])
{
    memcpy(key, token, VD_EXP_LEN);
    SHA256((const unsigned char *)token, VD_TOKEN_LEN, key + VD_EXP_LEN);
}

/* A value we made: len characters, all base64url (the expiry prefix uses
 * the same alphabet). */
static int is_b64url_id(const char *s, size_t len, size_t want)
{
    if (len != want)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

/* Decoded device keys, shared by every worker: a login names its did:key in
 * POST /auth/siop and again in the response (id_token kid and sub,
 * vp_token, credential), and a device logs in again and again. Decoding
 * is a pure function of the DID, so a cached key is the key a decode would
 * give; the cap bounds memory (a P-256 key with its prepared contexts is a
 * few KiB) and covers many times the logins in flight. Without a cache
 * (out of memory at first use) every decode is done afresh. */
#define VD_DID_CACHE_CAP 4096u

static pthread_once_t did_cache_once = PTHREAD_ONCE_INIT;
static vouch_did_cache *did_cache;

static void did_cache_make(void)
{
    if (vouch_did_cache_new(VD_DID_CACHE_CAP, &did_cache, NULL) != VOUCH_OK)
        did_cache = NULL;
}

static vouch_did_cache *vd_did_cache(void)
{
    pthread_once(&did_cache_once, did_cache_make);
    return did_cache;
}

/* The request object template (vouch_siop_request_tmpl) of this process's
 * server: everything but nonce, state, iat and exp is the same in every
 * login, so it is serialized once, at the first GET /auth/request. Made
 * for one server and one response_uri; anything else (or a template that
 * could not be made) builds each request object in full. */
static pthread_mutex_t req_tmpl_lock = PTHREAD_MUTEX_INITIALIZER;
static vouch_siop_request_tmpl *req_tmpl;
static const vd_server *req_tmpl_server;
static int req_tmpl_tried;

static const vouch_siop_request_tmpl *vd_request_tmpl(vd_server *s, const char *response_uri)
{
    const vouch_siop_request_tmpl *t = NULL;

    pthread_mutex_lock(&req_tmpl_lock);
    if (!req_tmpl_tried) {
        req_tmpl_tried = 1;
        req_tmpl_server = s;
        if (vouch_siop_request_tmpl_new(s->cfg.key, s->cfg.kid, s->cfg.did, response_uri,
                                        s->cfg.authz.allowlist_mode ? NULL : s->cfg.definition,
                                        &req_tmpl, NULL) != VOUCH_OK)
            req_tmpl = NULL;
    }
    if (req_tmpl_server == s)
        t = req_tmpl;
    pthread_mutex_unlock(&req_tmpl_lock);
    return t;
}

static int64_t nonce_ttl(const vd_server *s)
{
    return s->cfg.authz.nonce_ttl > 0 ? s->cfg.authz.nonce_ttl : VD_REQUEST_TTL_DEFAULT;
}

void vd_login_start(vd_server *s, const char *body, size_t len, int form, vd_reply *out)
{
    vouch_err e;
    char did[VOUCH_DID_MAX + 1], state[VD_STATE_LEN + 1], nonce[VD_ID_LEN + 1];
    vouch_key *k = NULL;
    char uri[VD_URL_MAX + 16 + VD_STATE_LEN];
    char *enc_id = NULL, *enc_uri = NULL, *url = NULL;
    size_t n;
    vouch_code rc;

    vouch_err_clear(&e);
    if ((rc = vouch_login_start_parse(body, len, form, did, sizeof(did), &e)) != VOUCH_OK)
        goto out;
    /* the device names itself by its did:key: a key we can verify with */
    if ((rc = vouch_did_cache_decode(vd_did_cache(), did, &k, &e)) != VOUCH_OK)
        goto out;
    /* the nonce is not needed here: GET /auth/request opens the state */
    if ((rc = vd_state_new(s->sealer, did, s->clock() + nonce_ttl(s), state, nonce, &e)) !=
        VOUCH_OK)
        goto out;
    snprintf(uri, sizeof(uri), "%s/auth/request/%s", s->public_url, state);
    if ((rc = vouch_form_encode(s->cfg.did, strlen(s->cfg.did), &enc_id, &e)) != VOUCH_OK ||
        (rc = vouch_form_encode(uri, strlen(uri), &enc_uri, &e)) != VOUCH_OK)
        goto out;
    n = strlen(enc_id) + strlen(enc_uri) + 64;
    url = vouch_malloc(n);
    if (!url) {
        rc = vouch_err_set(&e, VOUCH_E_NOMEM, "out of memory");
        goto out;
    }
    snprintf(url, n, "openid://?client_id=%s&request_uri=%s", enc_id, enc_uri);
    vd_metric_inc(VD_M_LOGIN_STARTED);
    reply_json(out, 200, json_pack("{s:s}", "request", url));
out:
    if (rc != VOUCH_OK)
        refuse(out, "POST /auth/siop", &e);
    vouch_wipe(nonce, sizeof(nonce));
    vouch_key_free(k);
    vouch_free(enc_id);
    vouch_free(enc_uri);
    vouch_free(url);
}

void vd_login_request(vd_server *s, const char *id, vd_reply *out)
{
    vouch_err e;
    vd_state_info si;
    vouch_login_params lp;
    const vouch_siop_request_tmpl *tmpl;
    char response_uri[VD_URL_MAX + 32];
    char *jwt = NULL;
    int64_t now = s->clock();
    vouch_code rc;

    vouch_err_clear(&e);
    memset(&si, 0, sizeof(si));
    if ((rc = vd_state_open(s->sealer, id, strlen(id), VOUCH_E_NOTFOUND, &si, &e)) != VOUCH_OK)
        goto out;
    if (vd_answered_seen(id)) {
        rc = vouch_err_set(&e, VOUCH_E_LOGIN_STATE, "this login was already answered");
        goto out;
    }
    if (si.expires <= now) {
        rc = vouch_err_set(&e, VOUCH_E_LOGIN_NONCE, "this login request expired");
        goto out;
    }
    snprintf(response_uri, sizeof(response_uri), "%s/auth/response", s->public_url);
    lp.client_id = s->cfg.did;
    lp.response_uri = response_uri;
    lp.nonce = si.nonce;
    lp.state = id;
    lp.iat = now;
    lp.exp = si.expires;
    /* allowlist mode asks for the id_token alone */
    tmpl = vd_request_tmpl(s, response_uri);
    if (tmpl && vouch_siop_request_tmpl_build(tmpl, &lp, &jwt, &e) == VOUCH_OK)
        rc = VOUCH_OK;
    else
        rc = vouch_siop_request_build(s->cfg.key, s->cfg.kid, &lp,
                                      s->cfg.authz.allowlist_mode ? NULL : s->cfg.definition,
                                      &jwt, &e);
    if (rc != VOUCH_OK)
        goto out;
    out->status = 200;
    out->content_type = "application/oauth-authz-req+jwt";
    out->body = jwt;
    out->len = strlen(jwt);
    jwt = NULL;
out:
    if (rc != VOUCH_OK)
        refuse(out, "GET /auth/request", &e);
    vouch_wipe(&si, sizeof(si));
    vouch_free(jwt);
}

void vd_login_response(vd_server *s, const char *body, size_t len, const char *peer,
                       vd_reply *out)
{
    enum { F_ID, F_VP, F_SUB, F_STATE, F__N };
    vouch_form_field f[F__N] = {
        [F_ID] = {"id_token", RESPONSE_TOKEN_MAX, 1, NULL, 0},
        [F_VP] = {"vp_token", RESPONSE_TOKEN_MAX, 0, NULL, 0},
        [F_SUB] = {"presentation_submission", SUBMISSION_MAX, 0, NULL, 0},
        [F_STATE] = {"state", STATE_MAX, 1, NULL, 0},
    };
    vouch_err e;
    vd_state_info si;
    vouch_login_params lp;
    vouch_device_facts facts;
    vd_finish fin;
    char response_uri[VD_URL_MAX + 32];
    char token[VD_TOKEN_LEN + 1];
    uint8_t key[VD_TOKEN_KEY_LEN];
    int64_t now = s->clock();
    int clone = 0, allowlist = s->cfg.authz.allowlist_mode;
    vouch_code rc;

    vouch_err_clear(&e);
    memset(&si, 0, sizeof(si));
    memset(&facts, 0, sizeof(facts));
    memset(&fin, 0, sizeof(fin));
    memset(token, 0, sizeof(token));
    if ((rc = vouch_form_parse(body, len, f, F__N, &e)) != VOUCH_OK)
        goto out;
    if (!allowlist && (!f[F_VP].value || !f[F_SUB].value)) {
        rc = vouch_err_set(&e, VOUCH_E_LOGIN_REQUEST,
                           "vp_token and presentation_submission are required");
        goto out;
    }
    /* the state is ours, else no login has it */
    if ((rc = vd_state_open(s->sealer, f[F_STATE].value, f[F_STATE].len, VOUCH_E_LOGIN_STATE, &si,
                            &e)) != VOUCH_OK)
        goto out;
    /* fail fast on a replay or a late answer; the store decides, atomically,
     * before anything is issued */
    if (vd_answered_seen(f[F_STATE].value)) {
        rc = vouch_err_set(&e, VOUCH_E_LOGIN_NONCE, "nonce already used (replayed login)");
        goto out;
    }
    if (si.expires <= now) {
        rc = vouch_err_set(&e, VOUCH_E_LOGIN_NONCE, "nonce expired");
        goto out;
    }
    snprintf(response_uri, sizeof(response_uri), "%s/auth/response", s->public_url);
    lp.client_id = s->cfg.did;
    lp.response_uri = response_uri;
    lp.nonce = si.nonce;
    lp.state = f[F_STATE].value;
    lp.iat = si.expires - nonce_ttl(s); /* when it was made, give or take a TTL change */
    lp.exp = si.expires;
    if ((rc = vouch_siop_response_verify_cached(
             vd_did_cache(), s->cfg.policy, &s->cfg.authz, &lp, f[F_ID].value, f[F_ID].len,
             allowlist ? NULL : f[F_VP].value, allowlist ? 0 : f[F_VP].len,
             allowlist ? NULL : f[F_SUB].value, allowlist ? 0 : f[F_SUB].len, now, &facts, &e)) !=
        VOUCH_OK)
        goto out;
    /* the key that answered is the one that asked */
    if (!vd_state_for(&si, facts.did)) {
        rc = vouch_err_set(&e, VOUCH_E_LOGIN_SUBJECT,
                           "the response is not from the device that started the login");
        goto out;
    }
    fin.token_expires = now + s->cfg.authz.access_ttl;
    vd_exp_prefix(fin.token_expires, token);
    if ((rc = vd_random_b64(VD_TOKEN_BYTES, token + VD_EXP_LEN, sizeof(token) - VD_EXP_LEN,
                            &e)) != VOUCH_OK)
        goto out;
    vd_token_key(token, key);
    fin.state = f[F_STATE].value;
    fin.state_expires = si.expires;
    fin.did = facts.did;
    fin.serial = facts.serial;
    fin.hardware = facts.hardware;
    fin.token_key = key;
    fin.now = now;
    fin.allowlist_mode = allowlist;
    fin.refuse_clones = s->cfg.authz.refuse_clones;
    fin.peer = peer;
    rc = s->store->ops->login_finish(s->store, &fin, &clone, &e);
    /* the store consumed the nonce (a clone refusal keeps it consumed) */
    if (rc == VOUCH_OK || rc == VOUCH_E_LOGIN_NONCE || rc == VOUCH_E_LOGIN_CLONE)
        vd_answered_mark(f[F_STATE].value);
    if (clone) {
        vd_metric_inc(VD_M_CLONE);
        vd_log("clone signal: %s logged in while another session is live%s", facts.did,
               rc == VOUCH_E_LOGIN_CLONE ? " (refused)" : "");
    }
    if (rc != VOUCH_OK)
        goto out;
    vd_metric_inc(VD_M_LOGIN_OK);
    reply_json(out, 200,
               json_pack("{s:s,s:s,s:I}", "access_token", token, "token_type", "Bearer",
                         "expires_in", (json_int_t)s->cfg.authz.access_ttl));
out:
    if (rc != VOUCH_OK) {
        vd_metric_refused(rc);
        refuse(out, "POST /auth/response", &e);
    }
    vouch_wipe(token, sizeof(token));
    vouch_wipe(key, sizeof(key));
    vouch_wipe(&si, sizeof(si));
    vouch_form_free(f, F__N);
}

void vd_api_whoami(vd_server *s, const char *authorization, vd_reply *out)
{
    vouch_err e;
    vd_token_row row;
    uint8_t key[VD_TOKEN_KEY_LEN];
    const char *tok;
    vouch_code rc;

    vouch_err_clear(&e);
    if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0) {
        rc = vouch_err_set(&e, VOUCH_E_LOGIN_TOKEN, "no Bearer access token");
        goto out;
    }
    tok = authorization + 7;
    if (!is_b64url_id(tok, strlen(tok), VD_TOKEN_LEN)) {
        rc = vouch_err_set(&e, VOUCH_E_LOGIN_TOKEN, "access token unknown, expired or revoked");
        goto out;
    }
    vd_token_key(tok, key);
    if ((rc = s->store->ops->token_check(s->store, key, s->clock(), &row, &e)) != VOUCH_OK)
        goto out;
    vd_metric_inc(VD_M_TOKEN_OK);
    reply_json(out, 200,
               json_pack("{s:s,s:s,s:s,s:I}", "did", row.did, "serial", row.serial, "hardware",
                         row.hardware, "expires", (json_int_t)row.expires));
out:
    if (rc != VOUCH_OK) {
        vd_metric_inc(VD_M_TOKEN_REFUSED);
        refuse(out, "GET /api/v1/whoami", &e);
    }
    vouch_wipe(key, sizeof(key));
}
