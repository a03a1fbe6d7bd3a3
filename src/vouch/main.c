/*
 * main.c - `vouch`, the vendor-side tool: dispatch, the option parser, help,
 * and error reporting shared by every command group (see cli.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vouch/cli.h"

typedef struct cli_group {
    const char *name;
    const char *summary;
    const cli_cmd *cmds;
} cli_group;

/* A group whose only row has the name "" is a command of its own (`vouch init`). */
static const cli_group groups[] = {
    {"init", "create a project: root, release, issuer and server keys, policy, did:web",
     cli_init_cmds},
    {"key", "generate keys and show public keys (files or PKCS#11 tokens)", cli_key_cmds},
    {"jws", "sign and verify JSON Web Signatures (ES256, EdDSA)", cli_jws_cmds},
    {"did", "resolve DIDs and print the project's did:web document", cli_did_cmds},
    {"policy", "show, verify, export and rotate the trust policy", cli_policy_cmds},
    {"release", "create, sign, co-sign and verify release credentials", cli_release_cmds},
    {"provision", "end of line: issue a device's production credential and bundle",
     cli_provision_cmds},
    {"server", "export what the update server needs, and nothing more", cli_server_cmds},
};
#define NGROUPS (sizeof(groups) / sizeof(groups[0]))

/* Options every command takes; they are not in the per-command tables. */
static const cli_opt common_opts[] = {
    {"json", NULL, "print the result (or the error) as one JSON object", 0},
    {"help", NULL, "show this help and exit", 0},
};

static void print_cmd_help(FILE *f, const cli_cmd *c)
{
    fprintf(f, "usage: vouch %s%s%s %s\n\n%s\n\noptions:\n", c->group, c->name[0] ? " " : "",
            c->name, c->synopsis, c->summary);
    for (const cli_opt *o = c->opts; o->name; o++) {
        char left[64];
        snprintf(left, sizeof(left), "--%s%s%s", o->name, o->metavar ? " " : "",
                 o->metavar ? o->metavar : "");
        fprintf(f, "  %-28s %s%s\n", left, o->help, o->repeat ? " (repeatable)" : "");
    }
    for (size_t i = 0; i < sizeof(common_opts) / sizeof(common_opts[0]); i++) {
        char left[64];
        snprintf(left, sizeof(left), "--%s", common_opts[i].name);
        fprintf(f, "  %-28s %s\n", left, common_opts[i].help);
    }
    fprintf(f, "\nexit status: 0 on success, else the error code (see `vouch errors`).\n");
}

/* Length of the first sentence of a summary, for one-line listings. */
static int first_sentence(const char *s)
{
    const char *dot = strstr(s, ". ");
    return dot ? (int)(dot - s + 1) : (int)strlen(s);
}

static void print_main_help(FILE *f)
{
    fprintf(f, "vouch %s - every release vouched for twice\n\n"
               "usage: vouch GROUP COMMAND [OPTIONS] [ARGS]\n"
               "       vouch GROUP COMMAND --help\n"
               "       vouch errors [--json]\n\ncommands:\n",
            VOUCH_VERSION);
    for (size_t g = 0; g < NGROUPS; g++)
        for (const cli_cmd *c = groups[g].cmds; c->name; c++) {
            char left[64];
            snprintf(left, sizeof(left), "%s %s", c->group, c->name);
            fprintf(f, "  %-20s %.*s\n", left, first_sentence(c->summary), c->summary);
        }
    fprintf(f, "\nexit status: 0 on success, else the error code (see `vouch errors`).\n");
}

static void print_group_help(FILE *f, const cli_group *g)
{
    fprintf(f, "usage: vouch %s COMMAND [OPTIONS]\n\n%s\n\ncommands:\n", g->name, g->summary);
    for (const cli_cmd *c = g->cmds; c->name; c++)
        fprintf(f, "  %-12s %.*s\n", c->name, first_sentence(c->summary), c->summary);
}

const char *cli_get(const cli_args *a, const char *name)
{
    for (int i = 0; a->cmd->opts[i].name; i++)
        if (strcmp(a->cmd->opts[i].name, name) == 0)
            return a->nvals[i] ? a->vals[i][a->nvals[i] - 1] : NULL;
    return NULL;
}

int cli_get_all(const cli_args *a, const char *name, const char *const **vals)
{
    for (int i = 0; a->cmd->opts[i].name; i++)
        if (strcmp(a->cmd->opts[i].name, name) == 0) {
            *vals = a->vals[i];
            return a->nvals[i];
        }
    *vals = NULL;
    return 0;
}

int cli_flag(const cli_args *a, const char *name) { return cli_get(a, name) != NULL; }

vouch_code cli_require(const cli_args *a, const char *name, const char **out, vouch_err *err)
{
    *out = cli_get(a, name);
    if (!*out)
        return vouch_err_set(err, VOUCH_E_USAGE, "%s %s: --%s is required", a->cmd->group,
                             a->cmd->name, name);
    return VOUCH_OK;
}

/* Fills a from argv (after "vouch GROUP CMD"). Returns 1 if --help was
 * asked, 0 on success, or a usage error code. */
static int parse_args(const cli_cmd *c, int argc, char **argv, cli_args *a, vouch_err *err)
{
    int only_pos = 0;

    memset(a, 0, sizeof(*a));
    a->cmd = c;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i], *val = NULL;
        char name[64];
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
        const char *eq = strchr(arg + 2, '=');
        size_t nlen = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
        if (nlen >= sizeof(name))
            return vouch_err_set(err, VOUCH_E_USAGE, "unknown option '%.64s'", arg);
        memcpy(name, arg + 2, nlen);
        name[nlen] = '\0';
        if (strcmp(name, "help") == 0)
            return 1;
        if (strcmp(name, "json") == 0) {
            a->json = 1;
            continue;
        }
        for (k = 0; c->opts[k].name; k++)
            if (strcmp(c->opts[k].name, name) == 0)
                break;
        if (!c->opts[k].name)
            return vouch_err_set(err, VOUCH_E_USAGE, "unknown option '--%s' for '%s %s'", name,
                                 c->group, c->name);
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
        return vouch_err_set(err, VOUCH_E_USAGE, "'%s %s' needs %d argument%s", c->group,
                             c->name, c->min_pos, c->min_pos == 1 ? "" : "s");
    return 0;
}

static int report_error(const vouch_err *e, int json)
{
    if (json) {
        json_t *o = json_pack("{s:{s:i,s:s,s:s}}", "error", "code", (int)e->code, "name",
                              vouch_code_name(e->code), "message", e->msg);
        char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
        fprintf(stderr, "%s\n", s ? s : "{\"error\":{\"code\":3}}");
        vouch_free(s);
        json_decref(o);
    } else {
        fprintf(stderr, "vouch: %s (%s)\n", e->msg[0] ? e->msg : vouch_code_describe(e->code),
                vouch_code_name(e->code));
    }
    return (int)e->code;
}

/* `vouch errors`: the exit-code table, from the library's code table. */
static int print_errors(int json)
{
    unsigned i = 0;
    vouch_code c;
    json_t *arr = json ? json_array() : NULL;

    if (!json)
        printf("%-5s %-28s %-6s %s\n", "exit", "name", "domain", "meaning");
    while ((c = vouch_code_next(&i)) != VOUCH_OK) {
        if (json)
            json_array_append_new(arr, json_pack("{s:i,s:s,s:s,s:s}", "code", (int)c, "name",
                                                 vouch_code_name(c), "domain",
                                                 vouch_domain_name(vouch_code_domain(c)),
                                                 "meaning", vouch_code_describe(c)));
        else
            printf("%-5d %-28s %-6s %s\n", (int)c, vouch_code_name(c),
                   vouch_domain_name(vouch_code_domain(c)), vouch_code_describe(c));
    }
    if (json) {
        vouch_err e;
        return cli_print_json(json_pack("{s:o}", "errors", arr), &e) == VOUCH_OK ? 0 : 1;
    }
    return 0;
}

static int has_flag(int argc, char **argv, const char *flag)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], flag) == 0)
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    const cli_group *g = NULL;
    const cli_cmd *c = NULL;
    cli_args a;
    vouch_err err;
    int json = has_flag(argc, argv, "--json"), rc;

    vouch_err_clear(&err);
    vouch_json_init();
    if (argc < 2) {
        print_main_help(stderr);
        return VOUCH_E_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        print_main_help(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("vouch %s\n", VOUCH_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "errors") == 0)
        return print_errors(json);
    for (size_t i = 0; i < NGROUPS; i++)
        if (strcmp(groups[i].name, argv[1]) == 0)
            g = &groups[i];
    if (!g) {
        vouch_err_set(&err, VOUCH_E_USAGE, "unknown command '%.64s' (see vouch --help)", argv[1]);
        return report_error(&err, json);
    }
    if (g->cmds[0].name && g->cmds[0].name[0] == '\0') {
        c = &g->cmds[0]; /* a group that is one command */
        rc = parse_args(c, argc - 2, argv + 2, &a, &err);
    } else {
        if (argc < 3 || strcmp(argv[2], "--help") == 0) {
            print_group_help(argc < 3 ? stderr : stdout, g);
            return argc < 3 ? VOUCH_E_USAGE : 0;
        }
        for (c = g->cmds; c->name; c++)
            if (strcmp(c->name, argv[2]) == 0)
                break;
        if (!c->name) {
            vouch_err_set(&err, VOUCH_E_USAGE, "unknown command '%s %.64s' (see vouch %s --help)",
                          g->name, argv[2], g->name);
            return report_error(&err, json);
        }
        rc = parse_args(c, argc - 3, argv + 3, &a, &err);
    }
    if (rc == 1) {
        print_cmd_help(stdout, c);
        return 0;
    }
    if (rc != 0)
        return report_error(&err, json);
    if (c->run(&a, &err) != VOUCH_OK) {
        if (err.code == VOUCH_OK) /* a command must always say why */
            vouch_err_set(&err, VOUCH_E_INTERNAL, "command failed without a reason");
        return report_error(&err, json);
    }
    return 0;
}
