/* json.c - hardened JSON: a pre-scan and our own parser building jansson
 * values, typed getters, and dumping through jansson (vouch/json.h; the
 * rules and the JSONTestSuite i_ table are in docs/json.md). */
#include "vouch/json.h"

#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vouch/mem.h"

/* Set when an allocation made for jansson fails, so that a failed dump can
 * be told apart from a value that cannot be serialized. */
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

/* The C locale for strtod_l: a program's setlocale must not change how
 * "1.5" reads. glibc returns its static C locale, allocating nothing; NULL
 * (never seen) makes every real a VOUCH_E_NOMEM. */
static locale_t json_c_locale;

static void json_init_once(void)
{
    json_set_alloc_funcs(json_alloc, json_free);
    json_c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

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

/* Inside a string, the index of the first 8-byte word from p[i] that may
 * hold a byte the pre-scan looks at ('"', '\\', NUL, or one above 0x7F),
 * or of the last few bytes: all the bytes skipped are plain ASCII, which the
 * scan would only step over. */
static size_t json_skip_ascii(const unsigned char *p, size_t i, size_t len)
{
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;

    while (len - i >= 8) {
        uint64_t w, q, b;

        memcpy(&w, p + i, 8);
        q = w ^ (ones * '"');
        b = w ^ (ones * '\\');
        if ((w | ((w - ones) & ~w) | ((q - ones) & ~q) | ((b - ones) & ~b)) & highs)
            break;
        i += 8;
    }
    return i;
}

/*
 * One pass over the bytes, tracking strings and escapes so that brackets in
 * strings do not count. Fails fast on the depth cap; remembers the first
 * encoding problem in *is. Syntax is left to the parser: on broken syntax
 * the scan may see strings where there are none, which only changes which of
 * two rejections is reported. Up to the parser's first error the two agree
 * on where strings are, so the parser never nests deeper than the cap.
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
            i = json_skip_ascii(p, i + 1, len);
            continue;
        }
        /* an escape: 6 bytes for \uXXXX, 2 otherwise; a bad escape is left to
         * the parser, but a NUL or non-ASCII byte after '\' is scanned as itself */
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

/* ---- parse: the bytes the pre-scan passed, into jansson values ----------- */

/*
 * jansson's json_loadb reads through a callback, one byte per call, and
 * copies every token into a growing buffer before converting it (about
 * 100 MB/s). This parser reads the buffer in place and builds the same
 * json_t tree with jansson's constructors. It is json_loadb 2.14 with
 * JSON_DECODE_ANY (plus JSON_REJECT_DUPLICATES in the hardened profile,
 * JSON_ALLOW_NUL in the conformance one) rule for rule: the same tokens,
 * the same first error, found at the same byte, line and column and named
 * in the same words. tests/fuzz/fuzz_json_diff.c holds it to that.
 *
 * It lives here, beside the pre-scan, because it relies on it: the bytes are
 * valid UTF-8 without NUL, so strings are stored without another check
 * (json_stringn_nocheck), and a \u escape of a high surrogate is followed
 * by a low one. The lone-surrogate and \u0000 errors below mirror
 * jansson's for completeness; after the pre-scan only the NUL in a member
 * name of the conformance profile can occur.
 */

/* Tokens as jansson's lexer numbers them; punctuation is its own byte. */
enum {
    JSON_TOK_INVALID = -1,
    JSON_TOK_EOF = 0,
    JSON_TOK_STRING = 256,
    JSON_TOK_INTEGER,
    JSON_TOK_REAL,
    JSON_TOK_TRUE,
    JSON_TOK_FALSE,
    JSON_TOK_NULL,
};

#if !JSON_INTEGER_IS_LONG_LONG
#error "json_int_t is expected to be long long (strtoll's range)"
#endif

#define JSON_IS_DIGIT(c) ((c) >= '0' && (c) <= '9')
#define JSON_IS_ALPHA(c) (((c) | 0x20) >= 'a' && ((c) | 0x20) <= 'z')
#define JSON_IS_XDIGIT(c) \
    (JSON_IS_DIGIT(c) || ((c) >= 'a' && (c) <= 'f') || ((c) >= 'A' && (c) <= 'F'))

struct json_parser {
    const unsigned char *buf; /* the document, len bytes */
    size_t len;
    size_t pos;     /* bytes consumed: jansson's stream position */
    size_t depth;   /* values being parsed, counted as jansson counts */
    int rfc8259;    /* the conformance profile */
    int tok;        /* the current token, starting at tok_at */
    size_t tok_at;
    const char *str; /* a string token's value (in buf or scratch), str_len bytes */
    size_t str_len;
    int str_nul;     /* the value holds a NUL, from \u0000 */
    int str_scratch; /* the value is in scratch, which the next string reuses */
    json_int_t ival;
    double rval;
    char *scratch; /* unescaped strings; may hold secrets, wiped on free */
    size_t scratch_cap;
    vouch_err *err;
};

/* A failure at the current position, worded as jansson words it (the
 * position, line and column are jansson's; line and column are counted
 * only here, on failure). */
static vouch_code json_fail(const struct json_parser *jp, vouch_code code, const char *what)
{
    size_t line = 1, col = 0;

    for (size_t i = 0; i < jp->pos; i++) {
        if (jp->buf[i] == '\n') {
            line++;
            col = 0;
        } else if ((jp->buf[i] & 0xC0) != 0x80) {
            col++; /* a character, not a UTF-8 continuation byte */
        }
    }
    return vouch_err_set(jp->err, code, "invalid JSON at byte %zu (line %zu, column %zu): %s",
                         jp->pos, line, col, what);
}

static vouch_code json_nomem(const struct json_parser *jp)
{
    return vouch_err_set(jp->err, VOUCH_E_NOMEM, "out of memory parsing JSON");
}

/* The first byte at or after p that ends a run of plain string bytes: '"',
 * '\\' or a control character; end if none. Eight bytes at a time: the
 * word tests below never miss such a byte (they may flag a word without
 * one, which the byte loop then passes). */
static const unsigned char *json_scan_plain(const unsigned char *p, const unsigned char *end)
{
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;

    while (end - p >= 8) {
        uint64_t w, q, b;

        memcpy(&w, p, 8);
        q = w ^ (ones * '"');
        b = w ^ (ones * '\\');
        if ((((q - ones) & ~q) | ((b - ones) & ~b) | ((w - ones * 0x20) & ~w)) & highs)
            break;
        p += 8;
    }
    while (p < end && *p != '"' && *p != '\\' && *p >= 0x20)
        p++;
    return p;
}

/* Writes code point v (below 0x110000, not a surrogate) as UTF-8 at t;
 * returns the byte count. */
static size_t json_utf8_put(char *t, long v)
{
    if (v < 0x80) {
        t[0] = (char)v;
        return 1;
    }
    if (v < 0x800) {
        t[0] = (char)(0xC0 | (v >> 6));
        t[1] = (char)(0x80 | (v & 0x3F));
        return 2;
    }
    if (v < 0x10000) {
        t[0] = (char)(0xE0 | (v >> 12));
        t[1] = (char)(0x80 | ((v >> 6) & 0x3F));
        t[2] = (char)(0x80 | (v & 0x3F));
        return 3;
    }
    t[0] = (char)(0xF0 | (v >> 18));
    t[1] = (char)(0x80 | ((v >> 12) & 0x3F));
    t[2] = (char)(0x80 | ((v >> 6) & 0x3F));
    t[3] = (char)(0x80 | (v & 0x3F));
    return 4;
}

/*
 * Decodes the escapes of the string body s..e (e is the closing quote, its
 * escapes already checked for form) into scratch. Decoded text is never
 * longer than its source (\uXXXX is 6 bytes for at most 3), so e - s bytes
 * are enough. Surrogates are checked here, after the whole string was
 * read, as jansson does.
 */
static vouch_code json_unescape(struct json_parser *jp, const unsigned char *s,
                                const unsigned char *e)
{
    size_t need = (size_t)(e - s) + 1, cap;
    const unsigned char *p = s, *q;
    char what[48], *t;
    long v, lo;

    if (jp->scratch_cap < need) {
        /* doubling, not beyond the need: need is at most the document */
        for (cap = jp->scratch_cap ? jp->scratch_cap : 256; cap < need;)
            cap = cap > SIZE_MAX / 2 ? need : cap * 2;
        vouch_free_secret(jp->scratch, jp->scratch_cap);
        jp->scratch_cap = 0;
        jp->scratch = vouch_malloc(cap);
        if (!jp->scratch)
            return json_nomem(jp);
        jp->scratch_cap = cap;
    }
    t = jp->scratch;
    while (p < e) {
        if (*p != '\\') {
            q = memchr(p, '\\', (size_t)(e - p));
            if (!q)
                q = e;
            memcpy(t, p, (size_t)(q - p));
            t += q - p;
            p = q;
            continue;
        }
        p += 2;
        switch (p[-1]) {
        case 'b':
            *t++ = '\b';
            break;
        case 'f':
            *t++ = '\f';
            break;
        case 'n':
            *t++ = '\n';
            break;
        case 'r':
            *t++ = '\r';
            break;
        case 't':
            *t++ = '\t';
            break;
        case 'u':
            v = json_hex4(p);
            p += 4;
            if (v >= 0xD800 && v <= 0xDBFF) {
                /* p < e: p[0] is in the string, so p[1] is too */
                if (!(p < e && p[0] == '\\' && p[1] == 'u')) {
                    snprintf(what, sizeof(what), "invalid Unicode '\\u%04lX'", v);
                    return json_fail(jp, VOUCH_E_JSON_SYNTAX, what);
                }
                lo = json_hex4(p + 2);
                p += 6;
                if (lo < 0xDC00 || lo > 0xDFFF) {
                    snprintf(what, sizeof(what), "invalid Unicode '\\u%04lX\\u%04lX'", v, lo);
                    return json_fail(jp, VOUCH_E_JSON_SYNTAX, what);
                }
                v = ((v - 0xD800) << 10) + (lo - 0xDC00) + 0x10000;
            } else if (v >= 0xDC00 && v <= 0xDFFF) {
                snprintf(what, sizeof(what), "invalid Unicode '\\u%04lX'", v);
                return json_fail(jp, VOUCH_E_JSON_SYNTAX, what);
            }
            if (v == 0)
                jp->str_nul = 1;
            t += json_utf8_put(t, v);
            break;
        default: /* '"', '\\' or '/' */
            *t++ = (char)p[-1];
            break;
        }
    }
    jp->str = jp->scratch;
    jp->str_len = (size_t)(t - jp->scratch);
    jp->str_scratch = 1;
    return VOUCH_OK;
}

/* A string token; buf[at] is its opening quote. The first pass checks what
 * jansson's lexer checks while reading; escapes, if any, are decoded in a
 * second one, so a plain string is read once and never copied here. */
static vouch_code json_lex_string(struct json_parser *jp, size_t at)
{
    const unsigned char *b = jp->buf, *s = b + at + 1, *end = b + jp->len, *p = s;
    int escaped = 0;
    char what[32];
    unsigned char c;

    for (;;) {
        p = json_scan_plain(p, end);
        if (p == end) {
            jp->pos = jp->len;
            return json_fail(jp, VOUCH_E_JSON_SYNTAX, "premature end of input");
        }
        if (*p == '"')
            break;
        if (*p < 0x20) {
            jp->pos = (size_t)(p - b);
            if (*p == '\n')
                return json_fail(jp, VOUCH_E_JSON_SYNTAX, "unexpected newline");
            snprintf(what, sizeof(what), "control character 0x%x", *p);
            return json_fail(jp, VOUCH_E_JSON_SYNTAX, what);
        }
        /* an escape; jansson stops just past the byte that breaks it */
        escaped = 1;
        if (++p == end) {
            jp->pos = jp->len;
            return json_fail(jp, VOUCH_E_JSON_SYNTAX, "invalid escape");
        }
        c = *p++;
        if (c == 'u') {
            for (int k = 0; k < 4; k++, p++) {
                if (p == end || !JSON_IS_XDIGIT(*p)) {
                    jp->pos = p == end ? jp->len : (size_t)(p + 1 - b);
                    return json_fail(jp, VOUCH_E_JSON_SYNTAX, "invalid escape");
                }
            }
        } else if (c != '"' && c != '\\' && c != '/' && c != 'b' && c != 'f' && c != 'n' &&
                   c != 'r' && c != 't') {
            jp->pos = (size_t)(p - b);
            return json_fail(jp, VOUCH_E_JSON_SYNTAX, "invalid escape");
        }
    }
    jp->pos = (size_t)(p + 1 - b);
    jp->tok = JSON_TOK_STRING;
    jp->str_nul = 0;
    if (escaped)
        return json_unescape(jp, s, p);
    jp->str = (const char *)s;
    jp->str_len = (size_t)(p - s);
    jp->str_scratch = 0;
    return VOUCH_OK;
}

/* The integer buf[at..end), -?digits: strtoll's value, or its ERANGE as
 * jansson words it. */
static vouch_code json_lex_integer(struct json_parser *jp, size_t at, size_t end)
{
    int neg = jp->buf[at] == '-';
    unsigned long long v = 0, max = neg ? (unsigned long long)LLONG_MAX + 1 : LLONG_MAX;

    for (size_t i = at + (size_t)neg; i < end; i++) {
        unsigned d = (unsigned)(jp->buf[i] - '0');
        if (v > (max - d) / 10)
            return json_fail(jp, VOUCH_E_JSON_RANGE,
                             neg ? "too big negative integer" : "too big integer");
        v = v * 10 + d;
    }
    /* -(v - 1) - 1 reaches LLONG_MIN without overflow */
    jp->ival = neg ? (v ? -(json_int_t)(v - 1) - 1 : 0) : (json_int_t)v;
    jp->tok = JSON_TOK_INTEGER;
    return VOUCH_OK;
}

/* The real buf[at..end): strtod in the C locale on a NUL-terminated copy,
 * refused on overflow (±HUGE_VAL with ERANGE) but not on underflow, as
 * jansson does. Not inlined: its buffer stays off the recursion's frames. */
static __attribute__((noinline)) vouch_code json_lex_real(struct json_parser *jp, size_t at,
                                                          size_t end)
{
    char small[64], *copy = small;
    size_t n = end - at;
    vouch_code rc = VOUCH_OK;
    double v;

    if (!json_c_locale) {
        rc = json_nomem(jp);
        goto out;
    }
    if (n >= sizeof(small) && !(copy = vouch_malloc(n + 1))) {
        rc = json_nomem(jp);
        goto out;
    }
    memcpy(copy, jp->buf + at, n);
    copy[n] = '\0';
    errno = 0;
    v = strtod_l(copy, NULL, json_c_locale);
    if ((v == HUGE_VAL || v == -HUGE_VAL) && errno == ERANGE) {
        rc = json_fail(jp, VOUCH_E_JSON_RANGE, "real number overflow");
        goto out;
    }
    jp->rval = v;
    jp->tok = JSON_TOK_REAL;
out:
    if (copy != small)
        vouch_free(copy);
    return rc;
}

/* A number token at buf[at] ('-' or a digit). A malformed one is
 * JSON_TOK_INVALID with pos where jansson's lexer stops: just past the last
 * byte that fit the grammar (-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?). */
static vouch_code json_lex_number(struct json_parser *jp, size_t at)
{
    const unsigned char *b = jp->buf;
    size_t i = at, n = jp->len;
    int real = 0;

    jp->tok = JSON_TOK_INVALID;
    if (b[i] == '-')
        i++;
    if (i < n && b[i] == '0') {
        if (++i < n && JSON_IS_DIGIT(b[i]))
            goto invalid; /* a leading zero */
    } else if (i < n && JSON_IS_DIGIT(b[i])) {
        while (++i < n && JSON_IS_DIGIT(b[i]))
            ;
    } else {
        goto invalid; /* "-" without a digit */
    }
    if (i < n && b[i] == '.') {
        if (++i == n || !JSON_IS_DIGIT(b[i]))
            goto invalid;
        while (++i < n && JSON_IS_DIGIT(b[i]))
            ;
        real = 1;
    }
    if (i < n && (b[i] == 'e' || b[i] == 'E')) {
        if (++i < n && (b[i] == '+' || b[i] == '-'))
            i++;
        if (i == n || !JSON_IS_DIGIT(b[i]))
            goto invalid;
        while (++i < n && JSON_IS_DIGIT(b[i]))
            ;
        real = 1;
    }
    jp->pos = i;
    return real ? json_lex_real(jp, at, i) : json_lex_integer(jp, at, i);
invalid:
    jp->pos = i;
    return VOUCH_OK;
}

/*
 * Reads the next token into jp->tok. Fails only where jansson's lexer sets
 * an error itself (inside strings, number overflow, out of memory); a token
 * it does not know is JSON_TOK_INVALID, which the parser then names by
 * context, as jansson does.
 */
static vouch_code json_lex(struct json_parser *jp)
{
    const unsigned char *b = jp->buf;
    size_t i = jp->pos, n = jp->len, j;
    unsigned char c;

    while (i < n && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t'))
        i++;
    jp->tok_at = i;
    if (i == n) {
        jp->pos = n;
        jp->tok = JSON_TOK_EOF;
        return VOUCH_OK;
    }
    c = b[i];
    switch (c) {
    case '{':
    case '}':
    case '[':
    case ']':
    case ':':
    case ',':
        jp->pos = i + 1;
        jp->tok = c;
        return VOUCH_OK;
    case '"':
        return json_lex_string(jp, i);
    case '-':
    case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
        return json_lex_number(jp, i);
    default:
        break;
    }
    if (JSON_IS_ALPHA(c)) {
        /* a whole word, as jansson reads it: "truex" is one bad token */
        for (j = i + 1; j < n && JSON_IS_ALPHA(b[j]); j++)
            ;
        jp->pos = j;
        if (j - i == 4 && memcmp(b + i, "true", 4) == 0)
            jp->tok = JSON_TOK_TRUE;
        else if (j - i == 5 && memcmp(b + i, "false", 5) == 0)
            jp->tok = JSON_TOK_FALSE;
        else if (j - i == 4 && memcmp(b + i, "null", 4) == 0)
            jp->tok = JSON_TOK_NULL;
        else
            jp->tok = JSON_TOK_INVALID;
        return VOUCH_OK;
    }
    /* any other character is a bad token, read whole (the pre-scan made
     * sure the UTF-8 sequence is complete) */
    j = c < 0xC0 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    jp->pos = i + (j < n - i ? j : n - i);
    jp->tok = JSON_TOK_INVALID;
    return VOUCH_OK;
}

static vouch_code json_parse_value(struct json_parser *jp, json_t **out);

/* Names the duplicate member whose name starts at buf[at] (its quote), as
 * written, sanitized; jp->pos is just past its closing quote. */
static vouch_code json_duplicate(const struct json_parser *jp, size_t at)
{
    char name[80];

    json_quote_name((const char *)jp->buf + at + 1, jp->pos - at - 2, name, sizeof(name));
    return vouch_err_set(jp->err, VOUCH_E_JSON_DUPLICATE, "duplicate member %s at byte %zu",
                         name, at);
}

/* An object; the current token is its '{'. */
static vouch_code json_parse_object(struct json_parser *jp, json_t **out)
{
    json_t *obj = json_object(), *v = NULL;
    char *kcopy = NULL;
    const char *key;
    size_t klen = 0;
    vouch_code rc;

    if (!obj) {
        rc = json_nomem(jp);
        goto out;
    }
    if ((rc = json_lex(jp)) != VOUCH_OK || jp->tok == '}')
        goto out;
    for (;;) {
        if (jp->tok != JSON_TOK_STRING) {
            rc = json_fail(jp, VOUCH_E_JSON_SYNTAX, "string or '}' expected");
            goto out;
        }
        /* jansson's names are C strings (json_error_null_byte_in_key) */
        if (jp->str_nul) {
            rc = json_fail(jp, VOUCH_E_JSON_UTF8, "NUL byte in object key not supported");
            goto out;
        }
        key = jp->str;
        klen = jp->str_len;
        if (!jp->rfc8259 && json_object_getn(obj, key, klen)) {
            rc = json_duplicate(jp, jp->tok_at);
            goto out;
        }
        /* a name with escapes was decoded into scratch, which the value
         * may reuse: keep a copy until the member is set */
        if (jp->str_scratch) {
            if (!(kcopy = vouch_malloc(klen + 1))) {
                rc = json_nomem(jp);
                goto out;
            }
            memcpy(kcopy, key, klen);
            key = kcopy;
        }
        if ((rc = json_lex(jp)) != VOUCH_OK)
            goto out;
        if (jp->tok != ':') {
            rc = json_fail(jp, VOUCH_E_JSON_SYNTAX, "':' expected");
            goto out;
        }
        if ((rc = json_lex(jp)) != VOUCH_OK || (rc = json_parse_value(jp, &v)) != VOUCH_OK)
            goto out;
        /* takes v even when it fails; a name seen before is replaced in its
         * place, so the last one wins (conformance profile only) */
        if (json_object_setn_new_nocheck(obj, key, klen, v) != 0) {
            v = NULL;
            rc = json_nomem(jp);
            goto out;
        }
        v = NULL;
        vouch_free_secret(kcopy, klen + 1);
        kcopy = NULL;
        if ((rc = json_lex(jp)) != VOUCH_OK)
            goto out;
        if (jp->tok != ',')
            break;
        if ((rc = json_lex(jp)) != VOUCH_OK)
            goto out;
    }
    if (jp->tok != '}')
        rc = json_fail(jp, VOUCH_E_JSON_SYNTAX, "'}' expected");
out:
    vouch_free_secret(kcopy, klen + 1);
    json_decref(v);
    if (rc == VOUCH_OK)
        *out = obj;
    else
        json_decref(obj);
    return rc;
}

/* An array; the current token is its '['. */
static vouch_code json_parse_array(struct json_parser *jp, json_t **out)
{
    json_t *arr = json_array(), *v = NULL;
    vouch_code rc;

    if (!arr) {
        rc = json_nomem(jp);
        goto out;
    }
    if ((rc = json_lex(jp)) != VOUCH_OK || jp->tok == ']')
        goto out;
    /* at the end of input jansson stops asking for values: "[1," wants ']' */
    while (jp->tok != JSON_TOK_EOF) {
        if ((rc = json_parse_value(jp, &v)) != VOUCH_OK)
            goto out;
        if (json_array_append_new(arr, v) != 0) { /* takes v even when it fails */
            v = NULL;
            rc = json_nomem(jp);
            goto out;
        }
        v = NULL;
        if ((rc = json_lex(jp)) != VOUCH_OK)
            goto out;
        if (jp->tok != ',')
            break;
        if ((rc = json_lex(jp)) != VOUCH_OK)
            goto out;
    }
    if (jp->tok != ']')
        rc = json_fail(jp, VOUCH_E_JSON_SYNTAX, "']' expected");
out:
    json_decref(v);
    if (rc == VOUCH_OK)
        *out = arr;
    else
        json_decref(arr);
    return rc;
}

/* The value that starts with the current token. Recursion is bounded by
 * the pre-scan's depth cap, and by jansson's own limit (2048) when the cap
 * is higher. */
static vouch_code json_parse_value(struct json_parser *jp, json_t **out)
{
    vouch_code rc = VOUCH_OK;
    json_t *v = NULL;

    *out = NULL;
    /* jansson counts every value, scalars too */
    if (++jp->depth > JSON_PARSER_MAX_DEPTH)
        return vouch_err_set(jp->err, VOUCH_E_JSON_DEPTH, "JSON nested too deeply at byte %zu",
                             jp->pos);
    switch (jp->tok) {
    case '{':
        rc = json_parse_object(jp, &v);
        break;
    case '[':
        rc = json_parse_array(jp, &v);
        break;
    case JSON_TOK_STRING:
        if (jp->str_nul && !jp->rfc8259)
            rc = json_fail(jp, VOUCH_E_JSON_UTF8, "\\u0000 is not allowed without JSON_ALLOW_NUL");
        else
            v = json_stringn_nocheck(jp->str, jp->str_len);
        break;
    case JSON_TOK_INTEGER:
        v = json_integer(jp->ival);
        break;
    case JSON_TOK_REAL:
        v = json_real(jp->rval);
        break;
    case JSON_TOK_TRUE:
        v = json_true();
        break;
    case JSON_TOK_FALSE:
        v = json_false();
        break;
    case JSON_TOK_NULL:
        v = json_null();
        break;
    case JSON_TOK_INVALID:
        rc = json_fail(jp, VOUCH_E_JSON_SYNTAX, "invalid token");
        break;
    default:
        rc = json_fail(jp, VOUCH_E_JSON_SYNTAX, "unexpected token");
        break;
    }
    if (rc == VOUCH_OK && !v)
        rc = json_nomem(jp);
    if (rc == VOUCH_OK) {
        jp->depth--;
        *out = v;
    }
    return rc;
}

/* One JSON text: a value and nothing after it but whitespace. */
static vouch_code json_parse_text(const unsigned char *buf, size_t len, int rfc8259,
                                  json_t **out, vouch_err *err)
{
    struct json_parser jp;
    json_t *v = NULL;
    vouch_code rc;

    memset(&jp, 0, sizeof(jp));
    jp.buf = buf;
    jp.len = len;
    jp.rfc8259 = rfc8259;
    jp.err = err;
    if ((rc = json_lex(&jp)) != VOUCH_OK || (rc = json_parse_value(&jp, &v)) != VOUCH_OK ||
        (rc = json_lex(&jp)) != VOUCH_OK)
        goto out;
    if (jp.tok != JSON_TOK_EOF) {
        /* jansson stops past the first token after the value */
        rc = vouch_err_set(err, VOUCH_E_JSON_TRAILING,
                           "trailing data after the JSON value, near byte %zu",
                           jp.pos > 0 ? jp.pos - 1 : 0);
        goto out;
    }
    *out = v;
    v = NULL;
out:
    json_decref(v);
    vouch_free_secret(jp.scratch, jp.scratch_cap);
    return rc;
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
    rc = json_parse_text(len ? p : (const unsigned char *)"", len, rfc8259, &v, err);
    if (rc != VOUCH_OK)
        goto out;
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
