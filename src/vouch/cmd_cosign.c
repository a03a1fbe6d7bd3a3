/* cmd_cosign.c - `vouch release cosign` (placeholder until it lands). */
#include "vouch/cli.h"

vouch_code cli_release_cosign(const cli_args *a, vouch_err *err)
{
    (void)a;
    return vouch_err_set(err, VOUCH_E_INTERNAL, "release cosign is not built yet");
}
