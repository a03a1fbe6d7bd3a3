/*
 * vouch/siop.h - device identity and login messages: the ProductionCredential
 * issued at end of line, and the SIOPv2 (draft 13) + OpenID4VP (drafts 18-20)
 * cross-device flow with Presentation Exchange v2 and direct_post.
 *
 * Shared by `vouch provision` (issuer), `vouchd` (verifier, relying party)
 * and `vouch-agent` (the device, a self-issued OP). Every verify function
 * follows cap -> signature -> parse -> claims, reads only signed fields, and
 * fails with one exact code (the 170..199 range of vouch/error.h, plus the
 * VOUCH_E_JWS_*, VOUCH_E_VC_* and VOUCH_E_JSON_* codes of the layers below).
 *
 * Messages (all JWS compact; "JWT" typ values are what wallets send):
 *
 *  ProductionCredential  VC-JWT (vouch/vc.h), typ "JWT", signed by a policy
 *    issuer key, kid "<issuer did:web>#<kid>"; iss = the vendor did:web, sub =
 *    the device did:key, vc.type [VerifiableCredential, ProductionCredential],
 *    credentialSubject {id, producedBy, productionDate "YYYY-MM-DD",
 *    serialNumber, hardware, mac?}.
 *
 *  Request object  typ "oauth-authz-req+jwt" (verifiers also accept "JWT"),
 *    signed by the policy's server key: iss = client_id = the vendor did:web,
 *    client_id_scheme "did", aud "https://self-issued.me/v2",
 *    response_type "vp_token id_token", response_mode "direct_post",
 *    response_uri, nonce (>= 128 bits, base64url), state, iat, exp,
 *    presentation_definition, client_metadata.
 *
 *  id_token  typ "JWT", signed by the device key: iss = sub = device did:key,
 *    or iss "https://self-issued.me/v2" with a did:key sub; aud = client_id;
 *    nonce; iat; exp (short). sub must be the DID of the signing key.
 *
 *  vp_token  typ "JWT", signed by the same device key: iss = the holder DID
 *    (= id_token sub), aud = client_id, nonce, iat, exp, jti,
 *    vp {@context, type [VerifiablePresentation], verifiableCredential [VC-JWT]}.
 *
 *  presentation_submission  {id, definition_id, descriptor_map: [{id, format
 *    "jwt_vp", path "$", path_nested {id, format "jwt_vc", path
 *    "$.verifiableCredential[0]" or "$.vp.verifiableCredential[0]"}}]}.
 *
 * Login error codes are added to vouch/error.h in the 170..199 range:
 *   VOUCH_E_LOGIN_REQUEST (170, malformed request/response), _STATE (171,
 *   unknown or used state), _NONCE (172, missing/unknown/expired/used or
 *   mismatched nonce), _AUDIENCE (173), _SUBJECT (174: iss != sub, sub not the
 *   key's DID, holder != subject, credential subject != device), _EXPIRED
 *   (175), _ISSUER (176: credential issuer key not in the policy's issuer
 *   role), _CREDENTIAL_TYPE (177), _SUBMISSION (178: presentation_submission
 *   does not match the definition), _CONSTRAINT (179: producedBy,
 *   productionDate, hardware not allowed), _REVOKED (180), _CLONE (181: one
 *   key logged in from two sessions at once, refused when configured),
 *   _NOT_REGISTERED (182: allowlist mode, unknown device key), _TOKEN (183:
 *   access token missing, unknown, expired or revoked), PROVISION_DUPLICATE
 *   (184: serial or key already provisioned), _ORIGIN (185: response_uri not
 *   of the expected origin).
 */
#ifndef VOUCH_SIOP_H
#define VOUCH_SIOP_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "vouch/error.h"
#include "vouch/key.h"
#include "vouch/policy.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VOUCH_SIOP_ISSUER "https://self-issued.me/v2"
#define VOUCH_PRODUCTION_TYPE "ProductionCredential"
#define VOUCH_REQUEST_OBJECT_TYP "oauth-authz-req+jwt"
#define VOUCH_LOGIN_MAX_BYTES (32u * 1024u) /* any one login message */

/* What end of line knows about a device. */
typedef struct vouch_device_facts {
    char did[256];            /* did:key of the device key */
    char serial[128];
    char hardware[64];
    char produced_by[256];    /* the factory or line, e.g. "did:web:example.com#line-3" */
    char production_date[11];/* YYYY-MM-DD */
    char mac[18];            /* "" when absent; else aa:bb:cc:dd:ee:ff */
} vouch_device_facts;

/* Issues the ProductionCredential (compact VC-JWT) with the issuer key. */
vouch_code vouch_production_issue(const vouch_key *issuer_key, const char *issuer_did,
                                  const char *kid, const vouch_device_facts *facts,
                                  int64_t now, int64_t lifetime, char **out, vouch_err *err);

/* Verifies a ProductionCredential against the policy's issuer role and
 * fills facts (the credential's subject). */
vouch_code vouch_production_verify(const vouch_policy *p, const char *vc, size_t len,
                                   int64_t now, vouch_device_facts *facts, vouch_err *err);

/* The server's authorization policy (S/authz.json), which also yields the
 * presentation_definition. */
typedef struct vouch_authz {
    int allowlist_mode;           /* 1: id_token alone, for registered keys */
    char produced_by[8][256];     /* allowed producedBy values (none: any) */
    size_t nproduced_by;
    char date_from[11], date_to[11]; /* inclusive range, "" for open */
    char hardware[16][64];        /* allowed hardware (none: any) */
    size_t nhardware;
    int refuse_clones;            /* 1: refuse a second concurrent session */
    int64_t access_ttl, nonce_ttl;
} vouch_authz;

vouch_code vouch_authz_parse(const char *json, size_t len, vouch_authz *out, vouch_err *err);
/* The PE v2 presentation_definition for this policy (new reference). */
vouch_code vouch_authz_definition(const vouch_authz *a, json_t **out, vouch_err *err);
/* Checks the credential facts against the constraints (VOUCH_E_LOGIN_CONSTRAINT). */
vouch_code vouch_authz_check(const vouch_authz *a, const vouch_device_facts *facts,
                             vouch_err *err);

/* Parameters of one login, as the server created them. */
typedef struct vouch_login_params {
    const char *client_id;      /* the vendor did:web */
    const char *response_uri;
    const char *nonce;
    const char *state;
    int64_t iat, exp;
} vouch_login_params;

/* Server: the signed request object. */
vouch_code vouch_siop_request_build(const vouch_key *server_key, const char *kid,
                                    const vouch_login_params *lp, const json_t *definition,
                                    char **out, vouch_err *err);

/* Device: verifies the request object with the policy's server role and
 * checks response_uri has the expected origin (scheme://host[:port]). */
typedef struct vouch_siop_request {
    char client_id[256];
    char response_uri[1024];
    char nonce[128];
    char state[128];
    int64_t exp;
    json_t *definition;         /* owned; json_decref when done */
} vouch_siop_request;
vouch_code vouch_siop_request_verify(const vouch_policy *p, const char *jwt, size_t len,
                                     const char *expected_origin, int64_t now,
                                     vouch_siop_request *out, vouch_err *err);

/* Device: the three response fields. */
typedef struct vouch_siop_response {
    char *id_token;
    char *vp_token;
    char *presentation_submission;
} vouch_siop_response;
vouch_code vouch_siop_response_build(const vouch_key *device_key, const char *credential,
                                     const vouch_siop_request *req, int64_t now,
                                     vouch_siop_response *out, vouch_err *err);
void vouch_siop_response_free(vouch_siop_response *r);

/*
 * Server: verifies a response against the login it issued (nonce, audience,
 * expiry), the trust policy (credential issuer), and the authorization
 * policy; fills the verified device facts. allowlist mode skips vp_token
 * (the caller checks the key is registered). State lookup and single use of
 * the nonce are the server's (its database); this checks the cryptography
 * and the claims.
 */
vouch_code vouch_siop_response_verify(const vouch_policy *p, const vouch_authz *a,
                                      const vouch_login_params *lp, const char *id_token,
                                      size_t id_len, const char *vp_token, size_t vp_len,
                                      const char *submission, size_t sub_len, int64_t now,
                                      vouch_device_facts *facts, vouch_err *err);

#ifdef __cplusplus
}
#endif
#endif
