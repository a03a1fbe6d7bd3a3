/* cmd_jws.c - `vouch jws`: sign and verify JSON Web Signatures. */
#include <stdio.h>
#include <string.h>

#include "vouch/cli.h"

static vouch_code jws_sign(const cli_args *a, vouch_err *err)
{
    const char *keyref, *add_to = cli_get(a, "add-to");
    vouch_jws_sign_opts opts = {cli_get(a, "typ"), cli_get(a, "kid"), NULL};
    vouch_key *k = NULL;
    unsigned char *payload = NULL;
    char *existing = NULL, *out = NULL;
    size_t plen = 0, elen = 0;
    vouch_code rc;

    if ((rc = cli_require(a, "key", &keyref, err)) != VOUCH_OK)
        goto out;
    if (add_to && (cli_get(a, "payload") || cli_flag(a, "general"))) {
        rc = vouch_err_set(err, VOUCH_E_USAGE,
                           "--add-to takes the payload from the JWS; drop --payload/--general");
        goto out;
    }
    if ((rc = cli_load_key(keyref, &k, err)) != VOUCH_OK)
        goto out;
    if (!vouch_key_has_private(k)) {
        rc = vouch_err_set(err, VOUCH_E_KEY_NOT_PRIVATE, "%s holds no private key", keyref);
        goto out;
    }
    if (add_to) {
        if ((rc = cli_read_text(add_to, VOUCH_JWS_MAX_BYTES, &existing, &elen, err)) !=
            VOUCH_OK)
            goto out;
        rc = vouch_jws_general_add(existing, elen, k, &opts, &out, err);
    } else {
        if ((rc = vouch_file_read(cli_get(a, "payload"), VOUCH_JWS_MAX_BYTES, &payload, &plen,
                                  err)) != VOUCH_OK)
            goto out;
        if (cli_flag(a, "general"))
            rc = vouch_jws_sign_general(k, &opts, payload, plen, &out, err);
        else
            rc = vouch_jws_sign_compact(k, &opts, payload, plen, &out, err);
    }
    if (rc != VOUCH_OK)
        goto out;
    if (a->json)
        rc = cli_print_json(json_pack("{s:s,s:s}", "jws", out, "alg", vouch_key_alg(k)), err);
    else
        printf("%s\n", out);
out:
    vouch_free(payload);
    vouch_free(existing);
    vouch_free(out);
    vouch_key_free(k);
    return rc;
}

/*
 * Every --key must have made at least one valid signature (so two keys mean
 * two-of-two). The keys are wildcards (matched by key, not by kid), and
 * vouch_jws_verify_all verifies each distinct signature once.
 */
static vouch_code jws_verify(const cli_args *a, vouch_err *err)
{
    const char *const *keyrefs;
    const char *typ = cli_get(a, "typ");
    int nkeys = cli_get_all(a, "key", &keyrefs);
    vouch_key *keys[CLI_MAX_REPEAT] = {0};
    vouch_jws_keyref refs[CLI_MAX_REPEAT];
    vouch_jws_result res[VOUCH_JWS_MAX_SIGS];
    vouch_jws *jws = NULL;
    char *text = NULL;
    size_t len = 0;
    json_t *sigs = NULL;
    vouch_code rc;

    if (nkeys == 0) {
        rc = vouch_err_set(err, VOUCH_E_USAGE, "jws verify: --key is required");
        goto out;
    }
    for (int i = 0; i < nkeys; i++) {
        if ((rc = cli_load_key(keyrefs[i], &keys[i], err)) != VOUCH_OK)
            goto out;
        refs[i].kid = NULL;
        refs[i].key = keys[i];
    }
    if ((rc = cli_read_text(a->npos ? a->pos[0] : NULL, VOUCH_JWS_MAX_BYTES, &text, &len,
                            err)) != VOUCH_OK ||
        (rc = vouch_jws_parse(text, len, &jws, err)) != VOUCH_OK)
        goto out;
    rc = vouch_jws_verify_all(jws, refs, (size_t)nkeys, typ, res, err);
    if (rc != VOUCH_OK && rc != VOUCH_E_JWS_NO_VALID)
        goto out;
    sigs = json_array();
    if (!sigs) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory");
        goto out;
    }
    for (size_t s = 0; s < jws->nsigs; s++)
        json_array_append_new(sigs, json_pack("{s:s?,s:s?,s:b,s:s}", "kid", jws->sigs[s].kid,
                                              "alg", jws->sigs[s].alg, "valid",
                                              res[s].code == VOUCH_OK, "result",
                                              vouch_code_name(res[s].code)));
    for (int i = 0; i < nkeys; i++) {
        int signed_by = 0;
        for (size_t s = 0; s < jws->nsigs && !signed_by; s++)
            signed_by = res[s].code == VOUCH_OK && res[s].key_index >= 0 &&
                        vouch_key_equal(keys[res[s].key_index], keys[i]);
        if (signed_by)
            continue;
        /* a single signature is diagnosed against this key itself, so the
         * reason is exact (a wrong alg, a bad signature, a wrong typ) */
        if (jws->nsigs != 1 || vouch_jws_verify_sig(jws, 0, keys[i], typ, err) == VOUCH_OK)
            vouch_err_set(err, VOUCH_E_JWS_NO_VALID, "no valid signature by this key");
        vouch_err_prefix(err, "key %s", keyrefs[i]);
        rc = err->code;
        goto out;
    }
    if (a->json) {
        rc = cli_print_json(json_pack("{s:b,s:s%,s:O}", "valid", 1, "payload",
                                      (const char *)jws->payload, jws->payload_len,
                                      "signatures", sigs),
                            err);
    } else {
        fwrite(jws->payload, 1, jws->payload_len, stdout);
        rc = VOUCH_OK;
    }
out:
    json_decref(sigs);
    vouch_jws_free(jws);
    vouch_free(text);
    for (int i = 0; i < nkeys && i < CLI_MAX_REPEAT; i++)
        vouch_key_free(keys[i]);
    return rc;
}

const cli_cmd cli_jws_cmds[] = {
    {"jws", "sign", "--key FILE|PKCS11-URI [--typ TYP] [--kid KID] [--payload FILE] [--general | --add-to JWS-FILE]",
     "Sign a payload (stdin unless --payload) and print the JWS: compact by default, general "
     "JSON with --general, or one more signature on an existing general JWS with --add-to. "
     "The key decides the algorithm (P-256: ES256, Ed25519: EdDSA).",
     0, 0,
     {{"key", "FILE|PKCS11-URI", "the signing key", 0},
      {"typ", "TYP", "protected header typ", 0},
      {"kid", "KID", "protected header kid", 0},
      {"payload", "FILE", "payload file (default: stdin)", 0},
      {"general", NULL, "emit the general JSON serialization", 0},
      {"add-to", "JWS-FILE", "add a signature to this general/flattened JWS", 0}},
     jws_sign},
    {"jws", "verify", "--key FILE|JWK-FILE|did:key:... [--key ...] [--typ TYP] [JWS-FILE]",
     "Verify a JWS (stdin unless a file is given) and print its payload. Exits 0 only when "
     "every --key made a valid signature.",
     0, 1,
     {{"key", "FILE|JWK-FILE|PKCS11-URI|did:key:...", "a key that must have signed", 1},
      {"typ", "TYP", "the token kind expected in the protected typ", 0}},
     jws_verify},
    {NULL, NULL, NULL, NULL, 0, 0, {{NULL, NULL, NULL, 0}}, NULL},
};
