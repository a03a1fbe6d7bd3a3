/* cmd_project.c - `vouch init`: create a project (root, release, issuer and
 * server keys, the signed trust policy version 1, the did:web document and
 * the domain-linkage credential). See project.h for the layout and
 * docs/trust.md for who gets which key. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include "vouch/cli.h"
#include "project.h"

#define INIT_MAX_ROOTS 10
#define INIT_MAX_ITEMS (INIT_MAX_ROOTS + 4)
#define INIT_MAX_FILES (INIT_MAX_ITEMS + 8)

typedef struct init_item {
    char kid[32];
    vouch_role role;
    vouch_key *key;
    int ours; /* we generated it and hold its private key */
} init_item;

/* Files and directories created so far, removed again if init fails. */
typedef struct init_undo {
    char files[INIT_MAX_FILES][PROJ_PATH_MAX];
    int nfiles;
    char dirs[3][PROJ_PATH_MAX];
    int ndirs;
} init_undo;

static void init_rollback(init_undo *u)
{
    while (u->nfiles > 0)
        unlink(u->files[--u->nfiles]);
    while (u->ndirs > 0)
        rmdir(u->dirs[--u->ndirs]);
}

static void init_note_file(init_undo *u, const char *path)
{
    if (u->nfiles < INIT_MAX_FILES)
        snprintf(u->files[u->nfiles++], PROJ_PATH_MAX, "%s", path);
}

/* The project directory: absent (created 0700) or empty; never an
 * existing project or anything else (VOUCH_E_EXISTS). */
static vouch_code init_make_dirs(const char *dir, init_undo *u, vouch_err *err)
{
    char path[PROJ_PATH_MAX];
    struct stat st;
    DIR *d = NULL;
    struct dirent *e;
    vouch_code rc = VOUCH_OK;

    if (stat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            rc = vouch_err_set(err, VOUCH_E_EXISTS, "%.200s exists and is not a directory", dir);
            goto out;
        }
        d = opendir(dir);
        if (!d) {
            rc = vouch_err_set(err, VOUCH_E_IO, "cannot read %.200s: %s", dir, strerror(errno));
            goto out;
        }
        while ((e = readdir(d)) != NULL)
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
                rc = vouch_err_set(err, VOUCH_E_EXISTS,
                                   "%.200s is not empty%s; refusing to initialize over it", dir,
                                   strcmp(e->d_name, "project.json") == 0
                                       ? " (it is a vouch project)"
                                       : "");
                goto out;
            }
        if (chmod(dir, 0700) != 0) {
            rc = vouch_err_set(err, VOUCH_E_IO, "cannot chmod %.200s: %s", dir, strerror(errno));
            goto out;
        }
    } else if (errno != ENOENT || mkdir(dir, 0700) != 0) {
        rc = vouch_err_set(err, VOUCH_E_IO, "cannot create %.200s: %s", dir, strerror(errno));
        goto out;
    } else {
        snprintf(u->dirs[u->ndirs++], PROJ_PATH_MAX, "%s", dir);
    }
    if ((rc = proj_path(path, sizeof(path), dir, "keys", err)) != VOUCH_OK)
        goto out;
    if (mkdir(path, 0700) != 0 || chmod(path, 0700) != 0) {
        rc = vouch_err_set(err, VOUCH_E_IO, "cannot create %.200s: %s", path, strerror(errno));
        goto out;
    }
    snprintf(u->dirs[u->ndirs++], PROJ_PATH_MAX, "%s", path);
    if ((rc = proj_path(path, sizeof(path), dir, "policy", err)) != VOUCH_OK)
        goto out;
    if (mkdir(path, 0755) != 0) {
        rc = vouch_err_set(err, VOUCH_E_IO, "cannot create %.200s: %s", path, strerror(errno));
        goto out;
    }
    snprintf(u->dirs[u->ndirs++], PROJ_PATH_MAX, "%s", path);
out:
    if (d)
        closedir(d);
    return rc;
}

/* The version-1 payload for the items. */
static vouch_code init_payload(const init_item *it, size_t n, const char *did, unsigned threshold,
                               int64_t now, int64_t lifetime, int64_t max_release,
                               int production, char **out, size_t *len, vouch_err *err)
{
    json_t *doc = NULL, *keys, *roles, *jwk = NULL;
    vouch_code rc;

    doc = json_pack("{s:s,s:i,s:I,s:I,s:s,s:{},s:{},s:[ss],s:I,s:b}", "type",
                    "vouch-trust-policy", "version", 1, "issued", (json_int_t)now, "expires",
                    (json_int_t)(now + lifetime), "issuer", did, "keys", "roles",
                    "releaseRequires", "release", "cosign", "maxReleaseLifetime",
                    (json_int_t)max_release, "production", production);
    if (!doc) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory building the policy");
        goto out;
    }
    keys = json_object_get(doc, "keys");
    roles = json_object_get(doc, "roles");
    for (size_t i = 0; i < n; i++) {
        const char *rn = vouch_role_name(it[i].role);
        json_t *ro = json_object_get(roles, rn);

        if ((rc = vouch_key_to_jwk(it[i].key, &jwk, err)) != VOUCH_OK)
            goto out;
        if (json_object_set_new(keys, it[i].kid, jwk) != 0) {
            jwk = NULL;
            rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory building the policy");
            goto out;
        }
        jwk = NULL;
        if (!ro) {
            ro = json_pack("{s:i,s:[]}", "threshold",
                           it[i].role == VOUCH_ROLE_ROOT ? (int)threshold : 1, "keys");
            if (!ro || json_object_set_new(roles, rn, ro) != 0) {
                rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory building the policy");
                goto out;
            }
        }
        if (json_array_append_new(json_object_get(ro, "keys"), json_string(it[i].kid)) != 0) {
            rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory building the policy");
            goto out;
        }
    }
    rc = vouch_json_dump(doc, out, len, err);
out:
    json_decref(jwk);
    json_decref(doc);
    return rc;
}

static vouch_code init_run(const cli_args *a, vouch_err *err)
{
    const char *domain, *dir, *cosigner, *opt;
    char did[PROJ_DOMAIN_MAX + 9], path[PROJ_PATH_MAX], rel[64];
    init_item it[INIT_MAX_ITEMS];
    vouch_jws_keyref signers[INIT_MAX_ROOTS];
    size_t n = 0, plen = 0, jlen = 0;
    long nroots = 3, threshold = 2;
    int64_t lifetime = 365LL * 86400, max_release = 90LL * 86400, now = (int64_t)time(NULL);
    vouch_key_type type = VOUCH_KEY_P256;
    vouch_key *cos = NULL;
    vouch_policy *pol = NULL;
    char *payload = NULL, *jws = NULL;
    init_undo *u = NULL;
    proj pj;
    vouch_code rc;

    memset(it, 0, sizeof(it));
    memset(&pj, 0, sizeof(pj));
    if ((rc = cli_require(a, "domain", &domain, err)) != VOUCH_OK ||
        (rc = cli_require(a, "dir", &dir, err)) != VOUCH_OK ||
        (rc = cli_require(a, "cosigner", &cosigner, err)) != VOUCH_OK ||
        (rc = proj_did_web(domain, did, sizeof(did), err)) != VOUCH_OK)
        goto out;
    if ((opt = cli_get(a, "roots")) &&
        (rc = proj_parse_int(opt, "roots", 1, INIT_MAX_ROOTS, &nroots, err)) != VOUCH_OK)
        goto out;
    if (!cli_get(a, "threshold") && nroots < 2)
        threshold = 1;
    if ((opt = cli_get(a, "threshold")) &&
        (rc = proj_parse_int(opt, "threshold", 1, nroots, &threshold, err)) != VOUCH_OK)
        goto out;
    if ((opt = cli_get(a, "key-type"))) {
        type = vouch_key_type_from_name(opt);
        if (type == VOUCH_KEY_NONE) {
            rc = vouch_err_set(err, VOUCH_E_USAGE, "--key-type must be p256 or ed25519");
            goto out;
        }
    }
    if ((opt = cli_get(a, "expires")) &&
        (rc = proj_parse_duration(opt, "expires", &lifetime, err)) != VOUCH_OK)
        goto out;
    if ((opt = cli_get(a, "max-release-lifetime")) &&
        (rc = proj_parse_duration(opt, "max-release-lifetime", &max_release, err)) != VOUCH_OK)
        goto out;
    if ((rc = cli_load_key(cosigner, &cos, err)) != VOUCH_OK) {
        vouch_err_prefix(err, "--cosigner");
        goto out;
    }

    /* every key in memory and the policy checked before a file is written */
    for (long i = 0; i < nroots; i++, n++) {
        snprintf(it[n].kid, sizeof(it[n].kid), "root-%ld", i + 1);
        it[n].role = VOUCH_ROLE_ROOT;
    }
    snprintf(it[n].kid, sizeof(it[n].kid), "release-1");
    it[n++].role = VOUCH_ROLE_RELEASE;
    snprintf(it[n].kid, sizeof(it[n].kid), "cosign-1");
    it[n++].role = VOUCH_ROLE_COSIGN;
    snprintf(it[n].kid, sizeof(it[n].kid), "issuer-1");
    it[n++].role = VOUCH_ROLE_ISSUER;
    snprintf(it[n].kid, sizeof(it[n].kid), "server-1");
    it[n++].role = VOUCH_ROLE_SERVER;
    for (size_t i = 0; i < n; i++) {
        if (it[i].role == VOUCH_ROLE_COSIGN) {
            /* only the public half: the co-signer's key never lives here */
            rc = vouch_key_public_copy(cos, &it[i].key, err);
        } else {
            rc = vouch_key_generate(type, &it[i].key, err);
            it[i].ours = 1;
        }
        if (rc != VOUCH_OK)
            goto out;
    }
    if ((rc = init_payload(it, n, did, (unsigned)threshold, now, lifetime, max_release,
                           !cli_flag(a, "development"), &payload, &plen, err)) != VOUCH_OK)
        goto out;
    /* version 1 is signed by exactly the threshold (the first K roots), so
     * that the threshold is what makes it valid, not a surplus */
    for (long i = 0; i < threshold; i++) {
        signers[i].kid = it[i].kid;
        signers[i].key = it[i].key;
    }
    if ((rc = vouch_policy_sign(payload, plen, signers, (size_t)threshold, &jws, &jlen, err)) !=
        VOUCH_OK) {
        if (rc == VOUCH_E_POLICY_KEY_REUSE)
            vouch_err_prefix(err, "--cosigner is one of this project's keys");
        goto out;
    }
    if ((rc = vouch_policy_verify_root(jws, jlen, now, &pol, err)) != VOUCH_OK)
        goto out;

    /* now the files */
    u = vouch_calloc(1, sizeof(*u));
    if (!u) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory");
        goto out;
    }
    if ((rc = init_make_dirs(dir, u, err)) != VOUCH_OK)
        goto out;
    if (strlen(dir) >= sizeof(pj.dir) - 64) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "--dir is too long");
        goto out;
    }
    memcpy(pj.dir, dir, strlen(dir) + 1);
    snprintf(pj.domain, sizeof(pj.domain), "%s", domain);
    snprintf(pj.did, sizeof(pj.did), "%s", did);
    snprintf(pj.key_type, sizeof(pj.key_type), "%s", vouch_key_type_name(type));
    pj.version = 1;
    pj.keys = json_object();
    if (!pj.keys) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (!it[i].ours)
            continue;
        snprintf(rel, sizeof(rel), "keys/%.31s.pem", it[i].kid);
        if ((rc = proj_path(path, sizeof(path), dir, rel, err)) != VOUCH_OK ||
            (rc = vouch_key_save_pem(it[i].key, path, 0, err)) != VOUCH_OK)
            goto out;
        init_note_file(u, path);
        if (json_object_set_new(pj.keys, it[i].kid, json_string(rel)) != 0) {
            rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory");
            goto out;
        }
    }
    if ((rc = proj_path(path, sizeof(path), dir, "policy/1.jws", err)) != VOUCH_OK ||
        (rc = vouch_file_write_atomic(path, jws, jlen, 0644, 1, err)) != VOUCH_OK)
        goto out;
    init_note_file(u, path);
    if ((rc = proj_path(path, sizeof(path), dir, "did.json", err)) != VOUCH_OK)
        goto out;
    init_note_file(u, path);
    if ((rc = proj_path(path, sizeof(path), dir, "did-configuration.json", err)) != VOUCH_OK)
        goto out;
    init_note_file(u, path);
    if ((rc = proj_write_did_files(&pj, pol, it[nroots + 2].key, it[nroots + 2].kid, now, err)) !=
        VOUCH_OK)
        goto out;
    if ((rc = proj_save(&pj, 1, err)) != VOUCH_OK)
        goto out;

    if (a->json) {
        json_t *signed_by = json_array();
        for (long i = 0; i < threshold; i++)
            json_array_append_new(signed_by, json_string(it[i].kid));
        rc = cli_print_json(json_pack("{s:s,s:s,s:s,s:i,s:s,s:i,s:i,s:o,s:O,s:b}", "dir", dir,
                                      "domain", domain, "did", did, "policyVersion", 1,
                                      "policy", "policy/1.jws", "rootThreshold", (int)threshold,
                                      "roots", (int)nroots, "signedBy", signed_by, "keys",
                                      pj.keys, "production", !cli_flag(a, "development")),
                            err);
    } else {
        printf("created %s for %s\n", dir, did);
        printf("policy version 1: %ld of %ld root keys, signed by root-1..root-%ld%s\n",
               threshold, nroots, threshold,
               cli_flag(a, "development") ? " (development)" : "");
        printf("private keys in %s/keys (0600); see docs/trust.md for who gets which\n", dir);
    }
out:
    if (rc != VOUCH_OK && u)
        init_rollback(u);
    vouch_free(u);
    proj_free(&pj);
    vouch_policy_free(pol);
    vouch_free(jws);
    vouch_free(payload);
    for (size_t i = 0; i < INIT_MAX_ITEMS; i++)
        vouch_key_free(it[i].key);
    vouch_key_free(cos);
    return rc;
}

const cli_cmd cli_init_cmds[] = {
    {"init", "",
     "--domain DOMAIN --dir P --cosigner DID|JWK-FILE [--roots N] [--threshold K] "
     "[--key-type p256|ed25519] [--expires DURATION] [--max-release-lifetime DURATION] "
     "[--development]",
     "Create a project in P: root keys (default 2 of 3), release, issuer and server keys "
     "(0600 files in P/keys, a 0700 directory), the trust policy version 1 signed by the root "
     "threshold, the did:web document (P/did.json) and the domain-linkage credential "
     "(P/did-configuration.json). Refuses an existing project.",
     0, 0,
     {{"domain", "DOMAIN", "the vendor's domain: the DID is did:web:DOMAIN", 0},
      {"dir", "P", "project directory to create (absent or empty)", 0},
      {"cosigner", "DID|JWK-FILE", "the co-signing service's public key (did:key or file)", 0},
      {"roots", "N", "number of root keys (1..10, default 3)", 0},
      {"threshold", "K", "root signatures needed (1..N, default 2)", 0},
      {"key-type", "p256|ed25519", "type of the generated keys (default p256)", 0},
      {"expires", "DURATION", "policy lifetime, e.g. 365d (default 1y)", 0},
      {"max-release-lifetime", "DURATION", "longest release credential (default 90d)", 0},
      {"development", NULL, "a development project (production false)", 0}},
     init_run},
    {NULL, NULL, NULL, NULL, 0, 0, {{NULL, NULL, NULL, 0}}, NULL},
};
