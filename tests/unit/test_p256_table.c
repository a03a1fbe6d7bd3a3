/* test_p256_table.c - mirrors lib/p256_table.c: the table's verification
 * equation on digests a message cannot be chosen to hash to, with a key whose
 * private scalar d the test knows, so that signatures can be made for any
 * digest and nonce. Each verdict is also asked of OpenSSL's own ECDSA verify
 * (EVP, on the same raw digest), which must agree:
 *   - e = 0, e = n and e = 2^256 - 1 (u1 = e·w is 0, 0 and reduced);
 *   - e = r·d, where u1·G = u2·Q and the sum is a doubling;
 *   - e = -r·d, where u1·G + u2·Q is the point at infinity (refused);
 *   - (r, n - s), the other valid form of every signature;
 *   - r or s out of [1, n-1] (VOUCH_E_ARG: the caller checks first);
 *   - a table for a point off the curve, and out of memory.
 * Not covered here: x(R) >= n, which a test cannot reach by choice (about
 * 2^-128 per signature); Wycheproof's "k*G has a large x-coordinate" vectors
 * reach it (tests/vectors/vec_wycheproof_sig.c runs them with a table). */
#include "testutil.h"

#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>

#include "p256_table.h"

#ifdef VOUCH_HAVE_P256_TABLE

typedef struct fixture {
    EC_GROUP *g;
    BN_CTX *ctx;
    BIGNUM *d;
    const BIGNUM *n;
    uint8_t pub[65];
    EVP_PKEY *pkey;          /* the same public key, for OpenSSL's verify */
    vouch__p256_table *t;
} fixture;

static void fixture_init(fixture *f)
{
    EC_POINT *q;
    vouch_key *k = NULL;
    char *pem = NULL;
    BIO *bio;
    vouch_err e;

    memset(f, 0, sizeof(*f));
    f->g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    f->ctx = BN_CTX_new();
    f->d = BN_new();
    assert_non_null(f->g);
    assert_non_null(f->ctx);
    assert_non_null(f->d);
    f->n = EC_GROUP_get0_order(f->g);
    q = EC_POINT_new(f->g);
    assert_non_null(q);
    do
        assert_int_equal(BN_rand_range(f->d, f->n), 1);
    while (BN_is_zero(f->d));
    assert_int_equal(EC_POINT_mul(f->g, q, f->d, NULL, NULL, f->ctx), 1);
    assert_int_equal(EC_POINT_point2oct(f->g, q, POINT_CONVERSION_UNCOMPRESSED, f->pub,
                                        sizeof(f->pub), f->ctx),
                     65);
    EC_POINT_free(q);
    assert_ok(vouch__p256_table_new(f->pub, &f->t, &e), e);
    assert_non_null(f->t);
    assert_ok(vouch_key_from_public_raw(VOUCH_KEY_P256, f->pub, 65, &k, &e), e);
    assert_ok(vouch_key_public_pem(k, &pem, &e), e);
    bio = BIO_new_mem_buf(pem, -1);
    f->pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    assert_non_null(f->pkey);
    BIO_free(bio);
    vouch_free(pem);
    vouch_key_free(k);
}

static void fixture_free(fixture *f)
{
    vouch__p256_table_free(f->t);
    EVP_PKEY_free(f->pkey);
    BN_free(f->d);
    BN_CTX_free(f->ctx);
    EC_GROUP_free(f->g);
}

/* OpenSSL's verdict on (r, s) over the raw digest: 1 valid, 0 not. */
static int openssl_verify(const fixture *f, const uint8_t dg[32], const uint8_t sig[64])
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, 32, NULL), *s = BN_bin2bn(sig + 32, 32, NULL);
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, f->pkey, NULL);
    unsigned char *der = NULL;
    int n, ok;

    assert_non_null(es);
    assert_non_null(c);
    assert_int_equal(ECDSA_SIG_set0(es, r, s), 1);
    n = i2d_ECDSA_SIG(es, &der);
    assert_true(n > 0);
    assert_int_equal(EVP_PKEY_verify_init(c), 1);
    ok = EVP_PKEY_verify(c, der, (size_t)n, dg, 32) == 1;
    OPENSSL_free(der);
    EVP_PKEY_CTX_free(c);
    ECDSA_SIG_free(es);
    return ok;
}

/* Verifies with the table, asserts OpenSSL agrees, returns the code. */
static vouch_code verify_both(const fixture *f, const BIGNUM *e, const uint8_t sig[64])
{
    uint8_t dg[32];
    vouch_err err;
    vouch_code rc;

    assert_int_equal(BN_bn2binpad(e, dg, 32), 32);
    rc = vouch__p256_table_verify(f->t, dg, sig, &err);
    if (rc != VOUCH_OK && rc != VOUCH_E_JWS_BAD_SIGNATURE)
        fail_msg("table verify: %s (%s)", vouch_code_name(rc), err.msg);
    if ((rc == VOUCH_OK) != openssl_verify(f, dg, sig))
        fail_msg("table says %s, OpenSSL the opposite", vouch_code_name(rc));
    if (rc == VOUCH_E_JWS_BAD_SIGNATURE)
        assert_string_equal(err.msg, "ES256 signature does not verify");
    return rc;
}

/* sig = (r, s) with r = x(k·G) mod n, s = k^-1 (e + r·d) mod n for a random
 * nonce k; if e_from_r is set, e is first replaced by e_from_r·r·d mod n
 * (+1 or -1). Returns 0 if s came out 0 (the caller tries again). */
static int sign_raw(const fixture *f, BIGNUM *e, int e_from_r, uint8_t sig[64])
{
    BIGNUM *k = BN_new(), *r = BN_new(), *s = BN_new(), *x = BN_new();
    EC_POINT *p = EC_POINT_new(f->g);
    int ok;

    assert_non_null(k);
    assert_non_null(r);
    assert_non_null(s);
    assert_non_null(x);
    assert_non_null(p);
    do
        assert_int_equal(BN_rand_range(k, f->n), 1);
    while (BN_is_zero(k));
    assert_int_equal(EC_POINT_mul(f->g, p, k, NULL, NULL, f->ctx), 1);
    assert_int_equal(EC_POINT_get_affine_coordinates(f->g, p, x, NULL, f->ctx), 1);
    assert_int_equal(BN_nnmod(r, x, f->n, f->ctx), 1);
    if (e_from_r) {
        assert_int_equal(BN_mod_mul(e, r, f->d, f->n, f->ctx), 1);
        if (e_from_r < 0)
            assert_int_equal(BN_mod_sub(e, f->n, e, f->n, f->ctx), 1);
    }
    /* s = k^-1 (e + r d) */
    assert_int_equal(BN_mod_mul(s, r, f->d, f->n, f->ctx), 1);
    assert_int_equal(BN_mod_add(s, s, e, f->n, f->ctx), 1);
    assert_non_null(BN_mod_inverse(k, k, f->n, f->ctx));
    assert_int_equal(BN_mod_mul(s, s, k, f->n, f->ctx), 1);
    ok = !BN_is_zero(r) && !BN_is_zero(s);
    assert_int_equal(BN_bn2binpad(r, sig, 32), 32);
    assert_int_equal(BN_bn2binpad(s, sig + 32, 32), 32);
    BN_free(k);
    BN_free(r);
    BN_free(s);
    BN_free(x);
    EC_POINT_free(p);
    return ok;
}

/* s replaced by n - s: the other valid form of the same signature. */
static void negate_s(const fixture *f, uint8_t sig[64])
{
    BIGNUM *s = BN_bin2bn(sig + 32, 32, NULL);

    assert_non_null(s);
    assert_int_equal(BN_sub(s, f->n, s), 1);
    assert_int_equal(BN_bn2binpad(s, sig + 32, 32), 32);
    BN_free(s);
}

static void test_random_digests(void **state)
{
    fixture f;
    BIGNUM *e = BN_new();
    uint8_t sig[64];
    (void)state;

    fixture_init(&f);
    assert_non_null(e);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(BN_rand(e, 256, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY), 1);
        if (!sign_raw(&f, e, 0, sig))
            continue;
        assert_int_equal(verify_both(&f, e, sig), VOUCH_OK);
        negate_s(&f, sig);
        assert_int_equal(verify_both(&f, e, sig), VOUCH_OK);
        /* another digest, and r one off */
        assert_int_equal(BN_add_word(e, 1), 1);
        assert_int_equal(verify_both(&f, e, sig), VOUCH_E_JWS_BAD_SIGNATURE);
        assert_int_equal(BN_sub_word(e, 1), 1);
        sig[31] ^= 1;
        assert_int_equal(verify_both(&f, e, sig), VOUCH_E_JWS_BAD_SIGNATURE);
    }
    BN_free(e);
    fixture_free(&f);
}

/* Digests whose u1 is 0 or needs reducing: e = 0, e = n, e = 2^256 - 1. */
static void test_special_digests(void **state)
{
    fixture f;
    BIGNUM *e = BN_new();
    uint8_t sig[64];
    (void)state;

    fixture_init(&f);
    assert_non_null(e);
    for (int i = 0; i < 3; i++) {
        if (i == 0)
            BN_zero(e);
        else if (i == 1)
            assert_non_null(BN_copy(e, f.n));
        else
            assert_int_equal(BN_set_word(e, 0) && BN_set_bit(e, 256) && BN_sub_word(e, 1), 1);
        assert_true(sign_raw(&f, e, 0, sig));
        assert_int_equal(verify_both(&f, e, sig), VOUCH_OK);
        sig[63] ^= 1;
        assert_int_equal(verify_both(&f, e, sig), VOUCH_E_JWS_BAD_SIGNATURE);
    }
    BN_free(e);
    fixture_free(&f);
}

/* e = r·d: u1·G and u2·Q are the same point, and adding them is a doubling.
 * e = -r·d: they cancel; whatever s is, R is the point at infinity. */
static void test_doubling_and_infinity(void **state)
{
    fixture f;
    BIGNUM *e = BN_new();
    uint8_t sig[64];
    (void)state;

    fixture_init(&f);
    assert_non_null(e);
    for (int i = 0; i < 10; i++) {
        assert_true(sign_raw(&f, e, 1, sig));
        assert_int_equal(verify_both(&f, e, sig), VOUCH_OK);
        sig[40] ^= 0x10;
        assert_int_equal(verify_both(&f, e, sig), VOUCH_E_JWS_BAD_SIGNATURE);

        /* s = 0 from the signing formula; any s in range gives infinity */
        assert_false(sign_raw(&f, e, -1, sig));
        memset(sig + 32, 0, 32);
        sig[32 + i] = (uint8_t)(i + 1);
        assert_int_equal(verify_both(&f, e, sig), VOUCH_E_JWS_BAD_SIGNATURE);
    }
    BN_free(e);
    fixture_free(&f);
}

static void test_out_of_range(void **state)
{
    static const uint8_t n_be[32] = {
        0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17,
        0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51};
    fixture f;
    uint8_t dg[32] = {1}, sig[64];
    vouch_err e;
    (void)state;

    fixture_init(&f);
    for (int which = 0; which < 2; which++) {
        memset(sig, 0x11, sizeof(sig));
        memset(sig + 32 * which, 0, 32);
        assert_code(vouch__p256_table_verify(f.t, dg, sig, &e), VOUCH_E_ARG, e);
        memcpy(sig + 32 * which, n_be, 32);
        assert_code(vouch__p256_table_verify(f.t, dg, sig, &e), VOUCH_E_ARG, e);
        memset(sig + 32 * which, 0xff, 32);
        assert_code(vouch__p256_table_verify(f.t, dg, sig, &e), VOUCH_E_ARG, e);
        memcpy(sig + 32 * which, n_be, 32);
        sig[32 * which + 31]--;
        assert_code(vouch__p256_table_verify(f.t, dg, sig, &e), VOUCH_E_JWS_BAD_SIGNATURE, e);
    }
    fixture_free(&f);
}

static void test_new_failures(void **state)
{
    fixture f;
    vouch__p256_table *t = (vouch__p256_table *)&f;
    uint8_t bad[65];
    vouch_err e;
    (void)state;

    fixture_init(&f);
    /* y + 1 is not on the curve (OpenSSL refuses the point) */
    memcpy(bad, f.pub, 65);
    bad[64] ^= 1;
    assert_code(vouch__p256_table_new(bad, &t, &e), VOUCH_E_KEY_CRYPTO, e);
    assert_null(t);
    t = (vouch__p256_table *)&f;
    vouch_alloc_fail_after(0);
    assert_code(vouch__p256_table_new(f.pub, &t, &e), VOUCH_E_NOMEM, e);
    vouch_alloc_fail_after(-1);
    assert_null(t);
    vouch__p256_table_free(NULL);
    fixture_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_digests),
        cmocka_unit_test(test_special_digests),
        cmocka_unit_test(test_doubling_and_infinity),
        cmocka_unit_test(test_out_of_range),
        cmocka_unit_test(test_new_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#else /* this OpenSSL has no EC_GROUP_precompute_mult: there is never a table */

static void test_no_table(void **state)
{
    uint8_t pub[65] = {0x04};
    vouch__p256_table *t = (vouch__p256_table *)pub;
    vouch_err e;
    (void)state;

    assert_code(vouch__p256_table_new(pub, &t, &e), VOUCH_E_KEY_CRYPTO, e);
    assert_null(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
#endif
