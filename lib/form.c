/* form.c - the strict form decoder and the small JSON bodies of the login
 * protocol (vouch/form.h). */
#include "vouch/form.h"

#include <string.h>

#include <jansson.h>

#include "vouch/codec.h"
#include "vouch/json.h"
#include "vouch/mem.h"

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes s[0..n) into out (room for n + 1 bytes: decoding never grows).
 * Returns 0 on success, -1 on a malformed escape. */
/* The first c in s[i..n), or n. */
static size_t find_from(const char *s, size_t n, size_t i, char c)
{
    const char *p = i < n ? memchr(s + i, c, n - i) : NULL;

    return p ? (size_t)(p - s) : n;
}

/* Tokens are long runs of base64url without '%' or '+': each run is copied
 * whole. The next '%' and the next '+' are searched for again only once
 * passed, so the work stays linear in n however many there are. */
static int pct_decode(const char *s, size_t n, char *out, size_t *outlen)
{
    size_t i = 0, o = 0, pct = find_from(s, n, 0, '%'), plus = find_from(s, n, 0, '+'), stop;

    while (i < n) {
        if (pct < i)
            pct = find_from(s, n, i, '%');
        if (plus < i)
            plus = find_from(s, n, i, '+');
        stop = pct < plus ? pct : plus;
        memcpy(out + o, s + i, stop - i);
        o += stop - i;
        i = stop;
        if (i == n)
            break;
        if (s[i] == '+') {
            out[o++] = ' ';
            i++;
            continue;
        }
        {
            int hi, lo;
            /* check both digits exist before reading them */
            if (n - i < 3)
                return -1;
            hi = hexval((unsigned char)s[i + 1]);
            lo = hexval((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            out[o++] = (char)(hi * 16 + lo);
            i += 3;
        }
    }
    out[o] = '\0';
    *outlen = o;
    return 0;
}

/* NUL, control bytes other than TAB/CR/LF, and DEL are refused in values. */
static int value_ok(const char *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f)
            return 0;
    }
    return 1;
}

void vouch_form_free(vouch_form_field *fields, size_t n)
{
    for (size_t i = 0; fields && i < n; i++) {
        if (fields[i].value)
            vouch_free_secret(fields[i].value, fields[i].len + 1);
        fields[i].value = NULL;
        fields[i].len = 0;
    }
}

vouch_code vouch_form_parse(const char *body, size_t len, vouch_form_field *fields, size_t n,
                            vouch_err *err)
{
    char *name = NULL, *val = NULL;
    size_t pos = 0, vcap = 0; /* vcap: bytes allocated at val (it may hold a secret) */
    vouch_code rc = VOUCH_OK;

    if (!fields || n == 0 || n > VOUCH_FORM_MAX_FIELDS || (!body && len))
        return vouch_err_set(err, VOUCH_E_ARG, "form: bad arguments");
    for (size_t i = 0; i < n; i++) {
        fields[i].value = NULL;
        fields[i].len = 0;
    }
    if (len > VOUCH_FORM_MAX_BODY) {
        rc = vouch_err_set(err, VOUCH_E_LIMIT, "form: body larger than %u bytes",
                           VOUCH_FORM_MAX_BODY);
        goto out;
    }
    while (pos < len) {
        const char *pair = body + pos, *amp, *eq;
        size_t plen, nlen, vlen, dn = 0, dv = 0, k;

        amp = memchr(pair, '&', len - pos);
        plen = amp ? (size_t)(amp - pair) : len - pos;
        /* a separator must be followed by another pair */
        if (plen == 0 || (amp && (size_t)(amp - body) + 1 == len)) {
            rc = vouch_err_set(err, VOUCH_E_LOGIN_REQUEST, "form: empty field");
            goto out;
        }
        eq = memchr(pair, '=', plen);
        if (!eq || eq == pair) {
            rc = vouch_err_set(err, VOUCH_E_LOGIN_REQUEST,
                               eq ? "form: empty field name" : "form: field without '='");
            goto out;
        }
        nlen = (size_t)(eq - pair);
        vlen = plen - nlen - 1;
        name = vouch_malloc(nlen + 1);
        val = vouch_malloc(vlen + 1);
        vcap = vlen + 1;
        if (!name || !val) {
            rc = vouch_err_set(err, VOUCH_E_NOMEM, "form: out of memory");
            goto out;
        }
        if (pct_decode(pair, nlen, name, &dn) != 0 || pct_decode(eq + 1, vlen, val, &dv) != 0) {
            rc = vouch_err_set(err, VOUCH_E_LOGIN_REQUEST, "form: malformed percent escape");
            goto out;
        }
        for (k = 0; k < n; k++)
            if (strlen(fields[k].name) == dn && memcmp(fields[k].name, name, dn) == 0)
                break;
        if (k == n) {
            rc = vouch_err_set(err, VOUCH_E_LOGIN_REQUEST, "form: unknown field");
            goto out;
        }
        if (fields[k].value) {
            rc = vouch_err_set(err, VOUCH_E_LOGIN_REQUEST, "form: field %s given twice",
                               fields[k].name);
            goto out;
        }
        if (dv > fields[k].max) {
            rc = vouch_err_set(err, VOUCH_E_LOGIN_REQUEST, "form: field %s longer than %zu bytes",
                               fields[k].name, fields[k].max);
            goto out;
        }
        if (!value_ok(val, dv)) {
            rc = vouch_err_set(err, VOUCH_E_LOGIN_REQUEST,
                               "form: field %s holds NUL or control bytes", fields[k].name);
            goto out;
        }
        fields[k].value = val;
        fields[k].len = dv;
        val = NULL;
        vcap = 0;
        vouch_free(name);
        name = NULL;
        pos += plen + (amp ? 1 : 0);
    }
    for (size_t k = 0; k < n; k++)
        if (fields[k].required && !fields[k].value) {
            rc = vouch_err_set(err, VOUCH_E_LOGIN_REQUEST, "form: field %s missing",
                               fields[k].name);
            goto out;
        }
out:
    vouch_free(name);
    if (val)
        vouch_free_secret(val, vcap); /* not NUL-terminated when decoding failed */
    if (rc != VOUCH_OK)
        vouch_form_free(fields, n);
    return rc;
}

vouch_code vouch_form_encode(const char *s, size_t len, char **out, vouch_err *err)
{
    static const char hex[] = "0123456789ABCDEF";
    char *o;
    size_t j = 0;

    *out = NULL;
    if (len > VOUCH_FORM_MAX_BODY)
        return vouch_err_set(err, VOUCH_E_LIMIT, "form: value too long to encode");
    o = vouch_malloc(len * 3 + 1); /* cannot overflow: len is capped */
    if (!o)
        return vouch_err_set(err, VOUCH_E_NOMEM, "form: out of memory");
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            o[j++] = (char)c;
        } else {
            o[j++] = '%';
            o[j++] = hex[c >> 4];
            o[j++] = hex[c & 15];
        }
    }
    o[j] = '\0';
    *out = o;
    return VOUCH_OK;
}

/* A DID as accepted at the door: "did:" then printable ASCII, bounded. */
static vouch_code did_shape(const char *s, size_t n, vouch_err *err)
{
    if (n < 5 || n > 255 || memcmp(s, "did:", 4) != 0)
        return vouch_err_set(err, VOUCH_E_LOGIN_REQUEST, "did: not a DID of 5..255 bytes");
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            return vouch_err_set(err, VOUCH_E_LOGIN_REQUEST,
                                 "did: only printable ASCII is allowed");
    return VOUCH_OK;
}

static const vouch_json_limits body_limits = {VOUCH_FORM_MAX_BODY, 8};

vouch_code vouch_login_start_parse(const char *body, size_t len, int form, char *did,
                                   size_t cap, vouch_err *err)
{
    vouch_form_field f[1] = {{"did", 255, 1, NULL, 0}};
    json_t *o = NULL;
    const char *s = NULL;
    size_t n = 0;
    vouch_code rc;

    if (!did || cap < 256)
        return vouch_err_set(err, VOUCH_E_ARG, "login start: output too small");
    did[0] = '\0';
    if (len > VOUCH_FORM_MAX_BODY) {
        rc = vouch_err_set(err, VOUCH_E_LIMIT, "login start: body too large");
        goto out;
    }
    if (form) {
        if ((rc = vouch_form_parse(body, len, f, 1, err)) != VOUCH_OK)
            goto out;
        s = f[0].value;
        n = f[0].len;
    } else {
        if ((rc = vouch_json_parse_object(body, len, &body_limits, &o, err)) != VOUCH_OK)
            goto out;
        if (json_object_size(o) != 1) {
            rc = vouch_err_set(err, VOUCH_E_LOGIN_REQUEST,
                               "login start: the body must hold exactly \"did\"");
            goto out;
        }
        if ((rc = vouch_json_get_string(o, "did", &s, err)) != VOUCH_OK)
            goto out;
        n = json_string_length(json_object_get(o, "did"));
    }
    if ((rc = did_shape(s, n, err)) != VOUCH_OK)
        goto out;
    memcpy(did, s, n);
    did[n] = '\0';
out:
    vouch_form_free(f, 1);
    json_decref(o);
    return rc;
}

/* Copies a decoded form value into a caller buffer. */
static vouch_code copy_out(const vouch_form_field *f, char *out, size_t cap, vouch_err *err)
{
    if (f->len >= cap)
        return vouch_err_set(err, VOUCH_E_LOGIN_REQUEST, "%s too long", f->name);
    memcpy(out, f->value, f->len + 1);
    return VOUCH_OK;
}

vouch_code vouch_login_start_reply_parse(const char *body, size_t len, char *client_id,
                                         size_t id_cap, char *request_uri, size_t uri_cap,
                                         vouch_err *err)
{
    static const char *const prefixes[] = {"openid://?", "openid:?", "siopv2://?"};
    vouch_form_field f[2] = {{"client_id", 255, 1, NULL, 0}, {"request_uri", 1023, 1, NULL, 0}};
    json_t *o = NULL;
    const char *url = NULL, *q = NULL;
    size_t ulen = 0;
    vouch_code rc;

    if (!client_id || !request_uri || id_cap < 256 || uri_cap < 1024)
        return vouch_err_set(err, VOUCH_E_ARG, "login reply: output too small");
    client_id[0] = request_uri[0] = '\0';
    if ((rc = vouch_json_parse_object(body, len, &body_limits, &o, err)) != VOUCH_OK)
        goto out;
    if (json_object_size(o) != 1) {
        rc = vouch_err_set(err, VOUCH_E_LOGIN_REQUEST,
                           "login reply: the body must hold exactly \"request\"");
        goto out;
    }
    if ((rc = vouch_json_get_string(o, "request", &url, err)) != VOUCH_OK)
        goto out;
    ulen = json_string_length(json_object_get(o, "request"));
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        size_t pl = strlen(prefixes[i]);
        if (ulen >= pl && memcmp(url, prefixes[i], pl) == 0) {
            q = url + pl;
            break;
        }
    }
    if (!q) {
        rc = vouch_err_set(err, VOUCH_E_LOGIN_REQUEST,
                           "login reply: request is not an openid:// authorization request");
        goto out;
    }
    if ((rc = vouch_form_parse(q, ulen - (size_t)(q - url), f, 2, err)) != VOUCH_OK ||
        (rc = copy_out(&f[0], client_id, id_cap, err)) != VOUCH_OK ||
        (rc = copy_out(&f[1], request_uri, uri_cap, err)) != VOUCH_OK)
        goto out;
    if (strchr(client_id, '\n') || strchr(client_id, '\r') || strchr(client_id, '\t') ||
        strchr(request_uri, '\n') || strchr(request_uri, '\r') || strchr(request_uri, '\t') ||
        strchr(request_uri, ' ')) {
        rc = vouch_err_set(err, VOUCH_E_LOGIN_REQUEST, "login reply: whitespace in a parameter");
        goto out;
    }
out:
    vouch_form_free(f, 2);
    json_decref(o);
    if (rc != VOUCH_OK && client_id && request_uri && id_cap && uri_cap)
        client_id[0] = request_uri[0] = '\0';
    return rc;
}

vouch_code vouch_token_reply_parse(const char *body, size_t len, char *token, size_t cap,
                                   int64_t *expires_in, vouch_err *err)
{
    json_t *o = NULL;
    const char *tok = NULL, *type = NULL;
    uint8_t raw[256];
    size_t tlen, rawlen = 0;
    int64_t ttl = 0;
    vouch_code rc;

    if (!token || cap < 257 || !expires_in)
        return vouch_err_set(err, VOUCH_E_ARG, "token reply: output too small");
    token[0] = '\0';
    *expires_in = 0;
    if ((rc = vouch_json_parse_object(body, len, &body_limits, &o, err)) != VOUCH_OK)
        goto out;
    if (json_object_size(o) != 3) {
        rc = vouch_err_set(err, VOUCH_E_LOGIN_REQUEST,
                           "token reply: expected access_token, token_type and expires_in");
        goto out;
    }
    if ((rc = vouch_json_get_string(o, "access_token", &tok, err)) != VOUCH_OK ||
        (rc = vouch_json_get_string(o, "token_type", &type, err)) != VOUCH_OK ||
        (rc = vouch_json_get_int(o, "expires_in", &ttl, err)) != VOUCH_OK)
        goto out;
    tlen = json_string_length(json_object_get(o, "access_token"));
    if (strcmp(type, "Bearer") != 0) {
        rc = vouch_err_set(err, VOUCH_E_LOGIN_REQUEST, "token reply: token_type is not Bearer");
        goto out;
    }
    if (tlen < 16 || tlen > 256 ||
        vouch_b64url_decode_buf(tok, tlen, raw, sizeof(raw), &rawlen, NULL) != VOUCH_OK) {
        rc = vouch_err_set(err, VOUCH_E_LOGIN_REQUEST,
                           "token reply: access_token is not 16..256 base64url bytes");
        goto out;
    }
    if (ttl < 1 || ttl > 2147483648LL) {
        rc = vouch_err_set(err, VOUCH_E_LOGIN_REQUEST, "token reply: expires_in out of range");
        goto out;
    }
    memcpy(token, tok, tlen + 1);
    *expires_in = ttl;
out:
    vouch_wipe(raw, sizeof(raw));
    json_decref(o);
    return rc;
}

vouch_code vouch_error_reply_parse(const char *body, size_t len, vouch_code *code, char *msg,
                                   size_t msg_cap, vouch_err *err)
{
    json_t *o = NULL, *e = NULL;
    const char *m = NULL;
    int64_t n = 0;
    unsigned it = 0;
    vouch_code rc, c;

    if (!code)
        return vouch_err_set(err, VOUCH_E_ARG, "error reply: no output");
    *code = VOUCH_E_HTTP;
    if (msg && msg_cap)
        msg[0] = '\0';
    if ((rc = vouch_json_parse_object(body, len, &body_limits, &o, err)) != VOUCH_OK ||
        (rc = vouch_json_get_object(o, "error", &e, err)) != VOUCH_OK ||
        (rc = vouch_json_get_int(e, "code", &n, err)) != VOUCH_OK)
        goto out;
    if (vouch_json_get_string(e, "message", &m, NULL) == VOUCH_OK && msg && msg_cap) {
        size_t i = 0;
        for (; m[i] && i + 1 < msg_cap; i++)
            msg[i] = (m[i] >= 0x20 && m[i] < 0x7f) ? m[i] : '?';
        msg[i] = '\0';
    }
    /* only a code we assigned is believed; anything else stays VOUCH_E_HTTP */
    while ((c = vouch_code_next(&it)) != VOUCH_OK)
        if ((int64_t)c == n) {
            *code = c;
            break;
        }
out:
    json_decref(o);
    return rc;
}
