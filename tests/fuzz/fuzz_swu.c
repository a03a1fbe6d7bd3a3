/*
 * fuzz_swu.c - libFuzzer target for the .swu (cpio newc/crc) header parser
 * and the streaming image verifier that contains it, plus the archive name
 * rules.
 *
 * The first byte seeds the chunk sizes; the rest is the archive. Properties
 * (abort on violation):
 *   - vouch_swu_first_entry accepts, or refuses with VOUCH_E_RELEASE_SWU
 *     only; an accepted entry lies inside the input, and is named
 *     sw-description (so the name rules hold for it);
 *   - the streaming verifier, fed the same bytes in pseudo-random chunks
 *     with the right size and digest, reaches the same verdict: OK when
 *     the one-shot parse accepts (and the sw-description digest matches),
 *     VOUCH_E_RELEASE_SWU when it refuses; chunking never changes anything;
 *   - a wrong sw-description digest is VOUCH_E_RELEASE_SWDESC, and one byte
 *     more than the size is VOUCH_E_RELEASE_SIZE.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "vouch/mem.h"
#include "vouch/release.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void sha256(const uint8_t *p, size_t n, uint8_t out[32])
{
    unsigned int dl = 0;

    if (EVP_Digest(p, n, out, &dl, EVP_sha256(), NULL) != 1)
        abort();
}

/* Streams a in chunks whose sizes come from seed; returns the verdict. */
static vouch_code stream(const vouch_release *r, const uint8_t *a, size_t n, uint32_t seed,
                         int one_more)
{
    vouch_image_verifier v;
    vouch_code rc;
    size_t off = 0;

    if (vouch_image_verify_init(&v, r, NULL) != VOUCH_OK)
        abort();
    while (off < n) {
        size_t take;
        seed = seed * 1103515245u + 12345u;
        take = 1 + (seed >> 16) % 200;
        if (take > n - off)
            take = n - off;
        rc = vouch_image_verify_update(&v, a + off, take, NULL);
        if (rc != VOUCH_OK)
            abort(); /* never more than size bytes here */
        off += take;
    }
    if (one_more && vouch_image_verify_update(&v, (const uint8_t *)"x", 1, NULL) !=
                        VOUCH_E_RELEASE_SIZE)
        abort();
    rc = vouch_image_verify_final(&v, NULL);
    vouch_image_verify_cleanup(&v);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vouch_release r;
    uint64_t off = 0, len = 0;
    uint32_t seed;
    const uint8_t *a;
    size_t n;
    vouch_code one, rc;

    if (size < 1)
        return 0;
    seed = data[0];
    a = data + 1;
    n = size - 1;
    /* the name rules on raw bytes */
    rc = vouch_release_check_name((const char *)a, n < 300 ? n : 300, NULL);
    if (rc != VOUCH_OK && rc != VOUCH_E_RELEASE_NAME)
        abort();
    one = vouch_swu_first_entry(a, n, &off, &len, NULL);
    if (one != VOUCH_OK && one != VOUCH_E_RELEASE_SWU)
        abort();
    if (n == 0)
        return 0;
    memset(&r, 0, sizeof(r));
    r.size = n;
    r.format = VOUCH_FORMAT_SWU;
    r.has_swdesc = 1;
    sha256(a, n, r.sha256);
    if (one == VOUCH_OK) {
        if (off > n || len > n - off || len == 0)
            abort();
        if (vouch_release_check_name("sw-description", 14, NULL) != VOUCH_OK)
            abort();
        sha256(a + off, (size_t)len, r.swdesc_sha256);
        if (stream(&r, a, n, seed, 0) != VOUCH_OK)
            abort();
        r.swdesc_sha256[0] ^= 1;
        if (stream(&r, a, n, seed, 0) != VOUCH_E_RELEASE_SWDESC)
            abort();
    } else {
        if (stream(&r, a, n, seed, 0) != VOUCH_E_RELEASE_SWU)
            abort();
    }
    if (stream(&r, a, n, seed, 1) != VOUCH_E_RELEASE_SIZE)
        abort();
    return 0;
}
