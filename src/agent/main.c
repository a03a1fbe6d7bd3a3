/* main.c - `vouch-agent`, the device agent: one table of commands (login,
 * whoami), help generated from it (stdout, exit 0), errors to stderr as
 * "vouch-agent: <message> (<NAME>)" or one JSON object with --json, and the
 * vouch_code of the error as the exit status (a refusal by vouchd exits
 * with vouchd's code, e.g. 180 for a revoked device). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/agent.h"

#define MAX_OPTS 8

typedef struct ag_opt {
    const char *name;
    const char *metavar;
    const char *help;
} ag_opt;

typedef struct ag_args {
    const struct ag_cmd *cmd;
    const char *vals[MAX_OPTS];
    int json;
} ag_args;

typedef struct ag_cmd {
    const char *name;
    const char *synopsis;
    const char *summary;
    ag_opt opts[MAX_OPTS];
    vouch_code (*run)(const ag_args *a, vouch_err *err);
} ag_cmd;

static const char *arg(const ag_args *a, const char *name)
{
    for (int i = 0; a->cmd->opts[i].name; i++)
        if (strcmp(a->cmd->opts[i].name, name) == 0)
            return a->vals[i];
    return NULL;
}

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

static vouch_code ctx_open(const ag_args *a, ag_ctx *c, vouch_err *err)
{
    const char *bundle = arg(a, "bundle"), *keyref = arg(a, "key"), *now = arg(a, "now");
    vouch_code rc;

    memset(c, 0, sizeof(*c));
    c->now = (int64_t)time(NULL);
    if (!bundle)
        return vouch_err_set(err, VOUCH_E_USAGE, "vouch-agent %s: --bundle is required",
                             a->cmd->name);
    if (now) {
        char *end = NULL;
        long long v = strtoll(now, &end, 10);
        if (!*now || *end || v < 0 || v > VOUCH_JSON_MAX_SAFE_INT)
            return vouch_err_set(err, VOUCH_E_USAGE, "--now must be unix seconds");
        c->now = (int64_t)v;
    }
    c->state = arg(a, "state") ? arg(a, "state") : bundle;
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
    return agent_net_new(c->b.origin, arg(a, "cacert"), &c->net, err);
}

static vouch_code print_obj(json_t *o, vouch_err *err)
{
    char *s = NULL;
    size_t n = 0;
    vouch_code rc;

    if (!o)
        return vouch_err_set(err, VOUCH_E_NOMEM, "out of memory");
    rc = vouch_json_dump(o, &s, &n, err);
    if (rc == VOUCH_OK)
        printf("%s\n", s);
    vouch_free(s);
    json_decref(o);
    return rc;
}

/* A kept token that is for this server and not about to expire. */
static int token_fresh(const ag_ctx *c, const agent_token *t)
{
    return strcmp(t->server, c->b.server) == 0 && t->expires > c->now + AGENT_REFRESH_MARGIN;
}

static vouch_code cmd_login(const ag_args *a, vouch_err *err)
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
        rc = print_obj(json_pack("{s:s,s:s,s:I,s:b}", "did", c.b.did, "server", c.b.server,
                                 "expires", (json_int_t)t.expires, "new_login", refreshed),
                       err);
    else
        printf("%s logged in to %s (token expires at %lld%s)\n", c.b.did, c.b.server,
               (long long)t.expires, refreshed ? "" : ", kept");
out:
    vouch_wipe(&t, sizeof(t));
    ctx_free(&c);
    return rc;
}

static vouch_code cmd_whoami(const ag_args *a, vouch_err *err)
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
        rc = print_obj(o, err);
        o = NULL;
    } else {
        const char *did = json_string_value(json_object_get(o, "did"));
        const char *serial = json_string_value(json_object_get(o, "serial"));
        const char *hw = json_string_value(json_object_get(o, "hardware"));
        char cd[VOUCH_DID_MAX + 1], cs[128], ch[64];
        size_t i;
        /* the server's words, printed as printable ASCII only */
        for (i = 0; did && did[i] && i + 1 < sizeof(cd); i++)
            cd[i] = did[i] >= 0x20 && did[i] < 0x7f ? did[i] : '?';
        cd[i] = '\0';
        for (i = 0; serial && serial[i] && i + 1 < sizeof(cs); i++)
            cs[i] = serial[i] >= 0x20 && serial[i] < 0x7f ? serial[i] : '?';
        cs[i] = '\0';
        for (i = 0; hw && hw[i] && i + 1 < sizeof(ch); i++)
            ch[i] = hw[i] >= 0x20 && hw[i] < 0x7f ? hw[i] : '?';
        ch[i] = '\0';
        printf("%s serial=%s hardware=%s\n", cd, cs, ch);
    }
out:
    json_decref(o);
    agent_resp_free(&r);
    vouch_wipe(&t, sizeof(t));
    ctx_free(&c);
    return rc;
}

static const ag_cmd cmds[] = {
    {"login", "--bundle BUNDLE [--state DIR] [--key FILE|PKCS11-URI] [--now UNIX]",
     "Log in to the bundle's server (SIOPv2 + OpenID4VP) and keep the access token in "
     "DIR/token.json; a kept token is reused until it is about to expire.",
     {{"bundle", "BUNDLE", "the device bundle (from `vouch provision`)"},
      {"state", "DIR", "where the access token is kept (default BUNDLE)"},
      {"key", "FILE|PKCS11-URI", "the device key (default: the bundle's \"key\")"},
      {"now", "UNIX", "the clock, in unix seconds (default: now)"},
      {"cacert", "FILE", "CA certificates for https (default: the system store)"},
      {NULL, NULL, NULL}},
     cmd_login},
    {"whoami", "--bundle BUNDLE [--state DIR] [--key FILE|PKCS11-URI] [--now UNIX]",
     "Call GET /api/v1/whoami, logging in first when the kept token is missing or expired.",
     {{"bundle", "BUNDLE", "the device bundle (from `vouch provision`)"},
      {"state", "DIR", "where the access token is kept (default BUNDLE)"},
      {"key", "FILE|PKCS11-URI", "the device key (default: the bundle's \"key\")"},
      {"now", "UNIX", "the clock, in unix seconds (default: now)"},
      {"cacert", "FILE", "CA certificates for https (default: the system store)"},
      {NULL, NULL, NULL}},
     cmd_whoami},
};
#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

static void print_cmd_help(const ag_cmd *c)
{
    printf("usage: vouch-agent %s %s\n\n%s\n\noptions:\n", c->name, c->synopsis, c->summary);
    for (const ag_opt *o = c->opts; o->name; o++) {
        char left[64];
        snprintf(left, sizeof(left), "--%s %s", o->name, o->metavar);
        printf("  %-26s %s\n", left, o->help);
    }
    printf("  %-26s %s\n  %-26s %s\n", "--json", "print the result (or the error) as JSON",
           "--help", "show this help and exit");
    printf("\nexit status: 0 on success, else the error code (see `vouch errors`).\n");
}

static void print_help(void)
{
    printf("vouch-agent %s - the vouch device agent\n\nusage: vouch-agent COMMAND [OPTIONS]\n"
           "       vouch-agent COMMAND --help\n\ncommands:\n",
           VOUCH_VERSION);
    for (size_t i = 0; i < NCMDS; i++)
        printf("  %-8s %s\n", cmds[i].name, cmds[i].synopsis);
    printf("\nexit status: 0 on success, else the error code (see `vouch errors`).\n");
}

static int parse(const ag_cmd *c, int argc, char **argv, ag_args *a, vouch_err *err)
{
    memset(a, 0, sizeof(*a));
    a->cmd = c;
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        int k;
        if (strcmp(s, "--help") == 0)
            return 1;
        if (strcmp(s, "--json") == 0) {
            a->json = 1;
            continue;
        }
        if (strncmp(s, "--", 2) != 0)
            return vouch_err_set(err, VOUCH_E_USAGE, "unexpected argument");
        for (k = 0; c->opts[k].name; k++)
            if (strcmp(c->opts[k].name, s + 2) == 0)
                break;
        if (!c->opts[k].name)
            return vouch_err_set(err, VOUCH_E_USAGE, "unknown option for 'vouch-agent %s'",
                                 c->name);
        if (a->vals[k])
            return vouch_err_set(err, VOUCH_E_USAGE, "--%s given twice", c->opts[k].name);
        if (i + 1 >= argc)
            return vouch_err_set(err, VOUCH_E_USAGE, "--%s needs a value (%s)", c->opts[k].name,
                                 c->opts[k].metavar);
        a->vals[k] = argv[++i];
    }
    return 0;
}

static int report(const vouch_err *e, int json)
{
    char clean[VOUCH_ERR_MSG_MAX];
    size_t i = 0;

    for (; e->msg[i] && i + 1 < sizeof(clean); i++)
        clean[i] = e->msg[i] >= 0x20 && e->msg[i] < 0x7f ? e->msg[i] : '?';
    clean[i] = '\0';
    if (json) {
        json_t *o = json_pack("{s:{s:i,s:s,s:s}}", "error", "code", (int)e->code, "name",
                              vouch_code_name(e->code), "message", clean);
        char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
        fprintf(stderr, "%s\n", s ? s : "{\"error\":{\"code\":3}}");
        free(s);
        json_decref(o);
    } else {
        fprintf(stderr, "vouch-agent: %s (%s)\n", clean[0] ? clean : vouch_code_describe(e->code),
                vouch_code_name(e->code));
    }
    return (int)e->code;
}

int main(int argc, char **argv)
{
    vouch_err err;
    ag_args a;
    int r, json = 0;

    vouch_err_clear(&err);
    vouch_json_init();
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
    if (argc < 2) {
        vouch_err_set(&err, VOUCH_E_USAGE, "a command is required (see vouch-agent --help)");
        return report(&err, json);
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
        print_help();
        return 0;
    }
    for (size_t i = 0; i < NCMDS; i++) {
        if (strcmp(argv[1], cmds[i].name) != 0)
            continue;
        r = parse(&cmds[i], argc - 2, argv + 2, &a, &err);
        if (r == 1) {
            print_cmd_help(&cmds[i]);
            return 0;
        }
        if (r != 0 || cmds[i].run(&a, &err) != VOUCH_OK)
            return report(&err, json);
        return 0;
    }
    vouch_err_set(&err, VOUCH_E_USAGE, "unknown command (see vouch-agent --help)");
    return report(&err, json);
}
