/* http.c - vouch-cosignd's HTTP(S) front on libmicrohttpd.
 *
 * Routes: POST /v1/cosign (the decision, decide.c), GET /v1/did (the
 * co-signer's DID and public JWK), GET /healthz. Anything else is 404, a
 * known path with another method 405 (with Allow). Error bodies never
 * contain the URL, headers or body that came in.
 *
 * The plumbing is httpd/httpd.h's: listen address, TLS (plain HTTP on
 * loopback only), idle timeouts, and the body cap, VOUCH_COSIGN_MAX_BODY: a
 * declared Content-Length above it is decided (413, audited) at once and
 * the body never read; a chunked body past it is drained, then decided
 * with too_large. Every other answer waits until the request is complete,
 * which keeps the connection alive. SIGTERM or SIGINT stop accepting, let
 * requests in flight finish, then stop. */
#include <stdio.h>
#include <string.h>

#include "cosignd/cosignd.h"
#include "httpd/httpd.h"

#define CONN_LIMIT 512u
#define CONN_PER_IP 256u
#define PEER_MAX 64

enum route { ROUTE_NONE, ROUTE_COSIGN, ROUTE_DID, ROUTE_HEALTH };

static enum route route_of(const char *url)
{
    if (strcmp(url, "/v1/cosign") == 0)
        return ROUTE_COSIGN;
    if (strcmp(url, "/v1/did") == 0)
        return ROUTE_DID;
    if (strcmp(url, "/healthz") == 0)
        return ROUTE_HEALTH;
    return ROUTE_NONE;
}

static enum MHD_Result send_body(struct MHD_Connection *c, unsigned status, const char *body,
                                 size_t len, const char *allow)
{
    return httpd_send(c, status, "application/json", body, len, allow);
}

static enum MHD_Result send_reply(struct MHD_Connection *c, cosignd_reply *r, const char *allow)
{
    enum MHD_Result ret;

    if (!r->body)
        return MHD_NO;
    ret = send_body(c, r->status, r->body, r->len, allow);
    vouch_free(r->body);
    r->body = NULL;
    return ret;
}

static enum MHD_Result answer_get(cosignd_server *s, struct MHD_Connection *c, enum route rt)
{
    static const char ok[] = "{\"status\":\"ok\"}";
    static const char bad[] = "{\"status\":\"degraded\",\"reason\":\"audit file not writable\"}";
    int failed;

    if (rt == ROUTE_DID)
        return send_body(c, 200, s->did_body, s->did_body_len, NULL);
    pthread_mutex_lock(&s->lock);
    failed = s->audit_failed;
    pthread_mutex_unlock(&s->lock);
    return failed ? send_body(c, 503, bad, sizeof(bad) - 1, NULL)
                  : send_body(c, 200, ok, sizeof(ok) - 1, NULL);
}

/* Only a co-sign request has its body read; any other is drained. */
static int takes_body(void *cls, const char *url, const char *method)
{
    (void)cls;
    return route_of(url) == ROUTE_COSIGN && strcmp(method, MHD_HTTP_METHOD_POST) == 0;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const httpd_request *r)
{
    cosignd_server *s = cls;
    enum route rt = route_of(r->url);
    cosignd_reply rep;
    char peer[PEER_MAX];

    if (rt == ROUTE_NONE)
        return httpd_send_error(c, 404, VOUCH_E_NOTFOUND, "no such route", NULL);
    if (rt == ROUTE_COSIGN && strcmp(r->method, MHD_HTTP_METHOD_POST) != 0)
        return httpd_send_error(c, 405, VOUCH_E_USAGE, "this route takes POST", "POST");
    if (rt != ROUTE_COSIGN && strcmp(r->method, MHD_HTTP_METHOD_GET) != 0)
        return httpd_send_error(c, 405, VOUCH_E_USAGE, "this route takes GET", "GET");
    if (rt != ROUTE_COSIGN)
        return answer_get(s, c, rt);
    /* a body over the cap is a decision too: refused, and audited */
    httpd_peer(c, peer, sizeof(peer), NULL);
    cosignd_decide(s, r->body, r->len, r->too_large, peer, &rep);
    return send_reply(c, &rep, NULL);
}

vouch_code cosignd_http_serve(cosignd_server *s, const cosignd_listen *l, vouch_err *err)
{
    httpd h;
    httpd_conf conf;
    vouch_code rc;
    int sig;

    memset(&conf, 0, sizeof(conf));
    conf.listen = l->listen;
    conf.tls_cert = l->tls_cert;
    conf.tls_key = l->tls_key;
    conf.threads = l->threads;
    conf.conn_limit = CONN_LIMIT;
    conf.conn_per_ip = CONN_PER_IP;
    conf.max_body = VOUCH_COSIGN_MAX_BODY;
    conf.raw_urls = 1; /* "/v1/cosign%00x" must not match "/v1/cosign" */
    conf.handler.takes_body = takes_body;
    conf.handler.answer = answer;
    conf.handler.cls = s;
    if ((rc = httpd_start(&h, &conf, err)) != VOUCH_OK)
        return rc;
    printf("vouch-cosignd: listening on %s as %s\n", h.origin, s->did);
    fflush(stdout);
    sig = httpd_wait(&h, 0, NULL, NULL);
    httpd_stop(&h);
    printf("vouch-cosignd: stopped (signal %d)\n", sig);
    fflush(stdout);
    return VOUCH_OK;
}
