/*
 * vouch/jws.h - JSON Web Signatures (RFC 7515) with ES256 and EdDSA only.
 *
 * Serializations: compact, and JSON (general with "signatures", or
 * flattened). vouch_jws_parse detects which from the first byte.
 *
 * What a JWS must be to pass (each with its exact code):
 *   - at most VOUCH_JWS_MAX_BYTES in all (VOUCH_E_JWS_TOO_LARGE), a protected
 *     header of at most VOUCH_JWS_MAX_HEADER bytes decoded (VOUCH_E_JWS_TOO_LARGE),
 *     at most VOUCH_JWS_MAX_SIGS signatures (VOUCH_E_JWS_TOO_MANY_SIGS), all
 *     checked before any signature is computed, so floods fail fast;
 *   - exactly three dot-separated segments of strict base64url in compact
 *     form, a well-formed JSON object otherwise (VOUCH_E_JWS_FORMAT, or the
 *     codec/JSON code of the part that is broken);
 *   - a protected header that is a hardened-JSON object (no duplicates) with
 *     "alg" "ES256" or "EdDSA" (VOUCH_E_JWS_ALG; "none" in any case, HS*, RS*,
 *     ES384 ... are refused). When verifying, alg must match the key's type
 *     (VOUCH_E_JWS_ALG_MISMATCH): the key decides, the header is only checked;
 *   - no "jwk", "jku", "x5c", "x5u", "x5t", "x5t#S256" anywhere in the headers:
 *     a token never brings its own key (VOUCH_E_JWS_EMBEDDED_KEY);
 *   - no "crit" (we implement no extension), and no "b64" member
 *     (VOUCH_E_JWS_CRIT);
 *   - "kid", when present, a string of 1..VOUCH_JWS_MAX_KID printable ASCII
 *     bytes without '"' or '\\' (VOUCH_E_JWS_KID). kid is only ever compared
 *     with known ids; it never names a file or URL;
 *   - in JSON form, an unprotected "header" may carry only "kid"; a member in
 *     both headers is VOUCH_E_JWS_HEADER_DUP; alg and typ are read only from
 *     the protected header;
 *   - when an expected typ is given, the protected "typ" must match it,
 *     compared case-insensitively with an optional "application/" prefix
 *     (VOUCH_E_JWS_TYP);
 *   - a signature of exactly 64 bytes; ES256 r, s in [1, n-1]; then valid.
 *
 * Ownership: vouch_jws from vouch_jws_parse is freed with vouch_jws_free;
 * strings in it are borrowed from it. Output strings are vouch_malloc'd.
 */
#ifndef VOUCH_JWS_H
#define VOUCH_JWS_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "vouch/error.h"
#include "vouch/key.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VOUCH_JWS_MAX_BYTES (256u * 1024u)
#define VOUCH_JWS_MAX_HEADER 4096u
#define VOUCH_JWS_MAX_SIGS 16u
#define VOUCH_JWS_MAX_KID 128u

typedef struct vouch_jws_sign_opts {
    const char *typ;      /* protected "typ", or NULL for none */
    const char *kid;      /* protected "kid", or NULL for none */
    const json_t *extra;  /* more protected members (object), or NULL; must not
                             set alg, jwk, jku, x5c, x5u, crit or b64 */
} vouch_jws_sign_opts;

/* Compact serialization "h.p.s" of payload, signed by k. */
vouch_code vouch_jws_sign_compact(const vouch_key *k, const vouch_jws_sign_opts *opts,
                                  const uint8_t *payload, size_t len, char **out,
                                  vouch_err *err);

/* General JSON serialization with one signature. */
vouch_code vouch_jws_sign_general(const vouch_key *k, const vouch_jws_sign_opts *opts,
                                  const uint8_t *payload, size_t len, char **out,
                                  vouch_err *err);

/* Parses a general or flattened JWS (strictly, as vouch_jws_parse) and
 * returns a general JWS with one more signature by k over the same payload. */
vouch_code vouch_jws_general_add(const char *jws, size_t jws_len, const vouch_key *k,
                                 const vouch_jws_sign_opts *opts, char **out, vouch_err *err);

typedef struct vouch_jws_sig {
    json_t *header;        /* the protected header (object, owned by the jws) */
    const char *alg;       /* from the protected header */
    const char *kid;       /* protected kid, else unprotected kid, else NULL */
    const char *typ;       /* protected typ, or NULL */
    char *protected_b64;   /* the protected segment as sent */
    uint8_t *sig;          /* decoded signature */
    size_t sig_len;
} vouch_jws_sig;

typedef struct vouch_jws {
    int compact;             /* 1 if parsed from the compact serialization */
    char *payload_b64;       /* the payload segment as sent */
    uint8_t *payload;        /* decoded payload, NUL-terminated for convenience */
    size_t payload_len;
    size_t nsigs;
    vouch_jws_sig sigs[VOUCH_JWS_MAX_SIGS];
} vouch_jws;

/* Structural parse and header checks (no signature is verified). */
vouch_code vouch_jws_parse(const char *in, size_t len, vouch_jws **out, vouch_err *err);
void vouch_jws_free(vouch_jws *jws);

/* Verifies signature i with key k; expected_typ may be NULL (not checked). */
vouch_code vouch_jws_verify_sig(const vouch_jws *jws, size_t i, const vouch_key *k,
                                const char *expected_typ, vouch_err *err);

/* A trusted key and the id it is known by (kid may be NULL). */
typedef struct vouch_jws_keyref {
    const char *kid;
    const vouch_key *key;
} vouch_jws_keyref;

/* One verdict per signature. */
typedef struct vouch_jws_result {
    const char *kid;   /* borrowed from the jws, may be NULL */
    int key_index;     /* index into keys of the key that verified it, or -1 */
    vouch_code code;   /* VOUCH_OK if valid, else why not */
} vouch_jws_result;

/*
 * Checks every signature against the trusted keys: a signature with a kid is
 * tried with the keys of that kid and with every keyref whose kid is NULL (a
 * wildcard: the policy's role keys are matched by key, not by name); one
 * without a kid is tried with every key. Only keys whose type matches the
 * signature's alg are tried; no candidate at all is VOUCH_E_JWS_UNKNOWN_KEY. results must
 * have room for jws->nsigs entries. Returns VOUCH_OK if at least one
 * signature is valid, else VOUCH_E_JWS_NO_VALID; thresholds are the caller's
 * (count distinct keys through key_index and vouch_key_equal).
 */
vouch_code vouch_jws_verify_all(const vouch_jws *jws, const vouch_jws_keyref *keys,
                                size_t nkeys, const char *expected_typ,
                                vouch_jws_result *results, vouch_err *err);

/* Parse + verify a compact JWS with one key; *payload is a vouch_malloc'd,
 * NUL-terminated copy. */
vouch_code vouch_jws_verify_compact(const char *in, size_t len, const vouch_key *k,
                                    const char *expected_typ, uint8_t **payload,
                                    size_t *payload_len, vouch_err *err);

#ifdef __cplusplus
}
#endif
#endif
