/* error.c - the code table and message helpers of vouch/error.h. */
#include "vouch/error.h"

#include <stdio.h>
#include <string.h>

struct code_info {
    vouch_code code;
    const char *name;
    const char *text;
};

/* The one table of codes: names, descriptions, and (by position) the order
 * `vouch errors` prints. Keep it in step with the enum in vouch/error.h. */
static const struct code_info codes[] = {
#define C(sym, text) {sym, #sym, text}
    C(VOUCH_OK, "success"),
    C(VOUCH_E_INTERNAL, "internal error"),
    C(VOUCH_E_USAGE, "wrong command-line usage"),
    C(VOUCH_E_NOMEM, "out of memory"),
    C(VOUCH_E_IO, "input/output error"),
    C(VOUCH_E_ARG, "invalid argument"),
    C(VOUCH_E_LIMIT, "input exceeds a size or count limit"),
    C(VOUCH_E_PERM, "unsafe file permissions"),
    C(VOUCH_E_EXISTS, "refused to overwrite an existing file"),
    C(VOUCH_E_NOTFOUND, "not found"),
    C(VOUCH_E_B64URL, "invalid base64url"),
    C(VOUCH_E_B58, "invalid base58btc"),
    C(VOUCH_E_MULTIBASE, "invalid multibase"),
    C(VOUCH_E_HEX, "invalid hex"),
    C(VOUCH_E_JSON_SYNTAX, "invalid JSON"),
    C(VOUCH_E_JSON_DEPTH, "JSON nested too deeply"),
    C(VOUCH_E_JSON_SIZE, "JSON document too large"),
    C(VOUCH_E_JSON_DUPLICATE, "duplicate JSON member name"),
    C(VOUCH_E_JSON_UTF8, "invalid UTF-8 or NUL in JSON"),
    C(VOUCH_E_JSON_TRAILING, "trailing data after JSON"),
    C(VOUCH_E_JSON_TYPE, "JSON value of the wrong type"),
    C(VOUCH_E_JSON_MISSING, "required JSON member missing"),
    C(VOUCH_E_JSON_RANGE, "JSON number out of range"),
    C(VOUCH_E_KEY_TYPE, "unsupported key type"),
    C(VOUCH_E_KEY_PEM, "malformed PEM key"),
    C(VOUCH_E_KEY_JWK, "malformed JWK"),
    C(VOUCH_E_KEY_PRIVATE, "private key material where a public key was expected"),
    C(VOUCH_E_KEY_POINT, "invalid public key point"),
    C(VOUCH_E_KEY_NOT_PRIVATE, "operation needs a private key"),
    C(VOUCH_E_KEY_PKCS11_URI, "malformed PKCS#11 URI"),
    C(VOUCH_E_KEY_PKCS11, "PKCS#11 token error"),
    C(VOUCH_E_KEY_CRYPTO, "cryptographic operation failed"),
    C(VOUCH_E_KEY_DIDKEY, "malformed did:key"),
    C(VOUCH_E_JWS_FORMAT, "malformed JWS"),
    C(VOUCH_E_JWS_HEADER, "malformed JWS header"),
    C(VOUCH_E_JWS_ALG, "JWS algorithm missing or not allowed"),
    C(VOUCH_E_JWS_ALG_MISMATCH, "JWS algorithm does not match the key"),
    C(VOUCH_E_JWS_CRIT, "JWS critical extension not supported"),
    C(VOUCH_E_JWS_EMBEDDED_KEY, "JWS header carries its own key"),
    C(VOUCH_E_JWS_KID, "malformed JWS key id"),
    C(VOUCH_E_JWS_TYP, "wrong JWS token type"),
    C(VOUCH_E_JWS_SIG_SIZE, "JWS signature has the wrong size"),
    C(VOUCH_E_JWS_SIG_RANGE, "JWS signature value out of range"),
    C(VOUCH_E_JWS_BAD_SIGNATURE, "JWS signature does not verify"),
    C(VOUCH_E_JWS_UNKNOWN_KEY, "no trusted key for the JWS signature"),
    C(VOUCH_E_JWS_TOO_MANY_SIGS, "too many JWS signatures"),
    C(VOUCH_E_JWS_TOO_LARGE, "JWS too large"),
    C(VOUCH_E_JWS_HEADER_DUP, "JWS header member in both protected and unprotected headers"),
    C(VOUCH_E_JWS_NO_VALID, "no valid JWS signature"),
    C(VOUCH_E_DID_SYNTAX, "malformed DID"),
    C(VOUCH_E_DID_METHOD, "unsupported DID method"),
    C(VOUCH_E_VC_FORMAT, "malformed verifiable credential"),
    C(VOUCH_E_VC_TYPE, "credential of the wrong type"),
    C(VOUCH_E_VC_EXPIRED, "credential expired"),
    C(VOUCH_E_VC_NOT_YET_VALID, "credential not yet valid"),
    C(VOUCH_E_VC_ISSUER, "credential from an unexpected issuer"),
    C(VOUCH_E_POLICY_FORMAT, "malformed trust policy"),
    C(VOUCH_E_POLICY_THRESHOLD, "invalid trust policy threshold"),
    C(VOUCH_E_POLICY_KEY_REUSE, "one key listed twice in the trust policy"),
    C(VOUCH_E_POLICY_EXPIRED, "trust policy expired"),
    C(VOUCH_E_POLICY_VERSION, "trust policy version is not the next one"),
    C(VOUCH_E_POLICY_SIGNATURES, "trust policy root threshold not met"),
    C(VOUCH_E_POLICY_MISSING, "no trust policy configured"),
    C(VOUCH_E_POLICY_ROLE, "unknown or empty trust policy role"),
    C(VOUCH_E_POLICY_DEV_KEY, "development key in a production trust policy"),
    C(VOUCH_E_RELEASE_FORMAT, "malformed release credential"),
    C(VOUCH_E_RELEASE_SIGNATURES, "release lacks a required signature"),
    C(VOUCH_E_RELEASE_ROLLBACK, "release below the anti-rollback floor"),
    C(VOUCH_E_RELEASE_DIGEST, "image digest does not match the release"),
    C(VOUCH_E_RELEASE_SIZE, "image size does not match the release"),
    C(VOUCH_E_RELEASE_HARDWARE, "release not for this hardware"),
    C(VOUCH_E_RELEASE_EXPIRED, "release credential expired"),
    C(VOUCH_E_RELEASE_NOT_YET_VALID, "release credential not yet valid"),
    C(VOUCH_E_RELEASE_SWDESC, "sw-description does not match the release"),
    C(VOUCH_E_RELEASE_SAME_VERSION, "same version as installed with different content"),
    C(VOUCH_E_RELEASE_NAME, "unsafe file name"),
    C(VOUCH_E_RELEASE_SWU, "malformed .swu archive"),
    C(VOUCH_E_STATE, "device state unreadable or inconsistent"),
    C(VOUCH_E_RELEASE_LIFETIME, "release lifetime beyond the trust policy's maximum"),
    C(VOUCH_E_COSIGN_REQUEST, "malformed co-sign request"),
    C(VOUCH_E_COSIGN_UNKNOWN, "build server not allowed by the co-signer"),
    C(VOUCH_E_COSIGN_REVOKED, "build server revoked at the co-signer"),
    C(VOUCH_E_COSIGN_REPLAY, "co-sign request replayed"),
    C(VOUCH_E_COSIGN_STALE, "co-sign request expired or from the future"),
    C(VOUCH_E_COSIGN_ROLLBACK, "co-sign request would lower the security version"),
    C(VOUCH_E_COSIGN_LIFETIME, "release lifetime beyond co-signer policy"),
    C(VOUCH_E_COSIGN_RATE, "co-sign rate limit exceeded"),
    C(VOUCH_E_COSIGN_REFUSED, "co-signer refused"),
    C(VOUCH_E_HTTP, "HTTP transport error"),
    C(VOUCH_E_DB, "database error"),
    C(VOUCH_E_LOGIN_REQUEST, "malformed login request or response"),
    C(VOUCH_E_LOGIN_STATE, "unknown or used login state"),
    C(VOUCH_E_LOGIN_NONCE, "login nonce missing, unknown, expired or used"),
    C(VOUCH_E_LOGIN_AUDIENCE, "login token for another audience"),
    C(VOUCH_E_LOGIN_SUBJECT, "login subject does not match the key or credential"),
    C(VOUCH_E_LOGIN_EXPIRED, "login token expired"),
    C(VOUCH_E_LOGIN_ISSUER, "credential issuer not trusted"),
    C(VOUCH_E_LOGIN_CREDENTIAL_TYPE, "not a production credential"),
    C(VOUCH_E_LOGIN_SUBMISSION, "presentation submission does not match the definition"),
    C(VOUCH_E_LOGIN_CONSTRAINT, "device not allowed by the authorization policy"),
    C(VOUCH_E_LOGIN_REVOKED, "device revoked"),
    C(VOUCH_E_LOGIN_CLONE, "device key already in another session"),
    C(VOUCH_E_LOGIN_NOT_REGISTERED, "device key not registered"),
    C(VOUCH_E_LOGIN_TOKEN, "access token missing, unknown, expired or revoked"),
    C(VOUCH_E_PROVISION_DUPLICATE, "serial or key already provisioned"),
    C(VOUCH_E_LOGIN_ORIGIN, "login response URI of an unexpected origin"),
#undef C
};

#define NCODES (sizeof(codes) / sizeof(codes[0]))

static const struct code_info *find(vouch_code code)
{
    for (size_t i = 0; i < NCODES; i++)
        if (codes[i].code == code)
            return &codes[i];
    return NULL;
}

void vouch_err_clear(vouch_err *e)
{
    if (e) {
        e->code = VOUCH_OK;
        e->msg[0] = '\0';
    }
}

vouch_code vouch_err_set(vouch_err *e, vouch_code code, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        e->code = code;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
        va_end(ap);
    }
    return code;
}

void vouch_err_prefix(vouch_err *e, const char *fmt, ...)
{
    char pre[VOUCH_ERR_MSG_MAX], old[VOUCH_ERR_MSG_MAX];
    va_list ap;

    if (!e)
        return;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof(pre), fmt, ap);
    va_end(ap);
    memcpy(old, e->msg, sizeof(old));
    /* truncation is intended: the message is capped, the code is exact */
    size_t n = strlen(pre);
    if (n > sizeof(e->msg) - 3)
        n = sizeof(e->msg) - 3;
    memcpy(e->msg, pre, n);
    memcpy(e->msg + n, ": ", 2);
    n += 2;
    size_t rest = strnlen(old, sizeof(old));
    if (rest > sizeof(e->msg) - 1 - n)
        rest = sizeof(e->msg) - 1 - n;
    memcpy(e->msg + n, old, rest);
    e->msg[n + rest] = '\0';
}

const char *vouch_code_name(vouch_code code)
{
    const struct code_info *c = find(code);
    return c ? c->name : "VOUCH_E_UNKNOWN";
}

const char *vouch_code_describe(vouch_code code)
{
    const struct code_info *c = find(code);
    return c ? c->text : "unknown error";
}

vouch_domain vouch_code_domain(vouch_code code)
{
    unsigned c = (unsigned)code;

    if (c == 0)
        return VOUCH_DOMAIN_NONE;
    if (c < 10)
        return VOUCH_DOMAIN_CORE;
    if (c < 20)
        return VOUCH_DOMAIN_CODEC;
    if (c < 30)
        return VOUCH_DOMAIN_JSON;
    if (c < 50)
        return VOUCH_DOMAIN_KEY;
    if (c < 80)
        return VOUCH_DOMAIN_JWS;
    if (c < 90)
        return VOUCH_DOMAIN_DID;
    if (c < 100)
        return VOUCH_DOMAIN_VC;
    if (c < 120)
        return VOUCH_DOMAIN_POLICY;
    if (c < 150)
        return VOUCH_DOMAIN_RELEASE;
    if (c < 170)
        return VOUCH_DOMAIN_COSIGN;
    if (c < 200)
        return VOUCH_DOMAIN_LOGIN;
    return VOUCH_DOMAIN_OTHER;
}

const char *vouch_domain_name(vouch_domain d)
{
    static const char *const names[] = {"none", "core", "codec", "json",    "key",    "jws",
                                        "did",  "vc",   "policy", "release", "cosign", "login", "other"};
    return (unsigned)d < sizeof(names) / sizeof(names[0]) ? names[d] : "other";
}

vouch_code vouch_code_next(unsigned *i)
{
    /* entry 0 is VOUCH_OK, which is not an error */
    if (*i + 1 >= NCODES)
        return VOUCH_OK;
    (*i)++;
    return codes[*i].code;
}
