/*
 * attack_policy.c - THREATS.md class B (thresholds and two-factor) as it
 * applies to the trust policy, plus the policy cases of classes A and C
 * (a token of another kind, no trust root, development keys, expiry,
 * rollback and fast-forward with rotated-out keys).
 *
 * Each scenario plays a device with the file-backed state port
 * (vouch_state_file_open): a fresh device pins a policy only if it verifies
 * as a root of trust; a device holding version N pins a new one only if it
 * verifies as the successor of N. Every test asserts the exact code and
 * that the persisted state (policy.jws, state.json, the directory listing)
 * is byte-for-byte what it was before the hostile input.
 */
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "unit/policy_fixture.h"
#include "vouch/policy.h"
#include "vouch/state.h"

static pfx F;

typedef struct device {
    char *dir;
    vouch_state_port port;
} device;

/* Everything the device persisted, as one string (names and contents). */
static char *snapshot(const device *d)
{
    vouch_buf b;
    DIR *dh = opendir(d->dir);
    struct dirent *e;
    char *names[64];
    int n = 0;

    assert_non_null(dh);
    while ((e = readdir(dh)) != NULL && n < 64)
        if (e->d_name[0] != '.')
            names[n++] = strdup(e->d_name);
    closedir(dh);
    /* readdir order is not stable across writes: sort the names */
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (strcmp(names[i], names[j]) > 0) {
                char *t = names[i];
                names[i] = names[j];
                names[j] = t;
            }
    vouch_buf_init(&b, 1u << 20);
    for (int i = 0; i < n; i++) {
        char path[4096];
        unsigned char *data = NULL;
        size_t len = 0;
        vouch_err e2;

        snprintf(path, sizeof(path), "%s/%s", d->dir, names[i]);
        assert_int_equal(vouch_file_read(path, 1u << 19, &data, &len, &e2), VOUCH_OK);
        assert_int_equal(vouch_buf_printf(&b, "%s:%zu:", names[i], len), VOUCH_OK);
        assert_int_equal(vouch_buf_append(&b, data, len), VOUCH_OK);
        vouch_free(data);
        free(names[i]);
    }
    assert_int_equal(vouch_buf_append(&b, "", 0), VOUCH_OK);
    return (char *)vouch_buf_take(&b, NULL);
}

static void device_open(device *d)
{
    vouch_err e;

    vouch_err_clear(&e);
    d->dir = test_tmpdir();
    assert_ok(vouch_state_file_open(d->dir, &d->port, &e), e);
}

static void device_close(device *d)
{
    vouch_state_file_close(&d->port);
    test_rmtree(d->dir);
    free(d->dir);
    d->dir = NULL;
}

/* What a device does with a policy it is offered: with nothing pinned, it
 * pins a valid root of trust; else it pins a valid successor. */
static vouch_code device_offer(device *d, const char *jws, int64_t now, vouch_err *e)
{
    char *pinned = NULL;
    size_t plen = 0;
    vouch_policy *cur = NULL, *next = NULL;
    vouch_code rc = d->port.read_policy(d->port.ctx, &pinned, &plen, e);

    if (rc == VOUCH_E_POLICY_MISSING)
        rc = vouch_policy_verify_root(jws, strlen(jws), now, &next, e);
    else if (rc == VOUCH_OK && (rc = vouch_policy_verify_pinned(pinned, plen, &cur, e)) == VOUCH_OK)
        rc = vouch_policy_verify_next(cur, jws, strlen(jws), now, &next, e);
    if (rc == VOUCH_OK) {
        size_t n = 0;
        const char *text = vouch_policy_jws(next, &n);
        rc = d->port.write_policy(d->port.ctx, text, n, e);
    }
    vouch_policy_free(cur);
    vouch_policy_free(next);
    vouch_free(pinned);
    return rc;
}

/* A device that pinned version 1 (roots 0,1,2; 2 of 3). */
static void device_with_v1(device *d)
{
    char *v1 = pfx_v1(&F);
    vouch_err e;

    vouch_err_clear(&e);
    device_open(d);
    assert_ok(device_offer(d, v1, PFX_NOW, &e), e);
    vouch_free(v1);
}

/* Offers jws (released) and asserts the exact code and an unchanged state. */
static void expect_refused(device *d, char *jws, int64_t now, vouch_code want)
{
    char *before = snapshot(d), *after;
    vouch_err e;

    vouch_err_clear(&e);
    assert_code(device_offer(d, jws, now, &e), want, e);
    assert_true(e.msg[0] != '\0');
    after = snapshot(d);
    assert_string_equal(before, after);
    vouch_free(before);
    vouch_free(after);
    vouch_free(jws);
}

/* As expect_refused, on a fresh device with nothing pinned. */
static void expect_refused_as_root(char *jws, int64_t now, vouch_code want)
{
    device d;
    char *pinned = NULL;
    size_t n = 0;
    vouch_err e;

    device_open(&d);
    expect_refused(&d, jws, now, want);
    vouch_err_clear(&e);
    assert_code(d.port.read_policy(d.port.ctx, &pinned, &n, &e), VOUCH_E_POLICY_MISSING, e);
    device_close(&d);
}

/* As expect_refused, on a device holding version 1. */
static void expect_refused_as_next(char *jws, int64_t now, vouch_code want)
{
    device d;

    device_with_v1(&d);
    expect_refused(&d, jws, now, want);
    device_close(&d);
}

/* Version 2 with roots 3,4,5 (every root replaced), threshold 2. */
static json_t *v2_all_new(void)
{
    static const int r[] = {3, 4, 5};
    return pfx_doc_roots(&F, 2, r, 3, 2);
}

/* Signs doc (released) by the given keys with the given kids. */
static char *sign_by(json_t *doc, const vouch_key *const *keys, const char *const *kids, size_t n)
{
    char *p = pfx_dump(doc), *out = pfx_sign_text(p, keys, kids, n);

    vouch_free(p);
    json_decref(doc);
    return out;
}

/* A v2 payload mutated by the caller, signed properly by old roots 0,1 and
 * new roots 3,4 (so only the mutation can make it fail). */
static char *v2_signed(json_t *doc)
{
    static const int s[] = {0, 1, 3, 4};
    return pfx_sign_roots(&F, doc, s, 4);
}

/* --- the same signature, the same key ---------------------------------- */

static void attack_policy_same_signature_repeated(void **state)
{
    static const int twice[] = {0, 0};
    (void)state;
    /* a fresh device: one root signature twice is one key, not two */
    expect_refused_as_root(pfx_sign_roots(&F, pfx_doc(&F, 1), twice, 2), PFX_NOW,
                           VOUCH_E_POLICY_SIGNATURES);
}

static void attack_policy_same_signature_repeated_in_rotation(void **state)
{
    const vouch_key *k[] = {F.root[0], F.root[0], F.root[0], F.root[3], F.root[4]};
    const char *kid[] = {"root-1", "root-2", "root-3", "root-4", "root-5"};
    (void)state;
    expect_refused_as_next(sign_by(v2_all_new(), k, kid, 5), PFX_NOW,
                           VOUCH_E_POLICY_SIGNATURES);
}

static void attack_policy_many_copies_of_one_bad_signature(void **state)
{
    const vouch_key *k[VOUCH_JWS_MAX_SIGS];
    const char *kid[VOUCH_JWS_MAX_SIGS];
    vouch_key *rogue = pfx_gen(VOUCH_KEY_P256);
    clock_t t0 = clock();

    (void)state;
    for (unsigned i = 0; i < VOUCH_JWS_MAX_SIGS; i++) {
        k[i] = rogue;
        kid[i] = "root-1";
    }
    expect_refused_as_next(sign_by(v2_all_new(), k, kid, VOUCH_JWS_MAX_SIGS), PFX_NOW,
                           VOUCH_E_POLICY_SIGNATURES);
    /* identical signatures are checked once: far below a second */
    assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 2.0);
    vouch_key_free(rogue);
}

static void attack_policy_one_key_under_two_kids(void **state)
{
    json_t *d = pfx_doc(&F, 2);
    (void)state;
    /* root-1's key listed again as root-4: "3 of 4" would really be 3 of 3 */
    pfx_set(d, "keys.root-4", pfx_jwk(F.root[0]));
    json_array_append_new(json_object_get(json_object_get(json_object_get(d, "roles"), "root"),
                                          "keys"),
                          json_string("root-4"));
    pfx_set(d, "roles.root.threshold", json_integer(3));
    expect_refused_as_next(v2_signed(d), PFX_NOW, VOUCH_E_POLICY_KEY_REUSE);
}

static void attack_policy_one_key_under_two_roles(void **state)
{
    json_t *d = pfx_doc(&F, 2);
    (void)state;
    /* the online server key also listed as a release key */
    pfx_set(d, "roles.release.keys", json_pack("[ss]", "release-1", "server-1"));
    expect_refused_as_next(v2_signed(d), PFX_NOW, VOUCH_E_POLICY_KEY_REUSE);
}

static void attack_policy_one_key_under_two_roles_two_kids(void **state)
{
    json_t *d = pfx_doc(&F, 2);
    (void)state;
    /* the server key under a second kid in the cosign role */
    pfx_set(d, "keys.cosign-1", pfx_jwk(F.server));
    expect_refused_as_next(v2_signed(d), PFX_NOW, VOUCH_E_POLICY_KEY_REUSE);
}

/* --- thresholds ---------------------------------------------------------- */

static void threshold_case(json_t *value)
{
    json_t *d = pfx_doc(&F, 2);
    pfx_set(d, "roles.root.threshold", value);
    expect_refused_as_next(v2_signed(d), PFX_NOW, VOUCH_E_POLICY_THRESHOLD);
}

static void attack_policy_threshold_zero(void **state)
{
    (void)state;
    threshold_case(json_integer(0));
}

static void attack_policy_threshold_negative(void **state)
{
    (void)state;
    threshold_case(json_integer(-1));
}

static void attack_policy_threshold_above_key_count(void **state)
{
    (void)state;
    threshold_case(json_integer(4));
}

static void attack_policy_threshold_fractional(void **state)
{
    (void)state;
    threshold_case(json_real(1.5));
}

static void attack_policy_threshold_string(void **state)
{
    (void)state;
    threshold_case(json_string("2"));
}

static void attack_policy_release_threshold_zero(void **state)
{
    json_t *d = pfx_doc(&F, 2);
    (void)state;
    /* a release role that needs no signature at all */
    pfx_set(d, "roles.release.threshold", json_integer(0));
    expect_refused_as_next(v2_signed(d), PFX_NOW, VOUCH_E_POLICY_THRESHOLD);
}

/* --- keys outside the root role ------------------------------------------ */

static void attack_policy_release_key_counted_as_root(void **state)
{
    const vouch_key *k[] = {F.root[0], F.release};
    const char *kid[] = {"root-1", "root-2"};
    (void)state;
    expect_refused_as_root(sign_by(pfx_doc(&F, 1), k, kid, 2), PFX_NOW,
                           VOUCH_E_POLICY_SIGNATURES);
}

static void attack_policy_server_key_counted_as_root(void **state)
{
    json_t *d = v2_all_new();
    const vouch_key *k[] = {F.root[0], F.server, F.root[3], F.root[4]};
    const char *kid[] = {"root-1", "root-2", "root-4", "root-5"};
    (void)state;
    /* the online server key posing as the second old root */
    expect_refused_as_next(sign_by(d, k, kid, 4), PFX_NOW, VOUCH_E_POLICY_SIGNATURES);
}

static void attack_policy_unknown_key_counted_as_root(void **state)
{
    vouch_key *rogue = pfx_gen(VOUCH_KEY_ED25519);
    const vouch_key *k[] = {F.root[0], rogue};
    const char *kid[] = {"root-1", "root-3"};
    (void)state;
    expect_refused_as_root(sign_by(pfx_doc(&F, 1), k, kid, 2), PFX_NOW,
                           VOUCH_E_POLICY_SIGNATURES);
    vouch_key_free(rogue);
}

/* --- a valid set plus garbage is still valid ------------------------------ */

/* Appends a copy of signature i with one base64url character flipped. */
static char *append_corrupt_copy(const char *jws, size_t i)
{
    json_t *o = json_loads(jws, 0, NULL), *sigs, *s;
    char *sig, *out;

    assert_non_null(o);
    sigs = json_object_get(o, "signatures");
    s = json_deep_copy(json_array_get(sigs, i));
    sig = strdup(json_string_value(json_object_get(s, "signature")));
    sig[5] = sig[5] == 'A' ? 'B' : 'A';
    json_object_set_new(s, "signature", json_string(sig));
    json_array_append_new(sigs, s);
    out = json_dumps(o, JSON_COMPACT);
    free(sig);
    json_decref(o);
    return out;
}

static void attack_policy_valid_set_plus_invalid_signatures(void **state)
{
    static const int s[] = {0, 1, 3, 4};
    vouch_key *rogue = pfx_gen(VOUCH_KEY_P256);
    vouch_jws_sign_opts o = {VOUCH_POLICY_TYP, "root-3", NULL};
    char *v2 = pfx_sign_roots(&F, pfx_doc_roots(&F, 2, s + 1, 3, 2), s, 4), *more = NULL,
         *bad = NULL, *pinned = NULL;
    size_t n = 0;
    device d;
    vouch_err e;

    (void)state;
    vouch_err_clear(&e);
    /* a rogue signature under a root kid, and a copy of a valid one with one
     * flipped bit: both ignored, the valid thresholds stand */
    assert_ok(vouch_jws_general_add(v2, strlen(v2), rogue, &o, &more, &e), e);
    bad = append_corrupt_copy(more, 0);
    device_with_v1(&d);
    assert_ok(device_offer(&d, bad, PFX_NOW, &e), e);
    assert_ok(d.port.read_policy(d.port.ctx, &pinned, &n, &e), e);
    assert_int_equal(n, strlen(bad));
    assert_memory_equal(pinned, bad, n); /* exactly what was verified is pinned */
    vouch_free(pinned);
    device_close(&d);
    vouch_free(v2);
    vouch_free(more);
    vouch_free(bad);
    vouch_key_free(rogue);
}

/* --- rotation ------------------------------------------------------------- */

static void attack_policy_rotation_skips_a_version(void **state)
{
    static const int s[] = {0, 1, 3, 4}, r[] = {1, 3, 4};
    (void)state;
    /* version 3 offered to a device holding 1, signed by old and new roots */
    expect_refused_as_next(pfx_sign_roots(&F, pfx_doc_roots(&F, 3, r, 3, 2), s, 4), PFX_NOW,
                           VOUCH_E_POLICY_VERSION);
}

static void attack_policy_rotation_replays_same_version(void **state)
{
    static const int s[] = {0, 2};
    (void)state;
    expect_refused_as_next(pfx_sign_roots(&F, pfx_doc(&F, 1), s, 2), PFX_NOW,
                           VOUCH_E_POLICY_VERSION);
}

static void attack_policy_rotation_rolls_back(void **state)
{
    static const int s[] = {0, 1, 3, 4}, r[] = {1, 3, 4}, old[] = {0, 2};
    device d;
    char *v2 = pfx_sign_roots(&F, pfx_doc_roots(&F, 2, r, 3, 2), s, 4);
    vouch_err e;

    (void)state;
    vouch_err_clear(&e);
    device_with_v1(&d);
    assert_ok(device_offer(&d, v2, PFX_NOW, &e), e);
    /* a freshly signed version 1 (by keys still trusted) is a rollback */
    expect_refused(&d, pfx_sign_roots(&F, pfx_doc_roots(&F, 1, r, 3, 2), old + 0, 1),
                   PFX_NOW, VOUCH_E_POLICY_SIGNATURES);
    {
        static const int both[] = {1, 3};
        expect_refused(&d, pfx_sign_roots(&F, pfx_doc_roots(&F, 1, r, 3, 2), both, 2),
                       PFX_NOW, VOUCH_E_POLICY_VERSION);
    }
    device_close(&d);
    vouch_free(v2);
}

static void attack_policy_rotation_signed_only_by_old_keys(void **state)
{
    static const int old[] = {0, 1, 2};
    (void)state;
    expect_refused_as_next(pfx_sign_roots(&F, v2_all_new(), old, 3), PFX_NOW,
                           VOUCH_E_POLICY_SIGNATURES);
}

static void attack_policy_rotation_signed_only_by_new_keys(void **state)
{
    static const int fresh[] = {3, 4, 5};
    (void)state;
    /* whoever generates new keys cannot crown them */
    expect_refused_as_next(pfx_sign_roots(&F, v2_all_new(), fresh, 3), PFX_NOW,
                           VOUCH_E_POLICY_SIGNATURES);
}

static void attack_policy_rotation_by_rotated_out_key(void **state)
{
    static const int s[] = {0, 1, 3, 4}, r2[] = {1, 2, 3}, s3[] = {0, 3};
    device d;
    char *v2 = pfx_sign_roots(&F, pfx_doc_roots(&F, 2, r2, 3, 2), s, 4);
    vouch_err e;

    (void)state;
    vouch_err_clear(&e);
    device_with_v1(&d);
    assert_ok(device_offer(&d, v2, PFX_NOW, &e), e);
    /* root 0 was rotated out in version 2: with root 3 it signs a
     * fast-forward version 3 naming itself root again */
    {
        static const int r3[] = {0, 3, 4};
        expect_refused(&d, pfx_sign_roots(&F, pfx_doc_roots(&F, 3, r3, 3, 2), s3, 2), PFX_NOW,
                       VOUCH_E_POLICY_SIGNATURES);
    }
    device_close(&d);
    vouch_free(v2);
}

/* --- time ----------------------------------------------------------------- */

static void attack_policy_expired_policy(void **state)
{
    (void)state;
    expect_refused_as_root(pfx_v1(&F), PFX_T0 + PFX_YEAR, VOUCH_E_POLICY_EXPIRED);
}

static void attack_policy_expired_successor(void **state)
{
    json_t *d = pfx_doc(&F, 2);
    (void)state;
    pfx_set(d, "expires", json_integer(PFX_NOW - 1));
    pfx_set(d, "issued", json_integer(PFX_T0 - 10));
    expect_refused_as_next(v2_signed(d), PFX_NOW, VOUCH_E_POLICY_EXPIRED);
}

/* --- structure and meaning ------------------------------------------------ */

static void attack_policy_unknown_member(void **state)
{
    json_t *d = pfx_doc(&F, 2);
    (void)state;
    /* a member this verifier does not know could mean anything to another */
    pfx_set(d, "allowUnsignedReleases", json_true());
    expect_refused_as_next(v2_signed(d), PFX_NOW, VOUCH_E_POLICY_FORMAT);
}

static void attack_policy_unknown_role(void **state)
{
    json_t *d = pfx_doc(&F, 2);
    (void)state;
    pfx_set(d, "roles.superuser", json_pack("{s:i,s:[s]}", "threshold", 1, "keys", "server-1"));
    pfx_set(d, "roles.server", NULL);
    expect_refused_as_next(v2_signed(d), PFX_NOW, VOUCH_E_POLICY_ROLE);
}

static void attack_policy_release_needs_only_online_key(void **state)
{
    json_t *d = pfx_doc(&F, 2);
    (void)state;
    /* releases made by the co-signer alone: two-factor silently dropped */
    pfx_set(d, "releaseRequires", json_pack("[s]", "cosign"));
    expect_refused_as_next(v2_signed(d), PFX_NOW, VOUCH_E_POLICY_ROLE);
}

static void attack_policy_production_policy_with_dev_key(void **state)
{
    size_t n = 0;
    unsigned char *pem = test_read_data("keys/ed25519-3.pem", &n);
    vouch_key *dev = NULL;
    json_t *d = pfx_doc(&F, 1);
    static const int s[] = {0, 1};
    vouch_err e;

    (void)state;
    vouch_err_clear(&e);
    assert_ok(vouch_key_from_pem((const char *)pem, n, &dev, &e), e);
    pfx_set(d, "keys.cosign-1", pfx_jwk(dev));
    expect_refused_as_root(pfx_sign_roots(&F, d, s, 2), PFX_NOW, VOUCH_E_POLICY_DEV_KEY);
    vouch_key_free(dev);
    vouch_free(pem);
}

static void attack_policy_production_rotation_to_dev_root(void **state)
{
    size_t n = 0;
    unsigned char *pem = test_read_data("keys/p256-1.pem", &n);
    vouch_key *dev = NULL;
    json_t *d = pfx_doc(&F, 2);
    vouch_err e;

    (void)state;
    vouch_err_clear(&e);
    assert_ok(vouch_key_from_pem((const char *)pem, n, &dev, &e), e);
    pfx_set(d, "keys.root-3", pfx_jwk(dev));
    {
        const vouch_key *k[] = {F.root[0], F.root[1], dev};
        const char *kid[] = {"root-1", "root-2", "root-3"};
        expect_refused_as_next(sign_by(d, k, kid, 3), PFX_NOW, VOUCH_E_POLICY_DEV_KEY);
    }
    vouch_key_free(dev);
    vouch_free(pem);
}

static void attack_policy_release_credential_offered_as_policy(void **state)
{
    const vouch_key *k[] = {F.root[0], F.root[1]};
    const char *kid[] = {"root-1", "root-2"};
    json_t *d = pfx_doc(&F, 1);
    char *p = pfx_dump(d);
    (void)state;
    json_decref(d);
    expect_refused_as_root(pfx_sign_text_typ(p, k, kid, 2, "vouch-release+jwt"), PFX_NOW,
                           VOUCH_E_JWS_TYP);
    vouch_free(p);
}

static void attack_policy_oversized(void **state)
{
    char *big = vouch_malloc(VOUCH_POLICY_MAX_BYTES + 2);
    (void)state;
    memset(big, 'A', VOUCH_POLICY_MAX_BYTES + 1);
    big[VOUCH_POLICY_MAX_BYTES + 1] = '\0';
    expect_refused_as_next(big, PFX_NOW, VOUCH_E_JWS_TOO_LARGE);
}

static int setup(void **state)
{
    (void)state;
    vouch_json_init();
    pfx_init(&F);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    pfx_free(&F);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(attack_policy_same_signature_repeated),
        cmocka_unit_test(attack_policy_same_signature_repeated_in_rotation),
        cmocka_unit_test(attack_policy_many_copies_of_one_bad_signature),
        cmocka_unit_test(attack_policy_one_key_under_two_kids),
        cmocka_unit_test(attack_policy_one_key_under_two_roles),
        cmocka_unit_test(attack_policy_one_key_under_two_roles_two_kids),
        cmocka_unit_test(attack_policy_threshold_zero),
        cmocka_unit_test(attack_policy_threshold_negative),
        cmocka_unit_test(attack_policy_threshold_above_key_count),
        cmocka_unit_test(attack_policy_threshold_fractional),
        cmocka_unit_test(attack_policy_threshold_string),
        cmocka_unit_test(attack_policy_release_threshold_zero),
        cmocka_unit_test(attack_policy_release_key_counted_as_root),
        cmocka_unit_test(attack_policy_server_key_counted_as_root),
        cmocka_unit_test(attack_policy_unknown_key_counted_as_root),
        cmocka_unit_test(attack_policy_valid_set_plus_invalid_signatures),
        cmocka_unit_test(attack_policy_rotation_skips_a_version),
        cmocka_unit_test(attack_policy_rotation_replays_same_version),
        cmocka_unit_test(attack_policy_rotation_rolls_back),
        cmocka_unit_test(attack_policy_rotation_signed_only_by_old_keys),
        cmocka_unit_test(attack_policy_rotation_signed_only_by_new_keys),
        cmocka_unit_test(attack_policy_rotation_by_rotated_out_key),
        cmocka_unit_test(attack_policy_expired_policy),
        cmocka_unit_test(attack_policy_expired_successor),
        cmocka_unit_test(attack_policy_unknown_member),
        cmocka_unit_test(attack_policy_unknown_role),
        cmocka_unit_test(attack_policy_release_needs_only_online_key),
        cmocka_unit_test(attack_policy_production_policy_with_dev_key),
        cmocka_unit_test(attack_policy_production_rotation_to_dev_root),
        cmocka_unit_test(attack_policy_release_credential_offered_as_policy),
        cmocka_unit_test(attack_policy_oversized),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
