/*
 * fuzz_didkey.c - libFuzzer target for did:key decoding. The first byte
 * picks the mode: even, the rest is a DID string; odd, the rest is the
 * multicodec bytes, wrapped as "did:key:z" + base58btc, so the fuzzer
 * reaches the prefix, length and point checks directly.
 * Properties (abort on violation):
 *   - a refusal is VOUCH_E_DID_SYNTAX, VOUCH_E_DID_METHOD, VOUCH_E_KEY_DIDKEY
 *     or VOUCH_E_LIMIT, and leaves *out NULL;
 *   - an accepted DID is canonical: it encodes back to itself (without the
 *     fragment); its vm id and document build, and the document's key is
 *     the same key.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vouch/codec.h"
#include "vouch/did.h"
#include "vouch/mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_did(const char *did)
{
    vouch_key *k = NULL, *fromdoc = NULL;
    char *again = NULL, *vm = NULL;
    json_t *doc = NULL, *m;
    size_t baselen = strcspn(did, "#");
    vouch_err e;
    vouch_code rc = vouch_did_key_decode(did, &k, &e);

    if (rc != VOUCH_OK) {
        if (k || (rc != VOUCH_E_DID_SYNTAX && rc != VOUCH_E_DID_METHOD &&
                  rc != VOUCH_E_KEY_DIDKEY && rc != VOUCH_E_LIMIT))
            abort();
        return;
    }
    if (vouch_did_key_encode(k, &again, &e) != VOUCH_OK || strlen(again) != baselen ||
        memcmp(again, did, baselen) != 0)
        abort();
    if (vouch_did_key_vm_id(did, &vm, &e) != VOUCH_OK)
        abort();
    if (vouch_did_key_document(did, &doc, &e) != VOUCH_OK)
        abort();
    m = json_array_get(json_object_get(doc, "verificationMethod"), 0);
    if (vouch_key_from_jwk(json_object_get(m, "publicKeyJwk"), VOUCH_JWK_PUBLIC, &fromdoc, &e) !=
            VOUCH_OK ||
        !vouch_key_equal(k, fromdoc))
        abort();
    vouch_key_free(fromdoc);
    json_decref(doc);
    vouch_free(vm);
    vouch_free(again);
    vouch_key_free(k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *did = NULL, *mb = NULL;
    vouch_err e;

    if (size < 1 || size > 4096)
        return 0;
    if (data[0] & 1) {
        if (vouch_multibase_encode(data + 1, size - 1, &mb, &e) != VOUCH_OK)
            return 0;
        did = vouch_malloc(strlen(mb) + 9);
        if (did) {
            memcpy(did, "did:key:", 8);
            memcpy(did + 8, mb, strlen(mb) + 1);
        }
        vouch_free(mb);
    } else {
        did = vouch_strndup((const char *)data + 1, size - 1); /* stops at a NUL */
    }
    if (did)
        check_did(did);
    vouch_free(did);
    return 0;
}
