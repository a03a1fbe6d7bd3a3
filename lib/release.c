/* release.c - release credentials and the streaming image verifier
 * (vouch/release.h).
 *
 * A release credential is checked in one fixed order (cap, structure, typ,
 * signatures per role, then the payload, issuer, time, hardware, floor), so
 * that nothing from the payload is read before the signatures that cover it
 * have been counted, and every refusal has the code of the first rule it
 * broke.
 *
 * The image verifier is a small state machine over a caller's buffer: one
 * SHA-256 over every byte, a size check that stops at size+1 bytes, and,
 * for .swu archives, a strict parse of the first cpio header whose entry
 * (sw-description) is hashed in the same pass. It allocates once, at init.
 */
#include "vouch/release.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "vouch/codec.h"
#include "vouch/json.h"
#include "vouch/jws.h"
#include "vouch/mem.h"
#include "vouch/vc.h"

#define RELEASE_MAX_INT ((uint64_t)VOUCH_JSON_MAX_SAFE_INT)
#define SWD_NAME "sw-description"
#define CPIO_HDR_LEN 110u
/* longest member name we accept, as vouch_release_check_name does */
#define NAME_MAX_LEN 255u

/* ------------------------------------------------------------ field rules */

vouch_image_format vouch_image_format_from_name(const char *name)
{
    if (!name)
        return VOUCH_FORMAT_NONE;
    if (strcmp(name, "raw") == 0)
        return VOUCH_FORMAT_RAW;
    if (strcmp(name, "tar") == 0)
        return VOUCH_FORMAT_TAR;
    if (strcmp(name, "swu") == 0)
        return VOUCH_FORMAT_SWU;
    return VOUCH_FORMAT_NONE;
}

const char *vouch_image_format_name(vouch_image_format f)
{
    switch (f) {
    case VOUCH_FORMAT_RAW:
        return "raw";
    case VOUCH_FORMAT_TAR:
        return "tar";
    case VOUCH_FORMAT_SWU:
        return "swu";
    default:
        return NULL;
    }
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_alnum_dash(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}

/* One dot-separated identifier of a semver pre-release (numeric ones
 * without leading zeros) or build (any) part, s[0..n). */
static int semver_ident_ok(const char *s, size_t n, int prerelease)
{
    size_t i;
    int numeric = 1;

    if (n == 0)
        return 0;
    for (i = 0; i < n; i++) {
        if (!is_alnum_dash(s[i]))
            return 0;
        if (!is_digit(s[i]))
            numeric = 0;
    }
    return !(prerelease && numeric && n > 1 && s[0] == '0');
}

/* Semantic Versioning 2.0.0, exactly: MAJOR.MINOR.PATCH, numbers without
 * leading zeros, then optional -pre.release and +build identifiers. */
static int semver_ok(const char *v, size_t n)
{
    size_t i = 0, start;
    int part;

    if (n == 0 || n >= VOUCH_VERSION_MAX)
        return 0;
    for (part = 0; part < 3; part++) {
        start = i;
        while (i < n && is_digit(v[i]))
            i++;
        if (i == start || (i - start > 1 && v[start] == '0'))
            return 0;
        if (part < 2) {
            if (i >= n || v[i] != '.')
                return 0;
            i++;
        }
    }
    for (int section = 0; section < 2 && i < n; section++) {
        char lead = section == 0 ? '-' : '+';
        if (v[i] != lead) {
            if (section == 0 && v[i] == '+')
                continue; /* no pre-release; look at build */
            return 0;
        }
        i++;
        for (;;) {
            start = i;
            while (i < n && v[i] != '.' && v[i] != '+')
                i++;
            if (!semver_ident_ok(v + start, i - start, section == 0))
                return 0;
            if (i < n && v[i] == '.') {
                i++;
                continue;
            }
            break;
        }
    }
    return i == n;
}

/* [A-Za-z0-9._-]{1,63} */
static int hw_ok(const char *s, size_t n)
{
    if (n == 0 || n >= VOUCH_HW_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_alnum_dash(s[i]) && s[i] != '.' && s[i] != '_')
            return 0;
    return 1;
}

/* http(s)://host[...], printable ASCII without spaces, <= VOUCH_URL_MAX-1. */
static int url_ok(const char *s, size_t n)
{
    size_t i, skip;

    if (n == 0 || n >= VOUCH_URL_MAX)
        return 0;
    if (n > 8 && strncmp(s, "https://", 8) == 0)
        skip = 8;
    else if (n > 7 && strncmp(s, "http://", 7) == 0)
        skip = 7;
    else
        return 0;
    /* an empty host is not a download location */
    if (s[skip] == '/' || s[skip] == '?' || s[skip] == '#')
        return 0;
    for (i = 0; i < n; i++)
        if (s[i] <= 0x20 || s[i] >= 0x7f)
            return 0;
    return 1;
}

/* Printable ASCII without '"' or '\\': ids and DIDs we copy and print. */
static int plain_text_ok(const char *s, size_t n, size_t max)
{
    if (n == 0 || n >= max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= 0x20 || s[i] >= 0x7f || s[i] == '"' || s[i] == '\\')
            return 0;
    return 1;
}

/* Exactly 64 lower-case hex digits: one digest, one spelling. */
static int hex64_decode(const char *s, size_t n, uint8_t out[32])
{
    if (n != 64)
        return 0;
    for (size_t i = 0; i < 64; i++)
        if (!is_digit(s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
            return 0;
    for (size_t i = 0; i < 32; i++) {
        unsigned hi = (unsigned)(is_digit(s[2 * i]) ? s[2 * i] - '0' : s[2 * i] - 'a' + 10);
        unsigned lo =
            (unsigned)(is_digit(s[2 * i + 1]) ? s[2 * i + 1] - '0' : s[2 * i + 1] - 'a' + 10);
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 1;
}

vouch_code vouch_release_check_name(const char *name, size_t len, vouch_err *err)
{
    size_t i, start = 0;

    if (!name || len == 0)
        return vouch_err_set(err, VOUCH_E_RELEASE_NAME, "empty file name");
    if (len > NAME_MAX_LEN)
        return vouch_err_set(err, VOUCH_E_RELEASE_NAME, "file name of %zu bytes (at most %u)",
                             len, NAME_MAX_LEN);
    if (name[0] == '/')
        return vouch_err_set(err, VOUCH_E_RELEASE_NAME, "absolute file name");
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c == 0)
            return vouch_err_set(err, VOUCH_E_RELEASE_NAME, "NUL byte in a file name");
        if (c == '\\')
            return vouch_err_set(err, VOUCH_E_RELEASE_NAME, "backslash in a file name");
        /* no decoder downstream can turn a name without '%' into "..", so
         * percent signs are refused outright rather than decoded */
        if (c == '%')
            return vouch_err_set(err, VOUCH_E_RELEASE_NAME, "percent sign in a file name");
        if (c < 0x20 || c == 0x7f)
            return vouch_err_set(err, VOUCH_E_RELEASE_NAME, "control byte in a file name");
    }
    /* every component, the last one too: "a/..", "../a", "a/../b" */
    for (i = 0; i <= len; i++) {
        if (i < len && name[i] != '/')
            continue;
        if (i - start == 2 && name[start] == '.' && name[start + 1] == '.')
            return vouch_err_set(err, VOUCH_E_RELEASE_NAME, "\"..\" in a file name");
        if (i == start)
            return vouch_err_set(err, VOUCH_E_RELEASE_NAME, "empty component in a file name");
        start = i + 1;
    }
    return VOUCH_OK;
}

/* ------------------------------------------------------------ the payload */

/* "did:<method>:<id>" with a method of [a-z0-9]+, as vouch_vc_build wants
 * it: what we accept, we can also re-issue. */
static int ok_did(const char *s, size_t n)
{
    size_t i = 4;

    if (n <= 4 || strncmp(s, "did:", 4) != 0 || !plain_text_ok(s, n, VOUCH_DID_MAX_LEN))
        return 0;
    while (i < n && ((s[i] >= 'a' && s[i] <= 'z') || is_digit(s[i])))
        i++;
    return i > 4 && i + 1 < n && s[i] == ':';
}
/* Every rule of the header, on a filled vouch_release (before signing). */
static vouch_code release_check_fields(const vouch_release *rel, vouch_err *err)
{
    size_t i, j;

    if (!url_ok(rel->url, strnlen(rel->url, sizeof(rel->url))))
        return vouch_err_set(err, VOUCH_E_RELEASE_FORMAT,
                             "url must be an http(s) URL of at most %u bytes", VOUCH_URL_MAX - 1);
    if (rel->size == 0 || rel->size > RELEASE_MAX_INT)
        return vouch_err_set(err, VOUCH_E_RELEASE_FORMAT, "size must be in 1..2^53-1");
    if (!semver_ok(rel->version, strnlen(rel->version, sizeof(rel->version))))
        return vouch_err_set(err, VOUCH_E_RELEASE_FORMAT,
                             "version is not a semantic version of at most %d bytes",
                             VOUCH_VERSION_MAX - 1);
    if (rel->security_version < 0 || (uint64_t)rel->security_version > RELEASE_MAX_INT)
        return vouch_err_set(err, VOUCH_E_RELEASE_FORMAT,
                             "securityVersion must be in 0..2^53-1");
    if (rel->nhardware == 0 || rel->nhardware > VOUCH_RELEASE_MAX_HW)
        return vouch_err_set(err, VOUCH_E_RELEASE_FORMAT, "1..%u hardware ids are needed",
                             VOUCH_RELEASE_MAX_HW);
    for (i = 0; i < rel->nhardware; i++) {
        if (!hw_ok(rel->hardware[i], strnlen(rel->hardware[i], VOUCH_HW_MAX)))
            return vouch_err_set(err, VOUCH_E_RELEASE_FORMAT,
                                 "hardware id %zu is not [A-Za-z0-9._-]{1,63}", i);
        for (j = 0; j < i; j++)
            if (strcmp(rel->hardware[i], rel->hardware[j]) == 0)
                return vouch_err_set(err, VOUCH_E_RELEASE_FORMAT, "hardware id %s given twice",
                                     rel->hardware[i]);
    }
    if (!vouch_image_format_name(rel->format))
        return vouch_err_set(err, VOUCH_E_RELEASE_FORMAT, "format must be raw, tar or swu");
    if ((rel->format == VOUCH_FORMAT_SWU) != (rel->has_swdesc != 0))
        return vouch_err_set(err, VOUCH_E_RELEASE_FORMAT,
                             "swDescriptionSha256 is required for swu and refused otherwise");
    if (!ok_did(rel->iss, strnlen(rel->iss, sizeof(rel->iss))))
        return vouch_err_set(err, VOUCH_E_RELEASE_FORMAT, "issuer is not a DID");
    if (rel->jti[0] && !plain_text_ok(rel->jti, strnlen(rel->jti, sizeof(rel->jti)),
                                      sizeof(rel->jti)))
        return vouch_err_set(err, VOUCH_E_RELEASE_FORMAT, "jti is not printable text");
    if (rel->iat < 0 || rel->nbf < 0 || rel->exp <= rel->nbf ||
        (uint64_t)rel->exp > RELEASE_MAX_INT || (uint64_t)rel->iat > RELEASE_MAX_INT)
        return vouch_err_set(err, VOUCH_E_RELEASE_FORMAT,
                             "times must satisfy 0 <= nbf < exp <= 2^53-1");
    return VOUCH_OK;
}

vouch_code vouch_release_payload(const vouch_release *rel, char **out, size_t *len,
                                 vouch_err *err)
{
    char sha[65], swd[65];
    char *jti = NULL;
    json_t *subject = NULL, *hw = NULL, *claims = NULL;
    vouch_code rc;

    if (out)
        *out = NULL;
    if (!rel || !out) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "vouch_release_payload: bad argument");
        goto out;
    }
    vouch_json_init();
    rc = release_check_fields(rel, err);
    if (rc != VOUCH_OK)
        goto out;
    if (!rel->jti[0]) {
        rc = vouch_vc_new_jti(&jti, err);
        if (rc != VOUCH_OK)
            goto out;
    }
    vouch_hex_encode_buf(rel->sha256, 32, sha, sizeof(sha), NULL);
    vouch_hex_encode_buf(rel->swdesc_sha256, 32, swd, sizeof(swd), NULL);
    hw = json_array();
    for (size_t i = 0; hw && i < rel->nhardware; i++)
        if (json_array_append_new(hw, json_string(rel->hardware[i])) != 0) {
            json_decref(hw);
            hw = NULL;
        }
    if (!hw)
        goto nomem;
    /* member order is the header's, so that payloads read the same everywhere */
    subject = json_pack("{s:s,s:s,s:I,s:s,s:I,s:o,s:s}", "id", rel->url, "sha256", sha, "size",
                        (json_int_t)rel->size, "version", rel->version, "securityVersion",
                        (json_int_t)rel->security_version, "hardware", hw, "format",
                        vouch_image_format_name(rel->format));
    hw = NULL; /* "o" took it, even on failure */
    if (!subject)
        goto nomem;
    if (rel->has_swdesc && json_object_set_new(subject, "swDescriptionSha256", json_string(swd)))
        goto nomem;
    rc = vouch_vc_build(rel->iss, VOUCH_RELEASE_TYPE, VOUCH_RELEASE_CONTEXT,
                        jti ? jti : rel->jti, rel->iat, rel->nbf, rel->exp, subject, &claims,
                        err);
    subject = NULL; /* stolen by vouch_vc_build */
    if (rc != VOUCH_OK)
        goto out;
    rc = vouch_json_dump(claims, out, len, err);
    goto out;
nomem:
    rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory building a release payload");
out:
    json_decref(hw);
    json_decref(subject);
    json_decref(claims);
    vouch_free(jti);
    return rc;
}

/* Fails unless obj has only the listed members (RAUC's "consume, then
 * refuse what is left"). */
static vouch_code release_only_members(const json_t *obj, const char *const *names,
                                       const char *where, vouch_err *err)
{
    const char *key;
    json_t *val;

    json_object_foreach((json_t *)obj, key, val) {
        size_t i;
        for (i = 0; names[i]; i++)
            if (strcmp(key, names[i]) == 0)
                break;
        if (!names[i])
            return vouch_err_set(err, VOUCH_E_RELEASE_FORMAT, "%s: unknown member \"%.40s\"",
                                 where, key);
    }
    return VOUCH_OK;
}

/* A string member, checked by ok(), copied into out[cap]. */
static vouch_code release_get_text(const json_t *obj, const char *key, char *out, size_t cap,
                                   int (*ok)(const char *, size_t), const char *what,
                                   vouch_err *err)
{
    const char *s;
    size_t n;

    if (vouch_json_get_string(obj, key, &s, NULL) != VOUCH_OK)
        return vouch_err_set(err, VOUCH_E_RELEASE_FORMAT, "\"%s\" is missing or not a string",
                             key);
    n = json_string_length(json_object_get(obj, key));
    if (n >= cap || !ok(s, n))
        return vouch_err_set(err, VOUCH_E_RELEASE_FORMAT, "\"%s\" is not %s", key, what);
    memcpy(out, s, n);
    out[n] = '\0';
    return VOUCH_OK;
}

/* An integer member in lo..2^53-1 (the typed getter refuses reals and
 * anything beyond 2^53-1, so 1e30, 2^63 and -1 all fail here). */
static vouch_code release_get_uint(const json_t *obj, const char *key, int64_t lo, int64_t *out,
                                   vouch_err *err)
{
    vouch_err sub;

    vouch_err_clear(&sub);
    if (vouch_json_get_int(obj, key, out, &sub) != VOUCH_OK || *out < lo)
        return vouch_err_set(err, VOUCH_E_RELEASE_FORMAT,
                             "\"%s\" is not an integer in %" PRId64 "..2^53-1 (%s)", key, lo,
                             sub.msg[0] ? sub.msg : "too small");
    return VOUCH_OK;
}

static int ok_url(const char *s, size_t n) { return url_ok(s, n); }
static int ok_semver(const char *s, size_t n) { return semver_ok(s, n); }
static int ok_jti(const char *s, size_t n) { return plain_text_ok(s, n, 128); }
static int ok_any(const char *s, size_t n) { return s && n; }

static vouch_code release_parse_subject(const json_t *subj, vouch_release *out, vouch_err *err)
{
    static const char *const members[] = {"id",       "sha256",   "size",
                                          "version",  "securityVersion", "hardware",
                                          "format",   "swDescriptionSha256", NULL};
    const char *s;
    char fmt[8];
    json_t *hw;
    int64_t v;
    size_t i, j;
    vouch_code rc;

    if (!json_is_object(subj))
        return vouch_err_set(err, VOUCH_E_RELEASE_FORMAT, "credentialSubject is not an object");
    if ((rc = release_only_members(subj, members, "credentialSubject", err)) != VOUCH_OK ||
        (rc = release_get_text(subj, "id", out->url, sizeof(out->url), ok_url,
                               "an http(s) URL", err)) != VOUCH_OK)
        return rc;
    /* an empty or absent digest never means "don't check" */
    if (vouch_json_get_string(subj, "sha256", &s, NULL) != VOUCH_OK ||
        !hex64_decode(s, json_string_length(json_object_get(subj, "sha256")), out->sha256))
        return vouch_err_set(err, VOUCH_E_RELEASE_FORMAT,
                             "\"sha256\" is not 64 lower-case hex digits");
    if ((rc = release_get_uint(subj, "size", 1, &v, err)) != VOUCH_OK)
        return rc;
    out->size = (uint64_t)v;
    if ((rc = release_get_text(subj, "version", out->version, sizeof(out->version), ok_semver,
                               "a semantic version", err)) != VOUCH_OK ||
        (rc = release_get_uint(subj, "securityVersion", 0, &out->security_version, err)) !=
            VOUCH_OK)
        return rc;
    if (vouch_json_get_array(subj, "hardware", &hw, NULL) != VOUCH_OK ||
        json_array_size(hw) == 0 || json_array_size(hw) > VOUCH_RELEASE_MAX_HW)
        return vouch_err_set(err, VOUCH_E_RELEASE_FORMAT,
                             "\"hardware\" is not an array of 1..%u ids", VOUCH_RELEASE_MAX_HW);
    for (i = 0; i < json_array_size(hw); i++) {
        const json_t *e = json_array_get(hw, i);
        size_t n = json_string_length(e);
        if (!json_is_string(e) || !hw_ok(json_string_value(e), n))
            return vouch_err_set(err, VOUCH_E_RELEASE_FORMAT,
                                 "hardware id %zu is not [A-Za-z0-9._-]{1,63}", i);
        memcpy(out->hardware[i], json_string_value(e), n + 1);
        for (j = 0; j < i; j++)
            if (strcmp(out->hardware[i], out->hardware[j]) == 0)
                return vouch_err_set(err, VOUCH_E_RELEASE_FORMAT, "hardware id %s given twice",
                                     out->hardware[i]);
    }
    out->nhardware = i;
    if ((rc = release_get_text(subj, "format", fmt, sizeof(fmt), ok_any, "a format", err)) !=
        VOUCH_OK)
        return rc;
    out->format = vouch_image_format_from_name(fmt);
    if (out->format == VOUCH_FORMAT_NONE)
        return vouch_err_set(err, VOUCH_E_RELEASE_FORMAT, "\"format\" must be raw, tar or swu");
    if (json_object_get(subj, "swDescriptionSha256")) {
        if (out->format != VOUCH_FORMAT_SWU)
            return vouch_err_set(err, VOUCH_E_RELEASE_FORMAT,
                                 "swDescriptionSha256 is only for swu images");
        if (vouch_json_get_string(subj, "swDescriptionSha256", &s, NULL) != VOUCH_OK ||
            !hex64_decode(s, json_string_length(json_object_get(subj, "swDescriptionSha256")),
                          out->swdesc_sha256))
            return vouch_err_set(err, VOUCH_E_RELEASE_FORMAT,
                                 "\"swDescriptionSha256\" is not 64 lower-case hex digits");
        out->has_swdesc = 1;
    } else if (out->format == VOUCH_FORMAT_SWU) {
        return vouch_err_set(err, VOUCH_E_RELEASE_FORMAT,
                             "a swu release needs swDescriptionSha256");
    }
    return VOUCH_OK;
}

/* 1 if arr is a JSON array of exactly the given strings, in order. */
static int release_string_array_is(const json_t *arr, const char *a, const char *b)
{
    return json_is_array(arr) && json_array_size(arr) == 2 &&
           json_is_string(json_array_get(arr, 0)) && json_is_string(json_array_get(arr, 1)) &&
           strcmp(json_string_value(json_array_get(arr, 0)), a) == 0 &&
           strcmp(json_string_value(json_array_get(arr, 1)), b) == 0;
}

/* The VC-JWT claims of a release, all of them, strictly (vouch/vc.h layout). */
static vouch_code release_parse_claims(const json_t *claims, vouch_release *out, vouch_err *err)
{
    static const char *const top[] = {"iss", "sub", "jti", "iat", "nbf", "exp", "vc", NULL};
    static const char *const vcm[] = {"@context", "type", "credentialSubject", NULL};
    const json_t *vc;
    const char *sub;
    vouch_code rc;

    memset(out, 0, sizeof(*out));
    if ((rc = release_only_members(claims, top, "claims", err)) != VOUCH_OK ||
        (rc = release_get_text(claims, "iss", out->iss, sizeof(out->iss), ok_did, "a DID",
                               err)) != VOUCH_OK ||
        (rc = release_get_text(claims, "jti", out->jti, sizeof(out->jti), ok_jti,
                               "a printable id", err)) != VOUCH_OK ||
        (rc = release_get_uint(claims, "iat", 0, &out->iat, err)) != VOUCH_OK ||
        (rc = release_get_uint(claims, "nbf", 0, &out->nbf, err)) != VOUCH_OK ||
        (rc = release_get_uint(claims, "exp", 0, &out->exp, err)) != VOUCH_OK)
        goto out;
    if (out->exp <= out->nbf) {
        rc = vouch_err_set(err, VOUCH_E_RELEASE_FORMAT, "exp is not after nbf");
        goto out;
    }
    vc = json_object_get(claims, "vc");
    if (!json_is_object(vc)) {
        rc = vouch_err_set(err, VOUCH_E_RELEASE_FORMAT, "\"vc\" is missing or not an object");
        goto out;
    }
    if ((rc = release_only_members(vc, vcm, "vc", err)) != VOUCH_OK)
        goto out;
    if (!release_string_array_is(json_object_get(vc, "@context"), VOUCH_VC_CONTEXT_V1,
                                 VOUCH_RELEASE_CONTEXT)) {
        rc = vouch_err_set(err, VOUCH_E_RELEASE_FORMAT, "vc.@context is not [\"%s\", \"%s\"]",
                           VOUCH_VC_CONTEXT_V1, VOUCH_RELEASE_CONTEXT);
        goto out;
    }
    if (!release_string_array_is(json_object_get(vc, "type"), "VerifiableCredential",
                                 VOUCH_RELEASE_TYPE)) {
        rc = vouch_err_set(err, VOUCH_E_RELEASE_FORMAT,
                           "vc.type is not [\"VerifiableCredential\", \"%s\"]",
                           VOUCH_RELEASE_TYPE);
        goto out;
    }
    rc = release_parse_subject(json_object_get(vc, "credentialSubject"), out, err);
    if (rc != VOUCH_OK)
        goto out;
    if (vouch_json_get_string(claims, "sub", &sub, NULL) != VOUCH_OK || strcmp(sub, out->url)) {
        rc = vouch_err_set(err, VOUCH_E_RELEASE_FORMAT, "sub is not credentialSubject.id");
        goto out;
    }
out:
    if (rc != VOUCH_OK)
        memset(out, 0, sizeof(*out));
    return rc;
}

/* The hardened parse of a payload into a claims object (RELEASE_FORMAT). */
static vouch_code release_parse_json(const uint8_t *payload, size_t len, json_t **claims,
                                     vouch_err *err)
{
    vouch_json_limits lim = {VOUCH_RELEASE_MAX_BYTES, 8};
    vouch_err sub;
    vouch_code rc;

    *claims = NULL;
    if (!payload || len == 0 || len > VOUCH_RELEASE_MAX_BYTES)
        return vouch_err_set(err, VOUCH_E_RELEASE_FORMAT, "payload of %zu bytes (1..%u)", len,
                             VOUCH_RELEASE_MAX_BYTES);
    vouch_err_clear(&sub);
    rc = vouch_json_parse_object((const char *)payload, len, &lim, claims, &sub);
    if (rc == VOUCH_E_NOMEM)
        return vouch_err_set(err, rc, "out of memory parsing a release payload");
    if (rc != VOUCH_OK)
        return vouch_err_set(err, VOUCH_E_RELEASE_FORMAT, "payload: %s (%s)", sub.msg,
                             vouch_code_name(rc));
    return VOUCH_OK;
}

vouch_code vouch_release_parse_payload(const uint8_t *payload, size_t len, vouch_release *out,
                                       vouch_err *err)
{
    json_t *claims = NULL;
    vouch_release tmp;
    vouch_code rc;

    if (!out) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "vouch_release_parse_payload: bad argument");
        goto out;
    }
    memset(out, 0, sizeof(*out));
    rc = release_parse_json(payload, len, &claims, err);
    if (rc == VOUCH_OK)
        rc = release_parse_claims(claims, &tmp, err);
    if (rc == VOUCH_OK)
        *out = tmp;
out:
    json_decref(claims);
    return rc;
}

/* ---------------------------------------------------- the unsigned release */

vouch_code vouch_release_unsigned(const uint8_t *payload, size_t len, char **out,
                                  vouch_err *err)
{
    char *b64 = NULL;
    size_t n = 0;
    vouch_buf b;
    vouch_code rc;

    vouch_buf_init(&b, VOUCH_JWS_MAX_BYTES);
    *out = NULL;
    rc = vouch_b64url_encode(payload, len, &b64, &n, err);
    if (rc != VOUCH_OK)
        goto out;
    if ((rc = vouch_buf_append_str(&b, "{\"payload\":\"")) != VOUCH_OK ||
        (rc = vouch_buf_append(&b, b64, n)) != VOUCH_OK ||
        (rc = vouch_buf_append_str(&b, "\",\"signatures\":[]}\n")) != VOUCH_OK) {
        vouch_err_set(err, rc, "cannot build the unsigned release");
        goto out;
    }
    *out = (char *)vouch_buf_take(&b, NULL);
out:
    vouch_free(b64);
    vouch_buf_free(&b);
    return rc;
}

/*
 * If text is an unsigned release, *payload receives its decoded payload
 * (vouch_malloc'd) and VOUCH_OK is returned; anything else is
 * VOUCH_E_JWS_FORMAT (or NOMEM).
 */
static vouch_code release_unsigned_payload(const char *text, size_t len, uint8_t **payload,
                                           size_t *plen, vouch_err *err)
{
    static const char *const members[] = {"payload", "signatures", NULL};
    vouch_json_limits lim = {VOUCH_JWS_MAX_BYTES, 4};
    json_t *doc = NULL, *sigs;
    const char *p;
    vouch_code rc;

    *payload = NULL;
    rc = vouch_json_parse_object(text, len, &lim, &doc, NULL);
    if (rc == VOUCH_E_NOMEM) {
        rc = vouch_err_set(err, rc, "out of memory reading a release");
        goto out;
    }
    sigs = rc == VOUCH_OK ? json_object_get(doc, "signatures") : NULL;
    if (rc != VOUCH_OK || json_object_size(doc) != 2 ||
        release_only_members(doc, members, "release", NULL) != VOUCH_OK ||
        !json_is_array(sigs) || json_array_size(sigs) != 0 ||
        vouch_json_get_string(doc, "payload", &p, NULL) != VOUCH_OK) {
        rc = vouch_err_set(err, VOUCH_E_JWS_FORMAT, "not a JWS nor an unsigned release");
        goto out;
    }
    rc = vouch_b64url_decode(p, json_string_length(json_object_get(doc, "payload")), payload,
                             plen, err);
    if (rc != VOUCH_OK && rc != VOUCH_E_NOMEM)
        rc = vouch_err_set(err, VOUCH_E_JWS_FORMAT, "unsigned release: payload is not base64url");
out:
    json_decref(doc);
    return rc;
}

vouch_code vouch_release_read_unverified(const char *rel, size_t len, vouch_release *out,
                                         size_t *nsigs, vouch_err *err)
{
    vouch_jws *j = NULL;
    uint8_t *payload = NULL;
    size_t plen = 0;
    vouch_code rc;

    if (nsigs)
        *nsigs = 0;
    if (!rel || !out) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "vouch_release_read_unverified: bad argument");
        goto out;
    }
    memset(out, 0, sizeof(*out));
    if (len > VOUCH_RELEASE_MAX_BYTES) {
        rc = vouch_err_set(err, VOUCH_E_JWS_TOO_LARGE, "release of %zu bytes (at most %u)", len,
                           VOUCH_RELEASE_MAX_BYTES);
        goto out;
    }
    rc = vouch_jws_parse(rel, len, &j, err);
    if (rc == VOUCH_OK) {
        if (nsigs)
            *nsigs = j->nsigs;
        rc = vouch_release_parse_payload(j->payload, j->payload_len, out, err);
        goto out;
    }
    if (rc != VOUCH_E_JWS_FORMAT)
        goto out;
    if (release_unsigned_payload(rel, len, &payload, &plen, NULL) != VOUCH_OK)
        goto out; /* keep the JWS parser's message */
    rc = vouch_release_parse_payload(payload, plen, out, err);
out:
    vouch_jws_free(j);
    vouch_free(payload);
    return rc;
}

vouch_code vouch_release_add_signature(const char *rel, size_t len, const vouch_key *k,
                                       const char *kid, char **out, vouch_err *err)
{
    vouch_jws_sign_opts opts = {VOUCH_RELEASE_TYP, kid, NULL};
    vouch_jws *j = NULL;
    uint8_t *payload = NULL;
    size_t plen = 0, i;
    vouch_release tmp;
    vouch_code rc;

    if (!rel || !k || !out) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "vouch_release_add_signature: bad argument");
        goto out;
    }
    *out = NULL;
    if (len > VOUCH_RELEASE_MAX_BYTES) {
        rc = vouch_err_set(err, VOUCH_E_JWS_TOO_LARGE, "release of %zu bytes (at most %u)", len,
                           VOUCH_RELEASE_MAX_BYTES);
        goto out;
    }
    rc = vouch_jws_parse(rel, len, &j, err);
    if (rc == VOUCH_E_JWS_FORMAT) {
        rc = release_unsigned_payload(rel, len, &payload, &plen, err);
        if (rc != VOUCH_OK)
            goto out;
        if ((rc = vouch_release_parse_payload(payload, plen, &tmp, err)) != VOUCH_OK)
            goto out;
        rc = vouch_jws_sign_general(k, &opts, payload, plen, out, err);
        goto out;
    }
    if (rc != VOUCH_OK)
        goto out;
    if ((rc = vouch_release_parse_payload(j->payload, j->payload_len, &tmp, err)) != VOUCH_OK)
        goto out;
    for (i = 0; i < j->nsigs; i++)
        if (vouch_jws_verify_sig(j, i, k, NULL, NULL) == VOUCH_OK) {
            rc = vouch_err_set(err, VOUCH_E_EXISTS,
                               "this key already signed the release (signature %zu)", i);
            goto out;
        }
    rc = vouch_jws_general_add(rel, len, k, &opts, out, err);
out:
    vouch_jws_free(j);
    vouch_free(payload);
    return rc;
}

/* ------------------------------------------------------------ verification */

/* typ as vouch/jws.h compares it: case-insensitive, "application/" optional. */
static int release_typ_ok(const char *typ)
{
    if (!typ)
        return 0;
    if (strncasecmp(typ, "application/", 12) == 0)
        typ += 12;
    return strcasecmp(typ, VOUCH_RELEASE_TYP) == 0;
}

/* Every role the policy's releaseRequires names met its threshold.
 * vouch_policy_check_role runs vouch_jws_verify_all over the role's keys
 * (vouch_policy_role_keys) and counts distinct keys, so each signature is
 * verified once per role, never twice. */
static vouch_code release_check_roles(const vouch_policy *p, const vouch_jws *j, vouch_err *err)
{
    unsigned nreq = 0;
    vouch_code rc = VOUCH_OK;

    for (int r = VOUCH_ROLE_RELEASE; r < VOUCH_ROLE__COUNT; r++) {
        if (!vouch_policy_release_requires(p, (vouch_role)r))
            continue;
        nreq++;
        rc = vouch_policy_check_role(p, (vouch_role)r, j, VOUCH_E_RELEASE_SIGNATURES, err);
        if (rc != VOUCH_OK)
            goto out;
    }
    /* a policy that asks for no role would make anything a release */
    if (nreq == 0)
        rc = vouch_err_set(err, VOUCH_E_RELEASE_SIGNATURES,
                           "the policy requires no role for releases");
out:
    return rc;
}

vouch_code vouch_release_verify(const vouch_policy *p, const char *jws, size_t len,
                                const vouch_release_check *chk, vouch_release *out,
                                vouch_err *err)
{
    vouch_jws *j = NULL;
    json_t *claims = NULL;
    vouch_release rel;
    vouch_vc vc;
    vouch_err sub;
    uint8_t *unsig = NULL;
    size_t unsig_len = 0, i;
    const char *iss;
    vouch_code rc;

    if (out)
        memset(out, 0, sizeof(*out));
    if (!p) {
        rc = vouch_err_set(err, VOUCH_E_POLICY_MISSING, "no trust policy: refusing every release");
        goto out;
    }
    if (!jws || !chk) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "vouch_release_verify: bad argument");
        goto out;
    }
    /* 1. cap, before a single byte is parsed */
    if (len > VOUCH_RELEASE_MAX_BYTES) {
        rc = vouch_err_set(err, VOUCH_E_JWS_TOO_LARGE, "release of %zu bytes (at most %u)", len,
                           VOUCH_RELEASE_MAX_BYTES);
        goto out;
    }
    /* 2. structure */
    rc = vouch_jws_parse(jws, len, &j, err);
    if (rc == VOUCH_E_JWS_FORMAT &&
        release_unsigned_payload(jws, len, &unsig, &unsig_len, NULL) == VOUCH_OK) {
        rc = vouch_err_set(err, VOUCH_E_RELEASE_SIGNATURES,
                           "the release is unsigned (no signature yet)");
        goto out;
    }
    if (rc != VOUCH_OK)
        goto out;
    /* 3. every signature must say it is a release: a policy, a login token
     * or an assignment is another kind of token, whoever signed it */
    for (i = 0; i < j->nsigs; i++)
        if (!release_typ_ok(j->sigs[i].typ)) {
            rc = vouch_err_set(err, VOUCH_E_JWS_TYP, "signature %zu: typ is not %s", i,
                               VOUCH_RELEASE_TYP);
            goto out;
        }
    /* 4. thresholds of distinct keys, per required role */
    rc = release_check_roles(p, j, err);
    if (rc != VOUCH_OK)
        goto out;
    /* 5. only now is the (signed) payload parsed */
    rc = release_parse_json(j->payload, j->payload_len, &claims, err);
    if (rc == VOUCH_OK)
        rc = release_parse_claims(claims, &rel, err);
    if (rc != VOUCH_OK)
        goto out;
    /* 6. the issuer is the policy's */
    iss = vouch_policy_issuer(p);
    if (!iss || strcmp(iss, rel.iss) != 0) {
        rc = vouch_err_set(err, VOUCH_E_VC_ISSUER, "issuer %.80s is not the policy's %.80s",
                           rel.iss, iss ? iss : "(none)");
        goto out;
    }
    /* 7. time, through the shared VC check (structure was checked above,
     * so what it can still find is expiry and nbf) */
    vouch_err_clear(&sub);
    rc = vouch_vc_check(claims, VOUCH_RELEASE_TYPE, iss, chk->now, &vc, &sub);
    switch (rc) {
    case VOUCH_OK:
        break;
    case VOUCH_E_VC_EXPIRED:
        rc = vouch_err_set(err, VOUCH_E_RELEASE_EXPIRED,
                           "release expired at %" PRId64 " (now %" PRId64 ")", rel.exp,
                           chk->now);
        goto out;
    case VOUCH_E_VC_NOT_YET_VALID:
        rc = vouch_err_set(err, VOUCH_E_RELEASE_NOT_YET_VALID,
                           "release not valid before %" PRId64 " (now %" PRId64 ")", rel.nbf,
                           chk->now);
        goto out;
    case VOUCH_E_VC_FORMAT:
    case VOUCH_E_VC_TYPE:
        rc = vouch_err_set(err, VOUCH_E_RELEASE_FORMAT, "release: %s", sub.msg);
        goto out;
    default:
        vouch_err_set(err, rc, "%s", sub.msg);
        goto out;
    }
    /* 7b. a lifetime the policy allows: the co-signer checks this too, but
     * a device does not rely on another host's configuration */
    if (vouch_policy_max_release_lifetime(p) > 0 &&
        rel.exp - rel.nbf > vouch_policy_max_release_lifetime(p)) {
        rc = vouch_err_set(err, VOUCH_E_RELEASE_LIFETIME,
                           "release lives %" PRId64 " s; the policy allows %" PRId64 " s",
                           rel.exp - rel.nbf, vouch_policy_max_release_lifetime(p));
        goto out;
    }
    /* 8. this device's hardware */
    if (chk->hardware) {
        for (i = 0; i < rel.nhardware; i++)
            if (strcmp(rel.hardware[i], chk->hardware) == 0)
                break;
        if (i == rel.nhardware) {
            rc = vouch_err_set(err, VOUCH_E_RELEASE_HARDWARE, "release is not for hardware %.63s",
                               chk->hardware);
            goto out;
        }
    }
    /* 9. the anti-rollback floor and the committed release */
    if (chk->state) {
        if (rel.security_version < chk->state->floor) {
            rc = vouch_err_set(err, VOUCH_E_RELEASE_ROLLBACK,
                               "securityVersion %" PRId64 " is below the floor %" PRId64,
                               rel.security_version, chk->state->floor);
            goto out;
        }
        if (chk->state->has_committed && strcmp(chk->state->version, rel.version) == 0 &&
            !vouch_ct_equal(chk->state->digest, rel.sha256, 32)) {
            rc = vouch_err_set(err, VOUCH_E_RELEASE_SAME_VERSION,
                               "version %s is installed with a different image", rel.version);
            goto out;
        }
    }
    if (out)
        *out = rel;
    rc = VOUCH_OK;
out:
    vouch_jws_free(j);
    json_decref(claims);
    vouch_free(unsig);
    return rc;
}

/* ------------------------------------------------- the streaming verifier */

enum cpio_state { CP_OFF, CP_HDR, CP_NAME, CP_NAMEPAD, CP_DATA, CP_DATAPAD, CP_DONE, CP_FAIL };

/* What init allocates once: the hash contexts and the cpio parser. */
typedef struct img_engine {
    EVP_MD_CTX *whole;
    EVP_MD_CTX *swd;
    uint64_t size;      /* the enclosing size: the signed one */
    uint64_t seen;
    int over;           /* more than size bytes arrived */
    /* cpio: the first entry of a .swu */
    enum cpio_state st;
    uint64_t pos;       /* bytes of the archive consumed by the parser */
    uint8_t hdr[CPIO_HDR_LEN];
    char name[NAME_MAX_LEN + 1];
    uint32_t namesize, npad, dpad, got;
    uint64_t fsize, fgot;
    uint32_t sum;       /* the "crc" format's byte sum */
    int crc;
    vouch_code swu_rc;
    char swu_msg[112];
    uint8_t want_swd[32];
    int check_swd;
    uint8_t swd_digest[32];
} img_engine;

static void engine_swu_fail(img_engine *e, const char *msg)
{
    e->st = CP_FAIL;
    e->swu_rc = VOUCH_E_RELEASE_SWU;
    snprintf(e->swu_msg, sizeof(e->swu_msg), "%s", msg);
}

/* One 8-digit hex field of a cpio header; -1 if it is not hex. */
static int64_t cpio_field(const uint8_t *p)
{
    uint32_t v = 0;

    for (int i = 0; i < 8; i++) {
        uint8_t c = p[i];
        uint32_t d;
        if (c >= '0' && c <= '9')
            d = (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = (uint32_t)(c - 'A' + 10);
        else
            return -1;
        v = v << 4 | d;
    }
    return v;
}

/* The whole header is in e->hdr: check it against the image around it. */
static void engine_cpio_header(img_engine *e)
{
    int64_t f[13];
    uint64_t entry;

    if (memcmp(e->hdr, "070701", 6) == 0)
        e->crc = 0;
    else if (memcmp(e->hdr, "070702", 6) == 0)
        e->crc = 1;
    else {
        engine_swu_fail(e, "not a cpio newc/crc archive (magic)");
        return;
    }
    for (int i = 0; i < 13; i++) {
        f[i] = cpio_field(e->hdr + 6 + 8 * i);
        if (f[i] < 0) {
            engine_swu_fail(e, "cpio header field is not hex");
            return;
        }
    }
    /* f[1] mode: a regular file; f[6] filesize; f[11] namesize; f[12] check */
    if (((uint64_t)f[1] & 0170000u) != 0100000u) {
        engine_swu_fail(e, "first archive entry is not a regular file");
        return;
    }
    if (f[11] < 2 || (uint64_t)f[11] > NAME_MAX_LEN + 1u) {
        engine_swu_fail(e, "cpio name size out of range");
        return;
    }
    if (!e->crc && f[12] != 0) {
        engine_swu_fail(e, "cpio newc check field is not zero");
        return;
    }
    e->namesize = (uint32_t)f[11];
    e->fsize = (uint64_t)f[6];
    e->npad = (uint32_t)((4u - (CPIO_HDR_LEN + e->namesize) % 4u) % 4u);
    e->dpad = (uint32_t)((4u - e->fsize % 4u) % 4u);
    e->sum = 0;
    /* each term is below 2^33, so the sum cannot wrap a uint64_t; the entry
     * must lie inside the image whose size is signed */
    entry = (uint64_t)CPIO_HDR_LEN + e->namesize + e->npad + e->fsize + e->dpad;
    if (entry > e->size) {
        engine_swu_fail(e, "first archive entry extends past the image");
        return;
    }
    if (e->fsize == 0 || e->fsize > VOUCH_SWDESC_MAX) {
        engine_swu_fail(e, "sw-description size is 0 or above the cap");
        return;
    }
    e->st = CP_NAME;
    e->got = 0;
}

static void engine_cpio_name(img_engine *e)
{
    size_t n = e->namesize - 1u;

    if (e->name[n] != '\0' || memchr(e->name, '\0', n) != NULL) {
        engine_swu_fail(e, "cpio name is not NUL-terminated");
        return;
    }
    if (vouch_release_check_name(e->name, n, NULL) != VOUCH_OK) {
        engine_swu_fail(e, "unsafe name in the cpio header");
        return;
    }
    if (strcmp(e->name, SWD_NAME) != 0) {
        engine_swu_fail(e, "");
        snprintf(e->swu_msg, sizeof(e->swu_msg),
                 "first archive entry is \"%.64s\", not sw-description", e->name);
        return;
    }
    e->st = e->npad ? CP_NAMEPAD : CP_DATA;
    e->got = 0;
}

/* Feeds the parser; it takes only what the first entry spans. */
static void engine_cpio(img_engine *e, const uint8_t *p, size_t n)
{
    while (n && e->st != CP_DONE && e->st != CP_FAIL) {
        size_t take;

        switch (e->st) {
        case CP_HDR:
            take = CPIO_HDR_LEN - e->got;
            take = take < n ? take : n;
            memcpy(e->hdr + e->got, p, take);
            e->got += (uint32_t)take;
            if (e->got == CPIO_HDR_LEN)
                engine_cpio_header(e);
            break;
        case CP_NAME:
            take = e->namesize - e->got;
            take = take < n ? take : n;
            memcpy(e->name + e->got, p, take);
            e->got += (uint32_t)take;
            if (e->got == e->namesize)
                engine_cpio_name(e);
            break;
        case CP_NAMEPAD:
        case CP_DATAPAD: {
            uint32_t pad = e->st == CP_NAMEPAD ? e->npad : e->dpad;
            take = pad - e->got;
            take = take < n ? take : n;
            for (size_t i = 0; i < take; i++)
                if (p[i] != 0) {
                    engine_swu_fail(e, "non-zero cpio padding");
                    return;
                }
            e->got += (uint32_t)take;
            if (e->got == pad) {
                e->got = 0;
                e->st = e->st == CP_NAMEPAD ? CP_DATA : CP_DONE;
            }
            break;
        }
        case CP_DATA:
            /* fsize - fgot > 0 here, and bounded by the cap */
            take = (size_t)(e->fsize - e->fgot < n ? e->fsize - e->fgot : n);
            if (EVP_DigestUpdate(e->swd, p, take) != 1) {
                e->st = CP_FAIL;
                e->swu_rc = VOUCH_E_INTERNAL;
                snprintf(e->swu_msg, sizeof(e->swu_msg), "SHA-256 failed");
                return;
            }
            if (e->crc)
                for (size_t i = 0; i < take; i++)
                    e->sum += p[i];
            e->fgot += take;
            if (e->fgot == e->fsize) {
                unsigned int dl = 0;
                if (e->crc && e->sum != (uint32_t)cpio_field(e->hdr + 6 + 8 * 12)) {
                    engine_swu_fail(e, "sw-description does not match its cpio checksum");
                    return;
                }
                EVP_DigestFinal_ex(e->swd, e->swd_digest, &dl);
                e->got = 0;
                e->st = e->dpad ? CP_DATAPAD : CP_DONE;
            }
            break;
        default:
            return;
        }
        p += take;
        n -= take;
        e->pos += take;
    }
}

static void engine_free(img_engine *e)
{
    if (!e)
        return;
    EVP_MD_CTX_free(e->whole);
    EVP_MD_CTX_free(e->swd);
    vouch_free(e);
}

/* size: the enclosing (signed) size; swu: parse the first cpio entry. */
static vouch_code engine_new(uint64_t size, int swu, img_engine **out, vouch_err *err)
{
    img_engine *e = NULL;
    vouch_code rc;

    *out = NULL;
    if (size == 0 || size > RELEASE_MAX_INT) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "image size must be in 1..2^53-1");
        goto out;
    }
    e = vouch_calloc(1, sizeof(*e));
    if (!e) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory for the image verifier");
        goto out;
    }
    e->whole = EVP_MD_CTX_new();
    e->swd = swu ? EVP_MD_CTX_new() : NULL;
    if (!e->whole || (swu && !e->swd)) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory for the image verifier");
        goto out;
    }
    if (EVP_DigestInit_ex(e->whole, EVP_sha256(), NULL) != 1 ||
        (swu && EVP_DigestInit_ex(e->swd, EVP_sha256(), NULL) != 1)) {
        rc = vouch_err_set(err, VOUCH_E_INTERNAL, "SHA-256 is not available");
        goto out;
    }
    e->size = size;
    e->st = swu ? CP_HDR : CP_OFF;
    *out = e;
    e = NULL;
    rc = VOUCH_OK;
out:
    engine_free(e);
    return rc;
}

/* The hot path: no allocation, one hash update per buffer. */
static vouch_code engine_update(img_engine *e, const uint8_t *buf, size_t n, vouch_err *err)
{
    /* seen <= size holds until over is set, so size - seen cannot wrap */
    if (e->over || n > e->size - e->seen) {
        e->over = 1;
        return vouch_err_set(err, VOUCH_E_RELEASE_SIZE,
                             "image is longer than its signed size of %" PRIu64 " bytes",
                             e->size);
    }
    if (n && EVP_DigestUpdate(e->whole, buf, n) != 1)
        return vouch_err_set(err, VOUCH_E_INTERNAL, "SHA-256 failed");
    if (e->st != CP_OFF && e->st != CP_DONE && e->st != CP_FAIL)
        engine_cpio(e, buf, n);
    e->seen += n;
    return VOUCH_OK;
}

/* Size, then the digest; then, for swu, the archive's first entry. */
static vouch_code engine_final(img_engine *e, uint8_t digest[32], vouch_err *err)
{
    unsigned int dl = 0;

    if (e->over)
        return vouch_err_set(err, VOUCH_E_RELEASE_SIZE,
                             "image is longer than its signed size of %" PRIu64 " bytes",
                             e->size);
    if (e->seen != e->size)
        return vouch_err_set(err, VOUCH_E_RELEASE_SIZE,
                             "image is %" PRIu64 " bytes; its signed size is %" PRIu64, e->seen,
                             e->size);
    if (EVP_DigestFinal_ex(e->whole, digest, &dl) != 1 || dl != 32)
        return vouch_err_set(err, VOUCH_E_INTERNAL, "SHA-256 failed");
    return VOUCH_OK;
}

/* After the digest matched: the .swu structure and sw-description. */
static vouch_code engine_swu_result(const img_engine *e, vouch_err *err)
{
    if (e->st == CP_OFF)
        return VOUCH_OK;
    if (e->st == CP_FAIL)
        return vouch_err_set(err, e->swu_rc, "%s", e->swu_msg);
    if (e->st != CP_DONE)
        return vouch_err_set(err, VOUCH_E_RELEASE_SWU, "archive ends inside its first entry");
    if (e->check_swd && !vouch_ct_equal(e->swd_digest, e->want_swd, 32))
        return vouch_err_set(err, VOUCH_E_RELEASE_SWDESC,
                             "sw-description differs from swDescriptionSha256");
    return VOUCH_OK;
}

vouch_code vouch_image_verify_init(vouch_image_verifier *v, const vouch_release *rel,
                                   vouch_err *err)
{
    img_engine *e = NULL;
    vouch_code rc;

    if (!v || !rel) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "vouch_image_verify_init: bad argument");
        goto out;
    }
    memset(v, 0, sizeof(*v));
    rc = engine_new(rel->size, rel->format == VOUCH_FORMAT_SWU, &e, err);
    if (rc != VOUCH_OK)
        goto out;
    if (rel->format == VOUCH_FORMAT_SWU) {
        /* a swu release always binds sw-description (the parser checks it) */
        memcpy(e->want_swd, rel->swdesc_sha256, 32);
        e->check_swd = 1;
    }
    v->md = e;
    v->size = rel->size;
    memcpy(v->sha256, rel->sha256, 32);
out:
    return rc;
}

vouch_code vouch_image_verify_update(vouch_image_verifier *v, const uint8_t *buf, size_t n,
                                     vouch_err *err)
{
    vouch_code rc;

    if (!v || !v->md || (!buf && n))
        return vouch_err_set(err, VOUCH_E_ARG, "vouch_image_verify_update: bad argument");
    rc = engine_update(v->md, buf, n, err);
    v->seen = ((img_engine *)v->md)->seen + (((img_engine *)v->md)->over ? 1u : 0u);
    return rc;
}

vouch_code vouch_image_verify_final(vouch_image_verifier *v, vouch_err *err)
{
    uint8_t got[32];
    img_engine *e;
    vouch_code rc;

    if (!v || !v->md)
        return vouch_err_set(err, VOUCH_E_ARG, "vouch_image_verify_final: bad argument");
    e = v->md;
    rc = engine_final(e, got, err);
    if (rc != VOUCH_OK)
        return rc;
    if (!vouch_ct_equal(got, v->sha256, 32))
        return vouch_err_set(err, VOUCH_E_RELEASE_DIGEST,
                             "image SHA-256 differs from the signed digest");
    return engine_swu_result(e, err);
}

void vouch_image_verify_cleanup(vouch_image_verifier *v)
{
    if (!v)
        return;
    engine_free(v->md);
    v->md = NULL;
}

/* read() that retries on EINTR. */
static ssize_t release_read(int fd, uint8_t *buf, size_t n)
{
    ssize_t r;

    do
        r = read(fd, buf, n);
    while (r < 0 && errno == EINTR);
    return r;
}

static vouch_code release_write_all(int fd, const uint8_t *p, size_t n, vouch_err *err)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return vouch_err_set(err, VOUCH_E_IO, "cannot write the image: %s", strerror(errno));
        }
        p += w;
        n -= (size_t)w;
    }
    return VOUCH_OK;
}

/* The one read loop: in_fd to its end (or to size+1 bytes), optionally
 * copying to out_fd (-1: none). */
static vouch_code release_stream(const vouch_release *rel, int in_fd, int out_fd, uint8_t *buf,
                                 size_t bufcap, vouch_err *err)
{
    vouch_image_verifier v;
    vouch_code rc;

    memset(&v, 0, sizeof(v));
    if (!rel || in_fd < 0 || !buf || bufcap < 4096) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "image verify: bad argument (buffer >= 4 KiB)");
        goto out;
    }
    rc = vouch_image_verify_init(&v, rel, err);
    if (rc != VOUCH_OK)
        goto out;
    /* a hint: pipes and sockets refuse it, which is fine */
    (void)posix_fadvise(in_fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    for (;;) {
        /* never ask for more than one byte past the signed size: an
         * endless image costs size+1 bytes, and v.seen <= v.size here */
        uint64_t left = v.size - v.seen + 1u;
        size_t want = left < bufcap ? (size_t)left : bufcap;
        ssize_t n = release_read(in_fd, buf, want);

        if (n < 0) {
            rc = vouch_err_set(err, VOUCH_E_IO, "cannot read the image: %s", strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        rc = vouch_image_verify_update(&v, buf, (size_t)n, err);
        if (rc != VOUCH_OK)
            goto out;
        if (out_fd >= 0 && (rc = release_write_all(out_fd, buf, (size_t)n, err)) != VOUCH_OK)
            goto out;
    }
    rc = vouch_image_verify_final(&v, err);
out:
    vouch_image_verify_cleanup(&v);
    return rc;
}

vouch_code vouch_image_verify_fd(const vouch_release *rel, int fd, uint8_t *buf, size_t bufcap,
                                 vouch_err *err)
{
    return release_stream(rel, fd, -1, buf, bufcap, err);
}

vouch_code vouch_image_copy_fd(const vouch_release *rel, int in_fd, int out_fd, uint8_t *buf,
                               size_t bufcap, vouch_err *err)
{
    if (out_fd < 0)
        return vouch_err_set(err, VOUCH_E_ARG, "vouch_image_copy_fd: no output");
    return release_stream(rel, in_fd, out_fd, buf, bufcap, err);
}

vouch_code vouch_release_verify_image_file(const vouch_policy *p, const char *jws, size_t len,
                                           const vouch_release_check *chk, const char *image,
                                           vouch_release *out, vouch_err *err)
{
    vouch_release rel;
    uint8_t *buf = NULL;
    int fd = -1;
    vouch_code rc;

    if (out)
        memset(out, 0, sizeof(*out));
    /* the credential first: no byte of an unvouched image is read */
    rc = vouch_release_verify(p, jws, len, chk, &rel, err);
    if (rc != VOUCH_OK)
        goto out;
    if (!image) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "no image to verify");
        goto out;
    }
    buf = vouch_malloc(VOUCH_IMAGE_BUF);
    if (!buf) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory for the image buffer");
        goto out;
    }
    fd = open(image, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = vouch_err_set(err, errno == ENOENT ? VOUCH_E_NOTFOUND : VOUCH_E_IO,
                           "cannot open %s: %s", image, strerror(errno));
        goto out;
    }
    rc = vouch_image_verify_fd(&rel, fd, buf, VOUCH_IMAGE_BUF, err);
    if (rc == VOUCH_OK && out)
        *out = rel;
out:
    if (fd >= 0)
        close(fd);
    vouch_free(buf);
    return rc;
}

vouch_code vouch_release_describe_image(const char *path, vouch_image_format format,
                                        vouch_release *rel, vouch_err *err)
{
    img_engine *e = NULL;
    uint8_t *buf = NULL;
    struct stat sb;
    int fd = -1;
    vouch_code rc;

    if (!path || !rel || !vouch_image_format_name(format)) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "vouch_release_describe_image: bad argument");
        goto out;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = vouch_err_set(err, errno == ENOENT ? VOUCH_E_NOTFOUND : VOUCH_E_IO,
                           "cannot open %s: %s", path, strerror(errno));
        goto out;
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        rc = vouch_err_set(err, VOUCH_E_IO, "%s is not a regular file", path);
        goto out;
    }
    if (sb.st_size <= 0 || (uint64_t)sb.st_size > RELEASE_MAX_INT) {
        rc = vouch_err_set(err, VOUCH_E_RELEASE_SIZE, "%s: size %lld is not in 1..2^53-1", path,
                           (long long)sb.st_size);
        goto out;
    }
    buf = vouch_malloc(VOUCH_IMAGE_BUF);
    if (!buf) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory for the image buffer");
        goto out;
    }
    /* the file's size encloses the archive exactly as the signed size will */
    rc = engine_new((uint64_t)sb.st_size, format == VOUCH_FORMAT_SWU, &e, err);
    if (rc != VOUCH_OK)
        goto out;
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    for (;;) {
        uint64_t left = e->size - e->seen + 1u;
        size_t want = left < VOUCH_IMAGE_BUF ? (size_t)left : VOUCH_IMAGE_BUF;
        ssize_t n = release_read(fd, buf, want);
        if (n < 0) {
            rc = vouch_err_set(err, VOUCH_E_IO, "cannot read %s: %s", path, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        if (engine_update(e, buf, (size_t)n, NULL) != VOUCH_OK)
            break;
    }
    if (engine_final(e, rel->sha256, NULL) != VOUCH_OK) {
        rc = vouch_err_set(err, VOUCH_E_IO, "%s changed size while it was read", path);
        goto out;
    }
    rc = engine_swu_result(e, err);
    if (rc != VOUCH_OK) {
        vouch_err_prefix(err, "%s", path);
        goto out;
    }
    rel->size = (uint64_t)sb.st_size;
    rel->format = format;
    rel->has_swdesc = format == VOUCH_FORMAT_SWU;
    if (rel->has_swdesc)
        memcpy(rel->swdesc_sha256, e->swd_digest, 32);
    else
        memset(rel->swdesc_sha256, 0, 32);
out:
    engine_free(e);
    vouch_free(buf);
    if (fd >= 0)
        close(fd);
    return rc;
}

vouch_code vouch_swu_first_entry(const uint8_t *data, size_t len, uint64_t *off, uint64_t *size,
                                 vouch_err *err)
{
    img_engine *e = NULL;
    vouch_code rc;

    if (!data || !off || !size) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "vouch_swu_first_entry: bad argument");
        goto out;
    }
    rc = engine_new(len, 1, &e, err);
    if (rc == VOUCH_E_ARG)
        rc = vouch_err_set(err, VOUCH_E_RELEASE_SWU, "archive of %zu bytes", len);
    if (rc != VOUCH_OK)
        goto out;
    engine_cpio(e, data, len);
    rc = engine_swu_result(e, err);
    if (rc != VOUCH_OK)
        goto out;
    *off = CPIO_HDR_LEN + e->namesize + e->npad;
    *size = e->fsize;
out:
    engine_free(e);
    return rc;
}

vouch_code vouch_release_check_swdesc(const vouch_release *rel, const char *path,
                                      vouch_err *err)
{
    EVP_MD_CTX *md = NULL;
    uint8_t buf[16384], got[32];
    unsigned int dl = 0;
    uint64_t total = 0;
    int fd = -1;
    vouch_code rc;

    if (!rel || !path) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "vouch_release_check_swdesc: bad argument");
        goto out;
    }
    if (!rel->has_swdesc) {
        rc = vouch_err_set(err, VOUCH_E_RELEASE_SWDESC,
                           "the release binds no sw-description (format %s)",
                           vouch_image_format_name(rel->format) ? vouch_image_format_name(rel->format)
                                                                : "?");
        goto out;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = vouch_err_set(err, errno == ENOENT ? VOUCH_E_NOTFOUND : VOUCH_E_IO,
                           "cannot open %s: %s", path, strerror(errno));
        goto out;
    }
    md = EVP_MD_CTX_new();
    if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "cannot start SHA-256");
        goto out;
    }
    for (;;) {
        ssize_t n = release_read(fd, buf, sizeof(buf));
        if (n < 0) {
            rc = vouch_err_set(err, VOUCH_E_IO, "cannot read %s: %s", path, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        total += (uint64_t)n;
        /* the same cap as inside an archive: a bigger file is not ours */
        if (total > VOUCH_SWDESC_MAX) {
            rc = vouch_err_set(err, VOUCH_E_RELEASE_SWDESC, "%s is larger than %u bytes", path,
                               VOUCH_SWDESC_MAX);
            goto out;
        }
        if (EVP_DigestUpdate(md, buf, (size_t)n) != 1) {
            rc = vouch_err_set(err, VOUCH_E_INTERNAL, "SHA-256 failed");
            goto out;
        }
    }
    if (EVP_DigestFinal_ex(md, got, &dl) != 1) {
        rc = vouch_err_set(err, VOUCH_E_INTERNAL, "SHA-256 failed");
        goto out;
    }
    if (!vouch_ct_equal(got, rel->swdesc_sha256, 32)) {
        rc = vouch_err_set(err, VOUCH_E_RELEASE_SWDESC,
                           "%s differs from the release's swDescriptionSha256", path);
        goto out;
    }
    rc = VOUCH_OK;
out:
    EVP_MD_CTX_free(md);
    if (fd >= 0)
        close(fd);
    return rc;
}

/* ------------------------------------------------------------ trust policy */

vouch_code vouch_release_trust_policy(const vouch_state_port *port, const char *jws,
                                      size_t len, int64_t now, vouch_policy **out,
                                      int *is_new, vouch_err *err)
{
    char *pinned = NULL;
    size_t plen = 0;
    vouch_policy *cur = NULL;
    vouch_err sub;
    vouch_code rc;

    *out = NULL;
    *is_new = 0;
    vouch_err_clear(&sub);
    if (port && port->read_policy) {
        rc = port->read_policy(port->ctx, &pinned, &plen, err);
        if (rc != VOUCH_OK && rc != VOUCH_E_POLICY_MISSING)
            goto out;
    }
    if (!pinned) {
        if (!jws) {
            rc = vouch_err_set(err, VOUCH_E_POLICY_MISSING,
                               "no trust policy given or pinned: refusing every release");
            goto out;
        }
        rc = vouch_policy_verify_root(jws, len, now, out, err);
        *is_new = rc == VOUCH_OK;
        goto out;
    }
    if (!jws || (len == plen && memcmp(jws, pinned, len) == 0)) {
        rc = vouch_policy_verify_root(pinned, plen, now, out, err);
        if (rc != VOUCH_OK)
            vouch_err_prefix(err, "pinned policy");
        goto out;
    }
    /* the anchor of a rotation: signatures checked, expiry not, so that an
     * expired pinned policy can still hand over to its successor */
    rc = vouch_policy_verify_pinned(pinned, plen, &cur, &sub);
    if (rc != VOUCH_OK) {
        rc = rc == VOUCH_E_NOMEM ? vouch_err_set(err, rc, "%s", sub.msg)
                                 : vouch_err_set(err, VOUCH_E_STATE,
                                                 "pinned policy does not verify: %s", sub.msg);
        goto out;
    }
    rc = vouch_policy_verify_next(cur, jws, len, now, out, err);
    *is_new = rc == VOUCH_OK;
out:
    if (cur)
        vouch_policy_free(cur);
    vouch_free(pinned);
    return rc;
}
