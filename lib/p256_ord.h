/*
 * p256_ord.h - internal: arithmetic modulo the order n of the P-256 group,
 * for ES256 verification with a key's table (p256_table.c): s^-1, and
 * u1 = e·s^-1, u2 = r·s^-1 (mod n). Not installed; only lib/p256_table.c
 * and the tests include it.
 *
 * Variable time, deliberately: in a verification every operand is public
 * (the signature, the digest). Never give it a secret (a nonce, a private
 * scalar): its running time depends on the values.
 *
 * Needs unsigned __int128 (gcc and clang on 64-bit targets: x86_64,
 * aarch64). VOUCH__P256_ORD is defined where it exists; without it nothing
 * here is declared and p256_table.c uses OpenSSL's BN_mod_inverse and
 * BN_mod_mul instead. No allocation, no global state: any thread may call
 * these at any time.
 */
#ifndef VOUCH_LIB_P256_ORD_H
#define VOUCH_LIB_P256_ORD_H

#include <stdint.h>

#if defined(__SIZEOF_INT128__)
#define VOUCH__P256_ORD 1

/*
 * out = a^-1 mod n, both 32 bytes big endian. a must be in [1, n-1]: 0 has
 * no inverse, and a >= n is refused rather than reduced (a caller that
 * passes it has not range-checked). Returns 1 on success; 0 if a is
 * refused, and then out is all zero. Also 0, out zero, if the computation
 * fails its internal bounds (more divsteps than the proven maximum, or a
 * gcd other than 1), which cannot happen for a in range: it would be a bug,
 * and is reported rather than handed out.
 */
int vouch__p256_ord_inv(uint8_t out[32], const uint8_t a[32]);

/*
 * u1 = e·s^-1 mod n and u2 = r·s^-1 mod n, the two scalars of an ECDSA
 * verification, each 32 bytes big endian. e is any 256-bit value (a
 * SHA-256 digest; reduced here), r and s must be in [1, n-1]. The inverse
 * is checked before use (s·s^-1 = 1). Returns 1 on success; 0 if r or s is
 * out of range or the check fails (a bug, as above), and then u1 and u2
 * are all zero.
 */
int vouch__p256_ord_scalars(uint8_t u1[32], uint8_t u2[32], const uint8_t e[32],
                            const uint8_t r[32], const uint8_t s[32]);

#endif
#endif
