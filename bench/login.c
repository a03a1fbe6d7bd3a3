/* login.c - logins per second against a real vouchd, beside the bound set by
 * the signature operations one login needs, measured with `openssl speed`
 * in the same run.
 *
 * Setup (all in a temporary directory, with libvouch): a trust policy
 * (root, release, issuer and server keys, P-256), the server directory S,
 * and a pool of device identities (P-256 keys, ProductionCredentials;
 * $BENCH_IDENTITIES, default 60,000). N devices (connections) log in at
 * once, over and over, each on its own keep-alive connection (raw
 * non-blocking sockets, HTTP/1.1, TCP_NODELAY): POST /auth/siop, GET the
 * request object, verify it as vouch-agent does (vouch_siop_request_verify
 * with the policy's server key, client_id and response_uri checked), POST
 * the response, read the token. Every login takes the next identity of the
 * pool, as in a fleet where a device logs in again only when its token has
 * expired: no login finds a live token of its key (which would be a clone
 * signal) or its did:key already decoded. The output says if a run
 * outgrew the pool.
 *
 * The devices are driven by event-loop threads (epoll, edge-triggered),
 * each owning a share of them: each request leaves in one write, answers
 * are parsed as they arrive (Content-Length), buffers live as long as the
 * device. Any error (status not 200, a malformed answer, a request object
 * that fails verification, a closed connection) counts the login as
 * failed, reopens that connection and starts again.
 *
 * Two phases, each with a fresh database and a fresh vouchd:
 *
 *  split (the target): vouchd runs on the first half of the cores (one
 *    worker thread per core), the devices on the other half, as a server
 *    benchmark keeps its load generator off the server's cores. One login
 *    needs 1 ES256 signature (the request object) and 3 verifications
 *    (id_token, vp_token, credential) of the server, so on its cores no
 *    run could exceed
 *        bound = server cores / (1/sign_rate + 3/verify_rate)
 *    with the one-core rates of `openssl speed -mr -seconds 2 ecdsap256`.
 *    Target: logins/s >= 0.50 x bound.
 *
 *  shared (for comparison): vouchd and the devices on all cores. The
 *    devices' own signature work (2 signatures, id_token and vp_token,
 *    which hold the server's fresh nonce and cannot be made in advance, and
 *    1 verification of the request object) then shares the cores, and the
 *    bound is cores / (3/sign_rate + 4/verify_rate).
 *
 * For each phase: logins, the CPU vouchd, the devices and the rest of the
 * machine used (/proc; the rest tells a busy machine apart), and each
 * party's CPU per login beside its signature work. On one core only the
 * shared phase runs and the target is judged on it.
 *
 * stdout: one fact per line, prefixed with the phase.
 * usage: login [VOUCHD [DEVICES [SECONDS]]]   (default $VOUCHD, 16, 10 per phase)
 * $BENCH_THREADS: vouchd's worker threads (default: one per core it has);
 * $BENCH_CLIENT_THREADS: the devices' event loops (default: one per core);
 * $BENCH_IDENTITIES: the size of the identity pool;
 * $BENCH_DEBUG: vouchd's output, and why each failed login failed, on stderr.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
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
/* room in front of a request body for its head (the path is at most 1023) */
#define HEAD_ROOM 1536u
#define OUT_MAX (HEAD_ROOM + VOUCH_FORM_MAX_BODY)
/* an answer: a request object is at most VOUCH_LOGIN_MAX_BYTES, plus the head */
#define IN_MAX (VOUCH_LOGIN_MAX_BYTES + 4096u)
#define EVENTS_MAX 64

static char tmpdir[256];
static unsigned short port;
/* vouchd's public URL, the origin of the request_uri and response_uri it
 * hands out: without TLS, where it listens ("http://127.0.0.1:PORT") */
static char origin[64];
static size_t origin_len;
static atomic_int stop_flag;
static int debug;

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Says why and exits; the temporary directory (keys, databases) goes too. */
static void die(const char *what, const vouch_err *e)
{
    char cmd[300];

    fprintf(stderr, "bench login: %s%s%s\n", what, e ? ": " : "", e ? e->msg : "");
    if (tmpdir[0] && strchr(tmpdir, '\'') == NULL) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0)
            fprintf(stderr, "bench login: could not remove %s\n", tmpdir);
    }
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

enum { STEP_START, STEP_REQUEST, STEP_RESPONSE }; /* the answer a device awaits */

/* A device identity: its key, DID, credential and the (constant) first
 * request of its logins, made once. */
typedef struct identity {
    vouch_key *key;
    char did[VOUCH_DID_MAX + 1];
    char *credential;
    char *start;
    size_t start_len;
} identity;

/* A simulated device connection; each login takes the next identity of the
 * pool (next_identity), so that, as in a fleet, a key logs in again only
 * after the pool has gone round. */
typedef struct device {
    const identity *id;       /* the identity of the login in progress */
    /* the connection and the login in progress, owned by one event loop */
    int fd;                   /* -1: closed, to be reopened */
    int step;
    const char *wp;           /* still to write: wlen bytes at wp */
    size_t wlen;
    char *out;                /* HEAD_ROOM for the head, then the body */
    char *in;                 /* the answer so far, IN_MAX + 1 */
    size_t in_len, scan;      /* bytes read; searched for the head's end */
    size_t head_len, body_len;/* 0 until the head is complete */
    int status, close_after;
    char client_id[256], request_uri[1024];
} device;

static vouch_key *issuer_key, *server_key;
static vouch_policy *policy; /* the trust policy the devices pinned */
static identity *ids;
static unsigned long n_ids;
static atomic_ulong next_identity; /* per phase */

static void make_fixtures(unsigned long n)
{
    static const char *const kids[] = {"root-1", "release-1", "issuer-1", "server-1"};
    vouch_key *keys[4] = {NULL, NULL, NULL, NULL};
    vouch_jws_keyref signer;
    json_t *pol, *jwks, *doc = NULL;
    char *payload = NULL, *signed_pol = NULL, *did_json = NULL, path[512];
    size_t plen = 0, slen = 0;
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
    /* the verified policy is kept: its server role (server_key's public
     * half) is what the devices verify request objects with */
    if (vouch_policy_sign(payload, plen, &signer, 1, &signed_pol, &slen, &e) != VOUCH_OK ||
        vouch_policy_verify_root(signed_pol, slen, now, &policy, &e) != VOUCH_OK ||
        vouch_policy_did_document(policy, "did:web:bench.example", &doc, &e) != VOUCH_OK ||
        vouch_json_dump(doc, &did_json, &plen, &e) != VOUCH_OK)
        die("policy", &e);
    write_file("policy.jws", signed_pol, 0644);
    write_file("did.json", did_json, 0644);
    write_file("did-configuration.json", "{}", 0644);
    write_file("server.json",
               "{\"domain\":\"bench.example\",\"did\":\"did:web:bench.example\","
               "\"kid\":\"server-1\"}",
               0644);
    write_file("authz.json",
               "{\"mode\":\"credential\",\"access_ttl\":3600,\"nonce_ttl\":600}", 0644);
    snprintf(path, sizeof(path), "%s/server.pem", tmpdir);
    if (vouch_key_save_pem(keys[3], path, 0, &e) != VOUCH_OK)
        die("server key", &e);
    issuer_key = keys[2];
    server_key = keys[3];
    ids = calloc(n, sizeof(*ids));
    if (!ids)
        die("out of memory", NULL);
    for (unsigned long i = 0; i < n; i++) {
        vouch_device_facts f;
        identity *d = &ids[i];
        char *did = NULL;
        int bl;
        memset(&f, 0, sizeof(f));
        if (vouch_key_generate(VOUCH_KEY_P256, &d->key, &e) != VOUCH_OK ||
            vouch_did_key_encode(d->key, &did, &e) != VOUCH_OK)
            die("device key", &e);
        snprintf(d->did, sizeof(d->did), "%s", did);
        snprintf(f.did, sizeof(f.did), "%s", did);
        snprintf(f.serial, sizeof(f.serial), "SN-%07lu", i);
        snprintf(f.hardware, sizeof(f.hardware), "board-a");
        snprintf(f.produced_by, sizeof(f.produced_by), "did:web:bench.example#line-1");
        snprintf(f.production_date, sizeof(f.production_date), "2025-06-01");
        vouch_free(did);
        if (vouch_production_issue(issuer_key, "did:web:bench.example", "issuer-1", &f, now,
                                   86400, &d->credential, &e) != VOUCH_OK)
            die("credential", &e);
        bl = (int)strlen(d->did) + 10; /* {"did":"..."} */
        d->start = malloc(HEAD_ROOM + VOUCH_DID_MAX + 16);
        if (!d->start)
            die("out of memory", NULL);
        d->start_len = (size_t)snprintf(d->start, HEAD_ROOM + VOUCH_DID_MAX + 16,
                                        "POST /auth/siop HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                        "Content-Type: application/json\r\nContent-Length: "
                                        "%d\r\n\r\n{\"did\":\"%s\"}",
                                        bl, d->did);
    }
    vouch_key_free(keys[0]);
    vouch_key_free(keys[1]);
    json_decref(pol);
    json_decref(doc);
    vouch_free(payload);
    vouch_free(signed_pol);
    vouch_free(did_json);
}

/* A device's buffers, made once (what was made before a failure is
 * device_free's to release). */
static int device_init(device *d)
{
    d->fd = -1;
    d->out = malloc(OUT_MAX);
    d->in = malloc(IN_MAX + 1);
    return d->out && d->in ? 0 : -1;
}

static void device_free(device *d)
{
    if (d->fd >= 0)
        close(d->fd);
    free(d->out);
    free(d->in);
}

static void identities_free(void)
{
    for (unsigned long i = 0; i < n_ids; i++) {
        vouch_key_free(ids[i].key);
        vouch_free(ids[i].credential);
        free(ids[i].start);
    }
    free(ids);
}

/* ---------------------------------------------------------------- HTTP */

/* A connected (or, nonblock, connecting) socket to vouchd, or -1. */
static int tcp_connect(int nonblock)
{
    struct sockaddr_in a;
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);

    if (fd < 0)
        return -1;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 && !(nonblock && errno == EINPROGRESS)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* A bounded text builder: overflow sets over and writes nothing more. */
typedef struct text {
    char *p;
    size_t len, cap;
    int over;
} text;

static void put(text *t, const char *s, size_t n)
{
    if (t->over || n > t->cap - t->len) {
        t->over = 1;
        return;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
}

static void put_str(text *t, const char *s)
{
    put(t, s, strlen(s));
}

static void put_num(text *t, size_t v)
{
    char d[24];
    size_t i = sizeof(d);

    do
        d[--i] = (char)('0' + v % 10);
    while (v /= 10);
    put(t, d + i, sizeof(d) - i);
}

/* "&name=value" (no '&' first), value percent-encoded as vouch_form_encode
 * does (RFC 3986 unreserved bytes as they are), straight into the body. */
static void put_field(text *t, const char *name, const char *v)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t vl = strlen(v);
    char *o;

    if (t->len)
        put(t, "&", 1);
    put_str(t, name);
    put(t, "=", 1);
    if (t->over || vl > (t->cap - t->len) / 3) { /* the worst case, checked first */
        t->over = 1;
        return;
    }
    o = t->p + t->len;
    for (size_t i = 0; i < vl; i++) {
        unsigned char c = (unsigned char)v[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            *o++ = (char)c;
        } else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    t->len = (size_t)(o - t->p);
}

/* Puts the head of a request whose body (blen bytes) is already at
 * d->out + HEAD_ROOM right in front of it, so that both leave in one
 * write. A GET carries no Content-Length: MHD closes a connection whose
 * request body it was not asked to read. */
static int request_make(device *d, const char *method, const char *path, const char *ctype,
                        size_t blen)
{
    char head[HEAD_ROOM];
    text t = {head, 0, sizeof(head), 0};

    put_str(&t, method);
    put(&t, " ", 1);
    put_str(&t, path);
    put_str(&t, " HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    if (ctype) {
        put_str(&t, "Content-Type: ");
        put_str(&t, ctype);
        put_str(&t, "\r\nContent-Length: ");
        put_num(&t, blen);
        put_str(&t, "\r\n");
    }
    put_str(&t, "\r\n");
    if (t.over)
        return -1;
    memcpy(d->out + HEAD_ROOM - t.len, head, t.len);
    d->wp = d->out + HEAD_ROOM - t.len;
    d->wlen = t.len + blen;
    return 0;
}

/* The value of header line (len bytes, no CRLF) if it is name, else NULL. */
static const char *header_value(const char *line, size_t len, const char *name)
{
    size_t n = strlen(name);

    if (len <= n || line[n] != ':' || strncasecmp(line, name, n) != 0)
        return NULL;
    line += n + 1;
    while (*line == ' ' || *line == '\t')
        line++;
    return line;
}

/* Parses what has arrived of an answer: 1 when d->in holds all of it
 * (status, head_len, body_len set), 0 when more is to come, -1 when it is
 * malformed or not what this client reads (no Content-Length, chunked). */
static int answer_parse(device *d)
{
    if (!d->head_len) {
        size_t from = d->scan > 3 ? d->scan - 3 : 0, cl = (size_t)-1;
        const char *end = memmem(d->in + from, d->in_len - from, "\r\n\r\n", 4), *line, *v;

        d->scan = d->in_len;
        if (!end)
            return 0;
        d->head_len = (size_t)(end - d->in) + 4;
        /* "HTTP/1.1 200 ..." */
        if (d->head_len < 16 || memcmp(d->in, "HTTP/1.", 7) != 0 || d->in[8] != ' ' ||
            d->in[9] < '1' || d->in[9] > '5' || d->in[10] < '0' || d->in[10] > '9' ||
            d->in[11] < '0' || d->in[11] > '9')
            return -1;
        d->status = (d->in[9] - '0') * 100 + (d->in[10] - '0') * 10 + (d->in[11] - '0');
        /* header lines, each ending in CRLF, between the status line and end */
        for (line = (const char *)memchr(d->in, '\n', d->head_len) + 1; line < end + 2;) {
            const char *nl = memchr(line, '\n', (size_t)(end + 2 - line));
            size_t ll = (size_t)(nl - line);
            if (ll == 0 || line[ll - 1] != '\r')
                return -1;
            ll--;
            if ((v = header_value(line, ll, "content-length"))) {
                const char *digits = v;
                cl = 0;
                for (; v < line + ll && *v >= '0' && *v <= '9'; v++) {
                    if (cl > IN_MAX)
                        return -1; /* too large: stop before it can overflow */
                    cl = cl * 10 + (size_t)(*v - '0');
                }
                while (v < line + ll && (*v == ' ' || *v == '\t'))
                    v++;
                if (v == digits || v != line + ll)
                    return -1;
            } else if (header_value(line, ll, "transfer-encoding")) {
                return -1;
            } else if ((v = header_value(line, ll, "connection")) &&
                       strncasecmp(v, "close", 5) == 0) {
                d->close_after = 1;
            }
            line = nl + 1;
        }
        /* the head was found within IN_MAX, so head_len <= in_len <= IN_MAX */
        if (cl == (size_t)-1 || cl > IN_MAX - d->head_len)
            return -1;
        d->body_len = cl;
    }
    if (d->in_len < d->head_len + d->body_len)
        return 0;
    if (d->in_len > d->head_len + d->body_len)
        return -1; /* bytes past the answer: nothing else was asked */
    d->in[d->in_len] = '\0';
    return 1;
}

/* ----------------------------------------------------------- event loops */

typedef struct worker {
    pthread_t th;
    device *devs;             /* its share: devs[0..n) */
    int n, ep;
    int parked;               /* devices whose connection is to be reopened */
    unsigned long ok, failed;
    char pad[64];             /* the next worker's counters on another line */
} worker;

static const char *const step_names[] = {"POST /auth/siop", "GET request_uri",
                                         "POST response_uri"};

/* Counts a failed login, says why with $BENCH_DEBUG, and closes the
 * connection: the loop reopens it and starts a new login. */
static void device_fail(worker *w, device *d, const char *why, const vouch_err *e)
{
    /* an answer's body, as far as it came, says why the server refused */
    size_t shown = d->head_len && d->status != 200 ? d->in_len - d->head_len : 0;

    w->failed++;
    if (debug) /* one call, so that the loops' lines do not interleave */
        fprintf(stderr, "bench login: device %s: %s: %s%s%s%s%.*s%s\n",
                d->id->did + strlen(d->id->did) - 8, step_names[d->step], why, e ? ": " : "",
                e ? e->msg : "", shown ? " (" : "", (int)(shown < 300 ? shown : 300),
                d->in + d->head_len, shown ? ")" : "");
    if (d->fd >= 0)
        close(d->fd); /* which also takes it out of the epoll set */
    d->fd = -1;
    w->parked++;
}

/* Writes what is left of the request: 0 all written, 1 the socket is full
 * (the next EPOLLOUT edge resumes), -1 failed (counted). A socket still
 * connecting also answers EAGAIN, and its EPOLLOUT edge comes once it is
 * connected. */
static int device_write(worker *w, device *d)
{
    while (d->wlen) {
        ssize_t n = send(d->fd, d->wp, d->wlen, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 1;
        if (n <= 0) {
            device_fail(w, d, n < 0 ? strerror(errno) : "send wrote nothing", NULL);
            return -1;
        }
        d->wp += n;
        d->wlen -= (size_t)n;
    }
    return 0;
}

/* Sends the request at wp (the step already set), on a new connection when
 * there is none or the server closed the last one; the answer then starts
 * from an empty buffer. */
static void device_send(worker *w, device *d)
{
    struct epoll_event ev;

    d->in_len = d->scan = d->head_len = d->body_len = 0;
    d->status = 0;
    if (d->fd >= 0 && d->close_after) {
        close(d->fd);
        d->fd = -1;
    }
    if (d->fd < 0) {
        d->close_after = 0;
        d->fd = tcp_connect(1);
        /* edge-triggered: one registration for the connection's life; the
         * loop reads or writes until EAGAIN or the answer is complete */
        ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
        ev.data.ptr = d;
        if (d->fd < 0 || epoll_ctl(w->ep, EPOLL_CTL_ADD, d->fd, &ev) != 0) {
            device_fail(w, d, strerror(errno), NULL);
            return;
        }
    }
    device_write(w, d);
}

static void login_begin(worker *w, device *d)
{
    unsigned long k = atomic_fetch_add_explicit(&next_identity, 1, memory_order_relaxed);

    d->id = &ids[k % n_ids];
    d->step = STEP_START;
    d->wp = d->id->start;
    d->wlen = d->id->start_len;
    device_send(w, d);
}

/* The start answer: the request_uri, which must be of the server's origin
 * (vouch-agent refuses any other), then GET it. */
static int on_start(device *d, const char *body, size_t len, const char **why, vouch_err *e)
{
    if (vouch_login_start_reply_parse(body, len, d->client_id, sizeof(d->client_id),
                                      d->request_uri, sizeof(d->request_uri), e) != VOUCH_OK) {
        *why = "start answer";
        return -1;
    }
    if (strncmp(d->request_uri, origin, origin_len) != 0 || d->request_uri[origin_len] != '/') {
        *why = "request_uri is not of the server's origin";
        return -1;
    }
    if (request_make(d, "GET", d->request_uri + origin_len, NULL, 0) != 0) {
        *why = "request_uri too long";
        return -1;
    }
    return 0;
}

/* The request object: verified as vouch-agent does (the policy's server
 * key, response_uri of the server's origin, client_id the one of the start
 * answer), then answered with the id_token, vp_token and submission, as a
 * form built in place behind the room for the head. */
static int on_request(device *d, const char *body, size_t len, const char **why, vouch_err *e)
{
    int64_t now = (int64_t)time(NULL);
    text t = {d->out + HEAD_ROOM, 0, OUT_MAX - HEAD_ROOM, 0};
    vouch_siop_request req;
    vouch_siop_response resp;
    int rc = -1;

    memset(&req, 0, sizeof(req));
    memset(&resp, 0, sizeof(resp));
    if (vouch_siop_request_verify(policy, body, len, origin, now, &req, e) != VOUCH_OK) {
        *why = "verification";
        goto out;
    }
    if (strcmp(req.client_id, d->client_id) != 0) {
        *why = "the request object's client_id differs from the start answer's";
        goto out;
    }
    if (vouch_siop_response_build(d->id->key, d->id->credential, &req, now, &resp, e) !=
        VOUCH_OK) {
        *why = "building the response";
        goto out;
    }
    put_field(&t, "id_token", resp.id_token);
    if (resp.vp_token)
        put_field(&t, "vp_token", resp.vp_token);
    if (resp.presentation_submission)
        put_field(&t, "presentation_submission", resp.presentation_submission);
    put_field(&t, "state", req.state);
    /* verified: response_uri is the origin + "/..." */
    if (t.over || request_make(d, "POST", req.response_uri + origin_len,
                               "application/x-www-form-urlencoded", t.len) != 0) {
        *why = "response too large";
        goto out;
    }
    rc = 0;
out:
    vouch_siop_request_free(&req);
    vouch_siop_response_free(&resp);
    return rc;
}

/* A whole answer has arrived: check it and send the next request. */
static void device_answer(worker *w, device *d)
{
    const char *body = d->in + d->head_len, *why = "status";
    char token[257];
    int64_t ttl;
    vouch_err e;
    int rc = -1;

    vouch_err_clear(&e);
    if (d->status != 200)
        goto out;
    switch (d->step) {
    case STEP_START:
        rc = on_start(d, body, d->body_len, &why, &e);
        break;
    case STEP_REQUEST:
        rc = on_request(d, body, d->body_len, &why, &e);
        break;
    default:
        why = "token answer";
        rc = vouch_token_reply_parse(body, d->body_len, token, sizeof(token), &ttl, &e) ==
                     VOUCH_OK
                 ? 0
                 : -1;
        break;
    }
out:
    if (rc != 0) {
        device_fail(w, d, why, e.code != VOUCH_OK ? &e : NULL);
    } else if (d->step == STEP_RESPONSE) {
        w->ok++;
        login_begin(w, d);
    } else {
        d->step++;
        device_send(w, d);
    }
}

/* Reads until EAGAIN or a whole answer. With edge triggering, stopping at a
 * whole answer loses nothing: the server sends nothing unasked (more bytes
 * would be an error), and what it sends after the next request comes with
 * a new edge. */
static void device_read(worker *w, device *d, uint32_t events)
{
    for (;;) {
        ssize_t n;
        int r;

        if (d->in_len == IN_MAX) {
            device_fail(w, d, "answer too large", NULL);
            return;
        }
        n = recv(d->fd, d->in + d->in_len, IN_MAX - d->in_len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            device_fail(w, d, n < 0 ? strerror(errno) : "connection closed", NULL);
            return;
        }
        d->in_len += (size_t)n;
        r = answer_parse(d);
        if (r < 0) {
            device_fail(w, d, "malformed answer", NULL);
            return;
        }
        if (r > 0) {
            if (events & (EPOLLRDHUP | EPOLLHUP))
                d->close_after = 1; /* the server closed after answering */
            device_answer(w, d);
            return;
        }
    }
}

static void device_event(worker *w, device *d, uint32_t events)
{
    if (d->fd < 0)
        return;
    if (d->wlen && device_write(w, d) != 0)
        return;
    /* an answer may arrive as soon as the request is out, in this very edge */
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        device_read(w, d, events);
}

static void *worker_run(void *arg)
{
    worker *w = arg;
    struct epoll_event ev[EVENTS_MAX];

    for (int i = 0; i < w->n; i++)
        login_begin(w, &w->devs[i]);
    while (!atomic_load_explicit(&stop_flag, memory_order_relaxed)) {
        int n;

        /* reopen failed connections first, then wait; a connection that
         * fails at once is retried after the next wait (at most 10 ms) */
        if (w->parked) {
            w->parked = 0;
            for (int i = 0; i < w->n; i++)
                if (w->devs[i].fd < 0)
                    login_begin(w, &w->devs[i]);
        }
        n = epoll_wait(w->ep, ev, EVENTS_MAX, w->parked ? 10 : 50);
        for (int i = 0; i < n; i++)
            device_event(w, ev[i].data.ptr, ev[i].events);
    }
    /* logins still under way are left unfinished and uncounted */
    for (int i = 0; i < w->n; i++)
        if (w->devs[i].fd >= 0) {
            close(w->devs[i].fd);
            w->devs[i].fd = -1;
        }
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

/* ------------------------------------------------------------------ runs */

typedef struct phase {
    const char *name;
    cpu_set_t srv_cpus, dev_cpus; /* where vouchd and the devices may run */
    int srv_cores, dev_cores;     /* their counts */
    int srv_threads, nw;          /* vouchd's workers, the devices' event loops */
    /* results */
    unsigned long ok, failed, logins_started;
    double secs, srv_cpu, cli_cpu, rest_cpu;
} phase;

static void cpus_first(cpu_set_t *set, int from, int n)
{
    CPU_ZERO(set);
    for (int i = from; i < from + n; i++)
        CPU_SET(i, set);
}

/* One run: a fresh database, vouchd started on ph->srv_cpus, the devices'
 * loops on ph->dev_cpus, SECONDS of logins, vouchd stopped. */
static void run_phase(const char *vouchd, device *devs, int ndev, double secs, phase *ph)
{
    worker *ws = calloc((size_t)ph->nw, sizeof(*ws));
    char listen_s[64], threads_s[24], db[400];
    cpu_set_t all;
    double t0, t1, srv0, srv1, cli0, cli1, all0, all1;
    int started = 0, up = 0;
    pid_t pid;

    if (!ws)
        die("out of memory", NULL);
    /* each loop owns a contiguous share, so no two loops write one line */
    for (int t = 0; t < ph->nw; t++) {
        int first = (int)((long)t * ndev / ph->nw), end = (int)((long)(t + 1) * ndev / ph->nw);
        ws[t].devs = devs + first;
        ws[t].n = end - first;
        ws[t].ep = epoll_create1(EPOLL_CLOEXEC);
        if (ws[t].ep < 0)
            die("epoll_create1", NULL);
    }
    atomic_store(&stop_flag, 0);
    atomic_store(&next_identity, 0);
    sched_getaffinity(0, sizeof(all), &all);
    port = free_port();
    snprintf(listen_s, sizeof(listen_s), "127.0.0.1:%u", port);
    origin_len = (size_t)snprintf(origin, sizeof(origin), "http://%s", listen_s);
    snprintf(threads_s, sizeof(threads_s), "%d", ph->srv_threads);
    snprintf(db, sizeof(db), "sqlite:%s/%s.db", tmpdir, ph->name);
    pid = fork();
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0 && !debug) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        sched_setaffinity(0, sizeof(ph->srv_cpus), &ph->srv_cpus);
        execl(vouchd, vouchd, "serve", "--dir", tmpdir, "--db", db, "--listen", listen_s,
              "--threads", threads_s, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200 && !up; i++) {
        int fd = tcp_connect(0);
        if (fd >= 0) {
            close(fd);
            up = 1;
        } else {
            usleep(25000);
        }
    }
    if (!up) {
        kill(pid, SIGTERM);
        die("vouchd did not start", NULL);
    }
    /* the loops inherit this thread's CPUs */
    sched_setaffinity(0, sizeof(ph->dev_cpus), &ph->dev_cpus);
    srv0 = proc_cpu_s(pid);
    cli0 = self_cpu_s();
    all0 = machine_busy_s();
    t0 = now_s();
    while (started < ph->nw &&
           pthread_create(&ws[started].th, NULL, worker_run, &ws[started]) == 0)
        started++;
    if (started == ph->nw)
        usleep((useconds_t)(secs * 1e6));
    atomic_store(&stop_flag, 1);
    for (int t = 0; t < started; t++)
        pthread_join(ws[t].th, NULL);
    t1 = now_s();
    srv1 = proc_cpu_s(pid);
    cli1 = self_cpu_s();
    all1 = machine_busy_s();
    sched_setaffinity(0, sizeof(all), &all);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    if (started < ph->nw)
        die("pthread_create failed", NULL);
    for (int t = 0; t < ph->nw; t++) {
        ph->ok += ws[t].ok;
        ph->failed += ws[t].failed;
        close(ws[t].ep);
    }
    ph->logins_started = atomic_load(&next_identity);
    ph->secs = t1 - t0;
    ph->srv_cpu = srv1 - srv0;
    ph->cli_cpu = cli1 - cli0;
    ph->rest_cpu = all1 > all0 ? (all1 - all0) - ph->srv_cpu - ph->cli_cpu : 0.0;
    free(ws);
}

static void print_phase(const phase *ph, double srv_sig, double dev_sig)
{
    printf("%s: logins: %lu ok, %lu failed in %.2f s; %lu logins started, %s\n", ph->name,
           ph->ok, ph->failed, ph->secs, ph->logins_started,
           ph->logins_started > n_ids ? "SOME REUSED AN IDENTITY (raise $BENCH_IDENTITIES)"
                                      : "each with an identity of its own");
    printf("%s: CPU used: vouchd %.2f of its %d, devices %.2f of their %d, the rest of the "
           "machine %.2f\n",
           ph->name, ph->srv_cpu / ph->secs, ph->srv_cores, ph->cli_cpu / ph->secs,
           ph->dev_cores, ph->rest_cpu / ph->secs);
    if (ph->ok) {
        printf("%s: server CPU per login %.0f us (its signature work, 1 sign + 3 verifies: "
               "%.0f us)\n",
               ph->name, ph->srv_cpu / (double)ph->ok * 1e6, srv_sig * 1e6);
        printf("%s: device CPU per login %.0f us (its signature work, 2 signs + 1 verify: "
               "%.0f us)\n",
               ph->name, ph->cli_cpu / (double)ph->ok * 1e6, dev_sig * 1e6);
    }
    printf("%s: logins/s %.0f\n", ph->name, (double)ph->ok / ph->secs);
}

int main(int argc, char **argv)
{
    const char *vouchd = argc > 1 ? argv[1] : getenv("VOUCHD");
    int ndev = argc > 2 ? atoi(argv[2]) : 16;
    double secs = argc > 3 ? atof(argv[3]) : 10.0;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    device *devs;
    phase split, shared;
    char cmd[600];
    double es_sign = 0, es_verify = 0, ed_sign = 0, ed_verify = 0, srv_sig, dev_sig;
    double bound_split = 0, bound_shared, rate_split = 0, rate_shared;
    int can_split;

    if (!vouchd || ndev < 1 || ndev > MAX_DEVICES || secs <= 0) {
        fprintf(stderr, "usage: login [VOUCHD [DEVICES(1..%d) [SECONDS]]] (or $VOUCHD)\n",
                MAX_DEVICES);
        return 2;
    }
    if (cores < 1)
        cores = 1;
    if (cores > CPU_SETSIZE)
        cores = CPU_SETSIZE;
    debug = getenv("BENCH_DEBUG") != NULL;
    n_ids = getenv("BENCH_IDENTITIES") ? strtoul(getenv("BENCH_IDENTITIES"), NULL, 10) : 60000;
    if (n_ids < 1)
        n_ids = 1;
    can_split = cores >= 2;
    memset(&split, 0, sizeof(split));
    memset(&shared, 0, sizeof(shared));
    /* split: vouchd on the first half of the cores, the devices on the rest */
    split.name = "split";
    split.srv_cores = (int)(cores / 2);
    split.dev_cores = (int)cores - split.srv_cores;
    cpus_first(&split.srv_cpus, 0, split.srv_cores);
    cpus_first(&split.dev_cpus, split.srv_cores, split.dev_cores);
    split.srv_threads = getenv("BENCH_THREADS") ? atoi(getenv("BENCH_THREADS")) : split.srv_cores;
    split.nw = getenv("BENCH_CLIENT_THREADS") ? atoi(getenv("BENCH_CLIENT_THREADS"))
                                              : split.dev_cores;
    /* shared: both on every core */
    shared.name = "shared";
    shared.srv_cores = shared.dev_cores = (int)cores;
    cpus_first(&shared.srv_cpus, 0, (int)cores);
    shared.dev_cpus = shared.srv_cpus;
    shared.srv_threads = getenv("BENCH_THREADS") ? atoi(getenv("BENCH_THREADS")) : (int)cores;
    shared.nw = getenv("BENCH_CLIENT_THREADS") ? atoi(getenv("BENCH_CLIENT_THREADS"))
                                               : (int)cores;
    for (phase *ph = &split; ph; ph = ph == &split ? &shared : NULL) {
        if (ph->srv_threads < 1)
            ph->srv_threads = 1;
        if (ph->nw < 1)
            ph->nw = 1;
        if (ph->nw > ndev)
            ph->nw = ndev;
    }

    snprintf(tmpdir, sizeof(tmpdir), "/tmp/vouch-bench-login-XXXXXX");
    if (!mkdtemp(tmpdir))
        die("mkdtemp", NULL);
    devs = calloc((size_t)ndev, sizeof(*devs));
    if (!devs)
        die("out of memory", NULL);
    make_fixtures(n_ids);
    for (int i = 0; i < ndev; i++)
        if (device_init(&devs[i]) != 0)
            die("out of memory", NULL);

    printf("bench login: %d device(s) logging in at once (one keep-alive connection each), %.0f s "
           "per phase, %lu device identities, vouchd with SQLite in %s, %ld cores\n",
           ndev, secs, n_ids, tmpdir, cores);
    if (can_split) {
        printf("split: vouchd on %d core(s) with %d worker thread(s), the devices on the other "
               "%d with %d event loop(s)\n",
               split.srv_cores, split.srv_threads, split.dev_cores, split.nw);
        fflush(stdout);
        run_phase(vouchd, devs, ndev, secs, &split);
    }
    printf("shared: vouchd (%d worker threads) and the devices (%d event loops) on all %ld "
           "cores\n",
           shared.srv_threads, shared.nw, cores);
    fflush(stdout);
    run_phase(vouchd, devs, ndev, secs, &shared);

    if (openssl_rates("ecdsap256", &es_sign, &es_verify) != 0 ||
        openssl_rates("ed25519", &ed_sign, &ed_verify) != 0)
        die("openssl speed failed", NULL);
    srv_sig = 1.0 / es_sign + 3.0 / es_verify; /* request object; id_token, vp_token, VC */
    dev_sig = 2.0 / es_sign + 1.0 / es_verify; /* id_token, vp_token; request object */
    printf("openssl speed (1 core): ecdsap256 sign %.0f/s verify %.0f/s; ed25519 sign %.0f/s "
           "verify %.0f/s\n",
           es_sign, es_verify, ed_sign, ed_verify);
    if (can_split) {
        print_phase(&split, srv_sig, dev_sig);
        rate_split = (double)split.ok / split.secs;
        bound_split = (double)split.srv_cores / srv_sig;
        printf("split: bound (the server's signature work, 1 sign + 3 verifies per login, on "
               "its %d core(s)) %.0f logins/s\n",
               split.srv_cores, bound_split);
    }
    print_phase(&shared, srv_sig, dev_sig);
    rate_shared = (double)shared.ok / shared.secs;
    bound_shared = (double)cores / (srv_sig + dev_sig);
    printf("shared: bound (both parties' signature work, 3 signs + 4 verifies per login, on "
           "the same %ld cores) %.0f logins/s, ratio %.2f (for comparison)\n",
           cores, bound_shared, rate_shared / bound_shared);
    if (can_split)
        printf("ratio logins/bound %.2f (target %.2f) %s\n", rate_split / bound_split, TARGET,
               rate_split / bound_split >= TARGET ? "ok" : "BELOW TARGET");
    else
        printf("ratio logins/bound %.2f (target %.2f) %s (one core: shared phase)\n",
               rate_shared / bound_shared, TARGET,
               rate_shared / bound_shared >= TARGET ? "ok" : "BELOW TARGET");
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench login: could not remove %s\n", tmpdir);
    for (int i = 0; i < ndev; i++)
        device_free(&devs[i]);
    free(devs);
    identities_free();
    vouch_policy_free(policy);
    vouch_key_free(issuer_key);
    vouch_key_free(server_key);
    return 0;
}
