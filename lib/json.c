/* json.c - hardened JSON parsing, typed getters and dumping on jansson
 * (vouch/json.h; the rules and the JSONTestSuite i_ table are in docs/json.md). */
#include "vouch/json.h"

#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "vouch/mem.h"

/* Set when an allocation made for jansson fails, so that a NULL from jansson
 * can be told apart from a syntax error: jansson does not report every
 * allocation failure with json_error_out_of_memory. */
static _Thread_local int json_alloc_failed;

/* jansson may ask for 0 bytes; vouch_malloc(0) is NULL, which jansson would
 * take as out of memory. */
static void *json_alloc(size_t n)
{
    void *p = vouch_malloc(n ? n : 1);

    if (!p)
        json_alloc_failed = 1;
    return p;
}

/* jansson holds private JWK members, tokens and PINs read from files; it
 * frees them without wiping, so the free hook wipes every block first.
 * malloc_usable_size is glibc's, and our blocks come from its malloc. */
static void json_free(void *p)
{
    if (p)
        vouch_wipe(p, malloc_usable_size(p));
    vouch_free(p);
}

static void json_init_once(void) { json_set_alloc_funcs(json_alloc, json_free); }

void vouch_json_init(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;

    pthread_once(&once, json_init_once);
}

/* Writes s[0..n) as a printable, quoted name for a message: no control or
 * non-ASCII bytes reach a log, and long names are cut. */
static void json_quote_name(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0, i;

    if (cap < 8) {
        out[0] = '\0';
        return;
    }
    out[o++] = '"';
    /* leave room for a \xHH escape, "..." and the closing quote and NUL */
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

/* ---- pre-scan: depth, UTF-8, escapes ------------------------------------ */

/* The first problem of class 3 (encoding) found, reported only if the
 * document passes the depth cap, which the header orders first. */
struct json_scan_issue {
    int found;
    size_t at;
    const char *what;
};

static void json_scan_note(struct json_scan_issue *is, size_t at, const char *what)
{
    if (!is->found) {
        is->found = 1;
        is->at = at;
        is->what = what;
    }
}

/*
 * Length of the well-formed UTF-8 sequence at p[0..n) (RFC 3629 table 3-7:
 * no overlongs, no encoded surrogates, nothing above U+10FFFF), or 0 with
 * *why set.
 */
static size_t json_utf8_len(const unsigned char *p, size_t n, const char **why)
{
    unsigned char c = p[0], lo = 0x80, hi = 0xBF;
    size_t len, i;

    if (c < 0x80)
        return 1;
    if (c < 0xC2) {
        *why = c < 0xC0 ? "unexpected UTF-8 continuation byte" : "overlong UTF-8 encoding";
        return 0;
    }
    if (c < 0xE0) {
        len = 2;
    } else if (c < 0xF0) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0; /* below is overlong */
        else if (c == 0xED)
            hi = 0x9F; /* above is a UTF-16 surrogate, D800..DFFF */
    } else if (c < 0xF5) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90; /* below is overlong */
        else if (c == 0xF4)
            hi = 0x8F; /* above is beyond U+10FFFF */
    } else {
        *why = c < 0xF8 ? "UTF-8 code point beyond U+10FFFF" : "byte never valid in UTF-8";
        return 0;
    }
    for (i = 1; i < len; i++) {
        if (i >= n) {
            *why = "UTF-8 sequence truncated by the end of input";
            return 0;
        }
        if (p[i] < lo || p[i] > hi) {
            if (i == 1 && c == 0xED && p[i] >= 0xA0 && p[i] <= 0xBF)
                *why = "UTF-8-encoded surrogate";
            else if (i == 1 && (c == 0xE0 || c == 0xF0) && p[i] >= 0x80 && p[i] < lo)
                *why = "overlong UTF-8 encoding";
            else if (i == 1 && c == 0xF4 && p[i] > hi && p[i] <= 0xBF)
                *why = "UTF-8 code point beyond U+10FFFF";
            else
                *why = "incomplete UTF-8 sequence";
            return 0;
        }
        lo = 0x80;
        hi = 0xBF;
    }
    return len;
}

/* The value of four hex digits at p[0..4), or -1. The caller checked the
 * four bytes are in bounds. */
static long json_hex4(const unsigned char *p)
{
    long v = 0;

    for (int i = 0; i < 4; i++) {
        unsigned char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= c - '0';
        else if (c >= 'a' && c <= 'f')
            v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v |= c - 'A' + 10;
        else
            return -1;
    }
    return v;
}

/*
 * One pass over the bytes, tracking strings and escapes so that brackets in
 * strings do not count. Fails fast on the depth cap; remembers the first
 * encoding problem in *is. Syntax is left to jansson: on broken syntax the
 * scan may see strings where there are none, which only changes which of two
 * rejections is reported.
 */
static vouch_code json_prescan(const unsigned char *p, size_t len, unsigned max_depth,
                               int allow_nul_escape, struct json_scan_issue *is, vouch_err *err)
{
    size_t i = 0, depth = 0, n;
    int in_str = 0;
    const char *why = NULL;
    long cp, lo;

    while (i < len) {
        unsigned char c = p[i];

        if (c >= 0x80) {
            n = json_utf8_len(p + i, len - i, &why);
            if (n == 0) {
                json_scan_note(is, i, why);
                n = 1;
            }
            i += n;
            continue;
        }
        if (c == 0) {
            json_scan_note(is, i, "NUL byte");
            i++;
            continue;
        }
        if (!in_str) {
            if (c == '"') {
                in_str = 1;
            } else if (c == '[' || c == '{') {
                if (++depth > max_depth)
                    return vouch_err_set(err, VOUCH_E_JSON_DEPTH,
                                         "JSON nested deeper than %u at byte %zu", max_depth, i);
            } else if ((c == ']' || c == '}') && depth > 0) {
                depth--;
            }
            i++;
            continue;
        }
        if (c == '"') {
            in_str = 0;
            i++;
            continue;
        }
        if (c != '\\') {
            i++;
            continue;
        }
        /* an escape: 6 bytes for \uXXXX, 2 otherwise; a bad escape is left to
         * jansson, but a NUL or non-ASCII byte after '\' is scanned as itself */
        if (len - i < 2 || p[i + 1] == 0 || p[i + 1] >= 0x80) {
            i++;
            continue;
        }
        if (p[i + 1] != 'u' || len - i < 6 || (cp = json_hex4(p + i + 2)) < 0) {
            i += 2;
            continue;
        }
        if (cp == 0) {
            if (!allow_nul_escape)
                json_scan_note(is, i, "\\u0000 escape");
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            json_scan_note(is, i, "lone low surrogate escape");
        } else if (cp >= 0xD800 && cp <= 0xDBFF) {
            /* a high surrogate must be followed at once by a low one */
            if (len - i >= 12 && p[i + 6] == '\\' && p[i + 7] == 'u' &&
                (lo = json_hex4(p + i + 8)) >= 0xDC00 && lo <= 0xDFFF) {
                i += 12;
                continue;
            }
            json_scan_note(is, i, "lone high surrogate escape");
        }
        i += 6;
    }
    return VOUCH_OK;
}

/* ---- parse -------------------------------------------------------------- */

/* Maps a jansson failure to our code and a message without document bytes
 * (jansson's "near '...'" context could quote a secret). */
static vouch_code json_report_jansson(const char *buf, size_t len, const json_error_t *je,
                                      vouch_err *err)
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
        code = VOUCH_E_JSON_UTF8; /* the pre-scan should have caught these */
        break;
    case json_error_end_of_input_expected:
        return vouch_err_set(err, VOUCH_E_JSON_TRAILING,
                             "trailing data after the JSON value, near byte %zu",
                             pos > 0 ? pos - 1 : 0);
    case json_error_duplicate_key:
        /* jansson stops right after the key's closing quote: walk back to
         * its opening quote to name it */
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
                json_quote_name(buf + start, pos - 1 - start, name, sizeof(name));
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

/* The one parser behind both profiles; rfc8259 selects the conformance
 * profile (duplicates and \u0000 allowed, as the RFC's grammar allows). */
static vouch_code json_parse_profile(const char *buf, size_t len, const vouch_json_limits *lim,
                                     int rfc8259, json_t **out, vouch_err *err)
{
    size_t max_bytes = VOUCH_JSON_MAX_BYTES_DEFAULT;
    unsigned max_depth = VOUCH_JSON_MAX_DEPTH_DEFAULT;
    struct json_scan_issue issue = {0, 0, NULL};
    const unsigned char *p = (const unsigned char *)buf;
    vouch_code rc = VOUCH_OK;
    json_error_t je;
    json_t *v = NULL;

    if (out)
        *out = NULL;
    if ((!buf && len) || !out) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "JSON parse: NULL argument");
        goto out;
    }
    if (lim && lim->max_bytes)
        max_bytes = lim->max_bytes;
    if (lim && lim->max_depth)
        max_depth = lim->max_depth;
    if (len > max_bytes) {
        rc = vouch_err_set(err, VOUCH_E_JSON_SIZE, "JSON document of %zu bytes exceeds the cap of %zu",
                           len, max_bytes);
        goto out;
    }
    rc = json_prescan(p, len, max_depth, rfc8259, &issue, err);
    if (rc != VOUCH_OK)
        goto out;
    if (issue.found) {
        rc = vouch_err_set(err, VOUCH_E_JSON_UTF8, "invalid JSON text: %s at byte %zu", issue.what,
                           issue.at);
        goto out;
    }
    if (len >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF) {
        rc = vouch_err_set(err, VOUCH_E_JSON_SYNTAX,
                           "invalid JSON: byte order mark at byte 0 (JSON has none)");
        goto out;
    }
    vouch_json_init();
    memset(&je, 0, sizeof(je));
    json_alloc_failed = 0;
    /* JSON_DECODE_ANY: RFC 8259 allows any value at the top; in the hardened
     * profile NUL stays refused because JSON_ALLOW_NUL is not given */
    v = json_loadb(len ? buf : "", len,
                   rfc8259 ? JSON_DECODE_ANY | JSON_ALLOW_NUL
                           : JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
                   &je);
    if (!v) {
        if (json_alloc_failed)
            rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory parsing JSON");
        else
            rc = json_report_jansson(buf, len, &je, err);
        goto out;
    }
    *out = v;
    v = NULL;
out:
    json_decref(v);
    return rc;
}

vouch_code vouch_json_parse(const char *buf, size_t len, const vouch_json_limits *lim,
                            json_t **out, vouch_err *err)
{
    return json_parse_profile(buf, len, lim, 0, out, err);
}

vouch_code vouch_json_parse_rfc8259(const char *buf, size_t len, const vouch_json_limits *lim,
                                    json_t **out, vouch_err *err)
{
    return json_parse_profile(buf, len, lim, 1, out, err);
}

/* "object", "array", ...: the words used in type messages. */
static const char *json_type_word(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
        return "integer";
    case JSON_REAL:
        return "real";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    case JSON_NULL:
        return "null";
    }
    return "unknown";
}

vouch_code vouch_json_parse_object(const char *buf, size_t len, const vouch_json_limits *lim,
                                   json_t **out, vouch_err *err)
{
    vouch_code rc;
    json_t *v = NULL;

    if (!out) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "JSON parse: NULL argument");
        goto out;
    }
    *out = NULL;
    rc = vouch_json_parse(buf, len, lim, &v, err);
    if (rc != VOUCH_OK)
        goto out;
    if (!json_is_object(v)) {
        rc = vouch_err_set(err, VOUCH_E_JSON_TYPE, "expected a JSON object, got %s",
                           json_type_word(v));
        goto out;
    }
    *out = v;
    v = NULL;
out:
    json_decref(v);
    return rc;
}

/* ---- typed getters ------------------------------------------------------ */

/* Finds member key of obj, which must be present and of type `want`
 * (JSON_TRUE stands for either boolean). */
static vouch_code json_get_member(const json_t *obj, const char *key, json_type want,
                                  const char *want_word, json_t **member, vouch_err *err)
{
    char name[80];
    json_t *m = NULL;
    vouch_code rc = VOUCH_OK;

    *member = NULL;
    if (!obj || !key)
        return vouch_err_set(err, VOUCH_E_ARG, "JSON getter: NULL argument");
    if (!json_is_object(obj)) {
        rc = VOUCH_E_JSON_TYPE;
        goto out;
    }
    m = json_object_get(obj, key);
    if (!m)
        rc = VOUCH_E_JSON_MISSING;
    else if (want == JSON_TRUE ? !json_is_boolean(m) : json_typeof(m) != want)
        rc = VOUCH_E_JSON_TYPE;
    else
        *member = m;
out:
    /* the name is quoted only on failure: getters run on every token */
    if (rc != VOUCH_OK) {
        json_quote_name(key, strlen(key), name, sizeof(name));
        if (!json_is_object(obj))
            vouch_err_set(err, rc, "member %s: expected to read it from an object, got %s",
                          name, json_type_word(obj));
        else if (!m)
            vouch_err_set(err, rc, "member %s is missing", name);
        else
            vouch_err_set(err, rc, "member %s: expected %s, got %s", name, want_word,
                          json_type_word(m));
    }
    return rc;
}

vouch_code vouch_json_get_string(const json_t *obj, const char *key, const char **out,
                                 vouch_err *err)
{
    vouch_code rc;
    json_t *m = NULL;

    if (!out)
        return vouch_err_set(err, VOUCH_E_ARG, "JSON getter: NULL argument");
    *out = NULL;
    rc = json_get_member(obj, key, JSON_STRING, "string", &m, err);
    if (rc != VOUCH_OK)
        goto out;
    /* parsed strings never hold NUL, but built ones can (json_stringn) and
     * C callers would see a truncated value */
    if (strlen(json_string_value(m)) != json_string_length(m)) {
        char name[80];
        json_quote_name(key, strlen(key), name, sizeof(name));
        rc = vouch_err_set(err, VOUCH_E_JSON_UTF8, "member %s: string contains a NUL", name);
        goto out;
    }
    *out = json_string_value(m);
out:
    return rc;
}

vouch_code vouch_json_get_int(const json_t *obj, const char *key, int64_t *out, vouch_err *err)
{
    vouch_code rc;
    json_t *m = NULL;
    json_int_t v;

    if (!out)
        return vouch_err_set(err, VOUCH_E_ARG, "JSON getter: NULL argument");
    *out = 0;
    rc = json_get_member(obj, key, JSON_INTEGER, "integer", &m, err);
    if (rc != VOUCH_OK)
        goto out;
    v = json_integer_value(m);
    if (v > VOUCH_JSON_MAX_SAFE_INT || v < -VOUCH_JSON_MAX_SAFE_INT) {
        char name[80];
        json_quote_name(key, strlen(key), name, sizeof(name));
        rc = vouch_err_set(err, VOUCH_E_JSON_RANGE,
                           "member %s: integer %lld is beyond +/-(2^53-1)", name, (long long)v);
        goto out;
    }
    *out = (int64_t)v;
out:
    return rc;
}

vouch_code vouch_json_get_bool(const json_t *obj, const char *key, int *out, vouch_err *err)
{
    vouch_code rc;
    json_t *m = NULL;

    if (!out)
        return vouch_err_set(err, VOUCH_E_ARG, "JSON getter: NULL argument");
    *out = 0;
    rc = json_get_member(obj, key, JSON_TRUE, "boolean", &m, err);
    if (rc == VOUCH_OK)
        *out = json_is_true(m);
    return rc;
}

vouch_code vouch_json_get_object(const json_t *obj, const char *key, json_t **out,
                                 vouch_err *err)
{
    if (!out)
        return vouch_err_set(err, VOUCH_E_ARG, "JSON getter: NULL argument");
    return json_get_member(obj, key, JSON_OBJECT, "object", out, err);
}

vouch_code vouch_json_get_array(const json_t *obj, const char *key, json_t **out,
                                vouch_err *err)
{
    if (!out)
        return vouch_err_set(err, VOUCH_E_ARG, "JSON getter: NULL argument");
    return json_get_member(obj, key, JSON_ARRAY, "array", out, err);
}

/* ---- dump --------------------------------------------------------------- */

vouch_code vouch_json_dump(const json_t *v, char **out, size_t *len, vouch_err *err)
{
    const size_t flags = JSON_COMPACT | JSON_ENCODE_ANY;
    vouch_code rc = VOUCH_OK;
    size_t need, got;
    char *buf = NULL;

    if (out)
        *out = NULL;
    if (len)
        *len = 0;
    if (!v || !out) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "JSON dump: NULL argument");
        goto out;
    }
    vouch_json_init();
    /* measure, then write into exactly one vouch_malloc'd block */
    json_alloc_failed = 0;
    need = json_dumpb(v, NULL, 0, flags);
    if (need == 0) {
        rc = json_alloc_failed
                 ? vouch_err_set(err, VOUCH_E_NOMEM, "out of memory serializing JSON")
                 : vouch_err_set(err, VOUCH_E_INTERNAL,
                                 "cannot serialize JSON (invalid UTF-8 or a cycle)");
        goto out;
    }
    buf = vouch_malloc(need + 1);
    if (!buf) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory serializing JSON");
        goto out;
    }
    got = json_dumpb(v, buf, need, flags);
    if (got != need) {
        rc = json_alloc_failed
                 ? vouch_err_set(err, VOUCH_E_NOMEM, "out of memory serializing JSON")
                 : vouch_err_set(err, VOUCH_E_INTERNAL,
                                 "JSON serialization changed size (%zu, then %zu)", need, got);
        goto out;
    }
    buf[need] = '\0';
    *out = buf;
    if (len)
        *len = need;
    buf = NULL;
out:
    vouch_free(buf);
    return rc;
}
