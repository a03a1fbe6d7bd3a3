/*
 * vouch/form.h - the bodies of the login protocol that are not JWTs: the
 * strict application/x-www-form-urlencoded decoder (the direct_post
 * response), the small JSON bodies of vouchd's routes, and the agent's
 * parsers of vouchd's answers. Shared by vouchd (server side) and
 * vouch-agent (client side); nothing here needs libmicrohttpd or libcurl,
 * so the libFuzzer targets (tests/fuzz/fuzz_form.c, fuzz_json_body.c) link
 * it alone.
 *
 * Every parser caps first (VOUCH_FORM_MAX_BODY, VOUCH_E_LIMIT), then
 * decodes, and fails with one exact code. Error messages name our own
 * field names only; bytes of the input are never copied into a message.
 *
 * The form decoder (vouch_form_parse) takes a table of the fields a route
 * accepts and is strict where HTML forms are lax:
 *   - pairs are "name=value" separated by '&'; an empty pair ("a=1&&b=2",
 *     a leading or trailing '&'), a pair without '=', or an empty name is
 *     refused; an empty body has no pairs;
 *   - names and values are percent-decoded ("%41" -> 'A', either hex case)
 *     and '+' is a space; a '%' not followed by two hex digits is refused;
 *   - a decoded name that is not in the table is refused, and so is a name
 *     given twice (HTTP parameter pollution);
 *   - a decoded value longer than its field's max, or holding NUL or a
 *     control byte other than TAB, CR and LF (or DEL), is refused;
 *   - a required field that is absent is refused.
 * All of these are VOUCH_E_LOGIN_REQUEST, except the size cap (VOUCH_E_LIMIT).
 * Decoded values are vouch_malloc'd and NUL-terminated (the length is kept
 * too); vouch_form_free releases them (wiping: they may carry tokens).
 */
#ifndef VOUCH_FORM_H
#define VOUCH_FORM_H

#include <stddef.h>
#include <stdint.h>

#include "vouch/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VOUCH_FORM_MAX_BODY (64u * 1024u) /* any body a login route reads */
#define VOUCH_FORM_MAX_FIELDS 16u

typedef struct vouch_form_field {
    const char *name;   /* the field's name (ours) */
    size_t max;         /* longest decoded value accepted */
    int required;       /* 1: absent is an error */
    char *value;        /* out: decoded, NUL-terminated, or NULL when absent */
    size_t len;         /* out: decoded length */
} vouch_form_field;

/* Decodes body into fields (n <= VOUCH_FORM_MAX_FIELDS). On failure every
 * value is freed and NULL. */
vouch_code vouch_form_parse(const char *body, size_t len, vouch_form_field *fields, size_t n,
                            vouch_err *err);
void vouch_form_free(vouch_form_field *fields, size_t n);

/* Percent-encodes s (RFC 3986 unreserved bytes stay as they are) into a
 * new NUL-terminated string. */
vouch_code vouch_form_encode(const char *s, size_t len, char **out, vouch_err *err);

/*
 * POST /auth/siop: {"did": "did:key:..."} as JSON (exactly that one member)
 * or as a form with the one field "did". form selects the decoder. The DID
 * is checked for shape only here (1..255 printable ASCII bytes, "did:"
 * prefix); the server decodes it as a did:key afterwards. did receives it
 * NUL-terminated (cap >= 256).
 */
vouch_code vouch_login_start_parse(const char *body, size_t len, int form, char *did,
                                   size_t cap, vouch_err *err);

/*
 * The agent's side. vouch_login_start_reply_parse reads vouchd's answer
 * {"request": "openid://?client_id=...&request_uri=..."} and decodes the
 * URL's query strictly (the two fields only, as vouch_form_parse does)
 * into client_id (cap >= 256) and request_uri (cap >= 1024). The scheme
 * must be "openid://" with an empty authority and path, or "openid:" or
 * "siopv2://" followed by "?".
 */
vouch_code vouch_login_start_reply_parse(const char *body, size_t len, char *client_id,
                                         size_t id_cap, char *request_uri, size_t uri_cap,
                                         vouch_err *err);

/* vouchd's token answer {"access_token", "token_type": "Bearer",
 * "expires_in"}; access_token is 16..256 base64url bytes (cap >= 257),
 * expires_in 1..2^31. */
vouch_code vouch_token_reply_parse(const char *body, size_t len, char *token, size_t cap,
                                   int64_t *expires_in, vouch_err *err);

/*
 * vouchd's error body {"error": {"code": N, "name": "...", "message":
 * "..."}}: *code receives N when it is an assigned vouch code, else
 * VOUCH_E_HTTP; msg (may be NULL) a copy of the message with every byte
 * outside printable ASCII replaced by '?'. Returns VOUCH_OK when the body
 * had that shape, else the parse error (and *code is VOUCH_E_HTTP).
 */
vouch_code vouch_error_reply_parse(const char *body, size_t len, vouch_code *code, char *msg,
                                   size_t msg_cap, vouch_err *err);

#ifdef __cplusplus
}
#endif
#endif
