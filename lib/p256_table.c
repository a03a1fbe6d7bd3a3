/* p256_table.c - ES256 verification with a precomputed table of multiples
 * of one fixed P-256 public key (p256_table.h).
 *
 * The table is OpenSSL's own: EC_GROUP_precompute_mult on a copy of the
 * group whose generator is the key, which OpenSSL's P-256 code (nistz256)
 * then uses for every multiple of that "generator". The result is compared
 * in Jacobian coordinates (EC_POINT_get_Jprojective_coordinates_GFp), which
 * saves the inversion of the affine x (~2 us of ~22). OpenSSL 3.0
 * deprecates both functions and offers nothing in their place, and the
 * build treats warnings as errors, so this file alone says so to the
 * compiler (OPENSSL_SUPPRESS_DEPRECATED, before the first include);
 * lib/key.c keeps the warnings. Where either function is gone (an OpenSSL
 * built without the deprecated API, or a later version that drops them:
 * CMake's VOUCH_HAVE_P256_TABLE), vouch__p256_table_new fails and keys
 * verify the usual way.
 *
 * s^-1, u1 and u2 modulo the order n are ours (p256_ord.c, ~1.2 us where
 * BN_mod_inverse alone took 7 to 11), wherever unsigned __int128 exists;
 * elsewhere they are OpenSSL's. The self-test below still makes its
 * signature with BN_mod_inverse, so each new table also checks ours
 * against it. */
#define OPENSSL_SUPPRESS_DEPRECATED

#include "p256_table.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>

#include "p256_ord.h"
#include "vouch/mem.h"

#ifdef VOUCH_HAVE_P256_TABLE

struct vouch__p256_table {
    EC_GROUP *g;  /* P-256 with its generator G and G's table */
    EC_GROUP *gq; /* the same curve with the key Q as generator, and Q's table */
};

/* An OpenSSL failure: vouch__crypto_fail empties the error queue. */
static vouch_code ossl_fail(vouch_err *err, const char *what)
{
    return vouch__crypto_fail(err, VOUCH_E_KEY_CRYPTO, what);
}

static vouch_code bad_signature(vouch_err *err)
{
    ERR_clear_error();
    return vouch_err_set(err, VOUCH_E_JWS_BAD_SIGNATURE, "ES256 signature does not verify");
}

void vouch__p256_table_free(vouch__p256_table *t)
{
    if (!t)
        return;
    EC_GROUP_free(t->gq);
    EC_GROUP_free(t->g);
    vouch_free(t);
}

/* out = u1·G + u2·Q, each half from its table, with tmp for the u1·G half;
 * both points belong to t->g. A zero u1 (a digest = 0 mod n) skips its half
 * rather than relying on how the table code treats a zero scalar; u2 may be
 * anything. Returns 1 on success. */
static int table_mul(const vouch__p256_table *t, EC_POINT *out, EC_POINT *tmp, const BIGNUM *u1,
                     const BIGNUM *u2, BN_CTX *ctx)
{
    if (!EC_POINT_mul(t->gq, out, u2, NULL, NULL, ctx))
        return 0;
    if (BN_is_zero(u1))
        return 1;
    return EC_POINT_mul(t->g, tmp, u1, NULL, NULL, ctx) && EC_POINT_add(t->g, out, tmp, out, ctx);
}

/* u1 = e·w and u2 = r·w (mod n) with w = s^-1, for r and s in [1, n-1]
 * (n is prime, so w exists). Every value is public, so variable time is
 * fine. */
static vouch_code verify_scalars(BIGNUM *u1, BIGNUM *u2, const uint8_t dg[32],
                                 const uint8_t sig[64], const BIGNUM *r, const BIGNUM *s,
                                 const BIGNUM *n, BN_CTX *ctx, vouch_err *err)
{
    vouch_code rc = VOUCH_OK;
#ifdef VOUCH__P256_ORD
    /* Our own arithmetic modulo n (p256_ord.c): ~1.2 us in all, where
     * BN_mod_inverse alone takes 7 to 11 (OpenSSL's fast inverse modulo
     * the order is internal). r and s are in range, so a refusal means the
     * inverse failed its check: a bug, reported rather than decided on. */
    uint8_t k1[32], k2[32];

    (void)r, (void)s, (void)n, (void)ctx;
    if (!vouch__p256_ord_scalars(k1, k2, dg, sig, sig + 32))
        rc = vouch_err_set(err, VOUCH_E_INTERNAL, "ES256: s^-1 mod n failed its check");
    else if (!BN_bin2bn(k1, 32, u1) || !BN_bin2bn(k2, 32, u2))
        rc = ossl_fail(err, "ES256 verification with the key's table failed");
#else
    /* No unsigned __int128: OpenSSL's BN_mod_inverse (binary extended
     * Euclid, ~7 us) is the fastest public inverse (BN_mod_exp_mont to
     * n - 2 takes ~9 us). e is the whole digest: n has 256 bits, so
     * nothing is truncated. */
    BIGNUM *e, *w;

    (void)sig;
    BN_CTX_start(ctx);
    e = BN_CTX_get(ctx);
    w = BN_CTX_get(ctx);
    if (!w || !BN_bin2bn(dg, 32, e) || !BN_mod_inverse(w, s, n, ctx) ||
        !BN_mod_mul(u1, e, w, n, ctx) || !BN_mod_mul(u2, r, w, n, ctx))
        rc = ossl_fail(err, "ES256 verification with the key's table failed");
    BN_CTX_end(ctx);
#endif
    return rc;
}

vouch_code vouch__p256_table_verify(const vouch__p256_table *t, const uint8_t dg[32],
                                    const uint8_t sig[64], vouch_err *err)
{
    const BIGNUM *n = EC_GROUP_get0_order(t->g), *p = EC_GROUP_get0_field(t->g);
    BN_CTX *ctx = BN_CTX_new();
    EC_POINT *pt = EC_POINT_new(t->g), *tmp = EC_POINT_new(t->g);
    BIGNUM *r = NULL, *s = NULL, *u1 = NULL, *u2 = NULL, *x = NULL, *z = NULL, *v = NULL;
    vouch_code rc = VOUCH_OK;
    int ok, match;

    if (ctx) {
        BN_CTX_start(ctx);
        r = BN_CTX_get(ctx);
        s = BN_CTX_get(ctx);
        u1 = BN_CTX_get(ctx);
        u2 = BN_CTX_get(ctx);
        x = BN_CTX_get(ctx);
        z = BN_CTX_get(ctx);
        v = BN_CTX_get(ctx);
    }
    if (!v || !pt || !tmp || !p || !BN_bin2bn(sig, 32, r) || !BN_bin2bn(sig + 32, 32, s)) {
        rc = ossl_fail(err, "cannot prepare ES256 verification with the key's table");
        goto out;
    }
    if (BN_is_zero(r) || BN_is_zero(s) || BN_cmp(r, n) >= 0 || BN_cmp(s, n) >= 0) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "ES256 r or s out of range reached the table");
        goto out;
    }
    rc = verify_scalars(u1, u2, dg, sig, r, s, n, ctx, err);
    if (rc != VOUCH_OK)
        goto out;
    if (!table_mul(t, pt, tmp, u1, u2, ctx)) {
        rc = ossl_fail(err, "ES256 verification with the key's table failed");
        goto out;
    }
    if (EC_POINT_is_at_infinity(t->g, pt)) {
        rc = bad_signature(err);
        goto out;
    }
    /* Valid iff x(R) mod n == r. x(R) = X / Z^2 with Z != 0 (not infinity),
     * and x(R) < p < 2n, so x(R) is r or r + n (the latter only if below
     * p): X is compared with r·Z^2 and (r + n)·Z^2 mod p, no inversion.
     * OpenSSL's Montgomery decoding returns X below p, as BN_mod_mul does
     * v, so equal residues are equal numbers. */
    ok = EC_POINT_get_Jprojective_coordinates_GFp(t->g, pt, x, NULL, z, ctx) &&
         BN_mod_sqr(z, z, p, ctx) && BN_mod_mul(v, r, z, p, ctx);
    match = ok && BN_cmp(v, x) == 0;
    if (ok && !match && (ok = BN_add(v, r, n)) && BN_cmp(v, p) < 0) {
        ok = BN_mod_mul(v, v, z, p, ctx);
        match = ok && BN_cmp(v, x) == 0;
    }
    if (!ok)
        rc = ossl_fail(err, "ES256 verification with the key's table failed");
    else if (!match)
        rc = bad_signature(err);
out:
    EC_POINT_free(pt);
    EC_POINT_free(tmp);
    if (ctx)
        BN_CTX_end(ctx);
    BN_CTX_free(ctx);
    return rc;
}

/*
 * A new table must verify as OpenSSL's plain arithmetic does. For fixed a
 * and b, R = a·G + b·Q is computed the plain way (no table, affine x), and
 * r = x(R) mod n, s = r·b^-1, e = r·a·b^-1 is then a valid signature under
 * Q over the digest e (u1 = e·s^-1 = a, u2 = r·s^-1 = b), made without the
 * private key. The table must accept it, and refuse it over e + 1. A table
 * that would not (a later OpenSSL that drops the copied group's curve
 * name, ignores the new generator, or hands out other coordinates, say) is
 * refused here rather than discovered as wrong verdicts.
 */
static vouch_code table_selftest(const vouch__p256_table *t, const EC_POINT *q, BN_CTX *ctx,
                                 vouch_err *err)
{
    const BIGNUM *n = EC_GROUP_get0_order(t->g);
    EC_POINT *pt = EC_POINT_new(t->g);
    BIGNUM *a, *b, *r, *s, *e;
    uint8_t dg[32], sig[64];
    vouch_code good, bad, rc = VOUCH_OK;
    vouch_err sub;

    BN_CTX_start(ctx);
    a = BN_CTX_get(ctx);
    b = BN_CTX_get(ctx);
    r = BN_CTX_get(ctx);
    s = BN_CTX_get(ctx);
    e = BN_CTX_get(ctx);
    if (!e || !pt ||
        !BN_hex2bn(&a, "f6a5612428a315337f25244a934a8ec71cc3abd1f34affdaad3ca693acf4362d") ||
        !BN_hex2bn(&b, "1fb4912be2ce7bb292c12b61ff2ac04ef659f72e35048e40e44a2cce42f072c2") ||
        !EC_POINT_mul(t->g, pt, a, q, b, ctx) ||
        !EC_POINT_get_affine_coordinates(t->g, pt, r, NULL, ctx) || !BN_nnmod(r, r, n, ctx) ||
        !BN_mod_inverse(s, b, n, ctx) || !BN_mod_mul(e, a, s, n, ctx) ||
        !BN_mod_mul(e, e, r, n, ctx) || !BN_mod_mul(s, s, r, n, ctx) ||
        BN_bn2binpad(e, dg, 32) != 32 || BN_bn2binpad(r, sig, 32) != 32 ||
        BN_bn2binpad(s, sig + 32, 32) != 32) {
        rc = ossl_fail(err, "cannot check the P-256 key's table");
        goto out;
    }
    good = vouch__p256_table_verify(t, dg, sig, &sub);
    dg[31] ^= 1;
    bad = good == VOUCH_OK ? vouch__p256_table_verify(t, dg, sig, &sub) : good;
    if (good != VOUCH_OK || bad != VOUCH_E_JWS_BAD_SIGNATURE)
        rc = vouch_err_set(err, VOUCH_E_KEY_CRYPTO,
                           "the P-256 key's table does not verify as OpenSSL does, not used "
                           "(%s: %s)", vouch_code_name(good != VOUCH_OK ? good : bad), sub.msg);
out:
    EC_POINT_free(pt);
    BN_CTX_end(ctx);
    return rc;
}

vouch_code vouch__p256_table_new(const uint8_t pub[65], vouch__p256_table **out,
                                 vouch_err *err)
{
    vouch__p256_table *t = NULL;
    BN_CTX *ctx = NULL;
    EC_POINT *q = NULL;
    vouch_code rc = VOUCH_OK;

    *out = NULL;
    t = vouch_calloc(1, sizeof(*t));
    if (!t) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory");
        goto out;
    }
    ctx = BN_CTX_new();
    t->g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    if (!ctx || !t->g || !(q = EC_POINT_new(t->g)) ||
        !EC_POINT_oct2point(t->g, q, pub, 65, ctx) ||
        /* G's table is built into OpenSSL's P-256 code; other builds make it here */
        (!EC_GROUP_have_precompute_mult(t->g) && !EC_GROUP_precompute_mult(t->g, ctx)) ||
        !(t->gq = EC_GROUP_dup(t->g)) ||
        !EC_GROUP_set_generator(t->gq, q, EC_GROUP_get0_order(t->g), BN_value_one()) ||
        !EC_GROUP_precompute_mult(t->gq, ctx)) {
        rc = ossl_fail(err, "cannot build the P-256 key's table");
        goto out;
    }
    rc = table_selftest(t, q, ctx, err);
    if (rc != VOUCH_OK)
        goto out;
    *out = t;
    t = NULL;
out:
    vouch__p256_table_free(t);
    EC_POINT_free(q);
    BN_CTX_free(ctx);
    return rc;
}

#else /* no table in this build: every key verifies the usual way */

struct vouch__p256_table {
    int never_made;
};

vouch_code vouch__p256_table_new(const uint8_t pub[65], vouch__p256_table **out,
                                 vouch_err *err)
{
    (void)pub;
    *out = NULL;
    return vouch_err_set(err, VOUCH_E_KEY_CRYPTO,
                         "this OpenSSL lacks EC_GROUP_precompute_mult or "
                         "EC_POINT_get_Jprojective_coordinates_GFp: keys verify without a table");
}

void vouch__p256_table_free(vouch__p256_table *t) { vouch_free(t); }

vouch_code vouch__p256_table_verify(const vouch__p256_table *t, const uint8_t dg[32],
                                    const uint8_t sig[64], vouch_err *err)
{
    (void)t;
    (void)dg;
    (void)sig;
    return vouch_err_set(err, VOUCH_E_INTERNAL, "no P-256 table can exist in this build");
}

#endif
