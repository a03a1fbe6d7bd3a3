/* test_jws.c - mirrors lib/jws.c: every class A case of THREATS.md with its
 * exact code, the JSON serializations, signing, and allocation failures. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

static vouch_key *p256, *p256b, *ed, *edb;

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

static char *b64s(const char *s) { return b64(s, strlen(s)); }

static char *cat3(const char *a, const char *b, const char *c)
{
    size_t n = strlen(a) + strlen(b) + strlen(c) + 3;
    char *s = malloc(n);

    assert_non_null(s);
    snprintf(s, n, "%s.%s.%s", a, b, c);
    return s;
}

/* Signs "h.p" with k (raw 64-byte signature) and returns "h.p.sig". */
static char *sign_segments(const char *h, const char *p, const vouch_key *k)
{
    size_t n = strlen(h) + strlen(p) + 2;
    char *in = malloc(n), *sig, *tok;
    uint8_t raw[VOUCH_SIG_LEN];
    vouch_err e;

    assert_non_null(in);
    snprintf(in, n, "%s.%s", h, p);
    assert_ok(vouch_key_sign(k, (const uint8_t *)in, strlen(in), raw, &e), e);
    sig = b64(raw, sizeof(raw));
    tok = cat3(h, p, sig);
    free(in);
    vouch_free(sig);
    return tok;
}

/* A compact token with a header given as JSON text, signed by k (or with an
 * empty signature when k is NULL). */
static char *tok_json(const char *hdr, const char *payload, const vouch_key *k)
{
    char *h = b64s(hdr), *p = b64s(payload), *t;

    t = k ? sign_segments(h, p, k) : cat3(h, p, "");
    vouch_free(h);
    vouch_free(p);
    return t;
}

/* A compact token "h.p.<sig>" with the given raw signature bytes. */
static char *tok_sig(const char *hdr, const char *payload, const uint8_t *sig, size_t n)
{
    char *h = b64s(hdr), *p = b64s(payload), *s = b64(sig, n), *t = cat3(h, p, s);

    vouch_free(h);
    vouch_free(p);
    vouch_free(s);
    return t;
}

static vouch_code verify_tok(const char *tok, const vouch_key *k, const char *typ, vouch_err *e)
{
    return vouch_jws_verify_compact(tok, strlen(tok), k, typ, NULL, NULL, e);
}

static vouch_code parse_str(const char *s, vouch_jws **j, vouch_err *e)
{
    return vouch_jws_parse(s, strlen(s), j, e);
}

/* The decoded signature of a compact token. */
static size_t tok_raw_sig(const char *tok, uint8_t *out, size_t cap)
{
    const char *s = strrchr(tok, '.') + 1;
    size_t n = 0;
    vouch_err e;

    assert_ok(vouch_b64url_decode_buf(s, strlen(s), out, cap, &n, &e), e);
    return n;
}

/* Replaces the segment idx (0..2) of a compact token by repl. */
static char *tok_replace(const char *tok, int idx, const char *repl)
{
    char *copy = strdup(tok), *seg[3], *t;

    assert_non_null(copy);
    seg[0] = copy;
    seg[1] = strchr(seg[0], '.');
    *seg[1]++ = '\0';
    seg[2] = strchr(seg[1], '.');
    *seg[2]++ = '\0';
    seg[idx] = (char *)repl;
    t = cat3(seg[0], seg[1], seg[2]);
    free(copy);
    return t;
}

static const char b64alpha[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* seg with a non-zero unused trailing bit (seg length must not be 0 mod 4). */
static char *noncanon_bits(const char *seg)
{
    char *s = strdup(seg);
    size_t n = strlen(s);
    int idx;

    assert_non_null(s);
    assert_int_not_equal(n % 4, 0);
    idx = (int)(strchr(b64alpha, s[n - 1]) - b64alpha);
    assert_int_equal(idx & 1, 0);
    s[n - 1] = b64alpha[idx | 1];
    return s;
}

/* -------------------------------------------------------------- fixtures */

static int setup(void **state)
{
    vouch_err e;
    (void)state;
    if (vouch_key_generate(VOUCH_KEY_P256, &p256, &e) != VOUCH_OK ||
        vouch_key_generate(VOUCH_KEY_P256, &p256b, &e) != VOUCH_OK ||
        vouch_key_generate(VOUCH_KEY_ED25519, &ed, &e) != VOUCH_OK ||
        vouch_key_generate(VOUCH_KEY_ED25519, &edb, &e) != VOUCH_OK) {
        fprintf(stderr, "key generation failed: %s\n", e.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    vouch_key_free(p256);
    vouch_key_free(p256b);
    vouch_key_free(ed);
    vouch_key_free(edb);
    return 0;
}

/* ---------------------------------------------------------- round trips */

static void test_compact_roundtrip(void **state)
{
    vouch_jws_sign_opts o = {"release+jwt", "k1", NULL};
    const vouch_key *keys[2] = {p256, ed};
    char *tok = NULL;
    uint8_t *pl = NULL;
    size_t pn = 0;
    vouch_err e;
    (void)state;

    for (int i = 0; i < 2; i++) {
        const char *want = i == 0 ? "{\"alg\":\"ES256\",\"typ\":\"release+jwt\",\"kid\":\"k1\"}"
                                  : "{\"alg\":\"EdDSA\",\"typ\":\"release+jwt\",\"kid\":\"k1\"}";
        char *wh = b64s(want);
        assert_ok(vouch_jws_sign_compact(keys[i], &o, (const uint8_t *)"hello", 5, &tok, &e), e);
        /* the header is exactly the compact JSON, in this order */
        assert_int_equal(strncmp(tok, wh, strlen(wh)), 0);
        assert_int_equal(tok[strlen(wh)], '.');
        assert_ok(vouch_jws_verify_compact(tok, strlen(tok), keys[i], "release+jwt", &pl, &pn, &e),
                  e);
        assert_int_equal(pn, 5);
        assert_string_equal((char *)pl, "hello");
        vouch_free(pl);
        /* typ compares case-insensitively, with an optional application/ */
        assert_ok(verify_tok(tok, keys[i], "application/RELEASE+JWT", &e), e);
        assert_ok(verify_tok(tok, keys[i], NULL, &e), e);
        vouch_free(tok);
        vouch_free(wh);
    }
    /* no options at all: {"alg":...} only; and an empty payload */
    assert_ok(vouch_jws_sign_compact(ed, NULL, NULL, 0, &tok, &e), e);
    assert_non_null(strstr(tok, ".."));
    assert_ok(vouch_jws_verify_compact(tok, strlen(tok), ed, NULL, &pl, &pn, &e), e);
    assert_int_equal(pn, 0);
    assert_string_equal((char *)pl, "");
    vouch_free(pl);
    vouch_free(tok);
}

static void test_parse_fields(void **state)
{
    vouch_jws_sign_opts o = {"JWT", NULL, NULL};
    vouch_jws *j = NULL;
    char *tok = NULL;
    vouch_err e;
    (void)state;

    assert_ok(vouch_jws_sign_compact(p256, &o, (const uint8_t *)"{\"a\":1}", 7, &tok, &e), e);
    assert_ok(parse_str(tok, &j, &e), e);
    assert_int_equal(j->compact, 1);
    assert_int_equal(j->nsigs, 1);
    assert_string_equal(j->sigs[0].alg, "ES256");
    assert_string_equal(j->sigs[0].typ, "JWT");
    assert_null(j->sigs[0].kid);
    assert_int_equal(j->sigs[0].sig_len, 64);
    assert_true(json_is_object(j->sigs[0].header));
    assert_string_equal((char *)j->payload, "{\"a\":1}");
    assert_int_equal(strncmp(tok, j->sigs[0].protected_b64, strlen(j->sigs[0].protected_b64)), 0);
    assert_non_null(strstr(tok, j->payload_b64));
    assert_code(vouch_jws_verify_sig(j, 1, p256, NULL, &e), VOUCH_E_ARG, e);
    vouch_jws_free(j);
    vouch_jws_free(NULL);
    vouch_free(tok);
}

/* --------------------------------------------------------------- alg */

static void test_alg_none(void **state)
{
    const char *hdrs[] = {"{\"alg\":\"none\"}", "{\"alg\":\"None\"}", "{\"alg\":\"NONE\"}",
                          "{\"alg\":\"nOnE\"}", "{\"alg\":\"\"}",     "{\"typ\":\"JWT\"}",
                          "{\"alg\":null}",     "{\"alg\":1}",        "{\"alg\":[\"ES256\"]}",
                          "{\"alg\":\"es256\"}", "{\"alg\":\"ES256 \"}", "{\"alg\":\"EDDSA\"}"};
    vouch_jws *j = NULL;
    vouch_err e;
    (void)state;

    for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
        /* unsigned (the classic), and signed with a real key: both refused */
        char *t = tok_json(hdrs[i], "x", NULL);
        char *ts = tok_json(hdrs[i], "x", p256);
        assert_code(verify_tok(t, p256, NULL, &e), VOUCH_E_JWS_ALG, e);
        assert_code(verify_tok(ts, p256, NULL, &e), VOUCH_E_JWS_ALG, e);
        assert_code(parse_str(t, &j, &e), VOUCH_E_JWS_ALG, e);
        assert_null(j);
        free(t);
        free(ts);
    }
}

static void test_error_messages_are_clean(void **state)
{
    char *t = tok_json("{\"alg\":\"\\u001b[2J\\u001b]0;owned\\u0007\\u00e9\\\"x\"}", "x", p256);
    char *u;
    vouch_err e;
    (void)state;

    /* a hostile alg reaches the message only as printable ASCII */
    assert_code(verify_tok(t, p256, NULL, &e), VOUCH_E_JWS_ALG, e);
    for (const char *c = e.msg; *c; c++)
        assert_true((unsigned char)*c >= 0x20 && (unsigned char)*c < 0x7f);
    assert_non_null(strstr(e.msg, "?[2J?]0;owned???"));
    free(t);
    u = tok_json("{\"alg\":\"ES256\",\"typ\":\"\\n\\r\\t\"}", "x", p256);
    assert_code(verify_tok(u, p256, "JWT", &e), VOUCH_E_JWS_TYP, e);
    for (const char *c = e.msg; *c; c++)
        assert_true((unsigned char)*c >= 0x20 && (unsigned char)*c < 0x7f);
    free(u);
}

static void test_alg_hmac_with_public_key(void **state)
{
    uint8_t pub[VOUCH_PUB_MAX], mac[EVP_MAX_MD_SIZE];
    size_t pubn = 0;
    unsigned macn = 0;
    char *h = b64s("{\"alg\":\"HS256\"}"), *p = b64s("payload"), *in, *m, *t;
    char *pem = NULL;
    vouch_err e;
    (void)state;

    /* the HMAC key is the verifier's public key: raw point, then PEM */
    assert_ok(vouch_key_public_raw(p256, pub, sizeof(pub), &pubn, &e), e);
    in = malloc(strlen(h) + strlen(p) + 2);
    sprintf(in, "%s.%s", h, p);
    assert_non_null(HMAC(EVP_sha256(), pub, (int)pubn, (uint8_t *)in, strlen(in), mac, &macn));
    m = b64(mac, macn);
    t = cat3(h, p, m);
    assert_code(verify_tok(t, p256, NULL, &e), VOUCH_E_JWS_ALG, e);
    free(t);
    vouch_free(m);
    assert_ok(vouch_key_public_pem(p256, &pem, &e), e);
    assert_non_null(HMAC(EVP_sha256(), pem, (int)strlen(pem), (uint8_t *)in, strlen(in), mac, &macn));
    m = b64(mac, macn);
    t = cat3(h, p, m);
    assert_code(verify_tok(t, p256, NULL, &e), VOUCH_E_JWS_ALG, e);
    assert_code(verify_tok(t, ed, NULL, &e), VOUCH_E_JWS_ALG, e);
    free(t);
    vouch_free(m);
    vouch_free(pem);
    free(in);
    vouch_free(h);
    vouch_free(p);
}

static void test_alg_other_families(void **state)
{
    const char *algs[] = {"ES384", "ES512", "ES256K", "RS256", "PS256", "HS512", "Ed25519"};
    vouch_err e;
    (void)state;

    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        char hdr[64], *t;
        snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\"}", algs[i]);
        /* a real P-256 signature under a foreign alg name */
        t = tok_json(hdr, "x", p256);
        assert_code(verify_tok(t, p256, NULL, &e), VOUCH_E_JWS_ALG, e);
        free(t);
    }
}

static void test_alg_mismatch(void **state)
{
    char *t;
    vouch_err e;
    (void)state;

    /* EdDSA header, presented to a P-256 key, and the other way round */
    t = tok_json("{\"alg\":\"EdDSA\"}", "x", ed);
    assert_ok(verify_tok(t, ed, NULL, &e), e);
    assert_code(verify_tok(t, p256, NULL, &e), VOUCH_E_JWS_ALG_MISMATCH, e);
    free(t);
    t = tok_json("{\"alg\":\"ES256\"}", "x", p256);
    assert_code(verify_tok(t, ed, NULL, &e), VOUCH_E_JWS_ALG_MISMATCH, e);
    free(t);
    /* an Ed25519 signature labelled ES256 for a P-256 key is just bad */
    t = tok_json("{\"alg\":\"ES256\"}", "x", ed);
    assert_code(verify_tok(t, p256, NULL, &e), VOUCH_E_JWS_BAD_SIGNATURE, e);
    free(t);
}

/* ------------------------------------------------------ header members */

static void test_embedded_keys(void **state)
{
    const char *members[] = {"jwk", "jku", "x5c", "x5u", "x5t", "x5t#S256"};
    json_t *jwk = NULL;
    vouch_err e;
    (void)state;

    assert_ok(vouch_key_to_jwk(p256, &jwk, &e), e);
    for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
        char hdr[512], *t, *jws;
        char *jwks = json_dumps(jwk, JSON_COMPACT);
        snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"%s\":%s}", members[i],
                 i == 0 ? jwks : "\"https://attacker.example/k\"");
        free(jwks);
        t = tok_json(hdr, "x", p256);
        assert_code(verify_tok(t, p256, NULL, &e), VOUCH_E_JWS_EMBEDDED_KEY, e);
        free(t);
        /* in the unprotected header of the JSON serialization too */
        t = tok_json("{\"alg\":\"ES256\"}", "eA", p256);
        *strchr(t, '.') = '\0';
        *strrchr(t + strlen(t) + 1, '.') = '\0';
        {
            const char *pl = t + strlen(t) + 1, *sg = pl + strlen(pl) + 1;
            size_t n = strlen(t) + strlen(pl) + strlen(sg) + 200;
            jws = malloc(n);
            snprintf(jws, n,
                     "{\"payload\":\"%s\",\"protected\":\"%s\",\"header\":{\"%s\":\"x\"},"
                     "\"signature\":\"%s\"}",
                     pl, t, members[i], sg);
        }
        assert_code(vouch_jws_parse(jws, strlen(jws), &(vouch_jws *){NULL}, &e),
                    VOUCH_E_JWS_EMBEDDED_KEY, e);
        free(jws);
        free(t);
    }
    json_decref(jwk);
}

static void test_crit_b64(void **state)
{
    const char *hdrs[] = {
        "{\"alg\":\"ES256\",\"crit\":[\"exp\"],\"exp\":1}",
        "{\"alg\":\"ES256\",\"crit\":[\"b64\"],\"b64\":false}",
        "{\"alg\":\"ES256\",\"b64\":false}",
        "{\"alg\":\"ES256\",\"b64\":true}",
        "{\"alg\":\"ES256\",\"crit\":[]}",
        "{\"alg\":\"ES256\",\"crit\":\"x\"}",
    };
    vouch_err e;
    (void)state;

    for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
        char *t = tok_json(hdrs[i], "x", p256);
        assert_code(verify_tok(t, p256, NULL, &e), VOUCH_E_JWS_CRIT, e);
        free(t);
    }
}

static void test_kid_rules(void **state)
{
    char longkid[256], hdr[512], *t;
    vouch_jws *j = NULL;
    vouch_jws_result r[1];
    vouch_jws_keyref keys[2] = {{"p256", NULL}, {NULL, NULL}};
    const char *bad[] = {"\"a\\\"b\"", "\"a\\\\b\"", "\"\"",     "\"a\\nb\"",   "\"a\\u0001\"",
                         "\"\\u007f\"", "\"caf\\u00e9\"", "1",    "null",        "{\"k\":1}",
                         "[\"p256\"]", "true"};
    vouch_err e;
    (void)state;

    keys[0].key = p256;
    keys[1].key = p256;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"kid\":%s}", bad[i]);
        t = tok_json(hdr, "x", p256);
        assert_code(verify_tok(t, p256, NULL, &e), VOUCH_E_JWS_KID, e);
        free(t);
    }
    /* 128 bytes pass, 129 and 200 do not */
    for (size_t n = 128; n <= 200; n += n == 128 ? 1 : 71) {
        memset(longkid, 'k', n);
        longkid[n] = '\0';
        snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"kid\":\"%s\"}", longkid);
        t = tok_json(hdr, "x", p256);
        assert_code(verify_tok(t, p256, NULL, &e), n == 128 ? VOUCH_OK : VOUCH_E_JWS_KID, e);
        free(t);
    }
    /* a path-like kid is a fine string, but names nothing: it only ever
     * compares with the ids we know */
    t = tok_json("{\"alg\":\"ES256\",\"kid\":\"../../../etc/passwd\"}", "x", p256);
    assert_ok(parse_str(t, &j, &e), e);
    assert_string_equal(j->sigs[0].kid, "../../../etc/passwd");
    /* only the named key: the wildcard keys[1] would match by key */
    assert_code(vouch_jws_verify_all(j, keys, 1, NULL, r, &e), VOUCH_E_JWS_NO_VALID, e);
    assert_int_equal(r[0].code, VOUCH_E_JWS_UNKNOWN_KEY);
    assert_int_equal(r[0].key_index, -1);
    assert_string_equal(r[0].kid, "../../../etc/passwd");
    vouch_jws_free(j);
    free(t);
    t = tok_json("{\"alg\":\"ES256\",\"kid\":\"file:///etc/shadow\"}", "x", p256);
    assert_ok(parse_str(t, &j, &e), e);
    assert_code(vouch_jws_verify_all(j, keys, 1, NULL, r, &e), VOUCH_E_JWS_NO_VALID, e);
    assert_int_equal(r[0].code, VOUCH_E_JWS_UNKNOWN_KEY);
    vouch_jws_free(j);
    free(t);
}

static void test_duplicate_members(void **state)
{
    const char *hdrs[] = {"{\"alg\":\"ES256\",\"alg\":\"ES256\"}",
                          "{\"alg\":\"ES256\",\"alg\":\"none\"}",
                          "{\"alg\":\"ES256\",\"kid\":\"a\",\"kid\":\"b\"}",
                          "{\"alg\":\"ES256\",\"x\":{\"y\":1,\"y\":2}}",
                          "{\"alg\":\"ES256\",\"a\\u006cg\":\"none\"}"};
    vouch_err e;
    (void)state;

    for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
        char *t = tok_json(hdrs[i], "x", p256);
        assert_code(verify_tok(t, p256, NULL, &e), VOUCH_E_JSON_DUPLICATE, e);
        free(t);
    }
}

static void test_header_not_object(void **state)
{
    struct {
        const char *hdr;
        vouch_code want;
    } cases[] = {
        {"[]", VOUCH_E_JWS_HEADER},
        {"\"ES256\"", VOUCH_E_JWS_HEADER},
        {"1", VOUCH_E_JWS_HEADER},
        {"{\"alg\":\"ES256\"", VOUCH_E_JSON_SYNTAX},
        {"{\"alg\":\"ES256\"}x", VOUCH_E_JSON_TRAILING},
        {"{\"alg\":\"ES256\",\"typ\":1}", VOUCH_E_JWS_HEADER},
        {"{\"alg\":\"ES256\",\"x\":\"\\u0000\"}", VOUCH_E_JSON_UTF8},
        {"\xef\xbb\xbf{\"alg\":\"ES256\"}", VOUCH_E_JSON_SYNTAX},
    };
    vouch_err e;
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *t = tok_json(cases[i].hdr, "x", p256);
        assert_code(verify_tok(t, p256, NULL, &e), cases[i].want, e);
        free(t);
    }
}

/* ------------------------------------------------------------ structure */

static void test_segments(void **state)
{
    char *t = tok_json("{\"alg\":\"ES256\"}", "x", p256), *bad;
    size_t n = strlen(t) + 8;
    vouch_jws *j = NULL;
    vouch_err e;
    (void)state;

    bad = malloc(n);
    /* 2 and 4 segments, a trailing and a leading dot */
    snprintf(bad, n, "%.*s", (int)(strrchr(t, '.') - t), t);
    assert_code(verify_tok(bad, p256, NULL, &e), VOUCH_E_JWS_FORMAT, e);
    snprintf(bad, n, "%s.AA", t);
    assert_code(verify_tok(bad, p256, NULL, &e), VOUCH_E_JWS_FORMAT, e);
    snprintf(bad, n, "%s.", t);
    assert_code(verify_tok(bad, p256, NULL, &e), VOUCH_E_JWS_FORMAT, e);
    snprintf(bad, n, ".%s", t);
    assert_code(verify_tok(bad, p256, NULL, &e), VOUCH_E_JWS_FORMAT, e);
    assert_code(verify_tok("", p256, NULL, &e), VOUCH_E_JWS_FORMAT, e);
    assert_code(verify_tok("abc", p256, NULL, &e), VOUCH_E_JWS_FORMAT, e);
    assert_code(verify_tok("..", p256, NULL, &e), VOUCH_E_JWS_HEADER, e);
    assert_code(verify_tok("...", p256, NULL, &e), VOUCH_E_JWS_FORMAT, e);
    assert_code(parse_str("", &j, &e), VOUCH_E_JWS_FORMAT, e);
    /* empty segments: header, signature; an empty payload is legal (RFC
     * 7515) but is signed like any other */
    free(bad);
    bad = tok_replace(t, 0, "");
    assert_code(verify_tok(bad, p256, NULL, &e), VOUCH_E_JWS_HEADER, e);
    free(bad);
    bad = tok_replace(t, 2, "");
    assert_code(verify_tok(bad, p256, NULL, &e), VOUCH_E_JWS_SIG_SIZE, e);
    free(bad);
    bad = tok_replace(t, 1, "");
    assert_code(verify_tok(bad, p256, NULL, &e), VOUCH_E_JWS_BAD_SIGNATURE, e);
    free(bad);
    /* a NUL inside the token is not a terminator */
    bad = strdup(t);
    bad[3] = '\0';
    assert_code(vouch_jws_verify_compact(bad, strlen(t), p256, NULL, NULL, NULL, &e),
                VOUCH_E_B64URL, e);
    free(bad);
    assert_code(vouch_jws_parse(NULL, 3, &j, &e), VOUCH_E_ARG, e);
    assert_code(vouch_jws_parse("a.b.c", 5, NULL, &e), VOUCH_E_ARG, e);
    assert_code(vouch_jws_verify_compact(t, strlen(t), NULL, NULL, NULL, NULL, &e), VOUCH_E_ARG, e);
    free(t);
}

static void test_noncanonical_base64url(void **state)
{
    char hdr[64], *t = NULL, *h, *seg[3], *copy, *bad, *mod;
    vouch_err e;
    (void)state;

    /* a header and payload whose encodings have unused trailing bits */
    for (int pad = 0; pad < 3; pad++) {
        snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"p\":\"%.*s\"}", pad, "xx");
        h = b64s(hdr);
        if (strlen(h) % 4) {
            vouch_free(h);
            break;
        }
        vouch_free(h);
    }
    t = tok_json(hdr, "ab", p256);
    assert_ok(verify_tok(t, p256, NULL, &e), e);
    copy = strdup(t);
    seg[0] = copy;
    seg[1] = strchr(seg[0], '.');
    *seg[1]++ = '\0';
    seg[2] = strchr(seg[1], '.');
    *seg[2]++ = '\0';
    for (int i = 0; i < 3; i++) {
        /* padding, whitespace, the base64 (not url) alphabet, junk */
        const char *pre[] = {"", "", " ", "", "", "+", "/", "", ""};
        const char *post[] = {"=", "==", "", "\n", "\t", "", "", "%", "*"};
        for (size_t m = 0; m < sizeof(pre) / sizeof(pre[0]); m++) {
            size_t n = strlen(seg[i]) + 8;
            mod = malloc(n);
            snprintf(mod, n, "%s%s%s", pre[m], seg[i], post[m]);
            bad = tok_replace(t, i, mod);
            assert_code(verify_tok(bad, p256, NULL, &e), VOUCH_E_B64URL, e);
            free(bad);
            free(mod);
        }
        /* '+' and '/' in place of '-' and '_' inside the segment */
        mod = strdup(seg[i]);
        mod[1] = mod[1] == '+' ? '/' : '+';
        bad = tok_replace(t, i, mod);
        assert_code(verify_tok(bad, p256, NULL, &e), VOUCH_E_B64URL, e);
        free(bad);
        free(mod);
        /* non-zero trailing bits */
        mod = noncanon_bits(seg[i]);
        bad = tok_replace(t, i, mod);
        assert_code(verify_tok(bad, p256, NULL, &e), VOUCH_E_B64URL, e);
        free(bad);
        free(mod);
        /* a length of 1 mod 4 */
        {
            size_t n = strlen(seg[i]) + 4;
            mod = malloc(n);
            snprintf(mod, n, "%s%s", seg[i], strlen(seg[i]) % 4 == 0 ? "A" : strlen(seg[i]) % 4 == 2 ? "AAA" : "AA");
            bad = tok_replace(t, i, mod);
            assert_code(verify_tok(bad, p256, NULL, &e), VOUCH_E_B64URL, e);
            free(bad);
            free(mod);
        }
    }
    free(copy);
    free(t);
}

/* ------------------------------------------------------------ signatures */

static const uint8_t p256_n[32] = {0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
                                   0xff, 0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17,
                                   0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51};

/* Ed25519 group order L, little endian (as S is encoded). */
static const uint8_t ed_l[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
                                 0xa2, 0xde, 0xf9, 0xde, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10};

static void test_es256_sig_shapes(void **state)
{
    const char *hdr = "{\"alg\":\"ES256\"}";
    char *t = tok_json(hdr, "payload", p256), *bad;
    uint8_t sig[80], mod[80], der[80], *dp = der;
    size_t n = tok_raw_sig(t, sig, sizeof(sig));
    ECDSA_SIG *es;
    BIGNUM *r, *s;
    int dn;
    vouch_err e;
    (void)state;

    assert_int_equal(n, 64);
    assert_ok(verify_tok(t, p256, NULL, &e), e);
    /* 63 and 65 bytes, empty */
    bad = tok_sig(hdr, "payload", sig, 63);
    assert_code(verify_tok(bad, p256, NULL, &e), VOUCH_E_JWS_SIG_SIZE, e);
    free(bad);
    memcpy(mod, sig, 64);
    mod[64] = 0;
    bad = tok_sig(hdr, "payload", mod, 65);
    assert_code(verify_tok(bad, p256, NULL, &e), VOUCH_E_JWS_SIG_SIZE, e);
    free(bad);
    /* the same r and s, DER-encoded */
    es = ECDSA_SIG_new();
    r = BN_bin2bn(sig, 32, NULL);
    s = BN_bin2bn(sig + 32, 32, NULL);
    assert_int_equal(ECDSA_SIG_set0(es, r, s), 1);
    dn = i2d_ECDSA_SIG(es, &dp);
    assert_true(dn > 0 && dn != 64);
    ECDSA_SIG_free(es);
    bad = tok_sig(hdr, "payload", der, (size_t)dn);
    assert_code(verify_tok(bad, p256, NULL, &e), VOUCH_E_JWS_SIG_SIZE, e);
    free(bad);
    /* r = 0, s = 0, r = n, s = n, s = 2^256 - 1 */
    memcpy(mod, sig, 64);
    memset(mod, 0, 32);
    bad = tok_sig(hdr, "payload", mod, 64);
    assert_code(verify_tok(bad, p256, NULL, &e), VOUCH_E_JWS_SIG_RANGE, e);
    free(bad);
    memcpy(mod, sig, 64);
    memset(mod + 32, 0, 32);
    bad = tok_sig(hdr, "payload", mod, 64);
    assert_code(verify_tok(bad, p256, NULL, &e), VOUCH_E_JWS_SIG_RANGE, e);
    free(bad);
    memcpy(mod, sig, 64);
    memcpy(mod, p256_n, 32);
    bad = tok_sig(hdr, "payload", mod, 64);
    assert_code(verify_tok(bad, p256, NULL, &e), VOUCH_E_JWS_SIG_RANGE, e);
    free(bad);
    memcpy(mod, sig, 64);
    memcpy(mod + 32, p256_n, 32);
    bad = tok_sig(hdr, "payload", mod, 64);
    assert_code(verify_tok(bad, p256, NULL, &e), VOUCH_E_JWS_SIG_RANGE, e);
    free(bad);
    memcpy(mod, sig, 64);
    memset(mod + 32, 0xff, 32);
    bad = tok_sig(hdr, "payload", mod, 64);
    assert_code(verify_tok(bad, p256, NULL, &e), VOUCH_E_JWS_SIG_RANGE, e);
    free(bad);
    /* one flipped bit */
    memcpy(mod, sig, 64);
    mod[40] ^= 1;
    bad = tok_sig(hdr, "payload", mod, 64);
    assert_code(verify_tok(bad, p256, NULL, &e), VOUCH_E_JWS_BAD_SIGNATURE, e);
    free(bad);
    /* a valid signature by another P-256 key */
    bad = tok_json(hdr, "payload", p256b);
    assert_code(verify_tok(bad, p256, NULL, &e), VOUCH_E_JWS_BAD_SIGNATURE, e);
    free(bad);
    free(t);
}

static void test_ed25519_noncanonical(void **state)
{
    const char *hdr = "{\"alg\":\"EdDSA\"}";
    char *t = tok_json(hdr, "payload", ed), *bad;
    uint8_t sig[64], mod[64];
    unsigned carry = 0;
    vouch_err e;
    (void)state;

    assert_int_equal(tok_raw_sig(t, sig, sizeof(sig)), 64);
    assert_ok(verify_tok(t, ed, NULL, &e), e);
    /* S + L: the same scalar mod L, a non-canonical encoding (RFC 8032
     * 5.1.7 requires S < L); S < L < 2^253 so the sum fits */
    memcpy(mod, sig, 64);
    for (int i = 0; i < 32; i++) {
        unsigned v = (unsigned)mod[32 + i] + ed_l[i] + carry;
        mod[32 + i] = (uint8_t)v;
        carry = v >> 8;
    }
    assert_int_equal(carry, 0);
    bad = tok_sig(hdr, "payload", mod, 64);
    assert_code(verify_tok(bad, ed, NULL, &e), VOUCH_E_JWS_BAD_SIGNATURE, e);
    free(bad);
    /* S = L exactly, and S with the top bits set */
    memcpy(mod, sig, 64);
    memcpy(mod + 32, ed_l, 32);
    bad = tok_sig(hdr, "payload", mod, 64);
    assert_code(verify_tok(bad, ed, NULL, &e), VOUCH_E_JWS_BAD_SIGNATURE, e);
    free(bad);
    memcpy(mod, sig, 64);
    mod[63] |= 0xe0;
    bad = tok_sig(hdr, "payload", mod, 64);
    assert_code(verify_tok(bad, ed, NULL, &e), VOUCH_E_JWS_BAD_SIGNATURE, e);
    free(bad);
    /* a non-canonical R (y >= p) */
    memcpy(mod, sig, 64);
    memset(mod, 0xff, 32);
    mod[31] = 0x7f;
    bad = tok_sig(hdr, "payload", mod, 64);
    assert_code(verify_tok(bad, ed, NULL, &e), VOUCH_E_JWS_BAD_SIGNATURE, e);
    free(bad);
    /* 63 / 65 bytes */
    bad = tok_sig(hdr, "payload", sig, 63);
    assert_code(verify_tok(bad, ed, NULL, &e), VOUCH_E_JWS_SIG_SIZE, e);
    free(bad);
    /* all zero: R is a small-order point, S = 0 */
    memset(mod, 0, 64);
    bad = tok_sig(hdr, "payload", mod, 64);
    assert_code(verify_tok(bad, ed, NULL, &e), VOUCH_E_JWS_BAD_SIGNATURE, e);
    free(bad);
    free(t);
}

/* ------------------------------------------------------------------ typ */

static void test_typ_confusion(void **state)
{
    vouch_jws_sign_opts login = {"login+jwt", NULL, NULL};
    char *t = NULL, *nt;
    vouch_err e;
    (void)state;

    assert_ok(vouch_jws_sign_compact(p256, &login, (const uint8_t *)"{}", 2, &t, &e), e);
    assert_ok(verify_tok(t, p256, "login+jwt", &e), e);
    assert_code(verify_tok(t, p256, "release+jwt", &e), VOUCH_E_JWS_TYP, e);
    assert_code(verify_tok(t, p256, "login", &e), VOUCH_E_JWS_TYP, e);
    assert_code(verify_tok(t, p256, "application/login+jwtx", &e), VOUCH_E_JWS_TYP, e);
    /* typ is checked before the key: a wrong key still reports the typ */
    assert_code(verify_tok(t, ed, "release+jwt", &e), VOUCH_E_JWS_TYP, e);
    vouch_free(t);
    /* no typ where one is expected */
    nt = tok_json("{\"alg\":\"ES256\"}", "{}", p256);
    assert_code(verify_tok(nt, p256, "release+jwt", &e), VOUCH_E_JWS_TYP, e);
    assert_ok(verify_tok(nt, p256, NULL, &e), e);
    free(nt);
}

/* --------------------------------------------------------------- limits */

static void test_oversized(void **state)
{
    size_t n = VOUCH_JWS_MAX_BYTES + 1;
    char *big = malloc(n + 1), hdr[VOUCH_JWS_MAX_HEADER + 64], *t;
    vouch_jws *j = NULL;
    vouch_err e;
    (void)state;

    memset(big, 'A', n);
    big[n] = '\0';
    big[10] = '.';
    big[20] = '.';
    assert_code(verify_tok(big, p256, NULL, &e), VOUCH_E_JWS_TOO_LARGE, e);
    big[0] = '{';
    assert_code(parse_str(big, &j, &e), VOUCH_E_JWS_TOO_LARGE, e);
    /* a header over the cap is refused before it is decoded: even one made
     * of bytes outside the alphabet */
    memset(big, '!', 6000);
    big[6000] = '.';
    big[6001] = 'A';
    big[6002] = '.';
    big[6003] = '\0';
    assert_code(verify_tok(big, p256, NULL, &e), VOUCH_E_JWS_TOO_LARGE, e);
    free(big);
    /* exactly at the cap passes; one byte more does not */
    for (size_t len = VOUCH_JWS_MAX_HEADER; len <= VOUCH_JWS_MAX_HEADER + 1; len++) {
        size_t fill = len - strlen("{\"alg\":\"ES256\",\"p\":\"\"}");
        snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"p\":\"%*s\"}", (int)fill, "");
        assert_int_equal(strlen(hdr), len);
        t = tok_json(hdr, "x", p256);
        assert_code(verify_tok(t, p256, NULL, &e),
                    len == VOUCH_JWS_MAX_HEADER ? VOUCH_OK : VOUCH_E_JWS_TOO_LARGE, e);
        free(t);
    }
}

static void test_sign_refusals(void **state)
{
    vouch_jws_sign_opts o = {NULL, NULL, NULL};
    json_t *extra;
    vouch_key *pub = NULL;
    char *t = NULL, kid[200];
    uint8_t *big;
    vouch_err e;
    (void)state;

    o.kid = "a\"b";
    assert_code(vouch_jws_sign_compact(p256, &o, (const uint8_t *)"x", 1, &t, &e), VOUCH_E_JWS_KID,
                e);
    memset(kid, 'k', 199);
    kid[199] = '\0';
    o.kid = kid;
    assert_code(vouch_jws_sign_general(p256, &o, (const uint8_t *)"x", 1, &t, &e), VOUCH_E_JWS_KID,
                e);
    o.kid = NULL;
    extra = json_pack("{s:s}", "jku", "https://x");
    o.extra = extra;
    assert_code(vouch_jws_sign_compact(p256, &o, (const uint8_t *)"x", 1, &t, &e),
                VOUCH_E_JWS_EMBEDDED_KEY, e);
    json_decref(extra);
    extra = json_pack("{s:b}", "b64", 0);
    o.extra = extra;
    assert_code(vouch_jws_sign_compact(p256, &o, (const uint8_t *)"x", 1, &t, &e), VOUCH_E_JWS_CRIT,
                e);
    json_decref(extra);
    extra = json_pack("{s:s}", "alg", "none");
    o.extra = extra;
    assert_code(vouch_jws_sign_compact(p256, &o, (const uint8_t *)"x", 1, &t, &e), VOUCH_E_ARG, e);
    json_decref(extra);
    extra = json_pack("[]");
    o.extra = extra;
    assert_code(vouch_jws_sign_compact(p256, &o, (const uint8_t *)"x", 1, &t, &e), VOUCH_E_ARG, e);
    json_decref(extra);
    /* extra members are signed, in order, after alg/typ/kid */
    extra = json_pack("{s:s,s:i}", "cty", "vouch+json", "iat", 7);
    o.extra = extra;
    o.typ = "t";
    assert_ok(vouch_jws_sign_compact(ed, &o, (const uint8_t *)"x", 1, &t, &e), e);
    {
        char *w = b64s("{\"alg\":\"EdDSA\",\"typ\":\"t\",\"cty\":\"vouch+json\",\"iat\":7}");
        assert_int_equal(strncmp(t, w, strlen(w)), 0);
        vouch_free(w);
    }
    assert_ok(verify_tok(t, ed, "t", &e), e);
    vouch_free(t);
    json_decref(extra);
    o.extra = NULL;
    /* a public key cannot sign */
    assert_ok(vouch_key_public_copy(p256, &pub, &e), e);
    assert_code(vouch_jws_sign_compact(pub, NULL, (const uint8_t *)"x", 1, &t, &e),
                VOUCH_E_KEY_NOT_PRIVATE, e);
    vouch_key_free(pub);
    /* a payload whose token would exceed the cap */
    big = calloc(1, VOUCH_JWS_MAX_BYTES);
    assert_code(vouch_jws_sign_compact(ed, NULL, big, VOUCH_JWS_MAX_BYTES / 4 * 3, &t, &e),
                VOUCH_E_JWS_TOO_LARGE, e);
    assert_code(vouch_jws_sign_general(ed, NULL, big, VOUCH_JWS_MAX_BYTES / 4 * 3, &t, &e),
                VOUCH_E_JWS_TOO_LARGE, e);
    assert_code(vouch_jws_sign_compact(ed, NULL, NULL, 3, &t, &e), VOUCH_E_ARG, e);
    free(big);
}

/* ------------------------------------------------------------ JSON forms */

/* Builds a general JWS from n (protected JSON, payload-independent) parts,
 * each signed by keys[i] over the payload "p". */
static char *general_of(const char *const *hdrs, const vouch_key *const *keys, size_t n,
                        const char *payload)
{
    char *p = b64s(payload), *out;
    size_t cap = 1024 + n * 1024, len;

    out = malloc(cap);
    len = (size_t)snprintf(out, cap, "{\"payload\":\"%s\",\"signatures\":[", p);
    for (size_t i = 0; i < n; i++) {
        char *h = b64s(hdrs[i]), *t = sign_segments(h, p, keys[i]);
        len += (size_t)snprintf(out + len, cap - len, "%s{\"protected\":\"%s\",\"signature\":\"%s\"}",
                                i ? "," : "", h, strrchr(t, '.') + 1);
        free(t);
        vouch_free(h);
    }
    snprintf(out + len, cap - len, "]}");
    vouch_free(p);
    return out;
}

static void test_general_valid_plus_invalid(void **state)
{
    const char *hdrs[4] = {"{\"alg\":\"ES256\",\"kid\":\"p\"}", "{\"alg\":\"EdDSA\",\"kid\":\"e\"}",
                           "{\"alg\":\"ES256\",\"kid\":\"p\"}", "{\"alg\":\"EdDSA\",\"kid\":\"x\"}"};
    const vouch_key *signers[4] = {p256, ed, p256b, ed};
    vouch_jws_keyref keys[3] = {{"p", NULL}, {"e", NULL}, {NULL, NULL}};
    vouch_jws_result r[4];
    vouch_jws *j = NULL;
    char *g = general_of(hdrs, signers, 4, "release");
    vouch_err e;
    (void)state;

    keys[0].key = p256;
    keys[1].key = ed;
    keys[2].key = edb;
    assert_ok(parse_str(g, &j, &e), e);
    assert_int_equal(j->compact, 0);
    assert_int_equal(j->nsigs, 4);
    assert_string_equal((char *)j->payload, "release");
    assert_ok(vouch_jws_verify_all(j, keys, 3, NULL, r, &e), e);
    assert_int_equal(r[0].code, VOUCH_OK);
    assert_int_equal(r[0].key_index, 0);
    assert_string_equal(r[0].kid, "p");
    assert_int_equal(r[1].code, VOUCH_OK);
    assert_int_equal(r[1].key_index, 1);
    /* signed by a key that is not the one known as "p" */
    assert_int_equal(r[2].code, VOUCH_E_JWS_BAD_SIGNATURE);
    assert_int_equal(r[2].key_index, -1);
    /* a kid nobody knows is still tried with the wildcard key (kid NULL,
     * edb), which did not make it */
    assert_int_equal(r[3].code, VOUCH_E_JWS_BAD_SIGNATURE);
    assert_int_equal(r[3].key_index, -1);
    assert_string_equal(r[3].kid, "x");
    /* without the wildcard key, nobody is known as "x" */
    assert_ok(vouch_jws_verify_all(j, keys, 2, NULL, r, &e), e);
    assert_int_equal(r[3].code, VOUCH_E_JWS_UNKNOWN_KEY);
    /* with an expected typ none passes (no typ in these headers) */
    assert_code(vouch_jws_verify_all(j, keys, 3, "release+jwt", r, &e), VOUCH_E_JWS_NO_VALID, e);
    assert_int_equal(r[0].code, VOUCH_E_JWS_TYP);
    assert_int_equal(r[3].code, VOUCH_E_JWS_TYP);
    /* no keys at all */
    assert_code(vouch_jws_verify_all(j, keys, 0, NULL, r, &e), VOUCH_E_JWS_NO_VALID, e);
    assert_int_equal(r[0].code, VOUCH_E_JWS_UNKNOWN_KEY);
    assert_code(vouch_jws_verify_all(j, NULL, 1, NULL, r, &e), VOUCH_E_ARG, e);
    vouch_jws_free(j);
    free(g);
}

static void test_general_no_kid(void **state)
{
    const char *hdrs[2] = {"{\"alg\":\"EdDSA\"}", "{\"alg\":\"ES256\"}"};
    const vouch_key *signers[2] = {edb, p256b};
    vouch_jws_keyref keys[4] = {{"a", NULL}, {"b", NULL}, {NULL, NULL}, {"d", NULL}};
    vouch_jws_result r[2];
    vouch_jws *j = NULL;
    char *g = general_of(hdrs, signers, 2, "x");
    vouch_err e;
    (void)state;

    /* without a kid every key of the right type is tried */
    keys[0].key = p256;
    keys[1].key = ed;
    keys[2].key = p256b;
    keys[3].key = edb;
    assert_ok(parse_str(g, &j, &e), e);
    assert_ok(vouch_jws_verify_all(j, keys, 4, NULL, r, &e), e);
    assert_int_equal(r[0].code, VOUCH_OK);
    assert_int_equal(r[0].key_index, 3);
    assert_null(r[0].kid);
    assert_int_equal(r[1].code, VOUCH_OK);
    assert_int_equal(r[1].key_index, 2);
    /* only keys of the other type: unknown */
    keys[0].key = p256;
    assert_code(vouch_jws_verify_all(j, keys, 1, NULL, r, &e), VOUCH_E_JWS_NO_VALID, e);
    assert_int_equal(r[0].code, VOUCH_E_JWS_UNKNOWN_KEY);
    assert_int_equal(r[1].code, VOUCH_E_JWS_BAD_SIGNATURE);
    vouch_jws_free(j);
    free(g);
}

/* The policy's role keys are wildcards: a signature is matched by key, not
 * by the name its signer gave it, and a wildcard never matches a key of the
 * wrong type. */
static void test_general_wildcard_keys(void **state)
{
    const char *hdrs[2] = {"{\"alg\":\"ES256\",\"kid\":\"did:key:zDn#whatever\"}",
                           "{\"alg\":\"EdDSA\",\"kid\":\"cosigner-7\"}"};
    const vouch_key *signers[2] = {p256, ed};
    vouch_jws_keyref keys[3] = {{NULL, NULL}, {NULL, NULL}, {"cosigner-7", NULL}};
    vouch_jws_result r[2];
    vouch_jws *j = NULL;
    char *g = general_of(hdrs, signers, 2, "w");
    vouch_err e;
    (void)state;

    keys[0].key = ed;   /* wildcard, Ed25519 */
    keys[1].key = p256; /* wildcard, P-256 */
    keys[2].key = p256; /* named like sig 1 but of the wrong type */
    assert_ok(parse_str(g, &j, &e), e);
    assert_ok(vouch_jws_verify_all(j, keys, 2, NULL, r, &e), e);
    assert_int_equal(r[0].code, VOUCH_OK);
    assert_int_equal(r[0].key_index, 1);
    assert_int_equal(r[1].code, VOUCH_OK);
    assert_int_equal(r[1].key_index, 0);
    /* without the Ed25519 wildcard, the key named "cosigner-7" is the only
     * candidate and reports the mismatch; the P-256 wildcard is not tried */
    assert_ok(vouch_jws_verify_all(j, &keys[1], 2, NULL, r, &e), e);
    assert_int_equal(r[0].code, VOUCH_OK);
    assert_int_equal(r[1].code, VOUCH_E_JWS_ALG_MISMATCH);
    vouch_jws_free(j);
    free(g);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_flood(void **state)
{
    const char *hdrs[17];
    const vouch_key *signers[17];
    vouch_jws_keyref keys[1] = {{"p", NULL}};
    vouch_jws_result r[16];
    vouch_jws *j = NULL, *one = NULL;
    char *g, *g1, *q;
    double t0, t_one, t_many;
    vouch_err e;
    (void)state;

    keys[0].key = p256;
    for (int i = 0; i < 17; i++) {
        hdrs[i] = "{\"alg\":\"ES256\",\"kid\":\"p\"}";
        signers[i] = p256b; /* the wrong key: every copy is bad */
    }
    /* 17 signatures: refused before any is decoded or verified */
    g = general_of(hdrs, signers, 17, "x");
    assert_code(parse_str(g, &j, &e), VOUCH_E_JWS_TOO_MANY_SIGS, e);
    free(g);
    g = strdup("{\"payload\":\"\",\"signatures\":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]}");
    assert_code(parse_str(g, &j, &e), VOUCH_E_JWS_TOO_MANY_SIGS, e);
    free(g);
    /* 16 copies of one bad signature: one verification's worth of work */
    g = general_of(hdrs, signers, 1, "x");
    q = strstr(g, "{\"protected\"");
    {
        size_t cap = strlen(g) * 17, len;
        g1 = malloc(cap);
        len = (size_t)snprintf(g1, cap, "%.*s", (int)(q - g), g);
        for (int i = 0; i < 16; i++)
            len += (size_t)snprintf(g1 + len, cap - len, "%s%.*s", i ? "," : "",
                                    (int)(strlen(q) - 2), q);
        snprintf(g1 + len, cap - len, "]}");
    }
    assert_ok(parse_str(g, &one, &e), e);
    assert_ok(parse_str(g1, &j, &e), e);
    assert_int_equal(j->nsigs, 16);
    t0 = now_s();
    for (int k = 0; k < 20; k++)
        assert_code(vouch_jws_verify_all(one, keys, 1, NULL, r, &e), VOUCH_E_JWS_NO_VALID, e);
    t_one = now_s() - t0;
    t0 = now_s();
    for (int k = 0; k < 20; k++)
        assert_code(vouch_jws_verify_all(j, keys, 1, NULL, r, &e), VOUCH_E_JWS_NO_VALID, e);
    t_many = now_s() - t0;
    for (int i = 0; i < 16; i++) {
        assert_int_equal(r[i].code, VOUCH_E_JWS_BAD_SIGNATURE);
        assert_int_equal(r[i].key_index, -1);
    }
    /* 16 verifications would take ~16x as long; allow noise up to 4x */
    if (t_many > 4 * t_one + 0.01)
        fail_msg("16 copies took %.4fs vs %.4fs for one", t_many, t_one);
    vouch_jws_free(j);
    vouch_jws_free(one);
    free(g);
    free(g1);
}

static void test_json_structure(void **state)
{
    char *t = tok_json("{\"alg\":\"ES256\"}", "x", p256);
    char *h, *p, *s, doc[1024];
    vouch_jws *j = NULL;
    vouch_jws_keyref keys[1] = {{"k", NULL}};
    vouch_jws_result r[1];
    struct {
        const char *fmt; /* %1$s protected, %2$s payload, %3$s signature */
        vouch_code want;
    } cases[] = {
        /* flattened, fine */
        {"{\"payload\":\"%2$s\",\"protected\":\"%1$s\",\"signature\":\"%3$s\"}", VOUCH_OK},
        {"{\"payload\":\"%2$s\",\"protected\":\"%1$s\",\"header\":{\"kid\":\"k\"},\"signature\":\"%3$s\"}", VOUCH_OK},
        {"{\"payload\":\"%2$s\",\"signatures\":[{\"protected\":\"%1$s\",\"header\":{},\"signature\":\"%3$s\"}]}", VOUCH_OK},
        {"{ \"payload\" : \"%2$s\", \"signatures\":[{\"protected\":\"%1$s\",\"signature\":\"%3$s\"}]}\n", VOUCH_OK},
        /* unknown or duplicate members */
        {"{\"payload\":\"%2$s\",\"protected\":\"%1$s\",\"signature\":\"%3$s\",\"x\":1}", VOUCH_E_JWS_FORMAT},
        {"{\"payload\":\"%2$s\",\"signatures\":[{\"protected\":\"%1$s\",\"signature\":\"%3$s\",\"x\":1}]}", VOUCH_E_JWS_FORMAT},
        {"{\"payload\":\"%2$s\",\"signatures\":[{\"protected\":\"%1$s\",\"signature\":\"%3$s\"}],\"signature\":\"%3$s\"}", VOUCH_E_JWS_FORMAT},
        {"{\"payload\":\"%2$s\",\"payload\":\"%2$s\",\"protected\":\"%1$s\",\"signature\":\"%3$s\"}", VOUCH_E_JSON_DUPLICATE},
        {"{\"payload\":\"%2$s\",\"signatures\":[{\"protected\":\"%1$s\",\"protected\":\"%1$s\",\"signature\":\"%3$s\"}]}", VOUCH_E_JSON_DUPLICATE},
        {"{\"payload\":\"%2$s\",\"protected\":\"%1$s\",\"header\":{\"kid\":\"a\",\"kid\":\"b\"},\"signature\":\"%3$s\"}", VOUCH_E_JSON_DUPLICATE},
        /* payload: missing, wrong type, not strict base64url */
        {"{\"protected\":\"%1$s\",\"signature\":\"%3$s\"}", VOUCH_E_JWS_FORMAT},
        {"{\"payload\":{\"a\":1},\"protected\":\"%1$s\",\"signature\":\"%3$s\"}", VOUCH_E_JWS_FORMAT},
        {"{\"payload\":\"%2$s=\",\"protected\":\"%1$s\",\"signature\":\"%3$s\"}", VOUCH_E_B64URL},
        {"{\"payload\":\"e+\",\"protected\":\"%1$s\",\"signature\":\"%3$s\"}", VOUCH_E_B64URL},
        /* signatures: empty, not an array, element not an object */
        {"{\"payload\":\"%2$s\",\"signatures\":[]}", VOUCH_E_JWS_FORMAT},
        {"{\"payload\":\"%2$s\",\"signatures\":{}}", VOUCH_E_JWS_FORMAT},
        {"{\"payload\":\"%2$s\",\"signatures\":[\"%3$s\"]}", VOUCH_E_JWS_FORMAT},
        /* protected: required, a string, not empty */
        {"{\"payload\":\"%2$s\",\"header\":{\"alg\":\"ES256\"},\"signature\":\"%3$s\"}", VOUCH_E_JWS_HEADER},
        {"{\"payload\":\"%2$s\",\"signatures\":[{\"signature\":\"%3$s\"}]}", VOUCH_E_JWS_HEADER},
        {"{\"payload\":\"%2$s\",\"protected\":\"\",\"signature\":\"%3$s\"}", VOUCH_E_JWS_HEADER},
        {"{\"payload\":\"%2$s\",\"protected\":{\"alg\":\"ES256\"},\"signature\":\"%3$s\"}", VOUCH_E_JWS_FORMAT},
        {"{\"payload\":\"%2$s\",\"protected\":\"%1$s\"}", VOUCH_E_JWS_FORMAT},
        {"{\"payload\":\"%2$s\",\"protected\":\"%1$s\",\"signature\":7}", VOUCH_E_JWS_FORMAT},
        /* the unprotected header: only kid, disjoint, an object */
        {"{\"payload\":\"%2$s\",\"protected\":\"%1$s\",\"header\":{\"alg\":\"none\"},\"signature\":\"%3$s\"}", VOUCH_E_JWS_HEADER},
        {"{\"payload\":\"%2$s\",\"protected\":\"%1$s\",\"header\":{\"typ\":\"JWT\"},\"signature\":\"%3$s\"}", VOUCH_E_JWS_HEADER},
        {"{\"payload\":\"%2$s\",\"protected\":\"%1$s\",\"header\":[],\"signature\":\"%3$s\"}", VOUCH_E_JWS_HEADER},
        {"{\"payload\":\"%2$s\",\"protected\":\"%1$s\",\"header\":{\"kid\":\"a\\\"\"},\"signature\":\"%3$s\"}", VOUCH_E_JWS_KID},
        {"{\"payload\":\"%2$s\",\"protected\":\"%1$s\",\"header\":{\"crit\":[\"x\"]},\"signature\":\"%3$s\"}", VOUCH_E_JWS_CRIT},
        {"{\"payload\":\"%2$s\",\"protected\":\"%1$s\",\"header\":{\"b64\":false},\"signature\":\"%3$s\"}", VOUCH_E_JWS_CRIT},
        /* outer JSON itself broken */
        {"{\"payload\":\"%2$s\",\"protected\":\"%1$s\",\"signature\":\"%3$s\"", VOUCH_E_JSON_SYNTAX},
        {"{\"payload\":\"%2$s\",\"protected\":\"%1$s\",\"signature\":\"%3$s\"}}", VOUCH_E_JSON_TRAILING},
    };
    vouch_err e;
    (void)state;

    keys[0].key = p256;
    h = t;
    p = strchr(h, '.');
    *p++ = '\0';
    s = strchr(p, '.');
    *s++ = '\0';
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        snprintf(doc, sizeof(doc), cases[i].fmt, h, p, s);
#pragma GCC diagnostic pop
        j = NULL;
        if (parse_str(doc, &j, &e) != cases[i].want)
            fail_msg("case %zu: got %s (%s), want %s", i, vouch_code_name(e.code), e.msg,
                     vouch_code_name(cases[i].want));
        if (cases[i].want == VOUCH_OK) {
            assert_int_equal(j->compact, 0);
            assert_string_equal((char *)j->payload, "x");
            assert_ok(vouch_jws_verify_sig(j, 0, p256, NULL, &e), e);
            assert_ok(vouch_jws_verify_all(j, keys, 1, NULL, r, &e), e);
            if (i == 1)
                assert_string_equal(j->sigs[0].kid, "k");
        } else {
            assert_null(j);
        }
        vouch_jws_free(j);
        /* a JSON serialization is not a compact one */
        if (i == 0)
            assert_code(vouch_jws_verify_compact(doc, strlen(doc), p256, NULL, NULL, NULL, &e),
                        VOUCH_E_JWS_FORMAT, e);
    }
    free(t);
}

static void test_header_dup(void **state)
{
    char *t = tok_json("{\"alg\":\"ES256\",\"kid\":\"k\"}", "eA", p256);
    char *h, *p, *s, doc[1024];
    vouch_jws *j = NULL;
    vouch_err e;
    (void)state;

    h = t;
    p = strchr(h, '.');
    *p++ = '\0';
    s = strchr(p, '.');
    *s++ = '\0';
    snprintf(doc, sizeof(doc),
             "{\"payload\":\"%s\",\"protected\":\"%s\",\"header\":{\"kid\":\"k\"},\"signature\":\"%s\"}",
             p, h, s);
    assert_code(parse_str(doc, &j, &e), VOUCH_E_JWS_HEADER_DUP, e);
    snprintf(doc, sizeof(doc),
             "{\"payload\":\"%s\",\"signatures\":[{\"protected\":\"%s\",\"header\":{\"kid\":\"other\"},"
             "\"signature\":\"%s\"}]}",
             p, h, s);
    assert_code(parse_str(doc, &j, &e), VOUCH_E_JWS_HEADER_DUP, e);
    free(t);
}

static void test_general_add(void **state)
{
    vouch_jws_sign_opts o1 = {"release+jwt", "p", NULL}, o2 = {"release+jwt", "e", NULL};
    vouch_jws_keyref keys[2] = {{"p", NULL}, {"e", NULL}};
    vouch_jws_result r[VOUCH_JWS_MAX_SIGS];
    vouch_jws *j = NULL, *j1 = NULL;
    char *g1 = NULL, *g2 = NULL, *g = NULL, *c = NULL, *sig0;
    vouch_err e;
    (void)state;

    keys[0].key = p256;
    keys[1].key = ed;
    assert_ok(vouch_jws_sign_general(p256, &o1, (const uint8_t *)"fw v2", 5, &g1, &e), e);
    assert_ok(parse_str(g1, &j1, &e), e);
    assert_int_equal(j1->nsigs, 1);
    assert_ok(vouch_jws_general_add(g1, strlen(g1), ed, &o2, &g2, &e), e);
    assert_ok(parse_str(g2, &j, &e), e);
    assert_int_equal(j->nsigs, 2);
    assert_string_equal(j->payload_b64, j1->payload_b64);
    assert_string_equal(j->sigs[0].protected_b64, j1->sigs[0].protected_b64);
    assert_memory_equal(j->sigs[0].sig, j1->sigs[0].sig, 64);
    /* the first signature's text survives byte for byte */
    sig0 = strstr(g1, "{\"protected\"");
    assert_non_null(strstr(g2, "\"payload\":\""));
    assert_non_null(strstr(g2, j1->payload_b64));
    assert_int_equal(strncmp(strstr(g2, "{\"protected\""), sig0, strlen(sig0) - 2), 0);
    assert_ok(vouch_jws_verify_all(j, keys, 2, "release+jwt", r, &e), e);
    assert_int_equal(r[0].code, VOUCH_OK);
    assert_int_equal(r[0].key_index, 0);
    assert_int_equal(r[1].code, VOUCH_OK);
    assert_int_equal(r[1].key_index, 1);
    vouch_jws_free(j);
    vouch_jws_free(j1);
    /* a flattened JWS with an unprotected kid becomes general, kid kept */
    {
        char *t = tok_json("{\"alg\":\"ES256\"}", "eA", p256), *h = t, *p, *s, doc[1024];
        p = strchr(h, '.');
        *p++ = '\0';
        s = strchr(p, '.');
        *s++ = '\0';
        snprintf(doc, sizeof(doc),
                 "{\"payload\":\"%s\",\"protected\":\"%s\",\"header\":{\"kid\":\"p\"},\"signature\":\"%s\"}",
                 p, h, s);
        assert_ok(vouch_jws_general_add(doc, strlen(doc), ed, &o2, &g, &e), e);
        assert_non_null(strstr(g, "\"header\":{\"kid\":\"p\"}"));
        assert_ok(parse_str(g, &j, &e), e);
        assert_string_equal(j->sigs[0].kid, "p");
        assert_ok(vouch_jws_verify_all(j, keys, 2, NULL, r, &e), e);
        assert_int_equal(r[0].code, VOUCH_OK);
        assert_int_equal(r[1].code, VOUCH_OK);
        vouch_jws_free(j);
        vouch_free(g);
        free(t);
    }
    /* compact input, a broken JWS, and the 17th signature are refused */
    assert_ok(vouch_jws_sign_compact(p256, &o1, (const uint8_t *)"x", 1, &c, &e), e);
    assert_code(vouch_jws_general_add(c, strlen(c), ed, &o2, &g, &e), VOUCH_E_JWS_FORMAT, e);
    assert_code(vouch_jws_general_add("{\"payload\":\"\"}", 14, ed, &o2, &g, &e), VOUCH_E_JWS_HEADER,
                e);
    vouch_free(c);
    g = g2;
    g2 = NULL;
    for (unsigned i = 2; i < VOUCH_JWS_MAX_SIGS; i++) {
        assert_ok(vouch_jws_general_add(g, strlen(g), i % 2 ? ed : p256, NULL, &g2, &e), e);
        vouch_free(g);
        g = g2;
    }
    assert_ok(parse_str(g, &j, &e), e);
    assert_int_equal(j->nsigs, VOUCH_JWS_MAX_SIGS);
    assert_ok(vouch_jws_verify_all(j, keys, 2, NULL, r, &e), e);
    vouch_jws_free(j);
    assert_code(vouch_jws_general_add(g, strlen(g), ed, NULL, &g2, &e), VOUCH_E_JWS_TOO_MANY_SIGS,
                e);
    vouch_free(g);
    vouch_free(g1);
}

/* ------------------------------------------------------ allocation faults */

/* One pass over the whole API; returns the first failure code. */
static vouch_code api_pass(void)
{
    vouch_jws_sign_opts o = {"release+jwt", "p", NULL};
    vouch_jws_keyref keys[2] = {{"p", NULL}, {"e", NULL}};
    vouch_jws_result r[VOUCH_JWS_MAX_SIGS];
    vouch_jws *j = NULL;
    char *t = NULL, *g = NULL, *g2 = NULL;
    uint8_t *pl = NULL;
    size_t pn;
    vouch_code rc;
    vouch_err e;

    keys[0].key = p256;
    keys[1].key = ed;
    rc = vouch_jws_sign_compact(p256, &o, (const uint8_t *)"payload", 7, &t, &e);
    if (rc == VOUCH_OK)
        rc = vouch_jws_verify_compact(t, strlen(t), p256, "release+jwt", &pl, &pn, &e);
    if (rc == VOUCH_OK)
        rc = vouch_jws_sign_general(ed, NULL, (const uint8_t *)"payload", 7, &g, &e);
    if (rc == VOUCH_OK)
        rc = vouch_jws_general_add(g, strlen(g), p256, &o, &g2, &e);
    if (rc == VOUCH_OK)
        rc = vouch_jws_parse(g2, strlen(g2), &j, &e);
    if (rc == VOUCH_OK)
        rc = vouch_jws_verify_all(j, keys, 2, NULL, r, &e);
    vouch_jws_free(j);
    vouch_free(t);
    vouch_free(g);
    vouch_free(g2);
    vouch_free(pl);
    return rc;
}

static void test_alloc_failures(void **state)
{
    long n;
    vouch_code rc = VOUCH_E_NOMEM;
    (void)state;

    assert_int_equal(api_pass(), VOUCH_OK);
    for (n = 0; n < 10000; n++) {
        vouch_alloc_fail_after(n);
        rc = api_pass();
        vouch_alloc_fail_after(-1);
        if (rc == VOUCH_OK)
            break;
        if (rc != VOUCH_E_NOMEM)
            fail_msg("failing allocation %ld gave %s, not VOUCH_E_NOMEM", n, vouch_code_name(rc));
    }
    assert_int_equal(rc, VOUCH_OK);
    assert_true(n > 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compact_roundtrip),
        cmocka_unit_test(test_parse_fields),
        cmocka_unit_test(test_alg_none),
        cmocka_unit_test(test_error_messages_are_clean),
        cmocka_unit_test(test_alg_hmac_with_public_key),
        cmocka_unit_test(test_alg_other_families),
        cmocka_unit_test(test_alg_mismatch),
        cmocka_unit_test(test_embedded_keys),
        cmocka_unit_test(test_crit_b64),
        cmocka_unit_test(test_kid_rules),
        cmocka_unit_test(test_duplicate_members),
        cmocka_unit_test(test_header_not_object),
        cmocka_unit_test(test_segments),
        cmocka_unit_test(test_noncanonical_base64url),
        cmocka_unit_test(test_es256_sig_shapes),
        cmocka_unit_test(test_ed25519_noncanonical),
        cmocka_unit_test(test_typ_confusion),
        cmocka_unit_test(test_oversized),
        cmocka_unit_test(test_sign_refusals),
        cmocka_unit_test(test_general_valid_plus_invalid),
        cmocka_unit_test(test_general_no_kid),
        cmocka_unit_test(test_general_wildcard_keys),
        cmocka_unit_test(test_flood),
        cmocka_unit_test(test_json_structure),
        cmocka_unit_test(test_header_dup),
        cmocka_unit_test(test_general_add),
        cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
