/*
 * vouch/json.h - hardened JSON, parsed into jansson values.
 *
 * vouch_json_parse is the only way outside bytes become JSON in vouch. Its
 * grammar is jansson 2.14's (json_loadb with JSON_DECODE_ANY): the same
 * documents are accepted, as the same json_t values, and the same first
 * error is reported; on top of that it enforces, in this order:
 *   1. a size cap (VOUCH_E_JSON_SIZE),
 *   2. a nesting-depth cap (VOUCH_E_JSON_DEPTH), checked by a pre-scan so
 *      that 100000 '[' cost nothing,
 *   3. valid UTF-8 everywhere, no lone surrogate, no \u0000 (VOUCH_E_JSON_UTF8),
 *   4. no duplicate member names in any object (VOUCH_E_JSON_DUPLICATE),
 *   5. nothing after the value but whitespace (VOUCH_E_JSON_TRAILING),
 *   6. numbers that fit: integers within int64 and reals finite
 *      (VOUCH_E_JSON_RANGE); other syntax errors are VOUCH_E_JSON_SYNTAX.
 * Rules 1 to 3 are checked over the whole document before any value is
 * built; rules 4 to 6 and syntax in one pass, first error first. Messages
 * give a byte offset and never quote the document, except a duplicate
 * member's name, sanitized. Out of memory is VOUCH_E_NOMEM.
 * A UTF-8 byte order mark is not JSON and is rejected (VOUCH_E_JSON_SYNTAX).
 *
 * The typed getters read one member of an object and fail with
 * VOUCH_E_JSON_MISSING when it is absent, VOUCH_E_JSON_TYPE when its type is
 * wrong, and (for integers) VOUCH_E_JSON_RANGE when |value| > 2^53 - 1, the
 * largest integer every JSON implementation represents exactly.
 * Returned strings and objects are borrowed from the parent value.
 *
 * The behaviour on each JSONTestSuite i_ file is listed in docs/json.md and
 * asserted by tests/vectors/vec_jsontestsuite.c.
 */
#ifndef VOUCH_JSON_H
#define VOUCH_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "vouch/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VOUCH_JSON_MAX_BYTES_DEFAULT (1024u * 1024u)
#define VOUCH_JSON_MAX_DEPTH_DEFAULT 32u
#define VOUCH_JSON_MAX_SAFE_INT 9007199254740991LL /* 2^53 - 1 */

typedef struct vouch_json_limits {
    size_t max_bytes;   /* 0 means VOUCH_JSON_MAX_BYTES_DEFAULT */
    unsigned max_depth; /* 0 means VOUCH_JSON_MAX_DEPTH_DEFAULT */
} vouch_json_limits;

/* Parses any JSON value. lim may be NULL for the defaults. *out is a new
 * reference (json_decref it). On failure *out is NULL. */
vouch_code vouch_json_parse(const char *buf, size_t len, const vouch_json_limits *lim,
                            json_t **out, vouch_err *err);

/*
 * The RFC 8259 conformance profile: the same caps, UTF-8 and trailing-data
 * checks, but duplicate member names (the last one wins) and \u0000 escapes
 * are accepted, as RFC 8259's grammar allows. It exists to prove the
 * grammar against JSONTestSuite (every y_ file accepted); nothing that
 * makes a security decision may use it.
 */
vouch_code vouch_json_parse_rfc8259(const char *buf, size_t len, const vouch_json_limits *lim,
                                    json_t **out, vouch_err *err);

/* As vouch_json_parse, but the value must be an object (else VOUCH_E_JSON_TYPE). */
vouch_code vouch_json_parse_object(const char *buf, size_t len, const vouch_json_limits *lim,
                                   json_t **out, vouch_err *err);

/* Typed getters: obj must be an object; key names the member. */
vouch_code vouch_json_get_string(const json_t *obj, const char *key, const char **out,
                                 vouch_err *err);
vouch_code vouch_json_get_int(const json_t *obj, const char *key, int64_t *out, vouch_err *err);
vouch_code vouch_json_get_bool(const json_t *obj, const char *key, int *out, vouch_err *err);
vouch_code vouch_json_get_object(const json_t *obj, const char *key, json_t **out,
                                 vouch_err *err);
vouch_code vouch_json_get_array(const json_t *obj, const char *key, json_t **out,
                                vouch_err *err);

/* Serializes compactly, keys in insertion order, as UTF-8 with no NUL.
 * *out from vouch_malloc, NUL-terminated. */
vouch_code vouch_json_dump(const json_t *v, char **out, size_t *len, vouch_err *err);

/* Routes jansson's allocations through vouch_malloc/vouch_free. Idempotent;
 * called by vouch_json_parse, and by any module that builds JSON. */
void vouch_json_init(void);

#ifdef __cplusplus
}
#endif
#endif
