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
 * The plumbing is httpd/httpd.h's: listen address, TLS (plain HTTP on
 * loopback only), idle timeouts, and the body cap, VOUCH_FORM_MAX_BODY: a
 * declared Content-Length above it is answered 413 at once and the body
 * never read; a chunked body past it is drained, then answered 413. Every
 * other answer waits until the request is complete, which keeps the
 * connection alive (devices make three requests per login). SIGTERM or
 * SIGINT stop accepting, let requests in flight finish, then stop. Every
 * PRUNE_S seconds expired logins and tokens (older than an hour) are
 * deleted. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "httpd/httpd.h"
#include "vouchd/vouchd.h"

#define CONN_LIMIT 1024u
#define CONN_PER_IP 512u
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

static enum MHD_Result send_body(struct MHD_Connection *c, unsigned status, const char *ctype,
                                 const char *body, size_t len, const char *allow)
{
    vd_metric_inc(VD_M_REQUESTS);
    return httpd_send(c, status, ctype, body, len, allow);
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

/* Refusals made here, counted like every answer. */
static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, vouch_code code,
                                  const char *msg, const char *allow)
{
    vd_metric_inc(VD_M_REQUESTS);
    return httpd_send_error(c, status, code, msg, allow);
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
        httpd_peer(c, peer, sizeof(peer), &loop);
        if (!loop)
            return send_error(c, 403, VOUCH_E_PERM, "metrics are served to loopback peers only",
                              NULL);
        if (vd_metrics_text(s->store, &text, &len, NULL) != VOUCH_OK)
            return send_error(c, 500, VOUCH_E_NOMEM, NULL, NULL);
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
        return send_error(c, 404, VOUCH_E_NOTFOUND, "no such route", NULL);
    }
}

static enum MHD_Result answer_post(vd_server *s, struct MHD_Connection *c, enum route rt,
                                   const httpd_request *r)
{
    vd_reply rep;
    char peer[PEER_MAX];

    memset(&rep, 0, sizeof(rep));
    if (r->too_large)
        return send_error(c, 413, VOUCH_E_LIMIT, "request body larger than 64 KiB", NULL);
    if (rt == R_SIOP) {
        int form = content_type_is(c, "application/x-www-form-urlencoded");
        if (!form && !content_type_is(c, "application/json"))
            return send_error(c, 415, VOUCH_E_LOGIN_REQUEST,
                              "expected application/json or application/x-www-form-urlencoded",
                              NULL);
        vd_login_start(s, r->body, r->len, form, &rep);
        return send_reply(c, &rep, NULL);
    }
    if (!content_type_is(c, "application/x-www-form-urlencoded"))
        return send_error(c, 415, VOUCH_E_LOGIN_REQUEST,
                          "expected application/x-www-form-urlencoded", NULL);
    httpd_peer(c, peer, sizeof(peer), NULL);
    vd_login_response(s, r->body, r->len, peer, &rep);
    return send_reply(c, &rep, NULL);
}

/* Only a POST to a route that takes one has its body read; any other body
 * is drained. */
static int takes_body(void *cls, const char *url, const char *method)
{
    (void)cls;
    return route_is_post(route_of(url)) && strcmp(method, MHD_HTTP_METHOD_POST) == 0;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const httpd_request *r)
{
    vd_server *s = cls;
    enum route rt = route_of(r->url);

    if (rt == R_NONE)
        return send_error(c, 404, VOUCH_E_NOTFOUND, "no such route", NULL);
    if (route_is_post(rt) && strcmp(r->method, MHD_HTTP_METHOD_POST) != 0)
        return send_error(c, 405, VOUCH_E_USAGE, "this route takes POST", "POST");
    if (!route_is_post(rt) && strcmp(r->method, MHD_HTTP_METHOD_GET) != 0)
        return send_error(c, 405, VOUCH_E_USAGE, "this route takes GET", "GET");
    if (!route_is_post(rt))
        return answer_get(s, c, rt, r->url);
    return answer_post(s, c, rt, r);
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

/* Every PRUNE_S seconds while serving: forget expired logins and tokens. */
static void prune(void *cls)
{
    vd_server *s = cls;
    vouch_err perr;

    if (s->store->ops->prune(s->store, s->clock() - PRUNE_KEEP_S, &perr) != VOUCH_OK)
        vd_log("pruning: %s", perr.msg);
}

vouch_code vd_http_serve(vd_server *s, const vd_listen *l, vouch_err *err)
{
    httpd h;
    httpd_conf conf;
    vouch_code rc;
    int sig;

    /* checked before listening: a bad --public-url is a usage error, and
     * devices must never be told a wrong one */
    if (l->public_url && (rc = set_public_url(s, l->public_url, err)) != VOUCH_OK)
        return rc;
    memset(&conf, 0, sizeof(conf));
    conf.listen = l->listen;
    conf.tls_cert = l->tls_cert;
    conf.tls_key = l->tls_key;
    conf.threads = l->threads;
    conf.conn_limit = CONN_LIMIT;
    conf.conn_per_ip = CONN_PER_IP;
    conf.max_body = VOUCH_FORM_MAX_BODY;
    conf.handler.takes_body = takes_body;
    conf.handler.answer = answer;
    conf.handler.cls = s;
    if ((rc = httpd_start(&h, &conf, err)) != VOUCH_OK)
        return rc;
    if (!s->public_url[0]) {
        if (h.tls)
            snprintf(s->public_url, sizeof(s->public_url), "https://%s", s->cfg.domain);
        else
            snprintf(s->public_url, sizeof(s->public_url), "%s", h.origin);
    }
    printf("vouchd: listening on %s as %s (public %s)\n", h.origin, s->cfg.did, s->public_url);
    fflush(stdout);
    sig = httpd_wait(&h, PRUNE_S, prune, s);
    httpd_stop(&h);
    printf("vouchd: stopped (signal %d)\n", sig);
    fflush(stdout);
    return VOUCH_OK;
}
