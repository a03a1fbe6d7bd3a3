/*
 * vouch/vc.h - Verifiable Credentials in the VC Data Model 1.1 JWT encoding
 * (VC-JWT), shared by release credentials and production credentials.
 *
 * Claims layout (what we issue, and all we accept):
 *   { "iss": "<issuer DID>", "sub": "<credentialSubject.id>", "jti": "<id>",
 *     "iat": N, "nbf": N, "exp": N,
 *     "vc": { "@context": ["https://www.w3.org/2018/credentials/v1", ...],
 *             "type": ["VerifiableCredential", "<Type>"],
 *             "credentialSubject": { "id": "<same as sub>", ... } } }
 * "exp", "nbf", "iat" are integers (seconds); "sub" must equal
 * credentialSubject.id; the first @context must be the VC 1.1 one.
 *
 * vouch_vc_check reads a parsed claims object (from a verified JWS payload:
 * cap, verify, then parse) and fails with VOUCH_E_VC_FORMAT on structure,
 * VOUCH_E_VC_TYPE when expected_type is not in vc.type, VOUCH_E_VC_EXPIRED
 * when now >= exp, VOUCH_E_VC_NOT_YET_VALID when now < nbf, and
 * VOUCH_E_VC_ISSUER when expected_iss is given and differs. Unknown claims
 * at the top level are refused (VOUCH_E_VC_FORMAT).
 *
 * Details of "structure" (all VOUCH_E_VC_FORMAT): every claim above is
 * required; iss is a DID of at most 255 bytes, jti at most 127, sub at most
 * 2048, none with control characters; times are integers in 0..2^53-1 and
 * exp > nbf; vc holds exactly @context (1..4 strings), type (1..4 strings,
 * the first "VerifiableCredential") and credentialSubject (an object).
 * Checks run in the order structure, type, issuer, exp, nbf.
 */
#ifndef VOUCH_VC_H
#define VOUCH_VC_H

#include <stdint.h>
#include <jansson.h>

#include "vouch/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VOUCH_VC_CONTEXT_V1 "https://www.w3.org/2018/credentials/v1"

typedef struct vouch_vc {
    const char *iss;          /* borrowed from the claims object */
    const char *sub;
    const char *jti;
    int64_t iat, nbf, exp;
    json_t *subject;          /* credentialSubject (borrowed) */
} vouch_vc;

/*
 * Builds the claims object. subject must be an object holding "id" (it is
 * taken over: the caller's reference is stolen even on failure). extra_ctx
 * may be NULL or a second @context URL. jti may be NULL for a fresh
 * vouch_vc_new_jti value. Bad arguments (issuer not a DID, exp <= nbf,
 * times beyond 2^53-1) are VOUCH_E_ARG.
 */
vouch_code vouch_vc_build(const char *iss, const char *type, const char *extra_ctx,
                          const char *jti, int64_t iat, int64_t nbf, int64_t exp,
                          json_t *subject, json_t **claims, vouch_err *err);

/* Checks a claims object (see above); out borrows from claims. */
vouch_code vouch_vc_check(const json_t *claims, const char *expected_type,
                          const char *expected_iss, int64_t now, vouch_vc *out,
                          vouch_err *err);

/* A fresh "urn:uuid:<v4>" (vouch_malloc'd) for jti values. */
vouch_code vouch_vc_new_jti(char **out, vouch_err *err);

#ifdef __cplusplus
}
#endif
#endif
