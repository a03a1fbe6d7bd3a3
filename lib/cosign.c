/* cosign.c - the co-sign protocol shared by vouch-cosignd and `vouch release
 * cosign` (vouch/cosign.h): request make/verify/check, the release content
 * checks, the response entry, refusals, and release-file helpers.
 *
 * Order of every check on the server side: cap the size, verify the
 * signature with the key named by the kid, then parse the claims. No claim
 * is read before its signature verified. */
#include "vouch/cosign.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "vouch/codec.h"
#include "vouch/json.h"
#include "vouch/jws.h"
#include "vouch/mem.h"

#define DID_KEY_PREFIX "did:key:"
#define CLAIMS_MAX_DEPTH 4u
#define JTI_RANDOM_BYTES 16u

/* ---------------------------------------------------------------- helpers */

static int jti_char_ok(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == ':' || c == '~' || c == '-';
}

/* jti: 1..VOUCH_COSIGN_JTI_MAX bytes of [A-Za-z0-9._:~-]; the text is never
 * echoed, so that hostile ids cannot reach a log or an error body. */
static vouch_code cosign_check_jti(const char *s, size_t n, vouch_err *err)
{
    size_t i;

    if (n == 0 || n > VOUCH_COSIGN_JTI_MAX)
        return vouch_err_set(err, VOUCH_E_COSIGN_REQUEST, "jti must be 1..%u bytes, not %zu",
                             VOUCH_COSIGN_JTI_MAX, n);
    for (i = 0; i < n; i++)
        if (!jti_char_ok((unsigned char)s[i]))
            return vouch_err_set(err, VOUCH_E_COSIGN_REQUEST,
                                 "jti has a byte outside [A-Za-z0-9._:~-] at offset %zu", i);
    return VOUCH_OK;
}

/* Keeps the message of *err and changes its code (a lower layer's failure
 * reported as this protocol's class). */
static vouch_code cosign_recode(vouch_err *err, vouch_code code)
{
    if (err)
        err->code = code;
    return code;
}

/*
 * Replaces a lower layer's message by "<stage>: <description of the code>".
 * Server-side refusals travel back to the sender and into the audit log,
 * and lower layers may quote the offending input (a typ, a member name, a
 * JSON token); the description names the class of the fault without it.
 */
static vouch_code cosign_safe(vouch_err *err, vouch_code code, vouch_code report,
                              const char *stage)
{
    return vouch_err_set(err, report, "%s: %s", stage, vouch_code_describe(code));
}

static vouch_code cosign_sha256(const uint8_t *p, size_t n, uint8_t out[32], vouch_err *err)
{
    unsigned int outn = 0;

    if (EVP_Digest(p, n, out, &outn, EVP_sha256(), NULL) != 1 || outn != 32)
        return vouch_err_set(err, VOUCH_E_INTERNAL, "SHA-256 failed");
    return VOUCH_OK;
}

/* Copies a string member (already type-checked) into a fixed field. */
static vouch_code cosign_copy_did(const json_t *claims, const char *name, char *dst, size_t cap,
                                  vouch_err *err)
{
    const char *s = NULL;
    size_t n;
    vouch_code rc;

    rc = vouch_json_get_string(claims, name, &s, err);
    if (rc != VOUCH_OK)
        return vouch_err_set(err, VOUCH_E_COSIGN_REQUEST, "claim \"%s\" is missing or not a string",
                             name);
    n = json_string_length(json_object_get(claims, name));
    if (n == 0 || n >= cap || strlen(s) != n)
        return vouch_err_set(err, VOUCH_E_COSIGN_REQUEST, "claim \"%s\" must be 1..%zu bytes", name,
                             cap - 1);
    if (n < 5 || memcmp(s, "did:", 4) != 0)
        return vouch_err_set(err, VOUCH_E_COSIGN_REQUEST, "claim \"%s\" is not a DID", name);
    memcpy(dst, s, n + 1);
    return VOUCH_OK;
}

/* ----------------------------------------------------------------- client */

vouch_code vouch_cosign_request_make(const vouch_key *identity, const char *aud,
                                     const uint8_t *release, size_t len, int force, int64_t iat,
                                     int64_t ttl, const char *jti, char **out, size_t *outlen,
                                     vouch_err *err)
{
    uint8_t rnd[JTI_RANDOM_BYTES];
    char jbuf[VOUCH_COSIGN_JTI_MAX + 1];
    char *did = NULL, *kid = NULL, *rel_b64 = NULL, *claims_txt = NULL, *tok = NULL;
    json_t *claims = NULL;
    size_t claims_n = 0;
    vouch_jws_sign_opts opts = {VOUCH_COSIGN_REQ_TYP, NULL, NULL};
    vouch_code rc;

    if (!identity || !aud || !release || !out) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "vouch_cosign_request_make: NULL argument");
        goto out;
    }
    *out = NULL;
    if (len == 0 || len > VOUCH_COSIGN_MAX_RELEASE) {
        rc = vouch_err_set(err, VOUCH_E_LIMIT, "release payload of %zu bytes; 1..%u fit a request",
                           len, VOUCH_COSIGN_MAX_RELEASE);
        goto out;
    }
    if (ttl < 1 || ttl > VOUCH_COSIGN_MAX_TTL) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "request lifetime must be 1..%d seconds",
                           VOUCH_COSIGN_MAX_TTL);
        goto out;
    }
    if (iat < 0 || iat > VOUCH_JSON_MAX_SAFE_INT - ttl) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "iat out of range");
        goto out;
    }
    if (strnlen(aud, VOUCH_DID_MAX + 1) > VOUCH_DID_MAX) {
        rc = vouch_err_set(err, VOUCH_E_LIMIT, "aud is longer than %u bytes", VOUCH_DID_MAX);
        goto out;
    }
    if (!jti) {
        if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
            rc = vouch_err_set(err, VOUCH_E_INTERNAL, "no randomness for a jti");
            goto out;
        }
        rc = vouch_b64url_encode_buf(rnd, sizeof(rnd), jbuf, sizeof(jbuf), NULL, err);
        if (rc != VOUCH_OK)
            goto out;
        jti = jbuf;
    }
    rc = cosign_check_jti(jti, strlen(jti), err);
    if (rc != VOUCH_OK)
        goto out;
    if ((rc = vouch_did_key_encode(identity, &did, err)) != VOUCH_OK ||
        (rc = vouch_did_key_vm_id(did, &kid, err)) != VOUCH_OK ||
        (rc = vouch_b64url_encode(release, len, &rel_b64, NULL, err)) != VOUCH_OK)
        goto out;
    vouch_json_init();
    claims = json_pack("{s:s,s:s,s:s,s:I,s:I,s:s,s:b}", "iss", did, "aud", aud, "jti", jti,
                       "iat", (json_int_t)iat, "exp", (json_int_t)(iat + ttl), "release",
                       rel_b64, "force", force ? 1 : 0);
    if (!claims) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory building a co-sign request");
        goto out;
    }
    if ((rc = vouch_json_dump(claims, &claims_txt, &claims_n, err)) != VOUCH_OK)
        goto out;
    opts.kid = kid;
    rc = vouch_jws_sign_compact(identity, &opts, (const uint8_t *)claims_txt, claims_n, &tok, err);
    if (rc != VOUCH_OK)
        goto out;
    if (strlen(tok) > VOUCH_COSIGN_MAX_BODY) {
        rc = vouch_err_set(err, VOUCH_E_LIMIT, "co-sign request would exceed %u bytes",
                           VOUCH_COSIGN_MAX_BODY);
        goto out;
    }
    if (outlen)
        *outlen = strlen(tok);
    *out = tok;
    tok = NULL;
out:
    json_decref(claims);
    vouch_free(claims_txt);
    vouch_free(rel_b64);
    vouch_free(kid);
    vouch_free(did);
    vouch_free(tok);
    return rc;
}

/* ----------------------------------------------------------------- server */

void vouch_cosign_request_free(vouch_cosign_request *r)
{
    if (!r)
        return;
    vouch_free(r->release_b64);
    vouch_free(r->release);
    memset(r, 0, sizeof(*r));
}

/*
 * The key a request names: its protected kid must be exactly
 * "<did:key>#<multibase>" as vouch_did_key_vm_id makes it. *did receives
 * the bare DID (caller's buffer, VOUCH_DID_MAX + 1 bytes).
 */
static vouch_code cosign_key_from_kid(const char *kid, char did[VOUCH_DID_MAX + 1],
                                      vouch_key **key, vouch_err *err)
{
    const char *hash;
    char *vm = NULL;
    size_t n;
    vouch_code rc;

    *key = NULL;
    if (!kid) {
        rc = vouch_err_set(err, VOUCH_E_JWS_KID,
                           "the request has no kid (the build server's did:key method id)");
        goto out;
    }
    /* jws.c already bounded kid to VOUCH_JWS_MAX_KID printable bytes */
    if (strncmp(kid, "did:", 4) != 0) {
        rc = vouch_err_set(err, VOUCH_E_JWS_KID, "kid is not a DID URL");
        goto out;
    }
    hash = strchr(kid, '#');
    if (!hash) {
        rc = vouch_err_set(err, VOUCH_E_JWS_KID, "kid has no #fragment (a verification method)");
        goto out;
    }
    n = (size_t)(hash - kid);
    if (n > VOUCH_DID_MAX) {
        rc = vouch_err_set(err, VOUCH_E_JWS_KID, "kid's DID is too long");
        goto out;
    }
    memcpy(did, kid, n);
    did[n] = '\0';
    rc = vouch_did_key_decode(did, key, err);
    if (rc != VOUCH_OK) {
        rc = cosign_safe(err, rc, rc, "kid is not a usable did:key");
        goto out;
    }
    rc = vouch_did_key_vm_id(did, &vm, err);
    if (rc != VOUCH_OK)
        goto out;
    if (strcmp(vm, kid) != 0) {
        rc = vouch_err_set(err, VOUCH_E_JWS_KID,
                           "kid's fragment is not the did:key's verification method");
        goto out;
    }
out:
    if (rc != VOUCH_OK) {
        vouch_key_free(*key);
        *key = NULL;
    }
    vouch_free(vm);
    return rc;
}

static const char *const claim_members[] = {"iss", "aud", "jti", "iat", "exp", "release", "force",
                                            NULL};

/* Step 5: the claims, read only after the signature verified. */
static vouch_code cosign_read_claims(const uint8_t *payload, size_t n, const char *kid_did,
                                     vouch_cosign_request *r, vouch_err *err)
{
    vouch_json_limits lim = {VOUCH_COSIGN_MAX_BODY, CLAIMS_MAX_DEPTH};
    json_t *claims = NULL, *v;
    const char *name, *s = NULL;
    size_t sn, i;
    int b = 0;
    vouch_code rc;

    rc = vouch_json_parse_object((const char *)payload, n, &lim, &claims, err);
    if (rc != VOUCH_OK) {
        rc = cosign_safe(err, rc, VOUCH_E_COSIGN_REQUEST, "co-sign request claims");
        goto out;
    }
    json_object_foreach(claims, name, v) {
        for (i = 0; claim_members[i]; i++)
            if (strcmp(name, claim_members[i]) == 0)
                break;
        if (!claim_members[i]) {
            /* the name is not echoed: it is the sender's text */
            rc = vouch_err_set(err, VOUCH_E_COSIGN_REQUEST, "the request has an unknown claim");
            goto out;
        }
    }
    if ((rc = cosign_copy_did(claims, "iss", r->iss, sizeof(r->iss), err)) != VOUCH_OK ||
        (rc = cosign_copy_did(claims, "aud", r->aud, sizeof(r->aud), err)) != VOUCH_OK)
        goto out;
    /* who signed is who asks: a signature by another key than iss's names
     * nobody we could trust */
    if (strcmp(r->iss, kid_did) != 0) {
        rc = vouch_err_set(err, VOUCH_E_JWS_UNKNOWN_KEY,
                           "the request is signed by a key other than its issuer's");
        goto out;
    }
    if (vouch_json_get_string(claims, "jti", &s, err) != VOUCH_OK) {
        rc = vouch_err_set(err, VOUCH_E_COSIGN_REQUEST, "claim \"jti\" is missing or not a string");
        goto out;
    }
    sn = json_string_length(json_object_get(claims, "jti"));
    if ((rc = cosign_check_jti(s, sn, err)) != VOUCH_OK)
        goto out;
    memcpy(r->jti, s, sn + 1);
    if (vouch_json_get_int(claims, "iat", &r->iat, err) != VOUCH_OK ||
        vouch_json_get_int(claims, "exp", &r->exp, err) != VOUCH_OK) {
        rc = vouch_err_set(err, VOUCH_E_COSIGN_REQUEST,
                           "claims \"iat\" and \"exp\" must be integers (seconds)");
        goto out;
    }
    if (json_object_get(claims, "force")) {
        if (vouch_json_get_bool(claims, "force", &b, err) != VOUCH_OK) {
            rc = vouch_err_set(err, VOUCH_E_COSIGN_REQUEST, "claim \"force\" is not a boolean");
            goto out;
        }
        r->force = b ? 1 : 0;
    }
    if (vouch_json_get_string(claims, "release", &s, err) != VOUCH_OK) {
        rc = vouch_err_set(err, VOUCH_E_COSIGN_REQUEST,
                           "claim \"release\" is missing or not a string");
        goto out;
    }
    sn = json_string_length(json_object_get(claims, "release"));
    /* checked against the cap before decoding: the decoded size is at most
     * 3/4 of the text, so text within the bound cannot overflow the cap */
    if (sn > vouch_b64url_encoded_len(VOUCH_COSIGN_MAX_RELEASE)) {
        rc = vouch_err_set(err, VOUCH_E_LIMIT, "the release payload exceeds %u bytes",
                           VOUCH_COSIGN_MAX_RELEASE);
        goto out;
    }
    if (sn == 0) {
        rc = vouch_err_set(err, VOUCH_E_COSIGN_REQUEST, "claim \"release\" is empty");
        goto out;
    }
    rc = vouch_b64url_decode(s, sn, &r->release, &r->release_len, err);
    if (rc != VOUCH_OK) {
        rc = cosign_safe(err, rc, VOUCH_E_COSIGN_REQUEST, "claim \"release\"");
        goto out;
    }
    r->release_b64 = vouch_strndup(s, sn);
    if (!r->release_b64) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory reading a co-sign request");
        goto out;
    }
    r->release_b64_len = sn;
    rc = cosign_sha256(r->release, r->release_len, r->release_sha256, err);
out:
    json_decref(claims);
    return rc;
}

vouch_code vouch_cosign_request_verify(const char *body, size_t len, vouch_cosign_request *out,
                                       vouch_err *err)
{
    vouch_jws *jws = NULL;
    vouch_key *key = NULL;
    char did[VOUCH_DID_MAX + 1];
    vouch_code rc;

    if (!out || (!body && len)) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "vouch_cosign_request_verify: NULL argument");
        goto out;
    }
    memset(out, 0, sizeof(*out));
    /* 1. the size, before anything else looks at the bytes */
    if (len > VOUCH_COSIGN_MAX_BODY) {
        rc = vouch_err_set(err, VOUCH_E_LIMIT, "co-sign request of %zu bytes exceeds %u", len,
                           VOUCH_COSIGN_MAX_BODY);
        goto out;
    }
    if (len == 0) {
        rc = vouch_err_set(err, VOUCH_E_COSIGN_REQUEST, "empty co-sign request");
        goto out;
    }
    /* 2. structure and header rules (compact only) */
    if (body[0] == '{') {
        rc = vouch_err_set(err, VOUCH_E_JWS_FORMAT,
                           "a co-sign request is a compact JWS, not JSON");
        goto out;
    }
    rc = vouch_jws_parse(body, len, &jws, err);
    if (rc != VOUCH_OK) {
        rc = cosign_safe(err, rc, rc, "co-sign request");
        goto out;
    }
    /* 3. the key named by the kid */
    rc = cosign_key_from_kid(jws->sigs[0].kid, did, &key, err);
    if (rc != VOUCH_OK)
        goto out;
    /* 4. the signature (typ, the key's algorithm, then the math) */
    rc = vouch_jws_verify_sig(jws, 0, key, VOUCH_COSIGN_REQ_TYP, err);
    if (rc != VOUCH_OK) {
        rc = cosign_safe(err, rc, rc, "co-sign request signature");
        goto out;
    }
    /* 5. only now the claims */
    rc = cosign_read_claims(jws->payload, jws->payload_len, did, out, err);
out:
    if (rc != VOUCH_OK && out)
        vouch_cosign_request_free(out);
    vouch_key_free(key);
    vouch_jws_free(jws);
    return rc;
}

vouch_code vouch_cosign_request_check(const vouch_cosign_request *r, const char *aud,
                                      int64_t now, int64_t skew, vouch_err *err)
{
    if (!r || !aud)
        return vouch_err_set(err, VOUCH_E_ARG, "vouch_cosign_request_check: NULL argument");
    if (skew < 0 || skew > VOUCH_COSIGN_MAX_TTL)
        return vouch_err_set(err, VOUCH_E_ARG, "skew must be 0..%d seconds", VOUCH_COSIGN_MAX_TTL);
    if (strcmp(r->aud, aud) != 0)
        return vouch_err_set(err, VOUCH_E_COSIGN_REQUEST,
                             "the request is addressed to another co-signer (aud)");
    /* all values are within +-2^53 (the JSON getters), so no sum overflows */
    if (r->exp <= r->iat || r->exp - r->iat > VOUCH_COSIGN_MAX_TTL)
        return vouch_err_set(err, VOUCH_E_COSIGN_STALE,
                             "request lifetime exp - iat must be 1..%d seconds",
                             VOUCH_COSIGN_MAX_TTL);
    if (r->iat > now + skew)
        return vouch_err_set(err, VOUCH_E_COSIGN_STALE,
                             "request issued %lld s in the future (skew allowed: %lld s)",
                             (long long)(r->iat - now), (long long)skew);
    if (now >= r->exp)
        return vouch_err_set(err, VOUCH_E_COSIGN_STALE, "request expired %lld s ago",
                             (long long)(now - r->exp));
    return VOUCH_OK;
}

vouch_code vouch_cosign_check_release(const vouch_cosign_request *r, const char *vendor,
                                      int64_t max_lifetime, int64_t now, vouch_release *rel,
                                      vouch_err *err)
{
    vouch_code rc;

    if (!r || !vendor || !rel || !r->release)
        return vouch_err_set(err, VOUCH_E_ARG, "vouch_cosign_check_release: NULL argument");
    rc = vouch_release_parse_payload(r->release, r->release_len, rel, err);
    if (rc != VOUCH_OK)
        return cosign_safe(err, rc, VOUCH_E_COSIGN_REQUEST, "release payload");
    if (strcmp(rel->iss, vendor) != 0)
        return vouch_err_set(err, VOUCH_E_VC_ISSUER,
                             "the release is not issued by this co-signer's vendor");
    if (rel->exp <= now)
        return vouch_err_set(err, VOUCH_E_COSIGN_LIFETIME, "the release has already expired");
    /* nbf and exp come from the JSON getters (|v| <= 2^53): no overflow */
    if (rel->exp - rel->nbf > max_lifetime)
        return vouch_err_set(err, VOUCH_E_COSIGN_LIFETIME,
                             "release lifetime of %lld s exceeds the maximum of %lld s",
                             (long long)(rel->exp - rel->nbf), (long long)max_lifetime);
    return VOUCH_OK;
}

/* ------------------------------------------------------------- responses */

vouch_code vouch_cosign_sign(const vouch_key *cosigner, const char *kid, const uint8_t *release,
                             size_t len, char **entry, size_t *entry_len, vouch_err *err)
{
    vouch_jws_sign_opts opts = {VOUCH_RELEASE_TYP, kid, NULL};
    char *tok = NULL, *dot1, *dot2;
    json_t *o = NULL;
    vouch_code rc;

    if (!cosigner || !kid || !release || !entry) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "vouch_cosign_sign: NULL argument");
        goto out;
    }
    *entry = NULL;
    rc = vouch_jws_sign_compact(cosigner, &opts, release, len, &tok, err);
    if (rc != VOUCH_OK)
        goto out;
    /* "h.p.s": strict base64url has no '.', so the two dots are the ones */
    dot1 = strchr(tok, '.');
    dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    if (!dot2) {
        rc = vouch_err_set(err, VOUCH_E_INTERNAL, "signer made a malformed JWS");
        goto out;
    }
    *dot1 = '\0';
    vouch_json_init();
    o = json_pack("{s:s,s:s}", "protected", tok, "signature", dot2 + 1);
    if (!o) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory building a signature entry");
        goto out;
    }
    rc = vouch_json_dump(o, entry, entry_len, err);
out:
    json_decref(o);
    vouch_free(tok);
    return rc;
}

static const char *const entry_members[] = {"protected", "signature", NULL};

vouch_code vouch_cosign_response_verify(const char *body, size_t len, const char *payload_b64,
                                        const vouch_key *cosigner, const char *expected_kid,
                                        char **entry, size_t *entry_len, vouch_err *err)
{
    vouch_json_limits lim = {VOUCH_COSIGN_MAX_RESPONSE, 2};
    json_t *o = NULL, *v, *clean = NULL;
    vouch_jws *jws = NULL;
    const char *name, *prot = NULL, *sig = NULL;
    size_t i, pn, sn, bn, tn;
    char *tok = NULL;
    vouch_code rc;

    if (!body || !payload_b64 || !cosigner || !entry) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "vouch_cosign_response_verify: NULL argument");
        goto out;
    }
    *entry = NULL;
    rc = vouch_json_parse_object(body, len, &lim, &o, err);
    if (rc != VOUCH_OK) {
        vouch_err_prefix(err, "co-signer answer");
        rc = cosign_recode(err, VOUCH_E_HTTP);
        goto out;
    }
    json_object_foreach(o, name, v) {
        for (i = 0; entry_members[i]; i++)
            if (strcmp(name, entry_members[i]) == 0)
                break;
        if (!entry_members[i]) {
            rc = vouch_err_set(err, VOUCH_E_HTTP, "co-signer answer has an unknown member");
            goto out;
        }
    }
    if (vouch_json_get_string(o, "protected", &prot, err) != VOUCH_OK ||
        vouch_json_get_string(o, "signature", &sig, err) != VOUCH_OK) {
        rc = vouch_err_set(err, VOUCH_E_HTTP,
                           "co-signer answer lacks \"protected\" or \"signature\" strings");
        goto out;
    }
    pn = json_string_length(json_object_get(o, "protected"));
    sn = json_string_length(json_object_get(o, "signature"));
    bn = strlen(payload_b64);
    if (pn != strlen(prot) || sn != strlen(sig) || pn > VOUCH_JWS_MAX_BYTES ||
        sn > VOUCH_JWS_MAX_BYTES || bn > VOUCH_JWS_MAX_BYTES) {
        rc = vouch_err_set(err, VOUCH_E_HTTP, "co-signer answer has oversized members");
        goto out;
    }
    /* the entry and the release payload as one compact JWS: the same rules
     * (no alg none, no embedded key, no crit) and the pinned key decide */
    tn = pn + 1 + bn + 1 + sn;
    tok = vouch_malloc(tn + 1);
    if (!tok) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory checking a co-signature");
        goto out;
    }
    memcpy(tok, prot, pn);
    tok[pn] = '.';
    memcpy(tok + pn + 1, payload_b64, bn);
    tok[pn + 1 + bn] = '.';
    memcpy(tok + pn + 2 + bn, sig, sn);
    tok[tn] = '\0';
    rc = vouch_jws_parse(tok, tn, &jws, err);
    if (rc != VOUCH_OK) {
        vouch_err_prefix(err, "co-signature");
        goto out;
    }
    if (expected_kid && (!jws->sigs[0].kid || strcmp(jws->sigs[0].kid, expected_kid) != 0)) {
        rc = vouch_err_set(err, VOUCH_E_JWS_KID,
                           "co-signature's kid is not the pinned co-signer's");
        goto out;
    }
    rc = vouch_jws_verify_sig(jws, 0, cosigner, VOUCH_RELEASE_TYP, err);
    if (rc != VOUCH_OK) {
        vouch_err_prefix(err, "co-signature does not verify with the pinned key");
        goto out;
    }
    clean = json_pack("{s:s,s:s}", "protected", prot, "signature", sig);
    if (!clean) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory");
        goto out;
    }
    rc = vouch_json_dump(clean, entry, entry_len, err);
out:
    vouch_jws_free(jws);
    vouch_free(tok);
    json_decref(clean);
    json_decref(o);
    return rc;
}

/* ------------------------------------------------------------ release file */

static const char *const rel_members[] = {"payload", "signatures", NULL};

/*
 * Parses a release file into its JSON document: a general JWS (checked by
 * vouch_jws_parse) or the unsigned form with an empty "signatures". Fills
 * *doc (new reference) and, when jws_out is given, the parsed JWS (NULL for
 * the unsigned form).
 */
static vouch_code rel_open(const char *rel, size_t len, json_t **doc, vouch_jws **jws_out,
                           vouch_err *err)
{
    vouch_json_limits lim = {VOUCH_JWS_MAX_BYTES, 0};
    json_t *d = NULL, *sigs, *v;
    vouch_jws *j = NULL;
    const char *name;
    size_t i;
    vouch_code rc;

    *doc = NULL;
    if (jws_out)
        *jws_out = NULL;
    if (!rel || len == 0 || rel[0] != '{') {
        rc = vouch_err_set(err, VOUCH_E_RELEASE_FORMAT,
                           "a release is a general JWS (JSON with \"payload\" and \"signatures\")");
        goto out;
    }
    if (len > VOUCH_JWS_MAX_BYTES) {
        rc = vouch_err_set(err, VOUCH_E_JWS_TOO_LARGE, "release of %zu bytes exceeds %u", len,
                           VOUCH_JWS_MAX_BYTES);
        goto out;
    }
    rc = vouch_json_parse_object(rel, len, &lim, &d, err);
    if (rc != VOUCH_OK) {
        vouch_err_prefix(err, "release");
        goto out;
    }
    json_object_foreach(d, name, v) {
        for (i = 0; rel_members[i]; i++)
            if (strcmp(name, rel_members[i]) == 0)
                break;
        if (!rel_members[i]) {
            rc = vouch_err_set(err, VOUCH_E_RELEASE_FORMAT,
                               "a release holds only \"payload\" and \"signatures\"");
            goto out;
        }
    }
    sigs = json_object_get(d, "signatures");
    if (!json_is_array(sigs) || !json_is_string(json_object_get(d, "payload"))) {
        rc = vouch_err_set(err, VOUCH_E_RELEASE_FORMAT,
                           "a release needs a \"payload\" string and a \"signatures\" array");
        goto out;
    }
    if (json_array_size(sigs) > 0) {
        rc = vouch_jws_parse(rel, len, &j, err);
        if (rc != VOUCH_OK) {
            vouch_err_prefix(err, "release");
            goto out;
        }
    }
    *doc = d;
    d = NULL;
    if (jws_out) {
        *jws_out = j;
        j = NULL;
    }
out:
    vouch_jws_free(j);
    json_decref(d);
    return rc;
}

vouch_code vouch_cosign_rel_payload(const char *rel, size_t len, const char *refuse_kid,
                                    uint8_t **payload, size_t *payload_len, char **payload_b64,
                                    vouch_err *err)
{
    json_t *doc = NULL;
    vouch_jws *j = NULL;
    const char *pb;
    size_t pn, i;
    uint8_t *p = NULL;
    size_t plen = 0;
    char *b = NULL;
    vouch_code rc;

    if (!payload || !payload_b64) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "vouch_cosign_rel_payload: NULL argument");
        goto out;
    }
    *payload = NULL;
    *payload_b64 = NULL;
    rc = rel_open(rel, len, &doc, &j, err);
    if (rc != VOUCH_OK)
        goto out;
    if (j && refuse_kid)
        for (i = 0; i < j->nsigs; i++)
            if (j->sigs[i].kid && strcmp(j->sigs[i].kid, refuse_kid) == 0) {
                rc = vouch_err_set(err, VOUCH_E_EXISTS,
                                   "the release is already co-signed by this co-signer");
                goto out;
            }
    pb = json_string_value(json_object_get(doc, "payload"));
    pn = json_string_length(json_object_get(doc, "payload"));
    if (pn == 0 || strlen(pb) != pn) {
        rc = vouch_err_set(err, VOUCH_E_RELEASE_FORMAT, "the release payload is empty");
        goto out;
    }
    rc = vouch_b64url_decode(pb, pn, &p, &plen, err);
    if (rc != VOUCH_OK) {
        vouch_err_prefix(err, "release payload");
        goto out;
    }
    b = vouch_strndup(pb, pn);
    if (!b) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory");
        goto out;
    }
    *payload = p;
    p = NULL;
    if (payload_len)
        *payload_len = plen;
    *payload_b64 = b;
    b = NULL;
out:
    vouch_free(p);
    vouch_free(b);
    vouch_jws_free(j);
    json_decref(doc);
    return rc;
}

vouch_code vouch_cosign_rel_add(const char *rel, size_t len, const char *entry, size_t entry_len,
                                char **out, size_t *outlen, vouch_err *err)
{
    vouch_json_limits lim = {VOUCH_COSIGN_MAX_RESPONSE, 2};
    json_t *doc = NULL, *e = NULL, *sigs;
    vouch_jws *check = NULL;
    char *txt = NULL;
    size_t n = 0;
    vouch_code rc;

    if (!entry || !out) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "vouch_cosign_rel_add: NULL argument");
        goto out;
    }
    *out = NULL;
    rc = rel_open(rel, len, &doc, NULL, err);
    if (rc != VOUCH_OK)
        goto out;
    rc = vouch_json_parse_object(entry, entry_len, &lim, &e, err);
    if (rc != VOUCH_OK) {
        vouch_err_prefix(err, "signature entry");
        goto out;
    }
    sigs = json_object_get(doc, "signatures");
    if (json_array_size(sigs) >= VOUCH_JWS_MAX_SIGS) {
        rc = vouch_err_set(err, VOUCH_E_JWS_TOO_MANY_SIGS,
                           "the release already has %zu signatures", json_array_size(sigs));
        goto out;
    }
    if (json_array_append(sigs, e) != 0) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory adding a signature");
        goto out;
    }
    rc = vouch_json_dump(doc, &txt, &n, err);
    if (rc != VOUCH_OK)
        goto out;
    /* never write what our own parser would refuse */
    rc = vouch_jws_parse(txt, n, &check, err);
    if (rc != VOUCH_OK) {
        vouch_err_prefix(err, "release with the new signature");
        goto out;
    }
    *out = txt;
    txt = NULL;
    if (outlen)
        *outlen = n;
out:
    vouch_jws_free(check);
    vouch_free(txt);
    json_decref(e);
    json_decref(doc);
    return rc;
}

/* --------------------------------------------------------------- refusals */

vouch_code vouch_cosign_error_body(vouch_code code, const char *message, char **out,
                                   size_t *len, vouch_err *err)
{
    json_t *o;
    vouch_code rc;

    if (!out)
        return vouch_err_set(err, VOUCH_E_ARG, "vouch_cosign_error_body: NULL argument");
    *out = NULL;
    vouch_json_init();
    /* jansson escapes the message; it refuses invalid UTF-8, so fall back
     * to the class description rather than send bytes we cannot vouch for */
    o = json_pack("{s:{s:i,s:s,s:s}}", "error", "code", (int)code, "name", vouch_code_name(code),
                  "message", message && message[0] ? message : vouch_code_describe(code));
    if (!o)
        o = json_pack("{s:{s:i,s:s,s:s}}", "error", "code", (int)code, "name",
                      vouch_code_name(code), "message", vouch_code_describe(code));
    if (!o)
        return vouch_err_set(err, VOUCH_E_NOMEM, "out of memory building a refusal");
    rc = vouch_json_dump(o, out, len, err);
    json_decref(o);
    return rc;
}

vouch_code vouch_cosign_error_parse(const char *body, size_t len, vouch_code *code, char *msg,
                                    size_t cap, vouch_err *err)
{
    vouch_json_limits lim = {VOUCH_COSIGN_MAX_RESPONSE, 4};
    json_t *o = NULL, *e = NULL;
    const char *m = NULL;
    int64_t c = 0;
    size_t i;
    vouch_code rc;

    if (!code || !msg || cap == 0) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "vouch_cosign_error_parse: bad argument");
        goto out;
    }
    *code = VOUCH_E_COSIGN_REFUSED;
    msg[0] = '\0';
    if (!body || vouch_json_parse_object(body, len, &lim, &o, NULL) != VOUCH_OK ||
        vouch_json_get_object(o, "error", &e, NULL) != VOUCH_OK ||
        vouch_json_get_int(e, "code", &c, NULL) != VOUCH_OK) {
        rc = vouch_err_set(err, VOUCH_E_HTTP, "the co-signer's answer is not a refusal");
        goto out;
    }
    /* only a code we assigned, and never "success", can become our exit code */
    if (c > 0 && c <= VOUCH__CODE_MAX && strcmp(vouch_code_name((vouch_code)c), "VOUCH_E_UNKNOWN"))
        *code = (vouch_code)c;
    if (vouch_json_get_string(e, "message", &m, NULL) == VOUCH_OK) {
        for (i = 0; m[i] && i + 1 < cap; i++)
            msg[i] = ((unsigned char)m[i] < 0x20 || m[i] == 0x7f) ? '?' : m[i];
        msg[i] = '\0';
    }
    rc = VOUCH_OK;
out:
    json_decref(o);
    return rc;
}

unsigned vouch_cosign_http_status(vouch_code code)
{
    switch (code) {
    case VOUCH_OK:
        return 200;
    case VOUCH_E_LIMIT:
    case VOUCH_E_JWS_TOO_LARGE:
    case VOUCH_E_JSON_SIZE:
        return 413;
    case VOUCH_E_JWS_ALG:
    case VOUCH_E_JWS_ALG_MISMATCH:
    case VOUCH_E_JWS_EMBEDDED_KEY:
    case VOUCH_E_JWS_SIG_SIZE:
    case VOUCH_E_JWS_SIG_RANGE:
    case VOUCH_E_JWS_BAD_SIGNATURE:
    case VOUCH_E_JWS_UNKNOWN_KEY:
    case VOUCH_E_JWS_NO_VALID:
    case VOUCH_E_COSIGN_STALE:
        return 401;
    case VOUCH_E_COSIGN_UNKNOWN:
    case VOUCH_E_COSIGN_REVOKED:
    case VOUCH_E_COSIGN_LIFETIME:
    case VOUCH_E_VC_ISSUER:
        return 403;
    case VOUCH_E_NOTFOUND:
        return 404;
    case VOUCH_E_COSIGN_REPLAY:
    case VOUCH_E_COSIGN_ROLLBACK:
        return 409;
    case VOUCH_E_COSIGN_RATE:
        return 429;
    case VOUCH_E_INTERNAL:
    case VOUCH_E_NOMEM:
    case VOUCH_E_IO:
    case VOUCH_E_KEY_PKCS11:
    case VOUCH_E_KEY_CRYPTO:
    case VOUCH_E_DB:
        return 500;
    default:
        return 400;
    }
}
