/* cli.c - the option parser, help and error reporting of every program
 * (see common/cli.h for the contract). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cli.h"

#define LABEL_MAX 64     /* "release cosign" */
#define HELP_COLUMN 28   /* where an option's help starts */

/* Options every command takes; they are not in the per-command tables. */
static const cli_opt common_opts[] = {
    {"json", NULL, "print the result (or the error) as one JSON object", 0},
    {"help", NULL, "show this help and exit", 0},
};

static const char exit_line[] =
    "\nexit status: 0 on success, else the error code (see `vouch errors`).\n";

/* "key generate", "init" (a group that is one command) or "serve". */
static void cmd_label(const cli_cmd *c, char *out, size_t cap)
{
    if (c->group)
        snprintf(out, cap, "%s%s%s", c->group, c->name[0] ? " " : "", c->name);
    else
        snprintf(out, cap, "%s", c->name);
}

/* Length of the first sentence of a summary, for one-line listings. */
static int first_sentence(const char *s)
{
    const char *dot = strstr(s, ". ");
    return dot ? (int)(dot - s + 1) : (int)strlen(s);
}

static void print_opt(FILE *f, const cli_opt *o)
{
    char left[LABEL_MAX];

    snprintf(left, sizeof(left), "--%s%s%s", o->name, o->metavar ? " " : "",
             o->metavar ? o->metavar : "");
    fprintf(f, "  %-*s %s%s\n", HELP_COLUMN, left, o->help, o->repeat ? " (repeatable)" : "");
}

static void print_cmd_help(FILE *f, const cli_prog *p, const cli_cmd *c)
{
    char label[LABEL_MAX];

    cmd_label(c, label, sizeof(label));
    fprintf(f, "usage: %s %s %s\n\n%s\n\noptions:\n", p->name, label, c->synopsis, c->summary);
    for (const cli_opt *o = c->opts; o->name; o++)
        print_opt(f, o);
    for (size_t i = 0; i < sizeof(common_opts) / sizeof(common_opts[0]); i++)
        print_opt(f, &common_opts[i]);
    fputs(exit_line, f);
}

/* Calls fn for every command of the program, in table order. */
static void for_each_cmd(const cli_prog *p, void (*fn)(const cli_cmd *c, void *ctx), void *ctx)
{
    if (p->groups) {
        for (size_t g = 0; g < p->ngroups; g++)
            for (const cli_cmd *c = p->groups[g].cmds; c->name; c++)
                fn(c, ctx);
    } else {
        for (const cli_cmd *c = p->cmds; c->name; c++)
            fn(c, ctx);
    }
}

static void widest_label(const cli_cmd *c, void *ctx)
{
    char label[LABEL_MAX];
    int *w = ctx, n;

    cmd_label(c, label, sizeof(label));
    n = (int)strlen(label);
    if (n > *w)
        *w = n;
}

typedef struct list_ctx {
    FILE *f;
    int width;
} list_ctx;

static void list_line(const cli_cmd *c, void *ctx)
{
    const list_ctx *l = ctx;
    char label[LABEL_MAX];

    cmd_label(c, label, sizeof(label));
    fprintf(l->f, "  %-*s  %.*s\n", l->width, label, first_sentence(c->summary), c->summary);
}

static void print_main_help(FILE *f, const cli_prog *p)
{
    const char *words = p->groups ? "GROUP COMMAND" : "COMMAND";
    list_ctx l = {f, 0};

    fprintf(f, "%s %s - %s\n\nusage: %s %s [OPTIONS] [ARGS]\n       %s %s --help\n", p->name,
            VOUCH_VERSION, p->tagline, p->name, words, p->name, words);
    if (p->usage_extra)
        fprintf(f, "       %s %s\n", p->name, p->usage_extra);
    fputs("\ncommands:\n", f);
    /* one column for the names, as wide as the widest, so the summaries line up */
    for_each_cmd(p, widest_label, &l.width);
    for_each_cmd(p, list_line, &l);
    fputs(exit_line, f);
}

static void print_group_help(FILE *f, const cli_prog *p, const cli_group *g)
{
    fprintf(f, "usage: %s %s COMMAND [OPTIONS]\n\n%s\n\ncommands:\n", p->name, g->name,
            g->summary);
    for (const cli_cmd *c = g->cmds; c->name; c++)
        fprintf(f, "  %-12s %.*s\n", c->name, first_sentence(c->summary), c->summary);
}

/* The index of option `name` in the command's table, or -1. */
static int opt_index(const cli_cmd *c, const char *name)
{
    for (int i = 0; c->opts[i].name; i++)
        if (strcmp(c->opts[i].name, name) == 0)
            return i;
    return -1;
}

const char *cli_get(const cli_args *a, const char *name)
{
    int i = opt_index(a->cmd, name);

    return i >= 0 && a->nvals[i] ? a->vals[i][a->nvals[i] - 1] : NULL;
}

int cli_get_all(const cli_args *a, const char *name, const char *const **vals)
{
    int i = opt_index(a->cmd, name);

    *vals = i >= 0 ? a->vals[i] : NULL;
    return i >= 0 ? a->nvals[i] : 0;
}

int cli_flag(const cli_args *a, const char *name) { return cli_get(a, name) != NULL; }

vouch_code cli_require(const cli_args *a, const char *name, const char **out, vouch_err *err)
{
    char label[LABEL_MAX];

    *out = cli_get(a, name);
    if (*out)
        return VOUCH_OK;
    cmd_label(a->cmd, label, sizeof(label));
    return vouch_err_set(err, VOUCH_E_USAGE, "%s: --%s is required", label, name);
}

vouch_code cli_get_int(const cli_args *a, const char *name, int64_t lo, int64_t hi,
                       int64_t *out, vouch_err *err)
{
    const char *s = cli_get(a, name);
    char *end = NULL;
    long long v = 0;
    int ok;

    if (!s)
        return VOUCH_OK;
    /* strtoll alone would also take leading spaces and a '+' */
    ok = (s[0] >= '0' && s[0] <= '9') || s[0] == '-';
    if (ok) {
        errno = 0;
        v = strtoll(s, &end, 10);
        ok = !*end && !errno && v >= lo && v <= hi;
    }
    if (!ok)
        return vouch_err_set(err, VOUCH_E_USAGE, "--%s must be an integer in %lld..%lld", name,
                             (long long)lo, (long long)hi);
    *out = v;
    return VOUCH_OK;
}

vouch_code cli_print_json(json_t *obj, vouch_err *err)
{
    char *s = NULL;
    size_t len = 0;
    vouch_code rc;

    if (!obj)
        return vouch_err_set(err, VOUCH_E_NOMEM, "out of memory building JSON output");
    rc = vouch_json_dump(obj, &s, &len, err);
    if (rc == VOUCH_OK) {
        fwrite(s, 1, len, stdout);
        fputc('\n', stdout);
    }
    vouch_free(s);
    json_decref(obj);
    return rc;
}

void cli_ascii(const char *in, char *out, size_t cap)
{
    size_t i = 0;

    if (!cap)
        return;
    for (; in && in[i] && i + 1 < cap; i++)
        out[i] = in[i] >= 0x20 && in[i] < 0x7f ? in[i] : '?';
    out[i] = '\0';
}

/*
 * Fills a from argv (the words after the command's name). Sets *help when
 * --help was given (the rest is then not looked at). Returns VOUCH_OK or
 * VOUCH_E_USAGE with err set, at the first word that is wrong.
 */
static vouch_code parse_args(const cli_cmd *c, int argc, char **argv, cli_args *a, int *help,
                             vouch_err *err)
{
    char label[LABEL_MAX];
    int only_pos = 0;

    memset(a, 0, sizeof(*a));
    a->cmd = c;
    *help = 0;
    cmd_label(c, label, sizeof(label));
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i], *val = NULL, *eq;
        char name[64];
        size_t nlen;
        int k;

        if (only_pos || arg[0] != '-' || arg[1] != '-' || arg[2] == '\0') {
            if (!only_pos && strcmp(arg, "--") == 0) {
                only_pos = 1;
                continue;
            }
            if (a->npos >= CLI_MAX_POS || a->npos >= c->max_pos)
                return vouch_err_set(err, VOUCH_E_USAGE, "unexpected argument '%.64s'", arg);
            a->pos[a->npos++] = arg;
            continue;
        }
        eq = strchr(arg + 2, '=');
        nlen = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
        if (nlen >= sizeof(name))
            return vouch_err_set(err, VOUCH_E_USAGE, "unknown option '%.64s'", arg);
        memcpy(name, arg + 2, nlen);
        name[nlen] = '\0';
        if (strcmp(name, "help") == 0) {
            *help = 1;
            return VOUCH_OK;
        }
        if (strcmp(name, "json") == 0) {
            a->json = 1;
            continue;
        }
        k = opt_index(c, name);
        if (k < 0)
            return vouch_err_set(err, VOUCH_E_USAGE, "unknown option '--%s' for '%s'", name,
                                 label);
        if (c->opts[k].metavar) {
            if (eq)
                val = eq + 1;
            else if (i + 1 < argc)
                val = argv[++i];
            else
                return vouch_err_set(err, VOUCH_E_USAGE, "--%s needs a value (%s)", name,
                                     c->opts[k].metavar);
        } else {
            if (eq)
                return vouch_err_set(err, VOUCH_E_USAGE, "--%s takes no value", name);
            val = "1";
        }
        if (a->nvals[k] > 0 && !c->opts[k].repeat)
            return vouch_err_set(err, VOUCH_E_USAGE, "--%s given twice", name);
        if (a->nvals[k] >= CLI_MAX_REPEAT)
            return vouch_err_set(err, VOUCH_E_USAGE, "--%s given too often", name);
        a->vals[k][a->nvals[k]++] = val;
    }
    if (a->npos < c->min_pos)
        return vouch_err_set(err, VOUCH_E_USAGE, "'%s' needs %d argument%s", label, c->min_pos,
                             c->min_pos == 1 ? "" : "s");
    return VOUCH_OK;
}

/* Prints e as the program's error line (or JSON object) on stderr; returns
 * the exit status. */
static int report_error(const cli_prog *p, const vouch_err *e, int json)
{
    char clean[VOUCH_ERR_MSG_MAX];
    const char *msg = e->msg;
    json_t *o = NULL;
    char *s = NULL;
    size_t n = 0;
    vouch_err tmp;

    if (p->ascii_errors) {
        cli_ascii(e->msg, clean, sizeof(clean));
        msg = clean;
    }
    if (!msg[0])
        msg = vouch_code_describe(e->code);
    if (!json) {
        fprintf(stderr, "%s: %s (%s)\n", p->name, msg, vouch_code_name(e->code));
        goto out;
    }
    o = json_pack("{s:{s:i,s:s,s:s}}", "error", "code", (int)e->code, "name",
                  vouch_code_name(e->code), "message", msg);
    /* jansson refuses invalid UTF-8: then the code's own description stands in */
    if (!o)
        o = json_pack("{s:{s:i,s:s,s:s}}", "error", "code", (int)e->code, "name",
                      vouch_code_name(e->code), "message", vouch_code_describe(e->code));
    if (o && vouch_json_dump(o, &s, &n, &tmp) == VOUCH_OK)
        fprintf(stderr, "%s\n", s);
    else /* out of memory: the code still gets out */
        fprintf(stderr, "{\"error\":{\"code\":%d}}\n", (int)e->code);
out:
    vouch_free(s);
    json_decref(o);
    return (int)e->code;
}

static const cli_cmd *find_cmd(const cli_cmd *cmds, const char *name)
{
    for (; cmds->name; cmds++)
        if (strcmp(cmds->name, name) == 0)
            return cmds;
    return NULL;
}

static const cli_group *find_group(const cli_prog *p, const char *name)
{
    for (size_t i = 0; i < p->ngroups; i++)
        if (strcmp(p->groups[i].name, name) == 0)
            return &p->groups[i];
    return NULL;
}

int cli_main(const cli_prog *p, int argc, char **argv)
{
    const cli_group *g = NULL;
    const cli_cmd *c = NULL;
    cli_args a;
    vouch_err err;
    int json = 0, help = 0, skip = 2, status = 0;

    /* known before parsing, so that even a usage error comes out as JSON */
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
    vouch_err_clear(&err);
    vouch_json_init();
    if (argc < 2) {
        print_main_help(stderr, p);
        status = VOUCH_E_USAGE;
        goto out;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        print_main_help(stdout, p);
        goto out;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("%s %s\n", p->name, VOUCH_VERSION);
        goto out;
    }
    if (!p->groups) {
        c = find_cmd(p->cmds, argv[1]);
    } else if ((g = find_group(p, argv[1])) && g->cmds[0].name && !g->cmds[0].name[0]) {
        c = &g->cmds[0]; /* a group that is one command */
    } else if (g && (argc < 3 || strcmp(argv[2], "--help") == 0)) {
        print_group_help(argc < 3 ? stderr : stdout, p, g);
        status = argc < 3 ? VOUCH_E_USAGE : 0;
        goto out;
    } else if (g) {
        c = find_cmd(g->cmds, argv[2]);
        skip = 3;
        if (!c) {
            vouch_err_set(&err, VOUCH_E_USAGE, "unknown command '%s %.64s' (see %s %s --help)",
                          g->name, argv[2], p->name, g->name);
            goto report;
        }
    }
    if (!c) {
        vouch_err_set(&err, VOUCH_E_USAGE, "unknown command '%.64s' (see %s --help)", argv[1],
                      p->name);
        goto report;
    }
    if (parse_args(c, argc - skip, argv + skip, &a, &help, &err) != VOUCH_OK)
        goto report;
    if (help) {
        print_cmd_help(stdout, p, c);
        goto out;
    }
    if (c->run(&a, &err) == VOUCH_OK)
        goto out;
    if (err.code == VOUCH_OK) /* a command must always say why */
        vouch_err_set(&err, VOUCH_E_INTERNAL, "command failed without a reason");
report:
    status = report_error(p, &err, json);
out:
    return status;
}
