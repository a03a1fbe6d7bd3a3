/*
 * vouch/did.h - the did:key method (W3C CCG did:key v0.7) for device and
 * build-server identities.
 *
 *   Ed25519: "did:key:z" + base58btc(0xed 0x01 || 32-byte key)   -> z6Mk...
 *   P-256:   "did:key:z" + base58btc(0x80 0x24 || 33-byte compressed point) -> zDn...
 *
 * Decoding is strict: the multibase prefix must be 'z', the multicodec
 * varint must be one of the two above in its shortest form, the key length
 * exact, and the point valid. Anything else is VOUCH_E_KEY_DIDKEY (a string
 * that is not "did:<method>:<id>" at all is VOUCH_E_DID_SYNTAX; another
 * method is VOUCH_E_DID_METHOD). A DID URL fragment ("#...") is accepted on
 * decode and ignored. DIDs longer than VOUCH_DID_MAX are refused with
 * VOUCH_E_LIMIT.
 *
 * The DID document uses JsonWebKey2020 verification methods with
 * publicKeyJwk, listed under authentication, assertionMethod,
 * capabilityInvocation and capabilityDelegation, with the verification
 * method id "<did>#<multibase value>".
 */
#ifndef VOUCH_DID_H
#define VOUCH_DID_H

#include <jansson.h>

#include "vouch/error.h"
#include "vouch/key.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VOUCH_DID_MAX 256

/* "did:key:z..." for k's public key (vouch_malloc'd). */
vouch_code vouch_did_key_encode(const vouch_key *k, char **out, vouch_err *err);

/* The public key named by a did:key (optionally with a #fragment). */
vouch_code vouch_did_key_decode(const char *did, vouch_key **out, vouch_err *err);

/* The DID document of a did:key (new reference). */
vouch_code vouch_did_key_document(const char *did, json_t **out, vouch_err *err);

/* The verification method id "<did>#<fragment>" for a did:key (vouch_malloc'd). */
vouch_code vouch_did_key_vm_id(const char *did, char **out, vouch_err *err);

/*
 * A bounded, thread-safe cache of decoded did:keys, for servers that see the
 * same device DIDs again (a login names its DID in three messages). At most
 * cap keys are kept; the least recently used leaves first. Decoding is a
 * pure function of the DID and keys are immutable, so a cached key is the
 * very key vouch_did_key_decode would return: vouch_did_cache_decode gives
 * the same results and codes (only successful decodes are kept), and *out
 * is a reference (vouch_key_ref) the caller frees with vouch_key_free. A
 * NULL cache decodes without caching. cap: 1..VOUCH_DID_CACHE_MAX.
 */
#define VOUCH_DID_CACHE_MAX 65536u
typedef struct vouch_did_cache vouch_did_cache;
vouch_code vouch_did_cache_new(size_t cap, vouch_did_cache **out, vouch_err *err);
vouch_code vouch_did_cache_decode(vouch_did_cache *c, const char *did, vouch_key **out,
                                  vouch_err *err);
void vouch_did_cache_free(vouch_did_cache *c);

#ifdef __cplusplus
}
#endif
#endif
