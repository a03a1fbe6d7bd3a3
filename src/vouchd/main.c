/* main.c - `vouchd`, the update server: one table of commands (serve,
 * revoke, register), help generated from it, errors to stderr as
 * "vouchd: <message> (<NAME>)" or one JSON object with --json, and the
 * vouch_code of the error as the exit status. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vouchd/vouchd.h"

#define MAX_OPTS 10

typedef struct vd_opt {
    const char *name;
    const char *metavar; /* NULL for a flag */
    const char *help;
} vd_opt;

typedef struct vd_args {
    const struct vd_cmd *cmd;
    const char *vals[MAX_OPTS];
    const char *pos;     /* the one positional argument, if the command takes it */
    int json;
} vd_args;

typedef struct vd_cmd {
    const char *name;
    const char *synopsis;
    const char *summary;
    int takes_pos;
    vd_opt opts[MAX_OPTS];
    vouch_code (*run)(const vd_args *a, vouch_err *err);
} vd_cmd;

static const char *arg(const vd_args *a, const char *name)
{
    for (int i = 0; a->cmd->opts[i].name; i++)
        if (strcmp(a->cmd->opts[i].name, name) == 0)
            return a->vals[i];
    return NULL;
}

static vouch_code need(const vd_args *a, const char *name, const char **out, vouch_err *err)
{
    *out = arg(a, name);
    if (!*out)
        return vouch_err_set(err, VOUCH_E_USAGE, "vouchd %s: --%s is required", a->cmd->name,
                             name);
    return VOUCH_OK;
}

static int64_t clock_real(void) { return (int64_t)time(NULL); }

/* $VOUCHD_CLOCK_SKEW (a test hook): seconds added to the real clock, so
 * that expiry can be tested without waiting. */
static int64_t clock_offset;
static int64_t clock_shifted(void) { return (int64_t)time(NULL) + clock_offset; }

static vouch_code cmd_serve(const vd_args *a, vouch_err *err)
{
    vd_server s;
    vd_listen l;
    const char *dir, *listen_s, *threads_s = arg(a, "threads"), *skew = getenv("VOUCHD_CLOCK_SKEW");
    long nthreads = sysconf(_SC_NPROCESSORS_ONLN);
    vouch_code rc;

    memset(&s, 0, sizeof(s));
    memset(&l, 0, sizeof(l));
    s.clock = clock_real;
    if ((rc = need(a, "dir", &dir, err)) != VOUCH_OK ||
        (rc = need(a, "listen", &listen_s, err)) != VOUCH_OK)
        goto out;
    if (threads_s) {
        char *end = NULL;
        nthreads = strtol(threads_s, &end, 10);
        if (!*threads_s || *end || nthreads < 1 || nthreads > 256) {
            rc = vouch_err_set(err, VOUCH_E_USAGE, "--threads must be 1..256");
            goto out;
        }
    }
    if (nthreads < 1)
        nthreads = 1;
    if (skew) {
        char *end = NULL;
        clock_offset = strtoll(skew, &end, 10);
        if (!*skew || *end) {
            rc = vouch_err_set(err, VOUCH_E_USAGE, "VOUCHD_CLOCK_SKEW must be an integer");
            goto out;
        }
        s.clock = clock_shifted;
    }
    l.listen = listen_s;
    l.tls_cert = arg(a, "tls-cert");
    l.tls_key = arg(a, "tls-key");
    l.public_url = arg(a, "public-url");
    l.threads = (unsigned)nthreads;
    if ((rc = vd_config_load(dir, &s.cfg, err)) != VOUCH_OK ||
        (rc = vd_store_open(dir, arg(a, "db"), 1, &s.store, err)) != VOUCH_OK)
        goto out;
    rc = vd_http_serve(&s, &l, err);
out:
    vd_store_close(s.store);
    vd_config_free(&s.cfg);
    return rc;
}

/* revoke and register: the DID must be a did:key we can decode. */
static vouch_code cmd_mark(const vd_args *a, int revoke, vouch_err *err)
{
    const char *dir;
    vd_store *st = NULL;
    vouch_key *k = NULL;
    int changed = 0;
    vouch_code rc;

    if ((rc = need(a, "dir", &dir, err)) != VOUCH_OK)
        goto out;
    if (!a->pos) {
        rc = vouch_err_set(err, VOUCH_E_USAGE, "vouchd %s: a device DID is required", a->cmd->name);
        goto out;
    }
    if ((rc = vouch_did_key_decode(a->pos, &k, err)) != VOUCH_OK)
        goto out;
    if ((rc = vd_store_open(dir, arg(a, "db"), 1, &st, err)) != VOUCH_OK)
        goto out;
    rc = revoke ? st->ops->revoke(st, a->pos, (int64_t)time(NULL), &changed, err)
                : st->ops->enroll(st, a->pos, (int64_t)time(NULL), &changed, err);
    if (rc != VOUCH_OK)
        goto out;
    if (a->json) {
        json_t *o = json_pack("{s:s,s:s,s:b}", "did", a->pos, "state",
                              revoke ? "revoked" : "registered", "changed", changed);
        char *s = NULL;
        size_t n = 0;
        if (!o || vouch_json_dump(o, &s, &n, err) != VOUCH_OK) {
            json_decref(o);
            rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory");
            goto out;
        }
        printf("%s\n", s);
        vouch_free(s);
        json_decref(o);
    } else {
        printf("%s %s%s\n", a->pos, revoke ? "revoked" : "registered",
               changed ? "" : " (already)");
    }
out:
    vouch_key_free(k);
    vd_store_close(st);
    return rc;
}

static vouch_code cmd_revoke(const vd_args *a, vouch_err *err) { return cmd_mark(a, 1, err); }
static vouch_code cmd_register(const vd_args *a, vouch_err *err) { return cmd_mark(a, 0, err); }

static const vd_cmd cmds[] = {
    {"serve",
     "--dir S --listen ADDR:PORT [--db URL] [--tls-cert F --tls-key F] [--public-url URL]",
     "Serve did:web, the SIOPv2 + OpenID4VP login and the device API until SIGTERM. Plain "
     "HTTP is allowed on loopback addresses only.",
     0,
     {{"dir", "S", "the server directory (from `vouch server export`)"},
      {"listen", "ADDR:PORT", "IPv4 or [IPv6] address and port (0: any free port)"},
      {"db", "URL", "sqlite:PATH or postgresql://... (default S/vouchd.db)"},
      {"tls-cert", "FILE", "TLS certificate chain (PEM)"},
      {"tls-key", "FILE", "TLS private key (PEM, mode 0600)"},
      {"public-url", "URL", "scheme://host[:port] devices reach (default from --listen or S)"},
      {"threads", "N", "worker threads (default: one per core)"},
      {NULL, NULL, NULL}},
     cmd_serve},
    {"revoke", "--dir S [--db URL] DID",
     "Revoke a device: its next login is refused and its access tokens stop working at once.",
     1,
     {{"dir", "S", "the server directory"},
      {"db", "URL", "sqlite:PATH or postgresql://... (default S/vouchd.db)"},
      {NULL, NULL, NULL}},
     cmd_revoke},
    {"register", "--dir S [--db URL] DID",
     "Register a device key for allowlist mode (id_token alone).", 1,
     {{"dir", "S", "the server directory"},
      {"db", "URL", "sqlite:PATH or postgresql://... (default S/vouchd.db)"},
      {NULL, NULL, NULL}},
     cmd_register},
};
#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

static void print_cmd_help(const vd_cmd *c)
{
    printf("usage: vouchd %s %s\n\n%s\n\noptions:\n", c->name, c->synopsis, c->summary);
    for (const vd_opt *o = c->opts; o->name; o++) {
        char left[64];
        snprintf(left, sizeof(left), "--%s%s%s", o->name, o->metavar ? " " : "",
                 o->metavar ? o->metavar : "");
        printf("  %-24s %s\n", left, o->help);
    }
    printf("  %-24s %s\n  %-24s %s\n", "--json", "print the result (or the error) as JSON",
           "--help", "show this help and exit");
    printf("\nexit status: 0 on success, else the error code (see `vouch errors`).\n");
}

static void print_help(void)
{
    printf("vouchd %s - the vouch update server\n\nusage: vouchd COMMAND [OPTIONS]\n"
           "       vouchd COMMAND --help\n\ncommands:\n",
           VOUCH_VERSION);
    for (size_t i = 0; i < NCMDS; i++)
        printf("  %-10s %s\n", cmds[i].name, cmds[i].synopsis);
    printf("\nexit status: 0 on success, else the error code (see `vouch errors`).\n");
}

/* 1: --help asked; 0: parsed; else a usage error code. */
static int parse(const vd_cmd *c, int argc, char **argv, vd_args *a, vouch_err *err)
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
        if (strncmp(s, "--", 2) != 0) {
            if (!c->takes_pos || a->pos)
                return vouch_err_set(err, VOUCH_E_USAGE, "unexpected argument");
            a->pos = s;
            continue;
        }
        for (k = 0; c->opts[k].name; k++)
            if (strcmp(c->opts[k].name, s + 2) == 0)
                break;
        if (!c->opts[k].name)
            return vouch_err_set(err, VOUCH_E_USAGE, "unknown option for 'vouchd %s'", c->name);
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

    vd_sanitize(e->msg, clean, sizeof(clean));
    if (json) {
        json_t *o = json_pack("{s:{s:i,s:s,s:s}}", "error", "code", (int)e->code, "name",
                              vouch_code_name(e->code), "message", clean);
        char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
        fprintf(stderr, "%s\n", s ? s : "{\"error\":{\"code\":3}}");
        free(s);
        json_decref(o);
    } else {
        fprintf(stderr, "vouchd: %s (%s)\n", clean[0] ? clean : vouch_code_describe(e->code),
                vouch_code_name(e->code));
    }
    return (int)e->code;
}

int main(int argc, char **argv)
{
    vouch_err err;
    vd_args a;
    int r, json = 0;

    vouch_err_clear(&err);
    vouch_json_init();
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
    if (argc < 2) {
        vouch_err_set(&err, VOUCH_E_USAGE, "a command is required (see vouchd --help)");
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
        if (r != 0)
            return report(&err, json);
        if (cmds[i].run(&a, &err) != VOUCH_OK)
            return report(&err, json);
        return 0;
    }
    vouch_err_set(&err, VOUCH_E_USAGE, "unknown command (see vouchd --help)");
    return report(&err, json);
}
