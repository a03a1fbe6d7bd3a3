/* vec_wycheproof_jws.c - every case of Wycheproof's json_web_signature_test
 * (tests/data/wycheproof, Apache-2.0, see LICENSE there) through
 * vouch_jws_verify_compact.
 *
 * The file's format: testGroups[], each with a "private" JWK and usually a
 * "public" JWK (HS256 groups carry only the private "oct" key), and tests[]
 * of {tcId, comment, jws (compact text), result "valid"|"invalid", flags}.
 *
 * The mapping from a case to our verdict:
 *   - the group's verification key is its "public" JWK, else its "private"
 *     one with the private members ignored (only "oct" groups have none);
 *   - the key is one we may verify with when vouch_key_from_jwk accepts it
 *     (P-256 or Ed25519) and, like any key-usage-aware loader must, its
 *     "use" is absent or "sig" and its "key_ops" is absent or holds
 *     "verify" (tcId 354 and 356 are ES256 tokens under an encryption key);
 *   - a key we cannot use (RSA, P-521, oct, enc) does not skip the case: the
 *     token is verified with an unrelated P-256 key instead, so that the
 *     parser and header rules see every token, and must still refuse it;
 *   - expected: accepted if and only if result is "valid" and alg is ES256
 *     with a P-256 key or EdDSA with an Ed25519 key. Every other case,
 *     "invalid" or a valid token of an algorithm we do not implement
 *     (HS256, RS*, PS*, ES512), must be refused.
 * The verdicts are counted per outcome and per refusal code.
 *
 * Every case verified with a P-256 key runs again with a copy of that key
 * given a table by vouch_key_precompute, which must return the same code and
 * message.
 */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#define MAX_CODES 256

typedef struct tally {
    unsigned total, accepted_valid, refused_invalid, refused_unsupported_valid;
    unsigned key_unusable;
    unsigned precomputed; /* cases also verified with a precomputed key */
    unsigned by_code[MAX_CODES];
    unsigned failures;
} tally;

/* 1 if the JWK's use/key_ops allow verifying signatures. */
static int jwk_allows_verify(const json_t *jwk)
{
    const json_t *use = json_object_get(jwk, "use"), *ops = json_object_get(jwk, "key_ops"), *v;
    size_t i;

    if (use && (!json_is_string(use) || strcmp(json_string_value(use), "sig") != 0))
        return 0;
    if (!ops)
        return 1;
    if (!json_is_array(ops))
        return 0;
    json_array_foreach(ops, i, v)
        if (json_is_string(v) && strcmp(json_string_value(v), "verify") == 0)
            return 1;
    return 0;
}

/* The group's verification key, or NULL when we cannot or may not use it. */
static vouch_key *group_key(const json_t *group)
{
    const json_t *jwk = json_object_get(group, "public");
    json_t *pub;
    vouch_key *k = NULL;
    vouch_err e;

    if (!jwk)
        jwk = json_object_get(group, "private");
    if (!jwk || !jwk_allows_verify(jwk))
        return NULL;
    /* strip private members: we verify with the public half only */
    pub = json_deep_copy(jwk);
    json_object_del(pub, "d");
    if (vouch_key_from_jwk(pub, VOUCH_JWK_PUBLIC, &k, &e) != VOUCH_OK)
        k = NULL;
    json_decref(pub);
    return k;
}

/* The alg of a compact token's header, if it decodes at all. */
static int token_alg_is(const char *jws, const char *alg)
{
    const char *dot = strchr(jws, '.');
    uint8_t *raw = NULL;
    size_t n = 0;
    json_t *h = NULL;
    int r = 0;

    if (!dot || vouch_b64url_decode(jws, (size_t)(dot - jws), &raw, &n, NULL) != VOUCH_OK)
        return 0;
    if (vouch_json_parse_object((const char *)raw, n, NULL, &h, NULL) == VOUCH_OK) {
        const json_t *a = json_object_get(h, "alg");
        r = json_is_string(a) && strcmp(json_string_value(a), alg) == 0;
    }
    json_decref(h);
    vouch_free(raw);
    return r;
}

/* kp: a precomputed copy of the key the case is verified with, or NULL. */
static void run_case(const json_t *t, vouch_key *k, vouch_key *other, vouch_key *kp, tally *ty)
{
    const char *jws = json_string_value(json_object_get(t, "jws"));
    const char *result = json_string_value(json_object_get(t, "result"));
    json_int_t id = json_integer_value(json_object_get(t, "tcId"));
    const char *comment = json_string_value(json_object_get(t, "comment"));
    vouch_key *vk = k ? k : other;
    int valid = result && strcmp(result, "valid") == 0, expect_ok;
    uint8_t *pl = NULL;
    size_t pn = 0;
    vouch_code rc;
    vouch_err e;

    assert_non_null(jws);
    ty->total++;
    expect_ok = valid && k &&
                ((vouch_key_get_type(k) == VOUCH_KEY_P256 && token_alg_is(jws, "ES256")) ||
                 (vouch_key_get_type(k) == VOUCH_KEY_ED25519 && token_alg_is(jws, "EdDSA")));
    vouch_err_clear(&e);
    rc = vouch_jws_verify_compact(jws, strlen(jws), vk, NULL, &pl, &pn, &e);
    vouch_free(pl);
    if (kp) {
        vouch_err pe;
        vouch_code prc;

        vouch_err_clear(&pe);
        pl = NULL;
        prc = vouch_jws_verify_compact(jws, strlen(jws), kp, NULL, &pl, &pn, &pe);
        vouch_free(pl);
        ty->precomputed++;
        if (prc != rc || strcmp(pe.msg, e.msg) != 0) {
            ty->failures++;
            fprintf(stderr, "FAIL tcId %lld: %s (%s) without the table, %s (%s) with it\n",
                    (long long)id, vouch_code_name(rc), e.msg, vouch_code_name(prc), pe.msg);
            return;
        }
    }
    if ((rc == VOUCH_OK) != expect_ok) {
        ty->failures++;
        fprintf(stderr, "FAIL tcId %lld (%s, %s): got %s (%s), expected %s\n", (long long)id,
                comment ? comment : "", result ? result : "?", vouch_code_name(rc), e.msg,
                expect_ok ? "VOUCH_OK" : "a refusal");
        return;
    }
    if (rc == VOUCH_OK) {
        ty->accepted_valid++;
        return;
    }
    ty->by_code[(unsigned)rc % MAX_CODES]++;
    if (valid)
        ty->refused_unsupported_valid++;
    else
        ty->refused_invalid++;
}

static void test_wycheproof_jws(void **state)
{
    size_t len = 0;
    unsigned char *text = test_read_data("wycheproof/json_web_signature_test.json", &len);
    vouch_json_limits lim = {4u << 20, 0};
    json_t *doc = NULL, *groups, *g;
    vouch_key *other = NULL, *other_p = NULL;
    tally ty;
    size_t gi;
    vouch_err e;
    (void)state;

    memset(&ty, 0, sizeof(ty));
    assert_ok(vouch_json_parse_object((const char *)text, len, &lim, &doc, &e), e);
    assert_ok(vouch_key_generate(VOUCH_KEY_P256, &other, &e), e);
    other_p = test_precomputed_copy(other);
    groups = json_object_get(doc, "testGroups");
    assert_true(json_is_array(groups));
    json_array_foreach(groups, gi, g) {
        vouch_key *k = group_key(g), *kp = test_precomputed_copy(k);
        const json_t *tests = json_object_get(g, "tests"), *t;
        size_t ti;

        json_array_foreach(tests, ti, t) {
            if (!k)
                ty.key_unusable++;
            run_case(t, k, other, k ? kp : other_p, &ty);
        }
        vouch_key_free(kp);
        vouch_key_free(k);
    }
    printf("wycheproof json_web_signature_test: %u cases (file says %lld)\n", ty.total,
           (long long)json_integer_value(json_object_get(doc, "numberOfTests")));
    printf("  accepted, valid ES256/EdDSA:             %u\n", ty.accepted_valid);
    printf("  refused, invalid:                        %u\n", ty.refused_invalid);
    printf("  refused, valid but unsupported alg/key:  %u\n", ty.refused_unsupported_valid);
    printf("  (cases whose group key we cannot use:    %u, verified with another P-256 key)\n",
           ty.key_unusable);
    printf("  again with a precomputed P-256 key:      %u\n", ty.precomputed);
    printf("  refusals by code:\n");
    for (unsigned c = 0; c < MAX_CODES; c++)
        if (ty.by_code[c])
            printf("    %-28s %u\n", vouch_code_name((vouch_code)c), ty.by_code[c]);
    printf("  mismatches: %u\n", ty.failures);
    assert_int_equal(ty.total, json_integer_value(json_object_get(doc, "numberOfTests")));
    assert_int_equal(ty.failures, 0);
    /* the file has no Ed25519 group: every case was verified with a P-256 key */
    assert_int_equal(ty.precomputed, ty.total);
    /* the two valid ES256 cases (tcId 18 and 378) were really accepted */
    assert_int_equal(ty.accepted_valid, 2);
    vouch_key_free(other_p);
    vouch_key_free(other);
    json_decref(doc);
    vouch_free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wycheproof_jws),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
