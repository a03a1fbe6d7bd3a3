/*
 * agent.h - the inside of vouch-agent, the device agent (first version:
 * login and the first device API call). One file per concern:
 *
 *   main.c    the table-driven command line (login, whoami)
 *   net.c     HTTP on libcurl: TLS verified, no redirects, plain HTTP to
 *             loopback only, capped answers, timeouts
 *   login.c   the device bundle, the SIOPv2 + OpenID4VP login, the token
 *             kept in the state directory
 */
#ifndef VOUCH_AGENT_H
#define VOUCH_AGENT_H

#include <stddef.h>
#include <stdint.h>

#include "vouch/form.h"
#include "vouch/policy.h"
#include "vouch/siop.h"
#include "vouch/vouch.h"

#define AGENT_PATH_MAX 4096
#define AGENT_URL_MAX 1024
#define AGENT_BODY_MAX (64u * 1024u)   /* any answer of vouchd */
#define AGENT_TOKEN_FILE "token.json"
#define AGENT_REFRESH_MARGIN 30        /* seconds before expiry a token is renewed */

/* ---------------------------------------------------------------------- net */

typedef struct agent_net agent_net;

typedef struct agent_resp {
    long status;
    char *body;        /* vouch_malloc'd, NUL-terminated, <= AGENT_BODY_MAX */
    size_t len;
    char ctype[128];   /* Content-Type without parameters, lower case */
} agent_resp;

/* origin: the only scheme://host[:port] requests may go to (the bundle's
 * server); cacert: a CA file for https, or NULL for the system store. */
vouch_code agent_net_new(const char *origin, const char *cacert, agent_net **out,
                         vouch_err *err);
void agent_net_free(agent_net *n);
/* One request to url (which must be of the origin); body NULL for GET.
 * bearer (may be NULL) is sent as "Authorization: Bearer ...". A status
 * other than 2xx is not an error here. */
vouch_code agent_net_request(agent_net *n, const char *url, const char *ctype,
                             const char *body, size_t len, const char *bearer,
                             const char *accept, agent_resp *out, vouch_err *err);
void agent_resp_free(agent_resp *r);
/* The error of a non-2xx answer: vouchd's code from its error body, else
 * VOUCH_E_HTTP naming the status. */
vouch_code agent_resp_error(const agent_resp *r, const char *what, vouch_err *err);

/* -------------------------------------------------------------------- login */

typedef struct agent_bundle {
    char dir[AGENT_PATH_MAX];
    char server[AGENT_URL_MAX];    /* the server URL (no trailing '/') */
    char origin[AGENT_URL_MAX];    /* its scheme://host[:port] */
    char did[VOUCH_DID_MAX + 1];
    char serial[128];
    char hardware[64];
    char keyref[AGENT_PATH_MAX];   /* "" when the bundle names no private key */
    char *credential;              /* the ProductionCredential (compact JWT) */
    vouch_policy *policy;          /* the pinned trust policy */
} agent_bundle;

vouch_code agent_bundle_load(const char *dir, agent_bundle *b, vouch_err *err);
void agent_bundle_free(agent_bundle *b);

typedef struct agent_token {
    char access_token[257];
    int64_t expires;               /* unix seconds, by the agent's clock */
    char server[AGENT_URL_MAX];
} agent_token;

/* Reads DIR/token.json (VOUCH_E_NOTFOUND when there is none). */
vouch_code agent_token_load(const char *dir, agent_token *t, vouch_err *err);
/* Writes DIR/token.json atomically, mode 0600. */
vouch_code agent_token_save(const char *dir, const agent_token *t, vouch_err *err);

/* Runs the whole login and keeps the token. */
vouch_code agent_login(agent_net *n, const agent_bundle *b, const vouch_key *key,
                       const char *state_dir, int64_t now, agent_token *out, vouch_err *err);

#endif
