/* cmd_policy.c - `vouch policy`: export, show, verify and rotate the trust
 * policy (vouch/policy.h; the project layout is in project.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vouch/cli.h"
#include "project.h"

#define ROT_MAX_NEW 16

/* The time to check against: --now, else the clock. */
static vouch_code policy_now(const cli_args *a, int64_t *now, vouch_err *err)
{
    const char *s = cli_get(a, "now");
    char *end = NULL;
    long long v;

    if (!s) {
        *now = (int64_t)time(NULL);
        return VOUCH_OK;
    }
    v = strtoll(s, &end, 10);
    if (!*s || *end || v < 0 || v > VOUCH_JSON_MAX_SAFE_INT)
        return vouch_err_set(err, VOUCH_E_USAGE, "--now must be unix seconds");
    *now = (int64_t)v;
    return VOUCH_OK;
}

/* ---- export ---- */

static vouch_code policy_export(const cli_args *a, vouch_err *err)
{
    const char *dir, *outp;
    proj pj;
    vouch_policy *p = NULL;
    const char *text;
    size_t len = 0;
    vouch_code rc;

    memset(&pj, 0, sizeof(pj));
    if ((rc = cli_require(a, "dir", &dir, err)) != VOUCH_OK ||
        (rc = cli_require(a, "out", &outp, err)) != VOUCH_OK ||
        (rc = proj_load(dir, &pj, err)) != VOUCH_OK ||
        (rc = proj_current_policy(&pj, &p, err)) != VOUCH_OK)
        goto out;
    text = vouch_policy_jws(p, &len);
    if (strcmp(outp, "-") == 0)
        printf("%s\n", text);
    else if ((rc = vouch_file_write_atomic(outp, text, len, 0644, 1, err)) != VOUCH_OK)
        goto out;
    if (a->json && strcmp(outp, "-") != 0)
        rc = cli_print_json(json_pack("{s:s,s:I,s:I}", "out", outp, "version",
                                      (json_int_t)vouch_policy_version(p), "expires",
                                      (json_int_t)vouch_policy_expires(p)),
                            err);
    else if (strcmp(outp, "-") != 0)
        printf("wrote policy version %lld to %s\n", (long long)vouch_policy_version(p), outp);
out:
    vouch_policy_free(p);
    proj_free(&pj);
    return rc;
}

/* ---- show ---- */

static vouch_code policy_show(const cli_args *a, vouch_err *err)
{
    char *text = NULL;
    size_t len = 0;
    vouch_jws *j = NULL;
    vouch_policy *p = NULL;
    json_t *out = NULL, *roles, *sigs;
    vouch_code rc;

    if ((rc = cli_read_text(a->pos[0], VOUCH_POLICY_MAX_BYTES + 1, &text, &len, err)) !=
        VOUCH_OK)
        goto out;
    if (len > VOUCH_POLICY_MAX_BYTES) {
        rc = vouch_err_set(err, VOUCH_E_JWS_TOO_LARGE, "policy is larger than %u bytes",
                           VOUCH_POLICY_MAX_BYTES);
        goto out;
    }
    /* show describes; it decides nothing (policy verify does) */
    if ((rc = vouch_jws_parse(text, len, &j, err)) != VOUCH_OK ||
        (rc = vouch_policy_parse((const char *)j->payload, j->payload_len, &p, err)) != VOUCH_OK)
        goto out;
    out = json_pack("{s:I,s:I,s:I,s:s,s:b,s:I,s:{},s:[],s:[],s:b}", "version",
                    (json_int_t)vouch_policy_version(p), "issued",
                    (json_int_t)vouch_policy_issued(p), "expires",
                    (json_int_t)vouch_policy_expires(p), "issuer", vouch_policy_issuer(p),
                    "production", vouch_policy_is_production(p), "maxReleaseLifetime",
                    (json_int_t)vouch_policy_max_release_lifetime(p), "roles", "releaseRequires",
                    "signatures", "signaturesChecked", 0);
    if (!out) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory");
        goto out;
    }
    roles = json_object_get(out, "roles");
    for (int r = 0; r < VOUCH_ROLE__COUNT; r++) {
        const vouch_jws_keyref *refs;
        size_t nk;
        unsigned th;
        json_t *ro, *keys;

        if (vouch_policy_role_keys(p, (vouch_role)r, &refs, &nk, &th, NULL) != VOUCH_OK)
            continue;
        if (vouch_policy_release_requires(p, (vouch_role)r))
            json_array_append_new(json_object_get(out, "releaseRequires"),
                                  json_string(vouch_role_name((vouch_role)r)));
        ro = json_pack("{s:i,s:[]}", "threshold", (int)th, "keys");
        keys = json_object_get(ro, "keys");
        for (size_t i = 0; ro && i < nk; i++) {
            char tp[VOUCH_THUMBPRINT_LEN + 1] = "";
            vouch_key_thumbprint(refs[i].key, tp, NULL);
            json_array_append_new(
                keys, json_pack("{s:s,s:s,s:s}", "kid", vouch_policy_kid_of(p, refs[i].key),
                                "type", vouch_key_type_name(vouch_key_get_type(refs[i].key)),
                                "thumbprint", tp));
        }
        if (!ro || json_object_set_new(roles, vouch_role_name((vouch_role)r), ro) != 0) {
            rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory");
            goto out;
        }
    }
    sigs = json_object_get(out, "signatures");
    for (size_t i = 0; i < j->nsigs; i++)
        json_array_append_new(sigs, json_pack("{s:s?,s:s}", "kid", j->sigs[i].kid, "alg",
                                              j->sigs[i].alg));
    if (a->json) {
        rc = cli_print_json(out, err);
        out = NULL;
        goto out;
    }
    printf("trust policy version %lld (%s)\n", (long long)vouch_policy_version(p),
           vouch_policy_is_production(p) ? "production" : "development");
    printf("  issuer    %s\n", vouch_policy_issuer(p));
    printf("  issued    %lld\n  expires   %lld\n", (long long)vouch_policy_issued(p),
           (long long)vouch_policy_expires(p));
    printf("  releases  need");
    for (int r = 0; r < VOUCH_ROLE__COUNT; r++)
        if (vouch_policy_release_requires(p, (vouch_role)r))
            printf(" %s", vouch_role_name((vouch_role)r));
    printf("; live at most %llds\n", (long long)vouch_policy_max_release_lifetime(p));
    {
        const char *rn;
        json_t *ro;
        json_object_foreach(roles, rn, ro) {
            size_t i;
            json_t *k;
            printf("  role %-7s %lld of %zu:", rn,
                   (long long)json_integer_value(json_object_get(ro, "threshold")),
                   json_array_size(json_object_get(ro, "keys")));
            json_array_foreach(json_object_get(ro, "keys"), i, k)
                printf(" %s (%s %s)", json_string_value(json_object_get(k, "kid")),
                       json_string_value(json_object_get(k, "type")),
                       json_string_value(json_object_get(k, "thumbprint")));
            printf("\n");
        }
    }
    printf("  signed by");
    for (size_t i = 0; i < j->nsigs; i++)
        printf(" %s", j->sigs[i].kid ? j->sigs[i].kid : "(no kid)");
    printf(" (not checked: use `vouch policy verify`)\n");
out:
    json_decref(out);
    vouch_policy_free(p);
    vouch_jws_free(j);
    vouch_free(text);
    return rc;
}

/* ---- verify ---- */

static vouch_code policy_read(const char *path, char **text, size_t *len, vouch_err *err)
{
    vouch_code rc = cli_read_text(path, VOUCH_POLICY_MAX_BYTES + 1, text, len, err);

    if (rc == VOUCH_E_LIMIT)
        rc = vouch_err_set(err, VOUCH_E_JWS_TOO_LARGE, "%.200s is larger than %u bytes", path,
                           VOUCH_POLICY_MAX_BYTES);
    return rc;
}

static vouch_code policy_verify(const cli_args *a, vouch_err *err)
{
    const char *trusted = cli_get(a, "trusted");
    char *text = NULL;
    size_t len = 0;
    vouch_policy *cur = NULL, *next = NULL;
    int64_t now = 0;
    vouch_code rc;

    if ((rc = policy_now(a, &now, err)) != VOUCH_OK)
        goto out;
    if (trusted) {
        /* the pinned policy is the anchor: its signatures are checked, its
         * expiry is not (a rotation is how an expired one is replaced) */
        if ((rc = policy_read(trusted, &text, &len, err)) != VOUCH_OK)
            goto out;
        if ((rc = vouch_policy_verify_pinned(text, len, &cur, err)) != VOUCH_OK) {
            vouch_err_prefix(err, "--trusted %.200s", trusted);
            goto out;
        }
        vouch_free(text);
        text = NULL;
    }
    /* each argument must be the successor of the one before */
    for (int i = 0; i < a->npos; i++) {
        if ((rc = policy_read(a->pos[i], &text, &len, err)) != VOUCH_OK)
            goto out;
        if (cur)
            rc = vouch_policy_verify_next(cur, text, len, now, &next, err);
        else
            rc = vouch_policy_verify_root(text, len, now, &next, err);
        if (rc != VOUCH_OK) {
            vouch_err_prefix(err, "%.200s", a->pos[i]);
            goto out;
        }
        vouch_policy_free(cur);
        cur = next;
        next = NULL;
        vouch_free(text);
        text = NULL;
    }
    if (a->json)
        rc = cli_print_json(json_pack("{s:b,s:I,s:I,s:s,s:b,s:s}", "valid", 1, "version",
                                      (json_int_t)vouch_policy_version(cur), "expires",
                                      (json_int_t)vouch_policy_expires(cur), "issuer",
                                      vouch_policy_issuer(cur), "production",
                                      vouch_policy_is_production(cur), "as",
                                      trusted ? "successor" : "root"),
                            err);
    else
        printf("%lld\n", (long long)vouch_policy_version(cur));
out:
    vouch_policy_free(cur);
    vouch_policy_free(next);
    vouch_free(text);
    return rc;
}

/* ---- rotate ---- */

typedef struct rot_new {
    char kid[72];
    vouch_key *key; /* private, generated here */
} rot_new;

/* A root key held outside P/keys, given with --root-key KID=KEY. */
typedef struct rot_given {
    char kid[72];
    const char *ref; /* KEY as given (never printed: a URI may carry a PIN) */
    vouch_key *key;  /* private: a key file, or a handle on a token's key */
} rot_given;

typedef struct rot {
    proj pj;
    vouch_policy *cur;
    json_t *doc; /* the new payload being built */
    rot_new made[ROT_MAX_NEW];
    size_t nmade;
    rot_given given[CLI_MAX_REPEAT]; /* --root-key */
    size_t ngiven;
    vouch_key *cosigner;
    vouch_key *loaded[2 * VOUCH_POLICY_MAX_KEYS]; /* private keys read from P/keys */
    size_t nloaded;
    json_t *retired; /* kids whose private files are no longer in the policy */
} rot;

static json_t *rot_role_keys(rot *r, const char *role)
{
    return json_object_get(json_object_get(json_object_get(r->doc, "roles"), role), "keys");
}

/* The role of kid in the new payload, or NULL. */
static const char *rot_role_of(rot *r, const char *kid, size_t *pos)
{
    json_t *roles = json_object_get(r->doc, "roles"), *ro, *v;
    const char *name;
    size_t i;

    json_object_foreach(roles, name, ro) {
        json_array_foreach(json_object_get(ro, "keys"), i, v)
            if (strcmp(json_string_value(v), kid) == 0) {
                if (pos)
                    *pos = i;
                return name;
            }
    }
    return NULL;
}

/* The next free "<role>-<n>": above every kid in the old and new payloads
 * and every key file, so that a kid never names two different keys. */
static vouch_code rot_next_kid(rot *r, const char *role, char *kid, size_t cap, vouch_err *err)
{
    long max = 0;
    const char *k;
    json_t *v;
    char path[PROJ_PATH_MAX], rel[96];

    json_object_foreach(json_object_get(r->doc, "keys"), k, v)
        if (proj_kid_index(k, role) > max)
            max = proj_kid_index(k, role);
    json_object_foreach((json_t *)json_object_get(vouch_policy_json(r->cur), "keys"), k, v)
        if (proj_kid_index(k, role) > max)
            max = proj_kid_index(k, role);
    do {
        max++;
        snprintf(rel, sizeof(rel), "keys/%s-%ld.pem", role, max);
        if (proj_path(path, sizeof(path), r->pj.dir, rel, err) != VOUCH_OK)
            return VOUCH_E_ARG;
    } while (access(path, F_OK) == 0 && max < 1000000);
    if ((size_t)snprintf(kid, cap, "%s-%ld", role, max) >= cap)
        return vouch_err_set(err, VOUCH_E_LIMIT, "too many %s keys", role);
    return VOUCH_OK;
}

static vouch_code rot_jwk_set(rot *r, const char *kid, const vouch_key *k, vouch_err *err)
{
    json_t *jwk = NULL;
    vouch_code rc = vouch_key_to_jwk(k, &jwk, err);

    if (rc == VOUCH_OK && json_object_set_new(json_object_get(r->doc, "keys"), kid, jwk) != 0)
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory");
    return rc;
}

/* A fresh key of the project's type, recorded to be saved later. */
static vouch_code rot_generate(rot *r, const char *role, const char **kid, vouch_err *err)
{
    rot_new *m;
    vouch_code rc;

    if (r->nmade >= ROT_MAX_NEW) {
        rc = vouch_err_set(err, VOUCH_E_LIMIT, "at most %d new keys per rotation", ROT_MAX_NEW);
        goto out;
    }
    m = &r->made[r->nmade];
    if ((rc = rot_next_kid(r, role, m->kid, sizeof(m->kid), err)) != VOUCH_OK ||
        (rc = vouch_key_generate(vouch_key_type_from_name(r->pj.key_type), &m->key, err)) !=
            VOUCH_OK ||
        (rc = rot_jwk_set(r, m->kid, m->key, err)) != VOUCH_OK)
        goto out;
    r->nmade++;
    *kid = m->kid;
out:
    return rc;
}

static void rot_retire(rot *r, const char *kid)
{
    if (json_object_get(r->pj.keys, kid)) {
        json_array_append_new(r->retired, json_string(kid));
        json_object_del(r->pj.keys, kid);
    }
}

static vouch_code rot_remove(rot *r, const char *kid, vouch_err *err)
{
    size_t pos = 0;
    const char *role = rot_role_of(r, kid, &pos);
    vouch_code rc = VOUCH_OK;

    if (!role) {
        rc = vouch_err_set(err, VOUCH_E_NOTFOUND, "--remove-key: no key %.64s in the policy",
                           kid);
        goto out;
    }
    json_array_remove(rot_role_keys(r, role), pos);
    rot_retire(r, kid);
    json_object_del(json_object_get(r->doc, "keys"), kid);
out:
    return rc;
}

static vouch_code rot_replace(rot *r, const char *kid, int root_only, vouch_err *err)
{
    size_t pos = 0;
    const char *role = rot_role_of(r, kid, &pos), *nk = NULL;
    char rn[16];
    vouch_code rc = VOUCH_OK;

    if (!role) {
        rc = vouch_err_set(err, VOUCH_E_NOTFOUND, "--replace: no key %.64s in the policy", kid);
        goto out;
    }
    snprintf(rn, sizeof(rn), "%s", role);
    if (root_only && strcmp(rn, "root") != 0) {
        rc = vouch_err_set(err, VOUCH_E_USAGE, "--replace-root: %.64s is a %s key", kid, rn);
        goto out;
    }
    if (strcmp(rn, "cosign") == 0) {
        rc = vouch_err_set(err, VOUCH_E_USAGE,
                           "the co-signer's key is not ours to generate: use --cosigner");
        goto out;
    }
    if ((rc = rot_generate(r, rn, &nk, err)) != VOUCH_OK)
        goto out;
    if (json_array_set_new(rot_role_keys(r, rn), pos, json_string(nk)) != 0) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory");
        goto out;
    }
    rot_retire(r, kid);
    json_object_del(json_object_get(r->doc, "keys"), kid);
out:
    return rc;
}

/*
 * --add-key ROLE generates a key into P/keys; --add-key ROLE=KEY adds a key
 * held elsewhere (a did:key, a public key file, or a PKCS#11 URI whose key
 * stays in its token, as a release key in an HSM does): only its public half
 * enters the policy.
 */
static vouch_code rot_add(rot *r, const char *spec, vouch_err *err)
{
    char role[16];
    const char *eq = strchr(spec, '='), *nk = NULL;
    size_t rlen = eq ? (size_t)(eq - spec) : strlen(spec);
    vouch_role ro;
    json_t *roles = json_object_get(r->doc, "roles");
    vouch_key *held = NULL, *pub = NULL;
    char kid[72];
    vouch_code rc = VOUCH_OK;

    if (rlen >= sizeof(role)) {
        rc = vouch_err_set(err, VOUCH_E_USAGE, "--add-key: unknown role");
        goto out;
    }
    memcpy(role, spec, rlen);
    role[rlen] = '\0';
    ro = vouch_role_from_name(role);
    if (ro == VOUCH_ROLE__COUNT || ro == VOUCH_ROLE_COSIGN) {
        rc = vouch_err_set(err, VOUCH_E_USAGE,
                           "--add-key takes root, release, issuer or server (the co-signer's "
                           "key comes with --cosigner)");
        goto out;
    }
    if (eq) {
        if ((rc = cli_load_key(eq + 1, &held, err)) != VOUCH_OK) {
            vouch_err_prefix(err, "--add-key %s", role);
            goto out;
        }
        if ((rc = vouch_key_public_copy(held, &pub, err)) != VOUCH_OK ||
            (rc = rot_next_kid(r, role, kid, sizeof(kid), err)) != VOUCH_OK ||
            (rc = rot_jwk_set(r, kid, pub, err)) != VOUCH_OK)
            goto out;
        nk = kid;
    } else if ((rc = rot_generate(r, role, &nk, err)) != VOUCH_OK) {
        goto out;
    }
    if (!json_object_get(roles, role) &&
        json_object_set_new(roles, role, json_pack("{s:i,s:[]}", "threshold", 1, "keys")) != 0) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory");
        goto out;
    }
    if (json_array_append_new(rot_role_keys(r, role), json_string(nk)) != 0)
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory");
out:
    vouch_key_free(pub);
    vouch_key_free(held);
    return rc;
}

static vouch_code rot_set_cosigner(rot *r, const char *ref, vouch_err *err)
{
    json_t *keys, *v;
    char kid[72];
    size_t i;
    vouch_key *pub = NULL;
    vouch_code rc;

    if ((rc = cli_load_key(ref, &pub, err)) != VOUCH_OK) {
        vouch_err_prefix(err, "--cosigner");
        goto out;
    }
    if ((rc = vouch_key_public_copy(pub, &r->cosigner, err)) != VOUCH_OK ||
        (rc = rot_next_kid(r, "cosign", kid, sizeof(kid), err)) != VOUCH_OK)
        goto out;
    keys = rot_role_keys(r, "cosign");
    if (!keys) {
        json_object_set_new(json_object_get(r->doc, "roles"), "cosign",
                            json_pack("{s:i,s:[]}", "threshold", 1, "keys"));
        keys = rot_role_keys(r, "cosign");
    }
    json_array_foreach(keys, i, v)
        json_object_del(json_object_get(r->doc, "keys"), json_string_value(v));
    json_array_clear(keys);
    if (json_array_append_new(keys, json_string(kid)) != 0 ||
        json_object_set_new(json_object_get(json_object_get(r->doc, "roles"), "cosign"),
                            "threshold", json_integer(1)) != 0) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory");
        goto out;
    }
    rc = rot_jwk_set(r, kid, r->cosigner, err);
out:
    vouch_key_free(pub);
    return rc;
}

/*
 * --root-key KID=KEY, before anything else: the syntax, each KID once, and
 * KEY loaded (a PKCS#11 URI, its PIN as for every key, or a private key
 * file) with its private half. Whether KID is a root key, and KEY the key
 * listed under it, is rot_given_check's, once the new payload exists.
 */
static vouch_code rot_given_load(rot *r, const cli_args *a, vouch_err *err)
{
    const char *const *vals;
    int nv = cli_get_all(a, "root-key", &vals);
    vouch_code rc = VOUCH_OK;

    for (int i = 0; i < nv; i++) {
        rot_given *g = &r->given[r->ngiven];
        const char *eq = strchr(vals[i], '=');
        size_t klen = eq ? (size_t)(eq - vals[i]) : 0;

        if (!eq || klen == 0 || !eq[1]) {
            rc = vouch_err_set(err, VOUCH_E_USAGE, "--root-key takes KID=KEY");
            goto out;
        }
        if (klen >= sizeof(g->kid)) {
            rc = vouch_err_set(err, VOUCH_E_USAGE, "--root-key: KID longer than %zu bytes",
                               sizeof(g->kid) - 1);
            goto out;
        }
        memcpy(g->kid, vals[i], klen);
        g->kid[klen] = '\0';
        g->ref = eq + 1;
        for (size_t j = 0; j < r->ngiven; j++)
            if (strcmp(r->given[j].kid, g->kid) == 0) {
                rc = vouch_err_set(err, VOUCH_E_USAGE, "--root-key: %.64s given twice",
                                   g->kid);
                goto out;
            }
        r->ngiven++;
    }
    for (size_t i = 0; i < r->ngiven; i++) {
        rot_given *g = &r->given[i];

        if ((rc = cli_load_key(g->ref, &g->key, err)) != VOUCH_OK) {
            vouch_err_prefix(err, "--root-key %.64s", g->kid);
            goto out;
        }
        if (!vouch_key_has_private(g->key)) {
            rc = vouch_err_set(err, VOUCH_E_KEY_NOT_PRIVATE,
                               "--root-key %.64s: KEY holds no private key", g->kid);
            goto out;
        }
    }
out:
    return rc;
}

/* Where kid is a root key of p: 1 with its public key in *listed, else 0. */
static int rot_root_of(const vouch_policy *p, const char *kid, const vouch_key **listed)
{
    const vouch_jws_keyref *refs;
    size_t n = 0;

    if (vouch_policy_role_keys(p, VOUCH_ROLE_ROOT, &refs, &n, NULL, NULL) != VOUCH_OK)
        return 0;
    for (size_t i = 0; i < n; i++) {
        const char *k = vouch_policy_kid_of(p, refs[i].key);
        if (k && strcmp(k, kid) == 0) {
            *listed = refs[i].key;
            return 1;
        }
    }
    return 0;
}

/*
 * Each --root-key KID must be a root key of the current policy or of the
 * new payload np, and KEY's public key the one listed under KID there (in
 * both, when both list it): a wrong token object, or a key file of another
 * root, never signs. Public keys are compared, never kids or labels.
 */
static vouch_code rot_given_check(rot *r, const vouch_policy *np, vouch_err *err)
{
    vouch_code rc = VOUCH_OK;

    for (size_t i = 0; i < r->ngiven; i++) {
        const rot_given *g = &r->given[i];
        const vouch_policy *ps[2] = {r->cur, np};
        int found = 0;

        for (int s = 0; s < 2; s++) {
            const vouch_key *listed = NULL;
            char want[VOUCH_THUMBPRINT_LEN + 1] = "", got[VOUCH_THUMBPRINT_LEN + 1] = "";

            if (!rot_root_of(ps[s], g->kid, &listed))
                continue;
            found = 1;
            if (vouch_key_equal(g->key, listed))
                continue;
            vouch_key_thumbprint(listed, want, NULL);
            vouch_key_thumbprint(g->key, got, NULL);
            rc = vouch_err_set(err, VOUCH_E_USAGE,
                               "--root-key %.64s: KEY is not the key policy version %lld lists "
                               "under %.64s (thumbprint %s, KEY's %s)",
                               g->kid, (long long)vouch_policy_version(ps[s]), g->kid, want,
                               got);
            goto out;
        }
        if (!found) {
            rc = vouch_err_set(err, VOUCH_E_USAGE,
                               "--root-key %.64s: not a root key of policy version %lld or "
                               "%lld",
                               g->kid, (long long)vouch_policy_version(r->cur),
                               (long long)vouch_policy_version(np));
            goto out;
        }
    }
out:
    return rc;
}

/* The private key of kid: given with --root-key, else generated in this
 * run, else P/keys/<kid>.pem; NULL (no error) when we do not hold it. */
static vouch_code rot_private(rot *r, const char *kid, const vouch_key **out, vouch_err *err)
{
    vouch_key *k = NULL;
    vouch_code rc = VOUCH_OK;

    *out = NULL;
    for (size_t i = 0; i < r->ngiven; i++)
        if (strcmp(r->given[i].kid, kid) == 0) {
            *out = r->given[i].key;
            goto out;
        }
    for (size_t i = 0; i < r->nmade; i++)
        if (strcmp(r->made[i].kid, kid) == 0) {
            *out = r->made[i].key;
            goto out;
        }
    rc = proj_load_key(&r->pj, kid, &k, err);
    if (rc == VOUCH_E_NOTFOUND) {
        rc = VOUCH_OK; /* held elsewhere (offline, a token) and not given: not a signer */
        goto out;
    }
    if (rc != VOUCH_OK)
        goto out;
    if (r->nloaded >= sizeof(r->loaded) / sizeof(r->loaded[0])) {
        vouch_key_free(k);
        rc = vouch_err_set(err, VOUCH_E_LIMIT, "too many keys");
        goto out;
    }
    r->loaded[r->nloaded++] = k;
    *out = k;
out:
    return rc;
}

/*
 * Chooses the signers: a threshold of the old root keys, preferring those
 * that stay roots (each of them counts for both sides), then new root keys
 * until the new threshold is met. Each signs once, under its new kid if it
 * has one, else its old kid.
 */
static vouch_code rot_signers(rot *r, const vouch_policy *np, vouch_jws_keyref *sig,
                              size_t *nsig, vouch_err *err)
{
    const vouch_jws_keyref *oref, *nref;
    size_t on = 0, nn = 0, n = 0;
    unsigned oth = 0, nth = 0, ocount = 0, ncount = 0;
    vouch_code rc;

    if ((rc = vouch_policy_role_keys(r->cur, VOUCH_ROLE_ROOT, &oref, &on, &oth, err)) !=
            VOUCH_OK ||
        (rc = vouch_policy_role_keys(np, VOUCH_ROLE_ROOT, &nref, &nn, &nth, err)) != VOUCH_OK)
        goto out;
    for (int pass = 0; pass < 2 && ocount < oth; pass++)
        for (size_t i = 0; i < on && ocount < oth; i++) {
            const char *okid = vouch_policy_kid_of(r->cur, oref[i].key);
            const char *nkid = vouch_policy_kid_of(np, oref[i].key);
            const vouch_key *priv = NULL;

            if ((pass == 0) != (nkid != NULL))
                continue;
            if ((rc = rot_private(r, okid, &priv, err)) != VOUCH_OK)
                goto out;
            if (!priv || !vouch_key_equal(priv, oref[i].key))
                continue;
            sig[n].kid = nkid ? nkid : okid;
            sig[n++].key = priv;
            ocount++;
            ncount += nkid != NULL;
        }
    for (size_t i = 0; i < nn && ncount < nth; i++) {
        const char *nkid = vouch_policy_kid_of(np, nref[i].key);
        const vouch_key *priv = NULL;
        size_t j;

        for (j = 0; j < n; j++)
            if (vouch_key_equal(sig[j].key, nref[i].key))
                break;
        if (j < n)
            continue;
        if ((rc = rot_private(r, nkid, &priv, err)) != VOUCH_OK)
            goto out;
        if (!priv || !vouch_key_equal(priv, nref[i].key))
            continue;
        sig[n].kid = nkid;
        sig[n++].key = priv;
        ncount++;
    }
    if (ocount < oth || ncount < nth) {
        rc = vouch_err_set(err, VOUCH_E_POLICY_SIGNATURES,
                           "not enough root keys in %.200s/keys or given with --root-key: "
                           "%u of %u old and %u of %u new",
                           r->pj.dir, ocount, oth, ncount, nth);
        goto out;
    }
    *nsig = n;
out:
    return rc;
}

static vouch_code policy_rotate(const cli_args *a, vouch_err *err)
{
    const char *dir, *opt, *const *vals;
    rot *r = NULL;
    vouch_policy *np = NULL, *check = NULL;
    vouch_jws_keyref sig[2 * VOUCH_POLICY_MAX_KEYS];
    size_t nsig = 0, plen = 0, jlen = 0;
    char *payload = NULL, *jws = NULL, path[PROJ_PATH_MAX], rel[96];
    int64_t now = (int64_t)time(NULL), lifetime;
    const vouch_key *issuer = NULL;
    const char *issuer_kid = NULL;
    int nv;
    vouch_code rc;

    r = vouch_calloc(1, sizeof(*r));
    if (!r) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory");
        goto out;
    }
    if ((rc = cli_require(a, "dir", &dir, err)) != VOUCH_OK ||
        (rc = proj_load(dir, &r->pj, err)) != VOUCH_OK ||
        (rc = proj_current_policy(&r->pj, &r->cur, err)) != VOUCH_OK ||
        (rc = rot_given_load(r, a, err)) != VOUCH_OK)
        goto out;
    lifetime = vouch_policy_expires(r->cur) - vouch_policy_issued(r->cur);
    if ((opt = cli_get(a, "expires")) &&
        (rc = proj_parse_duration(opt, "expires", &lifetime, err)) != VOUCH_OK)
        goto out;
    r->doc = json_deep_copy(vouch_policy_json(r->cur));
    r->retired = json_array();
    if (!r->doc || !r->retired ||
        json_object_set_new(r->doc, "version",
                            json_integer((json_int_t)(vouch_policy_version(r->cur) + 1))) ||
        json_object_set_new(r->doc, "issued", json_integer((json_int_t)now)) ||
        json_object_set_new(r->doc, "expires", json_integer((json_int_t)(now + lifetime)))) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory");
        goto out;
    }
    /* the changes, in a fixed order: remove, replace, add, co-signer, threshold */
    nv = cli_get_all(a, "remove-key", &vals);
    for (int i = 0; i < nv; i++)
        if ((rc = rot_remove(r, vals[i], err)) != VOUCH_OK)
            goto out;
    nv = cli_get_all(a, "replace-root", &vals);
    for (int i = 0; i < nv; i++)
        if ((rc = rot_replace(r, vals[i], 1, err)) != VOUCH_OK)
            goto out;
    nv = cli_get_all(a, "replace", &vals);
    for (int i = 0; i < nv; i++)
        if ((rc = rot_replace(r, vals[i], 0, err)) != VOUCH_OK)
            goto out;
    nv = cli_get_all(a, "add-key", &vals);
    for (int i = 0; i < nv; i++)
        if ((rc = rot_add(r, vals[i], err)) != VOUCH_OK)
            goto out;
    if ((opt = cli_get(a, "cosigner")) && (rc = rot_set_cosigner(r, opt, err)) != VOUCH_OK)
        goto out;
    if ((opt = cli_get(a, "threshold"))) {
        long th;
        if ((rc = proj_parse_int(opt, "threshold", 1, VOUCH_POLICY_MAX_KEYS, &th, err)) !=
            VOUCH_OK)
            goto out;
        json_object_set_new(json_object_get(json_object_get(r->doc, "roles"), "root"),
                            "threshold", json_integer(th));
    }
    /* the new payload must be one devices accept (reuse, thresholds, roles)
     * before anything is signed or written */
    if ((rc = vouch_json_dump(r->doc, &payload, &plen, err)) != VOUCH_OK)
        goto out;
    if ((rc = vouch_policy_parse(payload, plen, &np, err)) != VOUCH_OK) {
        if (rc == VOUCH_E_POLICY_KEY_REUSE && cli_get(a, "cosigner"))
            vouch_err_prefix(err, "--cosigner must not be one of this project's keys");
        goto out;
    }
    if ((rc = rot_given_check(r, np, err)) != VOUCH_OK ||
        (rc = rot_signers(r, np, sig, &nsig, err)) != VOUCH_OK ||
        (rc = vouch_policy_sign(payload, plen, sig, nsig, &jws, &jlen, err)) != VOUCH_OK)
        goto out;
    /* what a device holding the current version will do with it */
    if ((rc = vouch_policy_verify_next(r->cur, jws, jlen, now, &check, err)) != VOUCH_OK)
        goto out;
    {
        const vouch_jws_keyref *iref;
        size_t ni = 0;
        if ((rc = vouch_policy_role_keys(check, VOUCH_ROLE_ISSUER, &iref, &ni, NULL, err)) !=
            VOUCH_OK)
            goto out;
        for (size_t i = 0; i < ni && !issuer; i++) {
            issuer_kid = vouch_policy_kid_of(check, iref[i].key);
            if ((rc = rot_private(r, issuer_kid, &issuer, err)) != VOUCH_OK)
                goto out;
        }
        if (!issuer) {
            rc = vouch_err_set(err, VOUCH_E_NOTFOUND,
                               "no issuer private key in %.200s/keys for the DID configuration",
                               dir);
            goto out;
        }
    }
    /* files: new keys, the new version, the DID files, then project.json */
    for (size_t i = 0; i < r->nmade; i++) {
        snprintf(rel, sizeof(rel), "keys/%s.pem", r->made[i].kid);
        if ((rc = proj_path(path, sizeof(path), dir, rel, err)) != VOUCH_OK ||
            (rc = vouch_key_save_pem(r->made[i].key, path, 0, err)) != VOUCH_OK)
            goto out;
        if (json_object_set_new(r->pj.keys, r->made[i].kid, json_string(rel)) != 0) {
            rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory");
            goto out;
        }
    }
    snprintf(rel, sizeof(rel), "policy/%lld.jws", (long long)vouch_policy_version(check));
    if ((rc = proj_path(path, sizeof(path), dir, rel, err)) != VOUCH_OK ||
        (rc = vouch_file_write_atomic(path, jws, jlen, 0644, 1, err)) != VOUCH_OK ||
        (rc = proj_write_did_files(&r->pj, check, issuer, issuer_kid, now, err)) != VOUCH_OK)
        goto out;
    r->pj.version = vouch_policy_version(check);
    if ((rc = proj_save(&r->pj, 0, err)) != VOUCH_OK)
        goto out;

    if (a->json) {
        json_t *added = json_array(), *by = json_array();
        for (size_t i = 0; i < r->nmade; i++)
            json_array_append_new(added, json_string(r->made[i].kid));
        for (size_t i = 0; i < nsig; i++)
            json_array_append_new(by, json_string(sig[i].kid));
        rc = cli_print_json(json_pack("{s:I,s:s,s:o,s:O,s:o,s:I}", "version",
                                      (json_int_t)vouch_policy_version(check), "policy", rel,
                                      "newKeys", added, "retiredKeys", r->retired, "signedBy", by,
                                      "expires", (json_int_t)vouch_policy_expires(check)),
                            err);
    } else {
        size_t i;
        json_t *v;
        printf("policy version %lld written to %s/%s, signed by",
               (long long)vouch_policy_version(check), dir, rel);
        for (i = 0; i < nsig; i++)
            printf(" %s", sig[i].kid);
        printf("\n");
        for (i = 0; i < r->nmade; i++)
            printf("new key %s in %s/keys/%s.pem\n", r->made[i].kid, dir, r->made[i].kid);
        json_array_foreach(r->retired, i, v)
            printf("retired %s: destroy %s/keys/%s.pem once devices run version %lld\n",
                   json_string_value(v), dir, json_string_value(v),
                   (long long)vouch_policy_version(check));
    }
out:
    if (r) {
        for (size_t i = 0; i < r->nmade; i++)
            vouch_key_free(r->made[i].key);
        for (size_t i = 0; i < r->nloaded; i++)
            vouch_key_free(r->loaded[i]);
        for (size_t i = 0; i < r->ngiven; i++)
            vouch_key_free(r->given[i].key);
        vouch_key_free(r->cosigner);
        json_decref(r->doc);
        json_decref(r->retired);
        vouch_policy_free(r->cur);
        proj_free(&r->pj);
        vouch_free(r);
    }
    vouch_policy_free(np);
    vouch_policy_free(check);
    vouch_free(payload);
    vouch_free(jws);
    return rc;
}

const cli_cmd cli_policy_cmds[] = {
    {"policy", "export", "--dir P --out FILE",
     "Write the project's current signed trust policy to FILE (never over an existing file; "
     "'-' prints it). This is the file devices pin at end of line.",
     0, 0,
     {{"dir", "P", "project directory", 0}, {"out", "FILE", "where the policy goes", 0}},
     policy_export},
    {"policy", "show", "POLICY-FILE",
     "Print a summary of a signed trust policy: version, expiry, roles, keys and thresholds, "
     "signers. Signatures are not checked (use policy verify).",
     1, 1, {{NULL, NULL, NULL, 0}}, policy_show},
    {"policy", "verify", "POLICY-FILE... [--trusted PINNED-POLICY] [--now UNIX]",
     "Verify a trust policy as a device would: as a root of trust, or with --trusted as the "
     "successor of the pinned policy (several files: a chain, each the successor of the one "
     "before). Prints the last version; exits with the error code otherwise.",
     1, 8,
     {{"trusted", "PINNED-POLICY", "the policy a device holds; the file must follow it", 0},
      {"now", "UNIX", "check expiry at this time (default: now)", 0}},
     policy_verify},
    {"policy", "rotate",
     "--dir P [--replace-root KID]... [--replace KID]... [--add-key ROLE[=KEY]]... "
     "[--remove-key KID]... [--cosigner DID|JWK-FILE] [--threshold K] [--expires DURATION] "
     "[--root-key KID=KEY]...",
     "Make the next policy version: apply the changes (in the order remove, replace, add, "
     "co-signer, threshold), generate new keys into P/keys (0600), sign with a threshold of "
     "the old root keys and of the new ones (from P/keys, or held elsewhere and named with "
     "--root-key), write P/policy/N+1.jws, P/did.json, P/did-configuration.json and "
     "P/project.json.",
     0, 0,
     {{"dir", "P", "project directory", 0},
      {"replace-root", "KID", "replace this root key with a new one", 1},
      {"replace", "KID", "replace this root, release, issuer or server key with a new one", 1},
      {"add-key", "ROLE[=KEY]",
       "add a key to root, release, issuer or server: a new one, or KEY held elsewhere "
       "(did:key, public key file, or PKCS#11 URI)",
       1},
      {"remove-key", "KID", "remove this key from the policy", 1},
      {"cosigner", "DID|JWK-FILE", "the co-signer's new public key (replaces cosign keys)", 0},
      {"threshold", "K", "the new root threshold", 0},
      {"expires", "DURATION", "lifetime of the new version (default: that of the current)", 0},
      {"root-key", "KID=KEY",
       "sign as root key KID with KEY, held outside P/keys: a PKCS#11 URI (PIN as for any "
       "key) or a private key file; its public key must be the one the current or new policy "
       "lists under KID",
       1}},
     policy_rotate},
    {NULL, NULL, NULL, NULL, 0, 0, {{NULL, NULL, NULL, 0}}, NULL},
};
