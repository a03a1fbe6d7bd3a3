/*
 * siop.c - device identity and login messages (vouch/siop.h): the
 * ProductionCredential, the authorization policy and its presentation
 * definition, the request object, and the id_token + vp_token response of
 * the SIOPv2 + OpenID4VP cross-device flow.
 *
 * Every verifier runs cap -> signature -> parse -> claims. The only bytes
 * read before a signature is checked are the JWS header (the layer below)
 * and, for a self-issued token without a DID URL kid, the one claim that
 * names its own key (sub or iss): a self-issued token carries its key in
 * its subject, so that read cannot be avoided; the claims are then trusted
 * only after the signature verified with that key.
 */
#include "vouch/siop.h"

#include <string.h>
#include <strings.h>

#include "vouch/did.h"
#include "vouch/json.h"
#include "vouch/jws.h"
#include "vouch/mem.h"
#include "vouch/vc.h"

#define SIOP_MAX_REFS (2u * VOUCH_POLICY_MAX_KEYS)
#define SIOP_MAX_VCS 4u       /* credentials one presentation may hold */
#define SIOP_MAX_AUD 4u       /* entries of an aud array */
#define SIOP_STATE_MAX 127u
#define SIOP_NONCE_MAX 127u
#define SIOP_URI_MAX 1023u

static const char *const siop_algs[] = {"ES256", "EdDSA"};

/* ---------------------------------------------------------------- helpers */

static int siop_in(const char *s, const char *const *list)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(list[i], s) == 0)
            return 1;
    return 0;
}

/* A failure of ours (memory, a library) is never a verdict on a token. */
static int siop_fatal(vouch_code c) { return c == VOUCH_E_NOMEM || c == VOUCH_E_INTERNAL; }

/* Every member of obj must be in allowed, else `code`. */
static vouch_code siop_only(const json_t *obj, const char *const *allowed, vouch_code code,
                            const char *where, vouch_err *err)
{
    const char *k;
    json_t *v;

    json_object_foreach((json_t *)obj, k, v) {
        (void)v;
        if (!siop_in(k, allowed))
            return vouch_err_set(err, code, "%s: unknown member \"%.32s\"", where, k);
    }
    return VOUCH_OK;
}

/* 1 if s is 1..max bytes of printable ASCII (0x20..0x7e). */
static int siop_printable(const char *s, size_t max)
{
    size_t n;

    if (!s)
        return 0;
    n = strnlen(s, max + 1);
    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return 0;
    return 1;
}

/* 1 if s is min..max base64url characters. */
static int siop_b64url_chars(const char *s, size_t min, size_t max)
{
    size_t n = s ? strnlen(s, max + 1) : 0;

    if (n < min || n > max)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

/* 1 if s is a calendar date "YYYY-MM-DD" (years 1900..9999). */
static int siop_date_ok(const char *s)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y = 0, m, d, leap;

    if (!s || strnlen(s, 11) != 10 || s[4] != '-' || s[7] != '-')
        return 0;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !(s[i] >= '0' && s[i] <= '9'))
            return 0;
    for (int i = 0; i < 4; i++)
        y = y * 10 + (s[i] - '0');
    m = (s[5] - '0') * 10 + (s[6] - '0');
    d = (s[8] - '0') * 10 + (s[9] - '0');
    if (y < 1900 || m < 1 || m > 12 || d < 1)
        return 0;
    leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d <= mdays[m - 1] + (m == 2 && leap);
}

/* 1 if s is "aa:bb:cc:dd:ee:ff" in lower-case hex. */
static int siop_mac_ok(const char *s)
{
    if (!s || strnlen(s, 18) != 17)
        return 0;
    for (int i = 0; i < 17; i++) {
        char c = s[i];
        if (i % 3 == 2) {
            if (c != ':')
                return 0;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return 0;
        }
    }
    return 1;
}

/* 1 if the JWS typ t names `want` ("application/" prefix and case aside). */
static int siop_typ_is(const char *t, const char *want)
{
    if (!t)
        return 0;
    if (strncasecmp(t, "application/", 12) == 0)
        t += 12;
    return strcasecmp(t, want) == 0;
}

/* A NUL-terminated string field fits its buffer. */
#define SIOP_FITS(field) (strnlen((field), sizeof(field)) < sizeof(field))

/* Checks the facts end of line knows (code on failure). */
static vouch_code siop_facts_check(const vouch_device_facts *f, vouch_code code,
                                   vouch_err *err)
{
    if (!SIOP_FITS(f->did) || !SIOP_FITS(f->serial) || !SIOP_FITS(f->hardware) ||
        !SIOP_FITS(f->produced_by) || !SIOP_FITS(f->production_date) || !SIOP_FITS(f->mac))
        return vouch_err_set(err, code, "device facts: a field is not terminated");
    if (strncmp(f->did, "did:key:", 8) != 0 || strchr(f->did, '#') ||
        !siop_printable(f->did, sizeof(f->did) - 1))
        return vouch_err_set(err, code, "device facts: the DID is not a did:key");
    if (!siop_printable(f->serial, sizeof(f->serial) - 1))
        return vouch_err_set(err, code, "device facts: serial must be 1..%zu printable bytes",
                             sizeof(f->serial) - 1);
    if (!siop_printable(f->hardware, sizeof(f->hardware) - 1))
        return vouch_err_set(err, code, "device facts: hardware must be 1..%zu printable bytes",
                             sizeof(f->hardware) - 1);
    if (!siop_printable(f->produced_by, sizeof(f->produced_by) - 1))
        return vouch_err_set(err, code,
                             "device facts: producedBy must be 1..%zu printable bytes",
                             sizeof(f->produced_by) - 1);
    if (!siop_date_ok(f->production_date))
        return vouch_err_set(err, code, "device facts: productionDate is not YYYY-MM-DD");
    if (f->mac[0] && !siop_mac_ok(f->mac))
        return vouch_err_set(err, code, "device facts: mac is not aa:bb:cc:dd:ee:ff");
    return VOUCH_OK;
}

/* Copies a string into a fixed field; 0 if it does not fit. */
static int siop_copy(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap);

    if (n >= cap)
        return 0;
    memcpy(dst, src, n + 1);
    return 1;
}

/* "<did>#<kid>" unless kid already is a DID URL. */
static vouch_code siop_full_kid(const char *did, const char *kid, char out[VOUCH_JWS_MAX_KID + 1],
                                vouch_err *err)
{
    int n = strchr(kid, '#') ? snprintf(out, VOUCH_JWS_MAX_KID + 1, "%s", kid)
                             : snprintf(out, VOUCH_JWS_MAX_KID + 1, "%s#%s", did, kid);

    if (n < 0 || (size_t)n > VOUCH_JWS_MAX_KID)
        return vouch_err_set(err, VOUCH_E_ARG, "kid longer than %u bytes", VOUCH_JWS_MAX_KID);
    return VOUCH_OK;
}

/* Cap, then a compact JWS with exactly one signature. */
static vouch_code siop_parse_compact(const char *tok, size_t len, const char *what,
                                     vouch_jws **out, vouch_err *err)
{
    vouch_code rc;

    *out = NULL;
    if (!tok || len == 0) {
        rc = vouch_err_set(err, VOUCH_E_LOGIN_REQUEST, "%s is missing", what);
        goto out;
    }
    if (len > VOUCH_LOGIN_MAX_BYTES) {
        rc = vouch_err_set(err, VOUCH_E_JWS_TOO_LARGE, "%s is larger than %u bytes", what,
                           VOUCH_LOGIN_MAX_BYTES);
        goto out;
    }
    if ((rc = vouch_jws_parse(tok, len, out, err)) != VOUCH_OK) {
        vouch_err_prefix(err, "%s", what);
        goto out;
    }
    if (!(*out)->compact || (*out)->nsigs != 1) {
        rc = vouch_err_set(err, VOUCH_E_JWS_FORMAT, "%s must be a compact JWS", what);
        vouch_jws_free(*out);
        *out = NULL;
    }
out:
    return rc;
}

/* The payload of a verified JWS as a JSON object. */
static vouch_code siop_claims(const vouch_jws *j, const char *what, json_t **out,
                              vouch_err *err)
{
    vouch_json_limits lim = {VOUCH_LOGIN_MAX_BYTES, 0};
    vouch_code rc = vouch_json_parse_object((const char *)j->payload, j->payload_len, &lim, out,
                                            err);

    if (rc != VOUCH_OK)
        vouch_err_prefix(err, "%s claims", what);
    return rc;
}

/* A string claim: missing -> code_missing, not a string -> LOGIN_REQUEST. */
static vouch_code siop_str(const json_t *c, const char *name, const char *what,
                           vouch_code code_missing, const char **out, vouch_err *err)
{
    json_t *v = json_object_get(c, name);

    *out = NULL;
    if (!v)
        return vouch_err_set(err, code_missing, "%s: \"%s\" is missing", what, name);
    if (!json_is_string(v) || json_string_length(v) != strlen(json_string_value(v)))
        return vouch_err_set(err, VOUCH_E_LOGIN_REQUEST, "%s: \"%s\" is not a string", what,
                             name);
    *out = json_string_value(v);
    return VOUCH_OK;
}

/* A time claim: absent (*present 0) or an integer in 0..2^53-1. */
static vouch_code siop_time_claim(const json_t *c, const char *name, const char *what,
                                  int64_t *out, int *present, vouch_err *err)
{
    json_t *v = json_object_get(c, name);

    *out = 0;
    *present = v != NULL;
    if (!v)
        return VOUCH_OK;
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        json_integer_value(v) > VOUCH_JSON_MAX_SAFE_INT)
        return vouch_err_set(err, VOUCH_E_LOGIN_REQUEST,
                             "%s: \"%s\" is not an integer in 0..2^53-1", what, name);
    *out = (int64_t)json_integer_value(v);
    return VOUCH_OK;
}

/* The time rules of siop.h (VOUCH_LOGIN_SKEW, VOUCH_LOGIN_MAX_LIFETIME). */
static vouch_code siop_times(const json_t *c, const char *what, int64_t now, int need_iat,
                             int64_t *exp_out, vouch_err *err)
{
    int64_t exp, iat, nbf;
    int has_exp, has_iat, has_nbf;
    vouch_code rc;

    if ((rc = siop_time_claim(c, "exp", what, &exp, &has_exp, err)) != VOUCH_OK ||
        (rc = siop_time_claim(c, "iat", what, &iat, &has_iat, err)) != VOUCH_OK ||
        (rc = siop_time_claim(c, "nbf", what, &nbf, &has_nbf, err)) != VOUCH_OK)
        return rc;
    /* need_iat 1: exp and iat are both required (request object,
     * id_token). 0 (a VP): either may be missing. A VP without exp lives
     * VOUCH_LOGIN_MAX_LIFETIME from its iat; one with neither (did-jwt-vc,
     * under Sphereon's and Veramo's wallets, sets none by default) lives
     * as long as the nonce it carries, which the caller checks: the
     * server's login row expires it, and the store consumes it once. */
    if (need_iat && (!has_exp || !has_iat))
        return vouch_err_set(err, VOUCH_E_LOGIN_REQUEST, "%s: \"%s\" is missing", what,
                             has_exp ? "iat" : "exp");
    if (!has_exp && !has_iat) {
        if (has_nbf && nbf > now + VOUCH_LOGIN_SKEW)
            return vouch_err_set(err, VOUCH_E_LOGIN_EXPIRED, "%s not valid before %lld", what,
                                 (long long)nbf);
        if (exp_out)
            *exp_out = 0;
        return VOUCH_OK;
    }
    if (!has_exp)
        exp = iat + VOUCH_LOGIN_MAX_LIFETIME;
    if (has_iat && exp <= iat)
        return vouch_err_set(err, VOUCH_E_LOGIN_REQUEST, "%s: \"exp\" is not after \"iat\"",
                             what);
    if (now >= exp + VOUCH_LOGIN_SKEW)
        return vouch_err_set(err, VOUCH_E_LOGIN_EXPIRED, "%s expired at %lld (now %lld)", what,
                             (long long)exp, (long long)now);
    if (has_iat && iat > now + VOUCH_LOGIN_SKEW)
        return vouch_err_set(err, VOUCH_E_LOGIN_EXPIRED, "%s issued in the future (%lld)", what,
                             (long long)iat);
    if (has_nbf && nbf > now + VOUCH_LOGIN_SKEW)
        return vouch_err_set(err, VOUCH_E_LOGIN_EXPIRED, "%s not valid before %lld", what,
                             (long long)nbf);
    /* a long-lived token is a replayable one: cap how long it stays valid
     * from now. An old iat is tolerated (freshness comes from the single-use
     * nonce), because wallets in the field send skewed ones: Sphereon's
     * did-auth-siop 0.20 subtracts 60,000 s where it meant 60. */
    if (exp - now > VOUCH_LOGIN_MAX_LIFETIME)
        return vouch_err_set(err, VOUCH_E_LOGIN_EXPIRED, "%s lives longer than %d s", what,
                             VOUCH_LOGIN_MAX_LIFETIME);
    if (exp_out)
        *exp_out = exp;
    return VOUCH_OK;
}

/* aud is want, or an array of 1..SIOP_MAX_AUD strings containing it. */
static vouch_code siop_aud(const json_t *c, const char *what, const char *want, vouch_err *err)
{
    json_t *v = json_object_get(c, "aud"), *e;
    size_t i;

    if (!v)
        return vouch_err_set(err, VOUCH_E_LOGIN_AUDIENCE, "%s: \"aud\" is missing", what);
    if (json_is_string(v)) {
        if (strcmp(json_string_value(v), want) == 0)
            return VOUCH_OK;
    } else if (json_is_array(v) && json_array_size(v) >= 1 &&
               json_array_size(v) <= SIOP_MAX_AUD) {
        json_array_foreach(v, i, e) {
            if (!json_is_string(e))
                return vouch_err_set(err, VOUCH_E_LOGIN_REQUEST, "%s: \"aud\" holds a non-string",
                                     what);
        }
        json_array_foreach(v, i, e) {
            if (strcmp(json_string_value(e), want) == 0)
                return VOUCH_OK;
        }
    } else {
        return vouch_err_set(err, VOUCH_E_LOGIN_REQUEST, "%s: \"aud\" is not a string or array",
                             what);
    }
    return vouch_err_set(err, VOUCH_E_LOGIN_AUDIENCE, "%s is for another audience", what);
}

/* nonce equals want (constant time in the expected length). */
static vouch_code siop_nonce(const json_t *c, const char *what, const char *want,
                             vouch_err *err)
{
    json_t *v = json_object_get(c, "nonce");
    size_t n = strlen(want);

    if (!v)
        return vouch_err_set(err, VOUCH_E_LOGIN_NONCE, "%s: \"nonce\" is missing", what);
    if (!json_is_string(v) || json_string_length(v) != n ||
        !vouch_ct_equal(json_string_value(v), want, n))
        return vouch_err_set(err, VOUCH_E_LOGIN_NONCE, "%s: \"nonce\" is not this login's", what);
    return VOUCH_OK;
}

/* The keyrefs of a policy role, each under "<issuer>#<kid>" and "<kid>". */
typedef struct siop_refs {
    vouch_jws_keyref refs[SIOP_MAX_REFS];
    char kids[SIOP_MAX_REFS][VOUCH_JWS_MAX_KID + 1];
    size_t n;
} siop_refs;

static vouch_code siop_role_refs(const vouch_policy *p, vouch_role r, siop_refs *out,
                                 vouch_err *err)
{
    const vouch_jws_keyref *keys = NULL;
    const char *iss = vouch_policy_issuer(p);
    size_t n = 0;
    vouch_code rc;

    out->n = 0;
    if ((rc = vouch_policy_role_keys(p, r, &keys, &n, NULL, err)) != VOUCH_OK)
        return rc;
    for (size_t i = 0; i < n && out->n + 2 <= SIOP_MAX_REFS; i++) {
        const char *kid = keys[i].kid ? keys[i].kid : vouch_policy_kid_of(p, keys[i].key);
        int w;

        if (!kid)
            continue;
        w = snprintf(out->kids[out->n], VOUCH_JWS_MAX_KID + 1, "%s#%s", iss ? iss : "", kid);
        if (w > 0 && (size_t)w <= VOUCH_JWS_MAX_KID) {
            out->refs[out->n].kid = out->kids[out->n];
            out->refs[out->n].key = keys[i].key;
            out->n++;
        }
        if (siop_copy(out->kids[out->n], VOUCH_JWS_MAX_KID + 1, kid)) {
            out->refs[out->n].kid = out->kids[out->n];
            out->refs[out->n].key = keys[i].key;
            out->n++;
        }
    }
    return VOUCH_OK;
}

/*
 * Verifies the one signature of j with the keys of role r. A kid naming no
 * key of the role is `unknown_code`; a signature that fails with a key of
 * the role keeps the JWS code (bad signature, alg mismatch, typ).
 */
static vouch_code siop_verify_role(const vouch_policy *p, vouch_role r, const vouch_jws *j,
                                   const char *typ, vouch_code unknown_code, const char *what,
                                   vouch_err *err)
{
    siop_refs *refs = vouch_malloc(sizeof(*refs));
    vouch_jws_result res[1];
    vouch_code rc;

    if (!refs) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory");
        goto out;
    }
    if ((rc = siop_role_refs(p, r, refs, err)) != VOUCH_OK)
        goto out;
    rc = vouch_jws_verify_all(j, refs->refs, refs->n, typ, res, err);
    if (rc == VOUCH_OK || rc == VOUCH_E_ARG)
        goto out;
    rc = res[0].code;
    if (rc == VOUCH_E_JWS_UNKNOWN_KEY && unknown_code != VOUCH_E_JWS_UNKNOWN_KEY)
        rc = vouch_err_set(err, unknown_code, "%s is not signed by a %s key of the trust policy",
                           what, vouch_role_name(r));
    else
        vouch_err_set(err, rc, "%s: %s", what,
                      rc == VOUCH_E_JWS_UNKNOWN_KEY
                          ? "no key of this role has that kid"
                          : vouch_code_describe(rc));
out:
    vouch_free(refs);
    return rc;
}

/*
 * The did:keys one response verification decodes: a login names the device
 * DID in the id_token (kid and sub), the vp_token and the credential, and
 * each is one string. Each distinct DID is decoded once per verification
 * (through the caller's cache, when it has one) and shared from here on:
 * decoding is a pure function of the string, so a shared key is the key a
 * new decode would give.
 */
#define SIOP_DIDS_MAX 4
typedef struct siop_dids {
    vouch_did_cache *cache; /* may be NULL */
    size_t n;
    struct {
        char did[VOUCH_DID_MAX];
        vouch_key *key;
    } e[SIOP_DIDS_MAX];
} siop_dids;

static void siop_dids_free(siop_dids *ds)
{
    for (size_t i = 0; ds && i < ds->n; i++)
        vouch_key_free(ds->e[i].key);
}

/* Decodes a did:key (ds may be NULL), remembering the key in ds. */
static vouch_code siop_dids_decode(siop_dids *ds, const char *did, vouch_key **out,
                                   vouch_err *err)
{
    size_t i = 0;
    vouch_code rc = VOUCH_OK;

    *out = NULL;
    while (ds && i < ds->n && strcmp(ds->e[i].did, did) != 0)
        i++;
    if (ds && i < ds->n) {
        *out = vouch_key_ref(ds->e[i].key);
        goto out;
    }
    rc = vouch_did_cache_decode(ds ? ds->cache : NULL, did, out, err);
    if (rc == VOUCH_OK && ds && ds->n < SIOP_DIDS_MAX &&
        siop_copy(ds->e[ds->n].did, sizeof(ds->e[ds->n].did), did)) {
        ds->e[ds->n].key = vouch_key_ref(*out);
        ds->n++;
    }
out:
    return rc;
}

/* Decodes a did:key (no fragment allowed) for a login check. */
static vouch_code siop_did_key(siop_dids *ds, const char *did, const char *what,
                               vouch_key **out, vouch_err *err)
{
    vouch_err e2;
    vouch_code rc;

    *out = NULL;
    if (strncmp(did, "did:key:", 8) != 0 || strchr(did, '#') ||
        strnlen(did, VOUCH_DID_MAX) >= VOUCH_DID_MAX)
        return vouch_err_set(err, VOUCH_E_LOGIN_SUBJECT, "%s is not a did:key", what);
    vouch_err_clear(&e2);
    rc = siop_dids_decode(ds, did, out, &e2);
    if (rc == VOUCH_OK)
        return VOUCH_OK;
    if (siop_fatal(rc))
        return vouch_err_set(err, rc, "%s", e2.msg);
    return vouch_err_set(err, VOUCH_E_LOGIN_SUBJECT, "%s is not a valid did:key (%s)", what,
                         vouch_code_name(rc));
}

/*
 * The key of a self-issued token and its verified claims: the did:key of
 * its kid when the kid is a DID URL, else the did:key in claim `member`.
 * typ must be absent or "JWT". did receives the signer's DID (no fragment).
 */
static vouch_code siop_self_verify(siop_dids *ds, const vouch_jws *j, const char *member,
                                   const char *what, vouch_key **key, char did[VOUCH_DID_MAX],
                                   json_t **claims, vouch_err *err)
{
    const vouch_jws_sig *s = &j->sigs[0];
    const char *name = NULL;
    vouch_code rc;

    *key = NULL;
    *claims = NULL;
    did[0] = '\0';
    if (s->typ && !siop_typ_is(s->typ, "JWT")) {
        rc = vouch_err_set(err, VOUCH_E_JWS_TYP, "%s: typ must be JWT", what);
        goto out;
    }
    if (s->kid && strncmp(s->kid, "did:", 4) == 0) {
        size_t n = strcspn(s->kid, "#");
        if (n >= VOUCH_DID_MAX) {
            rc = vouch_err_set(err, VOUCH_E_LOGIN_SUBJECT, "%s: kid DID too long", what);
            goto out;
        }
        memcpy(did, s->kid, n);
        did[n] = '\0';
    } else {
        /* no DID URL in the header: the token names its key in its claims */
        if ((rc = siop_claims(j, what, claims, err)) != VOUCH_OK ||
            (rc = siop_str(*claims, member, what, VOUCH_E_LOGIN_SUBJECT, &name, err)) !=
                VOUCH_OK)
            goto out;
        if (!siop_copy(did, VOUCH_DID_MAX, name)) {
            rc = vouch_err_set(err, VOUCH_E_LOGIN_SUBJECT, "%s: \"%s\" is too long", what,
                               member);
            goto out;
        }
    }
    if ((rc = siop_did_key(ds, did, what, key, err)) != VOUCH_OK)
        goto out;
    if ((rc = vouch_jws_verify_sig(j, 0, *key, NULL, err)) != VOUCH_OK) {
        vouch_err_prefix(err, "%s", what);
        goto out;
    }
    if (!*claims)
        rc = siop_claims(j, what, claims, err);
out:
    if (rc != VOUCH_OK) {
        vouch_key_free(*key);
        *key = NULL;
        json_decref(*claims);
        *claims = NULL;
    }
    return rc;
}

/* A string claim that must name the same key as `key` (a did:key). */
static vouch_code siop_same_did(siop_dids *ds, const char *did, const vouch_key *key,
                                const char *what, vouch_err *err)
{
    vouch_key *k = NULL;
    vouch_code rc = siop_did_key(ds, did, what, &k, err);

    if (rc == VOUCH_OK && !vouch_key_equal(k, key))
        rc = vouch_err_set(err, VOUCH_E_LOGIN_SUBJECT, "%s is not the DID of the signing key",
                           what);
    vouch_key_free(k);
    return rc;
}

/* ------------------------------------------------- production credential */

vouch_code vouch_production_facts_check(const vouch_device_facts *facts, vouch_err *err)
{
    if (!facts)
        return vouch_err_set(err, VOUCH_E_ARG, "vouch_production_facts_check: no facts");
    return siop_facts_check(facts, VOUCH_E_ARG, err);
}

vouch_code vouch_production_issue(const vouch_key *issuer_key, const char *issuer_did,
                                  const char *kid, const vouch_device_facts *facts,
                                  int64_t now, int64_t lifetime, char **out, vouch_err *err)
{
    char fullkid[VOUCH_JWS_MAX_KID + 1];
    vouch_jws_sign_opts o = {"JWT", fullkid, NULL};
    json_t *subject = NULL, *claims = NULL;
    vouch_key *dk = NULL;
    char *payload = NULL;
    size_t plen = 0;
    vouch_code rc;

    vouch_json_init();
    if (out)
        *out = NULL;
    if (!issuer_key || !issuer_did || !kid || !facts || !out || now < 0 || lifetime <= 0 ||
        now > VOUCH_JSON_MAX_SAFE_INT || lifetime > VOUCH_JSON_MAX_SAFE_INT - now) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "vouch_production_issue: bad argument");
        goto out;
    }
    if ((rc = siop_facts_check(facts, VOUCH_E_ARG, err)) != VOUCH_OK ||
        (rc = vouch_did_key_decode(facts->did, &dk, err)) != VOUCH_OK ||
        (rc = siop_full_kid(issuer_did, kid, fullkid, err)) != VOUCH_OK)
        goto out;
    subject = json_pack("{s:s,s:s,s:s,s:s,s:s}", "id", facts->did, "producedBy",
                        facts->produced_by, "productionDate", facts->production_date,
                        "serialNumber", facts->serial, "hardware", facts->hardware);
    if (!subject || (facts->mac[0] && json_object_set_new(subject, "mac",
                                                          json_string(facts->mac)) != 0)) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory building a credential");
        goto out;
    }
    rc = vouch_vc_build(issuer_did, VOUCH_PRODUCTION_TYPE, NULL, NULL, now, now, now + lifetime,
                        subject, &claims, err);
    subject = NULL; /* stolen by vouch_vc_build */
    if (rc != VOUCH_OK ||
        (rc = vouch_json_dump(claims, &payload, &plen, err)) != VOUCH_OK ||
        (rc = vouch_jws_sign_compact(issuer_key, &o, (const uint8_t *)payload, plen, out,
                                     err)) != VOUCH_OK)
        goto out;
out:
    json_decref(subject);
    json_decref(claims);
    vouch_free(payload);
    vouch_key_free(dk);
    return rc;
}

static const char *const prod_subject_members[] = {
    "id", "producedBy", "productionDate", "serialNumber", "hardware", "mac", NULL};

/* One credentialSubject string member into a facts field (VC_FORMAT). */
static vouch_code siop_subject_str(const json_t *subj, const char *name, int required,
                                   char *dst, size_t cap, vouch_err *err)
{
    json_t *v = json_object_get(subj, name);

    dst[0] = '\0';
    if (!v && !required)
        return VOUCH_OK;
    if (!json_is_string(v) || json_string_length(v) != strlen(json_string_value(v)) ||
        !siop_copy(dst, cap, json_string_value(v)))
        return vouch_err_set(err, VOUCH_E_VC_FORMAT,
                             "credentialSubject.%s is %s", name,
                             !v ? "missing" : "not a string of the allowed length");
    return VOUCH_OK;
}

static vouch_code siop_production_verify(siop_dids *ds, const vouch_policy *p, const char *vc,
                                         size_t len, int64_t now, vouch_device_facts *facts,
                                         vouch_err *err)
{
    vouch_jws *j = NULL;
    json_t *claims = NULL;
    vouch_device_facts f;
    vouch_key *dk = NULL;
    vouch_vc v;
    vouch_code rc;

    memset(&f, 0, sizeof(f));
    if (facts)
        memset(facts, 0, sizeof(*facts));
    if (!p || !facts) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "vouch_production_verify: bad argument");
        goto out;
    }
    if ((rc = siop_parse_compact(vc, len, "credential", &j, err)) != VOUCH_OK ||
        (rc = siop_verify_role(p, VOUCH_ROLE_ISSUER, j, "JWT", VOUCH_E_LOGIN_ISSUER,
                               "credential", err)) != VOUCH_OK ||
        (rc = siop_claims(j, "credential", &claims, err)) != VOUCH_OK)
        goto out;
    rc = vouch_vc_check(claims, VOUCH_PRODUCTION_TYPE, vouch_policy_issuer(p), now, &v, err);
    if (rc == VOUCH_E_VC_NOT_YET_VALID) /* the station's clock may run a little ahead */
        rc = vouch_vc_check(claims, VOUCH_PRODUCTION_TYPE, vouch_policy_issuer(p),
                            now + VOUCH_LOGIN_SKEW, &v, err);
    switch (rc) {
    case VOUCH_OK:
        break;
    case VOUCH_E_VC_TYPE:
        rc = vouch_err_set(err, VOUCH_E_LOGIN_CREDENTIAL_TYPE,
                           "credential is not a " VOUCH_PRODUCTION_TYPE);
        goto out;
    case VOUCH_E_VC_ISSUER:
        rc = vouch_err_set(err, VOUCH_E_LOGIN_ISSUER,
                           "credential issuer is not the trust policy's issuer");
        goto out;
    case VOUCH_E_VC_EXPIRED:
    case VOUCH_E_VC_NOT_YET_VALID:
        rc = vouch_err_set(err, VOUCH_E_LOGIN_EXPIRED, "credential %s",
                           rc == VOUCH_E_VC_EXPIRED ? "expired" : "not yet valid");
        goto out;
    default:
        vouch_err_prefix(err, "credential");
        goto out;
    }
    if ((rc = siop_only(v.subject, prod_subject_members, VOUCH_E_VC_FORMAT,
                        "credentialSubject", err)) != VOUCH_OK ||
        (rc = siop_subject_str(v.subject, "id", 1, f.did, sizeof(f.did), err)) != VOUCH_OK ||
        (rc = siop_subject_str(v.subject, "producedBy", 1, f.produced_by, sizeof(f.produced_by),
                               err)) != VOUCH_OK ||
        (rc = siop_subject_str(v.subject, "productionDate", 1, f.production_date,
                               sizeof(f.production_date), err)) != VOUCH_OK ||
        (rc = siop_subject_str(v.subject, "serialNumber", 1, f.serial, sizeof(f.serial), err)) !=
            VOUCH_OK ||
        (rc = siop_subject_str(v.subject, "hardware", 1, f.hardware, sizeof(f.hardware), err)) !=
            VOUCH_OK ||
        (rc = siop_subject_str(v.subject, "mac", 0, f.mac, sizeof(f.mac), err)) != VOUCH_OK ||
        (rc = siop_facts_check(&f, VOUCH_E_VC_FORMAT, err)) != VOUCH_OK)
        goto out;
    if ((rc = siop_dids_decode(ds, f.did, &dk, err)) != VOUCH_OK) {
        if (!siop_fatal(rc))
            rc = vouch_err_set(err, VOUCH_E_VC_FORMAT,
                               "credentialSubject.id is not a valid did:key");
        goto out;
    }
    *facts = f;
out:
    vouch_key_free(dk);
    json_decref(claims);
    vouch_jws_free(j);
    return rc;
}

vouch_code vouch_production_verify(const vouch_policy *p, const char *vc, size_t len,
                                   int64_t now, vouch_device_facts *facts, vouch_err *err)
{
    return siop_production_verify(NULL, p, vc, len, now, facts, err);
}

/* ------------------------------------------------- authorization policy */

static const char *const authz_members[] = {
    "mode",      "produced_by",   "production_date_from", "production_date_to",
    "hardware",  "refuse_clones", "access_ttl",           "nonce_ttl",
    NULL};

void vouch_authz_default(vouch_authz *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof(*out));
    out->access_ttl = 900;
    out->nonce_ttl = 120;
}

/* A list of strings into fixed slots (1..cap-1 printable bytes each). */
static vouch_code authz_list(const json_t *doc, const char *name, char *slots, size_t slot_cap,
                             size_t max, size_t *n, vouch_err *err)
{
    json_t *v = json_object_get(doc, name), *e;
    size_t i;

    *n = 0;
    if (!v)
        return VOUCH_OK;
    if (!json_is_array(v))
        return vouch_err_set(err, VOUCH_E_JSON_TYPE, "authz: \"%s\" is not an array", name);
    if (json_array_size(v) > max)
        return vouch_err_set(err, VOUCH_E_LIMIT, "authz: \"%s\" has more than %zu entries",
                             name, max);
    json_array_foreach(v, i, e) {
        char *dst = slots + i * slot_cap;
        if (!json_is_string(e) || !siop_printable(json_string_value(e), slot_cap - 1) ||
            json_string_length(e) != strlen(json_string_value(e)))
            return vouch_err_set(err, VOUCH_E_JSON_TYPE,
                                 "authz: \"%s\"[%zu] is not 1..%zu printable bytes", name, i,
                                 slot_cap - 1);
        memcpy(dst, json_string_value(e), json_string_length(e) + 1);
    }
    *n = json_array_size(v);
    return VOUCH_OK;
}

static vouch_code authz_date(const json_t *doc, const char *name, char out[11], vouch_err *err)
{
    json_t *v = json_object_get(doc, name);

    out[0] = '\0';
    if (!v)
        return VOUCH_OK;
    if (!json_is_string(v) ||
        (json_string_length(v) != 0 && !siop_date_ok(json_string_value(v))))
        return vouch_err_set(err, VOUCH_E_JSON_TYPE, "authz: \"%s\" is not YYYY-MM-DD or \"\"",
                             name);
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    return VOUCH_OK;
}

static vouch_code authz_ttl(const json_t *doc, const char *name, int64_t lo, int64_t hi,
                            int64_t *out, vouch_err *err)
{
    json_t *v = json_object_get(doc, name);

    if (!v)
        return VOUCH_OK;
    if (!json_is_integer(v))
        return vouch_err_set(err, VOUCH_E_JSON_TYPE, "authz: \"%s\" is not an integer", name);
    if (json_integer_value(v) < lo || json_integer_value(v) > hi)
        return vouch_err_set(err, VOUCH_E_JSON_RANGE, "authz: \"%s\" must be in %lld..%lld",
                             name, (long long)lo, (long long)hi);
    *out = (int64_t)json_integer_value(v);
    return VOUCH_OK;
}

vouch_code vouch_authz_parse(const char *json, size_t len, vouch_authz *out, vouch_err *err)
{
    vouch_json_limits lim = {64u * 1024u, 8};
    json_t *doc = NULL, *v;
    vouch_authz a;
    const char *mode = NULL;
    vouch_code rc;

    vouch_authz_default(&a);
    if (out)
        vouch_authz_default(out);
    if (!json || !out) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "vouch_authz_parse: bad argument");
        goto out;
    }
    if ((rc = vouch_json_parse_object(json, len, &lim, &doc, err)) != VOUCH_OK) {
        vouch_err_prefix(err, "authz");
        goto out;
    }
    if ((rc = siop_only(doc, authz_members, VOUCH_E_JSON_TYPE, "authz", err)) != VOUCH_OK)
        goto out;
    if ((rc = vouch_json_get_string(doc, "mode", &mode, err)) != VOUCH_OK) {
        vouch_err_prefix(err, "authz");
        goto out;
    }
    if (strcmp(mode, "credential") == 0) {
        a.allowlist_mode = 0;
    } else if (strcmp(mode, "allowlist") == 0) {
        a.allowlist_mode = 1;
    } else {
        rc = vouch_err_set(err, VOUCH_E_JSON_TYPE,
                           "authz: \"mode\" must be \"credential\" or \"allowlist\"");
        goto out;
    }
    if ((rc = authz_list(doc, "produced_by", &a.produced_by[0][0], sizeof(a.produced_by[0]),
                         sizeof(a.produced_by) / sizeof(a.produced_by[0]), &a.nproduced_by,
                         err)) != VOUCH_OK ||
        (rc = authz_list(doc, "hardware", &a.hardware[0][0], sizeof(a.hardware[0]),
                         sizeof(a.hardware) / sizeof(a.hardware[0]), &a.nhardware, err)) !=
            VOUCH_OK ||
        (rc = authz_date(doc, "production_date_from", a.date_from, err)) != VOUCH_OK ||
        (rc = authz_date(doc, "production_date_to", a.date_to, err)) != VOUCH_OK ||
        (rc = authz_ttl(doc, "access_ttl", 60, 86400, &a.access_ttl, err)) != VOUCH_OK ||
        (rc = authz_ttl(doc, "nonce_ttl", 10, 3600, &a.nonce_ttl, err)) != VOUCH_OK)
        goto out;
    if (a.date_from[0] && a.date_to[0] && strcmp(a.date_from, a.date_to) > 0) {
        rc = vouch_err_set(err, VOUCH_E_JSON_TYPE,
                           "authz: production_date_from is after production_date_to");
        goto out;
    }
    v = json_object_get(doc, "refuse_clones");
    if (v) {
        if (!json_is_boolean(v)) {
            rc = vouch_err_set(err, VOUCH_E_JSON_TYPE, "authz: \"refuse_clones\" is not a boolean");
            goto out;
        }
        a.refuse_clones = json_is_true(v);
    }
    *out = a;
out:
    json_decref(doc);
    return rc;
}

vouch_code vouch_authz_dump(const vouch_authz *a, char **out, vouch_err *err)
{
    json_t *doc = NULL, *pb = NULL, *hw = NULL;
    char *text = NULL;
    vouch_code rc;

    vouch_json_init();
    if (out)
        *out = NULL;
    if (!a || !out || a->nproduced_by > 8 || a->nhardware > 16) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "vouch_authz_dump: bad argument");
        goto out;
    }
    pb = json_array();
    hw = json_array();
    for (size_t i = 0; pb && i < a->nproduced_by; i++)
        if (json_array_append_new(pb, json_string(a->produced_by[i])) != 0)
            goto nomem;
    for (size_t i = 0; hw && i < a->nhardware; i++)
        if (json_array_append_new(hw, json_string(a->hardware[i])) != 0)
            goto nomem;
    if (!pb || !hw)
        goto nomem;
    doc = json_pack("{s:s,s:O,s:s,s:s,s:O,s:b,s:I,s:I}", "mode",
                    a->allowlist_mode ? "allowlist" : "credential", "produced_by", pb,
                    "production_date_from", a->date_from, "production_date_to", a->date_to,
                    "hardware", hw, "refuse_clones", a->refuse_clones, "access_ttl",
                    (json_int_t)a->access_ttl, "nonce_ttl", (json_int_t)a->nonce_ttl);
    if (!doc)
        goto nomem;
    text = json_dumps(doc, JSON_INDENT(2));
    if (!text)
        goto nomem;
    *out = vouch_malloc(strlen(text) + 2);
    if (!*out)
        goto nomem;
    memcpy(*out, text, strlen(text));
    memcpy(*out + strlen(text), "\n", 2);
    rc = VOUCH_OK;
    goto out;
nomem:
    rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory writing authz");
out:
    vouch_free(text);
    json_decref(pb);
    json_decref(hw);
    json_decref(doc);
    return rc;
}

/* {"path": ["$.vc.<p>", "$.<p>"], "filter": filter} (filter stolen). */
static json_t *authz_field(const char *p, json_t *filter)
{
    char a[96], b[96];

    snprintf(a, sizeof(a), "$.vc.%s", p);
    snprintf(b, sizeof(b), "$.%s", p);
    return filter ? json_pack("{s:[ss],s:o}", "path", a, b, "filter", filter) : NULL;
}

/* {"type": "string", "enum": [...]} from n fixed slots. */
static json_t *authz_enum(const char *slots, size_t slot_cap, size_t n)
{
    json_t *e = json_array(), *f;

    for (size_t i = 0; e && i < n; i++)
        if (json_array_append_new(e, json_string(slots + i * slot_cap)) != 0) {
            json_decref(e);
            return NULL;
        }
    f = e ? json_pack("{s:s,s:o}", "type", "string", "enum", e) : NULL;
    return f;
}

vouch_code vouch_authz_definition(const vouch_authz *a, json_t **out, vouch_err *err)
{
    json_t *fields = NULL, *def = NULL, *f = NULL;
    vouch_code rc;

    vouch_json_init();
    if (out)
        *out = NULL;
    if (!a || !out) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "vouch_authz_definition: bad argument");
        goto out;
    }
    if (a->allowlist_mode) {
        rc = VOUCH_OK; /* the id_token alone: no presentation is asked */
        goto out;
    }
    fields = json_array();
    if (!fields)
        goto nomem;
    f = authz_field("type", json_pack("{s:s,s:{s:s}}", "type", "array", "contains", "const",
                                      VOUCH_PRODUCTION_TYPE));
    if (!f || json_array_append_new(fields, f) != 0)
        goto nomem;
    if (a->nhardware) {
        f = authz_field("credentialSubject.hardware",
                        authz_enum(&a->hardware[0][0], sizeof(a->hardware[0]), a->nhardware));
        if (!f || json_array_append_new(fields, f) != 0)
            goto nomem;
    }
    if (a->date_from[0] || a->date_to[0]) {
        json_t *flt = json_pack("{s:s,s:s}", "type", "string", "format", "date");
        if (flt && a->date_from[0] &&
            json_object_set_new(flt, "formatMinimum", json_string(a->date_from)) != 0) {
            json_decref(flt);
            flt = NULL;
        }
        if (flt && a->date_to[0] &&
            json_object_set_new(flt, "formatMaximum", json_string(a->date_to)) != 0) {
            json_decref(flt);
            flt = NULL;
        }
        f = authz_field("credentialSubject.productionDate", flt);
        if (!f || json_array_append_new(fields, f) != 0)
            goto nomem;
    }
    if (a->nproduced_by) {
        f = authz_field("credentialSubject.producedBy",
                        authz_enum(&a->produced_by[0][0], sizeof(a->produced_by[0]),
                                   a->nproduced_by));
        if (!f || json_array_append_new(fields, f) != 0)
            goto nomem;
    }
    /* no definition-level "format": the VP algs are in client_metadata's
     * vp_formats, and PE engines (@sphereon/pex 4) refuse a definition
     * whose top-level format names EdDSA, which they do not list */
    def = json_pack("{s:s,s:s,s:s,s:[{s:s,s:s,s:s,s:{s:{s:[ss]}},s:{s:O}}]}",
                    "id", VOUCH_PRODUCTION_DEFINITION_ID, "name", "Production credential",
                    "purpose", "Prove the device was produced by the vendor",
                    "input_descriptors", "id", VOUCH_PRODUCTION_DESCRIPTOR_ID,
                    "name", VOUCH_PRODUCTION_TYPE, "purpose",
                    "A ProductionCredential issued to this device at end of line", "format",
                    "jwt_vc", "alg", siop_algs[0], siop_algs[1], "constraints", "fields",
                    fields);
    if (!def)
        goto nomem;
    *out = def;
    def = NULL;
    rc = VOUCH_OK;
    goto out;
nomem:
    rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory building the presentation definition");
out:
    json_decref(fields);
    json_decref(def);
    return rc;
}

vouch_code vouch_authz_check(const vouch_authz *a, const vouch_device_facts *facts,
                             vouch_err *err)
{
    size_t i;

    if (!a || !facts)
        return vouch_err_set(err, VOUCH_E_ARG, "vouch_authz_check: bad argument");
    if (a->nproduced_by) {
        for (i = 0; i < a->nproduced_by; i++)
            if (strcmp(a->produced_by[i], facts->produced_by) == 0)
                break;
        if (i == a->nproduced_by)
            return vouch_err_set(err, VOUCH_E_LOGIN_CONSTRAINT,
                                 "producedBy \"%.64s\" is not allowed", facts->produced_by);
    }
    if (a->date_from[0] || a->date_to[0]) {
        /* YYYY-MM-DD compares as text; anything else never passes */
        if (!siop_date_ok(facts->production_date) ||
            (a->date_from[0] && strcmp(facts->production_date, a->date_from) < 0) ||
            (a->date_to[0] && strcmp(facts->production_date, a->date_to) > 0))
            return vouch_err_set(err, VOUCH_E_LOGIN_CONSTRAINT,
                                 "productionDate %.10s is outside %s..%s",
                                 facts->production_date, a->date_from[0] ? a->date_from : "*",
                                 a->date_to[0] ? a->date_to : "*");
    }
    if (a->nhardware) {
        for (i = 0; i < a->nhardware; i++)
            if (strcmp(a->hardware[i], facts->hardware) == 0)
                break;
        if (i == a->nhardware)
            return vouch_err_set(err, VOUCH_E_LOGIN_CONSTRAINT,
                                 "hardware \"%.64s\" is not allowed", facts->hardware);
    }
    return VOUCH_OK;
}

/* ------------------------------------------------------- request object */

vouch_code vouch_siop_origin(const char *url, char *out, size_t cap, vouch_err *err)
{
    size_t skip, n;

    if (!url || !out || cap == 0)
        return vouch_err_set(err, VOUCH_E_ARG, "vouch_siop_origin: bad argument");
    out[0] = '\0';
    if (strncmp(url, "https://", 8) == 0)
        skip = 8;
    else if (strncmp(url, "http://", 7) == 0)
        skip = 7;
    else
        return vouch_err_set(err, VOUCH_E_ARG, "not an http(s) URL");
    n = skip + strcspn(url + skip, "/?#");
    if (n == skip)
        return vouch_err_set(err, VOUCH_E_ARG, "URL has no host");
    for (size_t i = skip; i < n; i++) {
        unsigned char c = (unsigned char)url[i];
        /* no userinfo, no whitespace, no controls, no backslash */
        if (c <= 0x20 || c >= 0x7f || c == '@' || c == '\\')
            return vouch_err_set(err, VOUCH_E_ARG, "URL authority is not host[:port]");
    }
    if (url[skip] == ':' || url[n - 1] == ':')
        return vouch_err_set(err, VOUCH_E_ARG, "URL authority is not host[:port]");
    if (n >= cap)
        return vouch_err_set(err, VOUCH_E_ARG, "URL origin too long");
    memcpy(out, url, n);
    out[n] = '\0';
    return VOUCH_OK;
}

static vouch_code siop_lp_check(const vouch_login_params *lp, vouch_err *err)
{
    char origin[SIOP_URI_MAX + 1];

    if (!lp || !lp->client_id || strncmp(lp->client_id, "did:", 4) != 0 ||
        !siop_printable(lp->client_id, 255))
        return vouch_err_set(err, VOUCH_E_ARG, "login: client_id must be a DID");
    if (!siop_printable(lp->response_uri, SIOP_URI_MAX) ||
        vouch_siop_origin(lp->response_uri, origin, sizeof(origin), NULL) != VOUCH_OK)
        return vouch_err_set(err, VOUCH_E_ARG, "login: response_uri must be an http(s) URL");
    if (!siop_b64url_chars(lp->nonce, VOUCH_LOGIN_NONCE_MIN, SIOP_NONCE_MAX))
        return vouch_err_set(err, VOUCH_E_ARG, "login: nonce must be %d..%u base64url characters",
                             VOUCH_LOGIN_NONCE_MIN, SIOP_NONCE_MAX);
    if (!siop_printable(lp->state, SIOP_STATE_MAX))
        return vouch_err_set(err, VOUCH_E_ARG, "login: state must be 1..%u printable bytes",
                             SIOP_STATE_MAX);
    if (lp->iat < 0 || lp->exp <= lp->iat || lp->exp - lp->iat > VOUCH_LOGIN_MAX_LIFETIME ||
        lp->exp > VOUCH_JSON_MAX_SAFE_INT)
        return vouch_err_set(err, VOUCH_E_ARG, "login: iat < exp <= iat + %d required",
                             VOUCH_LOGIN_MAX_LIFETIME);
    return VOUCH_OK;
}

/* The request object's claims (new reference, NULL when out of memory). */
static json_t *siop_request_claims(const vouch_login_params *lp, const json_t *definition)
{
    json_t *claims = NULL, *meta;

    meta = json_pack("{s:[s],s:[ss],s:[ss],s:{s:{s:[ss]},s:{s:[ss]}}}",
                     "subject_syntax_types_supported", "did:key",
                     "id_token_signing_alg_values_supported", siop_algs[0], siop_algs[1],
                     "request_object_signing_alg_values_supported", siop_algs[0], siop_algs[1],
                     "vp_formats", "jwt_vp", "alg", siop_algs[0], siop_algs[1], "jwt_vc", "alg",
                     siop_algs[0], siop_algs[1]);
    claims = meta ? json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:O}",
                              "iss", lp->client_id, "aud", VOUCH_SIOP_ISSUER, "client_id",
                              lp->client_id, "client_id_scheme", "did", "response_type",
                              definition ? "vp_token id_token" : "id_token", "response_mode",
                              "direct_post", "response_uri", lp->response_uri, "scope",
                              "openid", "nonce", lp->nonce, "state", lp->state,
                              "iat", (json_int_t)lp->iat, "exp", (json_int_t)lp->exp,
                              "client_metadata", meta)
                  : NULL;
    if (claims && definition &&
        json_object_set(claims, "presentation_definition", (json_t *)definition) != 0) {
        json_decref(claims);
        claims = NULL;
    }
    json_decref(meta);
    return claims;
}

vouch_code vouch_siop_request_build(const vouch_key *server_key, const char *kid,
                                    const vouch_login_params *lp, const json_t *definition,
                                    char **out, vouch_err *err)
{
    char fullkid[VOUCH_JWS_MAX_KID + 1];
    vouch_jws_sign_opts o = {VOUCH_REQUEST_OBJECT_TYP, fullkid, NULL};
    json_t *claims = NULL;
    char *payload = NULL;
    size_t plen = 0;
    vouch_code rc;

    vouch_json_init();
    if (out)
        *out = NULL;
    if (!server_key || !kid || !out || (definition && !json_is_object(definition))) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "vouch_siop_request_build: bad argument");
        goto out;
    }
    if ((rc = siop_lp_check(lp, err)) != VOUCH_OK ||
        (rc = siop_full_kid(lp->client_id, kid, fullkid, err)) != VOUCH_OK)
        goto out;
    claims = siop_request_claims(lp, definition);
    if (!claims) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory building the request object");
        goto out;
    }
    if ((rc = vouch_json_dump(claims, &payload, &plen, err)) != VOUCH_OK ||
        (rc = vouch_jws_sign_compact(server_key, &o, (const uint8_t *)payload, plen, out,
                                     err)) != VOUCH_OK)
        goto out;
out:
    json_decref(claims);
    vouch_free(payload);
    return rc;
}

/*
 * The request object template: the claims serialized once with markers in
 * place of nonce, state, iat and exp, cut into the text around them. A
 * build puts the values between the pieces: the nonce is base64url and the
 * state printable ASCII (siop_lp_check), where jansson escapes only '"'
 * and '\\', and the times are integers, so the payload is byte for byte
 * what vouch_siop_request_build serializes.
 */
enum { TM_NONCE, TM_STATE, TM_IAT, TM_EXP, TM__N };

/* markers no other claim holds (checked: each must occur exactly once) */
static const char *const tm_marker[TM__N] = {
    "\"vouchTemplateNonceMarker0x6e\"", "\"vouchTemplateStateMarker0x73\"", "4503599627370001",
    "4503599627370002"};

struct vouch_siop_request_tmpl {
    vouch_key *key;                          /* a reference */
    char kid[VOUCH_JWS_MAX_KID + 1];
    char *client_id, *response_uri;
    char *text;                              /* the serialized claims with markers */
    size_t len;
    size_t at[TM__N];                        /* where each marker starts in text */
    int order[TM__N];                        /* the markers in text order */
};

void vouch_siop_request_tmpl_free(vouch_siop_request_tmpl *t)
{
    if (!t)
        return;
    vouch_key_free(t->key);
    vouch_free(t->client_id);
    vouch_free(t->response_uri);
    vouch_free(t->text);
    vouch_free(t);
}

/* Where marker m occurs in t->text: 0 unless exactly once. */
static int tmpl_find(vouch_siop_request_tmpl *t, int m)
{
    size_t ml = strlen(tm_marker[m]);
    const char *p = memmem(t->text, t->len, tm_marker[m], ml), *again;

    if (!p)
        return 0;
    again = memmem(p + 1, t->len - (size_t)(p + 1 - t->text), tm_marker[m], ml);
    t->at[m] = (size_t)(p - t->text);
    return again == NULL;
}

vouch_code vouch_siop_request_tmpl_new(const vouch_key *server_key, const char *kid,
                                       const char *client_id, const char *response_uri,
                                       const json_t *definition, vouch_siop_request_tmpl **out,
                                       vouch_err *err)
{
    vouch_login_params lp;
    vouch_siop_request_tmpl *t = NULL;
    json_t *claims = NULL;
    vouch_code rc = VOUCH_OK;

    vouch_json_init();
    if (out)
        *out = NULL;
    if (!server_key || !kid || !out || (definition && !json_is_object(definition))) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "vouch_siop_request_tmpl_new: bad argument");
        goto out;
    }
    /* the same checks as a build, with values that pass them */
    lp.client_id = client_id;
    lp.response_uri = response_uri;
    lp.nonce = "AAAAAAAAAAAAAAAAAAAAAA";
    lp.state = "s";
    lp.iat = 0;
    lp.exp = 1;
    t = vouch_calloc(1, sizeof(*t));
    if (!t) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory");
        goto out;
    }
    if ((rc = siop_lp_check(&lp, err)) != VOUCH_OK ||
        (rc = siop_full_kid(client_id, kid, t->kid, err)) != VOUCH_OK)
        goto out;
    /* the markers as values: strings without their quotes, integers */
    lp.nonce = "vouchTemplateNonceMarker0x6e";
    lp.state = "vouchTemplateStateMarker0x73";
    lp.iat = 4503599627370001LL;
    lp.exp = 4503599627370002LL;
    claims = siop_request_claims(&lp, definition);
    t->client_id = vouch_strdup(client_id);
    t->response_uri = vouch_strdup(response_uri);
    if (!claims || !t->client_id || !t->response_uri) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory building the request template");
        goto out;
    }
    if ((rc = vouch_json_dump(claims, &t->text, &t->len, err)) != VOUCH_OK)
        goto out;
    for (int m = 0; m < TM__N; m++) {
        if (!tmpl_find(t, m)) {
            rc = vouch_err_set(err, VOUCH_E_ARG,
                               "request template: a claim holds a marker; build each request");
            goto out;
        }
        t->order[m] = m;
    }
    /* text order (an insertion sort of four) */
    for (int i = 1; i < TM__N; i++)
        for (int j = i; j > 0 && t->at[t->order[j]] < t->at[t->order[j - 1]]; j--) {
            int x = t->order[j];
            t->order[j] = t->order[j - 1];
            t->order[j - 1] = x;
        }
    t->key = vouch_key_ref(server_key);
    *out = t;
    t = NULL;
out:
    json_decref(claims);
    vouch_siop_request_tmpl_free(t);
    return rc;
}

/* Appends value m of lp, as jansson would serialize it. */
static vouch_code tmpl_value(vouch_buf *b, const vouch_login_params *lp, int m)
{
    vouch_code rc = VOUCH_OK;
    const char *s;

    switch (m) {
    case TM_NONCE: /* base64url: nothing to escape */
        rc = vouch_buf_printf(b, "\"%s\"", lp->nonce);
        break;
    case TM_STATE: /* printable ASCII: '"' and '\\' are escaped */
        rc = vouch_buf_append(b, "\"", 1);
        for (s = lp->state; rc == VOUCH_OK && *s; s++)
            rc = (*s == '"' || *s == '\\') ? vouch_buf_printf(b, "\\%c", *s)
                                            : vouch_buf_append(b, s, 1);
        if (rc == VOUCH_OK)
            rc = vouch_buf_append(b, "\"", 1);
        break;
    default:
        rc = vouch_buf_printf(b, "%lld", (long long)(m == TM_IAT ? lp->iat : lp->exp));
        break;
    }
    return rc;
}

vouch_code vouch_siop_request_tmpl_build(const vouch_siop_request_tmpl *t,
                                         const vouch_login_params *lp, char **out,
                                         vouch_err *err)
{
    vouch_jws_sign_opts o = {VOUCH_REQUEST_OBJECT_TYP, NULL, NULL};
    vouch_buf b;
    size_t from = 0;
    vouch_code rc;

    vouch_buf_init(&b, VOUCH_JWS_MAX_BYTES);
    if (out)
        *out = NULL;
    if (!t || !out) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "vouch_siop_request_tmpl_build: bad argument");
        goto out;
    }
    if ((rc = siop_lp_check(lp, err)) != VOUCH_OK)
        goto out;
    if (strcmp(lp->client_id, t->client_id) != 0 ||
        strcmp(lp->response_uri, t->response_uri) != 0) {
        rc = vouch_err_set(err, VOUCH_E_ARG,
                           "login: client_id and response_uri must be the template's");
        goto out;
    }
    for (int i = 0; rc == VOUCH_OK && i < TM__N; i++) {
        int m = t->order[i];
        rc = vouch_buf_append(&b, t->text + from, t->at[m] - from);
        if (rc == VOUCH_OK)
            rc = tmpl_value(&b, lp, m);
        from = t->at[m] + strlen(tm_marker[m]);
    }
    if (rc == VOUCH_OK)
        rc = vouch_buf_append(&b, t->text + from, t->len - from);
    if (rc != VOUCH_OK) {
        rc = vouch_err_set(err, rc, "%s building the request object",
                           rc == VOUCH_E_LIMIT ? "size limit" : "out of memory");
        goto out;
    }
    o.kid = t->kid;
    rc = vouch_jws_sign_compact(t->key, &o, b.data, b.len, out, err);
out:
    vouch_buf_free(&b);
    return rc;
}

static const char *const req_members[] = {
    "iss",          "aud",   "client_id", "client_id_scheme",        "response_type",
    "response_mode", "response_uri", "scope", "nonce", "state", "jti", "iat", "exp", "nbf",
    "presentation_definition", "client_metadata", NULL};

/* client_metadata: an object; any jwks in it holds public keys only. */
static vouch_code siop_client_metadata(const json_t *c, vouch_err *err)
{
    json_t *m = json_object_get(c, "client_metadata"), *jwks, *keys, *k;
    size_t i;
    vouch_code rc = VOUCH_OK;

    if (!m)
        return VOUCH_OK;
    if (!json_is_object(m))
        return vouch_err_set(err, VOUCH_E_LOGIN_REQUEST, "client_metadata is not an object");
    jwks = json_object_get(m, "jwks");
    if (!jwks)
        return VOUCH_OK;
    keys = json_object_get(jwks, "keys");
    if (!json_is_object(jwks) || !json_is_array(keys) || json_array_size(keys) > 8)
        return vouch_err_set(err, VOUCH_E_LOGIN_REQUEST, "client_metadata.jwks is malformed");
    json_array_foreach(keys, i, k) {
        vouch_key *key = NULL;
        rc = vouch_key_from_jwk(k, VOUCH_JWK_PUBLIC, &key, err);
        vouch_key_free(key);
        if (rc != VOUCH_OK) {
            vouch_err_prefix(err, "client_metadata.jwks.keys[%zu]", i);
            return rc;
        }
    }
    return VOUCH_OK;
}

/* A presentation_definition we can answer: an id and a first descriptor id. */
static vouch_code siop_definition_ids(const json_t *def, const char **def_id,
                                      const char **desc_id, vouch_err *err)
{
    json_t *ds, *d0, *v;

    *def_id = *desc_id = NULL;
    v = json_object_get(def, "id");
    ds = json_object_get(def, "input_descriptors");
    d0 = json_array_get(ds, 0);
    if (!json_is_object(def) || !json_is_string(v) ||
        !siop_printable(json_string_value(v), 255) || !json_is_array(ds) ||
        !json_is_object(d0) || !json_is_string(json_object_get(d0, "id")) ||
        !siop_printable(json_string_value(json_object_get(d0, "id")), 255))
        return vouch_err_set(err, VOUCH_E_LOGIN_REQUEST,
                             "presentation_definition has no id or input descriptor");
    *def_id = json_string_value(v);
    *desc_id = json_string_value(json_object_get(d0, "id"));
    return VOUCH_OK;
}

void vouch_siop_request_free(vouch_siop_request *r)
{
    if (r) {
        json_decref(r->definition);
        r->definition = NULL;
    }
}

vouch_code vouch_siop_request_verify(const vouch_policy *p, const char *jwt, size_t len,
                                     const char *expected_origin, int64_t now,
                                     vouch_siop_request *out, vouch_err *err)
{
    const char *iss, *cid, *scheme, *aud, *rtype, *rmode, *ruri, *nonce, *state, *did_id, *dsc;
    char origin[SIOP_URI_MAX + 1];
    vouch_siop_request r;
    vouch_jws *j = NULL;
    json_t *claims = NULL, *def, *scope;
    size_t olen;
    int vp;
    vouch_code rc;

    memset(&r, 0, sizeof(r));
    if (out)
        memset(out, 0, sizeof(*out));
    if (!p || !expected_origin || !out) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "vouch_siop_request_verify: bad argument");
        goto out;
    }
    if ((rc = vouch_siop_origin(expected_origin, origin, sizeof(origin), err)) != VOUCH_OK) {
        vouch_err_prefix(err, "expected origin");
        goto out;
    }
    if ((rc = siop_parse_compact(jwt, len, "request object", &j, err)) != VOUCH_OK)
        goto out;
    if (!siop_typ_is(j->sigs[0].typ, VOUCH_REQUEST_OBJECT_TYP) &&
        !siop_typ_is(j->sigs[0].typ, "JWT")) {
        rc = vouch_err_set(err, VOUCH_E_JWS_TYP,
                           "request object: typ must be " VOUCH_REQUEST_OBJECT_TYP " or JWT");
        goto out;
    }
    if ((rc = siop_verify_role(p, VOUCH_ROLE_SERVER, j, NULL, VOUCH_E_JWS_UNKNOWN_KEY,
                               "request object", err)) != VOUCH_OK ||
        (rc = siop_claims(j, "request object", &claims, err)) != VOUCH_OK ||
        (rc = siop_only(claims, req_members, VOUCH_E_LOGIN_REQUEST, "request object", err)) !=
            VOUCH_OK)
        goto out;
    if ((rc = siop_str(claims, "iss", "request object", VOUCH_E_LOGIN_REQUEST, &iss, err)) !=
            VOUCH_OK ||
        (rc = siop_str(claims, "client_id", "request object", VOUCH_E_LOGIN_REQUEST, &cid,
                       err)) != VOUCH_OK ||
        (rc = siop_str(claims, "client_id_scheme", "request object", VOUCH_E_LOGIN_REQUEST,
                       &scheme, err)) != VOUCH_OK)
        goto out;
    if (strcmp(iss, cid) != 0 || !vouch_policy_issuer(p) ||
        strcmp(cid, vouch_policy_issuer(p)) != 0 || strcmp(scheme, "did") != 0) {
        rc = vouch_err_set(err, VOUCH_E_LOGIN_REQUEST,
                           "request object: client_id and iss must be the vendor's DID "
                           "(client_id_scheme did)");
        goto out;
    }
    if ((rc = siop_str(claims, "aud", "request object", VOUCH_E_LOGIN_AUDIENCE, &aud, err)) !=
        VOUCH_OK)
        goto out;
    if (strcmp(aud, VOUCH_SIOP_ISSUER) != 0) {
        rc = vouch_err_set(err, VOUCH_E_LOGIN_AUDIENCE,
                           "request object: aud is not " VOUCH_SIOP_ISSUER);
        goto out;
    }
    if ((rc = siop_str(claims, "response_type", "request object", VOUCH_E_LOGIN_REQUEST, &rtype,
                       err)) != VOUCH_OK ||
        (rc = siop_str(claims, "response_mode", "request object", VOUCH_E_LOGIN_REQUEST, &rmode,
                       err)) != VOUCH_OK)
        goto out;
    vp = strcmp(rtype, "vp_token id_token") == 0 || strcmp(rtype, "id_token vp_token") == 0;
    if ((!vp && strcmp(rtype, "id_token") != 0) || strcmp(rmode, "direct_post") != 0) {
        rc = vouch_err_set(err, VOUCH_E_LOGIN_REQUEST,
                           "request object: response_type or response_mode not supported");
        goto out;
    }
    scope = json_object_get(claims, "scope");
    if (scope && !json_is_string(scope)) {
        rc = vouch_err_set(err, VOUCH_E_LOGIN_REQUEST, "request object: scope is not a string");
        goto out;
    }
    if ((rc = siop_str(claims, "response_uri", "request object", VOUCH_E_LOGIN_REQUEST, &ruri,
                       err)) != VOUCH_OK)
        goto out;
    olen = strlen(origin);
    if (!siop_printable(ruri, SIOP_URI_MAX) || strncmp(ruri, origin, olen) != 0 ||
        ruri[olen] != '/' || strchr(ruri, ' ')) {
        rc = vouch_err_set(err, VOUCH_E_LOGIN_ORIGIN,
                           "request object: response_uri is not under %.200s/", origin);
        goto out;
    }
    if ((rc = siop_str(claims, "nonce", "request object", VOUCH_E_LOGIN_NONCE, &nonce, err)) !=
        VOUCH_OK)
        goto out;
    if (!siop_b64url_chars(nonce, VOUCH_LOGIN_NONCE_MIN, SIOP_NONCE_MAX)) {
        rc = vouch_err_set(err, VOUCH_E_LOGIN_NONCE,
                           "request object: nonce is not %d..%u base64url characters",
                           VOUCH_LOGIN_NONCE_MIN, SIOP_NONCE_MAX);
        goto out;
    }
    if ((rc = siop_str(claims, "state", "request object", VOUCH_E_LOGIN_STATE, &state, err)) !=
        VOUCH_OK)
        goto out;
    if (!siop_printable(state, SIOP_STATE_MAX)) {
        rc = vouch_err_set(err, VOUCH_E_LOGIN_STATE, "request object: state is malformed");
        goto out;
    }
    if (json_object_get(claims, "jti") && !json_is_string(json_object_get(claims, "jti"))) {
        rc = vouch_err_set(err, VOUCH_E_LOGIN_REQUEST, "request object: jti is not a string");
        goto out;
    }
    if ((rc = siop_times(claims, "request object", now, 1, &r.exp, err)) != VOUCH_OK ||
        (rc = siop_client_metadata(claims, err)) != VOUCH_OK)
        goto out;
    def = json_object_get(claims, "presentation_definition");
    if (vp) {
        if (!def) {
            rc = vouch_err_set(err, VOUCH_E_LOGIN_REQUEST,
                               "request object asks for a vp_token without a definition");
            goto out;
        }
        if ((rc = siop_definition_ids(def, &did_id, &dsc, err)) != VOUCH_OK)
            goto out;
        r.definition = json_incref(def);
    } else if (def) {
        rc = vouch_err_set(err, VOUCH_E_LOGIN_REQUEST,
                           "request object has a definition but asks for no vp_token");
        goto out;
    }
    /* sizes were checked above: client_id by the policy, the rest by caps */
    if (!siop_copy(r.client_id, sizeof(r.client_id), cid) ||
        !siop_copy(r.response_uri, sizeof(r.response_uri), ruri) ||
        !siop_copy(r.nonce, sizeof(r.nonce), nonce) ||
        !siop_copy(r.state, sizeof(r.state), state)) {
        rc = vouch_err_set(err, VOUCH_E_LOGIN_REQUEST, "request object: a member is too long");
        goto out;
    }
    *out = r;
    memset(&r, 0, sizeof(r));
out:
    vouch_siop_request_free(&r);
    json_decref(claims);
    vouch_jws_free(j);
    return rc;
}

/* ------------------------------------------------------------- response */

void vouch_siop_response_free(vouch_siop_response *r)
{
    if (!r)
        return;
    vouch_free(r->id_token);
    vouch_free(r->vp_token);
    vouch_free(r->presentation_submission);
    memset(r, 0, sizeof(*r));
}

/* Signs claims (released) as a compact JWS with typ JWT and kid vm. */
static vouch_code siop_sign_claims(const vouch_key *k, const char *vm, json_t *claims,
                                   char **out, vouch_err *err)
{
    vouch_jws_sign_opts o = {"JWT", vm, NULL};
    char *payload = NULL;
    size_t plen = 0;
    vouch_code rc;

    if (!claims) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory building a login token");
        goto out;
    }
    if ((rc = vouch_json_dump(claims, &payload, &plen, err)) != VOUCH_OK)
        goto out;
    rc = vouch_jws_sign_compact(k, &o, (const uint8_t *)payload, plen, out, err);
out:
    vouch_free(payload);
    json_decref(claims);
    return rc;
}

vouch_code vouch_siop_response_build(const vouch_key *device_key, const char *credential,
                                     const vouch_siop_request *req, int64_t now,
                                     vouch_siop_response *out, vouch_err *err)
{
    vouch_siop_response r;
    char *did = NULL, *vm = NULL, *jti = NULL, *sub_id = NULL;
    const char *def_id = NULL, *desc_id = NULL;
    json_t *sub = NULL;
    size_t n = 0;
    vouch_code rc;

    vouch_json_init();
    memset(&r, 0, sizeof(r));
    if (out)
        memset(out, 0, sizeof(*out));
    if (!device_key || !req || !out || now < 0 ||
        now > VOUCH_JSON_MAX_SAFE_INT - VOUCH_LOGIN_TOKEN_LIFETIME ||
        !siop_printable(req->client_id, sizeof(req->client_id) - 1) ||
        !siop_printable(req->nonce, sizeof(req->nonce) - 1) ||
        (req->definition && !credential)) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "vouch_siop_response_build: bad argument");
        goto out;
    }
    if (req->definition &&
        (rc = siop_definition_ids(req->definition, &def_id, &desc_id, err)) != VOUCH_OK)
        goto out;
    if ((rc = vouch_did_key_encode(device_key, &did, err)) != VOUCH_OK)
        goto out;
    /* what vouch_did_key_vm_id gives, "<did>#<id>", without decoding the
     * DID we just encoded from the key */
    n = strlen(did);
    vm = vouch_malloc(2 * n - 8 + 2);
    if (!vm) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory");
        goto out;
    }
    memcpy(vm, did, n);
    vm[n] = '#';
    memcpy(vm + n + 1, did + 8, n - 8 + 1);
    rc = siop_sign_claims(device_key, vm,
                          json_pack("{s:s,s:s,s:s,s:s,s:I,s:I}", "iss", did, "sub", did, "aud",
                                    req->client_id, "nonce", req->nonce, "iat", (json_int_t)now,
                                    "exp", (json_int_t)(now + VOUCH_LOGIN_TOKEN_LIFETIME)),
                          &r.id_token, err);
    if (rc != VOUCH_OK || !req->definition)
        goto done;
    if ((rc = vouch_vc_new_jti(&jti, err)) != VOUCH_OK)
        goto out;
    rc = siop_sign_claims(
        device_key, vm,
        json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:s,s:{s:[s],s:[s],s:[s]}}", "iss", did, "aud",
                  req->client_id, "nonce", req->nonce, "iat", (json_int_t)now, "nbf",
                  (json_int_t)now, "exp", (json_int_t)(now + VOUCH_LOGIN_TOKEN_LIFETIME), "jti",
                  jti, "vp", "@context", VOUCH_VC_CONTEXT_V1, "type", "VerifiablePresentation",
                  "verifiableCredential", credential),
        &r.vp_token, err);
    if (rc != VOUCH_OK)
        goto out;
    sub = json_pack("{s:s,s:s,s:[{s:s,s:s,s:s,s:{s:s,s:s,s:s}}]}", "id", jti + 9,
                    "definition_id", def_id, "descriptor_map", "id", desc_id, "format",
                    "jwt_vp", "path", "$", "path_nested", "id", desc_id, "format", "jwt_vc",
                    "path", "$.verifiableCredential[0]");
    if (!sub) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory building the submission");
        goto out;
    }
    if ((rc = vouch_json_dump(sub, &sub_id, &n, err)) != VOUCH_OK)
        goto out;
    r.presentation_submission = sub_id;
    sub_id = NULL;
done:
    if (rc != VOUCH_OK)
        goto out;
    *out = r;
    memset(&r, 0, sizeof(r));
out:
    vouch_siop_response_free(&r);
    json_decref(sub);
    vouch_free(sub_id);
    vouch_free(jti);
    vouch_free(vm);
    vouch_free(did);
    return rc;
}

/* "state" is not an id_token claim in SIOPv2, but wallets echo it there;
 * when present it must be this login's */
static const char *const idt_members[] = {"iss", "sub", "aud", "nonce", "iat", "exp", "nbf",
                                          "jti", "auth_time", "sub_jwk", "state", NULL};
/* The VP's own members may also stand beside "vp" (Sphereon's SSI-SDK
 * puts the whole presentation there too, with an issuanceDate): a copy is
 * accepted only if it equals vp's member (siop_vp_copies). */
static const char *const vpt_members[] = {
    "iss", "sub", "aud", "nonce", "iat", "exp", "nbf", "jti", "vp",
    "@context", "type", "holder", "verifiableCredential", "issuanceDate", NULL};
static const char *const vp_copy_members[] = {"@context", "type", "holder",
                                              "verifiableCredential", NULL};
static const char *const vp_members[] = {"@context", "type", "verifiableCredential", "holder",
                                         "id", NULL};

/* Top-level copies of vp's members must equal them, so that no reader of
 * either place sees another presentation; issuanceDate, a VC data model
 * field that the JWT's own time claims replace here, is only checked to be
 * a short printable string. */
static vouch_code siop_vp_copies(const json_t *claims, const json_t *vp, vouch_err *err)
{
    const json_t *d;

    for (size_t i = 0; vp_copy_members[i]; i++) {
        const json_t *top = json_object_get(claims, vp_copy_members[i]);
        if (top && !json_equal((json_t *)top, json_object_get(vp, vp_copy_members[i])))
            return vouch_err_set(err, VOUCH_E_LOGIN_REQUEST,
                                 "vp_token: top-level \"%s\" is not vp's", vp_copy_members[i]);
    }
    d = json_object_get(claims, "issuanceDate");
    if (d && (!json_is_string(d) || !siop_printable(json_string_value(d), 64)))
        return vouch_err_set(err, VOUCH_E_LOGIN_REQUEST,
                             "vp_token: issuanceDate is not a short string");
    return VOUCH_OK;
}

/* The id_token: its key (returned) and its subject DID. */
static vouch_code siop_id_token(siop_dids *ds, const vouch_login_params *lp, const char *tok,
                                size_t len, int64_t now, vouch_key **key,
                                char did[VOUCH_DID_MAX], vouch_err *err)
{
    vouch_jws *j = NULL;
    json_t *claims = NULL, *jwk;
    const char *iss, *sub;
    vouch_key *jk = NULL;
    vouch_code rc;

    *key = NULL;
    if ((rc = siop_parse_compact(tok, len, "id_token", &j, err)) != VOUCH_OK ||
        (rc = siop_self_verify(ds, j, "sub", "id_token", key, did, &claims, err)) != VOUCH_OK ||
        (rc = siop_only(claims, idt_members, VOUCH_E_LOGIN_REQUEST, "id_token", err)) !=
            VOUCH_OK ||
        (rc = siop_str(claims, "sub", "id_token", VOUCH_E_LOGIN_SUBJECT, &sub, err)) !=
            VOUCH_OK ||
        (rc = siop_str(claims, "iss", "id_token", VOUCH_E_LOGIN_SUBJECT, &iss, err)) != VOUCH_OK)
        goto out;
    if ((rc = siop_same_did(ds, sub, *key, "id_token sub", err)) != VOUCH_OK)
        goto out;
    if (strcmp(iss, sub) != 0 && strcmp(iss, VOUCH_SIOP_ISSUER) != 0) {
        rc = vouch_err_set(err, VOUCH_E_LOGIN_SUBJECT,
                           "id_token: iss is neither sub nor " VOUCH_SIOP_ISSUER);
        goto out;
    }
    /* the key comes from the DID; a JWK the token brings is only checked */
    jwk = json_object_get(claims, "sub_jwk");
    if (jwk) {
        if ((rc = vouch_key_from_jwk(jwk, VOUCH_JWK_PUBLIC, &jk, err)) != VOUCH_OK) {
            vouch_err_prefix(err, "id_token sub_jwk");
            goto out;
        }
        if (!vouch_key_equal(jk, *key)) {
            rc = vouch_err_set(err, VOUCH_E_LOGIN_SUBJECT, "id_token: sub_jwk is another key");
            goto out;
        }
    }
    if (json_object_get(claims, "jti") && !json_is_string(json_object_get(claims, "jti"))) {
        rc = vouch_err_set(err, VOUCH_E_LOGIN_REQUEST, "id_token: jti is not a string");
        goto out;
    }
    if (json_object_get(claims, "state") &&
        (!json_is_string(json_object_get(claims, "state")) || !lp->state ||
         strcmp(json_string_value(json_object_get(claims, "state")), lp->state) != 0)) {
        rc = vouch_err_set(err, VOUCH_E_LOGIN_STATE, "id_token: state is not this login's");
        goto out;
    }
    if (json_object_get(claims, "auth_time") &&
        !json_is_integer(json_object_get(claims, "auth_time"))) {
        rc = vouch_err_set(err, VOUCH_E_LOGIN_REQUEST, "id_token: auth_time is not an integer");
        goto out;
    }
    if ((rc = siop_aud(claims, "id_token", lp->client_id, err)) != VOUCH_OK ||
        (rc = siop_nonce(claims, "id_token", lp->nonce, err)) != VOUCH_OK ||
        (rc = siop_times(claims, "id_token", now, 1, NULL, err)) != VOUCH_OK)
        goto out;
    /* did is the signer's; sub names the same key, and is what we report */
    if (!siop_copy(did, VOUCH_DID_MAX, sub)) {
        rc = vouch_err_set(err, VOUCH_E_LOGIN_SUBJECT, "id_token: sub too long");
        goto out;
    }
out:
    if (rc != VOUCH_OK) {
        vouch_key_free(*key);
        *key = NULL;
    }
    vouch_key_free(jk);
    json_decref(claims);
    vouch_jws_free(j);
    return rc;
}

/* The vp_token, checked against the id_token's key; *vcs (new reference)
 * is its verifiableCredential array. */
static vouch_code siop_vp_token(siop_dids *ds, const vouch_login_params *lp, const char *tok,
                                size_t len, int64_t now, const vouch_key *id_key,
                                const char *id_did, json_t **vcs, vouch_err *err)
{
    vouch_jws *j = NULL;
    json_t *claims = NULL, *vp, *ctx, *type, *list, *e;
    char did[VOUCH_DID_MAX];
    const char *iss, *s;
    vouch_key *k = NULL;
    size_t i;
    int found = 0;
    vouch_code rc;

    *vcs = NULL;
    if ((rc = siop_parse_compact(tok, len, "vp_token", &j, err)) != VOUCH_OK ||
        (rc = siop_self_verify(ds, j, "iss", "vp_token", &k, did, &claims, err)) != VOUCH_OK)
        goto out;
    if (!vouch_key_equal(k, id_key)) {
        rc = vouch_err_set(err, VOUCH_E_LOGIN_SUBJECT,
                           "vp_token is signed by another key than the id_token");
        goto out;
    }
    if ((rc = siop_only(claims, vpt_members, VOUCH_E_LOGIN_REQUEST, "vp_token", err)) !=
            VOUCH_OK ||
        (rc = siop_str(claims, "iss", "vp_token", VOUCH_E_LOGIN_SUBJECT, &iss, err)) != VOUCH_OK)
        goto out;
    if (strcmp(iss, id_did) != 0) {
        rc = vouch_err_set(err, VOUCH_E_LOGIN_SUBJECT, "vp_token: holder is not the login subject");
        goto out;
    }
    if (json_object_get(claims, "sub") &&
        (!json_is_string(json_object_get(claims, "sub")) ||
         strcmp(json_string_value(json_object_get(claims, "sub")), iss) != 0)) {
        rc = vouch_err_set(err, VOUCH_E_LOGIN_SUBJECT, "vp_token: sub is not the holder");
        goto out;
    }
    if (json_object_get(claims, "jti") && !json_is_string(json_object_get(claims, "jti"))) {
        rc = vouch_err_set(err, VOUCH_E_LOGIN_REQUEST, "vp_token: jti is not a string");
        goto out;
    }
    if ((rc = siop_aud(claims, "vp_token", lp->client_id, err)) != VOUCH_OK ||
        (rc = siop_nonce(claims, "vp_token", lp->nonce, err)) != VOUCH_OK ||
        (rc = siop_times(claims, "vp_token", now, 0, NULL, err)) != VOUCH_OK)
        goto out;
    vp = json_object_get(claims, "vp");
    if (!json_is_object(vp)) {
        rc = vouch_err_set(err, VOUCH_E_LOGIN_REQUEST, "vp_token: \"vp\" is %s",
                           vp ? "not an object" : "missing");
        goto out;
    }
    if ((rc = siop_only(vp, vp_members, VOUCH_E_LOGIN_REQUEST, "vp_token vp", err)) != VOUCH_OK ||
        (rc = siop_vp_copies(claims, vp, err)) != VOUCH_OK)
        goto out;
    ctx = json_object_get(vp, "@context");
    type = json_object_get(vp, "type");
    list = json_object_get(vp, "verifiableCredential");
    if (!json_is_array(ctx) || json_array_size(ctx) < 1 || json_array_size(ctx) > 4 ||
        !json_is_string(json_array_get(ctx, 0)) ||
        strcmp(json_string_value(json_array_get(ctx, 0)), VOUCH_VC_CONTEXT_V1) != 0) {
        rc = vouch_err_set(err, VOUCH_E_LOGIN_REQUEST, "vp_token: vp.@context is not VC 1.1");
        goto out;
    }
    json_array_foreach(ctx, i, e) {
        if (!json_is_string(e)) {
            rc = vouch_err_set(err, VOUCH_E_LOGIN_REQUEST, "vp_token: vp.@context[%zu]", i);
            goto out;
        }
    }
    if (json_is_string(type)) {
        found = strcmp(json_string_value(type), "VerifiablePresentation") == 0;
    } else if (json_is_array(type) && json_array_size(type) <= 4) {
        json_array_foreach(type, i, e) {
            if (!json_is_string(e)) {
                rc = vouch_err_set(err, VOUCH_E_LOGIN_REQUEST, "vp_token: vp.type[%zu]", i);
                goto out;
            }
            found |= strcmp(json_string_value(e), "VerifiablePresentation") == 0;
        }
    }
    if (!found) {
        rc = vouch_err_set(err, VOUCH_E_LOGIN_REQUEST,
                           "vp_token: vp.type is not VerifiablePresentation");
        goto out;
    }
    e = json_object_get(vp, "holder");
    if (e && (!json_is_string(e) || strcmp(json_string_value(e), iss) != 0)) {
        rc = vouch_err_set(err, VOUCH_E_LOGIN_SUBJECT, "vp_token: vp.holder is not the holder");
        goto out;
    }
    e = json_object_get(vp, "id");
    if (e && !json_is_string(e)) {
        rc = vouch_err_set(err, VOUCH_E_LOGIN_REQUEST, "vp_token: vp.id is not a string");
        goto out;
    }
    if (!json_is_array(list) || json_array_size(list) < 1 ||
        json_array_size(list) > SIOP_MAX_VCS) {
        rc = vouch_err_set(err, VOUCH_E_LOGIN_REQUEST,
                           "vp_token: vp.verifiableCredential must hold 1..%u credentials",
                           SIOP_MAX_VCS);
        goto out;
    }
    json_array_foreach(list, i, e) {
        s = json_string_value(e);
        if (!s) {
            rc = vouch_err_set(err, VOUCH_E_LOGIN_REQUEST,
                               "vp_token: vp.verifiableCredential[%zu] is not a VC-JWT", i);
            goto out;
        }
    }
    *vcs = json_incref(list);
out:
    vouch_key_free(k);
    json_decref(claims);
    vouch_jws_free(j);
    return rc;
}

static const char *const sub_members[] = {"id", "definition_id", "descriptor_map", NULL};
static const char *const map_members[] = {"id", "format", "path", "path_nested", NULL};
static const char *const nested_members[] = {"id", "format", "path", NULL};

/* "$.verifiableCredential[N]" or "$.vp.verifiableCredential[N]", N < 10. */
static int siop_vc_path(const char *path, size_t *index)
{
    const char *p = path;

    if (strncmp(p, "$.vp.", 5) == 0)
        p += 5;
    else if (strncmp(p, "$.", 2) == 0)
        p += 2;
    else
        return 0;
    if (strncmp(p, "verifiableCredential[", 21) != 0)
        return 0;
    p += 21;
    if (!(p[0] >= '0' && p[0] <= '9') || p[1] != ']' || p[2] != '\0')
        return 0;
    *index = (size_t)(p[0] - '0');
    return 1;
}

/* A string member of a submission object equal to one of want[]. */
static int siop_sub_str(const json_t *o, const char *name, const char *const *want)
{
    json_t *v = json_object_get(o, name);

    return json_is_string(v) && siop_in(json_string_value(v), want);
}

/* Which credential of the presentation the submission points to. */
static vouch_code siop_submission(const char *sub, size_t len, size_t ncreds, size_t *index,
                                  vouch_err *err)
{
    static const char *const def_ids[] = {VOUCH_PRODUCTION_DEFINITION_ID, NULL};
    static const char *const desc_ids[] = {VOUCH_PRODUCTION_DESCRIPTOR_ID, NULL};
    static const char *const vp_formats[] = {"jwt_vp", "jwt_vp_json", NULL};
    static const char *const vc_formats[] = {"jwt_vc", "jwt_vc_json", NULL};
    static const char *const root[] = {"$", NULL};
    vouch_json_limits lim = {VOUCH_LOGIN_MAX_BYTES, 8};
    json_t *doc = NULL, *map, *d, *nested;
    const char *path;
    vouch_code rc;

    *index = 0;
    if (!sub || len == 0) {
        rc = vouch_err_set(err, VOUCH_E_LOGIN_SUBMISSION, "presentation_submission is missing");
        goto out;
    }
    if ((rc = vouch_json_parse_object(sub, len, &lim, &doc, err)) != VOUCH_OK) {
        vouch_err_prefix(err, "presentation_submission");
        goto out;
    }
    map = json_object_get(doc, "descriptor_map");
    d = json_array_get(map, 0);
    if ((rc = siop_only(doc, sub_members, VOUCH_E_LOGIN_SUBMISSION, "presentation_submission",
                        err)) != VOUCH_OK)
        goto out;
    if (!json_is_string(json_object_get(doc, "id")) || !json_is_array(map) ||
        json_array_size(map) != 1 || !json_is_object(d)) {
        rc = vouch_err_set(err, VOUCH_E_LOGIN_SUBMISSION,
                           "presentation_submission needs an id and one descriptor");
        goto out;
    }
    if (!siop_sub_str(doc, "definition_id", def_ids) || !siop_sub_str(d, "id", desc_ids)) {
        rc = vouch_err_set(err, VOUCH_E_LOGIN_SUBMISSION,
                           "presentation_submission answers another definition");
        goto out;
    }
    if ((rc = siop_only(d, map_members, VOUCH_E_LOGIN_SUBMISSION, "descriptor_map[0]", err)) !=
        VOUCH_OK)
        goto out;
    nested = json_object_get(d, "path_nested");
    path = json_string_value(json_object_get(d, "path"));
    if (nested) {
        /* the PE v2 form: the VP at "$", the credential nested in it */
        if (!siop_sub_str(d, "format", vp_formats) || !siop_sub_str(d, "path", root) ||
            !json_is_object(nested)) {
            rc = vouch_err_set(err, VOUCH_E_LOGIN_SUBMISSION,
                               "descriptor_map[0] must be a jwt_vp at \"$\"");
            goto out;
        }
        if ((rc = siop_only(nested, nested_members, VOUCH_E_LOGIN_SUBMISSION, "path_nested",
                            err)) != VOUCH_OK)
            goto out;
        if (json_object_get(nested, "id") && !siop_sub_str(nested, "id", desc_ids)) {
            rc = vouch_err_set(err, VOUCH_E_LOGIN_SUBMISSION, "path_nested.id differs");
            goto out;
        }
        d = nested;
        path = json_string_value(json_object_get(d, "path"));
    }
    if (!siop_sub_str(d, "format", vc_formats) || !path || !siop_vc_path(path, index)) {
        rc = vouch_err_set(err, VOUCH_E_LOGIN_SUBMISSION,
                           "the credential must be a jwt_vc at $.verifiableCredential[N] or "
                           "$.vp.verifiableCredential[N]");
        goto out;
    }
    if (*index >= ncreds) {
        rc = vouch_err_set(err, VOUCH_E_LOGIN_SUBMISSION,
                           "presentation_submission points past the credentials");
        goto out;
    }
out:
    json_decref(doc);
    return rc;
}

vouch_code vouch_siop_response_verify_cached(vouch_did_cache *cache, const vouch_policy *p,
                                             const vouch_authz *a, const vouch_login_params *lp,
                                             const char *id_token, size_t id_len,
                                             const char *vp_token, size_t vp_len,
                                             const char *submission, size_t sub_len, int64_t now,
                                             vouch_device_facts *facts, vouch_err *err)
{
    siop_dids ds;
    char did[VOUCH_DID_MAX];
    vouch_device_facts f;
    vouch_key *key = NULL;
    json_t *vcs = NULL;
    const char *vc;
    size_t index = 0;
    vouch_code rc;

    memset(&f, 0, sizeof(f));
    memset(&ds, 0, sizeof(ds));
    ds.cache = cache;
    if (facts)
        memset(facts, 0, sizeof(*facts));
    if (!p || !a || !lp || !lp->client_id || !lp->nonce || !facts) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "vouch_siop_response_verify: bad argument");
        goto out;
    }
    if (lp->exp && now >= lp->exp) {
        rc = vouch_err_set(err, VOUCH_E_LOGIN_NONCE, "the login's nonce has expired");
        goto out;
    }
    if ((rc = siop_id_token(&ds, lp, id_token, id_len, now, &key, did, err)) != VOUCH_OK)
        goto out;
    if (a->allowlist_mode) {
        if (!siop_copy(f.did, sizeof(f.did), did)) {
            rc = vouch_err_set(err, VOUCH_E_LOGIN_SUBJECT, "device DID too long");
            goto out;
        }
        *facts = f;
        goto out;
    }
    if (!vp_token || vp_len == 0) {
        rc = vouch_err_set(err, VOUCH_E_LOGIN_REQUEST, "vp_token is missing");
        goto out;
    }
    if ((rc = siop_vp_token(&ds, lp, vp_token, vp_len, now, key, did, &vcs, err)) != VOUCH_OK ||
        (rc = siop_submission(submission, sub_len, json_array_size(vcs), &index, err)) !=
            VOUCH_OK)
        goto out;
    vc = json_string_value(json_array_get(vcs, index));
    if ((rc = siop_production_verify(&ds, p, vc, strlen(vc), now, &f, err)) != VOUCH_OK)
        goto out;
    if (strcmp(f.did, did) != 0) {
        rc = vouch_err_set(err, VOUCH_E_LOGIN_SUBJECT,
                           "the credential's subject is not the logged-in device");
        goto out;
    }
    if ((rc = vouch_authz_check(a, &f, err)) != VOUCH_OK)
        goto out;
    *facts = f;
out:
    json_decref(vcs);
    vouch_key_free(key);
    siop_dids_free(&ds);
    return rc;
}

vouch_code vouch_siop_response_verify(const vouch_policy *p, const vouch_authz *a,
                                      const vouch_login_params *lp, const char *id_token,
                                      size_t id_len, const char *vp_token, size_t vp_len,
                                      const char *submission, size_t sub_len, int64_t now,
                                      vouch_device_facts *facts, vouch_err *err)
{
    return vouch_siop_response_verify_cached(NULL, p, a, lp, id_token, id_len, vp_token, vp_len,
                                             submission, sub_len, now, facts, err);
}
