/* http.c - vouchd's HTTP(S) front on libmicrohttpd (thread pool, epoll).
 *
 * Routes (docs/server.md):
 *   GET  /.well-known/did.json                 S/did.json
 *   GET  /.well-known/did-configuration.json   S/did-configuration.json
 *   POST /auth/siop                            login.c
 *   GET  /auth/request/<id>                    login.c
 *   POST /auth/response                        login.c
 *   GET  /api/v1/whoami                        login.c
 *   GET  /metrics                              metrics.c (loopback peers only)
 *   GET  /healthz
 * Anything else is 404; a known path with another method is 405 (with
 * Allow). Error bodies never contain the URL, headers or body that came in.
 *
 * Limits, in the order they apply: MHD's connection memory (request line
 * and headers), a declared Content-Length above VOUCH_FORM_MAX_BODY (413 at
 * once, the body is never read), then the bytes actually received (a
 * chunked body past the cap is drained up to DRAIN_MAX, then answered 413,
 * or the connection is closed if it goes on). Idle connections time out
 * after CONN_TIMEOUT_S seconds.
 *
 * Plain HTTP is served only on loopback addresses; anything else needs
 * --tls-cert and --tls-key. SIGTERM or SIGINT stop accepting, let requests
 * in flight finish (up to STOP_GRACE_MS), then stop. Every PRUNE_S seconds
 * expired logins and tokens (older than an hour) are deleted. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "vouchd/vouchd.h"

#define CONN_TIMEOUT_S 10u
#define CONN_LIMIT 1024u
#define CONN_PER_IP 512u
#define CONN_MEMORY (32u * 1024u)
#define DRAIN_MAX (1024u * 1024u)
#define STOP_GRACE_MS 5000
#define TLS_FILE_MAX (64u * 1024u)
#define PEER_MAX 64
#define PRUNE_S 60
#define PRUNE_KEEP_S 3600

enum route {
    R_NONE,
    R_DID,
    R_DIDCONF,
    R_SIOP,
    R_REQUEST,
    R_RESPONSE,
    R_WHOAMI,
    R_METRICS,
    R_HEALTH
};

typedef struct http_req {
    enum route rt;
    vouch_buf body;
    size_t drained;
    int too_large;
    int answered;
} http_req;

static enum route route_of(const char *url)
{
    static const struct {
        const char *path;
        enum route rt;
    } table[] = {
        {"/.well-known/did.json", R_DID},
        {"/.well-known/did-configuration.json", R_DIDCONF},
        {"/auth/siop", R_SIOP},
        {"/auth/response", R_RESPONSE},
        {"/api/v1/whoami", R_WHOAMI},
        {"/metrics", R_METRICS},
        {"/healthz", R_HEALTH},
    };

    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (strcmp(url, table[i].path) == 0)
            return table[i].rt;
    if (strncmp(url, "/auth/request/", 14) == 0)
        return R_REQUEST;
    return R_NONE;
}

static int route_is_post(enum route rt) { return rt == R_SIOP || rt == R_RESPONSE; }

static void peer_text(struct MHD_Connection *c, char *out, size_t cap, int *loopback)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;

    snprintf(out, cap, "unknown");
    *loopback = 0;
    if (!sa)
        return;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *a4 = (const struct sockaddr_in *)(const void *)sa;
        inet_ntop(AF_INET, &a4->sin_addr, out, (socklen_t)cap);
        *loopback = (ntohl(a4->sin_addr.s_addr) >> 24) == 127;
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)(const void *)sa;
        inet_ntop(AF_INET6, &a6->sin6_addr, out, (socklen_t)cap);
        *loopback = IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr);
    }
}

static enum MHD_Result send_body(struct MHD_Connection *c, unsigned status, const char *ctype,
                                 const char *body, size_t len, const char *allow)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;

    vd_metric_inc(VD_M_REQUESTS);
    resp = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    ret = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result send_reply(struct MHD_Connection *c, vd_reply *r, const char *allow)
{
    enum MHD_Result ret;

    if (!r->body)
        return MHD_NO;
    ret = send_body(c, r->status, r->content_type, r->body, r->len, allow);
    vd_reply_free(r);
    return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *c, vouch_code code, unsigned status,
                                  const char *msg, const char *allow)
{
    vd_reply r;

    vd_reply_error(&r, code, msg);
    if (status)
        r.status = status;
    return send_reply(c, &r, allow);
}

/* A declared Content-Length above the cap (digits only; MHD refused
 * anything malformed already). */
static int declared_too_large(struct MHD_Connection *c)
{
    const char *cl =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    unsigned long long v = 0;

    if (!cl)
        return 0;
    for (; *cl >= '0' && *cl <= '9'; cl++) {
        if (v > VOUCH_FORM_MAX_BODY)
            return 1;
        v = v * 10u + (unsigned)(*cl - '0');
    }
    return v > VOUCH_FORM_MAX_BODY;
}

/* The media type of the request without parameters, compared case-
 * insensitively: 1 if it is `want`. */
static int content_type_is(struct MHD_Connection *c, const char *want)
{
    const char *ct =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    size_t n = strlen(want);

    if (!ct)
        return 0;
    while (*ct == ' ')
        ct++;
    return strncasecmp(ct, want, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static enum MHD_Result answer_get(vd_server *s, struct MHD_Connection *c, enum route rt,
                                  const char *url)
{
    vd_reply r;
    char peer[PEER_MAX];
    int loop = 0;

    memset(&r, 0, sizeof(r));
    switch (rt) {
    case R_DID:
        return send_body(c, 200, "application/did+ld+json", s->cfg.did_json,
                         s->cfg.did_json_len, NULL);
    case R_DIDCONF:
        return send_body(c, 200, "application/json", s->cfg.did_config, s->cfg.did_config_len,
                         NULL);
    case R_HEALTH:
        return send_body(c, 200, "application/json", "{\"status\":\"ok\"}", 15, NULL);
    case R_METRICS: {
        char *text = NULL;
        size_t len = 0;
        enum MHD_Result ret;
        peer_text(c, peer, sizeof(peer), &loop);
        if (!loop)
            return send_error(c, VOUCH_E_PERM, 403, "metrics are served to loopback peers only",
                              NULL);
        if (vd_metrics_text(s->store, &text, &len, NULL) != VOUCH_OK)
            return send_error(c, VOUCH_E_NOMEM, 500, NULL, NULL);
        ret = send_body(c, 200, "text/plain; version=0.0.4", text, len, NULL);
        vouch_free(text);
        return ret;
    }
    case R_REQUEST:
        vd_login_request(s, url + 14, &r);
        return send_reply(c, &r, NULL);
    case R_WHOAMI:
        vd_api_whoami(s,
                      MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                  MHD_HTTP_HEADER_AUTHORIZATION),
                      &r);
        return send_reply(c, &r, NULL);
    default:
        return send_error(c, VOUCH_E_NOTFOUND, 404, "no such route", NULL);
    }
}

static enum MHD_Result answer_post(vd_server *s, struct MHD_Connection *c, http_req *r)
{
    vd_reply rep;
    char peer[PEER_MAX];
    int loop = 0;

    memset(&rep, 0, sizeof(rep));
    if (r->too_large)
        return send_error(c, VOUCH_E_LIMIT, 413, "request body larger than 64 KiB", NULL);
    if (r->rt == R_SIOP) {
        int form = content_type_is(c, "application/x-www-form-urlencoded");
        if (!form && !content_type_is(c, "application/json"))
            return send_error(c, VOUCH_E_LOGIN_REQUEST, 415,
                              "expected application/json or application/x-www-form-urlencoded",
                              NULL);
        vd_login_start(s, (const char *)r->body.data, r->body.len, form, &rep);
        return send_reply(c, &rep, NULL);
    }
    if (!content_type_is(c, "application/x-www-form-urlencoded"))
        return send_error(c, VOUCH_E_LOGIN_REQUEST, 415,
                          "expected application/x-www-form-urlencoded", NULL);
    peer_text(c, peer, sizeof(peer), &loop);
    vd_login_response(s, (const char *)r->body.data, r->body.len, peer, &rep);
    return send_reply(c, &rep, NULL);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    vd_server *s = cls;
    http_req *r = *con_cls;

    (void)version;
    if (!r) {
        /* first call (headers only): remember the route. Answers are queued
         * on a later call: libmicrohttpd closes a connection whose response
         * was queued before the request was complete, and keep-alive
         * matters to devices (three requests per login). */
        r = vouch_calloc(1, sizeof(*r));
        if (!r)
            return MHD_NO;
        r->rt = route_of(url);
        vouch_buf_init(&r->body, VOUCH_FORM_MAX_BODY);
        *con_cls = r;
        if (route_is_post(r->rt) && strcmp(method, MHD_HTTP_METHOD_POST) == 0 &&
            declared_too_large(c)) {
            /* answered at once; the body is never read, the connection closes */
            r->too_large = 1;
            r->answered = 1;
            return send_error(c, VOUCH_E_LIMIT, 413, "request body larger than 64 KiB", NULL);
        }
        return MHD_YES;
    }
    if (r->answered) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!route_is_post(r->rt) || strcmp(method, MHD_HTTP_METHOD_POST) != 0) {
            /* a body where none is read: drop it, bounded like any other */
            r->too_large = 1;
        } else if (!r->too_large) {
            vouch_code rc = vouch_buf_append(&r->body, upload_data, *upload_data_size);
            if (rc == VOUCH_E_LIMIT) {
                r->too_large = 1;
                vouch_buf_free(&r->body);
            } else if (rc != VOUCH_OK) {
                return MHD_NO;
            }
        }
        if (r->too_large) {
            /* the sum cannot wrap: each step is below DRAIN_MAX + MHD's read buffer */
            r->drained += *upload_data_size;
            if (r->drained > DRAIN_MAX)
                return MHD_NO; /* an endless body: close the connection */
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    r->answered = 1;
    if (r->rt == R_NONE)
        return send_error(c, VOUCH_E_NOTFOUND, 404, "no such route", NULL);
    if (route_is_post(r->rt) && strcmp(method, MHD_HTTP_METHOD_POST) != 0)
        return send_error(c, VOUCH_E_USAGE, 405, "this route takes POST", "POST");
    if (!route_is_post(r->rt) && strcmp(method, MHD_HTTP_METHOD_GET) != 0)
        return send_error(c, VOUCH_E_USAGE, 405, "this route takes GET", "GET");
    if (!route_is_post(r->rt))
        return answer_get(s, c, r->rt, url);
    return answer_post(s, c, r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    http_req *r = *con_cls;

    (void)cls;
    (void)c;
    (void)toe;
    if (r) {
        vouch_buf_free(&r->body);
        vouch_free(r);
        *con_cls = NULL;
    }
}

/* "127.0.0.1:8443", "[::1]:8443" -> a socket address; loopback tells
 * whether plain HTTP is allowed there. */
static vouch_code parse_listen(const char *text, struct sockaddr_storage *ss, int *v6,
                               int *loopback, vouch_err *err)
{
    char host[64];
    const char *port_s;
    size_t hn;
    char *end = NULL;
    unsigned long port;

    memset(ss, 0, sizeof(*ss));
    if (text[0] == '[') {
        const char *close_b = strchr(text, ']');
        if (!close_b || close_b[1] != ':')
            return vouch_err_set(err, VOUCH_E_USAGE, "--listen: expected [IPv6]:PORT");
        hn = (size_t)(close_b - text - 1);
        if (hn >= sizeof(host))
            return vouch_err_set(err, VOUCH_E_USAGE, "--listen: address too long");
        memcpy(host, text + 1, hn);
        host[hn] = '\0';
        port_s = close_b + 2;
        *v6 = 1;
    } else {
        const char *colon = strrchr(text, ':');
        if (!colon)
            return vouch_err_set(err, VOUCH_E_USAGE, "--listen: expected ADDR:PORT");
        hn = (size_t)(colon - text);
        if (hn >= sizeof(host))
            return vouch_err_set(err, VOUCH_E_USAGE, "--listen: address too long");
        memcpy(host, text, hn);
        host[hn] = '\0';
        port_s = colon + 1;
        *v6 = 0;
    }
    errno = 0;
    port = strtoul(port_s, &end, 10);
    if (!port_s[0] || *end || errno || port > 65535 || port_s[0] == '-' || port_s[0] == '+')
        return vouch_err_set(err, VOUCH_E_USAGE, "--listen: port must be 0..65535");
    if (*v6) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
        if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
            return vouch_err_set(err, VOUCH_E_USAGE, "--listen: not an IPv6 address");
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *loopback = IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr);
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
        if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
            return vouch_err_set(err, VOUCH_E_USAGE,
                                 "--listen: not an IPv4 address (names are not resolved)");
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        *loopback = (ntohl(a4->sin_addr.s_addr) >> 24) == 127;
    }
    return VOUCH_OK;
}

/* Reads a TLS PEM file; the private key must not be readable by others. */
static vouch_code read_pem(const char *path, int secret, char **out, vouch_err *err)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    struct stat st;
    vouch_code rc;

    *out = NULL;
    if (secret && stat(path, &st) == 0 && (st.st_mode & 077))
        return vouch_err_set(err, VOUCH_E_PERM, "%s is readable by group or others (chmod 600)",
                             path);
    rc = vouch_file_read(path, TLS_FILE_MAX, &buf, &len, err);
    if (rc == VOUCH_OK)
        *out = (char *)buf;
    return rc;
}

/* --public-url: http(s)://host[:port], printable, no path, query or
 * fragment (a trailing '/' is dropped). */
static vouch_code set_public_url(vd_server *s, const char *url, vouch_err *err)
{
    size_t n = strlen(url);
    const char *host;

    if (n && url[n - 1] == '/')
        n--;
    if (strncmp(url, "https://", 8) == 0)
        host = url + 8;
    else if (strncmp(url, "http://", 7) == 0)
        host = url + 7;
    else
        return vouch_err_set(err, VOUCH_E_USAGE, "--public-url must start with https://");
    if (n >= sizeof(s->public_url) || (size_t)(host - url) >= n)
        return vouch_err_set(err, VOUCH_E_USAGE, "--public-url: empty host or too long");
    for (const char *p = host; p < url + n; p++)
        if (*p <= 0x20 || *p >= 0x7f || *p == '/' || *p == '?' || *p == '#' || *p == '@' ||
            *p == '"' || *p == '\\')
            return vouch_err_set(err, VOUCH_E_USAGE,
                                 "--public-url: scheme://host[:port] only (no path or userinfo)");
    memcpy(s->public_url, url, n);
    s->public_url[n] = '\0';
    return VOUCH_OK;
}

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

vouch_code vd_http_serve(vd_server *s, const vd_listen *l, vouch_err *err)
{
    struct sockaddr_storage ss;
    struct MHD_Daemon *d = NULL;
    const union MHD_DaemonInfo *info;
    char *cert = NULL, *key = NULL;
    char addr[64];
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    struct timespec tick = {PRUNE_S, 0};
    sigset_t set;
    int v6 = 0, loopback = 0, sig = 0, tls;
    unsigned port;
    vouch_code rc;

    tls = l->tls_cert || l->tls_key;
    if (tls && !(l->tls_cert && l->tls_key)) {
        rc = vouch_err_set(err, VOUCH_E_USAGE, "--tls-cert and --tls-key go together");
        goto out;
    }
    if ((rc = parse_listen(l->listen, &ss, &v6, &loopback, err)) != VOUCH_OK)
        goto out;
    if (!tls && !loopback) {
        rc = vouch_err_set(err, VOUCH_E_USAGE,
                           "plain HTTP is served only on loopback; give --tls-cert and --tls-key");
        goto out;
    }
    if (l->public_url && (rc = set_public_url(s, l->public_url, err)) != VOUCH_OK)
        goto out;
    if (tls) {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            rc = vouch_err_set(err, VOUCH_E_INTERNAL, "this libmicrohttpd has no TLS support");
            goto out;
        }
        if ((rc = read_pem(l->tls_cert, 0, &cert, err)) != VOUCH_OK ||
            (rc = read_pem(l->tls_key, 1, &key, err)) != VOUCH_OK)
            goto out;
        flags |= MHD_USE_TLS;
    }
    if (v6)
        flags |= MHD_USE_IPv6;

    /* the worker threads inherit this mask: only the main thread takes the
     * stop signals, in sigtimedwait below */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (tls)
        d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR,
                             (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE, l->threads,
                             MHD_OPTION_CONNECTION_TIMEOUT, CONN_TIMEOUT_S,
                             MHD_OPTION_CONNECTION_LIMIT, CONN_LIMIT,
                             MHD_OPTION_PER_IP_CONNECTION_LIMIT, CONN_PER_IP,
                             MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY,
                             MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                             MHD_OPTION_SIGPIPE_HANDLED_BY_APP, 1u, MHD_OPTION_HTTPS_MEM_KEY, key,
                             MHD_OPTION_HTTPS_MEM_CERT, cert, MHD_OPTION_HTTPS_PRIORITIES,
                             "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2", MHD_OPTION_END);
    else
        d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR,
                             (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE, l->threads,
                             MHD_OPTION_CONNECTION_TIMEOUT, CONN_TIMEOUT_S,
                             MHD_OPTION_CONNECTION_LIMIT, CONN_LIMIT,
                             MHD_OPTION_PER_IP_CONNECTION_LIMIT, CONN_PER_IP,
                             MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY,
                             MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                             MHD_OPTION_SIGPIPE_HANDLED_BY_APP, 1u, MHD_OPTION_END);
    if (!d) {
        rc = vouch_err_set(err, VOUCH_E_IO, "cannot listen on %s (in use, or not a local address)",
                           l->listen);
        goto out;
    }
    info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    port = info ? info->port : 0;
    if (v6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, addr, sizeof(addr));
    else
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, addr, sizeof(addr));
    if (!s->public_url[0]) {
        if (tls)
            snprintf(s->public_url, sizeof(s->public_url), "https://%s", s->cfg.domain);
        else
            snprintf(s->public_url, sizeof(s->public_url), "http://%s%s%s:%u", v6 ? "[" : "",
                     addr, v6 ? "]" : "", port);
    }
    printf("vouchd: listening on %s://%s%s%s:%u as %s (public %s)\n", tls ? "https" : "http",
           v6 ? "[" : "", addr, v6 ? "]" : "", port, s->cfg.did, s->public_url);
    fflush(stdout);

    for (;;) {
        vouch_err perr;
        sig = sigtimedwait(&set, NULL, &tick);
        if (sig == SIGINT || sig == SIGTERM)
            break;
        if (sig < 0 && errno == EAGAIN &&
            s->store->ops->prune(s->store, s->clock() - PRUNE_KEEP_S, &perr) != VOUCH_OK)
            vd_log("pruning: %s", perr.msg);
    }
    /* stop accepting, let requests in flight finish, then stop */
    {
        MHD_socket lfd = MHD_quiesce_daemon(d);
        int64_t until = mono_ms() + STOP_GRACE_MS;
        if (lfd != MHD_INVALID_SOCKET)
            close(lfd);
        for (;;) {
            info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
            if (!info || info->num_connections == 0 || mono_ms() > until)
                break;
            usleep(10000);
        }
    }
    MHD_stop_daemon(d);
    printf("vouchd: stopped (signal %d)\n", sig);
    fflush(stdout);
    rc = VOUCH_OK;
out:
    if (key)
        vouch_free_secret(key, strlen(key));
    vouch_free(cert);
    return rc;
}
