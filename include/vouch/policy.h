/*
 * vouch/policy.h - the trust policy: the device's root of trust.
 *
 * A trust policy is a JSON document, signed as a general JWS (protected typ
 * VOUCH_POLICY_TYP, one signature per root key, kid = the key's id in the
 * policy). Its payload:
 *
 *   {
 *     "type": "vouch-trust-policy",
 *     "version": 1,                       integer >= 1
 *     "issued": 1763683200,               unix seconds
 *     "expires": 1795219200,              unix seconds, > issued
 *     "issuer": "did:web:example.com",    the vendor
 *     "keys": { "<kid>": <public JWK>, ... },      at most VOUCH_POLICY_MAX_KEYS
 *     "roles": {
 *       "root":    {"threshold": 2, "keys": ["<kid>", ...]},
 *       "release": {"threshold": 1, "keys": [...]},
 *       "cosign":  {"threshold": 1, "keys": [...]},
 *       "issuer":  {"threshold": 1, "keys": [...]},
 *       "server":  {"threshold": 1, "keys": [...]}
 *     },
 *     "releaseRequires": ["release", "cosign"],
 *     "maxReleaseLifetime": 7776000,      seconds a release credential may live
 *     "production": true                  false for development projects
 *   }
 *
 * Rules enforced by vouch_policy_parse (each with its code): unknown or
 * missing members (VOUCH_E_POLICY_FORMAT); role names other than the five
 * (VOUCH_E_POLICY_ROLE); a role with no keys, or a kid not in "keys"
 * (VOUCH_E_POLICY_ROLE); thresholds that are not integers in 1..len(keys)
 * (VOUCH_E_POLICY_THRESHOLD); the same public key under two kids, or one kid
 * in two roles (VOUCH_E_POLICY_KEY_REUSE), so that thresholds always count
 * distinct keys and no online key (server, device, build server) can stand
 * in for a release or root key; "releaseRequires" naming root or an unknown
 * role (VOUCH_E_POLICY_ROLE); a production policy containing a key from
 * the development key list (VOUCH_E_POLICY_DEV_KEY).
 *
 * Trust:
 *   - vouch_policy_verify_root: the first policy a device pins (at end of
 *     line). It must be signed by its own root threshold and not expired.
 *   - vouch_policy_verify_next: rotation from the pinned version N. The new
 *     document must have version N+1 (VOUCH_E_POLICY_VERSION), and be signed
 *     by a threshold of N's root keys AND a threshold of its own root keys
 *     (VOUCH_E_POLICY_SIGNATURES), and not be expired (VOUCH_E_POLICY_EXPIRED).
 *     Chains are walked one step at a time: a verifier holding N accepts only
 *     N+1, then N+2 from N+1, and so on.
 *   - Expiry is checked against the caller's clock `now` (unix seconds).
 *
 * Details the rules above leave open (what libvouch does):
 *   - a member of the wrong JSON type, a "type" other than
 *     "vouch-trust-policy", version < 1, expires <= issued, an issuer that
 *     is not a DID, maxReleaseLifetime < 1, a kid that is not
 *     [A-Za-z0-9._-]{1,64}: VOUCH_E_POLICY_FORMAT; JSON syntax errors keep
 *     their VOUCH_E_JSON_* code; a JWK that is not a valid public key keeps
 *     its VOUCH_E_KEY_* code; more than VOUCH_POLICY_MAX_KEYS keys is
 *     VOUCH_E_LIMIT;
 *   - the root role is mandatory, the others optional; a key that belongs
 *     to no role, an empty or duplicated releaseRequires, or one that does
 *     not include "release" (so that no online key can ever make a release
 *     on its own): VOUCH_E_POLICY_ROLE;
 *   - a threshold that is missing is VOUCH_E_POLICY_FORMAT; one that is
 *     present but not a JSON integer in 1..len(keys) (0, -1, 1.5, "2", 2.0)
 *     is VOUCH_E_POLICY_THRESHOLD.
 *
 * Order of the checks in the verifiers (cap, verify, then parse):
 *   verify_root: size cap (VOUCH_E_JWS_TOO_LARGE) -> JWS structure ->
 *     every signature's protected typ is VOUCH_POLICY_TYP (VOUCH_E_JWS_TYP)
 *     -> payload parse (the root keys live in the payload) -> root
 *     threshold of distinct keys -> development keys -> expiry.
 *   verify_next: size cap -> JWS structure -> typ -> threshold of cur's
 *     root keys (before the new payload is parsed at all) -> payload parse
 *     -> version == cur + 1 -> new root threshold -> development keys ->
 *     expiry. cur's own expiry is not checked: an offline device holding an
 *     expired policy must still be able to follow a rotation.
 *   Extra signatures that do not verify, or are by keys outside the root
 *   role, are ignored; only the count of distinct valid root keys matters.
 *
 * Ownership: a vouch_policy is immutable once returned and freed with
 * vouch_policy_free. Pointers it hands out live as long as it does.
 */
#ifndef VOUCH_POLICY_H
#define VOUCH_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "vouch/error.h"
#include "vouch/jws.h"
#include "vouch/key.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VOUCH_POLICY_TYP "vouch-policy+jwt"
#define VOUCH_POLICY_MAX_KEYS 32u
#define VOUCH_POLICY_MAX_BYTES (64u * 1024u)

typedef enum vouch_role {
    VOUCH_ROLE_ROOT = 0,
    VOUCH_ROLE_RELEASE,
    VOUCH_ROLE_COSIGN,
    VOUCH_ROLE_ISSUER,
    VOUCH_ROLE_SERVER,
    VOUCH_ROLE__COUNT
} vouch_role;

typedef struct vouch_policy vouch_policy;

/* "root", "release", ... ; VOUCH_ROLE__COUNT for an unknown name. */
vouch_role vouch_role_from_name(const char *name);
const char *vouch_role_name(vouch_role r);

/* Parses and checks an unsigned policy document (the payload). */
vouch_code vouch_policy_parse(const char *json, size_t len, vouch_policy **out, vouch_err *err);

/* Verifies a signed policy as the initial root of trust (see above). */
vouch_code vouch_policy_verify_root(const char *jws, size_t len, int64_t now, vouch_policy **out,
                                    vouch_err *err);

/* Verifies a signed policy as the successor of cur (see above). */
vouch_code vouch_policy_verify_next(const vouch_policy *cur, const char *jws, size_t len,
                                    int64_t now, vouch_policy **out, vouch_err *err);

int64_t vouch_policy_version(const vouch_policy *p);
int64_t vouch_policy_expires(const vouch_policy *p);
int64_t vouch_policy_max_release_lifetime(const vouch_policy *p);
int vouch_policy_is_production(const vouch_policy *p);
const char *vouch_policy_issuer(const vouch_policy *p);

/* The signed policy text this policy was verified from (NULL if parsed
 * unsigned), so that a device can store exactly what it pinned. */
const char *vouch_policy_jws(const vouch_policy *p, size_t *len);

/* The keys of a role as keyrefs for vouch_jws_verify_all, and its threshold. */
vouch_code vouch_policy_role_keys(const vouch_policy *p, vouch_role r,
                                  const vouch_jws_keyref **keys, size_t *nkeys,
                                  unsigned *threshold, vouch_err *err);

/* 1 if releases need a threshold of role r. */
int vouch_policy_release_requires(const vouch_policy *p, vouch_role r);

/*
 * Counts the distinct keys of role r that made a valid signature, given the
 * results of vouch_jws_verify_all run with the role's keys; VOUCH_OK if the
 * role's threshold is met, else `fail_code` naming the role and the counts.
 */
vouch_code vouch_policy_check_role(const vouch_policy *p, vouch_role r, const vouch_jws *jws,
                                   vouch_code fail_code, vouch_err *err);

/* The public key with this kid, or NULL. */
const vouch_key *vouch_policy_key(const vouch_policy *p, const char *kid);

/* Precomputes (vouch_key_precompute) every key of role r, for a process
 * that verifies many signatures under them (vouchd: the issuer keys, once
 * per login). Verdicts never change. On the first key that cannot be
 * precomputed, its code; that key and the rest still verify as before, so
 * the caller may go on. */
vouch_code vouch_policy_precompute(vouch_policy *p, vouch_role r, vouch_err *err);

/* The payload as JSON (borrowed). */
const json_t *vouch_policy_json(const vouch_policy *p);

/*
 * Verifies a policy a device has already pinned (read back from its state):
 * as vouch_policy_verify_root but without the expiry check, because the
 * pinned policy is the anchor from which a rotation is checked even after
 * it expired. Never use it for a policy that arrives from outside.
 */
vouch_code vouch_policy_verify_pinned(const char *jws, size_t len, vouch_policy **out,
                                      vouch_err *err);

int64_t vouch_policy_issued(const vouch_policy *p);

/* The keys in document order: count, then the i-th key with its kid and
 * role (kid and role may be NULL); NULL when i is out of range. */
size_t vouch_policy_key_count(const vouch_policy *p);
const vouch_key *vouch_policy_key_at(const vouch_policy *p, size_t i, const char **kid,
                                     vouch_role *role);

/* The kid under which this public key is listed, or NULL. */
const char *vouch_policy_kid_of(const vouch_policy *p, const vouch_key *k);

/* 1 if the RFC 7638 thumbprint is on the development key list (the keys
 * committed under tests/data/keys), else 0. */
int vouch_policy_is_dev_thumbprint(const char *thumbprint);

/*
 * Signs a policy payload as a general JWS: one signature per signer, each
 * with protected {"alg", "typ": VOUCH_POLICY_TYP, "kid": signer kid}. The
 * payload must pass vouch_policy_parse (its code otherwise): a policy that
 * devices would refuse is never signed. Which signers (and how many) is the
 * caller's choice; *out is vouch_malloc'd and NUL-terminated.
 */
vouch_code vouch_policy_sign(const char *payload, size_t len, const vouch_jws_keyref *signers,
                             size_t nsigners, char **out, size_t *out_len, vouch_err *err);

/*
 * The did:web DID document for the policy's keys (new reference): @context
 * DID v1 and JsonWebKey2020 (jws-2020), id = did, one JsonWebKey2020
 * verification method "<did>#<kid>" with publicKeyJwk per key, the root,
 * release, cosign and issuer keys under assertionMethod, the server keys
 * under authentication. did must be a did:web (VOUCH_E_DID_METHOD).
 */
vouch_code vouch_policy_did_document(const vouch_policy *p, const char *did, json_t **out,
                                     vouch_err *err);

void vouch_policy_free(vouch_policy *p);

#ifdef __cplusplus
}
#endif
#endif
