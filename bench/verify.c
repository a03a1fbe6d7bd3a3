/*
 * bench/verify.c - device verification throughput and memory, against
 * `openssl dgst -sha256` on the same file in the same run.
 *
 *   verify [DIR] [VOUCH-VERIFY]
 *
 * DIR (default $TMPDIR or /tmp) receives a 64 MiB and a 1 GiB image, a
 * policy and a release credential for each (made in process, with fresh
 * keys); all are deleted at the end. VOUCH-VERIFY defaults to
 * $VOUCH_VERIFY, else ../vouch-verify beside this program.
 *
 * For each size: the page cache is warmed (the vendor-side describe reads
 * the file once), then `vouch-verify` and `openssl dgst -sha256` run
 * alternately, 3 times each; the best time of each is kept. Peak RSS of
 * vouch-verify comes from wait4()'s ru_maxrss. Then co-signatures per
 * second: a P-256 key adding its signature to the release exactly as the
 * co-signer does (vouch_release_add_signature, which parses and checks the
 * payload first).
 *
 * Targets (SPEC.md): ratio >= 0.90; peak RSS <= 8 MiB and the same for both
 * sizes. The last lines are machine-readable:
 *   ratio verify_64m R / ratio verify_1g R / rss_kib verify_64m N / ...
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vouch/vouch.h"
#include "vouch/policy.h"
#include "vouch/release.h"

#define RUNS 3
#define T0 1763683200LL
#define NOW (T0 + 86400LL)

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const vouch_err *e)
{
    fprintf(stderr, "bench verify: %s: %s (%s)\n", what, e ? e->msg : strerror(errno),
            e ? vouch_code_name(e->code) : "errno");
    exit(1);
}

/* Fills a file of size bytes with cheap pseudo-random data. */
static void make_image(const char *path, uint64_t size)
{
    static uint64_t buf[1 << 17]; /* 1 MiB */
    uint64_t x = 0x9e3779b97f4a7c15ull, left = size;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    if (fd < 0)
        die(path, NULL);
    while (left) {
        size_t n = left < sizeof(buf) ? (size_t)left : sizeof(buf);
        for (size_t i = 0; i < sizeof(buf) / 8; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            buf[i] = x;
        }
        if (write(fd, buf, n) != (ssize_t)n)
            die(path, NULL);
        left -= n;
    }
    close(fd);
}

static vouch_key *gen(vouch_key_type t)
{
    vouch_key *k = NULL;
    vouch_err e;

    if (vouch_key_generate(t, &k, &e) != VOUCH_OK)
        die("key", &e);
    return k;
}

static json_t *jwk(const vouch_key *k)
{
    json_t *j = NULL;
    vouch_err e;

    if (vouch_key_to_jwk(k, &j, &e) != VOUCH_OK)
        die("jwk", &e);
    return j;
}

typedef struct keys {
    vouch_key *root, *release, *cosign, *issuer, *server;
} keys;

/* A signed policy: one root (threshold 1), release and cosign required. */
static char *make_policy(const keys *k)
{
    json_t *doc;
    vouch_jws_keyref signer = {"root-1", k->root};
    char *payload = NULL, *out = NULL;
    size_t n = 0, on = 0;
    vouch_err e;

    doc = json_pack("{s:s,s:I,s:I,s:I,s:s,s:{s:o,s:o,s:o,s:o,s:o},"
                    "s:{s:{s:i,s:[s]},s:{s:i,s:[s]},s:{s:i,s:[s]},s:{s:i,s:[s]},s:{s:i,s:[s]}},"
                    "s:[ss],s:I,s:b}",
                    "type", "vouch-trust-policy", "version", (json_int_t)1, "issued",
                    (json_int_t)T0, "expires", (json_int_t)(T0 + 365 * 86400LL), "issuer",
                    "did:web:bench.example", "keys", "root-1", jwk(k->root), "release-1",
                    jwk(k->release), "cosign-1", jwk(k->cosign), "issuer-1", jwk(k->issuer),
                    "server-1", jwk(k->server), "roles", "root", "threshold", 1, "keys",
                    "root-1", "release", "threshold", 1, "keys", "release-1", "cosign",
                    "threshold", 1, "keys", "cosign-1", "issuer", "threshold", 1, "keys",
                    "issuer-1", "server", "threshold", 1, "keys", "server-1", "releaseRequires",
                    "release", "cosign", "maxReleaseLifetime", (json_int_t)(90 * 86400LL),
                    "production", 0);
    if (!doc || vouch_json_dump(doc, &payload, &n, &e) != VOUCH_OK)
        die("policy payload", &e);
    if (vouch_policy_sign(payload, n, &signer, 1, &out, &on, &e) != VOUCH_OK)
        die("policy sign", &e);
    json_decref(doc);
    vouch_free(payload);
    return out;
}

/* Describes the image (the warm-up read) and signs its release twice. */
static char *make_release(const keys *k, const char *image, char **payload_out)
{
    vouch_release r;
    char *payload = NULL, *u = NULL, *one = NULL, *two = NULL;
    size_t n = 0;
    vouch_err e;

    memset(&r, 0, sizeof(r));
    snprintf(r.url, sizeof(r.url), "https://updates.bench.example/fw.img");
    snprintf(r.version, sizeof(r.version), "1.0.0");
    r.security_version = 1;
    snprintf(r.hardware[0], sizeof(r.hardware[0]), "bench-board");
    r.nhardware = 1;
    snprintf(r.iss, sizeof(r.iss), "did:web:bench.example");
    r.iat = r.nbf = T0;
    r.exp = T0 + 30 * 86400LL;
    if (vouch_release_describe_image(image, VOUCH_FORMAT_RAW, &r, &e) != VOUCH_OK ||
        vouch_release_payload(&r, &payload, &n, &e) != VOUCH_OK ||
        vouch_release_unsigned((const uint8_t *)payload, n, &u, &e) != VOUCH_OK ||
        vouch_release_add_signature(u, strlen(u), k->release, "release-1", &one, &e) !=
            VOUCH_OK ||
        vouch_release_add_signature(one, strlen(one), k->cosign, "cosign-1", &two, &e) !=
            VOUCH_OK)
        die("release", &e);
    vouch_free(u);
    if (payload_out)
        *payload_out = one; /* signed by release only: what the co-signer gets */
    else
        vouch_free(one);
    vouch_free(payload);
    return two;
}

static void write_file(const char *path, const char *text)
{
    vouch_err e;

    if (vouch_file_write_atomic(path, text, strlen(text), 0644, 0, &e) != VOUCH_OK)
        die(path, &e);
}

/* Runs argv; returns wall seconds, and the child's peak RSS in KiB. */
static double run(char *const argv[], long *maxrss_kib)
{
    struct rusage ru;
    double t0 = now_s(), t;
    int status = 0;
    pid_t pid = fork();

    if (pid < 0)
        die("fork", NULL);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0)
            dup2(null, 1);
        execvp(argv[0], argv);
        _exit(127);
    }
    if (wait4(pid, &status, 0, &ru) != pid)
        die("wait4", NULL);
    t = now_s() - t0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "bench verify: %s exited with %d\n", argv[0],
                WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        exit(1);
    }
    if (maxrss_kib)
        *maxrss_kib = ru.ru_maxrss;
    return t;
}

typedef struct result {
    const char *name;
    uint64_t size;
    double vv_mbs, ossl_mbs, ratio;
    long rss_kib;
} result;

static void bench_size(const char *dir, const char *vv, const keys *k, const char *name,
                       uint64_t size, result *res, char **cosign_input)
{
    char image[4096], pol[4096], rel[4096], nowarg[32];
    char *policy, *release;
    double best_vv = 1e9, best_ossl = 1e9;
    long rss = 0, worst_rss = 0;

    snprintf(image, sizeof(image), "%s/vouch-bench-%s.img", dir, name);
    snprintf(pol, sizeof(pol), "%s/vouch-bench-%s.policy", dir, name);
    snprintf(rel, sizeof(rel), "%s/vouch-bench-%s.rel", dir, name);
    snprintf(nowarg, sizeof(nowarg), "%lld", (long long)NOW);
    make_image(image, size);
    policy = make_policy(k);
    release = make_release(k, image, cosign_input);
    write_file(pol, policy);
    write_file(rel, release);
    {
        char *vargv[] = {(char *)vv, "--policy", pol,   "--credential", rel, "--now",
                         nowarg,     "--hardware", "bench-board", image, NULL};
        char *oargv[] = {"openssl", "dgst", "-sha256", image, NULL};
        /* one untimed round each, then alternate so both see the same cache */
        run(vargv, NULL);
        run(oargv, NULL);
        for (int i = 0; i < RUNS; i++) {
            double t = run(vargv, &rss);
            if (t < best_vv)
                best_vv = t;
            if (rss > worst_rss)
                worst_rss = rss;
            t = run(oargv, NULL);
            if (t < best_ossl)
                best_ossl = t;
        }
    }
    res->name = name;
    res->size = size;
    res->vv_mbs = (double)size / 1e6 / best_vv;
    res->ossl_mbs = (double)size / 1e6 / best_ossl;
    res->ratio = best_ossl / best_vv;
    res->rss_kib = worst_rss;
    printf("%-10s vouch-verify %8.1f MB/s   openssl dgst -sha256 %8.1f MB/s   ratio %.3f   "
           "peak RSS %.2f MiB\n",
           name, res->vv_mbs, res->ossl_mbs, res->ratio, (double)worst_rss / 1024.0);
    fflush(stdout);
    unlink(image);
    unlink(pol);
    unlink(rel);
    vouch_free(policy);
    vouch_free(release);
}

/* Co-signatures per second: one P-256 key adding its signature to a
 * release signed by the release key, as vouch-cosignd does per request. */
static double bench_cosign(const char *rel)
{
    vouch_key *k = gen(VOUCH_KEY_P256);
    double t0 = now_s(), t;
    long n = 0;
    vouch_err e;

    do {
        for (int i = 0; i < 100; i++) {
            char *out = NULL;
            if (vouch_release_add_signature(rel, strlen(rel), k, "did:key:cosigner", &out, &e) !=
                VOUCH_OK)
                die("cosign", &e);
            vouch_free(out);
        }
        n += 100;
        t = now_s() - t0;
    } while (t < 2.0);
    vouch_key_free(k);
    return (double)n / t;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : getenv("TMPDIR");
    char vvbuf[PATH_MAX + 32], self[PATH_MAX];
    const char *vv = argc > 2 ? argv[2] : getenv("VOUCH_VERIFY");
    keys k;
    result r64, r1g;
    char *cosign_input = NULL;
    double cps;
    ssize_t n;

    vouch_json_init();
    if (!dir || !*dir)
        dir = "/tmp";
    if (!vv) {
        /* ../vouch-verify beside the bench directory of the build tree */
        n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n <= 0)
            die("readlink /proc/self/exe", NULL);
        self[n] = '\0';
        *strrchr(self, '/') = '\0';
        snprintf(vvbuf, sizeof(vvbuf), "%s/../vouch-verify", self);
        vv = vvbuf;
    }
    if (access(vv, X_OK) != 0) {
        fprintf(stderr, "bench verify: no vouch-verify at %s (pass its path, or set "
                        "VOUCH_VERIFY)\n",
                vv);
        return 1;
    }
    k.root = gen(VOUCH_KEY_P256);
    k.release = gen(VOUCH_KEY_P256);
    k.cosign = gen(VOUCH_KEY_P256);
    k.issuer = gen(VOUCH_KEY_P256);
    k.server = gen(VOUCH_KEY_P256);
    printf("bench verify: %s against openssl dgst -sha256, best of %d, in %s\n", vv, RUNS, dir);
    bench_size(dir, vv, &k, "verify_64m", 64ull << 20, &r64, NULL);
    bench_size(dir, vv, &k, "verify_1g", 1ull << 30, &r1g, &cosign_input);
    cps = bench_cosign(cosign_input);
    printf("cosign     %.0f co-signatures/s (P-256, vouch_release_add_signature)\n", cps);
    printf("targets: ratio >= 0.90; peak RSS <= 8192 KiB and equal for both sizes "
           "(differ by %ld KiB)\n",
           labs(r1g.rss_kib - r64.rss_kib));
    printf("cosign_per_s %.0f\n", cps);
    printf("rss_kib verify_64m %ld\n", r64.rss_kib);
    printf("rss_kib verify_1g %ld\n", r1g.rss_kib);
    printf("ratio verify_64m %.2f\n", r64.ratio);
    printf("ratio verify_1g %.2f\n", r1g.ratio);
    vouch_free(cosign_input);
    vouch_key_free(k.root);
    vouch_key_free(k.release);
    vouch_key_free(k.cosign);
    vouch_key_free(k.issuer);
    vouch_key_free(k.server);
    return 0;
}
