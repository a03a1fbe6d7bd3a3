/* vec_rfc_jws.c - published JWS vectors: RFC 8037 Appendix A.1-A.5
 * (Ed25519: key, public key, thumbprint, signing, verification) and RFC
 * 7515 Appendix A.3, A.6 and A.7 (ES256 compact, general, flattened).
 *
 * Ed25519 is deterministic, so our signature must equal the RFC's byte for
 * byte. The A.4 value below is the one printed in RFC 8037; it is also what
 * OpenSSL, python-cryptography and every other implementation we checked
 * produce. (A copy of this vector with the second half of the signature
 * altered circulates; it is kept below as a negative case.) */
#include "testutil.h"

#include <string.h>

/* RFC 8037 A.1 */
static const char rfc8037_jwk[] = "{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
                                  "\"d\":\"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A\","
                                  "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}";
/* A.2 */
static const char rfc8037_x[] = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
/* A.3 */
static const char rfc8037_thumbprint[] = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k";
/* A.4 */
static const char rfc8037_payload[] = "Example of Ed25519 signing";
static const char rfc8037_jws[] =
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
/* the same R with a different S: must not verify */
static const char rfc8037_jws_altered[] =
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dU1QmVNZjf8NBBh4PoBIj3jPnoyQMa2w6gbDD9GHmCQ";

/* RFC 7515 A.3 (the key of A.3.1, the JWS of A.3.1/A.3.2) */
static const char rfc7515_a3_jwk[] = "{\"kty\":\"EC\",\"crv\":\"P-256\","
                                     "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
                                     "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}";
static const char rfc7515_a3_jwk_private[] =
    "{\"kty\":\"EC\",\"crv\":\"P-256\","
    "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
    "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\","
    "\"d\":\"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI\"}";
#define A3_PROTECTED "eyJhbGciOiJFUzI1NiJ9"
#define A3_PAYLOAD                                                                             \
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0" \
    "cnVlfQ"
#define A3_SIGNATURE                                                                           \
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q"
static const char rfc7515_a3_jws[] = A3_PROTECTED "." A3_PAYLOAD "." A3_SIGNATURE;
static const char rfc7515_a3_claims[] =
    "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}";

/* RFC 7515 A.7: A.3 in the flattened JSON serialization */
static const char rfc7515_a7[] = "{\"payload\":\"" A3_PAYLOAD "\",\"protected\":\"" A3_PROTECTED
                                 "\",\"header\":{\"kid\":\"e9bc097a-ce51-4036-9562-d2ade882db0d\"},"
                                 "\"signature\":\"" A3_SIGNATURE "\"}";

/* RFC 7515 A.6: general serialization with an RS256 (A.2) and the ES256
 * (A.3) signature. We implement no RSA, and a header we refuse refuses the
 * whole JWS (see jws.h). */
static const char rfc7515_a6[] =
    "{\"payload\":\"" A3_PAYLOAD "\",\"signatures\":["
    "{\"protected\":\"eyJhbGciOiJSUzI1NiJ9\",\"header\":{\"kid\":\"2010-12-29\"},"
    "\"signature\":\"cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc"
    "_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArL"
    "IARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1"
    "phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw\"},"
    "{\"protected\":\"" A3_PROTECTED "\",\"header\":{\"kid\":\"e9bc097a-ce51-4036-9562-d2ade882db0d\"},"
    "\"signature\":\"" A3_SIGNATURE "\"}]}";

static vouch_key *key_from_jwk_text(const char *text, unsigned flags)
{
    json_t *j = NULL;
    vouch_key *k = NULL;
    vouch_err e;

    assert_ok(vouch_json_parse_object(text, strlen(text), NULL, &j, &e), e);
    assert_ok(vouch_key_from_jwk(j, flags, &k, &e), e);
    json_decref(j);
    return k;
}

static void test_rfc8037_a1_a3_key(void **state)
{
    vouch_key *k = key_from_jwk_text(rfc8037_jwk, VOUCH_JWK_ALLOW_PRIVATE);
    json_t *pub = NULL, *j = NULL;
    char tp[VOUCH_THUMBPRINT_LEN + 1];
    const char *x = NULL;
    vouch_key *nop = NULL;
    vouch_err e;
    (void)state;

    assert_int_equal(vouch_key_get_type(k), VOUCH_KEY_ED25519);
    assert_true(vouch_key_has_private(k));
    assert_string_equal(vouch_key_alg(k), "EdDSA");
    /* A.2: the public key */
    assert_ok(vouch_key_to_jwk(k, &pub, &e), e);
    assert_ok(vouch_json_get_string(pub, "x", &x, &e), e);
    assert_string_equal(x, rfc8037_x);
    assert_null(json_object_get(pub, "d"));
    /* A.3: the thumbprint */
    assert_ok(vouch_key_thumbprint(k, tp, &e), e);
    assert_string_equal(tp, rfc8037_thumbprint);
    /* the private JWK is refused where a public one is expected */
    assert_ok(vouch_json_parse_object(rfc8037_jwk, strlen(rfc8037_jwk), NULL, &j, &e), e);
    assert_code(vouch_key_from_jwk(j, VOUCH_JWK_PUBLIC, &nop, &e), VOUCH_E_KEY_PRIVATE, e);
    json_decref(j);
    json_decref(pub);
    vouch_key_free(k);
}

static void test_rfc8037_a4_sign(void **state)
{
    vouch_key *k = key_from_jwk_text(rfc8037_jwk, VOUCH_JWK_ALLOW_PRIVATE);
    char *out = NULL;
    vouch_err e;
    (void)state;

    /* no typ, no kid: the protected header is exactly {"alg":"EdDSA"} */
    assert_ok(vouch_jws_sign_compact(k, NULL, (const uint8_t *)rfc8037_payload,
                                     strlen(rfc8037_payload), &out, &e),
              e);
    assert_string_equal(out, rfc8037_jws);
    vouch_free(out);
    vouch_key_free(k);
}

static void test_rfc8037_a5_verify(void **state)
{
    char pubjwk[256];
    vouch_key *k;
    uint8_t *pl = NULL;
    size_t pn = 0;
    vouch_err e;
    (void)state;

    snprintf(pubjwk, sizeof(pubjwk), "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\"}", rfc8037_x);
    k = key_from_jwk_text(pubjwk, VOUCH_JWK_PUBLIC);
    assert_ok(vouch_jws_verify_compact(rfc8037_jws, strlen(rfc8037_jws), k, NULL, &pl, &pn, &e), e);
    assert_int_equal(pn, strlen(rfc8037_payload));
    assert_memory_equal(pl, rfc8037_payload, pn);
    vouch_free(pl);
    assert_code(vouch_jws_verify_compact(rfc8037_jws_altered, strlen(rfc8037_jws_altered), k, NULL,
                                         &pl, &pn, &e),
                VOUCH_E_JWS_BAD_SIGNATURE, e);
    assert_null(pl);
    vouch_key_free(k);
}

static void test_rfc7515_a3_verify(void **state)
{
    vouch_key *k = key_from_jwk_text(rfc7515_a3_jwk, VOUCH_JWK_PUBLIC);
    vouch_key *ek = key_from_jwk_text(rfc8037_jwk, VOUCH_JWK_ALLOW_PRIVATE);
    uint8_t *pl = NULL;
    size_t pn = 0;
    vouch_err e;
    (void)state;

    assert_ok(vouch_jws_verify_compact(rfc7515_a3_jws, strlen(rfc7515_a3_jws), k, NULL, &pl, &pn,
                                       &e),
              e);
    assert_int_equal(pn, strlen(rfc7515_a3_claims));
    assert_memory_equal(pl, rfc7515_a3_claims, pn);
    vouch_free(pl);
    /* the header has no typ: a caller that expects one refuses it */
    assert_code(vouch_jws_verify_compact(rfc7515_a3_jws, strlen(rfc7515_a3_jws), k, "JWT", NULL,
                                         NULL, &e),
                VOUCH_E_JWS_TYP, e);
    /* and the Ed25519 key is not its key */
    assert_code(vouch_jws_verify_compact(rfc7515_a3_jws, strlen(rfc7515_a3_jws), ek, NULL, NULL,
                                         NULL, &e),
                VOUCH_E_JWS_ALG_MISMATCH, e);
    vouch_key_free(ek);
    vouch_key_free(k);
}

static void test_rfc7515_a3_sign(void **state)
{
    vouch_key *k = key_from_jwk_text(rfc7515_a3_jwk_private, VOUCH_JWK_ALLOW_PRIVATE);
    vouch_key *pub = key_from_jwk_text(rfc7515_a3_jwk, VOUCH_JWK_PUBLIC);
    char *out = NULL;
    uint8_t *pl = NULL;
    size_t pn = 0;
    vouch_err e;
    (void)state;

    /* ECDSA is randomized: the header and payload match the RFC, and the
     * signature verifies with the RFC's public key */
    assert_ok(vouch_jws_sign_compact(k, NULL, (const uint8_t *)rfc7515_a3_claims,
                                     strlen(rfc7515_a3_claims), &out, &e),
              e);
    assert_int_equal(strncmp(out, A3_PROTECTED "." A3_PAYLOAD ".",
                             strlen(A3_PROTECTED "." A3_PAYLOAD ".")),
                     0);
    assert_ok(vouch_jws_verify_compact(out, strlen(out), pub, NULL, &pl, &pn, &e), e);
    vouch_free(pl);
    vouch_free(out);
    vouch_key_free(pub);
    vouch_key_free(k);
}

static void test_rfc7515_a6_a7(void **state)
{
    vouch_key *k = key_from_jwk_text(rfc7515_a3_jwk, VOUCH_JWK_PUBLIC);
    vouch_jws_keyref keys[1] = {{"e9bc097a-ce51-4036-9562-d2ade882db0d", NULL}};
    vouch_jws_result r[1];
    vouch_jws *j = NULL;
    vouch_err e;
    (void)state;

    keys[0].key = k;
    assert_ok(vouch_jws_parse(rfc7515_a7, strlen(rfc7515_a7), &j, &e), e);
    assert_int_equal(j->compact, 0);
    assert_int_equal(j->nsigs, 1);
    assert_string_equal(j->sigs[0].kid, "e9bc097a-ce51-4036-9562-d2ade882db0d");
    assert_ok(vouch_jws_verify_all(j, keys, 1, NULL, r, &e), e);
    assert_int_equal(r[0].key_index, 0);
    assert_int_equal(j->payload_len, strlen(rfc7515_a3_claims));
    vouch_jws_free(j);
    assert_code(vouch_jws_parse(rfc7515_a6, strlen(rfc7515_a6), &j, &e), VOUCH_E_JWS_ALG, e);
    assert_null(j);
    vouch_key_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc8037_a1_a3_key),
        cmocka_unit_test(test_rfc8037_a4_sign),
        cmocka_unit_test(test_rfc8037_a5_verify),
        cmocka_unit_test(test_rfc7515_a3_verify),
        cmocka_unit_test(test_rfc7515_a3_sign),
        cmocka_unit_test(test_rfc7515_a6_a7),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
