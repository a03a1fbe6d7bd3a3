/*
 * fuzz_jwk.c - libFuzzer target for JWK import (vouch_key_from_jwk) behind
 * the hardened JSON parser. The first byte picks the flags, the rest is the
 * JSON text. Properties (abort on violation):
 *   - a refusal carries a JSON, codec-free key-domain code, never
 *     VOUCH_E_INTERNAL, and leaves *out NULL;
 *   - an imported key exports to a JWK that imports to the same key, has a
 *     43-character thumbprint and a did:key that decodes to the same key;
 *   - a private key is imported only with VOUCH_JWK_ALLOW_PRIVATE, and what
 *     it signs verifies.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vouch/did.h"
#include "vouch/json.h"
#include "vouch/key.h"
#include "vouch/mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int refusal_ok(vouch_code rc)
{
    switch (rc) {
    case VOUCH_E_KEY_TYPE:
    case VOUCH_E_KEY_JWK:
    case VOUCH_E_KEY_PRIVATE:
    case VOUCH_E_KEY_POINT:
        return 1;
    default:
        return 0;
    }
}

static void check_key(const vouch_key *k, unsigned flags)
{
    json_t *out = NULL;
    vouch_key *again = NULL, *fromdid = NULL;
    char tp[VOUCH_THUMBPRINT_LEN + 1], *did = NULL;
    uint8_t sig[VOUCH_SIG_LEN];
    vouch_err e;

    if (vouch_key_has_private(k) && !(flags & VOUCH_JWK_ALLOW_PRIVATE))
        abort();
    if (vouch_key_to_jwk(k, &out, &e) != VOUCH_OK || json_object_get(out, "d"))
        abort();
    if (vouch_key_from_jwk(out, VOUCH_JWK_PUBLIC, &again, &e) != VOUCH_OK ||
        !vouch_key_equal(k, again))
        abort();
    if (vouch_key_thumbprint(k, tp, &e) != VOUCH_OK || strlen(tp) != VOUCH_THUMBPRINT_LEN)
        abort();
    if (vouch_did_key_encode(k, &did, &e) != VOUCH_OK ||
        vouch_did_key_decode(did, &fromdid, &e) != VOUCH_OK || !vouch_key_equal(k, fromdid))
        abort();
    if (vouch_key_has_private(k) &&
        (vouch_key_sign(k, (const uint8_t *)"fuzz", 4, sig, &e) != VOUCH_OK ||
         vouch_key_verify(again, (const uint8_t *)"fuzz", 4, sig, sizeof(sig), &e) != VOUCH_OK))
        abort();
    vouch_free(did);
    vouch_key_free(fromdid);
    vouch_key_free(again);
    json_decref(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *jwk = NULL;
    vouch_key *k = NULL;
    unsigned flags;
    vouch_err e;
    vouch_code rc;

    if (size < 1)
        return 0;
    flags = data[0] & 1 ? VOUCH_JWK_ALLOW_PRIVATE : VOUCH_JWK_PUBLIC;
    if (vouch_json_parse((const char *)data + 1, size - 1, NULL, &jwk, &e) != VOUCH_OK)
        return 0;
    rc = vouch_key_from_jwk(jwk, flags, &k, &e);
    if (rc != VOUCH_OK) {
        if (!refusal_ok(rc) || k)
            abort();
    } else {
        check_key(k, flags);
    }
    vouch_key_free(k);
    json_decref(jwk);
    return 0;
}
