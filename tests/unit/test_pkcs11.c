/* test_pkcs11.c - mirrors lib/pkcs11.c: the RFC 7512 URI parser (a table
 * of accepted and refused URIs), and keys generated, used and refused in a
 * throwaway SoftHSM2 token. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pkcs11.h"

/* Values fixed by the PKCS#11 standard; the p11-kit header is on the
 * library's include path only. */
#define CKA_TOKEN 0x1UL
#define CKA_SENSITIVE 0x103UL
#define CKA_EXTRACTABLE 0x162UL
#define CKR_PIN_INCORRECT 0xa0UL
#define CKR_VENDOR_DEFINED 0x80000000UL

/* LeakSanitizer (ASan builds only; unused otherwise): SoftHSM2 2.6.1 leaks
 * ~37 bytes inside C_SignInit for each EdDSA signature (see
 * tests/valgrind.supp). vouch__p11_sign allocates nothing itself, so
 * whatever leaks below it is the module's. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:vouch__p11_sign\n"; }
/* libcrypto has no frame pointers: the slow unwinder reaches our frames */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "fast_unwind_on_malloc=0"; }

static char *tmp;        /* the token directory, SOFTHSM2_CONF */
static int have_softhsm; /* module and softhsm2-util installed */
static char module[4200];

/* ------------------------------------------------------------ URI parser */

struct uri_case {
    const char *uri;
    vouch_code want;
};

static const struct uri_case uri_cases[] = {
    {"pkcs11:token=vouch-test;object=dev", VOUCH_OK},
    {"PKCS11:object=dev", VOUCH_OK},
    {"pkcs11:", VOUCH_OK},
    {"pkcs11:token=My%20Token;object=a%2Fb;id=%01%02%ff;type=private", VOUCH_OK},
    {"pkcs11:object=k;serial=DECC0401648;manufacturer=SoftHSM%20project;model=SoftHSM%20v2", VOUCH_OK},
    {"pkcs11:object=k;slot-id=0;slot-description=x;slot-manufacturer=y", VOUCH_OK},
    {"pkcs11:object=k;library-manufacturer=SoftHSM;library-description=d", VOUCH_OK},
    {"pkcs11:object=k;x-vendor=anything;type=public", VOUCH_OK},
    {"pkcs11:object=k?pin-value=1234", VOUCH_OK},
    {"pkcs11:object=k?pin-source=file:/etc/pin&module-path=/usr/lib/softhsm/libsofthsm2.so", VOUCH_OK},
    {"pkcs11:object=k?x-opt=1&pin-value=a%26b", VOUCH_OK},
    {"pkcs11:object=a:b@c!$'()*+,=&", VOUCH_OK},
    {"pkcs11:id=%00", VOUCH_OK},
    /* malformed */
    {"pkcs11", VOUCH_E_KEY_PKCS11_URI},
    {"pkcs12:object=k", VOUCH_E_KEY_PKCS11_URI},
    {"file:/etc/key.pem", VOUCH_E_KEY_PKCS11_URI},
    {"pkcs11:object", VOUCH_E_KEY_PKCS11_URI},
    {"pkcs11:=k", VOUCH_E_KEY_PKCS11_URI},
    {"pkcs11:object=", VOUCH_E_KEY_PKCS11_URI},
    {"pkcs11:object=k;", VOUCH_E_KEY_PKCS11_URI},
    {"pkcs11:object=k;;token=t", VOUCH_E_KEY_PKCS11_URI},
    {"pkcs11:object=k;object=l", VOUCH_E_KEY_PKCS11_URI},
    {"pkcs11:id=%01;id=%02", VOUCH_E_KEY_PKCS11_URI},
    {"pkcs11:object=k;colour=red", VOUCH_E_KEY_PKCS11_URI},
    {"pkcs11:object=k;Object=l", VOUCH_E_KEY_PKCS11_URI},
    {"pkcs11:object=k;library-version=1.0", VOUCH_E_KEY_PKCS11_URI},
    {"pkcs11:object=k;pin-value=1234", VOUCH_E_KEY_PKCS11_URI},
    {"pkcs11:object=k?token=t", VOUCH_E_KEY_PKCS11_URI},
    {"pkcs11:object=k?module-name=softhsm2", VOUCH_E_KEY_PKCS11_URI},
    {"pkcs11:object=k?pin-value=1&pin-source=file:/p", VOUCH_E_KEY_PKCS11_URI},
    {"pkcs11:object=k?pin-value=1&pin-value=2", VOUCH_E_KEY_PKCS11_URI},
    {"pkcs11:object=k?", VOUCH_E_KEY_PKCS11_URI},
    {"pkcs11:object=k?pin-value=1&", VOUCH_E_KEY_PKCS11_URI},
    {"pkcs11:object=k#frag", VOUCH_E_KEY_PKCS11_URI},
    {"pkcs11:object=a b", VOUCH_E_KEY_PKCS11_URI},
    {"pkcs11:object=a/b", VOUCH_E_KEY_PKCS11_URI},
    {"pkcs11:object=a\"b", VOUCH_E_KEY_PKCS11_URI},
    {"pkcs11:object=%", VOUCH_E_KEY_PKCS11_URI},
    {"pkcs11:object=%4", VOUCH_E_KEY_PKCS11_URI},
    {"pkcs11:object=%zz", VOUCH_E_KEY_PKCS11_URI},
    {"pkcs11:object=%00", VOUCH_E_KEY_PKCS11_URI},
    {"pkcs11:object=a%0", VOUCH_E_KEY_PKCS11_URI},
    {"pkcs11:type=secret", VOUCH_E_KEY_PKCS11_URI},
    {"pkcs11:type=private;type=private", VOUCH_E_KEY_PKCS11_URI},
    {"pkcs11:slot-id=abc", VOUCH_E_KEY_PKCS11_URI},
    {"pkcs11:slot-id=-1", VOUCH_E_KEY_PKCS11_URI},
    {"pkcs11:slot-id=99999999999999999999999", VOUCH_E_KEY_PKCS11_URI},
    {"pkcs11:slot-id=", VOUCH_E_KEY_PKCS11_URI},
    {"pkcs11:token=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
     VOUCH_E_KEY_PKCS11_URI},
};

static void test_uri_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(uri_cases) / sizeof(uri_cases[0]); i++) {
        vouch__p11_uri u;
        vouch_err e;
        vouch_code rc;

        vouch_err_clear(&e);
        rc = vouch__p11_uri_parse(uri_cases[i].uri, &u, &e);
        if (rc != uri_cases[i].want)
            fail_msg("case %zu \"%s\": got %s (%s), want %s", i, uri_cases[i].uri,
                     vouch_code_name(rc), e.msg, vouch_code_name(uri_cases[i].want));
        /* a PIN in the URI never reaches the message */
        if (rc != VOUCH_OK)
            assert_null(strstr(e.msg, "1234"));
        vouch__p11_uri_free(&u);
    }
}

static void test_uri_values(void **state)
{
    vouch__p11_uri u;
    vouch_err e;
    char big[VOUCH__P11_MAX_URI + 16];
    (void)state;

    assert_ok(vouch__p11_uri_parse("pkcs11:token=My%20Token;object=a%2fb;id=%01%02%ff;"
                                   "type=private;slot-id=42?pin-value=12%334&module-path=/m.so",
                                   &u, &e),
              e);
    assert_string_equal(u.token, "My Token");
    assert_string_equal(u.object, "a/b");
    assert_true(u.has_id);
    assert_int_equal(u.id_len, 3);
    assert_memory_equal(u.id, "\x01\x02\xff", 3);
    assert_int_equal(u.type, VOUCH__P11_PRIVATE);
    assert_true(u.has_slot_id);
    assert_int_equal(u.slot_id, 42);
    assert_string_equal(u.pin_value, "1234");
    assert_string_equal(u.module_path, "/m.so");
    assert_null(u.serial);
    vouch__p11_uri_free(&u);
    assert_null(u.token);

    /* the cap on the whole URI */
    memcpy(big, "pkcs11:object=", 14);
    memset(big + 14, 'a', sizeof(big) - 15);
    big[sizeof(big) - 1] = '\0';
    assert_code(vouch__p11_uri_parse(big, &u, &e), VOUCH_E_KEY_PKCS11_URI, e);
    assert_code(vouch__p11_uri_parse(NULL, &u, &e), VOUCH_E_ARG, e);
    assert_string_equal(vouch__p11_rv_name(CKR_PIN_INCORRECT), "CKR_PIN_INCORRECT");
    assert_string_equal(vouch__p11_rv_name(CKR_VENDOR_DEFINED + 5), "CKR_VENDOR_DEFINED");
}

/* CKA_EC_POINT with and without its DER OCTET STRING wrapper. */
static void test_ec_point(void **state)
{
    uint8_t in[70], out[65];
    size_t n = 0;
    vouch_err e;
    (void)state;

    memset(in, 0x11, sizeof(in));
    /* P-256 uncompressed: 04 41 04 x y, and bare 04 x y */
    in[0] = 0x04, in[1] = 0x41, in[2] = 0x04;
    assert_ok(vouch__p11_ec_point(in, 67, VOUCH_KEY_P256, out, sizeof(out), &n, &e), e);
    assert_int_equal(n, 65);
    assert_int_equal(out[0], 0x04);
    assert_ok(vouch__p11_ec_point(in + 2, 65, VOUCH_KEY_P256, out, sizeof(out), &n, &e), e);
    assert_int_equal(n, 65);
    /* compressed: 04 21 02 x, and bare 02 x */
    in[0] = 0x04, in[1] = 0x21, in[2] = 0x02;
    assert_ok(vouch__p11_ec_point(in, 35, VOUCH_KEY_P256, out, sizeof(out), &n, &e), e);
    assert_int_equal(n, 33);
    assert_ok(vouch__p11_ec_point(in + 2, 33, VOUCH_KEY_P256, out, sizeof(out), &n, &e), e);
    /* Ed25519: 04 20 k (SoftHSM2 2.6.1), and the bare 32 bytes */
    in[0] = 0x04, in[1] = 0x20;
    assert_ok(vouch__p11_ec_point(in, 34, VOUCH_KEY_ED25519, out, sizeof(out), &n, &e), e);
    assert_int_equal(n, 32);
    assert_memory_equal(out, in + 2, 32);
    assert_ok(vouch__p11_ec_point(in + 2, 32, VOUCH_KEY_ED25519, out, sizeof(out), &n, &e), e);
    assert_int_equal(n, 32);
    /* lengths that are neither */
    assert_code(vouch__p11_ec_point(in, 33, VOUCH_KEY_ED25519, out, sizeof(out), &n, &e),
                VOUCH_E_KEY_POINT, e);
    assert_code(vouch__p11_ec_point(in, 66, VOUCH_KEY_P256, out, sizeof(out), &n, &e),
                VOUCH_E_KEY_POINT, e);
    in[1] = 0x40; /* a wrapper whose length byte lies */
    assert_code(vouch__p11_ec_point(in, 67, VOUCH_KEY_P256, out, sizeof(out), &n, &e),
                VOUCH_E_KEY_POINT, e);
    assert_code(vouch__p11_ec_point(in, 0, VOUCH_KEY_P256, out, sizeof(out), &n, &e),
                VOUCH_E_KEY_POINT, e);
}

/* ------------------------------------------------------------ SoftHSM2 */

static int setup_token(void **state)
{
    char conf[4200], cmd[8600];
    FILE *f;
    const char *m = getenv("VOUCH_PKCS11_MODULE");
    (void)state;

    snprintf(module, sizeof(module), "%s", m && *m ? m : VOUCH__P11_DEFAULT_MODULE);
    if (access(module, R_OK) != 0 || system("command -v softhsm2-util >/dev/null 2>&1") != 0) {
        fprintf(stderr, "test_pkcs11: SoftHSM2 not installed (%s); token tests skipped\n",
                module);
        return 0;
    }
    tmp = test_tmpdir();
    snprintf(conf, sizeof(conf), "%s/tokens", tmp);
    if (mkdir(conf, 0700) != 0)
        return -1;
    snprintf(conf, sizeof(conf), "%s/softhsm2.conf", tmp);
    f = fopen(conf, "w");
    if (!f)
        return -1;
    fprintf(f, "directories.tokendir = %s/tokens\nobjectstore.backend = file\n"
               "log.level = ERROR\nslots.removable = false\n",
            tmp);
    fclose(f);
    setenv("SOFTHSM2_CONF", conf, 1);
    unsetenv("VOUCH_PKCS11_PIN");
    snprintf(cmd, sizeof(cmd),
             "softhsm2-util --init-token --free --label vouch-test --pin 1234 --so-pin 123456 "
             ">%s/init.log 2>&1",
             tmp);
    if (system(cmd) != 0) {
        fprintf(stderr, "test_pkcs11: softhsm2-util --init-token failed\n");
        return -1;
    }
    have_softhsm = 1;
    return 0;
}

static int teardown_token(void **state)
{
    (void)state;
    if (tmp) {
        test_rmtree(tmp);
        free(tmp);
        tmp = NULL;
    }
    return 0;
}

#define TOKEN "pkcs11:token=vouch-test"
#define PIN "?pin-value=1234"

/* vouch_key's PKCS#11 handle is internal; these tests reach it through a
 * second open of the same URI with the internal API. */
static void gen_sign_verify(vouch_key_type t, const char *obj, const char *id)
{
    char uri[512], *pem = NULL;
    vouch_key *k = NULL, *again = NULL, *pub = NULL;
    vouch__p11_key *raw = NULL;
    vouch_key_type rt = VOUCH_KEY_NONE;
    uint8_t sig[64], pubraw[65], kraw[65];
    size_t publen = 0, klen = 0;
    int v = -1;
    vouch_err e;
    const char *m = "signed inside the token";

    snprintf(uri, sizeof(uri), TOKEN ";object=%s%s%s" PIN, obj, id ? ";id=" : "", id ? id : "");
    assert_ok(vouch_key_generate_pkcs11(uri, t, &k, &e), e);
    assert_int_equal(vouch_key_get_type(k), t);
    assert_true(vouch_key_is_pkcs11(k));
    assert_true(vouch_key_has_private(k));
    assert_ok(vouch_key_sign(k, (const uint8_t *)m, strlen(m), sig, &e), e);
    assert_ok(vouch_key_verify(k, (const uint8_t *)m, strlen(m), sig, 64, &e), e);

    /* the exported public key verifies on its own */
    assert_ok(vouch_key_public_pem(k, &pem, &e), e);
    assert_ok(vouch_key_from_pem(pem, strlen(pem), &pub, &e), e);
    assert_false(vouch_key_has_private(pub));
    assert_ok(vouch_key_verify(pub, (const uint8_t *)m, strlen(m), sig, 64, &e), e);
    assert_code(vouch_key_verify(pub, (const uint8_t *)"x", 1, sig, 64, &e),
                VOUCH_E_JWS_BAD_SIGNATURE, e);

    /* a table for the public half (P-256; Ed25519 has none): signing stays
     * in the token, and the verdicts stay those of the plain key */
#ifdef VOUCH_HAVE_P256_TABLE
    assert_ok(vouch_key_precompute(k, &e), e);
#else
    assert_code(vouch_key_precompute(k, &e), t == VOUCH_KEY_P256 ? VOUCH_E_KEY_CRYPTO : VOUCH_OK,
                e);
#endif
    assert_ok(vouch_key_sign(k, (const uint8_t *)m, strlen(m), sig, &e), e);
    assert_ok(vouch_key_verify(k, (const uint8_t *)m, strlen(m), sig, 64, &e), e);
    assert_ok(vouch_key_verify(pub, (const uint8_t *)m, strlen(m), sig, 64, &e), e);
    assert_code(vouch_key_verify(k, (const uint8_t *)"x", 1, sig, 64, &e),
                VOUCH_E_JWS_BAD_SIGNATURE, e);

    /* the same name twice is refused, by label and by id */
    assert_code(vouch_key_generate_pkcs11(uri, t, &again, &e), VOUCH_E_EXISTS, e);
    if (id) {
        char uri2[512];
        snprintf(uri2, sizeof(uri2), TOKEN ";object=%s-other;id=%s" PIN, obj, id);
        assert_code(vouch_key_generate_pkcs11(uri2, t, &again, &e), VOUCH_E_EXISTS, e);
    }
    /* loading by URI finds the same key (by label, and by id alone) */
    assert_ok(vouch_key_load(uri, &again, &e), e);
    assert_true(vouch_key_equal(k, again));
    assert_ok(vouch_key_sign(again, (const uint8_t *)m, strlen(m), sig, &e), e);
    assert_ok(vouch_key_verify(pub, (const uint8_t *)m, strlen(m), sig, 64, &e), e);
    vouch_key_free(again);
    again = NULL;
    if (id) {
        char uri3[512];
        snprintf(uri3, sizeof(uri3), TOKEN ";id=%s" PIN, id);
        assert_ok(vouch_key_load(uri3, &again, &e), e);
        assert_true(vouch_key_equal(k, again));
        vouch_key_free(again);
        again = NULL;
    }

    /* the private key is sensitive, never extractable, and its value unreadable */
    assert_ok(vouch__p11_open(uri, &raw, &rt, pubraw, sizeof(pubraw), &publen, &e), e);
    assert_int_equal(rt, t);
    assert_ok(vouch_key_public_raw(k, kraw, sizeof(kraw), &klen, &e), e);
    assert_ok(vouch__p11_get_bool(raw, CKA_SENSITIVE, &v, &e), e);
    assert_int_equal(v, 1);
    assert_ok(vouch__p11_get_bool(raw, CKA_EXTRACTABLE, &v, &e), e);
    assert_int_equal(v, 0);
    assert_ok(vouch__p11_get_bool(raw, CKA_TOKEN, &v, &e), e);
    assert_int_equal(v, 1);
    assert_code(vouch__p11_try_read_private(raw, &e), VOUCH_E_KEY_PKCS11, e);
    assert_non_null(strstr(e.msg, "CKR_ATTRIBUTE_SENSITIVE"));
    vouch__p11_free(raw);

    /* a token key is written out public only */
    {
        char path[4200];
        snprintf(path, sizeof(path), "%s/%s.pem", tmp, obj);
        assert_code(vouch_key_save_pem(k, path, 0, &e), VOUCH_E_KEY_NOT_PRIVATE, e);
        assert_ok(vouch_key_save_pem(k, path, 1, &e), e);
    }
    vouch_free(pem);
    vouch_key_free(pub);
    vouch_key_free(k);
}

static void test_token_p256(void **state)
{
    (void)state;
    if (!have_softhsm)
        skip();
    gen_sign_verify(VOUCH_KEY_P256, "p256-key", "%a1%b2");
}

static void test_token_ed25519(void **state)
{
    (void)state;
    if (!have_softhsm)
        skip();
    gen_sign_verify(VOUCH_KEY_ED25519, "ed-key", "%c3");
    gen_sign_verify(VOUCH_KEY_ED25519, "ed-key-noid", NULL);
}

static void test_token_errors(void **state)
{
    vouch_key *k = NULL;
    char uri[4600], pinfile[4200];
    FILE *f;
    vouch_err e;
    (void)state;
    if (!have_softhsm)
        skip();

    assert_ok(vouch_key_generate_pkcs11(TOKEN ";object=err-key" PIN, VOUCH_KEY_P256, &k, &e), e);
    vouch_key_free(k);
    k = NULL;
    /* wrong PIN, and the PIN is not in the message */
    assert_code(vouch_key_load(TOKEN ";object=err-key?pin-value=98765", &k, &e),
                VOUCH_E_KEY_PKCS11, e);
    assert_non_null(strstr(e.msg, "CKR_PIN_INCORRECT"));
    assert_null(strstr(e.msg, "98765"));
    /* no PIN anywhere */
    assert_code(vouch_key_load(TOKEN ";object=err-key", &k, &e), VOUCH_E_KEY_PKCS11, e);
    /* $VOUCH_PKCS11_PIN, and a pin-source file */
    setenv("VOUCH_PKCS11_PIN", "1234", 1);
    assert_ok(vouch_key_load(TOKEN ";object=err-key", &k, &e), e);
    vouch_key_free(k);
    k = NULL;
    unsetenv("VOUCH_PKCS11_PIN");
    snprintf(pinfile, sizeof(pinfile), "%s/pin", tmp);
    f = fopen(pinfile, "w");
    assert_non_null(f);
    fputs("1234\n", f);
    fclose(f);
    snprintf(uri, sizeof(uri), TOKEN ";object=err-key?pin-source=file:%s", pinfile);
    assert_ok(vouch_key_load(uri, &k, &e), e);
    vouch_key_free(k);
    k = NULL;
    snprintf(uri, sizeof(uri), TOKEN ";object=err-key?pin-source=file:%s.missing", pinfile);
    assert_code(vouch_key_load(uri, &k, &e), VOUCH_E_NOTFOUND, e);
    /* unknown object, unknown token, an explicit module path */
    assert_code(vouch_key_load(TOKEN ";object=no-such-key" PIN, &k, &e), VOUCH_E_NOTFOUND, e);
    assert_code(vouch_key_load(TOKEN ";id=%ee%ee" PIN, &k, &e), VOUCH_E_NOTFOUND, e);
    assert_code(vouch_key_load("pkcs11:token=no-such-token;object=err-key" PIN, &k, &e),
                VOUCH_E_NOTFOUND, e);
    snprintf(uri, sizeof(uri), TOKEN ";object=err-key" PIN "&module-path=%s", module);
    assert_ok(vouch_key_load(uri, &k, &e), e);
    vouch_key_free(k);
    k = NULL;
    assert_code(vouch_key_load(TOKEN ";object=err-key" PIN "&module-path=/nonexistent/p11.so", &k,
                               &e),
                VOUCH_E_KEY_PKCS11, e);
    /* URIs that name no key, or not a private one */
    assert_code(vouch_key_load(TOKEN PIN, &k, &e), VOUCH_E_KEY_PKCS11_URI, e);
    assert_code(vouch_key_load(TOKEN ";object=err-key;type=public" PIN, &k, &e),
                VOUCH_E_KEY_PKCS11_URI, e);
    assert_code(vouch_key_load("pkcs11:object=err-key;bogus=1" PIN, &k, &e),
                VOUCH_E_KEY_PKCS11_URI, e);
    assert_code(vouch_key_generate_pkcs11(TOKEN ";object=x" PIN, VOUCH_KEY_NONE, &k, &e),
                VOUCH_E_KEY_TYPE, e);
    /* token attributes other than the label */
    assert_ok(vouch_key_load("pkcs11:model=SoftHSM%20v2;object=err-key" PIN, &k, &e), e);
    vouch_key_free(k);
    k = NULL;
    assert_code(vouch_key_load("pkcs11:model=Other;object=err-key" PIN, &k, &e),
                VOUCH_E_NOTFOUND, e);
    assert_null(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uri_table),
        cmocka_unit_test(test_uri_values),
        cmocka_unit_test(test_ec_point),
        cmocka_unit_test(test_token_p256),
        cmocka_unit_test(test_token_ed25519),
        cmocka_unit_test(test_token_errors),
    };
    return cmocka_run_group_tests(tests, setup_token, teardown_token);
}
