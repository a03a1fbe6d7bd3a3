/*
 * vouch/key.h - signing keys: P-256 (ES256) and Ed25519 (EdDSA).
 *
 * A vouch_key is an opaque handle over one of:
 *   - a key in memory (OpenSSL 3 EVP), public only or with its private half;
 *   - a private key inside a PKCS#11 token, named by an RFC 7512 URI, whose
 *     signing happens inside the token (the private key never leaves it).
 * The key decides the algorithm: P-256 signs ES256, Ed25519 signs EdDSA.
 *
 * Signatures are always 64 bytes: ES256 is raw r||s (32 bytes each, big
 * endian) over SHA-256 of the message, never DER; EdDSA is pure Ed25519.
 * vouch_key_verify refuses a signature whose length is not 64
 * (VOUCH_E_JWS_SIG_SIZE) and, for ES256, r or s equal to 0 or >= n
 * (VOUCH_E_JWS_SIG_RANGE); a signature that does not verify is
 * VOUCH_E_JWS_BAD_SIGNATURE.
 *
 * Key files: private keys are PKCS#8 PEM written with mode 0600 (atomically,
 * never over an existing file); vouch_key_load refuses a private key file
 * that group or others can read (VOUCH_E_PERM). Public keys are SPKI PEM.
 *
 * PKCS#11 URIs: "pkcs11:token=T;object=O[;id=%01][;type=private]
 * [?pin-value=P|pin-source=file:F][&module-path=M]". Without module-path the
 * module is $VOUCH_PKCS11_MODULE, else SoftHSM2's
 * /usr/lib/softhsm/libsofthsm2.so. Without a PIN, $VOUCH_PKCS11_PIN is used.
 * PINs are wiped after login and never appear in messages.
 *
 * Ownership: every vouch_key from a constructor is freed with vouch_key_free,
 * which wipes private material. Keys are immutable after creation, so one
 * key may be used from several threads at once for verify; PKCS#11 signing
 * is serialized internally. vouch_key_precompute adds a cache to a key, not
 * a change: every result stays the same.
 */
#ifndef VOUCH_KEY_H
#define VOUCH_KEY_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "vouch/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum vouch_key_type {
    VOUCH_KEY_NONE = 0,
    VOUCH_KEY_P256 = 1,
    VOUCH_KEY_ED25519 = 2
} vouch_key_type;

#define VOUCH_SIG_LEN 64
#define VOUCH_PUB_MAX 65     /* longest raw public key (uncompressed P-256) */
#define VOUCH_THUMBPRINT_LEN 43 /* base64url of SHA-256, without NUL */

typedef struct vouch_key vouch_key;

/* Flags for vouch_key_from_jwk. */
#define VOUCH_JWK_PUBLIC 0u            /* refuse private members ("d") */
#define VOUCH_JWK_ALLOW_PRIVATE 1u     /* accept "d" and import the private key */

/* "p256" / "ed25519" (also "P-256", "Ed25519") -> type; VOUCH_KEY_NONE if unknown. */
vouch_key_type vouch_key_type_from_name(const char *name);
const char *vouch_key_type_name(vouch_key_type t); /* "p256", "ed25519" */

/* Generates a new key in memory. */
vouch_code vouch_key_generate(vouch_key_type type, vouch_key **out, vouch_err *err);

/*
 * Generates a key pair inside the PKCS#11 token named by uri (object= and
 * optionally id= name it). The private key is sensitive and non-extractable.
 * Refuses with VOUCH_E_EXISTS when an object of that label/id exists.
 */
vouch_code vouch_key_generate_pkcs11(const char *uri, vouch_key_type type, vouch_key **out,
                                     vouch_err *err);

/*
 * Loads a key from a PKCS#11 URI ("pkcs11:..."), a PEM file (private PKCS#8
 * or "EC PRIVATE KEY", or public SPKI), or a JWK file (public, or private
 * when the file holds "d" and mode is 0600). Public points are checked as
 * in vouch_key_from_public_raw (VOUCH_E_KEY_POINT).
 */
vouch_code vouch_key_load(const char *path_or_uri, vouch_key **out, vouch_err *err);

/* Parses PEM text (private or public; a public point is checked as in
 * vouch_key_from_public_raw). */
vouch_code vouch_key_from_pem(const char *pem, size_t len, vouch_key **out, vouch_err *err);

/* Writes the private key (PKCS#8 PEM, mode 0600) or, with public_only, the
 * SPKI PEM (0644). Refuses to overwrite (VOUCH_E_EXISTS). A PKCS#11 key can
 * only be written public (VOUCH_E_KEY_NOT_PRIVATE otherwise). */
vouch_code vouch_key_save_pem(const vouch_key *k, const char *path, int public_only,
                              vouch_err *err);

/* The public key as SPKI PEM text (vouch_malloc'd, NUL-terminated). */
vouch_code vouch_key_public_pem(const vouch_key *k, char **out, vouch_err *err);

/* JWK import (RFC 7517/7518/8037): EC P-256 {kty,crv,x,y} or OKP Ed25519
 * {kty,crv,x}. Members are checked strictly: strict base64url, exact lengths,
 * the point on the curve (Ed25519 too: canonical y with a square root, and
 * not one of the 8 points of small order, see vouch_key_from_public_raw), no
 * private members unless allowed (then "d" must match x/y). Unknown members
 * (kid, ...) are ignored, but the ones that restrict a key are honoured:
 * "alg", when present, must match ("ES256"; "EdDSA" or "Ed25519"), "use"
 * must be "sig" and "key_ops" may list only "sign" and "verify"
 * (VOUCH_E_KEY_JWK). Another kty or crv is VOUCH_E_KEY_TYPE, a point off
 * the curve VOUCH_E_KEY_POINT, "d" (or another private member) without
 * VOUCH_JWK_ALLOW_PRIVATE VOUCH_E_KEY_PRIVATE. */
vouch_code vouch_key_from_jwk(const json_t *jwk, unsigned flags, vouch_key **out,
                              vouch_err *err);

/* The public JWK (new reference), members in RFC 7638 order. */
vouch_code vouch_key_to_jwk(const vouch_key *k, json_t **out, vouch_err *err);

/* RFC 7638 JWK thumbprint (SHA-256), base64url, into out[44] with NUL. */
vouch_code vouch_key_thumbprint(const vouch_key *k, char out[VOUCH_THUMBPRINT_LEN + 1],
                                vouch_err *err);

/* Raw public key: compressed SEC1 point (33 bytes) for P-256, 32 bytes for
 * Ed25519. cap must be >= 33. */
vouch_code vouch_key_public_raw(const vouch_key *k, uint8_t *out, size_t cap, size_t *len,
                                vouch_err *err);

/* From a raw public key as above (P-256 also accepts the 65-byte form).
 * The point is checked: VOUCH_E_KEY_POINT for a wrong length, a point off
 * the curve, a non-canonical Ed25519 y (y >= p), and an Ed25519 point of
 * small order (order 1, 2, 4 or 8, in any of its 14 encodings: "Ed25519
 * public key is a point of small order"), under which signatures can be
 * forged. The same Ed25519 check applies to JWK, did:key (which reports
 * VOUCH_E_KEY_DIDKEY, see vouch/did.h), PKCS#11 and SPKI PEM public keys. */
vouch_code vouch_key_from_public_raw(vouch_key_type type, const uint8_t *raw, size_t len,
                                     vouch_key **out, vouch_err *err);

vouch_key_type vouch_key_get_type(const vouch_key *k);
int vouch_key_has_private(const vouch_key *k);   /* 1 for in-memory private or PKCS#11 */
int vouch_key_is_pkcs11(const vouch_key *k);
const char *vouch_key_alg(const vouch_key *k);   /* "ES256" or "EdDSA" */

/* 1 if a and b hold the same public key, else 0. */
int vouch_key_equal(const vouch_key *a, const vouch_key *b);

/* Signs msg; sig receives exactly VOUCH_SIG_LEN bytes. */
vouch_code vouch_key_sign(const vouch_key *k, const uint8_t *msg, size_t len,
                          uint8_t sig[VOUCH_SIG_LEN], vouch_err *err);

/* Verifies a signature over msg (see the top of this file for codes). */
vouch_code vouch_key_verify(const vouch_key *k, const uint8_t *msg, size_t len,
                            const uint8_t *sig, size_t siglen, vouch_err *err);

/*
 * Makes verification with a P-256 key about twice as fast (~20 us instead
 * of ~40 us per ES256 signature) by attaching a table of multiples of the
 * public key, for keys that verify many signatures over a long life:
 * issuer keys in a server. It costs ~17 ms once and ~150 KiB per key, so
 * it does not pay for a key that verifies a few signatures (a device's
 * key at login, a did:key from a token). Verdicts and codes never change:
 * a signature verifies, or is refused with the same code, with or without
 * the table. Signing, PKCS#11 keys included, is untouched.
 *
 * Idempotent: a key keeps the first table it gets, and later calls return
 * VOUCH_OK at once. Thread-safe: it may be called while other threads
 * verify with the key (they use the table from the next signature on), but
 * calling it once before sharing the key is the intended use. The table is
 * freed with the key; vouch_key_ref shares it, vouch_key_public_copy does
 * not copy it. An Ed25519 key has no table: VOUCH_OK, nothing done.
 *
 * The arithmetic with the table is not constant-time, deliberately: it
 * touches only public values (the key, the signature, the digest).
 *
 * Failure leaves the key exactly as it was, verifying the usual way, so a
 * caller may ignore it (or log it): VOUCH_E_NOMEM, or VOUCH_E_KEY_CRYPTO
 * when OpenSSL refuses a step, when this OpenSSL lacks the functions the
 * table needs (EC_GROUP_precompute_mult and
 * EC_POINT_get_Jprojective_coordinates_GFp, deprecated in OpenSSL 3.0 and
 * missing from a build without the deprecated API), or when the new table
 * does not verify a test signature as OpenSSL's plain arithmetic does.
 * VOUCH_E_ARG for a NULL key.
 */
vouch_code vouch_key_precompute(vouch_key *k, vouch_err *err);

/* Another handle on the same public key (no private part, no table from
 * vouch_key_precompute). */
vouch_code vouch_key_public_copy(const vouch_key *k, vouch_key **out, vouch_err *err);

/* Another reference to the same key, no copy (NULL for NULL): a key is
 * freed when vouch_key_free has been called once for its constructor and
 * once for every vouch_key_ref. For sharing one immutable key between
 * threads or caches. */
vouch_key *vouch_key_ref(const vouch_key *k);

void vouch_key_free(vouch_key *k);

#ifdef __cplusplus
}
#endif
#endif
