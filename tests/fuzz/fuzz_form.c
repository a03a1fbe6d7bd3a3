/*
 * fuzz_form.c - libFuzzer target for the strict form decoder (vouch/form.h),
 * as vouchd's POST /auth/response and the agent's openid:// URL use it.
 * Properties (abort on violation):
 *   - a rejection is VOUCH_E_LOGIN_REQUEST (or VOUCH_E_LIMIT past the cap)
 *     and leaves every value NULL;
 *   - an accepted form has every required field, each value within its max,
 *     NUL-terminated at its length, with no NUL or control byte but TAB, CR
 *     and LF;
 *   - encode -> parse round-trips: the accepted values, re-encoded with
 *     vouch_form_encode and joined, parse again to the same values.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vouch/form.h"
#include "vouch/mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NF 4

static void init_fields(vouch_form_field *f)
{
    static const char *const names[NF] = {"id_token", "vp_token", "presentation_submission",
                                          "state"};
    static const size_t max[NF] = {32768, 32768, 16384, 128};
    static const int required[NF] = {1, 0, 0, 1};

    for (int i = 0; i < NF; i++) {
        f[i].name = names[i];
        f[i].max = max[i];
        f[i].required = required[i];
        f[i].value = NULL;
        f[i].len = 0;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vouch_form_field f[NF], g[NF];
    vouch_buf b;
    vouch_code rc;

    init_fields(f);
    rc = vouch_form_parse((const char *)data, size, f, NF, NULL);
    if (rc != VOUCH_OK) {
        if (rc != VOUCH_E_LOGIN_REQUEST && rc != VOUCH_E_LIMIT && rc != VOUCH_E_NOMEM)
            abort();
        for (int i = 0; i < NF; i++)
            if (f[i].value)
                abort();
        return 0;
    }
    vouch_buf_init(&b, 4u * VOUCH_FORM_MAX_BODY);
    for (int i = 0; i < NF; i++) {
        char *enc = NULL;
        if (f[i].required && !f[i].value)
            abort();
        if (!f[i].value)
            continue;
        if (f[i].len > f[i].max || f[i].value[f[i].len] != '\0' ||
            memchr(f[i].value, '\0', f[i].len))
            abort();
        for (size_t k = 0; k < f[i].len; k++) {
            unsigned char c = (unsigned char)f[i].value[k];
            if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f)
                abort();
        }
        if (vouch_form_encode(f[i].value, f[i].len, &enc, NULL) != VOUCH_OK ||
            vouch_buf_printf(&b, "%s%s=%s", b.len ? "&" : "", f[i].name, enc) != VOUCH_OK) {
            vouch_free(enc);
            goto out;
        }
        vouch_free(enc);
    }
    init_fields(g);
    rc = vouch_form_parse((const char *)b.data, b.len, g, NF, NULL);
    if (rc == VOUCH_OK) {
        for (int i = 0; i < NF; i++)
            if ((!f[i].value) != (!g[i].value) ||
                (f[i].value && (f[i].len != g[i].len || memcmp(f[i].value, g[i].value, f[i].len))))
                abort();
    } else if (rc != VOUCH_E_LIMIT) {
        abort(); /* only a re-encoding past the 64 KiB cap may fail */
    }
    vouch_form_free(g, NF);
out:
    vouch_buf_free(&b);
    vouch_form_free(f, NF);
    return 0;
}
