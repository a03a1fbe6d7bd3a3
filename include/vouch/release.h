/*
 * vouch/release.h - release credentials ("every release is vouched for
 * twice") and the streaming image verifier.
 *
 * A release credential is a general JWS (protected typ VOUCH_RELEASE_TYP,
 * one signature per required role) whose payload is a VC-JWT claims object
 * (vouch/vc.h) of type "VerifiableFirmwareUpdate", issued by the policy's
 * issuer DID, with this credentialSubject:
 *
 *   { "id": "<download URL>",            = sub; http(s) URL, <= 1023 bytes
 *     "sha256": "<64 lower-case hex>",   image digest; never empty
 *     "size": 1048576,                   exact image size in bytes, 1..2^53-1
 *     "version": "1.4.2",                semver 2.0.0, <= 63 bytes
 *     "securityVersion": 7,              anti-rollback counter, 0..2^53-1
 *     "hardware": ["board-a", ...],      1..VOUCH_RELEASE_MAX_HW ids, [A-Za-z0-9._-]{1,63}
 *     "format": "raw" | "tar" | "swu",
 *     "swDescriptionSha256": "<hex>" }   required for swu, refused otherwise
 *
 * Unknown members anywhere in the subject are refused. Each signature, with
 * the shared payload, is on its own a valid compact VC-JWT.
 *
 * vouch_release_verify checks, in this order, stopping at the first failure:
 *   size cap (VOUCH_E_JWS_TOO_LARGE) -> JWS structure (VOUCH_E_JWS_*) ->
 *   typ -> for every role the policy's releaseRequires names, a threshold of
 *   distinct keys of that role made valid signatures
 *   (VOUCH_E_RELEASE_SIGNATURES; extra invalid signatures are ignored) ->
 *   payload parse and VC structure (VOUCH_E_RELEASE_FORMAT) -> issuer is the
 *   policy's (VOUCH_E_VC_ISSUER) -> expiry, with `now`
 *   (VOUCH_E_RELEASE_EXPIRED / VOUCH_E_RELEASE_NOT_YET_VALID) -> a lifetime
 *   (exp - nbf) within the policy's maxReleaseLifetime
 *   (VOUCH_E_RELEASE_LIFETIME) -> hardware
 *   (VOUCH_E_RELEASE_HARDWARE) -> anti-rollback floor from state
 *   (VOUCH_E_RELEASE_ROLLBACK when securityVersion < floor;
 *   VOUCH_E_RELEASE_SAME_VERSION when the version equals the committed one
 *   but the digest differs).
 * Security decisions read only signed fields.
 *
 * The image verifier reads the image once, with a fixed buffer the caller
 * owns, and fails with VOUCH_E_RELEASE_SIZE as soon as more bytes than the
 * signed size arrive (an endless image costs size+1 bytes), or at the end if
 * fewer did; then VOUCH_E_RELEASE_DIGEST if the SHA-256 differs (compared in
 * constant time). Sizes are 64-bit throughout; images above 4 GiB work.
 */
#ifndef VOUCH_RELEASE_H
#define VOUCH_RELEASE_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "vouch/error.h"
#include "vouch/key.h"
#include "vouch/policy.h"
#include "vouch/state.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VOUCH_RELEASE_TYP "vouch-release+jwt"
#define VOUCH_RELEASE_TYPE "VerifiableFirmwareUpdate"
#define VOUCH_RELEASE_CONTEXT "https://vouch.dev/ns/firmware/v1"
#define VOUCH_RELEASE_MAX_BYTES (64u * 1024u)
#define VOUCH_RELEASE_MAX_HW 16u
#define VOUCH_HW_MAX 64u
#define VOUCH_URL_MAX 1024u
#define VOUCH_DID_MAX_LEN 256u

typedef enum vouch_image_format {
    VOUCH_FORMAT_NONE = 0,
    VOUCH_FORMAT_RAW = 1,
    VOUCH_FORMAT_TAR = 2,
    VOUCH_FORMAT_SWU = 3
} vouch_image_format;

/* A release's signed facts, in fixed-size fields (no allocation). */
typedef struct vouch_release {
    char url[VOUCH_URL_MAX];
    uint8_t sha256[32];
    uint64_t size;
    char version[VOUCH_VERSION_MAX];
    int64_t security_version;
    char hardware[VOUCH_RELEASE_MAX_HW][VOUCH_HW_MAX];
    size_t nhardware;
    vouch_image_format format;
    uint8_t swdesc_sha256[32];
    int has_swdesc;
    char iss[VOUCH_DID_MAX_LEN];
    char jti[128];
    int64_t iat, nbf, exp;
} vouch_release;

typedef struct vouch_release_check {
    int64_t now;                       /* unix seconds */
    const char *hardware;              /* this device's hardware id, or NULL to skip */
    const vouch_device_state *state;   /* floor and committed release, or NULL */
} vouch_release_check;

vouch_image_format vouch_image_format_from_name(const char *name);
const char *vouch_image_format_name(vouch_image_format f);

/*
 * Vendor side: reads the image once (streaming) and fills sha256, size and,
 * for swu, swdesc_sha256 of the archive's first entry, which must be named
 * "sw-description" (VOUCH_E_RELEASE_SWU otherwise).
 */
vouch_code vouch_release_describe_image(const char *path, vouch_image_format format,
                                        vouch_release *rel, vouch_err *err);

/* The credential's claims as a serialized JSON payload (vouch_malloc'd).
 * Validates every field as the verifier would. */
vouch_code vouch_release_payload(const vouch_release *rel, char **out, size_t *len,
                                 vouch_err *err);

/* Parses and checks a payload (claims) without any signature check; for
 * tools that inspect credentials and for the co-signer. */
vouch_code vouch_release_parse_payload(const uint8_t *payload, size_t len, vouch_release *out,
                                       vouch_err *err);

/* Device side: the full credential check described above. */
vouch_code vouch_release_verify(const vouch_policy *p, const char *jws, size_t len,
                                const vouch_release_check *chk, vouch_release *out,
                                vouch_err *err);

/* Streaming image verification with caller-owned state. */
typedef struct vouch_image_verifier {
    void *md;               /* hash context (allocated once by init) */
    uint64_t seen;
    uint64_t size;
    uint8_t sha256[32];
} vouch_image_verifier;

vouch_code vouch_image_verify_init(vouch_image_verifier *v, const vouch_release *rel,
                                   vouch_err *err);
vouch_code vouch_image_verify_update(vouch_image_verifier *v, const uint8_t *buf, size_t n,
                                     vouch_err *err);
vouch_code vouch_image_verify_final(vouch_image_verifier *v, vouch_err *err);
void vouch_image_verify_cleanup(vouch_image_verifier *v);

/* Verifies the image read from fd to its end, with buf (>= 4 KiB) as the
 * only buffer. */
vouch_code vouch_image_verify_fd(const vouch_release *rel, int fd, uint8_t *buf, size_t bufcap,
                                 vouch_err *err);

/* The one call for the agent and vouch-verify: credential, then image. */
vouch_code vouch_release_verify_image_file(const vouch_policy *p, const char *jws, size_t len,
                                           const vouch_release_check *chk, const char *image,
                                           vouch_release *out, vouch_err *err);

/* Hashes a file (e.g. the sw-description SWUpdate extracted) and compares it
 * with the release's swDescriptionSha256 (VOUCH_E_RELEASE_SWDESC). */
vouch_code vouch_release_check_swdesc(const vouch_release *rel, const char *path,
                                      vouch_err *err);

/* Checks an archive member name: relative, no "..", NUL, backslash, no
 * percent-encoded traversal, <= 255 bytes (VOUCH_E_RELEASE_NAME). */
vouch_code vouch_release_check_name(const char *name, size_t len, vouch_err *err);

/*
 * Additions (release.c) ---------------------------------------------------
 *
 * The unsigned release: `vouch release create` writes the payload before
 * anyone has signed it, as {"payload":"<base64url>","signatures":[]}. It is
 * not a JWS (RFC 7515 needs at least one signature), only the starting
 * point that `release sign` and `release cosign` add signatures to;
 * vouch_release_verify refuses it with VOUCH_E_RELEASE_SIGNATURES.
 */

/* The unsigned release text for payload (vouch_malloc'd, NUL-terminated). */
vouch_code vouch_release_unsigned(const uint8_t *payload, size_t len, char **out,
                                  vouch_err *err);

/*
 * Adds one signature by k (protected typ VOUCH_RELEASE_TYP, kid if not NULL)
 * to a release, unsigned or already signed, and returns the new general JWS
 * (vouch_malloc'd). The payload is checked with vouch_release_parse_payload
 * first: nothing malformed is ever signed. A key that already made a valid
 * signature of this release is refused with VOUCH_E_EXISTS.
 */
vouch_code vouch_release_add_signature(const char *rel, size_t len, const vouch_key *k,
                                       const char *kid, char **out, vouch_err *err);

/*
 * Reads the claims of a release (signed or unsigned) WITHOUT checking any
 * signature, for display and for the co-signer, which checks its own rules.
 * *nsigs receives the number of signatures present (0 when unsigned).
 */
vouch_code vouch_release_read_unverified(const char *rel, size_t len, vouch_release *out,
                                         size_t *nsigs, vouch_err *err);

/*
 * Chooses the trust policy a device verifies with, from its pinned policy
 * (port may be NULL: nothing pinned) and the one it was given (jws may be
 * NULL). The rules:
 *   - nothing pinned, nothing given: VOUCH_E_POLICY_MISSING (fail closed);
 *   - nothing pinned: the given policy must verify as a root of trust
 *     (vouch_policy_verify_root);
 *   - pinned and nothing given, or given the same bytes: the pinned policy,
 *     which must still verify (and not be expired);
 *   - pinned and given another: the given one must be the pinned version's
 *     valid successor (vouch_policy_verify_next, one step: N to N+1 only).
 * *is_new is set to 1 when the result is not the pinned policy, so that the
 * caller pins it, with vouch_policy_jws(), when it commits (never before).
 * A pinned policy that cannot be read back is VOUCH_E_STATE.
 */
vouch_code vouch_release_trust_policy(const vouch_state_port *port, const char *jws,
                                      size_t len, int64_t now, vouch_policy **out,
                                      int *is_new, vouch_err *err);

/*
 * Copy-and-verify, the install path that reads the image once: reads in_fd
 * to its end into buf, writes every byte to out_fd (the slot), and verifies
 * exactly those bytes as vouch_image_verify_fd does. A failure after some
 * bytes were written leaves out_fd dirty: the caller must not activate it.
 * What counts is what was written, not what is on disk afterwards.
 */
vouch_code vouch_image_copy_fd(const vouch_release *rel, int in_fd, int out_fd, uint8_t *buf,
                               size_t bufcap, vouch_err *err);

/* Parses the first entry of a cpio "newc" (070701) or "crc" (070702)
 * archive held in data[0..len): its header must be well formed, its name
 * "sw-description", and its data inside len. On success *off and *size
 * locate sw-description's bytes. For tools and the fuzzer; the streaming
 * verifier applies the same rules. */
vouch_code vouch_swu_first_entry(const uint8_t *data, size_t len, uint64_t *off,
                                 uint64_t *size, vouch_err *err);

/* The buffer vouch_release_verify_image_file and describe use. */
#define VOUCH_IMAGE_BUF (512u * 1024u)
/* sw-description larger than this is refused (VOUCH_E_RELEASE_SWU). */
#define VOUCH_SWDESC_MAX (1024u * 1024u)

#ifdef __cplusplus
}
#endif
#endif
