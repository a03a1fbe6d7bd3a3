/* test_json.c - mirrors lib/json.c */
#include "testutil.h"

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
        "\"long\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}";
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
        cmocka_unit_test(test_check_order),
        cmocka_unit_test(test_parse_object),
        cmocka_unit_test(test_getters),
        cmocka_unit_test(test_dump),
        cmocka_unit_test(test_alloc_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
