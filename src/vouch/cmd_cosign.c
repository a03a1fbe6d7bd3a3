/*
 * cmd_cosign.c - `vouch release cosign`: asks vouch-cosignd for the second
 * signature of a release and adds it, after checking it (vouch/cosign.h).
 *
 *   vouch release cosign REL --cosigner URL --identity FILE|PKCS11-URI
 *         (--cosigner-key DID|JWK-FILE | --trust-on-first-use)
 *         [--force] [--timeout S] [--cacert FILE]
 *
 * The co-signer's key is pinned (--cosigner-key); fetching it from
 * GET /v1/did happens only with --trust-on-first-use, and says so. The
 * answer's signature must verify over REL's payload with the pinned key
 * before REL is touched; REL is then rewritten atomically. Transport:
 * http and https only, plain http only to a loopback host, TLS peer and
 * host verified, no redirect followed, the answer capped, a total timeout.
 * A refusal exits with the co-signer's code and prints its reason.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "vouch/cli.h"
#include "vouch/cosign.h"
#include "vouch/release.h"

#define COSIGN_TTL 120          /* exp - iat of the requests we make */
#define COSIGN_TIMEOUT_DEFAULT 30L
#define COSIGN_TIMEOUT_MAX 600L
#define COSIGN_CONNECT_TIMEOUT 10L
#define COSIGN_URL_MAX 2048u
#define REL_TEXT_MAX VOUCH_RELEASE_MAX_BYTES

typedef struct cosign_http {
    const char *cacert; /* NULL: the system's CA store */
    long timeout;       /* seconds, whole exchange */
    int plain;          /* http:// (loopback only) */
} cosign_http;

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    vouch_buf *b = ud;

    /* size is always 1 (libcurl); refusing a chunk aborts the transfer,
     * so an endless answer costs at most the cap */
    if (size != 1 || vouch_buf_append(b, p, n) != VOUCH_OK)
        return 0;
    return n;
}

/* 1 if host (as libcurl gives it back) is a loopback name or address. */
static int host_is_loopback(const char *h)
{
    return strcmp(h, "localhost") == 0 || strcmp(h, "[::1]") == 0 || strcmp(h, "::1") == 0 ||
           strncmp(h, "127.", 4) == 0;
}

/*
 * Builds base + path from the --cosigner URL (a path prefix is kept, a
 * trailing '/' dropped) and decides http vs https. Credentials, queries and
 * fragments in the URL are refused; they have no place here.
 */
static vouch_code cosign_endpoint(const char *base, const char *route, char *out, size_t cap,
                                  int *plain, vouch_err *err)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *path = NULL, *user = NULL, *query = NULL, *frag = NULL;
    char *full = NULL;
    char newpath[COSIGN_URL_MAX];
    size_t pn;
    vouch_code rc;

    if (!u) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory parsing --cosigner");
        goto out;
    }
    if (strlen(base) >= COSIGN_URL_MAX ||
        curl_url_set(u, CURLUPART_URL, base, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK) {
        rc = vouch_err_set(err, VOUCH_E_USAGE, "--cosigner is not a URL (https://host[:port])");
        goto out;
    }
    if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
        curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK ||
        curl_url_get(u, CURLUPART_FRAGMENT, &frag, 0) == CURLUE_OK) {
        rc = vouch_err_set(err, VOUCH_E_USAGE,
                           "--cosigner must not carry credentials, a query or a fragment");
        goto out;
    }
    if (strcmp(scheme, "https") == 0) {
        *plain = 0;
    } else if (strcmp(scheme, "http") == 0) {
        if (!host_is_loopback(host)) {
            rc = vouch_err_set(err, VOUCH_E_USAGE,
                               "plain http is allowed only to a loopback co-signer; use https");
            goto out;
        }
        *plain = 1;
    } else {
        rc = vouch_err_set(err, VOUCH_E_USAGE, "--cosigner must be an http(s) URL");
        goto out;
    }
    pn = strlen(path);
    while (pn > 0 && path[pn - 1] == '/')
        pn--;
    if (pn + strlen(route) >= sizeof(newpath)) {
        rc = vouch_err_set(err, VOUCH_E_USAGE, "--cosigner URL is too long");
        goto out;
    }
    memcpy(newpath, path, pn);
    memcpy(newpath + pn, route, strlen(route) + 1);
    if (curl_url_set(u, CURLUPART_PATH, newpath, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_URL, &full, 0) != CURLUE_OK || strlen(full) >= cap) {
        rc = vouch_err_set(err, VOUCH_E_USAGE, "--cosigner URL cannot be used");
        goto out;
    }
    memcpy(out, full, strlen(full) + 1);
    rc = VOUCH_OK;
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(path);
    curl_free(user);
    curl_free(query);
    curl_free(frag);
    curl_free(full);
    curl_url_cleanup(u);
    return rc;
}

/*
 * One exchange: POST body (application/jose) when body is not NULL, else
 * GET. *status gets the HTTP status; resp the answer (capped by its max).
 */
static vouch_code cosign_exchange(const cosign_http *h, const char *url, const char *body,
                                  size_t body_len, long *status, vouch_buf *resp, vouch_err *err)
{
    CURL *c = curl_easy_init();
    struct curl_slist *hdrs = NULL, *tmp;
    char ebuf[CURL_ERROR_SIZE];
    CURLcode cc;
    int bad = 0;
    vouch_code rc;

    *status = 0;
    ebuf[0] = '\0';
    if (!c) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "cannot start an HTTP client");
        goto out;
    }
    bad |= curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, h->plain ? "http" : "https") != CURLE_OK;
    /* a redirect is an answer we refuse, never a place we go */
    bad |= curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2) != CURLE_OK;
    if (h->cacert)
        bad |= curl_easy_setopt(c, CURLOPT_CAINFO, h->cacert) != CURLE_OK;
    if (h->plain) /* loopback: no proxy may sit between us */
        bad |= curl_easy_setopt(c, CURLOPT_PROXY, "") != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_TIMEOUT, h->timeout) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT,
                            h->timeout < COSIGN_CONNECT_TIMEOUT ? h->timeout
                                                                : COSIGN_CONNECT_TIMEOUT) !=
           CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)resp->max) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_WRITEDATA, resp) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_USERAGENT, "vouch/" VOUCH_VERSION) != CURLE_OK;
    tmp = curl_slist_append(hdrs, "Accept: application/json");
    hdrs = tmp ? tmp : hdrs;
    bad |= !tmp;
    if (body) {
        tmp = curl_slist_append(hdrs, "Content-Type: application/jose");
        hdrs = tmp ? tmp : hdrs;
        bad |= !tmp;
        tmp = curl_slist_append(hdrs, "Expect:");
        hdrs = tmp ? tmp : hdrs;
        bad |= !tmp;
        bad |= curl_easy_setopt(c, CURLOPT_POSTFIELDS, body) != CURLE_OK;
        bad |= curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len) != CURLE_OK;
    }
    bad |= curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK;
    if (bad) {
        rc = vouch_err_set(err, VOUCH_E_HTTP, "cannot set up the HTTP client (libcurl too old?)");
        goto out;
    }
    cc = curl_easy_perform(c);
    if (cc == CURLE_WRITE_ERROR || cc == CURLE_FILESIZE_EXCEEDED) {
        rc = vouch_err_set(err, VOUCH_E_HTTP, "the co-signer's answer exceeds %zu bytes",
                           resp->max);
        goto out;
    }
    if (cc != CURLE_OK) {
        rc = vouch_err_set(err, VOUCH_E_HTTP, "co-signer unreachable: %s",
                           ebuf[0] ? ebuf : curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    if (*status >= 300 && *status < 400) {
        rc = vouch_err_set(err, VOUCH_E_HTTP, "the co-signer answered a redirect (%ld); refused",
                           *status);
        goto out;
    }
    rc = VOUCH_OK;
out:
    curl_slist_free_all(hdrs);
    if (c)
        curl_easy_cleanup(c);
    return rc;
}

/* --trust-on-first-use: the co-signer's key from GET /v1/did, whose DID,
 * kid and JWK must agree. */
static vouch_code cosign_fetch_key(const cosign_http *h, const char *base, vouch_key **out,
                                   vouch_err *err)
{
    char url[COSIGN_URL_MAX];
    vouch_json_limits lim = {VOUCH_COSIGN_MAX_RESPONSE, 4};
    vouch_buf resp;
    json_t *doc = NULL, *jwk = NULL;
    vouch_key *from_did = NULL, *from_jwk = NULL;
    const char *did = NULL, *kid = NULL;
    char *vm = NULL;
    long status = 0;
    int plain = 0;
    vouch_code rc;

    *out = NULL;
    vouch_buf_init(&resp, VOUCH_COSIGN_MAX_RESPONSE);
    if ((rc = cosign_endpoint(base, "/v1/did", url, sizeof(url), &plain, err)) != VOUCH_OK ||
        (rc = cosign_exchange(h, url, NULL, 0, &status, &resp, err)) != VOUCH_OK)
        goto out;
    if (status != 200) {
        rc = vouch_err_set(err, VOUCH_E_HTTP, "GET /v1/did answered %ld", status);
        goto out;
    }
    if (vouch_json_parse_object((const char *)resp.data, resp.len, &lim, &doc, err) != VOUCH_OK ||
        vouch_json_get_string(doc, "did", &did, err) != VOUCH_OK ||
        vouch_json_get_string(doc, "kid", &kid, err) != VOUCH_OK ||
        vouch_json_get_object(doc, "jwk", &jwk, err) != VOUCH_OK) {
        /* a co-signer answering garbage is a transport failure */
        vouch_err_prefix(err, "GET /v1/did");
        if (err)
            err->code = VOUCH_E_HTTP;
        rc = VOUCH_E_HTTP;
        goto out;
    }
    if ((rc = vouch_did_key_decode(did, &from_did, err)) != VOUCH_OK ||
        (rc = vouch_key_from_jwk(jwk, VOUCH_JWK_PUBLIC, &from_jwk, err)) != VOUCH_OK ||
        (rc = vouch_did_key_vm_id(did, &vm, err)) != VOUCH_OK)
        goto out;
    if (!vouch_key_equal(from_did, from_jwk) || strcmp(vm, kid) != 0) {
        rc = vouch_err_set(err, VOUCH_E_HTTP, "GET /v1/did: DID, kid and JWK disagree");
        goto out;
    }
    fprintf(stderr,
            "vouch: trusting the co-signer %s on first use; pin it next time with "
            "--cosigner-key %s\n",
            did, did);
    *out = from_did;
    from_did = NULL;
out:
    vouch_free(vm);
    vouch_key_free(from_did);
    vouch_key_free(from_jwk);
    json_decref(doc);
    vouch_buf_free(&resp);
    return rc;
}

/* Reads a timeout in whole seconds, 1..COSIGN_TIMEOUT_MAX. */
static vouch_code cosign_timeout(const char *s, long *out, vouch_err *err)
{
    char *end = NULL;
    long v;

    *out = COSIGN_TIMEOUT_DEFAULT;
    if (!s)
        return VOUCH_OK;
    v = strtol(s, &end, 10);
    if (!s[0] || *end || v < 1 || v > COSIGN_TIMEOUT_MAX)
        return vouch_err_set(err, VOUCH_E_USAGE, "--timeout must be 1..%ld seconds",
                             COSIGN_TIMEOUT_MAX);
    *out = v;
    return VOUCH_OK;
}

vouch_code cli_release_cosign(const cli_args *a, vouch_err *err)
{
    const char *base, *identity_ref, *pin = cli_get(a, "cosigner-key");
    int tofu = cli_flag(a, "trust-on-first-use"), force = cli_flag(a, "force");
    cosign_http h = {cli_get(a, "cacert"), COSIGN_TIMEOUT_DEFAULT, 0};
    char url[COSIGN_URL_MAX];
    char refusal[VOUCH_ERR_MSG_MAX];
    vouch_key *identity = NULL, *cosigner = NULL;
    char *rel_text = NULL, *payload_b64 = NULL, *cos_did = NULL, *cos_kid = NULL;
    char *req = NULL, *entry = NULL, *new_rel = NULL;
    uint8_t *payload = NULL;
    size_t rel_len = 0, plen = 0, req_len = 0, entry_len = 0, new_len = 0;
    vouch_release rel;
    vouch_buf resp;
    vouch_code rc, server_code;
    long status = 0;
    static int curl_ready;

    vouch_buf_init(&resp, VOUCH_COSIGN_MAX_RESPONSE);
    if ((rc = cli_require(a, "cosigner", &base, err)) != VOUCH_OK ||
        (rc = cli_require(a, "identity", &identity_ref, err)) != VOUCH_OK ||
        (rc = cosign_timeout(cli_get(a, "timeout"), &h.timeout, err)) != VOUCH_OK)
        goto out;
    if (!!pin == !!tofu) {
        rc = vouch_err_set(err, VOUCH_E_USAGE,
                           "pin the co-signer with --cosigner-key DID|JWK-FILE, or accept its key "
                           "from the network with --trust-on-first-use (one of the two)");
        goto out;
    }
    if ((rc = cosign_endpoint(base, "/v1/cosign", url, sizeof(url), &h.plain, err)) != VOUCH_OK)
        goto out;
    if (!curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            rc = vouch_err_set(err, VOUCH_E_HTTP, "cannot initialize libcurl");
            goto out;
        }
        curl_ready = 1;
    }
    /* everything local first: a request is only made for a release we can
     * read, with a key we can sign with, to a co-signer we know */
    if ((rc = cli_read_text(a->pos[0], REL_TEXT_MAX, &rel_text, &rel_len, err)) != VOUCH_OK ||
        (rc = vouch_key_load(identity_ref, &identity, err)) != VOUCH_OK)
        goto out;
    if (!vouch_key_has_private(identity)) {
        rc = vouch_err_set(err, VOUCH_E_KEY_NOT_PRIVATE, "--identity holds no private key");
        goto out;
    }
    if (pin)
        rc = cli_load_key(pin, &cosigner, err);
    else
        rc = cosign_fetch_key(&h, base, &cosigner, err);
    if (rc != VOUCH_OK ||
        (rc = vouch_did_key_encode(cosigner, &cos_did, err)) != VOUCH_OK ||
        (rc = vouch_did_key_vm_id(cos_did, &cos_kid, err)) != VOUCH_OK ||
        (rc = vouch_cosign_rel_payload(rel_text, rel_len, cos_kid, &payload, &plen, &payload_b64,
                                       err)) != VOUCH_OK ||
        (rc = vouch_release_parse_payload(payload, plen, &rel, err)) != VOUCH_OK)
        goto out;
    if ((rc = vouch_cosign_request_make(identity, cos_did, payload, plen, force,
                                        (int64_t)time(NULL), COSIGN_TTL, NULL, &req, &req_len,
                                        err)) != VOUCH_OK ||
        (rc = cosign_exchange(&h, url, req, req_len, &status, &resp, err)) != VOUCH_OK)
        goto out;
    if (status != 200) {
        if (vouch_cosign_error_parse((const char *)resp.data, resp.len, &server_code, refusal,
                                     sizeof(refusal), NULL) != VOUCH_OK) {
            rc = vouch_err_set(err, VOUCH_E_HTTP, "the co-signer answered HTTP %ld", status);
            goto out;
        }
        rc = vouch_err_set(err, server_code, "the co-signer refused (HTTP %ld): %s", status,
                           refusal);
        goto out;
    }
    if ((rc = vouch_cosign_response_verify((const char *)resp.data, resp.len, payload_b64,
                                           cosigner, cos_kid, &entry, &entry_len, err)) !=
            VOUCH_OK ||
        (rc = vouch_cosign_rel_add(rel_text, rel_len, entry, entry_len, &new_rel, &new_len,
                                   err)) != VOUCH_OK ||
        (rc = vouch_file_write_atomic(a->pos[0], new_rel, new_len, 0644, 0, err)) != VOUCH_OK)
        goto out;
    if (a->json)
        rc = cli_print_json(json_pack("{s:s,s:s,s:s,s:s,s:I,s:b}", "release", a->pos[0],
                                      "cosigner", cos_did, "kid", cos_kid, "version", rel.version,
                                      "securityVersion", (json_int_t)rel.security_version,
                                      "forced", force),
                            err);
    else
        printf("co-signed release %s (securityVersion %lld) by %s\n", rel.version,
               (long long)rel.security_version, cos_did);
out:
    vouch_buf_free(&resp);
    vouch_free(new_rel);
    vouch_free(entry);
    vouch_free(req);
    vouch_free(payload);
    vouch_free(payload_b64);
    vouch_free(cos_kid);
    vouch_free(cos_did);
    vouch_free(rel_text);
    vouch_key_free(cosigner);
    vouch_key_free(identity);
    return rc;
}
