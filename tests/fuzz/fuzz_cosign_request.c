/*
 * fuzz_cosign_request.c - libFuzzer target for the co-sign protocol
 * (lib/cosign.c). The first byte picks what the rest is:
 *   0: a request body as the co-signer receives it (cap, JWS, kid, signature,
 *      claims), then, if it verifies, freshness and the release checks;
 *   1: the claims of a request, signed here with a fixed Ed25519 key so that
 *      the fuzzer reaches the claims parser and the release checks behind
 *      the signature;
 *   2: a co-signer's answer as the client reads it (signature entry or
 *      refusal), and a release file to add it to.
 * Properties (abort on violation): a failure always carries its code in the
 * error and leaves no request fields behind; a request that verifies has a
 * DID issuer, a jti within bounds and a release whose SHA-256 matches; the
 * signature of a mode-1 request always verifies, so a refusal there is a
 * claims refusal (never a signature code).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "vouch/codec.h"
#include "vouch/cosign.h"
#include "vouch/json.h"
#include "vouch/jws.h"
#include "vouch/mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1800000000LL
#define VENDOR "did:web:vendor.example"

/* a throwaway test key; it signs nothing outside this fuzzer */
static const char fixed_pem[] = "-----BEGIN PRIVATE KEY-----\n"
                                "MC4CAQAwBQYDK2VwBCIEIFgQCKMB16jcNxvjN4oXtDZaAbz2Fz6Ebrh+dSQA2JC4\n"
                                "-----END PRIVATE KEY-----\n";

static vouch_key *key;
static char *did, *kid;

static void init_once(void)
{
    vouch_err e;

    if (key)
        return;
    vouch_json_init();
    if (vouch_key_from_pem(fixed_pem, sizeof(fixed_pem) - 1, &key, &e) != VOUCH_OK ||
        vouch_did_key_encode(key, &did, &e) != VOUCH_OK ||
        vouch_did_key_vm_id(did, &kid, &e) != VOUCH_OK)
        abort();
}

static void check_request(const char *body, size_t len, int signed_here)
{
    vouch_cosign_request r;
    vouch_release rel;
    uint8_t sha[32];
    unsigned int n = 0;
    vouch_err e;
    vouch_code rc;

    rc = vouch_cosign_request_verify(body, len, &r, &e);
    if (rc != VOUCH_OK) {
        if (e.code != rc || r.release || r.release_b64 || r.iss[0])
            abort();
        if (signed_here && (rc == VOUCH_E_JWS_BAD_SIGNATURE || rc == VOUCH_E_JWS_ALG_MISMATCH ||
                            rc == VOUCH_E_JWS_KID || rc == VOUCH_E_JWS_TYP))
            abort();
        return;
    }
    if (strncmp(r.iss, "did:key:", 8) != 0 || r.jti[0] == '\0' ||
        strlen(r.jti) > VOUCH_COSIGN_JTI_MAX || !r.release || r.release_len == 0 ||
        r.release_len > VOUCH_COSIGN_MAX_RELEASE)
        abort();
    if (EVP_Digest(r.release, r.release_len, sha, &n, EVP_sha256(), NULL) != 1 ||
        memcmp(sha, r.release_sha256, 32) != 0)
        abort();
    rc = vouch_cosign_request_check(&r, r.aud, NOW, 60, &e);
    if (rc != VOUCH_OK && (rc != VOUCH_E_COSIGN_STALE || e.code != rc))
        abort();
    rc = vouch_cosign_check_release(&r, VENDOR, 7776000, NOW, &rel, &e);
    if (rc != VOUCH_OK && rc != VOUCH_E_COSIGN_REQUEST && rc != VOUCH_E_VC_ISSUER &&
        rc != VOUCH_E_COSIGN_LIFETIME)
        abort();
    vouch_cosign_request_free(&r);
}

static void sign_claims(const uint8_t *claims, size_t n)
{
    vouch_jws_sign_opts opts = {VOUCH_COSIGN_REQ_TYP, NULL, NULL};
    char *tok = NULL;
    vouch_err e;

    opts.kid = kid;
    if (vouch_jws_sign_compact(key, &opts, claims, n, &tok, &e) != VOUCH_OK)
        return; /* too large to sign: nothing to check */
    check_request(tok, strlen(tok), 1);
    vouch_free(tok);
}

static void check_answer(const uint8_t *data, size_t n)
{
    static const char rel[] = "{\"payload\":\"e30\",\"signatures\":[]}";
    char *entry = NULL, *out = NULL, msg[128];
    size_t elen = 0, olen = 0;
    vouch_code code;
    vouch_err e;

    if (vouch_cosign_response_verify((const char *)data, n, "e30", key, kid, &entry, &elen, &e) ==
        VOUCH_OK) {
        /* only a real signature by the pinned key gets here */
        if (vouch_cosign_rel_add(rel, sizeof(rel) - 1, entry, elen, &out, &olen, &e) != VOUCH_OK)
            abort();
    }
    if (vouch_cosign_error_parse((const char *)data, n, &code, msg, sizeof(msg), &e) ==
        VOUCH_OK) {
        if (code == VOUCH_OK || strlen(msg) >= sizeof(msg))
            abort();
        for (size_t i = 0; msg[i]; i++)
            if ((unsigned char)msg[i] < 0x20)
                abort();
    }
    vouch_free(out);
    vouch_free(entry);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init_once();
    if (size == 0)
        return 0;
    switch (data[0] % 3) {
    case 0:
        check_request((const char *)data + 1, size - 1, 0);
        break;
    case 1:
        sign_claims(data + 1, size - 1);
        break;
    default:
        check_answer(data + 1, size - 1);
        break;
    }
    return 0;
}
