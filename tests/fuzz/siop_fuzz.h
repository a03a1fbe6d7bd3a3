/*
 * siop_fuzz.h - the fixture shared by the login-message fuzz targets
 * (fuzz_request_object, fuzz_id_token, fuzz_vp_token, fuzz_submission) and
 * by siop_seeds.c, which writes their seed corpora: fixed keys (generated
 * once for these tests and used nowhere else), a development trust policy
 * built from them in process on first use, a fixed clock, one login's
 * parameters, and a valid response for that login. Everything is built
 * once and kept for the life of the process.
 */
#ifndef VOUCH_SIOP_FUZZ_H
#define VOUCH_SIOP_FUZZ_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vouch/vouch.h"
#include "vouch/policy.h"
#include "vouch/siop.h"

#define SF_NOW 1763769600LL /* 2025-11-22 */
#define SF_DID "did:web:example.com"
#define SF_ORIGIN "https://updates.example.com"

static const char sf_pem_root[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgrzagNJmbqlMr3A3i\n"
    "YnNz7OkGLc9oS9ZSMuNPeI3QM7WhRANCAASb8CNrqXK4LxGtdcGwDjttPOpOrwK3\n"
    "v3HjrBf/dyVHb0tEP+Rh3+R+c10qiG+6HlQDHClC76wyOdXuKkZe43yD\n"
    "-----END PRIVATE KEY-----\n";
static const char sf_pem_release[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgwx/FmN2QfJczd3uA\n"
    "SA9ROV7AuT1j8pdI5EHCpos1QMyhRANCAARxBtynIqJSd8IoIz5hqwtkGVORQ5gJ\n"
    "2Lpjon3EmgLqmFoZKRYYH5+uct+i4/KZUKGSt2Gocrz8tQgDqShCrXjC\n"
    "-----END PRIVATE KEY-----\n";
static const char sf_pem_issuer[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgApk75Yp/9UOZ/YDg\n"
    "jnS95VyQptjCedsE+FRwS7C7Fz2hRANCAAREZysFN0q/hMBLdQjQzoAPGtSey8PN\n"
    "MpErT0Y+jZrreedEcuLUNpxL2PsafYxj317qghkX2wsjQ2reMpFsoDkF\n"
    "-----END PRIVATE KEY-----\n";
static const char sf_pem_server[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgSRkEIgpib2ZwihYA\n"
    "o3jRDJ2cTH/uy50PdnfQyGXOPTOhRANCAAREffauRQYSZr3dTU3hdqMKERLt2Tit\n"
    "Vt5prmJh/z3dUrkFh59OijR2Uql3JBL2+ekWDvXceQcynimx+1LvOzoy\n"
    "-----END PRIVATE KEY-----\n";
static const char sf_pem_dev[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgLLZ2XgN5KAakL+Il\n"
    "NugMX9WckG4bCM2uSmrERWUfG+WhRANCAAQxb87nj59W0/9GTzEpLYfTJtoI9Lqh\n"
    "wYIqdZI6N6kMjhfGM0UnkeJSBG0I7ms8Bn0FQpWiskwue+Ex3TjiZ/04\n"
    "-----END PRIVATE KEY-----\n";
static const char sf_pem_dev2[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIENQg+ztupSTrsTm0OoejVGa5lzcFosRUIoKQ1PM2rZI\n"
    "-----END PRIVATE KEY-----\n";

typedef struct sf_fixture {
    vouch_key *root, *release, *issuer, *server, *dev, *dev2;
    vouch_policy *policy;
    vouch_authz authz, allow;      /* credential mode (constrained), allowlist mode */
    json_t *def;
    vouch_login_params lp;
    char *request;                 /* a valid request object for lp */
    char *cred;                    /* dev's ProductionCredential */
    vouch_siop_response resp;      /* dev's valid response to request */
} sf_fixture;

static sf_fixture sf;

static inline vouch_key *sf_key(const char *pem)
{
    vouch_key *k = NULL;

    if (vouch_key_from_pem(pem, strlen(pem), &k, NULL) != VOUCH_OK)
        abort();
    return k;
}

static inline json_t *sf_jwk(const vouch_key *k)
{
    json_t *j = NULL;

    if (vouch_key_to_jwk(k, &j, NULL) != VOUCH_OK)
        abort();
    return j;
}

/* Builds everything once; aborts if any step fails (a broken fixture must
 * not look like a clean fuzzing run). */
static inline void sf_init(void)
{
    static const char authz[] = "{\"mode\":\"credential\",\"hardware\":[\"board-a\",\"board-b\"],"
                                "\"production_date_from\":\"2025-01-01\","
                                "\"produced_by\":[\"did:web:example.com#line-3\"]}";
    vouch_jws_keyref signer;
    vouch_device_facts f;
    vouch_siop_request rq;
    json_t *doc;
    char *payload = NULL, *pol = NULL, *did = NULL;
    size_t plen = 0, pol_len = 0;

    if (sf.policy)
        return;
    vouch_json_init();
    sf.root = sf_key(sf_pem_root);
    sf.release = sf_key(sf_pem_release);
    sf.issuer = sf_key(sf_pem_issuer);
    sf.server = sf_key(sf_pem_server);
    sf.dev = sf_key(sf_pem_dev);
    sf.dev2 = sf_key(sf_pem_dev2);
    doc = json_pack("{s:s,s:i,s:I,s:I,s:s,s:{s:o,s:o,s:o,s:o},"
                    "s:{s:{s:i,s:[s]},s:{s:i,s:[s]},s:{s:i,s:[s]},s:{s:i,s:[s]}},"
                    "s:[s],s:i,s:b}",
                    "type", "vouch-trust-policy", "version", 1, "issued",
                    (json_int_t)(SF_NOW - 86400), "expires", (json_int_t)(SF_NOW + 100LL * 365 * 86400),
                    "issuer", SF_DID, "keys", "root-1", sf_jwk(sf.root), "release-1",
                    sf_jwk(sf.release), "issuer-1", sf_jwk(sf.issuer), "server-1",
                    sf_jwk(sf.server), "roles", "root", "threshold", 1, "keys", "root-1",
                    "release", "threshold", 1, "keys", "release-1", "issuer", "threshold", 1,
                    "keys", "issuer-1", "server", "threshold", 1, "keys", "server-1",
                    "releaseRequires", "release", "maxReleaseLifetime", 7776000, "production", 0);
    signer.kid = "root-1";
    signer.key = sf.root;
    if (!doc || vouch_json_dump(doc, &payload, &plen, NULL) != VOUCH_OK ||
        vouch_policy_sign(payload, plen, &signer, 1, &pol, &pol_len, NULL) != VOUCH_OK ||
        vouch_policy_verify_root(pol, pol_len, SF_NOW, &sf.policy, NULL) != VOUCH_OK ||
        vouch_authz_parse(authz, strlen(authz), &sf.authz, NULL) != VOUCH_OK ||
        vouch_authz_definition(&sf.authz, &sf.def, NULL) != VOUCH_OK)
        abort();
    vouch_authz_default(&sf.allow);
    sf.allow.allowlist_mode = 1;
    sf.lp.client_id = SF_DID;
    sf.lp.response_uri = SF_ORIGIN "/auth/siop/response/7Fz";
    sf.lp.nonce = "Tq3pX0m2vN8yK5wR1cJ7aB4eH6uL9sDf";
    sf.lp.state = "st-5a2e";
    sf.lp.iat = SF_NOW;
    sf.lp.exp = SF_NOW + 120;
    memset(&f, 0, sizeof(f));
    if (vouch_did_key_encode(sf.dev, &did, NULL) != VOUCH_OK)
        abort();
    strcpy(f.did, did);
    strcpy(f.serial, "SN-0042");
    strcpy(f.hardware, "board-a");
    strcpy(f.produced_by, "did:web:example.com#line-3");
    strcpy(f.production_date, "2025-11-20");
    strcpy(f.mac, "02:00:5e:10:00:2a");
    if (vouch_production_issue(sf.issuer, SF_DID, "issuer-1", &f, SF_NOW - 3600,
                               20LL * 365 * 86400, &sf.cred, NULL) != VOUCH_OK ||
        vouch_siop_request_build(sf.server, "server-1", &sf.lp, sf.def, &sf.request, NULL) !=
            VOUCH_OK ||
        vouch_siop_request_verify(sf.policy, sf.request, strlen(sf.request), SF_ORIGIN, SF_NOW,
                                  &rq, NULL) != VOUCH_OK ||
        vouch_siop_response_build(sf.dev, sf.cred, &rq, SF_NOW, &sf.resp, NULL) != VOUCH_OK)
        abort();
    vouch_siop_request_free(&rq);
    vouch_free(did);
    vouch_free(pol);
    vouch_free(payload);
    json_decref(doc);
}

/* The server's verdict on a response (credential or allowlist mode). */
static inline vouch_code sf_verify(int allowlist, const char *idt, size_t idl, const char *vpt,
                            size_t vpl, const char *sub, size_t subl, vouch_device_facts *f)
{
    return vouch_siop_response_verify(sf.policy, allowlist ? &sf.allow : &sf.authz, &sf.lp, idt,
                                      idl, vpt, vpl, sub, subl, SF_NOW, f, NULL);
}

/* What every accepted response must satisfy. */
static inline void sf_check_facts(int allowlist, const vouch_device_facts *f)
{
    if (strncmp(f->did, "did:key:z", 9) != 0 || memchr(f->did, '\0', sizeof(f->did)) == NULL)
        abort();
    if (!allowlist && (vouch_authz_check(&sf.authz, f, NULL) != VOUCH_OK ||
                       vouch_production_facts_check(f, NULL) != VOUCH_OK))
        abort();
}

#endif
