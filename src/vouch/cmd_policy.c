/* cmd_policy.c - `vouch policy` (placeholder until it lands). */
#include "vouch/cli.h"

const cli_cmd cli_policy_cmds[] = {
    {NULL, NULL, NULL, NULL, 0, 0, {{NULL, NULL, NULL, 0}}, NULL},
};
