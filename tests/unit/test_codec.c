/* test_codec.c - mirrors lib/codec.c */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Asserts that the message in e contains `part`. */
#define assert_msg_has(e, part)                                                          \
    do {                                                                                 \
        if (!strstr((e).msg, (part)))                                                    \
            fail_msg("%s:%d: message \"%s\" lacks \"%s\"", __FILE__, __LINE__, (e).msg, \
                     (part));                                                            \
    } while (0)

static const char b64_alpha[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Decodes text (strlen) with vouch_b64url_decode, expecting `want`. */
static vouch_code b64_dec(const char *text, vouch_err *e)
{
    uint8_t *out = NULL;
    size_t len = 99;
    vouch_code rc = vouch_b64url_decode(text, strlen(text), &out, &len, e);

    if (rc != VOUCH_OK) {
        assert_null(out);
        assert_int_equal(len, 0);
    }
    vouch_free(out);
    return rc;
}

static void test_b64url_rfc4648(void **state)
{
    static const struct {
        const char *bytes, *text;
    } vec[] = {
        {"", ""},         {"f", "Zg"},          {"fo", "Zm8"},          {"foo", "Zm9v"},
        {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"},
    };
    vouch_err e;
    (void)state;
    for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
        char *text = NULL;
        uint8_t *bytes = NULL;
        size_t n = strlen(vec[i].bytes), len = 0;

        assert_ok(vouch_b64url_encode((const uint8_t *)vec[i].bytes, n, &text, &len, &e), e);
        assert_string_equal(text, vec[i].text);
        assert_int_equal(len, strlen(vec[i].text));
        assert_int_equal(vouch_b64url_encoded_len(n), len);
        assert_ok(vouch_b64url_decode(text, len, &bytes, &len, &e), e);
        assert_int_equal(len, n);
        assert_memory_equal(bytes, vec[i].bytes, n);
        assert_int_equal(bytes[n], 0); /* NUL-terminated for convenience */
        vouch_free(text);
        vouch_free(bytes);
    }
    /* the two characters that differ from standard base64 */
    {
        const uint8_t b[] = {0xfb, 0xff, 0xbf};
        char *text = NULL;
        assert_ok(vouch_b64url_encode(b, 3, &text, NULL, &e), e);
        assert_string_equal(text, "-_-_");
        vouch_free(text);
    }
}

static void test_b64url_lengths(void **state)
{
    (void)state;
    assert_int_equal(vouch_b64url_encoded_len(0), 0);
    assert_int_equal(vouch_b64url_encoded_len(1), 2);
    assert_int_equal(vouch_b64url_encoded_len(2), 3);
    assert_int_equal(vouch_b64url_encoded_len(3), 4);
    assert_int_equal(vouch_b64url_encoded_len(64), 86);
    assert_int_equal(vouch_b64url_encoded_len(SIZE_MAX), SIZE_MAX); /* saturates */
    assert_int_equal(vouch_b64url_decoded_max(0), 0);
    assert_int_equal(vouch_b64url_decoded_max(2), 1);
    assert_int_equal(vouch_b64url_decoded_max(3), 2);
    assert_int_equal(vouch_b64url_decoded_max(4), 3);
    assert_int_equal(vouch_b64url_decoded_max(86), 64);
}

static void test_b64url_roundtrip_all_lengths(void **state)
{
    uint8_t in[300], dec[300];
    char text[420];
    vouch_err e;
    (void)state;
    srand(1234);
    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (uint8_t)rand();
    for (size_t n = 0; n <= sizeof(in); n++) {
        size_t tlen = 0, dlen = 0;
        assert_ok(vouch_b64url_encode_buf(in, n, text, sizeof(text), &tlen, &e), e);
        assert_int_equal(tlen, vouch_b64url_encoded_len(n));
        assert_int_equal(strlen(text), tlen);
        assert_ok(vouch_b64url_decode_buf(text, tlen, dec, sizeof(dec), &dlen, &e), e);
        assert_int_equal(dlen, n);
        assert_memory_equal(dec, in, n);
    }
}

static void test_b64url_reject_classes(void **state)
{
    vouch_err e;
    (void)state;
    /* padding, in every position a padded encoder would put it */
    assert_code(b64_dec("Zg==", &e), VOUCH_E_B64URL, e);
    assert_msg_has(e, "'=' padding at offset 2");
    assert_code(b64_dec("Zm8=", &e), VOUCH_E_B64URL, e);
    assert_msg_has(e, "'=' padding at offset 3");
    assert_code(b64_dec("Zg=", &e), VOUCH_E_B64URL, e);
    assert_code(b64_dec("=", &e), VOUCH_E_B64URL, e);
    assert_code(b64_dec("Zm9vYmFy=", &e), VOUCH_E_B64URL, e);
    assert_msg_has(e, "offset 8");
    /* standard base64 characters */
    assert_code(b64_dec("+/+/", &e), VOUCH_E_B64URL, e);
    assert_msg_has(e, "'+'");
    assert_msg_has(e, "offset 0");
    assert_code(b64_dec("-_-/", &e), VOUCH_E_B64URL, e);
    assert_msg_has(e, "'/'");
    assert_msg_has(e, "offset 3");
    /* whitespace anywhere */
    assert_code(b64_dec("Zm9v Zm9v", &e), VOUCH_E_B64URL, e);
    assert_msg_has(e, "whitespace");
    assert_code(b64_dec("Zm9v\n", &e), VOUCH_E_B64URL, e);
    assert_msg_has(e, "whitespace (0x0a) at offset 4");
    assert_code(b64_dec(" Zm9v", &e), VOUCH_E_B64URL, e);
    assert_code(b64_dec("Zm9\tv", &e), VOUCH_E_B64URL, e);
    assert_code(b64_dec("Zm9v\r\n", &e), VOUCH_E_B64URL, e);
    /* other bytes, including NUL and high bytes */
    assert_code(b64_dec("Zm9v.A", &e), VOUCH_E_B64URL, e);
    assert_msg_has(e, "'.' at offset 4");
    assert_code(vouch_b64url_decode_buf("Zm\0v", 4, (uint8_t[3]){0}, 3, &(size_t){0}, &e),
                VOUCH_E_B64URL, e);
    assert_msg_has(e, "byte 0x00 at offset 2");
    assert_code(b64_dec("Zm9v\xc3\xa9", &e), VOUCH_E_B64URL, e);
    assert_msg_has(e, "byte 0xc3");
    /* length 1 mod 4 */
    assert_code(b64_dec("Z", &e), VOUCH_E_B64URL, e);
    assert_msg_has(e, "1 mod 4");
    assert_code(b64_dec("Zm9vY", &e), VOUCH_E_B64URL, e);
    assert_msg_has(e, "length 5");
    /* non-zero trailing bits: "Zh" and "Zm9" both decode to "f"/"fo" when
     * the low bits are ignored */
    assert_code(b64_dec("Zh", &e), VOUCH_E_B64URL, e);
    assert_msg_has(e, "non-zero trailing bits at offset 1");
    assert_code(b64_dec("Zm9", &e), VOUCH_E_B64URL, e);
    assert_msg_has(e, "non-zero trailing bits at offset 2");
    assert_code(b64_dec("Zm9vYh", &e), VOUCH_E_B64URL, e);
    assert_code(b64_dec("Zm9vYm_", &e), VOUCH_E_B64URL, e);
    /* empty is the empty string */
    assert_ok(b64_dec("", &e), e);
}

/* Every text of length 2 and 3 is accepted exactly when it is the encoding
 * of its decoding: one byte string, one text. */
static void test_b64url_canonical_exhaustive(void **state)
{
    char text[4], again[8];
    uint8_t dec[3];
    size_t dlen, tlen;
    unsigned accepted2 = 0, accepted3 = 0;
    vouch_err e;
    (void)state;
    for (int a = 0; a < 64; a++)
        for (int b = 0; b < 64; b++) {
            text[0] = b64_alpha[a];
            text[1] = b64_alpha[b];
            if (vouch_b64url_decode_buf(text, 2, dec, sizeof(dec), &dlen, &e) == VOUCH_OK) {
                accepted2++;
                assert_ok(vouch_b64url_encode_buf(dec, dlen, again, sizeof(again), &tlen, &e),
                          e);
                assert_memory_equal(again, text, 2);
            } else {
                assert_int_equal(e.code, VOUCH_E_B64URL);
            }
            for (int c = 0; c < 64; c++) {
                text[2] = b64_alpha[c];
                if (vouch_b64url_decode_buf(text, 3, dec, sizeof(dec), &dlen, &e) != VOUCH_OK)
                    continue;
                accepted3++;
                assert_ok(vouch_b64url_encode_buf(dec, dlen, again, sizeof(again), &tlen, &e),
                          e);
                assert_memory_equal(again, text, 3);
            }
        }
    assert_int_equal(accepted2, 256);   /* one per byte value */
    assert_int_equal(accepted3, 65536); /* one per two-byte value */
}

static void test_b64url_buffers_and_args(void **state)
{
    char text[8];
    uint8_t out[8];
    size_t len = 0;
    char *s = NULL;
    uint8_t *b = NULL;
    vouch_err e;
    (void)state;
    /* "foo" needs 4 characters and the NUL */
    assert_code(vouch_b64url_encode_buf((const uint8_t *)"foo", 3, text, 4, &len, &e),
                VOUCH_E_LIMIT, e);
    assert_ok(vouch_b64url_encode_buf((const uint8_t *)"foo", 3, text, 5, &len, &e), e);
    assert_string_equal(text, "Zm9v");
    assert_code(vouch_b64url_decode_buf("Zm9vYmFy", 8, out, 5, &len, &e), VOUCH_E_LIMIT, e);
    assert_int_equal(len, 0);
    assert_ok(vouch_b64url_decode_buf("Zm9vYmFy", 8, out, 6, &len, &e), e);
    assert_int_equal(len, 6);
    assert_ok(vouch_b64url_decode_buf("", 0, NULL, 0, &len, &e), e);
    assert_int_equal(len, 0);
    /* caps: the length is refused before any byte is read */
    assert_code(vouch_b64url_decode("A", (size_t)VOUCH_CODEC_MAX_INPUT + 1, &b, &len, &e),
                VOUCH_E_LIMIT, e);
    assert_code(vouch_b64url_encode((const uint8_t *)"A", (size_t)VOUCH_CODEC_MAX_INPUT + 1, &s,
                                    &len, &e),
                VOUCH_E_LIMIT, e);
    assert_null(s);
    /* NULL arguments */
    assert_code(vouch_b64url_decode(NULL, 4, &b, &len, &e), VOUCH_E_ARG, e);
    assert_code(vouch_b64url_decode("Zm9v", 4, NULL, &len, &e), VOUCH_E_ARG, e);
    assert_code(vouch_b64url_encode(NULL, 1, &s, &len, &e), VOUCH_E_ARG, e);
    assert_code(vouch_b64url_encode_buf((const uint8_t *)"a", 1, NULL, 8, &len, &e), VOUCH_E_ARG,
                e);
    /* a NULL vouch_err is allowed */
    assert_int_equal(vouch_b64url_decode("Zg==", 4, &b, &len, NULL), VOUCH_E_B64URL);
}

/* Bitcoin's base58 test vectors (src/test/data/base58_encode_decode.json). */
static const struct {
    const char *hex, *b58;
} b58_vec[] = {
    {"", ""},
    {"61", "2g"},
    {"626262", "a3gV"},
    {"636363", "aPEr"},
    {"73696d706c792061206c6f6e6720737472696e67", "2cFupjhnEsSn59qHXstmK2ffpLv2"},
    {"00eb15231dfceb60925886b67d065299925915aeb172c06647", "1NS17iag9jJgTHD1VXjvLCEnZuQ3rJDE9L"},
    {"516b6fcd0f", "ABnLTmg"},
    {"bf4f89001e670274dd", "3SEo3LWLoPntC"},
    {"572e4794", "3EFU7m"},
    {"ecac89cad93923c02321", "EJDM8drfXA6uyA"},
    {"10c8511e", "Rt5zm"},
    {"00000000000000000000", "1111111111"},
    {"000111d38e5fc9071ffcd20b4a763cc9ae4f252bb4e48fd66a835e252ada93ff480d6dd43dc62a641155a5",
     "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"},
};

static void test_b58_vectors(void **state)
{
    vouch_err e;
    (void)state;
    for (size_t i = 0; i < sizeof(b58_vec) / sizeof(b58_vec[0]); i++) {
        uint8_t *bytes = NULL, *back = NULL;
        char *text = NULL;
        size_t n = 0, m = 0;

        assert_ok(vouch_hex_decode(b58_vec[i].hex, strlen(b58_vec[i].hex), &bytes, &n, &e), e);
        assert_ok(vouch_b58_encode(bytes, n, &text, &e), e);
        assert_string_equal(text, b58_vec[i].b58);
        assert_ok(vouch_b58_decode(text, strlen(text), &back, &m, &e), e);
        assert_int_equal(m, n);
        assert_memory_equal(back, bytes, n);
        vouch_free(bytes);
        vouch_free(back);
        vouch_free(text);
    }
}

static void test_b58_reject(void **state)
{
    static const char *bad[] = {"0", "O", "I", "l", "+", "/", "=", " 2g", "2g ", "2g\n", "a-b"};
    uint8_t *out = NULL;
    size_t len = 5;
    vouch_err e;
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_code(vouch_b58_decode(bad[i], strlen(bad[i]), &out, &len, &e), VOUCH_E_B58, e);
        assert_null(out);
        assert_int_equal(len, 0);
    }
    assert_code(vouch_b58_decode("3EF0", 4, &out, &len, &e), VOUCH_E_B58, e);
    assert_msg_has(e, "'0' at offset 3");
    assert_code(vouch_b58_decode("3E\xff", 3, &out, &len, &e), VOUCH_E_B58, e);
    assert_msg_has(e, "byte 0xff at offset 2");
    {
        char big[VOUCH_B58_MAX_INPUT + 1];
        memset(big, '2', sizeof(big));
        assert_code(vouch_b58_decode(big, sizeof(big), &out, &len, &e), VOUCH_E_LIMIT, e);
        assert_ok(vouch_b58_decode(big, sizeof(big) - 1, &out, &len, &e), e);
        vouch_free(out);
        assert_code(vouch_b58_encode((const uint8_t *)big, sizeof(big), (char **)&out, &e),
                    VOUCH_E_LIMIT, e);
    }
    assert_code(vouch_b58_decode(NULL, 2, &out, &len, &e), VOUCH_E_ARG, e);
}

static void test_b58_roundtrip_random(void **state)
{
    uint8_t in[80];
    vouch_err e;
    (void)state;
    srand(99);
    for (int iter = 0; iter < 500; iter++) {
        size_t n = (size_t)rand() % sizeof(in), m = 0;
        uint8_t *back = NULL;
        char *text = NULL;

        for (size_t i = 0; i < n; i++)
            in[i] = (uint8_t)(iter % 3 == 0 && i < 4 ? 0 : rand()); /* leading zeros */
        assert_ok(vouch_b58_encode(in, n, &text, &e), e);
        assert_ok(vouch_b58_decode(text, strlen(text), &back, &m, &e), e);
        assert_int_equal(m, n);
        if (n)
            assert_memory_equal(back, in, n);
        vouch_free(text);
        vouch_free(back);
    }
}

static void test_multibase(void **state)
{
    /* did:key test vector (W3C did:key spec): Ed25519, multicodec 0xed01 */
    static const char ed[] = "z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK";
    uint8_t *out = NULL;
    char *text = NULL;
    size_t len = 0;
    vouch_err e;
    (void)state;
    assert_ok(vouch_multibase_decode(ed, strlen(ed), &out, &len, &e), e);
    assert_int_equal(len, 34);
    assert_int_equal(out[0], 0xed);
    assert_int_equal(out[1], 0x01);
    assert_ok(vouch_multibase_encode(out, len, &text, &e), e);
    assert_string_equal(text, ed);
    vouch_free(out);
    vouch_free(text);
    /* 'u' is base64url */
    assert_ok(vouch_multibase_decode("uZm9v", 5, &out, &len, &e), e);
    assert_int_equal(len, 3);
    assert_memory_equal(out, "foo", 3);
    vouch_free(out);
    assert_ok(vouch_multibase_encode(NULL, 0, &text, &e), e);
    assert_string_equal(text, "z");
    vouch_free(text);
    assert_ok(vouch_multibase_decode("z", 1, &out, &len, &e), e);
    assert_int_equal(len, 0);
    vouch_free(out);
    /* unknown prefixes: base58flickr, base64 with padding, base16, base32 */
    static const char *unknown[] = {"Z2g", "mZm9v", "MZm9vYg==", "f666f6f", "bmzxw6"};
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        assert_code(vouch_multibase_decode(unknown[i], strlen(unknown[i]), &out, &len, &e),
                    VOUCH_E_MULTIBASE, e);
        assert_msg_has(e, "unknown prefix");
        assert_null(out);
    }
    assert_code(vouch_multibase_decode("", 0, &out, &len, &e), VOUCH_E_MULTIBASE, e);
    assert_code(vouch_multibase_decode("\x01z", 2, &out, &len, &e), VOUCH_E_MULTIBASE, e);
    assert_msg_has(e, "byte 0x01");
    /* the payload is as strict as its base */
    assert_code(vouch_multibase_decode("z6Mk0", 5, &out, &len, &e), VOUCH_E_B58, e);
    assert_msg_has(e, "multibase 'z': invalid base58btc: '0' at offset 3");
    assert_code(vouch_multibase_decode("uZg==", 5, &out, &len, &e), VOUCH_E_B64URL, e);
    assert_code(vouch_multibase_decode("uZh", 3, &out, &len, &e), VOUCH_E_B64URL, e);
    assert_null(out);
}

static void test_hex(void **state)
{
    const uint8_t bytes[] = {0x00, 0x01, 0xab, 0xcd, 0xef, 0xff};
    char buf[13];
    char *text = NULL;
    uint8_t *out = NULL;
    size_t len = 0;
    vouch_err e;
    (void)state;
    assert_ok(vouch_hex_encode(bytes, sizeof(bytes), &text, &e), e);
    assert_string_equal(text, "0001abcdefff");
    vouch_free(text);
    assert_ok(vouch_hex_encode_buf(bytes, sizeof(bytes), buf, sizeof(buf), &e), e);
    assert_string_equal(buf, "0001abcdefff");
    assert_code(vouch_hex_encode_buf(bytes, sizeof(bytes), buf, sizeof(buf) - 1, &e),
                VOUCH_E_LIMIT, e);
    assert_ok(vouch_hex_decode("0001ABcdEFff", 12, &out, &len, &e), e);
    assert_int_equal(len, 6);
    assert_memory_equal(out, bytes, 6);
    vouch_free(out);
    assert_ok(vouch_hex_decode("", 0, &out, &len, &e), e);
    assert_int_equal(len, 0);
    vouch_free(out);
    assert_ok(vouch_hex_encode(NULL, 0, &text, &e), e);
    assert_string_equal(text, "");
    vouch_free(text);
    /* rejections */
    assert_code(vouch_hex_decode("abc", 3, &out, &len, &e), VOUCH_E_HEX, e);
    assert_msg_has(e, "odd length 3");
    assert_null(out);
    assert_code(vouch_hex_decode("0g", 2, &out, &len, &e), VOUCH_E_HEX, e);
    assert_msg_has(e, "'g' at offset 1");
    assert_code(vouch_hex_decode("0x00", 4, &out, &len, &e), VOUCH_E_HEX, e);
    assert_code(vouch_hex_decode("00 ", 3, &out, &len, &e), VOUCH_E_HEX, e);
    assert_code(vouch_hex_decode("0 00", 4, &out, &len, &e), VOUCH_E_HEX, e);
    assert_msg_has(e, "whitespace");
    assert_code(vouch_hex_decode("-1", 2, &out, &len, &e), VOUCH_E_HEX, e);
    assert_code(vouch_hex_decode(NULL, 2, &out, &len, &e), VOUCH_E_ARG, e);
}

/* Fails each allocation in turn: every call ends in OK or NOMEM, and
 * NOMEM leaves *out NULL (leaks show under valgrind and ASan). */
static void test_alloc_failure(void **state)
{
    const uint8_t in[] = {0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    vouch_err e;
    (void)state;
    for (long k = 0; k < 6; k++) {
        char *text = NULL;
        uint8_t *out = NULL;
        size_t len = 0;
        vouch_code rc;

#define CHECK(call)                                                                      \
    do {                                                                                 \
        vouch_alloc_fail_after(k);                                                       \
        rc = (call);                                                                     \
        vouch_alloc_fail_after(-1);                                                      \
        if (rc == VOUCH_OK) {                                                            \
            vouch_free(text);                                                            \
            vouch_free(out);                                                             \
        } else {                                                                         \
            assert_code(rc, VOUCH_E_NOMEM, e);                                           \
            assert_null(text);                                                           \
            assert_null(out);                                                            \
        }                                                                                \
        text = NULL;                                                                     \
        out = NULL;                                                                      \
    } while (0)
        CHECK(vouch_b64url_encode(in, sizeof(in), &text, &len, &e));
        CHECK(vouch_b64url_decode("AAABAgMEBQYHCAk", 15, &out, &len, &e));
        CHECK(vouch_b58_encode(in, sizeof(in), &text, &e));
        CHECK(vouch_b58_decode("11LbuTLaTkPLAi", 14, &out, &len, &e));
        CHECK(vouch_multibase_encode(in, sizeof(in), &text, &e));
        CHECK(vouch_multibase_decode("z11LbuTLaTkPLAi", 15, &out, &len, &e));
        CHECK(vouch_multibase_decode("uAAABAgMEBQYHCAk", 16, &out, &len, &e));
        CHECK(vouch_hex_encode(in, sizeof(in), &text, &e));
        CHECK(vouch_hex_decode("000102", 6, &out, &len, &e));
#undef CHECK
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_b64url_rfc4648),
        cmocka_unit_test(test_b64url_lengths),
        cmocka_unit_test(test_b64url_roundtrip_all_lengths),
        cmocka_unit_test(test_b64url_reject_classes),
        cmocka_unit_test(test_b64url_canonical_exhaustive),
        cmocka_unit_test(test_b64url_buffers_and_args),
        cmocka_unit_test(test_b58_vectors),
        cmocka_unit_test(test_b58_reject),
        cmocka_unit_test(test_b58_roundtrip_random),
        cmocka_unit_test(test_multibase),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_alloc_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
