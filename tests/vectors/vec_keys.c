/* vec_keys.c - published key vectors:
 *   - RFC 8037 A.1-A.4: the Ed25519 JWK, its RFC 7638 thumbprint, and the
 *     deterministic EdDSA signature over the A.4 signing input;
 *   - RFC 7638 s3.1 uses an RSA key, and vouch supports no RSA (SPEC: ES256
 *     and EdDSA only), so that exact vector cannot run here. The same
 *     canonicalization path is checked with RFC 9449 (DPoP) Figures 2/9,
 *     which publish a P-256 JWK and its RFC 7638 SHA-256 thumbprint ("jkt");
 *   - the W3C CCG did:key test vectors (w3c-ccg/did-method-key,
 *     test-vectors/ed25519-x25519.json and nist-curves.json): seeds or
 *     private JWKs, public keys and DIDs, all five Ed25519 and both P-256
 *     entries (the P-384/P-521 and X25519 entries are out of scope);
 *   - Wycheproof json_web_key_test.json: the key groups that concern EC
 *     P-256 (the HMAC, AES and RSA groups test key types we refuse as a
 *     whole, VOUCH_E_KEY_TYPE, which is asserted for them too). */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

static json_t *parse(const char *s)
{
    json_t *v = NULL;
    vouch_err e;

    assert_ok(vouch_json_parse(s, strlen(s), NULL, &v, &e), e);
    return v;
}

static char *b64u(const uint8_t *b, size_t n)
{
    char *s = NULL;
    vouch_err e;

    assert_ok(vouch_b64url_encode(b, n, &s, NULL, &e), e);
    return s;
}

/* ------------------------------------------------------------ RFC 8037 */

#define RFC8037_D "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
#define RFC8037_X "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"

static void test_rfc8037(void **state)
{
    json_t *priv = parse("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"d\":\"" RFC8037_D "\",\"x\":\"" RFC8037_X "\"}");
    json_t *pub = parse("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" RFC8037_X "\"}");
    const char *input = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
    const char *want_sig = "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
    vouch_key *k = NULL, *p = NULL;
    char tp[VOUCH_THUMBPRINT_LEN + 1], *sig64;
    uint8_t sig[64];
    vouch_err e;
    (void)state;

    assert_ok(vouch_key_from_jwk(priv, VOUCH_JWK_ALLOW_PRIVATE, &k, &e), e);
    assert_ok(vouch_key_from_jwk(pub, VOUCH_JWK_PUBLIC, &p, &e), e);
    assert_true(vouch_key_equal(k, p));
    /* A.3 */
    assert_ok(vouch_key_thumbprint(k, tp, &e), e);
    assert_string_equal(tp, "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    assert_ok(vouch_key_thumbprint(p, tp, &e), e);
    assert_string_equal(tp, "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    /* A.4: Ed25519 is deterministic, so our signature is the RFC's */
    assert_ok(vouch_key_sign(k, (const uint8_t *)input, strlen(input), sig, &e), e);
    sig64 = b64u(sig, sizeof(sig));
    assert_string_equal(sig64, want_sig);
    /* A.5 */
    assert_ok(vouch_key_verify(p, (const uint8_t *)input, strlen(input), sig, 64, &e), e);
    vouch_free(sig64);
    vouch_key_free(k);
    vouch_key_free(p);
    json_decref(priv);
    json_decref(pub);
}

/* ------------------------------------------------------- RFC 7638 / 9449 */

static void test_rfc9449_ec_thumbprint(void **state)
{
    /* RFC 9449 Figure 2's key, members in the figure's (non-canonical) order */
    json_t *jwk = parse("{\"kty\":\"EC\",\"x\":\"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs\","
                        "\"y\":\"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA\",\"crv\":\"P-256\"}");
    vouch_key *k = NULL;
    char tp[VOUCH_THUMBPRINT_LEN + 1];
    vouch_err e;
    (void)state;

    assert_ok(vouch_key_from_jwk(jwk, VOUCH_JWK_PUBLIC, &k, &e), e);
    assert_ok(vouch_key_thumbprint(k, tp, &e), e);
    assert_string_equal(tp, "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I");
    vouch_key_free(k);
    json_decref(jwk);
}

/* ------------------------------------------------------------ did:key */

/* test-vectors/ed25519-x25519.json: seed (the private key), public key
 * (base58btc), DID. */
static const struct {
    const char *seed_hex, *pub_b58, *did;
} ed_vectors[] = {
    {"0000000000000000000000000000000000000000000000000000000000000000",
     "4zvwRjXUKGfvwnParsHAS3HuSVzV5cA4McphgmoCtajS",
     "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"},
    {"0000000000000000000000000000000000000000000000000000000000000001",
     "6ASf5EcmmEHTgDJ4X4ZT5vT6iHVJBXPg5AN5YoTCpGWt",
     "did:key:z6MkjchhfUsD6mmvni8mCdXHw216Xrm9bQe2mBH1P5RDjVJG"},
    {"0000000000000000000000000000000000000000000000000000000000000002",
     "8pM1DN3RiT8vbom5u1sNryaNT1nyL8CTTW3b5PwWXRBH",
     "did:key:z6MknGc3ocHs3zdPiJbnaaqDi58NGb4pk1Sp9WxWufuXSdxf"},
    {"0000000000000000000000000000000000000000000000000000000000000003",
     "HPYVwAQmskwT1qEEeRzhoomyfyupJGASQQtCXSNG8XS2",
     "did:key:z6MkvqoYXQfDDJRv8L4wKzxYeuKyVZBfi9Qo6Ro8MiLH3kDQ"},
    {"0000000000000000000000000000000000000000000000000000000000000004",
     "J3qYF7YJMKCqQke47UQwiHizgFUXapHxRxKmxbkar89x",
     "did:key:z6MkwW6aqMnjgrhJXFUko3NnZPGzVpkNzhYK7yEhnsibmLwL"},
};

/* test-vectors/nist-curves.json: P-256 private JWKs and their DIDs. */
static const struct {
    const char *x, *y, *d, *did;
} p256_vectors[] = {
    {"igrFmi0whuihKnj9R3Om1SoMph72wUGeFaBbzG2vzns", "efsX5b10x8yjyrj4ny3pGfLcY7Xby1KzgqOdqnsrJIM",
     "gPh-VvVS8MbvKQ9LSVVmfnxnKjHn4Tqj0bmbpehRlpc",
     "did:key:zDnaerx9CtbPJ1q36T5Ln5wYt3MQYeGRG5ehnPAmxcf5mDZpv"},
    {"fyNYMN0976ci7xqiSdag3buk-ZCwgXU4kz9XNkBlNUI", "hW2ojTNfH7Jbi8--CJUo3OCbH3y5n91g-IMA9MLMbTU",
     "YjRs6vNvw4sYrzVVY8ipkEpDAD9PFqw1sUnvPRMA-WI",
     "did:key:zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169"},
};

/* The DID of k must be want; decoding want gives k's public key back, and
 * the document's JWK is that key. */
static void check_did(const vouch_key *k, const char *want)
{
    char *did = NULL;
    vouch_key *d = NULL, *fromdoc = NULL;
    json_t *doc = NULL, *vm;
    vouch_err e;

    assert_ok(vouch_did_key_encode(k, &did, &e), e);
    assert_string_equal(did, want);
    assert_ok(vouch_did_key_decode(want, &d, &e), e);
    assert_true(vouch_key_equal(k, d));
    assert_ok(vouch_did_key_document(want, &doc, &e), e);
    vm = json_array_get(json_object_get(doc, "verificationMethod"), 0);
    assert_ok(vouch_key_from_jwk(json_object_get(vm, "publicKeyJwk"), 0, &fromdoc, &e), e);
    assert_true(vouch_key_equal(k, fromdoc));
    json_decref(doc);
    vouch_key_free(fromdoc);
    vouch_key_free(d);
    vouch_free(did);
}

static void test_didkey_ed25519(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(ed_vectors) / sizeof(ed_vectors[0]); i++) {
        uint8_t *seed = NULL, *pub = NULL;
        size_t sn = 0, pn = 0;
        char *d64, *x64, text[256];
        json_t *jwk;
        vouch_key *k = NULL;
        uint8_t raw[VOUCH_PUB_MAX];
        size_t rn = 0;
        vouch_err e;

        assert_ok(vouch_hex_decode(ed_vectors[i].seed_hex, 64, &seed, &sn, &e), e);
        assert_ok(vouch_b58_decode(ed_vectors[i].pub_b58, strlen(ed_vectors[i].pub_b58), &pub,
                                   &pn, &e),
                  e);
        assert_int_equal(pn, 32);
        d64 = b64u(seed, sn);
        x64 = b64u(pub, pn);
        snprintf(text, sizeof(text), "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\",\"d\":\"%s\"}",
                 x64, d64);
        jwk = parse(text);
        /* the import checks that the seed gives this public key */
        assert_ok(vouch_key_from_jwk(jwk, VOUCH_JWK_ALLOW_PRIVATE, &k, &e), e);
        assert_ok(vouch_key_public_raw(k, raw, sizeof(raw), &rn, &e), e);
        assert_int_equal(rn, 32);
        assert_memory_equal(raw, pub, 32);
        check_did(k, ed_vectors[i].did);
        json_decref(jwk);
        vouch_key_free(k);
        vouch_free(d64);
        vouch_free(x64);
        vouch_free_secret(seed, sn);
        vouch_free(pub);
    }
    printf("did:key Ed25519 vectors: %zu\n", sizeof(ed_vectors) / sizeof(ed_vectors[0]));
}

static void test_didkey_p256(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(p256_vectors) / sizeof(p256_vectors[0]); i++) {
        char text[300];
        json_t *jwk, *out = NULL;
        vouch_key *k = NULL;
        vouch_err e;

        snprintf(text, sizeof(text),
                 "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\",\"d\":\"%s\"}",
                 p256_vectors[i].x, p256_vectors[i].y, p256_vectors[i].d);
        jwk = parse(text);
        assert_ok(vouch_key_from_jwk(jwk, VOUCH_JWK_ALLOW_PRIVATE, &k, &e), e);
        check_did(k, p256_vectors[i].did);
        /* the public JWK of the decoded DID is the vector's publicKeyJwk */
        assert_ok(vouch_key_to_jwk(k, &out, &e), e);
        assert_string_equal(json_string_value(json_object_get(out, "x")), p256_vectors[i].x);
        assert_string_equal(json_string_value(json_object_get(out, "y")), p256_vectors[i].y);
        json_decref(out);
        json_decref(jwk);
        vouch_key_free(k);
    }
    printf("did:key P-256 vectors: %zu\n", sizeof(p256_vectors) / sizeof(p256_vectors[0]));
}

/* ------------------------------------------------- Wycheproof JWK tests */

/* Expected code per Wycheproof group comment, for each of its keys. */
static const struct {
    const char *comment;
    vouch_code ec, other; /* for EC keys, and for every other key */
} wp_expect[] = {
    {"jws_mixedSymmetryKeyset", VOUCH_OK, VOUCH_E_KEY_TYPE},
    {"jws_keyset", VOUCH_OK, VOUCH_E_KEY_TYPE},
    {"jws_duplicate_kid", VOUCH_OK, VOUCH_E_KEY_TYPE},
    {"rs256", VOUCH_OK, VOUCH_E_KEY_TYPE},
    {"jws_rsa_roca_key", VOUCH_OK, VOUCH_E_KEY_TYPE},
    {"keysize_too_small", VOUCH_OK, VOUCH_E_KEY_TYPE},
    {"exponentOne", VOUCH_OK, VOUCH_E_KEY_TYPE},
    {"HS256", VOUCH_OK, VOUCH_E_KEY_TYPE},
    {"HS384", VOUCH_OK, VOUCH_E_KEY_TYPE},
    {"HS512", VOUCH_OK, VOUCH_E_KEY_TYPE},
    {"wrong_algorithm", VOUCH_E_KEY_JWK, VOUCH_E_KEY_TYPE},   /* alg ES521 on P-256 */
    {"invalid_algorithm", VOUCH_E_KEY_JWK, VOUCH_E_KEY_TYPE}, /* alg ES224 */
    {"invalid_use", VOUCH_E_KEY_JWK, VOUCH_E_KEY_TYPE},       /* use enc */
    {"invalid_point", VOUCH_E_KEY_POINT, VOUCH_E_KEY_TYPE},
    {"wrong_curve", VOUCH_E_KEY_TYPE, VOUCH_E_KEY_TYPE},      /* crv P-384 with P-256 bytes */
    {"wrong_kty", VOUCH_E_KEY_TYPE, VOUCH_E_KEY_TYPE},        /* kty RSA with EC members */
    {"invalid_aes_gcm_key", VOUCH_OK, VOUCH_E_KEY_TYPE},
    {"invalid_aes_kw_key", VOUCH_OK, VOUCH_E_KEY_TYPE},
};

/* Runs one key; for private keys both without (refused as private) and with
 * VOUCH_JWK_ALLOW_PRIVATE. Returns 1 if the key is an EC key that imported. */
static int wp_key(const char *comment, const json_t *key, int private, vouch_code want_ec,
                  vouch_code want_other, unsigned *count)
{
    int is_ec = json_is_string(json_object_get(key, "x"));
    vouch_code want = is_ec ? want_ec : want_other, rc;
    vouch_key *k = NULL;
    vouch_err e;

    vouch_err_clear(&e);
    rc = vouch_key_from_jwk(key, private ? VOUCH_JWK_ALLOW_PRIVATE : 0, &k, &e);
    if (rc != want)
        fail_msg("wycheproof %s (%s key): got %s (%s), want %s", comment,
                 private ? "private" : "public", vouch_code_name(rc), e.msg, vouch_code_name(want));
    (*count)++;
    vouch_key_free(k);
    if (private && want == VOUCH_OK && json_object_get(key, "d")) {
        /* the same private key offered where a public one is expected */
        rc = vouch_key_from_jwk(key, VOUCH_JWK_PUBLIC, &k, &e);
        if (rc != VOUCH_E_KEY_PRIVATE)
            fail_msg("wycheproof %s: private key as public gave %s", comment, vouch_code_name(rc));
        (*count)++;
    }
    return is_ec && rc != VOUCH_E_KEY_TYPE;
}

static void test_wycheproof_jwk(void **state)
{
    char path[4096];
    json_error_t je;
    json_t *root, *g;
    size_t gi;
    unsigned keys = 0, groups = 0;
    (void)state;

    root = json_load_file(test_data_path(path, sizeof(path), "wycheproof/json_web_key_test.json"),
                          0, &je);
    if (!root)
        fail_msg("%s: %s", path, je.text);
    json_array_foreach(json_object_get(root, "testGroups"), gi, g) {
        const char *comment = json_string_value(json_object_get(g, "comment"));
        size_t w, ki;
        json_t *key;

        for (w = 0; w < sizeof(wp_expect) / sizeof(wp_expect[0]); w++)
            if (strcmp(wp_expect[w].comment, comment) == 0)
                break;
        if (w == sizeof(wp_expect) / sizeof(wp_expect[0]))
            fail_msg("wycheproof JWK group %s has no expectation here", comment);
        groups++;
        for (int priv = 0; priv < 2; priv++) {
            const json_t *set = json_object_get(g, priv ? "private" : "public");
            const json_t *list = json_object_get(set, "keys");
            if (!set)
                continue;
            if (list) {
                json_array_foreach(list, ki, key)
                    wp_key(comment, key, priv, wp_expect[w].ec, wp_expect[w].other, &keys);
            } else {
                wp_key(comment, set, priv, wp_expect[w].ec, wp_expect[w].other, &keys);
            }
        }
    }
    printf("wycheproof json_web_key_test: %u groups, %u key imports checked\n", groups, keys);
    assert_int_equal(groups, 25); /* 26 tests: jws_keyset has two */
    json_decref(root);
}

/* The P-256 key of the Wycheproof keysets verifies the ES256 JWS that the
 * invalid-key groups carry, so the key bytes themselves are right. */
static void test_wycheproof_jwk_es256(void **state)
{
    json_t *jwk = parse("{\"kty\":\"EC\",\"crv\":\"P-256\","
                        "\"x\":\"04N0xi21hshyvBp7I167sbE_bXqyqkAPfefdklMO7wY\","
                        "\"y\":\"UI8exy-C06a7DUnjIdENkxeFtHM4-l_41LqEw9nVgmw\",\"alg\":\"ES256\"}");
    const char *input = "eyJhbGciOiJFUzI1NiIsImtpZCI6ImtpZC1lYy1zaWduIn0.Zm9v";
    const char *sig64 = "5cA0OHyMP7ezamUd5c9kV-FrGxdx4hbGXOdplQkutrqWrte5P-pAvsE3Ve6xSyU3YDQwUHjVVOtvcrEbbnZ8yA";
    uint8_t sig[64];
    size_t n = 0;
    vouch_key *k = NULL;
    vouch_err e;
    (void)state;

    assert_ok(vouch_key_from_jwk(jwk, 0, &k, &e), e);
    assert_ok(vouch_b64url_decode_buf(sig64, strlen(sig64), sig, sizeof(sig), &n, &e), e);
    assert_int_equal(n, 64);
    assert_ok(vouch_key_verify(k, (const uint8_t *)input, strlen(input), sig, n, &e), e);
    sig[5] ^= 1;
    assert_code(vouch_key_verify(k, (const uint8_t *)input, strlen(input), sig, n, &e),
                VOUCH_E_JWS_BAD_SIGNATURE, e);
    vouch_key_free(k);
    json_decref(jwk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc8037),
        cmocka_unit_test(test_rfc9449_ec_thumbprint),
        cmocka_unit_test(test_didkey_ed25519),
        cmocka_unit_test(test_didkey_p256),
        cmocka_unit_test(test_wycheproof_jwk),
        cmocka_unit_test(test_wycheproof_jwk_es256),
    };
    vouch_json_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
