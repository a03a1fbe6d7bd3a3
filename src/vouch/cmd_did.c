/* cmd_did.c - `vouch did`: resolve DIDs (did:key for now). */
#include <stdio.h>
#include <stdlib.h>

#include "vouch/cli.h"

static vouch_code did_resolve(const cli_args *a, vouch_err *err)
{
    json_t *doc = NULL;
    char *s = NULL;
    vouch_code rc = vouch_did_key_document(a->pos[0], &doc, err);

    if (rc != VOUCH_OK)
        goto out;
    /* the document is the result in both modes; text mode just indents it */
    s = json_dumps(doc, a->json ? JSON_COMPACT : JSON_INDENT(2));
    if (!s) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory printing the DID document");
        goto out;
    }
    printf("%s\n", s);
out:
    vouch_free(s);
    json_decref(doc);
    return rc;
}

const cli_cmd cli_did_cmds[] = {
    {"did", "resolve", "did:key:...", "Print the DID document of a did:key.", 1, 1,
     {{NULL, NULL, NULL, 0}}, did_resolve},
    {NULL, NULL, NULL, NULL, 0, 0, {{NULL, NULL, NULL, 0}}, NULL},
};
