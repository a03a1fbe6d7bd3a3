/*
 * test_form.c - the strict form decoder (vouch/form.h): percent escapes and
 * '+' anywhere in a run of plain bytes (the decoder copies plain runs
 * whole), malformed escapes at every position, the field table's rules,
 * and the exact code of each refusal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "vouch/form.h"
#include "vouch/mem.h"

/* Parses body with one optional field "v" (max cap) and returns the code;
 * on success *out is a copy of the decoded value. */
static vouch_code one(const char *body, size_t max, char **out, size_t *outlen)
{
    vouch_form_field f[1] = {{"v", max, 0, NULL, 0}};
    vouch_err e;
    vouch_code rc;

    *out = NULL;
    rc = vouch_form_parse(body, strlen(body), f, 1, &e);
    if (rc == VOUCH_OK && f[0].value) {
        *out = malloc(f[0].len + 1);
        assert_non_null(*out);
        memcpy(*out, f[0].value, f[0].len + 1);
        *outlen = f[0].len;
    }
    vouch_form_free(f, 1);
    return rc;
}

static void decodes_to(const char *body, const char *want, size_t want_len)
{
    char *got = NULL;
    size_t n = 0;

    if (one(body, 4096, &got, &n) != VOUCH_OK || !got)
        fail_msg("%s: refused", body);
    if (n != want_len || memcmp(got, want, n) != 0)
        fail_msg("%s: decoded wrong", body);
    free(got);
}

static void refused_with(const char *body, vouch_code code)
{
    char *got = NULL;
    size_t n = 0;
    vouch_code rc = one(body, 4096, &got, &n);

    if (rc != code)
        fail_msg("%s: got %s, want %s", body, vouch_code_name(rc), vouch_code_name(code));
    assert_null(got);
}

static void test_decode(void **st)
{
    (void)st;
    decodes_to("v=", "", 0);
    decodes_to("v=abc", "abc", 3);
    decodes_to("v=%41", "A", 1);
    decodes_to("v=%4a%4A", "JJ", 2);
    decodes_to("v=+", " ", 1);
    decodes_to("v=a+b", "a b", 3);
    decodes_to("v=%2B", "+", 1);
    decodes_to("v=%25", "%", 1);
    decodes_to("v=%2541", "%41", 3); /* decoded once, not twice */
    decodes_to("v=ab%20cd+ef%21", "ab cd ef!", 9);
    decodes_to("v=++%20++", "     ", 5);
    decodes_to("v=%09x%0D%0A", "\tx\r\n", 4);
    decodes_to("%76=x", "x", 1); /* names are decoded too */
}

/* A '%' and a '+' at every position of a long value, alone and together,
 * decoded as a byte-by-byte reference does. */
static void test_decode_positions(void **st)
{
    char body[300], want[300];
    const size_t len = 200;

    (void)st;
    for (size_t i = 0; i < len; i++) {
        for (int kind = 0; kind < 3; kind++) {
            size_t o = 0, w = 0;
            o += (size_t)snprintf(body, sizeof(body), "v=");
            for (size_t k = 0; k < len; k++) {
                if (k == i && kind == 0) {
                    memcpy(body + o, "%41", 3), o += 3;
                    want[w++] = 'A';
                } else if (k == i && kind == 1) {
                    body[o++] = '+';
                    want[w++] = ' ';
                } else if (kind == 2 && (k == i || k == len - 1 - i)) {
                    memcpy(body + o, k == i ? "+" : "%2b", k == i ? 1 : 3);
                    o += k == i ? 1 : 3;
                    want[w++] = k == i ? ' ' : '+';
                } else {
                    body[o++] = (char)('a' + k % 26);
                    want[w++] = (char)('a' + k % 26);
                }
            }
            body[o] = '\0';
            decodes_to(body, want, w);
        }
    }
}

static void test_refusals(void **st)
{
    char big[5000];

    (void)st;
    /* malformed escapes at the start, middle and end */
    refused_with("v=%", VOUCH_E_LOGIN_REQUEST);
    refused_with("v=%4", VOUCH_E_LOGIN_REQUEST);
    refused_with("v=abc%4", VOUCH_E_LOGIN_REQUEST);
    refused_with("v=%zz", VOUCH_E_LOGIN_REQUEST);
    refused_with("v=ab%g1cd", VOUCH_E_LOGIN_REQUEST);
    refused_with("v=ab%+1cd", VOUCH_E_LOGIN_REQUEST);
    refused_with("v=ab+%", VOUCH_E_LOGIN_REQUEST);
    /* NUL and control bytes, also when escaped */
    refused_with("v=a%00b", VOUCH_E_LOGIN_REQUEST);
    refused_with("v=a%01b", VOUCH_E_LOGIN_REQUEST);
    refused_with("v=a%7Fb", VOUCH_E_LOGIN_REQUEST);
    /* the table's rules */
    refused_with("w=1", VOUCH_E_LOGIN_REQUEST);
    refused_with("v=1&v=2", VOUCH_E_LOGIN_REQUEST);
    refused_with("v=1&&", VOUCH_E_LOGIN_REQUEST);
    refused_with("&v=1", VOUCH_E_LOGIN_REQUEST);
    refused_with("v", VOUCH_E_LOGIN_REQUEST);
    refused_with("=1", VOUCH_E_LOGIN_REQUEST);
    /* longer than the field's max once decoded */
    memset(big, 'a', sizeof(big));
    memcpy(big, "v=", 2);
    big[4099] = '\0'; /* 4097 bytes of value */
    refused_with(big, VOUCH_E_LOGIN_REQUEST);
    big[4098] = '\0'; /* 4096: accepted */
    {
        char *got = NULL;
        size_t n = 0;
        assert_int_equal(one(big, 4096, &got, &n), VOUCH_OK);
        assert_int_equal(n, 4096);
        free(got);
    }
}

/* Many '+' and '%' in one value stay linear (the next of each is searched
 * again only once passed): 60,000 of them decode at once. */
static void test_many_specials(void **st)
{
    size_t n = 60000, o = 0;
    char *body = malloc(2 + n * 3 + 1);
    vouch_form_field f[1] = {{"v", 2 * n, 1, NULL, 0}};
    vouch_err e;

    (void)st;
    assert_non_null(body);
    memcpy(body, "v=", 2);
    o = 2;
    for (size_t i = 0; i < n; i++) {
        if (i % 2) {
            body[o++] = '+';
        } else {
            memcpy(body + o, "%41", 3);
            o += 3;
        }
    }
    body[o] = '\0';
    f[0].max = n;
    /* over VOUCH_FORM_MAX_BODY: refused by the cap, before decoding */
    assert_code(vouch_form_parse(body, o, f, 1, &e), VOUCH_E_LIMIT, e);
    /* at the cap */
    o = VOUCH_FORM_MAX_BODY;
    body[o] = '\0';
    while (body[o - 1] == '%' || body[o - 2] == '%')
        body[--o] = '\0';
    assert_ok(vouch_form_parse(body, o, f, 1, &e), e);
    assert_true(f[0].len > 20000);
    for (size_t i = 0; i < f[0].len; i++)
        assert_true(f[0].value[i] == 'A' || f[0].value[i] == ' ');
    vouch_form_free(f, 1);
    free(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode),
        cmocka_unit_test(test_decode_positions),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_many_specials),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
