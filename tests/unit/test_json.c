/* test_json.c - mirrors lib/json.c */
#include "testutil.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define assert_msg_has(e, part)                                                          \
    do {                                                                                 \
        if (!strstr((e).msg, (part)))                                                    \
            fail_msg("%s:%d: message \"%s\" lacks \"%s\"", __FILE__, __LINE__, (e).msg, \
                     (part));                                                            \
    } while (0)

/* Parses a string literal (its exact bytes, NULs included) with lim. */
#define PARSE_LIM(lit, lim, e) parse_bytes((lit), sizeof(lit) - 1, (lim), &(e))
#define PARSE(lit, e) PARSE_LIM(lit, NULL, e)

static vouch_code parse_bytes(const char *buf, size_t len, const vouch_json_limits *lim,
                              vouch_err *e)
{
    json_t *v = (json_t *)1; /* must be reset to NULL on failure */
    vouch_code rc;

    vouch_err_clear(e);
    rc = vouch_json_parse(buf, len, lim, &v, e);
    if (rc == VOUCH_OK) {
        assert_non_null(v);
        assert_int_equal(e->code, VOUCH_OK);
    } else {
        assert_null(v);
        assert_int_equal(e->code, rc);
        assert_true(e->msg[0] != '\0');
    }
    json_decref(v);
    return rc;
}

/* A string of n copies of open followed by n copies of close. */
static char *nest(size_t n, const char *open, const char *close, size_t *len)
{
    size_t lo = strlen(open), lc = strlen(close);
    char *s = malloc(n * (lo + lc) + 1), *p = s;

    assert_non_null(s);
    for (size_t i = 0; i < n; i++, p += lo)
        memcpy(p, open, lo);
    for (size_t i = 0; i < n; i++, p += lc)
        memcpy(p, close, lc);
    *p = '\0';
    *len = (size_t)(p - s);
    return s;
}

static void test_parse_accepts(void **state)
{
    vouch_err e;
    (void)state;
    assert_ok(PARSE("{\"alg\":\"ES256\",\"n\":[1,2.5,true,false,null,{}]}", e), e);
    /* RFC 8259: any value at the top, whitespace around it */
    assert_ok(PARSE("1", e), e);
    assert_ok(PARSE("\"x\"", e), e);
    assert_ok(PARSE(" \t\r\n null \t\r\n", e), e);
    assert_ok(PARSE("[]", e), e);
    /* valid UTF-8 at the edges of the ranges */
    assert_ok(PARSE("[\"\xc2\x80 \xdf\xbf \xe0\xa0\x80 \xed\x9f\xbf \xee\x80\x80 \xef\xbf\xbf\"]",
                    e),
              e);
    assert_ok(PARSE("[\"\xf0\x90\x80\x80 \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf\"]", e), e);
    /* escapes: a valid pair, U+0001, and an escaped quote before brackets */
    assert_ok(PARSE("[\"\\uD83D\\uDE00\", \"\\udbff\\udfff\", \"\\u0001\"]", e), e);
    assert_ok(PARSE("[\"\\\"]]]]\\\\\"]", e), e);
    /* int64 edges are representable (the getter applies 2^53) */
    assert_ok(PARSE("[9223372036854775807, -9223372036854775808]", e), e);
    assert_ok(PARSE("[1e-400, 1.7976931348623157e308]", e), e); /* underflow is 0 */
}

static void test_parse_args(void **state)
{
    json_t *v = NULL;
    vouch_err e;
    (void)state;
    assert_code(vouch_json_parse(NULL, 3, NULL, &v, &e), VOUCH_E_ARG, e);
    assert_code(vouch_json_parse("{}", 2, NULL, NULL, &e), VOUCH_E_ARG, e);
    assert_code(vouch_json_parse(NULL, 0, NULL, &v, &e), VOUCH_E_JSON_SYNTAX, e);
    assert_code(vouch_json_parse("", 0, NULL, &v, &e), VOUCH_E_JSON_SYNTAX, e);
    assert_code(vouch_json_parse("   ", 3, NULL, &v, &e), VOUCH_E_JSON_SYNTAX, e);
    assert_null(v);
    /* a NULL vouch_err is allowed */
    assert_int_equal(vouch_json_parse("[", 1, NULL, &v, NULL), VOUCH_E_JSON_SYNTAX);
    vouch_json_init(); /* idempotent */
    vouch_json_init();
}

static void test_size_cap(void **state)
{
    vouch_json_limits lim = {10, 0};
    size_t big = VOUCH_JSON_MAX_BYTES_DEFAULT + 1;
    char *doc;
    vouch_err e;
    (void)state;
    assert_ok(PARSE_LIM("[1,2,3,45]", &lim, e), e); /* exactly 10 bytes */
    assert_code(PARSE_LIM("[1,2,3,456]", &lim, e), VOUCH_E_JSON_SIZE, e);
    assert_msg_has(e, "11 bytes exceeds the cap of 10");
    /* the default cap; the content is never looked at */
    doc = malloc(big);
    assert_non_null(doc);
    memset(doc, ' ', big);
    doc[0] = '1';
    assert_code(parse_bytes(doc, big, NULL, &e), VOUCH_E_JSON_SIZE, e);
    assert_ok(parse_bytes(doc, big - 1, NULL, &e), e);
    free(doc);
}

static void test_depth_cap(void **state)
{
    vouch_json_limits lim = {0, 2};
    size_t len;
    char *doc;
    unsigned long before;
    vouch_err e;
    (void)state;
    doc = nest(32, "[", "]", &len);
    assert_ok(parse_bytes(doc, len, NULL, &e), e);
    free(doc);
    doc = nest(33, "[", "]", &len);
    assert_code(parse_bytes(doc, len, NULL, &e), VOUCH_E_JSON_DEPTH, e);
    assert_msg_has(e, "deeper than 32 at byte 32");
    free(doc);
    doc = nest(17, "{\"a\":[", "]}", &len); /* 34 levels, objects and arrays */
    assert_code(parse_bytes(doc, len, NULL, &e), VOUCH_E_JSON_DEPTH, e);
    free(doc);
    /* 100000 '[' fail in the pre-scan: jansson never runs, nothing is
     * allocated */
    doc = nest(100000, "[", "", &len);
    before = vouch_alloc_count();
    assert_code(parse_bytes(doc, len, NULL, &e), VOUCH_E_JSON_DEPTH, e);
    assert_int_equal(vouch_alloc_count(), before);
    free(doc);
    /* a custom cap */
    assert_ok(PARSE_LIM("[[1]]", &lim, e), e);
    assert_code(PARSE_LIM("[[[1]]]", &lim, e), VOUCH_E_JSON_DEPTH, e);
    assert_code(PARSE_LIM("{\"a\":{\"b\":{}}}", &lim, e), VOUCH_E_JSON_DEPTH, e);
    /* brackets in strings do not count, escaped quotes do not end strings */
    assert_ok(PARSE_LIM("[\"[[[[[[{{{{{\"]", &lim, e), e);
    assert_ok(PARSE_LIM("[\"\\\"[[[[[[\", {\"[[[\":\"\\\\\"}]", &lim, e), e);
}

static void test_duplicates(void **state)
{
    vouch_err e;
    (void)state;
    assert_code(PARSE("{\"alg\":\"ES256\",\"alg\":\"none\"}", e), VOUCH_E_JSON_DUPLICATE, e);
    assert_msg_has(e, "duplicate member \"alg\" at byte 15");
    /* same value too */
    assert_code(PARSE("{\"a\":1,\"a\":1}", e), VOUCH_E_JSON_DUPLICATE, e);
    /* nested objects, and objects inside arrays */
    assert_code(PARSE("{\"h\":{\"kid\":\"a\",\"x\":1,\"kid\":\"b\"}}", e), VOUCH_E_JSON_DUPLICATE,
                e);
    assert_msg_has(e, "\"kid\" at byte 22");
    assert_code(PARSE("[1,{\"a\":[{\"b\":1,\"b\":2}]}]", e), VOUCH_E_JSON_DUPLICATE, e);
    assert_msg_has(e, "\"b\"");
    /* one name, two spellings */
    assert_code(PARSE("{\"a\":1,\"\\u0061\":2}", e), VOUCH_E_JSON_DUPLICATE, e);
    assert_msg_has(e, "\"\\x5cu0061\" at byte 7"); /* named as written, '\' escaped */
    /* a name with an escaped quote is found by walking back */
    assert_code(PARSE("{\"a\\\"b\":1, \"a\\\"b\" :2}", e), VOUCH_E_JSON_DUPLICATE, e);
    assert_msg_has(e, "at byte 11");
    /* the same name in sibling objects is fine */
    assert_ok(PARSE("[{\"a\":1},{\"a\":2},{\"b\":{\"a\":3}}]", e), e);
    assert_ok(PARSE("{\"a\":1,\"A\":2,\"a \":3}", e), e);
}

static void test_utf8(void **state)
{
    static const struct {
        const char *doc, *why;
    } bad[] = {
        {"[\"\xc0\xaf\"]", "overlong"},
        {"[\"\xc1\xbf\"]", "overlong"},
        {"[\"\xe0\x80\xaf\"]", "overlong"},
        {"[\"\xf0\x80\x80\xaf\"]", "overlong"},
        {"[\"\xed\xa0\x80\"]", "surrogate"},
        {"[\"\xed\xbf\xbf\"]", "surrogate"},
        {"[\"\xf4\x90\x80\x80\"]", "beyond U+10FFFF"},
        {"[\"\xf5\x80\x80\x80\"]", "beyond U+10FFFF"},
        {"[\"\xff\"]", "never valid"},
        {"[\"\x80\"]", "continuation"},
        {"[\"\xe9\"]", "incomplete"},       /* ISO-8859-1 e-acute */
        {"[\"\xe2\x82\"]", "incomplete"},   /* cut before the quote */
        {"[\"\xe2\x82", "end of input"},    /* cut by the end of the document */
        {"[\xc3\xa9]", NULL},               /* valid UTF-8, but outside a string */
    };
    vouch_err e;
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        vouch_code rc = parse_bytes(bad[i].doc, strlen(bad[i].doc), NULL, &e);
        if (bad[i].why) {
            assert_code(rc, VOUCH_E_JSON_UTF8, e);
            assert_msg_has(e, bad[i].why);
        } else {
            assert_code(rc, VOUCH_E_JSON_SYNTAX, e);
        }
    }
    assert_code(PARSE("{\"k\xff\":1}", e), VOUCH_E_JSON_UTF8, e); /* in a key */
    assert_msg_has(e, "at byte 3");
    assert_code(PARSE("[1]\xff", e), VOUCH_E_JSON_UTF8, e); /* outside any string */
    /* raw NUL anywhere */
    assert_code(PARSE("[\"a\0b\"]", e), VOUCH_E_JSON_UTF8, e);
    assert_msg_has(e, "NUL byte at byte 3");
    assert_code(PARSE("[1]\0", e), VOUCH_E_JSON_UTF8, e);
    assert_code(PARSE("[\"\\\0\"]", e), VOUCH_E_JSON_UTF8, e);
}

static void test_surrogates_and_nul_escapes(void **state)
{
    static const char *lone[] = {
        "[\"\\uD800\"]",         "[\"\\udbff\"]",          "[\"\\uDC00\"]",
        "[\"\\uDFFF\"]",         "[\"\\uD800\\u0041\"]",   "[\"\\uD800x\"]",
        "[\"\\uD800\\n\"]",      "[\"\\uD800\\uD800\"]",   "[\"\\uDE00\\uD83D\"]",
        "{\"\\uDC00\":1}",       "[\"a\\uD834\"]",         "[\"\\uD834\\uDd1e\\uD834\"]",
    };
    vouch_err e;
    (void)state;
    for (size_t i = 0; i < sizeof(lone) / sizeof(lone[0]); i++) {
        assert_code(parse_bytes(lone[i], strlen(lone[i]), NULL, &e), VOUCH_E_JSON_UTF8, e);
        assert_msg_has(e, "surrogate");
    }
    assert_code(PARSE("[\"ab\\uD800\"]", e), VOUCH_E_JSON_UTF8, e);
    assert_msg_has(e, "lone high surrogate escape at byte 4");
    assert_code(PARSE("[\"\\u0000\"]", e), VOUCH_E_JSON_UTF8, e);
    assert_msg_has(e, "\\u0000 escape at byte 2");
    assert_code(PARSE("{\"a\\u0000b\":1}", e), VOUCH_E_JSON_UTF8, e);
    /* "\\u0000" is a backslash then "u0000": fine */
    assert_ok(PARSE("[\"\\\\u0000\", \"\\\\uD800\"]", e), e);
}

static void test_trailing_bom_syntax(void **state)
{
    vouch_err e;
    (void)state;
    assert_code(PARSE("{} x", e), VOUCH_E_JSON_TRAILING, e);
    assert_msg_has(e, "trailing data");
    assert_code(PARSE("{}}", e), VOUCH_E_JSON_TRAILING, e);
    assert_code(PARSE("[1] [2]", e), VOUCH_E_JSON_TRAILING, e);
    assert_code(PARSE("1 2", e), VOUCH_E_JSON_TRAILING, e);
    assert_code(PARSE("{\"a\":1}// comment", e), VOUCH_E_JSON_TRAILING, e);
    assert_ok(PARSE("{}\r\n\t ", e), e);
    /* a UTF-8 byte order mark is not JSON */
    assert_code(PARSE("\xef\xbb\xbf{}", e), VOUCH_E_JSON_SYNTAX, e);
    assert_msg_has(e, "byte order mark");
    assert_code(PARSE(" \xef\xbb\xbf{}", e), VOUCH_E_JSON_SYNTAX, e);
    /* plain syntax errors */
    assert_code(PARSE("[1,]", e), VOUCH_E_JSON_SYNTAX, e);
    assert_code(PARSE("{'a':1}", e), VOUCH_E_JSON_SYNTAX, e);
    assert_code(PARSE("[01]", e), VOUCH_E_JSON_SYNTAX, e);
    assert_code(PARSE("[NaN]", e), VOUCH_E_JSON_SYNTAX, e);
    assert_code(PARSE("{\"a\" 1}", e), VOUCH_E_JSON_SYNTAX, e);
    assert_code(PARSE("[\"a\tb\"]", e), VOUCH_E_JSON_SYNTAX, e); /* raw control char */
    assert_code(PARSE("[", e), VOUCH_E_JSON_SYNTAX, e);
    assert_code(PARSE("]", e), VOUCH_E_JSON_SYNTAX, e);
    /* messages never quote the document (it may hold a private key) */
    assert_code(PARSE("{\"d\":\"SECRETSECRET\" \"x\"}", e), VOUCH_E_JSON_SYNTAX, e);
    assert_null(strstr(e.msg, "SECRET"));
    assert_msg_has(e, "at byte");
}

static void test_numbers(void **state)
{
    vouch_err e;
    (void)state;
    assert_code(PARSE("[9223372036854775808]", e), VOUCH_E_JSON_RANGE, e);
    assert_code(PARSE("[-9223372036854775809]", e), VOUCH_E_JSON_RANGE, e);
    assert_code(PARSE("{\"exp\":123456789012345678901234567890}", e), VOUCH_E_JSON_RANGE, e);
    assert_code(PARSE("[1e400]", e), VOUCH_E_JSON_RANGE, e);
    assert_code(PARSE("[-1e400]", e), VOUCH_E_JSON_RANGE, e);
    assert_code(PARSE("1.8e308", e), VOUCH_E_JSON_RANGE, e);
}

/* The first error is reported where jansson 2.14 reported it: just past the
 * token that broke the grammar, with line and column (characters, not
 * bytes), in jansson's words; tests/fuzz/fuzz_json_diff.c checks the rest. */
static void test_syntax_messages(void **state)
{
    static const struct {
        const char *doc;
        vouch_code code;
        const char *msg;
    } cases[] = {
        {"", VOUCH_E_JSON_SYNTAX, "at byte 0 (line 1, column 0): unexpected token"},
        {" \n ", VOUCH_E_JSON_SYNTAX, "at byte 3 (line 2, column 1): unexpected token"},
        {"-", VOUCH_E_JSON_SYNTAX, "at byte 1 (line 1, column 1): invalid token"},
        {"--1", VOUCH_E_JSON_SYNTAX, "at byte 1 (line 1, column 1): invalid token"},
        {"01", VOUCH_E_JSON_SYNTAX, "at byte 1 (line 1, column 1): invalid token"},
        {"-01", VOUCH_E_JSON_SYNTAX, "at byte 2 (line 1, column 2): invalid token"},
        {"1.", VOUCH_E_JSON_SYNTAX, "at byte 2 (line 1, column 2): invalid token"},
        {"1.a", VOUCH_E_JSON_SYNTAX, "at byte 2 (line 1, column 2): invalid token"},
        {".5", VOUCH_E_JSON_SYNTAX, "at byte 1 (line 1, column 1): invalid token"},
        {"1e", VOUCH_E_JSON_SYNTAX, "at byte 2 (line 1, column 2): invalid token"},
        {"1e+", VOUCH_E_JSON_SYNTAX, "at byte 3 (line 1, column 3): invalid token"},
        {"1E-x", VOUCH_E_JSON_SYNTAX, "at byte 3 (line 1, column 3): invalid token"},
        {"[-]", VOUCH_E_JSON_SYNTAX, "at byte 2 (line 1, column 2): invalid token"},
        {"[1x]", VOUCH_E_JSON_SYNTAX, "at byte 3 (line 1, column 3): ']' expected"},
        {"tru", VOUCH_E_JSON_SYNTAX, "at byte 3 (line 1, column 3): invalid token"},
        {"truex", VOUCH_E_JSON_SYNTAX, "at byte 5 (line 1, column 5): invalid token"},
        {"[nulll]", VOUCH_E_JSON_SYNTAX, "at byte 6 (line 1, column 6): invalid token"},
        {"'a'", VOUCH_E_JSON_SYNTAX, "at byte 1 (line 1, column 1): invalid token"},
        {"[\xc3\xa9]", VOUCH_E_JSON_SYNTAX, "at byte 3 (line 1, column 2): invalid token"},
        {"\"abc", VOUCH_E_JSON_SYNTAX, "at byte 4 (line 1, column 4): premature end of input"},
        {"\"a\x01" "b\"", VOUCH_E_JSON_SYNTAX,
         "at byte 2 (line 1, column 2): control character 0x1"},
        {"[\n\"\xc3\xa9\xc3\xa9\n\"]", VOUCH_E_JSON_SYNTAX,
         "at byte 7 (line 2, column 3): unexpected newline"},
        {"\"\\q\"", VOUCH_E_JSON_SYNTAX, "at byte 3 (line 1, column 3): invalid escape"},
        {"\"\\", VOUCH_E_JSON_SYNTAX, "at byte 2 (line 1, column 2): invalid escape"},
        {"\"\\u12", VOUCH_E_JSON_SYNTAX, "at byte 5 (line 1, column 5): invalid escape"},
        {"\"\\u12x4\"", VOUCH_E_JSON_SYNTAX, "at byte 6 (line 1, column 6): invalid escape"},
        {"[1,]", VOUCH_E_JSON_SYNTAX, "at byte 4 (line 1, column 4): unexpected token"},
        {"[1,", VOUCH_E_JSON_SYNTAX, "at byte 3 (line 1, column 3): ']' expected"},
        {"[1 2]", VOUCH_E_JSON_SYNTAX, "at byte 4 (line 1, column 4): ']' expected"},
        {"{", VOUCH_E_JSON_SYNTAX, "at byte 1 (line 1, column 1): string or '}' expected"},
        {"{1:2}", VOUCH_E_JSON_SYNTAX, "at byte 2 (line 1, column 2): string or '}' expected"},
        {"{\"a\":1,}", VOUCH_E_JSON_SYNTAX, "at byte 8 (line 1, column 8): string or '}' expected"},
        {"{\"a\"1}", VOUCH_E_JSON_SYNTAX, "at byte 5 (line 1, column 5): ':' expected"},
        {"{\"a\":", VOUCH_E_JSON_SYNTAX, "at byte 5 (line 1, column 5): unexpected token"},
        {"{\"a\":1 \"b\":2}", VOUCH_E_JSON_SYNTAX, "at byte 10 (line 1, column 10): '}' expected"},
        {"{\"a\":1,\n \"b\":2,\n x}", VOUCH_E_JSON_SYNTAX,
         "at byte 18 (line 3, column 2): string or '}' expected"},
        /* a bad token right after the value is trailing data, not syntax */
        {"1x", VOUCH_E_JSON_TRAILING, "trailing data after the JSON value, near byte 1"},
        {"1 -", VOUCH_E_JSON_TRAILING, "near byte 2"},
        {"1 01", VOUCH_E_JSON_TRAILING, "near byte 2"},
        {"1 23", VOUCH_E_JSON_TRAILING, "near byte 3"},
        {"true1", VOUCH_E_JSON_TRAILING, "near byte 4"},
        {"{} xyz", VOUCH_E_JSON_TRAILING, "near byte 5"},
        {"1 \"abc\"", VOUCH_E_JSON_TRAILING, "near byte 6"},
        /* ... unless reading that token fails first */
        {"1 \"abc", VOUCH_E_JSON_SYNTAX, "at byte 6 (line 1, column 6): premature end of input"},
        {"1 1e999", VOUCH_E_JSON_RANGE, "at byte 7 (line 1, column 7): real number overflow"},
        {"[9223372036854775808]", VOUCH_E_JSON_RANGE,
         "at byte 20 (line 1, column 20): too big integer"},
        {"[-9223372036854775809]", VOUCH_E_JSON_RANGE,
         "at byte 21 (line 1, column 21): too big negative integer"},
        {"[-1e400]", VOUCH_E_JSON_RANGE, "at byte 7 (line 1, column 7): real number overflow"},
        /* a duplicate is found before its value is read */
        {"{\"a\":1,\"a\":[}", VOUCH_E_JSON_DUPLICATE, "duplicate member \"a\" at byte 7"},
        {"{\"\xe2\x82\xac\":1,\"\xe2\x82\xac\":2}", VOUCH_E_JSON_DUPLICATE,
         "duplicate member \"\\xe2\\x82\\xac\" at byte 9"},
    };
    vouch_err e;
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vouch_code rc = parse_bytes(cases[i].doc, strlen(cases[i].doc), NULL, &e);
        if (rc != cases[i].code || !strstr(e.msg, cases[i].msg))
            fail_msg("case %zu: got %s \"%s\", want %s \"...%s\"", i, vouch_code_name(rc), e.msg,
                     vouch_code_name(cases[i].code), cases[i].msg);
    }
}

/* Integers are json_int_t (strtoll's range), everything with a fraction or
 * an exponent is a real (strtod, C locale): 1 and 1.0 differ in type. */
static void test_number_values(void **state)
{
    static const char doc[] =
        "[0,-0,1.0,-0.0,1e2,1E-2,-9223372036854775808,9223372036854775807,4.9e-324,1e-400,"
        "123456789012345678901234567890.5,"
        "10000000000000000000000000000000000000000000000000000000000000000000000.0]";
    json_t *v = NULL, *x;
    vouch_err e;
    (void)state;
    assert_ok(vouch_json_parse(doc, sizeof(doc) - 1, NULL, &v, &e), e);
    assert_int_equal(json_array_size(v), 12);
    for (size_t i = 0; i < 12; i++) {
        int integer = i == 0 || i == 1 || i == 6 || i == 7;
        assert_true(integer ? json_is_integer(json_array_get(v, i))
                            : json_is_real(json_array_get(v, i)));
    }
    assert_true(json_integer_value(json_array_get(v, 1)) == 0);
    assert_true(json_real_value(json_array_get(v, 2)) == 1.0);
    x = json_array_get(v, 3);
    assert_true(json_real_value(x) == 0.0 && signbit(json_real_value(x)));
    assert_true(json_real_value(json_array_get(v, 4)) == 100.0);
    assert_true(json_real_value(json_array_get(v, 5)) == 0.01);
    assert_true(json_integer_value(json_array_get(v, 6)) == LLONG_MIN);
    assert_true(json_integer_value(json_array_get(v, 7)) == LLONG_MAX);
    assert_true(json_real_value(json_array_get(v, 8)) > 0.0); /* subnormal, kept */
    assert_true(json_real_value(json_array_get(v, 9)) == 0.0); /* underflow is 0 */
    assert_true(json_real_value(json_array_get(v, 10)) == 123456789012345678901234567890.5);
    /* a real longer than the parser's stack copy */
    assert_true(json_real_value(json_array_get(v, 11)) == 1e70);
    json_decref(v);
}

/* Checks that doc parses to one string member or element equal to want. */
static void assert_string_parses(const char *doc, size_t len, const char *want, size_t wlen)
{
    json_t *v = NULL, *s;
    vouch_err e;

    assert_ok(vouch_json_parse(doc, len, NULL, &v, &e), e);
    s = json_array_get(v, 0);
    assert_non_null(s);
    assert_int_equal(json_string_length(s), wlen);
    assert_memory_equal(json_string_value(s), want, wlen);
    json_decref(v);
}

static void test_strings(void **state)
{
    static const char doc[] =
        "{\"a\\\"b\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\","
        "\"k\\u00e9\":{\"x\\ty\":\"\\u00e9\\u20AC\\ud83d\\ude00\\u007f\\u0001\"}}";
    char in[2100], want[1100];
    json_t *v = NULL, *m;
    vouch_err e;
    (void)state;
    assert_ok(vouch_json_parse(doc, sizeof(doc) - 1, NULL, &v, &e), e);
    m = json_object_get(v, "a\"b");
    assert_non_null(m);
    assert_string_equal(json_string_value(m), "\"\\/\b\f\n\r\t");
    /* an escaped name whose value has escapes too */
    m = json_object_get(v, "k\xc3\xa9");
    assert_non_null(m);
    m = json_object_get(m, "x\ty");
    assert_non_null(m);
    assert_string_equal(json_string_value(m), "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\x7f\x01");
    json_decref(v);
    /* every length around the 8-byte words of the scan, an escape at every
     * position, and escaped strings longer than the first scratch buffer */
    for (size_t n = 0; n < 1030; n = n < 40 ? n + 1 : n * 2 + 7) {
        for (size_t at = 0; at <= n; at = at < 20 ? at + 1 : at + n / 3 + 1) {
            size_t o = 0, w = 0;
            in[o++] = '[';
            in[o++] = '"';
            for (size_t i = 0; i < n; i++) {
                if (i == at) {
                    memcpy(in + o, "\\n", 2);
                    o += 2;
                    want[w++] = '\n';
                }
                in[o++] = (char)('a' + i % 26);
                want[w++] = (char)('a' + i % 26);
            }
            memcpy(in + o, "\"]", 2);
            o += 2;
            assert_string_parses(in, o, want, w); /* at == n: no escape */
        }
    }
}

/* The conformance profile: last name wins in its first place, \u0000 is
 * kept in values, and refused in names (jansson's are C strings). */
static void test_rfc8259_profile(void **state)
{
    json_t *v = NULL;
    vouch_err e;
    void *it;
    (void)state;
    assert_ok(vouch_json_parse_rfc8259("[\"a\\u0000b\"]", 12, NULL, &v, &e), e);
    assert_int_equal(json_string_length(json_array_get(v, 0)), 3);
    assert_memory_equal(json_string_value(json_array_get(v, 0)), "a\0b", 3);
    json_decref(v);
    assert_code(vouch_json_parse_rfc8259("{\"k\\u0000\":1}", 13, NULL, &v, &e), VOUCH_E_JSON_UTF8,
                e);
    assert_msg_has(e, "invalid JSON at byte 10 (line 1, column 10): NUL byte in object key");
    assert_null(v);
    assert_ok(vouch_json_parse_rfc8259("{\"a\":1,\"b\":2,\"a\":{\"c\":3}}", 25, NULL, &v, &e), e);
    assert_int_equal(json_object_size(v), 2);
    it = json_object_iter(v);
    assert_string_equal(json_object_iter_key(it), "a");
    assert_true(json_is_object(json_object_iter_value(it)));
    assert_string_equal(json_object_iter_key(json_object_iter_next(v, it)), "b");
    json_decref(v);
    assert_code(vouch_json_parse("{\"a\":1,\"b\":2,\"a\":{\"c\":3}}", 25, NULL, &v, &e),
                VOUCH_E_JSON_DUPLICATE, e);
    assert_msg_has(e, "duplicate member \"a\" at byte 13");
}

/* Above a depth cap of 2048, jansson's own limit applies: 2048 values deep,
 * scalars included. */
static void test_jansson_depth_limit(void **state)
{
    vouch_json_limits lim = {0, 4096};
    size_t len;
    char *doc;
    vouch_err e;
    (void)state;
    doc = nest(2048, "[", "]", &len);
    assert_ok(parse_bytes(doc, len, &lim, &e), e);
    free(doc);
    doc = nest(2049, "[", "]", &len);
    assert_code(parse_bytes(doc, len, &lim, &e), VOUCH_E_JSON_DEPTH, e);
    assert_msg_has(e, "JSON nested too deeply at byte 2049");
    free(doc);
    doc = nest(2048, "[", "]", &len);
    doc[2047] = '1'; /* 2047 arrays around a number: 2048 values deep */
    memmove(doc + 2048, doc + 2049, len - 2049 + 1);
    assert_ok(parse_bytes(doc, len - 1, &lim, &e), e);
    free(doc);
    doc = nest(2049, "[", "]", &len);
    doc[2048] = '1';
    memmove(doc + 2049, doc + 2050, len - 2050 + 1);
    assert_code(parse_bytes(doc, len - 1, &lim, &e), VOUCH_E_JSON_DEPTH, e);
    assert_msg_has(e, "at byte 2049");
    free(doc);
}

/* Checks are ordered as vouch/json.h lists them. */
static void test_check_order(void **state)
{
    vouch_json_limits lim = {8, 1};
    vouch_err e;
    (void)state;
    /* size before everything */
    assert_code(PARSE_LIM("[[[[[[[[[[\xff", &lim, e), VOUCH_E_JSON_SIZE, e);
    /* depth before encoding, even when the bad byte comes first */
    lim.max_bytes = 0;
    assert_code(PARSE_LIM("[\"\xff\",[[1]]]", &lim, e), VOUCH_E_JSON_DEPTH, e);
    /* encoding before duplicates, BOM, trailing data and syntax */
    assert_code(PARSE("{\"a\":1,\"a\":2,\"b\":\"\\uD800\"}", e), VOUCH_E_JSON_UTF8, e);
    assert_code(PARSE("\xef\xbb\xbf[\"\\u0000\"]", e), VOUCH_E_JSON_UTF8, e);
    assert_code(PARSE("[1] x \xff", e), VOUCH_E_JSON_UTF8, e);
    /* duplicates and trailing data: the first in the document wins */
    assert_code(PARSE("{\"a\":1,\"a\":2} x", e), VOUCH_E_JSON_DUPLICATE, e);
}

static void test_parse_object(void **state)
{
    json_t *v = NULL;
    vouch_err e;
    (void)state;
    assert_ok(vouch_json_parse_object("{\"a\":1}", 7, NULL, &v, &e), e);
    assert_true(json_is_object(v));
    json_decref(v);
    assert_code(vouch_json_parse_object("[1]", 3, NULL, &v, &e), VOUCH_E_JSON_TYPE, e);
    assert_msg_has(e, "expected a JSON object, got array");
    assert_null(v);
    assert_code(vouch_json_parse_object("\"a\"", 3, NULL, &v, &e), VOUCH_E_JSON_TYPE, e);
    assert_code(vouch_json_parse_object("{", 1, NULL, &v, &e), VOUCH_E_JSON_SYNTAX, e);
    assert_null(v);
    assert_code(vouch_json_parse_object("{}", 2, NULL, NULL, &e), VOUCH_E_ARG, e);
}

static void test_getters(void **state)
{
    static const char doc[] =
        "{\"iss\":\"did:key:z6Mk\",\"exp\":1700000000,\"neg\":-5,\"real\":1.0,"
        "\"max\":9007199254740991,\"min\":-9007199254740991,"
        "\"over\":9007199254740992,\"under\":-9007199254740992,\"huge\":9223372036854775807,"
        "\"ok\":true,\"no\":false,\"nul\":null,\"obj\":{\"x\":1},\"arr\":[\"a\"],\"num\":\"5\"}";
    json_t *o = NULL, *sub = NULL;
    const char *s = NULL;
    int64_t i = 0;
    int b = -1;
    vouch_err e;
    (void)state;
    assert_ok(vouch_json_parse_object(doc, sizeof(doc) - 1, NULL, &o, &e), e);

    assert_ok(vouch_json_get_string(o, "iss", &s, &e), e);
    assert_string_equal(s, "did:key:z6Mk");
    assert_code(vouch_json_get_string(o, "aud", &s, &e), VOUCH_E_JSON_MISSING, e);
    assert_msg_has(e, "member \"aud\" is missing");
    assert_null(s);
    assert_code(vouch_json_get_string(o, "exp", &s, &e), VOUCH_E_JSON_TYPE, e);
    assert_msg_has(e, "member \"exp\": expected string, got integer");
    assert_code(vouch_json_get_string(o, "arr", &s, &e), VOUCH_E_JSON_TYPE, e);
    assert_msg_has(e, "expected string, got array");
    assert_code(vouch_json_get_string(o, "nul", &s, &e), VOUCH_E_JSON_TYPE, e);

    assert_ok(vouch_json_get_int(o, "exp", &i, &e), e);
    assert_int_equal(i, 1700000000);
    assert_ok(vouch_json_get_int(o, "neg", &i, &e), e);
    assert_int_equal(i, -5);
    assert_ok(vouch_json_get_int(o, "max", &i, &e), e);
    assert_true(i == VOUCH_JSON_MAX_SAFE_INT);
    assert_ok(vouch_json_get_int(o, "min", &i, &e), e);
    assert_true(i == -VOUCH_JSON_MAX_SAFE_INT);
    assert_code(vouch_json_get_int(o, "over", &i, &e), VOUCH_E_JSON_RANGE, e);
    assert_msg_has(e, "member \"over\": integer 9007199254740992");
    assert_int_equal(i, 0);
    assert_code(vouch_json_get_int(o, "under", &i, &e), VOUCH_E_JSON_RANGE, e);
    assert_code(vouch_json_get_int(o, "huge", &i, &e), VOUCH_E_JSON_RANGE, e);
    assert_code(vouch_json_get_int(o, "real", &i, &e), VOUCH_E_JSON_TYPE, e);
    assert_msg_has(e, "member \"real\": expected integer, got real");
    assert_code(vouch_json_get_int(o, "num", &i, &e), VOUCH_E_JSON_TYPE, e);
    assert_msg_has(e, "member \"num\": expected integer, got string");
    assert_code(vouch_json_get_int(o, "ok", &i, &e), VOUCH_E_JSON_TYPE, e);
    assert_code(vouch_json_get_int(o, "nbf", &i, &e), VOUCH_E_JSON_MISSING, e);

    assert_ok(vouch_json_get_bool(o, "ok", &b, &e), e);
    assert_int_equal(b, 1);
    assert_ok(vouch_json_get_bool(o, "no", &b, &e), e);
    assert_int_equal(b, 0);
    assert_code(vouch_json_get_bool(o, "nul", &b, &e), VOUCH_E_JSON_TYPE, e);
    assert_msg_has(e, "expected boolean, got null");
    assert_code(vouch_json_get_bool(o, "num", &b, &e), VOUCH_E_JSON_TYPE, e);

    assert_ok(vouch_json_get_object(o, "obj", &sub, &e), e);
    assert_ok(vouch_json_get_int(sub, "x", &i, &e), e);
    assert_int_equal(i, 1);
    assert_code(vouch_json_get_object(o, "arr", &sub, &e), VOUCH_E_JSON_TYPE, e);
    assert_null(sub);
    assert_ok(vouch_json_get_array(o, "arr", &sub, &e), e);
    assert_int_equal(json_array_size(sub), 1);
    assert_code(vouch_json_get_array(o, "obj", &sub, &e), VOUCH_E_JSON_TYPE, e);
    assert_msg_has(e, "expected array, got object");
    assert_code(vouch_json_get_array(o, "none", &sub, &e), VOUCH_E_JSON_MISSING, e);

    /* reading a member of something that is not an object */
    assert_ok(vouch_json_get_array(o, "arr", &sub, &e), e);
    assert_code(vouch_json_get_string(sub, "a", &s, &e), VOUCH_E_JSON_TYPE, e);
    /* a hostile member name is printed escaped and cut */
    assert_code(vouch_json_get_string(o, "a\n\x1b[31mb", &s, &e), VOUCH_E_JSON_MISSING, e);
    assert_msg_has(e, "\"a\\x0a\\x1b[31mb\"");
    {
        char longkey[300];
        memset(longkey, 'k', sizeof(longkey) - 1);
        longkey[sizeof(longkey) - 1] = '\0';
        assert_code(vouch_json_get_int(o, longkey, &i, &e), VOUCH_E_JSON_MISSING, e);
        assert_msg_has(e, "...\" is missing");
    }
    /* NULL arguments */
    assert_code(vouch_json_get_string(NULL, "a", &s, &e), VOUCH_E_ARG, e);
    assert_code(vouch_json_get_string(o, NULL, &s, &e), VOUCH_E_ARG, e);
    assert_code(vouch_json_get_int(o, "exp", NULL, &e), VOUCH_E_ARG, e);
    assert_code(vouch_json_get_bool(o, "ok", NULL, &e), VOUCH_E_ARG, e);
    assert_code(vouch_json_get_object(o, "obj", NULL, &e), VOUCH_E_ARG, e);
    assert_code(vouch_json_get_array(o, "arr", NULL, &e), VOUCH_E_ARG, e);
    json_decref(o);

    /* a built string with a NUL would be truncated for C callers */
    vouch_json_init();
    o = json_object();
    assert_non_null(o);
    json_object_set_new(o, "s", json_stringn("a\0b", 3));
    assert_code(vouch_json_get_string(o, "s", &s, &e), VOUCH_E_JSON_UTF8, e);
    assert_null(s);
    json_decref(o);
}

static void test_dump(void **state)
{
    static const char doc[] = "{\"z\":1,\"a\":[true,null,-2.5,\"\xc3\xa9\\n\\\"\"],\"m\":{}}";
    json_t *v = NULL, *again = NULL;
    char *text = NULL;
    size_t len = 0;
    vouch_err e;
    (void)state;
    assert_ok(vouch_json_parse(doc, sizeof(doc) - 1, NULL, &v, &e), e);
    assert_ok(vouch_json_dump(v, &text, &len, &e), e);
    /* compact, insertion order, UTF-8 kept as UTF-8 */
    assert_string_equal(text, doc);
    assert_int_equal(len, sizeof(doc) - 1);
    assert_ok(vouch_json_parse(text, len, NULL, &again, &e), e);
    assert_true(json_equal(v, again));
    json_decref(again);
    vouch_free(text);
    json_decref(v);
    /* scalars too; len may be NULL */
    v = json_integer(42);
    assert_ok(vouch_json_dump(v, &text, NULL, &e), e);
    assert_string_equal(text, "42");
    vouch_free(text);
    json_decref(v);
    /* bad input */
    assert_code(vouch_json_dump(NULL, &text, &len, &e), VOUCH_E_ARG, e);
    assert_null(text);
    v = json_stringn_nocheck("\xff", 1);
    assert_code(vouch_json_dump(v, &text, &len, &e), VOUCH_E_INTERNAL, e);
    assert_null(text);
    json_decref(v);
}

/* Fails each allocation in turn: every parse and dump ends in OK or NOMEM,
 * with nothing half-built returned (leaks show under valgrind and ASan). */
static void test_alloc_failure(void **state)
{
    static const char doc[] =
        "{\"protected\":\"eyJhbGciOiJFUzI1NiJ9\",\"sigs\":[{\"kid\":\"a\",\"n\":[1,2.5,true]},"
        "{\"kid\":\"b\",\"deep\":{\"x\":{\"y\":[null,\"\\u00e9\\uD83D\\uDE00\"]}}}],"
        "\"long\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
        /* the parser's own blocks: an escaped name kept while its escaped
         * value is read, and a real longer than its stack copy */
        "\"k\\u00e9\":\"v\\n\","
        "\"r\":1.00000000000000000000000000000000000000000000000000000000000000001}";
    json_t *base = NULL;
    vouch_err e;
    long k;
    int parsed = 0, dumped = 0;
    (void)state;
    vouch_json_init();
    assert_ok(vouch_json_parse(doc, sizeof(doc) - 1, NULL, &base, &e), e);
    for (k = 0; k < 500 && !(parsed && dumped); k++) {
        json_t *v = (json_t *)1;
        char *text = (char *)1;
        vouch_code rc;

        if (!parsed) {
            vouch_alloc_fail_after(k);
            rc = vouch_json_parse(doc, sizeof(doc) - 1, NULL, &v, &e);
            vouch_alloc_fail_after(-1);
            if (rc == VOUCH_OK) {
                assert_true(json_equal(v, base));
                json_decref(v);
                parsed = 1;
            } else {
                assert_code(rc, VOUCH_E_NOMEM, e);
                assert_null(v);
            }
        }
        if (!dumped) {
            vouch_alloc_fail_after(k);
            rc = vouch_json_dump(base, &text, NULL, &e);
            vouch_alloc_fail_after(-1);
            if (rc == VOUCH_OK) {
                vouch_free(text);
                dumped = 1;
            } else {
                assert_code(rc, VOUCH_E_NOMEM, e);
                assert_null(text);
            }
        }
    }
    assert_true(parsed);
    assert_true(dumped);
    json_decref(base);
    /* parse_object fails cleanly too */
    for (k = 0; k < 50; k++) {
        json_t *v = NULL;
        vouch_code rc;
        vouch_alloc_fail_after(k);
        rc = vouch_json_parse_object("{\"a\":{\"b\":[1]}}", 15, NULL, &v, &e);
        vouch_alloc_fail_after(-1);
        if (rc == VOUCH_OK) {
            json_decref(v);
            break;
        }
        assert_code(rc, VOUCH_E_NOMEM, e);
        assert_null(v);
    }
    assert_true(k < 50);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_accepts),
        cmocka_unit_test(test_parse_args),
        cmocka_unit_test(test_size_cap),
        cmocka_unit_test(test_depth_cap),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_surrogates_and_nul_escapes),
        cmocka_unit_test(test_trailing_bom_syntax),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_syntax_messages),
        cmocka_unit_test(test_number_values),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_rfc8259_profile),
        cmocka_unit_test(test_jansson_depth_limit),
        cmocka_unit_test(test_check_order),
        cmocka_unit_test(test_parse_object),
        cmocka_unit_test(test_getters),
        cmocka_unit_test(test_dump),
        cmocka_unit_test(test_alloc_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
