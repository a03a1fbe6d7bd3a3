/* key.c - P-256 (ES256) and Ed25519 (EdDSA) keys on OpenSSL 3 EVP, PEM and
 * JWK files, RFC 7638 thumbprints, and PKCS#11 keys (vouch/key.h). */
#include "vouch/key.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "p256_table.h"
#include "pkcs11.h"
#include "vouch/codec.h"
#include "vouch/json.h"
#include "vouch/mem.h"

#define KEY_FILE_MAX (64u * 1024u) /* PEM and JWK key files are < 1 KiB */
#define KEY_CTX_SLOTS 4            /* prepared contexts per key and operation */
#define P256_GROUP "prime256v1"

struct vouch_key {
    atomic_uint refs;       /* vouch_key_ref / vouch_key_free */
    vouch_key_type type;
    EVP_PKEY *pkey;         /* always the public key; the private half too if has_priv */
    int has_priv;           /* in memory */
    vouch__p11_key *p11;    /* private half in a token, or NULL */
    uint8_t pub[65];        /* P-256: uncompressed 04||x||y; Ed25519: 32 bytes */
    size_t publen;
    /* P-256: the table of multiples of the key (vouch_key_precompute), or
     * NULL. Set at most once and freed with the key; like the contexts
     * below, a cache that never changes the key's value or verdicts. */
    _Atomic(vouch__p256_table *) table;
    /* Prepared contexts (fetching the algorithm costs about as much as an
     * Ed25519 verify), [0] for sign and [1] for verify: a caller borrows a
     * free slot's; when all are busy it builds its own, so no one waits.
     * EVP_PKEY_CTX for P-256, EVP_MD_CTX for Ed25519. Not part of the key's
     * value: the key stays immutable for its users. */
    struct ctx_slot {
        pthread_mutex_t lock;
        void *ctx;
    } slots[2][KEY_CTX_SLOTS];
};

/* P-256 group order n, big endian (SEC 2). */
static const uint8_t p256_n[32] = {
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51};

/* SHA-256 is fetched once: a fetch per signature costs more than the hash. */
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256_md;

static void sha256_fetch(void) { sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL); }

static vouch_code sha256(const uint8_t *msg, size_t len, uint8_t out[32], vouch_err *err)
{
    pthread_once(&sha256_once, sha256_fetch);
    if (!sha256_md || EVP_Digest(msg, len, out, NULL, sha256_md, NULL) != 1) {
        ERR_clear_error();
        return vouch_err_set(err, VOUCH_E_KEY_CRYPTO, "SHA-256 failed");
    }
    return VOUCH_OK;
}

/* The OpenSSL error queue is per thread and grows: every failure path that
 * may have pushed onto it ends here. */
vouch_code vouch__crypto_fail(vouch_err *err, vouch_code code, const char *what)
{
    unsigned long e = ERR_peek_last_error();
    char buf[128] = "";

    if (e)
        ERR_error_string_n(e, buf, sizeof(buf));
    ERR_clear_error();
    return vouch_err_set(err, code, "%s%s%s", what, buf[0] ? ": " : "", buf);
}

vouch_key_type vouch_key_type_from_name(const char *name)
{
    if (!name)
        return VOUCH_KEY_NONE;
    if (strcmp(name, "p256") == 0 || strcmp(name, "P-256") == 0)
        return VOUCH_KEY_P256;
    if (strcmp(name, "ed25519") == 0 || strcmp(name, "Ed25519") == 0)
        return VOUCH_KEY_ED25519;
    return VOUCH_KEY_NONE;
}

const char *vouch_key_type_name(vouch_key_type t)
{
    switch (t) {
    case VOUCH_KEY_P256:
        return "p256";
    case VOUCH_KEY_ED25519:
        return "ed25519";
    default:
        return "none";
    }
}

static void ctx_free(vouch_key_type type, void *c)
{
    if (type == VOUCH_KEY_P256)
        EVP_PKEY_CTX_free(c);
    else
        EVP_MD_CTX_free(c);
}

static vouch_key *key_new(vouch_key_type type)
{
    vouch_key *k = vouch_calloc(1, sizeof(*k));
    int n = 0;

    if (!k)
        return NULL;
    for (; n < 2 * KEY_CTX_SLOTS; n++)
        if (pthread_mutex_init(&k->slots[n / KEY_CTX_SLOTS][n % KEY_CTX_SLOTS].lock, NULL) != 0)
            break;
    if (n < 2 * KEY_CTX_SLOTS) {
        while (n-- > 0)
            pthread_mutex_destroy(&k->slots[n / KEY_CTX_SLOTS][n % KEY_CTX_SLOTS].lock);
        vouch_free(k);
        return NULL;
    }
    atomic_init(&k->refs, 1u);
    atomic_init(&k->table, NULL);
    k->type = type;
    return k;
}

vouch_key *vouch_key_ref(const vouch_key *k)
{
    vouch_key *m = (vouch_key *)k;

    if (m)
        atomic_fetch_add_explicit(&m->refs, 1u, memory_order_relaxed);
    return m;
}

void vouch_key_free(vouch_key *k)
{
    /* the last reference frees; acq_rel orders every user's reads of the
     * key before the wipe */
    if (!k || atomic_fetch_sub_explicit(&k->refs, 1u, memory_order_acq_rel) != 1u)
        return;
    for (int op = 0; op < 2; op++)
        for (int i = 0; i < KEY_CTX_SLOTS; i++) {
            ctx_free(k->type, k->slots[op][i].ctx);
            pthread_mutex_destroy(&k->slots[op][i].lock);
        }
    vouch__p256_table_free(atomic_load_explicit(&k->table, memory_order_acquire));
    EVP_PKEY_free(k->pkey); /* OpenSSL clears private scalars on free */
    vouch__p11_free(k->p11);
    vouch_free_secret(k, sizeof(*k));
}

/* The encodings of the Ed25519 points of small order (1, 2, 4 or 8), the
 * sign bit (bit 255) left out: each row stands for two encodings, so the 7
 * rows cover the 8 torsion points in their canonical form and the 6 other
 * ways to write them (y = 1 and y = -1 with the sign bit set, whose x = 0
 * cannot be negative; y = p for 0 and y = p + 1 for 1, the only y >= p that
 * reduce to a small-order y). It is the table of libsodium's
 * ge25519_has_small_order(const unsigned char s[32]) (libsodium 1.0.16 to
 * 1.0.18, crypto_core/ed25519/ref10/ed25519_ref10.c, which also ignores the
 * sign bit); Chalkias et al., "Taming the many EdDSAs" (2020), list the same
 * points. Each row was checked against the curve equation and the group law
 * (order 1, 2, 4, 8). Little-endian y, as on the wire. */
static const uint8_t ed25519_small_order[7][32] = {
    /* y = 1: the identity (order 1) */
    {0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
     0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
     0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
     0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00},
    /* y = p - 1 = -1: (0, -1) (order 2) */
    {0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
    /* y = 0: (+-sqrt(-1), 0) (order 4) */
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
     0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
     0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
     0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00},
    /* the two y of the four points of order 8 */
    {0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0,
     0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0,
     0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39,
     0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05},
    {0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f,
     0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67, 0x0f,
     0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6,
     0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a},
    /* y = p, non-canonical 0 (order 4) */
    {0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
    /* y = p + 1, non-canonical 1 (order 1) */
    {0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
};

/* 1 if raw encodes a point of small order, in any of its 14 encodings. Not
 * constant-time: public keys are public. */
static int ed25519_is_small_order(const uint8_t raw[32])
{
    for (size_t i = 0; i < sizeof(ed25519_small_order) / sizeof(ed25519_small_order[0]); i++)
        if (memcmp(raw, ed25519_small_order[i], 31) == 0 &&
            (raw[31] & 0x7f) == ed25519_small_order[i][31])
            return 1;
    return 0;
}

/* Ed25519 point decoding check (RFC 8032 5.1.3), which OpenSSL 3.0 does not
 * do at import: y < p, and x^2 = (y^2 - 1) / (d y^2 + 1) has a root, with
 * x = 0 only for sign bit 0. (y^2-1)/(dy^2+1) is a square iff the product
 * is, so one Jacobi symbol decides, without an inversion. */
static int ed25519_point_valid(const uint8_t raw[32])
{
    static const char *p_hex = "7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffed";
    static const char *d_hex = "52036cee2b6ffe738cc740797779e89800700a4d4141d8ab75eb4dca135978a3";
    uint8_t be[32];
    BN_CTX *ctx = BN_CTX_new();
    BIGNUM *p = NULL, *d = NULL, *y, *y2, *u, *v;
    int sign = raw[31] >> 7, ok = 0, j;

    if (!ctx)
        goto out;
    BN_CTX_start(ctx);
    y = BN_CTX_get(ctx);
    y2 = BN_CTX_get(ctx);
    u = BN_CTX_get(ctx);
    v = BN_CTX_get(ctx);
    if (!v || !BN_hex2bn(&p, p_hex) || !BN_hex2bn(&d, d_hex))
        goto out;
    for (size_t i = 0; i < 32; i++)
        be[i] = raw[31 - i];
    be[0] &= 0x7f;
    if (!BN_bin2bn(be, 32, y) || BN_cmp(y, p) >= 0) /* non-canonical y */
        goto out;
    if (!BN_mod_sqr(y2, y, p, ctx) || !BN_copy(u, y2) || !BN_sub_word(u, 1) ||
        !BN_mod_mul(v, d, y2, p, ctx) || !BN_add_word(v, 1) || !BN_nnmod(u, u, p, ctx) ||
        !BN_mod_mul(u, u, v, p, ctx))
        goto out;
    j = BN_kronecker(u, p, ctx);
    ok = j == 1 || (j == 0 && sign == 0);
out:
    ERR_clear_error();
    BN_free(p);
    BN_free(d);
    if (ctx)
        BN_CTX_end(ctx);
    BN_CTX_free(ctx);
    return ok;
}

/*
 * The one check of an Ed25519 public key that comes from outside (raw, JWK,
 * did:key, PKCS#11, SPKI PEM): VOUCH_E_KEY_POINT unless raw is a canonical
 * encoding of a point on the curve that is not of small order.
 *
 * OpenSSL 3.0 (observed with Debian 12's 3.0.19) checks none of this: it
 * imports any 32 bytes (EVP_PKEY_new_raw_public_key, SPKI), its
 * EVP_PKEY_public_check says 1 even for y = 2, which is off the curve, it
 * reads y >= p modulo p, and it verifies cofactorless without refusing a
 * small-order A. With A = the identity (01 00..00, or its non-canonical
 * forms such as y = p + 1) the signature R = identity, S = 0 verifies for
 * every message; with the other small-order keys it verifies for about 1
 * message in the key's order. So the small-order table comes first, with its
 * own message, and then the curve and y < p checks.
 */
static vouch_code ed25519_pub_check(const uint8_t raw[32], vouch_err *err)
{
    if (ed25519_is_small_order(raw))
        return vouch_err_set(err, VOUCH_E_KEY_POINT,
                             "Ed25519 public key is a point of small order");
    if (!ed25519_point_valid(raw))
        return vouch_err_set(err, VOUCH_E_KEY_POINT,
                             "Ed25519 public key is not a point on the curve");
    return VOUCH_OK;
}

/* Fills k->pub from k->pkey and checks the key is one we support. */
static vouch_code key_fill_public(vouch_key *k, vouch_err *err)
{
    vouch_code rc = VOUCH_OK;
    BIGNUM *x = NULL, *y = NULL;

    if (EVP_PKEY_is_a(k->pkey, "ED25519")) {
        size_t n = 32;
        k->type = VOUCH_KEY_ED25519;
        if (EVP_PKEY_get_raw_public_key(k->pkey, k->pub, &n) != 1 || n != 32) {
            rc = vouch__crypto_fail(err, VOUCH_E_KEY_CRYPTO, "cannot read Ed25519 public key");
            goto out;
        }
        k->publen = 32;
    } else if (EVP_PKEY_is_a(k->pkey, "EC")) {
        char group[64];
        size_t glen = 0;
        if (EVP_PKEY_get_utf8_string_param(k->pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                           sizeof(group), &glen) != 1 ||
            strcmp(group, P256_GROUP) != 0) {
            ERR_clear_error();
            rc = vouch_err_set(err, VOUCH_E_KEY_TYPE, "EC key is not on curve P-256");
            goto out;
        }
        k->type = VOUCH_KEY_P256;
        /* x and y, not the encoded point, whose form depends on the input */
        if (EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x) != 1 ||
            EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y) != 1 ||
            BN_bn2binpad(x, k->pub + 1, 32) != 32 || BN_bn2binpad(y, k->pub + 33, 32) != 32) {
            rc = vouch__crypto_fail(err, VOUCH_E_KEY_POINT, "P-256 key has no valid public point");
            goto out;
        }
        k->pub[0] = 0x04;
        k->publen = 65;
    } else {
        rc = vouch_err_set(err, VOUCH_E_KEY_TYPE, "key type %s is not supported",
                           EVP_PKEY_get0_type_name(k->pkey) ? EVP_PKEY_get0_type_name(k->pkey)
                                                            : "(unknown)");
    }
out:
    BN_free(x);
    BN_free(y);
    return rc;
}

/* Takes ownership of pkey (freed on failure too). */
static vouch_code key_from_pkey(EVP_PKEY *pkey, int has_priv, vouch_key **out, vouch_err *err)
{
    vouch_code rc;
    vouch_key *k = key_new(VOUCH_KEY_NONE);

    if (!k) {
        EVP_PKEY_free(pkey);
        return vouch_err_set(err, VOUCH_E_NOMEM, "out of memory");
    }
    k->pkey = pkey;
    k->has_priv = has_priv;
    rc = key_fill_public(k, err);
    if (rc != VOUCH_OK) {
        vouch_key_free(k);
        return rc;
    }
    *out = k;
    return VOUCH_OK;
}

vouch_code vouch_key_generate(vouch_key_type type, vouch_key **out, vouch_err *err)
{
    EVP_PKEY *pkey = NULL;

    if (!out)
        return vouch_err_set(err, VOUCH_E_ARG, "vouch_key_generate: out is NULL");
    *out = NULL;
    if (type == VOUCH_KEY_P256)
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    else if (type == VOUCH_KEY_ED25519)
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    else
        return vouch_err_set(err, VOUCH_E_KEY_TYPE, "unknown key type %d", (int)type);
    if (!pkey)
        return vouch__crypto_fail(err, VOUCH_E_KEY_CRYPTO, "key generation failed");
    return key_from_pkey(pkey, 1, out, err);
}

/* ---- P-256 public keys from SEC1 points ----
 *
 * A fromdata import builds the curve's group anew for every key, and
 * OpenSSL's decompression takes a square root whose Montgomery context it
 * also builds anew; with reading x and y back (an inversion each) that was
 * ~45 us per did:key, most of a login's non-signature work. Here a point
 * is decompressed with the field's Montgomery context, made once, and the
 * key is a copy of a template key (the generator) with the uncompressed
 * point set on it: OpenSSL checks that point (x, y < p, on the curve) as it
 * does on import. That is the whole public-key check for P-256: infinity
 * has no 65-byte encoding, and the cofactor is 1 (OpenSSL's quick public
 * check would repeat the same tests, for ~3.5 us a key). */

/* the generator G, uncompressed (SEC 2) */
static const uint8_t p256_g[65] = {
    0x04, 0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47, 0xf8, 0xbc, 0xe6, 0xe5, 0x63,
    0xa4, 0x40, 0xf2, 0x77, 0x03, 0x7d, 0x81, 0x2d, 0xeb, 0x33, 0xa0, 0xf4, 0xa1, 0x39,
    0x45, 0xd8, 0x98, 0xc2, 0x96, 0x4f, 0xe3, 0x42, 0xe2, 0xfe, 0x1a, 0x7f, 0x9b, 0x8e,
    0xe7, 0xeb, 0x4a, 0x7c, 0x0f, 0x9e, 0x16, 0x2b, 0xce, 0x33, 0x57, 0x6b, 0x31, 0x5e,
    0xce, 0xcb, 0xb6, 0x40, 0x68, 0x37, 0xbf, 0x51, 0xf5};

static pthread_once_t p256_once = PTHREAD_ONCE_INIT;
static struct {
    BIGNUM *p, *b, *e;   /* field prime, curve b, (p + 1) / 4 */
    BN_MONT_CTX *mont;   /* Montgomery context of p (read-only once made) */
    EVP_PKEY *tmpl;      /* the public key G; NULL if setup failed */
} p256;

static void p256_setup(void)
{
    static char group[] = P256_GROUP;
    BN_CTX *ctx = BN_CTX_new();
    EVP_PKEY_CTX *pc = NULL;
    EVP_PKEY *tmpl = NULL;
    OSSL_PARAM params[3];
    int ok;

    ok = ctx &&
         BN_hex2bn(&p256.p, "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff") &&
         BN_hex2bn(&p256.b, "5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b") &&
         (p256.e = BN_new()) != NULL && BN_add(p256.e, p256.p, BN_value_one()) &&
         BN_rshift(p256.e, p256.e, 2) && (p256.mont = BN_MONT_CTX_new()) != NULL &&
         BN_MONT_CTX_set(p256.mont, p256.p, ctx);
    if (ok) {
        params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
        params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)p256_g,
                                                      sizeof(p256_g));
        params[2] = OSSL_PARAM_construct_end();
        pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
        ok = pc && EVP_PKEY_fromdata_init(pc) == 1 &&
             EVP_PKEY_fromdata(pc, &tmpl, EVP_PKEY_PUBLIC_KEY, params) == 1;
    }
    if (ok) {
        p256.tmpl = tmpl;
    } else {
        EVP_PKEY_free(tmpl);
        BN_free(p256.p);
        BN_free(p256.b);
        BN_free(p256.e);
        BN_MONT_CTX_free(p256.mont);
        memset(&p256, 0, sizeof(p256));
    }
    ERR_clear_error();
    EVP_PKEY_CTX_free(pc);
    BN_CTX_free(ctx);
}

/* 04 || x || y from 02/03 || x: y^2 = x^3 - 3x + b, and as p = 3 (mod 4),
 * a square a has the roots +-a^((p+1)/4); the parity bit picks one. x >= p,
 * or no root, is not a point. Public data: no need for constant time. */
static vouch_code p256_decompress(const uint8_t in[33], uint8_t out[65], vouch_err *err)
{
    BN_CTX *ctx = BN_CTX_new();
    BIGNUM *x, *y, *r, *t;
    vouch_code rc = VOUCH_OK;

    if (!ctx) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory");
        goto out;
    }
    BN_CTX_start(ctx);
    x = BN_CTX_get(ctx);
    y = BN_CTX_get(ctx);
    r = BN_CTX_get(ctx);
    t = BN_CTX_get(ctx);
    if (!t || !BN_bin2bn(in + 1, 32, x)) {
        rc = vouch__crypto_fail(err, VOUCH_E_NOMEM, "out of memory");
        goto out;
    }
    if (BN_cmp(x, p256.p) >= 0) {
        rc = vouch_err_set(err, VOUCH_E_KEY_POINT, "P-256 public key is not a point on the curve");
        goto out;
    }
    if (!BN_mod_sqr(t, x, p256.p, ctx) || !BN_mod_mul(r, t, x, p256.p, ctx) ||
        !BN_mod_lshift1(t, x, p256.p, ctx) || !BN_mod_add(t, t, x, p256.p, ctx) ||
        !BN_mod_sub(r, r, t, p256.p, ctx) || !BN_mod_add(r, r, p256.b, p256.p, ctx) ||
        !BN_mod_exp_mont(y, r, p256.e, p256.p, ctx, p256.mont) ||
        !BN_mod_sqr(t, y, p256.p, ctx)) {
        rc = vouch__crypto_fail(err, VOUCH_E_KEY_CRYPTO, "P-256 point decompression failed");
        goto out;
    }
    if (BN_cmp(t, r) != 0 || (BN_is_zero(y) && (in[0] & 1))) {
        rc = vouch_err_set(err, VOUCH_E_KEY_POINT, "P-256 public key is not a point on the curve");
        goto out;
    }
    if ((BN_is_odd(y) ? 1 : 0) != (in[0] & 1) && !BN_sub(y, p256.p, y)) {
        rc = vouch__crypto_fail(err, VOUCH_E_KEY_CRYPTO, "P-256 point decompression failed");
        goto out;
    }
    out[0] = 0x04;
    memcpy(out + 1, in + 1, 32);
    if (BN_bn2binpad(y, out + 33, 32) != 32)
        rc = vouch__crypto_fail(err, VOUCH_E_KEY_CRYPTO, "P-256 point decompression failed");
out:
    if (ctx)
        BN_CTX_end(ctx);
    BN_CTX_free(ctx);
    return rc;
}

/* The P-256 EVP_PKEY of a SEC1 point (33 or 65 bytes), the point checked;
 * pub receives it uncompressed. */
static vouch_code p256_pkey(const uint8_t *raw, size_t len, uint8_t pub[65], EVP_PKEY **out,
                            vouch_err *err)
{
    EVP_PKEY *pkey = NULL;
    vouch_code rc = VOUCH_OK;

    pthread_once(&p256_once, p256_setup);
    if (!p256.tmpl) {
        rc = vouch_err_set(err, VOUCH_E_KEY_CRYPTO, "P-256 support could not be set up");
        goto out;
    }
    if (len == 33)
        rc = p256_decompress(raw, pub, err);
    else
        memcpy(pub, raw, 65);
    if (rc != VOUCH_OK)
        goto out;
    pkey = EVP_PKEY_dup(p256.tmpl);
    if (!pkey) {
        rc = vouch__crypto_fail(err, VOUCH_E_KEY_CRYPTO, "cannot prepare EC import");
        goto out;
    }
    if (EVP_PKEY_set_octet_string_param(pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pub, 65) != 1) {
        rc = vouch__crypto_fail(err, VOUCH_E_KEY_POINT, "P-256 public key is not a point on the curve");
        goto out;
    }
out:
    if (rc != VOUCH_OK) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    *out = pkey;
    return rc;
}

/* EVP_PKEY from a raw public key (P-256: 33 or 65 bytes SEC1, Ed25519: 32),
 * the point checked. For P-256, pub (may be NULL) receives the point
 * uncompressed. */
static vouch_code pkey_from_raw(vouch_key_type type, const uint8_t *raw, size_t len,
                                EVP_PKEY **out, uint8_t pub[65], vouch_err *err)
{
    uint8_t point[65];
    vouch_code rc = VOUCH_OK;
    EVP_PKEY *pkey = NULL;

    *out = NULL;
    if (type == VOUCH_KEY_ED25519) {
        if (len != 32) {
            rc = vouch_err_set(err, VOUCH_E_KEY_POINT,
                               "Ed25519 public key is %zu bytes, not 32", len);
            goto out;
        }
        rc = ed25519_pub_check(raw, err);
        if (rc != VOUCH_OK)
            goto out;
        pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, 32);
        if (!pkey)
            rc = vouch__crypto_fail(err, VOUCH_E_KEY_CRYPTO, "cannot import Ed25519 key");
        goto out;
    }
    if (type != VOUCH_KEY_P256) {
        rc = vouch_err_set(err, VOUCH_E_KEY_TYPE, "unknown key type %d", (int)type);
        goto out;
    }
    if (!((len == 33 && (raw[0] == 0x02 || raw[0] == 0x03)) || (len == 65 && raw[0] == 0x04))) {
        rc = vouch_err_set(err, VOUCH_E_KEY_POINT,
                           "P-256 public key is not a 33- or 65-byte SEC1 point");
        goto out;
    }
    rc = p256_pkey(raw, len, point, &pkey, err);
    if (rc == VOUCH_OK && pub)
        memcpy(pub, point, sizeof(point));
out:
    *out = pkey;
    return rc;
}

vouch_code vouch_key_from_public_raw(vouch_key_type type, const uint8_t *raw, size_t len,
                                     vouch_key **out, vouch_err *err)
{
    EVP_PKEY *pkey = NULL;
    uint8_t pub[65];
    vouch_key *k = NULL;
    vouch_code rc;

    if (!out || (!raw && len))
        return vouch_err_set(err, VOUCH_E_ARG, "vouch_key_from_public_raw: NULL argument");
    *out = NULL;
    if (!raw)
        return vouch_err_set(err, VOUCH_E_KEY_POINT, "empty public key");
    rc = pkey_from_raw(type, raw, len, &pkey, pub, err);
    if (rc != VOUCH_OK)
        goto out;
    if (type != VOUCH_KEY_P256) {
        rc = key_from_pkey(pkey, 0, out, err);
        goto out;
    }
    /* the point is known: no need to read x and y back from OpenSSL */
    k = key_new(VOUCH_KEY_P256);
    if (!k) {
        EVP_PKEY_free(pkey);
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory");
        goto out;
    }
    k->pkey = pkey;
    memcpy(k->pub, pub, sizeof(pub));
    k->publen = sizeof(pub);
    *out = k;
out:
    return rc;
}

vouch_code vouch_key_public_raw(const vouch_key *k, uint8_t *out, size_t cap, size_t *len,
                                vouch_err *err)
{
    if (!k || !out || !len)
        return vouch_err_set(err, VOUCH_E_ARG, "vouch_key_public_raw: NULL argument");
    if (cap < 33)
        return vouch_err_set(err, VOUCH_E_ARG, "public key buffer of %zu bytes is too small",
                             cap);
    if (k->type == VOUCH_KEY_P256) {
        out[0] = (uint8_t)(0x02 | (k->pub[64] & 1)); /* SEC1 2.3.3: parity of y */
        memcpy(out + 1, k->pub + 1, 32);
        *len = 33;
    } else {
        memcpy(out, k->pub, 32);
        *len = 32;
    }
    return VOUCH_OK;
}

vouch_key_type vouch_key_get_type(const vouch_key *k) { return k ? k->type : VOUCH_KEY_NONE; }
int vouch_key_has_private(const vouch_key *k) { return k && (k->has_priv || k->p11); }
int vouch_key_is_pkcs11(const vouch_key *k) { return k && k->p11; }

const char *vouch_key_alg(const vouch_key *k)
{
    if (!k)
        return NULL;
    return k->type == VOUCH_KEY_P256 ? "ES256" : "EdDSA";
}

int vouch_key_equal(const vouch_key *a, const vouch_key *b)
{
    if (!a || !b || a->type != b->type || a->publen != b->publen)
        return 0;
    return memcmp(a->pub, b->pub, a->publen) == 0;
}

vouch_code vouch_key_precompute(vouch_key *k, vouch_err *err)
{
    vouch__p256_table *t = NULL, *none = NULL;
    vouch_code rc = VOUCH_OK;

    if (!k)
        return vouch_err_set(err, VOUCH_E_ARG, "vouch_key_precompute: NULL argument");
    /* Ed25519 has no table to make; a P-256 key keeps the one it has */
    if (k->type != VOUCH_KEY_P256 || atomic_load_explicit(&k->table, memory_order_acquire))
        goto out;
    rc = vouch__p256_table_new(k->pub, &t, err);
    if (rc != VOUCH_OK)
        goto out;
    /* release: a verifier that sees the pointer sees the table built; of
     * two callers at once, the first table stays and the other is freed */
    if (atomic_compare_exchange_strong_explicit(&k->table, &none, t, memory_order_acq_rel,
                                                memory_order_acquire))
        t = NULL;
out:
    vouch__p256_table_free(t);
    return rc;
}

vouch_code vouch_key_public_copy(const vouch_key *k, vouch_key **out, vouch_err *err)
{
    if (!k || !out)
        return vouch_err_set(err, VOUCH_E_ARG, "vouch_key_public_copy: NULL argument");
    return vouch_key_from_public_raw(k->type, k->pub, k->publen, out, err);
}

/* ---- signing and verifying ---- */

static EVP_PKEY_CTX *es_ctx_new(EVP_PKEY *pkey, int sign)
{
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);

    if (c && (sign ? EVP_PKEY_sign_init(c) : EVP_PKEY_verify_init(c)) != 1) {
        EVP_PKEY_CTX_free(c);
        c = NULL;
    }
    return c;
}

static EVP_MD_CTX *ed_ctx_new(EVP_PKEY *pkey, int sign)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();

    if (c && (sign ? EVP_DigestSignInit_ex(c, NULL, NULL, NULL, NULL, pkey, NULL)
                   : EVP_DigestVerifyInit_ex(c, NULL, NULL, NULL, NULL, pkey, NULL)) != 1) {
        EVP_MD_CTX_free(c);
        c = NULL;
    }
    return c;
}

static void *ctx_new(const vouch_key *k, int sign)
{
    return k->type == VOUCH_KEY_P256 ? (void *)es_ctx_new(k->pkey, sign)
                                     : (void *)ed_ctx_new(k->pkey, sign);
}

/* Borrows a prepared context for sign or verify: a free slot's (made on its
 * first use), else a new one. NULL if none could be made. */
static void *ctx_get(const vouch_key *k, int sign, struct ctx_slot **slot)
{
    struct ctx_slot *s = ((vouch_key *)k)->slots[sign ? 0 : 1];

    for (int i = 0; i < KEY_CTX_SLOTS; i++) {
        if (pthread_mutex_trylock(&s[i].lock) != 0)
            continue;
        if (!s[i].ctx)
            s[i].ctx = ctx_new(k, sign);
        if (!s[i].ctx) {
            pthread_mutex_unlock(&s[i].lock);
            break;
        }
        *slot = &s[i];
        return s[i].ctx;
    }
    *slot = NULL;
    return ctx_new(k, sign);
}

/* Gives back what ctx_get lent; discard drops a context whose last use
 * failed in a way that may have left it in an unknown state. */
static void ctx_put(const vouch_key *k, struct ctx_slot *slot, void *c, int discard)
{
    if (!slot) {
        ctx_free(k->type, c);
        return;
    }
    if (discard) {
        ctx_free(k->type, slot->ctx);
        slot->ctx = NULL;
    }
    pthread_mutex_unlock(&slot->lock);
}

/* DER INTEGER of a 32-byte unsigned big-endian value; returns bytes written. */
static size_t der_uint(uint8_t *out, const uint8_t v[32])
{
    size_t i = 0, n, o = 0;

    while (i < 31 && v[i] == 0) /* minimal: strip leading zero bytes */
        i++;
    n = 32 - i;
    out[o++] = 0x02;
    out[o++] = (uint8_t)(n + (v[i] >> 7)); /* a leading 0x00 keeps it positive */
    if (v[i] & 0x80)
        out[o++] = 0x00;
    memcpy(out + o, v + i, n);
    return o + n;
}

/* 1 if the 32-byte big-endian v is in [1, n-1]. Public data: no need for
 * constant time. */
static int scalar_in_range(const uint8_t v[32])
{
    static const uint8_t zero[32];
    return memcmp(v, zero, 32) != 0 && memcmp(v, p256_n, 32) < 0;
}

static vouch_code es256_sign(const vouch_key *k, const uint8_t *msg, size_t len,
                             uint8_t sig[VOUCH_SIG_LEN], vouch_err *err)
{
    uint8_t dg[32], der[80];
    const unsigned char *p = der;
    size_t derlen = sizeof(der);
    EVP_PKEY_CTX *c;
    struct ctx_slot *slot;
    ECDSA_SIG *es = NULL;
    const BIGNUM *r, *s;
    vouch_code rc;
    int ok;

    rc = sha256(msg, len, dg, err);
    if (rc != VOUCH_OK)
        goto out;
    if (k->p11) {
        rc = vouch__p11_sign(k->p11, dg, sizeof(dg), sig, err);
        goto out;
    }
    c = ctx_get(k, 1, &slot);
    ok = c && EVP_PKEY_sign(c, der, &derlen, dg, sizeof(dg)) == 1;
    if (c)
        ctx_put(k, slot, c, !ok);
    if (!ok) {
        rc = vouch__crypto_fail(err, VOUCH_E_KEY_CRYPTO, "ES256 signing failed");
        goto out;
    }
    es = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
    if (!es) {
        rc = vouch__crypto_fail(err, VOUCH_E_KEY_CRYPTO, "ES256 signature not DER");
        goto out;
    }
    ECDSA_SIG_get0(es, &r, &s);
    if (BN_bn2binpad(r, sig, 32) != 32 || BN_bn2binpad(s, sig + 32, 32) != 32) {
        rc = vouch__crypto_fail(err, VOUCH_E_KEY_CRYPTO, "ES256 signature value too large");
        goto out;
    }
out:
    ECDSA_SIG_free(es);
    return rc;
}

static vouch_code es256_verify(const vouch_key *k, const uint8_t *msg, size_t len,
                               const uint8_t *sig, vouch_err *err)
{
    uint8_t dg[32], der[80];
    size_t n;
    EVP_PKEY_CTX *c;
    struct ctx_slot *slot;
    const vouch__p256_table *t;
    vouch_code rc;
    int ok;

    if (!scalar_in_range(sig) || !scalar_in_range(sig + 32))
        return vouch_err_set(err, VOUCH_E_JWS_SIG_RANGE,
                             "ES256 signature: r or s is 0 or not below the group order");
    rc = sha256(msg, len, dg, err);
    if (rc != VOUCH_OK)
        return rc;
    /* acquire: a table published by vouch_key_precompute is seen whole */
    t = atomic_load_explicit(&k->table, memory_order_acquire);
    if (t)
        return vouch__p256_table_verify(t, dg, sig, err);
    /* SEQUENCE { INTEGER r, INTEGER s }: at most 2 + 2 * 35 bytes, short form */
    n = der_uint(der + 2, sig);
    n += der_uint(der + 2 + n, sig + 32);
    der[0] = 0x30;
    der[1] = (uint8_t)n;
    n += 2;
    c = ctx_get(k, 0, &slot);
    if (!c)
        return vouch__crypto_fail(err, VOUCH_E_KEY_CRYPTO, "cannot prepare ES256 verification");
    /* a refused signature leaves the context as it was: keep it */
    ok = EVP_PKEY_verify(c, der, n, dg, sizeof(dg)) == 1;
    ctx_put(k, slot, c, 0);
    if (!ok) {
        ERR_clear_error();
        return vouch_err_set(err, VOUCH_E_JWS_BAD_SIGNATURE, "ES256 signature does not verify");
    }
    return VOUCH_OK;
}

static vouch_code ed25519_sign(const vouch_key *k, const uint8_t *msg, size_t len,
                               uint8_t sig[VOUCH_SIG_LEN], vouch_err *err)
{
    EVP_MD_CTX *c;
    struct ctx_slot *slot;
    size_t siglen = VOUCH_SIG_LEN;
    int ok;

    if (k->p11)
        return vouch__p11_sign(k->p11, msg, len, sig, err);
    c = ctx_get(k, 1, &slot);
    ok = c && EVP_DigestSign(c, sig, &siglen, msg, len) == 1 && siglen == VOUCH_SIG_LEN;
    if (c)
        ctx_put(k, slot, c, !ok);
    if (!ok)
        return vouch__crypto_fail(err, VOUCH_E_KEY_CRYPTO, "Ed25519 signing failed");
    return VOUCH_OK;
}

static vouch_code ed25519_verify(const vouch_key *k, const uint8_t *msg, size_t len,
                                 const uint8_t *sig, vouch_err *err)
{
    EVP_MD_CTX *c;
    struct ctx_slot *slot;
    int ok;

    c = ctx_get(k, 0, &slot);
    if (!c)
        return vouch__crypto_fail(err, VOUCH_E_KEY_CRYPTO, "cannot prepare Ed25519 verification");
    ok = EVP_DigestVerify(c, sig, VOUCH_SIG_LEN, msg, len) == 1;
    ctx_put(k, slot, c, 0);
    if (!ok) {
        ERR_clear_error();
        return vouch_err_set(err, VOUCH_E_JWS_BAD_SIGNATURE,
                             "Ed25519 signature does not verify");
    }
    return VOUCH_OK;
}

vouch_code vouch_key_sign(const vouch_key *k, const uint8_t *msg, size_t len,
                          uint8_t sig[VOUCH_SIG_LEN], vouch_err *err)
{
    if (!k || !sig || (!msg && len))
        return vouch_err_set(err, VOUCH_E_ARG, "vouch_key_sign: NULL argument");
    if (!msg)
        msg = (const uint8_t *)"";
    if (!k->has_priv && !k->p11)
        return vouch_err_set(err, VOUCH_E_KEY_NOT_PRIVATE, "signing needs a private key");
    return k->type == VOUCH_KEY_P256 ? es256_sign(k, msg, len, sig, err)
                                     : ed25519_sign(k, msg, len, sig, err);
}

vouch_code vouch_key_verify(const vouch_key *k, const uint8_t *msg, size_t len,
                            const uint8_t *sig, size_t siglen, vouch_err *err)
{
    if (!k || (!msg && len) || (!sig && siglen))
        return vouch_err_set(err, VOUCH_E_ARG, "vouch_key_verify: NULL argument");
    if (!msg)
        msg = (const uint8_t *)"";
    if (siglen != VOUCH_SIG_LEN)
        return vouch_err_set(err, VOUCH_E_JWS_SIG_SIZE, "signature is %zu bytes, not %d",
                             siglen, VOUCH_SIG_LEN);
    return k->type == VOUCH_KEY_P256 ? es256_verify(k, msg, len, sig, err)
                                     : ed25519_verify(k, msg, len, sig, err);
}

/* ---- PEM ---- */

/* Never prompt for a passphrase: encrypted keys are refused. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

static const char *mem_find(const char *hay, size_t n, const char *needle)
{
    return memmem(hay, n, needle, strlen(needle));
}

/* A private P-256 key must be consistent: scalar in range, point = d*G. */
static vouch_code check_private(EVP_PKEY *pkey, vouch_err *err)
{
    EVP_PKEY_CTX *c;
    int ok;

    if (!EVP_PKEY_is_a(pkey, "EC"))
        return VOUCH_OK; /* Ed25519: the public key is derived from the seed */
    c = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    ok = c && EVP_PKEY_check(c) == 1;
    EVP_PKEY_CTX_free(c);
    if (!ok)
        return vouch__crypto_fail(err, VOUCH_E_KEY_POINT, "private key is not a consistent key pair");
    return VOUCH_OK;
}

/* A public Ed25519 key from SPKI gets the same check as a raw one (OpenSSL
 * takes the 32 bytes as they are). P-256 points are checked by OpenSSL's
 * decoder. */
static vouch_code check_public(EVP_PKEY *pkey, vouch_err *err)
{
    uint8_t raw[32];
    size_t n = sizeof(raw);

    if (!EVP_PKEY_is_a(pkey, "ED25519"))
        return VOUCH_OK;
    if (EVP_PKEY_get_raw_public_key(pkey, raw, &n) != 1 || n != 32)
        return vouch__crypto_fail(err, VOUCH_E_KEY_CRYPTO, "cannot read Ed25519 public key");
    return ed25519_pub_check(raw, err);
}

vouch_code vouch_key_from_pem(const char *pem, size_t len, vouch_key **out, vouch_err *err)
{
    BIO *bio = NULL;
    EVP_PKEY *pkey = NULL;
    vouch_code rc = VOUCH_OK;
    int priv;

    if (!out || !pem)
        return vouch_err_set(err, VOUCH_E_ARG, "vouch_key_from_pem: NULL argument");
    *out = NULL;
    if (len > KEY_FILE_MAX)
        return vouch_err_set(err, VOUCH_E_LIMIT, "PEM text of %zu bytes is over %u", len,
                             KEY_FILE_MAX);
    if (mem_find(pem, len, "-----BEGIN ENCRYPTED PRIVATE KEY-----") ||
        mem_find(pem, len, "Proc-Type: 4,ENCRYPTED"))
        return vouch_err_set(err, VOUCH_E_KEY_PEM, "encrypted PEM keys are not supported");
    if (mem_find(pem, len, "-----BEGIN PRIVATE KEY-----") ||
        mem_find(pem, len, "-----BEGIN EC PRIVATE KEY-----"))
        priv = 1;
    else if (mem_find(pem, len, "-----BEGIN PUBLIC KEY-----"))
        priv = 0;
    else
        return vouch_err_set(err, VOUCH_E_KEY_PEM,
                             "no PRIVATE KEY, EC PRIVATE KEY or PUBLIC KEY PEM block");
    bio = BIO_new_mem_buf(pem, (int)len);
    if (!bio) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory");
        goto out;
    }
    pkey = priv ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL)
                : PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
    if (!pkey) {
        rc = vouch__crypto_fail(err, VOUCH_E_KEY_PEM, priv ? "malformed private key PEM"
                                                    : "malformed public key PEM");
        goto out;
    }
    rc = priv ? check_private(pkey, err) : check_public(pkey, err);
    if (rc != VOUCH_OK)
        goto out;
    rc = key_from_pkey(pkey, priv, out, err);
    pkey = NULL;
out:
    EVP_PKEY_free(pkey);
    BIO_free(bio);
    return rc;
}

/* PEM text of k into a vouch_malloc'd, NUL-terminated buffer. */
static vouch_code pem_text(const vouch_key *k, int private, char **out, size_t *outlen,
                           vouch_err *err)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL, *copy = NULL;
    long n = 0;
    vouch_code rc = VOUCH_OK;
    int ok;

    *out = NULL;
    if (!bio)
        return vouch_err_set(err, VOUCH_E_NOMEM, "out of memory");
    ok = private ? PEM_write_bio_PrivateKey(bio, k->pkey, NULL, NULL, 0, NULL, NULL)
                 : PEM_write_bio_PUBKEY(bio, k->pkey);
    if (!ok) {
        rc = vouch__crypto_fail(err, VOUCH_E_KEY_CRYPTO, "cannot encode key as PEM");
        goto out;
    }
    n = BIO_get_mem_data(bio, &data);
    if (n <= 0 || !data) {
        rc = vouch_err_set(err, VOUCH_E_INTERNAL, "empty PEM output");
        goto out;
    }
    copy = vouch_malloc((size_t)n + 1);
    if (!copy) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory");
        goto out;
    }
    memcpy(copy, data, (size_t)n);
    copy[n] = '\0';
    *out = copy;
    *outlen = (size_t)n;
out:
    if (data && n > 0)
        vouch_wipe(data, (size_t)n); /* the private PEM must not outlive the BIO */
    BIO_free(bio);
    return rc;
}

vouch_code vouch_key_public_pem(const vouch_key *k, char **out, vouch_err *err)
{
    size_t n;

    if (!k || !out)
        return vouch_err_set(err, VOUCH_E_ARG, "vouch_key_public_pem: NULL argument");
    return pem_text(k, 0, out, &n, err);
}

vouch_code vouch_key_save_pem(const vouch_key *k, const char *path, int public_only,
                              vouch_err *err)
{
    char *pem = NULL;
    size_t n = 0;
    vouch_code rc;

    if (!k || !path)
        return vouch_err_set(err, VOUCH_E_ARG, "vouch_key_save_pem: NULL argument");
    if (!public_only && !k->has_priv)
        return vouch_err_set(err, VOUCH_E_KEY_NOT_PRIVATE,
                             k->p11 ? "a PKCS#11 private key never leaves its token"
                                    : "key has no private part to save");
    rc = pem_text(k, !public_only, &pem, &n, err);
    if (rc != VOUCH_OK)
        goto out;
    rc = vouch_file_write_atomic(path, pem, n, public_only ? 0644 : 0600, 1, err);
out:
    if (pem)
        vouch_free_secret(pem, n + 1);
    return rc;
}

/* ---- JWK ---- */

/* 1 if v is a JSON string equal to s (length-aware: no NUL tricks). */
static int json_str_eq(const json_t *v, const char *s)
{
    size_t n = strlen(s);
    return json_is_string(v) && json_string_length(v) == n &&
           memcmp(json_string_value(v), s, n) == 0;
}

/* Decodes member name of jwk: a strict base64url string of exactly 32 bytes. */
static vouch_code jwk_coord(const json_t *jwk, const char *name, uint8_t out[32], vouch_err *err)
{
    const json_t *v = json_object_get(jwk, name);
    size_t n = 0;
    vouch_err sub;
    vouch_code rc;

    if (!v)
        return vouch_err_set(err, VOUCH_E_KEY_JWK, "JWK member \"%s\" is missing", name);
    if (!json_is_string(v))
        return vouch_err_set(err, VOUCH_E_KEY_JWK, "JWK member \"%s\" is not a string", name);
    /* 32 bytes are exactly 43 characters; anything else is refused before decoding */
    if (json_string_length(v) != 43)
        return vouch_err_set(err, VOUCH_E_KEY_JWK,
                             "JWK member \"%s\" is %zu characters, not 43 (32 bytes)", name,
                             json_string_length(v));
    vouch_err_clear(&sub);
    rc = vouch_b64url_decode_buf(json_string_value(v), 43, out, 32, &n, &sub);
    if (rc != VOUCH_OK || n != 32)
        return vouch_err_set(err, VOUCH_E_KEY_JWK, "JWK member \"%s\" is not strict base64url: %s",
                             name, sub.msg);
    return VOUCH_OK;
}

static const char *const jwk_private_members[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"};

static vouch_code jwk_check_optional(const json_t *jwk, vouch_key_type type, vouch_err *err)
{
    const json_t *alg = json_object_get(jwk, "alg"), *use = json_object_get(jwk, "use");
    const json_t *ops = json_object_get(jwk, "key_ops"), *op;
    size_t i;

    if (alg && !(type == VOUCH_KEY_P256 ? json_str_eq(alg, "ES256")
                                        : json_str_eq(alg, "EdDSA") || json_str_eq(alg, "Ed25519")))
        return vouch_err_set(err, VOUCH_E_KEY_JWK, "JWK \"alg\" does not match a %s key",
                             type == VOUCH_KEY_P256 ? "P-256 (ES256)" : "Ed25519 (EdDSA)");
    if (use && !json_str_eq(use, "sig"))
        return vouch_err_set(err, VOUCH_E_KEY_JWK, "JWK \"use\" is not \"sig\"");
    if (ops) {
        if (!json_is_array(ops))
            return vouch_err_set(err, VOUCH_E_KEY_JWK, "JWK \"key_ops\" is not an array");
        json_array_foreach(ops, i, op) {
            if (!json_str_eq(op, "sign") && !json_str_eq(op, "verify"))
                return vouch_err_set(err, VOUCH_E_KEY_JWK,
                                     "JWK \"key_ops\" allows more than sign and verify");
        }
    }
    return VOUCH_OK;
}

/* The private key from d (32 bytes) checked against the public key pub. */
static vouch_code jwk_private(vouch_key_type type, const uint8_t d[32], const uint8_t *pub,
                              size_t publen, EVP_PKEY **out, vouch_err *err)
{
    static char group[] = P256_GROUP;
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pkey = NULL;
    BIGNUM *bn = NULL;
    uint8_t derived[32];
    size_t dn = sizeof(derived);
    vouch_code rc = VOUCH_OK;

    *out = NULL;
    if (type == VOUCH_KEY_ED25519) {
        pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, d, 32);
        if (!pkey || EVP_PKEY_get_raw_public_key(pkey, derived, &dn) != 1 || dn != 32) {
            rc = vouch__crypto_fail(err, VOUCH_E_KEY_CRYPTO, "cannot import Ed25519 private key");
            goto out;
        }
        if (memcmp(derived, pub, 32) != 0) {
            rc = vouch_err_set(err, VOUCH_E_KEY_JWK, "JWK \"d\" does not match \"x\"");
            goto out;
        }
        goto out;
    }
    if (!scalar_in_range(d)) {
        rc = vouch_err_set(err, VOUCH_E_KEY_JWK, "JWK \"d\" is 0 or not below the group order");
        goto out;
    }
    bn = BN_secure_new();
    bld = OSSL_PARAM_BLD_new();
    if (!bn || !bld || !BN_bin2bn(d, 32, bn) ||
        !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, publen) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, bn) ||
        !(params = OSSL_PARAM_BLD_to_param(bld))) {
        rc = vouch__crypto_fail(err, VOUCH_E_NOMEM, "cannot build P-256 private key");
        goto out;
    }
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_KEYPAIR, params) != 1) {
        rc = vouch__crypto_fail(err, VOUCH_E_KEY_CRYPTO, "cannot import P-256 private key");
        goto out;
    }
    rc = check_private(pkey, err);
    if (rc != VOUCH_OK)
        rc = vouch_err_set(err, VOUCH_E_KEY_JWK, "JWK \"d\" does not match \"x\" and \"y\"");
out:
    vouch_wipe(derived, sizeof(derived));
    OSSL_PARAM_free(params); /* OSSL_PARAM_BLD_to_param copies BNs to secure memory as needed */
    OSSL_PARAM_BLD_free(bld);
    BN_clear_free(bn);
    EVP_PKEY_CTX_free(ctx);
    if (rc != VOUCH_OK) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    *out = pkey;
    return rc;
}

vouch_code vouch_key_from_jwk(const json_t *jwk, unsigned flags, vouch_key **out, vouch_err *err)
{
    const json_t *kty, *crv;
    vouch_key_type type;
    uint8_t pub[65], d[32];
    size_t publen;
    EVP_PKEY *pkey = NULL;
    vouch_code rc = VOUCH_OK;
    int priv = 0;

    if (!out || !jwk)
        return vouch_err_set(err, VOUCH_E_ARG, "vouch_key_from_jwk: NULL argument");
    *out = NULL;
    if (!json_is_object(jwk))
        return vouch_err_set(err, VOUCH_E_KEY_JWK, "JWK is not a JSON object");
    kty = json_object_get(jwk, "kty");
    crv = json_object_get(jwk, "crv");
    if (!json_is_string(kty))
        return vouch_err_set(err, VOUCH_E_KEY_JWK, "JWK \"kty\" is missing or not a string");
    if (json_str_eq(kty, "EC"))
        type = VOUCH_KEY_P256;
    else if (json_str_eq(kty, "OKP"))
        type = VOUCH_KEY_ED25519;
    else
        return vouch_err_set(err, VOUCH_E_KEY_TYPE, "JWK \"kty\" is not \"EC\" or \"OKP\"");
    if (!json_is_string(crv))
        return vouch_err_set(err, VOUCH_E_KEY_JWK, "JWK \"crv\" is missing or not a string");
    if (!json_str_eq(crv, type == VOUCH_KEY_P256 ? "P-256" : "Ed25519"))
        return vouch_err_set(err, VOUCH_E_KEY_TYPE, "JWK \"crv\" is not \"%s\"",
                             type == VOUCH_KEY_P256 ? "P-256" : "Ed25519");
    /* private members first: a key meant to stay secret is refused as such */
    for (size_t i = 0; i < sizeof(jwk_private_members) / sizeof(jwk_private_members[0]); i++) {
        if (!json_object_get(jwk, jwk_private_members[i]))
            continue;
        if (!(flags & VOUCH_JWK_ALLOW_PRIVATE))
            return vouch_err_set(err, VOUCH_E_KEY_PRIVATE,
                                 "JWK has private member \"%s\" where a public key was expected",
                                 jwk_private_members[i]);
        if (i != 0)
            return vouch_err_set(err, VOUCH_E_KEY_JWK, "JWK member \"%s\" does not belong to %s",
                                 jwk_private_members[i], type == VOUCH_KEY_P256 ? "EC" : "OKP");
        priv = 1;
    }
    rc = jwk_check_optional(jwk, type, err);
    if (rc != VOUCH_OK)
        goto out;
    rc = jwk_coord(jwk, "x", type == VOUCH_KEY_P256 ? pub + 1 : pub, err);
    if (rc != VOUCH_OK)
        goto out;
    if (type == VOUCH_KEY_P256) {
        rc = jwk_coord(jwk, "y", pub + 33, err);
        if (rc != VOUCH_OK)
            goto out;
        pub[0] = 0x04;
        publen = 65;
    } else {
        if (json_object_get(jwk, "y")) {
            rc = vouch_err_set(err, VOUCH_E_KEY_JWK, "OKP JWK has a \"y\" member");
            goto out;
        }
        publen = 32;
    }
    rc = pkey_from_raw(type, pub, publen, &pkey, NULL, err);
    if (rc != VOUCH_OK)
        goto out;
    if (priv) {
        rc = jwk_coord(jwk, "d", d, err);
        if (rc != VOUCH_OK)
            goto out;
        EVP_PKEY_free(pkey);
        rc = jwk_private(type, d, pub, publen, &pkey, err);
        if (rc != VOUCH_OK)
            goto out;
    }
    rc = key_from_pkey(pkey, priv, out, err);
    pkey = NULL;
out:
    vouch_wipe(d, sizeof(d));
    EVP_PKEY_free(pkey);
    return rc;
}

/* base64url of the 32-byte coordinates into x (and y), 44 bytes each. */
static vouch_code jwk_coords_text(const vouch_key *k, char x[44], char y[44], vouch_err *err)
{
    size_t n;
    vouch_code rc;

    if (k->type == VOUCH_KEY_P256) {
        rc = vouch_b64url_encode_buf(k->pub + 1, 32, x, 44, &n, err);
        if (rc == VOUCH_OK)
            rc = vouch_b64url_encode_buf(k->pub + 33, 32, y, 44, &n, err);
    } else {
        rc = vouch_b64url_encode_buf(k->pub, 32, x, 44, &n, err);
        y[0] = '\0';
    }
    return rc;
}

vouch_code vouch_key_to_jwk(const vouch_key *k, json_t **out, vouch_err *err)
{
    char x[44], y[44];
    json_t *o = NULL;
    vouch_code rc;
    int bad;

    if (!k || !out)
        return vouch_err_set(err, VOUCH_E_ARG, "vouch_key_to_jwk: NULL argument");
    *out = NULL;
    rc = jwk_coords_text(k, x, y, err);
    if (rc != VOUCH_OK)
        return rc;
    vouch_json_init();
    o = json_object();
    if (!o)
        return vouch_err_set(err, VOUCH_E_NOMEM, "out of memory");
    /* RFC 7638 order: crv, kty, x, y */
    if (k->type == VOUCH_KEY_P256)
        bad = json_object_set_new(o, "crv", json_string("P-256")) ||
              json_object_set_new(o, "kty", json_string("EC")) ||
              json_object_set_new(o, "x", json_string(x)) ||
              json_object_set_new(o, "y", json_string(y));
    else
        bad = json_object_set_new(o, "crv", json_string("Ed25519")) ||
              json_object_set_new(o, "kty", json_string("OKP")) ||
              json_object_set_new(o, "x", json_string(x));
    if (bad) {
        json_decref(o);
        return vouch_err_set(err, VOUCH_E_NOMEM, "out of memory");
    }
    *out = o;
    return VOUCH_OK;
}

vouch_code vouch_key_thumbprint(const vouch_key *k, char out[VOUCH_THUMBPRINT_LEN + 1],
                                vouch_err *err)
{
    char x[44], y[44], canon[160];
    uint8_t dg[32];
    size_t n;
    int len;
    vouch_code rc;

    if (!k || !out)
        return vouch_err_set(err, VOUCH_E_ARG, "vouch_key_thumbprint: NULL argument");
    rc = jwk_coords_text(k, x, y, err);
    if (rc != VOUCH_OK)
        return rc;
    /* RFC 7638 s3.2: required members only, sorted, no whitespace; our
     * values are base64url and names fixed, so nothing needs escaping */
    if (k->type == VOUCH_KEY_P256)
        len = snprintf(canon, sizeof(canon),
                       "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", x, y);
    else
        len = snprintf(canon, sizeof(canon),
                       "{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"%s\"}", x);
    if (len < 0 || (size_t)len >= sizeof(canon))
        return vouch_err_set(err, VOUCH_E_INTERNAL, "thumbprint input too long");
    rc = sha256((const uint8_t *)canon, (size_t)len, dg, err);
    if (rc != VOUCH_OK)
        return rc;
    return vouch_b64url_encode_buf(dg, sizeof(dg), out, VOUCH_THUMBPRINT_LEN + 1, &n, err);
}

/* ---- files and URIs ---- */

/* Reads a key file into b (wiped on free), with its mode. */
static vouch_code read_key_file(const char *path, vouch_buf *b, mode_t *mode, vouch_err *err)
{
    char chunk[4096];
    struct stat st;
    vouch_code rc = VOUCH_OK;
    ssize_t n;
    int fd;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return vouch_err_set(err, errno == ENOENT ? VOUCH_E_NOTFOUND : VOUCH_E_IO,
                             "cannot open key file %s: %s", path, strerror(errno));
    /* the mode of what was opened, not of what the path names later */
    if (fstat(fd, &st) != 0) {
        rc = vouch_err_set(err, VOUCH_E_IO, "cannot stat %s: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = vouch_err_set(err, VOUCH_E_IO, "key file %s is not a regular file", path);
        goto out;
    }
    *mode = st.st_mode;
    rc = vouch_buf_append(b, "", 0);
    while (rc == VOUCH_OK && (n = read(fd, chunk, sizeof(chunk))) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = vouch_err_set(err, VOUCH_E_IO, "cannot read %s: %s", path, strerror(errno));
            goto out;
        }
        rc = vouch_buf_append(b, chunk, (size_t)n);
    }
    if (rc == VOUCH_E_LIMIT)
        vouch_err_set(err, rc, "key file %s is larger than %u bytes", path, KEY_FILE_MAX);
    else if (rc != VOUCH_OK)
        vouch_err_set(err, rc, "out of memory reading %s", path);
out:
    vouch_wipe(chunk, sizeof(chunk));
    close(fd);
    return rc;
}

static vouch_code check_private_mode(const char *path, mode_t mode, vouch_err *err)
{
    if (mode & 077)
        return vouch_err_set(err, VOUCH_E_PERM,
                             "private key file %s has mode %04o: group or others may use it "
                             "(chmod 600)",
                             path, (unsigned)(mode & 07777));
    return VOUCH_OK;
}

static vouch_code key_from_p11(const char *uri, vouch_key_type gen_type, int generate,
                               vouch_key **out, vouch_err *err)
{
    vouch__p11_key *p = NULL;
    vouch_key_type type = VOUCH_KEY_NONE;
    uint8_t pub[65];
    size_t publen = 0;
    EVP_PKEY *pkey = NULL;
    vouch_key *k = NULL;
    vouch_code rc;

    rc = generate ? vouch__p11_generate(uri, gen_type, &p, pub, sizeof(pub), &publen, err)
                  : vouch__p11_open(uri, &p, &type, pub, sizeof(pub), &publen, err);
    if (rc != VOUCH_OK)
        goto out;
    if (generate)
        type = gen_type;
    rc = pkey_from_raw(type, pub, publen, &pkey, NULL, err);
    if (rc != VOUCH_OK) {
        vouch_err_prefix(err, "public key of the PKCS#11 object");
        goto out;
    }
    rc = key_from_pkey(pkey, 0, &k, err);
    if (rc != VOUCH_OK)
        goto out;
    k->p11 = p;
    p = NULL;
    *out = k;
out:
    vouch__p11_free(p);
    return rc;
}

vouch_code vouch_key_generate_pkcs11(const char *uri, vouch_key_type type, vouch_key **out,
                                     vouch_err *err)
{
    if (!uri || !out)
        return vouch_err_set(err, VOUCH_E_ARG, "vouch_key_generate_pkcs11: NULL argument");
    *out = NULL;
    if (type != VOUCH_KEY_P256 && type != VOUCH_KEY_ED25519)
        return vouch_err_set(err, VOUCH_E_KEY_TYPE, "unknown key type %d", (int)type);
    return key_from_p11(uri, type, 1, out, err);
}

vouch_code vouch_key_load(const char *path_or_uri, vouch_key **out, vouch_err *err)
{
    vouch_buf b;
    mode_t mode = 0;
    json_t *jwk = NULL;
    const char *text;
    size_t i;
    vouch_code rc;

    if (!path_or_uri || !out)
        return vouch_err_set(err, VOUCH_E_ARG, "vouch_key_load: NULL argument");
    *out = NULL;
    if (strncasecmp(path_or_uri, "pkcs11:", 7) == 0)
        return key_from_p11(path_or_uri, VOUCH_KEY_NONE, 0, out, err);
    vouch_buf_init(&b, KEY_FILE_MAX);
    rc = read_key_file(path_or_uri, &b, &mode, err);
    if (rc != VOUCH_OK)
        goto out;
    text = (const char *)b.data;
    for (i = 0; i < b.len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' ||
                              text[i] == '\n');
         i++)
        ;
    if (i < b.len && text[i] == '{') {
        rc = vouch_json_parse_object(text, b.len, NULL, &jwk, err);
        if (rc != VOUCH_OK) {
            vouch_err_prefix(err, "JWK file %s", path_or_uri);
            goto out;
        }
        if (json_object_get(jwk, "d")) {
            rc = check_private_mode(path_or_uri, mode, err);
            if (rc != VOUCH_OK)
                goto out;
        }
        rc = vouch_key_from_jwk(jwk, VOUCH_JWK_ALLOW_PRIVATE, out, err);
    } else if (mem_find(text, b.len, "-----BEGIN")) {
        if (mem_find(text, b.len, "PRIVATE KEY-----")) {
            rc = check_private_mode(path_or_uri, mode, err);
            if (rc != VOUCH_OK)
                goto out;
        }
        rc = vouch_key_from_pem(text, b.len, out, err);
    } else {
        rc = vouch_err_set(err, VOUCH_E_KEY_PEM, "%s is neither a PEM key nor a JWK",
                           path_or_uri);
        goto out;
    }
    if (rc != VOUCH_OK)
        vouch_err_prefix(err, "%s", path_or_uri);
out:
    if (jwk) {
        /* jansson frees strings without wiping: clear "d" in place first */
        json_t *dv = json_object_get(jwk, "d");
        if (json_is_string(dv))
            vouch_wipe((char *)json_string_value(dv), json_string_length(dv));
        json_decref(jwk);
    }
    vouch_buf_free(&b);
    return rc;
}
