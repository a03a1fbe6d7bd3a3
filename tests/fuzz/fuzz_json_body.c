/*
 * fuzz_json_body.c - libFuzzer target for the JSON bodies of the login
 * protocol (vouch/form.h): vouchd's POST /auth/siop body (JSON and form),
 * and the agent's parsers of vouchd's answers (the openid:// login URL,
 * the token answer, the error body). The first input byte picks the
 * parser; the rest is the body.
 * Properties (abort on violation):
 *   - no parser fails with INTERNAL or ARG on any input;
 *   - outputs are NUL-terminated within their buffers, and empty on failure;
 *   - an accepted DID is 5..255 printable bytes starting "did:";
 *   - an accepted token is 16..256 base64url bytes, expires_in 1..2^31;
 *   - an error body's code is an assigned code or VOUCH_E_HTTP, and its
 *     message printable ASCII.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vouch/form.h"
#include "vouch/mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_text(const char *s, size_t cap, int printable)
{
    const char *nul = memchr(s, '\0', cap);

    if (!nul)
        abort();
    if (printable)
        for (const char *p = s; p < nul; p++)
            if (*p < 0x20 || *p > 0x7e)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char a[256], b[1024], tok[257], msg[160];
    int64_t ttl = 0;
    vouch_code rc, code;
    const char *body;
    size_t len;

    if (size < 1)
        return 0;
    body = (const char *)data + 1;
    len = size - 1;
    switch (data[0] % 5) {
    case 0:
    case 1:
        rc = vouch_login_start_parse(body, len, data[0] % 5, a, sizeof(a), NULL);
        check_text(a, sizeof(a), 1);
        if (rc == VOUCH_OK) {
            size_t n = strlen(a);
            if (n < 5 || n > 255 || memcmp(a, "did:", 4) != 0)
                abort();
        } else if (a[0]) {
            abort();
        }
        break;
    case 2:
        rc = vouch_login_start_reply_parse(body, len, a, sizeof(a), b, sizeof(b), NULL);
        check_text(a, sizeof(a), 0);
        check_text(b, sizeof(b), 0);
        if (rc != VOUCH_OK && (a[0] || b[0]))
            abort();
        break;
    case 3:
        rc = vouch_token_reply_parse(body, len, tok, sizeof(tok), &ttl, NULL);
        check_text(tok, sizeof(tok), 1);
        if (rc == VOUCH_OK) {
            size_t n = strlen(tok);
            if (n < 16 || n > 256 || ttl < 1 || ttl > 2147483648LL ||
                strspn(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != n)
                abort();
        } else if (tok[0] || ttl) {
            abort();
        }
        break;
    default:
        rc = vouch_error_reply_parse(body, len, &code, msg, sizeof(msg), NULL);
        check_text(msg, sizeof(msg), 1);
        if (code != VOUCH_E_HTTP && (code <= VOUCH_OK || code > VOUCH__CODE_MAX ||
                                     strcmp(vouch_code_name(code), "VOUCH_E_UNKNOWN") == 0))
            abort();
        break;
    }
    if (rc == VOUCH_E_INTERNAL || rc == VOUCH_E_ARG)
        abort();
    return 0;
}
