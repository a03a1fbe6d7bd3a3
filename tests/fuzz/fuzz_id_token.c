/* fuzz_id_token.c - libFuzzer target for the server's check of a
 * self-issued id_token: vouch_siop_response_verify in allowlist mode (the
 * id_token alone) on any bytes, then in credential mode with the fixture's
 * valid vp_token and submission (tests/fuzz/siop_fuzz.h). Invariants: an
 * accepted token yields a did:key, and in credential mode only the device
 * whose key signed the fixture's vp_token can pass. */
#include "siop_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vouch_device_facts f;
    const char *tok = (const char *)data;

    sf_init();
    if (sf_verify(1, tok, size, NULL, 0, NULL, 0, &f) == VOUCH_OK)
        sf_check_facts(1, &f);
    else if (f.did[0])
        abort(); /* no facts on failure */
    if (sf_verify(0, tok, size, sf.resp.vp_token, strlen(sf.resp.vp_token),
                  sf.resp.presentation_submission, strlen(sf.resp.presentation_submission),
                  &f) == VOUCH_OK)
        sf_check_facts(0, &f);
    return 0;
}
