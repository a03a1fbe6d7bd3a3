/* test_key.c - mirrors lib/key.c: generation, sign/verify with every
 * rejection code, raw keys and point checks, JWK import rules, thumbprints,
 * PEM and key files with their permissions, threads, allocation failures. */
#include "testutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

static const uint8_t p256_n[32] = {
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51};

static const char msg[] = "firmware 1.2.3";

static json_t *parse(const char *s)
{
    json_t *v = NULL;
    vouch_err e;

    assert_ok(vouch_json_parse(s, strlen(s), NULL, &v, &e), e);
    return v;
}

static vouch_key *gen(vouch_key_type t)
{
    vouch_key *k = NULL;
    vouch_err e;

    assert_ok(vouch_key_generate(t, &k, &e), e);
    assert_non_null(k);
    return k;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, mode), 0);
}

static void test_type_names(void **state)
{
    (void)state;
    assert_int_equal(vouch_key_type_from_name("p256"), VOUCH_KEY_P256);
    assert_int_equal(vouch_key_type_from_name("P-256"), VOUCH_KEY_P256);
    assert_int_equal(vouch_key_type_from_name("ed25519"), VOUCH_KEY_ED25519);
    assert_int_equal(vouch_key_type_from_name("Ed25519"), VOUCH_KEY_ED25519);
    assert_int_equal(vouch_key_type_from_name("P-384"), VOUCH_KEY_NONE);
    assert_int_equal(vouch_key_type_from_name("rsa"), VOUCH_KEY_NONE);
    assert_int_equal(vouch_key_type_from_name(NULL), VOUCH_KEY_NONE);
    assert_string_equal(vouch_key_type_name(VOUCH_KEY_P256), "p256");
    assert_string_equal(vouch_key_type_name(VOUCH_KEY_ED25519), "ed25519");
}

/* Sign, verify, and every way a signature is refused, for one key type. */
static void sign_verify_cycle(vouch_key_type t)
{
    vouch_key *k = gen(t), *pub = NULL;
    uint8_t sig[VOUCH_SIG_LEN], bad[VOUCH_SIG_LEN + 1];
    vouch_err e;

    assert_int_equal(vouch_key_get_type(k), t);
    assert_true(vouch_key_has_private(k));
    assert_false(vouch_key_is_pkcs11(k));
    assert_string_equal(vouch_key_alg(k), t == VOUCH_KEY_P256 ? "ES256" : "EdDSA");
    assert_ok(vouch_key_sign(k, (const uint8_t *)msg, strlen(msg), sig, &e), e);
    assert_ok(vouch_key_verify(k, (const uint8_t *)msg, strlen(msg), sig, sizeof(sig), &e), e);

    /* the public copy verifies and cannot sign */
    assert_ok(vouch_key_public_copy(k, &pub, &e), e);
    assert_false(vouch_key_has_private(pub));
    assert_true(vouch_key_equal(k, pub));
    assert_ok(vouch_key_verify(pub, (const uint8_t *)msg, strlen(msg), sig, sizeof(sig), &e), e);
    assert_code(vouch_key_sign(pub, (const uint8_t *)msg, strlen(msg), bad, &e),
                VOUCH_E_KEY_NOT_PRIVATE, e);

    /* other message, flipped bit */
    assert_code(vouch_key_verify(pub, (const uint8_t *)"firmware 1.2.4", strlen(msg), sig,
                                 sizeof(sig), &e),
                VOUCH_E_JWS_BAD_SIGNATURE, e);
    memcpy(bad, sig, sizeof(sig));
    bad[10] ^= 0x01;
    assert_code(vouch_key_verify(pub, (const uint8_t *)msg, strlen(msg), bad, 64, &e),
                VOUCH_E_JWS_BAD_SIGNATURE, e);
    /* sizes */
    assert_code(vouch_key_verify(pub, (const uint8_t *)msg, strlen(msg), sig, 63, &e),
                VOUCH_E_JWS_SIG_SIZE, e);
    memcpy(bad, sig, sizeof(sig));
    bad[64] = 0;
    assert_code(vouch_key_verify(pub, (const uint8_t *)msg, strlen(msg), bad, 65, &e),
                VOUCH_E_JWS_SIG_SIZE, e);
    assert_code(vouch_key_verify(pub, (const uint8_t *)msg, strlen(msg), NULL, 0, &e),
                VOUCH_E_JWS_SIG_SIZE, e);
    /* empty message */
    assert_ok(vouch_key_sign(k, NULL, 0, sig, &e), e);
    assert_ok(vouch_key_verify(pub, (const uint8_t *)"", 0, sig, sizeof(sig), &e), e);
    /* arguments */
    assert_code(vouch_key_sign(NULL, NULL, 0, sig, &e), VOUCH_E_ARG, e);
    assert_code(vouch_key_verify(pub, NULL, 5, sig, 64, &e), VOUCH_E_ARG, e);
    vouch_key_free(pub);
    vouch_key_free(k);
}

static void test_sign_verify_p256(void **state)
{
    (void)state;
    sign_verify_cycle(VOUCH_KEY_P256);
}

static void test_sign_verify_ed25519(void **state)
{
    (void)state;
    sign_verify_cycle(VOUCH_KEY_ED25519);
}

/* ES256 r and s must be in [1, n-1] before any arithmetic. */
static void test_es256_range(void **state)
{
    vouch_key *k = gen(VOUCH_KEY_P256);
    uint8_t sig[64], t[64];
    vouch_err e;
    (void)state;

    assert_ok(vouch_key_sign(k, (const uint8_t *)msg, strlen(msg), sig, &e), e);
    /* r = 0, s = 0, both 0 (CVE-2022-21449) */
    memcpy(t, sig, 64);
    memset(t, 0, 32);
    assert_code(vouch_key_verify(k, (const uint8_t *)msg, strlen(msg), t, 64, &e),
                VOUCH_E_JWS_SIG_RANGE, e);
    memcpy(t, sig, 64);
    memset(t + 32, 0, 32);
    assert_code(vouch_key_verify(k, (const uint8_t *)msg, strlen(msg), t, 64, &e),
                VOUCH_E_JWS_SIG_RANGE, e);
    memset(t, 0, 64);
    assert_code(vouch_key_verify(k, (const uint8_t *)msg, strlen(msg), t, 64, &e),
                VOUCH_E_JWS_SIG_RANGE, e);
    /* r = n, s = n, r = 0xff..ff */
    memcpy(t, sig, 64);
    memcpy(t, p256_n, 32);
    assert_code(vouch_key_verify(k, (const uint8_t *)msg, strlen(msg), t, 64, &e),
                VOUCH_E_JWS_SIG_RANGE, e);
    memcpy(t, sig, 64);
    memcpy(t + 32, p256_n, 32);
    assert_code(vouch_key_verify(k, (const uint8_t *)msg, strlen(msg), t, 64, &e),
                VOUCH_E_JWS_SIG_RANGE, e);
    memset(t, 0xff, 32);
    assert_code(vouch_key_verify(k, (const uint8_t *)msg, strlen(msg), t, 64, &e),
                VOUCH_E_JWS_SIG_RANGE, e);
    /* r = n - 1 and s = 1 are in range: refused only as a bad signature */
    memcpy(t, p256_n, 32);
    t[31]--;
    memset(t + 32, 0, 32);
    t[63] = 1;
    assert_code(vouch_key_verify(k, (const uint8_t *)msg, strlen(msg), t, 64, &e),
                VOUCH_E_JWS_BAD_SIGNATURE, e);
    /* r + n would be the same value modulo n: must not verify */
    vouch_key_free(k);
}

/* vouch_key_precompute is expected to succeed wherever OpenSSL still has
 * EC_GROUP_precompute_mult (CMake looks); elsewhere it must fail cleanly. */
#ifdef VOUCH_HAVE_P256_TABLE
#define PRECOMPUTE_RC VOUCH_OK
#else
#define PRECOMPUTE_RC VOUCH_E_KEY_CRYPTO
#endif

/* Verifies with both keys; both must return the same code and message. */
static vouch_code verify2(const vouch_key *plain, const vouch_key *pre, const uint8_t *m,
                          size_t mn, const uint8_t sig[64])
{
    vouch_err e1, e2;
    vouch_code a = vouch_key_verify(plain, m, mn, sig, 64, &e1);
    vouch_code b = vouch_key_verify(pre, m, mn, sig, 64, &e2);

    if (a != b)
        fail_msg("without the table %s (%s), with it %s (%s)", vouch_code_name(a), e1.msg,
                 vouch_code_name(b), e2.msg);
    if (a != VOUCH_OK)
        assert_string_equal(e1.msg, e2.msg);
    return a;
}

/* A precomputed key gives the verdicts of a plain one: random messages,
 * valid and with one bit flipped in r, s or the message; r or s at 0, 1,
 * n - 1 and n; another key's signature. */
static void test_precompute_same_results(void **state)
{
    vouch_key *k = gen(VOUCH_KEY_P256), *other = gen(VOUCH_KEY_P256), *plain = NULL, *pre = NULL;
    uint8_t m[100], sig[64], t[64];
    vouch_err e;
    (void)state;

    assert_ok(vouch_key_public_copy(k, &plain, &e), e);
    assert_ok(vouch_key_public_copy(k, &pre, &e), e);
    assert_code(vouch_key_precompute(pre, &e), PRECOMPUTE_RC, e);
    for (int i = 0; i < 200; i++) {
        size_t mn = (size_t)i % sizeof(m); /* lengths 0 to 99, the empty message too */
        unsigned bit;

        assert_int_equal(RAND_bytes(m, sizeof(m)), 1);
        assert_int_equal(RAND_bytes((uint8_t *)&bit, sizeof(bit)), 1);
        assert_ok(vouch_key_sign(k, m, mn, sig, &e), e);
        assert_int_equal(verify2(plain, pre, m, mn, sig), VOUCH_OK);
        /* one bit of r (i even) or s (i odd): out of range when it lands
         * on a leading byte of a value near n, else a bad signature */
        memcpy(t, sig, 64);
        t[(i & 1) * 32 + (bit >> 3) % 32] ^= (uint8_t)(1u << (bit & 7));
        assert_true(verify2(plain, pre, m, mn, t) != VOUCH_OK);
        if (mn > 0) {
            m[(bit >> 3) % mn] ^= (uint8_t)(1u << (bit & 7));
            assert_int_equal(verify2(plain, pre, m, mn, sig), VOUCH_E_JWS_BAD_SIGNATURE);
        }
        /* r or s replaced by 0, 1, n - 1 or n */
        for (int which = 0; which < 2; which++) {
            memcpy(t, sig, 64);
            memset(t + 32 * which, 0, 32);
            assert_int_equal(verify2(plain, pre, m, mn, t), VOUCH_E_JWS_SIG_RANGE);
            t[32 * which + 31] = 1;
            assert_int_equal(verify2(plain, pre, m, mn, t), VOUCH_E_JWS_BAD_SIGNATURE);
            memcpy(t + 32 * which, p256_n, 32);
            assert_int_equal(verify2(plain, pre, m, mn, t), VOUCH_E_JWS_SIG_RANGE);
            t[32 * which + 31]--;
            assert_int_equal(verify2(plain, pre, m, mn, t), VOUCH_E_JWS_BAD_SIGNATURE);
        }
        /* the same message signed by another key */
        assert_ok(vouch_key_sign(other, m, mn, t, &e), e);
        assert_int_equal(verify2(plain, pre, m, mn, t), VOUCH_E_JWS_BAD_SIGNATURE);
    }
    vouch_key_free(pre);
    vouch_key_free(plain);
    vouch_key_free(other);
    vouch_key_free(k);
}

/* Precompute is idempotent, leaves signing alone, is a no-op for Ed25519,
 * and its failure leaves a key that verifies as before. */
static void test_precompute_api(void **state)
{
    vouch_key *k = gen(VOUCH_KEY_P256), *ed = gen(VOUCH_KEY_ED25519), *ref, *pub = NULL;
    uint8_t sig[64];
    vouch_err e;
    (void)state;

    assert_code(vouch_key_precompute(NULL, &e), VOUCH_E_ARG, e);
    /* a private key: the table is for verifying, signing is unchanged */
    assert_code(vouch_key_precompute(k, &e), PRECOMPUTE_RC, e);
    assert_code(vouch_key_precompute(k, &e), PRECOMPUTE_RC, e);
    ref = vouch_key_ref(k); /* shares the table */
    assert_code(vouch_key_precompute(ref, &e), PRECOMPUTE_RC, e);
    assert_ok(vouch_key_sign(k, (const uint8_t *)msg, strlen(msg), sig, &e), e);
    assert_ok(vouch_key_verify(ref, (const uint8_t *)msg, strlen(msg), sig, 64, &e), e);
    assert_true(vouch_key_has_private(k));
    vouch_key_free(ref);
    vouch_key_free(k);

    /* Ed25519: nothing to do, VOUCH_OK */
    assert_ok(vouch_key_precompute(ed, &e), e);
    assert_ok(vouch_key_precompute(ed, &e), e);
    assert_ok(vouch_key_sign(ed, (const uint8_t *)msg, strlen(msg), sig, &e), e);
    assert_ok(vouch_key_verify(ed, (const uint8_t *)msg, strlen(msg), sig, 64, &e), e);
    vouch_key_free(ed);

    /* out of memory: NOMEM, and the key still verifies (without a table) */
    k = gen(VOUCH_KEY_P256);
    assert_ok(vouch_key_public_copy(k, &pub, &e), e);
    assert_ok(vouch_key_sign(k, (const uint8_t *)msg, strlen(msg), sig, &e), e);
#ifdef VOUCH_HAVE_P256_TABLE
    vouch_alloc_fail_after(0);
    assert_code(vouch_key_precompute(pub, &e), VOUCH_E_NOMEM, e);
    vouch_alloc_fail_after(-1);
#endif
    assert_ok(vouch_key_verify(pub, (const uint8_t *)msg, strlen(msg), sig, 64, &e), e);
    sig[40] ^= 1;
    assert_code(vouch_key_verify(pub, (const uint8_t *)msg, strlen(msg), sig, 64, &e),
                VOUCH_E_JWS_BAD_SIGNATURE, e);
    sig[40] ^= 1;
    /* then it can still get its table */
    assert_code(vouch_key_precompute(pub, &e), PRECOMPUTE_RC, e);
    assert_ok(vouch_key_verify(pub, (const uint8_t *)msg, strlen(msg), sig, 64, &e), e);
    vouch_key_free(pub);
    vouch_key_free(k);
}

/* Our ES256 output is checked by OpenSSL directly (DER over SHA-256), and
 * a signature made by OpenSSL directly verifies with us. */
static void test_es256_against_openssl(void **state)
{
    vouch_key *k = gen(VOUCH_KEY_P256);
    char *pem = NULL;
    uint8_t sig[64], der[80], *dp = der;
    vouch_err e;
    BIO *bio;
    EVP_PKEY *pk;
    EVP_MD_CTX *mc;
    ECDSA_SIG *es;
    BIGNUM *r, *s;
    int dlen;
    (void)state;

    assert_ok(vouch_key_sign(k, (const uint8_t *)msg, strlen(msg), sig, &e), e);
    assert_ok(vouch_key_public_pem(k, &pem, &e), e);
    assert_non_null(strstr(pem, "-----BEGIN PUBLIC KEY-----"));
    bio = BIO_new_mem_buf(pem, -1);
    pk = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    assert_non_null(pk);
    es = ECDSA_SIG_new();
    r = BN_bin2bn(sig, 32, NULL);
    s = BN_bin2bn(sig + 32, 32, NULL);
    assert_int_equal(ECDSA_SIG_set0(es, r, s), 1);
    dlen = i2d_ECDSA_SIG(es, &dp);
    assert_true(dlen > 0);
    mc = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestVerifyInit(mc, NULL, EVP_sha256(), NULL, pk), 1);
    assert_int_equal(EVP_DigestVerify(mc, der, (size_t)dlen, (const uint8_t *)msg, strlen(msg)), 1);
    /* the DER form itself is not a 64-byte signature and is refused */
    assert_code(vouch_key_verify(k, (const uint8_t *)msg, strlen(msg), der, (size_t)dlen, &e),
                VOUCH_E_JWS_SIG_SIZE, e);
    EVP_MD_CTX_free(mc);
    ECDSA_SIG_free(es);
    EVP_PKEY_free(pk);
    BIO_free(bio);
    vouch_free(pem);
    vouch_key_free(k);
}

static void test_public_raw(void **state)
{
    vouch_key *k = gen(VOUCH_KEY_P256), *c = NULL, *ed = gen(VOUCH_KEY_ED25519);
    uint8_t raw[VOUCH_PUB_MAX], big[65];
    size_t n = 0;
    json_t *jwk = NULL;
    vouch_err e;
    (void)state;

    assert_ok(vouch_key_public_raw(k, raw, sizeof(raw), &n, &e), e);
    assert_int_equal(n, 33);
    assert_true(raw[0] == 0x02 || raw[0] == 0x03);
    assert_ok(vouch_key_from_public_raw(VOUCH_KEY_P256, raw, n, &c, &e), e);
    assert_true(vouch_key_equal(k, c));
    assert_false(vouch_key_has_private(c));
    vouch_key_free(c);
    c = NULL;
    /* the uncompressed form from the JWK coordinates gives the same key */
    assert_ok(vouch_key_to_jwk(k, &jwk, &e), e);
    big[0] = 0x04;
    assert_ok(vouch_b64url_decode_buf(json_string_value(json_object_get(jwk, "x")), 43, big + 1,
                                      32, &n, &e),
              e);
    assert_ok(vouch_b64url_decode_buf(json_string_value(json_object_get(jwk, "y")), 43, big + 33,
                                      32, &n, &e),
              e);
    assert_ok(vouch_key_from_public_raw(VOUCH_KEY_P256, big, 65, &c, &e), e);
    assert_true(vouch_key_equal(k, c));
    vouch_key_free(c);
    c = NULL;
    /* y negated: the other parity, a different key */
    raw[0] ^= 0x01;
    assert_ok(vouch_key_from_public_raw(VOUCH_KEY_P256, raw, 33, &c, &e), e);
    assert_false(vouch_key_equal(k, c));
    vouch_key_free(c);
    c = NULL;
    /* wrong sizes and prefixes */
    assert_code(vouch_key_from_public_raw(VOUCH_KEY_P256, raw, 32, &c, &e), VOUCH_E_KEY_POINT, e);
    assert_code(vouch_key_from_public_raw(VOUCH_KEY_P256, big, 64, &c, &e), VOUCH_E_KEY_POINT, e);
    raw[0] = 0x04;
    assert_code(vouch_key_from_public_raw(VOUCH_KEY_P256, raw, 33, &c, &e), VOUCH_E_KEY_POINT, e);
    big[0] = 0x02;
    assert_code(vouch_key_from_public_raw(VOUCH_KEY_P256, big, 65, &c, &e), VOUCH_E_KEY_POINT, e);
    /* off the curve: y + 1 */
    big[0] = 0x04;
    big[64] ^= 0x01;
    assert_code(vouch_key_from_public_raw(VOUCH_KEY_P256, big, 65, &c, &e), VOUCH_E_KEY_POINT, e);
    /* x = p (not a field element) */
    memset(raw, 0, sizeof(raw));
    raw[0] = 0x02;
    {
        static const uint8_t p[32] = {0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01, 0, 0, 0, 0,
                                      0,    0,    0,    0,    0,    0,    0,    0,    0xff, 0xff,
                                      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
        memcpy(raw + 1, p, 32);
    }
    assert_code(vouch_key_from_public_raw(VOUCH_KEY_P256, raw, 33, &c, &e), VOUCH_E_KEY_POINT, e);
    /* x = p uncompressed, with any y: OpenSSL's import refuses it (the only
     * check a P-256 public key gets after decompression) */
    memset(big, 0x11, sizeof(big));
    big[0] = 0x04;
    memcpy(big + 1, raw + 1, 32);
    assert_code(vouch_key_from_public_raw(VOUCH_KEY_P256, big, 65, &c, &e), VOUCH_E_KEY_POINT, e);
    /* all-zero point */
    memset(big, 0, sizeof(big));
    big[0] = 0x04;
    assert_code(vouch_key_from_public_raw(VOUCH_KEY_P256, big, 65, &c, &e), VOUCH_E_KEY_POINT, e);
    assert_code(vouch_key_from_public_raw(VOUCH_KEY_P256, NULL, 0, &c, &e), VOUCH_E_KEY_POINT, e);
    assert_code(vouch_key_from_public_raw(VOUCH_KEY_NONE, raw, 33, &c, &e), VOUCH_E_KEY_TYPE, e);
    assert_null(c);

    /* Ed25519 */
    assert_ok(vouch_key_public_raw(ed, raw, sizeof(raw), &n, &e), e);
    assert_int_equal(n, 32);
    assert_ok(vouch_key_from_public_raw(VOUCH_KEY_ED25519, raw, 32, &c, &e), e);
    assert_true(vouch_key_equal(ed, c));
    assert_false(vouch_key_equal(k, c));
    vouch_key_free(c);
    c = NULL;
    assert_code(vouch_key_from_public_raw(VOUCH_KEY_ED25519, raw, 31, &c, &e), VOUCH_E_KEY_POINT,
                e);
    assert_code(vouch_key_from_public_raw(VOUCH_KEY_ED25519, raw, 33, &c, &e), VOUCH_E_KEY_POINT,
                e);
    /* y = 2 is not on the curve (no square root for x^2); y = p is not canonical */
    memset(raw, 0, 32);
    raw[0] = 2;
    assert_code(vouch_key_from_public_raw(VOUCH_KEY_ED25519, raw, 32, &c, &e), VOUCH_E_KEY_POINT,
                e);
    memset(raw, 0xff, 32);
    raw[0] = 0xed;
    raw[31] = 0x7f;
    assert_code(vouch_key_from_public_raw(VOUCH_KEY_ED25519, raw, 32, &c, &e), VOUCH_E_KEY_POINT,
                e);
    /* y = 1 (the neutral point) is a point, but of small order: refused with
     * either sign bit (test_ed25519_small_order has all of them) */
    memset(raw, 0, 32);
    raw[0] = 1;
    assert_code(vouch_key_from_public_raw(VOUCH_KEY_ED25519, raw, 32, &c, &e), VOUCH_E_KEY_POINT,
                e);
    raw[31] = 0x80;
    assert_code(vouch_key_from_public_raw(VOUCH_KEY_ED25519, raw, 32, &c, &e), VOUCH_E_KEY_POINT,
                e);
    assert_null(c);
    /* output buffer too small */
    assert_code(vouch_key_public_raw(k, raw, 32, &n, &e), VOUCH_E_ARG, e);
    json_decref(jwk);
    vouch_key_free(k);
    vouch_key_free(ed);
}

/* About half of all 32-byte strings are Ed25519 points; every generated
 * key is one. Guards the point check against being too strict or too lax. */
static void test_ed25519_point_check(void **state)
{
    int accepted = 0;
    vouch_err e;
    (void)state;

    for (int i = 0; i < 400; i++) {
        uint8_t raw[32];
        vouch_key *k = NULL;
        assert_int_equal(RAND_bytes(raw, sizeof(raw)), 1);
        if (vouch_key_from_public_raw(VOUCH_KEY_ED25519, raw, 32, &k, &e) == VOUCH_OK)
            accepted++;
        else
            assert_int_equal(e.code, VOUCH_E_KEY_POINT);
        vouch_key_free(k);
    }
    assert_in_range(accepted, 120, 280);
    for (int i = 0; i < 50; i++) {
        vouch_key *g = gen(VOUCH_KEY_ED25519), *c = NULL;
        uint8_t raw[VOUCH_PUB_MAX];
        size_t n = 0;
        assert_ok(vouch_key_public_raw(g, raw, sizeof(raw), &n, &e), e);
        assert_ok(vouch_key_from_public_raw(VOUCH_KEY_ED25519, raw, n, &c, &e), e);
        vouch_key_free(c);
        vouch_key_free(g);
    }
}

/* The 8 Ed25519 points of small order, written with the sign bit clear
 * (each is also tested with it set): the identity, (0, -1), (+-sqrt(-1), 0),
 * the four points of order 8, and the non-canonical y = p (0) and y = p + 1
 * (1). 14 encodings in all, as in libsodium's blocklist. Under any of them
 * a signature can be made to verify without the private key (the identity:
 * R = identity, S = 0 verifies every message under plain OpenSSL 3.0). */
static const struct {
    const char *what;
    const char *hex; /* little-endian, sign bit clear */
} small_order[] = {
    {"y=1 (identity, order 1)", "0100000000000000000000000000000000000000000000000000000000000000"},
    {"y=-1 (order 2)", "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"},
    {"y=0 (order 4)", "0000000000000000000000000000000000000000000000000000000000000000"},
    {"order 8 (26e8..)", "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"},
    {"order 8 (c717..)", "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"},
    {"y=p (non-canonical 0)", "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"},
    {"y=p+1 (non-canonical 1)", "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"},
};

#define SMALL_ORDER_MSG "Ed25519 public key is a point of small order"
#define OFF_CURVE_MSG "Ed25519 public key is not a point on the curve"

static void hex32(const char *hex, uint8_t out[32])
{
    uint8_t *b = NULL;
    size_t n = 0;
    vouch_err e;

    assert_ok(vouch_hex_decode(hex, strlen(hex), &b, &n, &e), e);
    assert_int_equal(n, 32);
    memcpy(out, b, 32);
    vouch_free(b);
}

/* {"kty":"OKP","crv":"Ed25519","x":<raw>} */
static json_t *okp_jwk(const uint8_t raw[32])
{
    char x[44];
    size_t n = 0;
    vouch_err e;
    json_t *j;

    assert_ok(vouch_b64url_encode_buf(raw, 32, x, sizeof(x), &n, &e), e);
    assert_int_equal(n, 43);
    j = json_pack("{s:s, s:s, s:s}", "kty", "OKP", "crv", "Ed25519", "x", x);
    assert_non_null(j);
    return j;
}

/* "did:key:z" + base58btc(0xed 0x01 || raw), malloc'd */
static char *ed_did_key(const uint8_t raw[32])
{
    uint8_t b[34] = {0xed, 0x01};
    char *mb = NULL, *did;
    vouch_err e;

    memcpy(b + 2, raw, 32);
    assert_ok(vouch_multibase_encode(b, sizeof(b), &mb, &e), e);
    did = malloc(strlen("did:key:") + strlen(mb) + 1);
    assert_non_null(did);
    strcpy(did, "did:key:");
    strcat(did, mb);
    vouch_free(mb);
    return did;
}

/* SPKI PEM (RFC 8410: 302a300506032b6570032100 || raw) */
static void ed_spki_pem(const uint8_t raw[32], char pem[128])
{
    static const uint8_t prefix[12] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
                                       0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};
    uint8_t der[44];
    char b64[61];

    memcpy(der, prefix, sizeof(prefix));
    memcpy(der + sizeof(prefix), raw, 32);
    assert_int_equal(EVP_EncodeBlock((unsigned char *)b64, der, sizeof(der)), 60);
    snprintf(pem, 128, "-----BEGIN PUBLIC KEY-----\n%s\n-----END PUBLIC KEY-----\n", b64);
}

/* Every entry point that takes an Ed25519 public key from outside: the
 * code of each, and the message the key module gave. */
static void expect_ed25519_refused(const uint8_t raw[32], const char *why, const char *what)
{
    vouch_key *k = NULL;
    json_t *j = okp_jwk(raw);
    char *did = ed_did_key(raw), pem[128], want[VOUCH_ERR_MSG_MAX];
    vouch_err e;
    vouch_code rc;

    vouch_err_clear(&e);
    rc = vouch_key_from_public_raw(VOUCH_KEY_ED25519, raw, 32, &k, &e);
    if (rc != VOUCH_E_KEY_POINT || strcmp(e.msg, why) != 0)
        fail_msg("%s raw: got %s (%s)", what, vouch_code_name(rc), e.msg);
    assert_null(k);

    rc = vouch_key_from_jwk(j, VOUCH_JWK_PUBLIC, &k, &e);
    if (rc != VOUCH_E_KEY_POINT || strcmp(e.msg, why) != 0)
        fail_msg("%s JWK: got %s (%s)", what, vouch_code_name(rc), e.msg);
    assert_null(k);

    /* did:key keeps its documented code (vouch/did.h) and carries the reason */
    rc = vouch_did_key_decode(did, &k, &e);
    snprintf(want, sizeof(want), "did:key public key: %s", why);
    if (rc != VOUCH_E_KEY_DIDKEY || strcmp(e.msg, want) != 0)
        fail_msg("%s did:key %s: got %s (%s)", what, did, vouch_code_name(rc), e.msg);
    assert_null(k);

    ed_spki_pem(raw, pem);
    rc = vouch_key_from_pem(pem, strlen(pem), &k, &e);
    if (rc != VOUCH_E_KEY_POINT || strcmp(e.msg, why) != 0)
        fail_msg("%s SPKI PEM: got %s (%s)", what, vouch_code_name(rc), e.msg);
    assert_null(k);

    free(did);
    json_decref(j);
}

/* Accepted through every entry point, and the same key each time. */
static void expect_ed25519_accepted(const uint8_t raw[32], const char *what)
{
    vouch_key *k = NULL, *c = NULL;
    json_t *j = okp_jwk(raw);
    char *did = ed_did_key(raw), pem[128];
    uint8_t back[VOUCH_PUB_MAX];
    size_t n = 0;
    vouch_err e;

    vouch_err_clear(&e);
    if (vouch_key_from_public_raw(VOUCH_KEY_ED25519, raw, 32, &k, &e) != VOUCH_OK)
        fail_msg("%s raw: %s", what, e.msg);
    assert_ok(vouch_key_public_raw(k, back, sizeof(back), &n, &e), e);
    assert_int_equal(n, 32);
    assert_memory_equal(back, raw, 32);
    if (vouch_key_from_jwk(j, VOUCH_JWK_PUBLIC, &c, &e) != VOUCH_OK)
        fail_msg("%s JWK: %s", what, e.msg);
    assert_true(vouch_key_equal(k, c));
    vouch_key_free(c);
    c = NULL;
    if (vouch_did_key_decode(did, &c, &e) != VOUCH_OK)
        fail_msg("%s did:key: %s", what, e.msg);
    assert_true(vouch_key_equal(k, c));
    vouch_key_free(c);
    c = NULL;
    ed_spki_pem(raw, pem);
    if (vouch_key_from_pem(pem, strlen(pem), &c, &e) != VOUCH_OK)
        fail_msg("%s SPKI PEM: %s", what, e.msg);
    assert_true(vouch_key_equal(k, c));
    vouch_key_free(c);
    vouch_key_free(k);
    free(did);
    json_decref(j);
}

static void test_ed25519_small_order(void **state)
{
    uint8_t raw[32];
    char what[96];
    (void)state;

    /* all 14 encodings, through raw, JWK, did:key and SPKI PEM */
    for (size_t i = 0; i < sizeof(small_order) / sizeof(small_order[0]); i++)
        for (int sign = 0; sign < 2; sign++) {
            hex32(small_order[i].hex, raw);
            raw[31] |= (uint8_t)(sign << 7);
            snprintf(what, sizeof(what), "%s sign %d", small_order[i].what, sign);
            expect_ed25519_refused(raw, SMALL_ORDER_MSG, what);
        }

    /* one bit away from a blocked encoding: a point of large order is
     * accepted (both signs: its x is not 0), anything else is refused as
     * off the curve. Which neighbours are points was computed beside the
     * table (x^2 = (y^2-1)/(dy^2+1) a square). */
    {
        static const struct {
            size_t row; /* in small_order */
            unsigned bit;
            int point;
        } near[] = {
            {0, 1, 1}, /* y = 3 */
            {2, 2, 1}, /* y = 4 */
            {3, 2, 1}, /* 22e8.. */
            {4, 1, 1}, /* c517.. */
            {1, 2, 1}, /* y = -5 (e8ff..7f) */
            {2, 1, 0}, /* y = 2: no x */
            {5, 1, 0}, /* y = p + 2: not canonical */
            {6, 4, 0}, /* y = p + 17: not canonical */
        };
        for (size_t i = 0; i < sizeof(near) / sizeof(near[0]); i++)
            for (int sign = 0; sign < 2; sign++) {
                hex32(small_order[near[i].row].hex, raw);
                raw[near[i].bit / 8] ^= (uint8_t)(1u << (near[i].bit % 8));
                raw[31] |= (uint8_t)(sign << 7);
                snprintf(what, sizeof(what), "%s, bit %u flipped, sign %d",
                         small_order[near[i].row].what, near[i].bit, sign);
                if (near[i].point)
                    expect_ed25519_accepted(raw, what);
                else
                    expect_ed25519_refused(raw, OFF_CURVE_MSG, what);
            }
    }

    /* generated keys still go through every entry point, and verify */
    for (int i = 0; i < 8; i++) {
        vouch_key *g = gen(VOUCH_KEY_ED25519), *c = NULL;
        uint8_t pub[VOUCH_PUB_MAX], sig[VOUCH_SIG_LEN];
        size_t n = 0;
        vouch_err e;

        assert_ok(vouch_key_public_raw(g, pub, sizeof(pub), &n, &e), e);
        assert_int_equal(n, 32);
        memcpy(raw, pub, 32);
        expect_ed25519_accepted(raw, "generated key");
        assert_ok(vouch_key_sign(g, (const uint8_t *)msg, strlen(msg), sig, &e), e);
        assert_ok(vouch_key_from_public_raw(VOUCH_KEY_ED25519, raw, 32, &c, &e), e);
        assert_ok(vouch_key_verify(c, (const uint8_t *)msg, strlen(msg), sig, sizeof(sig), &e),
                  e);
        vouch_key_free(c);
        vouch_key_free(g);
    }
}

static void test_jwk_roundtrip(void **state)
{
    vouch_key_type types[] = {VOUCH_KEY_P256, VOUCH_KEY_ED25519};
    (void)state;

    for (size_t i = 0; i < 2; i++) {
        vouch_key *k = gen(types[i]), *c = NULL;
        json_t *jwk = NULL;
        char *text = NULL;
        size_t n = 0;
        vouch_err e;

        assert_ok(vouch_key_to_jwk(k, &jwk, &e), e);
        assert_null(json_object_get(jwk, "d"));
        assert_ok(vouch_json_dump(jwk, &text, &n, &e), e);
        /* members in RFC 7638 order */
        assert_true(strncmp(text, types[i] == VOUCH_KEY_P256 ? "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\""
                                                              : "{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"",
                            types[i] == VOUCH_KEY_P256 ? 31 : 34) == 0);
        assert_ok(vouch_key_from_jwk(jwk, VOUCH_JWK_PUBLIC, &c, &e), e);
        assert_true(vouch_key_equal(k, c));
        assert_false(vouch_key_has_private(c));
        /* the thumbprint is SHA-256 of exactly that compact text */
        {
            char tp[VOUCH_THUMBPRINT_LEN + 1], *want = NULL;
            uint8_t dg[32];
            unsigned dl = 0;
            assert_int_equal(EVP_Digest(text, n, dg, &dl, EVP_sha256(), NULL), 1);
            assert_ok(vouch_b64url_encode(dg, 32, &want, NULL, &e), e);
            assert_ok(vouch_key_thumbprint(k, tp, &e), e);
            assert_int_equal(strlen(tp), VOUCH_THUMBPRINT_LEN);
            assert_string_equal(tp, want);
            vouch_free(want);
        }
        vouch_free(text);
        json_decref(jwk);
        vouch_key_free(c);
        vouch_key_free(k);
    }
}

/* A P-256 key from RFC 7517 A.2 (private: x, y, d). */
#define RFC7517_X "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4"
#define RFC7517_Y "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"
#define RFC7517_D "870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eAE"
/* RFC 8037 A.1 Ed25519 */
#define RFC8037_X "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
#define RFC8037_D "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"

struct jwk_case {
    const char *json;
    unsigned flags;
    vouch_code want;
};

#define EC_XY "\"x\":\"" RFC7517_X "\",\"y\":\"" RFC7517_Y "\""
#define OKP_X "\"x\":\"" RFC8037_X "\""

static const struct jwk_case jwk_cases[] = {
    /* accepted */
    {"{\"kty\":\"EC\",\"crv\":\"P-256\"," EC_XY "}", 0, VOUCH_OK},
    {"{\"kty\":\"OKP\",\"crv\":\"Ed25519\"," OKP_X "}", 0, VOUCH_OK},
    {"{\"kty\":\"EC\",\"crv\":\"P-256\"," EC_XY ",\"kid\":\"k1\",\"use\":\"sig\",\"alg\":\"ES256\"}", 0, VOUCH_OK},
    {"{\"kty\":\"OKP\",\"crv\":\"Ed25519\"," OKP_X ",\"alg\":\"EdDSA\",\"key_ops\":[\"verify\"]}", 0, VOUCH_OK},
    {"{\"kty\":\"EC\",\"crv\":\"P-256\"," EC_XY ",\"d\":\"" RFC7517_D "\"}", VOUCH_JWK_ALLOW_PRIVATE, VOUCH_OK},
    {"{\"kty\":\"OKP\",\"crv\":\"Ed25519\"," OKP_X ",\"d\":\"" RFC8037_D "\"}", VOUCH_JWK_ALLOW_PRIVATE, VOUCH_OK},
    /* kty and crv */
    {"[]", 0, VOUCH_E_KEY_JWK},
    {"{\"crv\":\"P-256\"," EC_XY "}", 0, VOUCH_E_KEY_JWK},
    {"{\"kty\":1,\"crv\":\"P-256\"," EC_XY "}", 0, VOUCH_E_KEY_JWK},
    {"{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}", 0, VOUCH_E_KEY_TYPE},
    {"{\"kty\":\"oct\",\"k\":\"AAAA\"}", 0, VOUCH_E_KEY_TYPE},
    {"{\"kty\":\"ec\",\"crv\":\"P-256\"," EC_XY "}", 0, VOUCH_E_KEY_TYPE},
    {"{\"kty\":\"EC\\u0000\",\"crv\":\"P-256\"," EC_XY "}", 0, VOUCH_E_KEY_TYPE},
    {"{\"kty\":\"EC\"," EC_XY "}", 0, VOUCH_E_KEY_JWK},
    {"{\"kty\":\"EC\",\"crv\":\"P-384\"," EC_XY "}", 0, VOUCH_E_KEY_TYPE},
    {"{\"kty\":\"EC\",\"crv\":\"secp256k1\"," EC_XY "}", 0, VOUCH_E_KEY_TYPE},
    {"{\"kty\":\"EC\",\"crv\":\"Ed25519\"," OKP_X "}", 0, VOUCH_E_KEY_TYPE},
    {"{\"kty\":\"OKP\",\"crv\":\"X25519\"," OKP_X "}", 0, VOUCH_E_KEY_TYPE},
    {"{\"kty\":\"OKP\",\"crv\":\"Ed448\"," OKP_X "}", 0, VOUCH_E_KEY_TYPE},
    {"{\"kty\":\"OKP\",\"crv\":\"P-256\"," EC_XY "}", 0, VOUCH_E_KEY_TYPE},
    /* coordinates */
    {"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" RFC7517_X "\"}", 0, VOUCH_E_KEY_JWK},
    {"{\"kty\":\"EC\",\"crv\":\"P-256\",\"y\":\"" RFC7517_Y "\"}", 0, VOUCH_E_KEY_JWK},
    {"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":5,\"y\":\"" RFC7517_Y "\"}", 0, VOUCH_E_KEY_JWK},
    {"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" RFC7517_X "=\",\"y\":\"" RFC7517_Y "\"}", 0, VOUCH_E_KEY_JWK},
    {"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D\",\"y\":\"" RFC7517_Y "\"}", 0, VOUCH_E_KEY_JWK},
    {"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4A\",\"y\":\"" RFC7517_Y "\"}", 0, VOUCH_E_KEY_JWK},
    /* standard base64 alphabet, whitespace, non-zero trailing bits */
    {"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4\",\"y\":\"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IF+M\"}", 0, VOUCH_E_KEY_JWK},
    {"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4\",\"y\":\"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4 FyM\"}", 0, VOUCH_E_KEY_JWK},
    {"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D5\",\"y\":\"" RFC7517_Y "\"}", 0, VOUCH_E_KEY_JWK},
    /* not on the curve (y changed) */
    {"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" RFC7517_X "\",\"y\":\"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyA\"}", 0, VOUCH_E_KEY_POINT},
    {"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"y\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}", 0, VOUCH_E_KEY_POINT},
    {"{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}", 0, VOUCH_E_KEY_POINT},
    {"{\"kty\":\"OKP\",\"crv\":\"Ed25519\"," OKP_X ",\"y\":\"" RFC7517_Y "\"}", 0, VOUCH_E_KEY_JWK},
    {"{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHUR\"}", 0, VOUCH_E_KEY_JWK},
    /* private members */
    {"{\"kty\":\"EC\",\"crv\":\"P-256\"," EC_XY ",\"d\":\"" RFC7517_D "\"}", 0, VOUCH_E_KEY_PRIVATE},
    {"{\"kty\":\"OKP\",\"crv\":\"Ed25519\"," OKP_X ",\"d\":\"" RFC8037_D "\"}", 0, VOUCH_E_KEY_PRIVATE},
    {"{\"kty\":\"EC\",\"crv\":\"P-256\"," EC_XY ",\"d\":null}", 0, VOUCH_E_KEY_PRIVATE},
    {"{\"kty\":\"EC\",\"crv\":\"P-256\"," EC_XY ",\"p\":\"AQAB\"}", 0, VOUCH_E_KEY_PRIVATE},
    {"{\"kty\":\"EC\",\"crv\":\"P-256\"," EC_XY ",\"k\":\"AQAB\"}", 0, VOUCH_E_KEY_PRIVATE},
    {"{\"kty\":\"EC\",\"crv\":\"P-256\"," EC_XY ",\"d\":\"" RFC7517_D "\",\"p\":\"AQAB\"}", VOUCH_JWK_ALLOW_PRIVATE, VOUCH_E_KEY_JWK},
    /* d that does not belong to x/y, out of range, malformed */
    {"{\"kty\":\"EC\",\"crv\":\"P-256\"," EC_XY ",\"d\":\"970MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eAE\"}", VOUCH_JWK_ALLOW_PRIVATE, VOUCH_E_KEY_JWK},
    {"{\"kty\":\"EC\",\"crv\":\"P-256\"," EC_XY ",\"d\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}", VOUCH_JWK_ALLOW_PRIVATE, VOUCH_E_KEY_JWK},
    {"{\"kty\":\"EC\",\"crv\":\"P-256\"," EC_XY ",\"d\":\"_____________________________________________\"}", VOUCH_JWK_ALLOW_PRIVATE, VOUCH_E_KEY_JWK},
    {"{\"kty\":\"EC\",\"crv\":\"P-256\"," EC_XY ",\"d\":\"__________________________________________8\"}", VOUCH_JWK_ALLOW_PRIVATE, VOUCH_E_KEY_JWK},
    {"{\"kty\":\"OKP\",\"crv\":\"Ed25519\"," OKP_X ",\"d\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}", VOUCH_JWK_ALLOW_PRIVATE, VOUCH_E_KEY_JWK},
    {"{\"kty\":\"OKP\",\"crv\":\"Ed25519\"," OKP_X ",\"d\":7}", VOUCH_JWK_ALLOW_PRIVATE, VOUCH_E_KEY_JWK},
    /* alg, use, key_ops */
    {"{\"kty\":\"EC\",\"crv\":\"P-256\"," EC_XY ",\"alg\":\"ES384\"}", 0, VOUCH_E_KEY_JWK},
    {"{\"kty\":\"EC\",\"crv\":\"P-256\"," EC_XY ",\"alg\":\"EdDSA\"}", 0, VOUCH_E_KEY_JWK},
    {"{\"kty\":\"EC\",\"crv\":\"P-256\"," EC_XY ",\"alg\":\"none\"}", 0, VOUCH_E_KEY_JWK},
    {"{\"kty\":\"EC\",\"crv\":\"P-256\"," EC_XY ",\"alg\":\"HS256\"}", 0, VOUCH_E_KEY_JWK},
    {"{\"kty\":\"EC\",\"crv\":\"P-256\"," EC_XY ",\"alg\":1}", 0, VOUCH_E_KEY_JWK},
    {"{\"kty\":\"OKP\",\"crv\":\"Ed25519\"," OKP_X ",\"alg\":\"ES256\"}", 0, VOUCH_E_KEY_JWK},
    {"{\"kty\":\"EC\",\"crv\":\"P-256\"," EC_XY ",\"use\":\"enc\"}", 0, VOUCH_E_KEY_JWK},
    {"{\"kty\":\"EC\",\"crv\":\"P-256\"," EC_XY ",\"key_ops\":[\"encrypt\"]}", 0, VOUCH_E_KEY_JWK},
    {"{\"kty\":\"EC\",\"crv\":\"P-256\"," EC_XY ",\"key_ops\":\"verify\"}", 0, VOUCH_E_KEY_JWK},
};

static void test_jwk_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(jwk_cases) / sizeof(jwk_cases[0]); i++) {
        /* plain jansson: callers may hand us values our parser would refuse (NUL) */
        json_t *j = json_loads(jwk_cases[i].json, JSON_ALLOW_NUL, NULL);
        vouch_key *k = NULL;
        vouch_err e;
        vouch_code rc;

        assert_non_null(j);
        vouch_err_clear(&e);
        rc = vouch_key_from_jwk(j, jwk_cases[i].flags, &k, &e);
        if (rc != jwk_cases[i].want)
            fail_msg("case %zu %s: got %s (%s), want %s", i, jwk_cases[i].json,
                     vouch_code_name(rc), e.msg, vouch_code_name(jwk_cases[i].want));
        if (rc == VOUCH_OK) {
            assert_non_null(k);
            assert_int_equal(vouch_key_has_private(k), jwk_cases[i].flags != 0);
        } else {
            assert_null(k);
            /* messages never echo key material */
            assert_null(strstr(e.msg, RFC7517_D));
            assert_null(strstr(e.msg, RFC8037_D));
        }
        vouch_key_free(k);
        json_decref(j);
    }
}

/* A private JWK signs, and the key it makes matches the public half. */
static void test_jwk_private_signs(void **state)
{
    json_t *j = parse("{\"kty\":\"EC\",\"crv\":\"P-256\"," EC_XY ",\"d\":\"" RFC7517_D "\"}");
    json_t *pj = parse("{\"kty\":\"EC\",\"crv\":\"P-256\"," EC_XY "}");
    vouch_key *k = NULL, *p = NULL;
    uint8_t sig[64];
    vouch_err e;
    (void)state;

    assert_ok(vouch_key_from_jwk(j, VOUCH_JWK_ALLOW_PRIVATE, &k, &e), e);
    assert_ok(vouch_key_from_jwk(pj, 0, &p, &e), e);
    assert_true(vouch_key_equal(k, p));
    assert_ok(vouch_key_sign(k, (const uint8_t *)msg, strlen(msg), sig, &e), e);
    assert_ok(vouch_key_verify(p, (const uint8_t *)msg, strlen(msg), sig, 64, &e), e);
    assert_code(vouch_key_from_jwk(NULL, 0, &k, &e), VOUCH_E_ARG, e);
    vouch_key_free(k);
    vouch_key_free(p);
    json_decref(j);
    json_decref(pj);
}

static void test_pem(void **state)
{
    char *dir = test_tmpdir(), priv[4200], pub[4200];
    vouch_key_type types[] = {VOUCH_KEY_P256, VOUCH_KEY_ED25519};
    struct stat st;
    (void)state;

    for (size_t i = 0; i < 2; i++) {
        vouch_key *k = gen(types[i]), *l = NULL, *lp = NULL;
        uint8_t sig[64];
        vouch_err e;

        snprintf(priv, sizeof(priv), "%s/k%zu.pem", dir, i);
        snprintf(pub, sizeof(pub), "%s/k%zu.pub.pem", dir, i);
        assert_ok(vouch_key_save_pem(k, priv, 0, &e), e);
        assert_int_equal(stat(priv, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        assert_code(vouch_key_save_pem(k, priv, 0, &e), VOUCH_E_EXISTS, e);
        assert_ok(vouch_key_save_pem(k, pub, 1, &e), e);
        assert_int_equal(stat(pub, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0644);

        assert_ok(vouch_key_load(priv, &l, &e), e);
        assert_true(vouch_key_has_private(l));
        assert_true(vouch_key_equal(k, l));
        assert_ok(vouch_key_sign(l, (const uint8_t *)msg, strlen(msg), sig, &e), e);
        assert_ok(vouch_key_load(pub, &lp, &e), e);
        assert_false(vouch_key_has_private(lp));
        assert_ok(vouch_key_verify(lp, (const uint8_t *)msg, strlen(msg), sig, 64, &e), e);
        /* a public key cannot be saved as private */
        assert_code(vouch_key_save_pem(lp, priv, 0, &e), VOUCH_E_KEY_NOT_PRIVATE, e);

        /* group- or world-readable private keys are refused; public ones are fine */
        vouch_key_free(l);
        l = NULL;
        assert_int_equal(chmod(priv, 0640), 0);
        assert_code(vouch_key_load(priv, &l, &e), VOUCH_E_PERM, e);
        assert_int_equal(chmod(priv, 0604), 0);
        assert_code(vouch_key_load(priv, &l, &e), VOUCH_E_PERM, e);
        assert_int_equal(chmod(priv, 0400), 0);
        assert_null(l);
        assert_ok(vouch_key_load(priv, &l, &e), e);
        vouch_key_free(l);
        vouch_key_free(lp);
        vouch_key_free(k);
    }
    test_rmtree(dir);
    free(dir);
}

/* PEM text: traditional EC, unsupported types, encrypted, garbage. */
static void test_pem_text(void **state)
{
    vouch_key *k = NULL, *g = gen(VOUCH_KEY_P256);
    EVP_PKEY *other;
    BIO *bio;
    char *data;
    long n;
    vouch_err e;
    json_t *jwk;
    (void)state;

    /* "EC PRIVATE KEY" (SEC1) is read as well as PKCS#8 */
    jwk = parse("{\"kty\":\"EC\",\"crv\":\"P-256\"," EC_XY ",\"d\":\"" RFC7517_D "\"}");
    assert_ok(vouch_key_from_jwk(jwk, VOUCH_JWK_ALLOW_PRIVATE, &k, &e), e);
    json_decref(jwk);
    vouch_key_free(g);
    g = k;
    k = NULL;
    {
        /* re-encode through OpenSSL: PKCS#8 from us, then traditional */
        char *dir = test_tmpdir(), path[4200];
        unsigned char *txt = NULL;
        size_t len = 0;
        EVP_PKEY *pk;
        snprintf(path, sizeof(path), "%s/k.pem", dir);
        assert_ok(vouch_key_save_pem(g, path, 0, &e), e);
        assert_ok(vouch_file_read(path, 65536, &txt, &len, &e), e);
        assert_non_null(strstr((char *)txt, "-----BEGIN PRIVATE KEY-----"));
        bio = BIO_new_mem_buf(txt, (int)len);
        pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
        assert_non_null(pk);
        BIO_free(bio);
        bio = BIO_new(BIO_s_mem());
        assert_int_equal(PEM_write_bio_PrivateKey_traditional(bio, pk, NULL, NULL, 0, NULL, NULL), 1);
        n = BIO_get_mem_data(bio, &data);
        assert_non_null(memmem(data, (size_t)n, "-----BEGIN EC PRIVATE KEY-----", 30));
        assert_ok(vouch_key_from_pem(data, (size_t)n, &k, &e), e);
        assert_true(vouch_key_equal(k, g));
        vouch_key_free(k);
        k = NULL;
        BIO_free(bio);
        /* encrypted PKCS#8 is refused, never prompted for */
        bio = BIO_new(BIO_s_mem());
        assert_int_equal(PEM_write_bio_PKCS8PrivateKey(bio, pk, EVP_aes_128_cbc(), "pw", 2, NULL, NULL), 1);
        n = BIO_get_mem_data(bio, &data);
        assert_code(vouch_key_from_pem(data, (size_t)n, &k, &e), VOUCH_E_KEY_PEM, e);
        BIO_free(bio);
        EVP_PKEY_free(pk);
        vouch_free(txt);
        test_rmtree(dir);
        free(dir);
    }
    /* P-384 and RSA keys are refused by type */
    other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    bio = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PUBKEY(bio, other), 1);
    n = BIO_get_mem_data(bio, &data);
    assert_code(vouch_key_from_pem(data, (size_t)n, &k, &e), VOUCH_E_KEY_TYPE, e);
    BIO_free(bio);
    bio = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PrivateKey(bio, other, NULL, NULL, 0, NULL, NULL), 1);
    n = BIO_get_mem_data(bio, &data);
    assert_code(vouch_key_from_pem(data, (size_t)n, &k, &e), VOUCH_E_KEY_TYPE, e);
    BIO_free(bio);
    EVP_PKEY_free(other);
    other = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    bio = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PUBKEY(bio, other), 1);
    n = BIO_get_mem_data(bio, &data);
    assert_code(vouch_key_from_pem(data, (size_t)n, &k, &e), VOUCH_E_KEY_TYPE, e);
    BIO_free(bio);
    EVP_PKEY_free(other);
    /* garbage */
    assert_code(vouch_key_from_pem("hello", 5, &k, &e), VOUCH_E_KEY_PEM, e);
    {
        const char *bad = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
        assert_code(vouch_key_from_pem(bad, strlen(bad), &k, &e), VOUCH_E_KEY_PEM, e);
        bad = "-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n";
        assert_code(vouch_key_from_pem(bad, strlen(bad), &k, &e), VOUCH_E_KEY_PEM, e);
    }
    assert_null(k);
    vouch_key_free(g);
}

static void test_load_jwk_files(void **state)
{
    char *dir = test_tmpdir(), path[4200];
    vouch_key *k = NULL;
    vouch_err e;
    (void)state;

    snprintf(path, sizeof(path), "%s/pub.jwk", dir);
    write_file(path, "{\"kty\":\"OKP\",\"crv\":\"Ed25519\"," OKP_X "}\n", 0644);
    assert_ok(vouch_key_load(path, &k, &e), e);
    assert_false(vouch_key_has_private(k));
    vouch_key_free(k);
    k = NULL;

    snprintf(path, sizeof(path), "%s/priv.jwk", dir);
    write_file(path, " {\"kty\":\"OKP\",\"crv\":\"Ed25519\"," OKP_X ",\"d\":\"" RFC8037_D "\"}", 0644);
    assert_code(vouch_key_load(path, &k, &e), VOUCH_E_PERM, e);
    assert_null(strstr(e.msg, RFC8037_D));
    assert_int_equal(chmod(path, 0600), 0);
    assert_ok(vouch_key_load(path, &k, &e), e);
    assert_true(vouch_key_has_private(k));
    vouch_key_free(k);
    k = NULL;

    /* broken JSON is a JSON error; a JWK rule is a key error */
    snprintf(path, sizeof(path), "%s/dup.jwk", dir);
    write_file(path, "{\"kty\":\"OKP\",\"kty\":\"OKP\",\"crv\":\"Ed25519\"," OKP_X "}", 0644);
    assert_code(vouch_key_load(path, &k, &e), VOUCH_E_JSON_DUPLICATE, e);
    snprintf(path, sizeof(path), "%s/rsa.jwk", dir);
    write_file(path, "{\"kty\":\"RSA\"}", 0644);
    assert_code(vouch_key_load(path, &k, &e), VOUCH_E_KEY_TYPE, e);
    snprintf(path, sizeof(path), "%s/text", dir);
    write_file(path, "neither\n", 0600);
    assert_code(vouch_key_load(path, &k, &e), VOUCH_E_KEY_PEM, e);
    snprintf(path, sizeof(path), "%s/missing", dir);
    assert_code(vouch_key_load(path, &k, &e), VOUCH_E_NOTFOUND, e);
    assert_code(vouch_key_load(dir, &k, &e), VOUCH_E_IO, e);
    /* larger than any key file */
    {
        char *big = malloc(70000);
        assert_non_null(big);
        memset(big, ' ', 69999);
        big[69999] = '\0';
        snprintf(path, sizeof(path), "%s/big", dir);
        write_file(path, big, 0600);
        free(big);
        assert_code(vouch_key_load(path, &k, &e), VOUCH_E_LIMIT, e);
    }
    assert_null(k);
    test_rmtree(dir);
    free(dir);
}

/* Verify from several threads on one key, while another thread signs. */
struct thr {
    vouch_key *k;
    uint8_t sig[64];
    int fails;
};

static void *thr_verify(void *arg)
{
    struct thr *t = arg;
    vouch_err e;

    for (int i = 0; i < 300; i++) {
        uint8_t s[64];
        if (vouch_key_verify(t->k, (const uint8_t *)msg, strlen(msg), t->sig, 64, &e) != VOUCH_OK)
            t->fails++;
        if (i % 10 == 0 &&
            (vouch_key_sign(t->k, (const uint8_t *)msg, strlen(msg), s, &e) != VOUCH_OK ||
             vouch_key_verify(t->k, (const uint8_t *)msg, strlen(msg), s, 64, &e) != VOUCH_OK))
            t->fails++;
        s[0] = (uint8_t)(t->sig[0] ^ 0x80);
        memcpy(s + 1, t->sig + 1, 63);
        if (vouch_key_verify(t->k, (const uint8_t *)msg, strlen(msg), s, 64, &e) == VOUCH_OK)
            t->fails++;
    }
    return NULL;
}

static void test_threads(void **state)
{
    vouch_key_type types[] = {VOUCH_KEY_P256, VOUCH_KEY_ED25519};
    (void)state;

    for (size_t i = 0; i < 2; i++) {
        struct thr t[4];
        pthread_t th[4];
        vouch_key *k = gen(types[i]);
        vouch_err e;

        for (int j = 0; j < 4; j++) {
            t[j].k = k;
            t[j].fails = 0;
            assert_ok(vouch_key_sign(k, (const uint8_t *)msg, strlen(msg), t[j].sig, &e), e);
            assert_int_equal(pthread_create(&th[j], NULL, thr_verify, &t[j]), 0);
        }
        for (int j = 0; j < 4; j++) {
            assert_int_equal(pthread_join(th[j], NULL), 0);
            assert_int_equal(t[j].fails, 0);
        }
        vouch_key_free(k);
    }
}

/* A table attached while other threads verify (and sign) with the key:
 * every verdict stays right, before, during and after. */
static void test_precompute_while_verifying(void **state)
{
    struct thr t[4];
    pthread_t th[4];
    vouch_key *k = gen(VOUCH_KEY_P256);
    vouch_err e;
    (void)state;

    for (int j = 0; j < 4; j++) {
        t[j].k = k;
        t[j].fails = 0;
        assert_ok(vouch_key_sign(k, (const uint8_t *)msg, strlen(msg), t[j].sig, &e), e);
        assert_int_equal(pthread_create(&th[j], NULL, thr_verify, &t[j]), 0);
    }
    assert_code(vouch_key_precompute(k, &e), PRECOMPUTE_RC, e);
    for (int j = 0; j < 4; j++) {
        assert_int_equal(pthread_join(th[j], NULL), 0);
        assert_int_equal(t[j].fails, 0);
    }
    vouch_key_free(k);
}

/* Every allocation of ours failing in turn gives NOMEM (or a clean
 * success), never a crash or a leak. */
static void test_alloc_failures(void **state)
{
    char *dir = test_tmpdir(), path[4200];
    json_t *j = parse("{\"kty\":\"EC\",\"crv\":\"P-256\"," EC_XY ",\"d\":\"" RFC7517_D "\"}");
    vouch_key *base = NULL;
    vouch_err e;
    int ok_seen = 0;
    (void)state;

    assert_ok(vouch_key_from_jwk(j, VOUCH_JWK_ALLOW_PRIVATE, &base, &e), e);
    snprintf(path, sizeof(path), "%s/k.pem", dir);
    assert_ok(vouch_key_save_pem(base, path, 0, &e), e);
    for (long n = 0; n < 1000 && !ok_seen; n++) {
        vouch_key *k = NULL, *l = NULL;
        json_t *out = NULL;
        char tp[VOUCH_THUMBPRINT_LEN + 1];
        vouch_code rc;

        vouch_alloc_fail_after(n);
        rc = vouch_key_from_jwk(j, VOUCH_JWK_ALLOW_PRIVATE, &k, &e);
        if (rc == VOUCH_OK)
            rc = vouch_key_to_jwk(k, &out, &e);
        if (rc == VOUCH_OK)
            rc = vouch_key_thumbprint(k, tp, &e);
        if (rc == VOUCH_OK)
            rc = vouch_key_load(path, &l, &e);
        vouch_alloc_fail_after(-1);
        if (rc != VOUCH_OK && rc != VOUCH_E_NOMEM)
            fail_msg("allocation %ld failing gave %s (%s)", n, vouch_code_name(rc), e.msg);
        ok_seen = rc == VOUCH_OK;
        json_decref(out);
        vouch_key_free(k);
        vouch_key_free(l);
    }
    assert_true(ok_seen);
    vouch_key_free(base);
    json_decref(j);
    test_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type_names),
        cmocka_unit_test(test_sign_verify_p256),
        cmocka_unit_test(test_sign_verify_ed25519),
        cmocka_unit_test(test_es256_range),
        cmocka_unit_test(test_es256_against_openssl),
        cmocka_unit_test(test_precompute_same_results),
        cmocka_unit_test(test_precompute_api),
        cmocka_unit_test(test_public_raw),
        cmocka_unit_test(test_ed25519_point_check),
        cmocka_unit_test(test_ed25519_small_order),
        cmocka_unit_test(test_jwk_roundtrip),
        cmocka_unit_test(test_jwk_cases),
        cmocka_unit_test(test_jwk_private_signs),
        cmocka_unit_test(test_pem),
        cmocka_unit_test(test_pem_text),
        cmocka_unit_test(test_load_jwk_files),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_precompute_while_verifying),
        cmocka_unit_test(test_alloc_failures),
    };
    vouch_json_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
