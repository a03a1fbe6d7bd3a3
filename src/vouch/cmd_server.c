/*
 * cmd_server.c - `vouch server export`: what the update server needs, and
 * nothing more.
 *
 * S (created 0700, must not exist or be empty):
 *   server.pem               0600  the server key (signs request objects)
 *   policy.jws               0644  the current signed trust policy
 *   issuers.json             0644  JWKS of the issuer public keys, kid "<did>#<kid>"
 *   did.json                 0644  the did:web document (served at /.well-known/)
 *   did-configuration.json   0644  the domain linkage (served at /.well-known/)
 *   server.json              0644  {"domain", "did", "kid"}: kid is the server key's
 *                                  id in the policy ("server-1")
 *   authz.json               0644  the authorization policy (vouch/siop.h), default:
 *                                  credential mode, no constraints
 * No other private key ever leaves P: root, release and issuer keys stay.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include "project.h"
#include "vouch/cli.h"
#include "vouch/siop.h"

/* S must not exist, or be an empty directory; it is then 0700. */
static vouch_code srv_make_dir(const char *dir, vouch_err *err)
{
    DIR *d;
    struct dirent *e;
    int empty = 1;

    if (mkdir(dir, 0700) == 0)
        return VOUCH_OK;
    if (errno != EEXIST)
        return vouch_err_set(err, VOUCH_E_IO, "cannot create %.200s: %s", dir, strerror(errno));
    d = opendir(dir);
    if (!d)
        return vouch_err_set(err, VOUCH_E_EXISTS, "%.200s exists and is not a directory", dir);
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            empty = 0;
    closedir(d);
    if (!empty)
        return vouch_err_set(err, VOUCH_E_EXISTS, "%.200s is not empty", dir);
    if (chmod(dir, 0700) != 0)
        return vouch_err_set(err, VOUCH_E_IO, "cannot chmod %.200s: %s", dir, strerror(errno));
    return VOUCH_OK;
}

/* The kid of role r with the highest index that the project holds. */
static const char *srv_held_kid(const proj *pj, const vouch_policy *p, vouch_role r)
{
    const char *best = NULL;
    long best_i = -1;

    for (size_t i = 0; i < vouch_policy_key_count(p); i++) {
        const char *kid = NULL;
        vouch_role kr = VOUCH_ROLE__COUNT;
        long idx;
        if (!vouch_policy_key_at(p, i, &kid, &kr) || kr != r || !json_object_get(pj->keys, kid))
            continue;
        idx = proj_kid_index(kid, vouch_role_name(r));
        if (idx > best_i) {
            best_i = idx;
            best = kid;
        }
    }
    return best;
}

/* Copies P/<name> to S/<name> (0644), byte for byte. */
static vouch_code srv_copy(const proj *pj, const char *out, const char *name, vouch_err *err)
{
    char src[PROJ_PATH_MAX], dst[PROJ_PATH_MAX];
    unsigned char *buf = NULL;
    size_t len = 0;
    vouch_code rc;

    if ((rc = proj_path(src, sizeof(src), pj->dir, name, err)) != VOUCH_OK ||
        (rc = proj_path(dst, sizeof(dst), out, name, err)) != VOUCH_OK ||
        (rc = vouch_file_read(src, 1024u * 1024u, &buf, &len, err)) != VOUCH_OK)
        goto out;
    rc = vouch_file_write_atomic(dst, buf, len, 0644, 1, err);
out:
    vouch_free(buf);
    return rc;
}

/* {"keys": [JWK + "kid": "<did>#<kid>", ...]} of the issuer role. */
static vouch_code srv_issuers(const proj *pj, const vouch_policy *p, json_t **out,
                              vouch_err *err)
{
    json_t *keys = json_array(), *jwk = NULL;
    char kidurl[256];
    vouch_code rc = VOUCH_OK;

    *out = NULL;
    if (!keys) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < vouch_policy_key_count(p); i++) {
        const char *kid = NULL;
        vouch_role r = VOUCH_ROLE__COUNT;
        const vouch_key *k = vouch_policy_key_at(p, i, &kid, &r);
        if (!k || r != VOUCH_ROLE_ISSUER)
            continue;
        snprintf(kidurl, sizeof(kidurl), "%s#%s", pj->did, kid);
        if ((rc = vouch_key_to_jwk(k, &jwk, err)) != VOUCH_OK)
            goto out;
        if (json_object_set_new(jwk, "kid", json_string(kidurl)) != 0 ||
            json_object_set_new(jwk, "alg", json_string(vouch_key_alg(k))) != 0 ||
            json_array_append_new(keys, jwk) != 0) {
            jwk = NULL;
            rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory");
            goto out;
        }
        jwk = NULL;
    }
    if (json_array_size(keys) == 0) {
        rc = vouch_err_set(err, VOUCH_E_POLICY_ROLE, "the policy has no issuer key");
        goto out;
    }
    *out = json_pack("{s:O}", "keys", keys);
    if (!*out)
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory");
out:
    json_decref(jwk);
    json_decref(keys);
    return rc;
}

static vouch_code server_export(const cli_args *a, vouch_err *err)
{
    const char *dir, *out, *skid;
    char path[PROJ_PATH_MAX];
    proj pj;
    int pj_loaded = 0;
    vouch_policy *p = NULL;
    vouch_key *sk = NULL;
    json_t *issuers = NULL, *server = NULL;
    const char *pol;
    char *authz = NULL;
    size_t pol_len = 0;
    vouch_authz az;
    vouch_buf b;
    vouch_code rc;

    vouch_buf_init(&b, VOUCH_POLICY_MAX_BYTES + 2);
    if ((rc = cli_require(a, "dir", &dir, err)) != VOUCH_OK ||
        (rc = cli_require(a, "out", &out, err)) != VOUCH_OK ||
        (rc = proj_load(dir, &pj, err)) != VOUCH_OK)
        goto out;
    pj_loaded = 1;
    if ((rc = proj_current_policy(&pj, &p, err)) != VOUCH_OK)
        goto out;
    skid = srv_held_kid(&pj, p, VOUCH_ROLE_SERVER);
    if (!skid) {
        rc = vouch_err_set(err, VOUCH_E_NOTFOUND, "the project holds no server key of policy %lld",
                           (long long)vouch_policy_version(p));
        goto out;
    }
    /* the key file must hold exactly the policy's server key */
    if ((rc = proj_load_key(&pj, skid, &sk, err)) != VOUCH_OK)
        goto out;
    if (!vouch_key_equal(sk, vouch_policy_key(p, skid))) {
        rc = vouch_err_set(err, VOUCH_E_POLICY_ROLE, "keys/%s.pem is not the policy's %s", skid,
                           skid);
        goto out;
    }
    if ((rc = srv_issuers(&pj, p, &issuers, err)) != VOUCH_OK)
        goto out;
    server = json_pack("{s:s,s:s,s:s}", "domain", pj.domain, "did", pj.did, "kid", skid);
    vouch_authz_default(&az);
    pol = vouch_policy_jws(p, &pol_len);
    if (!server || !pol || vouch_buf_append(&b, pol, pol_len) != VOUCH_OK ||
        vouch_buf_append(&b, "\n", 1) != VOUCH_OK ||
        (rc = vouch_authz_dump(&az, &authz, err)) != VOUCH_OK) {
        rc = rc != VOUCH_OK ? rc : vouch_err_set(err, VOUCH_E_NOMEM, "out of memory");
        goto out;
    }
    if ((rc = srv_make_dir(out, err)) != VOUCH_OK ||
        (rc = proj_path(path, sizeof(path), out, "server.pem", err)) != VOUCH_OK ||
        (rc = vouch_key_save_pem(sk, path, 0, err)) != VOUCH_OK ||
        (rc = proj_path(path, sizeof(path), out, "policy.jws", err)) != VOUCH_OK ||
        (rc = vouch_file_write_atomic(path, b.data, b.len, 0644, 1, err)) != VOUCH_OK ||
        (rc = proj_path(path, sizeof(path), out, "issuers.json", err)) != VOUCH_OK ||
        (rc = proj_write_json(path, issuers, 0644, 1, err)) != VOUCH_OK ||
        (rc = srv_copy(&pj, out, "did.json", err)) != VOUCH_OK ||
        (rc = srv_copy(&pj, out, "did-configuration.json", err)) != VOUCH_OK ||
        (rc = proj_path(path, sizeof(path), out, "server.json", err)) != VOUCH_OK ||
        (rc = proj_write_json(path, server, 0644, 1, err)) != VOUCH_OK ||
        (rc = proj_path(path, sizeof(path), out, "authz.json", err)) != VOUCH_OK ||
        (rc = vouch_file_write_atomic(path, authz, strlen(authz), 0644, 1, err)) != VOUCH_OK)
        goto out;
    if (a->json)
        rc = cli_print_json(json_pack("{s:s,s:s,s:s,s:I,s:[sssssss]}", "out", out, "did",
                                      pj.did, "kid", skid, "policy_version",
                                      (json_int_t)vouch_policy_version(p), "files",
                                      "server.pem", "policy.jws", "issuers.json", "did.json",
                                      "did-configuration.json", "server.json", "authz.json"),
                            err);
    else
        printf("exported %s for %s (server key %s, policy version %lld): server.pem, "
               "policy.jws, issuers.json, did.json, did-configuration.json, server.json, "
               "authz.json\n",
               out, pj.did, skid, (long long)vouch_policy_version(p));
out:
    vouch_free(authz);
    vouch_buf_free(&b);
    json_decref(server);
    json_decref(issuers);
    vouch_key_free(sk);
    vouch_policy_free(p);
    if (pj_loaded)
        proj_free(&pj);
    return rc;
}

const cli_cmd cli_server_cmds[] = {
    {"server", "export", "--dir P --out S",
     "Write what the update server needs into S (a new 0700 directory): server.pem (the "
     "server key, 0600), policy.jws, issuers.json (the issuer public keys), did.json, "
     "did-configuration.json, server.json (domain, did, kid of the server key) and a default "
     "authz.json (credential mode, no constraints). No other private key is exported.",
     0, 0,
     {{"dir", "P", "the project directory", 0},
      {"out", "S", "the directory to create (absent or empty)", 0}},
     server_export},
    {NULL, NULL, NULL, NULL, 0, 0, {{NULL, NULL, NULL, 0}}, NULL},
};
