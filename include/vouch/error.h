/*
 * vouch/error.h - the one error model of libvouch and every vouch program.
 *
 * Every fallible function returns a vouch_code and, when the caller passes a
 * non-NULL vouch_err, fills it with the same code and a message that names
 * what was wrong (a member, a segment, a file), never secret material.
 *
 * Codes are small integers grouped by domain (ranges below), so that one enum
 * doubles as the process exit codes of the CLI tools: a program exits with
 * the code of the error that stopped it. The ranges are stable API: a code,
 * once published, keeps its number. `vouch errors` prints the whole table.
 *
 *   0        success
 *   1..9     core     (usage, memory, I/O, limits, permissions)
 *   10..19   codec    (base64url, base58btc, multibase, hex)
 *   20..29   json     (hardened parse and typed getters)
 *   30..49   key      (P-256, Ed25519, PEM, JWK, did:key, PKCS#11)
 *   50..79   jws      (envelopes: structure, headers, signatures)
 *   80..89   did      (DID syntax and methods)
 *   90..99   vc       (Verifiable Credentials as JWT)
 *   100..119 policy   (the device's trust policy and its rotation)
 *   120..149 release  (release credentials, images, anti-rollback state)
 *   150..169 cosign   (the co-signing service and its clients)
 *   170..199 login    (device identity, SIOPv2 + OpenID4VP, access tokens)
 *   200..255 reserved for the update server and the agent
 */
#ifndef VOUCH_ERROR_H
#define VOUCH_ERROR_H

#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum vouch_code {
    VOUCH_OK = 0,

    /* core */
    VOUCH_E_INTERNAL = 1,       /* a bug or an OpenSSL/jansson failure we did not expect */
    VOUCH_E_USAGE = 2,          /* wrong command-line usage */
    VOUCH_E_NOMEM = 3,          /* an allocation failed */
    VOUCH_E_IO = 4,             /* a file or stream could not be read or written */
    VOUCH_E_ARG = 5,            /* an API argument is invalid (NULL, out of range) */
    VOUCH_E_LIMIT = 6,          /* an input exceeds a documented size or count cap */
    VOUCH_E_PERM = 7,           /* unsafe permissions (e.g. a private key not 0600) */
    VOUCH_E_EXISTS = 8,         /* refused to overwrite an existing file */
    VOUCH_E_NOTFOUND = 9,       /* a named file, object or key does not exist */

    /* codec */
    VOUCH_E_B64URL = 10,        /* not strict unpadded base64url */
    VOUCH_E_B58 = 11,           /* not base58btc */
    VOUCH_E_MULTIBASE = 12,     /* unknown or malformed multibase prefix */
    VOUCH_E_HEX = 13,           /* not hex */

    /* json */
    VOUCH_E_JSON_SYNTAX = 20,   /* not JSON (RFC 8259) */
    VOUCH_E_JSON_DEPTH = 21,    /* nesting deeper than the cap */
    VOUCH_E_JSON_SIZE = 22,     /* document larger than the cap */
    VOUCH_E_JSON_DUPLICATE = 23,/* a member name appears twice in one object */
    VOUCH_E_JSON_UTF8 = 24,     /* invalid UTF-8, lone surrogate, or \u0000 */
    VOUCH_E_JSON_TRAILING = 25, /* bytes after the JSON value */
    VOUCH_E_JSON_TYPE = 26,     /* a value has the wrong type */
    VOUCH_E_JSON_MISSING = 27,  /* a required member is absent */
    VOUCH_E_JSON_RANGE = 28,    /* a number is out of range (|n| > 2^53-1, overflow) */

    /* key */
    VOUCH_E_KEY_TYPE = 30,      /* key type or curve not supported */
    VOUCH_E_KEY_PEM = 31,       /* malformed PEM or DER */
    VOUCH_E_KEY_JWK = 32,       /* malformed JWK */
    VOUCH_E_KEY_PRIVATE = 33,   /* private members where a public key was expected */
    VOUCH_E_KEY_POINT = 34,     /* public key not a valid point on the curve */
    VOUCH_E_KEY_NOT_PRIVATE = 35, /* signing needs a private key */
    VOUCH_E_KEY_PKCS11_URI = 36,/* malformed PKCS#11 URI (RFC 7512) */
    VOUCH_E_KEY_PKCS11 = 37,    /* PKCS#11 module, token, login or object failure */
    VOUCH_E_KEY_CRYPTO = 38,    /* the crypto library refused an operation */
    VOUCH_E_KEY_DIDKEY = 39,    /* malformed did:key or unsupported multicodec */

    /* jws */
    VOUCH_E_JWS_FORMAT = 50,    /* wrong segment count, malformed JSON serialization */
    VOUCH_E_JWS_HEADER = 51,    /* protected header missing, not an object, or bad member */
    VOUCH_E_JWS_ALG = 52,       /* alg missing, none, or not supported */
    VOUCH_E_JWS_ALG_MISMATCH = 53, /* alg does not match the verifying key's type */
    VOUCH_E_JWS_CRIT = 54,      /* crit names an extension we do not implement, or b64 */
    VOUCH_E_JWS_EMBEDDED_KEY = 55, /* jwk, jku, x5c, x5u or x5t header present */
    VOUCH_E_JWS_KID = 56,       /* kid malformed (too long, control characters, not a string) */
    VOUCH_E_JWS_TYP = 57,       /* typ missing or not the expected token kind */
    VOUCH_E_JWS_SIG_SIZE = 58,  /* signature not exactly 64 bytes */
    VOUCH_E_JWS_SIG_RANGE = 59, /* ES256 r or s is 0 or >= n */
    VOUCH_E_JWS_BAD_SIGNATURE = 60, /* the signature does not verify */
    VOUCH_E_JWS_UNKNOWN_KEY = 61,   /* no trusted key for this signature */
    VOUCH_E_JWS_TOO_MANY_SIGS = 62, /* more signatures than the cap */
    VOUCH_E_JWS_TOO_LARGE = 63,     /* token or header larger than the cap */
    VOUCH_E_JWS_HEADER_DUP = 64,    /* member in both protected and unprotected header */
    VOUCH_E_JWS_NO_VALID = 65,      /* verification of a general JWS found no valid signature */

    /* did */
    VOUCH_E_DID_SYNTAX = 80,    /* not a DID */
    VOUCH_E_DID_METHOD = 81,    /* DID method not supported here */

    /* vc */
    VOUCH_E_VC_FORMAT = 90,     /* claims or vc object malformed (missing/extra/wrong type) */
    VOUCH_E_VC_TYPE = 91,       /* the credential is not of the expected type */
    VOUCH_E_VC_EXPIRED = 92,    /* exp is in the past */
    VOUCH_E_VC_NOT_YET_VALID = 93, /* nbf is in the future */
    VOUCH_E_VC_ISSUER = 94,     /* iss is not the expected issuer */

    /* policy */
    VOUCH_E_POLICY_FORMAT = 100,   /* policy document malformed (unknown or missing member) */
    VOUCH_E_POLICY_THRESHOLD = 101,/* threshold not an integer in 1..number of keys */
    VOUCH_E_POLICY_KEY_REUSE = 102,/* one key under several ids or several roles */
    VOUCH_E_POLICY_EXPIRED = 103,  /* the policy has expired */
    VOUCH_E_POLICY_VERSION = 104,  /* not the next version (rotation goes N to N+1 only) */
    VOUCH_E_POLICY_SIGNATURES = 105, /* root threshold not met (old or new keys) */
    VOUCH_E_POLICY_MISSING = 106,  /* no trust policy configured: fail closed */
    VOUCH_E_POLICY_ROLE = 107,     /* unknown role, or a required role without keys */
    VOUCH_E_POLICY_DEV_KEY = 108,  /* a known development/test key in a production policy */

    /* release */
    VOUCH_E_RELEASE_FORMAT = 120,  /* release credential malformed */
    VOUCH_E_RELEASE_SIGNATURES = 121, /* a required role's threshold is not met */
    VOUCH_E_RELEASE_ROLLBACK = 122,/* securityVersion below the anti-rollback floor */
    VOUCH_E_RELEASE_DIGEST = 123,  /* image digest differs from the signed one */
    VOUCH_E_RELEASE_SIZE = 124,    /* image shorter or longer than the signed size */
    VOUCH_E_RELEASE_HARDWARE = 125,/* not for this hardware */
    VOUCH_E_RELEASE_EXPIRED = 126, /* release credential expired */
    VOUCH_E_RELEASE_NOT_YET_VALID = 127, /* nbf in the future */
    VOUCH_E_RELEASE_SWDESC = 128,  /* sw-description differs from the signed digest */
    VOUCH_E_RELEASE_SAME_VERSION = 129, /* same version as installed, different content */
    VOUCH_E_RELEASE_NAME = 130,    /* unsafe file name (absolute, .., NUL, backslash, long) */
    VOUCH_E_RELEASE_SWU = 131,     /* .swu archive malformed */
    VOUCH_E_STATE = 132,           /* device state unreadable or inconsistent */
    VOUCH_E_RELEASE_LIFETIME = 133,/* release lives longer than the policy's maxReleaseLifetime */

    /* cosign */
    VOUCH_E_COSIGN_REQUEST = 150,  /* co-sign request malformed */
    VOUCH_E_COSIGN_UNKNOWN = 151,  /* build server not allowed */
    VOUCH_E_COSIGN_REVOKED = 152,  /* build server revoked */
    VOUCH_E_COSIGN_REPLAY = 153,   /* request id (jti) already used */
    VOUCH_E_COSIGN_STALE = 154,    /* request expired or issued in the future */
    VOUCH_E_COSIGN_ROLLBACK = 155, /* securityVersion below the highest co-signed */
    VOUCH_E_COSIGN_LIFETIME = 156, /* credential lifetime beyond what policy allows */
    VOUCH_E_COSIGN_RATE = 157,     /* too many requests from this build server */
    VOUCH_E_COSIGN_REFUSED = 158,  /* the co-signer refused (client side; reason in message) */
    VOUCH_E_HTTP = 159,            /* HTTP transport failure or unexpected status */
    VOUCH_E_DB = 160,              /* database failure */

    /* login */
    VOUCH_E_LOGIN_REQUEST = 170,   /* login request or response malformed */
    VOUCH_E_LOGIN_STATE = 171,     /* unknown or already used state */
    VOUCH_E_LOGIN_NONCE = 172,     /* nonce missing, unknown, expired, used or mismatched */
    VOUCH_E_LOGIN_AUDIENCE = 173,  /* aud is not this server */
    VOUCH_E_LOGIN_SUBJECT = 174,   /* iss/sub/holder/credential subject disagree or not the key */
    VOUCH_E_LOGIN_EXPIRED = 175,   /* token expired */
    VOUCH_E_LOGIN_ISSUER = 176,    /* credential issuer not trusted by the policy */
    VOUCH_E_LOGIN_CREDENTIAL_TYPE = 177, /* not a ProductionCredential */
    VOUCH_E_LOGIN_SUBMISSION = 178,/* presentation_submission does not match the definition */
    VOUCH_E_LOGIN_CONSTRAINT = 179,/* producedBy, productionDate or hardware not allowed */
    VOUCH_E_LOGIN_REVOKED = 180,   /* device revoked */
    VOUCH_E_LOGIN_CLONE = 181,     /* one device key in two sessions at once */
    VOUCH_E_LOGIN_NOT_REGISTERED = 182, /* allowlist mode: unknown device key */
    VOUCH_E_LOGIN_TOKEN = 183,     /* access token missing, unknown, expired or revoked */
    VOUCH_E_PROVISION_DUPLICATE = 184, /* serial or key already provisioned */
    VOUCH_E_LOGIN_ORIGIN = 185,    /* response_uri not of the expected origin */

    VOUCH__CODE_MAX = 255
} vouch_code;

typedef enum vouch_domain {
    VOUCH_DOMAIN_NONE = 0,
    VOUCH_DOMAIN_CORE,
    VOUCH_DOMAIN_CODEC,
    VOUCH_DOMAIN_JSON,
    VOUCH_DOMAIN_KEY,
    VOUCH_DOMAIN_JWS,
    VOUCH_DOMAIN_DID,
    VOUCH_DOMAIN_VC,
    VOUCH_DOMAIN_POLICY,
    VOUCH_DOMAIN_RELEASE,
    VOUCH_DOMAIN_COSIGN,
    VOUCH_DOMAIN_LOGIN,
    VOUCH_DOMAIN_OTHER
} vouch_domain;

#define VOUCH_ERR_MSG_MAX 256

/* An error report: the code and a human message (always NUL-terminated). */
typedef struct vouch_err {
    vouch_code code;
    char msg[VOUCH_ERR_MSG_MAX];
} vouch_err;

/* Resets *e to VOUCH_OK and an empty message. NULL is allowed. */
void vouch_err_clear(vouch_err *e);

/*
 * Records code and a printf-style message in *e (if e is not NULL) and
 * returns code, so callers write `return vouch_err_set(e, CODE, "...")`.
 * A message already set is overwritten. Never pass secrets as arguments.
 */
vouch_code vouch_err_set(vouch_err *e, vouch_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes the message in *e with "prefix: " (context as the error bubbles up). */
void vouch_err_prefix(vouch_err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* "VOUCH_E_JWS_ALG", or "VOUCH_E_UNKNOWN" for a number we never assigned. */
const char *vouch_code_name(vouch_code code);

/* One line describing the class of error; never NULL. */
const char *vouch_code_describe(vouch_code code);

/* The domain a code belongs to (by its range). */
vouch_domain vouch_code_domain(vouch_code code);

/* "core", "codec", "json", "key", "jws", "did", "vc", "policy", "release",
 * "cosign", "login", "other". */
const char *vouch_domain_name(vouch_domain d);

/*
 * Iterates over every assigned code, in order: start with *i = 0; returns
 * VOUCH_OK with no more codes (after the last), else the next code.
 */
vouch_code vouch_code_next(unsigned *i);

#ifdef __cplusplus
}
#endif
#endif
