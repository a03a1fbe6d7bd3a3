/* httpd.c - HTTP(S) server plumbing on libmicrohttpd (see httpd/httpd.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "httpd/httpd.h"
#include "vouch/cosign.h"

/* One request in progress (MHD's con_cls), freed in on_completed. */
typedef struct httpd_req {
    vouch_buf body;  /* the kept body, capped at max_body */
    size_t drained;  /* bytes read and dropped */
    int keep;        /* takes_body said yes */
    int too_large;
    int answered;
} httpd_req;

enum MHD_Result httpd_send(struct MHD_Connection *c, unsigned status, const char *ctype,
                           const char *body, size_t len, const char *allow)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;

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

enum MHD_Result httpd_send_error(struct MHD_Connection *c, unsigned status, vouch_code code,
                                 const char *msg, const char *allow)
{
    static const char oom[] = "{\"error\":{\"code\":3,\"name\":\"VOUCH_E_NOMEM\","
                              "\"message\":\"out of memory\"}}";
    char *body = NULL;
    size_t len = 0;
    enum MHD_Result ret;

    if (vouch_cosign_error_body(code, msg, &body, &len, NULL) == VOUCH_OK)
        ret = httpd_send(c, status, "application/json", body, len, allow);
    else
        ret = httpd_send(c, 500, "application/json", oom, sizeof(oom) - 1, NULL);
    vouch_free(body);
    return ret;
}

void httpd_peer(struct MHD_Connection *c, char *out, size_t cap, int *loopback)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    int loop = 0;

    snprintf(out, cap, "unknown");
    if (sa && sa->sa_family == AF_INET) {
        const struct sockaddr_in *a4 = (const struct sockaddr_in *)(const void *)sa;
        inet_ntop(AF_INET, &a4->sin_addr, out, (socklen_t)cap);
        loop = (ntohl(a4->sin_addr.s_addr) >> 24) == 127;
    } else if (sa && sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)(const void *)sa;
        inet_ntop(AF_INET6, &a6->sin6_addr, out, (socklen_t)cap);
        loop = IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr);
    }
    if (loopback)
        *loopback = loop;
}

/* A declared Content-Length above max (digits only; MHD refused anything
 * malformed already). The loop stops as soon as the value passes max, so
 * it cannot overflow however many digits come. */
static int declared_too_large(struct MHD_Connection *c, size_t max)
{
    const char *cl =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    unsigned long long v = 0;

    if (!cl)
        return 0;
    for (; *cl >= '0' && *cl <= '9'; cl++) {
        if (v > max)
            return 1;
        v = v * 10u + (unsigned)(*cl - '0');
    }
    return v > max;
}

static enum MHD_Result answer(httpd *h, struct MHD_Connection *c, httpd_req *r,
                              const char *url, const char *method)
{
    httpd_request q;

    q.url = url;
    q.method = method;
    q.body = (const char *)r->body.data;
    q.len = r->body.len;
    q.too_large = r->too_large;
    r->answered = 1;
    return h->conf.handler.answer(h->conf.handler.cls, c, &q);
}

/* One piece of the body: kept while under the cap, else drained. */
static enum MHD_Result take_body(httpd_req *r, const char *data, size_t *size)
{
    if (r->keep && !r->too_large) {
        vouch_code rc = vouch_buf_append(&r->body, data, *size);
        if (rc == VOUCH_E_LIMIT) {
            r->too_large = 1;
            vouch_buf_free(&r->body);
        } else if (rc != VOUCH_OK) {
            return MHD_NO;
        }
    }
    if (!r->keep || r->too_large) {
        /* the sum cannot wrap: each step is below HTTPD_DRAIN_MAX + MHD's read buffer */
        r->drained += *size;
        if (r->drained > HTTPD_DRAIN_MAX)
            return MHD_NO; /* an endless body: close the connection */
    }
    *size = 0;
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    httpd *h = cls;
    httpd_req *r = *con_cls;

    (void)version;
    if (!r) {
        /* the first call has the headers only: nothing is queued yet (see
         * httpd.h: an early answer costs the connection its keep-alive) */
        r = vouch_calloc(1, sizeof(*r));
        if (!r)
            return MHD_NO;
        vouch_buf_init(&r->body, h->conf.max_body);
        r->keep = h->conf.handler.takes_body(h->conf.handler.cls, url, method);
        *con_cls = r;
        if (r->keep && declared_too_large(c, h->conf.max_body)) {
            /* answered before the body on purpose: MHD then closes the
             * connection, and the body is never read */
            r->too_large = 1;
            return answer(h, c, r, url, method);
        }
        return MHD_YES;
    }
    if (r->answered) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size)
        return take_body(r, upload_data, upload_data_size);
    return answer(h, c, r, url, method);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    httpd_req *r = *con_cls;

    (void)cls;
    (void)c;
    (void)toe;
    if (r) {
        vouch_buf_free(&r->body);
        vouch_free(r);
        *con_cls = NULL;
    }
}

/* Every URL passes here: as sent with raw_urls, else MHD's own decoding. */
static size_t unescape(void *cls, struct MHD_Connection *c, char *s)
{
    const httpd *h = cls;

    (void)c;
    return h->conf.raw_urls ? strlen(s) : MHD_http_unescape(s);
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
    if (secret && stat(path, &st) == 0 && (st.st_mode & 077)) {
        rc = vouch_err_set(err, VOUCH_E_PERM, "%s is readable by group or others (chmod 600)",
                           path);
        goto out;
    }
    rc = vouch_file_read(path, HTTPD_TLS_FILE_MAX, &buf, &len, err);
    if (rc != VOUCH_OK)
        goto out;
    *out = (char *)buf;
    buf = NULL;
out:
    vouch_free(buf);
    return rc;
}

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The PEM text MHD was given; the key is wiped. */
static void free_tls(httpd *h)
{
    if (h->key)
        vouch_free_secret(h->key, strlen(h->key));
    vouch_free(h->cert);
    h->key = NULL;
    h->cert = NULL;
}

vouch_code httpd_start(httpd *h, const httpd_conf *conf, vouch_err *err)
{
    struct sockaddr_storage ss;
    struct MHD_OptionItem tls_opts[4];
    const union MHD_DaemonInfo *info;
    char addr[64];
    /* AUTO picks epoll on Linux, as the thread pool wants */
    unsigned flags = MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG;
    int v6 = 0, loopback = 0;
    vouch_code rc;

    memset(h, 0, sizeof(*h));
    h->conf = *conf;
    memset(tls_opts, 0, sizeof(tls_opts)); /* {MHD_OPTION_END, 0, NULL} */
    h->tls = conf->tls_cert || conf->tls_key;
    if (h->tls && !(conf->tls_cert && conf->tls_key)) {
        rc = vouch_err_set(err, VOUCH_E_USAGE, "--tls-cert and --tls-key go together");
        goto out;
    }
    if ((rc = parse_listen(conf->listen, &ss, &v6, &loopback, err)) != VOUCH_OK)
        goto out;
    if (!h->tls && !loopback) {
        rc = vouch_err_set(err, VOUCH_E_USAGE,
                           "plain HTTP is served only on loopback; give --tls-cert and --tls-key");
        goto out;
    }
    if (h->tls) {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            rc = vouch_err_set(err, VOUCH_E_INTERNAL, "this libmicrohttpd has no TLS support");
            goto out;
        }
        if ((rc = read_pem(conf->tls_cert, 0, &h->cert, err)) != VOUCH_OK ||
            (rc = read_pem(conf->tls_key, 1, &h->key, err)) != VOUCH_OK)
            goto out;
        flags |= MHD_USE_TLS;
        tls_opts[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, h->key};
        tls_opts[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, h->cert};
        tls_opts[2] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0,
                                              "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"};
    }
    if (v6)
        flags |= MHD_USE_IPv6;

    /* the worker threads inherit this mask: only the calling thread takes
     * the stop signals, in httpd_wait */
    sigemptyset(&h->stop);
    sigaddset(&h->stop, SIGINT);
    sigaddset(&h->stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &h->stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    h->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR,
                            (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE, conf->threads,
                            MHD_OPTION_CONNECTION_TIMEOUT, HTTPD_CONN_TIMEOUT_S,
                            MHD_OPTION_CONNECTION_LIMIT, conf->conn_limit,
                            MHD_OPTION_PER_IP_CONNECTION_LIMIT, conf->conn_per_ip,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTPD_CONN_MEMORY,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
                            MHD_OPTION_UNESCAPE_CALLBACK, unescape, h,
                            MHD_OPTION_SIGPIPE_HANDLED_BY_APP, 1u, MHD_OPTION_ARRAY, tls_opts,
                            MHD_OPTION_END);
    if (!h->d) {
        rc = vouch_err_set(err, VOUCH_E_IO, "cannot listen on %s (in use, or not a local address)",
                           conf->listen);
        goto out;
    }
    info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    if (v6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, addr, sizeof(addr));
    else
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, addr, sizeof(addr));
    snprintf(h->origin, sizeof(h->origin), "%s://%s%s%s:%u", h->tls ? "https" : "http",
             v6 ? "[" : "", addr, v6 ? "]" : "", info ? (unsigned)info->port : 0u);
    rc = VOUCH_OK;
out:
    if (rc != VOUCH_OK)
        free_tls(h);
    return rc;
}

int httpd_wait(httpd *h, unsigned tick_s, void (*tick)(void *cls), void *cls)
{
    struct timespec t = {(time_t)tick_s, 0};
    int sig;

    for (;;) {
        sig = sigtimedwait(&h->stop, NULL, tick ? &t : NULL);
        if (sig == SIGINT || sig == SIGTERM)
            break;
        if (sig < 0 && errno == EAGAIN && tick)
            tick(cls);
    }
    return sig;
}

void httpd_stop(httpd *h)
{
    if (h->d) {
        /* stop accepting, let requests in flight finish, then stop */
        MHD_socket lfd = MHD_quiesce_daemon(h->d);
        int64_t until = mono_ms() + HTTPD_STOP_GRACE_MS;
        const union MHD_DaemonInfo *info;

        if (lfd != MHD_INVALID_SOCKET)
            close(lfd);
        for (;;) {
            info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
            if (!info || info->num_connections == 0 || mono_ms() > until)
                break;
            usleep(10000);
        }
        MHD_stop_daemon(h->d);
        h->d = NULL;
    }
    free_tls(h);
}
