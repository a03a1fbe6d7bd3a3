/*
 * p256_table.h - internal: ES256 verification with a precomputed table of
 * multiples of one fixed P-256 public key Q. Not installed; only lib/key.c
 * and the tests include it.
 *
 * OpenSSL keeps a table of multiples of the generator G, but computes the
 * u2·Q half of u1·G + u2·Q with a generic window every time (~30 us). A
 * table for Q (OpenSSL's own precomputation, on a copy of the group whose
 * generator is Q) makes that half as cheap as the u1·G half. Building it
 * costs ~17 ms and ~150 KiB, so it pays only for keys that verify many
 * signatures (issuer keys in a server); vouch_key_precompute attaches one.
 *
 * A table is immutable once made: one table may be used from any number of
 * threads at once. Everything it touches is public (the key, the signature,
 * the digest), so nothing here is constant-time, deliberately.
 */
#ifndef VOUCH_LIB_P256_TABLE_H
#define VOUCH_LIB_P256_TABLE_H

#include <stdint.h>

#include "vouch/error.h"

typedef struct vouch__p256_table vouch__p256_table;

/* lib/key.c's: sets `code` with `what` and the last OpenSSL error, and
 * empties the thread's OpenSSL error queue (it grows otherwise): where
 * every OpenSSL failure of the key module ends. */
vouch_code vouch__crypto_fail(vouch_err *err, vouch_code code, const char *what);

/*
 * Builds the table of pub, an uncompressed SEC1 point (04 || x || y) that
 * the caller has already checked to be on the curve (~17 ms, ~150 KiB).
 * Before handing it out, the table must verify a test signature made with
 * OpenSSL's plain arithmetic (and refuse it over another digest), so a
 * table that would decide otherwise is never used. VOUCH_E_NOMEM if our
 * allocation fails; VOUCH_E_KEY_CRYPTO if OpenSSL refuses a step (its
 * allocations included), the test signature fails, or this OpenSSL lacks
 * EC_GROUP_precompute_mult or EC_POINT_get_Jprojective_coordinates_GFp
 * (deprecated in 3.0; CMake's VOUCH_HAVE_P256_TABLE): the caller then
 * simply verifies without a table.
 */
vouch_code vouch__p256_table_new(const uint8_t pub[65], vouch__p256_table **out,
                                 vouch_err *err);

/* NULL is fine. */
void vouch__p256_table_free(vouch__p256_table *t);

/*
 * ECDSA verification of the raw signature sig = r || s (32 bytes each, big
 * endian) over the SHA-256 digest dg, under the table's key:
 *   w = s^-1, u1 = e·w, u2 = r·w (mod n), R = u1·G + u2·Q,
 *   valid iff R is not the point at infinity and x(R) mod n == r.
 * r and s must already be in [1, n-1] (vouch_key_verify checks that first);
 * out of range is VOUCH_E_ARG, a caller's bug. VOUCH_OK if the signature
 * verifies, VOUCH_E_JWS_BAD_SIGNATURE if not, VOUCH_E_KEY_CRYPTO if OpenSSL
 * fails (an allocation, say), VOUCH_E_INTERNAL if s^-1 fails its check
 * (p256_ord.h: a bug, refused rather than decided on). Allocates a BN_CTX
 * and two points per call (~0.2 us of ~14 us), so that a table needs no
 * locks.
 */
vouch_code vouch__p256_table_verify(const vouch__p256_table *t, const uint8_t dg[32],
                                    const uint8_t sig[64], vouch_err *err);

#endif
