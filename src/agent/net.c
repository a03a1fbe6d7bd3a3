/* net.c - vouch-agent's HTTP client on libcurl.
 *
 * Rules: requests go to the bundle's origin only (checked on every URL,
 * before any connection); redirects are never followed; https verifies the
 * peer and the host name; plain http is allowed only when the origin is a
 * loopback host (tests, a local proxy); answers are capped at
 * AGENT_BODY_MAX (the transfer is aborted past it); connect, total and
 * low-speed timeouts bound every request. One handle is reused, so
 * connections are kept alive across the login's three requests. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "agent/agent.h"

#define CONNECT_TIMEOUT_S 10L
#define TOTAL_TIMEOUT_S 30L
#define LOW_SPEED_BYTES 64L
#define LOW_SPEED_S 10L

struct agent_net {
    CURL *h;
    char origin[AGENT_URL_MAX];
    char cacert[AGENT_PATH_MAX];
};

typedef struct sink {
    vouch_buf buf;
    int too_large;
} sink;

static size_t on_data(char *p, size_t size, size_t nmemb, void *ud)
{
    sink *s = ud;
    size_t n = size * nmemb; /* curl guarantees size == 1 */

    if (vouch_buf_append(&s->buf, p, n) != VOUCH_OK) {
        s->too_large = 1;
        return 0; /* aborts the transfer */
    }
    return n;
}

/* 1 if the origin's host is a loopback name or address. */
static int origin_is_loopback(const char *origin)
{
    const char *h = strstr(origin, "://");

    if (!h)
        return 0;
    h += 3;
    return strncmp(h, "127.", 4) == 0 || strncmp(h, "[::1]", 5) == 0 ||
           strncmp(h, "localhost:", 10) == 0 || strcmp(h, "localhost") == 0;
}

vouch_code agent_net_new(const char *origin, const char *cacert, agent_net **out,
                         vouch_err *err)
{
    agent_net *n = NULL;
    vouch_code rc;

    *out = NULL;
    if (strncmp(origin, "https://", 8) != 0 && !origin_is_loopback(origin))
        return vouch_err_set(err, VOUCH_E_HTTP,
                             "the server must be https:// (plain http only to loopback)");
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return vouch_err_set(err, VOUCH_E_INTERNAL, "libcurl failed to initialize");
    n = vouch_calloc(1, sizeof(*n));
    if (!n) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory");
        goto out;
    }
    if (strlen(origin) >= sizeof(n->origin) || (cacert && strlen(cacert) >= sizeof(n->cacert))) {
        rc = vouch_err_set(err, VOUCH_E_LIMIT, "server origin or CA path too long");
        goto out;
    }
    memcpy(n->origin, origin, strlen(origin) + 1);
    if (cacert)
        memcpy(n->cacert, cacert, strlen(cacert) + 1);
    n->h = curl_easy_init();
    if (!n->h) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "libcurl: no handle");
        goto out;
    }
    *out = n;
    n = NULL;
    rc = VOUCH_OK;
out:
    agent_net_free(n);
    return rc;
}

void agent_net_free(agent_net *n)
{
    if (!n)
        return;
    if (n->h)
        curl_easy_cleanup(n->h);
    vouch_free(n);
}

void agent_resp_free(agent_resp *r)
{
    if (r->body)
        vouch_free_secret(r->body, r->len + 1);
    r->body = NULL;
    r->len = 0;
}

vouch_code agent_net_request(agent_net *n, const char *url, const char *ctype,
                             const char *body, size_t len, const char *bearer,
                             const char *accept, agent_resp *out, vouch_err *err)
{
    struct curl_slist *hdrs = NULL, *tmp;
    char origin[AGENT_URL_MAX], line[512];
    char *auth = NULL;
    const char *ct = NULL;
    sink s;
    CURLcode cc;
    vouch_code rc;

    memset(out, 0, sizeof(*out));
    vouch_buf_init(&s.buf, AGENT_BODY_MAX);
    s.too_large = 0;
    /* the origin rule, before any connection */
    if (vouch_siop_origin(url, origin, sizeof(origin), NULL) != VOUCH_OK ||
        strcmp(origin, n->origin) != 0) {
        rc = vouch_err_set(err, VOUCH_E_LOGIN_ORIGIN, "refusing a URL outside %s", n->origin);
        goto out;
    }
    curl_easy_reset(n->h);
    if (ctype) {
        snprintf(line, sizeof(line), "Content-Type: %s", ctype);
        if (!(tmp = curl_slist_append(hdrs, line)))
            goto nomem;
        hdrs = tmp;
    }
    snprintf(line, sizeof(line), "Accept: %s", accept ? accept : "application/json");
    if (!(tmp = curl_slist_append(hdrs, line)))
        goto nomem;
    hdrs = tmp;
    if (!(tmp = curl_slist_append(hdrs, "Expect:")))
        goto nomem;
    hdrs = tmp;
    if (bearer) {
        size_t an = strlen(bearer) + 32;
        auth = vouch_malloc(an);
        if (!auth)
            goto nomem;
        snprintf(auth, an, "Authorization: Bearer %s", bearer);
        if (!(tmp = curl_slist_append(hdrs, auth)))
            goto nomem;
        hdrs = tmp;
    }
    curl_easy_setopt(n->h, CURLOPT_URL, url);
    curl_easy_setopt(n->h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(n->h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(n->h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(n->h, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(n->h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    if (n->cacert[0])
        curl_easy_setopt(n->h, CURLOPT_CAINFO, n->cacert);
    curl_easy_setopt(n->h, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
    curl_easy_setopt(n->h, CURLOPT_TIMEOUT, TOTAL_TIMEOUT_S);
    curl_easy_setopt(n->h, CURLOPT_LOW_SPEED_LIMIT, LOW_SPEED_BYTES);
    curl_easy_setopt(n->h, CURLOPT_LOW_SPEED_TIME, LOW_SPEED_S);
    curl_easy_setopt(n->h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)AGENT_BODY_MAX);
    curl_easy_setopt(n->h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(n->h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(n->h, CURLOPT_USERAGENT, "vouch-agent/" VOUCH_VERSION);
    curl_easy_setopt(n->h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(n->h, CURLOPT_WRITEDATA, &s);
    if (body) {
        curl_easy_setopt(n->h, CURLOPT_POST, 1L);
        curl_easy_setopt(n->h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(n->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    cc = curl_easy_perform(n->h);
    if (s.too_large || cc == CURLE_FILESIZE_EXCEEDED) {
        rc = vouch_err_set(err, VOUCH_E_LIMIT, "the server's answer is larger than %u bytes",
                           AGENT_BODY_MAX);
        goto out;
    }
    if (cc != CURLE_OK) {
        rc = vouch_err_set(err, VOUCH_E_HTTP, "%s: %s", origin, curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(n->h, CURLINFO_RESPONSE_CODE, &out->status);
    curl_easy_getinfo(n->h, CURLINFO_CONTENT_TYPE, &ct);
    if (ct) {
        size_t i = 0;
        for (; ct[i] && ct[i] != ';' && ct[i] != ' ' && i + 1 < sizeof(out->ctype); i++)
            out->ctype[i] = (char)tolower((unsigned char)ct[i]);
        out->ctype[i] = '\0';
    }
    if (s.buf.len == 0 && vouch_buf_append(&s.buf, "", 0) != VOUCH_OK)
        goto nomem;
    out->body = (char *)vouch_buf_take(&s.buf, &out->len);
    if (!out->body) {
        out->body = vouch_strdup("");
        if (!out->body)
            goto nomem;
        out->len = 0;
    }
    rc = VOUCH_OK;
    goto out;
nomem:
    rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory");
out:
    if (auth)
        vouch_free_secret(auth, strlen(auth) + 1);
    curl_slist_free_all(hdrs);
    vouch_buf_free(&s.buf);
    if (rc != VOUCH_OK)
        agent_resp_free(out);
    return rc;
}

vouch_code agent_resp_error(const agent_resp *r, const char *what, vouch_err *err)
{
    char msg[160];
    vouch_code code = VOUCH_E_HTTP;

    if (r->body && vouch_error_reply_parse(r->body, r->len, &code, msg, sizeof(msg), NULL) ==
                       VOUCH_OK &&
        code != VOUCH_E_HTTP)
        return vouch_err_set(err, code, "%s: the server refused (HTTP %ld): %s", what,
                             r->status, msg);
    return vouch_err_set(err, VOUCH_E_HTTP, "%s: unexpected HTTP status %ld", what, r->status);
}
