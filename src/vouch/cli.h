/*
 * cli.h - the table-driven command line of `vouch`.
 *
 * Every subcommand is one row of a cli_cmd table (one table per command
 * group, one file per group). The row names the options it takes; the
 * common parser fills a cli_args from argv, and --help text is generated
 * from the same rows, so help and parsing cannot drift apart.
 *
 * Output: results go to stdout (text, or one JSON object with --json);
 * errors go to stderr as "vouch: <message>" (or a JSON object with --json),
 * and the process exits with the vouch_code of the error (see `vouch
 * errors`). --help prints to stdout and exits 0.
 */
#ifndef VOUCH_CLI_H
#define VOUCH_CLI_H

#include <jansson.h>

#include "vouch/vouch.h"

#define CLI_MAX_OPTS 16
#define CLI_MAX_REPEAT 16 /* values one repeatable option may take */
#define CLI_MAX_POS 8

typedef struct cli_opt {
    const char *name;    /* long name without "--" */
    const char *metavar; /* NULL for a flag */
    const char *help;
    int repeat;          /* may be given several times */
} cli_opt;

typedef struct cli_args {
    const struct cli_cmd *cmd;
    const char *vals[CLI_MAX_OPTS][CLI_MAX_REPEAT]; /* per option, in order */
    int nvals[CLI_MAX_OPTS];
    const char *pos[CLI_MAX_POS];                   /* positional arguments */
    int npos;
    int json;                                       /* --json */
} cli_args;

typedef struct cli_cmd {
    const char *group;    /* "key" */
    const char *name;     /* "generate" */
    const char *synopsis; /* "--type p256|ed25519 --out FILE" */
    const char *summary;  /* one line */
    int min_pos, max_pos; /* positional argument count */
    cli_opt opts[CLI_MAX_OPTS];
    /* Runs the command; fills err and returns its code on failure. */
    vouch_code (*run)(const cli_args *a, vouch_err *err);
} cli_cmd;

/* The value of option `name` (the last one given), or NULL. */
const char *cli_get(const cli_args *a, const char *name);
/* How many times option `name` was given; values via *vals. */
int cli_get_all(const cli_args *a, const char *name, const char *const **vals);
/* 1 if the flag `name` was given. */
int cli_flag(const cli_args *a, const char *name);
/* Fails with VOUCH_E_USAGE naming the option when it is absent. */
vouch_code cli_require(const cli_args *a, const char *name, const char **out, vouch_err *err);

/*
 * Prints a JSON result object to stdout (compact + newline) and releases it.
 * Returns VOUCH_E_NOMEM if it cannot be serialized.
 */
vouch_code cli_print_json(json_t *obj, vouch_err *err);

/* Reads a text input (a file, or stdin for NULL/"-") capped at max bytes,
 * with trailing ASCII whitespace removed (files often end in a newline). */
vouch_code cli_read_text(const char *path, size_t max, char **out, size_t *len, vouch_err *err);

/* Loads a verification or signing key from a file (PEM or JWK), a
 * PKCS#11 URI, or a did:key. */
vouch_code cli_load_key(const char *ref, vouch_key **out, vouch_err *err);

/* The command tables, one per group (NULL-terminated by a row with name NULL). */
extern const cli_cmd cli_key_cmds[];
extern const cli_cmd cli_jws_cmds[];
extern const cli_cmd cli_did_cmds[];
extern const cli_cmd cli_init_cmds[];    /* cmd_project.c */
extern const cli_cmd cli_policy_cmds[];  /* cmd_policy.c */
extern const cli_cmd cli_release_cmds[]; /* cmd_release.c */
extern const cli_cmd cli_provision_cmds[]; /* cmd_provision.c */
extern const cli_cmd cli_server_cmds[];  /* cmd_server.c */

/* `vouch release cosign` lives in cmd_cosign.c (HTTP client of vouch-cosignd);
 * cmd_release.c lists it in its table. */
vouch_code cli_release_cosign(const cli_args *a, vouch_err *err);

#endif
