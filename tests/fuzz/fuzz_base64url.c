/*
 * fuzz_base64url.c - libFuzzer target for the base64url codec.
 * Properties (abort on violation):
 *   - the input as text: rejected with VOUCH_E_B64URL only; when accepted,
 *     re-encoding gives the input back (one text per byte string), and the
 *     buffer decoder agrees, refusing a buffer one byte short;
 *   - the input as bytes: encoding then decoding gives the input back, and
 *     the allocating and buffer encoders agree.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vouch/codec.h"
#include "vouch/mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_decode(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    uint8_t *dec = NULL, *buf = NULL;
    char *again = NULL;
    size_t dlen = 0, blen = 0, alen = 0;
    vouch_err e;
    vouch_code rc;

    rc = vouch_b64url_decode(text, size, &dec, &dlen, &e);
    if (rc != VOUCH_OK) {
        if (rc != VOUCH_E_B64URL || dec || e.code != rc)
            abort();
        goto out;
    }
    if (dlen != vouch_b64url_decoded_max(size))
        abort();
    if (vouch_b64url_encode(dec, dlen, &again, &alen, &e) != VOUCH_OK)
        abort();
    if (alen != size || memcmp(again, text, size) != 0)
        abort(); /* two texts for one byte string */
    buf = vouch_malloc(dlen + 1);
    if (!buf)
        abort();
    if (vouch_b64url_decode_buf(text, size, buf, dlen, &blen, &e) != VOUCH_OK || blen != dlen ||
        memcmp(buf, dec, dlen) != 0)
        abort();
    if (dlen > 0 && vouch_b64url_decode_buf(text, size, buf, dlen - 1, &blen, &e) != VOUCH_E_LIMIT)
        abort();
out:
    vouch_free(buf);
    vouch_free(again);
    vouch_free(dec);
}

static void check_encode(const uint8_t *data, size_t size)
{
    char *text = NULL, *buf = NULL;
    uint8_t *dec = NULL;
    size_t tlen = 0, blen = 0, dlen = 0, need = vouch_b64url_encoded_len(size);
    vouch_err e;

    if (vouch_b64url_encode(data, size, &text, &tlen, &e) != VOUCH_OK || tlen != need ||
        strlen(text) != tlen)
        abort();
    buf = vouch_malloc(need + 1);
    if (!buf)
        abort();
    if (vouch_b64url_encode_buf(data, size, buf, need, &blen, &e) != VOUCH_E_LIMIT)
        abort(); /* no room for the NUL */
    if (vouch_b64url_encode_buf(data, size, buf, need + 1, &blen, &e) != VOUCH_OK ||
        blen != tlen || memcmp(buf, text, tlen + 1) != 0)
        abort();
    if (vouch_b64url_decode(text, tlen, &dec, &dlen, &e) != VOUCH_OK || dlen != size ||
        (size && memcmp(dec, data, size) != 0))
        abort();
    vouch_free(dec);
    vouch_free(buf);
    vouch_free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_decode(data, size);
    check_encode(data, size);
    return 0;
}
