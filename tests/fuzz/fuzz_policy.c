/* fuzz_policy.c - libFuzzer target for lib/policy.c: any bytes as
 *   - an unsigned policy payload (vouch_policy_parse),
 *   - a signed policy offered as a root of trust (vouch_policy_verify_root),
 *   - a signed policy offered as the successor of a fixed pinned version 1
 *     (vouch_policy_verify_next; fuzz_policy_pinned.h, made with the
 *     development keys by make_policy_corpus.sh, like the seed corpus),
 * at a fixed clock, and checks invariants that must hold for every input:
 *   - a failure returns no policy; a success returns one whose fields obey
 *     the header's rules (version >= 1, expires > issued, a root role with
 *     1 <= threshold <= keys, releases needing "release");
 *   - a verified policy keeps exactly the text it was verified from;
 *   - a successor has the pinned version + 1 and is not expired;
 *   - the DID document of an accepted policy builds and lists every key.
 * A violated invariant aborts, which the fuzzer reports as a crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vouch/vouch.h"
#include "vouch/policy.h"

#include "fuzz_policy_pinned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NOW 1800000000LL

static vouch_policy *pinned;

static void fuzz_check_policy(const vouch_policy *p, const char *text, size_t size)
{
    const vouch_jws_keyref *refs = NULL;
    size_t n = 0, len = 0;
    unsigned th = 0;
    json_t *doc = NULL;
    const char *kept;

    if (vouch_policy_version(p) < 1 || vouch_policy_expires(p) <= vouch_policy_issued(p) ||
        vouch_policy_max_release_lifetime(p) < 1 || !vouch_policy_issuer(p) ||
        !vouch_policy_release_requires(p, VOUCH_ROLE_RELEASE) ||
        vouch_policy_release_requires(p, VOUCH_ROLE_ROOT))
        abort();
    if (vouch_policy_role_keys(p, VOUCH_ROLE_ROOT, &refs, &n, &th, NULL) != VOUCH_OK || n < 1 ||
        th < 1 || th > n || n > VOUCH_POLICY_MAX_KEYS)
        abort();
    for (size_t i = 0; i < n; i++)
        if (refs[i].kid != NULL || !vouch_policy_kid_of(p, refs[i].key))
            abort();
    if (text) {
        kept = vouch_policy_jws(p, &len);
        if (!kept || len != size || memcmp(kept, text, size) != 0)
            abort();
    }
    if (vouch_policy_did_document(p, "did:web:example.com", &doc, NULL) == VOUCH_OK &&
        json_array_size(json_object_get(doc, "verificationMethod")) !=
            vouch_policy_key_count(p))
        abort();
    json_decref(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    vouch_policy *p = NULL;
    vouch_code rc;

    if (!pinned) {
        vouch_json_init();
        if (vouch_policy_verify_root(fuzz_policy_pinned, strlen(fuzz_policy_pinned), FUZZ_NOW,
                                     &pinned, NULL) != VOUCH_OK)
            abort();
    }
    /* jws text never holds a NUL: the verifiers see it as the size says */
    rc = vouch_policy_parse(text, size, &p, NULL);
    if ((rc == VOUCH_OK) != (p != NULL))
        abort();
    if (p)
        fuzz_check_policy(p, NULL, 0);
    vouch_policy_free(p);
    p = NULL;

    rc = vouch_policy_verify_root(text, size, FUZZ_NOW, &p, NULL);
    if ((rc == VOUCH_OK) != (p != NULL))
        abort();
    if (p) {
        if (memchr(data, 0, size) == NULL)
            fuzz_check_policy(p, text, size);
        if (vouch_policy_expires(p) <= FUZZ_NOW)
            abort();
    }
    vouch_policy_free(p);
    p = NULL;

    rc = vouch_policy_verify_next(pinned, text, size, FUZZ_NOW, &p, NULL);
    if ((rc == VOUCH_OK) != (p != NULL))
        abort();
    if (p) {
        if (vouch_policy_version(p) != vouch_policy_version(pinned) + 1 ||
            vouch_policy_expires(p) <= FUZZ_NOW)
            abort();
        if (memchr(data, 0, size) == NULL)
            fuzz_check_policy(p, text, size);
    }
    vouch_policy_free(p);
    return 0;
}
