/* fuzz_submission.c - libFuzzer target for presentation_submission (and,
 * on the same bytes, the authorization policy file): the fixture's valid
 * id_token and vp_token with any bytes as the submission, then
 * vouch_authz_parse. Invariants: an accepted login yields facts within the
 * authorization policy; a parsed authz has its lists within their caps, a
 * ttl in range, and a presentation definition can be built from it. */
#include "siop_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vouch_device_facts f;
    vouch_authz a;
    json_t *def = NULL;
    const char *txt = (const char *)data;

    sf_init();
    if (sf_verify(0, sf.resp.id_token, strlen(sf.resp.id_token), sf.resp.vp_token,
                  strlen(sf.resp.vp_token), txt, size, &f) == VOUCH_OK)
        sf_check_facts(0, &f);
    else if (f.did[0])
        abort();
    if (vouch_authz_parse(txt, size, &a, NULL) == VOUCH_OK) {
        if (a.nproduced_by > 8 || a.nhardware > 16 || a.access_ttl < 60 ||
            a.access_ttl > 86400 || a.nonce_ttl < 10 || a.nonce_ttl > 3600)
            abort();
        if (vouch_authz_definition(&a, &def, NULL) != VOUCH_OK && def)
            abort();
        if (!a.allowlist_mode && !def)
            abort();
        json_decref(def);
    }
    return 0;
}
