/* config.c - the server directory S, as `vouch server export` writes it:
 *
 *   S/server.pem                 the server key (PKCS#8, 0600) or absent when
 *                                server.json names a pkcs11: URI in "key"
 *   S/policy.jws                 the signed trust policy (issuer and server keys)
 *   S/server.json                {"domain", "did", "kid"[, "key"]}
 *   S/authz.json                 the authorization policy (vouch_authz_parse)
 *   S/did.json                   served at /.well-known/did.json
 *   S/did-configuration.json     served at /.well-known/did-configuration.json
 *
 * The policy must verify (signatures and expiry), and the server key must
 * be the policy's server-role key: a server whose request objects devices
 * would refuse does not start. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "vouchd/vouchd.h"

vouch_code vd_path(const char *dir, const char *name, char *out, size_t cap, vouch_err *err)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);

    if (n < 0 || (size_t)n >= cap)
        return vouch_err_set(err, VOUCH_E_LIMIT, "path too long: %s", name);
    return VOUCH_OK;
}

static vouch_code read_file(const char *dir, const char *name, char **out, size_t *len,
                            vouch_err *err)
{
    char path[VD_PATH_MAX];
    unsigned char *buf = NULL;
    vouch_code rc;

    *out = NULL;
    if ((rc = vd_path(dir, name, path, sizeof(path), err)) != VOUCH_OK)
        return rc;
    rc = vouch_file_read(path, VD_FILE_MAX, &buf, len, err);
    if (rc != VOUCH_OK)
        return rc;
    *out = (char *)buf;
    return VOUCH_OK;
}

/* Copies a string member, bounded; VOUCH_E_USAGE naming the member. */
static vouch_code get_str(const json_t *o, const char *name, char *out, size_t cap, int required,
                          vouch_err *err)
{
    const char *s = NULL;
    vouch_code rc = vouch_json_get_string(o, name, &s, err);

    if (rc == VOUCH_E_JSON_MISSING && !required) {
        out[0] = '\0';
        return VOUCH_OK;
    }
    if (rc != VOUCH_OK)
        return rc;
    if (strlen(s) >= cap || !s[0])
        return vouch_err_set(err, VOUCH_E_USAGE, "server.json: \"%s\" empty or too long", name);
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
            return vouch_err_set(err, VOUCH_E_USAGE,
                                 "server.json: \"%s\" holds a non-printable byte", name);
    memcpy(out, s, strlen(s) + 1);
    return VOUCH_OK;
}

static vouch_code load_server_json(const char *dir, vd_config *c, char *keyref, size_t kcap,
                                   vouch_err *err)
{
    static const char *const known[] = {"domain", "did", "kid", "key", "server"};
    char *text = NULL;
    size_t len = 0;
    json_t *o = NULL;
    const char *name;
    json_t *v;
    char kid[VOUCH_DID_MAX + 64];
    vouch_code rc;

    if ((rc = read_file(dir, "server.json", &text, &len, err)) != VOUCH_OK ||
        (rc = vouch_json_parse_object(text, len, NULL, &o, err)) != VOUCH_OK)
        goto out;
    json_object_foreach(o, name, v) {
        size_t i;
        for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
            if (strcmp(name, known[i]) == 0)
                break;
        if (i == sizeof(known) / sizeof(known[0])) {
            rc = vouch_err_set(err, VOUCH_E_USAGE, "server.json: unknown member");
            goto out;
        }
    }
    if ((rc = get_str(o, "domain", c->domain, sizeof(c->domain), 1, err)) != VOUCH_OK ||
        (rc = get_str(o, "did", c->did, sizeof(c->did), 1, err)) != VOUCH_OK ||
        (rc = get_str(o, "kid", kid, sizeof(kid), 1, err)) != VOUCH_OK ||
        (rc = get_str(o, "key", keyref, kcap, 0, err)) != VOUCH_OK)
        goto out;
    if (strncmp(c->did, "did:web:", 8) != 0) {
        rc = vouch_err_set(err, VOUCH_E_USAGE, "server.json: \"did\" must be a did:web");
        goto out;
    }
    /* "server-1" or "did:web:example.com#server-1" */
    if (strchr(kid, '#')) {
        if (strncmp(kid, c->did, strlen(c->did)) != 0 || kid[strlen(c->did)] != '#') {
            rc = vouch_err_set(err, VOUCH_E_USAGE, "server.json: \"kid\" is not of \"did\"");
            goto out;
        }
        memcpy(c->kid, kid, strlen(kid) + 1);
    } else if ((size_t)snprintf(c->kid, sizeof(c->kid), "%s#%s", c->did, kid) >=
               sizeof(c->kid)) {
        rc = vouch_err_set(err, VOUCH_E_USAGE, "server.json: \"kid\" too long");
        goto out;
    }
out:
    json_decref(o);
    vouch_free(text);
    if (rc != VOUCH_OK)
        vouch_err_prefix(err, "%s/server.json", dir);
    return rc;
}

vouch_code vd_config_load(const char *dir, vd_config *c, vouch_err *err)
{
    char keyref[VD_PATH_MAX];
    char *text = NULL;
    size_t len = 0, nkeys = 0;
    const vouch_jws_keyref *keys = NULL;
    unsigned threshold = 0;
    int in_role = 0;
    vouch_err pe;
    vouch_code rc;

    memset(c, 0, sizeof(*c));
    if (strlen(dir) >= sizeof(c->dir)) {
        rc = vouch_err_set(err, VOUCH_E_LIMIT, "--dir too long");
        goto out;
    }
    memcpy(c->dir, dir, strlen(dir) + 1);
    if ((rc = load_server_json(dir, c, keyref, sizeof(keyref), err)) != VOUCH_OK)
        goto out;
    if (keyref[0] && strncmp(keyref, "pkcs11:", 7) != 0) {
        rc = vouch_err_set(err, VOUCH_E_USAGE, "server.json: \"key\" must be a pkcs11: URI");
        goto out;
    }
    if (!keyref[0] && (rc = vd_path(dir, "server.pem", keyref, sizeof(keyref), err)) != VOUCH_OK)
        goto out;
    if ((rc = vouch_key_load(keyref, &c->key, err)) != VOUCH_OK) {
        vouch_err_prefix(err, "server key");
        goto out;
    }
    if (!vouch_key_has_private(c->key)) {
        rc = vouch_err_set(err, VOUCH_E_KEY_NOT_PRIVATE, "the server key has no private half");
        goto out;
    }

    if ((rc = read_file(dir, "policy.jws", &text, &len, err)) != VOUCH_OK)
        goto out;
    if ((rc = vouch_policy_verify_root(text, len, (int64_t)time(NULL), &c->policy, err)) !=
        VOUCH_OK) {
        vouch_err_prefix(err, "%s/policy.jws", dir);
        goto out;
    }
    vouch_free(text);
    text = NULL;
    if (vouch_policy_role_keys(c->policy, VOUCH_ROLE_SERVER, &keys, &nkeys, &threshold, NULL) ==
        VOUCH_OK)
        for (size_t i = 0; i < nkeys; i++)
            if (vouch_key_equal(keys[i].key, c->key))
                in_role = 1;
    if (!in_role) {
        rc = vouch_err_set(err, VOUCH_E_POLICY_ROLE,
                           "the server key is not a server-role key of the trust policy");
        goto out;
    }
    if (strcmp(vouch_policy_issuer(c->policy), c->did) != 0) {
        rc = vouch_err_set(err, VOUCH_E_USAGE, "server.json \"did\" is not the policy's issuer");
        goto out;
    }

    if ((rc = read_file(dir, "authz.json", &text, &len, err)) != VOUCH_OK)
        goto out;
    if ((rc = vouch_authz_parse(text, len, &c->authz, err)) != VOUCH_OK ||
        (rc = vouch_authz_definition(&c->authz, &c->definition, err)) != VOUCH_OK) {
        vouch_err_prefix(err, "%s/authz.json", dir);
        goto out;
    }
    /* every credential check uses an issuer key: verify them from tables
     * (~20 us instead of ~41 per login); without, they verify as before */
    if (!c->authz.allowlist_mode &&
        vouch_policy_precompute(c->policy, VOUCH_ROLE_ISSUER, &pe) != VOUCH_OK)
        vd_log("issuer keys not precomputed (%s): %s", vouch_code_name(pe.code), pe.msg);
    if ((rc = read_file(dir, "did.json", &c->did_json, &c->did_json_len, err)) != VOUCH_OK ||
        (rc = read_file(dir, "did-configuration.json", &c->did_config, &c->did_config_len,
                        err)) != VOUCH_OK)
        goto out;
out:
    vouch_free(text);
    if (rc != VOUCH_OK)
        vd_config_free(c);
    return rc;
}

void vd_config_free(vd_config *c)
{
    vouch_key_free(c->key);
    vouch_policy_free(c->policy);
    json_decref(c->definition);
    vouch_free(c->did_json);
    vouch_free(c->did_config);
    c->key = NULL;
    c->policy = NULL;
    c->definition = NULL;
    c->did_json = c->did_config = NULL;
}
