/* cmd_key.c - `vouch key`: generate keys, show public keys. */
#include <stdio.h>
#include <string.h>

#include "vouch/cli.h"

static vouch_code key_generate(const cli_args *a, vouch_err *err)
{
    const char *type_name, *out;
    vouch_key *k = NULL;
    char *did = NULL;
    char tp[VOUCH_THUMBPRINT_LEN + 1];
    vouch_key_type type;
    vouch_code rc;

    if ((rc = cli_require(a, "type", &type_name, err)) != VOUCH_OK ||
        (rc = cli_require(a, "out", &out, err)) != VOUCH_OK)
        goto out;
    type = vouch_key_type_from_name(type_name);
    if (type == VOUCH_KEY_NONE) {
        rc = vouch_err_set(err, VOUCH_E_USAGE, "--type must be p256 or ed25519, not '%.32s'",
                           type_name);
        goto out;
    }
    if (strncmp(out, "pkcs11:", 7) == 0)
        rc = vouch_key_generate_pkcs11(out, type, &k, err);
    else if ((rc = vouch_key_generate(type, &k, err)) == VOUCH_OK)
        rc = vouch_key_save_pem(k, out, 0, err);
    if (rc != VOUCH_OK)
        goto out;
    if ((rc = vouch_did_key_encode(k, &did, err)) != VOUCH_OK ||
        (rc = vouch_key_thumbprint(k, tp, err)) != VOUCH_OK)
        goto out;
    if (a->json)
        rc = cli_print_json(json_pack("{s:s,s:s,s:s,s:s}", "type", vouch_key_type_name(type),
                                      "key", out, "did", did, "thumbprint", tp),
                            err);
    else
        printf("%s\n", did);
out:
    vouch_free(did);
    vouch_key_free(k);
    return rc;
}

static vouch_code key_public(const cli_args *a, vouch_err *err)
{
    const char *fmt = cli_get(a, "format");
    vouch_key *k = NULL;
    json_t *jwk = NULL;
    char *did = NULL, *pem = NULL, *jwks = NULL;
    char tp[VOUCH_THUMBPRINT_LEN + 1];
    size_t n;
    vouch_code rc;

    if (!fmt)
        fmt = "pem";
    if (strcmp(fmt, "pem") && strcmp(fmt, "jwk") && strcmp(fmt, "did") &&
        strcmp(fmt, "thumbprint")) {
        rc = vouch_err_set(err, VOUCH_E_USAGE,
                           "--format must be pem, jwk, did or thumbprint, not '%.32s'", fmt);
        goto out;
    }
    if ((rc = cli_load_key(a->pos[0], &k, err)) != VOUCH_OK ||
        (rc = vouch_key_to_jwk(k, &jwk, err)) != VOUCH_OK ||
        (rc = vouch_did_key_encode(k, &did, err)) != VOUCH_OK ||
        (rc = vouch_key_thumbprint(k, tp, err)) != VOUCH_OK ||
        (rc = vouch_key_public_pem(k, &pem, err)) != VOUCH_OK ||
        (rc = vouch_json_dump(jwk, &jwks, &n, err)) != VOUCH_OK)
        goto out;
    if (a->json) {
        rc = cli_print_json(json_pack("{s:s,s:O,s:s,s:s,s:s}", "type",
                                      vouch_key_type_name(vouch_key_get_type(k)), "jwk", jwk,
                                      "did", did, "thumbprint", tp, "pem", pem),
                            err);
        goto out;
    }
    if (strcmp(fmt, "pem") == 0)
        fputs(pem, stdout);
    else if (strcmp(fmt, "jwk") == 0)
        printf("%s\n", jwks);
    else if (strcmp(fmt, "did") == 0)
        printf("%s\n", did);
    else
        printf("%s\n", tp);
out:
    json_decref(jwk);
    vouch_free(did);
    vouch_free(pem);
    vouch_free(jwks);
    vouch_key_free(k);
    return rc;
}

const cli_cmd cli_key_cmds[] = {
    {"key", "generate", "--type p256|ed25519 --out FILE|PKCS11-URI",
     "Generate a key pair. A FILE gets the private key as PKCS#8 PEM with mode 0600 (never "
     "overwritten); a pkcs11: URI generates the key inside the token, where it stays. Prints "
     "the key's did:key.",
     0, 0,
     {{"type", "p256|ed25519", "key type (P-256 signs ES256, Ed25519 signs EdDSA)", 0},
      {"out", "FILE|PKCS11-URI", "where the private key goes", 0}},
     key_generate},
    {"key", "public", "FILE|PKCS11-URI [--format pem|jwk|did|thumbprint]",
     "Print the public half of a key (PEM, JWK, did:key, or RFC 7638 thumbprint).", 1, 1,
     {{"format", "pem|jwk|did|thumbprint", "output format (default pem)", 0}},
     key_public},
    {NULL, NULL, NULL, NULL, 0, 0, {{NULL, NULL, NULL, 0}}, NULL},
};
