/* cmd_did.c - `vouch did`: resolve a did:key, print the project's did:web
 * document. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vouch/cli.h"
#include "project.h"

/* The document is the result in both modes; text mode just indents it. */
static vouch_code did_print(const cli_args *a, const json_t *doc, vouch_err *err)
{
    char *s = json_dumps(doc, a->json ? JSON_COMPACT : JSON_INDENT(2));

    if (!s)
        return vouch_err_set(err, VOUCH_E_NOMEM, "out of memory printing the DID document");
    printf("%s\n", s);
    vouch_free(s);
    return VOUCH_OK;
}

static vouch_code did_resolve(const cli_args *a, vouch_err *err)
{
    json_t *doc = NULL;
    vouch_code rc = vouch_did_key_document(a->pos[0], &doc, err);

    if (rc == VOUCH_OK)
        rc = did_print(a, doc, err);
    json_decref(doc);
    return rc;
}

/* Built from the verified current policy, so it is always what P/did.json
 * should hold. */
static vouch_code did_document(const cli_args *a, vouch_err *err)
{
    const char *dir;
    proj pj;
    vouch_policy *p = NULL;
    json_t *doc = NULL;
    vouch_code rc;

    memset(&pj, 0, sizeof(pj));
    if ((rc = cli_require(a, "dir", &dir, err)) != VOUCH_OK ||
        (rc = proj_load(dir, &pj, err)) != VOUCH_OK ||
        (rc = proj_current_policy(&pj, &p, err)) != VOUCH_OK ||
        (rc = vouch_policy_did_document(p, pj.did, &doc, err)) != VOUCH_OK)
        goto out;
    rc = did_print(a, doc, err);
out:
    json_decref(doc);
    vouch_policy_free(p);
    proj_free(&pj);
    return rc;
}

const cli_cmd cli_did_cmds[] = {
    {"did", "resolve", "did:key:...", "Print the DID document of a did:key.", 1, 1,
     {{NULL, NULL, NULL, 0}}, did_resolve},
    {"did", "document", "--dir P",
     "Print the project's did:web DID document (the keys of its current trust policy as "
     "JsonWebKey2020). Serve it at https://DOMAIN/.well-known/did.json.",
     0, 0, {{"dir", "P", "project directory", 0}}, did_document},
    {NULL, NULL, NULL, NULL, 0, 0, {{NULL, NULL, NULL, 0}}, NULL},
};
