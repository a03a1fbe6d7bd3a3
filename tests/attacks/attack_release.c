/*
 * attack_release.c - hostile release credentials and images against the
 * device-side check (THREATS.md classes C and G, and B where thresholds and
 * keys decide a release).
 *
 * Every scenario runs against a device whose state directory holds a
 * committed release (floor 5, version 1.3.0) and a pinned policy. Each test
 * asserts the exact code of the refusal, and device_check() asserts, for
 * every call, that the state directory is byte-for-byte what it was: a
 * verification never writes the floor, the committed release or the
 * pinned policy. Only the two scenarios about commits write state, on
 * purpose, and check exactly what they wrote.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

#include "testutil.h"
#include "unit/release_fixture.h"

#define GIB (1024ull * 1024ull * 1024ull)

static rfx F;
static char *T;      /* the test's temporary root */
static int ndev;
static const char IMG[] = "genuine firmware image, version 1.4.2 ....";
static const uint8_t COMMITTED[32] = {0xc0, 0xff, 0xee};

static int setup(void **state)
{
    (void)state;
    rfx_init(&F);
    T = test_tmpdir();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    rfx_free(&F);
    test_rmtree(T);
    free(T);
    return 0;
}

/* A device: state with floor 5 / 1.3.0 committed and `policy` pinned. */
static void device_new(char *dir, size_t cap, const char *policy)
{
    vouch_state_port port;
    vouch_err e;

    vouch_err_clear(&e);
    snprintf(dir, cap, "%s/device-%d", T, ndev++);
    assert_ok(vouch_state_file_open(dir, &port, &e), e);
    assert_ok(vouch_state_commit(&port, 5, "1.3.0", COMMITTED, &e), e);
    if (policy)
        assert_ok(port.write_policy(port.ctx, policy, strlen(policy), &e), e);
    vouch_state_file_close(&port);
}

/*
 * What vouch-verify does, through the library: choose the policy (pinned,
 * or `given` as its successor), read the floor, verify the credential and,
 * when image is not NULL, the image. Asserts that nothing persisted changed.
 */
static vouch_code device_check(const char *dir, const char *given, const char *rel,
                               const char *image, const char *hw, int64_t now, vouch_err *e)
{
    rfx_snap before;
    vouch_state_port port;
    vouch_device_state st;
    vouch_policy *p = NULL;
    vouch_release out;
    vouch_release_check chk;
    int is_new = 0;
    vouch_code rc;

    rfx_snap_take(dir, &before);
    assert_ok(vouch_state_file_open(dir, &port, e), *e);
    rc = vouch_release_trust_policy(&port, given, given ? strlen(given) : 0, now, &p, &is_new, e);
    if (rc == VOUCH_OK)
        rc = port.read(port.ctx, &st, e);
    if (rc == VOUCH_OK) {
        chk.now = now;
        chk.hardware = hw;
        chk.state = &st;
        if (image)
            rc = vouch_release_verify_image_file(p, rel, strlen(rel), &chk, image, &out, e);
        else
            rc = vouch_release_verify(p, rel, strlen(rel), &chk, &out, e);
    }
    if (p)
        vouch_policy_free(p);
    vouch_state_file_close(&port);
    rfx_snap_same(dir, &before);
    rfx_snap_free(&before);
    return rc;
}

/* The common case: pinned v1, clock RFX_NOW, hardware board-a. */
static vouch_code check(const char *dir, const char *rel, const char *image, vouch_err *e)
{
    return device_check(dir, NULL, rel, image, "board-a", RFX_NOW, e);
}

static void image_file(char *path, size_t cap, const char *name, const void *data, size_t n)
{
    snprintf(path, cap, "%s/%s", T, name);
    rfx_write(path, data, n);
}

/* Signs a hand-edited payload with release + cosign. */
static char *sign_both(const char *payload)
{
    const vouch_key *k[] = {F.release, F.cosign};
    return rfx_sign(payload, k, 2);
}

#define SCENARIO(name) static void name(void **state)
/* A fresh device with v1 pinned, and a snapshot of its state that
 * UNCHANGED() compares at the end of the scenario. */
#define DEVICE(dir)                                                                            \
    char dir[4096];                                                                            \
    rfx_snap snap__;                                                                           \
    vouch_err e;                                                                               \
    (void)state;                                                                               \
    vouch_err_clear(&e);                                                                       \
    device_new(dir, sizeof(dir), F.v1);                                                        \
    rfx_snap_take(dir, &snap__)
#define UNCHANGED(dir)                                                                         \
    do {                                                                                       \
        rfx_snap_same(dir, &snap__);                                                           \
        rfx_snap_free(&snap__);                                                                \
    } while (0)

/* ------------------------------------------------------ C: release semantics */

SCENARIO(rollback_below_floor)
{
    DEVICE(dev);
    vouch_release r = rfx_release(IMG, sizeof(IMG));
    char *rel;

    r.security_version = 4; /* floor is 5 */
    rel = rfx_signed(&F, &r);
    assert_code(check(dev, rel, NULL, &e), VOUCH_E_RELEASE_ROLLBACK, e);
    vouch_free(rel);
    UNCHANGED(dev);
}

SCENARIO(same_version_different_content)
{
    DEVICE(dev);
    vouch_release r = rfx_release(IMG, sizeof(IMG));
    char *rel;

    snprintf(r.version, sizeof(r.version), "1.3.0"); /* committed with another digest */
    r.security_version = 5;
    rel = rfx_signed(&F, &r);
    assert_code(check(dev, rel, NULL, &e), VOUCH_E_RELEASE_SAME_VERSION, e);
    vouch_free(rel);
    UNCHANGED(dev);
}

SCENARIO(huge_security_version_by_key_rotated_out)
{
    char *v2 = rfx_policy_v2(&F), *rel;
    vouch_release r = rfx_release(IMG, sizeof(IMG));
    DEVICE(dev_v1);
    char dev_v2[4096];

    /* the old release key, stolen after it was rotated out, signs a release
     * that would lock the fleet out of every future update */
    r.security_version = 9007199254740991LL;
    rel = rfx_signed(&F, &r);
    device_new(dev_v2, sizeof(dev_v2), v2);
    assert_code(check(dev_v2, rel, NULL, &e), VOUCH_E_RELEASE_SIGNATURES, e);
    /* a device still on v1 that is handed v2 follows the rotation first */
    assert_code(device_check(dev_v1, v2, rel, NULL, "board-a", RFX_NOW, &e),
                VOUCH_E_RELEASE_SIGNATURES, e);
    vouch_free(rel);
    vouch_free(v2);
    UNCHANGED(dev_v1);
}

SCENARIO(recovery_after_rotation_new_release_key)
{
    char *v2 = rfx_policy_v2(&F), *rel, *p;
    const vouch_key *k[] = {F.newrel, F.cosign};
    vouch_release r = rfx_release(IMG, sizeof(IMG));
    DEVICE(dev_v1);

    p = rfx_payload(&r);
    rel = rfx_sign(p, k, 2);
    /* v1 alone does not know the new key */
    assert_code(check(dev_v1, rel, NULL, &e), VOUCH_E_RELEASE_SIGNATURES, e);
    /* with v2 (v1's valid successor) it does; nothing is pinned by a check */
    assert_ok(device_check(dev_v1, v2, rel, NULL, "board-a", RFX_NOW, &e), e);
    vouch_free(rel);
    vouch_free(p);
    vouch_free(v2);
    UNCHANGED(dev_v1);
}

SCENARIO(expired_credential)
{
    DEVICE(dev);
    vouch_release r = rfx_release(IMG, sizeof(IMG));
    char *rel = rfx_signed(&F, &r);

    assert_code(device_check(dev, NULL, rel, NULL, "board-a", r.exp, &e),
                VOUCH_E_RELEASE_EXPIRED, e);
    assert_code(device_check(dev, NULL, rel, NULL, "board-a", r.exp + RFX_DAY, &e),
                VOUCH_E_RELEASE_EXPIRED, e);
    vouch_free(rel);
    UNCHANGED(dev);
}

/* The policy says releases live at most 90 days; a credential that lives
 * longer is refused by the device itself, even if a co-signer signed it. */
SCENARIO(lifetime_beyond_the_policy)
{
    DEVICE(dev);
    vouch_release r = rfx_release(IMG, sizeof(IMG));
    char *rel;

    r.exp = r.nbf + 90 * RFX_DAY + 1;
    rel = rfx_signed(&F, &r);
    assert_code(check(dev, rel, NULL, &e), VOUCH_E_RELEASE_LIFETIME, e);
    vouch_free(rel);
    r.exp = r.nbf + 90 * RFX_DAY; /* exactly the maximum is fine */
    rel = rfx_signed(&F, &r);
    assert_ok(check(dev, rel, NULL, &e), e);
    vouch_free(rel);
    UNCHANGED(dev);
}

SCENARIO(not_before_in_the_future)
{
    DEVICE(dev);
    vouch_release r = rfx_release(IMG, sizeof(IMG));
    char *rel;

    r.nbf = RFX_NOW + 3600;
    rel = rfx_signed(&F, &r);
    assert_code(check(dev, rel, NULL, &e), VOUCH_E_RELEASE_NOT_YET_VALID, e);
    vouch_free(rel);
    UNCHANGED(dev);
}

SCENARIO(other_hardware)
{
    DEVICE(dev);
    vouch_release r = rfx_release(IMG, sizeof(IMG));
    char *rel = rfx_signed(&F, &r);

    assert_code(device_check(dev, NULL, rel, NULL, "board-c", RFX_NOW, &e),
                VOUCH_E_RELEASE_HARDWARE, e);
    /* a prefix or a case change is another id */
    assert_code(device_check(dev, NULL, rel, NULL, "board", RFX_NOW, &e),
                VOUCH_E_RELEASE_HARDWARE, e);
    assert_code(device_check(dev, NULL, rel, NULL, "Board-a", RFX_NOW, &e),
                VOUCH_E_RELEASE_HARDWARE, e);
    vouch_free(rel);
    UNCHANGED(dev);
}

SCENARIO(another_fleets_credential)
{
    DEVICE(dev);
    rfx other;
    vouch_release r = rfx_release(IMG, sizeof(IMG));
    char *rel;

    /* a complete, valid release of another vendor's fleet */
    rfx_init(&other);
    snprintf(r.iss, sizeof(r.iss), "did:web:other-fleet.example");
    rel = rfx_signed(&other, &r);
    assert_code(check(dev, rel, NULL, &e), VOUCH_E_RELEASE_SIGNATURES, e);
    vouch_free(rel);
    rfx_free(&other);
    UNCHANGED(dev);
}

SCENARIO(other_issuer_signed_by_our_keys)
{
    DEVICE(dev);
    vouch_release r = rfx_release(IMG, sizeof(IMG));
    char *rel;

    snprintf(r.iss, sizeof(r.iss), "did:web:other-fleet.example");
    rel = rfx_signed(&F, &r);
    assert_code(check(dev, rel, NULL, &e), VOUCH_E_VC_ISSUER, e);
    vouch_free(rel);
    UNCHANGED(dev);
}

SCENARIO(mix_and_match_payload_a_signatures_b)
{
    DEVICE(dev);
    vouch_release a = rfx_release(IMG, sizeof(IMG)), b = a;
    char *ra, *rb, *mixed = NULL;
    json_t *ja = NULL, *jb = NULL;
    size_t n;

    a.security_version = 9;
    snprintf(a.version, sizeof(a.version), "2.0.0");
    ra = rfx_signed(&F, &a);
    rb = rfx_signed(&F, &b);
    assert_ok(vouch_json_parse_object(ra, strlen(ra), NULL, &ja, &e), e);
    assert_ok(vouch_json_parse_object(rb, strlen(rb), NULL, &jb, &e), e);
    json_object_set(jb, "payload", json_object_get(ja, "payload"));
    assert_ok(vouch_json_dump(jb, &mixed, &n, &e), e);
    assert_code(check(dev, mixed, NULL, &e), VOUCH_E_RELEASE_SIGNATURES, e);
    json_decref(ja);
    json_decref(jb);
    vouch_free(mixed);
    vouch_free(ra);
    vouch_free(rb);
    UNCHANGED(dev);
}

SCENARIO(subject_member_added_after_signing)
{
    DEVICE(dev);
    vouch_release r = rfx_release(IMG, sizeof(IMG));
    char *rel = rfx_signed(&F, &r), *bad = NULL, *p = rfx_payload_edit(&r, "debug", json_true());
    char *b64 = NULL;
    json_t *j = NULL;
    size_t n;

    assert_ok(vouch_b64url_encode((const uint8_t *)p, strlen(p), &b64, &n, &e), e);
    assert_ok(vouch_json_parse_object(rel, strlen(rel), NULL, &j, &e), e);
    json_object_set_new(j, "payload", json_string(b64));
    assert_ok(vouch_json_dump(j, &bad, &n, &e), e);
    assert_code(check(dev, bad, NULL, &e), VOUCH_E_RELEASE_SIGNATURES, e);
    json_decref(j);
    vouch_free(b64);
    vouch_free(bad);
    vouch_free(p);
    vouch_free(rel);
    UNCHANGED(dev);
}

SCENARIO(subject_member_added_and_signed)
{
    DEVICE(dev);
    vouch_release r = rfx_release(IMG, sizeof(IMG));
    char *p = rfx_payload_edit(&r, "installScript", json_string("rm -rf /")), *rel;

    rel = sign_both(p);
    assert_code(check(dev, rel, NULL, &e), VOUCH_E_RELEASE_FORMAT, e);
    vouch_free(rel);
    vouch_free(p);
    UNCHANGED(dev);
}

SCENARIO(subject_member_removed_and_signed)
{
    DEVICE(dev);
    vouch_release r = rfx_release(IMG, sizeof(IMG));
    char *p = rfx_payload_edit(&r, "securityVersion", NULL), *rel;

    rel = sign_both(p);
    assert_code(check(dev, rel, NULL, &e), VOUCH_E_RELEASE_FORMAT, e);
    vouch_free(rel);
    vouch_free(p);
    UNCHANGED(dev);
}

SCENARIO(empty_digest)
{
    DEVICE(dev);
    char path[4096];
    vouch_release r = rfx_release(IMG, sizeof(IMG));
    char *p = rfx_payload_edit(&r, "sha256", json_string("")), *rel;

    image_file(path, sizeof(path), "empty-digest.img", IMG, sizeof(IMG));
    rel = sign_both(p);
    assert_code(check(dev, rel, path, &e), VOUCH_E_RELEASE_FORMAT, e);
    vouch_free(rel);
    vouch_free(p);
    UNCHANGED(dev);
}

SCENARIO(absent_digest)
{
    DEVICE(dev);
    char path[4096];
    vouch_release r = rfx_release(IMG, sizeof(IMG));
    char *p = rfx_payload_edit(&r, "sha256", NULL), *rel;

    image_file(path, sizeof(path), "absent-digest.img", IMG, sizeof(IMG));
    rel = sign_both(p);
    assert_code(check(dev, rel, path, &e), VOUCH_E_RELEASE_FORMAT, e);
    vouch_free(rel);
    vouch_free(p);
    UNCHANGED(dev);
}

SCENARIO(image_shorter_than_signed)
{
    DEVICE(dev);
    char path[4096];
    vouch_release r = rfx_release(IMG, sizeof(IMG));
    char *rel = rfx_signed(&F, &r);

    image_file(path, sizeof(path), "short.img", IMG, sizeof(IMG) - 1);
    assert_code(check(dev, rel, path, &e), VOUCH_E_RELEASE_SIZE, e);
    vouch_free(rel);
    UNCHANGED(dev);
}

SCENARIO(image_longer_than_signed_read_stops_at_size_plus_one)
{
    DEVICE(dev);
    char path[4096];
    unsigned char longer[sizeof(IMG) + 100000];
    uint8_t buf[4096];
    vouch_release r = rfx_release(IMG, sizeof(IMG));
    char *rel = rfx_signed(&F, &r);
    int fd;

    memcpy(longer, IMG, sizeof(IMG));
    memset(longer + sizeof(IMG), 'A', sizeof(longer) - sizeof(IMG));
    image_file(path, sizeof(path), "long.img", longer, sizeof(longer));
    assert_code(check(dev, rel, path, &e), VOUCH_E_RELEASE_SIZE, e);
    /* and the verifier read exactly size+1 bytes, not to the end */
    fd = open(path, O_RDONLY);
    assert_code(vouch_image_verify_fd(&r, fd, buf, sizeof(buf), &e), VOUCH_E_RELEASE_SIZE, e);
    assert_int_equal(lseek(fd, 0, SEEK_CUR), (off_t)sizeof(IMG) + 1);
    close(fd);
    vouch_free(rel);
    UNCHANGED(dev);
}

static void on_alarm(int sig)
{
    (void)sig;
    _exit(99); /* the endless image was not stopped: fail loudly */
}

SCENARIO(image_endless_stream)
{
    DEVICE(dev);
    char fifo[4096];
    static uint8_t buf[65536];
    vouch_release r = rfx_release(IMG, sizeof(IMG));
    pid_t pid;
    int fd, status;

    (void)dev;
    snprintf(fifo, sizeof(fifo), "%s/endless.fifo", T);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    r.size = 1u << 20;
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* a server that never stops sending */
        int w = open(fifo, O_WRONLY);
        memset(buf, 'z', sizeof(buf));
        for (;;)
            if (write(w, buf, sizeof(buf)) < 0)
                _exit(0);
    }
    signal(SIGALRM, on_alarm);
    alarm(60);
    fd = open(fifo, O_RDONLY);
    assert_true(fd >= 0);
    assert_code(vouch_image_verify_fd(&r, fd, buf, sizeof(buf), &e), VOUCH_E_RELEASE_SIZE, e);
    alarm(0);
    close(fd);
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    UNCHANGED(dev);
}

/* A sparse file of `size` bytes ending in a marker, so its digest is not
 * that of zeros only. */
static void sparse_image(const char *path, uint64_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)size), 0);
    assert_int_equal(pwrite(fd, "END!", 4, (off_t)(size - 4)), 4);
    close(fd);
}

/* Signs a release of the given size for the image at path (digest computed
 * by describing the file as the vendor would, when `describe`). */
static char *release_for(const char *path, uint64_t size, int describe, vouch_release *r)
{
    vouch_err e;

    vouch_err_clear(&e);
    *r = rfx_release(IMG, sizeof(IMG));
    if (describe)
        assert_ok(vouch_release_describe_image(path, VOUCH_FORMAT_RAW, r, &e), e);
    r->size = size;
    return rfx_signed(&F, r);
}

SCENARIO(size_above_2gib_off_by_one)
{
    /* hashing gigabytes under valgrind takes an hour: run natively and under ASan */
    if (RUNNING_ON_VALGRIND)
        skip();
    DEVICE(dev);
    char path[4096];
    vouch_release r;
    char *rel;

    snprintf(path, sizeof(path), "%s/2g.img", T);
    sparse_image(path, 2 * GIB + 1);
    rel = release_for(path, 2 * GIB, 0, &r);
    assert_code(check(dev, rel, path, &e), VOUCH_E_RELEASE_SIZE, e);
    vouch_free(rel);
    unlink(path);
    UNCHANGED(dev);
}

SCENARIO(size_above_4gib_off_by_one)
{
    /* hashing gigabytes under valgrind takes an hour: run natively and under ASan */
    if (RUNNING_ON_VALGRIND)
        skip();
    DEVICE(dev);
    char path[4096];
    vouch_release r;
    char *rel;

    /* signed 5 GiB + 1, the file is 5 GiB: a 32-bit size would wrap */
    snprintf(path, sizeof(path), "%s/5g.img", T);
    sparse_image(path, 5 * GIB);
    rel = release_for(path, 5 * GIB + 1, 0, &r);
    assert_code(check(dev, rel, path, &e), VOUCH_E_RELEASE_SIZE, e);
    vouch_free(rel);
    unlink(path);
    UNCHANGED(dev);
}

SCENARIO(size_above_4gib_exact_verifies)
{
    /* hashing gigabytes under valgrind takes an hour: run natively and under ASan */
    if (RUNNING_ON_VALGRIND)
        skip();
    DEVICE(dev);
    char path[4096];
    vouch_release r;
    char *rel;

    snprintf(path, sizeof(path), "%s/4g.img", T);
    sparse_image(path, 4 * GIB + 4096 + 4);
    rel = release_for(path, 4 * GIB + 4096 + 4, 1, &r);
    assert_ok(check(dev, rel, path, &e), e);
    vouch_free(rel);
    unlink(path);
    UNCHANGED(dev);
}

/* A signed payload whose "size" text is replaced (after a valid build). */
static vouch_code signed_size_text(const char *dev, const char *text, vouch_err *e)
{
    vouch_release r = rfx_release(IMG, sizeof(IMG));
    char *p = rfx_payload(&r), *q, *rel;
    char from[32];
    vouch_code rc;

    snprintf(from, sizeof(from), "\"size\":%zu", sizeof(IMG));
    q = rfx_replace(p, from, text);
    rel = sign_both(q);
    rc = check(dev, rel, NULL, e);
    vouch_free(rel);
    vouch_free(q);
    vouch_free(p);
    return rc;
}

SCENARIO(size_2_pow_63)
{
    DEVICE(dev);
    assert_code(signed_size_text(dev, "\"size\":9223372036854775808", &e), VOUCH_E_RELEASE_FORMAT,
                e);
    assert_code(signed_size_text(dev, "\"size\":18446744073709551617", &e),
                VOUCH_E_RELEASE_FORMAT, e);
    assert_code(signed_size_text(dev, "\"size\":9007199254740992", &e), VOUCH_E_RELEASE_FORMAT, e);
    UNCHANGED(dev);
}

SCENARIO(size_negative)
{
    DEVICE(dev);
    assert_code(signed_size_text(dev, "\"size\":-1", &e), VOUCH_E_RELEASE_FORMAT, e);
    assert_code(signed_size_text(dev, "\"size\":0", &e), VOUCH_E_RELEASE_FORMAT, e);
    UNCHANGED(dev);
}

SCENARIO(size_1e30)
{
    DEVICE(dev);
    assert_code(signed_size_text(dev, "\"size\":1e30", &e), VOUCH_E_RELEASE_FORMAT, e);
    assert_code(signed_size_text(dev, "\"size\":42.0", &e), VOUCH_E_RELEASE_FORMAT, e);
    assert_code(signed_size_text(dev, "\"size\":\"42\"", &e), VOUCH_E_RELEASE_FORMAT, e);
    UNCHANGED(dev);
}

/* --------------------------------------------------------- C: names */

/*
 * A name is refused by vouch_release_check_name and, as the first entry of
 * a signed .swu (the vendor's tool would refuse to describe it), by the
 * device's archive check; the state stays as it was.
 */
static void name_refused(const char *name, size_t len)
{
    void **state = NULL;
    DEVICE(dev);
    static const char swd[] = "software = { version = \"1.4.2\"; };\n";
    static const char zeros[4] = {0, 0, 0, 0};
    char hdr[111], path[4096], *rel;
    unsigned char *a;
    size_t n;
    vouch_buf b;
    vouch_release r = rfx_release(IMG, sizeof(IMG));

    assert_code(vouch_release_check_name(name, len, &e), VOUCH_E_RELEASE_NAME, e);
    vouch_buf_init(&b, 1u << 20);
    snprintf(hdr, sizeof(hdr), "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", 1u,
             0100644u, 0u, 0u, 1u, 0u, (unsigned)strlen(swd), 0u, 0u, 0u, 0u,
             (unsigned)len + 1u, 0u);
    assert_int_equal(vouch_buf_append(&b, hdr, 110), VOUCH_OK);
    assert_int_equal(vouch_buf_append(&b, name, len), VOUCH_OK);
    assert_int_equal(vouch_buf_append(&b, zeros, 1), VOUCH_OK);
    assert_int_equal(vouch_buf_append(&b, zeros, (4 - (110 + len + 1) % 4) % 4), VOUCH_OK);
    assert_int_equal(vouch_buf_append(&b, swd, strlen(swd)), VOUCH_OK);
    assert_int_equal(vouch_buf_append(&b, zeros, (4 - strlen(swd) % 4) % 4), VOUCH_OK);
    rfx_cpio_entry(&b, "070701", "TRAILER!!!", NULL, 0, 0);
    a = vouch_buf_take(&b, &n);
    image_file(path, sizeof(path), "named.swu", a, n);
    rfx_sha256(a, n, r.sha256);
    r.size = n;
    r.format = VOUCH_FORMAT_SWU;
    r.has_swdesc = 1;
    rfx_sha256(swd, strlen(swd), r.swdesc_sha256);
    rel = rfx_signed(&F, &r);
    assert_code(check(dev, rel, path, &e), VOUCH_E_RELEASE_SWU, e);
    vouch_free(rel);
    vouch_free(a);
    UNCHANGED(dev);
}

#define NAME_SCENARIO(fn, text, len)                                                           \
    SCENARIO(fn)                                                                               \
    {                                                                                          \
        (void)state;                                                                           \
        name_refused(text, len);                                                               \
    }

NAME_SCENARIO(name_absolute, "/etc/shadow", 11)
NAME_SCENARIO(name_dotdot_component, "images/../../boot/kernel", 24)
NAME_SCENARIO(name_trailing_dotdot, "images/..", 9)
NAME_SCENARIO(name_embedded_nul, "rootfs.img\0/../../x", 19)
NAME_SCENARIO(name_backslash, "..\\..\\windows", 13)
NAME_SCENARIO(name_percent_encoded_traversal, "%2e%2e/%2e%2e/etc/passwd", 24)

SCENARIO(name_over_long)
{
    char name[300];

    (void)state;
    memset(name, 'a', sizeof(name));
    name_refused(name, 256);
    name_refused(name, sizeof(name));
}

SCENARIO(swu_first_entry_with_traversal_name)
{
    DEVICE(dev);
    static const char swd[] = "software = { version = \"1.4.2\"; };\n";
    char path[4096];
    unsigned char *a;
    size_t n;
    vouch_buf b;
    vouch_release r = rfx_release(IMG, sizeof(IMG));
    char *rel;

    /* even signed (the vendor's tool would not describe it), an archive
     * whose first entry is "../sw-description" is refused */
    vouch_buf_init(&b, 1u << 20);
    rfx_cpio_entry(&b, "070701", "../sw-description", swd, strlen(swd), 0);
    rfx_cpio_entry(&b, "070701", "TRAILER!!!", NULL, 0, 0);
    a = vouch_buf_take(&b, &n);
    image_file(path, sizeof(path), "traversal.swu", a, n);
    rfx_sha256(a, n, r.sha256);
    r.size = n;
    r.format = VOUCH_FORMAT_SWU;
    r.has_swdesc = 1;
    rfx_sha256(swd, strlen(swd), r.swdesc_sha256);
    rel = rfx_signed(&F, &r);
    assert_code(check(dev, rel, path, &e), VOUCH_E_RELEASE_SWU, e);
    vouch_free(rel);
    vouch_free(a);
    UNCHANGED(dev);
}

SCENARIO(swu_sw_description_swapped)
{
    DEVICE(dev);
    static const char swd[] = "software = { version = \"1.4.2\"; };\n";
    char path[4096], swdpath[4096];
    unsigned char *a;
    size_t n;
    vouch_release r = rfx_release(IMG, sizeof(IMG)), d;
    char *rel;

    a = rfx_swu(swd, "payload", &n);
    image_file(path, sizeof(path), "good.swu", a, n);
    memset(&d, 0, sizeof(d));
    assert_ok(vouch_release_describe_image(path, VOUCH_FORMAT_SWU, &d, &e), e);
    memcpy(r.sha256, d.sha256, 32);
    r.size = d.size;
    r.format = VOUCH_FORMAT_SWU;
    r.has_swdesc = 1;
    memcpy(r.swdesc_sha256, d.swdesc_sha256, 32);
    rel = rfx_signed(&F, &r);
    assert_ok(check(dev, rel, NULL, &e), e);
    /* the installer is about to act on another sw-description */
    image_file(swdpath, sizeof(swdpath), "sw-description",
               "software = { version = \"6.6.6\"; };\n", 35);
    assert_code(vouch_release_check_swdesc(&r, swdpath, &e), VOUCH_E_RELEASE_SWDESC, e);
    vouch_free(rel);
    vouch_free(a);
    UNCHANGED(dev);
}

/* ------------------------------------------- C: time of check, time of use */

SCENARIO(image_changed_on_disk_after_verification)
{
    DEVICE(dev);
    char path[4096], slot[4096];
    uint8_t buf[4096];
    unsigned char evil[sizeof(IMG)], *copy = NULL;
    size_t n = 0;
    vouch_release r = rfx_release(IMG, sizeof(IMG));
    char *rel = rfx_signed(&F, &r);
    int in, out;

    image_file(path, sizeof(path), "toctou.img", IMG, sizeof(IMG));
    assert_ok(check(dev, rel, path, &e), e);
    /* the file is swapped after the check; an installer that re-reads it
     * would install other bytes. The install path reads once: it copies to
     * the slot what it verifies, and only that verdict counts. */
    memcpy(evil, IMG, sizeof(IMG));
    memcpy(evil, "EVIL", 4);
    image_file(path, sizeof(path), "toctou.img", evil, sizeof(evil));
    snprintf(slot, sizeof(slot), "%s/slot-b.img", T);
    in = open(path, O_RDONLY);
    out = open(slot, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_code(vouch_image_copy_fd(&r, in, out, buf, sizeof(buf), &e), VOUCH_E_RELEASE_DIGEST,
                e);
    close(in);
    close(out);
    /* with the genuine bytes, the slot holds exactly what was verified */
    image_file(path, sizeof(path), "toctou.img", IMG, sizeof(IMG));
    in = open(path, O_RDONLY);
    out = open(slot, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_ok(vouch_image_copy_fd(&r, in, out, buf, sizeof(buf), &e), e);
    close(in);
    close(out);
    assert_ok(vouch_file_read(slot, 4096, &copy, &n, &e), e);
    assert_int_equal(n, sizeof(IMG));
    assert_memory_equal(copy, IMG, n);
    vouch_free(copy);
    vouch_free(rel);
    UNCHANGED(dev);
}

/* ----------------------------------------------- C: no trust root at all */

SCENARIO(no_trust_root_configured)
{
    char dev[4096];
    vouch_release r = rfx_release(IMG, sizeof(IMG));
    vouch_release_check chk = {RFX_NOW, "board-a", NULL};
    char *rel = rfx_signed(&F, &r);
    vouch_err e;

    (void)state;
    vouch_err_clear(&e);
    device_new(dev, sizeof(dev), NULL); /* nothing pinned, nothing given */
    assert_code(check(dev, rel, NULL, &e), VOUCH_E_POLICY_MISSING, e);
    assert_code(vouch_release_verify(NULL, rel, strlen(rel), &chk, NULL, &e),
                VOUCH_E_POLICY_MISSING, e);
    vouch_free(rel);
}

SCENARIO(corrupted_state_fails_closed)
{
    DEVICE(dev);
    char path[4200];
    vouch_release r = rfx_release(IMG, sizeof(IMG));
    char *rel = rfx_signed(&F, &r);

    /* a truncated floor must never read as "floor 0" */
    snprintf(path, sizeof(path), "%s/state.json", dev);
    rfx_write(path, "{\"stateVersion\":1,\"floor\":", 26);
    rfx_snap_free(&snap__);
    rfx_snap_take(dev, &snap__); /* the broken bytes must stay as they are */
    assert_code(check(dev, rel, NULL, &e), VOUCH_E_STATE, e);
    vouch_free(rel);
    UNCHANGED(dev);
}

SCENARIO(pinned_policy_downgrade)
{
    char *v2 = rfx_policy_v2(&F), dev[4096];
    vouch_release r = rfx_release(IMG, sizeof(IMG));
    char *rel = rfx_signed(&F, &r);
    vouch_err e;

    (void)state;
    vouch_err_clear(&e);
    device_new(dev, sizeof(dev), v2);
    /* v1 (which still trusts the old release key) is offered back */
    assert_code(device_check(dev, F.v1, rel, NULL, "board-a", RFX_NOW, &e),
                VOUCH_E_POLICY_SIGNATURES, e);
    vouch_free(rel);
    vouch_free(v2);
}

/* -------------------------------------------- B: thresholds and two-factor */

SCENARIO(only_the_release_signature)
{
    DEVICE(dev);
    vouch_release r = rfx_release(IMG, sizeof(IMG));
    const vouch_key *k[] = {F.release};
    char *p = rfx_payload(&r), *rel = rfx_sign(p, k, 1);

    assert_code(check(dev, rel, NULL, &e), VOUCH_E_RELEASE_SIGNATURES, e);
    vouch_free(rel);
    vouch_free(p);
    UNCHANGED(dev);
}

SCENARIO(only_the_cosignature)
{
    DEVICE(dev);
    vouch_release r = rfx_release(IMG, sizeof(IMG));
    const vouch_key *k[] = {F.cosign};
    char *p = rfx_payload(&r), *rel = rfx_sign(p, k, 1);

    assert_code(check(dev, rel, NULL, &e), VOUCH_E_RELEASE_SIGNATURES, e);
    vouch_free(rel);
    vouch_free(p);
    UNCHANGED(dev);
}

SCENARIO(unsigned_release)
{
    DEVICE(dev);
    vouch_release r = rfx_release(IMG, sizeof(IMG));
    char *p = rfx_payload(&r), *rel = NULL;

    assert_ok(vouch_release_unsigned((const uint8_t *)p, strlen(p), &rel, &e), e);
    assert_code(check(dev, rel, NULL, &e), VOUCH_E_RELEASE_SIGNATURES, e);
    vouch_free(rel);
    vouch_free(p);
    UNCHANGED(dev);
}

SCENARIO(release_signed_twice_by_the_same_key)
{
    char dev[4096], *pol, *p, *rel;
    static const int roots[] = {0, 1};
    vouch_release r = rfx_release(IMG, sizeof(IMG));
    const vouch_key *twice[] = {F.release, F.release, F.cosign};
    const vouch_key *both[] = {F.release, F.release2, F.cosign};
    vouch_err e;

    (void)state;
    vouch_err_clear(&e);
    /* a fleet whose releases need 2 of 2 release keys */
    pol = rfx_policy_sign(&F, rfx_policy_doc(&F, 1, 0, F.release, F.release2, 2), roots, 2);
    device_new(dev, sizeof(dev), pol);
    p = rfx_payload(&r);
    rel = rfx_sign(p, twice, 3); /* two different ECDSA signatures, one key */
    assert_code(check(dev, rel, NULL, &e), VOUCH_E_RELEASE_SIGNATURES, e);
    vouch_free(rel);
    rel = rfx_sign(p, both, 3);
    assert_ok(check(dev, rel, NULL, &e), e);
    vouch_free(rel);
    vouch_free(p);
    vouch_free(pol);
}

SCENARIO(same_signature_repeated)
{
    DEVICE(dev);
    vouch_release r = rfx_release(IMG, sizeof(IMG));
    const vouch_key *k[] = {F.release};
    char *p = rfx_payload(&r), *rel = rfx_sign(p, k, 1), *dup = NULL;
    json_t *j = NULL, *sigs;
    size_t n;

    assert_ok(vouch_json_parse_object(rel, strlen(rel), NULL, &j, &e), e);
    sigs = json_object_get(j, "signatures");
    for (int i = 0; i < 15; i++)
        json_array_append(sigs, json_array_get(sigs, 0));
    assert_ok(vouch_json_dump(j, &dup, &n, &e), e);
    assert_code(check(dev, dup, NULL, &e), VOUCH_E_RELEASE_SIGNATURES, e);
    json_decref(j);
    vouch_free(dup);
    vouch_free(rel);
    vouch_free(p);
    UNCHANGED(dev);
}

SCENARIO(server_key_in_place_of_release_key)
{
    DEVICE(dev);
    vouch_release r = rfx_release(IMG, sizeof(IMG));
    const vouch_key *k[] = {F.server, F.cosign};
    char *p = rfx_payload(&r), *rel = rfx_sign(p, k, 2);

    assert_code(check(dev, rel, NULL, &e), VOUCH_E_RELEASE_SIGNATURES, e);
    vouch_free(rel);
    vouch_free(p);
    UNCHANGED(dev);
}

SCENARIO(issuer_key_in_place_of_release_key)
{
    DEVICE(dev);
    vouch_release r = rfx_release(IMG, sizeof(IMG));
    const vouch_key *k[] = {F.issuer, F.cosign};
    char *p = rfx_payload(&r), *rel = rfx_sign(p, k, 2);

    assert_code(check(dev, rel, NULL, &e), VOUCH_E_RELEASE_SIGNATURES, e);
    vouch_free(rel);
    vouch_free(p);
    UNCHANGED(dev);
}

SCENARIO(root_key_in_place_of_cosign_key)
{
    DEVICE(dev);
    vouch_release r = rfx_release(IMG, sizeof(IMG));
    const vouch_key *k[] = {F.release, F.root[0], F.root[1]};
    char *p = rfx_payload(&r), *rel = rfx_sign(p, k, 3);

    assert_code(check(dev, rel, NULL, &e), VOUCH_E_RELEASE_SIGNATURES, e);
    vouch_free(rel);
    vouch_free(p);
    UNCHANGED(dev);
}

SCENARIO(policy_token_presented_as_release)
{
    DEVICE(dev);
    /* a validly signed token of another kind: the pinned policy itself */
    assert_code(check(dev, F.v1, NULL, &e), VOUCH_E_JWS_TYP, e);
    UNCHANGED(dev);
}

SCENARIO(extra_invalid_signature_still_accepted)
{
    DEVICE(dev);
    vouch_release r = rfx_release(IMG, sizeof(IMG));
    rfx other;
    const vouch_key *k[3];
    char *p = rfx_payload(&r), *rel;

    rfx_init(&other);
    k[0] = F.release;
    k[1] = other.cosign; /* a stranger's signature in the middle */
    k[2] = F.cosign;
    rel = rfx_sign(p, k, 3);
    assert_ok(check(dev, rel, NULL, &e), e);
    vouch_free(rel);
    vouch_free(p);
    rfx_free(&other);
    UNCHANGED(dev);
}

/* ------------------------------------------------------------- G: faults */

SCENARIO(floor_raised_only_by_commit)
{
    DEVICE(dev);
    char path[4096];
    vouch_release r = rfx_release(IMG, sizeof(IMG));
    char *rel = rfx_signed(&F, &r);
    vouch_state_port port;
    vouch_device_state st;

    image_file(path, sizeof(path), "commit.img", IMG, sizeof(IMG));
    /* successful checks, twice, with and without the image: no write */
    assert_ok(check(dev, rel, path, &e), e);
    assert_ok(check(dev, rel, NULL, &e), e);
    assert_ok(vouch_state_file_open(dev, &port, &e), e);
    assert_ok(port.read(port.ctx, &st, &e), e);
    assert_int_equal(st.floor, 5);
    /* the commit after a successful install is what raises it */
    assert_ok(vouch_state_commit(&port, r.security_version, r.version, r.sha256, &e), e);
    assert_ok(port.read(port.ctx, &st, &e), e);
    assert_int_equal(st.floor, 7);
    assert_string_equal(st.version, "1.4.2");
    assert_memory_equal(st.digest, r.sha256, 32);
    /* and a lower commit cannot bring it back down */
    assert_code(vouch_state_commit(&port, 5, "1.3.0", COMMITTED, &e), VOUCH_E_RELEASE_ROLLBACK,
                e);
    vouch_state_file_close(&port);
    vouch_free(rel);
    rfx_snap_free(&snap__); /* this scenario changes the state on purpose */
}

static int cut_before_rename(const char *step, void *arg)
{
    (void)arg;
    return strcmp(step, "temp-synced") == 0;
}

static int abort_before_rename(const char *step, void *arg)
{
    (void)arg;
    if (strcmp(step, "temp-written") == 0)
        abort();
    return 0;
}

SCENARIO(power_loss_during_floor_write)
{
    DEVICE(dev);
    rfx_snap before;
    vouch_state_port port;
    vouch_device_state st;
    pid_t pid;
    int status = 0;

    rfx_snap_take(dev, &before);
    assert_ok(vouch_state_file_open(dev, &port, &e), e);
    /* power cut between the synced temp file and the rename */
    vouch_state_file_set_fault(cut_before_rename, NULL);
    assert_code(vouch_state_commit(&port, 9, "1.5.0", COMMITTED, &e), VOUCH_E_IO, e);
    vouch_state_file_set_fault(NULL, NULL);
    rfx_snap_same(dev, &before);
    /* a real crash: the process dies right after writing the temp file */
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGABRT, SIG_DFL);
        vouch_state_file_set_fault(abort_before_rename, NULL);
        vouch_state_commit(&port, 9, "1.5.0", COMMITTED, NULL);
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    vouch_state_file_close(&port);
    /* after "reboot" the old state reads back intact */
    rfx_snap_same(dev, &before);
    assert_ok(vouch_state_file_open(dev, &port, &e), e);
    assert_ok(port.read(port.ctx, &st, &e), e);
    assert_int_equal(st.floor, 5);
    assert_string_equal(st.version, "1.3.0");
    assert_memory_equal(st.digest, COMMITTED, 32);
    vouch_state_file_close(&port);
    rfx_snap_free(&before);
    UNCHANGED(dev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rollback_below_floor),
        cmocka_unit_test(same_version_different_content),
        cmocka_unit_test(huge_security_version_by_key_rotated_out),
        cmocka_unit_test(recovery_after_rotation_new_release_key),
        cmocka_unit_test(expired_credential),
        cmocka_unit_test(lifetime_beyond_the_policy),
        cmocka_unit_test(not_before_in_the_future),
        cmocka_unit_test(other_hardware),
        cmocka_unit_test(another_fleets_credential),
        cmocka_unit_test(other_issuer_signed_by_our_keys),
        cmocka_unit_test(mix_and_match_payload_a_signatures_b),
        cmocka_unit_test(subject_member_added_after_signing),
        cmocka_unit_test(subject_member_added_and_signed),
        cmocka_unit_test(subject_member_removed_and_signed),
        cmocka_unit_test(empty_digest),
        cmocka_unit_test(absent_digest),
        cmocka_unit_test(image_shorter_than_signed),
        cmocka_unit_test(image_longer_than_signed_read_stops_at_size_plus_one),
        cmocka_unit_test(image_endless_stream),
        cmocka_unit_test(size_above_2gib_off_by_one),
        cmocka_unit_test(size_above_4gib_off_by_one),
        cmocka_unit_test(size_above_4gib_exact_verifies),
        cmocka_unit_test(size_2_pow_63),
        cmocka_unit_test(size_negative),
        cmocka_unit_test(size_1e30),
        cmocka_unit_test(name_absolute),
        cmocka_unit_test(name_dotdot_component),
        cmocka_unit_test(name_trailing_dotdot),
        cmocka_unit_test(name_embedded_nul),
        cmocka_unit_test(name_backslash),
        cmocka_unit_test(name_over_long),
        cmocka_unit_test(name_percent_encoded_traversal),
        cmocka_unit_test(swu_first_entry_with_traversal_name),
        cmocka_unit_test(swu_sw_description_swapped),
        cmocka_unit_test(image_changed_on_disk_after_verification),
        cmocka_unit_test(no_trust_root_configured),
        cmocka_unit_test(corrupted_state_fails_closed),
        cmocka_unit_test(pinned_policy_downgrade),
        cmocka_unit_test(only_the_release_signature),
        cmocka_unit_test(only_the_cosignature),
        cmocka_unit_test(unsigned_release),
        cmocka_unit_test(release_signed_twice_by_the_same_key),
        cmocka_unit_test(same_signature_repeated),
        cmocka_unit_test(server_key_in_place_of_release_key),
        cmocka_unit_test(issuer_key_in_place_of_release_key),
        cmocka_unit_test(root_key_in_place_of_cosign_key),
        cmocka_unit_test(policy_token_presented_as_release),
        cmocka_unit_test(extra_invalid_signature_still_accepted),
        cmocka_unit_test(floor_raised_only_by_commit),
        cmocka_unit_test(power_loss_during_floor_write),
    };
    vouch_json_init();
    return cmocka_run_group_tests(tests, setup, teardown);
}
