/*
 * main.c - `vouch`, the vendor-side tool: its command groups and `vouch
 * errors`. Parsing, help and error reporting are common/cli.c's.
 */
#include <stdio.h>
#include <string.h>

#include "vouch/cli.h"

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

static const cli_prog prog = {
    .name = "vouch",
    .tagline = "every release vouched for twice",
    .groups = groups,
    .ngroups = sizeof(groups) / sizeof(groups[0]),
    .usage_extra = "errors [--json]",
};

/* `vouch errors`: the exit-code table, from the library's code table. It is
 * not a row of the table: it takes no options but --json, and docs/cli.md
 * lists it with the codes, not with the commands. */
static int print_errors(int json)
{
    unsigned i = 0;
    vouch_code c;
    json_t *arr = json ? json_array() : NULL;
    vouch_err e;

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
    if (json)
        return cli_print_json(json_pack("{s:o}", "errors", arr), &e) == VOUCH_OK ? 0 : 1;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "errors") == 0) {
        int json = 0;
        for (int i = 2; i < argc; i++)
            json |= strcmp(argv[i], "--json") == 0;
        vouch_json_init();
        return print_errors(json);
    }
    return cli_main(&prog, argc, argv);
}
