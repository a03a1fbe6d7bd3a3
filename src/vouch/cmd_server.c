/* cmd_server.c - `vouch server` (placeholder until it lands). */
#include "vouch/cli.h"

const cli_cmd cli_server_cmds[] = {
    {NULL, NULL, NULL, NULL, 0, 0, {{NULL, NULL, NULL, 0}}, NULL},
};
