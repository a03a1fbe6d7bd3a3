/*
 * test_vouchd_store.c - vouchd's SQLite store and login cache, without HTTP:
 * the expiry-ordered keys (vd_exp_prefix) sort as their times do, pruning
 * by key range removes exactly the rows that expired, a nonce is consumed
 * once, and the login cache answers only for the exact state it holds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* A login row expiring at exp, with a fresh state. */
static void make_login(vd_login_row *row, int64_t exp, const char *did)
{
    vouch_err e;

    memset(row, 0, sizeof(*row));
    vd_exp_prefix(exp, row->state);
    assert_ok(vd_random_b64(VD_ID_BYTES, row->state + VD_EXP_LEN,
                            sizeof(row->state) - VD_EXP_LEN, &e),
              e);
    assert_ok(vd_random_b64(VD_ID_BYTES, row->nonce, sizeof(row->nonce), &e), e);
    snprintf(row->did, sizeof(row->did), "%s", did);
    row->created = exp - 100;
    row->expires = exp;
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

static vouch_code finish(vd_store *s, const vd_login_row *row, const uint8_t *key, int64_t now,
                         int64_t tok_exp, int *clone, vouch_err *e)
{
    vd_finish f;

    memset(&f, 0, sizeof(f));
    f.state = row->state;
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
    vd_login_row l[3], got;
    vd_token_row tr;
    int64_t n_log, n_tok, n_aud;
    int clone = 0;
    vouch_err e;

    (void)st;
    snprintf(path, sizeof(path), "%s/vouchd.db", dir);
    assert_ok(vd_store_sqlite_open(path, 1, &s, &e), e);
    make_login(&l[0], 1000, "did:key:zA");
    make_login(&l[1], 2000, "did:key:zB");
    make_login(&l[2], 3000, "did:key:zC");
    for (int i = 0; i < 3; i++)
        assert_ok(s->ops->login_create(s, &l[i], &e), e);
    make_token(tok[0], key[0], 1999);
    make_token(tok[1], key[1], 2000);
    make_token(tok[2], key[2], 2001);
    for (int i = 0; i < 3; i++) {
        assert_ok(finish(s, &l[i], key[i], 900, 1999 + i, &clone, &e), e);
        assert_int_equal(clone, 0);
    }
    /* one nonce, one login */
    assert_code(finish(s, &l[1], key[0], 900, 5000, &clone, &e), VOUCH_E_LOGIN_NONCE, e);
    assert_ok(s->ops->login_get(s, l[1].state, VOUCH_E_LOGIN_STATE, &got, &e), e);
    assert_int_equal(got.used, 1);
    assert_string_equal(got.nonce, l[1].nonce);

    /* prune(2000): what expired before 2000 goes, the rest stays */
    assert_ok(s->ops->prune(s, 2000, &e), e);
    assert_ok(s->ops->counts(s, &n_log, &n_tok, &n_aud, &e), e);
    assert_int_equal(n_log, 2);
    assert_int_equal(n_tok, 2);
    assert_int_equal(n_aud, 3); /* audit is never pruned */
    assert_code(s->ops->login_get(s, l[0].state, VOUCH_E_NOTFOUND, &got, &e), VOUCH_E_NOTFOUND, e);
    assert_ok(s->ops->login_get(s, l[1].state, VOUCH_E_NOTFOUND, &got, &e), e);
    assert_ok(s->ops->login_get(s, l[2].state, VOUCH_E_NOTFOUND, &got, &e), e);
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
    test_rmtree(dir);
    free(dir);
}

static void test_login_cache(void **st)
{
    vd_login_row a, b, got;

    (void)st;
    make_login(&a, 5000, "did:key:zCacheA");
    make_login(&b, 5000, "did:key:zCacheB");
    assert_int_equal(vd_login_cache_get(a.state, &got), 0);
    vd_login_cache_put(&a);
    assert_int_equal(vd_login_cache_get(a.state, &got), 1);
    assert_string_equal(got.did, "did:key:zCacheA");
    assert_string_equal(got.nonce, a.nonce);
    assert_int_equal(got.used, 0);
    /* not the state: one character off, shorter, longer, empty */
    {
        char s[VD_STATE_LEN + 2];
        memcpy(s, a.state, sizeof(a.state));
        s[VD_STATE_LEN - 1] = s[VD_STATE_LEN - 1] == 'A' ? 'B' : 'A';
        assert_int_equal(vd_login_cache_get(s, &got), 0);
        memcpy(s, a.state, sizeof(a.state));
        s[VD_STATE_LEN - 1] = '\0';
        assert_int_equal(vd_login_cache_get(s, &got), 0);
        memcpy(s, a.state, sizeof(a.state));
        s[VD_STATE_LEN] = 'x';
        s[VD_STATE_LEN + 1] = '\0';
        assert_int_equal(vd_login_cache_get(s, &got), 0);
        assert_int_equal(vd_login_cache_get("", &got), 0);
    }
    vd_login_cache_used(a.state);
    assert_int_equal(vd_login_cache_get(a.state, &got), 1);
    assert_int_equal(got.used, 1);
    /* a login's used mark is its own */
    vd_login_cache_put(&b);
    vd_login_cache_used(a.state);
    assert_int_equal(vd_login_cache_get(b.state, &got), 1);
    assert_int_equal(got.used, 0);
    vd_login_cache_used(b.state);
    assert_int_equal(vd_login_cache_get(b.state, &got), 1);
    assert_int_equal(got.used, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exp_prefix_order),
        cmocka_unit_test(test_store_prune_by_key),
        cmocka_unit_test(test_login_cache),
    };

    vouch_json_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
