/* decide.c - one co-sign request in, one decision out, independent of HTTP.
 *
 * The order (docs/cosign.md lists the codes):
 *   outside the lock, pure:  size cap -> signature (by the kid's did:key)
 *                            -> claims (iss is the signer)
 *   under the lock, in one BEGIN IMMEDIATE transaction:
 *       allowed? revoked? -> rate -> fresh (aud, iat, exp) -> release well
 *       formed, vendor's, lifetime -> replay (jti) -> rollback per hardware
 *       (force only if the operator allowed it) -> sign -> record the jti
 *       and the highest securityVersion -> audit row -> audit file line
 *       (fsync) -> COMMIT
 * Refusals write the audit row and line only. If any write fails, the
 * transaction rolls back and no signature leaves the process: a signature
 * exists only if its audit record does. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cosignd/cosignd.h"

static int64_t clock_unix(void) { return (int64_t)time(NULL); }

static int64_t clock_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void cosignd_reply_error(cosignd_reply *out, vouch_code code, const char *msg)
{
    static const char fallback[] = "{\"error\":{\"code\":3,\"name\":\"VOUCH_E_NOMEM\","
                                   "\"message\":\"out of memory\"}}";

    out->status = vouch_cosign_http_status(code);
    out->body = NULL;
    out->len = 0;
    if (vouch_cosign_error_body(code, msg, &out->body, &out->len, NULL) != VOUCH_OK) {
        out->status = 500;
        out->body = vouch_strdup(fallback);
        out->len = out->body ? strlen(out->body) : 0;
    }
}

vouch_code cosignd_server_open(cosignd_server *s, const char *dir, vouch_err *err)
{
    char path[COSIGND_PATH_MAX];
    json_t *jwk = NULL, *o = NULL;
    vouch_code rc;

    memset(s, 0, sizeof(*s));
    s->dir = dir;
    s->audit_fd = -1;
    s->clock = clock_unix;
    if (pthread_mutex_init(&s->lock, NULL) != 0)
        return vouch_err_set(err, VOUCH_E_INTERNAL, "cannot create a mutex");
    if ((rc = cosignd_config_load(dir, &s->cfg, err)) != VOUCH_OK)
        goto out;
    if (!s->cfg.vendor[0]) {
        rc = vouch_err_set(err, VOUCH_E_USAGE,
                           "config.json names no vendor; set it with "
                           "`vouch-cosignd config --dir DIR --vendor DID`");
        goto out;
    }
    if ((rc = cosignd_key_load(dir, &s->cfg, &s->key, err)) != VOUCH_OK ||
        (rc = vouch_did_key_encode(s->key, &s->did, err)) != VOUCH_OK ||
        (rc = vouch_did_key_vm_id(s->did, &s->kid, err)) != VOUCH_OK ||
        (rc = vouch_key_to_jwk(s->key, &jwk, err)) != VOUCH_OK)
        goto out;
    o = json_pack("{s:s,s:s,s:O}", "did", s->did, "kid", s->kid, "jwk", jwk);
    if (!o) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory");
        goto out;
    }
    if ((rc = vouch_json_dump(o, &s->did_body, &s->did_body_len, err)) != VOUCH_OK ||
        (rc = cosignd_path(dir, COSIGND_DB_FILE, path, sizeof(path), err)) != VOUCH_OK ||
        (rc = cosignd_db_open(path, 0, &s->db, err)) != VOUCH_OK ||
        (rc = cosignd_db_check(s->db, err)) != VOUCH_OK ||
        (rc = cosignd_auditlog_open(dir, &s->audit_fd, err)) != VOUCH_OK ||
        (rc = cosignd_rate_new(s->cfg.rate_burst, s->cfg.rate_per_minute, &s->rate, err)) !=
            VOUCH_OK)
        goto out;
out:
    json_decref(o);
    json_decref(jwk);
    if (rc != VOUCH_OK)
        cosignd_server_close(s);
    return rc;
}

void cosignd_server_close(cosignd_server *s)
{
    cosignd_rate_free(s->rate);
    if (s->audit_fd >= 0)
        close(s->audit_fd);
    cosignd_db_close(s->db);
    vouch_free(s->did_body);
    vouch_free(s->kid);
    vouch_free(s->did);
    vouch_key_free(s->key);
    pthread_mutex_destroy(&s->lock);
    s->rate = NULL;
    s->audit_fd = -1;
    s->db = NULL;
    s->did_body = s->kid = s->did = NULL;
    s->key = NULL;
}

/* The checks that need the database and the signature itself; runs inside
 * the transaction. On success *entry holds the signature entry. */
static vouch_code decide_locked(cosignd_server *s, const vouch_cosign_request *req, int64_t now,
                                vouch_release *rel, int *have_rel, int *forced,
                                const char *sha_hex, char **entry, size_t *entry_len,
                                vouch_err *err)
{
    cosignd_server_row row;
    int used = 0;
    vouch_code rc;

    if ((rc = cosignd_db_server(s->db, req->iss, &row, err)) != VOUCH_OK)
        return rc;
    if (!row.found)
        return vouch_err_set(err, VOUCH_E_COSIGN_UNKNOWN,
                             "this build server is not allowed to ask for co-signatures");
    if (row.revoked)
        return vouch_err_set(err, VOUCH_E_COSIGN_REVOKED, "this build server has been revoked");
    if (!cosignd_rate_take(s->rate, req->iss, clock_mono_ms()))
        return vouch_err_set(err, VOUCH_E_COSIGN_RATE,
                             "too many requests from this build server (limit %lld per minute, "
                             "burst %lld)",
                             (long long)s->cfg.rate_per_minute, (long long)s->cfg.rate_burst);
    if ((rc = vouch_cosign_request_check(req, s->did, now, s->cfg.skew, err)) != VOUCH_OK)
        return rc;
    if ((rc = vouch_cosign_check_release(req, s->cfg.vendor, s->cfg.max_release_lifetime, now,
                                         rel, err)) != VOUCH_OK) {
        /* a payload that parsed is worth auditing even when refused */
        *have_rel = rc != VOUCH_E_COSIGN_REQUEST;
        return rc;
    }
    *have_rel = 1;
    if ((rc = cosignd_db_jti_used(s->db, req->iss, req->jti, &used, err)) != VOUCH_OK)
        return rc;
    if (used)
        return vouch_err_set(err, VOUCH_E_COSIGN_REPLAY, "request id (jti) already used");
    for (size_t i = 0; i < rel->nhardware; i++) {
        int64_t highest = -1;
        if ((rc = cosignd_db_highest(s->db, rel->hardware[i], &highest, err)) != VOUCH_OK)
            return rc;
        if (rel->security_version >= highest)
            continue;
        if (!req->force)
            return vouch_err_set(err, VOUCH_E_COSIGN_ROLLBACK,
                                 "securityVersion %lld is below %lld, the highest co-signed for "
                                 "hardware %s",
                                 (long long)rel->security_version, (long long)highest,
                                 rel->hardware[i]);
        if (!row.allow_force)
            return vouch_err_set(err, VOUCH_E_COSIGN_ROLLBACK,
                                 "securityVersion %lld is below %lld for hardware %s, and this "
                                 "build server may not force",
                                 (long long)rel->security_version, (long long)highest,
                                 rel->hardware[i]);
        *forced = 1;
    }
    if ((rc = vouch_cosign_sign(s->key, s->kid, req->release, req->release_len, entry, entry_len,
                                err)) != VOUCH_OK)
        return rc;
    if ((rc = cosignd_db_record(s->db, req->iss, req->jti, req->exp, rel, sha_hex, now, err)) !=
            VOUCH_OK ||
        (rc = cosignd_db_prune(s->db, now, err)) != VOUCH_OK)
        return rc;
    return VOUCH_OK;
}

/* Writes the audit record and commits (the transaction is open). */
static vouch_code decide_finish(cosignd_server *s, const cosignd_audit *a, vouch_err *err)
{
    vouch_code rc = cosignd_audit_write(s->db, s->audit_fd, a, err);

    if (rc == VOUCH_E_IO)
        s->audit_failed = 1;
    if (rc == VOUCH_OK)
        rc = cosignd_db_commit(s->db, err);
    if (rc != VOUCH_OK)
        cosignd_db_rollback(s->db);
    return rc;
}

void cosignd_decide(cosignd_server *s, const char *body, size_t len, int too_large,
                    const char *peer, cosignd_reply *out)
{
    vouch_cosign_request req;
    vouch_release rel;
    cosignd_audit a;
    vouch_err e, e2;
    char sha_hex[65];
    char *entry = NULL;
    size_t entry_len = 0;
    int have_rel = 0, forced = 0, in_tx = 0;
    int64_t now = s->clock();
    vouch_code rc;

    memset(&req, 0, sizeof(req));
    memset(&rel, 0, sizeof(rel));
    memset(&a, 0, sizeof(a));
    vouch_err_clear(&e);
    vouch_err_clear(&e2);
    a.time = now;
    a.security_version = -1;
    a.peer = peer;

    /* pure checks: no lock, no database */
    if (too_large)
        rc = vouch_err_set(&e, VOUCH_E_LIMIT, "co-sign request exceeds %u bytes",
                           VOUCH_COSIGN_MAX_BODY);
    else
        rc = vouch_cosign_request_verify(body, len, &req, &e);

    pthread_mutex_lock(&s->lock);
    if (rc == VOUCH_OK) {
        /* from here on the sender is authenticated: name it in the audit */
        a.build_server = req.iss;
        a.jti = req.jti;
        if (vouch_hex_encode_buf(req.release_sha256, 32, sha_hex, sizeof(sha_hex), NULL) ==
            VOUCH_OK)
            a.release_sha256 = sha_hex;
        rc = cosignd_db_begin(s->db, &e);
        in_tx = rc == VOUCH_OK;
        if (rc == VOUCH_OK)
            rc = decide_locked(s, &req, now, &rel, &have_rel, &forced, sha_hex, &entry,
                               &entry_len, &e);
        if (have_rel) {
            a.version = rel.version;
            a.security_version = rel.security_version;
        }
        if (rc != VOUCH_OK) {
            vouch_free(entry);
            entry = NULL;
            if (in_tx && (rc == VOUCH_E_DB || rc == VOUCH_E_NOMEM || rc == VOUCH_E_INTERNAL ||
                          rc == VOUCH_E_KEY_PKCS11 || rc == VOUCH_E_KEY_CRYPTO)) {
                /* nothing of a failed decision stays; the refusal is audited
                 * in a fresh transaction */
                cosignd_db_rollback(s->db);
                in_tx = 0;
            }
        }
    }
    a.forced = rc == VOUCH_OK && forced;
    a.event = rc == VOUCH_OK ? "signed" : "refused";
    a.code = rc;
    a.reason = rc == VOUCH_OK ? (forced ? "co-signed (forced below the highest)" : "co-signed")
                              : e.msg;
    if (!in_tx && cosignd_db_begin(s->db, &e2) == VOUCH_OK)
        in_tx = 1;
    if (!in_tx || decide_finish(s, &a, &e2) != VOUCH_OK) {
        /* no audit record, no signature */
        if (in_tx)
            cosignd_db_rollback(s->db);
        fprintf(stderr, "vouch-cosignd: cannot record a decision: %s\n", e2.msg);
        vouch_free(entry);
        entry = NULL;
        rc = (e2.code == VOUCH_E_IO || e2.code == VOUCH_E_NOMEM) ? e2.code : VOUCH_E_DB;
        vouch_err_set(&e, rc, "the decision could not be audited; nothing was signed");
    }
    pthread_mutex_unlock(&s->lock);

    if (rc == VOUCH_OK && entry) {
        out->status = 200;
        out->body = entry;
        out->len = entry_len;
        entry = NULL;
    } else {
        cosignd_reply_error(out, rc == VOUCH_OK ? VOUCH_E_INTERNAL : rc, e.msg);
    }
    vouch_free(entry);
    vouch_cosign_request_free(&req);
}
