/*
 * httpd/httpd.h - the HTTP(S) server plumbing vouchd and vouch-cosignd
 * share, on libmicrohttpd (MHD): the listen address, TLS, request bodies
 * under a cap, the wait for SIGTERM/SIGINT and a graceful stop. Routes and
 * answers stay with each server; this module decides when they are asked.
 *
 * Life of one request, as the handler sees it:
 *   1. With the headers: takes_body(url, method) says whether its body is
 *      kept for the answer. Bodies that are not kept are read and dropped.
 *   2. A kept body is gathered up to max_body bytes. A declared
 *      Content-Length above max_body is answered at once (answer() with
 *      too_large set, before the body): that response is queued early on
 *      purpose, so MHD closes the connection and the body is never read.
 *      A body that turns out larger than declared, or chunked past the
 *      cap, is dropped from the cap on and answered with too_large set.
 *   3. Any body read but not kept (past the cap, or not asked for) is
 *      drained up to HTTPD_DRAIN_MAX bytes; past that the connection is
 *      closed without an answer (an endless body cannot hold a thread).
 *   4. Otherwise answer() is called once the request is complete, never
 *      earlier: libmicrohttpd 0.9.75 closes a keep-alive connection whose
 *      response was queued before the request was complete, and devices
 *      make several requests per connection (three per login). This holds
 *      for every answer, a 404 or a GET as much as a POST.
 *
 * Limits, in the order they apply: MHD's connection memory (request line
 * and headers, HTTPD_CONN_MEMORY), the declared Content-Length, the bytes
 * received, HTTPD_DRAIN_MAX. Idle connections time out after
 * HTTPD_CONN_TIMEOUT_S seconds, so a trickle cannot hold a thread.
 *
 * Plain HTTP is served only on loopback addresses; anything else needs a
 * TLS certificate and key (TLS 1.2 or 1.3). The key file must not be
 * readable by group or others.
 *
 * Threads: answer() and takes_body() run on MHD's worker threads, several
 * at once; the handler's cls must be safe for that. httpd_start blocks
 * SIGINT and SIGTERM in the calling thread before MHD makes its threads (so
 * they inherit the mask) and ignores SIGPIPE; httpd_wait takes the stop
 * signals in the calling thread.
 */
#ifndef VOUCH_HTTPD_H
#define VOUCH_HTTPD_H

#include <signal.h>
#include <stddef.h>

#include <microhttpd.h>

#include "vouch/vouch.h"

#define HTTPD_CONN_TIMEOUT_S 10u
#define HTTPD_CONN_MEMORY (32u * 1024u)
#define HTTPD_DRAIN_MAX (1024u * 1024u)
#define HTTPD_STOP_GRACE_MS 5000
#define HTTPD_TLS_FILE_MAX (64u * 1024u)
#define HTTPD_ORIGIN_MAX 80 /* "https://[" INET6_ADDRSTRLEN "]:65535" */

/* One request, complete (or refused for its declared size). Every pointer
 * is MHD's or this module's and lives until answer() returns. */
typedef struct httpd_request {
    const char *url;    /* as sent, or percent-decoded: see httpd_conf.raw_urls */
    const char *method;
    const char *body;   /* the kept body (NULL when none was kept); not terminated */
    size_t len;
    int too_large;      /* a kept body was over max_body: it is not there */
} httpd_request;

typedef struct httpd_handler {
    /* 1 if the body of this request is to be kept for answer(). */
    int (*takes_body)(void *cls, const char *url, const char *method);
    /* Queues exactly one response for r (httpd_send) and returns what
     * MHD_queue_response returned; MHD_NO closes the connection. */
    enum MHD_Result (*answer)(void *cls, struct MHD_Connection *c, const httpd_request *r);
    void *cls;
} httpd_handler;

typedef struct httpd_conf {
    const char *listen;   /* "ADDR:PORT" or "[ADDR]:PORT", numeric (names are not resolved) */
    const char *tls_cert; /* PEM files, both or neither (then loopback only) */
    const char *tls_key;
    unsigned threads;     /* MHD's thread pool */
    unsigned conn_limit;  /* connections at once, and per client address */
    unsigned conn_per_ip;
    size_t max_body;      /* the cap of a kept body */
    /* URLs are matched as sent, without percent-decoding, so that
     * "/v1/cosign%00x" cannot become "/v1/cosign" (a decoded NUL would end
     * the C string early). Else MHD's own decoding applies. */
    int raw_urls;
    httpd_handler handler;
} httpd_conf;

/* A running server. The caller owns it (on its stack is fine) and must keep
 * it, and conf's handler, alive until httpd_stop returns. */
typedef struct httpd {
    httpd_conf conf;
    struct MHD_Daemon *d;
    char *cert, *key;                 /* PEM text MHD reads from; key wiped on stop */
    int tls;
    char origin[HTTPD_ORIGIN_MAX];    /* "http://127.0.0.1:8080": the bound address and port */
    sigset_t stop;                    /* SIGINT, SIGTERM */
} httpd;

/*
 * Checks conf, reads the TLS files and starts listening. Usage errors
 * (VOUCH_E_USAGE) for a malformed listen address, one TLS file without the
 * other, or plain HTTP on an address that is not loopback; VOUCH_E_PERM for
 * a key file others can read; the file errors of vouch_file_read;
 * VOUCH_E_IO if the address cannot be bound. On failure nothing is left to
 * stop (httpd_stop is harmless all the same).
 */
vouch_code httpd_start(httpd *h, const httpd_conf *conf, vouch_err *err);

/*
 * Waits in the calling thread for SIGINT or SIGTERM and returns which.
 * With tick set, calls tick(cls) every tick_s seconds meanwhile (on this
 * thread, while requests are served).
 */
int httpd_wait(httpd *h, unsigned tick_s, void (*tick)(void *cls), void *cls);

/* Stops accepting, lets requests in flight finish (up to
 * HTTPD_STOP_GRACE_MS), stops MHD and frees what httpd_start took. */
void httpd_stop(httpd *h);

/*
 * Queues one response: status, Content-Type ctype, the body (copied), and
 * Cache-Control: no-store and X-Content-Type-Options: nosniff always;
 * Allow when allow is not NULL (a 405). MHD_NO if it cannot be queued.
 */
enum MHD_Result httpd_send(struct MHD_Connection *c, unsigned status, const char *ctype,
                           const char *body, size_t len, const char *allow);

/*
 * Queues a refusal made here, not by a route (404, 405, 413, 415 ...):
 * status with the JSON body {"error":{"code","name","message"}} that every
 * vouch server sends (vouch/cosign.h), message msg or, for NULL, the code's
 * description. Only our own words go in msg, never request bytes. Out of
 * memory: 500 with a fixed VOUCH_E_NOMEM body.
 */
enum MHD_Result httpd_send_error(struct MHD_Connection *c, unsigned status, vouch_code code,
                                 const char *msg, const char *allow);

/* The client's address as text ("unknown" when MHD cannot say) into out
 * (cap bytes), and in *loopback (if not NULL) whether it is a loopback one. */
void httpd_peer(struct MHD_Connection *c, char *out, size_t cap, int *loopback);

#endif
