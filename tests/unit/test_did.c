/* test_did.c - mirrors lib/did.c: did:key encode/decode round trips, every
 * refusal with its code, the DID document and verification method ids. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* W3C CCG did:key test vectors (test-vectors/ed25519-x25519.json, nist-curves.json) */
#define ED_DID "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
#define P256_DID "did:key:zDnaerx9CtbPJ1q36T5Ln5wYt3MQYeGRG5ehnPAmxcf5mDZpv"

/* did:key:z + base58btc(bytes) built here, for malformed multicodec cases */
static char *did_of(const uint8_t *b, size_t n)
{
    char *mb = NULL, *d;
    vouch_err e;

    assert_ok(vouch_multibase_encode(b, n, &mb, &e), e);
    d = malloc(strlen(mb) + 9);
    assert_non_null(d);
    sprintf(d, "did:key:%s", mb);
    vouch_free(mb);
    return d;
}

static void test_roundtrip(void **state)
{
    vouch_key_type types[] = {VOUCH_KEY_P256, VOUCH_KEY_ED25519};
    (void)state;

    for (size_t i = 0; i < 2; i++) {
        vouch_key *k = NULL, *d = NULL;
        char *did = NULL, *withfrag;
        vouch_err e;

        assert_ok(vouch_key_generate(types[i], &k, &e), e);
        assert_ok(vouch_did_key_encode(k, &did, &e), e);
        assert_true(strncmp(did, types[i] == VOUCH_KEY_P256 ? "did:key:zDn" : "did:key:z6Mk", 11) ==
                    0);
        assert_true(strlen(did) <= VOUCH_DID_MAX);
        assert_ok(vouch_did_key_decode(did, &d, &e), e);
        assert_true(vouch_key_equal(k, d));
        assert_false(vouch_key_has_private(d));
        vouch_key_free(d);
        d = NULL;
        /* a DID URL fragment is ignored */
        withfrag = malloc(strlen(did) + 8);
        assert_non_null(withfrag);
        sprintf(withfrag, "%s#key-1", did);
        assert_ok(vouch_did_key_decode(withfrag, &d, &e), e);
        assert_true(vouch_key_equal(k, d));
        free(withfrag);
        vouch_key_free(d);
        vouch_free(did);
        vouch_key_free(k);
    }
}

struct did_case {
    const char *did;
    vouch_code want;
};

static const struct did_case did_cases[] = {
    {ED_DID, VOUCH_OK},
    {P256_DID, VOUCH_OK},
    {P256_DID "#zDnaerx9CtbPJ1q36T5Ln5wYt3MQYeGRG5ehnPAmxcf5mDZpv", VOUCH_OK},
    {"", VOUCH_E_DID_SYNTAX},
    {"did", VOUCH_E_DID_SYNTAX},
    {"did:", VOUCH_E_DID_SYNTAX},
    {"did:key", VOUCH_E_DID_SYNTAX},
    {"did:key:", VOUCH_E_DID_SYNTAX},
    {"did::z6Mk", VOUCH_E_DID_SYNTAX},
    {"DID:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp", VOUCH_E_DID_SYNTAX},
    {"did:KEY:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp", VOUCH_E_DID_SYNTAX},
    {"z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp", VOUCH_E_DID_SYNTAX},
    {"#frag", VOUCH_E_DID_SYNTAX},
    {"did:web:example.com", VOUCH_E_DID_METHOD},
    {"did:keys:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp", VOUCH_E_DID_METHOD},
    {"did:ke:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp", VOUCH_E_DID_METHOD},
    /* not base58btc multibase */
    {"did:key:u7QEA", VOUCH_E_KEY_DIDKEY},
    {"did:key:6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp", VOUCH_E_KEY_DIDKEY},
    {"did:key:z", VOUCH_E_KEY_DIDKEY},
    {"did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooW0", VOUCH_E_KEY_DIDKEY},
    {"did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWl", VOUCH_E_KEY_DIDKEY},
    {"did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp/path", VOUCH_E_KEY_DIDKEY},
    {"did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp?q=1", VOUCH_E_KEY_DIDKEY},
    {"did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp ", VOUCH_E_KEY_DIDKEY},
    /* one character more or less: other lengths */
    {"did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWpp", VOUCH_E_KEY_DIDKEY},
    {"did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooW", VOUCH_E_KEY_DIDKEY},
    /* X25519 (z6LS...), secp256k1 (zQ3s...), P-384 (z82L...) keys are not ours */
    {"did:key:z6LShs9GGnqk85isEBzzshkuVWrVKsRp24GnDuHk8QWkARMW", VOUCH_E_KEY_DIDKEY},
    {"did:key:z82Lm1MpAkeJcix9K8TMiLd5NMAhnwkjjCBeWHXyu3U4oT2MVJJKXkcVBgjGhnLBn2Kaau9",
     VOUCH_E_KEY_DIDKEY},
    {"did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme", VOUCH_E_KEY_DIDKEY},
};

static void test_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(did_cases) / sizeof(did_cases[0]); i++) {
        vouch_key *k = NULL;
        vouch_err e;
        vouch_code rc;

        vouch_err_clear(&e);
        rc = vouch_did_key_decode(did_cases[i].did, &k, &e);
        if (rc != did_cases[i].want)
            fail_msg("case %zu \"%s\": got %s (%s), want %s", i, did_cases[i].did,
                     vouch_code_name(rc), e.msg, vouch_code_name(did_cases[i].want));
        if (rc == VOUCH_OK)
            assert_non_null(k);
        else
            assert_null(k);
        vouch_key_free(k);
    }
}

/* Multicodec prefixes and key bytes built by hand. */
static void test_multicodec(void **state)
{
    vouch_key *k = NULL, *ed = NULL, *p = NULL;
    uint8_t raw[VOUCH_PUB_MAX], b[80];
    size_t n = 0;
    char *d;
    vouch_err e;
    (void)state;

    assert_ok(vouch_key_generate(VOUCH_KEY_ED25519, &ed, &e), e);
    assert_ok(vouch_key_generate(VOUCH_KEY_P256, &p, &e), e);

    /* the right bytes decode */
    assert_ok(vouch_key_public_raw(ed, raw, sizeof(raw), &n, &e), e);
    b[0] = 0xed;
    b[1] = 0x01;
    memcpy(b + 2, raw, 32);
    d = did_of(b, 34);
    assert_ok(vouch_did_key_decode(d, &k, &e), e);
    assert_true(vouch_key_equal(k, ed));
    vouch_key_free(k);
    k = NULL;
    free(d);
    /* non-minimal varint for 0xed: 0xed 0x81 0x00 */
    b[0] = 0xed;
    b[1] = 0x81;
    b[2] = 0x00;
    memcpy(b + 3, raw, 32);
    d = did_of(b, 35);
    assert_code(vouch_did_key_decode(d, &k, &e), VOUCH_E_KEY_DIDKEY, e);
    free(d);
    /* one-byte 0x6d (no continuation) and a missing prefix */
    b[0] = 0x6d;
    memcpy(b + 1, raw, 32);
    d = did_of(b, 33);
    assert_code(vouch_did_key_decode(d, &k, &e), VOUCH_E_KEY_DIDKEY, e);
    free(d);
    d = did_of(raw, 32);
    assert_code(vouch_did_key_decode(d, &k, &e), VOUCH_E_KEY_DIDKEY, e);
    free(d);
    /* Ed25519 code with a P-256 length and vice versa */
    assert_ok(vouch_key_public_raw(p, raw, sizeof(raw), &n, &e), e);
    b[0] = 0xed;
    b[1] = 0x01;
    memcpy(b + 2, raw, 33);
    d = did_of(b, 35);
    assert_code(vouch_did_key_decode(d, &k, &e), VOUCH_E_KEY_DIDKEY, e);
    free(d);
    b[0] = 0x80;
    b[1] = 0x24;
    memcpy(b + 2, raw, 33);
    d = did_of(b, 35);
    assert_ok(vouch_did_key_decode(d, &k, &e), e);
    assert_true(vouch_key_equal(k, p));
    vouch_key_free(k);
    k = NULL;
    free(d);
    d = did_of(b, 34);
    assert_code(vouch_did_key_decode(d, &k, &e), VOUCH_E_KEY_DIDKEY, e);
    free(d);
    /* uncompressed P-256 points are not did:key */
    {
        json_t *jwk = NULL;
        assert_ok(vouch_key_to_jwk(p, &jwk, &e), e);
        b[2] = 0x04;
        assert_ok(vouch_b64url_decode_buf(json_string_value(json_object_get(jwk, "x")), 43, b + 3,
                                          32, &n, &e),
                  e);
        assert_ok(vouch_b64url_decode_buf(json_string_value(json_object_get(jwk, "y")), 43, b + 35,
                                          32, &n, &e),
                  e);
        json_decref(jwk);
        d = did_of(b, 67);
        assert_code(vouch_did_key_decode(d, &k, &e), VOUCH_E_KEY_DIDKEY, e);
        free(d);
    }
    /* a compressed x with no point on the curve (found by trying), and an
     * invalid Ed25519 point */
    memset(b + 2, 0, 33);
    b[2] = 0x02;
    for (b[34] = 1;; b[34]++) {
        vouch_key *t = NULL;
        if (vouch_key_from_public_raw(VOUCH_KEY_P256, b + 2, 33, &t, &e) != VOUCH_OK)
            break;
        vouch_key_free(t);
    }
    d = did_of(b, 35);
    assert_code(vouch_did_key_decode(d, &k, &e), VOUCH_E_KEY_DIDKEY, e);
    free(d);
    b[0] = 0xed;
    b[1] = 0x01;
    memset(b + 2, 0, 32);
    b[2] = 0x02;
    d = did_of(b, 34);
    assert_code(vouch_did_key_decode(d, &k, &e), VOUCH_E_KEY_DIDKEY, e);
    free(d);
    assert_null(k);
    vouch_key_free(ed);
    vouch_key_free(p);
}

static void test_limits_and_args(void **state)
{
    char big[VOUCH_DID_MAX + 32];
    vouch_key *k = NULL;
    char *s = NULL;
    json_t *doc = NULL;
    vouch_err e;
    (void)state;

    memcpy(big, "did:key:z", 9);
    memset(big + 9, '2', sizeof(big) - 10);
    big[sizeof(big) - 1] = '\0';
    assert_code(vouch_did_key_decode(big, &k, &e), VOUCH_E_LIMIT, e);
    assert_code(vouch_did_key_vm_id(big, &s, &e), VOUCH_E_LIMIT, e);
    assert_code(vouch_did_key_document(big, &doc, &e), VOUCH_E_LIMIT, e);
    /* just under the cap, but not a key */
    big[VOUCH_DID_MAX] = '\0';
    assert_code(vouch_did_key_decode(big, &k, &e), VOUCH_E_KEY_DIDKEY, e);
    assert_code(vouch_did_key_decode(NULL, &k, &e), VOUCH_E_ARG, e);
    assert_code(vouch_did_key_decode(ED_DID, NULL, &e), VOUCH_E_ARG, e);
    assert_code(vouch_did_key_encode(NULL, &s, &e), VOUCH_E_ARG, e);
    assert_code(vouch_did_key_vm_id("did:web:x", &s, &e), VOUCH_E_DID_METHOD, e);
    assert_code(vouch_did_key_document("did:key:zzz", &doc, &e), VOUCH_E_KEY_DIDKEY, e);
    assert_null(k);
    assert_null(s);
    assert_null(doc);
}

static void test_document(void **state)
{
    const char *dids[] = {ED_DID, P256_DID};
    (void)state;

    for (size_t i = 0; i < 2; i++) {
        char frag[300], *vm = NULL, *text = NULL;
        json_t *doc = NULL, *m, *rel;
        vouch_key *k = NULL, *fromjwk = NULL;
        size_t n;
        vouch_err e;
        static const char *const rels[] = {"authentication", "assertionMethod",
                                           "capabilityInvocation", "capabilityDelegation"};

        snprintf(frag, sizeof(frag), "%s#ignored", dids[i]);
        assert_ok(vouch_did_key_vm_id(frag, &vm, &e), e);
        assert_int_equal(strlen(vm), 2 * strlen(dids[i]) - 8 + 1);
        assert_memory_equal(vm, dids[i], strlen(dids[i]));
        assert_int_equal(vm[strlen(dids[i])], '#');
        assert_string_equal(vm + strlen(dids[i]) + 1, dids[i] + 8);

        assert_ok(vouch_did_key_document(frag, &doc, &e), e);
        assert_string_equal(json_string_value(json_object_get(doc, "id")), dids[i]);
        assert_string_equal(json_string_value(json_array_get(json_object_get(doc, "@context"), 0)),
                            "https://www.w3.org/ns/did/v1");
        assert_int_equal(json_array_size(json_object_get(doc, "verificationMethod")), 1);
        m = json_array_get(json_object_get(doc, "verificationMethod"), 0);
        assert_string_equal(json_string_value(json_object_get(m, "id")), vm);
        assert_string_equal(json_string_value(json_object_get(m, "type")), "JsonWebKey2020");
        assert_string_equal(json_string_value(json_object_get(m, "controller")), dids[i]);
        for (size_t r = 0; r < 4; r++) {
            rel = json_object_get(doc, rels[r]);
            assert_int_equal(json_array_size(rel), 1);
            assert_string_equal(json_string_value(json_array_get(rel, 0)), vm);
        }
        /* the JWK in the document is the key of the DID, public only */
        assert_ok(vouch_did_key_decode(dids[i], &k, &e), e);
        assert_ok(vouch_key_from_jwk(json_object_get(m, "publicKeyJwk"), VOUCH_JWK_PUBLIC,
                                     &fromjwk, &e),
                  e);
        assert_true(vouch_key_equal(k, fromjwk));
        assert_ok(vouch_json_dump(doc, &text, &n, &e), e);
        assert_null(strstr(text, "\"d\""));
        vouch_free(text);
        vouch_key_free(k);
        vouch_key_free(fromjwk);
        json_decref(doc);
        vouch_free(vm);
    }
}

static void test_alloc_failures(void **state)
{
    int ok_seen = 0;
    (void)state;

    for (long n = 0; n < 1000 && !ok_seen; n++) {
        vouch_key *k = NULL, *d = NULL;
        char *did = NULL, *vm = NULL;
        json_t *doc = NULL;
        vouch_err e;
        vouch_code rc;

        vouch_alloc_fail_after(n);
        rc = vouch_did_key_decode(P256_DID, &k, &e);
        if (rc == VOUCH_OK)
            rc = vouch_did_key_encode(k, &did, &e);
        if (rc == VOUCH_OK)
            rc = vouch_did_key_decode(did, &d, &e);
        if (rc == VOUCH_OK)
            rc = vouch_did_key_vm_id(did, &vm, &e);
        if (rc == VOUCH_OK)
            rc = vouch_did_key_document(ED_DID, &doc, &e);
        vouch_alloc_fail_after(-1);
        if (rc != VOUCH_OK && rc != VOUCH_E_NOMEM)
            fail_msg("allocation %ld failing gave %s (%s)", n, vouch_code_name(rc), e.msg);
        ok_seen = rc == VOUCH_OK;
        json_decref(doc);
        vouch_free(vm);
        vouch_free(did);
        vouch_key_free(d);
        vouch_key_free(k);
    }
    assert_true(ok_seen);
}

/* The did:key cache gives exactly what a fresh decode gives: the same key,
 * the same code for a bad DID (never cached), past evictions, and keys that
 * outlive the cache. */
static void test_cache(void **state)
{
    vouch_did_cache *c = NULL;
    vouch_key *keys[3] = {NULL, NULL, NULL}, *k = NULL, *fresh = NULL;
    char *dids[3] = {NULL, NULL, NULL};
    vouch_err e, e2;
    (void)state;

    vouch_err_clear(&e);
    assert_code(vouch_did_cache_new(0, &c, &e), VOUCH_E_ARG, e);
    assert_code(vouch_did_cache_new(VOUCH_DID_CACHE_MAX + 1, &c, &e), VOUCH_E_ARG, e);
    assert_ok(vouch_did_cache_new(2, &c, &e), e);
    for (int i = 0; i < 3; i++) {
        assert_ok(vouch_key_generate(i == 1 ? VOUCH_KEY_ED25519 : VOUCH_KEY_P256, &keys[i], &e),
                  e);
        assert_ok(vouch_did_key_encode(keys[i], &dids[i], &e), e);
    }
    /* three DIDs through a cache of two, twice: every answer is right, the
     * first one after its eviction too */
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 3; i++) {
            assert_ok(vouch_did_cache_decode(c, dids[i], &k, &e), e);
            assert_true(vouch_key_equal(k, keys[i]));
            vouch_key_free(k);
        }
    /* a bad DID: the same code as an uncached decode, every time */
    for (int i = 0; i < 2; i++) {
        assert_code(vouch_did_cache_decode(c, "did:key:zDnaNOTAKEY", &k, &e),
                    vouch_did_key_decode("did:key:zDnaNOTAKEY", &fresh, &e2), e);
        assert_null(k);
        assert_null(fresh);
    }
    assert_code(vouch_did_cache_decode(c, "did:web:example.com", &k, &e), VOUCH_E_DID_METHOD, e);
    /* a key handed out lives on after the cache is gone */
    assert_ok(vouch_did_cache_decode(c, dids[2], &k, &e), e);
    vouch_did_cache_free(c);
    assert_true(vouch_key_equal(k, keys[2]));
    vouch_key_free(k);
    /* no cache: a plain decode */
    assert_ok(vouch_did_cache_decode(NULL, dids[0], &k, &e), e);
    assert_true(vouch_key_equal(k, keys[0]));
    vouch_key_free(k);
    for (int i = 0; i < 3; i++) {
        vouch_key_free(keys[i]);
        vouch_free(dids[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),      cmocka_unit_test(test_cases),
        cmocka_unit_test(test_multicodec),     cmocka_unit_test(test_limits_and_args),
        cmocka_unit_test(test_document),       cmocka_unit_test(test_alloc_failures),
        cmocka_unit_test(test_cache),
    };
    vouch_json_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
