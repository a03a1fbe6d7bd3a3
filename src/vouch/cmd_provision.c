/* cmd_provision.c - `vouch provision` (placeholder until it lands). */
#include "vouch/cli.h"

const cli_cmd cli_provision_cmds[] = {
    {NULL, NULL, NULL, NULL, 0, 0, {{NULL, NULL, NULL, 0}}, NULL},
};
