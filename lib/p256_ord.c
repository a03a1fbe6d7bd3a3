/* p256_ord.c - inverse and products modulo the P-256 group order n
 * (p256_ord.h). Variable time: only for public values.
 *
 * The inverse is Bernstein and Yang's divsteps ("Fast constant-time gcd
 * computation and modular inversion", 2019, sections 8-12), in the
 * variable-time form that libsecp256k1 describes in its
 * doc/safegcd_implementation.md: gcd(f = n, g = a) by divsteps, 62 at a
 * time from the low bits of f and g, while d and e with f = d·a and
 * g = e·a (mod n) follow the same 2x2 transition matrices. When g reaches
 * 0, f = ±1 (n is prime and a in [1, n-1]), so a^-1 = ±d. Why each step is
 * right is said where it is done. The products are Montgomery
 * multiplications (CIOS, four 64-bit words).
 *
 * Numbers in the divsteps are "signed62": five int64_t limbs, value
 * sum(v[i]·2^(62·i)), limbs 0..3 in [0, 2^62) and the top limb signed. 62
 * rather than 64 bits so that a matrix entry (|u| + |v| <= 2^62) times a
 * limb, summed, fits an __int128 with room for carries. The code relies on
 * what gcc and clang do (two's complement conversions between integer
 * widths, arithmetic right shift of negative values), as the targets are
 * gcc and clang on x86_64 and aarch64. */
#include "p256_ord.h"

#ifdef VOUCH__P256_ORD

#include <string.h>

typedef unsigned __int128 u128;
typedef __int128 i128;

#define M62 (UINT64_MAX >> 2)

/* n = ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551 */
static const uint64_t N64[4] = {0xf3b9cac2fc632551, 0xbce6faada7179e84, 0xffffffffffffffff,
                                0xffffffff00000000};
static const int64_t N62[5] = {0x33b9cac2fc632551, 0x339beab69c5e7a13, 0x3ffffffffffffffb,
                               0x3fffffc00000003f, 0xff};
/* n^-1 mod 2^62 (update_de), and -n^-1 mod 2^64 (Montgomery) */
#define NINV62 0x332e375511ff43b1u
#define NPRIME 0xccd1c8aaee00bc4fu
_Static_assert(((0xf3b9cac2fc632551u * NINV62) & M62) == 1, "n^-1 mod 2^62");
_Static_assert(0xf3b9cac2fc632551u * NPRIME == UINT64_MAX, "-n^-1 mod 2^64");

/* 2^62·f = u·f0 + v·g0 and 2^62·g = q·f0 + r·g0 over one batch. */
typedef struct trans {
    int64_t u, v, q, r;
} trans;

/*
 * Bound on batches of 62 divsteps: Bernstein and Yang prove (theorem 11.2)
 * that 741 divsteps from delta = 1 bring g to 0 for 256-bit inputs (f odd),
 * and 12·62 = 744; random values take 9 batches. A loop over
 * attacker-chosen values gets a bound even when a theorem gives one.
 */
#define MAX_BATCHES 12

/*
 * 62 divsteps on the low bits of f (odd) and g, from eta = -delta; returns
 * the new eta and sets t. A divstep is: if eta < 0 and g odd, (f, g) =
 * (g, -f) and eta = -eta; then if g odd, g += f; then g /= 2, eta -= 1. Two
 * shortcuts, each the same sequence of divsteps:
 *   - trailing zeros of g are shifted out at once (g even: only halvings);
 *   - while eta >= 0, k steps never swap, and each adds f to g iff g is
 *     odd: in all, g + w·f with w the unique w < 2^k making it divisible by
 *     2^k, w = -g·f^-1 mod 2^k. k <= eta + 1 keeps eta >= 0 throughout, k <=
 *     i stays in the batch, k <= 6 because f·(2 - f·f) is f^-1 mod 2^6 (f
 *     odd: f·f = 1 mod 8, so f·f·(2 - f·f) = 1 - (f·f - 1)^2 = 1 mod 64).
 * After j steps only g's low 62 - j bits are known, and the next decision
 * needs at most i = 62 - j of them, so the low 62 bits of f and g suffice.
 * u, v, q, r are the product of the steps' matrices, scaled by 2^62:
 * |u| + |v| and |q| + |r| never exceed 2^(steps) (paper, 8.3), so they fit
 * int64_t; they are unsigned while computed because shifting negative
 * values left is undefined.
 */
static int64_t divsteps_62(int64_t eta, uint64_t f, uint64_t g, trans *t)
{
    uint64_t u = 1, v = 0, q = 0, r = 1, x, w, tmp;
    int i = 62, zeros, limit;

    for (;;) {
        /* bit i set: at most i zeros, the rest of the batch */
        zeros = __builtin_ctzll(g | (UINT64_MAX << i));
        g >>= zeros;
        u <<= zeros;
        v <<= zeros;
        eta -= zeros;
        i -= zeros;
        if (i == 0)
            break;
        /* g is odd */
        if (eta < 0) {
            eta = -eta;
            tmp = f;
            f = g;
            g = -tmp;
            tmp = u;
            u = q;
            q = -tmp;
            tmp = v;
            v = r;
            r = -tmp;
        }
        limit = eta + 1 < i ? (int)eta + 1 : i;
        if (limit > 6)
            limit = 6;
        x = f * (2 - f * f);
        w = (0 - g * x) & (UINT64_MAX >> (64 - limit));
        g += w * f;
        q += w * u;
        r += w * v;
    }
    t->u = (int64_t)u;
    t->v = (int64_t)v;
    t->q = (int64_t)q;
    t->r = (int64_t)r;
    return eta;
}

/*
 * (d, e) = t·(d, e) / 2^62 mod n, with d and e in (-2n, n) before and
 * after. A negative d or e first gets n added (into (-n, n)): for d that
 * is u·n and q·n more on the two sums, for e v·n and r·n, folded into the
 * multiples md and me of n that are added. Then md, me gain
 * -(x·n^-1 mod 2^62) in (-2^62, 0], which clears the low 62 bits of
 * x = u·d + v·e + md·n, so the division is exact. Bounds: |u·d + v·e| <
 * 2^62·n, minus less than 2^62·n, over 2^62, lands in (-2n, n). In the
 * limb sums, |md| < 2^63 and every product is below 2^125: no overflow.
 */
static void update_de(int64_t d[5], int64_t e[5], const trans *t)
{
    const int64_t u = t->u, v = t->v, q = t->q, r = t->r;
    const int64_t sd = d[4] >> 63, se = e[4] >> 63;
    int64_t md = (u & sd) + (v & se), me = (q & sd) + (r & se);
    i128 cd = (i128)u * d[0] + (i128)v * e[0], ce = (i128)q * d[0] + (i128)r * e[0];

    md -= (int64_t)((NINV62 * (uint64_t)cd + (uint64_t)md) & M62);
    me -= (int64_t)((NINV62 * (uint64_t)ce + (uint64_t)me) & M62);
    cd += (i128)N62[0] * md;
    ce += (i128)N62[0] * me;
    cd >>= 62; /* the low 62 bits are zero */
    ce >>= 62;
    for (int k = 1; k < 5; k++) {
        cd += (i128)u * d[k] + (i128)v * e[k] + (i128)N62[k] * md;
        ce += (i128)q * d[k] + (i128)r * e[k] + (i128)N62[k] * me;
        d[k - 1] = (int64_t)cd & (int64_t)M62;
        e[k - 1] = (int64_t)ce & (int64_t)M62;
        cd >>= 62;
        ce >>= 62;
    }
    d[4] = (int64_t)cd;
    e[4] = (int64_t)ce;
}

/*
 * (f, g) = t·(f, g) / 2^62 over their low len limbs, exactly: the divsteps
 * make the low 62 bits of both sums zero. |f| and |g| never grow (|u| + |v|
 * <= 2^62), so the top limb holds the result.
 */
static void update_fg(int64_t f[5], int64_t g[5], int len, const trans *t)
{
    const int64_t u = t->u, v = t->v, q = t->q, r = t->r;
    i128 cf = (i128)u * f[0] + (i128)v * g[0], cg = (i128)q * f[0] + (i128)r * g[0];

    cf >>= 62;
    cg >>= 62;
    for (int k = 1; k < len; k++) {
        cf += (i128)u * f[k] + (i128)v * g[k];
        cg += (i128)q * f[k] + (i128)r * g[k];
        f[k - 1] = (int64_t)cf & (int64_t)M62;
        g[k - 1] = (int64_t)cg & (int64_t)M62;
        cf >>= 62;
        cg >>= 62;
    }
    f[len - 1] = (int64_t)cf;
    g[len - 1] = (int64_t)cg;
}

/* Carries limbs 0..3 into [0, 2^62); the value is unchanged. */
static void s62_carry(int64_t d[5])
{
    for (int k = 0; k < 4; k++) {
        d[k + 1] += d[k] >> 62;
        d[k] &= (int64_t)M62;
    }
}

static void s62_add_n(int64_t d[5])
{
    for (int k = 0; k < 5; k++)
        d[k] += N62[k];
    s62_carry(d);
}

/* +1 or -1 if f (len limbs) is that, else 0. Over several limbs, +1 is 1
 * then zeros, and -1 is 2^62 - 1 in each limb below a top limb of -1. */
static int s62_unit(const int64_t f[5], int len)
{
    const int64_t top = f[len - 1], low = top < 0 ? (int64_t)M62 : 0;

    if (len == 1)
        return f[0] == 1 ? 1 : f[0] == -1 ? -1 : 0;
    if (top != 0 && top != -1)
        return 0;
    if (top == 0 && f[0] != 1)
        return 0;
    for (int k = top == 0 ? 1 : 0; k < len - 1; k++)
        if (f[k] != low)
            return 0;
    return top == 0 ? 1 : -1;
}

/*
 * out = a^-1 mod n for a in [1, n-1], four 64-bit words, least significant
 * first. Returns 1, or 0 if the divsteps exceed MAX_BATCHES or end with a
 * gcd other than 1 (neither happens for a in range).
 */
static int ord_inv(uint64_t out[4], const uint64_t a[4])
{
    int64_t f[5], g[5], d[5] = {0}, e[5] = {1};
    int64_t eta = -1; /* delta = 1 */
    int len = 5, batch, sign;

    memcpy(f, N62, sizeof(f));
    g[0] = (int64_t)(a[0] & M62);
    g[1] = (int64_t)((a[0] >> 62 | a[1] << 2) & M62);
    g[2] = (int64_t)((a[1] >> 60 | a[2] << 4) & M62);
    g[3] = (int64_t)((a[2] >> 58 | a[3] << 6) & M62);
    g[4] = (int64_t)(a[3] >> 56);
    for (batch = 0; batch < MAX_BATCHES; batch++) {
        trans t;
        int64_t fn, gn;

        eta = divsteps_62(eta, (uint64_t)f[0], (uint64_t)g[0], &t);
        update_de(d, e, &t);
        update_fg(f, g, len, &t);
        if (g[0] == 0) {
            int k = 1;
            while (k < len && g[k] == 0)
                k++;
            if (k == len)
                break;
        }
        /* f and g shrink: when both top limbs are 0 or -1, fold them into
         * the limb below (as its bits 62 and 63) and use one limb less */
        fn = f[len - 1];
        gn = g[len - 1];
        if (len > 1 && ((fn ^ (fn >> 63)) | (gn ^ (gn >> 63))) == 0) {
            f[len - 2] = (int64_t)((uint64_t)f[len - 2] | (uint64_t)fn << 62);
            g[len - 2] = (int64_t)((uint64_t)g[len - 2] | (uint64_t)gn << 62);
            len--;
        }
    }
    sign = batch < MAX_BATCHES ? s62_unit(f, len) : 0;
    if (!sign)
        return 0;
    /* a^-1 = sign·d: d in (-2n, n) -> (-n, n) -> negated (-n, n) -> [0, n) */
    if (d[4] < 0)
        s62_add_n(d);
    if (sign < 0) {
        for (int k = 0; k < 5; k++)
            d[k] = -d[k];
        s62_carry(d);
    }
    if (d[4] < 0)
        s62_add_n(d);
    out[0] = (uint64_t)d[0] | (uint64_t)d[1] << 62;
    out[1] = (uint64_t)d[1] >> 2 | (uint64_t)d[2] << 60;
    out[2] = (uint64_t)d[2] >> 4 | (uint64_t)d[3] << 58;
    out[3] = (uint64_t)d[3] >> 6 | (uint64_t)d[4] << 56;
    return 1;
}

/*
 * out = a·b·2^-256 mod n, in [0, n), for any a < 2^256 and b < n (CIOS).
 * Each of the four rounds adds a[i]·b and the multiple m·n that clears the
 * low word, then drops that word: with t < 2n before, t + a[i]·b + m·n <
 * 2n + 2·(2^64 - 1)·n, so t < 2n again after the division by 2^64; one
 * conditional subtraction ends it. t fits five words (2n < 2^257), six
 * while a round adds.
 */
static void mont_mul(uint64_t out[4], const uint64_t a[4], const uint64_t b[4])
{
    uint64_t t[6] = {0}, m, c, s[4], borrow = 0;
    u128 acc;

    for (int i = 0; i < 4; i++) {
        c = 0;
        for (int j = 0; j < 4; j++) {
            acc = (u128)a[i] * b[j] + t[j] + c;
            t[j] = (uint64_t)acc;
            c = (uint64_t)(acc >> 64);
        }
        acc = (u128)t[4] + c;
        t[4] = (uint64_t)acc;
        t[5] = (uint64_t)(acc >> 64);
        m = t[0] * NPRIME;
        acc = (u128)m * N64[0] + t[0];
        c = (uint64_t)(acc >> 64);
        for (int j = 1; j < 4; j++) {
            acc = (u128)m * N64[j] + t[j] + c;
            t[j - 1] = (uint64_t)acc;
            c = (uint64_t)(acc >> 64);
        }
        acc = (u128)t[4] + c;
        t[3] = (uint64_t)acc;
        t[4] = t[5] + (uint64_t)(acc >> 64);
    }
    for (int j = 0; j < 4; j++) {
        acc = (u128)t[j] - N64[j] - borrow;
        s[j] = (uint64_t)acc;
        borrow = (uint64_t)(acc >> 64) & 1;
    }
    /* t >= n unless the subtraction borrowed past a zero fifth word */
    if (t[4] || !borrow)
        memcpy(out, s, sizeof(s));
    else
        memcpy(out, t, sizeof(s));
}

static void load_be(uint64_t w[4], const uint8_t b[32])
{
    for (int i = 0; i < 4; i++) {
        uint64_t x = 0;
        for (int j = 0; j < 8; j++)
            x = x << 8 | b[8 * (3 - i) + j];
        w[i] = x;
    }
}

static void store_be(uint8_t b[32], const uint64_t w[4])
{
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 8; j++)
            b[8 * (3 - i) + j] = (uint8_t)(w[i] >> (56 - 8 * j));
}

/* 1 if a is in [1, n-1] */
static int in_range(const uint64_t a[4])
{
    if ((a[0] | a[1] | a[2] | a[3]) == 0)
        return 0;
    for (int i = 3; i >= 0; i--)
        if (a[i] != N64[i])
            return a[i] < N64[i];
    return 0;
}

int vouch__p256_ord_inv(uint8_t out[32], const uint8_t a[32])
{
    uint64_t x[4], y[4];
    int ok;

    load_be(x, a);
    ok = in_range(x) && ord_inv(y, x);
    if (!ok)
        memset(y, 0, sizeof(y));
    store_be(out, y);
    return ok;
}

/*
 * With R = 2^256, mont_mul(1, s) = s/R, whose inverse is w = R/s; then
 * mont_mul(e, w) = e/s and mont_mul(r, w) = r/s come out reduced, and
 * mont_mul(s, w) = 1 checks w. Four multiplications (~40 ns each here) and
 * one inverse; mont_mul takes e unreduced, so no reduction of the digest.
 */
int vouch__p256_ord_scalars(uint8_t u1[32], uint8_t u2[32], const uint8_t e[32],
                            const uint8_t r[32], const uint8_t s[32])
{
    static const uint64_t one[4] = {1, 0, 0, 0};
    uint64_t ev[4], rv[4], sv[4], w[4], x[4], y[4] = {0}, z[4] = {0};
    int ok;

    load_be(ev, e);
    load_be(rv, r);
    load_be(sv, s);
    ok = in_range(rv) && in_range(sv);
    if (ok) {
        mont_mul(x, one, sv);
        ok = ord_inv(w, x);
    }
    if (ok) {
        mont_mul(x, sv, w);
        ok = memcmp(x, one, sizeof(one)) == 0;
    }
    if (ok) {
        mont_mul(y, ev, w);
        mont_mul(z, rv, w);
    }
    store_be(u1, y);
    store_be(u2, z);
    return ok;
}

#endif
