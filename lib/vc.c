/* vc.c - Verifiable Credentials as JWT claims (VC Data Model 1.1, VC-JWT):
 * the builder and the strict checker of vouch/vc.h. */
#include "vouch/vc.h"

#include <string.h>

#include <openssl/rand.h>

#include "vouch/json.h"
#include "vouch/mem.h"

/* Caps on the strings we read: a DID, an id, a subject (URL or DID). */
#define VC_ISS_MAX 255u
#define VC_JTI_MAX 127u
#define VC_SUB_MAX 2048u
#define VC_MAX_CONTEXTS 4u
#define VC_MAX_TYPES 4u

static const char *const vc_claims[] = {"iss", "sub", "jti", "iat", "nbf", "exp", "vc", NULL};
static const char *const vc_members[] = {"@context", "type", "credentialSubject", NULL};

static int vc_in_list(const char *name, const char *const *list)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(list[i], name) == 0)
            return 1;
    return 0;
}

/* An outside string as it may appear in a message: at most 64 bytes of
 * printable ASCII, anything else shown as '?' (no escape sequences reach a
 * terminal or a log through an error message). */
static const char *vc_shown(const char *s, char out[68])
{
    size_t i = 0;

    for (; s && s[i] && i < 64; i++)
        out[i] = (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\') ? s[i] : '?';
    if (s && s[i])
        out[i++] = '.', out[i++] = '.', out[i++] = '.';
    out[i] = '\0';
    return out;
}

/* 1 if s is a string of 1..max bytes with no control characters. */
static int vc_text_ok(const char *s, size_t max)
{
    size_t n = strnlen(s, max + 1);

    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    return 1;
}

/* "did:<method>:<id>" with a lower-case method, no control characters. */
static int vc_did_ok(const char *s)
{
    const char *m;

    if (!vc_text_ok(s, VC_ISS_MAX) || strncmp(s, "did:", 4) != 0)
        return 0;
    m = s + 4;
    while ((*m >= 'a' && *m <= 'z') || (*m >= '0' && *m <= '9'))
        m++;
    return m > s + 4 && *m == ':' && m[1] != '\0';
}

/* Every member of obj must be in allowed. */
static vouch_code vc_only(const json_t *obj, const char *const *allowed, const char *where,
                          vouch_err *err)
{
    char shown[68];
    const char *k;
    json_t *v;

    json_object_foreach((json_t *)obj, k, v) {
        (void)v;
        if (!vc_in_list(k, allowed))
            return vouch_err_set(err, VOUCH_E_VC_FORMAT, "%s: unknown member \"%s\"", where,
                                 vc_shown(k, shown));
    }
    return VOUCH_OK;
}

/* A time claim: an integer in 0..2^53-1. */
static vouch_code vc_time(const json_t *claims, const char *name, int64_t *out, vouch_err *err)
{
    json_t *v = json_object_get(claims, name);

    if (!v)
        return vouch_err_set(err, VOUCH_E_VC_FORMAT, "claim \"%s\" is missing", name);
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        json_integer_value(v) > VOUCH_JSON_MAX_SAFE_INT)
        return vouch_err_set(err, VOUCH_E_VC_FORMAT,
                             "claim \"%s\" is not an integer in 0..2^53-1", name);
    *out = (int64_t)json_integer_value(v);
    return VOUCH_OK;
}

static vouch_code vc_string(const json_t *obj, const char *name, const char *where, size_t max,
                            const char **out, vouch_err *err)
{
    json_t *v = json_object_get(obj, name);

    if (!v)
        return vouch_err_set(err, VOUCH_E_VC_FORMAT, "%s \"%s\" is missing", where, name);
    if (!json_is_string(v) || !vc_text_ok(json_string_value(v), max))
        return vouch_err_set(err, VOUCH_E_VC_FORMAT,
                             "%s \"%s\" is not a string of 1..%zu printable bytes", where, name,
                             max);
    *out = json_string_value(v);
    return VOUCH_OK;
}

/* An array of 1..max strings (each 1..max_len bytes). */
static vouch_code vc_string_array(const json_t *a, const char *name, size_t max, size_t max_len,
                                  vouch_err *err)
{
    size_t i;
    json_t *v;

    if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > max)
        return vouch_err_set(err, VOUCH_E_VC_FORMAT, "vc.%s must be an array of 1..%zu strings",
                             name, max);
    json_array_foreach(a, i, v) {
        if (!json_is_string(v) || !vc_text_ok(json_string_value(v), max_len))
            return vouch_err_set(err, VOUCH_E_VC_FORMAT, "vc.%s[%zu] is not a valid string",
                                 name, i);
    }
    return VOUCH_OK;
}

vouch_code vouch_vc_check(const json_t *claims, const char *expected_type,
                          const char *expected_iss, int64_t now, vouch_vc *out, vouch_err *err)
{
    vouch_vc v;
    json_t *vc, *ctx, *type, *subj, *t;
    const char *sid = NULL;
    char shown[68];
    size_t i;
    int found = 0;
    vouch_code rc;

    memset(&v, 0, sizeof(v));
    if (out)
        memset(out, 0, sizeof(*out));
    if (!claims || !expected_type) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "vouch_vc_check: bad argument");
        goto out;
    }
    if (!json_is_object(claims)) {
        rc = vouch_err_set(err, VOUCH_E_VC_FORMAT, "claims are not a JSON object");
        goto out;
    }
    /* structure first: unknown members, then each member's type and range */
    if ((rc = vc_only(claims, vc_claims, "claims", err)) != VOUCH_OK ||
        (rc = vc_string(claims, "iss", "claim", VC_ISS_MAX, &v.iss, err)) != VOUCH_OK ||
        (rc = vc_string(claims, "sub", "claim", VC_SUB_MAX, &v.sub, err)) != VOUCH_OK ||
        (rc = vc_string(claims, "jti", "claim", VC_JTI_MAX, &v.jti, err)) != VOUCH_OK ||
        (rc = vc_time(claims, "iat", &v.iat, err)) != VOUCH_OK ||
        (rc = vc_time(claims, "nbf", &v.nbf, err)) != VOUCH_OK ||
        (rc = vc_time(claims, "exp", &v.exp, err)) != VOUCH_OK)
        goto out;
    if (!vc_did_ok(v.iss)) {
        rc = vouch_err_set(err, VOUCH_E_VC_FORMAT, "claim \"iss\" is not a DID");
        goto out;
    }
    if (v.exp <= v.nbf) {
        rc = vouch_err_set(err, VOUCH_E_VC_FORMAT, "claim \"exp\" is not after \"nbf\"");
        goto out;
    }
    vc = json_object_get(claims, "vc");
    if (!json_is_object(vc)) {
        rc = vouch_err_set(err, VOUCH_E_VC_FORMAT, "claim \"vc\" is %s",
                           vc ? "not an object" : "missing");
        goto out;
    }
    if ((rc = vc_only(vc, vc_members, "vc", err)) != VOUCH_OK)
        goto out;
    ctx = json_object_get(vc, "@context");
    type = json_object_get(vc, "type");
    subj = json_object_get(vc, "credentialSubject");
    if ((rc = vc_string_array(ctx, "@context", VC_MAX_CONTEXTS, 256, err)) != VOUCH_OK ||
        (rc = vc_string_array(type, "type", VC_MAX_TYPES, 128, err)) != VOUCH_OK)
        goto out;
    if (strcmp(json_string_value(json_array_get(ctx, 0)), VOUCH_VC_CONTEXT_V1) != 0) {
        rc = vouch_err_set(err, VOUCH_E_VC_FORMAT, "vc.@context[0] is not the VC 1.1 context");
        goto out;
    }
    if (strcmp(json_string_value(json_array_get(type, 0)), "VerifiableCredential") != 0) {
        rc = vouch_err_set(err, VOUCH_E_VC_FORMAT,
                           "vc.type[0] is not \"VerifiableCredential\"");
        goto out;
    }
    if (!json_is_object(subj)) {
        rc = vouch_err_set(err, VOUCH_E_VC_FORMAT, "vc.credentialSubject is %s",
                           subj ? "not an object" : "missing");
        goto out;
    }
    if ((rc = vc_string(subj, "id", "vc.credentialSubject", VC_SUB_MAX, &sid, err)) != VOUCH_OK)
        goto out;
    if (strcmp(sid, v.sub) != 0) {
        rc = vouch_err_set(err, VOUCH_E_VC_FORMAT,
                           "claim \"sub\" differs from vc.credentialSubject.id");
        goto out;
    }
    /* then meaning: the type, the issuer, the clock */
    json_array_foreach(type, i, t) {
        if (i > 0 && strcmp(json_string_value(t), expected_type) == 0)
            found = 1;
    }
    if (!found) {
        rc = vouch_err_set(err, VOUCH_E_VC_TYPE, "credential is not a %.64s", expected_type);
        goto out;
    }
    if (expected_iss && strcmp(v.iss, expected_iss) != 0) {
        rc = vouch_err_set(err, VOUCH_E_VC_ISSUER, "issuer %s is not %.100s",
                           vc_shown(v.iss, shown), expected_iss);
        goto out;
    }
    if (now >= v.exp) {
        rc = vouch_err_set(err, VOUCH_E_VC_EXPIRED, "credential expired at %lld (now %lld)",
                           (long long)v.exp, (long long)now);
        goto out;
    }
    if (now < v.nbf) {
        rc = vouch_err_set(err, VOUCH_E_VC_NOT_YET_VALID,
                           "credential not valid before %lld (now %lld)", (long long)v.nbf,
                           (long long)now);
        goto out;
    }
    v.subject = subj;
    if (out)
        *out = v;
    rc = VOUCH_OK;
out:
    return rc;
}

vouch_code vouch_vc_new_jti(char **out, vouch_err *err)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char r[16];
    char *s = NULL;
    size_t n = 0;
    vouch_code rc;

    if (!out) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "vouch_vc_new_jti: no output");
        goto out;
    }
    *out = NULL;
    if (RAND_bytes(r, sizeof(r)) != 1) {
        rc = vouch_err_set(err, VOUCH_E_KEY_CRYPTO, "no random bytes for a credential id");
        goto out;
    }
    r[6] = (unsigned char)((r[6] & 0x0f) | 0x40); /* version 4 */
    r[8] = (unsigned char)((r[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    s = vouch_malloc(sizeof("urn:uuid:") - 1 + 36 + 1);
    if (!s) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory making a credential id");
        goto out;
    }
    memcpy(s, "urn:uuid:", 9);
    n = 9;
    for (size_t i = 0; i < sizeof(r); i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            s[n++] = '-';
        s[n++] = hex[r[i] >> 4];
        s[n++] = hex[r[i] & 15];
    }
    s[n] = '\0';
    *out = s;
    rc = VOUCH_OK;
out:
    return rc;
}

vouch_code vouch_vc_build(const char *iss, const char *type, const char *extra_ctx,
                          const char *jti, int64_t iat, int64_t nbf, int64_t exp,
                          json_t *subject, json_t **claims, vouch_err *err)
{
    json_t *c = NULL, *ctx = NULL, *types = NULL, *vc = NULL, *sid;
    char *own_jti = NULL;
    vouch_code rc;

    vouch_json_init();
    if (claims)
        *claims = NULL;
    if (!iss || !type || !claims || !json_is_object(subject)) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "vouch_vc_build: bad argument");
        goto out;
    }
    sid = json_object_get(subject, "id");
    if (!json_is_string(sid) || !vc_text_ok(json_string_value(sid), VC_SUB_MAX)) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "vouch_vc_build: subject has no valid \"id\"");
        goto out;
    }
    if (!vc_did_ok(iss) || !vc_text_ok(type, 128) ||
        (extra_ctx && !vc_text_ok(extra_ctx, 256)) || (jti && !vc_text_ok(jti, VC_JTI_MAX))) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "vouch_vc_build: bad issuer, type, context or id");
        goto out;
    }
    if (iat < 0 || nbf < 0 || exp <= nbf || exp > VOUCH_JSON_MAX_SAFE_INT ||
        iat > VOUCH_JSON_MAX_SAFE_INT) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "vouch_vc_build: times out of range");
        goto out;
    }
    if (!jti) {
        if ((rc = vouch_vc_new_jti(&own_jti, err)) != VOUCH_OK)
            goto out;
        jti = own_jti;
    }
    ctx = json_pack("[s]", VOUCH_VC_CONTEXT_V1);
    types = json_pack("[ss]", "VerifiableCredential", type);
    if (!ctx || !types || (extra_ctx && json_array_append_new(ctx, json_string(extra_ctx)))) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory building a credential");
        goto out;
    }
    /* "o" steals: after json_pack the references belong to vc, even on failure */
    vc = json_pack("{s:o,s:o,s:O}", "@context", ctx, "type", types, "credentialSubject",
                   subject);
    ctx = types = NULL;
    if (!vc) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory building a credential");
        goto out;
    }
    c = json_pack("{s:s,s:O,s:s,s:I,s:I,s:I,s:O}", "iss", iss, "sub", sid, "jti", jti, "iat",
                  (json_int_t)iat, "nbf", (json_int_t)nbf, "exp", (json_int_t)exp, "vc", vc);
    if (!c) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory building a credential");
        goto out;
    }
    *claims = c;
    c = NULL;
    rc = VOUCH_OK;
out:
    json_decref(ctx);
    json_decref(types);
    json_decref(vc);
    json_decref(c);
    json_decref(subject); /* stolen, on success and failure alike */
    vouch_free(own_jti);
    return rc;
}
