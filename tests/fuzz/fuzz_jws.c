/* fuzz_jws.c - libFuzzer target for lib/jws.c: parse and verify any bytes
 * as a JWS (compact, general, flattened) with a fixed P-256 and a fixed
 * Ed25519 key (RFC 7515 A.3 and RFC 8037 A.1, so the RFC tokens in the seed
 * corpus verify), and check invariants that must hold for every input:
 *   - a parsed JWS has 1..VOUCH_JWS_MAX_SIGS signatures with alg ES256 or
 *     EdDSA, an object header, and a NUL-terminated payload;
 *   - verifying never reports success for a signature whose alg does not
 *     match the key;
 *   - adding a signature to a parsed JSON JWS yields a JWS that parses, keeps
 *     the payload, and whose new signature verifies;
 *   - any input signed as a payload verifies and comes back unchanged.
 * A violated invariant aborts, which the fuzzer reports as a crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vouch/vouch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char p256_jwk[] = "{\"kty\":\"EC\",\"crv\":\"P-256\","
                               "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
                               "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\","
                               "\"d\":\"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI\"}";
static const char ed_jwk[] = "{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
                             "\"d\":\"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A\","
                             "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}";

static vouch_key *p256, *ed;

static vouch_key *fuzz_key(const char *text)
{
    json_t *j = NULL;
    vouch_key *k = NULL;

    if (vouch_json_parse_object(text, strlen(text), NULL, &j, NULL) != VOUCH_OK ||
        vouch_key_from_jwk(j, VOUCH_JWK_ALLOW_PRIVATE, &k, NULL) != VOUCH_OK)
        abort();
    json_decref(j);
    return k;
}

static void fuzz_check_parsed(const vouch_jws *j)
{
    if (j->nsigs < 1 || j->nsigs > VOUCH_JWS_MAX_SIGS || !j->payload ||
        j->payload[j->payload_len] != '\0' || !j->payload_b64)
        abort();
    for (size_t i = 0; i < j->nsigs; i++) {
        const vouch_jws_sig *s = &j->sigs[i];
        if (!json_is_object(s->header) || !s->alg || !s->protected_b64 ||
            (strcmp(s->alg, "ES256") != 0 && strcmp(s->alg, "EdDSA") != 0))
            abort();
        if (s->kid && (strlen(s->kid) == 0 || strlen(s->kid) > VOUCH_JWS_MAX_KID))
            abort();
    }
}

static void fuzz_verify(const vouch_jws *j)
{
    vouch_jws_keyref keys[4] = {{"p", NULL}, {"e", NULL}, {NULL, NULL}, {NULL, NULL}};
    vouch_jws_result r[VOUCH_JWS_MAX_SIGS];
    vouch_code rc;

    keys[0].key = keys[2].key = p256;
    keys[1].key = keys[3].key = ed;
    for (size_t i = 0; i < j->nsigs; i++) {
        const char *alg = j->sigs[i].alg;
        if (vouch_jws_verify_sig(j, i, p256, NULL, NULL) == VOUCH_OK && strcmp(alg, "ES256") != 0)
            abort();
        if (vouch_jws_verify_sig(j, i, ed, "JWT", NULL) == VOUCH_OK && strcmp(alg, "EdDSA") != 0)
            abort();
    }
    rc = vouch_jws_verify_all(j, keys, 4, NULL, r, NULL);
    for (size_t i = 0; i < j->nsigs; i++) {
        if ((r[i].code == VOUCH_OK) != (r[i].key_index >= 0))
            abort();
        if (r[i].code == VOUCH_OK && rc != VOUCH_OK)
            abort();
    }
}

/* Adds an Ed25519 signature to a JSON JWS and checks the result. */
static void fuzz_add(const uint8_t *data, size_t size, const vouch_jws *j)
{
    vouch_jws_sign_opts o = {"JWT", "e", NULL};
    vouch_jws *j2 = NULL;
    char *out = NULL;
    vouch_code rc;

    rc = vouch_jws_general_add((const char *)data, size, ed, &o, &out, NULL);
    if (rc == VOUCH_E_JWS_TOO_MANY_SIGS || rc == VOUCH_E_JWS_TOO_LARGE)
        return;
    if (rc != VOUCH_OK)
        abort();
    if (vouch_jws_parse(out, strlen(out), &j2, NULL) != VOUCH_OK || j2->nsigs != j->nsigs + 1 ||
        strcmp(j2->payload_b64, j->payload_b64) != 0 ||
        vouch_jws_verify_sig(j2, j->nsigs, ed, "JWT", NULL) != VOUCH_OK)
        abort();
    for (size_t i = 0; i < j->nsigs; i++)
        if (strcmp(j2->sigs[i].protected_b64, j->sigs[i].protected_b64) != 0 ||
            j2->sigs[i].sig_len != j->sigs[i].sig_len ||
            memcmp(j2->sigs[i].sig, j->sigs[i].sig, j->sigs[i].sig_len) != 0 ||
            (j->sigs[i].kid == NULL) != (j2->sigs[i].kid == NULL))
            abort();
    vouch_jws_free(j2);
    vouch_free(out);
}

/* The input as a payload: signed, verified, and returned unchanged. */
static void fuzz_roundtrip(const uint8_t *data, size_t size)
{
    char *tok = NULL;
    uint8_t *pl = NULL;
    size_t pn = 0;

    if (size > 4096)
        return;
    if (vouch_jws_sign_compact(ed, NULL, data, size, &tok, NULL) != VOUCH_OK ||
        vouch_jws_verify_compact(tok, strlen(tok), ed, NULL, &pl, &pn, NULL) != VOUCH_OK ||
        pn != size || (size && memcmp(pl, data, size) != 0))
        abort();
    vouch_free(pl);
    vouch_free(tok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vouch_jws *j = NULL;
    uint8_t *pl = NULL;
    size_t pn = 0;

    if (!p256) {
        p256 = fuzz_key(p256_jwk);
        ed = fuzz_key(ed_jwk);
    }
    if (vouch_jws_parse((const char *)data, size, &j, NULL) == VOUCH_OK) {
        fuzz_check_parsed(j);
        fuzz_verify(j);
        if (!j->compact)
            fuzz_add(data, size, j);
        vouch_jws_free(j);
    }
    if (vouch_jws_verify_compact((const char *)data, size, p256, NULL, &pl, &pn, NULL) == VOUCH_OK)
        vouch_free(pl);
    pl = NULL;
    if (vouch_jws_verify_compact((const char *)data, size, ed, "JWT", &pl, &pn, NULL) == VOUCH_OK)
        vouch_free(pl);
    fuzz_roundtrip(data, size);
    return 0;
}
