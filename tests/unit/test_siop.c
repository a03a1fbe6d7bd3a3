/*
 * test_siop.c - lib/siop.c: the ProductionCredential, the authorization
 * policy and its presentation definition, the request object and the
 * id_token + vp_token response. Every THREATS.md class E case that lives in
 * the messages is here with its exact code; the server-side ones (state,
 * single-use nonce, revocation, clones) are vouchd's tests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_fixture.h"
#include "vouch/siop.h"
#include "vouch/vc.h"

#define NOW PFX_NOW
#define DID_WEB "did:web:example.com"
#define ORIGIN "https://updates.example.com"
#define RESPONSE_URI ORIGIN "/auth/siop/response/abc"
#define NONCE "n0nce-0123456789abcdefghijkl"
#define STATE "state-42"
#define YEAR (365LL * 86400LL)

typedef struct fx {
    pfx pf;
    vouch_policy *policy;
    vouch_key *dev, *dev_ed, *other; /* device keys (P-256, Ed25519) and a stranger */
    char *did, *did_ed, *did_other;
    vouch_device_facts facts;
    char *cred;                       /* the device's ProductionCredential */
    vouch_authz authz;
    json_t *def;
    vouch_login_params lp;
} fx;

static fx F;

static vouch_key *gen(vouch_key_type t)
{
    vouch_key *k = NULL;
    vouch_err e;

    vouch_err_clear(&e);
    assert_ok(vouch_key_generate(t, &k, &e), e);
    return k;
}

static char *did_of(const vouch_key *k)
{
    char *d = NULL;
    vouch_err e;

    vouch_err_clear(&e);
    assert_ok(vouch_did_key_encode(k, &d, &e), e);
    return d;
}

static char *vm_of(const char *did)
{
    char *d = NULL;
    vouch_err e;

    vouch_err_clear(&e);
    assert_ok(vouch_did_key_vm_id(did, &d, &e), e);
    return d;
}

static void facts_for(vouch_device_facts *f, const char *did, const char *serial)
{
    memset(f, 0, sizeof(*f));
    snprintf(f->did, sizeof(f->did), "%s", did);
    snprintf(f->serial, sizeof(f->serial), "%s", serial);
    snprintf(f->hardware, sizeof(f->hardware), "board-a");
    snprintf(f->produced_by, sizeof(f->produced_by), DID_WEB "#line-3");
    snprintf(f->production_date, sizeof(f->production_date), "2025-11-20");
    snprintf(f->mac, sizeof(f->mac), "02:00:5e:10:00:01");
}

static char *issue(const vouch_key *k, const char *kid, const vouch_device_facts *f,
                   int64_t now, int64_t life)
{
    char *out = NULL;
    vouch_err e;

    vouch_err_clear(&e);
    assert_ok(vouch_production_issue(k, DID_WEB, kid, f, now, life, &out, &e), e);
    return out;
}

static int setup(void **state)
{
    vouch_err e;
    char *pol;

    (void)state;
    vouch_err_clear(&e);
    memset(&F, 0, sizeof(F));
    pfx_init(&F.pf);
    pol = pfx_v1(&F.pf);
    assert_ok(vouch_policy_verify_root(pol, strlen(pol), NOW, &F.policy, &e), e);
    vouch_free(pol);
    F.dev = gen(VOUCH_KEY_P256);
    F.dev_ed = gen(VOUCH_KEY_ED25519);
    F.other = gen(VOUCH_KEY_P256);
    F.did = did_of(F.dev);
    F.did_ed = did_of(F.dev_ed);
    F.did_other = did_of(F.other);
    facts_for(&F.facts, F.did, "SN-0001");
    F.cred = issue(F.pf.issuer, "issuer-1", &F.facts, NOW - 3600, 10 * YEAR);
    vouch_authz_default(&F.authz);
    assert_ok(vouch_authz_definition(&F.authz, &F.def, &e), e);
    F.lp.client_id = DID_WEB;
    F.lp.response_uri = RESPONSE_URI;
    F.lp.nonce = NONCE;
    F.lp.state = STATE;
    F.lp.iat = NOW;
    F.lp.exp = NOW + 120;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    json_decref(F.def);
    vouch_free(F.cred);
    vouch_free(F.did);
    vouch_free(F.did_ed);
    vouch_free(F.did_other);
    vouch_key_free(F.dev);
    vouch_key_free(F.dev_ed);
    vouch_key_free(F.other);
    vouch_policy_free(F.policy);
    pfx_free(&F.pf);
    return 0;
}

/* ------------------------------------------------------------ raw tokens */

static char *b64(const void *p, size_t n)
{
    char *s = NULL;
    size_t len = 0;
    vouch_err e;

    vouch_err_clear(&e);
    assert_ok(vouch_b64url_encode((const uint8_t *)p, n, &s, &len, &e), e);
    return s;
}

/* "b64(header).b64(payload).b64(sig)" signed by k over exactly these
 * bytes; no checks at all (k NULL: an empty signature). */
static char *raw_jws(const vouch_key *k, const char *header, const char *payload)
{
    char *h = b64(header, strlen(header)), *p = b64(payload, strlen(payload)), *s = NULL;
    size_t n = strlen(h) + strlen(p) + 2;
    char *input = malloc(n), *out;
    uint8_t sig[VOUCH_SIG_LEN];
    vouch_err e;

    vouch_err_clear(&e);
    snprintf(input, n, "%s.%s", h, p);
    if (k) {
        assert_ok(vouch_key_sign(k, (const uint8_t *)input, strlen(input), sig, &e), e);
        s = b64(sig, sizeof(sig));
    }
    out = malloc(n + 100);
    snprintf(out, n + 100, "%s.%s", input, s ? s : "");
    free(input);
    vouch_free(h);
    vouch_free(p);
    vouch_free(s);
    return out;
}

/* Signs claims (stolen) with k, typ and kid (either may be NULL). */
static char *sign_claims(const vouch_key *k, const char *typ, const char *kid, json_t *claims)
{
    char hdr[512], *payload = NULL, *out;
    size_t n = 0;
    vouch_err e;

    vouch_err_clear(&e);
    assert_non_null(claims);
    assert_ok(vouch_json_dump(claims, &payload, &n, &e), e);
    snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\"%s%s%s%s%s%s}", vouch_key_alg(k),
             typ ? ",\"typ\":\"" : "", typ ? typ : "", typ ? "\"" : "", kid ? ",\"kid\":\"" : "",
             kid ? kid : "", kid ? "\"" : "");
    out = raw_jws(k, hdr, payload);
    vouch_free(payload);
    json_decref(claims);
    return out;
}

/* The payload of a compact JWS as JSON (no verification). */
static json_t *claims_of(const char *jws)
{
    const char *d1 = strchr(jws, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    uint8_t *p = NULL;
    size_t n = 0;
    json_t *c;
    vouch_err e;

    vouch_err_clear(&e);
    assert_non_null(d2);
    assert_ok(vouch_b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), &p, &n, &e), e);
    c = json_loadb((const char *)p, n, 0, NULL);
    vouch_free(p);
    assert_non_null(c);
    return c;
}

/* ------------------------------------------------ production credential */

static void test_production_roundtrip(void **state)
{
    vouch_device_facts got, f2;
    vouch_err e;
    json_t *c;
    char *cred;

    (void)state;
    vouch_err_clear(&e);
    assert_ok(vouch_production_verify(F.policy, F.cred, strlen(F.cred), NOW, &got, &e), e);
    assert_memory_equal(&got, &F.facts, sizeof(got));
    /* the claims are the VC-JWT layout, with kid "<did:web>#issuer-1" */
    c = claims_of(F.cred);
    assert_string_equal(json_string_value(json_object_get(c, "iss")), DID_WEB);
    assert_string_equal(json_string_value(json_object_get(c, "sub")), F.did);
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_object_get(c, "vc"), "credentialSubject"), "serialNumber")),
        "SN-0001");
    json_decref(c);
    /* an Ed25519 device without a mac, kid given as a full DID URL */
    facts_for(&f2, F.did_ed, "SN-0002");
    memset(f2.mac, 0, sizeof(f2.mac));
    cred = issue(F.pf.issuer, DID_WEB "#issuer-1", &f2, NOW, YEAR);
    assert_ok(vouch_production_verify(F.policy, cred, strlen(cred), NOW, &got, &e), e);
    assert_memory_equal(&got, &f2, sizeof(got));
    vouch_free(cred);
}

static void test_production_issue_args(void **state)
{
    vouch_device_facts f;
    char *out = NULL;
    vouch_err e;
    static const char *const bad_dates[] = {"2025-13-01", "2025-02-29", "25-01-01",
                                            "2025-1-01",  "2025/01/01", ""};

    (void)state;
    vouch_err_clear(&e);
    for (size_t i = 0; i < sizeof(bad_dates) / sizeof(bad_dates[0]); i++) {
        facts_for(&f, F.did, "SN");
        snprintf(f.production_date, sizeof(f.production_date), "%s", bad_dates[i]);
        assert_code(vouch_production_issue(F.pf.issuer, DID_WEB, "issuer-1", &f, NOW, YEAR, &out,
                                           &e),
                    VOUCH_E_ARG, e);
    }
    facts_for(&f, F.did, "SN");
    snprintf(f.production_date, sizeof(f.production_date), "2024-02-29"); /* leap day */
    assert_ok(vouch_production_issue(F.pf.issuer, DID_WEB, "issuer-1", &f, NOW, YEAR, &out, &e),
              e);
    vouch_free(out);
    out = NULL;
    facts_for(&f, F.did, "SN");
    snprintf(f.mac, sizeof(f.mac), "02:00:5E:10:00:01"); /* upper case */
    assert_code(vouch_production_issue(F.pf.issuer, DID_WEB, "issuer-1", &f, NOW, YEAR, &out, &e),
                VOUCH_E_ARG, e);
    facts_for(&f, "did:web:example.com", "SN");
    assert_code(vouch_production_issue(F.pf.issuer, DID_WEB, "issuer-1", &f, NOW, YEAR, &out, &e),
                VOUCH_E_ARG, e);
    facts_for(&f, F.did, "");
    assert_code(vouch_production_issue(F.pf.issuer, DID_WEB, "issuer-1", &f, NOW, YEAR, &out, &e),
                VOUCH_E_ARG, e);
    facts_for(&f, F.did, "SN\n1");
    assert_code(vouch_production_issue(F.pf.issuer, DID_WEB, "issuer-1", &f, NOW, YEAR, &out, &e),
                VOUCH_E_ARG, e);
    facts_for(&f, F.did, "SN");
    assert_code(vouch_production_issue(F.pf.issuer, DID_WEB, "issuer-1", &f, NOW, 0, &out, &e),
                VOUCH_E_ARG, e);
    assert_null(out);
}

/* A credential with claims c (stolen), signed by k with kid. */
static char *cred_claims(const vouch_key *k, const char *kid, json_t *c)
{
    return sign_claims(k, "JWT", kid, c);
}

static json_t *cred_base(const char *sub_did, const char *type)
{
    json_t *subj = json_pack("{s:s,s:s,s:s,s:s,s:s}", "id", sub_did, "producedBy",
                             DID_WEB "#line-3", "productionDate", "2025-11-20", "serialNumber",
                             "SN-9", "hardware", "board-a"),
           *c = NULL;
    vouch_err e;

    vouch_err_clear(&e);
    assert_ok(vouch_vc_build(DID_WEB, type, NULL, NULL, NOW - 10, NOW - 10, NOW + YEAR, subj, &c,
                             &e),
              e);
    return c;
}

static void test_production_hostile(void **state)
{
    vouch_device_facts got;
    vouch_err e;
    vouch_device_facts f;
    char *t, big[VOUCH_LOGIN_MAX_BYTES + 2];
    json_t *c;

    (void)state;
    vouch_err_clear(&e);
#define EXPECT(tok, code)                                                                     \
    do {                                                                                      \
        char *t__ = (tok);                                                                    \
        assert_code(vouch_production_verify(F.policy, t__, strlen(t__), NOW, &got, &e), code, \
                    e);                                                                       \
        free(t__);                                                                            \
    } while (0)
    /* credential issuer not trusted: a stranger's key, under its own kid */
    EXPECT(cred_claims(F.other, DID_WEB "#issuer-9", cred_base(F.did, VOUCH_PRODUCTION_TYPE)),
           VOUCH_E_LOGIN_ISSUER);
    /* ... under the issuer's kid: the signature fails */
    EXPECT(cred_claims(F.other, DID_WEB "#issuer-1", cred_base(F.did, VOUCH_PRODUCTION_TYPE)),
           VOUCH_E_JWS_BAD_SIGNATURE);
    /* ... with no kid at all */
    EXPECT(cred_claims(F.other, NULL, cred_base(F.did, VOUCH_PRODUCTION_TYPE)),
           VOUCH_E_JWS_BAD_SIGNATURE);
    /* a policy key of another role (the online server key) is no issuer */
    EXPECT(cred_claims(F.pf.server, DID_WEB "#server-1", cred_base(F.did, VOUCH_PRODUCTION_TYPE)),
           VOUCH_E_LOGIN_ISSUER);
    /* the issuer key without kid, or by its bare kid: accepted */
    EXPECT(cred_claims(F.pf.issuer, NULL, cred_base(F.did, VOUCH_PRODUCTION_TYPE)), VOUCH_OK);
    EXPECT(cred_claims(F.pf.issuer, "issuer-1", cred_base(F.did, VOUCH_PRODUCTION_TYPE)),
           VOUCH_OK);
    /* wrong credential type */
    EXPECT(cred_claims(F.pf.issuer, DID_WEB "#issuer-1", cred_base(F.did, "EmployeeCredential")),
           VOUCH_E_LOGIN_CREDENTIAL_TYPE);
    /* iss another DID, signed by the issuer key all the same */
    c = cred_base(F.did, VOUCH_PRODUCTION_TYPE);
    json_object_set_new(c, "iss", json_string("did:web:evil.example"));
    EXPECT(cred_claims(F.pf.issuer, DID_WEB "#issuer-1", c), VOUCH_E_LOGIN_ISSUER);
    /* expired; not yet valid (beyond the skew); within the skew is fine */
    facts_for(&f, F.did, "SN-E");
    t = issue(F.pf.issuer, "issuer-1", &f, NOW - 2 * YEAR, YEAR);
    EXPECT(t, VOUCH_E_LOGIN_EXPIRED);
    t = issue(F.pf.issuer, "issuer-1", &f, NOW + 600, YEAR);
    EXPECT(t, VOUCH_E_LOGIN_EXPIRED);
    t = issue(F.pf.issuer, "issuer-1", &f, NOW + 30, YEAR);
    EXPECT(t, VOUCH_OK);
    /* a subject member we do not know; a subject that is no did:key */
    c = cred_base(F.did, VOUCH_PRODUCTION_TYPE);
    json_object_set_new(json_object_get(json_object_get(c, "vc"), "credentialSubject"), "admin",
                        json_true());
    EXPECT(cred_claims(F.pf.issuer, "issuer-1", c), VOUCH_E_VC_FORMAT);
    EXPECT(cred_claims(F.pf.issuer, "issuer-1", cred_base("did:web:device.example",
                                                          VOUCH_PRODUCTION_TYPE)),
           VOUCH_E_VC_FORMAT);
    /* a claim VC-JWT does not know */
    c = cred_base(F.did, VOUCH_PRODUCTION_TYPE);
    json_object_set_new(c, "role", json_string("admin"));
    EXPECT(cred_claims(F.pf.issuer, "issuer-1", c), VOUCH_E_VC_FORMAT);
    /* wrong typ; alg none; an embedded key */
    EXPECT(sign_claims(F.pf.issuer, "vouch-policy+jwt", "issuer-1",
                       cred_base(F.did, VOUCH_PRODUCTION_TYPE)),
           VOUCH_E_JWS_TYP);
    EXPECT(raw_jws(NULL, "{\"alg\":\"none\",\"typ\":\"JWT\"}", "{}"), VOUCH_E_JWS_ALG);
    {
        json_t *jwk = pfx_jwk(F.other);
        char hdr[512], *js = json_dumps(jwk, JSON_COMPACT);
        snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"typ\":\"JWT\",\"jwk\":%s}", js);
        EXPECT(raw_jws(F.other, hdr, "{}"), VOUCH_E_JWS_EMBEDDED_KEY);
        free(js);
        json_decref(jwk);
    }
    /* oversized */
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_code(vouch_production_verify(F.policy, big, strlen(big), NOW, &got, &e),
                VOUCH_E_JWS_TOO_LARGE, e);
    /* a general JWS is not a credential */
    {
        char *gen = NULL;
        vouch_jws_sign_opts o = {"JWT", "issuer-1", NULL};
        assert_ok(vouch_jws_sign_general(F.pf.issuer, &o, (const uint8_t *)"{}", 2, &gen, &e), e);
        assert_code(vouch_production_verify(F.policy, gen, strlen(gen), NOW, &got, &e),
                    VOUCH_E_JWS_FORMAT, e);
        vouch_free(gen);
    }
#undef EXPECT
}

/* ------------------------------------------------- authorization policy */

static void test_authz_parse(void **state)
{
    vouch_authz a;
    vouch_err e;
    char *dump = NULL;
    const char *full = "{\"mode\":\"credential\",\"produced_by\":[\"did:web:example.com#line-3\"],"
                       "\"production_date_from\":\"2025-01-01\",\"production_date_to\":"
                       "\"2025-12-31\",\"hardware\":[\"board-a\",\"board-b\"],"
                       "\"refuse_clones\":true,\"access_ttl\":600,\"nonce_ttl\":60}";
    struct {
        const char *json;
        vouch_code code;
    } bad[] = {
        {"{\"mode\":\"credential\",\"extra\":1}", VOUCH_E_JSON_TYPE},
        {"{}", VOUCH_E_JSON_MISSING},
        {"{\"mode\":\"password\"}", VOUCH_E_JSON_TYPE},
        {"{\"mode\":1}", VOUCH_E_JSON_TYPE},
        {"{\"mode\":\"credential\",\"access_ttl\":10}", VOUCH_E_JSON_RANGE},
        {"{\"mode\":\"credential\",\"nonce_ttl\":100000}", VOUCH_E_JSON_RANGE},
        {"{\"mode\":\"credential\",\"nonce_ttl\":1.5}", VOUCH_E_JSON_TYPE},
        {"{\"mode\":\"credential\",\"hardware\":\"board-a\"}", VOUCH_E_JSON_TYPE},
        {"{\"mode\":\"credential\",\"hardware\":[\"\"]}", VOUCH_E_JSON_TYPE},
        {"{\"mode\":\"credential\",\"hardware\":[\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\","
         "\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\"]}",
         VOUCH_E_LIMIT},
        {"{\"mode\":\"credential\",\"production_date_from\":\"2025-02-30\"}", VOUCH_E_JSON_TYPE},
        {"{\"mode\":\"credential\",\"production_date_from\":\"2025-02-01\","
         "\"production_date_to\":\"2025-01-01\"}",
         VOUCH_E_JSON_TYPE},
        {"{\"mode\":\"credential\",\"refuse_clones\":1}", VOUCH_E_JSON_TYPE},
        {"{\"mode\":\"credential\",\"mode\":\"allowlist\"}", VOUCH_E_JSON_DUPLICATE},
        {"{\"mode\":\"credential\"} x", VOUCH_E_JSON_TRAILING},
    };

    (void)state;
    vouch_err_clear(&e);
    assert_ok(vouch_authz_parse(full, strlen(full), &a, &e), e);
    assert_int_equal(a.allowlist_mode, 0);
    assert_int_equal(a.nproduced_by, 1);
    assert_int_equal(a.nhardware, 2);
    assert_string_equal(a.hardware[1], "board-b");
    assert_string_equal(a.date_from, "2025-01-01");
    assert_string_equal(a.date_to, "2025-12-31");
    assert_int_equal(a.refuse_clones, 1);
    assert_int_equal(a.access_ttl, 600);
    assert_int_equal(a.nonce_ttl, 60);
    /* dump and parse again: the same policy */
    {
        vouch_authz b;
        assert_ok(vouch_authz_dump(&a, &dump, &e), e);
        assert_ok(vouch_authz_parse(dump, strlen(dump), &b, &e), e);
        assert_memory_equal(&a, &b, sizeof(a));
        vouch_free(dump);
    }
    assert_ok(vouch_authz_parse("{\"mode\":\"allowlist\"}", 20, &a, &e), e);
    assert_int_equal(a.allowlist_mode, 1);
    assert_int_equal(a.access_ttl, 900);
    assert_int_equal(a.nonce_ttl, 120);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_code(vouch_authz_parse(bad[i].json, strlen(bad[i].json), &a, &e), bad[i].code, e);
}

/* The filter of the field whose first path is "$.vc.<p>", or NULL. */
static json_t *def_filter(const json_t *def, const char *p)
{
    json_t *fields = json_object_get(
        json_object_get(json_array_get(json_object_get(def, "input_descriptors"), 0),
                        "constraints"),
        "fields");
    size_t i;
    json_t *f;
    char want[96];

    snprintf(want, sizeof(want), "$.vc.%s", p);
    json_array_foreach(fields, i, f) {
        if (strcmp(json_string_value(json_array_get(json_object_get(f, "path"), 0)), want) == 0)
            return json_object_get(f, "filter");
    }
    return NULL;
}

static void test_authz_definition(void **state)
{
    vouch_authz a;
    json_t *def = NULL, *d0, *flt;
    vouch_err e;
    const char *cfg = "{\"mode\":\"credential\",\"produced_by\":[\"did:web:example.com#line-3\"],"
                      "\"production_date_from\":\"2025-01-01\",\"production_date_to\":"
                      "\"2025-12-31\",\"hardware\":[\"board-a\"]}";

    (void)state;
    vouch_err_clear(&e);
    /* no constraints: only the type */
    assert_string_equal(json_string_value(json_object_get(F.def, "id")),
                        VOUCH_PRODUCTION_DEFINITION_ID);
    d0 = json_array_get(json_object_get(F.def, "input_descriptors"), 0);
    assert_string_equal(json_string_value(json_object_get(d0, "id")),
                        VOUCH_PRODUCTION_DESCRIPTOR_ID);
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(json_object_get(json_object_get(d0, "format"),
                                                            "jwt_vc"),
                                            "alg"),
                            1)),
                        "EdDSA");
    flt = def_filter(F.def, "type");
    assert_non_null(flt);
    assert_string_equal(json_string_value(json_object_get(json_object_get(flt, "contains"),
                                                          "const")),
                        VOUCH_PRODUCTION_TYPE);
    assert_null(def_filter(F.def, "credentialSubject.hardware"));
    /* every constraint becomes a field over both path spellings */
    assert_ok(vouch_authz_parse(cfg, strlen(cfg), &a, &e), e);
    assert_ok(vouch_authz_definition(&a, &def, &e), e);
    flt = def_filter(def, "credentialSubject.productionDate");
    assert_non_null(flt);
    assert_string_equal(json_string_value(json_object_get(flt, "format")), "date");
    assert_string_equal(json_string_value(json_object_get(flt, "formatMinimum")), "2025-01-01");
    assert_string_equal(json_string_value(json_object_get(flt, "formatMaximum")), "2025-12-31");
    flt = def_filter(def, "credentialSubject.hardware");
    assert_string_equal(json_string_value(json_array_get(json_object_get(flt, "enum"), 0)),
                        "board-a");
    flt = def_filter(def, "credentialSubject.producedBy");
    assert_string_equal(json_string_value(json_array_get(json_object_get(flt, "enum"), 0)),
                        DID_WEB "#line-3");
    json_decref(def);
    /* allowlist mode asks for no presentation */
    a.allowlist_mode = 1;
    def = (json_t *)1;
    assert_ok(vouch_authz_definition(&a, &def, &e), e);
    assert_null(def);
}

static void test_authz_check(void **state)
{
    vouch_authz a;
    vouch_device_facts f = F.facts;
    vouch_err e;
    const char *cfg = "{\"mode\":\"credential\",\"produced_by\":[\"did:web:example.com#line-3\"],"
                      "\"production_date_from\":\"2025-01-01\",\"production_date_to\":"
                      "\"2025-12-31\",\"hardware\":[\"board-a\",\"board-b\"]}";

    (void)state;
    vouch_err_clear(&e);
    assert_ok(vouch_authz_parse(cfg, strlen(cfg), &a, &e), e);
    assert_ok(vouch_authz_check(&a, &f, &e), e);
    snprintf(f.hardware, sizeof(f.hardware), "board-c");
    assert_code(vouch_authz_check(&a, &f, &e), VOUCH_E_LOGIN_CONSTRAINT, e);
    f = F.facts;
    snprintf(f.production_date, sizeof(f.production_date), "2024-12-31");
    assert_code(vouch_authz_check(&a, &f, &e), VOUCH_E_LOGIN_CONSTRAINT, e);
    snprintf(f.production_date, sizeof(f.production_date), "2026-01-01");
    assert_code(vouch_authz_check(&a, &f, &e), VOUCH_E_LOGIN_CONSTRAINT, e);
    snprintf(f.production_date, sizeof(f.production_date), "2025-12-31"); /* inclusive */
    assert_ok(vouch_authz_check(&a, &f, &e), e);
    f = F.facts;
    snprintf(f.produced_by, sizeof(f.produced_by), DID_WEB "#line-4");
    assert_code(vouch_authz_check(&a, &f, &e), VOUCH_E_LOGIN_CONSTRAINT, e);
}

/* ------------------------------------------------------- request object */

static char *request(const json_t *def)
{
    char *out = NULL;
    vouch_err e;

    vouch_err_clear(&e);
    assert_ok(vouch_siop_request_build(F.pf.server, "server-1", &F.lp, def, &out, &e), e);
    return out;
}

static void test_request_roundtrip(void **state)
{
    vouch_siop_request r;
    vouch_err e;
    char *ro = request(F.def);
    json_t *c;

    (void)state;
    vouch_err_clear(&e);
    assert_ok(vouch_siop_request_verify(F.policy, ro, strlen(ro), ORIGIN, NOW, &r, &e), e);
    assert_string_equal(r.client_id, DID_WEB);
    assert_string_equal(r.response_uri, RESPONSE_URI);
    assert_string_equal(r.nonce, NONCE);
    assert_string_equal(r.state, STATE);
    assert_int_equal(r.exp, NOW + 120);
    assert_true(json_equal(r.definition, F.def));
    vouch_siop_request_free(&r);
    vouch_siop_request_free(&r); /* twice is fine */
    /* a server URL with a path and a trailing slash names the same origin */
    assert_ok(vouch_siop_request_verify(F.policy, ro, strlen(ro), ORIGIN "/", NOW, &r, &e), e);
    vouch_siop_request_free(&r);
    /* the claims a wallet expects */
    c = claims_of(ro);
    assert_string_equal(json_string_value(json_object_get(c, "response_type")),
                        "vp_token id_token");
    assert_string_equal(json_string_value(json_object_get(c, "client_id_scheme")), "did");
    assert_string_equal(json_string_value(json_object_get(c, "aud")), VOUCH_SIOP_ISSUER);
    json_decref(c);
    vouch_free(ro);
    /* id_token only (allowlist mode) */
    ro = request(NULL);
    assert_ok(vouch_siop_request_verify(F.policy, ro, strlen(ro), ORIGIN, NOW, &r, &e), e);
    assert_null(r.definition);
    vouch_free(ro);
}

/* The server's template makes the request object vouch_siop_request_build
 * makes: the same header and claims (ES256 signatures differ run to run),
 * which verify the same way; lp must name the template's client and URI. */
static void test_request_template(void **state)
{
    vouch_siop_request_tmpl *t = NULL;
    vouch_login_params lp = F.lp;
    vouch_siop_request r;
    char *a = NULL, *b = NULL;
    const char *da, *db;
    vouch_err e;
    (void)state;

    vouch_err_clear(&e);
    assert_ok(vouch_siop_request_tmpl_new(F.pf.server, "server-1", DID_WEB, RESPONSE_URI, F.def,
                                          &t, &e),
              e);
    a = request(F.def);
    assert_ok(vouch_siop_request_tmpl_build(t, &F.lp, &b, &e), e);
    da = strrchr(a, '.');
    db = strrchr(b, '.');
    assert_int_equal(da - a, db - b);
    assert_memory_equal(a, b, (size_t)(da - a)); /* header.claims, byte for byte */
    assert_ok(vouch_siop_request_verify(F.policy, b, strlen(b), ORIGIN, NOW, &r, &e), e);
    assert_string_equal(r.nonce, NONCE);
    assert_true(json_equal(r.definition, F.def));
    vouch_siop_request_free(&r);
    vouch_free(b);
    b = NULL;
    /* another nonce and state go where they belong */
    lp.nonce = "n0nce-other-0123456789abcdef";
    lp.state = "state-other";
    assert_ok(vouch_siop_request_tmpl_build(t, &lp, &b, &e), e);
    assert_ok(vouch_siop_request_verify(F.policy, b, strlen(b), ORIGIN, NOW, &r, &e), e);
    assert_string_equal(r.nonce, lp.nonce);
    assert_string_equal(r.state, lp.state);
    vouch_siop_request_free(&r);
    vouch_free(b);
    b = NULL;
    /* the template's client and response URI only */
    lp = F.lp;
    lp.client_id = "did:web:other.example";
    assert_code(vouch_siop_request_tmpl_build(t, &lp, &b, &e), VOUCH_E_ARG, e);
    lp = F.lp;
    lp.response_uri = "https://other.example/auth/response";
    assert_code(vouch_siop_request_tmpl_build(t, &lp, &b, &e), VOUCH_E_ARG, e);
    assert_null(b);
    vouch_siop_request_tmpl_free(t);
    vouch_free(a);
}

static void test_request_build_args(void **state)
{
    vouch_login_params lp = F.lp;
    char *out = NULL;
    vouch_err e;

    (void)state;
    vouch_err_clear(&e);
    lp.nonce = "short";
    assert_code(vouch_siop_request_build(F.pf.server, "server-1", &lp, F.def, &out, &e),
                VOUCH_E_ARG, e);
    lp = F.lp;
    lp.nonce = "n0nce+0123456789abcdefghijkl"; /* not base64url */
    assert_code(vouch_siop_request_build(F.pf.server, "server-1", &lp, F.def, &out, &e),
                VOUCH_E_ARG, e);
    lp = F.lp;
    lp.response_uri = "ftp://updates.example.com/x";
    assert_code(vouch_siop_request_build(F.pf.server, "server-1", &lp, F.def, &out, &e),
                VOUCH_E_ARG, e);
    lp = F.lp;
    lp.exp = lp.iat + VOUCH_LOGIN_MAX_LIFETIME + 1;
    assert_code(vouch_siop_request_build(F.pf.server, "server-1", &lp, F.def, &out, &e),
                VOUCH_E_ARG, e);
    lp = F.lp;
    lp.client_id = "https://updates.example.com";
    assert_code(vouch_siop_request_build(F.pf.server, "server-1", &lp, F.def, &out, &e),
                VOUCH_E_ARG, e);
    assert_null(out);
}

/* The claims of a valid request object, to mutate. */
static json_t *req_claims(void)
{
    char *ro = request(F.def);
    json_t *c = claims_of(ro);

    vouch_free(ro);
    return c;
}

static void test_request_hostile(void **state)
{
    vouch_siop_request r;
    vouch_err e;
    json_t *c;
    char sk[] = DID_WEB "#server-1";

    (void)state;
    vouch_err_clear(&e);
#define EXPECT_RO(tok, origin, code)                                                         \
    do {                                                                                     \
        char *t__ = (tok);                                                                   \
        assert_code(vouch_siop_request_verify(F.policy, t__, strlen(t__), origin, NOW, &r, &e), \
                    code, e);                                                                \
        vouch_siop_request_free(&r);                                                         \
        free(t__);                                                                           \
    } while (0)
    /* typ "JWT" is what some servers send: accepted; others are not */
    EXPECT_RO(sign_claims(F.pf.server, "JWT", sk, req_claims()), ORIGIN, VOUCH_OK);
    EXPECT_RO(sign_claims(F.pf.server, "application/oauth-authz-req+jwt", sk, req_claims()),
              ORIGIN, VOUCH_OK);
    EXPECT_RO(sign_claims(F.pf.server, "vp+jwt", sk, req_claims()), ORIGIN, VOUCH_E_JWS_TYP);
    EXPECT_RO(sign_claims(F.pf.server, NULL, sk, req_claims()), ORIGIN, VOUCH_E_JWS_TYP);
    /* signed by a non-server key: the issuer key under its kid; a stranger
     * under the server's kid; the issuer key under the server's kid */
    EXPECT_RO(sign_claims(F.pf.issuer, "JWT", DID_WEB "#issuer-1", req_claims()), ORIGIN,
              VOUCH_E_JWS_UNKNOWN_KEY);
    EXPECT_RO(sign_claims(F.other, "JWT", sk, req_claims()), ORIGIN, VOUCH_E_JWS_BAD_SIGNATURE);
    EXPECT_RO(sign_claims(F.pf.issuer, "JWT", sk, req_claims()), ORIGIN,
              VOUCH_E_JWS_BAD_SIGNATURE);
    EXPECT_RO(sign_claims(F.other, "JWT", NULL, req_claims()), ORIGIN, VOUCH_E_JWS_BAD_SIGNATURE);
    /* alg none; an embedded key */
    EXPECT_RO(raw_jws(NULL, "{\"alg\":\"none\",\"typ\":\"oauth-authz-req+jwt\"}", "{}"), ORIGIN,
              VOUCH_E_JWS_ALG);
    EXPECT_RO(raw_jws(F.other, "{\"alg\":\"ES256\",\"typ\":\"JWT\",\"jku\":\"https://e/\"}",
                      "{}"),
              ORIGIN, VOUCH_E_JWS_EMBEDDED_KEY);
    /* response_uri of another origin, in every disguise */
    {
        static const char *const uris[] = {
            "https://evil.example/auth",          "https://updates.example.com.evil.example/x",
            "https://updates.example.com@evil/x", "https://updates.example.com:8443/x",
            "http://updates.example.com/x",       "https://updates.example.com",
            "https://updates.example.com?x=/",    "HTTPS://updates.example.com/x",
            "https://updates.example.com\\@evil/x"};
        for (size_t i = 0; i < sizeof(uris) / sizeof(uris[0]); i++) {
            c = req_claims();
            json_object_set_new(c, "response_uri", json_string(uris[i]));
            EXPECT_RO(sign_claims(F.pf.server, "JWT", sk, c), ORIGIN, VOUCH_E_LOGIN_ORIGIN);
        }
    }
    /* the expected origin with a port must match exactly too */
    EXPECT_RO(sign_claims(F.pf.server, "JWT", sk, req_claims()), ORIGIN ":443",
              VOUCH_E_LOGIN_ORIGIN);
    /* expired, issued in the future, too long-lived */
    c = req_claims();
    json_object_set_new(c, "exp", json_integer(NOW - VOUCH_LOGIN_SKEW));
    json_object_set_new(c, "iat", json_integer(NOW - 200));
    EXPECT_RO(sign_claims(F.pf.server, "JWT", sk, c), ORIGIN, VOUCH_E_LOGIN_EXPIRED);
    c = req_claims();
    json_object_set_new(c, "iat", json_integer(NOW + 100));
    json_object_set_new(c, "exp", json_integer(NOW + 200));
    EXPECT_RO(sign_claims(F.pf.server, "JWT", sk, c), ORIGIN, VOUCH_E_LOGIN_EXPIRED);
    c = req_claims();
    json_object_set_new(c, "exp", json_integer(NOW + 2 * VOUCH_LOGIN_MAX_LIFETIME));
    EXPECT_RO(sign_claims(F.pf.server, "JWT", sk, c), ORIGIN, VOUCH_E_LOGIN_EXPIRED);
    c = req_claims();
    json_object_set_new(c, "exp", json_string("soon"));
    EXPECT_RO(sign_claims(F.pf.server, "JWT", sk, c), ORIGIN, VOUCH_E_LOGIN_REQUEST);
    /* wrong aud; another client_id; iss != client_id; unknown member */
    c = req_claims();
    json_object_set_new(c, "aud", json_string("https://other.example"));
    EXPECT_RO(sign_claims(F.pf.server, "JWT", sk, c), ORIGIN, VOUCH_E_LOGIN_AUDIENCE);
    c = req_claims();
    json_object_set_new(c, "client_id", json_string("did:web:evil.example"));
    json_object_set_new(c, "iss", json_string("did:web:evil.example"));
    EXPECT_RO(sign_claims(F.pf.server, "JWT", sk, c), ORIGIN, VOUCH_E_LOGIN_REQUEST);
    c = req_claims();
    json_object_set_new(c, "iss", json_string("did:web:evil.example"));
    EXPECT_RO(sign_claims(F.pf.server, "JWT", sk, c), ORIGIN, VOUCH_E_LOGIN_REQUEST);
    c = req_claims();
    json_object_set_new(c, "redirect_uri", json_string("https://evil.example/"));
    EXPECT_RO(sign_claims(F.pf.server, "JWT", sk, c), ORIGIN, VOUCH_E_LOGIN_REQUEST);
    c = req_claims();
    json_object_set_new(c, "response_mode", json_string("fragment"));
    EXPECT_RO(sign_claims(F.pf.server, "JWT", sk, c), ORIGIN, VOUCH_E_LOGIN_REQUEST);
    c = req_claims();
    json_object_del(c, "presentation_definition");
    EXPECT_RO(sign_claims(F.pf.server, "JWT", sk, c), ORIGIN, VOUCH_E_LOGIN_REQUEST);
    /* nonce missing or below 128 bits; state missing */
    c = req_claims();
    json_object_del(c, "nonce");
    EXPECT_RO(sign_claims(F.pf.server, "JWT", sk, c), ORIGIN, VOUCH_E_LOGIN_NONCE);
    c = req_claims();
    json_object_set_new(c, "nonce", json_string("n-0S6_WzA2Mj"));
    EXPECT_RO(sign_claims(F.pf.server, "JWT", sk, c), ORIGIN, VOUCH_E_LOGIN_NONCE);
    c = req_claims();
    json_object_del(c, "state");
    EXPECT_RO(sign_claims(F.pf.server, "JWT", sk, c), ORIGIN, VOUCH_E_LOGIN_STATE);
    /* private key members in a JWK of client_metadata */
    {
        json_t *jwk = NULL;
        vouch_key *k = gen(VOUCH_KEY_P256);
        char *pem = NULL;
        /* a private JWK by hand: the public one plus "d" (any 32 bytes) */
        jwk = pfx_jwk(k);
        json_object_set_new(jwk, "d", json_string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
        c = req_claims();
        json_object_set_new(json_object_get(c, "client_metadata"), "jwks",
                            json_pack("{s:[o]}", "keys", jwk));
        EXPECT_RO(sign_claims(F.pf.server, "JWT", sk, c), ORIGIN, VOUCH_E_KEY_PRIVATE);
        vouch_free(pem);
        vouch_key_free(k);
    }
#undef EXPECT_RO
}

/* ------------------------------------------------------------- response */

typedef struct resp {
    char *id_token, *vp_token, *sub;
} resp;

static void resp_free(resp *r)
{
    free(r->id_token);
    free(r->vp_token);
    free(r->sub);
    memset(r, 0, sizeof(*r));
}

/* A valid response by the device key k with credential cred. */
static resp respond(const vouch_key *k, const char *cred)
{
    vouch_siop_request rq;
    vouch_siop_response out;
    vouch_err e;
    char *ro = request(F.def);
    resp r;

    vouch_err_clear(&e);
    assert_ok(vouch_siop_request_verify(F.policy, ro, strlen(ro), ORIGIN, NOW, &rq, &e), e);
    assert_ok(vouch_siop_response_build(k, cred, &rq, NOW, &out, &e), e);
    r.id_token = strdup(out.id_token);
    r.vp_token = strdup(out.vp_token);
    r.sub = strdup(out.presentation_submission);
    vouch_siop_response_free(&out);
    vouch_siop_request_free(&rq);
    vouch_free(ro);
    return r;
}

static vouch_code verify(const resp *r, const vouch_authz *a, vouch_device_facts *f,
                         vouch_err *e)
{
    return vouch_siop_response_verify(F.policy, a ? a : &F.authz, &F.lp, r->id_token,
                                      r->id_token ? strlen(r->id_token) : 0, r->vp_token,
                                      r->vp_token ? strlen(r->vp_token) : 0, r->sub,
                                      r->sub ? strlen(r->sub) : 0, NOW, f, e);
}

/* Verification through a DID cache answers exactly as without one, for a
 * good response and for refused ones, and the cache stays usable. */
static vouch_code verify_cached(vouch_did_cache *c, const resp *r, vouch_device_facts *f,
                                vouch_err *e)
{
    return vouch_siop_response_verify_cached(
        c, F.policy, &F.authz, &F.lp, r->id_token, r->id_token ? strlen(r->id_token) : 0,
        r->vp_token, r->vp_token ? strlen(r->vp_token) : 0, r->sub, r->sub ? strlen(r->sub) : 0,
        NOW, f, e);
}

static void test_response_roundtrip(void **state)
{
    vouch_device_facts f;
    vouch_err e;
    resp r = respond(F.dev, F.cred);
    json_t *c;

    (void)state;
    vouch_err_clear(&e);
    assert_ok(verify(&r, NULL, &f, &e), e);
    assert_memory_equal(&f, &F.facts, sizeof(f));
    c = claims_of(r.id_token);
    assert_string_equal(json_string_value(json_object_get(c, "iss")), F.did);
    assert_string_equal(json_string_value(json_object_get(c, "sub")), F.did);
    assert_string_equal(json_string_value(json_object_get(c, "aud")), DID_WEB);
    json_decref(c);
    resp_free(&r);
    /* an Ed25519 device */
    {
        vouch_device_facts fe;
        char *cred;
        facts_for(&fe, F.did_ed, "SN-ED");
        cred = issue(F.pf.issuer, "issuer-1", &fe, NOW, YEAR);
        r = respond(F.dev_ed, cred);
        assert_ok(verify(&r, NULL, &f, &e), e);
        assert_string_equal(f.did, F.did_ed);
        resp_free(&r);
        vouch_free(cred);
    }
    /* allowlist mode: the id_token alone */
    {
        vouch_authz al;
        vouch_authz_default(&al);
        al.allowlist_mode = 1;
        r = respond(F.dev, F.cred);
        free(r.vp_token);
        free(r.sub);
        r.vp_token = r.sub = NULL;
        assert_ok(verify(&r, &al, &f, &e), e);
        assert_string_equal(f.did, F.did);
        assert_string_equal(f.serial, "");
        resp_free(&r);
    }
}

/* The device's claims for an id_token, to mutate. */
static json_t *idt_claims(const char *did)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:I,s:I}", "iss", did, "sub", did, "aud", DID_WEB, "nonce",
                     NONCE, "iat", (json_int_t)NOW, "exp", (json_int_t)(NOW + 300));
}

static json_t *vpt_claims(const char *did, const char *cred)
{
    return json_pack("{s:s,s:s,s:s,s:I,s:I,s:s,s:{s:[s],s:[s],s:[s]}}", "iss", did, "aud",
                     DID_WEB, "nonce", NONCE, "iat", (json_int_t)NOW, "exp",
                     (json_int_t)(NOW + 300), "jti", "urn:uuid:1", "vp", "@context",
                     VOUCH_VC_CONTEXT_V1, "type", "VerifiablePresentation",
                     "verifiableCredential", cred);
}

/* Replaces the id_token (or vp_token) of a fresh valid response. */
static resp with_idt(char *idt)
{
    resp r = respond(F.dev, F.cred);

    free(r.id_token);
    r.id_token = idt;
    return r;
}

static resp with_vpt(char *vpt)
{
    resp r = respond(F.dev, F.cred);

    free(r.vp_token);
    r.vp_token = vpt;
    return r;
}

static resp with_sub(const char *sub)
{
    resp r = respond(F.dev, F.cred);

    free(r.sub);
    r.sub = sub ? strdup(sub) : NULL;
    return r;
}

#define EXPECT_RESP(rexpr, authz, code)                                                      \
    do {                                                                                     \
        resp r__ = (rexpr);                                                                  \
        vouch_device_facts f__;                                                              \
        assert_code(verify(&r__, authz, &f__, &e), code, e);                                 \
        if ((code) != VOUCH_OK)                                                              \
            assert_string_equal(f__.did, "");                                                \
        resp_free(&r__);                                                                     \
    } while (0)

static void test_response_cached(void **state)
{
    vouch_did_cache *c = NULL;
    vouch_device_facts f1, f2;
    char *vm = vm_of(F.did);
    json_t *cl;
    resp good, bad;
    vouch_err e, e2;
    (void)state;

    vouch_err_clear(&e);
    assert_ok(vouch_did_cache_new(8, &c, &e), e);
    good = respond(F.dev, F.cred);
    for (int i = 0; i < 2; i++) { /* a miss, then a hit */
        assert_ok(verify_cached(c, &good, &f1, &e), e);
        assert_string_equal(f1.did, F.did);
        assert_string_equal(f1.serial, "SN-0001");
    }
    assert_ok(verify_cached(NULL, &good, &f2, &e), e);
    assert_memory_equal(&f1, &f2, sizeof(f1));
    /* a refused response: the same code with and without the cache */
    cl = idt_claims(F.did);
    json_object_set_new(cl, "nonce", json_string("n0nce-0123456789abcdefghijkX"));
    bad = with_idt(sign_claims(F.dev, "JWT", vm, cl));
    assert_code(verify_cached(c, &bad, &f1, &e), VOUCH_E_LOGIN_NONCE, e);
    assert_code(verify(&bad, NULL, &f2, &e2), VOUCH_E_LOGIN_NONCE, e2);
    resp_free(&bad);
    /* signed by another key than its DID names */
    bad = with_idt(sign_claims(F.other, "JWT", vm, idt_claims(F.did)));
    assert_code(verify_cached(c, &bad, &f1, &e), verify(&bad, NULL, &f2, &e2), e);
    assert_int_not_equal(e.code, VOUCH_OK);
    resp_free(&bad);
    assert_ok(verify_cached(c, &good, &f1, &e), e); /* still good afterwards */
    resp_free(&good);
    vouch_did_cache_free(c);
    free(vm);
}

static void test_response_id_token(void **state)
{
    vouch_err e;
    char *vm = vm_of(F.did), *vm_other = vm_of(F.did_other), big[VOUCH_LOGIN_MAX_BYTES + 8];
    json_t *c;

    (void)state;
    vouch_err_clear(&e);
    /* what wallets send: the SIOPv2 constant issuer with a DID sub; no kid;
     * no typ; typ "JWT"; aud as an array; a sub_jwk of the same key */
    c = idt_claims(F.did);
    json_object_set_new(c, "iss", json_string(VOUCH_SIOP_ISSUER));
    EXPECT_RESP(with_idt(sign_claims(F.dev, "JWT", vm, c)), NULL, VOUCH_OK);
    EXPECT_RESP(with_idt(sign_claims(F.dev, NULL, NULL, idt_claims(F.did))), NULL, VOUCH_OK);
    c = idt_claims(F.did);
    json_object_set_new(c, "aud", json_pack("[s]", DID_WEB));
    EXPECT_RESP(with_idt(sign_claims(F.dev, "JWT", vm, c)), NULL, VOUCH_OK);
    c = idt_claims(F.did);
    json_object_set_new(c, "sub_jwk", pfx_jwk(F.dev));
    EXPECT_RESP(with_idt(sign_claims(F.dev, "JWT", vm, c)), NULL, VOUCH_OK);
    /* a kid that is the bare DID */
    EXPECT_RESP(with_idt(sign_claims(F.dev, "JWT", F.did, idt_claims(F.did))), NULL, VOUCH_OK);

    /* wallets echo state in the id_token: this login's is fine, another's
     * or one of another type is not */
    c = idt_claims(F.did);
    json_object_set_new(c, "state", json_string(STATE));
    EXPECT_RESP(with_idt(sign_claims(F.dev, "JWT", vm, c)), NULL, VOUCH_OK);
    c = idt_claims(F.did);
    json_object_set_new(c, "state", json_string("state-43"));
    EXPECT_RESP(with_idt(sign_claims(F.dev, "JWT", vm, c)), NULL, VOUCH_E_LOGIN_STATE);
    c = idt_claims(F.did);
    json_object_set_new(c, "state", json_integer(42));
    EXPECT_RESP(with_idt(sign_claims(F.dev, "JWT", vm, c)), NULL, VOUCH_E_LOGIN_STATE);
    /* an iat far in the past (a skewed wallet clock) is tolerated: the nonce
     * gives freshness; but exp may not reach beyond now + the cap */
    c = idt_claims(F.did);
    json_object_set_new(c, "iat", json_integer((json_int_t)(NOW - 60000)));
    EXPECT_RESP(with_idt(sign_claims(F.dev, "JWT", vm, c)), NULL, VOUCH_OK);
    c = idt_claims(F.did);
    json_object_set_new(c, "exp", json_integer((json_int_t)(NOW + VOUCH_LOGIN_MAX_LIFETIME + 1)));
    EXPECT_RESP(with_idt(sign_claims(F.dev, "JWT", vm, c)), NULL, VOUCH_E_LOGIN_EXPIRED);

    /* nonce mismatched, missing, of another type */
    c = idt_claims(F.did);
    json_object_set_new(c, "nonce", json_string("n0nce-0123456789abcdefghijkX"));
    EXPECT_RESP(with_idt(sign_claims(F.dev, "JWT", vm, c)), NULL, VOUCH_E_LOGIN_NONCE);
    c = idt_claims(F.did);
    json_object_del(c, "nonce");
    EXPECT_RESP(with_idt(sign_claims(F.dev, "JWT", vm, c)), NULL, VOUCH_E_LOGIN_NONCE);
    c = idt_claims(F.did);
    json_object_set_new(c, "nonce", json_integer(1));
    EXPECT_RESP(with_idt(sign_claims(F.dev, "JWT", vm, c)), NULL, VOUCH_E_LOGIN_NONCE);
    /* wrong aud, in both forms; aud missing */
    c = idt_claims(F.did);
    json_object_set_new(c, "aud", json_string("did:web:other.example"));
    EXPECT_RESP(with_idt(sign_claims(F.dev, "JWT", vm, c)), NULL, VOUCH_E_LOGIN_AUDIENCE);
    c = idt_claims(F.did);
    json_object_set_new(c, "aud", json_pack("[s]", "did:web:other.example"));
    EXPECT_RESP(with_idt(sign_claims(F.dev, "JWT", vm, c)), NULL, VOUCH_E_LOGIN_AUDIENCE);
    c = idt_claims(F.did);
    json_object_del(c, "aud");
    EXPECT_RESP(with_idt(sign_claims(F.dev, "JWT", vm, c)), NULL, VOUCH_E_LOGIN_AUDIENCE);
    /* iss != sub for a self-issued token */
    c = idt_claims(F.did);
    json_object_set_new(c, "iss", json_string(F.did_other));
    EXPECT_RESP(with_idt(sign_claims(F.dev, "JWT", vm, c)), NULL, VOUCH_E_LOGIN_SUBJECT);
    c = idt_claims(F.did);
    json_object_set_new(c, "iss", json_string("https://self-issued.me"));
    EXPECT_RESP(with_idt(sign_claims(F.dev, "JWT", vm, c)), NULL, VOUCH_E_LOGIN_SUBJECT);
    /* sub not the key: signed by the device, sub names another key */
    EXPECT_RESP(with_idt(sign_claims(F.dev, "JWT", vm, idt_claims(F.did_other))), NULL,
                VOUCH_E_LOGIN_SUBJECT);
    /* ... or signed by a stranger whose kid names the device: bad signature */
    EXPECT_RESP(with_idt(sign_claims(F.other, "JWT", vm, idt_claims(F.did))), NULL,
                VOUCH_E_JWS_BAD_SIGNATURE);
    /* ... or a stranger's own token for the stranger: valid, but then the
     * vp_token (the device's) is signed by another key */
    EXPECT_RESP(with_idt(sign_claims(F.other, "JWT", vm_other, idt_claims(F.did_other))), NULL,
                VOUCH_E_LOGIN_SUBJECT);
    /* sub not a did:key */
    c = idt_claims(F.did);
    json_object_set_new(c, "sub", json_string("did:web:device.example"));
    json_object_set_new(c, "iss", json_string("did:web:device.example"));
    EXPECT_RESP(with_idt(sign_claims(F.dev, "JWT", vm, c)), NULL, VOUCH_E_LOGIN_SUBJECT);
    EXPECT_RESP(with_idt(sign_claims(F.dev, "JWT", "did:web:device.example#k", idt_claims(F.did))),
                NULL, VOUCH_E_LOGIN_SUBJECT);
    /* private key members in the token's JWK; a JWK of another key: the
     * key is taken from the DID and never from a JWK */
    {
        json_t *jwk = pfx_jwk(F.dev);
        json_object_set_new(jwk, "d", json_string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
        c = idt_claims(F.did);
        json_object_set_new(c, "sub_jwk", jwk);
        EXPECT_RESP(with_idt(sign_claims(F.dev, "JWT", vm, c)), NULL, VOUCH_E_KEY_PRIVATE);
    }
    c = idt_claims(F.did);
    json_object_set_new(c, "sub_jwk", pfx_jwk(F.other));
    EXPECT_RESP(with_idt(sign_claims(F.dev, "JWT", vm, c)), NULL, VOUCH_E_LOGIN_SUBJECT);
    /* a JWK in the header: never a key source */
    {
        json_t *jwk = pfx_jwk(F.dev);
        char hdr[512], *js = json_dumps(jwk, JSON_COMPACT), *payload;
        c = idt_claims(F.did);
        payload = json_dumps(c, JSON_COMPACT);
        snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"typ\":\"JWT\",\"jwk\":%s}", js);
        EXPECT_RESP(with_idt(raw_jws(F.dev, hdr, payload)), NULL, VOUCH_E_JWS_EMBEDDED_KEY);
        free(js);
        free(payload);
        json_decref(c);
        json_decref(jwk);
    }
    /* alg none; an alg that does not fit the key */
    {
        char *payload;
        c = idt_claims(F.did);
        payload = json_dumps(c, JSON_COMPACT);
        EXPECT_RESP(with_idt(raw_jws(NULL, "{\"alg\":\"none\"}", payload)), NULL,
                    VOUCH_E_JWS_ALG);
        EXPECT_RESP(with_idt(raw_jws(F.dev, "{\"alg\":\"EdDSA\"}", payload)), NULL,
                    VOUCH_E_JWS_ALG_MISMATCH);
        free(payload);
        json_decref(c);
    }
    /* another token kind offered as an id_token */
    EXPECT_RESP(with_idt(sign_claims(F.dev, "oauth-authz-req+jwt", vm, idt_claims(F.did))), NULL,
                VOUCH_E_JWS_TYP);
    /* expired, from the future, too long-lived; exp missing */
    c = idt_claims(F.did);
    json_object_set_new(c, "iat", json_integer(NOW - 1000));
    json_object_set_new(c, "exp", json_integer(NOW - VOUCH_LOGIN_SKEW));
    EXPECT_RESP(with_idt(sign_claims(F.dev, "JWT", vm, c)), NULL, VOUCH_E_LOGIN_EXPIRED);
    c = idt_claims(F.did);
    json_object_set_new(c, "iat", json_integer(NOW + 2 * VOUCH_LOGIN_SKEW));
    json_object_set_new(c, "exp", json_integer(NOW + 300));
    EXPECT_RESP(with_idt(sign_claims(F.dev, "JWT", vm, c)), NULL, VOUCH_E_LOGIN_EXPIRED);
    c = idt_claims(F.did);
    json_object_set_new(c, "exp", json_integer(NOW + VOUCH_LOGIN_MAX_LIFETIME + 1));
    EXPECT_RESP(with_idt(sign_claims(F.dev, "JWT", vm, c)), NULL, VOUCH_E_LOGIN_EXPIRED);
    c = idt_claims(F.did);
    json_object_del(c, "exp");
    EXPECT_RESP(with_idt(sign_claims(F.dev, "JWT", vm, c)), NULL, VOUCH_E_LOGIN_REQUEST);
    /* a claim we do not know */
    c = idt_claims(F.did);
    json_object_set_new(c, "admin", json_true());
    EXPECT_RESP(with_idt(sign_claims(F.dev, "JWT", vm, c)), NULL, VOUCH_E_LOGIN_REQUEST);
    /* missing, oversized, a general JWS */
    EXPECT_RESP(with_idt(NULL), NULL, VOUCH_E_LOGIN_REQUEST);
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    EXPECT_RESP(with_idt(strdup(big)), NULL, VOUCH_E_JWS_TOO_LARGE);
    /* the login itself has expired */
    {
        resp r = respond(F.dev, F.cred);
        vouch_login_params lp = F.lp;
        vouch_device_facts f;
        lp.exp = NOW;
        assert_code(vouch_siop_response_verify(F.policy, &F.authz, &lp, r.id_token,
                                               strlen(r.id_token), r.vp_token,
                                               strlen(r.vp_token), r.sub, strlen(r.sub), NOW, &f,
                                               &e),
                    VOUCH_E_LOGIN_NONCE, e);
        resp_free(&r);
    }
    vouch_free(vm);
    vouch_free(vm_other);
}

static void test_response_vp_token(void **state)
{
    vouch_err e;
    char *vm = vm_of(F.did), *vm_other = vm_of(F.did_other), *cred_other, *cred;
    vouch_device_facts fo;
    json_t *c;

    (void)state;
    vouch_err_clear(&e);
    facts_for(&fo, F.did_other, "SN-OTHER");
    cred_other = issue(F.pf.issuer, "issuer-1", &fo, NOW, YEAR);
    /* no kid (iss names the key); sub = iss; a holder member: accepted */
    EXPECT_RESP(with_vpt(sign_claims(F.dev, "JWT", NULL, vpt_claims(F.did, F.cred))), NULL,
                VOUCH_OK);
    c = vpt_claims(F.did, F.cred);
    json_object_set_new(c, "sub", json_string(F.did));
    json_object_set_new(json_object_get(c, "vp"), "holder", json_string(F.did));
    EXPECT_RESP(with_vpt(sign_claims(F.dev, "JWT", vm, c)), NULL, VOUCH_OK);
    /* no exp (wallets): iat bounds it; neither exp nor iat (did-jwt-vc's
     * default): the nonce bounds it, but a future nbf is still refused */
    c = vpt_claims(F.did, F.cred);
    json_object_del(c, "exp");
    EXPECT_RESP(with_vpt(sign_claims(F.dev, "JWT", vm, c)), NULL, VOUCH_OK);
    c = vpt_claims(F.did, F.cred);
    json_object_del(c, "exp");
    json_object_set_new(c, "iat", json_integer(NOW - VOUCH_LOGIN_MAX_LIFETIME - VOUCH_LOGIN_SKEW));
    EXPECT_RESP(with_vpt(sign_claims(F.dev, "JWT", vm, c)), NULL, VOUCH_E_LOGIN_EXPIRED);
    c = vpt_claims(F.did, F.cred);
    json_object_del(c, "exp");
    json_object_del(c, "iat");
    json_object_del(c, "nbf");
    EXPECT_RESP(with_vpt(sign_claims(F.dev, "JWT", vm, c)), NULL, VOUCH_OK);
    c = vpt_claims(F.did, F.cred);
    json_object_del(c, "exp");
    json_object_del(c, "iat");
    json_object_set_new(c, "nbf", json_integer(NOW - 100));
    EXPECT_RESP(with_vpt(sign_claims(F.dev, "JWT", vm, c)), NULL, VOUCH_OK);
    c = vpt_claims(F.did, F.cred);
    json_object_del(c, "exp");
    json_object_del(c, "iat");
    json_object_set_new(c, "nbf", json_integer(NOW + 2 * VOUCH_LOGIN_SKEW));
    EXPECT_RESP(with_vpt(sign_claims(F.dev, "JWT", vm, c)), NULL, VOUCH_E_LOGIN_EXPIRED);
    /* ... and the nonce is still required and checked */
    c = vpt_claims(F.did, F.cred);
    json_object_del(c, "exp");
    json_object_del(c, "iat");
    json_object_set_new(c, "nonce", json_string("another-nonce-another-nonce"));
    EXPECT_RESP(with_vpt(sign_claims(F.dev, "JWT", vm, c)), NULL, VOUCH_E_LOGIN_NONCE);
    c = vpt_claims(F.did, F.cred);
    json_object_del(c, "exp");
    json_object_del(c, "iat");
    json_object_del(c, "nonce");
    EXPECT_RESP(with_vpt(sign_claims(F.dev, "JWT", vm, c)), NULL, VOUCH_E_LOGIN_NONCE);
    /* Sphereon SSI-SDK's shape: the presentation's members also beside
     * "vp", with an issuanceDate: accepted when the copies equal vp's */
    c = vpt_claims(F.did, F.cred);
    json_object_set_new(json_object_get(c, "vp"), "holder", json_string(F.did));
    json_object_set(c, "@context", json_object_get(json_object_get(c, "vp"), "@context"));
    json_object_set(c, "type", json_object_get(json_object_get(c, "vp"), "type"));
    json_object_set(c, "holder", json_object_get(json_object_get(c, "vp"), "holder"));
    json_object_set(c, "verifiableCredential",
                    json_object_get(json_object_get(c, "vp"), "verifiableCredential"));
    json_object_set_new(c, "issuanceDate", json_string("2026-11-22T01:00:00Z"));
    EXPECT_RESP(with_vpt(sign_claims(F.dev, "JWT", vm, json_deep_copy(c))), NULL, VOUCH_OK);
    {
        json_t *bad = json_deep_copy(c); /* another credential beside vp */
        json_object_set_new(bad, "verifiableCredential", json_pack("[s]", cred_other));
        EXPECT_RESP(with_vpt(sign_claims(F.dev, "JWT", vm, bad)), NULL, VOUCH_E_LOGIN_REQUEST);
        bad = json_deep_copy(c); /* another holder beside vp */
        json_object_set_new(bad, "holder", json_string(F.did_other));
        EXPECT_RESP(with_vpt(sign_claims(F.dev, "JWT", vm, bad)), NULL, VOUCH_E_LOGIN_REQUEST);
        bad = json_deep_copy(c); /* a copy of what vp does not have */
        json_object_del(json_object_get(bad, "vp"), "holder");
        EXPECT_RESP(with_vpt(sign_claims(F.dev, "JWT", vm, bad)), NULL, VOUCH_E_LOGIN_REQUEST);
        bad = json_deep_copy(c);
        json_object_set_new(bad, "issuanceDate", json_integer(NOW));
        EXPECT_RESP(with_vpt(sign_claims(F.dev, "JWT", vm, bad)), NULL, VOUCH_E_LOGIN_REQUEST);
        bad = json_deep_copy(c); /* still no other member */
        json_object_set_new(bad, "id", json_string("urn:uuid:2"));
        EXPECT_RESP(with_vpt(sign_claims(F.dev, "JWT", vm, bad)), NULL, VOUCH_E_LOGIN_REQUEST);
    }
    json_decref(c);
    /* holder differs from the login subject: the stranger's valid VP */
    EXPECT_RESP(with_vpt(sign_claims(F.other, "JWT", vm_other, vpt_claims(F.did_other,
                                                                        cred_other))),
                NULL, VOUCH_E_LOGIN_SUBJECT);
    /* iss the device but signed by the stranger under the device's kid */
    EXPECT_RESP(with_vpt(sign_claims(F.other, "JWT", vm, vpt_claims(F.did, F.cred))), NULL,
                VOUCH_E_JWS_BAD_SIGNATURE);
    /* signed by the device, iss the stranger */
    EXPECT_RESP(with_vpt(sign_claims(F.dev, "JWT", vm, vpt_claims(F.did_other, F.cred))), NULL,
                VOUCH_E_LOGIN_SUBJECT);
    c = vpt_claims(F.did, F.cred);
    json_object_set_new(json_object_get(c, "vp"), "holder", json_string(F.did_other));
    EXPECT_RESP(with_vpt(sign_claims(F.dev, "JWT", vm, c)), NULL, VOUCH_E_LOGIN_SUBJECT);
    /* the VC's subject is another device (the device presents a stolen one) */
    EXPECT_RESP(with_vpt(sign_claims(F.dev, "JWT", vm, vpt_claims(F.did, cred_other))), NULL,
                VOUCH_E_LOGIN_SUBJECT);
    /* not bound to this login: nonce and aud */
    c = vpt_claims(F.did, F.cred);
    json_object_set_new(c, "nonce", json_string("n0nce-0123456789abcdefghijkX"));
    EXPECT_RESP(with_vpt(sign_claims(F.dev, "JWT", vm, c)), NULL, VOUCH_E_LOGIN_NONCE);
    c = vpt_claims(F.did, F.cred);
    json_object_del(c, "nonce");
    EXPECT_RESP(with_vpt(sign_claims(F.dev, "JWT", vm, c)), NULL, VOUCH_E_LOGIN_NONCE);
    c = vpt_claims(F.did, F.cred);
    json_object_set_new(c, "aud", json_string("did:web:other.example"));
    EXPECT_RESP(with_vpt(sign_claims(F.dev, "JWT", vm, c)), NULL, VOUCH_E_LOGIN_AUDIENCE);
    c = vpt_claims(F.did, F.cred);
    json_object_set_new(c, "exp", json_integer(NOW - VOUCH_LOGIN_SKEW));
    json_object_set_new(c, "iat", json_integer(NOW - 600));
    EXPECT_RESP(with_vpt(sign_claims(F.dev, "JWT", vm, c)), NULL, VOUCH_E_LOGIN_EXPIRED);
    /* credential issuer not trusted; expired; wrong type */
    cred = cred_claims(F.other, DID_WEB "#issuer-9", cred_base(F.did, VOUCH_PRODUCTION_TYPE));
    EXPECT_RESP(with_vpt(sign_claims(F.dev, "JWT", vm, vpt_claims(F.did, cred))), NULL,
                VOUCH_E_LOGIN_ISSUER);
    free(cred);
    cred = issue(F.pf.issuer, "issuer-1", &F.facts, NOW - 2 * YEAR, YEAR);
    EXPECT_RESP(with_vpt(sign_claims(F.dev, "JWT", vm, vpt_claims(F.did, cred))), NULL,
                VOUCH_E_LOGIN_EXPIRED);
    vouch_free(cred);
    cred = cred_claims(F.pf.issuer, "issuer-1", cred_base(F.did, "EmployeeCredential"));
    EXPECT_RESP(with_vpt(sign_claims(F.dev, "JWT", vm, vpt_claims(F.did, cred))), NULL,
                VOUCH_E_LOGIN_CREDENTIAL_TYPE);
    free(cred);
    /* malformed presentations */
    c = vpt_claims(F.did, F.cred);
    json_object_set_new(json_object_get(c, "vp"), "type", json_pack("[s]", "Presentation"));
    EXPECT_RESP(with_vpt(sign_claims(F.dev, "JWT", vm, c)), NULL, VOUCH_E_LOGIN_REQUEST);
    c = vpt_claims(F.did, F.cred);
    json_object_set_new(json_object_get(c, "vp"), "verifiableCredential", json_array());
    EXPECT_RESP(with_vpt(sign_claims(F.dev, "JWT", vm, c)), NULL, VOUCH_E_LOGIN_REQUEST);
    c = vpt_claims(F.did, F.cred);
    json_object_set_new(json_object_get(c, "vp"), "verifiableCredential",
                        json_pack("[{s:s}]", "id", "x"));
    EXPECT_RESP(with_vpt(sign_claims(F.dev, "JWT", vm, c)), NULL, VOUCH_E_LOGIN_REQUEST);
    c = vpt_claims(F.did, F.cred);
    json_object_set_new(c, "extra", json_true());
    EXPECT_RESP(with_vpt(sign_claims(F.dev, "JWT", vm, c)), NULL, VOUCH_E_LOGIN_REQUEST);
    c = vpt_claims(F.did, F.cred);
    json_object_del(c, "vp");
    EXPECT_RESP(with_vpt(sign_claims(F.dev, "JWT", vm, c)), NULL, VOUCH_E_LOGIN_REQUEST);
    EXPECT_RESP(with_vpt(NULL), NULL, VOUCH_E_LOGIN_REQUEST);
    /* alg none as a vp_token */
    EXPECT_RESP(with_vpt(raw_jws(NULL, "{\"alg\":\"none\"}", "{}")), NULL, VOUCH_E_JWS_ALG);
    vouch_free(cred_other);
    vouch_free(vm);
    vouch_free(vm_other);
}

static void test_response_submission(void **state)
{
    vouch_err e;
    char *vm = vm_of(F.did);
    json_t *c;
    char buf[1024];
    static const char *const head = "{\"id\":\"s1\",\"definition_id\":\"" VOUCH_PRODUCTION_DEFINITION_ID
                                    "\",\"descriptor_map\":[";
#define SUB(map) (snprintf(buf, sizeof(buf), "%s%s]}", head, map), buf)
#define NESTED(path)                                                                      \
    "{\"id\":\"" VOUCH_PRODUCTION_DESCRIPTOR_ID "\",\"format\":\"jwt_vp\",\"path\":\"$\","  \
    "\"path_nested\":{\"id\":\"" VOUCH_PRODUCTION_DESCRIPTOR_ID                              \
    "\",\"format\":\"jwt_vc\",\"path\":\"" path "\"}}"

    (void)state;
    vouch_err_clear(&e);
    /* both spellings of the path; the draft-20 format names; the flat form */
    EXPECT_RESP(with_sub(SUB(NESTED("$.verifiableCredential[0]"))), NULL, VOUCH_OK);
    EXPECT_RESP(with_sub(SUB(NESTED("$.vp.verifiableCredential[0]"))), NULL, VOUCH_OK);
    EXPECT_RESP(with_sub(SUB("{\"id\":\"" VOUCH_PRODUCTION_DESCRIPTOR_ID
                             "\",\"format\":\"jwt_vp_json\",\"path\":\"$\",\"path_nested\":{"
                             "\"format\":\"jwt_vc_json\",\"path\":\"$.vp.verifiableCredential[0]"
                             "\"}}")),
                NULL, VOUCH_OK);
    EXPECT_RESP(with_sub(SUB("{\"id\":\"" VOUCH_PRODUCTION_DESCRIPTOR_ID
                             "\",\"format\":\"jwt_vc\",\"path\":\"$.verifiableCredential[0]\"}")),
                NULL, VOUCH_OK);
    /* the second credential of a presentation, by index, both paths */
    c = vpt_claims(F.did, "x.y.z");
    json_array_append_new(json_object_get(json_object_get(c, "vp"), "verifiableCredential"),
                          json_string(F.cred));
    {
        char *vpt = sign_claims(F.dev, "JWT", vm, c);
        resp r = with_sub(SUB(NESTED("$.vp.verifiableCredential[1]")));
        vouch_device_facts f;
        free(r.vp_token);
        r.vp_token = strdup(vpt);
        assert_ok(verify(&r, NULL, &f, &e), e);
        resp_free(&r);
        /* index 0 is the junk one: the credential layer refuses it */
        r = with_sub(SUB(NESTED("$.verifiableCredential[0]")));
        free(r.vp_token);
        r.vp_token = vpt;
        assert_code(verify(&r, NULL, &f, &e), VOUCH_E_B64URL, e);
        resp_free(&r);
    }
    /* mismatches: definition, descriptor, nested id, formats, paths, index */
    EXPECT_RESP(with_sub("{\"id\":\"s1\",\"definition_id\":\"other\",\"descriptor_map\":["
                         NESTED("$.verifiableCredential[0]") "]}"),
                NULL, VOUCH_E_LOGIN_SUBMISSION);
    EXPECT_RESP(with_sub(SUB("{\"id\":\"other\",\"format\":\"jwt_vp\",\"path\":\"$\","
                             "\"path_nested\":{\"format\":\"jwt_vc\",\"path\":"
                             "\"$.verifiableCredential[0]\"}}")),
                NULL, VOUCH_E_LOGIN_SUBMISSION);
    EXPECT_RESP(with_sub(SUB("{\"id\":\"" VOUCH_PRODUCTION_DESCRIPTOR_ID
                             "\",\"format\":\"jwt_vp\",\"path\":\"$\",\"path_nested\":{\"id\":"
                             "\"other\",\"format\":\"jwt_vc\",\"path\":"
                             "\"$.verifiableCredential[0]\"}}")),
                NULL, VOUCH_E_LOGIN_SUBMISSION);
    EXPECT_RESP(with_sub(SUB("{\"id\":\"" VOUCH_PRODUCTION_DESCRIPTOR_ID
                             "\",\"format\":\"ldp_vp\",\"path\":\"$\",\"path_nested\":{"
                             "\"format\":\"jwt_vc\",\"path\":\"$.verifiableCredential[0]\"}}")),
                NULL, VOUCH_E_LOGIN_SUBMISSION);
    EXPECT_RESP(with_sub(SUB("{\"id\":\"" VOUCH_PRODUCTION_DESCRIPTOR_ID
                             "\",\"format\":\"jwt_vp\",\"path\":\"$\",\"path_nested\":{"
                             "\"format\":\"ldp_vc\",\"path\":\"$.verifiableCredential[0]\"}}")),
                NULL, VOUCH_E_LOGIN_SUBMISSION);
    EXPECT_RESP(with_sub(SUB("{\"id\":\"" VOUCH_PRODUCTION_DESCRIPTOR_ID
                             "\",\"format\":\"jwt_vp\",\"path\":\"$.vp\",\"path_nested\":{"
                             "\"format\":\"jwt_vc\",\"path\":\"$.verifiableCredential[0]\"}}")),
                NULL, VOUCH_E_LOGIN_SUBMISSION);
    EXPECT_RESP(with_sub(SUB(NESTED("$.verifiableCredential[1]"))), NULL,
                VOUCH_E_LOGIN_SUBMISSION);
    EXPECT_RESP(with_sub(SUB(NESTED("$.verifiableCredential"))), NULL, VOUCH_E_LOGIN_SUBMISSION);
    EXPECT_RESP(with_sub(SUB(NESTED("$..verifiableCredential[0]"))), NULL,
                VOUCH_E_LOGIN_SUBMISSION);
    EXPECT_RESP(with_sub(SUB(NESTED("$.verifiableCredential[-1]"))), NULL,
                VOUCH_E_LOGIN_SUBMISSION);
    EXPECT_RESP(with_sub(SUB(NESTED("$.verifiableCredential[00]"))), NULL,
                VOUCH_E_LOGIN_SUBMISSION);
    /* two descriptors; none; leftovers at each level */
    EXPECT_RESP(with_sub(SUB(NESTED("$.verifiableCredential[0]") "," NESTED(
                    "$.verifiableCredential[0]"))),
                NULL, VOUCH_E_LOGIN_SUBMISSION);
    EXPECT_RESP(with_sub(SUB("")), NULL, VOUCH_E_LOGIN_SUBMISSION);
    EXPECT_RESP(with_sub("{\"id\":\"s1\",\"definition_id\":\"" VOUCH_PRODUCTION_DEFINITION_ID
                         "\",\"descriptor_map\":[" NESTED("$.verifiableCredential[0]")
                         "],\"x\":1}"),
                NULL, VOUCH_E_LOGIN_SUBMISSION);
    EXPECT_RESP(with_sub(SUB("{\"id\":\"" VOUCH_PRODUCTION_DESCRIPTOR_ID
                             "\",\"format\":\"jwt_vp\",\"path\":\"$\",\"x\":1,\"path_nested\":{"
                             "\"format\":\"jwt_vc\",\"path\":\"$.verifiableCredential[0]\"}}")),
                NULL, VOUCH_E_LOGIN_SUBMISSION);
    EXPECT_RESP(with_sub(SUB("{\"id\":\"" VOUCH_PRODUCTION_DESCRIPTOR_ID
                             "\",\"format\":\"jwt_vp\",\"path\":\"$\",\"path_nested\":{\"x\":1,"
                             "\"format\":\"jwt_vc\",\"path\":\"$.verifiableCredential[0]\"}}")),
                NULL, VOUCH_E_LOGIN_SUBMISSION);
    EXPECT_RESP(with_sub(NULL), NULL, VOUCH_E_LOGIN_SUBMISSION);
    EXPECT_RESP(with_sub("[]"), NULL, VOUCH_E_JSON_TYPE);
    EXPECT_RESP(with_sub("{\"id\":\"s1\",\"id\":\"s2\"}"), NULL, VOUCH_E_JSON_DUPLICATE);
    vouch_free(vm);
#undef SUB
#undef NESTED
}

static void test_response_constraints(void **state)
{
    vouch_authz a;
    vouch_err e;
    const char *cfgs[] = {
        "{\"mode\":\"credential\",\"hardware\":[\"board-b\"]}",
        "{\"mode\":\"credential\",\"production_date_from\":\"2025-11-21\"}",
        "{\"mode\":\"credential\",\"production_date_to\":\"2025-11-19\"}",
        "{\"mode\":\"credential\",\"produced_by\":[\"did:web:example.com#line-1\"]}",
    };
    const char *ok = "{\"mode\":\"credential\",\"hardware\":[\"board-a\"],"
                     "\"production_date_from\":\"2025-11-20\",\"production_date_to\":"
                     "\"2025-11-20\",\"produced_by\":[\"did:web:example.com#line-3\"]}";

    (void)state;
    vouch_err_clear(&e);
    for (size_t i = 0; i < sizeof(cfgs) / sizeof(cfgs[0]); i++) {
        assert_ok(vouch_authz_parse(cfgs[i], strlen(cfgs[i]), &a, &e), e);
        EXPECT_RESP(respond(F.dev, F.cred), &a, VOUCH_E_LOGIN_CONSTRAINT);
    }
    assert_ok(vouch_authz_parse(ok, strlen(ok), &a, &e), e);
    EXPECT_RESP(respond(F.dev, F.cred), &a, VOUCH_OK);
}

static void test_response_build_args(void **state)
{
    vouch_siop_request rq;
    vouch_siop_response out;
    vouch_err e;
    char *ro = request(F.def);

    (void)state;
    vouch_err_clear(&e);
    assert_ok(vouch_siop_request_verify(F.policy, ro, strlen(ro), ORIGIN, NOW, &rq, &e), e);
    /* a presentation is asked: the credential is required */
    assert_code(vouch_siop_response_build(F.dev, NULL, &rq, NOW, &out, &e), VOUCH_E_ARG, e);
    assert_null(out.id_token);
    /* a public key cannot sign */
    {
        vouch_key *pub = NULL;
        assert_ok(vouch_key_public_copy(F.dev, &pub, &e), e);
        assert_code(vouch_siop_response_build(pub, F.cred, &rq, NOW, &out, &e),
                    VOUCH_E_KEY_NOT_PRIVATE, e);
        assert_null(out.id_token);
        vouch_key_free(pub);
    }
    vouch_siop_request_free(&rq);
    vouch_free(ro);
}

/* Every allocation of the whole flow fails in turn: each call either
 * succeeds or says VOUCH_E_NOMEM, and nothing leaks (valgrind, ASan). */
static void test_alloc_failures(void **state)
{
    const char *cfg = "{\"mode\":\"credential\",\"hardware\":[\"board-a\"],"
                      "\"production_date_from\":\"2025-01-01\"}";
    int done = 0;

    (void)state;
    for (long n = 0; !done && n < 100000; n++) {
        vouch_siop_request rq;
        vouch_siop_response rs;
        vouch_device_facts f;
        vouch_authz a;
        json_t *def = NULL;
        char *cred = NULL, *ro = NULL;
        vouch_err e;
        vouch_code rc;

        memset(&rq, 0, sizeof(rq));
        memset(&rs, 0, sizeof(rs));
        vouch_err_clear(&e);
        vouch_alloc_fail_after(n);
        rc = vouch_authz_parse(cfg, strlen(cfg), &a, &e);
        if (rc == VOUCH_OK)
            rc = vouch_authz_definition(&a, &def, &e);
        if (rc == VOUCH_OK)
            rc = vouch_production_issue(F.pf.issuer, DID_WEB, "issuer-1", &F.facts, NOW, YEAR,
                                        &cred, &e);
        if (rc == VOUCH_OK)
            rc = vouch_siop_request_build(F.pf.server, "server-1", &F.lp, def, &ro, &e);
        if (rc == VOUCH_OK)
            rc = vouch_siop_request_verify(F.policy, ro, strlen(ro), ORIGIN, NOW, &rq, &e);
        if (rc == VOUCH_OK)
            rc = vouch_siop_response_build(F.dev, cred, &rq, NOW, &rs, &e);
        if (rc == VOUCH_OK)
            rc = vouch_siop_response_verify(F.policy, &a, &F.lp, rs.id_token,
                                            strlen(rs.id_token), rs.vp_token,
                                            strlen(rs.vp_token), rs.presentation_submission,
                                            strlen(rs.presentation_submission), NOW, &f, &e);
        vouch_alloc_fail_after(-1);
        if (rc == VOUCH_OK)
            done = 1;
        else if (rc != VOUCH_E_NOMEM)
            fail_msg("allocation %ld failing gave %s (%s), want VOUCH_E_NOMEM", n,
                     vouch_code_name(rc), e.msg);
        vouch_siop_response_free(&rs);
        vouch_siop_request_free(&rq);
        vouch_free(ro);
        vouch_free(cred);
        json_decref(def);
    }
    assert_true(done);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_production_roundtrip),
        cmocka_unit_test(test_production_issue_args),
        cmocka_unit_test(test_production_hostile),
        cmocka_unit_test(test_authz_parse),
        cmocka_unit_test(test_authz_definition),
        cmocka_unit_test(test_authz_check),
        cmocka_unit_test(test_request_roundtrip),
        cmocka_unit_test(test_request_template),
        cmocka_unit_test(test_request_build_args),
        cmocka_unit_test(test_request_hostile),
        cmocka_unit_test(test_response_roundtrip),
        cmocka_unit_test(test_response_cached),
        cmocka_unit_test(test_response_id_token),
        cmocka_unit_test(test_response_vp_token),
        cmocka_unit_test(test_response_submission),
        cmocka_unit_test(test_response_constraints),
        cmocka_unit_test(test_response_build_args),
        cmocka_unit_test(test_alloc_failures),
    };

    vouch_json_init();
    return cmocka_run_group_tests_name("siop", tests, setup, teardown);
}
