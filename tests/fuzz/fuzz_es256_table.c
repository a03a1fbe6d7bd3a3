/*
 * fuzz_es256_table.c - libFuzzer target, differential: ES256 verification
 * with a precomputed key (vouch_key_precompute, lib/p256_table.c) against
 * the same public key without one (OpenSSL's ECDSA verify), on one fixed key
 * (RFC 7517 A.2's, private half known).
 *
 * Input: a mode byte, 64 signature bytes, then the message. Mode bit 0
 * clear: the 64 bytes are the signature r || s. Set: the message is signed
 * with the private key and the 64 bytes are XORed onto that signature, so
 * that the fuzzer explores valid signatures (an all-zero mask) and their
 * near misses. Properties (abort on violation):
 *   - both keys return the same code, and the same message on a refusal;
 *   - the code is VOUCH_OK, VOUCH_E_JWS_SIG_RANGE or VOUCH_E_JWS_BAD_SIGNATURE;
 *   - a signature under an all-zero mask verifies.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vouch/json.h"
#include "vouch/key.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static vouch_key *signer, *plain, *pre;

static void keys_init(void)
{
    static const char jwk[] = "{\"kty\":\"EC\",\"crv\":\"P-256\","
                              "\"x\":\"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4\","
                              "\"y\":\"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM\","
                              "\"d\":\"870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eAE\"}";
    json_t *j = NULL;
    vouch_err e;

    if (vouch_json_parse_object(jwk, strlen(jwk), NULL, &j, &e) != VOUCH_OK ||
        vouch_key_from_jwk(j, VOUCH_JWK_ALLOW_PRIVATE, &signer, &e) != VOUCH_OK ||
        vouch_key_public_copy(signer, &plain, &e) != VOUCH_OK ||
        vouch_key_public_copy(signer, &pre, &e) != VOUCH_OK)
        abort();
#ifdef VOUCH_HAVE_P256_TABLE
    if (vouch_key_precompute(pre, &e) != VOUCH_OK)
        abort();
#endif
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *msg;
    size_t mlen;
    uint8_t sig[VOUCH_SIG_LEN];
    vouch_code a, b;
    vouch_err ea, eb;
    int zero_mask = 1;

    if (!signer)
        keys_init();
    if (size < 65)
        return 0;
    msg = data + 65;
    mlen = size - 65;
    memcpy(sig, data + 1, sizeof(sig));
    if (data[0] & 1) {
        uint8_t made[VOUCH_SIG_LEN];
        if (vouch_key_sign(signer, msg, mlen, made, &ea) != VOUCH_OK)
            abort();
        for (size_t i = 0; i < sizeof(sig); i++) {
            zero_mask &= sig[i] == 0;
            sig[i] ^= made[i];
        }
    }
    a = vouch_key_verify(plain, msg, mlen, sig, sizeof(sig), &ea);
    b = vouch_key_verify(pre, msg, mlen, sig, sizeof(sig), &eb);
    if (a != b || (a != VOUCH_OK && strcmp(ea.msg, eb.msg) != 0))
        abort();
    if (a != VOUCH_OK && a != VOUCH_E_JWS_SIG_RANGE && a != VOUCH_E_JWS_BAD_SIGNATURE)
        abort();
    if ((data[0] & 1) && zero_mask && a != VOUCH_OK)
        abort();
    return 0;
}
