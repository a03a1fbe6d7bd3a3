/* util.c - helpers only vouch's command groups use (see cli.h); the
 * shared ones are in common/cli.c. */
#include <string.h>

#include "vouch/cli.h"

vouch_code cli_read_text(const char *path, size_t max, char **out, size_t *len, vouch_err *err)
{
    unsigned char *buf = NULL;
    size_t n = 0;
    vouch_code rc = vouch_file_read(path, max, &buf, &n, err);

    if (rc != VOUCH_OK)
        return rc;
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' ||
                     buf[n - 1] == '\t'))
        buf[--n] = '\0';
    *out = (char *)buf;
    *len = n;
    return VOUCH_OK;
}

vouch_code cli_load_key(const char *ref, vouch_key **out, vouch_err *err)
{
    if (strncmp(ref, "did:", 4) == 0)
        return vouch_did_key_decode(ref, out, err);
    return vouch_key_load(ref, out, err);
}
