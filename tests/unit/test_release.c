/* test_release.c - unit tests of lib/release.c: every payload rule with its
 * exact code, the verification order, the streaming verifier and its .swu
 * parser, signatures on unsigned releases, the trust policy choice, and
 * allocation failure at every allocation. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "unit/release_fixture.h"

static rfx F;
static char *tmp;
static const char image[] = "firmware image bytes: 0123456789abcdef";

static int setup(void **state)
{
    (void)state;
    rfx_init(&F);
    tmp = test_tmpdir();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    rfx_free(&F);
    test_rmtree(tmp);
    free(tmp);
    return 0;
}

static vouch_code verify_text(const char *jws, const vouch_release_check *chk,
                              vouch_release *out, vouch_err *e)
{
    return vouch_release_verify(F.p1, jws, strlen(jws), chk, out, e);
}

static vouch_release_check check_now(void)
{
    vouch_release_check c = {RFX_NOW, "board-a", NULL};
    return c;
}

/* -------------------------------------------------------------- payload */

static void test_payload_roundtrip(void **state)
{
    vouch_release r = rfx_release(image, sizeof(image)), back;
    char *p = rfx_payload(&r);
    vouch_err e;

    (void)state;
    vouch_err_clear(&e);
    assert_ok(vouch_release_parse_payload((const uint8_t *)p, strlen(p), &back, &e), e);
    assert_memory_equal(&back, &r, sizeof(r));
    /* the subject's members, in the header's order */
    assert_non_null(strstr(p, "\"credentialSubject\":{\"id\":\"https://updates.example.com"));
    assert_non_null(strstr(p, "\"securityVersion\":7,\"hardware\":[\"board-a\",\"board-b\"],"
                              "\"format\":\"raw\"}"));
    vouch_free(p);
}

static void test_payload_fresh_jti(void **state)
{
    vouch_release r = rfx_release(image, sizeof(image)), back;
    char *p;
    vouch_err e;

    (void)state;
    vouch_err_clear(&e);
    r.jti[0] = '\0';
    p = rfx_payload(&r);
    assert_ok(vouch_release_parse_payload((const uint8_t *)p, strlen(p), &back, &e), e);
    assert_int_equal(strncmp(back.jti, "urn:uuid:", 9), 0);
    vouch_free(p);
}

static void test_semver(void **state)
{
    static const char *const good[] = {"0.0.0", "1.2.3", "10.20.30", "1.0.0-alpha",
                                       "1.0.0-alpha.1", "1.0.0-0.3.7", "1.0.0-x.7.z.92",
                                       "1.0.0+20130313144700", "1.0.0-beta+exp.sha.5114f85",
                                       "1.0.0-alpha-a.b-c"};
    static const char *const bad[] = {"", "1", "1.2", "1.2.3.4", "01.2.3", "1.02.3", "1.2.03",
                                      "1.2.3-", "1.2.3+", "1.2.3-01", "1.2.3-a..b", "v1.2.3",
                                      "1.2.3 ", "1.2.3-a_b", "1.2.3+a+b", "-1.2.3", "1.2.-3",
                                      "1.2.3-\xc3\xa9"};
    vouch_release r = rfx_release(image, sizeof(image));
    char *p = NULL;
    size_t n;
    vouch_err e;

    (void)state;
    vouch_err_clear(&e);
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        snprintf(r.version, sizeof(r.version), "%s", good[i]);
        assert_ok(vouch_release_payload(&r, &p, &n, &e), e);
        vouch_free(p);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(r.version, sizeof(r.version), "%s", bad[i]);
        assert_code(vouch_release_payload(&r, &p, &n, &e), VOUCH_E_RELEASE_FORMAT, e);
        assert_null(p);
    }
    /* 63 bytes is the most a version may take */
    memset(r.version, '1', sizeof(r.version));
    r.version[0] = '1', r.version[1] = '.', r.version[2] = '2', r.version[3] = '.';
    r.version[62] = '\0';
    assert_ok(vouch_release_payload(&r, &p, &n, &e), e);
    vouch_free(p);
}

static void test_field_rules(void **state)
{
    vouch_release base = rfx_release(image, sizeof(image)), r;
    char *p = NULL;
    size_t n;
    vouch_err e;

    (void)state;
    vouch_err_clear(&e);
#define BAD(stmt)                                                                              \
    do {                                                                                       \
        r = base;                                                                              \
        stmt;                                                                                  \
        assert_code(vouch_release_payload(&r, &p, &n, &e), VOUCH_E_RELEASE_FORMAT, e);         \
    } while (0)
    BAD(snprintf(r.url, sizeof(r.url), "ftp://example.com/a"));
    BAD(snprintf(r.url, sizeof(r.url), "file:///etc/passwd"));
    BAD(snprintf(r.url, sizeof(r.url), "https://"));
    BAD(snprintf(r.url, sizeof(r.url), "https:///path"));
    BAD(snprintf(r.url, sizeof(r.url), "HTTPS://example.com/"));
    BAD(snprintf(r.url, sizeof(r.url), "https://example.com/a b"));
    BAD(memset(r.url, 'a', sizeof(r.url)));
    BAD(r.size = 0);
    BAD(r.size = (1ull << 53));
    BAD(r.security_version = -1);
    BAD(r.security_version = (int64_t)(1ull << 53));
    BAD(r.nhardware = 0);
    BAD(r.nhardware = VOUCH_RELEASE_MAX_HW + 1);
    BAD(snprintf(r.hardware[1], sizeof(r.hardware[1]), "board/a"));
    BAD(snprintf(r.hardware[1], sizeof(r.hardware[1]), "board-a")); /* twice */
    BAD(r.hardware[0][0] = '\0');
    BAD(memset(r.hardware[0], 'a', VOUCH_HW_MAX));
    BAD(r.format = VOUCH_FORMAT_NONE);
    BAD(r.format = VOUCH_FORMAT_SWU);            /* swu without swDescriptionSha256 */
    BAD(r.has_swdesc = 1);                       /* raw with it */
    BAD(snprintf(r.iss, sizeof(r.iss), "https://example.com"));
    BAD(snprintf(r.iss, sizeof(r.iss), "did:we(b:example.com"));
    BAD(snprintf(r.iss, sizeof(r.iss), "did:web:"));
    BAD(r.exp = r.nbf);
    BAD(r.nbf = -1);
    BAD(snprintf(r.jti, sizeof(r.jti), "a b"));
#undef BAD
    r = base;
    r.format = VOUCH_FORMAT_SWU;
    r.has_swdesc = 1;
    assert_ok(vouch_release_payload(&r, &p, &n, &e), e);
    assert_non_null(strstr(p, "\"format\":\"swu\",\"swDescriptionSha256\":\""));
    vouch_free(p);
    r = base;
    r.nhardware = VOUCH_RELEASE_MAX_HW;
    for (size_t i = 0; i < r.nhardware; i++)
        snprintf(r.hardware[i], sizeof(r.hardware[i]), "hw-%zu._x", i);
    assert_ok(vouch_release_payload(&r, &p, &n, &e), e);
    vouch_free(p);
}

/* Payload texts that the parser must refuse with RELEASE_FORMAT. */
static void test_parse_refusals(void **state)
{
    vouch_release r = rfx_release(image, sizeof(image)), out;
    struct {
        const char *member;
        json_t *v;
    } edits[] = {
        {"sha256", json_string("")},
        {"sha256", NULL},
        {"sha256", json_string("ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789")},
        {"sha256", json_string("abcdef0123456789abcdef0123456789abcdef0123456789abcdef012345678")},
        {"sha256", json_integer(0)},
        {"size", json_integer(0)},
        {"size", json_integer(-1)},
        {"size", json_integer(9007199254740992LL)},
        {"size", json_real(1e30)},
        {"size", json_real(5.0)},
        {"size", json_string("5")},
        {"size", NULL},
        {"securityVersion", json_integer(-1)},
        {"securityVersion", json_integer(9007199254740992LL)},
        {"securityVersion", NULL},
        {"version", json_string("1.2")},
        {"hardware", json_array()},
        {"hardware", json_string("board-a")},
        {"hardware", json_pack("[i]", 1)},
        {"format", json_string("zip")},
        {"format", json_string("swu")},
        {"swDescriptionSha256",
         json_string("abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789")},
        {"id", json_string("ftp://example.com/x")},
        {"extra", json_true()},
        {"id", NULL},
    };
    vouch_err e;

    (void)state;
    vouch_err_clear(&e);
    for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
        char *p = rfx_payload_edit(&r, edits[i].member, edits[i].v);
        assert_code(vouch_release_parse_payload((const uint8_t *)p, strlen(p), &out, &e),
                    VOUCH_E_RELEASE_FORMAT, e);
        vouch_free(p);
    }
    /* text-level: numbers no getter ever sees as int, unknown claims, vc */
    {
        char *p = rfx_payload(&r), *q;
        static const struct {
            const char *from, *to;
        } subs[] = {
            {"\"size\":39", "\"size\":9223372036854775808"},
            {"\"size\":39", "\"size\":1e30"},
            {"\"size\":39", "\"size\":-1"},
            {"\"iss\":", "\"aud\":\"x\",\"iss\":"},
            {"\"VerifiableFirmwareUpdate\"", "\"ProductionCredential\""},
            {"\"https://vouch.dev/ns/firmware/v1\"", "\"https://example.com/x\""},
            {"\"sub\":\"https://", "\"sub\":\"http://"},
            {"{\"iss\"", "[{\"iss\""},
            {"did:web:example.com", "did:weap(mbe:le.com"}, /* found by fuzz_release */
        };
        for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
            q = rfx_replace(p, subs[i].from, subs[i].to);
            assert_code(vouch_release_parse_payload((const uint8_t *)q, strlen(q), &out, &e),
                        VOUCH_E_RELEASE_FORMAT, e);
            vouch_free(q);
        }
        assert_code(vouch_release_parse_payload((const uint8_t *)p, 0, &out, &e),
                    VOUCH_E_RELEASE_FORMAT, e);
        vouch_free(p);
    }
}

/* ---------------------------------------------------------------- names */

static void test_check_name(void **state)
{
    static const char *const good[] = {"sw-description", "rootfs.ext4", "a/b/c", "a..b",
                                       "..a", "a/.../b", ".hidden"};
    static const struct {
        const char *name;
        size_t len;
    } bad[] = {{"", 0},          {"/etc/passwd", 11}, {"..", 2},        {"../x", 4},
               {"a/../b", 6},    {"a/..", 4},         {"a\0b", 3},      {"a\\b", 3},
               {"%2e%2e/x", 8},  {"a%2Fb", 5},        {"a//b", 4},      {"a/", 2},
               {"a\nb", 3},      {"a\x7f", 2}};
    char longname[300];
    vouch_err e;

    (void)state;
    vouch_err_clear(&e);
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_ok(vouch_release_check_name(good[i], strlen(good[i]), &e), e);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_code(vouch_release_check_name(bad[i].name, bad[i].len, &e), VOUCH_E_RELEASE_NAME,
                    e);
    memset(longname, 'a', sizeof(longname));
    assert_ok(vouch_release_check_name(longname, 255, &e), e);
    assert_code(vouch_release_check_name(longname, 256, &e), VOUCH_E_RELEASE_NAME, e);
    assert_code(vouch_release_check_name(NULL, 3, &e), VOUCH_E_RELEASE_NAME, e);
}

/* ------------------------------------------------------------ the verifier */

static void test_image_verifier(void **state)
{
    vouch_release r = rfx_release(image, sizeof(image));
    vouch_image_verifier v;
    vouch_err e;

    (void)state;
    vouch_err_clear(&e);
    /* exact: fed one byte at a time */
    assert_ok(vouch_image_verify_init(&v, &r, &e), e);
    for (size_t i = 0; i < sizeof(image); i++)
        assert_ok(vouch_image_verify_update(&v, (const uint8_t *)image + i, 1, &e), e);
    assert_ok(vouch_image_verify_final(&v, &e), e);
    vouch_image_verify_cleanup(&v);
    /* shorter */
    assert_ok(vouch_image_verify_init(&v, &r, &e), e);
    assert_ok(vouch_image_verify_update(&v, (const uint8_t *)image, sizeof(image) - 1, &e), e);
    assert_code(vouch_image_verify_final(&v, &e), VOUCH_E_RELEASE_SIZE, e);
    vouch_image_verify_cleanup(&v);
    /* longer: refused as the extra byte arrives, and it stays refused */
    assert_ok(vouch_image_verify_init(&v, &r, &e), e);
    assert_ok(vouch_image_verify_update(&v, (const uint8_t *)image, sizeof(image), &e), e);
    assert_code(vouch_image_verify_update(&v, (const uint8_t *)"x", 1, &e), VOUCH_E_RELEASE_SIZE,
                e);
    assert_code(vouch_image_verify_final(&v, &e), VOUCH_E_RELEASE_SIZE, e);
    vouch_image_verify_cleanup(&v);
    vouch_image_verify_cleanup(&v); /* twice is fine */
    /* one bit flipped */
    r.sha256[31] ^= 1;
    assert_ok(vouch_image_verify_init(&v, &r, &e), e);
    assert_ok(vouch_image_verify_update(&v, (const uint8_t *)image, sizeof(image), &e), e);
    assert_code(vouch_image_verify_final(&v, &e), VOUCH_E_RELEASE_DIGEST, e);
    vouch_image_verify_cleanup(&v);
    /* a size no release can have */
    r.size = 0;
    assert_code(vouch_image_verify_init(&v, &r, &e), VOUCH_E_ARG, e);
}

static void test_image_fd_stops_at_size_plus_one(void **state)
{
    char path[4096];
    unsigned char big[20000];
    uint8_t buf[4096];
    vouch_release r;
    int fd;
    vouch_err e;

    (void)state;
    vouch_err_clear(&e);
    memset(big, 0x5a, sizeof(big));
    snprintf(path, sizeof(path), "%s/long.img", tmp);
    rfx_write(path, big, sizeof(big));
    r = rfx_release(big, 10000);
    fd = open(path, O_RDONLY);
    assert_code(vouch_image_verify_fd(&r, fd, buf, sizeof(buf), &e), VOUCH_E_RELEASE_SIZE, e);
    /* not one byte more than size+1 was read */
    assert_int_equal(lseek(fd, 0, SEEK_CUR), 10001);
    close(fd);
    r = rfx_release(big, sizeof(big));
    fd = open(path, O_RDONLY);
    assert_ok(vouch_image_verify_fd(&r, fd, buf, sizeof(buf), &e), e);
    assert_code(vouch_image_verify_fd(&r, fd, buf, 100, &e), VOUCH_E_ARG, e);
    close(fd);
}

static void test_copy_fd(void **state)
{
    char in[4096], out[4096];
    uint8_t buf[4096];
    unsigned char *copy = NULL;
    size_t n = 0;
    vouch_release r = rfx_release(image, sizeof(image));
    int ifd, ofd;
    vouch_err e;

    (void)state;
    vouch_err_clear(&e);
    snprintf(in, sizeof(in), "%s/in.img", tmp);
    snprintf(out, sizeof(out), "%s/slot.img", tmp);
    rfx_write(in, image, sizeof(image));
    ifd = open(in, O_RDONLY);
    ofd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_ok(vouch_image_copy_fd(&r, ifd, ofd, buf, sizeof(buf), &e), e);
    close(ifd);
    close(ofd);
    assert_ok(vouch_file_read(out, 4096, &copy, &n, &e), e);
    assert_int_equal(n, sizeof(image));
    assert_memory_equal(copy, image, n);
    vouch_free(copy);
    assert_code(vouch_image_copy_fd(&r, 0, -1, buf, sizeof(buf), &e), VOUCH_E_ARG, e);
}

/* ---------------------------------------------------------------- .swu */

static void test_swu_parser(void **state)
{
    static const char swd[] = "software = { version = \"1.4.2\"; };\n";
    unsigned char *a;
    size_t n;
    uint64_t off = 0, size = 0;
    vouch_buf b;
    vouch_err e;
    unsigned sum = 0;

    (void)state;
    vouch_err_clear(&e);
    a = rfx_swu(swd, "payload", &n);
    assert_ok(vouch_swu_first_entry(a, n, &off, &size, &e), e);
    assert_int_equal(off, 128); /* 110 + 15 + 3 bytes of padding */
    assert_int_equal(size, strlen(swd));
    assert_memory_equal(a + off, swd, size);
    /* truncated anywhere inside the first entry */
    for (size_t cut = 0; cut < off + size; cut += 7)
        assert_code(vouch_swu_first_entry(a, cut, &off, &size, &e), VOUCH_E_RELEASE_SWU, e);
#define MUTATE(at, byte)                                                                       \
    do {                                                                                       \
        unsigned char save = a[at];                                                            \
        a[at] = (byte);                                                                        \
        assert_code(vouch_swu_first_entry(a, n, &off, &size, &e), VOUCH_E_RELEASE_SWU, e);     \
        a[at] = save;                                                                          \
    } while (0)
    MUTATE(5, '7');         /* magic 070707 (old ASCII) */
    MUTATE(6, 'g');         /* ino not hex */
    MUTATE(18, '4');        /* mode: 0100644 -> 0040644 is a directory */
    MUTATE(54, 'F');        /* filesize huge: past the image */
    MUTATE(98, '1');        /* namesize 0x100F: past the name cap */
    MUTATE(100, '1');       /* namesize 0x1F: the NUL is inside the name */
    MUTATE(102 + 7, '1');   /* newc check field must be zero */
    MUTATE(110, 'S');       /* name "Sw-description" */
    MUTATE(124, 'x');       /* name's NUL */
    MUTATE(125, 1);         /* name padding not zero */
#undef MUTATE
    vouch_free(a);
    /* other first entries */
    vouch_buf_init(&b, 1u << 20);
    rfx_cpio_entry(&b, "070701", "../sw-description", swd, strlen(swd), 0);
    a = vouch_buf_take(&b, &n);
    assert_code(vouch_swu_first_entry(a, n, &off, &size, &e), VOUCH_E_RELEASE_SWU, e);
    vouch_free(a);
    vouch_buf_init(&b, 1u << 20);
    rfx_cpio_entry(&b, "070701", "rootfs.img", swd, strlen(swd), 0);
    a = vouch_buf_take(&b, &n);
    assert_code(vouch_swu_first_entry(a, n, &off, &size, &e), VOUCH_E_RELEASE_SWU, e);
    vouch_free(a);
    vouch_buf_init(&b, 1u << 20);
    rfx_cpio_entry(&b, "070701", "sw-description", "", 0, 0);
    a = vouch_buf_take(&b, &n);
    assert_code(vouch_swu_first_entry(a, n, &off, &size, &e), VOUCH_E_RELEASE_SWU, e);
    vouch_free(a);
    /* the "crc" format, with its byte-sum checksum right and wrong */
    for (size_t i = 0; i < strlen(swd); i++)
        sum += (unsigned char)swd[i];
    vouch_buf_init(&b, 1u << 20);
    rfx_cpio_entry(&b, "070702", "sw-description", swd, strlen(swd), sum);
    a = vouch_buf_take(&b, &n);
    assert_ok(vouch_swu_first_entry(a, n, &off, &size, &e), e);
    vouch_free(a);
    vouch_buf_init(&b, 1u << 20);
    rfx_cpio_entry(&b, "070702", "sw-description", swd, strlen(swd), sum + 1);
    a = vouch_buf_take(&b, &n);
    assert_code(vouch_swu_first_entry(a, n, &off, &size, &e), VOUCH_E_RELEASE_SWU, e);
    vouch_free(a);
}

static void test_describe_and_verify_swu(void **state)
{
    static const char swd[] = "software = { version = \"1.4.2\"; };\n";
    char path[4096], swdpath[4096];
    unsigned char *a;
    size_t n;
    vouch_release r = rfx_release(image, sizeof(image)), d;
    uint8_t want[32], buf[8192];
    char *jws;
    int fd;
    vouch_err e;
    vouch_release_check chk = check_now();

    (void)state;
    vouch_err_clear(&e);
    a = rfx_swu(swd, "payload bytes", &n);
    snprintf(path, sizeof(path), "%s/image.swu", tmp);
    rfx_write(path, a, n);
    memset(&d, 0, sizeof(d));
    assert_ok(vouch_release_describe_image(path, VOUCH_FORMAT_SWU, &d, &e), e);
    rfx_sha256(swd, strlen(swd), want);
    assert_memory_equal(d.swdesc_sha256, want, 32);
    assert_int_equal(d.size, n);
    assert_true(d.has_swdesc);
    /* a raw image named .swu: describing it as swu fails */
    snprintf(swdpath, sizeof(swdpath), "%s/raw.img", tmp);
    rfx_write(swdpath, image, sizeof(image));
    assert_code(vouch_release_describe_image(swdpath, VOUCH_FORMAT_SWU, &d, &e),
                VOUCH_E_RELEASE_SWU, e);
    assert_code(vouch_release_describe_image(tmp, VOUCH_FORMAT_RAW, &d, &e), VOUCH_E_IO, e);
    /* the full credential: image and the extracted sw-description */
    memset(&d, 0, sizeof(d));
    assert_ok(vouch_release_describe_image(path, VOUCH_FORMAT_SWU, &d, &e), e);
    memcpy(r.sha256, d.sha256, 32);
    r.size = d.size;
    r.format = VOUCH_FORMAT_SWU;
    r.has_swdesc = 1;
    memcpy(r.swdesc_sha256, d.swdesc_sha256, 32);
    jws = rfx_signed(&F, &r);
    assert_ok(vouch_release_verify_image_file(F.p1, jws, strlen(jws), &chk, path, &d, &e), e);
    snprintf(swdpath, sizeof(swdpath), "%s/sw-description", tmp);
    rfx_write(swdpath, swd, strlen(swd));
    assert_ok(vouch_release_check_swdesc(&d, swdpath, &e), e);
    rfx_write(swdpath, swd, strlen(swd) - 1);
    assert_code(vouch_release_check_swdesc(&d, swdpath, &e), VOUCH_E_RELEASE_SWDESC, e);
    unlink(swdpath);
    assert_code(vouch_release_check_swdesc(&d, swdpath, &e), VOUCH_E_NOTFOUND, e);
    /* the archive's sw-description must match the signed one too, even if
     * the vendor signed a whole-image digest over a different archive */
    r.swdesc_sha256[0] ^= 1;
    fd = open(path, O_RDONLY);
    assert_code(vouch_image_verify_fd(&r, fd, buf, sizeof(buf), &e), VOUCH_E_RELEASE_SWDESC, e);
    close(fd);
    r.format = VOUCH_FORMAT_RAW;
    r.has_swdesc = 0;
    assert_code(vouch_release_check_swdesc(&r, path, &e), VOUCH_E_RELEASE_SWDESC, e);
    vouch_free(jws);
    vouch_free(a);
}

/* --------------------------------------------------------- verification */

static void test_verify_ok(void **state)
{
    vouch_release r = rfx_release(image, sizeof(image)), out;
    vouch_release_check chk = check_now();
    vouch_device_state st;
    char *jws = rfx_signed(&F, &r);
    vouch_err e;

    (void)state;
    vouch_err_clear(&e);
    assert_ok(verify_text(jws, &chk, &out, &e), e);
    assert_memory_equal(&out, &r, sizeof(r));
    /* floor equal to securityVersion, the same release committed: fine */
    memset(&st, 0, sizeof(st));
    st.floor = 7;
    st.has_committed = 1;
    snprintf(st.version, sizeof(st.version), "1.4.2");
    memcpy(st.digest, r.sha256, 32);
    chk.state = &st;
    assert_ok(verify_text(jws, &chk, &out, &e), e);
    chk.hardware = NULL; /* not checked */
    assert_ok(verify_text(jws, &chk, NULL, &e), e);
    vouch_free(jws);
}

static void test_verify_each_step(void **state)
{
    vouch_release r = rfx_release(image, sizeof(image)), out;
    vouch_release_check chk = check_now();
    vouch_device_state st;
    char *jws = rfx_signed(&F, &r), *p, *bad;
    const vouch_key *only_rel[] = {F.release}, *with_server[] = {F.server, F.cosign};
    vouch_err e;

    (void)state;
    vouch_err_clear(&e);
    /* 1. cap */
    {
        size_t big = VOUCH_RELEASE_MAX_BYTES + 1;
        char *huge = vouch_malloc(big + 1);
        memset(huge, ' ', big);
        huge[big] = '\0';
        assert_code(vouch_release_verify(F.p1, huge, big, &chk, &out, &e), VOUCH_E_JWS_TOO_LARGE,
                    e);
        vouch_free(huge);
    }
    /* 2. structure */
    assert_code(verify_text("{}", &chk, &out, &e), VOUCH_E_JWS_HEADER, e);
    assert_code(verify_text("a.b", &chk, &out, &e), VOUCH_E_JWS_FORMAT, e);
    /* the unsigned form is a release without signatures */
    p = rfx_payload(&r);
    assert_ok(vouch_release_unsigned((const uint8_t *)p, strlen(p), &bad, &e), e);
    assert_code(verify_text(bad, &chk, &out, &e), VOUCH_E_RELEASE_SIGNATURES, e);
    vouch_free(bad);
    /* 3. typ */
    {
        const vouch_key *k[] = {F.release, F.cosign};
        bad = rfx_sign_typ(p, k, 2, VOUCH_POLICY_TYP);
        assert_code(verify_text(bad, &chk, &out, &e), VOUCH_E_JWS_TYP, e);
        vouch_free(bad);
        bad = rfx_sign_typ(p, k, 2, "application/VOUCH-RELEASE+JWT");
        assert_ok(verify_text(bad, &chk, &out, &e), e);
        vouch_free(bad);
        bad = rfx_sign_typ(p, k, 2, NULL);
        assert_code(verify_text(bad, &chk, &out, &e), VOUCH_E_JWS_TYP, e);
        vouch_free(bad);
    }
    /* 4. signatures */
    bad = rfx_sign(p, only_rel, 1);
    assert_code(verify_text(bad, &chk, &out, &e), VOUCH_E_RELEASE_SIGNATURES, e);
    vouch_free(bad);
    bad = rfx_sign(p, with_server, 2);
    assert_code(verify_text(bad, &chk, &out, &e), VOUCH_E_RELEASE_SIGNATURES, e);
    vouch_free(bad);
    assert_code(vouch_release_verify(NULL, jws, strlen(jws), &chk, &out, &e),
                VOUCH_E_POLICY_MISSING, e);
    vouch_free(p);
    /* 5. payload, signed but malformed */
    {
        const vouch_key *k[] = {F.release, F.cosign};
        p = rfx_payload_edit(&r, "extra", json_true());
        bad = rfx_sign(p, k, 2);
        assert_code(verify_text(bad, &chk, &out, &e), VOUCH_E_RELEASE_FORMAT, e);
        vouch_free(bad);
        vouch_free(p);
        bad = rfx_sign("[1,2]", k, 2);
        assert_code(verify_text(bad, &chk, &out, &e), VOUCH_E_RELEASE_FORMAT, e);
        vouch_free(bad);
    }
    /* 6. issuer; 7. time (an issuer mismatch wins over expiry: order) */
    {
        vouch_release o = r;
        snprintf(o.iss, sizeof(o.iss), "did:web:other.example");
        o.exp = RFX_T0 + 1;
        bad = rfx_signed(&F, &o);
        assert_code(verify_text(bad, &chk, &out, &e), VOUCH_E_VC_ISSUER, e);
        vouch_free(bad);
        o = r;
        o.exp = RFX_NOW; /* now >= exp */
        snprintf(o.hardware[0], sizeof(o.hardware[0]), "board-z");
        snprintf(o.hardware[1], sizeof(o.hardware[1]), "board-y");
        bad = rfx_signed(&F, &o);
        assert_code(verify_text(bad, &chk, &out, &e), VOUCH_E_RELEASE_EXPIRED, e);
        vouch_free(bad);
        o = r;
        o.nbf = RFX_NOW + 1;
        bad = rfx_signed(&F, &o);
        assert_code(verify_text(bad, &chk, &out, &e), VOUCH_E_RELEASE_NOT_YET_VALID, e);
        vouch_free(bad);
    }
    /* 8. hardware */
    chk.hardware = "board-c";
    assert_code(verify_text(jws, &chk, &out, &e), VOUCH_E_RELEASE_HARDWARE, e);
    chk.hardware = "board-a";
    /* 9. floor, then the committed version */
    memset(&st, 0, sizeof(st));
    st.floor = 8;
    chk.state = &st;
    assert_code(verify_text(jws, &chk, &out, &e), VOUCH_E_RELEASE_ROLLBACK, e);
    st.floor = 7;
    st.has_committed = 1;
    snprintf(st.version, sizeof(st.version), "1.4.2");
    assert_code(verify_text(jws, &chk, &out, &e), VOUCH_E_RELEASE_SAME_VERSION, e);
    /* nothing was filled in on failure */
    assert_int_equal(out.size, 0);
    vouch_free(jws);
}

static void test_verify_extra_invalid_signature_ignored(void **state)
{
    vouch_release r = rfx_release(image, sizeof(image));
    vouch_release_check chk = check_now();
    const vouch_key *k[] = {F.server, F.release, F.issuer, F.cosign, F.root[0]};
    char *p = rfx_payload(&r), *jws = rfx_sign(p, k, 5);
    vouch_err e;

    (void)state;
    vouch_err_clear(&e);
    assert_ok(verify_text(jws, &chk, NULL, &e), e);
    vouch_free(jws);
    vouch_free(p);
}

static void test_verify_image_file(void **state)
{
    char path[4096];
    vouch_release r = rfx_release(image, sizeof(image)), out;
    vouch_release_check chk = check_now();
    char *jws = rfx_signed(&F, &r);
    vouch_err e;

    (void)state;
    vouch_err_clear(&e);
    snprintf(path, sizeof(path), "%s/fw.img", tmp);
    rfx_write(path, image, sizeof(image));
    assert_ok(vouch_release_verify_image_file(F.p1, jws, strlen(jws), &chk, path, &out, &e), e);
    rfx_write(path, "firmware image bytes: 0123456789abcdeF", sizeof(image));
    assert_code(vouch_release_verify_image_file(F.p1, jws, strlen(jws), &chk, path, &out, &e),
                VOUCH_E_RELEASE_DIGEST, e);
    unlink(path);
    assert_code(vouch_release_verify_image_file(F.p1, jws, strlen(jws), &chk, path, &out, &e),
                VOUCH_E_NOTFOUND, e);
    vouch_free(jws);
}

/* ---------------------------------------------------------- signatures */

static void test_add_signature(void **state)
{
    vouch_release r = rfx_release(image, sizeof(image)), back;
    vouch_release_check chk = check_now();
    char *p = rfx_payload(&r), *u = NULL, *one = NULL, *two = NULL, *dup = NULL;
    size_t nsigs = 9;
    vouch_jws *j = NULL;
    vouch_err e;

    (void)state;
    vouch_err_clear(&e);
    assert_ok(vouch_release_unsigned((const uint8_t *)p, strlen(p), &u, &e), e);
    assert_ok(vouch_release_read_unverified(u, strlen(u), &back, &nsigs, &e), e);
    assert_int_equal(nsigs, 0);
    assert_string_equal(back.version, "1.4.2");
    assert_ok(vouch_release_add_signature(u, strlen(u), F.release, "did:web:example.com#release-1",
                                          &one, &e),
              e);
    assert_code(verify_text(one, &chk, NULL, &e), VOUCH_E_RELEASE_SIGNATURES, e);
    assert_ok(vouch_release_add_signature(one, strlen(one), F.cosign, NULL, &two, &e), e);
    assert_ok(verify_text(two, &chk, NULL, &e), e);
    assert_ok(vouch_release_read_unverified(two, strlen(two), &back, &nsigs, &e), e);
    assert_int_equal(nsigs, 2);
    assert_ok(vouch_jws_parse(two, strlen(two), &j, &e), e);
    assert_string_equal(j->sigs[0].kid, "did:web:example.com#release-1");
    assert_string_equal(j->sigs[0].typ, VOUCH_RELEASE_TYP);
    vouch_jws_free(j);
    /* the same key again: refused, not counted twice */
    assert_code(vouch_release_add_signature(two, strlen(two), F.release, NULL, &dup, &e),
                VOUCH_E_EXISTS, e);
    assert_null(dup);
    /* nothing malformed is ever signed */
    vouch_free(u);
    assert_ok(vouch_release_unsigned((const uint8_t *)"{}", 2, &u, &e), e);
    assert_code(vouch_release_add_signature(u, strlen(u), F.release, NULL, &dup, &e),
                VOUCH_E_RELEASE_FORMAT, e);
    assert_code(vouch_release_add_signature("{\"payload\":\"e30\",\"signatures\":{}}", 33,
                                            F.release, NULL, &dup, &e),
                VOUCH_E_JWS_FORMAT, e);
    assert_code(vouch_release_read_unverified("nope", 4, &back, &nsigs, &e), VOUCH_E_JWS_FORMAT,
                e);
    vouch_free(u);
    vouch_free(one);
    vouch_free(two);
    vouch_free(p);
}

/* -------------------------------------------------------- trust policy */

static void test_trust_policy(void **state)
{
    char dir[4096], path[4200];
    vouch_state_port port;
    vouch_policy *p = NULL;
    char *v2 = rfx_policy_v2(&F);
    int is_new = -1;
    vouch_err e;

    (void)state;
    vouch_err_clear(&e);
    snprintf(dir, sizeof(dir), "%s/state-tp", tmp);
    assert_ok(vouch_state_file_open(dir, &port, &e), e);
    assert_code(vouch_release_trust_policy(NULL, NULL, 0, RFX_NOW, &p, &is_new, &e),
                VOUCH_E_POLICY_MISSING, e);
    assert_code(vouch_release_trust_policy(&port, NULL, 0, RFX_NOW, &p, &is_new, &e),
                VOUCH_E_POLICY_MISSING, e);
    /* nothing pinned: the given one as root, new */
    assert_ok(vouch_release_trust_policy(&port, F.v1, strlen(F.v1), RFX_NOW, &p, &is_new, &e), e);
    assert_int_equal(is_new, 1);
    assert_int_equal(vouch_policy_version(p), 1);
    vouch_policy_free(p);
    /* v2 straight away is not a root (its roots signed it, so it is!) but a
     * device that pinned v1 must take it only as v1's successor */
    assert_ok(port.write_policy(port.ctx, F.v1, strlen(F.v1), &e), e);
    assert_ok(vouch_release_trust_policy(&port, NULL, 0, RFX_NOW, &p, &is_new, &e), e);
    assert_int_equal(is_new, 0);
    vouch_policy_free(p);
    assert_ok(vouch_release_trust_policy(&port, F.v1, strlen(F.v1), RFX_NOW, &p, &is_new, &e), e);
    assert_int_equal(is_new, 0);
    vouch_policy_free(p);
    assert_ok(vouch_release_trust_policy(&port, v2, strlen(v2), RFX_NOW, &p, &is_new, &e), e);
    assert_int_equal(is_new, 1);
    assert_int_equal(vouch_policy_version(p), 2);
    vouch_policy_free(p);
    /* pinned v2: v1 is a downgrade */
    assert_ok(port.write_policy(port.ctx, v2, strlen(v2), &e), e);
    assert_code(vouch_release_trust_policy(&port, F.v1, strlen(F.v1), RFX_NOW, &p, &is_new, &e),
                VOUCH_E_POLICY_SIGNATURES, e);
    assert_null(p);
    /* a pinned file that no longer verifies is a broken state */
    snprintf(path, sizeof(path), "%s/policy.jws", dir);
    rfx_write(path, "garbage", 7);
    assert_code(vouch_release_trust_policy(&port, v2, strlen(v2), RFX_NOW, &p, &is_new, &e),
                VOUCH_E_STATE, e);
    assert_code(vouch_release_trust_policy(&port, NULL, 0, RFX_NOW, &p, &is_new, &e),
                VOUCH_E_JWS_FORMAT, e);
    vouch_state_file_close(&port);
    vouch_free(v2);
}

/* ------------------------------------------------- allocation failures */

/* Runs fn with the Nth allocation failing, for every N, until it passes:
 * every failure must be VOUCH_E_NOMEM (never a crash, a leak, or another
 * code that would hide the cause). */
#define ALLOC_LOOP(call)                                                                       \
    do {                                                                                       \
        vouch_code rc__;                                                                       \
        long n__ = 0;                                                                          \
        for (;; n__++) {                                                                       \
            vouch_alloc_fail_after(n__);                                                       \
            rc__ = (call);                                                                     \
            vouch_alloc_fail_after(-1);                                                        \
            if (rc__ == VOUCH_OK)                                                              \
                break;                                                                         \
            if (rc__ != VOUCH_E_NOMEM)                                                         \
                fail_msg("allocation %ld: got %s (%s)", n__, vouch_code_name(rc__), e.msg);    \
            assert_true(n__ < 100000);                                                         \
        }                                                                                      \
    } while (0)

static void test_alloc_failures(void **state)
{
    vouch_release r = rfx_release(image, sizeof(image)), out;
    vouch_release_check chk = check_now();
    char *jws = rfx_signed(&F, &r), *p = rfx_payload(&r), *o = NULL, *u = NULL;
    char path[4096];
    size_t n = 0, nsigs = 0;
    vouch_err e;

    (void)state;
    vouch_err_clear(&e);
    snprintf(path, sizeof(path), "%s/alloc.img", tmp);
    rfx_write(path, image, sizeof(image));
    ALLOC_LOOP(vouch_release_verify(F.p1, jws, strlen(jws), &chk, &out, &e));
    ALLOC_LOOP(vouch_release_verify_image_file(F.p1, jws, strlen(jws), &chk, path, &out, &e));
    ALLOC_LOOP(vouch_release_parse_payload((const uint8_t *)p, strlen(p), &out, &e));
    ALLOC_LOOP((vouch_free(o), o = NULL, vouch_release_payload(&r, &o, &n, &e)));
    vouch_free(o);
    o = NULL;
    ALLOC_LOOP((vouch_free(u), u = NULL,
                vouch_release_unsigned((const uint8_t *)p, strlen(p), &u, &e)));
    ALLOC_LOOP((vouch_free(o), o = NULL,
                vouch_release_add_signature(u, strlen(u), F.release, "k", &o, &e)));
    ALLOC_LOOP(vouch_release_read_unverified(o, strlen(o), &out, &nsigs, &e));
    ALLOC_LOOP(vouch_release_describe_image(path, VOUCH_FORMAT_RAW, &out, &e));
    vouch_free(o);
    vouch_free(u);
    vouch_free(p);
    vouch_free(jws);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_payload_roundtrip),
        cmocka_unit_test(test_payload_fresh_jti),
        cmocka_unit_test(test_semver),
        cmocka_unit_test(test_field_rules),
        cmocka_unit_test(test_parse_refusals),
        cmocka_unit_test(test_check_name),
        cmocka_unit_test(test_image_verifier),
        cmocka_unit_test(test_image_fd_stops_at_size_plus_one),
        cmocka_unit_test(test_copy_fd),
        cmocka_unit_test(test_swu_parser),
        cmocka_unit_test(test_describe_and_verify_swu),
        cmocka_unit_test(test_verify_ok),
        cmocka_unit_test(test_verify_each_step),
        cmocka_unit_test(test_verify_extra_invalid_signature_ignored),
        cmocka_unit_test(test_verify_image_file),
        cmocka_unit_test(test_add_signature),
        cmocka_unit_test(test_trust_policy),
        cmocka_unit_test(test_alloc_failures),
    };
    vouch_json_init();
    return cmocka_run_group_tests(tests, setup, teardown);
}
