/*
 * project.h - a vouch project directory, shared by `vouch init`,
 * `vouch policy` and `vouch did` (cmd_project.c, cmd_policy.c, cmd_did.c).
 *
 * Layout of a project P (docs/trust.md says which service gets which file):
 *   P/                      0700
 *   P/keys/                 0700; one PKCS#8 PEM per private key we hold,
 *   P/keys/<kid>.pem        0600, named by its kid in the policy
 *   P/policy/<N>.jws        every signed policy version, never overwritten
 *   P/did.json              the did:web DID document of the current policy
 *   P/did-configuration.json the DIF Well Known DID Configuration
 *   P/project.json          domain, DID, current policy version, paths
 *
 * project.json is written last by every command that changes the project:
 * it is the commit point (a crash before it leaves the previous version
 * current). It is parsed strictly: known members only.
 */
#ifndef VOUCH_CLI_PROJECT_H
#define VOUCH_CLI_PROJECT_H

#include <stdint.h>
#include <jansson.h>

#include "vouch/vouch.h"
#include "vouch/policy.h"

#define PROJ_DOMAIN_MAX 100 /* keeps "did:web:<domain>#<kid>" a valid JWS kid */
#define PROJ_PATH_MAX 4096
#define PROJ_DIF_CONTEXT "https://identity.foundation/.well-known/did-configuration/v1"
#define PROJ_LINKAGE_TYPE "DomainLinkageCredential"

typedef struct proj {
    char dir[PROJ_PATH_MAX];
    char domain[PROJ_DOMAIN_MAX + 1];
    char did[PROJ_DOMAIN_MAX + 9];
    char key_type[16];
    int64_t version;
    json_t *keys; /* {kid: "keys/<kid>.pem"} of the private keys we hold */
} proj;

/* Checks a DNS name (lower-case labels of [a-z0-9-], dots, <= 100 bytes)
 * and writes "did:web:<domain>" into did (VOUCH_E_USAGE otherwise). */
vouch_code proj_did_web(const char *domain, char *did, size_t cap, vouch_err *err);

/* "90d", "12h", "30m", "45s", "2w", "1y" or plain seconds; 1s..100y. */
vouch_code proj_parse_duration(const char *s, const char *opt, int64_t *out, vouch_err *err);

/* An integer option in lo..hi (VOUCH_E_USAGE naming opt otherwise). */
vouch_code proj_parse_int(const char *s, const char *opt, long lo, long hi, long *out,
                          vouch_err *err);

/* dir/rel into out (VOUCH_E_ARG when too long). */
vouch_code proj_path(char *out, size_t cap, const char *dir, const char *rel, vouch_err *err);

/* Reads P/project.json strictly; free with proj_free. */
vouch_code proj_load(const char *dir, proj *pj, vouch_err *err);
void proj_free(proj *pj);

/* Writes P/project.json (atomically; exclusive for a new project). */
vouch_code proj_save(const proj *pj, int exclusive, vouch_err *err);

/* Reads and verifies P/policy/<version>.jws as the project's pinned policy
 * (signatures checked, expiry not: an operator may rotate an expired one). */
vouch_code proj_current_policy(const proj *pj, vouch_policy **out, vouch_err *err);

/* Loads the private key P/keys/<kid>.pem (VOUCH_E_NOTFOUND if absent). */
vouch_code proj_load_key(const proj *pj, const char *kid, vouch_key **out, vouch_err *err);

/*
 * Writes P/did.json (the DID document of policy p) and
 * P/did-configuration.json (a DomainLinkageCredential JWT signed by
 * issuer_key under kid "<did>#<issuer_kid>", valid from now to the policy's
 * expiry), replacing earlier versions atomically.
 */
vouch_code proj_write_did_files(const proj *pj, const vouch_policy *p,
                                const vouch_key *issuer_key, const char *issuer_kid,
                                int64_t now, vouch_err *err);

/* Writes JSON (indented, with a final newline) to path atomically. */
vouch_code proj_write_json(const char *path, const json_t *v, unsigned mode, int exclusive,
                           vouch_err *err);

/* The index n of a kid "<role>-<n>", or 0. */
long proj_kid_index(const char *kid, const char *role);

#endif
