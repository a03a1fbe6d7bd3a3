/*
 * policy_fixture.h - builds trust policies for the policy unit tests and the
 * policy attack tests: fresh keys, a standard payload as a jansson object
 * (tests mutate it to make hostile variants), and a signer that signs any
 * payload, valid or not, with any keys and kids.
 */
#ifndef VOUCH_TEST_POLICY_FIXTURE_H
#define VOUCH_TEST_POLICY_FIXTURE_H

#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "vouch/policy.h"

#define PFX_T0 1763683200LL           /* issued */
#define PFX_YEAR (365LL * 86400LL)
#define PFX_NOW (PFX_T0 + 86400LL)    /* the test clock: one day after issue */
#define PFX_NROOTS 6                  /* roots 0..2 for version 1, 3..5 for rotations */

typedef struct pfx {
    vouch_key *root[PFX_NROOTS];
    vouch_key *release, *cosign, *issuer, *server;
} pfx;

static inline vouch_key *pfx_gen(vouch_key_type t)
{
    vouch_key *k = NULL;
    vouch_err e;

    vouch_err_clear(&e);
    assert_ok(vouch_key_generate(t, &k, &e), e);
    return k;
}

static inline void pfx_init(pfx *f)
{
    memset(f, 0, sizeof(*f));
    for (int i = 0; i < PFX_NROOTS; i++)
        f->root[i] = pfx_gen(i == 1 ? VOUCH_KEY_ED25519 : VOUCH_KEY_P256);
    f->release = pfx_gen(VOUCH_KEY_P256);
    f->cosign = pfx_gen(VOUCH_KEY_ED25519);
    f->issuer = pfx_gen(VOUCH_KEY_P256);
    f->server = pfx_gen(VOUCH_KEY_P256);
}

static inline void pfx_free(pfx *f)
{
    for (int i = 0; i < PFX_NROOTS; i++)
        vouch_key_free(f->root[i]);
    vouch_key_free(f->release);
    vouch_key_free(f->cosign);
    vouch_key_free(f->issuer);
    vouch_key_free(f->server);
    memset(f, 0, sizeof(*f));
}

static inline json_t *pfx_jwk(const vouch_key *k)
{
    json_t *j = NULL;
    vouch_err e;

    vouch_err_clear(&e);
    assert_ok(vouch_key_to_jwk(k, &j, &e), e);
    return j;
}

/* The kid of root index i: "root-<i+1>". */
static inline const char *pfx_root_kid(int i)
{
    static const char *const kids[PFX_NROOTS] = {"root-1", "root-2", "root-3",
                                                 "root-4", "root-5", "root-6"};
    return kids[i];
}

/*
 * A valid production policy payload: the root keys named by roots[0..nroots)
 * with the given threshold, and release-1, cosign-1, issuer-1, server-1.
 */
static inline json_t *pfx_doc_roots(const pfx *f, int64_t version, const int *roots,
                                    size_t nroots, int threshold)
{
    json_t *keys = json_object(), *rk = json_array(), *doc;

    vouch_json_init();
    for (size_t i = 0; i < nroots; i++) {
        json_object_set_new(keys, pfx_root_kid(roots[i]), pfx_jwk(f->root[roots[i]]));
        json_array_append_new(rk, json_string(pfx_root_kid(roots[i])));
    }
    json_object_set_new(keys, "release-1", pfx_jwk(f->release));
    json_object_set_new(keys, "cosign-1", pfx_jwk(f->cosign));
    json_object_set_new(keys, "issuer-1", pfx_jwk(f->issuer));
    json_object_set_new(keys, "server-1", pfx_jwk(f->server));
    doc = json_pack("{s:s,s:I,s:I,s:I,s:s,s:o,"
                    "s:{s:{s:i,s:o},s:{s:i,s:[s]},s:{s:i,s:[s]},s:{s:i,s:[s]},s:{s:i,s:[s]}},"
                    "s:[ss],s:I,s:b}",
                    "type", "vouch-trust-policy", "version", (json_int_t)version, "issued",
                    (json_int_t)PFX_T0, "expires", (json_int_t)(PFX_T0 + PFX_YEAR), "issuer",
                    "did:web:example.com", "keys", keys, "roles", "root", "threshold",
                    threshold, "keys", rk, "release", "threshold", 1, "keys", "release-1",
                    "cosign", "threshold", 1, "keys", "cosign-1", "issuer", "threshold", 1,
                    "keys", "issuer-1", "server", "threshold", 1, "keys", "server-1",
                    "releaseRequires", "release", "cosign", "maxReleaseLifetime",
                    (json_int_t)7776000, "production", 1);
    assert_non_null(doc);
    return doc;
}

/* Version `version` with roots 0,1,2 and threshold 2 (the default project). */
static inline json_t *pfx_doc(const pfx *f, int64_t version)
{
    static const int r[] = {0, 1, 2};
    return pfx_doc_roots(f, version, r, 3, 2);
}

static inline char *pfx_dump(const json_t *doc)
{
    char *s = NULL;
    size_t n = 0;
    vouch_err e;

    vouch_err_clear(&e);
    assert_ok(vouch_json_dump(doc, &s, &n, &e), e);
    return s;
}

/* Signs the payload text as a general JWS, one signature per (key, kid),
 * typ VOUCH_POLICY_TYP unless typ says otherwise. No validation at all. */
static inline char *pfx_sign_text_typ(const char *payload, const vouch_key *const *keys,
                                      const char *const *kids, size_t n, const char *typ)
{
    char *cur = NULL, *next = NULL;
    vouch_err e;

    vouch_err_clear(&e);
    for (size_t i = 0; i < n; i++) {
        vouch_jws_sign_opts o = {typ, kids[i], NULL};
        if (i == 0)
            assert_ok(vouch_jws_sign_general(keys[i], &o, (const uint8_t *)payload,
                                             strlen(payload), &next, &e),
                      e);
        else
            assert_ok(vouch_jws_general_add(cur, strlen(cur), keys[i], &o, &next, &e), e);
        vouch_free(cur);
        cur = next;
        next = NULL;
    }
    return cur;
}

static inline char *pfx_sign_text(const char *payload, const vouch_key *const *keys,
                                  const char *const *kids, size_t n)
{
    return pfx_sign_text_typ(payload, keys, kids, n, VOUCH_POLICY_TYP);
}

/* Signs doc (and releases it) with the root keys of the given indices. */
static inline char *pfx_sign_roots(const pfx *f, json_t *doc, const int *idx, size_t n)
{
    const vouch_key *keys[VOUCH_JWS_MAX_SIGS];
    const char *kids[VOUCH_JWS_MAX_SIGS];
    char *payload = pfx_dump(doc), *out;

    for (size_t i = 0; i < n; i++) {
        keys[i] = f->root[idx[i]];
        kids[i] = pfx_root_kid(idx[i]);
    }
    out = pfx_sign_text(payload, keys, kids, n);
    vouch_free(payload);
    json_decref(doc);
    return out;
}

/* A valid version-1 policy signed by roots 0 and 1. */
static inline char *pfx_v1(const pfx *f)
{
    static const int s[] = {0, 1};
    return pfx_sign_roots(f, pfx_doc(f, 1), s, 2);
}

/* Replaces member path "a" or "a.b" or "a.b.c" of doc with v (stolen). */
static inline void pfx_set(json_t *doc, const char *path, json_t *v)
{
    char buf[128], *parts[4];
    int n = 0;
    json_t *o = doc;

    snprintf(buf, sizeof(buf), "%s", path);
    for (char *t = strtok(buf, "."); t && n < 4; t = strtok(NULL, "."))
        parts[n++] = t;
    for (int i = 0; i < n - 1; i++) {
        o = json_object_get(o, parts[i]);
        assert_non_null(o);
    }
    if (v)
        json_object_set_new(o, parts[n - 1], v);
    else
        json_object_del(o, parts[n - 1]);
}

#endif
