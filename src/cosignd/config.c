/* config.c - the state directory of vouch-cosignd: config.json (parsed
 * strictly: every member known, present, typed and within bounds), paths,
 * and the signing key. */
#include <stdio.h>
#include <string.h>

#include "cosignd/cosignd.h"

static const char *const config_members[] = {
    "vendor", "maxReleaseLifetime", "skew", "rateBurst", "ratePerMinute", "key", NULL};

void cosignd_config_defaults(cosignd_config *c)
{
    memset(c, 0, sizeof(*c));
    c->max_release_lifetime = COSIGND_MAX_LIFETIME_DEFAULT;
    c->skew = VOUCH_COSIGN_DEFAULT_SKEW;
    c->rate_burst = COSIGND_RATE_BURST_DEFAULT;
    c->rate_per_minute = COSIGND_RATE_PER_MIN_DEFAULT;
    snprintf(c->key, sizeof(c->key), "%s", COSIGND_KEY_FILE);
}

vouch_code cosignd_path(const char *dir, const char *name, char *out, size_t cap, vouch_err *err)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);

    if (n < 0 || (size_t)n >= cap)
        return vouch_err_set(err, VOUCH_E_LIMIT, "path of %s in the state directory is too long",
                             name);
    return VOUCH_OK;
}

vouch_code cosignd_check_vendor(const char *did, vouch_err *err)
{
    size_t n = strnlen(did, VOUCH_DID_MAX + 1), i, colon = 0;

    if (n > VOUCH_DID_MAX)
        return vouch_err_set(err, VOUCH_E_LIMIT, "vendor DID is longer than %u bytes",
                             VOUCH_DID_MAX);
    if (n < 7 || strncmp(did, "did:", 4) != 0)
        return vouch_err_set(err, VOUCH_E_DID_SYNTAX, "vendor is not a DID (did:<method>:<id>)");
    for (i = 4; i < n; i++) {
        unsigned char ch = (unsigned char)did[i];
        if (ch <= 0x20 || ch >= 0x7f || ch == '"' || ch == '\\')
            return vouch_err_set(err, VOUCH_E_DID_SYNTAX,
                                 "vendor DID has a forbidden byte at offset %zu", i);
        if (ch == ':' && !colon)
            colon = i;
    }
    if (colon <= 4 || colon + 1 >= n)
        return vouch_err_set(err, VOUCH_E_DID_SYNTAX, "vendor is not a DID (did:<method>:<id>)");
    return VOUCH_OK;
}

/* An integer member within [lo, hi]. */
static vouch_code config_int(const json_t *o, const char *name, int64_t lo, int64_t hi,
                             int64_t *out, vouch_err *err)
{
    int64_t v = 0;

    if (vouch_json_get_int(o, name, &v, err) != VOUCH_OK)
        return vouch_err_set(err, VOUCH_E_USAGE, "config.json: \"%s\" must be an integer", name);
    if (v < lo || v > hi)
        return vouch_err_set(err, VOUCH_E_USAGE, "config.json: \"%s\" must be %lld..%lld", name,
                             (long long)lo, (long long)hi);
    *out = v;
    return VOUCH_OK;
}

vouch_code cosignd_config_parse(const char *text, size_t len, cosignd_config *c, vouch_err *err)
{
    vouch_json_limits lim = {COSIGND_CONFIG_MAX_BYTES, 4};
    json_t *o = NULL, *v;
    const char *name, *s = NULL;
    size_t i;
    vouch_code rc;

    cosignd_config_defaults(c);
    rc = vouch_json_parse_object(text, len, &lim, &o, err);
    if (rc != VOUCH_OK) {
        vouch_err_prefix(err, "config.json");
        goto out;
    }
    json_object_foreach(o, name, v) {
        for (i = 0; config_members[i]; i++)
            if (strcmp(name, config_members[i]) == 0)
                break;
        if (!config_members[i]) {
            rc = vouch_err_set(err, VOUCH_E_USAGE, "config.json: unknown member \"%.64s\"", name);
            goto out;
        }
    }
    for (i = 0; config_members[i]; i++)
        if (!json_object_get(o, config_members[i])) {
            rc = vouch_err_set(err, VOUCH_E_USAGE, "config.json: \"%s\" is missing",
                               config_members[i]);
            goto out;
        }
    v = json_object_get(o, "vendor");
    if (!json_is_null(v)) {
        if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
            rc = vouch_err_set(err, VOUCH_E_USAGE, "config.json: \"vendor\" must be a DID or null");
            goto out;
        }
        if ((rc = cosignd_check_vendor(json_string_value(v), err)) != VOUCH_OK) {
            vouch_err_prefix(err, "config.json");
            goto out;
        }
        snprintf(c->vendor, sizeof(c->vendor), "%s", json_string_value(v));
    }
    if ((rc = config_int(o, "maxReleaseLifetime", 1, COSIGND_MAX_LIFETIME_MAX,
                         &c->max_release_lifetime, err)) != VOUCH_OK ||
        (rc = config_int(o, "skew", 0, VOUCH_COSIGN_MAX_TTL, &c->skew, err)) != VOUCH_OK ||
        (rc = config_int(o, "rateBurst", 1, COSIGND_RATE_BURST_MAX, &c->rate_burst, err)) !=
            VOUCH_OK ||
        (rc = config_int(o, "ratePerMinute", 1, COSIGND_RATE_PER_MIN_MAX, &c->rate_per_minute,
                         err)) != VOUCH_OK)
        goto out;
    if (vouch_json_get_string(o, "key", &s, err) != VOUCH_OK || s[0] == '\0' ||
        strlen(s) != json_string_length(json_object_get(o, "key")) ||
        strlen(s) >= sizeof(c->key)) {
        rc = vouch_err_set(err, VOUCH_E_USAGE,
                           "config.json: \"key\" must be a file name in the directory or a "
                           "pkcs11: URI");
        goto out;
    }
    /* a file key lives in the state directory: no paths */
    if (strncmp(s, "pkcs11:", 7) != 0 && (strchr(s, '/') || strcmp(s, "..") == 0 ||
                                          strcmp(s, ".") == 0)) {
        rc = vouch_err_set(err, VOUCH_E_USAGE,
                           "config.json: \"key\" must name a file in the state directory");
        goto out;
    }
    snprintf(c->key, sizeof(c->key), "%s", s);
    rc = VOUCH_OK;
out:
    json_decref(o);
    return rc;
}

vouch_code cosignd_config_load(const char *dir, cosignd_config *c, vouch_err *err)
{
    char path[COSIGND_PATH_MAX];
    unsigned char *text = NULL;
    size_t len = 0;
    vouch_code rc;

    if ((rc = cosignd_path(dir, COSIGND_CONFIG_FILE, path, sizeof(path), err)) != VOUCH_OK)
        goto out;
    rc = vouch_file_read(path, COSIGND_CONFIG_MAX_BYTES, &text, &len, err);
    if (rc != VOUCH_OK) {
        if (rc == VOUCH_E_NOTFOUND || rc == VOUCH_E_IO)
            vouch_err_prefix(err, "not a co-signer directory (run vouch-cosignd init)");
        goto out;
    }
    rc = cosignd_config_parse((const char *)text, len, c, err);
out:
    vouch_free(text);
    return rc;
}

json_t *cosignd_config_json(const cosignd_config *c)
{
    return json_pack("{s:o,s:I,s:I,s:I,s:I,s:s}", "vendor",
                     c->vendor[0] ? json_string(c->vendor) : json_null(), "maxReleaseLifetime",
                     (json_int_t)c->max_release_lifetime, "skew", (json_int_t)c->skew,
                     "rateBurst", (json_int_t)c->rate_burst, "ratePerMinute",
                     (json_int_t)c->rate_per_minute, "key", c->key);
}

vouch_code cosignd_config_save(const char *dir, const cosignd_config *c, int exclusive,
                               vouch_err *err)
{
    char path[COSIGND_PATH_MAX];
    json_t *o = NULL;
    char *text = NULL;
    size_t len = 0;
    vouch_code rc;

    if ((rc = cosignd_path(dir, COSIGND_CONFIG_FILE, path, sizeof(path), err)) != VOUCH_OK)
        goto out;
    o = cosignd_config_json(c);
    if (!o) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory writing config.json");
        goto out;
    }
    text = json_dumps(o, JSON_INDENT(2));
    if (!text) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory writing config.json");
        goto out;
    }
    len = strlen(text);
    rc = vouch_file_write_atomic(path, text, len, 0600, exclusive, err);
out:
    vouch_free(text);
    json_decref(o);
    return rc;
}

vouch_code cosignd_key_load(const char *dir, const cosignd_config *c, vouch_key **k,
                            vouch_err *err)
{
    char path[COSIGND_PATH_MAX];
    vouch_code rc;

    *k = NULL;
    if (strncmp(c->key, "pkcs11:", 7) == 0)
        rc = vouch_key_load(c->key, k, err);
    else if ((rc = cosignd_path(dir, c->key, path, sizeof(path), err)) == VOUCH_OK)
        rc = vouch_key_load(path, k, err);
    if (rc != VOUCH_OK)
        goto out;
    if (!vouch_key_has_private(*k)) {
        rc = vouch_err_set(err, VOUCH_E_KEY_NOT_PRIVATE, "the co-signer key has no private half");
        vouch_key_free(*k);
        *k = NULL;
    }
out:
    return rc;
}
