/*
 * fuzz_p256_ord.c - libFuzzer target, differential: the inverse and the
 * ECDSA scalars modulo the P-256 order n (lib/p256_ord.c, used by ES256
 * verification with a key's table) against OpenSSL's BN_mod_inverse and
 * BN_mod_mul, which share no code with ours.
 *
 * Input: s, then optionally e and r, each 32 bytes big endian; an input
 * shorter than 32 bytes is s itself, zero-extended on the left (small
 * values). Properties (abort on violation):
 *   - vouch__p256_ord_inv(s) refuses exactly s = 0 and s >= n, with an
 *     all-zero output, and otherwise equals BN_mod_inverse(s, n);
 *   - with e and r, vouch__p256_ord_scalars(e, r, s) refuses exactly r or
 *     s outside [1, n-1], with all-zero outputs, and otherwise gives
 *     e·s^-1 and r·s^-1 mod n as BN_mod_mul does.
 * The header is private to lib/, hence the relative include.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>

#include "../../lib/p256_ord.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifdef VOUCH__P256_ORD

static BN_CTX *ctx;
static BIGNUM *n;

/* 1 if x is in [1, n-1] */
static int in_range(const BIGNUM *x)
{
    return !BN_is_zero(x) && BN_cmp(x, n) < 0;
}

static void check_equal(const uint8_t got[32], const BIGNUM *want)
{
    uint8_t b[32];

    if (BN_bn2binpad(want, b, 32) != 32 || memcmp(got, b, 32) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t zero[32];
    uint8_t s[32] = {0}, out[32], u1[32], u2[32];
    BIGNUM *bs, *be, *br, *w, *u;
    int ok;

    if (!ctx) {
        ctx = BN_CTX_new();
        if (!ctx ||
            !BN_hex2bn(&n, "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551"))
            abort();
    }
    if (size < 32)
        memcpy(s + 32 - size, data, size);
    else
        memcpy(s, data, 32);
    bs = BN_bin2bn(s, 32, NULL);
    be = BN_new();
    br = BN_new();
    w = BN_new();
    u = BN_new();
    if (!bs || !be || !br || !w || !u)
        abort();
    ok = vouch__p256_ord_inv(out, s);
    if (ok != in_range(bs))
        abort();
    if (!ok && memcmp(out, zero, 32) != 0)
        abort();
    if (ok) {
        if (!BN_mod_inverse(w, bs, n, ctx))
            abort();
        check_equal(out, w);
    }
    if (size >= 96) {
        if (!BN_bin2bn(data + 32, 32, be) || !BN_bin2bn(data + 64, 32, br))
            abort();
        ok = vouch__p256_ord_scalars(u1, u2, data + 32, data + 64, s);
        if (ok != (in_range(bs) && in_range(br)))
            abort();
        if (!ok && (memcmp(u1, zero, 32) != 0 || memcmp(u2, zero, 32) != 0))
            abort();
        if (ok) {
            if (!BN_mod_mul(u, be, w, n, ctx))
                abort();
            check_equal(u1, u);
            if (!BN_mod_mul(u, br, w, n, ctx))
                abort();
            check_equal(u2, u);
        }
    }
    BN_free(bs);
    BN_free(be);
    BN_free(br);
    BN_free(w);
    BN_free(u);
    return 0;
}

#else /* no unsigned __int128: nothing of ours to compare */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)data;
    (void)size;
    return 0;
}
#endif
