/* test_error.c - mirrors lib/error.c */
#include "testutil.h"

#include <string.h>

static void test_set_returns_code_and_message(void **state)
{
    vouch_err e;
    (void)state;
    vouch_err_clear(&e);
    assert_int_equal(vouch_err_set(&e, VOUCH_E_JWS_ALG, "alg %s refused", "none"), VOUCH_E_JWS_ALG);
    assert_int_equal(e.code, VOUCH_E_JWS_ALG);
    assert_string_equal(e.msg, "alg none refused");
    vouch_err_prefix(&e, "token %d", 2);
    assert_string_equal(e.msg, "token 2: alg none refused");
    /* NULL err is allowed everywhere */
    assert_int_equal(vouch_err_set(NULL, VOUCH_E_IO, "x"), VOUCH_E_IO);
}

static void test_message_truncates_safely(void **state)
{
    vouch_err e;
    char big[1000];
    (void)state;
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    vouch_err_set(&e, VOUCH_E_LIMIT, "%s", big);
    assert_int_equal(strlen(e.msg), VOUCH_ERR_MSG_MAX - 1);
}

static void test_names_and_domains(void **state)
{
    (void)state;
    assert_string_equal(vouch_code_name(VOUCH_E_JSON_DUPLICATE), "VOUCH_E_JSON_DUPLICATE");
    assert_string_equal(vouch_code_name((vouch_code)254), "VOUCH_E_UNKNOWN");
    assert_int_equal(vouch_code_domain(VOUCH_E_B64URL), VOUCH_DOMAIN_CODEC);
    assert_int_equal(vouch_code_domain(VOUCH_E_KEY_DIDKEY), VOUCH_DOMAIN_KEY);
    assert_int_equal(vouch_code_domain(VOUCH_E_JWS_NO_VALID), VOUCH_DOMAIN_JWS);
    assert_string_equal(vouch_domain_name(vouch_code_domain(VOUCH_E_DID_SYNTAX)), "did");
}

static void test_table_is_complete_and_ordered(void **state)
{
    unsigned i = 0;
    vouch_code c, prev = VOUCH_OK;
    int n = 0;
    (void)state;
    while ((c = vouch_code_next(&i)) != VOUCH_OK) {
        assert_true(c > prev); /* strictly increasing: no duplicates */
        assert_true(c <= 255); /* usable as an exit code */
        assert_string_not_equal(vouch_code_name(c), "VOUCH_E_UNKNOWN");
        prev = c;
        n++;
    }
    assert_true(n >= 40);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_returns_code_and_message),
        cmocka_unit_test(test_message_truncates_safely),
        cmocka_unit_test(test_names_and_domains),
        cmocka_unit_test(test_table_is_complete_and_ordered),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
