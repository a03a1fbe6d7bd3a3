/* jws.c - JSON Web Signatures (RFC 7515) with ES256 and EdDSA (vouch/jws.h).
 *
 * Parsing follows one order so that a hostile token costs as little as
 * possible and every decision reads only bytes that are signed:
 *   1. the total size cap;
 *   2. the structure (segment count, or the outer JSON and its members);
 *   3. the header size cap and the signature count cap, for every signature,
 *      before anything is decoded or any signature is computed;
 *   4. strict base64url of every segment;
 *   5. the hardened JSON parse of each protected header (no duplicates);
 *   6. the header rules (alg allow-list, no embedded keys, no crit/b64, kid
 *      syntax, an unprotected header holding only kid, disjoint headers).
 * Verifying then checks typ, then alg against the key, then the signature
 * (vouch_key_verify checks the length, the ES256 range and the math).
 *
 * A parsed vouch_jws is one allocation: the struct followed by an arena that
 * holds the segments as sent (NUL-terminated) and the decoded payload and
 * signatures. Only the protected headers (jansson values) live elsewhere.
 */
#include "vouch/jws.h"

#include <string.h>
#include <strings.h>

#include "vouch/codec.h"
#include "vouch/json.h"
#include "vouch/mem.h"

/* Encoded length of a protected header of exactly VOUCH_JWS_MAX_HEADER bytes:
 * anything longer decodes to more than the cap. */
#define HDR_B64_MAX (((VOUCH_JWS_MAX_HEADER + 2u) / 3u) * 4u - (3u - VOUCH_JWS_MAX_HEADER % 3u) % 3u)

/* HDR_B64_MAX characters decode to exactly the cap; one more exceeds it */
_Static_assert(HDR_B64_MAX / 4u * 3u + (HDR_B64_MAX % 4u ? HDR_B64_MAX % 4u - 1u : 0u) ==
                   VOUCH_JWS_MAX_HEADER,
               "HDR_B64_MAX must be the encoded length of VOUCH_JWS_MAX_HEADER bytes");

/* Room for the decoded bytes of n characters and a NUL; the codec's own
 * bound, so that its capacity check always passes for valid input. */
#define B64_DEC_ROOM(n) (vouch_b64url_decoded_max(n) + 1u)

/* Signing inputs up to this size are assembled on the stack. */
#define SINPUT_STACK 2048u

static const char *const embedded_key_members[] = {"jwk", "jku", "x5c", "x5u", "x5t", "x5t#S256"};

/* Encoded length of n bytes, unpadded. */
static size_t b64_encoded_len(size_t n) { return n / 3u * 4u + (n % 3u ? n % 3u + 1u : 0u); }

/* ---------------------------------------------------------------- headers */

#define SHOWN_MAX 32u

/* A token's string as it may appear in an error message: at most SHOWN_MAX
 * bytes, anything but printable ASCII (and '"', '\\') shown as '?', so a
 * hostile header cannot write control bytes into a log or a terminal. */
static const char *jws_shown(const char *s, char out[SHOWN_MAX + 4])
{
    size_t i;

    for (i = 0; s[i] && i < SHOWN_MAX; i++) {
        unsigned char c = (unsigned char)s[i];
        out[i] = c >= 0x20 && c < 0x7f && c != '"' && c != '\\' ? (char)c : '?';
    }
    if (s[i]) {
        memcpy(out + i, "...", 3);
        i += 3;
    }
    out[i] = '\0';
    return out;
}

/* kid: 1..VOUCH_JWS_MAX_KID printable ASCII bytes without '"' or '\\', so it
 * carries no quote, escape or control byte into a log line, an error
 * message or a JSON document we write (see jws_emit_sig). */
static vouch_code jws_check_kid(const json_t *v, const char *where, vouch_err *err)
{
    const char *s;
    size_t n, i;

    if (!json_is_string(v))
        return vouch_err_set(err, VOUCH_E_JWS_KID, "%s: kid is not a string", where);
    s = json_string_value(v);
    n = json_string_length(v);
    if (n == 0 || n > VOUCH_JWS_MAX_KID)
        return vouch_err_set(err, VOUCH_E_JWS_KID, "%s: kid length %zu is not in 1..%u", where,
                             n, VOUCH_JWS_MAX_KID);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c > 0x7e || c == '"' || c == '\\')
            return vouch_err_set(err, VOUCH_E_JWS_KID,
                                 "%s: kid has a forbidden byte 0x%02x at offset %zu", where, c,
                                 i);
    }
    return VOUCH_OK;
}

/* Members that may appear in no header at all. */
static vouch_code jws_check_forbidden(const json_t *hdr, const char *where, vouch_err *err)
{
    size_t i;

    for (i = 0; i < sizeof(embedded_key_members) / sizeof(embedded_key_members[0]); i++)
        if (json_object_get(hdr, embedded_key_members[i]))
            return vouch_err_set(err, VOUCH_E_JWS_EMBEDDED_KEY,
                                 "%s: \"%s\" is refused; a token never brings its own key",
                                 where, embedded_key_members[i]);
    /* we implement no extension, so any crit is one we do not understand */
    if (json_object_get(hdr, "crit"))
        return vouch_err_set(err, VOUCH_E_JWS_CRIT, "%s: \"crit\" is not supported", where);
    /* b64:false changes what is signed (RFC 7797); true is the default, so
     * any b64 is refused rather than interpreted */
    if (json_object_get(hdr, "b64"))
        return vouch_err_set(err, VOUCH_E_JWS_CRIT, "%s: \"b64\" is not supported", where);
    return VOUCH_OK;
}

/* The rules for a protected header; fills alg/kid/typ of s (borrowed). */
static vouch_code jws_check_protected(const json_t *hdr, vouch_jws_sig *s, const char *where,
                                      vouch_err *err)
{
    const json_t *alg, *typ, *kid;
    const char *a;
    char shown[SHOWN_MAX + 4];
    vouch_code rc;

    alg = json_object_get(hdr, "alg");
    if (!alg)
        return vouch_err_set(err, VOUCH_E_JWS_ALG, "%s: alg is missing", where);
    if (!json_is_string(alg))
        return vouch_err_set(err, VOUCH_E_JWS_ALG, "%s: alg is not a string", where);
    a = json_string_value(alg);
    /* an allow-list, compared exactly: "none", "None", "", HS*, RS*, ES384
     * and every other spelling fall out here */
    if (json_string_length(alg) != strlen(a) || (strcmp(a, "ES256") != 0 && strcmp(a, "EdDSA") != 0))
        return vouch_err_set(err, VOUCH_E_JWS_ALG, "%s: alg \"%s\" is not allowed", where,
                             jws_shown(a, shown));
    rc = jws_check_forbidden(hdr, where, err);
    if (rc != VOUCH_OK)
        return rc;
    kid = json_object_get(hdr, "kid");
    if (kid) {
        rc = jws_check_kid(kid, where, err);
        if (rc != VOUCH_OK)
            return rc;
    }
    typ = json_object_get(hdr, "typ");
    if (typ && !json_is_string(typ))
        return vouch_err_set(err, VOUCH_E_JWS_HEADER, "%s: typ is not a string", where);
    s->alg = a;
    s->kid = kid ? json_string_value(kid) : NULL;
    s->typ = typ ? json_string_value(typ) : NULL;
    return VOUCH_OK;
}

/* The rules for an unprotected header (JSON serialization): no forbidden
 * member, only "kid", and nothing the protected header also has. */
static vouch_code jws_check_unprotected(const json_t *uh, const json_t *prot, const char *where,
                                        vouch_err *err)
{
    const char *name;
    json_t *v;
    char shown[SHOWN_MAX + 4];
    vouch_code rc;

    if (!json_is_object(uh))
        return vouch_err_set(err, VOUCH_E_JWS_HEADER, "%s: unprotected header is not an object",
                             where);
    rc = jws_check_forbidden(uh, where, err);
    if (rc != VOUCH_OK)
        return rc;
    json_object_foreach((json_t *)uh, name, v) {
        /* alg and typ are security decisions; they must be signed */
        if (strcmp(name, "kid") != 0)
            return vouch_err_set(err, VOUCH_E_JWS_HEADER,
                                 "%s: unprotected header member \"%s\" is refused (only kid)",
                                 where, jws_shown(name, shown));
        if (json_object_get(prot, name))
            return vouch_err_set(err, VOUCH_E_JWS_HEADER_DUP,
                                 "%s: \"%s\" is in both the protected and unprotected header",
                                 where, name);
        rc = jws_check_kid(v, where, err);
        if (rc != VOUCH_OK)
            return rc;
    }
    return VOUCH_OK;
}

/* Parses one decoded protected header and applies the header rules. */
static vouch_code jws_parse_protected(const uint8_t *raw, size_t n, vouch_jws_sig *s,
                                      const char *where, vouch_err *err)
{
    vouch_json_limits lim = {VOUCH_JWS_MAX_HEADER, 0};
    vouch_code rc;

    if (n == 0) {
        rc = vouch_err_set(err, VOUCH_E_JWS_HEADER, "%s: protected header is missing", where);
        goto out;
    }
    rc = vouch_json_parse_object((const char *)raw, n, &lim, &s->header, err);
    if (rc == VOUCH_E_JSON_TYPE) {
        rc = vouch_err_set(err, VOUCH_E_JWS_HEADER, "%s: protected header is not a JSON object",
                           where);
        goto out;
    }
    if (rc != VOUCH_OK) {
        vouch_err_prefix(err, "%s: protected header", where);
        goto out;
    }
    rc = jws_check_protected(s->header, s, where, err);
out:
    return rc;
}

/* ------------------------------------------------------------------ arena */

typedef struct jws_arena {
    char *p;
    char *end;
} jws_arena;

/* Copies n bytes and a NUL into the arena (sized in advance by the caller). */
static char *arena_copy(jws_arena *a, const char *s, size_t n)
{
    char *d = a->p;

    memcpy(d, s, n);
    d[n] = '\0';
    a->p += n + 1;
    return d;
}

/* Decodes strict base64url into the arena, NUL-terminated. */
static vouch_code arena_decode(jws_arena *a, const char *s, size_t n, uint8_t **out,
                               size_t *outlen, vouch_err *err)
{
    size_t cap = (size_t)(a->end - a->p);
    vouch_code rc;

    *out = (uint8_t *)a->p;
    *outlen = 0;
    if (n == 0) {
        /* the codec may refuse an empty input; the empty string is valid */
        a->p[0] = '\0';
        a->p += 1;
        return VOUCH_OK;
    }
    rc = vouch_b64url_decode_buf(s, n, (uint8_t *)a->p, cap ? cap - 1 : 0, outlen, err);
    if (rc != VOUCH_OK)
        return rc;
    a->p[*outlen] = '\0';
    a->p += *outlen + 1;
    return VOUCH_OK;
}

/* One allocation: the struct, then room for the arena. */
static vouch_jws *jws_alloc(size_t arena, jws_arena *a)
{
    vouch_jws *j;

    if (arena > SIZE_MAX - sizeof(*j))
        return NULL;
    j = vouch_malloc(sizeof(*j) + arena);
    if (!j)
        return NULL;
    memset(j, 0, sizeof(*j));
    a->p = (char *)(j + 1);
    a->end = a->p + arena;
    return j;
}

void vouch_jws_free(vouch_jws *jws)
{
    size_t i;

    if (!jws)
        return;
    for (i = 0; i < jws->nsigs && i < VOUCH_JWS_MAX_SIGS; i++)
        json_decref(jws->sigs[i].header);
    vouch_free(jws);
}

/* ---------------------------------------------------------------- compact */

static vouch_code jws_parse_compact(const char *in, size_t len, vouch_jws **out, vouch_err *err)
{
    const char *d1, *d2, *h, *p, *s;
    uint8_t *raw;
    size_t hn, pn, sn, rawn, arena;
    vouch_jws *j = NULL;
    jws_arena a;
    vouch_code rc;

    d1 = memchr(in, '.', len);
    d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - in)) : NULL;
    if (!d1 || !d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - in))) {
        rc = vouch_err_set(err, VOUCH_E_JWS_FORMAT,
                           "compact JWS must have exactly three dot-separated segments");
        goto out;
    }
    h = in;
    hn = (size_t)(d1 - in);
    p = d1 + 1;
    pn = (size_t)(d2 - p);
    s = d2 + 1;
    sn = len - (size_t)(s - in);
    if (hn > HDR_B64_MAX) {
        rc = vouch_err_set(err, VOUCH_E_JWS_TOO_LARGE,
                           "protected header is larger than %u bytes", VOUCH_JWS_MAX_HEADER);
        goto out;
    }
    /* segments as sent, then the decoded header, payload and signature;
     * len is capped, so none of these sums can wrap */
    arena = hn + 1 + pn + 1 + B64_DEC_ROOM(hn) + B64_DEC_ROOM(pn) + B64_DEC_ROOM(sn);
    j = jws_alloc(arena, &a);
    if (!j) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory parsing a JWS");
        goto out;
    }
    j->compact = 1;
    j->sigs[0].protected_b64 = arena_copy(&a, h, hn);
    j->payload_b64 = arena_copy(&a, p, pn);
    /* strict base64url for every segment before the header is parsed */
    rc = arena_decode(&a, h, hn, &raw, &rawn, err);
    if (rc != VOUCH_OK) {
        vouch_err_prefix(err, "protected header");
        goto out;
    }
    rc = arena_decode(&a, p, pn, &j->payload, &j->payload_len, err);
    if (rc != VOUCH_OK) {
        vouch_err_prefix(err, "payload");
        goto out;
    }
    rc = arena_decode(&a, s, sn, &j->sigs[0].sig, &j->sigs[0].sig_len, err);
    if (rc != VOUCH_OK) {
        vouch_err_prefix(err, "signature");
        goto out;
    }
    j->nsigs = 1;
    rc = jws_parse_protected(raw, rawn, &j->sigs[0], "compact JWS", err);
    if (rc != VOUCH_OK)
        goto out;
    *out = j;
    j = NULL;
out:
    vouch_jws_free(j);
    return rc;
}

/* ------------------------------------------------------------------- JSON */

/* Checks that obj has no member outside the NULL-terminated list. */
static vouch_code jws_only_members(const json_t *obj, const char *const *allowed,
                                   const char *where, vouch_err *err)
{
    const char *name;
    json_t *v;
    char shown[SHOWN_MAX + 4];
    size_t i;

    json_object_foreach((json_t *)obj, name, v) {
        for (i = 0; allowed[i]; i++)
            if (strcmp(name, allowed[i]) == 0)
                break;
        if (!allowed[i])
            return vouch_err_set(err, VOUCH_E_JWS_FORMAT, "%s: unknown member \"%s\"", where,
                                 jws_shown(name, shown));
    }
    return VOUCH_OK;
}

/* A member that must be a string; returns it and its length. */
static vouch_code jws_get_b64_member(const json_t *obj, const char *name, int required,
                                     const char **out, size_t *n, const char *where,
                                     vouch_err *err)
{
    const json_t *v = json_object_get(obj, name);

    *out = NULL;
    *n = 0;
    if (!v) {
        if (!required)
            return VOUCH_OK;
        return vouch_err_set(err, strcmp(name, "protected") == 0 ? VOUCH_E_JWS_HEADER
                                                                 : VOUCH_E_JWS_FORMAT,
                             "%s: \"%s\" is missing", where, name);
    }
    if (!json_is_string(v))
        return vouch_err_set(err, VOUCH_E_JWS_FORMAT, "%s: \"%s\" is not a string", where, name);
    *out = json_string_value(v);
    *n = json_string_length(v);
    return VOUCH_OK;
}

typedef struct jws_json_sig {
    const char *prot, *sig;
    size_t prot_n, sig_n;
    const json_t *uh; /* unprotected header or NULL */
} jws_json_sig;

static const char *const general_members[] = {"payload", "signatures", NULL};
static const char *const flattened_members[] = {"payload", "protected", "header", "signature",
                                                NULL};
static const char *const sig_members[] = {"protected", "header", "signature", NULL};

/* Reads one signature object's members (structure and caps only). */
static vouch_code jws_json_sig_read(const json_t *o, jws_json_sig *js, const char *where,
                                    vouch_err *err)
{
    vouch_code rc;

    rc = jws_get_b64_member(o, "protected", 1, &js->prot, &js->prot_n, where, err);
    if (rc == VOUCH_OK)
        rc = jws_get_b64_member(o, "signature", 1, &js->sig, &js->sig_n, where, err);
    if (rc != VOUCH_OK)
        return rc;
    js->uh = json_object_get(o, "header");
    if (js->prot_n > HDR_B64_MAX)
        return vouch_err_set(err, VOUCH_E_JWS_TOO_LARGE, "%s: protected header is larger than %u bytes",
                             where, VOUCH_JWS_MAX_HEADER);
    return VOUCH_OK;
}

static vouch_code jws_parse_json(const char *in, size_t len, vouch_jws **out, vouch_err *err)
{
    vouch_json_limits lim = {VOUCH_JWS_MAX_BYTES, 0};
    json_t *doc = NULL;
    const json_t *sigs;
    jws_json_sig js[VOUCH_JWS_MAX_SIGS];
    uint8_t *raw[VOUCH_JWS_MAX_SIGS];
    size_t rawn[VOUCH_JWS_MAX_SIGS];
    const char *pay;
    size_t pay_n, nsigs, i, arena;
    vouch_jws *j = NULL;
    jws_arena a;
    char where[48];
    vouch_code rc;

    rc = vouch_json_parse_object(in, len, &lim, &doc, err);
    if (rc != VOUCH_OK) {
        vouch_err_prefix(err, "JWS JSON serialization");
        goto out;
    }
    sigs = json_object_get(doc, "signatures");
    if (sigs) {
        rc = jws_only_members(doc, general_members, "general JWS", err);
        if (rc != VOUCH_OK)
            goto out;
        if (!json_is_array(sigs) || json_array_size(sigs) == 0) {
            rc = vouch_err_set(err, VOUCH_E_JWS_FORMAT,
                               "general JWS: \"signatures\" is not a non-empty array");
            goto out;
        }
        /* the count cap comes before any signature is even looked at */
        if (json_array_size(sigs) > VOUCH_JWS_MAX_SIGS) {
            rc = vouch_err_set(err, VOUCH_E_JWS_TOO_MANY_SIGS,
                               "general JWS has %zu signatures; at most %u are accepted",
                               json_array_size(sigs), VOUCH_JWS_MAX_SIGS);
            goto out;
        }
        nsigs = json_array_size(sigs);
        for (i = 0; i < nsigs; i++) {
            const json_t *o = json_array_get(sigs, i);
            snprintf(where, sizeof(where), "signature %zu", i);
            if (!json_is_object(o)) {
                rc = vouch_err_set(err, VOUCH_E_JWS_FORMAT, "%s is not an object", where);
                goto out;
            }
            rc = jws_only_members(o, sig_members, where, err);
            if (rc == VOUCH_OK)
                rc = jws_json_sig_read(o, &js[i], where, err);
            if (rc != VOUCH_OK)
                goto out;
        }
    } else {
        rc = jws_only_members(doc, flattened_members, "flattened JWS", err);
        if (rc == VOUCH_OK)
            rc = jws_json_sig_read(doc, &js[0], "flattened JWS", err);
        if (rc != VOUCH_OK)
            goto out;
        nsigs = 1;
    }
    rc = jws_get_b64_member(doc, "payload", 1, &pay, &pay_n, "JWS", err);
    if (rc != VOUCH_OK)
        goto out;

    /* every string is shorter than the capped input, so the sum cannot wrap */
    arena = pay_n + 1 + B64_DEC_ROOM(pay_n);
    for (i = 0; i < nsigs; i++) {
        const json_t *kid = js[i].uh ? json_object_get(js[i].uh, "kid") : NULL;
        arena += js[i].prot_n + 1 + B64_DEC_ROOM(js[i].prot_n) + B64_DEC_ROOM(js[i].sig_n);
        if (json_is_string(kid))
            arena += json_string_length(kid) + 1;
    }
    j = jws_alloc(arena, &a);
    if (!j) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory parsing a JWS");
        goto out;
    }
    j->payload_b64 = arena_copy(&a, pay, pay_n);
    rc = arena_decode(&a, pay, pay_n, &j->payload, &j->payload_len, err);
    if (rc != VOUCH_OK) {
        vouch_err_prefix(err, "payload");
        goto out;
    }
    /* strict base64url of every segment before any header is parsed */
    for (i = 0; i < nsigs; i++) {
        vouch_jws_sig *s = &j->sigs[i];
        snprintf(where, sizeof(where), "signature %zu", i);
        s->protected_b64 = arena_copy(&a, js[i].prot, js[i].prot_n);
        rc = arena_decode(&a, js[i].prot, js[i].prot_n, &raw[i], &rawn[i], err);
        if (rc != VOUCH_OK) {
            vouch_err_prefix(err, "%s: protected header", where);
            goto out;
        }
        rc = arena_decode(&a, js[i].sig, js[i].sig_n, &s->sig, &s->sig_len, err);
        if (rc != VOUCH_OK) {
            vouch_err_prefix(err, "%s", where);
            goto out;
        }
    }
    for (i = 0; i < nsigs; i++) {
        vouch_jws_sig *s = &j->sigs[i];
        if (sigs)
            snprintf(where, sizeof(where), "signature %zu", i);
        else
            snprintf(where, sizeof(where), "flattened JWS");
        j->nsigs = i + 1; /* so that vouch_jws_free releases this header */
        rc = jws_parse_protected(raw[i], rawn[i], s, where, err);
        if (rc != VOUCH_OK)
            goto out;
        if (js[i].uh) {
            const json_t *kid;
            rc = jws_check_unprotected(js[i].uh, s->header, where, err);
            if (rc != VOUCH_OK)
                goto out;
            kid = json_object_get(js[i].uh, "kid");
            if (kid)
                s->kid = arena_copy(&a, json_string_value(kid), json_string_length(kid));
        }
    }
    *out = j;
    j = NULL;
out:
    vouch_jws_free(j);
    json_decref(doc);
    return rc;
}

vouch_code vouch_jws_parse(const char *in, size_t len, vouch_jws **out, vouch_err *err)
{
    vouch_code rc;

    if (!out) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "vouch_jws_parse: out is NULL");
        goto out;
    }
    *out = NULL;
    if (!in && len) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "vouch_jws_parse: in is NULL");
        goto out;
    }
    if (len > VOUCH_JWS_MAX_BYTES) {
        rc = vouch_err_set(err, VOUCH_E_JWS_TOO_LARGE, "JWS of %zu bytes exceeds the cap of %u",
                           len, VOUCH_JWS_MAX_BYTES);
        goto out;
    }
    if (len == 0) {
        rc = vouch_err_set(err, VOUCH_E_JWS_FORMAT, "empty JWS");
        goto out;
    }
    vouch_json_init();
    rc = in[0] == '{' ? jws_parse_json(in, len, out, err) : jws_parse_compact(in, len, out, err);
out:
    return rc;
}

/* ----------------------------------------------------------------- verify */

/* "application/foo" and "foo" name the same type (RFC 7515 s4.1.9). */
static const char *typ_strip(const char *t)
{
    return strncasecmp(t, "application/", 12) == 0 ? t + 12 : t;
}

vouch_code vouch_jws_verify_sig(const vouch_jws *jws, size_t i, const vouch_key *k,
                                const char *expected_typ, vouch_err *err)
{
    const vouch_jws_sig *s;
    const char *kalg;
    char shown[SHOWN_MAX + 4], shown2[SHOWN_MAX + 4];
    char stackbuf[SINPUT_STACK];
    char *msg = stackbuf;
    size_t hn, pn, mn;
    vouch_code rc;

    if (!jws || !k || i >= jws->nsigs || i >= VOUCH_JWS_MAX_SIGS) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "vouch_jws_verify_sig: bad argument");
        goto out;
    }
    s = &jws->sigs[i];
    if (expected_typ) {
        if (!s->typ) {
            rc = vouch_err_set(err, VOUCH_E_JWS_TYP, "typ is missing; expected \"%s\"",
                               jws_shown(expected_typ, shown));
            goto out;
        }
        if (strcasecmp(typ_strip(s->typ), typ_strip(expected_typ)) != 0) {
            rc = vouch_err_set(err, VOUCH_E_JWS_TYP, "typ \"%s\" is not the expected \"%s\"",
                               jws_shown(s->typ, shown), jws_shown(expected_typ, shown2));
            goto out;
        }
    }
    /* the key decides the algorithm; the header is only checked against it */
    kalg = vouch_key_alg(k);
    if (!kalg || !s->alg || strcmp(kalg, s->alg) != 0) {
        rc = vouch_err_set(err, VOUCH_E_JWS_ALG_MISMATCH, "alg %s does not match the %s key",
                           s->alg ? s->alg : "(none)", kalg ? kalg : "unknown");
        goto out;
    }
    /* the signing input is ASCII(protected '.' payload) exactly as sent */
    hn = strlen(s->protected_b64);
    pn = strlen(jws->payload_b64);
    mn = hn + 1 + pn;
    if (mn > sizeof(stackbuf)) {
        msg = vouch_malloc(mn);
        if (!msg) {
            rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory verifying a JWS");
            goto out;
        }
    }
    memcpy(msg, s->protected_b64, hn);
    msg[hn] = '.';
    memcpy(msg + hn + 1, jws->payload_b64, pn);
    rc = vouch_key_verify(k, (const uint8_t *)msg, mn, s->sig, s->sig_len, err);
out:
    if (msg != stackbuf)
        vouch_free(msg);
    return rc;
}

/* Two signatures are the same if everything that decides a verdict is. */
static int jws_sig_same(const vouch_jws_sig *a, const vouch_jws_sig *b)
{
    if (a->sig_len != b->sig_len || memcmp(a->sig, b->sig, a->sig_len) != 0)
        return 0;
    if (strcmp(a->protected_b64, b->protected_b64) != 0)
        return 0;
    if (!a->kid || !b->kid)
        return a->kid == b->kid;
    return strcmp(a->kid, b->kid) == 0;
}

vouch_code vouch_jws_verify_all(const vouch_jws *jws, const vouch_jws_keyref *keys,
                                size_t nkeys, const char *expected_typ,
                                vouch_jws_result *results, vouch_err *err)
{
    size_t i, j, nvalid = 0;
    vouch_code rc;

    if (!jws || !results || (!keys && nkeys) || jws->nsigs > VOUCH_JWS_MAX_SIGS) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "vouch_jws_verify_all: bad argument");
        goto out;
    }
    for (i = 0; i < jws->nsigs; i++) {
        const vouch_jws_sig *s = &jws->sigs[i];
        vouch_jws_result *r = &results[i];
        int tried = 0;

        r->kid = s->kid;
        r->key_index = -1;
        r->code = VOUCH_E_JWS_UNKNOWN_KEY;
        /* a repeated signature gets the verdict of its first copy, so a
         * flood of one bad signature costs one verification */
        for (j = 0; j < i; j++)
            if (jws_sig_same(&jws->sigs[j], s))
                break;
        if (j < i) {
            r->key_index = results[j].key_index;
            r->code = results[j].code;
            nvalid += r->code == VOUCH_OK;
            continue;
        }
        for (j = 0; j < nkeys && j <= (size_t)INT32_MAX; j++) {
            const char *kalg;
            vouch_code c;

            if (!keys[j].key)
                continue;
            /* a kid is only ever compared with the ids we know; a key named
             * by the signature's kid is tried whatever its type (so a wrong
             * alg reports as a mismatch), a wildcard key (kid NULL) or any
             * key for a kid-less signature only when its type fits the alg */
            if (s->kid && keys[j].kid) {
                if (strcmp(keys[j].kid, s->kid) != 0)
                    continue;
            } else {
                kalg = vouch_key_alg(keys[j].key);
                if (!kalg || strcmp(kalg, s->alg) != 0)
                    continue;
            }
            c = vouch_jws_verify_sig(jws, i, keys[j].key, expected_typ, NULL);
            /* keep the first failure unless a later key verifies */
            if (!tried || c == VOUCH_OK)
                r->code = c;
            tried = 1;
            if (c == VOUCH_OK) {
                r->key_index = (int)j;
                break;
            }
        }
        nvalid += r->code == VOUCH_OK;
    }
    if (nvalid) {
        rc = VOUCH_OK;
        goto out;
    }
    rc = VOUCH_E_JWS_NO_VALID;
    if (jws->nsigs == 1)
        vouch_err_set(err, rc, "no valid signature: %s", vouch_code_name(results[0].code));
    else
        vouch_err_set(err, rc, "none of %zu signatures is valid (first: %s)", jws->nsigs,
                      vouch_code_name(results[0].code));
out:
    return rc;
}

vouch_code vouch_jws_verify_compact(const char *in, size_t len, const vouch_key *k,
                                    const char *expected_typ, uint8_t **payload,
                                    size_t *payload_len, vouch_err *err)
{
    vouch_jws *j = NULL;
    uint8_t *p;
    vouch_code rc;

    if (payload)
        *payload = NULL;
    if (payload_len)
        *payload_len = 0;
    if (!k) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "vouch_jws_verify_compact: no key");
        goto out;
    }
    if (len && in && in[0] == '{') {
        rc = vouch_err_set(err, VOUCH_E_JWS_FORMAT, "expected a compact JWS, got JSON");
        goto out;
    }
    rc = vouch_jws_parse(in, len, &j, err);
    if (rc != VOUCH_OK)
        goto out;
    rc = vouch_jws_verify_sig(j, 0, k, expected_typ, err);
    if (rc != VOUCH_OK || !payload)
        goto out;
    p = vouch_malloc(j->payload_len + 1);
    if (!p) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory copying the payload");
        goto out;
    }
    memcpy(p, j->payload, j->payload_len + 1);
    *payload = p;
    if (payload_len)
        *payload_len = j->payload_len;
out:
    vouch_jws_free(j);
    return rc;
}

/* ------------------------------------------------------------------- sign */

/*
 * Builds the protected header of a signature by k, checks it by the same
 * rules a verifier applies (we never sign what we would refuse), and writes
 * its base64url into hdr (cap bytes). Returns the encoded length in *n.
 */
static vouch_code jws_header_encode(const vouch_key *k, const vouch_jws_sign_opts *opts,
                                    char *hdr, size_t cap, size_t *n, vouch_err *err)
{
    json_t *h = NULL;
    char raw[VOUCH_JWS_MAX_HEADER];
    const char *alg, *name;
    char shown[SHOWN_MAX + 4];
    json_t *v;
    vouch_jws_sig s;
    size_t rawn;
    vouch_code rc;

    alg = vouch_key_alg(k);
    if (!alg) {
        rc = vouch_err_set(err, VOUCH_E_KEY_TYPE, "key has no JWS algorithm");
        goto out;
    }
    vouch_json_init();
    h = json_object();
    if (!h || json_object_set_new(h, "alg", json_string(alg)) != 0)
        goto nomem;
    if (opts && opts->typ && json_object_set_new(h, "typ", json_string(opts->typ)) != 0)
        goto nomem;
    if (opts && opts->kid && json_object_set_new(h, "kid", json_string(opts->kid)) != 0)
        goto nomem;
    if (opts && opts->extra) {
        if (!json_is_object(opts->extra)) {
            rc = vouch_err_set(err, VOUCH_E_ARG, "extra header is not an object");
            goto out;
        }
        json_object_foreach((json_t *)opts->extra, name, v) {
            if (json_object_get(h, name)) {
                rc = vouch_err_set(err, VOUCH_E_ARG, "extra header sets \"%s\" twice",
                                   jws_shown(name, shown));
                goto out;
            }
            if (json_object_set(h, name, v) != 0)
                goto nomem;
        }
    }
    memset(&s, 0, sizeof(s));
    rc = jws_check_protected(h, &s, "protected header", err);
    if (rc != VOUCH_OK)
        goto out;
    rawn = json_dumpb(h, raw, sizeof(raw), JSON_COMPACT);
    if (rawn == 0) {
        /* an empty dump of a non-empty object only means a failed allocation
         * or an unserializable value (NaN cannot be built through jansson) */
        goto nomem;
    }
    if (rawn > sizeof(raw)) {
        rc = vouch_err_set(err, VOUCH_E_JWS_TOO_LARGE, "protected header is larger than %u bytes",
                           VOUCH_JWS_MAX_HEADER);
        goto out;
    }
    rc = vouch_b64url_encode_buf((const uint8_t *)raw, rawn, hdr, cap, n, err);
    goto out;
nomem:
    rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory building a JWS header");
out:
    json_decref(h);
    return rc;
}

/* Signs "hdr.payload_b64" (already laid out contiguously at msg, mn bytes)
 * and writes the base64url signature to sigout (cap bytes, NUL included). */
static vouch_code jws_sign_input(const vouch_key *k, const char *msg, size_t mn, char *sigout,
                                 size_t cap, vouch_err *err)
{
    uint8_t sig[VOUCH_SIG_LEN];
    vouch_code rc;

    rc = vouch_key_sign(k, (const uint8_t *)msg, mn, sig, err);
    if (rc == VOUCH_OK)
        rc = vouch_b64url_encode_buf(sig, sizeof(sig), sigout, cap, NULL, err);
    vouch_wipe(sig, sizeof(sig));
    return rc;
}

#define SIG_B64_LEN 86u /* base64url of 64 bytes */

vouch_code vouch_jws_sign_compact(const vouch_key *k, const vouch_jws_sign_opts *opts,
                                  const uint8_t *payload, size_t len, char **out,
                                  vouch_err *err)
{
    char hdr[HDR_B64_MAX + 1];
    size_t hn = 0, pn, total;
    char *buf = NULL;
    vouch_code rc;

    if (!k || !out || (!payload && len)) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "vouch_jws_sign_compact: bad argument");
        goto out;
    }
    *out = NULL;
    if (len > VOUCH_JWS_MAX_BYTES) {
        rc = vouch_err_set(err, VOUCH_E_JWS_TOO_LARGE, "payload of %zu bytes is too large", len);
        goto out;
    }
    rc = jws_header_encode(k, opts, hdr, sizeof(hdr), &hn, err);
    if (rc != VOUCH_OK)
        goto out;
    pn = b64_encoded_len(len);
    total = hn + 1 + pn + 1 + SIG_B64_LEN;
    /* we never make a token that a verifier (ours) would refuse as too large */
    if (total > VOUCH_JWS_MAX_BYTES) {
        rc = vouch_err_set(err, VOUCH_E_JWS_TOO_LARGE, "JWS would be %zu bytes; the cap is %u",
                           total, VOUCH_JWS_MAX_BYTES);
        goto out;
    }
    buf = vouch_malloc(total + 1);
    if (!buf) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory signing a JWS");
        goto out;
    }
    memcpy(buf, hdr, hn);
    buf[hn] = '.';
    if (len) {
        rc = vouch_b64url_encode_buf(payload, len, buf + hn + 1, pn + 1, NULL, err);
        if (rc != VOUCH_OK)
            goto out;
    }
    buf[hn + 1 + pn] = '.';
    rc = jws_sign_input(k, buf, hn + 1 + pn, buf + hn + 1 + pn + 1, SIG_B64_LEN + 1, err);
    if (rc != VOUCH_OK)
        goto out;
    buf[total] = '\0';
    *out = buf;
    buf = NULL;
out:
    vouch_free(buf);
    return rc;
}

/* Appends one signature object to a general JWS being written. */
static vouch_code jws_emit_sig(vouch_buf *b, int first, const char *prot, const char *kid_uh,
                               const char *sig_b64)
{
    vouch_code rc;

    rc = vouch_buf_printf(b, "%s{\"protected\":\"%s\"", first ? "" : ",", prot);
    /* an unprotected kid passed the kid rules: no quote, backslash or
     * control byte, so it needs no escaping */
    if (rc == VOUCH_OK && kid_uh)
        rc = vouch_buf_printf(b, ",\"header\":{\"kid\":\"%s\"}", kid_uh);
    if (rc == VOUCH_OK)
        rc = vouch_buf_printf(b, ",\"signature\":\"%s\"}", sig_b64);
    return rc;
}

/*
 * Writes a general JWS: the signatures of jws (if any) as they were sent,
 * then one new signature by k over payload_b64.
 */
static vouch_code jws_general_write(const vouch_jws *jws, const char *payload_b64, size_t pn,
                                    const vouch_key *k, const vouch_jws_sign_opts *opts,
                                    char **out, vouch_err *err)
{
    char hdr[HDR_B64_MAX + 1];
    char sigb64[SIG_B64_LEN + 1];
    char old[SIG_B64_LEN * 4 + 1];
    char stackbuf[SINPUT_STACK];
    char *msg = stackbuf, *enc = NULL;
    size_t hn = 0, i, n = jws ? jws->nsigs : 0;
    vouch_buf b;
    vouch_code rc;

    vouch_buf_init(&b, VOUCH_JWS_MAX_BYTES);
    rc = jws_header_encode(k, opts, hdr, sizeof(hdr), &hn, err);
    if (rc != VOUCH_OK)
        goto out;
    /* a lower bound of the result: refuse before signing, not after */
    if (pn + hn + SIG_B64_LEN > VOUCH_JWS_MAX_BYTES) {
        rc = vouch_err_set(err, VOUCH_E_JWS_TOO_LARGE, "JWS would exceed %u bytes",
                           VOUCH_JWS_MAX_BYTES);
        goto out;
    }
    if (hn + 1 + pn > sizeof(stackbuf)) {
        msg = vouch_malloc(hn + 1 + pn);
        if (!msg)
            goto nomem;
    }
    memcpy(msg, hdr, hn);
    msg[hn] = '.';
    memcpy(msg + hn + 1, payload_b64, pn);
    rc = jws_sign_input(k, msg, hn + 1 + pn, sigb64, sizeof(sigb64), err);
    if (rc != VOUCH_OK)
        goto out;

    rc = vouch_buf_append_str(&b, "{\"payload\":\"");
    if (rc == VOUCH_OK)
        rc = vouch_buf_append(&b, payload_b64, pn);
    if (rc == VOUCH_OK)
        rc = vouch_buf_append_str(&b, "\",\"signatures\":[");
    for (i = 0; rc == VOUCH_OK && i < n; i++) {
        const vouch_jws_sig *s = &jws->sigs[i];
        const char *sb = old;
        /* strict base64url is one-to-one, so re-encoding the decoded
         * signature yields exactly the text that was sent */
        if (s->sig_len <= SIG_B64_LEN * 3) {
            rc = vouch_b64url_encode_buf(s->sig, s->sig_len, old, sizeof(old), NULL, err);
        } else {
            rc = vouch_b64url_encode(s->sig, s->sig_len, &enc, NULL, err);
            sb = enc;
        }
        if (rc == VOUCH_OK)
            rc = jws_emit_sig(&b, i == 0, s->protected_b64,
                              json_object_get(s->header, "kid") ? NULL : s->kid, sb);
        vouch_free(enc);
        enc = NULL;
    }
    if (rc == VOUCH_OK)
        rc = jws_emit_sig(&b, n == 0, hdr, NULL, sigb64);
    if (rc == VOUCH_OK)
        rc = vouch_buf_append_str(&b, "]}");
    if (rc == VOUCH_E_LIMIT) {
        rc = vouch_err_set(err, VOUCH_E_JWS_TOO_LARGE, "JWS would exceed %u bytes",
                           VOUCH_JWS_MAX_BYTES);
        goto out;
    }
    if (rc == VOUCH_E_NOMEM)
        goto nomem;
    if (rc != VOUCH_OK)
        goto out;
    *out = (char *)vouch_buf_take(&b, NULL);
    goto out;
nomem:
    rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory signing a JWS");
out:
    if (msg != stackbuf)
        vouch_free(msg);
    vouch_buf_free(&b);
    return rc;
}

vouch_code vouch_jws_sign_general(const vouch_key *k, const vouch_jws_sign_opts *opts,
                                  const uint8_t *payload, size_t len, char **out,
                                  vouch_err *err)
{
    char *pb = NULL;
    size_t pn = 0;
    vouch_code rc;

    if (!k || !out || (!payload && len)) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "vouch_jws_sign_general: bad argument");
        goto out;
    }
    *out = NULL;
    if (len > VOUCH_JWS_MAX_BYTES) {
        rc = vouch_err_set(err, VOUCH_E_JWS_TOO_LARGE, "payload of %zu bytes is too large", len);
        goto out;
    }
    if (len) {
        rc = vouch_b64url_encode(payload, len, &pb, &pn, err);
        if (rc != VOUCH_OK)
            goto out;
    }
    rc = jws_general_write(NULL, pb ? pb : "", pn, k, opts, out, err);
out:
    vouch_free(pb);
    return rc;
}

vouch_code vouch_jws_general_add(const char *jws, size_t jws_len, const vouch_key *k,
                                 const vouch_jws_sign_opts *opts, char **out, vouch_err *err)
{
    vouch_jws *j = NULL;
    vouch_code rc;

    if (!jws || !k || !out) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "vouch_jws_general_add: bad argument");
        goto out;
    }
    *out = NULL;
    if (jws_len == 0 || jws[0] != '{') {
        rc = vouch_err_set(err, VOUCH_E_JWS_FORMAT,
                           "a signature can only be added to a general or flattened JWS");
        goto out;
    }
    rc = vouch_jws_parse(jws, jws_len, &j, err);
    if (rc != VOUCH_OK)
        goto out;
    if (j->nsigs >= VOUCH_JWS_MAX_SIGS) {
        rc = vouch_err_set(err, VOUCH_E_JWS_TOO_MANY_SIGS,
                           "JWS already has %zu signatures; at most %u are accepted", j->nsigs,
                           VOUCH_JWS_MAX_SIGS);
        goto out;
    }
    rc = jws_general_write(j, j->payload_b64, strlen(j->payload_b64), k, opts, out, err);
out:
    vouch_jws_free(j);
    return rc;
}
