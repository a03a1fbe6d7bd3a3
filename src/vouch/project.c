/* project.c - the project directory shared by init, policy and did
 * (see project.h). */
#include "project.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vouch/cli.h"
#include "vouch/vc.h"

static const char *const proj_members[] = {
    "domain", "did", "policyVersion", "policy", "didDocument", "didConfiguration", "keyType",
    "keys",   NULL,
};

vouch_code proj_did_web(const char *domain, char *did, size_t cap, vouch_err *err)
{
    size_t n = strnlen(domain, PROJ_DOMAIN_MAX + 1), label = 0;
    vouch_code rc = VOUCH_OK;

    if (n == 0 || n > PROJ_DOMAIN_MAX) {
        rc = vouch_err_set(err, VOUCH_E_USAGE, "--domain must be 1..%d bytes", PROJ_DOMAIN_MAX);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        char c = domain[i];

        if (c == '.') {
            /* no empty label, none starting or ending with '-' */
            if (label == 0 || domain[i - 1] == '-')
                goto bad;
            label = 0;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            goto bad;
        if (c == '-' && label == 0)
            goto bad;
        if (++label > 63)
            goto bad;
    }
    if (label == 0 || domain[n - 1] == '-' || !strchr(domain, '.'))
        goto bad;
    if ((size_t)snprintf(did, cap, "did:web:%s", domain) >= cap) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "DID buffer too small");
        goto out;
    }
    goto out;
bad:
    rc = vouch_err_set(err, VOUCH_E_USAGE,
                       "--domain must be a lower-case DNS name such as example.com, not '%.64s'",
                       domain);
out:
    return rc;
}

vouch_code proj_parse_int(const char *s, const char *opt, long lo, long hi, long *out,
                          vouch_err *err)
{
    char *end = NULL;
    long v;

    errno = 0;
    v = s && *s ? strtol(s, &end, 10) : 0;
    if (!s || !*s || errno || *end || v < lo || v > hi)
        return vouch_err_set(err, VOUCH_E_USAGE, "--%s must be an integer in %ld..%ld", opt, lo,
                             hi);
    *out = v;
    return VOUCH_OK;
}

vouch_code proj_parse_duration(const char *s, const char *opt, int64_t *out, vouch_err *err)
{
    static const int64_t max = 100LL * 365 * 86400;
    int64_t v = 0, unit = 1;
    size_t i = 0;
    vouch_code rc = VOUCH_OK;

    if (!s || !(s[0] >= '1' && s[0] <= '9'))
        goto bad;
    for (; s[i] >= '0' && s[i] <= '9'; i++) {
        v = v * 10 + (s[i] - '0');
        if (v > max) /* checked each digit: v * 10 cannot overflow */
            goto bad;
    }
    switch (s[i]) {
    case '\0': unit = 1; break;
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    case 'w': unit = 7 * 86400; break;
    case 'y': unit = 365 * 86400; break;
    default: goto bad;
    }
    if (s[i] != '\0' && s[i + 1] != '\0')
        goto bad;
    if (v > max / unit)
        goto bad;
    *out = v * unit;
    goto out;
bad:
    rc = vouch_err_set(err, VOUCH_E_USAGE,
                       "--%s must be a duration such as 90d, 12h, 1y or seconds (at most 100y)",
                       opt);
out:
    return rc;
}

vouch_code proj_path(char *out, size_t cap, const char *dir, const char *rel, vouch_err *err)
{
    if ((size_t)snprintf(out, cap, "%s/%s", dir, rel) >= cap)
        return vouch_err_set(err, VOUCH_E_ARG, "path too long under %.64s", dir);
    return VOUCH_OK;
}

long proj_kid_index(const char *kid, const char *role)
{
    size_t n = strlen(role);
    char *end = NULL;
    long v;

    if (strncmp(kid, role, n) != 0 || kid[n] != '-' || !(kid[n + 1] >= '1' && kid[n + 1] <= '9'))
        return 0;
    errno = 0;
    v = strtol(kid + n + 1, &end, 10);
    return errno || *end || v > 1000000 ? 0 : v;
}

void proj_free(proj *pj)
{
    if (pj) {
        json_decref(pj->keys);
        pj->keys = NULL;
    }
}

/* A string member copied into buf (cap bytes), strictly. */
static vouch_code proj_str(const json_t *o, const char *name, char *buf, size_t cap,
                           vouch_err *err)
{
    const char *s = NULL;
    vouch_code rc = vouch_json_get_string(o, name, &s, err);

    if (rc != VOUCH_OK)
        return rc;
    if (strlen(s) >= cap)
        return vouch_err_set(err, VOUCH_E_LIMIT, "project.json: \"%s\" is too long", name);
    memcpy(buf, s, strlen(s) + 1);
    return VOUCH_OK;
}

vouch_code proj_load(const char *dir, proj *pj, vouch_err *err)
{
    char path[PROJ_PATH_MAX], expect[PROJ_PATH_MAX], did[PROJ_DOMAIN_MAX + 9];
    unsigned char *buf = NULL;
    size_t len = 0;
    json_t *doc = NULL, *keys = NULL, *v;
    const char *k, *s;
    vouch_code rc;

    memset(pj, 0, sizeof(*pj));
    if (strlen(dir) >= sizeof(pj->dir) - 64) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "--dir is too long");
        goto out;
    }
    memcpy(pj->dir, dir, strlen(dir) + 1);
    if ((rc = proj_path(path, sizeof(path), dir, "project.json", err)) != VOUCH_OK)
        goto out;
    if ((rc = vouch_file_read(path, 64 * 1024, &buf, &len, err)) != VOUCH_OK) {
        if (rc == VOUCH_E_NOTFOUND)
            vouch_err_set(err, rc, "%.200s is not a vouch project (no project.json)", dir);
        goto out;
    }
    if ((rc = vouch_json_parse_object((const char *)buf, len, NULL, &doc, err)) != VOUCH_OK) {
        vouch_err_prefix(err, "project.json");
        goto out;
    }
    json_object_foreach(doc, k, v) {
        size_t i;
        (void)v;
        for (i = 0; proj_members[i]; i++)
            if (strcmp(proj_members[i], k) == 0)
                break;
        if (!proj_members[i]) {
            rc = vouch_err_set(err, VOUCH_E_JSON_TYPE, "project.json: unknown member \"%.32s\"",
                               k);
            goto out;
        }
    }
    if ((rc = proj_str(doc, "domain", pj->domain, sizeof(pj->domain), err)) != VOUCH_OK ||
        (rc = proj_str(doc, "did", pj->did, sizeof(pj->did), err)) != VOUCH_OK ||
        (rc = proj_str(doc, "keyType", pj->key_type, sizeof(pj->key_type), err)) != VOUCH_OK ||
        (rc = vouch_json_get_int(doc, "policyVersion", &pj->version, err)) != VOUCH_OK ||
        (rc = vouch_json_get_object(doc, "keys", &keys, err)) != VOUCH_OK ||
        (rc = vouch_json_get_string(doc, "policy", &s, err)) != VOUCH_OK ||
        (rc = vouch_json_get_string(doc, "didDocument", &s, err)) != VOUCH_OK ||
        (rc = vouch_json_get_string(doc, "didConfiguration", &s, err)) != VOUCH_OK) {
        vouch_err_prefix(err, "project.json");
        goto out;
    }
    if ((rc = proj_did_web(pj->domain, did, sizeof(did), err)) != VOUCH_OK ||
        strcmp(did, pj->did) != 0 || pj->version < 1 ||
        vouch_key_type_from_name(pj->key_type) == VOUCH_KEY_NONE) {
        rc = vouch_err_set(err, VOUCH_E_JSON_TYPE,
                           "project.json: domain, did, keyType or policyVersion is invalid");
        goto out;
    }
    /* key paths are derived from kids, never taken from the file */
    json_object_foreach(keys, k, v) {
        snprintf(expect, sizeof(expect), "keys/%s.pem", k);
        if (!json_is_string(v) || strcmp(json_string_value(v), expect) != 0 || strchr(k, '/') ||
            k[0] == '.' || strlen(k) > 64) {
            rc = vouch_err_set(err, VOUCH_E_JSON_TYPE,
                               "project.json: key \"%.32s\" must map to keys/<kid>.pem", k);
            goto out;
        }
    }
    pj->keys = json_incref(keys);
out:
    json_decref(doc);
    vouch_free(buf);
    return rc;
}

vouch_code proj_write_json(const char *path, const json_t *v, unsigned mode, int exclusive,
                           vouch_err *err)
{
    char *s = json_dumps(v, JSON_INDENT(2));
    vouch_buf b;
    vouch_code rc;

    vouch_buf_init(&b, 1u << 20);
    if (!s || vouch_buf_append_str(&b, s) != VOUCH_OK || vouch_buf_append(&b, "\n", 1) != VOUCH_OK) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory writing %.200s", path);
        goto out;
    }
    rc = vouch_file_write_atomic(path, b.data, b.len, mode, exclusive, err);
out:
    vouch_buf_free(&b);
    vouch_free(s);
    return rc;
}

vouch_code proj_save(const proj *pj, int exclusive, vouch_err *err)
{
    char path[PROJ_PATH_MAX], pol[64];
    json_t *doc;
    vouch_code rc;

    snprintf(pol, sizeof(pol), "policy/%lld.jws", (long long)pj->version);
    doc = json_pack("{s:s,s:s,s:I,s:s,s:s,s:s,s:s,s:O}", "domain", pj->domain, "did", pj->did,
                    "policyVersion", (json_int_t)pj->version, "policy", pol, "didDocument",
                    "did.json", "didConfiguration", "did-configuration.json", "keyType",
                    pj->key_type, "keys", pj->keys);
    if (!doc) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory building project.json");
        goto out;
    }
    if ((rc = proj_path(path, sizeof(path), pj->dir, "project.json", err)) != VOUCH_OK)
        goto out;
    rc = proj_write_json(path, doc, 0644, exclusive, err);
out:
    json_decref(doc);
    return rc;
}

vouch_code proj_current_policy(const proj *pj, vouch_policy **out, vouch_err *err)
{
    char path[PROJ_PATH_MAX], rel[64];
    char *text = NULL;
    size_t len = 0;
    vouch_code rc;

    *out = NULL;
    snprintf(rel, sizeof(rel), "policy/%lld.jws", (long long)pj->version);
    if ((rc = proj_path(path, sizeof(path), pj->dir, rel, err)) != VOUCH_OK ||
        (rc = cli_read_text(path, VOUCH_POLICY_MAX_BYTES + 1, &text, &len, err)) != VOUCH_OK)
        goto out;
    if ((rc = vouch_policy_verify_pinned(text, len, out, err)) != VOUCH_OK) {
        vouch_err_prefix(err, "%s", rel);
        goto out;
    }
    if (vouch_policy_version(*out) != pj->version) {
        rc = vouch_err_set(err, VOUCH_E_POLICY_VERSION, "%s holds version %lld", rel,
                           (long long)vouch_policy_version(*out));
        vouch_policy_free(*out);
        *out = NULL;
    }
out:
    vouch_free(text);
    return rc;
}

vouch_code proj_load_key(const proj *pj, const char *kid, vouch_key **out, vouch_err *err)
{
    char path[PROJ_PATH_MAX], rel[128];

    *out = NULL;
    if ((size_t)snprintf(rel, sizeof(rel), "keys/%s.pem", kid) >= sizeof(rel))
        return vouch_err_set(err, VOUCH_E_ARG, "kid too long");
    if (proj_path(path, sizeof(path), pj->dir, rel, err) != VOUCH_OK)
        return VOUCH_E_ARG;
    return vouch_key_load(path, out, err);
}

/* The DomainLinkageCredential of the DIF Well Known DID Configuration, as
 * a JWT: iss = sub = credentialSubject.id = the DID, origin https://domain,
 * header {alg, kid: "<did>#<issuer kid>"} and no typ, as in the spec. */
static vouch_code proj_linkage_jwt(const proj *pj, const vouch_key *key, const char *kid,
                                   int64_t now, int64_t exp, char **out, vouch_err *err)
{
    char origin[PROJ_DOMAIN_MAX + 16], vm[256];
    json_t *claims = NULL, *subj;
    char *payload = NULL;
    size_t plen = 0;
    vouch_jws_sign_opts o = {NULL, vm, NULL};
    vouch_code rc;

    snprintf(origin, sizeof(origin), "https://%s", pj->domain);
    if ((size_t)snprintf(vm, sizeof(vm), "%s#%s", pj->did, kid) >= sizeof(vm)) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "verification method id too long");
        goto out;
    }
    subj = json_pack("{s:s,s:s}", "id", pj->did, "origin", origin);
    if ((rc = vouch_vc_build(pj->did, PROJ_LINKAGE_TYPE, PROJ_DIF_CONTEXT, NULL, now, now, exp,
                             subj, &claims, err)) != VOUCH_OK ||
        (rc = vouch_json_dump(claims, &payload, &plen, err)) != VOUCH_OK ||
        (rc = vouch_jws_sign_compact(key, &o, (const uint8_t *)payload, plen, out, err)) !=
            VOUCH_OK)
        goto out;
out:
    vouch_free(payload);
    json_decref(claims);
    return rc;
}

vouch_code proj_write_did_files(const proj *pj, const vouch_policy *p,
                                const vouch_key *issuer_key, const char *issuer_kid,
                                int64_t now, vouch_err *err)
{
    char path[PROJ_PATH_MAX];
    json_t *doc = NULL, *conf = NULL;
    char *jwt = NULL;
    vouch_code rc;

    if ((rc = vouch_policy_did_document(p, pj->did, &doc, err)) != VOUCH_OK ||
        (rc = proj_linkage_jwt(pj, issuer_key, issuer_kid, now, vouch_policy_expires(p), &jwt,
                               err)) != VOUCH_OK)
        goto out;
    conf = json_pack("{s:s,s:[s]}", "@context", PROJ_DIF_CONTEXT, "linked_dids", jwt);
    if (!conf) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory building did-configuration.json");
        goto out;
    }
    if ((rc = proj_path(path, sizeof(path), pj->dir, "did.json", err)) != VOUCH_OK ||
        (rc = proj_write_json(path, doc, 0644, 0, err)) != VOUCH_OK ||
        (rc = proj_path(path, sizeof(path), pj->dir, "did-configuration.json", err)) !=
            VOUCH_OK ||
        (rc = proj_write_json(path, conf, 0644, 0, err)) != VOUCH_OK)
        goto out;
out:
    vouch_free(jwt);
    json_decref(conf);
    json_decref(doc);
    return rc;
}
