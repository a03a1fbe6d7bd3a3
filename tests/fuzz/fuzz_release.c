/*
 * fuzz_release.c - libFuzzer target for release credentials: the payload
 * parser and the full device-side verification against a fixed policy.
 *
 * The policy is built once, in process, from the development keys in
 * tests/data/keys (root p256-1, release p256-2, cosign ed25519-1, issuer
 * p256-3, server p256-4; production false, so they are allowed), so that
 * corpus entries signed with those keys reach every step after the
 * signatures. The input is used three ways: as a payload, as a release
 * (general JWS or the unsigned form), and through read_unverified.
 *
 * Properties (abort on violation):
 *   - refusals carry the code of their step, never VOUCH_E_INTERNAL or
 *     VOUCH_E_ARG;
 *   - a payload that parses re-serializes (vouch_release_payload) to one
 *     that parses to the same release;
 *   - a release that verifies has the policy's issuer, a hardware list
 *     naming this device, securityVersion >= the floor, is within its
 *     validity at the clock, and its payload parses to the same release.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vouch/json.h"
#include "vouch/jws.h"
#include "vouch/key.h"
#include "vouch/mem.h"
#include "vouch/policy.h"
#include "vouch/release.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define T0 1763683200LL
#define NOW (T0 + 86400LL)
#define FLOOR 3

static const char ROOT_PEM[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgMuFxmPwQC+fFPEvG\n"
    "Fs/Of+VNn2Hd0E6zfTgbYkXLD2ehRANCAATtdRUx/CdClSFHioHMEIUBTFIurZmq\n"
    "rvRBuNYqiC8VBtuzr05aPhf6LFQL/fbJNPgJXqaJwiWCllON5BKsEf99\n"
    "-----END PRIVATE KEY-----\n";

static const char RELEASE_PEM[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgNSqq4qzoXJ1ss9LL\n"
    "PSzBidQSvAHHqejugZL31BTG2VChRANCAATGBpqFBYGOhXIPZtj0Kwacd8PYR5ND\n"
    "MzMlAwUQA1A5O3RT5bz+nmXG2Oi/56Q90/+BS/xs6/R5I6QlU1XqMQml\n"
    "-----END PRIVATE KEY-----\n";

static const char COSIGN_PEM[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEID8Kfh2PmlvVHpEFDk9eqjgpxaZrPe9QxAnzHEZUM/6O\n"
    "-----END PRIVATE KEY-----\n";

static const char ISSUER_PEM[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgfW6TeSSMjv5SarbC\n"
    "GW/4tdSC453pz6ljr3yykipZTlqhRANCAAQnZOfwrQtDRomgHc8vRnvp95RfOTxa\n"
    "f8LgnwTPpl54fEokokE5XKwmvSomPnD2zlKLSyRwmBOSbpnYEbPVT8pR\n"
    "-----END PRIVATE KEY-----\n";

static const char SERVER_PEM[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgy+SQZVFC6xIxMUFe\n"
    "8RZqwFTwIIXimSJRXGWpoJJuFkyhRANCAASi3KOl4rtx7GRGOxI8ecNev1X0I2GB\n"
    "YXSgqEa2IOvyU1hH1DWi44juKwst2muzTIAGLD8EG8kVKB7nIpj5qRMI\n"
    "-----END PRIVATE KEY-----\n";

static vouch_policy *policy;

static vouch_key *load(const char *pem)
{
    vouch_key *k = NULL;

    if (vouch_key_from_pem(pem, strlen(pem), &k, NULL) != VOUCH_OK)
        abort();
    return k;
}

static json_t *jwk(const vouch_key *k)
{
    json_t *j = NULL;

    if (vouch_key_to_jwk(k, &j, NULL) != VOUCH_OK)
        abort();
    return j;
}

static void init_policy(void)
{
    vouch_key *root = load(ROOT_PEM), *rel = load(RELEASE_PEM), *cos = load(COSIGN_PEM);
    vouch_key *iss = load(ISSUER_PEM), *srv = load(SERVER_PEM);
    vouch_jws_keyref signer = {"root-1", root};
    char *payload = NULL, *signed_policy = NULL;
    size_t n = 0, sn = 0;
    json_t *doc;

    vouch_json_init();
    doc = json_pack("{s:s,s:I,s:I,s:I,s:s,s:{s:o,s:o,s:o,s:o,s:o},"
                    "s:{s:{s:i,s:[s]},s:{s:i,s:[s]},s:{s:i,s:[s]},s:{s:i,s:[s]},s:{s:i,s:[s]}},"
                    "s:[ss],s:I,s:b}",
                    "type", "vouch-trust-policy", "version", (json_int_t)1, "issued",
                    (json_int_t)T0, "expires", (json_int_t)(T0 + 3650 * 86400LL), "issuer",
                    "did:web:example.com", "keys", "root-1", jwk(root), "release-1", jwk(rel),
                    "cosign-1", jwk(cos), "issuer-1", jwk(iss), "server-1", jwk(srv), "roles",
                    "root", "threshold", 1, "keys", "root-1", "release", "threshold", 1, "keys",
                    "release-1", "cosign", "threshold", 1, "keys", "cosign-1", "issuer",
                    "threshold", 1, "keys", "issuer-1", "server", "threshold", 1, "keys",
                    "server-1", "releaseRequires", "release", "cosign", "maxReleaseLifetime",
                    (json_int_t)(90 * 86400LL), "production", 0);
    if (!doc || vouch_json_dump(doc, &payload, &n, NULL) != VOUCH_OK ||
        vouch_policy_sign(payload, n, &signer, 1, &signed_policy, &sn, NULL) != VOUCH_OK ||
        vouch_policy_verify_root(signed_policy, sn, NOW, &policy, NULL) != VOUCH_OK)
        abort();
    json_decref(doc);
    vouch_free(payload);
    vouch_free(signed_policy);
    vouch_key_free(root);
    vouch_key_free(rel);
    vouch_key_free(cos);
    vouch_key_free(iss);
    vouch_key_free(srv);
}

static int never(vouch_code rc) { return rc == VOUCH_E_INTERNAL || rc == VOUCH_E_ARG; }

static void check_payload(const uint8_t *data, size_t size)
{
    vouch_release r, again;
    char *text = NULL;
    size_t n = 0;
    vouch_code rc = vouch_release_parse_payload(data, size, &r, NULL);

    if (rc != VOUCH_OK) {
        if (rc != VOUCH_E_RELEASE_FORMAT && rc != VOUCH_E_NOMEM)
            abort();
        return;
    }
    if (vouch_release_payload(&r, &text, &n, NULL) != VOUCH_OK ||
        vouch_release_parse_payload((const uint8_t *)text, n, &again, NULL) != VOUCH_OK ||
        memcmp(&r, &again, sizeof(r)) != 0)
        abort();
    vouch_free(text);
}

static void check_release(const char *text, size_t size)
{
    vouch_device_state st;
    vouch_release_check chk = {NOW, "board-a", &st};
    vouch_release r, p;
    vouch_jws *j = NULL;
    size_t i, nsigs = 0;
    vouch_code rc;

    memset(&st, 0, sizeof(st));
    st.floor = FLOOR;
    rc = vouch_release_verify(policy, text, size, &chk, &r, NULL);
    if (never(rc))
        abort();
    if (rc == VOUCH_OK) {
        if (strcmp(r.iss, "did:web:example.com") != 0 || r.security_version < FLOOR ||
            NOW < r.nbf || NOW >= r.exp)
            abort();
        for (i = 0; i < r.nhardware; i++)
            if (strcmp(r.hardware[i], "board-a") == 0)
                break;
        if (i == r.nhardware)
            abort();
        if (vouch_jws_parse(text, size, &j, NULL) != VOUCH_OK ||
            vouch_release_parse_payload(j->payload, j->payload_len, &p, NULL) != VOUCH_OK ||
            memcmp(&p, &r, sizeof(r)) != 0)
            abort();
        vouch_jws_free(j);
    }
    rc = vouch_release_read_unverified(text, size, &r, &nsigs, NULL);
    if (never(rc))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text;

    if (!policy)
        init_policy();
    check_payload(data, size);
    /* the verifier takes text: give it a NUL-terminated copy */
    text = vouch_malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    check_release(text, size);
    vouch_free(text);
    return 0;
}
