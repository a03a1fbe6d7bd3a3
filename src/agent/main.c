/* main.c - `vouch-agent`, the device agent: one table of commands (login,
 * whoami); help, parsing and errors are common/cli.h's: errors to stderr as
 * "vouch-agent: <message> (<NAME>)" (printable ASCII only: they may quote
 * the server's words) or one JSON object with --json, and the vouch_code of
 * the error as the exit status (a refusal by vouchd exits with vouchd's
 * code, e.g. 180 for a revoked device). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/agent.h"
#include "common/cli.h"

/* Everything both commands need: bundle, key, clock, state dir, network. */
typedef struct ag_ctx {
    agent_bundle b;
    vouch_key *key;
    agent_net *net;
    const char *state;
    int64_t now;
} ag_ctx;

static void ctx_free(ag_ctx *c)
{
    agent_net_free(c->net);
    vouch_key_free(c->key);
    agent_bundle_free(&c->b);
}

static vouch_code ctx_open(const cli_args *a, ag_ctx *c, vouch_err *err)
{
    const char *bundle, *keyref = cli_get(a, "key");
    vouch_code rc;

    memset(c, 0, sizeof(*c));
    c->now = (int64_t)time(NULL);
    if ((rc = cli_require(a, "bundle", &bundle, err)) != VOUCH_OK ||
        (rc = cli_get_int(a, "now", 0, VOUCH_JSON_MAX_SAFE_INT, &c->now, err)) != VOUCH_OK)
        return rc;
    c->state = cli_get(a, "state") ? cli_get(a, "state") : bundle;
    if ((rc = agent_bundle_load(bundle, &c->b, err)) != VOUCH_OK)
        return rc;
    if (!keyref)
        keyref = c->b.keyref[0] ? c->b.keyref : NULL;
    if (!keyref)
        return vouch_err_set(err, VOUCH_E_USAGE,
                             "the bundle names no device key: give --key FILE|PKCS11-URI");
    if ((rc = vouch_key_load(keyref, &c->key, err)) != VOUCH_OK) {
        vouch_err_prefix(err, "device key");
        return rc;
    }
    if (!vouch_key_has_private(c->key))
        return vouch_err_set(err, VOUCH_E_KEY_NOT_PRIVATE, "the device key has no private half");
    return agent_net_new(c->b.origin, cli_get(a, "cacert"), &c->net, err);
}

/* A kept token that is for this server and not about to expire. */
static int token_fresh(const ag_ctx *c, const agent_token *t)
{
    return strcmp(t->server, c->b.server) == 0 && t->expires > c->now + AGENT_REFRESH_MARGIN;
}

static vouch_code cmd_login(const cli_args *a, vouch_err *err)
{
    ag_ctx c;
    agent_token t;
    int refreshed = 0;
    vouch_code rc;

    memset(&t, 0, sizeof(t));
    if ((rc = ctx_open(a, &c, err)) != VOUCH_OK)
        goto out;
    /* a kept token is reused until it is about to expire; then log in again */
    if (agent_token_load(c.state, &t, NULL) != VOUCH_OK || !token_fresh(&c, &t)) {
        if ((rc = agent_login(c.net, &c.b, c.key, c.state, c.now, &t, err)) != VOUCH_OK)
            goto out;
        refreshed = 1;
    }
    if (a->json)
        rc = cli_print_json(json_pack("{s:s,s:s,s:I,s:b}", "did", c.b.did, "server",
                                      c.b.server, "expires", (json_int_t)t.expires, "new_login",
                                      refreshed),
                            err);
    else
        printf("%s logged in to %s (token expires at %lld%s)\n", c.b.did, c.b.server,
               (long long)t.expires, refreshed ? "" : ", kept");
out:
    vouch_wipe(&t, sizeof(t));
    ctx_free(&c);
    return rc;
}

static vouch_code cmd_whoami(const cli_args *a, vouch_err *err)
{
    ag_ctx c;
    agent_token t;
    agent_resp r;
    char url[AGENT_URL_MAX + 32];
    json_t *o = NULL;
    vouch_code rc;

    memset(&t, 0, sizeof(t));
    memset(&r, 0, sizeof(r));
    if ((rc = ctx_open(a, &c, err)) != VOUCH_OK)
        goto out;
    snprintf(url, sizeof(url), "%s/api/v1/whoami", c.b.server);
    if (agent_token_load(c.state, &t, NULL) != VOUCH_OK || !token_fresh(&c, &t)) {
        if ((rc = agent_login(c.net, &c.b, c.key, c.state, c.now, &t, err)) != VOUCH_OK)
            goto out;
    }
    if ((rc = agent_net_request(c.net, url, NULL, NULL, 0, t.access_token, NULL, &r, err)) !=
        VOUCH_OK)
        goto out;
    if (r.status == 401) {
        /* the server no longer takes the token (expired by its clock,
         * revoked, or forgotten): one new login, then one retry */
        agent_resp_free(&r);
        if ((rc = agent_login(c.net, &c.b, c.key, c.state, c.now, &t, err)) != VOUCH_OK ||
            (rc = agent_net_request(c.net, url, NULL, NULL, 0, t.access_token, NULL, &r, err)) !=
                VOUCH_OK)
            goto out;
    }
    if (r.status != 200) {
        rc = agent_resp_error(&r, "GET /api/v1/whoami", err);
        goto out;
    }
    if ((rc = vouch_json_parse_object(r.body, r.len, NULL, &o, err)) != VOUCH_OK)
        goto out;
    if (a->json) {
        rc = cli_print_json(o, err);
        o = NULL;
    } else {
        const char *did = json_string_value(json_object_get(o, "did"));
        const char *serial = json_string_value(json_object_get(o, "serial"));
        const char *hw = json_string_value(json_object_get(o, "hardware"));
        char cd[VOUCH_DID_MAX + 1], cs[128], ch[64];
        /* the server's words, printed as printable ASCII only */
        cli_ascii(did, cd, sizeof(cd));
        cli_ascii(serial, cs, sizeof(cs));
        cli_ascii(hw, ch, sizeof(ch));
        printf("%s serial=%s hardware=%s\n", cd, cs, ch);
    }
out:
    json_decref(o);
    agent_resp_free(&r);
    vouch_wipe(&t, sizeof(t));
    ctx_free(&c);
    return rc;
}

/* Both commands take the same options: the device and where it keeps state. */
#define DEVICE_OPTS                                                                   \
    {{"bundle", "BUNDLE", "the device bundle (from `vouch provision`)", 0},           \
     {"state", "DIR", "where the access token is kept (default BUNDLE)", 0},          \
     {"key", "FILE|PKCS11-URI", "the device key (default: the bundle's \"key\")", 0}, \
     {"now", "UNIX", "the clock, in unix seconds (default: now)", 0},                 \
     {"cacert", "FILE", "CA certificates for https (default: the system store)", 0}}

static const cli_cmd cmds[] = {
    {NULL, "login", "--bundle BUNDLE [--state DIR] [--key FILE|PKCS11-URI] [--now UNIX]",
     "Log in to the bundle's server (SIOPv2 + OpenID4VP) and keep the access token in "
     "DIR/token.json; a kept token is reused until it is about to expire.",
     0, 0, DEVICE_OPTS, cmd_login},
    {NULL, "whoami", "--bundle BUNDLE [--state DIR] [--key FILE|PKCS11-URI] [--now UNIX]",
     "Call GET /api/v1/whoami, logging in first when the kept token is missing or expired.",
     0, 0, DEVICE_OPTS, cmd_whoami},
    {NULL, NULL, NULL, NULL, 0, 0, {{NULL, NULL, NULL, 0}}, NULL},
};

static const cli_prog prog = {
    .name = "vouch-agent",
    .tagline = "the vouch device agent",
    .cmds = cmds,
    .ascii_errors = 1,
};

int main(int argc, char **argv) { return cli_main(&prog, argc, argv); }
