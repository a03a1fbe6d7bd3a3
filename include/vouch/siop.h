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

#include "vouch/did.h"
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

/*
 * Time rules for every login token (request object, id_token, vp_token):
 * exp is required, but for a vp_token: one with iat alone expires
 * VOUCH_LOGIN_MAX_LIFETIME after iat, one with neither (what did-jwt-vc
 * makes for Sphereon's and Veramo's wallets) lives as long as the nonce
 * it must carry;
 * the token is expired once now >= exp + VOUCH_LOGIN_SKEW;
 * iat (required in the request object and id_token) and nbf may be at most
 * VOUCH_LOGIN_SKEW ahead of now; exp - iat may not exceed
 * VOUCH_LOGIN_MAX_LIFETIME. Each failure is VOUCH_E_LOGIN_EXPIRED; a time
 * claim that is not an integer in 0..2^53-1, or exp <= iat, is
 * VOUCH_E_LOGIN_REQUEST. The ProductionCredential's nbf gets the same skew.
 */
#define VOUCH_LOGIN_SKEW 60
#define VOUCH_LOGIN_MAX_LIFETIME 3600
#define VOUCH_LOGIN_TOKEN_LIFETIME 300   /* what vouch_siop_response_build uses */
#define VOUCH_LOGIN_NONCE_MIN 22         /* base64url characters: 128 bits */

/* The ids in the presentation_definition vouch_authz_definition makes. */
#define VOUCH_PRODUCTION_DEFINITION_ID "vouch-production-credential"
#define VOUCH_PRODUCTION_DESCRIPTOR_ID "production_credential"

/* What end of line knows about a device. */
typedef struct vouch_device_facts {
    char did[256];            /* did:key of the device key */
    char serial[128];
    char hardware[64];
    char produced_by[256];    /* the factory or line, e.g. "did:web:example.com#line-3" */
    char production_date[11];/* YYYY-MM-DD */
    char mac[18];            /* "" when absent; else aa:bb:cc:dd:ee:ff */
} vouch_device_facts;

/*
 * Issues the ProductionCredential (compact VC-JWT) with the issuer key.
 * kid is the issuer key's id in the policy ("issuer-1": the header kid then
 * is "<issuer_did>#issuer-1") or a full DID URL (used as is). facts must be
 * complete and well-formed (VOUCH_E_ARG otherwise): did a did:key without
 * fragment, serial 1..127, hardware 1..63 and produced_by 1..255 printable
 * ASCII bytes, production_date a calendar date YYYY-MM-DD, mac "" or
 * lower-case aa:bb:cc:dd:ee:ff. nbf = iat = now, exp = now + lifetime.
 */
/* Checks facts as vouch_production_issue does (VOUCH_E_ARG naming the
 * field), without issuing anything. */
vouch_code vouch_production_facts_check(const vouch_device_facts *facts, vouch_err *err);

vouch_code vouch_production_issue(const vouch_key *issuer_key, const char *issuer_did,
                                  const char *kid, const vouch_device_facts *facts,
                                  int64_t now, int64_t lifetime, char **out, vouch_err *err);

/*
 * Verifies a ProductionCredential against the policy's issuer role and
 * fills facts (the credential's subject). Order and codes: size cap
 * (VOUCH_E_JWS_TOO_LARGE) -> compact JWS with one signature (VOUCH_E_JWS_*)
 * -> typ "JWT" and a signature by an issuer-role key, found by kid
 * ("<policy issuer>#<kid>" or "<kid>") or, without kid, by trying each
 * (a kid naming no issuer key: VOUCH_E_LOGIN_ISSUER; a bad signature keeps
 * its VOUCH_E_JWS_* code) -> claims (vouch_vc_check: VOUCH_E_VC_FORMAT for
 * structure; not a ProductionCredential VOUCH_E_LOGIN_CREDENTIAL_TYPE; iss
 * not the policy's issuer VOUCH_E_LOGIN_ISSUER; expired or not yet valid
 * (nbf with VOUCH_LOGIN_SKEW) VOUCH_E_LOGIN_EXPIRED) -> credentialSubject
 * holds exactly id, producedBy, productionDate, serialNumber, hardware and
 * optionally mac, each as vouch_production_issue requires, id a did:key
 * (VOUCH_E_VC_FORMAT otherwise).
 */
vouch_code vouch_production_verify(const vouch_policy *p, const char *vc, size_t len,
                                   int64_t now, vouch_device_facts *facts, vouch_err *err);

/*
 * The server's authorization policy (S/authz.json), which also yields the
 * presentation_definition. The file (every member but "mode" optional):
 *
 *   { "mode": "credential" | "allowlist",
 *     "produced_by": ["did:web:example.com#line-3", ...],   at most 8
 *     "production_date_from": "YYYY-MM-DD" | "",          inclusive
 *     "production_date_to": "YYYY-MM-DD" | "",
 *     "hardware": ["board-a", ...],                        at most 16
 *     "refuse_clones": false,
 *     "access_ttl": 900,                                   60..86400 s
 *     "nonce_ttl": 120 }                                   10..3600 s
 *
 * An empty list or "" means no constraint. vouch_authz_parse consumes the
 * known members and rejects leftovers: syntax keeps its VOUCH_E_JSON_*
 * code; an unknown member, a value of the wrong type or form (mode, date,
 * from > to, an empty or too long string) is VOUCH_E_JSON_TYPE; "mode"
 * missing VOUCH_E_JSON_MISSING; a ttl out of range VOUCH_E_JSON_RANGE; too
 * many list entries VOUCH_E_LIMIT.
 */
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
/* The defaults: credential mode, no constraints, refuse_clones 0,
 * access_ttl 900, nonce_ttl 120 (what `vouch server export` writes). */
void vouch_authz_default(vouch_authz *out);
/* The authz.json text of a (new vouch_malloc'd string, indented, with a
 * final newline). */
vouch_code vouch_authz_dump(const vouch_authz *a, char **out, vouch_err *err);
/*
 * The PE v2 presentation_definition for this policy (new reference): id
 * VOUCH_PRODUCTION_DEFINITION_ID, one input descriptor
 * VOUCH_PRODUCTION_DESCRIPTOR_ID with format {"jwt_vc": {"alg": ["ES256",
 * "EdDSA"]}} and constraints.fields over both "$.vc.<x>" and "$.<x>"
 * paths: type contains ProductionCredential; and, only when constrained,
 * hardware (enum), productionDate (format "date", formatMinimum and
 * formatMaximum) and producedBy (enum). In allowlist mode there is no
 * definition: *out is NULL and the result VOUCH_OK.
 */
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

/*
 * Server: the signed request object (typ VOUCH_REQUEST_OBJECT_TYP, kid
 * "<client_id>#<kid>" unless kid already holds a '#'). definition NULL
 * makes an id_token-only request (response_type "id_token", allowlist
 * mode). lp must be well-formed (VOUCH_E_ARG): client_id a DID, response_uri
 * http(s), a nonce of VOUCH_LOGIN_NONCE_MIN..127 base64url characters, state
 * 1..127 printable bytes, iat < exp <= iat + VOUCH_LOGIN_MAX_LIFETIME.
 */
vouch_code vouch_siop_request_build(const vouch_key *server_key, const char *kid,
                                    const vouch_login_params *lp, const json_t *definition,
                                    char **out, vouch_err *err);

/*
 * Server, many logins: a template of the request objects one server makes
 * (key, kid, client_id, response_uri and definition fixed), with every
 * claim but nonce, state, iat and exp serialized once. _build takes lp as
 * vouch_siop_request_build does (the same checks and codes; client_id and
 * response_uri must be the template's, VOUCH_E_ARG otherwise) and returns
 * the same request object, byte for byte, for a third of the work outside
 * the signature. The template holds a reference to the key and is
 * immutable: builds may run in several threads at once. _new refuses
 * (VOUCH_E_ARG) a definition that happens to hold one of its markers;
 * build each request then.
 */
typedef struct vouch_siop_request_tmpl vouch_siop_request_tmpl;
vouch_code vouch_siop_request_tmpl_new(const vouch_key *server_key, const char *kid,
                                       const char *client_id, const char *response_uri,
                                       const json_t *definition, vouch_siop_request_tmpl **out,
                                       vouch_err *err);
vouch_code vouch_siop_request_tmpl_build(const vouch_siop_request_tmpl *t,
                                         const vouch_login_params *lp, char **out,
                                         vouch_err *err);
void vouch_siop_request_tmpl_free(vouch_siop_request_tmpl *t);

/*
 * Device: verifies the request object with the policy's server role and
 * checks response_uri has the expected origin (scheme://host[:port]).
 * Order and codes: size cap (VOUCH_E_JWS_TOO_LARGE) -> compact JWS, one
 * signature -> typ "oauth-authz-req+jwt" or "JWT" (VOUCH_E_JWS_TYP) -> a
 * signature by a server-role key (kid "<issuer>#<kid>", "<kid>" or none;
 * VOUCH_E_JWS_UNKNOWN_KEY, VOUCH_E_JWS_BAD_SIGNATURE, ...) -> claims: known
 * members only, every one the right type (VOUCH_E_LOGIN_REQUEST), iss =
 * client_id = the policy's issuer and client_id_scheme "did"
 * (VOUCH_E_LOGIN_REQUEST), aud VOUCH_SIOP_ISSUER (VOUCH_E_LOGIN_AUDIENCE),
 * response_type "vp_token id_token" (either order) or "id_token",
 * response_mode "direct_post" (VOUCH_E_LOGIN_REQUEST), response_uri =
 * origin + "/..." exactly (VOUCH_E_LOGIN_ORIGIN), nonce of at least 128
 * bits (VOUCH_E_LOGIN_NONCE), state (VOUCH_E_LOGIN_STATE), times (see
 * VOUCH_LOGIN_SKEW), a presentation_definition with an id and an input
 * descriptor id when vp_token is asked (VOUCH_E_LOGIN_REQUEST), and no
 * private members in client_metadata.jwks (VOUCH_E_KEY_PRIVATE).
 * expected_origin may carry a path (a server URL): only its origin counts.
 */
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
/* Releases out->definition (safe on a zeroed or already released request). */
void vouch_siop_request_free(vouch_siop_request *r);

/* The origin "scheme://host[:port]" of an http(s) URL (no userinfo, no
 * empty host), into out; VOUCH_E_ARG when url is not such a URL. */
vouch_code vouch_siop_origin(const char *url, char *out, size_t cap, vouch_err *err);

/*
 * Device: the three response fields. id_token: iss = sub = the device's
 * did:key, kid "<did>#<fragment>", aud = client_id, nonce, iat = now, exp =
 * now + VOUCH_LOGIN_TOKEN_LIFETIME. When req asks for a vp_token (it has a
 * definition), credential is required and the vp_token (a VP-JWT holding
 * it) and presentation_submission (path "$.verifiableCredential[0]") are
 * made; otherwise both stay NULL. out is zeroed first; on failure nothing
 * is left to free.
 */
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
 *
 * Order and codes (the first failure wins):
 *  0. lp->exp passed: VOUCH_E_LOGIN_NONCE (the login's nonce expired).
 *  1. id_token: size cap, compact JWS, typ absent or "JWT" (VOUCH_E_JWS_*);
 *     the key is the did:key in the kid (a DID URL) or, without one, the
 *     sub; the signature (VOUCH_E_JWS_*); claims: known members only
 *     (iss sub aud nonce iat exp nbf jti auth_time sub_jwk;
 *     VOUCH_E_LOGIN_REQUEST); sub a did:key naming the signing key, iss =
 *     sub or VOUCH_SIOP_ISSUER (VOUCH_E_LOGIN_SUBJECT); sub_jwk, if sent, a
 *     public JWK (VOUCH_E_KEY_PRIVATE) of the same key (VOUCH_E_LOGIN_SUBJECT:
 *     the key always comes from the DID, never from a JWK); aud contains
 *     client_id (VOUCH_E_LOGIN_AUDIENCE); nonce (VOUCH_E_LOGIN_NONCE); times.
 *  2. allowlist mode: done (facts->did only).
 *  3. vp_token (missing: VOUCH_E_LOGIN_REQUEST): as the id_token, its key
 *     from the kid or iss; a key other than the id_token's, or iss != the
 *     id_token's sub, is VOUCH_E_LOGIN_SUBJECT; claims iss sub aud nonce iat
 *     exp nbf jti vp; vp {@context, type, verifiableCredential, holder?, id?}
 *     (VOUCH_E_LOGIN_REQUEST); aud, nonce and times as above.
 *  4. presentation_submission (missing, malformed members, another
 *     definition or descriptor id, a format or path we do not know, an
 *     index past the credentials: VOUCH_E_LOGIN_SUBMISSION; JSON syntax
 *     keeps VOUCH_E_JSON_*). Paths "$.verifiableCredential[N]" and
 *     "$.vp.verifiableCredential[N]" are both accepted.
 *  5. the credential it points to: vouch_production_verify.
 *  6. its subject is the id_token's sub (VOUCH_E_LOGIN_SUBJECT).
 *  7. vouch_authz_check (VOUCH_E_LOGIN_CONSTRAINT).
 */
vouch_code vouch_siop_response_verify(const vouch_policy *p, const vouch_authz *a,
                                      const vouch_login_params *lp, const char *id_token,
                                      size_t id_len, const char *vp_token, size_t vp_len,
                                      const char *submission, size_t sub_len, int64_t now,
                                      vouch_device_facts *facts, vouch_err *err);

/*
 * vouch_siop_response_verify, with every did:key decoded through cache (a
 * server's vouch_did_cache; NULL for none): the same checks in the same
 * order, with the same codes. Without a cache too, a verification decodes
 * each distinct DID once (the id_token's kid and sub, the vp_token's and
 * the credential subject are usually one).
 */
vouch_code vouch_siop_response_verify_cached(vouch_did_cache *cache, const vouch_policy *p,
                                             const vouch_authz *a, const vouch_login_params *lp,
                                             const char *id_token, size_t id_len,
                                             const char *vp_token, size_t vp_len,
                                             const char *submission, size_t sub_len, int64_t now,
                                             vouch_device_facts *facts, vouch_err *err);

#ifdef __cplusplus
}
#endif
#endif
