/*
 * fuzz_json_diff.c - differential libFuzzer target: our JSON parser against
 * jansson's json_loadb, the parser it replaced.
 *
 * vouch_json_parse is a pre-scan (size, depth, UTF-8, escapes, BOM) and then
 * our parser. The reference is the same pre-scan and then json_loadb 2.14
 * with the flags the profile used to pass (hardened: JSON_REJECT_DUPLICATES |
 * JSON_DECODE_ANY; conformance: JSON_DECODE_ANY | JSON_ALLOW_NUL), its errors
 * mapped to vouch codes and messages by ref_report, the mapping lib/json.c
 * used. When the pre-scan refuses, both sides give its answer, so only the
 * documents it passes are compared (they are recognized by the pre-scan's
 * own messages). For each profile, abort unless
 *   - both accept, with values that are json_equal and identical node by
 *     node: the same types (1 is an integer, 1.0 a real), the same member
 *     names in the same order, the same string bytes, the same bits of
 *     every real (-0.0 is not 0.0);
 *   - or both refuse with the same code and the same message.
 * Documents the default depth cap refuses are tried again with a cap of
 * 4096, where jansson's own limit (2048 values deep) is reached first.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vouch/json.h"
#include "vouch/mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The member name of a duplicate, as lib/json.c prints it. */
static void ref_quote_name(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0, i;

    out[o++] = '"';
    for (i = 0; i < n && o + 9 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
    }
    if (i < n) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o++] = '"';
    out[o] = '\0';
}

/* jansson's failure as a vouch code and message: the mapping lib/json.c
 * applied to json_loadb before it had a parser of its own. */
static vouch_code ref_report(const char *buf, size_t len, const json_error_t *je, vouch_err *err)
{
    char text[JSON_ERROR_TEXT_LENGTH], name[80];
    const char *near;
    size_t pos = je->position > 0 ? (size_t)je->position : 0, start;
    vouch_code code;

    snprintf(text, sizeof(text), "%s", je->text);
    near = strstr(text, " near ");
    if (near)
        text[near - text] = '\0';
    switch (json_error_code(je)) {
    case json_error_out_of_memory:
        return vouch_err_set(err, VOUCH_E_NOMEM, "out of memory parsing JSON");
    case json_error_stack_overflow:
        return vouch_err_set(err, VOUCH_E_JSON_DEPTH, "JSON nested too deeply at byte %zu", pos);
    case json_error_invalid_utf8:
    case json_error_null_character:
    case json_error_null_byte_in_key:
        code = VOUCH_E_JSON_UTF8;
        break;
    case json_error_end_of_input_expected:
        return vouch_err_set(err, VOUCH_E_JSON_TRAILING,
                             "trailing data after the JSON value, near byte %zu",
                             pos > 0 ? pos - 1 : 0);
    case json_error_duplicate_key:
        if (pos >= 2 && pos <= len && buf[pos - 1] == '"') {
            for (start = pos - 1; start > 0; start--) {
                size_t bs = 0;
                if (buf[start - 1] != '"')
                    continue;
                while (start - 1 > bs && buf[start - 2 - bs] == '\\')
                    bs++;
                if (bs % 2 == 0)
                    break;
            }
            if (start > 0) {
                ref_quote_name(buf + start, pos - 1 - start, name, sizeof(name));
                return vouch_err_set(err, VOUCH_E_JSON_DUPLICATE,
                                     "duplicate member %s at byte %zu", name, start - 1);
            }
        }
        return vouch_err_set(err, VOUCH_E_JSON_DUPLICATE, "duplicate member name before byte %zu",
                             pos);
    case json_error_numeric_overflow:
        code = VOUCH_E_JSON_RANGE;
        break;
    default:
        code = VOUCH_E_JSON_SYNTAX;
        break;
    }
    return vouch_err_set(err, code, "invalid JSON at byte %zu (line %d, column %d): %s", pos,
                         je->line, je->column, text);
}

static int starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* 1 if the refusal came before the parser ran: the size cap, the pre-scan
 * (depth, encoding) or the byte order mark check. */
static int pre_parse_refusal(vouch_code rc, const vouch_err *e)
{
    return rc == VOUCH_E_JSON_SIZE ||
           (rc == VOUCH_E_JSON_DEPTH && starts(e->msg, "JSON nested deeper than ")) ||
           (rc == VOUCH_E_JSON_UTF8 && starts(e->msg, "invalid JSON text: ")) ||
           (rc == VOUCH_E_JSON_SYNTAX && starts(e->msg, "invalid JSON: byte order mark"));
}

/* 1 if a and b are the same tree: types, member order, bytes and bits. */
static int same_tree(json_t *a, json_t *b)
{
    double x, y;

    if (json_typeof(a) != json_typeof(b))
        return 0;
    switch (json_typeof(a)) {
    case JSON_OBJECT: {
        void *ia = json_object_iter(a), *ib = json_object_iter(b);
        if (json_object_size(a) != json_object_size(b))
            return 0;
        for (; ia && ib; ia = json_object_iter_next(a, ia), ib = json_object_iter_next(b, ib)) {
            size_t la = json_object_iter_key_len(ia), lb = json_object_iter_key_len(ib);
            if (la != lb || memcmp(json_object_iter_key(ia), json_object_iter_key(ib), la) != 0 ||
                !same_tree(json_object_iter_value(ia), json_object_iter_value(ib)))
                return 0;
        }
        return !ia && !ib;
    }
    case JSON_ARRAY:
        if (json_array_size(a) != json_array_size(b))
            return 0;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!same_tree(json_array_get(a, i), json_array_get(b, i)))
                return 0;
        return 1;
    case JSON_STRING:
        return json_string_length(a) == json_string_length(b) &&
               memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) == 0;
    case JSON_INTEGER:
        return json_integer_value(a) == json_integer_value(b);
    case JSON_REAL:
        x = json_real_value(a);
        y = json_real_value(b);
        return memcmp(&x, &y, sizeof(x)) == 0;
    default: /* true, false, null */
        return 1;
    }
}

/* Parses with one profile and limit, and with the reference; aborts on any
 * difference. Returns the code ours gave. */
static vouch_code check(const uint8_t *data, size_t size, int rfc8259,
                        const vouch_json_limits *lim)
{
    const char *buf = size ? (const char *)data : "";
    json_t *ours = NULL, *ref = NULL;
    json_error_t je;
    vouch_err e, re;
    vouch_code rc, rrc;

    rc = rfc8259 ? vouch_json_parse_rfc8259(buf, size, lim, &ours, &e)
                 : vouch_json_parse(buf, size, lim, &ours, &e);
    if (rc != VOUCH_OK && ours)
        abort();
    if (rc != VOUCH_OK && pre_parse_refusal(rc, &e))
        goto out;
    memset(&je, 0, sizeof(je));
    ref = json_loadb(buf, size,
                     rfc8259 ? JSON_DECODE_ANY | JSON_ALLOW_NUL
                             : JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
                     &je);
    if (!ref) {
        rrc = ref_report(buf, size, &je, &re);
        if (rc != rrc || strcmp(e.msg, re.msg) != 0) {
            fprintf(stderr, "fuzz_json_diff (%s): ours %s \"%s\", jansson %s \"%s\"\n",
                    rfc8259 ? "rfc8259" : "hardened", vouch_code_name(rc),
                    rc ? e.msg : "", vouch_code_name(rrc), re.msg);
            abort();
        }
        goto out;
    }
    if (rc != VOUCH_OK) {
        fprintf(stderr, "fuzz_json_diff (%s): ours %s \"%s\", jansson accepts\n",
                rfc8259 ? "rfc8259" : "hardened", vouch_code_name(rc), e.msg);
        abort();
    }
    if (!json_equal(ours, ref) || !same_tree(ours, ref)) {
        fprintf(stderr, "fuzz_json_diff (%s): both accept, values differ\n",
                rfc8259 ? "rfc8259" : "hardened");
        abort();
    }
out:
    json_decref(ours);
    json_decref(ref);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const vouch_json_limits deep = {0, 4096};

    vouch_json_init(); /* the reference allocates through vouch_malloc too */
    for (int rfc8259 = 0; rfc8259 <= 1; rfc8259++)
        if (check(data, size, rfc8259, NULL) == VOUCH_E_JSON_DEPTH)
            check(data, size, rfc8259, &deep);
    return 0;
}
