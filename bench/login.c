/* login.c - logins per second against a real vouchd, beside the bound set by
 * the signature operations one login needs, measured with `openssl speed`
 * in the same run.
 *
 * Setup (all in a temporary directory, with libvouch): a trust policy
 * (root, release, issuer and server keys, P-256), the server directory S,
 * and N devices with P-256 keys and ProductionCredentials. Then vouchd is
 * started (path from argv[1] or $VOUCHD) on 127.0.0.1 with SQLite, and N
 * threads, one device each over one keep-alive connection (raw sockets,
 * HTTP/1.1), run the full login for SECONDS: POST /auth/siop, GET the
 * request object, POST the response.
 *
 * One login costs the server 1 ES256 sign (the request object) and 3 ES256
 * verifies (id_token, vp_token, credential):
 *   bound = cores / (1/sign_rate + 3/verify_rate)
 * with the rates of `openssl speed -seconds 2 ecdsap256` (one core) and the
 * cores the server may use. The devices' own cost is real and client-side:
 * each login needs 2 device signatures (id_token, vp_token), which cannot
 * be made in advance because they hold the server's fresh nonce. The bench
 * devices skip verifying the request object (a real device does it: 1
 * more verify), and they run on the same cores as the server, so the output
 * also gives the bound with the client's signatures counted:
 *   bound_shared = cores / (1/sign + 3/verify + 2/sign)
 * Target: logins/s >= 0.50 x bound.
 *
 * Because the devices share the server's cores (and so does anything else
 * running on the machine), logins/s understates what the server carries
 * when its devices are elsewhere, as they are in the field. The output
 * therefore also gives the server's CPU per login (vouchd's utime + stime
 * over the run, divided by the logins), the capacity that implies,
 *   capacity = cores / server CPU per login,
 * and its ratio to the bound, and the CPU the rest of the machine used
 * during the run (all CPUs' busy time from /proc/stat, less vouchd and
 * the bench), so that a run on a busy machine can be told apart. The
 * target is met only by the measured logins/s.
 *
 * usage: login [VOUCHD [DEVICES [SECONDS]]]   (default $VOUCHD, 16, 10)
 * $BENCH_THREADS: vouchd's worker threads (default: one per core);
 * $BENCH_DEBUG: vouchd's output and failed requests on stderr.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vouch/form.h"
#include "vouch/policy.h"
#include "vouch/siop.h"
#include "vouch/vouch.h"

#define TARGET 0.50
#define MAX_DEVICES 256
#define RESP_MAX (64u * 1024u)

static char tmpdir[256];
static unsigned short port;
static atomic_int stop_flag;
static atomic_ulong logins_ok, logins_failed;

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const vouch_err *e)
{
    fprintf(stderr, "bench login: %s%s%s\n", what, e ? ": " : "", e ? e->msg : "");
    exit(1);
}

static void write_file(const char *name, const char *text, unsigned mode)
{
    char path[512];
    vouch_err e;

    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    if (vouch_file_write_atomic(path, text, strlen(text), mode, 0, &e) != VOUCH_OK)
        die(name, &e);
}

/* ------------------------------------------------------------- fixtures */

typedef struct device {
    vouch_key *key;
    char did[VOUCH_DID_MAX + 1];
    char *credential;
} device;

static vouch_key *issuer_key, *server_key;

static void make_fixtures(device *devs, int n)
{
    static const char *const kids[] = {"root-1", "release-1", "issuer-1", "server-1"};
    vouch_key *keys[4] = {NULL, NULL, NULL, NULL};
    vouch_jws_keyref signer;
    json_t *pol, *jwks, *doc = NULL;
    char *payload = NULL, *signed_pol = NULL, *did_json = NULL, path[512];
    size_t plen = 0, slen = 0;
    vouch_policy *p = NULL;
    int64_t now = (int64_t)time(NULL);
    vouch_err e;

    vouch_json_init();
    jwks = json_object();
    for (int i = 0; i < 4; i++) {
        json_t *jwk = NULL;
        if (vouch_key_generate(VOUCH_KEY_P256, &keys[i], &e) != VOUCH_OK ||
            vouch_key_to_jwk(keys[i], &jwk, &e) != VOUCH_OK)
            die("key", &e);
        json_object_set_new(jwks, kids[i], jwk);
    }
    pol = json_pack("{s:s,s:i,s:I,s:I,s:s,s:o,s:{s:{s:i,s:[s]},s:{s:i,s:[s]},s:{s:i,s:[s]},"
                    "s:{s:i,s:[s]}},s:[s],s:i,s:b}",
                    "type", "vouch-trust-policy", "version", 1, "issued", (json_int_t)now,
                    "expires", (json_int_t)(now + 86400 * 365), "issuer", "did:web:bench.example",
                    "keys", jwks, "roles", "root", "threshold", 1, "keys", kids[0], "release",
                    "threshold", 1, "keys", kids[1], "issuer", "threshold", 1, "keys", kids[2],
                    "server", "threshold", 1, "keys", kids[3], "releaseRequires", "release",
                    "maxReleaseLifetime", 86400, "production", 0);
    if (!pol || vouch_json_dump(pol, &payload, &plen, &e) != VOUCH_OK)
        die("policy payload", &e);
    signer.kid = kids[0];
    signer.key = keys[0];
    if (vouch_policy_sign(payload, plen, &signer, 1, &signed_pol, &slen, &e) != VOUCH_OK ||
        vouch_policy_verify_root(signed_pol, slen, now, &p, &e) != VOUCH_OK ||
        vouch_policy_did_document(p, "did:web:bench.example", &doc, &e) != VOUCH_OK ||
        vouch_json_dump(doc, &did_json, &plen, &e) != VOUCH_OK)
        die("policy", &e);
    write_file("policy.jws", signed_pol, 0644);
    write_file("did.json", did_json, 0644);
    write_file("did-configuration.json", "{}", 0644);
    write_file("server.json",
               "{\"domain\":\"bench.example\",\"did\":\"did:web:bench.example\",\"kid\":\"server-1\"}",
               0644);
    write_file("authz.json",
               "{\"mode\":\"credential\",\"access_ttl\":3600,\"nonce_ttl\":600}", 0644);
    snprintf(path, sizeof(path), "%s/server.pem", tmpdir);
    if (vouch_key_save_pem(keys[3], path, 0, &e) != VOUCH_OK)
        die("server key", &e);
    issuer_key = keys[2];
    server_key = keys[3];
    for (int i = 0; i < n; i++) {
        vouch_device_facts f;
        char *did = NULL;
        memset(&f, 0, sizeof(f));
        if (vouch_key_generate(VOUCH_KEY_P256, &devs[i].key, &e) != VOUCH_OK ||
            vouch_did_key_encode(devs[i].key, &did, &e) != VOUCH_OK)
            die("device key", &e);
        snprintf(devs[i].did, sizeof(devs[i].did), "%s", did);
        snprintf(f.did, sizeof(f.did), "%s", did);
        snprintf(f.serial, sizeof(f.serial), "SN-%05d", i);
        snprintf(f.hardware, sizeof(f.hardware), "board-a");
        snprintf(f.produced_by, sizeof(f.produced_by), "did:web:bench.example#line-1");
        snprintf(f.production_date, sizeof(f.production_date), "2025-06-01");
        vouch_free(did);
        if (vouch_production_issue(issuer_key, "did:web:bench.example", "issuer-1", &f, now,
                                   86400, &devs[i].credential, &e) != VOUCH_OK)
            die("credential", &e);
    }
    vouch_key_free(keys[0]);
    vouch_key_free(keys[1]);
    vouch_policy_free(p);
    json_decref(pol);
    json_decref(doc);
    vouch_free(payload);
    vouch_free(signed_pol);
    vouch_free(did_json);
}

/* ------------------------------------------------------------------ HTTP */

typedef struct conn {
    int fd;
    char buf[RESP_MAX + 1];
} conn;

static int conn_open(conn *c)
{
    struct sockaddr_in a;
    int one = 1;

    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0)
        return -1;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(c->fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    return 0;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* One request on the keep-alive connection; *body points into c->buf. */
static int http(conn *c, const char *method, const char *path, const char *ctype,
                const char *body, size_t blen, int *status, const char **rbody, size_t *rlen)
{
    char head[1024];
    size_t got = 0, hl, cl = 0;
    char *end, *p;
    int n;

    if (c->fd < 0 && conn_open(c) != 0)
        return -1;
    /* a GET carries no Content-Length: MHD closes a connection whose
     * request body it was not asked to read */
    if (body)
        n = snprintf(head, sizeof(head),
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s%s%sContent-Length: %zu\r\n\r\n",
                     method, path, ctype ? "Content-Type: " : "", ctype ? ctype : "",
                     ctype ? "\r\n" : "", blen);
    else
        n = snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", method,
                     path);
    if (send_all(c->fd, head, (size_t)n) != 0 || (blen && send_all(c->fd, body, blen) != 0))
        goto fail;
    for (;;) {
        ssize_t r = recv(c->fd, c->buf + got, RESP_MAX - got, 0);
        if (r <= 0)
            goto fail;
        got += (size_t)r;
        c->buf[got] = '\0';
        end = strstr(c->buf, "\r\n\r\n");
        if (!end)
            continue;
        hl = (size_t)(end - c->buf) + 4;
        p = strcasestr(c->buf, "\r\nContent-Length:");
        if (!p || p > end)
            goto fail;
        cl = strtoul(p + 17, NULL, 10);
        if (hl + cl > RESP_MAX)
            goto fail;
        while (got < hl + cl) {
            r = recv(c->fd, c->buf + got, RESP_MAX - got, 0);
            if (r <= 0)
                goto fail;
            got += (size_t)r;
        }
        c->buf[hl + cl] = '\0';
        *status = atoi(c->buf + 9);
        *rbody = c->buf + hl;
        *rlen = cl;
        return 0;
    }
fail:
    if (getenv("BENCH_DEBUG"))
        fprintf(stderr, "http %s %s failed after %zu bytes: %.120s\n", method, path, got, c->buf);
    close(c->fd);
    c->fd = -1;
    return -1;
}

/* The request object's claims, read without verifying its signature (the
 * bench devices trust their server; a real device verifies: 1 verify). */
static int read_request(const char *jwt, size_t len, vouch_siop_request *req)
{
    vouch_jws *j = NULL;
    json_t *c = NULL, *d;
    int rc = -1;

    memset(req, 0, sizeof(*req));
    if (vouch_jws_parse(jwt, len, &j, NULL) != VOUCH_OK ||
        vouch_json_parse_object((const char *)j->payload, j->payload_len, NULL, &c, NULL) !=
            VOUCH_OK)
        goto out;
    snprintf(req->client_id, sizeof(req->client_id), "%s",
             json_string_value(json_object_get(c, "client_id")));
    snprintf(req->response_uri, sizeof(req->response_uri), "%s",
             json_string_value(json_object_get(c, "response_uri")));
    snprintf(req->nonce, sizeof(req->nonce), "%s", json_string_value(json_object_get(c, "nonce")));
    snprintf(req->state, sizeof(req->state), "%s", json_string_value(json_object_get(c, "state")));
    d = json_object_get(c, "presentation_definition");
    req->definition = d ? json_incref(d) : NULL;
    rc = 0;
out:
    json_decref(c);
    vouch_jws_free(j);
    return rc;
}

static const char *path_of(const char *url)
{
    const char *p = strstr(url, "://");

    p = p ? strchr(p + 3, '/') : NULL;
    return p ? p : "/";
}

static void append_field(vouch_buf *b, const char *name, const char *v)
{
    char *enc = NULL;

    if (vouch_form_encode(v, strlen(v), &enc, NULL) == VOUCH_OK)
        vouch_buf_printf(b, "%s%s=%s", b->len ? "&" : "", name, enc);
    vouch_free(enc);
}

static int one_login(conn *c, device *d)
{
    char body[512], client_id[256], request_uri[1024];
    const char *rb = NULL;
    size_t rl;
    int st = 0, ok = 0;
    vouch_siop_request req;
    vouch_siop_response resp;
    vouch_buf form;

    memset(&req, 0, sizeof(req));
    memset(&resp, 0, sizeof(resp));
    vouch_buf_init(&form, 3u * VOUCH_LOGIN_MAX_BYTES);
    snprintf(body, sizeof(body), "{\"did\":\"%s\"}", d->did);
    if (http(c, "POST", "/auth/siop", "application/json", body, strlen(body), &st, &rb, &rl) ||
        st != 200 ||
        vouch_login_start_reply_parse(rb, rl, client_id, sizeof(client_id), request_uri,
                                      sizeof(request_uri), NULL) != VOUCH_OK) {
        if (getenv("BENCH_DEBUG"))
            fprintf(stderr, "start: %d %.200s\n", st, rb ? rb : "");
        goto out;
    }
    if (http(c, "GET", path_of(request_uri), NULL, NULL, 0, &st, &rb, &rl) || st != 200 ||
        read_request(rb, rl, &req) != 0)
        goto out;
    if (vouch_siop_response_build(d->key, d->credential, &req, (int64_t)time(NULL), &resp,
                                  NULL) != VOUCH_OK)
        goto out;
    append_field(&form, "id_token", resp.id_token);
    append_field(&form, "vp_token", resp.vp_token);
    append_field(&form, "presentation_submission", resp.presentation_submission);
    append_field(&form, "state", req.state);
    if (http(c, "POST", path_of(req.response_uri), "application/x-www-form-urlencoded",
             (const char *)form.data, form.len, &st, &rb, &rl) ||
        st != 200) {
        if (getenv("BENCH_DEBUG"))
            fprintf(stderr, "response: %d %.300s\n", st, rb ? rb : "");
        goto out;
    }
    ok = 1;
out:
    vouch_siop_request_free(&req);
    vouch_siop_response_free(&resp);
    vouch_buf_free(&form);
    return ok;
}

static void *device_thread(void *arg)
{
    device *d = arg;
    conn *c = malloc(sizeof(*c));

    if (!c)
        return NULL;
    c->fd = -1;
    while (!atomic_load(&stop_flag)) {
        if (one_login(c, d))
            atomic_fetch_add(&logins_ok, 1);
        else
            atomic_fetch_add(&logins_failed, 1);
    }
    if (c->fd >= 0)
        close(c->fd);
    free(c);
    return NULL;
}

/* ---------------------------------------------------------------- openssl */

/* sign/s and verify/s of one `openssl speed -mr` algorithm (last +F line). */
static int openssl_rates(const char *alg, double *sign, double *verify)
{
    char cmd[128], line[512];
    FILE *f;
    int found = 0;

    snprintf(cmd, sizeof(cmd), "openssl speed -mr -seconds 2 %s 2>/dev/null", alg);
    f = popen(cmd, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "+F", 2) == 0) {
            char *s = strrchr(line, ':');
            if (!s)
                continue;
            *verify = strtod(s + 1, NULL);
            *s = '\0';
            s = strrchr(line, ':');
            if (!s)
                continue;
            *sign = strtod(s + 1, NULL);
            found = 1;
        }
    pclose(f);
    return found ? 0 : -1;
}

static double proc_cpu_s(pid_t pid)
{
    char path[64], buf[1024];
    unsigned long ut = 0, st = 0;
    FILE *f;
    char *p;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    f = fopen(path, "r");
    if (!f)
        return 0;
    if (!fgets(buf, sizeof(buf), f)) {
        fclose(f);
        return 0;
    }
    fclose(f);
    p = strrchr(buf, ')');
    /* fields after ")": state(3) ... utime(14) stime(15) */
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return 0;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Busy time of all CPUs so far (/proc/stat "cpu" line, all but idle and
 * iowait), in seconds; 0 if unreadable. */
static double machine_busy_s(void)
{
    unsigned long long v[8] = {0};
    double busy = 0;
    FILE *f = fopen("/proc/stat", "r");

    if (!f)
        return 0;
    /* user nice system idle iowait irq softirq steal */
    if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
               &v[4], &v[5], &v[6], &v[7]) == 8)
        busy = (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / (double)sysconf(_SC_CLK_TCK);
    fclose(f);
    return busy;
}

static double self_cpu_s(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static unsigned short free_port(void)
{
    struct sockaddr_in a;
    socklen_t l = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    unsigned short p = 0;

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &l) == 0)
        p = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return p;
}

int main(int argc, char **argv)
{
    const char *vouchd = argc > 1 ? argv[1] : getenv("VOUCHD");
    int ndev = argc > 2 ? atoi(argv[2]) : 16;
    double secs = argc > 3 ? atof(argv[3]) : 10.0;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    device *devs;
    pthread_t th[MAX_DEVICES];
    char listen_s[64], threads_s[24], cmd[600];
    double es_sign = 0, es_verify = 0, ed_sign = 0, ed_verify = 0;
    double t0, t1, srv0, srv1, cli0, cli1, all0, all1, rate, bound, bound_shared, per_login;
    pid_t pid;
    int up = 0;

    if (!vouchd || ndev < 1 || ndev > MAX_DEVICES || secs <= 0) {
        fprintf(stderr, "usage: login [VOUCHD [DEVICES(1..%d) [SECONDS]]] (or $VOUCHD)\n",
                MAX_DEVICES);
        return 2;
    }
    if (cores < 1)
        cores = 1;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/vouch-bench-login-XXXXXX");
    if (!mkdtemp(tmpdir))
        die("mkdtemp", NULL);
    devs = calloc((size_t)ndev, sizeof(*devs));
    if (!devs)
        die("out of memory", NULL);
    make_fixtures(devs, ndev);

    port = free_port();
    snprintf(listen_s, sizeof(listen_s), "127.0.0.1:%u", port);
    snprintf(threads_s, sizeof(threads_s), "%ld",
             getenv("BENCH_THREADS") ? atol(getenv("BENCH_THREADS")) : cores);
    pid = fork();
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0 && !getenv("BENCH_DEBUG")) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execl(vouchd, vouchd, "serve", "--dir", tmpdir, "--listen", listen_s, "--threads",
              threads_s, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200 && !up; i++) {
        conn c;
        c.fd = -1;
        if (conn_open(&c) == 0) {
            close(c.fd);
            up = 1;
        } else {
            usleep(25000);
        }
    }
    if (!up) {
        kill(pid, SIGTERM);
        die("vouchd did not start", NULL);
    }

    printf("bench login: %d devices (threads, one keep-alive connection each), %.0f s, "
           "vouchd with %s worker threads on %ld cores, SQLite in %s\n",
           ndev, secs, threads_s, cores, tmpdir);
    fflush(stdout);
    srv0 = proc_cpu_s(pid);
    cli0 = self_cpu_s();
    all0 = machine_busy_s();
    t0 = now_s();
    for (int i = 0; i < ndev; i++)
        pthread_create(&th[i], NULL, device_thread, &devs[i]);
    usleep((useconds_t)(secs * 1e6));
    atomic_store(&stop_flag, 1);
    for (int i = 0; i < ndev; i++)
        pthread_join(th[i], NULL);
    t1 = now_s();
    srv1 = proc_cpu_s(pid);
    cli1 = self_cpu_s();
    all1 = machine_busy_s();
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);

    if (openssl_rates("ecdsap256", &es_sign, &es_verify) != 0 ||
        openssl_rates("ed25519", &ed_sign, &ed_verify) != 0)
        die("openssl speed failed", NULL);

    rate = (double)atomic_load(&logins_ok) / (t1 - t0);
    per_login = 1.0 / es_sign + 3.0 / es_verify;
    bound = (double)cores / per_login;
    bound_shared = (double)cores / (per_login + 2.0 / es_sign);
    printf("openssl speed (1 core): ecdsap256 sign %.0f/s verify %.0f/s; ed25519 sign %.0f/s "
           "verify %.0f/s\n",
           es_sign, es_verify, ed_sign, ed_verify);
    printf("logins: %lu ok, %lu failed in %.2f s\n", atomic_load(&logins_ok),
           atomic_load(&logins_failed), t1 - t0);
    printf("CPU used during the run: vouchd %.2f, devices (this bench) %.2f, the rest of the "
           "machine %.2f of %ld cores\n",
           (srv1 - srv0) / (t1 - t0), (cli1 - cli0) / (t1 - t0),
           all1 > all0 ? ((all1 - all0) - (srv1 - srv0) - (cli1 - cli0)) / (t1 - t0) : 0.0,
           cores);
    if (atomic_load(&logins_ok)) {
        double srv_us = (srv1 - srv0) / (double)atomic_load(&logins_ok) * 1e6;
        printf("server CPU per login: %.0f us (its signature work alone: %.0f us)\n", srv_us,
               per_login * 1e6);
        printf("client CPU per login: %.0f us (2 device signatures: %.0f us)\n",
               (cli1 - cli0) / (double)atomic_load(&logins_ok) * 1e6, 2.0 / es_sign * 1e6);
        if (srv_us > 0)
            printf("server capacity (%ld cores / server CPU per login, devices elsewhere) %.0f "
                   "logins/s, ratio to bound %.2f (not the target measure)\n",
                   cores, (double)cores / srv_us * 1e6, (double)cores / srv_us * 1e6 / bound);
    }
    printf("logins/s %.0f\n", rate);
    printf("bound (server signature work, %ld cores) %.0f logins/s\n", cores, bound);
    printf("bound_shared (+ the devices' 2 signatures on the same cores) %.0f logins/s\n",
           bound_shared);
    printf("ratio logins/bound %.2f (target %.2f) %s\n", rate / bound, TARGET,
           rate / bound >= TARGET ? "ok" : "BELOW TARGET");
    printf("ratio logins/bound_shared %.2f\n", rate / bound_shared);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench login: could not remove %s\n", tmpdir);
    for (int i = 0; i < ndev; i++) {
        vouch_key_free(devs[i].key);
        vouch_free(devs[i].credential);
    }
    free(devs);
    vouch_key_free(issuer_key);
    vouch_key_free(server_key);
    return 0;
}
