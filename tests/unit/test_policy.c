/* test_policy.c - unit tests of lib/policy.c (vouch/policy.h): the parse
 * rules with their exact codes, root and rotation verification, role
 * thresholds over distinct keys, signing, the DID document, and every
 * allocation failing in turn. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "unit/policy_fixture.h"
#include "vouch/policy.h"

static pfx F;

static int setup(void **state)
{
    (void)state;
    pfx_init(&F);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    pfx_free(&F);
    return 0;
}

/* Parses doc (released) and expects code. */
static void expect_parse(json_t *doc, vouch_code want)
{
    char *s = pfx_dump(doc);
    vouch_policy *p = NULL;
    vouch_err e;

    vouch_err_clear(&e);
    assert_code(vouch_policy_parse(s, strlen(s), &p, &e), want, e);
    if (want == VOUCH_OK)
        assert_non_null(p);
    else {
        assert_null(p);
        assert_true(e.msg[0] != '\0');
    }
    vouch_policy_free(p);
    vouch_free(s);
    json_decref(doc);
}

static void test_role_names(void **state)
{
    (void)state;
    assert_int_equal(vouch_role_from_name("root"), VOUCH_ROLE_ROOT);
    assert_int_equal(vouch_role_from_name("server"), VOUCH_ROLE_SERVER);
    assert_int_equal(vouch_role_from_name("Root"), VOUCH_ROLE__COUNT);
    assert_int_equal(vouch_role_from_name(NULL), VOUCH_ROLE__COUNT);
    assert_string_equal(vouch_role_name(VOUCH_ROLE_COSIGN), "cosign");
    assert_string_equal(vouch_role_name(VOUCH_ROLE__COUNT), "unknown");
}

static void test_parse_ok_accessors(void **state)
{
    json_t *doc = pfx_doc(&F, 7);
    char *s = pfx_dump(doc);
    vouch_policy *p = NULL;
    const vouch_jws_keyref *refs;
    const char *kid;
    vouch_role role;
    size_t n;
    unsigned th;
    vouch_err e;

    (void)state;
    vouch_err_clear(&e);
    assert_ok(vouch_policy_parse(s, strlen(s), &p, &e), e);
    assert_int_equal(vouch_policy_version(p), 7);
    assert_int_equal(vouch_policy_issued(p), PFX_T0);
    assert_int_equal(vouch_policy_expires(p), PFX_T0 + PFX_YEAR);
    assert_int_equal(vouch_policy_max_release_lifetime(p), 7776000);
    assert_int_equal(vouch_policy_is_production(p), 1);
    assert_string_equal(vouch_policy_issuer(p), "did:web:example.com");
    assert_null(vouch_policy_jws(p, &n));
    assert_int_equal(n, 0);
    assert_ok(vouch_policy_role_keys(p, VOUCH_ROLE_ROOT, &refs, &n, &th, &e), e);
    assert_int_equal(n, 3);
    assert_int_equal(th, 2);
    for (size_t i = 0; i < n; i++)
        assert_null(refs[i].kid); /* wildcards: matched by key */
    assert_true(vouch_key_equal(refs[1].key, F.root[1]));
    assert_ok(vouch_policy_role_keys(p, VOUCH_ROLE_COSIGN, &refs, &n, &th, &e), e);
    assert_int_equal(n, 1);
    assert_true(vouch_key_equal(refs[0].key, F.cosign));
    assert_true(vouch_policy_release_requires(p, VOUCH_ROLE_RELEASE));
    assert_true(vouch_policy_release_requires(p, VOUCH_ROLE_COSIGN));
    assert_false(vouch_policy_release_requires(p, VOUCH_ROLE_SERVER));
    assert_false(vouch_policy_release_requires(p, VOUCH_ROLE_ROOT));
    assert_true(vouch_key_equal(vouch_policy_key(p, "issuer-1"), F.issuer));
    assert_null(vouch_policy_key(p, "issuer-2"));
    assert_string_equal(vouch_policy_kid_of(p, F.server), "server-1");
    assert_null(vouch_policy_kid_of(p, F.root[4]));
    assert_int_equal(vouch_policy_key_count(p), 7);
    assert_non_null(vouch_policy_key_at(p, 0, &kid, &role));
    assert_string_equal(kid, "root-1");
    assert_int_equal(role, VOUCH_ROLE_ROOT);
    assert_non_null(vouch_policy_key_at(p, 6, &kid, &role));
    assert_string_equal(kid, "server-1");
    assert_int_equal(role, VOUCH_ROLE_SERVER);
    assert_null(vouch_policy_key_at(p, 7, NULL, NULL));
    assert_non_null(vouch_policy_json(p));
    vouch_policy_free(p);
    vouch_free(s);
    json_decref(doc);
}

static void test_parse_members(void **state)
{
    json_t *d;

    (void)state;
    d = pfx_doc(&F, 1);
    pfx_set(d, "extra", json_true());
    expect_parse(d, VOUCH_E_POLICY_FORMAT);
    d = pfx_doc(&F, 1);
    pfx_set(d, "maxReleaseLifetime", NULL);
    expect_parse(d, VOUCH_E_POLICY_FORMAT);
    d = pfx_doc(&F, 1);
    pfx_set(d, "type", json_string("vouch-release"));
    expect_parse(d, VOUCH_E_POLICY_FORMAT);
    d = pfx_doc(&F, 1);
    pfx_set(d, "version", json_integer(0));
    expect_parse(d, VOUCH_E_POLICY_FORMAT);
    d = pfx_doc(&F, 1);
    pfx_set(d, "version", json_real(2.0));
    expect_parse(d, VOUCH_E_POLICY_FORMAT);
    d = pfx_doc(&F, 1);
    pfx_set(d, "version", json_string("1"));
    expect_parse(d, VOUCH_E_POLICY_FORMAT);
    d = pfx_doc(&F, 1);
    pfx_set(d, "expires", json_integer(PFX_T0));
    expect_parse(d, VOUCH_E_POLICY_FORMAT);
    d = pfx_doc(&F, 1);
    pfx_set(d, "issuer", json_string("example.com"));
    expect_parse(d, VOUCH_E_POLICY_FORMAT);
    d = pfx_doc(&F, 1);
    pfx_set(d, "production", json_integer(1));
    expect_parse(d, VOUCH_E_POLICY_FORMAT);
    d = pfx_doc(&F, 1);
    pfx_set(d, "maxReleaseLifetime", json_integer(0));
    expect_parse(d, VOUCH_E_POLICY_FORMAT);
    d = pfx_doc(&F, 1);
    pfx_set(d, "version", json_integer(9007199254740992LL));
    expect_parse(d, VOUCH_E_POLICY_FORMAT);
    d = pfx_doc(&F, 1);
    pfx_set(d, "roles.release.weight", json_integer(1));
    expect_parse(d, VOUCH_E_POLICY_FORMAT);
    d = pfx_doc(&F, 1);
    pfx_set(d, "roles.release.threshold", NULL);
    expect_parse(d, VOUCH_E_POLICY_FORMAT);
    d = pfx_doc(&F, 1);
    pfx_set(d, "keys", json_object());
    expect_parse(d, VOUCH_E_POLICY_FORMAT);
}

/* Hostile names reach messages as printable ASCII only. */
static void test_messages_printable(void **state)
{
    json_t *d = pfx_doc(&F, 1);
    char *s;
    vouch_policy *p = NULL;
    vouch_err e;

    (void)state;
    vouch_err_clear(&e);
    pfx_set(d, "\x1b[2J\x1b]0;owned\x07", json_true());
    s = pfx_dump(d);
    assert_code(vouch_policy_parse(s, strlen(s), &p, &e), VOUCH_E_POLICY_FORMAT, e);
    for (const char *c = e.msg; *c; c++)
        assert_true(*c >= 0x20 && *c < 0x7f);
    assert_non_null(strstr(e.msg, "?[2J?]0;owned?"));
    vouch_free(s);
    json_decref(d);
}

static void test_parse_json_errors(void **state)
{
    vouch_policy *p = NULL;
    vouch_err e;
    const char *dup = "{\"type\":\"vouch-trust-policy\",\"type\":\"x\"}";

    (void)state;
    vouch_err_clear(&e);
    assert_code(vouch_policy_parse("{", 1, &p, &e), VOUCH_E_JSON_SYNTAX, e);
    assert_code(vouch_policy_parse("[]", 2, &p, &e), VOUCH_E_JSON_TYPE, e);
    assert_code(vouch_policy_parse(dup, strlen(dup), &p, &e), VOUCH_E_JSON_DUPLICATE, e);
    assert_code(vouch_policy_parse(NULL, 0, &p, &e), VOUCH_E_ARG, e);
    assert_null(p);
}

static void test_parse_keys(void **state)
{
    json_t *d, *jwk;

    (void)state;
    /* the same public key under two kids */
    d = pfx_doc(&F, 1);
    pfx_set(d, "keys.release-2", pfx_jwk(F.release));
    json_array_append_new(json_object_get(json_object_get(json_object_get(d, "roles"), "release"),
                                          "keys"),
                          json_string("release-2"));
    expect_parse(d, VOUCH_E_POLICY_KEY_REUSE);
    /* a private JWK */
    d = pfx_doc(&F, 1);
    jwk = pfx_jwk(F.release);
    json_object_set_new(jwk, "d", json_string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    pfx_set(d, "keys.release-1", jwk);
    expect_parse(d, VOUCH_E_KEY_PRIVATE);
    /* not a JWK */
    d = pfx_doc(&F, 1);
    pfx_set(d, "keys.release-1", json_string("key"));
    expect_parse(d, VOUCH_E_POLICY_FORMAT);
    d = pfx_doc(&F, 1);
    pfx_set(d, "keys.release-1", json_pack("{s:s}", "kty", "RSA"));
    expect_parse(d, VOUCH_E_KEY_TYPE);
    /* kids that could not be a JWS kid or a DID fragment */
    d = pfx_doc(&F, 1);
    pfx_set(d, "keys.release-1", NULL);
    pfx_set(d, "keys.../etc/passwd", pfx_jwk(F.release));
    expect_parse(d, VOUCH_E_POLICY_FORMAT);
    /* a key in no role */
    d = pfx_doc(&F, 1);
    pfx_set(d, "keys.spare-1", pfx_jwk(F.root[4]));
    expect_parse(d, VOUCH_E_POLICY_ROLE);
}

static void test_parse_too_many_keys(void **state)
{
    json_t *d = pfx_doc(&F, 1);
    vouch_key *extra[VOUCH_POLICY_MAX_KEYS];

    (void)state;
    for (unsigned i = 0; i < VOUCH_POLICY_MAX_KEYS; i++) {
        char kid[16];
        extra[i] = pfx_gen(VOUCH_KEY_ED25519);
        snprintf(kid, sizeof(kid), "x-%u", i);
        json_object_set_new(json_object_get(d, "keys"), kid, pfx_jwk(extra[i]));
    }
    expect_parse(d, VOUCH_E_LIMIT);
    for (unsigned i = 0; i < VOUCH_POLICY_MAX_KEYS; i++)
        vouch_key_free(extra[i]);
}

static void test_parse_roles(void **state)
{
    json_t *d;

    (void)state;
    d = pfx_doc(&F, 1);
    pfx_set(d, "roles.admin", json_pack("{s:i,s:[s]}", "threshold", 1, "keys", "server-1"));
    expect_parse(d, VOUCH_E_POLICY_ROLE);
    d = pfx_doc(&F, 1);
    pfx_set(d, "roles.release.keys", json_array());
    expect_parse(d, VOUCH_E_POLICY_ROLE);
    d = pfx_doc(&F, 1);
    pfx_set(d, "roles.release.keys", json_pack("[s]", "release-9"));
    expect_parse(d, VOUCH_E_POLICY_ROLE);
    d = pfx_doc(&F, 1);
    pfx_set(d, "roles.release.keys", json_pack("[i]", 1));
    expect_parse(d, VOUCH_E_POLICY_FORMAT);
    d = pfx_doc(&F, 1);
    pfx_set(d, "roles.release.keys", json_pack("[ss]", "release-1", "release-1"));
    expect_parse(d, VOUCH_E_POLICY_KEY_REUSE);
    /* one kid in two roles: the server key standing in for a release key */
    d = pfx_doc(&F, 1);
    pfx_set(d, "roles.release.keys", json_pack("[ss]", "release-1", "server-1"));
    expect_parse(d, VOUCH_E_POLICY_KEY_REUSE);
    d = pfx_doc(&F, 1);
    pfx_set(d, "roles.root", NULL);
    pfx_set(d, "roles.release.keys", json_pack("[ssss]", "release-1", "root-1", "root-2",
                                               "root-3"));
    expect_parse(d, VOUCH_E_POLICY_ROLE);
    /* optional roles may be absent when no release needs them */
    d = pfx_doc(&F, 1);
    pfx_set(d, "roles.server", NULL);
    pfx_set(d, "keys.server-1", NULL);
    expect_parse(d, VOUCH_OK);
    d = pfx_doc(&F, 1);
    pfx_set(d, "roles.cosign", NULL);
    pfx_set(d, "keys.cosign-1", NULL);
    expect_parse(d, VOUCH_E_POLICY_ROLE); /* releaseRequires names it */
}

static void test_parse_thresholds(void **state)
{
    json_t *bad[] = {json_integer(0),  json_integer(-1), json_integer(4), json_real(1.5),
                     json_string("2"), json_real(2.0),   json_null(),     json_true(),
                     json_integer(9007199254740991LL)};

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *d = pfx_doc(&F, 1);
        pfx_set(d, "roles.root.threshold", bad[i]);
        expect_parse(d, VOUCH_E_POLICY_THRESHOLD);
    }
    for (int t = 1; t <= 3; t++) {
        json_t *d = pfx_doc(&F, 1);
        pfx_set(d, "roles.root.threshold", json_integer(t));
        expect_parse(d, VOUCH_OK);
    }
}

static void test_parse_release_requires(void **state)
{
    json_t *d;

    (void)state;
    d = pfx_doc(&F, 1);
    pfx_set(d, "releaseRequires", json_pack("[ss]", "release", "root"));
    expect_parse(d, VOUCH_E_POLICY_ROLE);
    d = pfx_doc(&F, 1);
    pfx_set(d, "releaseRequires", json_pack("[ss]", "release", "qa"));
    expect_parse(d, VOUCH_E_POLICY_ROLE);
    d = pfx_doc(&F, 1);
    pfx_set(d, "releaseRequires", json_array());
    expect_parse(d, VOUCH_E_POLICY_ROLE);
    d = pfx_doc(&F, 1);
    pfx_set(d, "releaseRequires", json_pack("[sss]", "release", "cosign", "release"));
    expect_parse(d, VOUCH_E_POLICY_ROLE);
    d = pfx_doc(&F, 1);
    pfx_set(d, "releaseRequires", json_pack("[s]", "cosign"));
    expect_parse(d, VOUCH_E_POLICY_ROLE);
    d = pfx_doc(&F, 1);
    pfx_set(d, "releaseRequires", json_pack("[s]", "server"));
    expect_parse(d, VOUCH_E_POLICY_ROLE);
    d = pfx_doc(&F, 1);
    pfx_set(d, "releaseRequires", json_string("release"));
    expect_parse(d, VOUCH_E_POLICY_FORMAT);
    d = pfx_doc(&F, 1);
    pfx_set(d, "releaseRequires", json_pack("[s]", "release"));
    expect_parse(d, VOUCH_OK);
}

/* A policy naming keys from tests/data/keys. */
static json_t *dev_doc(int production, vouch_key **devkey)
{
    size_t n = 0;
    unsigned char *pem = test_read_data("keys/p256-2.pem", &n);
    vouch_err e;
    json_t *d = pfx_doc(&F, 1);

    vouch_err_clear(&e);
    assert_ok(vouch_key_from_pem((const char *)pem, n, devkey, &e), e);
    vouch_free(pem);
    pfx_set(d, "keys.release-1", pfx_jwk(*devkey));
    pfx_set(d, "production", json_boolean(production));
    return d;
}

static void test_parse_dev_keys(void **state)
{
    vouch_key *k = NULL;
    char tp[VOUCH_THUMBPRINT_LEN + 1];
    vouch_err e;

    (void)state;
    vouch_err_clear(&e);
    expect_parse(dev_doc(1, &k), VOUCH_E_POLICY_DEV_KEY);
    assert_ok(vouch_key_thumbprint(k, tp, &e), e);
    assert_true(vouch_policy_is_dev_thumbprint(tp));
    vouch_key_free(k);
    k = NULL;
    expect_parse(dev_doc(0, &k), VOUCH_OK); /* a development policy may use them */
    vouch_key_free(k);
    assert_ok(vouch_key_thumbprint(F.release, tp, &e), e);
    assert_false(vouch_policy_is_dev_thumbprint(tp));
    assert_false(vouch_policy_is_dev_thumbprint(NULL));
    /* RFC 8037 A.3 gives this thumbprint of the RFC's Ed25519 example key */
    assert_true(vouch_policy_is_dev_thumbprint("kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"));
}

/* Every key under tests/data/keys is on the list, so no committed private
 * key can slip into a production policy. */
static void test_dev_list_covers_test_data(void **state)
{
    static const char *const files[] = {"keys/p256-1.pem",    "keys/p256-2.pem",
                                        "keys/p256-3.pem",    "keys/p256-4.pem",
                                        "keys/ed25519-1.pem", "keys/ed25519-2.pem",
                                        "keys/ed25519-3.pem", "keys/ed25519-4.pem"};
    vouch_err e;

    (void)state;
    vouch_err_clear(&e);
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        size_t n = 0;
        unsigned char *pem = test_read_data(files[i], &n);
        vouch_key *k = NULL;
        char tp[VOUCH_THUMBPRINT_LEN + 1];

        assert_ok(vouch_key_from_pem((const char *)pem, n, &k, &e), e);
        assert_true(vouch_key_has_private(k));
        assert_ok(vouch_key_thumbprint(k, tp, &e), e);
        if (!vouch_policy_is_dev_thumbprint(tp))
            fail_msg("%s is not on the development key list", files[i]);
        vouch_key_free(k);
        vouch_free(pem);
    }
}

static void test_verify_root_ok(void **state)
{
    char *jws = pfx_v1(&F);
    vouch_policy *p = NULL;
    const char *kept;
    size_t n;
    vouch_err e;

    (void)state;
    vouch_err_clear(&e);
    assert_ok(vouch_policy_verify_root(jws, strlen(jws), PFX_NOW, &p, &e), e);
    assert_int_equal(vouch_policy_version(p), 1);
    kept = vouch_policy_jws(p, &n);
    assert_int_equal(n, strlen(jws));
    assert_memory_equal(kept, jws, n);
    vouch_policy_free(p);
    vouch_free(jws);
}

static void test_verify_root_threshold(void **state)
{
    static const int one[] = {2}, same[] = {0, 0}, all[] = {0, 1, 2};
    char *jws;
    vouch_policy *p = NULL;
    vouch_err e;

    (void)state;
    vouch_err_clear(&e);
    jws = pfx_sign_roots(&F, pfx_doc(&F, 1), one, 1);
    assert_code(vouch_policy_verify_root(jws, strlen(jws), PFX_NOW, &p, &e),
                VOUCH_E_POLICY_SIGNATURES, e);
    assert_null(p);
    vouch_free(jws);
    jws = pfx_sign_roots(&F, pfx_doc(&F, 1), same, 2);
    assert_code(vouch_policy_verify_root(jws, strlen(jws), PFX_NOW, &p, &e),
                VOUCH_E_POLICY_SIGNATURES, e);
    vouch_free(jws);
    jws = pfx_sign_roots(&F, pfx_doc(&F, 1), all, 3);
    assert_ok(vouch_policy_verify_root(jws, strlen(jws), PFX_NOW, &p, &e), e);
    vouch_policy_free(p);
    p = NULL;
    vouch_free(jws);
}

static void test_verify_root_kids_do_not_matter(void **state)
{
    /* kids are hints: signatures are matched by key, so a wrong or missing
     * kid neither helps nor hurts */
    const vouch_key *keys[] = {F.root[0], F.root[1]};
    const char *kids[] = {"root-3", NULL};
    json_t *d = pfx_doc(&F, 1);
    char *payload = pfx_dump(d), *jws = pfx_sign_text(payload, keys, kids, 2);
    vouch_policy *p = NULL;
    vouch_err e;

    (void)state;
    vouch_err_clear(&e);
    assert_ok(vouch_policy_verify_root(jws, strlen(jws), PFX_NOW, &p, &e), e);
    vouch_policy_free(p);
    vouch_free(jws);
    vouch_free(payload);
    json_decref(d);
}

static void test_verify_root_typ_size_expiry(void **state)
{
    const vouch_key *keys[] = {F.root[0], F.root[1]};
    const char *kids[] = {"root-1", "root-2"};
    json_t *d = pfx_doc(&F, 1);
    char *payload = pfx_dump(d), *jws, *big;
    vouch_policy *p = NULL;
    vouch_err e;

    (void)state;
    vouch_err_clear(&e);
    jws = pfx_sign_text_typ(payload, keys, kids, 2, "vouch-release+jwt");
    assert_code(vouch_policy_verify_root(jws, strlen(jws), PFX_NOW, &p, &e), VOUCH_E_JWS_TYP,
                e);
    vouch_free(jws);
    jws = pfx_sign_text_typ(payload, keys, kids, 2, NULL);
    assert_code(vouch_policy_verify_root(jws, strlen(jws), PFX_NOW, &p, &e), VOUCH_E_JWS_TYP,
                e);
    vouch_free(jws);
    jws = pfx_sign_text_typ(payload, keys, kids, 2, "application/VOUCH-POLICY+JWT");
    assert_ok(vouch_policy_verify_root(jws, strlen(jws), PFX_NOW, &p, &e), e);
    vouch_policy_free(p);
    p = NULL;
    assert_code(vouch_policy_verify_root(jws, strlen(jws), PFX_T0 + PFX_YEAR, &p, &e),
                VOUCH_E_POLICY_EXPIRED, e);
    assert_ok(vouch_policy_verify_root(jws, strlen(jws), PFX_T0 + PFX_YEAR - 1, &p, &e), e);
    vouch_policy_free(p);
    p = NULL;
    /* a pinned policy is the anchor even when it expired */
    assert_ok(vouch_policy_verify_pinned(jws, strlen(jws), &p, &e), e);
    vouch_policy_free(p);
    p = NULL;
    big = calloc(1, VOUCH_POLICY_MAX_BYTES + 2);
    memset(big, ' ', VOUCH_POLICY_MAX_BYTES + 1);
    assert_code(vouch_policy_verify_root(big, VOUCH_POLICY_MAX_BYTES + 1, PFX_NOW, &p, &e),
                VOUCH_E_JWS_TOO_LARGE, e);
    free(big);
    assert_code(vouch_policy_verify_root("x.y", 3, PFX_NOW, &p, &e), VOUCH_E_JWS_FORMAT, e);
    vouch_free(jws);
    vouch_free(payload);
    json_decref(d);
}

static void test_verify_root_dev_key(void **state)
{
    static const int s[] = {0, 1};
    vouch_key *k = NULL;
    char *jws = pfx_sign_roots(&F, dev_doc(1, &k), s, 2);
    vouch_policy *p = NULL;
    vouch_err e;

    (void)state;
    vouch_err_clear(&e);
    assert_code(vouch_policy_verify_root(jws, strlen(jws), PFX_NOW, &p, &e),
                VOUCH_E_POLICY_DEV_KEY, e);
    assert_null(p);
    vouch_free(jws);
    vouch_key_free(k);
}

/* Version 2 with roots 1,2,3 (root 0 replaced by root 3), threshold 2. */
static json_t *v2_doc(void)
{
    static const int r[] = {1, 2, 3};
    return pfx_doc_roots(&F, 2, r, 3, 2);
}

static void test_verify_next(void **state)
{
    static const int both[] = {0, 1, 3}, shared[] = {1, 2}, old_only[] = {0, 1},
                     new_only[] = {2, 3}, one_old[] = {0, 3}, old2[] = {0, 2};
    char *v1 = pfx_v1(&F), *jws;
    vouch_policy *cur = NULL, *next = NULL, *v3 = NULL;
    vouch_err e;

    (void)state;
    vouch_err_clear(&e);
    assert_ok(vouch_policy_verify_root(v1, strlen(v1), PFX_NOW, &cur, &e), e);
    /* old roots 0,1 and new roots 1,3: both thresholds met */
    jws = pfx_sign_roots(&F, v2_doc(), both, 3);
    assert_ok(vouch_policy_verify_next(cur, jws, strlen(jws), PFX_NOW, &next, &e), e);
    assert_int_equal(vouch_policy_version(next), 2);
    vouch_free(jws);
    /* roots 1 and 2 are in both: two signatures meet both thresholds */
    jws = pfx_sign_roots(&F, v2_doc(), shared, 2);
    assert_ok(vouch_policy_verify_next(cur, jws, strlen(jws), PFX_NOW, &v3, &e), e);
    vouch_policy_free(v3);
    v3 = NULL;
    vouch_free(jws);
    jws = pfx_sign_roots(&F, v2_doc(), old_only, 2); /* new: only root 1 */
    assert_code(vouch_policy_verify_next(cur, jws, strlen(jws), PFX_NOW, &v3, &e),
                VOUCH_E_POLICY_SIGNATURES, e);
    assert_non_null(strstr(e.msg, "new"));
    vouch_free(jws);
    jws = pfx_sign_roots(&F, v2_doc(), new_only, 2); /* old: only root 2 */
    assert_code(vouch_policy_verify_next(cur, jws, strlen(jws), PFX_NOW, &v3, &e),
                VOUCH_E_POLICY_SIGNATURES, e);
    assert_non_null(strstr(e.msg, "old"));
    vouch_free(jws);
    jws = pfx_sign_roots(&F, v2_doc(), one_old, 2);
    assert_code(vouch_policy_verify_next(cur, jws, strlen(jws), PFX_NOW, &v3, &e),
                VOUCH_E_POLICY_SIGNATURES, e);
    vouch_free(jws);
    /* the same version again, and a version skipped */
    jws = pfx_sign_roots(&F, pfx_doc(&F, 1), old2, 2);
    assert_code(vouch_policy_verify_next(cur, jws, strlen(jws), PFX_NOW, &v3, &e),
                VOUCH_E_POLICY_VERSION, e);
    vouch_free(jws);
    jws = pfx_sign_roots(&F, pfx_doc(&F, 3), old2, 2);
    assert_code(vouch_policy_verify_next(cur, jws, strlen(jws), PFX_NOW, &v3, &e),
                VOUCH_E_POLICY_VERSION, e);
    vouch_free(jws);
    /* from 2, version 3 signed by roots 2 and 3 (the new set) */
    {
        static const int r3[] = {2, 3};
        jws = pfx_sign_roots(&F, pfx_doc_roots(&F, 3, both + 1, 2, 2), r3, 2);
        /* roots 1,3 in v3: signed by 2,3 -> old (1,2,3) ok, new (1,3): only 3 */
        assert_code(vouch_policy_verify_next(next, jws, strlen(jws), PFX_NOW, &v3, &e),
                    VOUCH_E_POLICY_SIGNATURES, e);
        vouch_free(jws);
    }
    assert_null(v3);
    vouch_policy_free(next);
    vouch_policy_free(cur);
    vouch_free(v1);
}

static void test_verify_next_expired(void **state)
{
    static const int s[] = {0, 1, 3};
    char *v1 = pfx_v1(&F), *jws;
    vouch_policy *cur = NULL, *next = NULL;
    json_t *d;
    vouch_err e;

    (void)state;
    vouch_err_clear(&e);
    assert_ok(vouch_policy_verify_pinned(v1, strlen(v1), &cur, &e), e);
    d = v2_doc();
    pfx_set(d, "expires", json_integer(PFX_NOW));
    jws = pfx_sign_roots(&F, d, s, 3);
    assert_code(vouch_policy_verify_next(cur, jws, strlen(jws), PFX_NOW, &next, &e),
                VOUCH_E_POLICY_EXPIRED, e);
    vouch_free(jws);
    /* the pinned one long expired: a fresh successor is still accepted */
    d = v2_doc();
    pfx_set(d, "expires", json_integer(PFX_T0 + 3 * PFX_YEAR));
    jws = pfx_sign_roots(&F, d, s, 3);
    assert_ok(vouch_policy_verify_next(cur, jws, strlen(jws), PFX_T0 + 2 * PFX_YEAR, &next, &e),
              e);
    vouch_policy_free(next);
    vouch_free(jws);
    vouch_policy_free(cur);
    vouch_free(v1);
}

/* A release-like JWS signed by the given keys (payload irrelevant here). */
static vouch_jws *release_jws(const vouch_key *const *keys, const char *const *kids, size_t n)
{
    char *s = pfx_sign_text_typ("{}", keys, kids, n, "vouch-release+jwt");
    vouch_jws *j = NULL;
    vouch_err e;

    vouch_err_clear(&e);
    assert_ok(vouch_jws_parse(s, strlen(s), &j, &e), e);
    vouch_free(s);
    return j;
}

static void test_check_role(void **state)
{
    char *v1 = pfx_v1(&F);
    vouch_policy *p = NULL;
    const vouch_key *both[] = {F.release, F.cosign}, *rel[] = {F.release},
                    *twice[] = {F.release, F.release}, *srv[] = {F.server, F.release};
    const char *kids[] = {"release-1", "cosign-1"}, *nokid[] = {NULL, NULL};
    vouch_jws *j;
    vouch_err e;

    (void)state;
    vouch_err_clear(&e);
    assert_ok(vouch_policy_verify_root(v1, strlen(v1), PFX_NOW, &p, &e), e);
    j = release_jws(both, kids, 2);
    assert_ok(vouch_policy_check_role(p, VOUCH_ROLE_RELEASE, j, VOUCH_E_RELEASE_SIGNATURES, &e),
              e);
    assert_ok(vouch_policy_check_role(p, VOUCH_ROLE_COSIGN, j, VOUCH_E_RELEASE_SIGNATURES, &e),
              e);
    assert_code(vouch_policy_check_role(p, VOUCH_ROLE_ROOT, j, VOUCH_E_RELEASE_SIGNATURES, &e),
                VOUCH_E_RELEASE_SIGNATURES, e);
    vouch_jws_free(j);
    j = release_jws(both, nokid, 2);
    assert_ok(vouch_policy_check_role(p, VOUCH_ROLE_COSIGN, j, VOUCH_E_RELEASE_SIGNATURES, &e),
              e);
    vouch_jws_free(j);
    j = release_jws(rel, kids, 1);
    assert_code(vouch_policy_check_role(p, VOUCH_ROLE_COSIGN, j, VOUCH_E_RELEASE_SIGNATURES, &e),
                VOUCH_E_RELEASE_SIGNATURES, e);
    assert_non_null(strstr(e.msg, "cosign"));
    vouch_jws_free(j);
    j = release_jws(twice, kids, 2);
    assert_ok(vouch_policy_check_role(p, VOUCH_ROLE_RELEASE, j, VOUCH_E_RELEASE_SIGNATURES, &e),
              e);
    assert_code(vouch_policy_check_role(p, VOUCH_ROLE_COSIGN, j, VOUCH_E_RELEASE_SIGNATURES, &e),
                VOUCH_E_RELEASE_SIGNATURES, e);
    vouch_jws_free(j);
    /* the server key claiming the cosign kid counts for nothing */
    {
        const char *lie[] = {"cosign-1", "release-1"};
        j = release_jws(srv, lie, 2);
        assert_code(vouch_policy_check_role(p, VOUCH_ROLE_COSIGN, j, VOUCH_E_RELEASE_SIGNATURES,
                                            &e),
                    VOUCH_E_RELEASE_SIGNATURES, e);
        vouch_jws_free(j);
    }
    assert_code(vouch_policy_check_role(p, VOUCH_ROLE__COUNT, NULL, VOUCH_E_RELEASE_SIGNATURES,
                                        &e),
                VOUCH_E_ARG, e);
    vouch_policy_free(p);
    vouch_free(v1);
}

/* Precomputed role keys decide exactly as plain ones. */
static void test_precompute(void **state)
{
    char *v1 = pfx_v1(&F);
    vouch_policy *p = NULL;
    const vouch_key *both[] = {F.release, F.cosign}, *rel[] = {F.release},
                    *srv[] = {F.server, F.release};
    const char *kids[] = {"release-1", "cosign-1"}, *lie[] = {"cosign-1", "release-1"};
    vouch_jws *j;
    vouch_err e;

    (void)state;
    vouch_err_clear(&e);
    assert_code(vouch_policy_precompute(NULL, VOUCH_ROLE_RELEASE, &e), VOUCH_E_ARG, e);
    assert_ok(vouch_policy_verify_root(v1, strlen(v1), PFX_NOW, &p, &e), e);
    assert_ok(vouch_policy_precompute(p, VOUCH_ROLE_RELEASE, &e), e);
    assert_ok(vouch_policy_precompute(p, VOUCH_ROLE_COSIGN, &e), e);
    assert_ok(vouch_policy_precompute(p, VOUCH_ROLE_COSIGN, &e), e); /* again: no-op */
    j = release_jws(both, kids, 2);
    assert_ok(vouch_policy_check_role(p, VOUCH_ROLE_RELEASE, j, VOUCH_E_RELEASE_SIGNATURES, &e),
              e);
    assert_ok(vouch_policy_check_role(p, VOUCH_ROLE_COSIGN, j, VOUCH_E_RELEASE_SIGNATURES, &e),
              e);
    vouch_jws_free(j);
    j = release_jws(rel, kids, 1);
    assert_code(vouch_policy_check_role(p, VOUCH_ROLE_COSIGN, j, VOUCH_E_RELEASE_SIGNATURES, &e),
                VOUCH_E_RELEASE_SIGNATURES, e);
    vouch_jws_free(j);
    j = release_jws(srv, lie, 2);
    assert_code(vouch_policy_check_role(p, VOUCH_ROLE_COSIGN, j, VOUCH_E_RELEASE_SIGNATURES, &e),
                VOUCH_E_RELEASE_SIGNATURES, e);
    vouch_jws_free(j);
    vouch_policy_free(p);
    vouch_free(v1);
}

static void test_check_role_missing_role(void **state)
{
    static const int s[] = {0, 1};
    json_t *d = pfx_doc(&F, 1);
    char *jws;
    vouch_policy *p = NULL;
    vouch_jws *j;
    const vouch_key *rel[] = {F.release};
    const char *kids[] = {"release-1"};
    vouch_err e;

    (void)state;
    vouch_err_clear(&e);
    pfx_set(d, "roles.server", NULL);
    pfx_set(d, "keys.server-1", NULL);
    jws = pfx_sign_roots(&F, d, s, 2);
    assert_ok(vouch_policy_verify_root(jws, strlen(jws), PFX_NOW, &p, &e), e);
    j = release_jws(rel, kids, 1);
    assert_code(vouch_policy_check_role(p, VOUCH_ROLE_SERVER, j, VOUCH_E_RELEASE_SIGNATURES, &e),
                VOUCH_E_POLICY_ROLE, e);
    assert_code(vouch_policy_role_keys(p, VOUCH_ROLE_SERVER, NULL, NULL, NULL, &e),
                VOUCH_E_POLICY_ROLE, e);
    vouch_jws_free(j);
    vouch_policy_free(p);
    vouch_free(jws);
}

static void test_sign(void **state)
{
    json_t *d = pfx_doc(&F, 1);
    char *payload = pfx_dump(d), *jws = NULL;
    vouch_jws_keyref signers[] = {{"root-1", F.root[0]}, {"root-2", F.root[1]}};
    vouch_policy *p = NULL;
    vouch_jws *j = NULL;
    size_t n = 0;
    vouch_err e;

    (void)state;
    vouch_err_clear(&e);
    assert_ok(vouch_policy_sign(payload, strlen(payload), signers, 2, &jws, &n, &e), e);
    assert_int_equal(n, strlen(jws));
    assert_ok(vouch_jws_parse(jws, n, &j, &e), e);
    assert_int_equal(j->nsigs, 2);
    assert_string_equal(j->sigs[0].kid, "root-1");
    assert_string_equal(j->sigs[1].kid, "root-2");
    assert_string_equal(j->sigs[1].typ, VOUCH_POLICY_TYP);
    vouch_jws_free(j);
    assert_ok(vouch_policy_verify_root(jws, n, PFX_NOW, &p, &e), e);
    vouch_policy_free(p);
    vouch_free(jws);
    jws = NULL;
    /* an invalid payload is never signed */
    pfx_set(d, "roles.root.threshold", json_integer(0));
    vouch_free(payload);
    payload = pfx_dump(d);
    assert_code(vouch_policy_sign(payload, strlen(payload), signers, 2, &jws, &n, &e),
                VOUCH_E_POLICY_THRESHOLD, e);
    assert_null(jws);
    assert_code(vouch_policy_sign(payload, strlen(payload), signers, 0, &jws, &n, &e),
                VOUCH_E_ARG, e);
    vouch_free(payload);
    json_decref(d);
}

static void test_did_document(void **state)
{
    char *v1 = pfx_v1(&F);
    vouch_policy *p = NULL;
    json_t *doc = NULL, *vm, *am, *auth;
    vouch_err e;

    (void)state;
    vouch_err_clear(&e);
    assert_ok(vouch_policy_verify_root(v1, strlen(v1), PFX_NOW, &p, &e), e);
    assert_ok(vouch_policy_did_document(p, "did:web:example.com", &doc, &e), e);
    assert_string_equal(json_string_value(json_object_get(doc, "id")), "did:web:example.com");
    vm = json_object_get(doc, "verificationMethod");
    am = json_object_get(doc, "assertionMethod");
    auth = json_object_get(doc, "authentication");
    assert_int_equal(json_array_size(vm), 7);
    assert_int_equal(json_array_size(am), 6);
    assert_int_equal(json_array_size(auth), 1);
    assert_string_equal(json_string_value(json_array_get(auth, 0)),
                        "did:web:example.com#server-1");
    assert_string_equal(json_string_value(json_object_get(json_array_get(vm, 0), "type")),
                        "JsonWebKey2020");
    assert_string_equal(json_string_value(json_object_get(json_array_get(vm, 0), "id")),
                        "did:web:example.com#root-1");
    assert_null(json_object_get(json_object_get(json_array_get(vm, 0), "publicKeyJwk"), "d"));
    json_decref(doc);
    doc = NULL;
    assert_code(vouch_policy_did_document(p, "did:key:z6Mk", &doc, &e), VOUCH_E_DID_METHOD, e);
    assert_code(vouch_policy_did_document(p, "web:x", &doc, &e), VOUCH_E_DID_SYNTAX, e);
    assert_null(doc);
    vouch_policy_free(p);
    vouch_free(v1);
}

/* Every allocation of a verification fails in turn: each outcome is
 * VOUCH_OK or VOUCH_E_NOMEM (or a crypto failure the allocator caused),
 * never a crash or a leak (valgrind and ASan run this too). */
static void test_alloc_failures(void **state)
{
    static const int s[] = {0, 1, 3};
    char *v1 = pfx_v1(&F), *v2 = pfx_sign_roots(&F, v2_doc(), s, 3);
    vouch_policy *cur = NULL;
    vouch_err e;
    int ok = 0;

    (void)state;
    vouch_err_clear(&e);
    assert_ok(vouch_policy_verify_root(v1, strlen(v1), PFX_NOW, &cur, &e), e);
    for (long n = 0; n < 5000 && !ok; n++) {
        vouch_policy *p = NULL, *q = NULL;
        vouch_code a, b = VOUCH_OK;

        vouch_alloc_fail_after(n);
        a = vouch_policy_verify_root(v1, strlen(v1), PFX_NOW, &p, &e);
        if (a == VOUCH_OK)
            b = vouch_policy_verify_next(cur, v2, strlen(v2), PFX_NOW, &q, &e);
        vouch_alloc_fail_after(-1);
        if (a != VOUCH_OK)
            assert_null(p);
        if (b != VOUCH_OK)
            assert_null(q);
        ok = a == VOUCH_OK && b == VOUCH_OK;
        if (!ok && (a == VOUCH_E_POLICY_SIGNATURES || b == VOUCH_E_POLICY_SIGNATURES ||
                    a == VOUCH_E_POLICY_FORMAT || b == VOUCH_E_POLICY_FORMAT))
            fail_msg("allocation failure %ld turned into a verdict: %s", n, e.msg);
        vouch_policy_free(p);
        vouch_policy_free(q);
    }
    assert_true(ok);
    vouch_policy_free(cur);
    vouch_free(v1);
    vouch_free(v2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_role_names),
        cmocka_unit_test(test_parse_ok_accessors),
        cmocka_unit_test(test_parse_members),
        cmocka_unit_test(test_parse_json_errors),
        cmocka_unit_test(test_messages_printable),
        cmocka_unit_test(test_parse_keys),
        cmocka_unit_test(test_parse_too_many_keys),
        cmocka_unit_test(test_parse_roles),
        cmocka_unit_test(test_parse_thresholds),
        cmocka_unit_test(test_parse_release_requires),
        cmocka_unit_test(test_parse_dev_keys),
        cmocka_unit_test(test_dev_list_covers_test_data),
        cmocka_unit_test(test_verify_root_ok),
        cmocka_unit_test(test_verify_root_threshold),
        cmocka_unit_test(test_verify_root_kids_do_not_matter),
        cmocka_unit_test(test_verify_root_typ_size_expiry),
        cmocka_unit_test(test_verify_root_dev_key),
        cmocka_unit_test(test_verify_next),
        cmocka_unit_test(test_verify_next_expired),
        cmocka_unit_test(test_check_role),
        cmocka_unit_test(test_check_role_missing_role),
        cmocka_unit_test(test_precompute),
        cmocka_unit_test(test_sign),
        cmocka_unit_test(test_did_document),
        cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
