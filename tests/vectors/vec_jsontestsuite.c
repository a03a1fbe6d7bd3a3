/*
 * vec_jsontestsuite.c - runs every file of JSONTestSuite's test_parsing
 * (tests/data/JSONTestSuite, MIT licence, see its LICENSE) through
 * vouch_json_parse with the default limits:
 *   y_  accepted, except the four listed in y_policy[] that our hardening
 *       rules (vouch/json.h) reject on purpose, each with its exact code;
 *   n_  rejected with a JSON-domain parse code;
 *   i_  exactly as listed in i_table[], which docs/json.md mirrors.
 * Every accepted document must also survive dump -> parse.
 * A second pass runs the RFC 8259 conformance profile
 * (vouch_json_parse_rfc8259): there every y_ file is accepted, the four
 * above included, and every n_ file rejected.
 */
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct expect {
    const char *file;
    vouch_code code; /* VOUCH_OK: accepted */
};

/* y_ files that RFC 8259 allows but vouch refuses by design. */
static const struct expect y_policy[] = {
    {"y_object_duplicated_key.json", VOUCH_E_JSON_DUPLICATE},
    {"y_object_duplicated_key_and_value.json", VOUCH_E_JSON_DUPLICATE},
    {"y_object_escaped_null_in_key.json", VOUCH_E_JSON_UTF8},
    {"y_string_null_escape.json", VOUCH_E_JSON_UTF8},
};

/* Implementation-defined cases. Keep in step with the table in docs/json.md. */
static const struct expect i_table[] = {
    {"i_number_double_huge_neg_exp.json", VOUCH_OK}, /* [123.456e-789] underflows to 0 */
    {"i_number_huge_exp.json", VOUCH_E_JSON_RANGE},
    {"i_number_neg_int_huge_exp.json", VOUCH_E_JSON_RANGE},
    {"i_number_pos_double_huge_exp.json", VOUCH_E_JSON_RANGE},
    {"i_number_real_neg_overflow.json", VOUCH_E_JSON_RANGE},
    {"i_number_real_pos_overflow.json", VOUCH_E_JSON_RANGE},
    {"i_number_real_underflow.json", VOUCH_OK}, /* [123e-10000000] underflows to 0 */
    {"i_number_too_big_neg_int.json", VOUCH_E_JSON_RANGE},
    {"i_number_too_big_pos_int.json", VOUCH_E_JSON_RANGE},
    {"i_number_very_big_negative_int.json", VOUCH_E_JSON_RANGE},
    {"i_object_key_lone_2nd_surrogate.json", VOUCH_E_JSON_UTF8},
    {"i_string_1st_surrogate_but_2nd_missing.json", VOUCH_E_JSON_UTF8},
    {"i_string_1st_valid_surrogate_2nd_invalid.json", VOUCH_E_JSON_UTF8},
    {"i_string_UTF-16LE_with_BOM.json", VOUCH_E_JSON_UTF8},
    {"i_string_UTF-8_invalid_sequence.json", VOUCH_E_JSON_UTF8},
    {"i_string_UTF8_surrogate_U+D800.json", VOUCH_E_JSON_UTF8},
    {"i_string_incomplete_surrogate_and_escape_valid.json", VOUCH_E_JSON_UTF8},
    {"i_string_incomplete_surrogate_pair.json", VOUCH_E_JSON_UTF8},
    {"i_string_incomplete_surrogates_escape_valid.json", VOUCH_E_JSON_UTF8},
    {"i_string_invalid_lonely_surrogate.json", VOUCH_E_JSON_UTF8},
    {"i_string_invalid_surrogate.json", VOUCH_E_JSON_UTF8},
    {"i_string_invalid_utf-8.json", VOUCH_E_JSON_UTF8},
    {"i_string_inverted_surrogates_U+1D11E.json", VOUCH_E_JSON_UTF8},
    {"i_string_iso_latin_1.json", VOUCH_E_JSON_UTF8},
    {"i_string_lone_second_surrogate.json", VOUCH_E_JSON_UTF8},
    {"i_string_lone_utf8_continuation_byte.json", VOUCH_E_JSON_UTF8},
    {"i_string_not_in_unicode_range.json", VOUCH_E_JSON_UTF8},
    {"i_string_overlong_sequence_2_bytes.json", VOUCH_E_JSON_UTF8},
    {"i_string_overlong_sequence_6_bytes.json", VOUCH_E_JSON_UTF8},
    {"i_string_overlong_sequence_6_bytes_null.json", VOUCH_E_JSON_UTF8},
    {"i_string_truncated-utf-8.json", VOUCH_E_JSON_UTF8},
    {"i_string_utf16BE_no_BOM.json", VOUCH_E_JSON_UTF8},
    {"i_string_utf16LE_no_BOM.json", VOUCH_E_JSON_UTF8},
    {"i_structure_500_nested_arrays.json", VOUCH_E_JSON_DEPTH},
    {"i_structure_UTF-8_BOM_empty_object.json", VOUCH_E_JSON_SYNTAX},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* The expectation for file in table, or NULL. */
static const struct expect *expect_find(const struct expect *table, size_t n, const char *file)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(table[i].file, file) == 0)
            return &table[i];
    return NULL;
}

/* A rejection of bytes by the parser, as opposed to a getter or core code. */
static int is_parse_reject(vouch_code c)
{
    return c == VOUCH_E_JSON_SYNTAX || c == VOUCH_E_JSON_DEPTH || c == VOUCH_E_JSON_SIZE ||
           c == VOUCH_E_JSON_DUPLICATE || c == VOUCH_E_JSON_UTF8 ||
           c == VOUCH_E_JSON_TRAILING || c == VOUCH_E_JSON_RANGE;
}

/* 1 if the value v dumps and parses again to an equal value. */
static int roundtrips(const json_t *v)
{
    char *text = NULL;
    size_t len = 0;
    json_t *again = NULL;
    vouch_err e;
    int ok = 0;

    if (vouch_json_dump(v, &text, &len, &e) != VOUCH_OK)
        goto out;
    if (vouch_json_parse(text, len, NULL, &again, &e) != VOUCH_OK)
        goto out;
    ok = json_equal(v, again);
out:
    json_decref(again);
    vouch_free(text);
    return ok;
}

static void test_jsontestsuite(void **state)
{
    char dir[4096], rel[4400];
    struct dirent **names = NULL;
    unsigned y_ok = 0, y_policy_seen = 0, n_ok = 0, i_acc = 0, i_rej = 0, bad = 0;
    unsigned char seen_i[COUNT(i_table)] = {0};
    int count;
    (void)state;

    test_data_path(dir, sizeof(dir), "JSONTestSuite/test_parsing");
    count = scandir(dir, &names, NULL, alphasort);
    if (count <= 0)
        fail_msg("cannot list %s", dir);
    for (int k = 0; k < count; k++) {
        const char *f = names[k]->d_name;
        const struct expect *x;
        unsigned char *buf;
        size_t len = 0;
        json_t *v = NULL;
        vouch_err e;
        vouch_code rc;

        if (f[0] == '.' || f[1] != '_') {
            free(names[k]);
            continue;
        }
        snprintf(rel, sizeof(rel), "JSONTestSuite/test_parsing/%s", f);
        buf = test_read_data(rel, &len);
        vouch_err_clear(&e);
        rc = vouch_json_parse((const char *)buf, len, NULL, &v, &e);
        if (rc == VOUCH_OK && !v) {
            printf("FAIL %s: OK without a value\n", f);
            bad++;
        } else if (rc != VOUCH_OK && v) {
            printf("FAIL %s: %s with a value\n", f, vouch_code_name(rc));
            bad++;
        }
        if (f[0] == 'y') {
            x = expect_find(y_policy, COUNT(y_policy), f);
            if (x && rc == x->code) {
                y_policy_seen++;
            } else if (x) {
                printf("FAIL %s: want %s (policy), got %s %s\n", f, vouch_code_name(x->code),
                       vouch_code_name(rc), e.msg);
                bad++;
            } else if (rc != VOUCH_OK) {
                printf("FAIL %s: want accepted, got %s %s\n", f, vouch_code_name(rc), e.msg);
                bad++;
            } else if (!roundtrips(v)) {
                printf("FAIL %s: dump -> parse does not give the same value\n", f);
                bad++;
            } else {
                y_ok++;
            }
        } else if (f[0] == 'n') {
            if (is_parse_reject(rc)) {
                n_ok++;
            } else {
                printf("FAIL %s: want a parse rejection, got %s\n", f, vouch_code_name(rc));
                bad++;
            }
        } else if (f[0] == 'i') {
            x = expect_find(i_table, COUNT(i_table), f);
            if (!x) {
                printf("FAIL %s: not in i_table (got %s %s); add it here and to docs/json.md\n",
                       f, vouch_code_name(rc), e.msg);
                bad++;
            } else if (rc != x->code) {
                printf("FAIL %s: want %s, got %s %s\n", f, vouch_code_name(x->code),
                       vouch_code_name(rc), e.msg);
                bad++;
            } else {
                seen_i[x - i_table] = 1;
                if (rc == VOUCH_OK && !roundtrips(v)) {
                    printf("FAIL %s: dump -> parse does not give the same value\n", f);
                    bad++;
                }
                if (rc == VOUCH_OK)
                    i_acc++;
                else
                    i_rej++;
            }
        }
        json_decref(v);
        vouch_free(buf);
        free(names[k]);
    }
    free(names);
    for (size_t i = 0; i < COUNT(i_table); i++)
        if (!seen_i[i] && !bad) {
            printf("FAIL %s: listed in i_table but missing or failed\n", i_table[i].file);
            bad++;
        }
    if (y_policy_seen != COUNT(y_policy)) {
        printf("FAIL: %u of %zu y_ policy files seen\n", y_policy_seen, COUNT(y_policy));
        bad++;
    }
    printf("JSONTestSuite: y_ %u accepted + %u refused by policy, n_ %u rejected, "
           "i_ %u accepted + %u rejected as documented, %u failures\n",
           y_ok, y_policy_seen, n_ok, i_acc, i_rej, bad);
    assert_int_equal(bad, 0);
}

/* The grammar itself: the conformance profile accepts every y_ file and
 * rejects every n_ file. One exception: jansson keeps member names as C
 * strings, so a name holding \u0000 cannot be represented at all
 * (y_object_escaped_null_in_key); it is refused with VOUCH_E_JSON_UTF8. */
static void test_rfc8259_profile(void **state)
{
    char dir[4096];
    struct dirent **names = NULL;
    unsigned y_ok = 0, n_ok = 0, bad = 0;
    int count;
    (void)state;

    count = scandir(test_data_path(dir, sizeof(dir), "JSONTestSuite/test_parsing"), &names,
                    NULL, alphasort);
    if (count <= 0)
        fail_msg("cannot list %s", dir);
    for (int k = 0; k < count; k++) {
        const char *f = names[k]->d_name;
        char rel[512];
        unsigned char *buf;
        size_t len = 0;
        json_t *v = NULL;
        vouch_err e;
        vouch_code rc;

        if (f[1] != '_' || (f[0] != 'y' && f[0] != 'n')) {
            free(names[k]);
            continue;
        }
        snprintf(rel, sizeof(rel), "JSONTestSuite/test_parsing/%s", f);
        buf = test_read_data(rel, &len);
        vouch_err_clear(&e);
        rc = vouch_json_parse_rfc8259((const char *)buf, len, NULL, &v, &e);
        if (strcmp(f, "y_object_escaped_null_in_key.json") == 0 && rc == VOUCH_E_JSON_UTF8) {
            y_ok++; /* the documented exception above */
        } else if (f[0] == 'y' && rc == VOUCH_OK && v) {
            y_ok++;
        } else if (f[0] == 'n' && rc != VOUCH_OK && !v && is_parse_reject(rc)) {
            n_ok++;
        } else {
            printf("FAIL rfc8259 %s: got %s %s\n", f, vouch_code_name(rc), e.msg);
            bad++;
        }
        json_decref(v);
        vouch_free(buf);
        free(names[k]);
    }
    free(names);
    printf("JSONTestSuite (RFC 8259 profile): y_ %u as expected (%u accepted, 1 NUL-in-name "
           "refused), n_ %u rejected, %u failures\n",
           y_ok, y_ok - 1, n_ok, bad);
    assert_int_equal(bad, 0);
    assert_int_equal(y_ok, 95);
    assert_int_equal(n_ok, 188);
}

/* The n_ files that are deep nesting must fail fast on the depth cap, not in
 * jansson (whose own limit is 2048). */
static void test_deep_files_fail_on_depth(void **state)
{
    static const char *deep[] = {
        "n_structure_100000_opening_arrays.json",
        "n_structure_open_array_object.json",
    };
    (void)state;
    for (size_t i = 0; i < COUNT(deep); i++) {
        char rel[256];
        size_t len = 0;
        unsigned char *buf;
        json_t *v = NULL;
        vouch_err e;

        snprintf(rel, sizeof(rel), "JSONTestSuite/test_parsing/%s", deep[i]);
        buf = test_read_data(rel, &len);
        assert_code(vouch_json_parse((const char *)buf, len, NULL, &v, &e), VOUCH_E_JSON_DEPTH,
                    e);
        vouch_free(buf);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jsontestsuite),
        cmocka_unit_test(test_rfc8259_profile),
        cmocka_unit_test(test_deep_files_fail_on_depth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
