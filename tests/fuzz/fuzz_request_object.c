/* fuzz_request_object.c - libFuzzer target for the device side of the
 * login: vouch_siop_request_verify on any bytes, with a fixed policy
 * (tests/fuzz/siop_fuzz.h) and the expected origin https://updates.example.com.
 * Invariants of an accepted request object: its response_uri is under the
 * expected origin, its nonce has 128 bits or more, a vp_token request has a
 * definition with ids, and answering it works. */
#include "siop_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vouch_siop_request r;
    vouch_siop_response resp;
    vouch_code rc;

    sf_init();
    rc = vouch_siop_request_verify(sf.policy, (const char *)data, size, SF_ORIGIN, SF_NOW, &r,
                                   NULL);
    if (rc != VOUCH_OK) {
        if (r.definition)
            abort(); /* nothing is handed out on failure */
        return 0;
    }
    if (strncmp(r.response_uri, SF_ORIGIN "/", sizeof(SF_ORIGIN)) != 0 ||
        strlen(r.nonce) < VOUCH_LOGIN_NONCE_MIN || strcmp(r.client_id, SF_DID) != 0 ||
        r.exp + VOUCH_LOGIN_SKEW <= SF_NOW)
        abort();
    /* the device answers what it accepted */
    rc = vouch_siop_response_build(sf.dev, sf.cred, &r, SF_NOW, &resp, NULL);
    if (rc != VOUCH_OK && rc != VOUCH_E_NOMEM && rc != VOUCH_E_LOGIN_REQUEST)
        abort();
    vouch_siop_response_free(&resp);
    vouch_siop_request_free(&r);
    return 0;
}
