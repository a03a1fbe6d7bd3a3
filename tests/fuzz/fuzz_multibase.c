/*
 * fuzz_multibase.c - libFuzzer target for base58btc, multibase and hex.
 * Properties (abort on violation):
 *   - base58btc and multibase text that decodes encodes back to itself
 *     (leading '1's are zero bytes, so the encoding is one-to-one);
 *     rejections carry the codec's own code;
 *   - hex that decodes encodes back to the input in lower case;
 *   - bytes encoded with each codec decode back to themselves.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vouch/codec.h"
#include "vouch/mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_b58_text(const char *text, size_t size)
{
    uint8_t *dec = NULL;
    char *again = NULL;
    size_t dlen = 0;
    vouch_err e;
    vouch_code rc = vouch_b58_decode(text, size, &dec, &dlen, &e);

    if (rc != VOUCH_OK) {
        if ((rc != VOUCH_E_B58 && rc != VOUCH_E_LIMIT) || dec)
            abort();
        return;
    }
    if (vouch_b58_encode(dec, dlen, &again, &e) != VOUCH_OK)
        abort();
    if (strlen(again) != size || memcmp(again, text, size) != 0)
        abort();
    vouch_free(again);
    vouch_free(dec);
}

static void check_multibase_text(const char *text, size_t size)
{
    uint8_t *dec = NULL;
    char *again = NULL;
    size_t dlen = 0, alen = 0;
    vouch_err e;
    vouch_code rc = vouch_multibase_decode(text, size, &dec, &dlen, &e);

    if (rc != VOUCH_OK) {
        if (dec)
            abort();
        if (size == 0 || (text[0] != 'z' && text[0] != 'u')) {
            if (rc != VOUCH_E_MULTIBASE)
                abort();
        } else if (rc != (text[0] == 'z' ? VOUCH_E_B58 : VOUCH_E_B64URL) && rc != VOUCH_E_LIMIT) {
            abort();
        }
        return;
    }
    if (text[0] == 'z') {
        if (vouch_multibase_encode(dec, dlen, &again, &e) != VOUCH_OK)
            abort();
        alen = strlen(again);
    } else if (vouch_b64url_encode(dec, dlen, &again, &alen, &e) != VOUCH_OK) {
        abort();
    }
    if (text[0] == 'z' ? alen != size || memcmp(again, text, size) != 0
                       : alen != size - 1 || memcmp(again, text + 1, size - 1) != 0)
        abort();
    vouch_free(again);
    vouch_free(dec);
}

static void check_hex_text(const char *text, size_t size)
{
    uint8_t *dec = NULL;
    char *again = NULL;
    size_t dlen = 0;
    vouch_err e;
    vouch_code rc = vouch_hex_decode(text, size, &dec, &dlen, &e);

    if (rc != VOUCH_OK) {
        if (rc != VOUCH_E_HEX || dec)
            abort();
        return;
    }
    if (dlen * 2 != size || vouch_hex_encode(dec, dlen, &again, &e) != VOUCH_OK)
        abort();
    for (size_t i = 0; i < size; i++)
        if (again[i] != tolower((unsigned char)text[i]))
            abort();
    vouch_free(again);
    vouch_free(dec);
}

static void check_bytes(const uint8_t *data, size_t size)
{
    uint8_t *dec = NULL;
    char *text = NULL;
    size_t dlen = 0;
    vouch_err e;

    if (size <= VOUCH_B58_MAX_INPUT) {
        if (vouch_multibase_encode(data, size, &text, &e) != VOUCH_OK || text[0] != 'z')
            abort();
        /* the cap applies to each direction's input: ~750 bytes and more
         * encode to text longer than the decoder takes */
        if (strlen(text) - 1 > VOUCH_B58_MAX_INPUT) {
            if (vouch_multibase_decode(text, strlen(text), &dec, &dlen, &e) != VOUCH_E_LIMIT)
                abort();
        } else if (vouch_multibase_decode(text, strlen(text), &dec, &dlen, &e) != VOUCH_OK ||
                   dlen != size || (size && memcmp(dec, data, size) != 0)) {
            abort();
        }
        vouch_free(text);
        vouch_free(dec);
        dec = NULL;
    }
    if (vouch_hex_encode(data, size, &text, &e) != VOUCH_OK || strlen(text) != 2 * size)
        abort();
    if (vouch_hex_decode(text, 2 * size, &dec, &dlen, &e) != VOUCH_OK || dlen != size ||
        (size && memcmp(dec, data, size) != 0))
        abort();
    vouch_free(text);
    vouch_free(dec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;

    check_b58_text(text, size);
    check_multibase_text(text, size);
    check_hex_text(text, size);
    check_bytes(data, size);
    return 0;
}
