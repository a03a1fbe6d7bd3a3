/*
 * common/cli.h - the table-driven command line every vouch program shares
 * (vouch, vouch-cosignd, vouchd, vouch-agent).
 *
 * A program is one cli_prog: its name, a one-line tagline, and its command
 * table. Each command is one cli_cmd row naming the options it takes; the
 * parser fills a cli_args from argv, and every help text is generated from
 * the same rows, so help and parsing cannot drift apart. A program either
 * has command groups (`vouch key generate`; a group whose only row is named
 * "" is a command of its own, `vouch init`) or plain commands (`vouchd
 * serve`).
 *
 * What cli_main guarantees, for every program alike:
 *   - `PROG --help` (also -h, help) and `PROG CMD --help` print to stdout and
 *     exit 0; `PROG` alone prints the main help to stderr and exits 2.
 *   - `PROG --version` prints "PROG VERSION" and exits 0.
 *   - Options are long only: --name VALUE, --name=VALUE, or --name for a
 *     flag; "--" ends the options. Unknown options, a missing value, a value
 *     given to a flag, an option given twice (unless repeatable) and too
 *     few or too many positional arguments are usage errors (exit 2,
 *     VOUCH_E_USAGE), reported before the command runs.
 *   - --json (taken by every command, anywhere on the line) asks the
 *     command for one JSON object on stdout, and makes every error one JSON
 *     object on stderr: {"error":{"code":N,"name":"VOUCH_E_...","message":"..."}}.
 *     Without it an error is one line: "PROG: <message> (<NAME>)".
 *   - The exit status is 0 on success, else the vouch_code of the error
 *     (`vouch errors` lists them). A command that fails without setting
 *     err is reported as VOUCH_E_INTERNAL rather than exiting 0.
 *
 * Ownership: every table and string is the program's (static); cli_args
 * points into argv and into the table, so it lives as long as they do.
 * Nothing here allocates, except cli_print_json and the JSON error object
 * (both released before they return).
 */
#ifndef VOUCH_COMMON_CLI_H
#define VOUCH_COMMON_CLI_H

#include <stdint.h>

#include <jansson.h>

#include "vouch/vouch.h"

#define CLI_MAX_OPTS 16
#define CLI_MAX_REPEAT 16 /* values one repeatable option may take */
#define CLI_MAX_POS 8

typedef struct cli_opt {
    const char *name;    /* long name without "--"; NULL ends the list */
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
    const char *group;    /* "key"; NULL in a program without groups */
    const char *name;     /* "generate"; "" for a group that is one command */
    const char *synopsis; /* "--type p256|ed25519 --out FILE" */
    const char *summary;  /* its first sentence is the line in the main help */
    int min_pos, max_pos; /* positional argument count (max_pos <= CLI_MAX_POS) */
    cli_opt opts[CLI_MAX_OPTS];
    /* Runs the command; fills err and returns its code on failure. */
    vouch_code (*run)(const cli_args *a, vouch_err *err);
} cli_cmd;

typedef struct cli_group {
    const char *name;    /* "key" */
    const char *summary; /* one line, for `PROG GROUP` help */
    const cli_cmd *cmds; /* its rows, ended by a row whose name is NULL */
} cli_group;

typedef struct cli_prog {
    const char *name;    /* "vouchd": in usage lines and before every error */
    const char *tagline; /* "the vouch update server", after the version */
    /* Exactly one of groups (ngroups entries) or cmds (ended by a row
     * whose name is NULL) is set. */
    const cli_group *groups;
    size_t ngroups;
    const cli_cmd *cmds;
    const char *usage_extra; /* one more usage line after PROG ("errors [--json]"), or NULL */
    /* Error messages are printed as printable ASCII only (others become
     * '?'): for programs whose errors may quote a peer's words. */
    int ascii_errors;
} cli_prog;

/*
 * Runs the program: finds the command argv names, parses its options, runs
 * it and reports its error. Returns the exit status (see above). Calls
 * vouch_json_init() first.
 */
int cli_main(const cli_prog *p, int argc, char **argv);

/* The value of option `name` (the last one given), or NULL. */
const char *cli_get(const cli_args *a, const char *name);
/* How many times option `name` was given; values via *vals. */
int cli_get_all(const cli_args *a, const char *name, const char *const **vals);
/* 1 if the flag `name` was given. */
int cli_flag(const cli_args *a, const char *name);
/* Fails with VOUCH_E_USAGE naming the option when it is absent. */
vouch_code cli_require(const cli_args *a, const char *name, const char **out, vouch_err *err);
/*
 * A decimal option within [lo, hi] into *out; *out is left untouched when
 * the option is absent. VOUCH_E_USAGE (naming the range) for anything else:
 * a sign other than a leading '-', spaces, trailing bytes, overflow.
 */
vouch_code cli_get_int(const cli_args *a, const char *name, int64_t lo, int64_t hi,
                       int64_t *out, vouch_err *err);

/*
 * Prints a JSON result object to stdout (compact + newline) and releases it
 * (obj may be NULL: a failed json_pack, reported as VOUCH_E_NOMEM).
 */
vouch_code cli_print_json(json_t *obj, vouch_err *err);

/* Copies in (NULL: "") into out (cap > 0 bytes, always terminated, cut to
 * fit) with every byte outside printable ASCII replaced by '?': for text
 * from a peer on its way to a terminal or a log. */
void cli_ascii(const char *in, char *out, size_t cap);

#endif
