/* login.c - the device side of the login: the device bundle from
 * `vouch provision`, the SIOPv2 + OpenID4VP cross-device flow against
 * vouchd, and the access token kept in the state directory.
 *
 * Bundle: BUNDLE/bundle.json {"server", "did", "serial", "hardware", "key"}
 * ("key": the device key, a file name in BUNDLE, a path or a pkcs11: URI;
 * other members are ignored), BUNDLE/credential.jwt, BUNDLE/policy.jws
 * (the pinned trust policy: its signatures are checked, its expiry is not,
 * as for any pinned root).
 *
 * Flow, and what is checked before anything is signed:
 *   1. POST <server>/auth/siop {"did"} -> openid://?client_id&request_uri
 *   2. request_uri must be of the server's origin (net.c refuses others)
 *   3. GET request_uri -> the request object, verified with the policy's
 *      server key, response_uri of the server's origin, client_id the one
 *      of step 1 (vouch_siop_request_verify)
 *   4. POST response_uri id_token, vp_token, presentation_submission, state
 *   5. the token answer -> STATE/token.json (0600, atomic)
 */
#include <stdio.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/agent.h"

#define BUNDLE_FILE_MAX (64u * 1024u)

static vouch_code path_in(const char *dir, const char *name, char *out, size_t cap,
                          vouch_err *err)
{
    int n = name[0] == '/' ? snprintf(out, cap, "%s", name)
                           : snprintf(out, cap, "%s/%s", dir, name);

    if (n < 0 || (size_t)n >= cap)
        return vouch_err_set(err, VOUCH_E_LIMIT, "path too long: %s", name);
    return VOUCH_OK;
}

static vouch_code read_text(const char *dir, const char *name, char **out, size_t *len,
                            vouch_err *err)
{
    char path[AGENT_PATH_MAX];
    unsigned char *buf = NULL;
    vouch_code rc;

    *out = NULL;
    if ((rc = path_in(dir, name, path, sizeof(path), err)) != VOUCH_OK ||
        (rc = vouch_file_read(path, BUNDLE_FILE_MAX, &buf, len, err)) != VOUCH_OK)
        return rc;
    /* files often end in a newline */
    while (*len > 0 && (buf[*len - 1] == '\n' || buf[*len - 1] == '\r' || buf[*len - 1] == ' '))
        buf[--*len] = '\0';
    *out = (char *)buf;
    return VOUCH_OK;
}

static vouch_code copy_member(const json_t *o, const char *name, char *out, size_t cap,
                              int required, vouch_err *err)
{
    const char *s = NULL;
    vouch_code rc = vouch_json_get_string(o, name, &s, err);

    out[0] = '\0';
    if (rc == VOUCH_E_JSON_MISSING && !required)
        return VOUCH_OK;
    if (rc != VOUCH_OK)
        return rc;
    if (strlen(s) >= cap)
        return vouch_err_set(err, VOUCH_E_LIMIT, "bundle.json: \"%s\" too long", name);
    memcpy(out, s, strlen(s) + 1);
    return VOUCH_OK;
}

vouch_code agent_bundle_load(const char *dir, agent_bundle *b, vouch_err *err)
{
    char *text = NULL;
    size_t len = 0, n;
    json_t *o = NULL, *key;
    vouch_code rc;

    memset(b, 0, sizeof(*b));
    if (strlen(dir) >= sizeof(b->dir)) {
        rc = vouch_err_set(err, VOUCH_E_LIMIT, "--bundle path too long");
        goto out;
    }
    memcpy(b->dir, dir, strlen(dir) + 1);
    if ((rc = read_text(dir, "bundle.json", &text, &len, err)) != VOUCH_OK ||
        (rc = vouch_json_parse_object(text, len, NULL, &o, err)) != VOUCH_OK ||
        (rc = copy_member(o, "server", b->server, sizeof(b->server), 1, err)) != VOUCH_OK ||
        (rc = copy_member(o, "did", b->did, sizeof(b->did), 1, err)) != VOUCH_OK ||
        (rc = copy_member(o, "serial", b->serial, sizeof(b->serial), 0, err)) != VOUCH_OK ||
        (rc = copy_member(o, "hardware", b->hardware, sizeof(b->hardware), 0, err)) != VOUCH_OK)
        goto out;
    key = json_object_get(o, "key");
    if (json_is_string(key) &&
        (rc = (strncmp(json_string_value(key), "pkcs11:", 7) == 0
                   ? copy_member(o, "key", b->keyref, sizeof(b->keyref), 1, err)
                   : path_in(dir, json_string_value(key), b->keyref, sizeof(b->keyref), err))) !=
            VOUCH_OK)
        goto out;
    n = strlen(b->server);
    while (n > 0 && b->server[n - 1] == '/')
        b->server[--n] = '\0';
    if ((rc = vouch_siop_origin(b->server, b->origin, sizeof(b->origin), err)) != VOUCH_OK) {
        vouch_err_prefix(err, "bundle.json \"server\"");
        goto out;
    }
    vouch_free(text);
    text = NULL;
    if ((rc = read_text(dir, "policy.jws", &text, &len, err)) != VOUCH_OK ||
        (rc = vouch_policy_verify_pinned(text, len, &b->policy, err)) != VOUCH_OK) {
        vouch_err_prefix(err, "bundle policy.jws");
        goto out;
    }
    if ((rc = read_text(dir, "credential.jwt", &b->credential, &len, err)) != VOUCH_OK)
        goto out;
out:
    vouch_free(text);
    json_decref(o);
    if (rc != VOUCH_OK)
        agent_bundle_free(b);
    return rc;
}

void agent_bundle_free(agent_bundle *b)
{
    vouch_free(b->credential);
    vouch_policy_free(b->policy);
    b->credential = NULL;
    b->policy = NULL;
}

vouch_code agent_token_load(const char *dir, agent_token *t, vouch_err *err)
{
    char path[AGENT_PATH_MAX];
    unsigned char *buf = NULL;
    size_t len = 0;
    json_t *o = NULL;
    const char *tok = NULL, *srv = NULL;
    int64_t exp = 0;
    vouch_code rc;

    memset(t, 0, sizeof(*t));
    if ((rc = path_in(dir, AGENT_TOKEN_FILE, path, sizeof(path), err)) != VOUCH_OK)
        goto out;
    if ((rc = vouch_file_read(path, 4096, &buf, &len, err)) != VOUCH_OK) {
        if (rc == VOUCH_E_IO || rc == VOUCH_E_NOTFOUND)
            rc = vouch_err_set(err, VOUCH_E_NOTFOUND, "no access token kept yet");
        goto out;
    }
    if ((rc = vouch_json_parse_object((const char *)buf, len, NULL, &o, err)) != VOUCH_OK ||
        (rc = vouch_json_get_string(o, "access_token", &tok, err)) != VOUCH_OK ||
        (rc = vouch_json_get_string(o, "server", &srv, err)) != VOUCH_OK ||
        (rc = vouch_json_get_int(o, "expires", &exp, err)) != VOUCH_OK)
        goto out;
    if (strlen(tok) >= sizeof(t->access_token) || strlen(srv) >= sizeof(t->server)) {
        rc = vouch_err_set(err, VOUCH_E_STATE, "token.json: member too long");
        goto out;
    }
    memcpy(t->access_token, tok, strlen(tok) + 1);
    memcpy(t->server, srv, strlen(srv) + 1);
    t->expires = exp;
out:
    json_decref(o);
    if (buf)
        vouch_free_secret(buf, len + 1);
    return rc;
}

vouch_code agent_token_save(const char *dir, const agent_token *t, vouch_err *err)
{
    char path[AGENT_PATH_MAX];
    json_t *o = NULL;
    char *s = NULL;
    size_t n = 0;
    vouch_code rc;

    if ((rc = path_in(dir, AGENT_TOKEN_FILE, path, sizeof(path), err)) != VOUCH_OK)
        goto out;
    /* the state directory holds a secret: made 0700 on first use */
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        rc = vouch_err_set(err, VOUCH_E_IO, "cannot create %s: %s", dir, strerror(errno));
        goto out;
    }
    o = json_pack("{s:s,s:I,s:s}", "access_token", t->access_token, "expires",
                  (json_int_t)t->expires, "server", t->server);
    if (!o) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory");
        goto out;
    }
    if ((rc = vouch_json_dump(o, &s, &n, err)) != VOUCH_OK)
        goto out;
    rc = vouch_file_write_atomic(path, s, n, 0600, 0, err);
out:
    if (s)
        vouch_free_secret(s, n + 1);
    json_decref(o);
    return rc;
}

/* Appends "name=<percent-encoded value>" to a form body. */
static vouch_code form_add(vouch_buf *b, const char *name, const char *value, vouch_err *err)
{
    char *enc = NULL;
    vouch_code rc;

    if ((rc = vouch_form_encode(value, strlen(value), &enc, err)) != VOUCH_OK)
        return rc;
    rc = vouch_buf_printf(b, "%s%s=%s", b->len ? "&" : "", name, enc);
    vouch_free(enc);
    if (rc != VOUCH_OK)
        return vouch_err_set(err, rc, "the login response is too large");
    return VOUCH_OK;
}

vouch_code agent_login(agent_net *n, const agent_bundle *b, const vouch_key *key,
                       const char *state_dir, int64_t now, agent_token *out, vouch_err *err)
{
    char url[AGENT_URL_MAX + 32], client_id[256], request_uri[1024];
    char *did = NULL;
    json_t *start = NULL;
    char *start_body = NULL;
    size_t start_len = 0;
    agent_resp r1, r2, r3;
    vouch_siop_request req;
    vouch_siop_response resp;
    vouch_buf form;
    int64_t ttl = 0;
    vouch_code rc;

    memset(&r1, 0, sizeof(r1));
    memset(&r2, 0, sizeof(r2));
    memset(&r3, 0, sizeof(r3));
    memset(&req, 0, sizeof(req));
    memset(&resp, 0, sizeof(resp));
    memset(out, 0, sizeof(*out));
    vouch_buf_init(&form, 3u * VOUCH_LOGIN_MAX_BYTES);

    /* a login replaces the kept token; the old one is stale or refused, and
     * must not be reused if this login fails (a revoked device stays out) */
    if ((rc = path_in(state_dir, AGENT_TOKEN_FILE, url, sizeof(url), err)) != VOUCH_OK)
        goto out;
    if (unlink(url) != 0 && errno != ENOENT) {
        rc = vouch_err_set(err, VOUCH_E_IO, "cannot remove %s: %s", url, strerror(errno));
        goto out;
    }
    if ((rc = vouch_did_key_encode(key, &did, err)) != VOUCH_OK)
        goto out;
    if (strcmp(did, b->did) != 0) {
        rc = vouch_err_set(err, VOUCH_E_LOGIN_SUBJECT,
                           "the device key is not the one the bundle was provisioned for");
        goto out;
    }
    /* 1. start */
    start = json_pack("{s:s}", "did", did);
    if (!start) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory");
        goto out;
    }
    if ((rc = vouch_json_dump(start, &start_body, &start_len, err)) != VOUCH_OK)
        goto out;
    snprintf(url, sizeof(url), "%s/auth/siop", b->server);
    if ((rc = agent_net_request(n, url, "application/json", start_body, start_len, NULL, NULL,
                                &r1, err)) != VOUCH_OK)
        goto out;
    if (r1.status != 200) {
        rc = agent_resp_error(&r1, "POST /auth/siop", err);
        goto out;
    }
    if ((rc = vouch_login_start_reply_parse(r1.body, r1.len, client_id, sizeof(client_id),
                                            request_uri, sizeof(request_uri), err)) != VOUCH_OK)
        goto out;
    /* 2 + 3. the request object, from the server's origin only */
    if ((rc = agent_net_request(n, request_uri, NULL, NULL, 0, NULL,
                                "application/oauth-authz-req+jwt", &r2, err)) != VOUCH_OK)
        goto out;
    if (r2.status != 200) {
        rc = agent_resp_error(&r2, "GET request_uri", err);
        goto out;
    }
    if ((rc = vouch_siop_request_verify(b->policy, r2.body, r2.len, b->origin, now, &req,
                                        err)) != VOUCH_OK)
        goto out;
    if (strcmp(req.client_id, client_id) != 0) {
        rc = vouch_err_set(err, VOUCH_E_LOGIN_REQUEST,
                           "the request object's client_id differs from the login URL's");
        goto out;
    }
    /* 4. answer */
    if ((rc = vouch_siop_response_build(key, b->credential, &req, now, &resp, err)) != VOUCH_OK)
        goto out;
    if ((rc = form_add(&form, "id_token", resp.id_token, err)) != VOUCH_OK ||
        (resp.vp_token && (rc = form_add(&form, "vp_token", resp.vp_token, err)) != VOUCH_OK) ||
        (resp.presentation_submission &&
         (rc = form_add(&form, "presentation_submission", resp.presentation_submission, err)) !=
             VOUCH_OK) ||
        (rc = form_add(&form, "state", req.state, err)) != VOUCH_OK)
        goto out;
    if ((rc = agent_net_request(n, req.response_uri, "application/x-www-form-urlencoded",
                                (const char *)form.data, form.len, NULL, NULL, &r3, err)) !=
        VOUCH_OK)
        goto out;
    if (r3.status != 200) {
        rc = agent_resp_error(&r3, "POST response_uri", err);
        goto out;
    }
    /* 5. keep the token */
    if ((rc = vouch_token_reply_parse(r3.body, r3.len, out->access_token,
                                      sizeof(out->access_token), &ttl, err)) != VOUCH_OK)
        goto out;
    out->expires = now + ttl;
    memcpy(out->server, b->server, strlen(b->server) + 1);
    rc = agent_token_save(state_dir, out, err);
out:
    if (rc != VOUCH_OK)
        vouch_wipe(out, sizeof(*out));
    vouch_free(did);
    vouch_free(start_body);
    json_decref(start);
    agent_resp_free(&r1);
    agent_resp_free(&r2);
    agent_resp_free(&r3);
    vouch_siop_request_free(&req);
    vouch_siop_response_free(&resp);
    vouch_buf_free(&form);
    return rc;
}
