/*
 * cli.h - the command line of `vouch`: its command tables (one per command
 * group, one file per group) and the helpers only its commands use.
 *
 * The table types, the parser, help and error reporting are shared by every
 * program and live in common/cli.h; `vouch` is one cli_prog over the groups
 * in main.c. Results go to stdout (text, or one JSON object with --json);
 * errors go to stderr as "vouch: <message> (<NAME>)" (or a JSON object with
 * --json), and the process exits with the vouch_code of the error (see
 * `vouch errors`). --help prints to stdout and exits 0.
 */
#ifndef VOUCH_CLI_H
#define VOUCH_CLI_H

#include "common/cli.h"
#include "vouch/vouch.h"

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
