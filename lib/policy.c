/* policy.c - the trust policy (vouch/policy.h): strict parse, root and
 * rotation verification, role thresholds over distinct keys, signing, and
 * the did:web document of the policy's keys. */
#include "vouch/policy.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "vouch/json.h"
#include "vouch/mem.h"

#define POLICY_TYPE "vouch-trust-policy"
#define POLICY_KID_MAX 64u
#define POLICY_ISSUER_MAX 255u
#define POLICY_MAX_DEPTH 8u

/*
 * The development key list: RFC 7638 thumbprints of every private key
 * committed under tests/data/ (tests/data/keys/p256-{1..4}.pem and
 * ed25519-{1..4}.pem, computed with `vouch key public FILE --format
 * thumbprint`). Their private halves are public knowledge, so a production
 * policy naming one of them is refused (VOUCH_E_POLICY_DEV_KEY). Whoever
 * commits another private key under tests/data/ adds its thumbprint here.
 * The list also holds the published example keys that tests elsewhere use
 * with their private halves (RFC 7515, RFC 7517, RFC 8037, and the fixed
 * key of tests/fuzz/fuzz_cosign_request.c): a test key is a test key.
 */
static const char *const dev_thumbprints[] = {
    "cjdlw73zYsk-RC2cEo3vuxburGEfZgu-oGCpco-vbIo", /* p256-1.pem */
    "UmNl3fbrM-bGcwiDUEUz_VdSkZvGemajzRA5AZKFVUs", /* p256-2.pem */
    "v66k0CkRcBvNvCZQpjbu1ziThnFgfUaKHhvCnF0iJKM", /* p256-3.pem */
    "9UHa4ED_qWvKL9SQg77DCv_XZZN1N1ei-shZAtNz_qo", /* p256-4.pem */
    "3VcFe7eB6790tuQo0qz9klIKG_AAKqLXgzARJbVVTMo", /* ed25519-1.pem */
    "of3w2hcfH1UqE-DgalellWvMIMc-dQg_rizQ2Ryas8M", /* ed25519-2.pem */
    "pI7Lw_vQmJiGVb_FafmtDbTxyFTXBJkKrMZAVQgjpGI", /* ed25519-3.pem */
    "CAGdpChLKsGg2Kd4Bs4shq-xOu_xatPIkpR896NWMSs", /* ed25519-4.pem */
    "oKIywvGUpTVTyxMQ3bwIIeQUudfr_CkLMjCE19ECD-U", /* RFC 7515 A.3 (ES256) */
    "cn-I_WNMClehiVp51i_0VpOENW1upEerA8sEam5hn-s", /* RFC 7517 A.2 (P-256) */
    "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k", /* RFC 8037 A.1 (Ed25519), A.3 */
    "s1ANx3p5Ny3FCaEEmXdW5IM2rkzVWnfnuu6jTITn2M4", /* fuzz_cosign_request.c */
};

static const char *const role_names[VOUCH_ROLE__COUNT] = {"root", "release", "cosign", "issuer",
                                                          "server"};

static const char *const policy_members[] = {
    "type",  "version", "issued",          "expires",            "issuer",
    "keys",  "roles",   "releaseRequires", "maxReleaseLifetime", "production",
};
#define NMEMBERS (sizeof(policy_members) / sizeof(policy_members[0]))

typedef struct policy_key {
    const char *kid; /* borrowed from doc */
    vouch_key *key;
    vouch_role role; /* VOUCH_ROLE__COUNT until a role claims it */
} policy_key;

typedef struct policy_role {
    int present;
    unsigned threshold;
    size_t n;
    vouch_jws_keyref refs[VOUCH_POLICY_MAX_KEYS]; /* kid NULL: matched by key */
    const char *kids[VOUCH_POLICY_MAX_KEYS];
} policy_role;

struct vouch_policy {
    json_t *doc;
    char *jws;
    size_t jws_len;
    int64_t version, issued, expires, max_life;
    int production;
    const char *issuer;
    size_t nkeys;
    policy_key keys[VOUCH_POLICY_MAX_KEYS];
    policy_role roles[VOUCH_ROLE__COUNT];
    int requires[VOUCH_ROLE__COUNT];
};

/* An outside string as it may appear in a message: at most 64 bytes of
 * printable ASCII, anything else shown as '?' (no escape sequences reach a
 * terminal or a log through an error message). */
static const char *policy_shown(const char *s, char out[68])
{
    size_t i = 0;

    for (; s && s[i] && i < 64; i++)
        out[i] = (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\') ? s[i] : '?';
    if (s && s[i])
        out[i++] = '.', out[i++] = '.', out[i++] = '.';
    out[i] = '\0';
    return out;
}

vouch_role vouch_role_from_name(const char *name)
{
    for (int r = 0; name && r < VOUCH_ROLE__COUNT; r++)
        if (strcmp(role_names[r], name) == 0)
            return (vouch_role)r;
    return VOUCH_ROLE__COUNT;
}

const char *vouch_role_name(vouch_role r)
{
    return (unsigned)r < VOUCH_ROLE__COUNT ? role_names[r] : "unknown";
}

int vouch_policy_is_dev_thumbprint(const char *thumbprint)
{
    for (size_t i = 0; thumbprint && i < sizeof(dev_thumbprints) / sizeof(dev_thumbprints[0]); i++)
        if (strcmp(dev_thumbprints[i], thumbprint) == 0)
            return 1;
    return 0;
}

void vouch_policy_free(vouch_policy *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nkeys; i++)
        vouch_key_free(p->keys[i].key);
    json_decref(p->doc);
    vouch_free(p->jws);
    vouch_free(p);
}

/* [A-Za-z0-9._-]{1,64}: safe in a JWS kid and in a DID URL fragment. */
static int policy_kid_ok(const char *s)
{
    size_t n = strnlen(s, POLICY_KID_MAX + 1);

    if (n == 0 || n > POLICY_KID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* "did:<method>:<id>", printable ASCII, at most 255 bytes. */
static int policy_did_ok(const char *s)
{
    size_t n = strnlen(s, POLICY_ISSUER_MAX + 1);
    const char *m = s + 4;

    if (n > POLICY_ISSUER_MAX || n < 7 || strncmp(s, "did:", 4) != 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            return 0;
    while ((*m >= 'a' && *m <= 'z') || (*m >= '0' && *m <= '9'))
        m++;
    return m > s + 4 && *m == ':' && m[1] != '\0';
}

/* An integer member in lo..2^53-1 (POLICY_FORMAT otherwise). */
static vouch_code policy_int(const json_t *doc, const char *name, int64_t lo, int64_t *out,
                             vouch_err *err)
{
    json_t *v = json_object_get(doc, name);

    if (!json_is_integer(v) || json_integer_value(v) < lo ||
        json_integer_value(v) > VOUCH_JSON_MAX_SAFE_INT)
        return vouch_err_set(err, VOUCH_E_POLICY_FORMAT,
                             "policy \"%s\" is not an integer in %lld..2^53-1", name,
                             (long long)lo);
    *out = (int64_t)json_integer_value(v);
    return VOUCH_OK;
}

/* Unknown members first, then missing ones: a leftover is never ignored. */
static vouch_code policy_members_check(const json_t *doc, vouch_err *err)
{
    char shown[68];
    const char *k;
    json_t *v;
    size_t i;

    json_object_foreach((json_t *)doc, k, v) {
        (void)v;
        for (i = 0; i < NMEMBERS; i++)
            if (strcmp(policy_members[i], k) == 0)
                break;
        if (i == NMEMBERS)
            return vouch_err_set(err, VOUCH_E_POLICY_FORMAT, "policy: unknown member \"%s\"",
                                 policy_shown(k, shown));
    }
    for (i = 0; i < NMEMBERS; i++)
        if (!json_object_get(doc, policy_members[i]))
            return vouch_err_set(err, VOUCH_E_POLICY_FORMAT, "policy: member \"%s\" is missing",
                                 policy_members[i]);
    return VOUCH_OK;
}

static vouch_code policy_parse_keys(vouch_policy *p, const json_t *keys, vouch_err *err)
{
    char shown[68];
    const char *kid;
    json_t *jwk;
    vouch_code rc = VOUCH_OK;

    if (!json_is_object(keys) || json_object_size(keys) == 0) {
        rc = vouch_err_set(err, VOUCH_E_POLICY_FORMAT, "policy \"keys\" is not a non-empty object");
        goto out;
    }
    if (json_object_size(keys) > VOUCH_POLICY_MAX_KEYS) {
        rc = vouch_err_set(err, VOUCH_E_LIMIT, "policy has %zu keys, more than %u",
                           json_object_size(keys), VOUCH_POLICY_MAX_KEYS);
        goto out;
    }
    json_object_foreach((json_t *)keys, kid, jwk) {
        policy_key *pk = &p->keys[p->nkeys];

        if (!policy_kid_ok(kid)) {
            rc = vouch_err_set(err, VOUCH_E_POLICY_FORMAT,
                               "policy key id \"%s\" is not [A-Za-z0-9._-]{1,64}",
                               policy_shown(kid, shown));
            goto out;
        }
        if (!json_is_object(jwk)) {
            rc = vouch_err_set(err, VOUCH_E_POLICY_FORMAT, "policy key %s is not a JWK object",
                               kid);
            goto out;
        }
        rc = vouch_key_from_jwk(jwk, VOUCH_JWK_PUBLIC, &pk->key, err);
        if (rc != VOUCH_OK) {
            vouch_err_prefix(err, "policy key %s", kid);
            goto out;
        }
        pk->kid = kid;
        pk->role = VOUCH_ROLE__COUNT;
        p->nkeys++;
        for (size_t i = 0; i + 1 < p->nkeys; i++)
            if (vouch_key_equal(p->keys[i].key, pk->key)) {
                rc = vouch_err_set(err, VOUCH_E_POLICY_KEY_REUSE,
                                   "policy keys %s and %s are the same key", p->keys[i].kid, kid);
                goto out;
            }
    }
out:
    return rc;
}

static policy_key *policy_find_kid(vouch_policy *p, const char *kid)
{
    for (size_t i = 0; i < p->nkeys; i++)
        if (strcmp(p->keys[i].kid, kid) == 0)
            return &p->keys[i];
    return NULL;
}

static vouch_code policy_parse_role(vouch_policy *p, vouch_role r, const json_t *ro,
                                    vouch_err *err)
{
    policy_role *pr = &p->roles[r];
    const char *name = role_names[r], *k;
    char shown[68];
    json_t *keys, *th, *v;
    size_t i;
    vouch_code rc = VOUCH_OK;

    if (!json_is_object(ro)) {
        rc = vouch_err_set(err, VOUCH_E_POLICY_FORMAT, "role %s is not an object", name);
        goto out;
    }
    json_object_foreach((json_t *)ro, k, v) {
        (void)v;
        if (strcmp(k, "threshold") != 0 && strcmp(k, "keys") != 0) {
            rc = vouch_err_set(err, VOUCH_E_POLICY_FORMAT, "role %s: unknown member \"%s\"",
                               name, policy_shown(k, shown));
            goto out;
        }
    }
    keys = json_object_get(ro, "keys");
    th = json_object_get(ro, "threshold");
    if (!keys || !th) {
        rc = vouch_err_set(err, VOUCH_E_POLICY_FORMAT, "role %s: member \"%s\" is missing", name,
                           keys ? "threshold" : "keys");
        goto out;
    }
    if (!json_is_array(keys)) {
        rc = vouch_err_set(err, VOUCH_E_POLICY_FORMAT, "role %s: \"keys\" is not an array", name);
        goto out;
    }
    if (json_array_size(keys) == 0) {
        rc = vouch_err_set(err, VOUCH_E_POLICY_ROLE, "role %s has no keys", name);
        goto out;
    }
    if (json_array_size(keys) > VOUCH_POLICY_MAX_KEYS) {
        rc = vouch_err_set(err, VOUCH_E_LIMIT, "role %s lists more than %u keys", name,
                           VOUCH_POLICY_MAX_KEYS);
        goto out;
    }
    json_array_foreach(keys, i, v) {
        policy_key *pk;

        if (!json_is_string(v)) {
            rc = vouch_err_set(err, VOUCH_E_POLICY_FORMAT, "role %s: keys[%zu] is not a string",
                               name, i);
            goto out;
        }
        pk = policy_find_kid(p, json_string_value(v));
        if (!pk) {
            rc = vouch_err_set(err, VOUCH_E_POLICY_ROLE, "role %s: key \"%s\" is not in keys",
                               name, policy_shown(json_string_value(v), shown));
            goto out;
        }
        if (pk->role != VOUCH_ROLE__COUNT) {
            /* twice in one role, or in two roles: thresholds must count
             * distinct keys, and no key may serve two roles */
            if (pk->role == r)
                rc = vouch_err_set(err, VOUCH_E_POLICY_KEY_REUSE,
                                   "key %s is listed twice in role %s", pk->kid, name);
            else
                rc = vouch_err_set(err, VOUCH_E_POLICY_KEY_REUSE, "key %s is in roles %s and %s",
                                   pk->kid, role_names[pk->role], name);
            goto out;
        }
        pk->role = r;
        pr->refs[pr->n].kid = NULL;
        pr->refs[pr->n].key = pk->key;
        pr->kids[pr->n] = pk->kid;
        pr->n++;
    }
    /* a JSON integer only: 1.5, 2.0 and "2" are not thresholds */
    if (!json_is_integer(th) || json_integer_value(th) < 1 ||
        (json_int_t)pr->n < json_integer_value(th)) {
        rc = vouch_err_set(err, VOUCH_E_POLICY_THRESHOLD,
                           "role %s: threshold must be an integer in 1..%zu", name, pr->n);
        goto out;
    }
    pr->threshold = (unsigned)json_integer_value(th);
    pr->present = 1;
out:
    return rc;
}

static vouch_code policy_parse_roles(vouch_policy *p, const json_t *roles, vouch_err *err)
{
    char shown[68];
    const char *name;
    json_t *ro;
    vouch_code rc = VOUCH_OK;

    if (!json_is_object(roles)) {
        rc = vouch_err_set(err, VOUCH_E_POLICY_FORMAT, "policy \"roles\" is not an object");
        goto out;
    }
    json_object_foreach((json_t *)roles, name, ro) {
        vouch_role r = vouch_role_from_name(name);

        if (r == VOUCH_ROLE__COUNT) {
            rc = vouch_err_set(err, VOUCH_E_POLICY_ROLE, "unknown role \"%s\"",
                               policy_shown(name, shown));
            goto out;
        }
        if ((rc = policy_parse_role(p, r, ro, err)) != VOUCH_OK)
            goto out;
    }
    if (!p->roles[VOUCH_ROLE_ROOT].present) {
        rc = vouch_err_set(err, VOUCH_E_POLICY_ROLE, "policy has no root role");
        goto out;
    }
    for (size_t i = 0; i < p->nkeys; i++)
        if (p->keys[i].role == VOUCH_ROLE__COUNT) {
            rc = vouch_err_set(err, VOUCH_E_POLICY_ROLE, "key %s belongs to no role",
                               p->keys[i].kid);
            goto out;
        }
out:
    return rc;
}

static vouch_code policy_parse_requires(vouch_policy *p, const json_t *req, vouch_err *err)
{
    char shown[68];
    size_t i;
    json_t *v;
    vouch_code rc = VOUCH_OK;

    if (!json_is_array(req)) {
        rc = vouch_err_set(err, VOUCH_E_POLICY_FORMAT, "\"releaseRequires\" is not an array");
        goto out;
    }
    if (json_array_size(req) == 0) {
        rc = vouch_err_set(err, VOUCH_E_POLICY_ROLE, "\"releaseRequires\" is empty");
        goto out;
    }
    json_array_foreach(req, i, v) {
        vouch_role r;

        if (!json_is_string(v)) {
            rc = vouch_err_set(err, VOUCH_E_POLICY_FORMAT, "releaseRequires[%zu] is not a string",
                               i);
            goto out;
        }
        r = vouch_role_from_name(json_string_value(v));
        if (r == VOUCH_ROLE__COUNT || r == VOUCH_ROLE_ROOT) {
            rc = vouch_err_set(err, VOUCH_E_POLICY_ROLE,
                               "releaseRequires[%zu] names %s role \"%s\"", i,
                               r == VOUCH_ROLE_ROOT ? "the" : "an unknown",
                               policy_shown(json_string_value(v), shown));
            goto out;
        }
        if (p->requires[r]) {
            rc = vouch_err_set(err, VOUCH_E_POLICY_ROLE, "releaseRequires names %s twice",
                               role_names[r]);
            goto out;
        }
        if (!p->roles[r].present) {
            rc = vouch_err_set(err, VOUCH_E_POLICY_ROLE,
                               "releaseRequires names role %s, which has no keys", role_names[r]);
            goto out;
        }
        p->requires[r] = 1;
    }
    if (!p->requires[VOUCH_ROLE_RELEASE]) {
        rc = vouch_err_set(err, VOUCH_E_POLICY_ROLE, "releaseRequires must include \"release\"");
        goto out;
    }
out:
    return rc;
}

static vouch_code policy_check_dev_keys(const vouch_policy *p, vouch_err *err)
{
    char tp[VOUCH_THUMBPRINT_LEN + 1];
    vouch_code rc = VOUCH_OK;

    if (!p->production)
        goto out;
    for (size_t i = 0; i < p->nkeys; i++) {
        if ((rc = vouch_key_thumbprint(p->keys[i].key, tp, err)) != VOUCH_OK)
            goto out;
        if (vouch_policy_is_dev_thumbprint(tp)) {
            rc = vouch_err_set(err, VOUCH_E_POLICY_DEV_KEY,
                               "production policy key %s is a development key", p->keys[i].kid);
            goto out;
        }
    }
out:
    return rc;
}

/* Everything vouch_policy_parse checks, except the development key list
 * when check_dev is 0 (the verifiers check it after the signatures). */
static vouch_code policy_parse(const char *json, size_t len, int check_dev, vouch_policy **out,
                               vouch_err *err)
{
    vouch_json_limits lim = {VOUCH_POLICY_MAX_BYTES, POLICY_MAX_DEPTH};
    vouch_policy *p = NULL;
    json_t *v;
    vouch_code rc;

    if (out)
        *out = NULL;
    if (!json || !out) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "vouch_policy_parse: bad argument");
        goto out;
    }
    p = vouch_calloc(1, sizeof(*p));
    if (!p) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory parsing a policy");
        goto out;
    }
    if ((rc = vouch_json_parse_object(json, len, &lim, &p->doc, err)) != VOUCH_OK) {
        vouch_err_prefix(err, "policy");
        goto out;
    }
    if ((rc = policy_members_check(p->doc, err)) != VOUCH_OK)
        goto out;
    v = json_object_get(p->doc, "type");
    if (!json_is_string(v) || strcmp(json_string_value(v), POLICY_TYPE) != 0) {
        rc = vouch_err_set(err, VOUCH_E_POLICY_FORMAT, "policy \"type\" is not \"%s\"",
                           POLICY_TYPE);
        goto out;
    }
    if ((rc = policy_int(p->doc, "version", 1, &p->version, err)) != VOUCH_OK ||
        (rc = policy_int(p->doc, "issued", 0, &p->issued, err)) != VOUCH_OK ||
        (rc = policy_int(p->doc, "expires", 0, &p->expires, err)) != VOUCH_OK ||
        (rc = policy_int(p->doc, "maxReleaseLifetime", 1, &p->max_life, err)) != VOUCH_OK)
        goto out;
    if (p->expires <= p->issued) {
        rc = vouch_err_set(err, VOUCH_E_POLICY_FORMAT, "policy expires before it is issued");
        goto out;
    }
    v = json_object_get(p->doc, "issuer");
    if (!json_is_string(v) || !policy_did_ok(json_string_value(v))) {
        rc = vouch_err_set(err, VOUCH_E_POLICY_FORMAT, "policy \"issuer\" is not a DID");
        goto out;
    }
    p->issuer = json_string_value(v);
    v = json_object_get(p->doc, "production");
    if (!json_is_boolean(v)) {
        rc = vouch_err_set(err, VOUCH_E_POLICY_FORMAT, "policy \"production\" is not a boolean");
        goto out;
    }
    p->production = json_is_true(v);
    if ((rc = policy_parse_keys(p, json_object_get(p->doc, "keys"), err)) != VOUCH_OK ||
        (rc = policy_parse_roles(p, json_object_get(p->doc, "roles"), err)) != VOUCH_OK ||
        (rc = policy_parse_requires(p, json_object_get(p->doc, "releaseRequires"), err)) !=
            VOUCH_OK)
        goto out;
    if (check_dev && (rc = policy_check_dev_keys(p, err)) != VOUCH_OK)
        goto out;
    *out = p;
    p = NULL;
    rc = VOUCH_OK;
out:
    vouch_policy_free(p);
    return rc;
}

vouch_code vouch_policy_parse(const char *json, size_t len, vouch_policy **out, vouch_err *err)
{
    return policy_parse(json, len, 1, out, err);
}

/* The typ rule of vouch/jws.h: case-insensitive, optional "application/". */
static int policy_typ_ok(const char *typ)
{
    if (!typ)
        return 0;
    if (strncasecmp(typ, "application/", 12) == 0)
        typ += 12;
    return strcasecmp(typ, VOUCH_POLICY_TYP) == 0;
}

/* 1 if signatures a and b are byte-for-byte the same (header and value). */
static int policy_sig_same(const vouch_jws_sig *a, const vouch_jws_sig *b)
{
    return a->sig_len == b->sig_len && strcmp(a->protected_b64, b->protected_b64) == 0 &&
           (a->sig_len == 0 || memcmp(a->sig, b->sig, a->sig_len) == 0);
}

/*
 * Counts the distinct keys of role r that made a valid signature over jws.
 * Signatures are matched by key, never by kid (a kid is a hint a signer
 * chooses, so it can neither help nor hurt): each signature is tried with
 * every role key of its alg's type, exactly what vouch_jws_verify_all does
 * with the role's wildcard keyrefs. A repeated signature is checked once.
 */
static vouch_code policy_count_role(const vouch_policy *p, vouch_role r, const vouch_jws *jws,
                                    const char *typ, unsigned *count, vouch_err *err)
{
    const policy_role *pr = &p->roles[r];
    const vouch_key *seen[VOUCH_POLICY_MAX_KEYS];
    unsigned n = 0;
    vouch_code rc = VOUCH_OK;

    *count = 0;
    if (jws->nsigs > VOUCH_JWS_MAX_SIGS) {
        rc = vouch_err_set(err, VOUCH_E_JWS_TOO_MANY_SIGS, "more than %u signatures",
                           VOUCH_JWS_MAX_SIGS);
        goto out;
    }
    for (size_t i = 0; i < jws->nsigs; i++) {
        size_t dup;

        for (dup = 0; dup < i; dup++)
            if (policy_sig_same(&jws->sigs[dup], &jws->sigs[i]))
                break;
        if (dup < i)
            continue;
        for (size_t k = 0; k < pr->n; k++) {
            const vouch_key *key = pr->refs[k].key;
            const char *alg = vouch_key_alg(key);
            unsigned j;

            if (!alg || !jws->sigs[i].alg || strcmp(alg, jws->sigs[i].alg) != 0)
                continue;
            vouch_code c = vouch_jws_verify_sig(jws, i, key, typ, NULL);
            if (c == VOUCH_E_NOMEM || c == VOUCH_E_INTERNAL) {
                /* a failure of ours is not a verdict on the signature */
                rc = vouch_err_set(err, c, "cannot check signature %zu of role %s", i,
                                   role_names[r]);
                goto out;
            }
            if (c != VOUCH_OK)
                continue;
            for (j = 0; j < n; j++)
                if (vouch_key_equal(seen[j], key))
                    break;
            if (j == n && n < VOUCH_POLICY_MAX_KEYS)
                seen[n++] = key;
            break; /* one signature speaks for one key */
        }
    }
    *count = n;
out:
    return rc;
}

vouch_code vouch_policy_check_role(const vouch_policy *p, vouch_role r, const vouch_jws *jws,
                                   vouch_code fail_code, vouch_err *err)
{
    unsigned n = 0;
    vouch_code rc;

    if (!p || !jws || (unsigned)r >= VOUCH_ROLE__COUNT) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "vouch_policy_check_role: bad argument");
        goto out;
    }
    if (!p->roles[r].present) {
        rc = vouch_err_set(err, VOUCH_E_POLICY_ROLE, "the policy has no %s role", role_names[r]);
        goto out;
    }
    if ((rc = policy_count_role(p, r, jws, NULL, &n, err)) != VOUCH_OK)
        goto out;
    if (n < p->roles[r].threshold) {
        rc = vouch_err_set(err, fail_code, "role %s: %u distinct valid signature%s, %u needed",
                           role_names[r], n, n == 1 ? "" : "s", p->roles[r].threshold);
        goto out;
    }
    rc = VOUCH_OK;
out:
    return rc;
}

/* Cap, structure, and the typ of every signature. */
static vouch_code policy_jws_open(const char *jws, size_t len, vouch_jws **out, vouch_err *err)
{
    vouch_jws *j = NULL;
    vouch_code rc;

    *out = NULL;
    if (!jws) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "no policy text");
        goto out;
    }
    if (len > VOUCH_POLICY_MAX_BYTES) {
        rc = vouch_err_set(err, VOUCH_E_JWS_TOO_LARGE, "policy is larger than %u bytes",
                           VOUCH_POLICY_MAX_BYTES);
        goto out;
    }
    if ((rc = vouch_jws_parse(jws, len, &j, err)) != VOUCH_OK) {
        vouch_err_prefix(err, "policy");
        goto out;
    }
    for (size_t i = 0; i < j->nsigs; i++)
        if (!policy_typ_ok(j->sigs[i].typ)) {
            rc = vouch_err_set(err, VOUCH_E_JWS_TYP, "policy signature %zu: typ is not %s", i,
                               VOUCH_POLICY_TYP);
            goto out;
        }
    *out = j;
    j = NULL;
    rc = VOUCH_OK;
out:
    vouch_jws_free(j);
    return rc;
}

/* A threshold of p's root keys signed j (VOUCH_E_POLICY_SIGNATURES). */
static vouch_code policy_root_met(const vouch_policy *p, const vouch_jws *j, const char *which,
                                  vouch_err *err)
{
    unsigned n = 0;
    vouch_code rc = policy_count_role(p, VOUCH_ROLE_ROOT, j, VOUCH_POLICY_TYP, &n, err);

    if (rc != VOUCH_OK)
        goto out;
    if (n < p->roles[VOUCH_ROLE_ROOT].threshold)
        rc = vouch_err_set(err, VOUCH_E_POLICY_SIGNATURES,
                           "%s root threshold not met: %u distinct valid root signature%s of %u "
                           "needed",
                           which, n, n == 1 ? "" : "s", p->roles[VOUCH_ROLE_ROOT].threshold);
out:
    return rc;
}

/* The last checks of every verifier, then the signed text is kept. */
static vouch_code policy_finish(vouch_policy *p, const char *jws, size_t len, int check_expiry,
                                int64_t now, vouch_err *err)
{
    vouch_code rc;

    if ((rc = policy_check_dev_keys(p, err)) != VOUCH_OK)
        goto out;
    if (check_expiry && now >= p->expires) {
        rc = vouch_err_set(err, VOUCH_E_POLICY_EXPIRED,
                           "policy version %lld expired at %lld (now %lld)",
                           (long long)p->version, (long long)p->expires, (long long)now);
        goto out;
    }
    /* exactly the bytes that were verified, whatever they hold */
    p->jws = vouch_malloc(len + 1);
    if (!p->jws) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory keeping the policy");
        goto out;
    }
    memcpy(p->jws, jws, len);
    p->jws[len] = '\0';
    p->jws_len = len;
out:
    return rc;
}

static vouch_code policy_verify_self(const char *jws, size_t len, int check_expiry, int64_t now,
                                     vouch_policy **out, vouch_err *err)
{
    vouch_jws *j = NULL;
    vouch_policy *p = NULL;
    vouch_code rc;

    if (out)
        *out = NULL;
    if (!out) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "vouch_policy_verify_root: no output");
        goto out;
    }
    if ((rc = policy_jws_open(jws, len, &j, err)) != VOUCH_OK)
        goto out;
    /* a root of trust names its own keys: they are only known after the
     * (hardened, capped) parse of the payload */
    if ((rc = policy_parse((const char *)j->payload, j->payload_len, 0, &p, err)) != VOUCH_OK ||
        (rc = policy_root_met(p, j, "policy", err)) != VOUCH_OK ||
        (rc = policy_finish(p, jws, len, check_expiry, now, err)) != VOUCH_OK)
        goto out;
    *out = p;
    p = NULL;
out:
    vouch_policy_free(p);
    vouch_jws_free(j);
    return rc;
}

vouch_code vouch_policy_verify_root(const char *jws, size_t len, int64_t now, vouch_policy **out,
                                    vouch_err *err)
{
    return policy_verify_self(jws, len, 1, now, out, err);
}

vouch_code vouch_policy_verify_pinned(const char *jws, size_t len, vouch_policy **out,
                                      vouch_err *err)
{
    return policy_verify_self(jws, len, 0, 0, out, err);
}

vouch_code vouch_policy_verify_next(const vouch_policy *cur, const char *jws, size_t len,
                                    int64_t now, vouch_policy **out, vouch_err *err)
{
    vouch_jws *j = NULL;
    vouch_policy *p = NULL;
    vouch_code rc;

    if (out)
        *out = NULL;
    if (!cur || !out) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "vouch_policy_verify_next: bad argument");
        goto out;
    }
    if ((rc = policy_jws_open(jws, len, &j, err)) != VOUCH_OK)
        goto out;
    /* the keys we already trust speak first, before a byte of the new
     * payload is interpreted */
    if ((rc = policy_root_met(cur, j, "old", err)) != VOUCH_OK)
        goto out;
    if ((rc = policy_parse((const char *)j->payload, j->payload_len, 0, &p, err)) != VOUCH_OK)
        goto out;
    if (p->version != cur->version + 1) {
        rc = vouch_err_set(err, VOUCH_E_POLICY_VERSION,
                           "policy version %lld does not follow the pinned version %lld",
                           (long long)p->version, (long long)cur->version);
        goto out;
    }
    if ((rc = policy_root_met(p, j, "new", err)) != VOUCH_OK ||
        (rc = policy_finish(p, jws, len, 1, now, err)) != VOUCH_OK)
        goto out;
    *out = p;
    p = NULL;
out:
    vouch_policy_free(p);
    vouch_jws_free(j);
    return rc;
}

int64_t vouch_policy_version(const vouch_policy *p) { return p ? p->version : 0; }
int64_t vouch_policy_issued(const vouch_policy *p) { return p ? p->issued : 0; }
int64_t vouch_policy_expires(const vouch_policy *p) { return p ? p->expires : 0; }
int64_t vouch_policy_max_release_lifetime(const vouch_policy *p) { return p ? p->max_life : 0; }
int vouch_policy_is_production(const vouch_policy *p) { return p ? p->production : 0; }
const char *vouch_policy_issuer(const vouch_policy *p) { return p ? p->issuer : NULL; }
const json_t *vouch_policy_json(const vouch_policy *p) { return p ? p->doc : NULL; }

const char *vouch_policy_jws(const vouch_policy *p, size_t *len)
{
    if (len)
        *len = p && p->jws ? p->jws_len : 0;
    return p ? p->jws : NULL;
}

vouch_code vouch_policy_role_keys(const vouch_policy *p, vouch_role r,
                                  const vouch_jws_keyref **keys, size_t *nkeys,
                                  unsigned *threshold, vouch_err *err)
{
    vouch_code rc = VOUCH_OK;

    if (!p || (unsigned)r >= VOUCH_ROLE__COUNT) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "vouch_policy_role_keys: bad argument");
        goto out;
    }
    if (!p->roles[r].present) {
        rc = vouch_err_set(err, VOUCH_E_POLICY_ROLE, "the policy has no %s role", role_names[r]);
        goto out;
    }
    if (keys)
        *keys = p->roles[r].refs;
    if (nkeys)
        *nkeys = p->roles[r].n;
    if (threshold)
        *threshold = p->roles[r].threshold;
out:
    return rc;
}

int vouch_policy_release_requires(const vouch_policy *p, vouch_role r)
{
    return p && (unsigned)r < VOUCH_ROLE__COUNT && p->requires[r];
}

const vouch_key *vouch_policy_key(const vouch_policy *p, const char *kid)
{
    for (size_t i = 0; p && kid && i < p->nkeys; i++)
        if (strcmp(p->keys[i].kid, kid) == 0)
            return p->keys[i].key;
    return NULL;
}

size_t vouch_policy_key_count(const vouch_policy *p) { return p ? p->nkeys : 0; }

const vouch_key *vouch_policy_key_at(const vouch_policy *p, size_t i, const char **kid,
                                     vouch_role *role)
{
    if (!p || i >= p->nkeys)
        return NULL;
    if (kid)
        *kid = p->keys[i].kid;
    if (role)
        *role = p->keys[i].role;
    return p->keys[i].key;
}

vouch_code vouch_policy_precompute(vouch_policy *p, vouch_role r, vouch_err *err)
{
    vouch_code rc = VOUCH_OK, krc;

    if (!p)
        return vouch_err_set(err, VOUCH_E_ARG, "vouch_policy_precompute: NULL policy");
    for (size_t i = 0; i < p->nkeys; i++) {
        if (p->keys[i].role != r)
            continue;
        krc = vouch_key_precompute(p->keys[i].key, rc == VOUCH_OK ? err : NULL);
        if (rc == VOUCH_OK)
            rc = krc;
    }
    return rc;
}

const char *vouch_policy_kid_of(const vouch_policy *p, const vouch_key *k)
{
    for (size_t i = 0; p && k && i < p->nkeys; i++)
        if (vouch_key_equal(p->keys[i].key, k))
            return p->keys[i].kid;
    return NULL;
}

vouch_code vouch_policy_sign(const char *payload, size_t len, const vouch_jws_keyref *signers,
                             size_t nsigners, char **out, size_t *out_len, vouch_err *err)
{
    vouch_policy *p = NULL;
    char *cur = NULL, *next = NULL;
    vouch_code rc;

    if (out)
        *out = NULL;
    if (out_len)
        *out_len = 0;
    if (!payload || !signers || !nsigners || !out || nsigners > VOUCH_JWS_MAX_SIGS) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "vouch_policy_sign: bad argument");
        goto out;
    }
    if ((rc = vouch_policy_parse(payload, len, &p, err)) != VOUCH_OK)
        goto out;
    for (size_t i = 0; i < nsigners; i++) {
        vouch_jws_sign_opts o = {VOUCH_POLICY_TYP, signers[i].kid, NULL};

        if (!signers[i].key || !signers[i].kid) {
            rc = vouch_err_set(err, VOUCH_E_ARG, "vouch_policy_sign: signer %zu has no key or kid",
                               i);
            goto out;
        }
        if (i == 0)
            rc = vouch_jws_sign_general(signers[i].key, &o, (const uint8_t *)payload, len, &next,
                                        err);
        else
            rc = vouch_jws_general_add(cur, strlen(cur), signers[i].key, &o, &next, err);
        if (rc != VOUCH_OK) {
            vouch_err_prefix(err, "signing the policy as %s", signers[i].kid);
            goto out;
        }
        vouch_free(cur);
        cur = next;
        next = NULL;
    }
    if (out_len)
        *out_len = strlen(cur);
    *out = cur;
    cur = NULL;
out:
    vouch_free(cur);
    vouch_free(next);
    vouch_policy_free(p);
    return rc;
}

vouch_code vouch_policy_did_document(const vouch_policy *p, const char *did, json_t **out,
                                     vouch_err *err)
{
    json_t *doc = NULL, *vms, *am, *auth, *jwk = NULL;
    char id[POLICY_ISSUER_MAX + POLICY_KID_MAX + 2], shown[68];
    vouch_code rc;

    vouch_json_init();
    if (out)
        *out = NULL;
    if (!p || !did || !out) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "vouch_policy_did_document: bad argument");
        goto out;
    }
    if (strncmp(did, "did:web:", 8) != 0 || !policy_did_ok(did)) {
        rc = vouch_err_set(err, strncmp(did, "did:", 4) == 0 ? VOUCH_E_DID_METHOD
                                                              : VOUCH_E_DID_SYNTAX,
                           "not a did:web: %s", policy_shown(did, shown));
        goto out;
    }
    doc = json_pack("{s:[ss],s:s,s:[],s:[],s:[]}", "@context", "https://www.w3.org/ns/did/v1",
                    "https://w3id.org/security/suites/jws-2020/v1", "id", did,
                    "verificationMethod", "assertionMethod", "authentication");
    if (!doc) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory building the DID document");
        goto out;
    }
    vms = json_object_get(doc, "verificationMethod");
    am = json_object_get(doc, "assertionMethod");
    auth = json_object_get(doc, "authentication");
    for (size_t i = 0; i < p->nkeys; i++) {
        json_t *vm;

        snprintf(id, sizeof(id), "%s#%s", did, p->keys[i].kid);
        if ((rc = vouch_key_to_jwk(p->keys[i].key, &jwk, err)) != VOUCH_OK)
            goto out;
        vm = json_pack("{s:s,s:s,s:s,s:o}", "id", id, "type", "JsonWebKey2020", "controller",
                       did, "publicKeyJwk", jwk);
        jwk = NULL;
        if (!vm || json_array_append_new(vms, vm) != 0 ||
            json_array_append_new(p->keys[i].role == VOUCH_ROLE_SERVER ? auth : am,
                                  json_string(id)) != 0) {
            rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory building the DID document");
            goto out;
        }
    }
    *out = doc;
    doc = NULL;
    rc = VOUCH_OK;
out:
    json_decref(jwk);
    json_decref(doc);
    return rc;
}
