/* login_state.c - sealed login states, the expiry prefix that states and
 * access tokens begin with (vd_exp_prefix, read back here), and the
 * answered logins this process saw.
 *
 * A login leaves nothing behind until it is answered: POST /auth/siop
 * seals what the later steps need into the state itself (its expiry, a
 * hash of the device DID) with an HMAC-SHA-256 tag under the store's state
 * key, and the same HMAC gives the nonce. Any server of the store can open
 * the state, so a login may be answered anywhere, and starting logins
 * writes nothing (a flood of them costs an HMAC each, not a row). The nonce
 * is consumed when the store inserts the answered state (login_finish), in
 * the transaction that issues the token.
 *
 *   state = prefix(expires) || b64url(rand[12] || SHA-256(did)[0..9) || tag[12])
 *   mac   = HMAC-SHA-256(key, "vouchd state 1" || prefix || rand || didh)
 *   tag   = mac[0..12), nonce = b64url(mac[12..28))
 *
 * The tag proves a server of this store made the state, and that its
 * expiry and DID hash are as made; the nonce is as unguessable as the key
 * is secret, and whoever fetches the request object learns it anyway. */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "vouchd/vouchd.h"

#define MAC_LABEL "vouchd state 1"
#define MAC_IN (sizeof(MAC_LABEL) - 1 + VD_EXP_LEN + VD_STATE_RAND + VD_STATE_DIDH)

struct vd_sealer {
    EVP_MAC_CTX *tmpl; /* keyed; each use works on a copy */
};

vouch_code vd_sealer_new(const uint8_t key[VD_STATE_KEY_LEN], vd_sealer **out, vouch_err *err)
{
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    EVP_MAC *mac = NULL;
    vd_sealer *s = NULL;
    vouch_code rc = VOUCH_OK;

    *out = NULL;
    s = vouch_calloc(1, sizeof(*s));
    if (!s) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory");
        goto out;
    }
    mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    s->tmpl = mac ? EVP_MAC_CTX_new(mac) : NULL;
    if (!s->tmpl || EVP_MAC_init(s->tmpl, key, VD_STATE_KEY_LEN, params) != 1) {
        rc = vouch_err_set(err, VOUCH_E_INTERNAL, "HMAC-SHA-256 is not available");
        goto out;
    }
    *out = s;
    s = NULL;
out:
    EVP_MAC_free(mac);
    vd_sealer_free(s);
    return rc;
}

void vd_sealer_free(vd_sealer *s)
{
    if (!s)
        return;
    EVP_MAC_CTX_free(s->tmpl); /* OpenSSL cleanses the key schedule */
    vouch_free(s);
}

/* mac over the label, the prefix and body[0..RAND+DIDH) */
static vouch_code seal_mac(const vd_sealer *s, const char *prefix, const uint8_t *body,
                           uint8_t mac[32], vouch_err *err)
{
    uint8_t in[MAC_IN];
    size_t n = 0;
    EVP_MAC_CTX *c = EVP_MAC_CTX_dup(s->tmpl);
    vouch_code rc = VOUCH_OK;

    memcpy(in, MAC_LABEL, sizeof(MAC_LABEL) - 1);
    memcpy(in + sizeof(MAC_LABEL) - 1, prefix, VD_EXP_LEN);
    memcpy(in + sizeof(MAC_LABEL) - 1 + VD_EXP_LEN, body, VD_STATE_RAND + VD_STATE_DIDH);
    if (!c || EVP_MAC_update(c, in, sizeof(in)) != 1 || EVP_MAC_final(c, mac, &n, 32) != 1 ||
        n != 32)
        rc = vouch_err_set(err, VOUCH_E_INTERNAL, "HMAC-SHA-256 failed");
    EVP_MAC_CTX_free(c);
    return rc;
}

static void did_hash(const char *did, uint8_t out[VD_STATE_DIDH])
{
    uint8_t h[32];

    SHA256((const unsigned char *)did, strlen(did), h);
    memcpy(out, h, VD_STATE_DIDH);
}

static vouch_code nonce_of(const uint8_t mac[32], char nonce[VD_ID_LEN + 1], vouch_err *err)
{
    return vouch_b64url_encode_buf(mac + VD_STATE_TAG, VD_ID_BYTES, nonce, VD_ID_LEN + 1, NULL,
                                   err);
}

vouch_code vd_state_new(const vd_sealer *s, const char *did, int64_t expires,
                        char state[VD_STATE_LEN + 1], char nonce[VD_ID_LEN + 1], vouch_err *err)
{
    uint8_t body[VD_STATE_BODY], mac[32];
    vouch_code rc;

    vd_exp_prefix(expires, state);
    if (RAND_bytes(body, VD_STATE_RAND) != 1) {
        rc = vouch_err_set(err, VOUCH_E_INTERNAL, "random: RAND_bytes failed");
        goto out;
    }
    did_hash(did, body + VD_STATE_RAND);
    if ((rc = seal_mac(s, state, body, mac, err)) != VOUCH_OK)
        goto out;
    memcpy(body + VD_STATE_RAND + VD_STATE_DIDH, mac, VD_STATE_TAG);
    if ((rc = vouch_b64url_encode_buf(body, sizeof(body), state + VD_EXP_LEN,
                                      VD_STATE_LEN + 1 - VD_EXP_LEN, NULL, err)) != VOUCH_OK)
        goto out;
    rc = nonce_of(mac, nonce, err);
out:
    vouch_wipe(mac, sizeof(mac));
    return rc;
}

/* base64url's 64 characters in ASCII order */
static const char exp_digits[] = "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";

void vd_exp_prefix(int64_t t, char out[VD_EXP_LEN + 1])
{
    uint64_t v = t < 0 ? 0 : (uint64_t)t;

    if (v >> (6 * VD_EXP_LEN))
        v = (UINT64_C(1) << (6 * VD_EXP_LEN)) - 1;
    for (int i = VD_EXP_LEN - 1; i >= 0; i--, v >>= 6)
        out[i] = exp_digits[v & 63];
    out[VD_EXP_LEN] = '\0';
}

/* The value of one digit of exp_digits, or -1. */
static int exp_digit(char c)
{
    const char *d = c ? strchr(exp_digits, c) : NULL;

    return d ? (int)(d - exp_digits) : -1;
}

vouch_code vd_state_open(const vd_sealer *s, const char *state, size_t len, vouch_code unknown,
                         vd_state_info *out, vouch_err *err)
{
    uint8_t body[VD_STATE_BODY], mac[32];
    size_t n = 0;
    int64_t t = 0;
    vouch_code rc = VOUCH_OK;

    memset(out, 0, sizeof(*out));
    if (len != VD_STATE_LEN) {
        rc = vouch_err_set(err, unknown, "unknown state");
        goto out;
    }
    for (int i = 0; i < VD_EXP_LEN; i++) {
        int d = exp_digit(state[i]);
        if (d < 0) {
            rc = vouch_err_set(err, unknown, "unknown state");
            goto out;
        }
        t = t << 6 | d;
    }
    /* the body must be canonical base64url of exactly its bytes */
    if (vouch_b64url_decode_buf(state + VD_EXP_LEN, VD_STATE_LEN - VD_EXP_LEN, body, sizeof(body),
                                &n, NULL) != VOUCH_OK ||
        n != sizeof(body)) {
        rc = vouch_err_set(err, unknown, "unknown state");
        goto out;
    }
    if ((rc = seal_mac(s, state, body, mac, err)) != VOUCH_OK)
        goto out;
    if (!vouch_ct_equal(mac, body + VD_STATE_RAND + VD_STATE_DIDH, VD_STATE_TAG)) {
        rc = vouch_err_set(err, unknown, "unknown state");
        goto out;
    }
    if ((rc = nonce_of(mac, out->nonce, err)) != VOUCH_OK)
        goto out;
    out->expires = t;
    memcpy(out->didh, body + VD_STATE_RAND, VD_STATE_DIDH);
out:
    vouch_wipe(mac, sizeof(mac));
    return rc;
}

int vd_state_for(const vd_state_info *si, const char *did)
{
    uint8_t h[VD_STATE_DIDH];

    did_hash(did, h);
    return memcmp(h, si->didh, VD_STATE_DIDH) == 0;
}

/* ------------------------------------------------------ answered logins */

/* Only opened states are marked or looked up, and a marked one is spent:
 * what a comparison's timing could tell about it is worth nothing, so a
 * plain memcmp will do. */

#define SLOTS 8192u /* a power of two */
#define LOCKS 64u

static char answered[SLOTS][VD_STATE_LEN];
static pthread_mutex_t locks[LOCKS];
static pthread_once_t locks_once = PTHREAD_ONCE_INIT;

static void locks_init(void)
{
    for (unsigned i = 0; i < LOCKS; i++)
        pthread_mutex_init(&locks[i], NULL);
}

/* The slot of a state: from its random part (no one can aim at a slot). */
static unsigned slot_of(const char *state)
{
    uint32_t h = 2166136261u;

    for (int i = VD_EXP_LEN; i < VD_EXP_LEN + 8; i++)
        h = (h ^ (uint8_t)state[i]) * 16777619u;
    return h & (SLOTS - 1);
}

void vd_answered_mark(const char *state)
{
    unsigned i;

    if (strnlen(state, VD_STATE_LEN + 1) != VD_STATE_LEN)
        return;
    i = slot_of(state);
    pthread_once(&locks_once, locks_init);
    pthread_mutex_lock(&locks[i % LOCKS]);
    memcpy(answered[i], state, VD_STATE_LEN);
    pthread_mutex_unlock(&locks[i % LOCKS]);
}

int vd_answered_seen(const char *state)
{
    unsigned i;
    int seen;

    if (strnlen(state, VD_STATE_LEN + 1) != VD_STATE_LEN)
        return 0;
    i = slot_of(state);
    pthread_once(&locks_once, locks_init);
    pthread_mutex_lock(&locks[i % LOCKS]);
    seen = memcmp(answered[i], state, VD_STATE_LEN) == 0;
    pthread_mutex_unlock(&locks[i % LOCKS]);
    return seen;
}
