/* test_cosign.c - mirrors lib/cosign.c: the co-sign request (make, verify in
 * order, every refusal with its exact code), freshness, the release checks,
 * the signature entry and its client-side check, release files, refusal
 * bodies, the HTTP status table, and allocation failures. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vouch/cosign.h"
#include "vouch/release.h"

#define NOW 1800000000LL
#define VENDOR "did:web:vendor.example"
#define L(s) s, strlen(s) /* a literal and its length */

static vouch_key *build_p256, *build_ed, *other, *cosigner;
static char *build_did, *build_kid, *other_did, *other_kid, *cos_did, *cos_kid;
static char *payload;       /* a well-formed release payload */
static size_t payload_len;

/* ------------------------------------------------------------ helpers */

static char *b64(const void *p, size_t n)
{
    char *s = NULL;
    vouch_err e;

    if (n == 0)
        return strdup("");
    assert_ok(vouch_b64url_encode(p, n, &s, NULL, &e), e);
    return s;
}

/* A release payload with the given issuer, security version and lifetime. */
static char *make_payload(const char *iss, int64_t sv, int64_t nbf, int64_t exp, size_t *len)
{
    vouch_release r;
    char *out = NULL;
    vouch_err e;

    memset(&r, 0, sizeof(r));
    snprintf(r.url, sizeof(r.url), "https://cdn.example/fw-1.2.3.bin");
    memset(r.sha256, 0xab, sizeof(r.sha256));
    r.size = 4096;
    snprintf(r.version, sizeof(r.version), "1.2.3");
    r.security_version = sv;
    snprintf(r.hardware[0], sizeof(r.hardware[0]), "board-a");
    snprintf(r.hardware[1], sizeof(r.hardware[1]), "board-b");
    r.nhardware = 2;
    r.format = VOUCH_FORMAT_RAW;
    snprintf(r.iss, sizeof(r.iss), "%s", iss);
    snprintf(r.jti, sizeof(r.jti), "urn:uuid:8a4f2a60-5b77-4e0e-9d4e-0f5d1c2b3a40");
    r.iat = nbf;
    r.nbf = nbf;
    r.exp = exp;
    assert_ok(vouch_release_payload(&r, &out, len, &e), e);
    return out;
}

/* "b64(hdr).b64(claims).b64(sig by k)", or an empty signature for k NULL. */
static char *sign_raw(const char *hdr, const char *claims, const vouch_key *k)
{
    char *h = b64(hdr, strlen(hdr)), *p = b64(claims, strlen(claims)), *s, *tok, *in;
    uint8_t sig[VOUCH_SIG_LEN];
    size_t n = strlen(h) + strlen(p) + 2;
    vouch_err e;

    in = malloc(n);
    assert_non_null(in);
    snprintf(in, n, "%s.%s", h, p);
    if (k) {
        assert_ok(vouch_key_sign(k, (const uint8_t *)in, strlen(in), sig, &e), e);
        s = b64(sig, sizeof(sig));
    } else {
        s = strdup("");
    }
    n = strlen(in) + strlen(s) + 2;
    tok = malloc(n);
    assert_non_null(tok);
    snprintf(tok, n, "%s.%s", in, s);
    free(in);
    vouch_free(h);
    vouch_free(p);
    free(s);
    return tok;
}

/* Claims JSON for a request; fields given as raw JSON fragments. */
static char *claims_json(const char *iss, const char *aud, const char *jti, int64_t iat,
                         int64_t exp, const char *extra)
{
    char *rel = b64(payload, payload_len), *c;
    size_t n = strlen(rel) + 1024 + (extra ? strlen(extra) : 0);

    c = malloc(n);
    assert_non_null(c);
    snprintf(c, n,
             "{\"iss\":\"%s\",\"aud\":\"%s\",\"jti\":\"%s\",\"iat\":%lld,\"exp\":%lld,"
             "\"release\":\"%s\",\"force\":false%s}",
             iss, aud, jti, (long long)iat, (long long)exp, rel, extra ? extra : "");
    vouch_free(rel);
    return c;
}

static char *hdr_json(const char *alg, const char *typ, const char *kid)
{
    char *h = malloc(1024);

    assert_non_null(h);
    if (kid)
        snprintf(h, 1024, "{\"alg\":\"%s\",\"typ\":\"%s\",\"kid\":\"%s\"}", alg, typ, kid);
    else
        snprintf(h, 1024, "{\"alg\":\"%s\",\"typ\":\"%s\"}", alg, typ);
    return h;
}

/* A request made by hand: header (alg, typ, kid), claims, signing key. */
static char *req_raw(const char *alg, const char *typ, const char *kid, const char *claims,
                     const vouch_key *k)
{
    char *h = hdr_json(alg, typ, kid), *t = sign_raw(h, claims, k);

    free(h);
    return t;
}

static vouch_code verify_str(const char *tok, vouch_cosign_request *r, vouch_err *e)
{
    return vouch_cosign_request_verify(tok, strlen(tok), r, e);
}

/* Checks that a refusal message does not contain the hostile text. */
static void assert_not_echoed(const vouch_err *e, const char *hostile)
{
    if (strstr(e->msg, hostile))
        fail_msg("message echoes the input: %s", e->msg);
}

static int setup(void **state)
{
    vouch_err e;

    (void)state;
    assert_ok(vouch_key_generate(VOUCH_KEY_P256, &build_p256, &e), e);
    assert_ok(vouch_key_generate(VOUCH_KEY_ED25519, &build_ed, &e), e);
    assert_ok(vouch_key_generate(VOUCH_KEY_P256, &other, &e), e);
    assert_ok(vouch_key_generate(VOUCH_KEY_P256, &cosigner, &e), e);
    assert_ok(vouch_did_key_encode(build_p256, &build_did, &e), e);
    assert_ok(vouch_did_key_vm_id(build_did, &build_kid, &e), e);
    assert_ok(vouch_did_key_encode(other, &other_did, &e), e);
    assert_ok(vouch_did_key_vm_id(other_did, &other_kid, &e), e);
    assert_ok(vouch_did_key_encode(cosigner, &cos_did, &e), e);
    assert_ok(vouch_did_key_vm_id(cos_did, &cos_kid, &e), e);
    payload = make_payload(VENDOR, 7, NOW - 10, NOW + 86400, &payload_len);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    vouch_key_free(build_p256);
    vouch_key_free(build_ed);
    vouch_key_free(other);
    vouch_key_free(cosigner);
    vouch_free(build_did);
    vouch_free(build_kid);
    vouch_free(other_did);
    vouch_free(other_kid);
    vouch_free(cos_did);
    vouch_free(cos_kid);
    vouch_free(payload);
    return 0;
}

/* -------------------------------------------------------- make + verify */

static void roundtrip(const vouch_key *k)
{
    vouch_cosign_request r;
    char *tok = NULL, *did = NULL;
    size_t n = 0;
    vouch_err e;

    assert_ok(vouch_did_key_encode(k, &did, &e), e);
    assert_ok(vouch_cosign_request_make(k, cos_did, (const uint8_t *)payload, payload_len, 1, NOW,
                                        120, NULL, &tok, &n, &e),
              e);
    assert_int_equal(n, strlen(tok));
    assert_ok(vouch_cosign_request_verify(tok, n, &r, &e), e);
    assert_string_equal(r.iss, did);
    assert_string_equal(r.aud, cos_did);
    assert_int_equal(strlen(r.jti), 22); /* 128 random bits */
    assert_int_equal(r.iat, NOW);
    assert_int_equal(r.exp, NOW + 120);
    assert_int_equal(r.force, 1);
    assert_int_equal(r.release_len, payload_len);
    assert_memory_equal(r.release, payload, payload_len);
    assert_ok(vouch_cosign_request_check(&r, cos_did, NOW, 60, &e), e);
    vouch_cosign_request_free(&r);
    vouch_free(tok);
    vouch_free(did);
}

static void test_roundtrip_p256(void **state)
{
    (void)state;
    roundtrip(build_p256);
}

static void test_roundtrip_ed25519(void **state)
{
    (void)state;
    roundtrip(build_ed);
}

static void test_make_refuses(void **state)
{
    char *tok = NULL, *big;
    vouch_err e;

    (void)state;
    assert_code(vouch_cosign_request_make(build_p256, cos_did, (const uint8_t *)payload,
                                          payload_len, 0, NOW, 301, NULL, &tok, NULL, &e),
                VOUCH_E_ARG, e);
    assert_code(vouch_cosign_request_make(build_p256, cos_did, (const uint8_t *)payload,
                                          payload_len, 0, NOW, 0, NULL, &tok, NULL, &e),
                VOUCH_E_ARG, e);
    assert_code(vouch_cosign_request_make(build_p256, cos_did, (const uint8_t *)payload,
                                          payload_len, 0, NOW, 60, "bad\"jti", &tok, NULL, &e),
                VOUCH_E_COSIGN_REQUEST, e);
    big = calloc(1, VOUCH_COSIGN_MAX_RELEASE + 1);
    assert_non_null(big);
    assert_code(vouch_cosign_request_make(build_p256, cos_did, (const uint8_t *)big,
                                          VOUCH_COSIGN_MAX_RELEASE + 1, 0, NOW, 60, NULL, &tok,
                                          NULL, &e),
                VOUCH_E_LIMIT, e);
    free(big);
    assert_null(tok);
}

/* The largest release that fits also fits the body cap after two base64url
 * passes (the reason for VOUCH_COSIGN_MAX_RELEASE). */
static void test_max_release_fits_body(void **state)
{
    vouch_cosign_request r;
    uint8_t *big = malloc(VOUCH_COSIGN_MAX_RELEASE);
    char *tok = NULL;
    size_t n = 0;
    vouch_err e;

    (void)state;
    assert_non_null(big);
    memset(big, 'x', VOUCH_COSIGN_MAX_RELEASE);
    assert_ok(vouch_cosign_request_make(build_p256, cos_did, big, VOUCH_COSIGN_MAX_RELEASE, 0, NOW,
                                        60, NULL, &tok, &n, &e),
              e);
    assert_true(n <= VOUCH_COSIGN_MAX_BODY);
    assert_ok(vouch_cosign_request_verify(tok, n, &r, &e), e);
    assert_int_equal(r.release_len, VOUCH_COSIGN_MAX_RELEASE);
    vouch_cosign_request_free(&r);
    vouch_free(tok);
    free(big);
}

/* ------------------------------------------------ verify: each refusal */

static void test_size_and_shape(void **state)
{
    vouch_cosign_request r;
    char *big = malloc(VOUCH_COSIGN_MAX_BODY + 2);
    vouch_err e;

    (void)state;
    assert_non_null(big);
    memset(big, 'A', VOUCH_COSIGN_MAX_BODY + 1);
    big[VOUCH_COSIGN_MAX_BODY + 1] = '\0';
    assert_code(verify_str(big, &r, &e), VOUCH_E_LIMIT, e);
    free(big);
    assert_code(vouch_cosign_request_verify(L(""), &r, &e), VOUCH_E_COSIGN_REQUEST, e);
    assert_code(verify_str("{\"payload\":\"e30\",\"signatures\":[]}", &r, &e), VOUCH_E_JWS_FORMAT,
                e);
    assert_code(verify_str("a.b", &r, &e), VOUCH_E_JWS_FORMAT, e);
    assert_code(verify_str("a=.b.c", &r, &e), VOUCH_E_B64URL, e);
    assert_null(r.release);
}

static void test_kid_rules(void **state)
{
    vouch_cosign_request r;
    char *c = claims_json(build_did, cos_did, "j1", NOW, NOW + 60, NULL), *t, kid[256];
    vouch_err e;

    (void)state;
    t = req_raw("ES256", VOUCH_COSIGN_REQ_TYP, NULL, c, build_p256);
    assert_code(verify_str(t, &r, &e), VOUCH_E_JWS_KID, e);
    free(t);
    t = req_raw("ES256", VOUCH_COSIGN_REQ_TYP, build_did, c, build_p256); /* no fragment */
    assert_code(verify_str(t, &r, &e), VOUCH_E_JWS_KID, e);
    free(t);
    t = req_raw("ES256", VOUCH_COSIGN_REQ_TYP, "build-1", c, build_p256);
    assert_code(verify_str(t, &r, &e), VOUCH_E_JWS_KID, e);
    free(t);
    snprintf(kid, sizeof(kid), "%s#key-1", build_did); /* not the did:key's fragment */
    t = req_raw("ES256", VOUCH_COSIGN_REQ_TYP, kid, c, build_p256);
    assert_code(verify_str(t, &r, &e), VOUCH_E_JWS_KID, e);
    free(t);
    t = req_raw("ES256", VOUCH_COSIGN_REQ_TYP, "did:web:evil.example#k", c, build_p256);
    assert_code(verify_str(t, &r, &e), VOUCH_E_DID_METHOD, e);
    free(t);
    t = req_raw("ES256", VOUCH_COSIGN_REQ_TYP, "did:key:zDnaXXXX#zDnaXXXX", c, build_p256);
    assert_code(verify_str(t, &r, &e), VOUCH_E_KEY_DIDKEY, e);
    free(t);
    free(c);
}

static void test_signature_rules(void **state)
{
    vouch_cosign_request r;
    char *c = claims_json(build_did, cos_did, "j1", NOW, NOW + 60, NULL), *t, *h;
    vouch_err e;

    (void)state;
    /* signed by another key, under the build server's kid */
    t = req_raw("ES256", VOUCH_COSIGN_REQ_TYP, build_kid, c, other);
    assert_code(verify_str(t, &r, &e), VOUCH_E_JWS_BAD_SIGNATURE, e);
    free(t);
    /* signed by another key, under that key's kid, claiming iss = build server */
    t = req_raw("ES256", VOUCH_COSIGN_REQ_TYP, other_kid, c, other);
    assert_code(verify_str(t, &r, &e), VOUCH_E_JWS_UNKNOWN_KEY, e);
    free(t);
    /* alg none, with and without a signature */
    t = req_raw("none", VOUCH_COSIGN_REQ_TYP, build_kid, c, NULL);
    assert_code(verify_str(t, &r, &e), VOUCH_E_JWS_ALG, e);
    free(t);
    t = req_raw("HS256", VOUCH_COSIGN_REQ_TYP, build_kid, c, build_p256);
    assert_code(verify_str(t, &r, &e), VOUCH_E_JWS_ALG, e);
    free(t);
    /* EdDSA claimed for a P-256 did:key: the key decides */
    t = req_raw("EdDSA", VOUCH_COSIGN_REQ_TYP, build_kid, c, build_ed);
    assert_code(verify_str(t, &r, &e), VOUCH_E_JWS_ALG_MISMATCH, e);
    free(t);
    /* a release credential presented as a request */
    t = req_raw("ES256", VOUCH_RELEASE_TYP, build_kid, c, build_p256);
    assert_code(verify_str(t, &r, &e), VOUCH_E_JWS_TYP, e);
    assert_not_echoed(&e, VOUCH_RELEASE_TYP);
    free(t);
    /* a header bringing its own key */
    h = malloc(2048);
    assert_non_null(h);
    snprintf(h, 2048,
             "{\"alg\":\"ES256\",\"typ\":\"%s\",\"kid\":\"%s\",\"jwk\":{\"kty\":\"EC\"}}",
             VOUCH_COSIGN_REQ_TYP, build_kid);
    t = sign_raw(h, c, build_p256);
    assert_code(verify_str(t, &r, &e), VOUCH_E_JWS_EMBEDDED_KEY, e);
    free(t);
    /* a tampered payload */
    t = req_raw("ES256", VOUCH_COSIGN_REQ_TYP, build_kid, c, build_p256);
    {
        char *dot = strchr(t, '.');
        dot[1] = dot[1] == 'e' ? 'f' : 'e';
    }
    assert_code(verify_str(t, &r, &e), VOUCH_E_JWS_BAD_SIGNATURE, e);
    free(t);
    free(h);
    free(c);
}

/* Each claims text, signed properly, with the code it must get. */
static void test_claims_rules(void **state)
{
    struct {
        const char *extra;
        vouch_code want;
    } cases[] = {
        {",\"admin\":true", VOUCH_E_COSIGN_REQUEST},
        {",\"force\":1", VOUCH_E_COSIGN_REQUEST}, /* a duplicate member (hardened JSON) */
    };
    vouch_cosign_request r;
    char *c, *t, claims[512];
    vouch_err e;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        c = claims_json(build_did, cos_did, "j1", NOW, NOW + 60, cases[i].extra);
        t = req_raw("ES256", VOUCH_COSIGN_REQ_TYP, build_kid, c, build_p256);
        assert_code(verify_str(t, &r, &e), cases[i].want, e);
        free(t);
        free(c);
    }
    /* hostile jti: quotes, SQL, too long; never echoed */
    c = claims_json(build_did, cos_did, "x';--", NOW, NOW + 60, NULL);
    t = req_raw("ES256", VOUCH_COSIGN_REQ_TYP, build_kid, c, build_p256);
    assert_code(verify_str(t, &r, &e), VOUCH_E_COSIGN_REQUEST, e);
    assert_not_echoed(&e, "';--");
    free(t);
    free(c);
    {
        char longjti[200];
        memset(longjti, 'a', sizeof(longjti) - 1);
        longjti[sizeof(longjti) - 1] = '\0';
        c = claims_json(build_did, cos_did, longjti, NOW, NOW + 60, NULL);
        t = req_raw("ES256", VOUCH_COSIGN_REQ_TYP, build_kid, c, build_p256);
        assert_code(verify_str(t, &r, &e), VOUCH_E_COSIGN_REQUEST, e);
        free(t);
        free(c);
    }
    /* wrong types and missing members */
    snprintf(claims, sizeof(claims),
             "{\"iss\":\"%s\",\"aud\":\"%s\",\"jti\":\"j\",\"iat\":\"now\",\"exp\":1,"
             "\"release\":\"e30\"}",
             build_did, cos_did);
    t = req_raw("ES256", VOUCH_COSIGN_REQ_TYP, build_kid, claims, build_p256);
    assert_code(verify_str(t, &r, &e), VOUCH_E_COSIGN_REQUEST, e);
    free(t);
    snprintf(claims, sizeof(claims),
             "{\"iss\":\"%s\",\"aud\":\"%s\",\"iat\":1,\"exp\":2,\"release\":\"e30\"}", build_did,
             cos_did);
    t = req_raw("ES256", VOUCH_COSIGN_REQ_TYP, build_kid, claims, build_p256);
    assert_code(verify_str(t, &r, &e), VOUCH_E_COSIGN_REQUEST, e);
    free(t);
    snprintf(claims, sizeof(claims),
             "{\"iss\":\"%s\",\"aud\":\"%s\",\"jti\":\"j\",\"iat\":1,\"exp\":2,\"release\":\"e30=\"}",
             build_did, cos_did);
    t = req_raw("ES256", VOUCH_COSIGN_REQ_TYP, build_kid, claims, build_p256);
    assert_code(verify_str(t, &r, &e), VOUCH_E_COSIGN_REQUEST, e);
    free(t);
    snprintf(claims, sizeof(claims),
             "{\"iss\":\"%s\",\"aud\":\"%s\",\"jti\":\"j\",\"iat\":1,\"exp\":2,\"release\":\"e30\","
             "\"force\":\"yes\"}",
             build_did, cos_did);
    t = req_raw("ES256", VOUCH_COSIGN_REQ_TYP, build_kid, claims, build_p256);
    assert_code(verify_str(t, &r, &e), VOUCH_E_COSIGN_REQUEST, e);
    free(t);
    snprintf(claims, sizeof(claims),
             "{\"iss\":\"%s\",\"aud\":\"%s\",\"jti\":\"j\",\"iat\":1,\"exp\":2,\"release\":\"\"}",
             build_did, cos_did);
    t = req_raw("ES256", VOUCH_COSIGN_REQ_TYP, build_kid, claims, build_p256);
    assert_code(verify_str(t, &r, &e), VOUCH_E_COSIGN_REQUEST, e);
    free(t);
    /* claims that are not an object */
    t = req_raw("ES256", VOUCH_COSIGN_REQ_TYP, build_kid, "[1,2]", build_p256);
    assert_code(verify_str(t, &r, &e), VOUCH_E_COSIGN_REQUEST, e);
    free(t);
    /* an aud that is not a DID */
    snprintf(claims, sizeof(claims),
             "{\"iss\":\"%s\",\"aud\":\"cosigner\",\"jti\":\"j\",\"iat\":1,\"exp\":2,"
             "\"release\":\"e30\"}",
             build_did);
    t = req_raw("ES256", VOUCH_COSIGN_REQ_TYP, build_kid, claims, build_p256);
    assert_code(verify_str(t, &r, &e), VOUCH_E_COSIGN_REQUEST, e);
    free(t);
}

static void test_release_too_large_in_claims(void **state)
{
    vouch_cosign_request r;
    size_t n = vouch_b64url_encoded_len(VOUCH_COSIGN_MAX_RELEASE) + 4;
    char *rel = malloc(n + 1), *c = malloc(n + 512), *t;
    vouch_err e;

    (void)state;
    assert_non_null(rel);
    assert_non_null(c);
    memset(rel, 'A', n);
    rel[n] = '\0';
    snprintf(c, n + 512,
             "{\"iss\":\"%s\",\"aud\":\"%s\",\"jti\":\"j\",\"iat\":1,\"exp\":2,\"release\":\"%s\"}",
             build_did, cos_did, rel);
    t = req_raw("ES256", VOUCH_COSIGN_REQ_TYP, build_kid, c, build_p256);
    /* within the body cap, but the claim is longer than any allowed release */
    assert_code(verify_str(t, &r, &e), VOUCH_E_LIMIT, e);
    free(t);
    free(c);
    free(rel);
}

/* ----------------------------------------------------------- freshness */

static void test_freshness(void **state)
{
    vouch_cosign_request r;
    vouch_err e;

    (void)state;
    memset(&r, 0, sizeof(r));
    snprintf(r.aud, sizeof(r.aud), "%s", cos_did);
    r.iat = NOW;
    r.exp = NOW + 300;
    assert_ok(vouch_cosign_request_check(&r, cos_did, NOW, 60, &e), e);
    assert_code(vouch_cosign_request_check(&r, other_did, NOW, 60, &e), VOUCH_E_COSIGN_REQUEST, e);
    r.exp = NOW + 301;
    assert_code(vouch_cosign_request_check(&r, cos_did, NOW, 60, &e), VOUCH_E_COSIGN_STALE, e);
    r.exp = NOW;
    assert_code(vouch_cosign_request_check(&r, cos_did, NOW, 60, &e), VOUCH_E_COSIGN_STALE, e);
    /* iat ahead: within the skew is fine, beyond is stale */
    r.iat = NOW + 60;
    r.exp = NOW + 120;
    assert_ok(vouch_cosign_request_check(&r, cos_did, NOW, 60, &e), e);
    r.iat = NOW + 61;
    assert_code(vouch_cosign_request_check(&r, cos_did, NOW, 60, &e), VOUCH_E_COSIGN_STALE, e);
    /* expired: now at or after exp */
    r.iat = NOW - 100;
    r.exp = NOW;
    assert_code(vouch_cosign_request_check(&r, cos_did, NOW, 60, &e), VOUCH_E_COSIGN_STALE, e);
    r.exp = NOW + 1;
    assert_ok(vouch_cosign_request_check(&r, cos_did, NOW, 60, &e), e);
    assert_code(vouch_cosign_request_check(&r, cos_did, NOW, 301, &e), VOUCH_E_ARG, e);
}

/* ---------------------------------------------------- release contents */

static void check_release_with(const char *p, size_t n, const char *vendor, int64_t max,
                               vouch_code want)
{
    vouch_cosign_request r;
    vouch_release rel;
    vouch_err e;

    memset(&r, 0, sizeof(r));
    r.release = (uint8_t *)p;
    r.release_len = n;
    assert_code(vouch_cosign_check_release(&r, vendor, max, NOW, &rel, &e), want, e);
}

static void test_check_release(void **state)
{
    char *p;
    size_t n;

    (void)state;
    check_release_with(payload, payload_len, VENDOR, 90 * 86400, VOUCH_OK);
    check_release_with(payload, payload_len, "did:web:other.example", 90 * 86400,
                       VOUCH_E_VC_ISSUER);
    check_release_with(payload, payload_len, VENDOR, 86400, VOUCH_E_COSIGN_LIFETIME);
    check_release_with(payload, payload_len, VENDOR, 86410, VOUCH_OK);
    p = make_payload(VENDOR, 7, NOW - 1000, NOW, &n); /* already expired */
    check_release_with(p, n, VENDOR, 90 * 86400, VOUCH_E_COSIGN_LIFETIME);
    vouch_free(p);
    check_release_with(L("{\"iss\":\"x\"}"), VENDOR, 86400, VOUCH_E_COSIGN_REQUEST);
    check_release_with(L("not json"), VENDOR, 86400, VOUCH_E_COSIGN_REQUEST);
}

/* ---------------------------------------------- the signature and entry */

static void test_sign_and_response(void **state)
{
    char *entry = NULL, *checked = NULL, *rel = NULL, *rel2 = NULL, *pb = NULL, *payload_b64;
    size_t elen = 0, clen = 0, rlen = 0;
    uint8_t *p = NULL;
    size_t plen = 0;
    vouch_jws *j = NULL;
    vouch_err e;

    (void)state;
    payload_b64 = b64(payload, payload_len);
    assert_ok(vouch_cosign_sign(cosigner, cos_kid, (const uint8_t *)payload, payload_len, &entry,
                                &elen, &e),
              e);
    assert_int_equal(elen, strlen(entry));
    assert_ok(vouch_cosign_response_verify(entry, elen, payload_b64, cosigner, cos_kid, &checked,
                                           &clen, &e),
              e);
    /* the wrong pinned key, the wrong kid */
    assert_code(vouch_cosign_response_verify(entry, elen, payload_b64, other, NULL, &pb, NULL, &e),
                VOUCH_E_JWS_BAD_SIGNATURE, e);
    assert_code(vouch_cosign_response_verify(entry, elen, payload_b64, cosigner, other_kid, &pb,
                                             NULL, &e),
                VOUCH_E_JWS_KID, e);
    /* over another payload */
    assert_code(vouch_cosign_response_verify(entry, elen, "e30", cosigner, cos_kid, &pb, NULL, &e),
                VOUCH_E_JWS_BAD_SIGNATURE, e);
    /* garbage, extra members */
    assert_code(vouch_cosign_response_verify(L("<html>"), payload_b64, cosigner, cos_kid, &pb,
                                             NULL, &e),
                VOUCH_E_HTTP, e);
    {
        char extra[2048];
        snprintf(extra, sizeof(extra), "%.*s,\"header\":{\"kid\":\"x\"}}", (int)elen - 1, entry);
        assert_code(vouch_cosign_response_verify(extra, strlen(extra), payload_b64, cosigner,
                                                 cos_kid, &pb, NULL, &e),
                    VOUCH_E_HTTP, e);
    }
    assert_null(pb);

    /* appended to the unsigned release: a general JWS that verifies */
    assert_ok(vouch_release_unsigned((const uint8_t *)payload, payload_len, &rel, &e), e);
    assert_ok(vouch_cosign_rel_payload(rel, strlen(rel), cos_kid, &p, &plen, &pb, &e), e);
    assert_int_equal(plen, payload_len);
    assert_string_equal(pb, payload_b64);
    vouch_free(p);
    vouch_free(pb);
    pb = NULL;
    assert_ok(vouch_cosign_rel_add(rel, strlen(rel), checked, clen, &rel2, &rlen, &e), e);
    assert_ok(vouch_jws_parse(rel2, rlen, &j, &e), e);
    assert_int_equal(j->nsigs, 1);
    assert_ok(vouch_jws_verify_sig(j, 0, cosigner, VOUCH_RELEASE_TYP, &e), e);
    assert_string_equal(j->sigs[0].kid, cos_kid);
    vouch_jws_free(j);
    /* asking again is refused before any request */
    assert_code(vouch_cosign_rel_payload(rel2, rlen, cos_kid, &p, &plen, &pb, &e),
                VOUCH_E_EXISTS, e);
    assert_ok(vouch_cosign_rel_payload(rel2, rlen, other_kid, &p, &plen, &pb, &e), e);
    vouch_free(p);
    vouch_free(pb);

    vouch_free(rel);
    vouch_free(rel2);
    vouch_free(entry);
    vouch_free(checked);
    vouch_free(payload_b64);
}

static void test_rel_files(void **state)
{
    char *out = NULL, *pb = NULL, *entry = NULL, *rel = NULL;
    uint8_t *p = NULL;
    size_t plen = 0, elen = 0;
    vouch_err e;

    (void)state;
    assert_code(vouch_cosign_rel_payload(L("eyJ.e30.sig"), NULL, &p, &plen, &pb, &e),
                VOUCH_E_RELEASE_FORMAT, e);
    assert_code(vouch_cosign_rel_payload(L("{\"payload\":\"e30\",\"signatures\":[],\"x\":1}"),
                                         NULL, &p, &plen, &pb, &e),
                VOUCH_E_RELEASE_FORMAT, e);
    assert_code(vouch_cosign_rel_payload(L("{\"payload\":1,\"signatures\":[]}"), NULL, &p, &plen,
                                         &pb, &e),
                VOUCH_E_RELEASE_FORMAT, e);
    assert_code(vouch_cosign_rel_payload(L("{\"payload\":\"\",\"signatures\":[]}"), NULL, &p,
                                         &plen, &pb, &e),
                VOUCH_E_RELEASE_FORMAT, e);
    assert_code(vouch_cosign_rel_payload(L("{\"payload\":\"e3=\",\"signatures\":[]}"), NULL, &p,
                                         &plen, &pb, &e),
                VOUCH_E_B64URL, e);
    /* a signatures list that is not a valid general JWS */
    assert_code(vouch_cosign_rel_payload(L("{\"payload\":\"e30\",\"signatures\":[1]}"), NULL, &p,
                                         &plen, &pb, &e),
                VOUCH_E_JWS_FORMAT, e);
    assert_null(p);
    assert_null(pb);

    /* the signature cap */
    assert_ok(vouch_cosign_sign(cosigner, cos_kid, (const uint8_t *)payload, payload_len, &entry,
                                &elen, &e),
              e);
    assert_ok(vouch_release_unsigned((const uint8_t *)payload, payload_len, &rel, &e), e);
    for (unsigned i = 0; i < VOUCH_JWS_MAX_SIGS; i++) {
        assert_ok(vouch_cosign_rel_add(rel, strlen(rel), entry, elen, &out, NULL, &e), e);
        vouch_free(rel);
        rel = out;
        out = NULL;
    }
    assert_code(vouch_cosign_rel_add(rel, strlen(rel), entry, elen, &out, NULL, &e),
                VOUCH_E_JWS_TOO_MANY_SIGS, e);
    /* an entry our parser would refuse is never written */
    vouch_free(rel);
    assert_ok(vouch_release_unsigned((const uint8_t *)payload, payload_len, &rel, &e), e);
    assert_code(vouch_cosign_rel_add(rel, strlen(rel), "{\"protected\":\"e30\"}", 19, &out, NULL,
                                     &e),
                VOUCH_E_JWS_FORMAT, e);
    assert_null(out);
    vouch_free(rel);
    vouch_free(entry);
}

/* ------------------------------------------------------------ refusals */

static void test_error_bodies(void **state)
{
    char *body = NULL, msg[64];
    size_t n = 0;
    vouch_code c;
    vouch_err e;

    (void)state;
    assert_ok(vouch_cosign_error_body(VOUCH_E_COSIGN_ROLLBACK, "a \"quoted\" \n line", &body, &n,
                                      &e),
              e);
    assert_non_null(strstr(body, "\\\"quoted\\\""));
    assert_null(strchr(body, '\n'));
    assert_non_null(strstr(body, "\"name\":\"VOUCH_E_COSIGN_ROLLBACK\""));
    assert_ok(vouch_cosign_error_parse(body, n, &c, msg, sizeof(msg), &e), e);
    assert_int_equal(c, VOUCH_E_COSIGN_ROLLBACK);
    assert_string_equal(msg, "a \"quoted\" ? line");
    vouch_free(body);
    /* invalid UTF-8 in a message falls back to the description */
    assert_ok(vouch_cosign_error_body(VOUCH_E_COSIGN_RATE, "bad \xff byte", &body, &n, &e), e);
    assert_null(strstr(body, "\xff"));
    vouch_free(body);
    /* what a hostile server could send: codes we never assigned, success */
    assert_ok(vouch_cosign_error_parse(L("{\"error\":{\"code\":0}}"), &c, msg, sizeof(msg), &e),
              e);
    assert_int_equal(c, VOUCH_E_COSIGN_REFUSED);
    assert_ok(vouch_cosign_error_parse(L("{\"error\":{\"code\":149}}"), &c, msg, sizeof(msg), &e),
              e);
    assert_int_equal(c, VOUCH_E_COSIGN_REFUSED);
    assert_ok(vouch_cosign_error_parse(L("{\"error\":{\"code\":1000}}"), &c, msg, sizeof(msg),
                                       &e),
              e);
    assert_int_equal(c, VOUCH_E_COSIGN_REFUSED);
    assert_code(vouch_cosign_error_parse(L("<html>"), &c, msg, sizeof(msg), &e), VOUCH_E_HTTP, e);
    assert_code(vouch_cosign_error_parse(L("{\"error\":\"x\"}"), &c, msg, sizeof(msg), &e),
                VOUCH_E_HTTP, e);
}

static void test_http_status(void **state)
{
    static const struct {
        vouch_code c;
        unsigned status;
    } table[] = {
        {VOUCH_OK, 200},
        {VOUCH_E_COSIGN_REQUEST, 400},
        {VOUCH_E_JWS_FORMAT, 400},
        {VOUCH_E_JWS_KID, 400},
        {VOUCH_E_JWS_TYP, 400},
        {VOUCH_E_JSON_DUPLICATE, 400},
        {VOUCH_E_JWS_BAD_SIGNATURE, 401},
        {VOUCH_E_JWS_ALG, 401},
        {VOUCH_E_JWS_ALG_MISMATCH, 401},
        {VOUCH_E_JWS_UNKNOWN_KEY, 401},
        {VOUCH_E_COSIGN_STALE, 401},
        {VOUCH_E_COSIGN_UNKNOWN, 403},
        {VOUCH_E_COSIGN_REVOKED, 403},
        {VOUCH_E_COSIGN_LIFETIME, 403},
        {VOUCH_E_VC_ISSUER, 403},
        {VOUCH_E_NOTFOUND, 404},
        {VOUCH_E_COSIGN_REPLAY, 409},
        {VOUCH_E_COSIGN_ROLLBACK, 409},
        {VOUCH_E_LIMIT, 413},
        {VOUCH_E_COSIGN_RATE, 429},
        {VOUCH_E_DB, 500},
        {VOUCH_E_IO, 500},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (vouch_cosign_http_status(table[i].c) != table[i].status)
            fail_msg("%s -> %u, want %u", vouch_code_name(table[i].c),
                     vouch_cosign_http_status(table[i].c), table[i].status);
}

/* ----------------------------------------------------- allocation faults */

static void test_alloc_failures(void **state)
{
    char *tok = NULL;
    size_t n = 0;
    vouch_cosign_request r;
    vouch_err e;
    vouch_code rc;
    long i;

    (void)state;
    assert_ok(vouch_cosign_request_make(build_ed, cos_did, (const uint8_t *)payload, payload_len,
                                        0, NOW, 60, "fixed", &tok, &n, &e),
              e);
    /* every allocation of a verify fails in turn: a clean error, never a
     * crash or a leak (the leak check is valgrind's and ASan's) */
    for (i = 0;; i++) {
        vouch_alloc_fail_after(i);
        rc = vouch_cosign_request_verify(tok, n, &r, &e);
        vouch_alloc_fail_after(-1);
        if (rc == VOUCH_OK) {
            vouch_cosign_request_free(&r);
            break;
        }
        assert_true(i < 10000);
        assert_null(r.release);
    }
    vouch_free(tok);
    for (i = 0;; i++) {
        tok = NULL;
        vouch_alloc_fail_after(i);
        rc = vouch_cosign_request_make(build_ed, cos_did, (const uint8_t *)payload, payload_len, 0,
                                       NOW, 60, "fixed", &tok, &n, &e);
        vouch_alloc_fail_after(-1);
        vouch_free(tok);
        if (rc == VOUCH_OK)
            break;
        assert_true(i < 10000);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_p256),
        cmocka_unit_test(test_roundtrip_ed25519),
        cmocka_unit_test(test_make_refuses),
        cmocka_unit_test(test_max_release_fits_body),
        cmocka_unit_test(test_size_and_shape),
        cmocka_unit_test(test_kid_rules),
        cmocka_unit_test(test_signature_rules),
        cmocka_unit_test(test_claims_rules),
        cmocka_unit_test(test_release_too_large_in_claims),
        cmocka_unit_test(test_freshness),
        cmocka_unit_test(test_check_release),
        cmocka_unit_test(test_sign_and_response),
        cmocka_unit_test(test_rel_files),
        cmocka_unit_test(test_error_bodies),
        cmocka_unit_test(test_http_status),
        cmocka_unit_test(test_alloc_failures),
    };

    vouch_json_init();
    return cmocka_run_group_tests(tests, setup, teardown);
}
