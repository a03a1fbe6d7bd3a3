/* test_vc.c - unit tests of lib/vc.c (vouch/vc.h): building VC-JWT claims
 * and checking them, each refusal with its exact code. */
#include "testutil.h"

#include <string.h>

#include "vouch/vc.h"

#define ISS "did:web:example.com"
#define T0 1763683200LL

static json_t *subject(const char *id)
{
    json_t *s = json_pack("{s:s,s:s}", "id", id, "origin", "https://example.com");
    assert_non_null(s);
    return s;
}

/* A valid DomainLinkage-like claims object. */
static json_t *claims(void)
{
    json_t *c = NULL;
    vouch_err e;

    vouch_err_clear(&e);
    assert_ok(vouch_vc_build(ISS, "DomainLinkageCredential",
                             "https://identity.foundation/.well-known/did-configuration/v1",
                             "urn:uuid:1", T0, T0, T0 + 100, subject(ISS), &c, &e),
              e);
    return c;
}

static void vc_expect(json_t *c, vouch_code want)
{
    vouch_vc v;
    vouch_err e;

    vouch_err_clear(&e);
    assert_code(vouch_vc_check(c, "DomainLinkageCredential", ISS, T0 + 1, &v, &e), want, e);
    if (want != VOUCH_OK)
        assert_true(e.msg[0] != '\0');
    json_decref(c);
}

static void test_build_and_check(void **state)
{
    json_t *c = claims(), *vc;
    vouch_vc v;
    vouch_err e;

    (void)state;
    vouch_err_clear(&e);
    vc = json_object_get(c, "vc");
    assert_string_equal(json_string_value(json_array_get(json_object_get(vc, "@context"), 0)),
                        VOUCH_VC_CONTEXT_V1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(vc, "type"), 1)),
                        "DomainLinkageCredential");
    assert_ok(vouch_vc_check(c, "DomainLinkageCredential", ISS, T0, &v, &e), e);
    assert_string_equal(v.iss, ISS);
    assert_string_equal(v.sub, ISS);
    assert_string_equal(v.jti, "urn:uuid:1");
    assert_int_equal(v.iat, T0);
    assert_int_equal(v.nbf, T0);
    assert_int_equal(v.exp, T0 + 100);
    assert_string_equal(json_string_value(json_object_get(v.subject, "origin")),
                        "https://example.com");
    assert_ok(vouch_vc_check(c, "DomainLinkageCredential", NULL, T0 + 99, NULL, &e), e);
    json_decref(c);
}

static void test_check_time_type_issuer(void **state)
{
    json_t *c = claims();
    vouch_err e;

    (void)state;
    vouch_err_clear(&e);
    assert_code(vouch_vc_check(c, "DomainLinkageCredential", ISS, T0 + 100, NULL, &e),
                VOUCH_E_VC_EXPIRED, e);
    assert_code(vouch_vc_check(c, "DomainLinkageCredential", ISS, T0 - 1, NULL, &e),
                VOUCH_E_VC_NOT_YET_VALID, e);
    assert_code(vouch_vc_check(c, "VerifiableFirmwareUpdate", ISS, T0, NULL, &e),
                VOUCH_E_VC_TYPE, e);
    assert_code(vouch_vc_check(c, "VerifiableCredential", ISS, T0, NULL, &e), VOUCH_E_VC_TYPE,
                e);
    assert_code(vouch_vc_check(c, "DomainLinkageCredential", "did:web:evil.example", T0, NULL,
                               &e),
                VOUCH_E_VC_ISSUER, e);
    assert_code(vouch_vc_check(NULL, "x", NULL, T0, NULL, &e), VOUCH_E_ARG, e);
    json_decref(c);
}

static void test_check_structure(void **state)
{
    json_t *c;

    (void)state;
    c = claims();
    json_object_set_new(c, "aud", json_string("x"));
    vc_expect(c, VOUCH_E_VC_FORMAT);
    c = claims();
    json_object_del(c, "jti");
    vc_expect(c, VOUCH_E_VC_FORMAT);
    c = claims();
    json_object_set_new(c, "exp", json_real(1e12));
    vc_expect(c, VOUCH_E_VC_FORMAT);
    c = claims();
    json_object_set_new(c, "nbf", json_string("0"));
    vc_expect(c, VOUCH_E_VC_FORMAT);
    c = claims();
    json_object_set_new(c, "exp", json_integer(9007199254740992LL));
    vc_expect(c, VOUCH_E_VC_FORMAT);
    c = claims();
    json_object_set_new(c, "iat", json_integer(-1));
    vc_expect(c, VOUCH_E_VC_FORMAT);
    c = claims();
    json_object_set_new(c, "exp", json_integer(T0));
    vc_expect(c, VOUCH_E_VC_FORMAT); /* exp <= nbf */
    c = claims();
    json_object_set_new(c, "sub", json_string("did:web:other.example"));
    vc_expect(c, VOUCH_E_VC_FORMAT);
    c = claims();
    json_object_set_new(c, "iss", json_string("https://example.com"));
    vc_expect(c, VOUCH_E_VC_FORMAT);
    c = claims();
    json_object_set_new(c, "iss", json_string("did:web:exa\nmple.com"));
    vc_expect(c, VOUCH_E_VC_FORMAT);
    c = claims();
    json_object_set_new(c, "jti", json_string(""));
    vc_expect(c, VOUCH_E_VC_FORMAT);
    c = claims();
    json_object_set_new(c, "vc", json_string("x"));
    vc_expect(c, VOUCH_E_VC_FORMAT);
    c = claims();
    json_object_set_new(json_object_get(c, "vc"), "issuanceDate", json_string("2025"));
    vc_expect(c, VOUCH_E_VC_FORMAT);
    c = claims();
    json_object_set_new(json_object_get(c, "vc"), "@context",
                        json_pack("[s]", "https://www.w3.org/ns/credentials/v2"));
    vc_expect(c, VOUCH_E_VC_FORMAT);
    c = claims();
    json_object_set_new(json_object_get(c, "vc"), "@context", json_string(VOUCH_VC_CONTEXT_V1));
    vc_expect(c, VOUCH_E_VC_FORMAT);
    c = claims();
    json_object_set_new(json_object_get(c, "vc"), "type",
                        json_pack("[ss]", "DomainLinkageCredential", "VerifiableCredential"));
    vc_expect(c, VOUCH_E_VC_FORMAT);
    c = claims();
    json_object_set_new(json_object_get(c, "vc"), "type", json_array());
    vc_expect(c, VOUCH_E_VC_FORMAT);
    c = claims();
    json_object_set_new(json_object_get(c, "vc"), "type",
                        json_pack("[ssssss]", "VerifiableCredential", "a", "b", "c", "d",
                                  "DomainLinkageCredential"));
    vc_expect(c, VOUCH_E_VC_FORMAT);
    c = claims();
    json_object_del(json_object_get(c, "vc"), "credentialSubject");
    vc_expect(c, VOUCH_E_VC_FORMAT);
    c = claims();
    json_object_del(json_object_get(json_object_get(c, "vc"), "credentialSubject"), "id");
    vc_expect(c, VOUCH_E_VC_FORMAT);
    c = json_array();
    vc_expect(c, VOUCH_E_VC_FORMAT);
}

static void test_build_args(void **state)
{
    json_t *c = NULL;
    vouch_vc v;
    vouch_err e;

    (void)state;
    vouch_err_clear(&e);
    assert_code(vouch_vc_build("example.com", "T", NULL, NULL, T0, T0, T0 + 1, subject(ISS), &c,
                               &e),
                VOUCH_E_ARG, e);
    assert_code(vouch_vc_build(ISS, "T", NULL, NULL, T0, T0, T0, subject(ISS), &c, &e),
                VOUCH_E_ARG, e);
    assert_code(vouch_vc_build(ISS, "T", NULL, NULL, T0, T0, T0 + 1,
                               json_pack("{s:i}", "id", 1), &c, &e),
                VOUCH_E_ARG, e);
    assert_code(vouch_vc_build(ISS, "T", NULL, NULL, T0, T0, T0 + 1, NULL, &c, &e), VOUCH_E_ARG,
                e);
    assert_null(c);
    /* no jti: a fresh urn:uuid, no extra context: one @context */
    assert_ok(vouch_vc_build(ISS, "T", NULL, NULL, T0, T0, T0 + 1, subject("urn:x"), &c, &e), e);
    assert_int_equal(json_array_size(json_object_get(json_object_get(c, "vc"), "@context")), 1);
    assert_ok(vouch_vc_check(c, "T", ISS, T0, &v, &e), e);
    assert_int_equal(strlen(v.jti), 45);
    assert_memory_equal(v.jti, "urn:uuid:", 9);
    assert_int_equal(v.jti[9 + 14], '4');
    json_decref(c);
}

static void test_new_jti(void **state)
{
    char *a = NULL, *b = NULL;
    vouch_err e;

    (void)state;
    vouch_err_clear(&e);
    assert_ok(vouch_vc_new_jti(&a, &e), e);
    assert_ok(vouch_vc_new_jti(&b, &e), e);
    assert_int_equal(strlen(a), 45);
    assert_true(strchr("89ab", a[9 + 19]) != NULL);
    assert_string_not_equal(a, b);
    vouch_free(a);
    vouch_free(b);
    assert_code(vouch_vc_new_jti(NULL, &e), VOUCH_E_ARG, e);
}

static void test_alloc_failures(void **state)
{
    int ok = 0;

    (void)state;
    for (long n = 0; n < 200 && !ok; n++) {
        json_t *c = NULL, *s = subject(ISS);
        vouch_err e;
        vouch_code rc;

        vouch_err_clear(&e);
        vouch_alloc_fail_after(n);
        rc = vouch_vc_build(ISS, "T", "https://x.example/ctx", NULL, T0, T0, T0 + 1, s, &c, &e);
        vouch_alloc_fail_after(-1);
        if (rc != VOUCH_OK) {
            assert_null(c);
            assert_true(rc == VOUCH_E_NOMEM);
        } else {
            assert_ok(vouch_vc_check(c, "T", ISS, T0, NULL, &e), e);
            ok = 1;
        }
        json_decref(c);
    }
    assert_true(ok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_and_check),
        cmocka_unit_test(test_check_time_type_issuer),
        cmocka_unit_test(test_check_structure),
        cmocka_unit_test(test_build_args),
        cmocka_unit_test(test_new_jti),
        cmocka_unit_test(test_alloc_failures),
    };
    vouch_json_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
