/*
 * test_vouchd_store.c - vouchd's SQLite store and login states, without
 * HTTP: the expiry-ordered keys (vd_exp_prefix) sort as their times do,
 * pruning by key range removes exactly the rows that expired, a nonce is
 * consumed once, the state key is made once and kept, a sealed state opens
 * only unchanged and under its own key, and the answered marks answer only
 * for the exact state they hold.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include <openssl/rand.h>

#include "testutil.h"
#include "vouchd/vouchd.h"

static int sign_of(long long v) { return (v > 0) - (v < 0); }

static void test_exp_prefix_order(void **st)
{
    char a[VD_EXP_LEN + 1], b[VD_EXP_LEN + 1];

    (void)st;
    vd_exp_prefix(0, a);
    assert_string_equal(a, "--------");
    vd_exp_prefix(1, a);
    assert_string_equal(a, "-------0");
    vd_exp_prefix(63, a);
    assert_string_equal(a, "-------z");
    vd_exp_prefix(64, a);
    assert_string_equal(a, "------0-");
    vd_exp_prefix(-5, b); /* clamped to 0 */
    assert_string_equal(b, "--------");
    for (int i = 0; i < 20000; i++) {
        uint64_t r[2];
        int64_t x, y;
        assert_int_equal(RAND_bytes((unsigned char *)r, sizeof(r)), 1);
        /* half the pairs close together, where a carry decides */
        x = (int64_t)(r[0] >> 16);
        y = i % 2 ? x + (int64_t)(r[1] % 130) - 65 : (int64_t)(r[1] >> 16);
        if (y < 0)
            y = 0;
        vd_exp_prefix(x, a);
        vd_exp_prefix(y, b);
        assert_int_equal(strlen(a), VD_EXP_LEN);
        assert_int_equal(sign_of(memcmp(a, b, VD_EXP_LEN)), sign_of((long long)(x - y)));
        for (int k = 0; k < VD_EXP_LEN; k++)
            assert_non_null(strchr("-_0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
                                   a[k]));
    }
}

/* A login of did expiring at exp, sealed under a fixed test key. */
typedef struct login {
    char state[VD_STATE_LEN + 1];
    char nonce[VD_ID_LEN + 1];
    char did[64];
    int64_t expires;
} login;

static vd_sealer *test_sealer(uint8_t fill)
{
    uint8_t key[VD_STATE_KEY_LEN];
    vd_sealer *sl = NULL;
    vouch_err e;

    memset(key, fill, sizeof(key));
    assert_ok(vd_sealer_new(key, &sl, &e), e);
    return sl;
}

static void make_login(const vd_sealer *sl, login *l, int64_t exp, const char *did)
{
    vouch_err e;

    memset(l, 0, sizeof(*l));
    snprintf(l->did, sizeof(l->did), "%s", did);
    l->expires = exp;
    assert_ok(vd_state_new(sl, did, exp, l->state, l->nonce, &e), e);
    assert_int_equal(strlen(l->state), VD_STATE_LEN);
    assert_int_equal(strlen(l->nonce), VD_ID_LEN);
}

static void make_token(char tok[VD_TOKEN_LEN + 1], uint8_t key[VD_TOKEN_KEY_LEN], int64_t exp)
{
    vouch_err e;

    vd_exp_prefix(exp, tok);
    assert_ok(vd_random_b64(VD_TOKEN_BYTES, tok + VD_EXP_LEN, VD_TOKEN_LEN + 1 - VD_EXP_LEN, &e),
              e);
    assert_int_equal(strlen(tok), VD_TOKEN_LEN);
    vd_token_key(tok, key);
}

static vouch_code finish(vd_store *s, const login *row, const uint8_t *key, int64_t now,
                         int64_t tok_exp, int *clone, vouch_err *e)
{
    vd_finish f;

    memset(&f, 0, sizeof(f));
    f.state = row->state;
    f.state_expires = row->expires;
    f.did = row->did;
    f.serial = "SN-1";
    f.hardware = "hw-1";
    f.token_key = key;
    f.now = now;
    f.token_expires = tok_exp;
    f.peer = "127.0.0.1";
    return s->ops->login_finish(s, &f, clone, e);
}

static void test_store_prune_by_key(void **st)
{
    char *dir = test_tmpdir(), path[512], tok[3][VD_TOKEN_LEN + 1];
    uint8_t key[3][VD_TOKEN_KEY_LEN];
    vd_store *s = NULL;
    vd_sealer *sl = test_sealer(7);
    login l[4];
    vd_token_row tr;
    int64_t n_log, n_tok, n_aud;
    int clone = 0;
    vouch_err e;

    (void)st;
    snprintf(path, sizeof(path), "%s/vouchd.db", dir);
    assert_ok(vd_store_sqlite_open(path, 1, &s, &e), e);
    make_login(sl, &l[0], 1000, "did:key:zA");
    make_login(sl, &l[1], 2000, "did:key:zB");
    make_login(sl, &l[2], 3000, "did:key:zC");
    make_login(sl, &l[3], 900, "did:key:zD");
    make_token(tok[0], key[0], 1999);
    make_token(tok[1], key[1], 2000);
    make_token(tok[2], key[2], 2001);
    for (int i = 0; i < 3; i++) {
        assert_ok(finish(s, &l[i], key[i], 900, 1999 + i, &clone, &e), e);
        assert_int_equal(clone, 0);
    }
    /* one nonce, one login: a second answer to a state, even with another
     * token, is a replay; an expired state consumes nothing */
    assert_code(finish(s, &l[1], key[0], 900, 5000, &clone, &e), VOUCH_E_LOGIN_NONCE, e);
    assert_code(finish(s, &l[3], key[0], 900, 5000, &clone, &e), VOUCH_E_LOGIN_NONCE, e);
    assert_ok(s->ops->counts(s, &n_log, &n_tok, &n_aud, &e), e);
    assert_int_equal(n_log, 3);
    assert_int_equal(n_tok, 3);
    assert_int_equal(n_aud, 3);

    /* prune(2000): what expired before 2000 goes, the rest stays */
    assert_ok(s->ops->prune(s, 2000, &e), e);
    assert_ok(s->ops->counts(s, &n_log, &n_tok, &n_aud, &e), e);
    assert_int_equal(n_log, 2);
    assert_int_equal(n_tok, 2);
    assert_int_equal(n_aud, 3); /* audit is never pruned */
    /* a pruned state expired: its answer is refused before the store
     * (vd_login_response), and the store refuses it too */
    assert_code(finish(s, &l[0], key[0], 1000, 5000, &clone, &e), VOUCH_E_LOGIN_NONCE, e);
    assert_code(finish(s, &l[1], key[0], 1000, 5000, &clone, &e), VOUCH_E_LOGIN_NONCE, e);
    assert_code(s->ops->token_check(s, key[0], 1000, &tr, &e), VOUCH_E_LOGIN_TOKEN, e);
    assert_ok(s->ops->token_check(s, key[1], 1000, &tr, &e), e);
    assert_string_equal(tr.did, "did:key:zB");
    assert_int_equal(tr.expires, 2000);
    assert_ok(s->ops->token_check(s, key[2], 1000, &tr, &e), e);
    /* a token is good only until it expires, pruned or not */
    assert_code(s->ops->token_check(s, key[1], 2000, &tr, &e), VOUCH_E_LOGIN_TOKEN, e);
    /* one flipped byte of the key is another token */
    key[2][VD_TOKEN_KEY_LEN - 1] ^= 1;
    assert_code(s->ops->token_check(s, key[2], 1000, &tr, &e), VOUCH_E_LOGIN_TOKEN, e);

    /* pruning at a later time removes the rest */
    assert_ok(s->ops->prune(s, 3001, &e), e);
    assert_ok(s->ops->counts(s, &n_log, &n_tok, &n_aud, &e), e);
    assert_int_equal(n_log, 0);
    assert_int_equal(n_tok, 0);
    vd_store_close(s);
    vd_sealer_free(sl);
    test_rmtree(dir);
    free(dir);
}

/* The state key is made with the schema, kept across opens, and the
 * database holding it is the owner's alone. */
static void test_store_state_key(void **st)
{
    char *dir = test_tmpdir(), path[512];
    uint8_t k1[VD_STATE_KEY_LEN], k2[VD_STATE_KEY_LEN], zero[VD_STATE_KEY_LEN] = {0};
    struct stat sb;
    vd_store *s = NULL;
    vouch_err e;

    (void)st;
    snprintf(path, sizeof(path), "%s/vouchd.db", dir);
    assert_ok(vd_store_sqlite_open(path, 1, &s, &e), e);
    assert_ok(s->ops->state_key(s, k1, &e), e);
    vd_store_close(s);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(chmod(path, 0644), 0);
    assert_ok(vd_store_sqlite_open(path, 0, &s, &e), e);
    assert_ok(s->ops->state_key(s, k2, &e), e);
    vd_store_close(s);
    assert_memory_equal(k1, k2, sizeof(k1));
    assert_memory_not_equal(k1, zero, sizeof(k1));
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    test_rmtree(dir);
    free(dir);
}

static void test_state_seal(void **st)
{
    vd_sealer *a = test_sealer(1), *b = test_sealer(2);
    vd_state_info si;
    login l, m;
    char t[VD_STATE_LEN + 2];
    vouch_err e;

    (void)st;
    make_login(a, &l, 1700000123, "did:key:zSealA");
    make_login(a, &m, 1700000123, "did:key:zSealA");
    /* two logins of one device at one second are two states and nonces */
    assert_string_not_equal(l.state, m.state);
    assert_string_not_equal(l.nonce, m.nonce);
    assert_ok(vd_state_open(a, l.state, strlen(l.state), VOUCH_E_LOGIN_STATE, &si, &e), e);
    assert_int_equal(si.expires, 1700000123);
    assert_string_equal(si.nonce, l.nonce);
    assert_int_equal(vd_state_for(&si, "did:key:zSealA"), 1);
    assert_int_equal(vd_state_for(&si, "did:key:zSealB"), 0);
    /* another store's key: unknown, with the caller's code */
    assert_code(vd_state_open(b, l.state, strlen(l.state), VOUCH_E_NOTFOUND, &si, &e),
                VOUCH_E_NOTFOUND, e);
    /* any one character changed, expiry prefix included */
    for (int i = 0; i < VD_STATE_LEN; i++) {
        memcpy(t, l.state, sizeof(l.state));
        t[i] = t[i] == 'A' ? 'B' : 'A';
        assert_code(vd_state_open(a, t, strlen(t), VOUCH_E_LOGIN_STATE, &si, &e),
                    VOUCH_E_LOGIN_STATE, e);
        assert_int_equal(si.nonce[0], '\0');
    }
    /* shorter, longer, empty, not base64url */
    assert_code(vd_state_open(a, l.state, VD_STATE_LEN - 1, VOUCH_E_LOGIN_STATE, &si, &e),
                VOUCH_E_LOGIN_STATE, e);
    memcpy(t, l.state, sizeof(l.state));
    t[VD_STATE_LEN] = 'A';
    t[VD_STATE_LEN + 1] = '\0';
    assert_code(vd_state_open(a, t, strlen(t), VOUCH_E_LOGIN_STATE, &si, &e),
                VOUCH_E_LOGIN_STATE, e);
    assert_code(vd_state_open(a, "", 0, VOUCH_E_LOGIN_STATE, &si, &e), VOUCH_E_LOGIN_STATE, e);
    memcpy(t, l.state, sizeof(l.state));
    t[VD_EXP_LEN + 3] = '.';
    assert_code(vd_state_open(a, t, strlen(t), VOUCH_E_LOGIN_STATE, &si, &e),
                VOUCH_E_LOGIN_STATE, e);
    vd_sealer_free(a);
    vd_sealer_free(b);
}

static void test_answered(void **st)
{
    vd_sealer *a = test_sealer(3);
    login l, m;
    char t[VD_STATE_LEN + 1];

    (void)st;
    make_login(a, &l, 5000, "did:key:zAnsA");
    make_login(a, &m, 5000, "did:key:zAnsB");
    assert_int_equal(vd_answered_seen(l.state), 0);
    vd_answered_mark(l.state);
    assert_int_equal(vd_answered_seen(l.state), 1);
    assert_int_equal(vd_answered_seen(m.state), 0);
    memcpy(t, l.state, sizeof(t));
    t[VD_STATE_LEN - 1] = t[VD_STATE_LEN - 1] == 'A' ? 'B' : 'A';
    assert_int_equal(vd_answered_seen(t), 0);
    assert_int_equal(vd_answered_seen(""), 0);
    vd_answered_mark(""); /* ignored */
    vd_answered_mark(m.state);
    assert_int_equal(vd_answered_seen(m.state), 1);
    vd_sealer_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exp_prefix_order),
        cmocka_unit_test(test_store_prune_by_key),
        cmocka_unit_test(test_store_state_key),
        cmocka_unit_test(test_state_seal),
        cmocka_unit_test(test_answered),
    };

    vouch_json_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
