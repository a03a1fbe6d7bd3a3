/* fuzz_vp_token.c - libFuzzer target for the server's check of a vp_token
 * (and of the ProductionCredential inside it): vouch_siop_response_verify
 * in credential mode with the fixture's valid id_token and submission and
 * any bytes as the vp_token; the same bytes are also checked as a
 * credential on their own (vouch_production_verify). Invariants: accepted
 * facts satisfy the authorization policy and the facts rules. */
#include "siop_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vouch_device_facts f;
    const char *tok = (const char *)data;

    sf_init();
    if (sf_verify(0, sf.resp.id_token, strlen(sf.resp.id_token), tok, size,
                  sf.resp.presentation_submission, strlen(sf.resp.presentation_submission),
                  &f) == VOUCH_OK)
        sf_check_facts(0, &f);
    else if (f.did[0])
        abort();
    if (vouch_production_verify(sf.policy, tok, size, SF_NOW, &f, NULL) == VOUCH_OK) {
        if (vouch_production_facts_check(&f, NULL) != VOUCH_OK)
            abort();
    } else if (f.did[0]) {
        abort();
    }
    return 0;
}
