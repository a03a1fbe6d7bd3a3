/* test_p256_ord.c - mirrors lib/p256_ord.c: the inverse and the ECDSA
 * scalars modulo the P-256 order n, against OpenSSL's BN_mod_inverse and
 * BN_mod_mul (generic code that shares nothing with ours), and
 * a·a^-1 = 1 mod n checked with BN_mod_mul:
 *   - 200,000 random a in [1, n-1];
 *   - edges: 1..1000 and n-1000..n-1, (n+1)/2 (the inverse of 2), 2^255,
 *     2^256 mod n, and every run of ones (2^hi - 2^lo), every run of zeros
 *     in 256 ones, and n minus every run of ones: whatever of these is in
 *     [1, n-1] is inverted, the rest must be refused;
 *   - refusals: 0, n, n+1, 2^256-1 and random values >= n (out all zero);
 *   - u1 = e·s^-1 and u2 = r·s^-1 for random e (any 256 bits), r, s, and
 *     e = 0, n, 2^256-1, r or s = 1 or n-1; r or s out of range refused.
 * Random values come from OpenSSL's RNG; a mismatch prints its input. */
#include "testutil.h"

#include <string.h>

#include <openssl/bn.h>

#include "p256_ord.h"

#ifdef VOUCH__P256_ORD

static BN_CTX *ctx;
static BIGNUM *n; /* the P-256 order */

static int setup(void **state)
{
    (void)state;
    ctx = BN_CTX_new();
    n = NULL;
    if (!ctx ||
        !BN_hex2bn(&n, "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551"))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    BN_free(n);
    BN_CTX_free(ctx);
    return 0;
}

static void to32(uint8_t out[32], const BIGNUM *x)
{
    assert_int_equal(BN_bn2binpad(x, out, 32), 32);
}

static int is_zero32(const uint8_t b[32])
{
    static const uint8_t zero[32];
    return memcmp(b, zero, 32) == 0;
}

/* vouch__p256_ord_inv on x (< 2^256): for x in [1, n-1] the same as
 * BN_mod_inverse, and x·x^-1 = 1 mod n; otherwise refused, out all zero. */
static void check_inv(const BIGNUM *x)
{
    BIGNUM *want = BN_new(), *prod = BN_new(), *got;
    uint8_t in[32], out[32], ref[32];
    char *hex;

    assert_non_null(want);
    assert_non_null(prod);
    to32(in, x);
    memset(out, 0x5a, sizeof(out));
    if (BN_is_zero(x) || BN_cmp(x, n) >= 0) {
        if (vouch__p256_ord_inv(out, in) != 0 || !is_zero32(out)) {
            hex = BN_bn2hex(x);
            fail_msg("inverse of %s (out of range) not refused", hex);
        }
    } else {
        assert_non_null(BN_mod_inverse(want, x, n, ctx));
        to32(ref, want);
        if (vouch__p256_ord_inv(out, in) != 1 || memcmp(out, ref, 32) != 0) {
            hex = BN_bn2hex(x);
            fail_msg("inverse of %s differs from BN_mod_inverse", hex);
        }
        got = BN_bin2bn(out, 32, NULL);
        assert_non_null(got);
        assert_int_equal(BN_mod_mul(prod, got, x, n, ctx), 1);
        assert_true(BN_is_one(prod));
        BN_free(got);
    }
    BN_free(want);
    BN_free(prod);
}

static void test_inv_random(void **state)
{
    BIGNUM *x = BN_new();
    (void)state;

    assert_non_null(x);
    /* memcheck runs ~50x slower: its job is memory errors, the volume is
     * the plain and ASan runs' */
    for (int i = 0, rounds = test_under_valgrind() ? 10000 : 200000; i < rounds; i++) {
        do
            assert_int_equal(BN_rand_range(x, n), 1);
        while (BN_is_zero(x));
        check_inv(x);
    }
    BN_free(x);
}

static void test_inv_edges(void **state)
{
    BIGNUM *x = BN_new(), *run = BN_new(), *ones = BN_new();
    (void)state;

    assert_non_null(x);
    assert_non_null(run);
    assert_non_null(ones);
    for (unsigned long k = 1; k <= 1000; k++) {
        assert_int_equal(BN_set_word(x, k), 1);
        check_inv(x);
        assert_int_equal(BN_sub(x, n, x), 1);
        check_inv(x);
    }
    /* (n+1)/2 = 2^-1, 2^255, 2^256 mod n */
    assert_int_equal(BN_add(x, n, BN_value_one()) && BN_rshift1(x, x), 1);
    check_inv(x);
    assert_int_equal(BN_set_word(x, 0) && BN_set_bit(x, 255), 1);
    check_inv(x);
    assert_int_equal(BN_set_word(x, 0) && BN_set_bit(x, 256) && BN_nnmod(x, x, n, ctx), 1);
    check_inv(x);
    /* runs: bits lo..hi-1 set (2^hi - 2^lo), cleared in 2^256 - 1, and
     * subtracted from n */
    assert_int_equal(BN_set_word(ones, 0) && BN_set_bit(ones, 256) && BN_sub_word(ones, 1), 1);
    /* under valgrind every 8th low end (see test_inv_random) */
    for (int lo = 0; lo < 256; lo += test_under_valgrind() ? 8 : 1) {
        for (int hi = lo + 1; hi <= 256; hi++) {
            assert_int_equal(BN_set_word(run, 0) && BN_set_bit(run, hi), 1);
            assert_int_equal(BN_set_word(x, 0) && BN_set_bit(x, lo) && BN_sub(run, run, x), 1);
            check_inv(run);
            assert_int_equal(BN_sub(x, ones, run), 1);
            check_inv(x);
            if (BN_cmp(run, n) < 0) {
                assert_int_equal(BN_sub(x, n, run), 1);
                check_inv(x);
            }
        }
    }
    BN_free(x);
    BN_free(run);
    BN_free(ones);
}

static void test_inv_refused(void **state)
{
    BIGNUM *x = BN_new(), *span = BN_new();
    uint8_t in[32], out[32];
    (void)state;

    assert_non_null(x);
    assert_non_null(span);
    BN_zero(x);
    check_inv(x);
    assert_non_null(BN_copy(x, n));
    check_inv(x);
    assert_int_equal(BN_add_word(x, 1), 1);
    check_inv(x);
    memset(in, 0xff, sizeof(in));
    memset(out, 0x5a, sizeof(out));
    assert_int_equal(vouch__p256_ord_inv(out, in), 0);
    assert_true(is_zero32(out));
    /* random values in [n, 2^256) */
    assert_int_equal(BN_set_word(span, 0) && BN_set_bit(span, 256) && BN_sub(span, span, n), 1);
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(BN_rand_range(x, span) && BN_add(x, x, n), 1);
        check_inv(x);
    }
    BN_free(x);
    BN_free(span);
}

/* vouch__p256_ord_scalars against BN_mod_inverse and BN_mod_mul, for r and
 * s in range (e anything below 2^256). */
static void check_scalars(const BIGNUM *e, const BIGNUM *r, const BIGNUM *s)
{
    BIGNUM *w = BN_new(), *u = BN_new();
    uint8_t eb[32], rb[32], sb[32], u1[32], u2[32], want[32];

    assert_non_null(w);
    assert_non_null(u);
    to32(eb, e);
    to32(rb, r);
    to32(sb, s);
    assert_int_equal(vouch__p256_ord_scalars(u1, u2, eb, rb, sb), 1);
    assert_non_null(BN_mod_inverse(w, s, n, ctx));
    assert_int_equal(BN_mod_mul(u, e, w, n, ctx), 1);
    to32(want, u);
    if (memcmp(u1, want, 32) != 0) {
        char *he = BN_bn2hex(e), *hs = BN_bn2hex(s);
        fail_msg("u1 for e = %s, s = %s differs", he, hs);
    }
    assert_int_equal(BN_mod_mul(u, r, w, n, ctx), 1);
    to32(want, u);
    if (memcmp(u2, want, 32) != 0) {
        char *hr = BN_bn2hex(r), *hs = BN_bn2hex(s);
        fail_msg("u2 for r = %s, s = %s differs", hr, hs);
    }
    BN_free(w);
    BN_free(u);
}

static void rand_in_range(BIGNUM *x)
{
    do
        assert_int_equal(BN_rand_range(x, n), 1);
    while (BN_is_zero(x));
}

static void test_scalars(void **state)
{
    BIGNUM *e = BN_new(), *r = BN_new(), *s = BN_new(), *nm1 = BN_new();
    (void)state;

    assert_non_null(e);
    assert_non_null(r);
    assert_non_null(s);
    assert_non_null(nm1);
    assert_int_equal(BN_sub(nm1, n, BN_value_one()), 1);
    for (int i = 0, rounds = test_under_valgrind() ? 2000 : 20000; i < rounds; i++) {
        assert_int_equal(BN_rand(e, 256, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY), 1);
        rand_in_range(r);
        rand_in_range(s);
        check_scalars(e, r, s);
    }
    /* e = 0, n, 2^256 - 1 (u1 = 0, 0, reduced); r and s at the ends */
    for (int i = 0; i < 3; i++) {
        if (i == 0)
            BN_zero(e);
        else if (i == 1)
            assert_non_null(BN_copy(e, n));
        else
            assert_int_equal(BN_set_word(e, 0) && BN_set_bit(e, 256) && BN_sub_word(e, 1), 1);
        rand_in_range(r);
        rand_in_range(s);
        check_scalars(e, r, s);
        check_scalars(e, BN_value_one(), BN_value_one());
        check_scalars(e, nm1, nm1);
        check_scalars(e, BN_value_one(), nm1);
        check_scalars(e, nm1, BN_value_one());
    }
    BN_free(e);
    BN_free(r);
    BN_free(s);
    BN_free(nm1);
}

static void test_scalars_refused(void **state)
{
    uint8_t e[32], ok[32] = {0}, bad[3][32] = {{0}}, u1[32], u2[32];
    (void)state;

    memset(e, 0x42, sizeof(e));
    ok[31] = 7;
    to32(bad[1], n);
    memset(bad[2], 0xff, 32);
    for (int i = 0; i < 3; i++) {
        memset(u1, 0x5a, 32);
        memset(u2, 0x5a, 32);
        assert_int_equal(vouch__p256_ord_scalars(u1, u2, e, bad[i], ok), 0);
        assert_true(is_zero32(u1) && is_zero32(u2));
        memset(u1, 0x5a, 32);
        memset(u2, 0x5a, 32);
        assert_int_equal(vouch__p256_ord_scalars(u1, u2, e, ok, bad[i]), 0);
        assert_true(is_zero32(u1) && is_zero32(u2));
    }
    assert_int_equal(vouch__p256_ord_scalars(u1, u2, e, ok, ok), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inv_random),
        cmocka_unit_test(test_inv_edges),
        cmocka_unit_test(test_inv_refused),
        cmocka_unit_test(test_scalars),
        cmocka_unit_test(test_scalars_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

#else /* no unsigned __int128: p256_table.c uses BN_mod_inverse */

static void test_not_built(void **state)
{
    (void)state;
    skip();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_not_built),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
#endif
