/*
 * vouch/codec.h - strict text encodings of bytes: base64url (RFC 4648 s5,
 * unpadded, as JOSE uses it), base58btc, multibase, and hex.
 *
 * Decoders are strict on purpose: one byte string has exactly one accepted
 * encoding, so that signed data cannot be re-encoded to look different.
 *   base64url: rejects '=', '+', '/', whitespace, any byte outside the
 *              alphabet, a length of 1 mod 4, and non-zero trailing bits.
 *   base58btc: rejects bytes outside the Bitcoin alphabet (0, O, I, l, ...).
 *   multibase: only 'z' (base58btc) and 'u' (base64url) are understood.
 *   hex:       even length, [0-9a-fA-F]; the encoder writes lower case.
 *
 * Allocating variants return memory from vouch_malloc (free with vouch_free);
 * text outputs are NUL-terminated. Buffer variants write into caller memory
 * and never allocate (for device-side hot paths).
 * Inputs longer than VOUCH_CODEC_MAX_INPUT are refused with VOUCH_E_LIMIT.
 */
#ifndef VOUCH_CODEC_H
#define VOUCH_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "vouch/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VOUCH_CODEC_MAX_INPUT (64u * 1024u * 1024u)
/* base58 is quadratic; its inputs are keys and ids, never images */
#define VOUCH_B58_MAX_INPUT 1024u

/* Length of the unpadded base64url text for n bytes (no NUL). */
size_t vouch_b64url_encoded_len(size_t n);
/* Maximum bytes that text of length n can decode to. */
size_t vouch_b64url_decoded_max(size_t n);

vouch_code vouch_b64url_encode(const uint8_t *in, size_t n, char **out, size_t *outlen,
                               vouch_err *err);
/* outcap must be >= encoded_len + 1 (room for the NUL), else VOUCH_E_LIMIT. */
vouch_code vouch_b64url_encode_buf(const uint8_t *in, size_t n, char *out, size_t outcap,
                                   size_t *outlen, vouch_err *err);
vouch_code vouch_b64url_decode(const char *in, size_t n, uint8_t **out, size_t *outlen,
                               vouch_err *err);
/* VOUCH_E_LIMIT if the decoded bytes would not fit in outcap. */
vouch_code vouch_b64url_decode_buf(const char *in, size_t n, uint8_t *out, size_t outcap,
                                   size_t *outlen, vouch_err *err);

vouch_code vouch_b58_encode(const uint8_t *in, size_t n, char **out, vouch_err *err);
vouch_code vouch_b58_decode(const char *in, size_t n, uint8_t **out, size_t *outlen,
                            vouch_err *err);

/* Encodes as multibase base58btc: "z" followed by base58btc. */
vouch_code vouch_multibase_encode(const uint8_t *in, size_t n, char **out, vouch_err *err);
vouch_code vouch_multibase_decode(const char *in, size_t n, uint8_t **out, size_t *outlen,
                                  vouch_err *err);

vouch_code vouch_hex_encode(const uint8_t *in, size_t n, char **out, vouch_err *err);
/* outcap must be >= 2n + 1. */
vouch_code vouch_hex_encode_buf(const uint8_t *in, size_t n, char *out, size_t outcap,
                                vouch_err *err);
vouch_code vouch_hex_decode(const char *in, size_t n, uint8_t **out, size_t *outlen,
                            vouch_err *err);

#ifdef __cplusplus
}
#endif
#endif
