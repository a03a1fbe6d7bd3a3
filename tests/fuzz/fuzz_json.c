/*
 * fuzz_json.c - libFuzzer target for the hardened JSON parser.
 * Properties (abort on violation):
 *   - a rejection has a parse code (never INTERNAL, NOMEM or a getter code)
 *     and no value;
 *   - an accepted document dumps without NUL bytes and parses again to an
 *     equal value (parse -> dump -> parse);
 *   - a document accepted under a tighter depth cap is accepted under the
 *     default one;
 *   - the typed getters on an accepted object agree with the member's type.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vouch/json.h"
#include "vouch/mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int is_parse_reject(vouch_code c)
{
    return c == VOUCH_E_JSON_SYNTAX || c == VOUCH_E_JSON_DEPTH || c == VOUCH_E_JSON_SIZE ||
           c == VOUCH_E_JSON_DUPLICATE || c == VOUCH_E_JSON_UTF8 ||
           c == VOUCH_E_JSON_TRAILING || c == VOUCH_E_JSON_RANGE;
}

/* Reads every member with every getter: exactly the matching one succeeds. */
static void check_getters(const json_t *obj)
{
    const char *key;
    json_t *m;
    vouch_err e;

    json_object_foreach((json_t *)obj, key, m) {
        const char *s;
        int64_t i;
        int b;
        json_t *sub;
        vouch_code rs, ri, rb, ro, ra;

        rs = vouch_json_get_string(obj, key, &s, &e);
        ri = vouch_json_get_int(obj, key, &i, &e);
        rb = vouch_json_get_bool(obj, key, &b, &e);
        ro = vouch_json_get_object(obj, key, &sub, &e);
        ra = vouch_json_get_array(obj, key, &sub, &e);
        if ((rs == VOUCH_OK) != json_is_string(m) || (rb == VOUCH_OK) != json_is_boolean(m) ||
            (ro == VOUCH_OK) != json_is_object(m) || (ra == VOUCH_OK) != json_is_array(m))
            abort();
        if (json_is_integer(m)) {
            json_int_t v = json_integer_value(m);
            int safe = v <= VOUCH_JSON_MAX_SAFE_INT && v >= -VOUCH_JSON_MAX_SAFE_INT;
            if (safe ? ri != VOUCH_OK || i != v : ri != VOUCH_E_JSON_RANGE)
                abort();
        } else if (ri != VOUCH_E_JSON_TYPE) {
            abort();
        }
        if (rs == VOUCH_OK && strcmp(s, json_string_value(m)) != 0)
            abort();
    }
    if (vouch_json_get_int(obj, "\x01 not a member", &(int64_t){0}, &e) != VOUCH_E_JSON_MISSING)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const vouch_json_limits tight = {0, 3};
    vouch_json_limits big = {0, 0};
    json_t *v = NULL, *again = NULL, *t = NULL;
    char *text = NULL;
    size_t len = 0;
    vouch_err e;
    vouch_code rc, rt;

    rc = vouch_json_parse((const char *)data, size, NULL, &v, &e);
    rt = vouch_json_parse((const char *)data, size, &tight, &t, &e);
    if (rt == VOUCH_OK && rc != VOUCH_OK)
        abort();
    if (rc != VOUCH_OK) {
        if (!is_parse_reject(rc) || v)
            abort();
        goto out;
    }
    if (vouch_json_dump(v, &text, &len, &e) != VOUCH_OK || strlen(text) != len)
        abort();
    /* the dump may be longer than the input ("1e300"), so no size cap here */
    big.max_bytes = len + 1;
    if (vouch_json_parse(text, len, &big, &again, &e) != VOUCH_OK || !json_equal(v, again))
        abort();
    if (json_is_object(v))
        check_getters(v);
out:
    json_decref(again);
    json_decref(t);
    json_decref(v);
    vouch_free(text);
    return 0;
}
