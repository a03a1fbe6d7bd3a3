/* cmd_project.c - `vouch init`: create a project (placeholder until it lands). */
#include "vouch/cli.h"

const cli_cmd cli_init_cmds[] = {
    {NULL, NULL, NULL, NULL, 0, 0, {{NULL, NULL, NULL, 0}}, NULL},
};
