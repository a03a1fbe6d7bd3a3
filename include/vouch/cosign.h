/*
 * vouch/cosign.h - the co-sign protocol: what a build server sends to
 * vouch-cosignd (the second factor), what it gets back, and the checks both
 * sides make. Shared by the server and by `vouch release cosign`, and
 * testable without HTTP. docs/cosign.md describes the protocol as a whole.
 *
 * The request is a compact JWS signed by the build server's own identity
 * key (a did:key, P-256 or Ed25519, possibly inside a PKCS#11 token):
 *
 *   protected: {"alg": "ES256"|"EdDSA", "typ": "vouch-cosign-req+jwt",
 *               "kid": "<build server did:key>#<multibase key>"}
 *   payload:   {"iss": "<build server did:key>", "aud": "<co-signer DID>",
 *               "jti": "<unique id>", "iat": N, "exp": N,
 *               "release": "<base64url of the release payload>",
 *               "force": false}
 *
 * vouch_cosign_request_verify checks, in this order, stopping at the first
 * failure, and reads no claim before the signature is verified:
 *   1. size: at most VOUCH_COSIGN_MAX_BODY bytes (VOUCH_E_LIMIT);
 *   2. a compact JWS by the rules of vouch/jws.h (VOUCH_E_JWS_*, the codec
 *      and JSON codes; alg none, embedded keys, crit ... are refused there);
 *   3. a protected "kid" that is exactly the verification method id of a
 *      did:key (VOUCH_E_JWS_KID; a did:key that does not decode is
 *      VOUCH_E_KEY_DIDKEY, another DID method VOUCH_E_DID_METHOD);
 *   4. the signature, with the key that did:key names; the key decides the
 *      algorithm (VOUCH_E_JWS_ALG_MISMATCH, VOUCH_E_JWS_SIG_SIZE,
 *      VOUCH_E_JWS_SIG_RANGE, VOUCH_E_JWS_BAD_SIGNATURE), and typ
 *      (VOUCH_E_JWS_TYP);
 *   5. only then the claims: a JSON object with exactly the members above
 *      ("force" optional) of the right types (VOUCH_E_COSIGN_REQUEST);
 *      "iss" equal to the DID of the kid (VOUCH_E_JWS_UNKNOWN_KEY: a
 *      signature by a key other than iss's); "jti" 1..VOUCH_COSIGN_JTI_MAX
 *      bytes of [A-Za-z0-9._:~-]; "release" strict base64url of at most
 *      VOUCH_COSIGN_MAX_RELEASE bytes (VOUCH_E_COSIGN_REQUEST, or
 *      VOUCH_E_LIMIT when too large).
 * vouch_cosign_request_check then applies the clock and the audience, and
 * vouch_cosign_check_release the release's content; the server adds what
 * needs its database (allow list, rate, replay, rollback).
 *
 * The answer is one signature entry of a general JWS over the release
 * payload, {"protected": "...", "signature": "..."}, whose protected header
 * is {"alg", "typ": "vouch-release+jwt", "kid": "<co-signer vm id>"}. The
 * client appends it to the release's "signatures". A refusal is
 * {"error": {"code": N, "name": "VOUCH_E_...", "message": "..."}} with the
 * HTTP status of vouch_cosign_http_status(N).
 *
 * Ownership: strings returned through char ** are vouch_malloc'd and
 * NUL-terminated; a vouch_cosign_request is released with
 * vouch_cosign_request_free. Nothing here keeps global state; all functions
 * are thread-safe.
 */
#ifndef VOUCH_COSIGN_H
#define VOUCH_COSIGN_H

#include <stddef.h>
#include <stdint.h>

#include "vouch/did.h"
#include "vouch/error.h"
#include "vouch/key.h"
#include "vouch/release.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VOUCH_COSIGN_REQ_TYP "vouch-cosign-req+jwt"
#define VOUCH_COSIGN_MAX_BODY (64u * 1024u)     /* request body cap, bytes */
#define VOUCH_COSIGN_MAX_RELEASE (32u * 1024u)  /* release payload in a request; after two
                                                   base64url passes it fits the body cap */
#define VOUCH_COSIGN_MAX_RESPONSE (16u * 1024u) /* what a client reads back */
#define VOUCH_COSIGN_MAX_TTL 300                /* exp - iat, seconds */
#define VOUCH_COSIGN_DEFAULT_SKEW 60            /* iat may be this far in the future */
#define VOUCH_COSIGN_JTI_MAX 128

/* A verified request. Fixed-size fields hold only validated text. */
typedef struct vouch_cosign_request {
    char iss[VOUCH_DID_MAX + 1];       /* the build server's did:key (verified) */
    char aud[VOUCH_DID_MAX + 1];       /* the co-signer it was meant for */
    char jti[VOUCH_COSIGN_JTI_MAX + 1];
    int64_t iat, exp;
    int force;                         /* 1 if "force": true */
    char *release_b64;                 /* the "release" claim as sent */
    size_t release_b64_len;
    uint8_t *release;                  /* decoded release payload, NUL-terminated */
    size_t release_len;
    uint8_t release_sha256[32];        /* SHA-256 of the decoded payload */
} vouch_cosign_request;

/*
 * Client side: builds and signs a request for the release payload
 * (release, len) to the co-signer aud. iat is the caller's clock; ttl is
 * exp - iat in 1..VOUCH_COSIGN_MAX_TTL. jti NULL means a fresh random one
 * (128 bits). identity must hold a private key (file or PKCS#11).
 */
vouch_code vouch_cosign_request_make(const vouch_key *identity, const char *aud,
                                     const uint8_t *release, size_t len, int force, int64_t iat,
                                     int64_t ttl, const char *jti, char **out, size_t *outlen,
                                     vouch_err *err);

/* Server side: steps 1..5 above. On failure *out is left zeroed. */
vouch_code vouch_cosign_request_verify(const char *body, size_t len, vouch_cosign_request *out,
                                       vouch_err *err);

/*
 * Freshness and audience: aud must equal the request's "aud"
 * (VOUCH_E_COSIGN_REQUEST); iat must not be more than skew seconds in the
 * future, now must be before exp, and exp - iat must be in
 * 1..VOUCH_COSIGN_MAX_TTL (VOUCH_E_COSIGN_STALE).
 */
vouch_code vouch_cosign_request_check(const vouch_cosign_request *r, const char *aud,
                                      int64_t now, int64_t skew, vouch_err *err);

/* Frees what the request holds and zeroes it; NULL is fine. */
void vouch_cosign_request_free(vouch_cosign_request *r);

/*
 * The release's own content: a well-formed release payload
 * (vouch_release_parse_payload; VOUCH_E_COSIGN_REQUEST naming what is
 * wrong), issued by vendor (VOUCH_E_VC_ISSUER), not already expired and
 * with exp - nbf at most max_lifetime seconds (VOUCH_E_COSIGN_LIFETIME).
 * Fills *rel.
 */
vouch_code vouch_cosign_check_release(const vouch_cosign_request *r, const char *vendor,
                                      int64_t max_lifetime, int64_t now, vouch_release *rel,
                                      vouch_err *err);

/*
 * Server side: the co-signer's signature over the release payload
 * (release, len), as the JSON text of one signature entry
 * {"protected": "...", "signature": "..."}; kid is the co-signer's
 * verification method id.
 */
vouch_code vouch_cosign_sign(const vouch_key *cosigner, const char *kid, const uint8_t *release,
                             size_t len, char **entry, size_t *entry_len, vouch_err *err);

/*
 * Client side: checks a 200 answer before anything is added to a release.
 * The body must be a JSON object with exactly "protected" and "signature"
 * (VOUCH_E_HTTP otherwise: a co-signer that answers garbage is treated as a
 * transport failure), a protected header with typ
 * vouch-release+jwt and kid equal to expected_kid (VOUCH_E_JWS_TYP,
 * VOUCH_E_JWS_KID), and a signature that verifies over payload_b64 with the
 * pinned co-signer key (the VOUCH_E_JWS_* code). *entry is the entry,
 * re-serialized from the checked parts only.
 */
vouch_code vouch_cosign_response_verify(const char *body, size_t len, const char *payload_b64,
                                        const vouch_key *cosigner, const char *expected_kid,
                                        char **entry, size_t *entry_len, vouch_err *err);

/*
 * A release file as `vouch release create` writes it before any signature
 * ({"payload": "...", "signatures": []}) or a general JWS with signatures:
 * the decoded payload and its base64url text (both vouch_malloc'd). With
 * refuse_kid set, a release that already holds a signature whose protected
 * kid is refuse_kid is VOUCH_E_EXISTS (asking twice would waste a request).
 */
vouch_code vouch_cosign_rel_payload(const char *rel, size_t len, const char *refuse_kid,
                                    uint8_t **payload, size_t *payload_len, char **payload_b64,
                                    vouch_err *err);

/* The release with one more signature entry appended (general JWS text). */
vouch_code vouch_cosign_rel_add(const char *rel, size_t len, const char *entry, size_t entry_len,
                                char **out, size_t *outlen, vouch_err *err);

/* The refusal body {"error": {"code", "name", "message"}}; the message is
 * escaped by the JSON encoder (never raw request bytes). */
vouch_code vouch_cosign_error_body(vouch_code code, const char *message, char **out,
                                   size_t *len, vouch_err *err);

/*
 * Client side: reads a refusal body. *code is the server's code when it is
 * a code vouch assigned (else VOUCH_E_COSIGN_REFUSED), and msg (cap bytes)
 * its message with control bytes replaced by '?'. VOUCH_E_HTTP when the body
 * is not a refusal.
 */
vouch_code vouch_cosign_error_parse(const char *body, size_t len, vouch_code *code, char *msg,
                                    size_t cap, vouch_err *err);

/*
 * The HTTP status for a decision: 200 for VOUCH_OK; 413 too large; 401 not
 * authenticated (alg, key, signature, stale); 403 not permitted (unknown or
 * revoked build server, lifetime, issuer); 409 conflict (replay, rollback);
 * 429 rate; 404 not found; 500 for internal, memory, I/O, key and database
 * failures; 400 for everything else (malformed).
 */
unsigned vouch_cosign_http_status(vouch_code code);

#ifdef __cplusplus
}
#endif
#endif
