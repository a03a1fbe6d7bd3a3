/* codec.c - strict base64url, base58btc, multibase and hex (vouch/codec.h). */
#include "vouch/codec.h"

#include <stdio.h>
#include <string.h>

#include "vouch/mem.h"

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* 0xFF marks a byte outside the alphabet; the high bit makes one OR over a
 * quad enough to detect any invalid byte in it. */
static const uint8_t b64url_values[256] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x3E, 0xFF, 0xFF,
    0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3A, 0x3B, 0x3C, 0x3D, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E,
    0x0F, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0xFF, 0xFF, 0xFF, 0xFF, 0x3F,
    0xFF, 0x1A, 0x1B, 0x1C, 0x1D, 0x1E, 0x1F, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28,
    0x29, 0x2A, 0x2B, 0x2C, 0x2D, 0x2E, 0x2F, 0x30, 0x31, 0x32, 0x33, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
};

static const char b58_alphabet[] =
    "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

static const int8_t b58_values[256] = {
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1,  0,  1,  2,  3,  4,  5,  6,  7,  8, -1, -1, -1, -1, -1, -1,
    -1,  9, 10, 11, 12, 13, 14, 15, 16, -1, 17, 18, 19, 20, 21, -1,
    22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, -1, -1, -1, -1, -1,
    -1, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, -1, 44, 45, 46,
    47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
};

static const char hex_digits[] = "0123456789abcdef";

/* Describes byte c for an error message without echoing unprintable bytes. */
static void codec_describe_byte(unsigned char c, char *out, size_t cap)
{
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v')
        snprintf(out, cap, "whitespace (0x%02x)", c);
    else if (c > 0x20 && c < 0x7f)
        snprintf(out, cap, "'%c'", c);
    else
        snprintf(out, cap, "byte 0x%02x", c);
}

/* ---- base64url ---------------------------------------------------------- */

size_t vouch_b64url_encoded_len(size_t n)
{
    static const size_t tail[3] = {0, 2, 3};

    /* saturates instead of wrapping; encoders refuse such n anyway */
    if (n / 3 > (SIZE_MAX - 3) / 4)
        return SIZE_MAX;
    return n / 3 * 4 + tail[n % 3];
}

size_t vouch_b64url_decoded_max(size_t n)
{
    static const size_t tail[4] = {0, 0, 1, 2};

    return n / 4 * 3 + tail[n % 4];
}

/* Encodes n bytes; out has room for encoded_len(n) characters (no NUL). */
static void b64url_encode_raw(const uint8_t *in, size_t n, char *out)
{
    size_t i = 0;

    for (; n - i >= 3; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[0] = b64url_alphabet[v >> 18];
        out[1] = b64url_alphabet[(v >> 12) & 63];
        out[2] = b64url_alphabet[(v >> 6) & 63];
        out[3] = b64url_alphabet[v & 63];
        out += 4;
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[0] = b64url_alphabet[v >> 18];
        out[1] = b64url_alphabet[(v >> 12) & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[0] = b64url_alphabet[v >> 18];
        out[1] = b64url_alphabet[(v >> 12) & 63];
        out[2] = b64url_alphabet[(v >> 6) & 63];
    }
}

/* Names the first byte of in[0..n) outside the alphabet, for the message. */
static vouch_code b64url_reject_byte(const char *in, size_t n, vouch_err *err)
{
    char what[32];
    size_t i;

    for (i = 0; i < n; i++)
        if (b64url_values[(unsigned char)in[i]] == 0xFF)
            break;
    if (i == n) /* callers only come here after seeing a bad byte */
        return vouch_err_set(err, VOUCH_E_INTERNAL, "base64url: no invalid byte found");
    switch (in[i]) {
    case '=':
        return vouch_err_set(err, VOUCH_E_B64URL, "invalid base64url: '=' padding at offset %zu",
                             i);
    case '+':
    case '/':
        return vouch_err_set(err, VOUCH_E_B64URL,
                             "invalid base64url: '%c' (standard base64, not base64url) at "
                             "offset %zu",
                             in[i], i);
    default:
        codec_describe_byte((unsigned char)in[i], what, sizeof(what));
        return vouch_err_set(err, VOUCH_E_B64URL, "invalid base64url: %s at offset %zu", what,
                             i);
    }
}

/*
 * Decodes n characters into out, which has room for decoded_max(n) bytes.
 * Validates everything: alphabet, length, and that the unused low bits of the
 * last character are zero (else two texts would decode to the same bytes).
 */
static vouch_code b64url_decode_raw(const char *in, size_t n, uint8_t *out, vouch_err *err)
{
    const unsigned char *p = (const unsigned char *)in;
    size_t i = 0, rem = n % 4;
    uint32_t a, b, c, d;

    for (; n - i >= 4; i += 4) {
        a = b64url_values[p[i]];
        b = b64url_values[p[i + 1]];
        c = b64url_values[p[i + 2]];
        d = b64url_values[p[i + 3]];
        if ((a | b | c | d) & 0x80)
            return b64url_reject_byte(in, n, err);
        uint32_t v = a << 18 | b << 12 | c << 6 | d;
        out[0] = (uint8_t)(v >> 16);
        out[1] = (uint8_t)(v >> 8);
        out[2] = (uint8_t)v;
        out += 3;
    }
    if (rem == 0)
        return VOUCH_OK;
    /* check the alphabet first, so "QQ=" reports the '=' not the length */
    for (size_t j = i; j < n; j++)
        if (b64url_values[p[j]] & 0x80)
            return b64url_reject_byte(in, n, err);
    if (rem == 1)
        return vouch_err_set(err, VOUCH_E_B64URL,
                             "invalid base64url: length %zu is 1 mod 4 (a dangling character)",
                             n);
    a = b64url_values[p[i]];
    b = b64url_values[p[i + 1]];
    if (rem == 2) {
        if (b & 0x0F)
            return vouch_err_set(err, VOUCH_E_B64URL,
                                 "invalid base64url: non-zero trailing bits at offset %zu",
                                 i + 1);
        out[0] = (uint8_t)(a << 2 | b >> 4);
        return VOUCH_OK;
    }
    c = b64url_values[p[i + 2]];
    if (c & 0x03)
        return vouch_err_set(err, VOUCH_E_B64URL,
                             "invalid base64url: non-zero trailing bits at offset %zu", i + 2);
    out[0] = (uint8_t)(a << 2 | b >> 4);
    out[1] = (uint8_t)((b & 0x0F) << 4 | c >> 2);
    return VOUCH_OK;
}

vouch_code vouch_b64url_encode_buf(const uint8_t *in, size_t n, char *out, size_t outcap,
                                   size_t *outlen, vouch_err *err)
{
    size_t need;

    if ((!in && n) || !out)
        return vouch_err_set(err, VOUCH_E_ARG, "base64url encode: NULL argument");
    if (n > VOUCH_CODEC_MAX_INPUT)
        return vouch_err_set(err, VOUCH_E_LIMIT, "base64url encode: %zu bytes exceed the cap of %u",
                             n, VOUCH_CODEC_MAX_INPUT);
    need = vouch_b64url_encoded_len(n);
    if (outcap <= need)
        return vouch_err_set(err, VOUCH_E_LIMIT,
                             "base64url encode: needs %zu bytes of output, have %zu", need + 1,
                             outcap);
    b64url_encode_raw(in, n, out);
    out[need] = '\0';
    if (outlen)
        *outlen = need;
    return VOUCH_OK;
}

vouch_code vouch_b64url_encode(const uint8_t *in, size_t n, char **out, size_t *outlen,
                               vouch_err *err)
{
    vouch_code rc = VOUCH_OK;
    size_t need;
    char *buf = NULL;

    if (out)
        *out = NULL;
    if ((!in && n) || !out) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "base64url encode: NULL argument");
        goto out;
    }
    if (n > VOUCH_CODEC_MAX_INPUT) {
        rc = vouch_err_set(err, VOUCH_E_LIMIT, "base64url encode: %zu bytes exceed the cap of %u",
                           n, VOUCH_CODEC_MAX_INPUT);
        goto out;
    }
    need = vouch_b64url_encoded_len(n);
    buf = vouch_malloc(need + 1);
    if (!buf) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "base64url encode: out of memory");
        goto out;
    }
    b64url_encode_raw(in, n, buf);
    buf[need] = '\0';
    *out = buf;
    if (outlen)
        *outlen = need;
out:
    return rc;
}

vouch_code vouch_b64url_decode_buf(const char *in, size_t n, uint8_t *out, size_t outcap,
                                   size_t *outlen, vouch_err *err)
{
    vouch_code rc = VOUCH_OK;
    size_t need;

    if ((!in && n) || (!out && outcap) || !outlen) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "base64url decode: NULL argument");
        goto out;
    }
    *outlen = 0;
    if (n > VOUCH_CODEC_MAX_INPUT) {
        rc = vouch_err_set(err, VOUCH_E_LIMIT, "base64url decode: %zu bytes exceed the cap of %u",
                           n, VOUCH_CODEC_MAX_INPUT);
        goto out;
    }
    /* the length alone bounds the output, so the cap is checked before any
     * byte is written */
    need = vouch_b64url_decoded_max(n);
    if (need > outcap) {
        rc = vouch_err_set(err, VOUCH_E_LIMIT,
                           "base64url decode: %zu bytes of output do not fit in %zu", need,
                           outcap);
        goto out;
    }
    rc = b64url_decode_raw(in, n, out, err);
    if (rc == VOUCH_OK)
        *outlen = need;
out:
    return rc;
}

vouch_code vouch_b64url_decode(const char *in, size_t n, uint8_t **out, size_t *outlen,
                               vouch_err *err)
{
    vouch_code rc = VOUCH_OK;
    uint8_t *buf = NULL;
    size_t need = 0;

    if (out)
        *out = NULL;
    if ((!in && n) || !out || !outlen) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "base64url decode: NULL argument");
        goto out;
    }
    *outlen = 0;
    if (n > VOUCH_CODEC_MAX_INPUT) {
        rc = vouch_err_set(err, VOUCH_E_LIMIT, "base64url decode: %zu bytes exceed the cap of %u",
                           n, VOUCH_CODEC_MAX_INPUT);
        goto out;
    }
    need = vouch_b64url_decoded_max(n);
    /* +1: never a zero-size allocation, and a NUL for text payloads */
    buf = vouch_malloc(need + 1);
    if (!buf) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "base64url decode: out of memory");
        goto out;
    }
    rc = b64url_decode_raw(in, n, buf, err);
    if (rc != VOUCH_OK)
        goto out;
    buf[need] = 0;
    *out = buf;
    *outlen = need;
    buf = NULL;
out:
    /* decoded bytes may be key material */
    if (buf)
        vouch_free_secret(buf, need + 1);
    return rc;
}

/* ---- base58btc ---------------------------------------------------------- */

/*
 * Writes the base58btc text of in[0..n) to out, which has room for
 * n * 138 / 100 + 2 characters (log(256)/log(58) < 1.38, plus the NUL).
 * Schoolbook conversion: quadratic, hence VOUCH_B58_MAX_INPUT.
 */
static void b58_encode_raw(const uint8_t *in, size_t n, char *out, uint8_t *digits,
                           size_t ndigits)
{
    size_t zeros = 0, used = 0, i, j, o = 0;

    while (zeros < n && in[zeros] == 0)
        zeros++;
    /* digits holds the value in base 58, least significant first */
    for (i = zeros; i < n; i++) {
        unsigned carry = in[i];
        for (j = 0; j < used; j++) {
            carry += (unsigned)digits[j] << 8;
            digits[j] = (uint8_t)(carry % 58);
            carry /= 58;
        }
        while (carry) {
            if (used == ndigits) /* cannot happen: ndigits bounds the value */
                break;
            digits[used++] = (uint8_t)(carry % 58);
            carry /= 58;
        }
    }
    for (i = 0; i < zeros; i++)
        out[o++] = '1';
    for (i = used; i > 0; i--)
        out[o++] = b58_alphabet[digits[i - 1]];
    out[o] = '\0';
}

vouch_code vouch_b58_encode(const uint8_t *in, size_t n, char **out, vouch_err *err)
{
    vouch_code rc = VOUCH_OK;
    uint8_t *digits = NULL;
    size_t ndigits = 0;
    char *buf = NULL;

    if (out)
        *out = NULL;
    if ((!in && n) || !out) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "base58btc encode: NULL argument");
        goto out;
    }
    if (n > VOUCH_B58_MAX_INPUT) {
        rc = vouch_err_set(err, VOUCH_E_LIMIT, "base58btc encode: %zu bytes exceed the cap of %u",
                           n, VOUCH_B58_MAX_INPUT);
        goto out;
    }
    ndigits = n * 138 / 100 + 1;
    digits = vouch_malloc(ndigits);
    buf = vouch_malloc(ndigits + 1);
    if (!digits || !buf) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "base58btc encode: out of memory");
        goto out;
    }
    b58_encode_raw(in, n, buf, digits, ndigits);
    *out = buf;
    buf = NULL;
out:
    vouch_free_secret(digits, ndigits);
    vouch_free(buf);
    return rc;
}

vouch_code vouch_b58_decode(const char *in, size_t n, uint8_t **out, size_t *outlen,
                            vouch_err *err)
{
    const unsigned char *p = (const unsigned char *)in;
    vouch_code rc = VOUCH_OK;
    uint8_t *bytes = NULL, *buf = NULL;
    size_t nbytes = 0, zeros = 0, used = 0, i, j, total = 0;
    char what[32];

    if (out)
        *out = NULL;
    if ((!in && n) || !out || !outlen) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "base58btc decode: NULL argument");
        goto out;
    }
    *outlen = 0;
    if (n > VOUCH_B58_MAX_INPUT) {
        rc = vouch_err_set(err, VOUCH_E_LIMIT, "base58btc decode: %zu bytes exceed the cap of %u",
                           n, VOUCH_B58_MAX_INPUT);
        goto out;
    }
    for (i = 0; i < n; i++) {
        if (b58_values[p[i]] < 0) {
            codec_describe_byte(p[i], what, sizeof(what));
            rc = vouch_err_set(err, VOUCH_E_B58, "invalid base58btc: %s at offset %zu", what, i);
            goto out;
        }
    }
    /* log(58)/log(256) < 0.733 */
    nbytes = n * 733 / 1000 + 1;
    bytes = vouch_malloc(nbytes);
    if (!bytes) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "base58btc decode: out of memory");
        goto out;
    }
    while (zeros < n && p[zeros] == '1')
        zeros++;
    /* bytes holds the value in base 256, least significant first */
    for (i = zeros; i < n; i++) {
        unsigned carry = (unsigned)b58_values[p[i]];
        for (j = 0; j < used; j++) {
            carry += (unsigned)bytes[j] * 58;
            bytes[j] = (uint8_t)carry;
            carry >>= 8;
        }
        while (carry && used < nbytes) {
            bytes[used++] = (uint8_t)carry;
            carry >>= 8;
        }
    }
    total = zeros + used;
    buf = vouch_malloc(total + 1);
    if (!buf) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "base58btc decode: out of memory");
        goto out;
    }
    memset(buf, 0, zeros);
    for (i = 0; i < used; i++)
        buf[zeros + i] = bytes[used - 1 - i];
    buf[total] = 0;
    *out = buf;
    *outlen = total;
out:
    vouch_free_secret(bytes, nbytes);
    return rc;
}

/* ---- multibase ---------------------------------------------------------- */

vouch_code vouch_multibase_encode(const uint8_t *in, size_t n, char **out, vouch_err *err)
{
    vouch_code rc = VOUCH_OK;
    char *b58 = NULL, *buf = NULL;
    size_t len;

    if (out)
        *out = NULL;
    if (!out) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "multibase encode: NULL argument");
        goto out;
    }
    rc = vouch_b58_encode(in, n, &b58, err);
    if (rc != VOUCH_OK)
        goto out;
    len = strlen(b58);
    buf = vouch_malloc(len + 2);
    if (!buf) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "multibase encode: out of memory");
        goto out;
    }
    buf[0] = 'z';
    memcpy(buf + 1, b58, len + 1);
    *out = buf;
out:
    vouch_free(b58);
    return rc;
}

vouch_code vouch_multibase_decode(const char *in, size_t n, uint8_t **out, size_t *outlen,
                                  vouch_err *err)
{
    vouch_code rc = VOUCH_OK;
    char what[32];

    if (out)
        *out = NULL;
    if ((!in && n) || !out || !outlen) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "multibase decode: NULL argument");
        goto out;
    }
    *outlen = 0;
    if (n > VOUCH_CODEC_MAX_INPUT) {
        rc = vouch_err_set(err, VOUCH_E_LIMIT, "multibase decode: %zu bytes exceed the cap of %u",
                           n, VOUCH_CODEC_MAX_INPUT);
        goto out;
    }
    if (n == 0) {
        rc = vouch_err_set(err, VOUCH_E_MULTIBASE, "invalid multibase: empty (no prefix)");
        goto out;
    }
    switch (in[0]) {
    case 'z':
        rc = vouch_b58_decode(in + 1, n - 1, out, outlen, err);
        break;
    case 'u':
        rc = vouch_b64url_decode(in + 1, n - 1, out, outlen, err);
        break;
    default:
        codec_describe_byte((unsigned char)in[0], what, sizeof(what));
        rc = vouch_err_set(err, VOUCH_E_MULTIBASE,
                           "invalid multibase: unknown prefix %s (only 'z' and 'u')", what);
        goto out;
    }
    /* offsets in the inner message count from after the prefix */
    if (rc != VOUCH_OK)
        vouch_err_prefix(err, "multibase '%c'", in[0]);
out:
    return rc;
}

/* ---- hex ---------------------------------------------------------------- */

vouch_code vouch_hex_encode_buf(const uint8_t *in, size_t n, char *out, size_t outcap,
                                vouch_err *err)
{
    if ((!in && n) || !out)
        return vouch_err_set(err, VOUCH_E_ARG, "hex encode: NULL argument");
    if (n > VOUCH_CODEC_MAX_INPUT)
        return vouch_err_set(err, VOUCH_E_LIMIT, "hex encode: %zu bytes exceed the cap of %u", n,
                             VOUCH_CODEC_MAX_INPUT);
    /* n <= 64 MiB, so 2n + 1 cannot wrap */
    if (outcap < 2 * n + 1)
        return vouch_err_set(err, VOUCH_E_LIMIT, "hex encode: needs %zu bytes of output, have %zu",
                             2 * n + 1, outcap);
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex_digits[in[i] >> 4];
        out[2 * i + 1] = hex_digits[in[i] & 15];
    }
    out[2 * n] = '\0';
    return VOUCH_OK;
}

vouch_code vouch_hex_encode(const uint8_t *in, size_t n, char **out, vouch_err *err)
{
    vouch_code rc = VOUCH_OK;
    char *buf = NULL;

    if (out)
        *out = NULL;
    if ((!in && n) || !out) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "hex encode: NULL argument");
        goto out;
    }
    if (n > VOUCH_CODEC_MAX_INPUT) {
        rc = vouch_err_set(err, VOUCH_E_LIMIT, "hex encode: %zu bytes exceed the cap of %u", n,
                           VOUCH_CODEC_MAX_INPUT);
        goto out;
    }
    buf = vouch_malloc(2 * n + 1);
    if (!buf) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "hex encode: out of memory");
        goto out;
    }
    rc = vouch_hex_encode_buf(in, n, buf, 2 * n + 1, err);
    if (rc != VOUCH_OK)
        goto out;
    *out = buf;
    buf = NULL;
out:
    vouch_free(buf);
    return rc;
}

/* 0..15 for a hex digit, -1 otherwise. */
static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

vouch_code vouch_hex_decode(const char *in, size_t n, uint8_t **out, size_t *outlen,
                            vouch_err *err)
{
    const unsigned char *p = (const unsigned char *)in;
    vouch_code rc = VOUCH_OK;
    uint8_t *buf = NULL;
    char what[32];

    if (out)
        *out = NULL;
    if ((!in && n) || !out || !outlen) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "hex decode: NULL argument");
        goto out;
    }
    *outlen = 0;
    if (n > VOUCH_CODEC_MAX_INPUT) {
        rc = vouch_err_set(err, VOUCH_E_LIMIT, "hex decode: %zu bytes exceed the cap of %u", n,
                           VOUCH_CODEC_MAX_INPUT);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (hex_value(p[i]) < 0) {
            codec_describe_byte(p[i], what, sizeof(what));
            rc = vouch_err_set(err, VOUCH_E_HEX, "invalid hex: %s at offset %zu", what, i);
            goto out;
        }
    }
    if (n % 2) {
        rc = vouch_err_set(err, VOUCH_E_HEX, "invalid hex: odd length %zu", n);
        goto out;
    }
    buf = vouch_malloc(n / 2 + 1);
    if (!buf) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "hex decode: out of memory");
        goto out;
    }
    for (size_t i = 0; i < n / 2; i++)
        buf[i] = (uint8_t)(hex_value(p[2 * i]) << 4 | hex_value(p[2 * i + 1]));
    buf[n / 2] = 0;
    *out = buf;
    *outlen = n / 2;
out:
    return rc;
}
