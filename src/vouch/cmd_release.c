/* cmd_release.c - `vouch release` (placeholder until it lands). */
#include "vouch/cli.h"

const cli_cmd cli_release_cmds[] = {
    {NULL, NULL, NULL, NULL, 0, 0, {{NULL, NULL, NULL, 0}}, NULL},
};
