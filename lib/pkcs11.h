/*
 * pkcs11.h - internal: RFC 7512 PKCS#11 URIs and keys that live in a token.
 * Not installed; only lib/key.c and the tests include it.
 *
 * A URI names a token (token, serial, manufacturer, model, slot-id, and the
 * library-* / slot-* attributes, all optional: the first token matching all
 * given attributes is used) and an object (object= label and/or id= bytes;
 * at least one is required). Query attributes: pin-value, pin-source
 * (file:PATH or an absolute path), module-path. Vendor attributes "x-..."
 * are ignored; any other unknown, repeated, empty or badly percent-encoded
 * attribute is VOUCH_E_KEY_PKCS11_URI.
 *
 * Module errors are VOUCH_E_KEY_PKCS11 naming the function and its CKR_
 * code; a token or object that does not exist is VOUCH_E_NOTFOUND. PINs are
 * wiped as soon as the login is done and never appear in messages.
 *
 * Modules are loaded once per path and shared (reference counted): the last
 * key freed finalizes and unloads its module. Signing on one key is
 * serialized by a mutex (a PKCS#11 session is not thread-safe).
 */
#ifndef VOUCH_LIB_PKCS11_H
#define VOUCH_LIB_PKCS11_H

#include <stddef.h>
#include <stdint.h>

#include "vouch/error.h"
#include "vouch/key.h"

#define VOUCH__P11_DEFAULT_MODULE "/usr/lib/softhsm/libsofthsm2.so"
#define VOUCH__P11_MAX_URI 4096u
#define VOUCH__P11_MAX_ID 128u

typedef enum vouch__p11_objtype {
    VOUCH__P11_ANY = 0,
    VOUCH__P11_PRIVATE,
    VOUCH__P11_PUBLIC,
    VOUCH__P11_CERT,
    VOUCH__P11_SECRET,
    VOUCH__P11_DATA
} vouch__p11_objtype;

/* A parsed URI. Strings are percent-decoded, NUL-free, vouch_malloc'd; NULL
 * when absent. pin_value is secret: vouch__p11_uri_free wipes it. */
typedef struct vouch__p11_uri {
    char *token, *manufacturer, *model, *serial;
    char *slot_description, *slot_manufacturer;
    char *library_manufacturer, *library_description;
    char *object;
    uint8_t *id;
    size_t id_len;
    int has_id;
    int has_slot_id;
    unsigned long slot_id;
    vouch__p11_objtype type;
    char *pin_value;
    char *pin_source;
    char *module_path;
} vouch__p11_uri;

/* Parses uri (must start with "pkcs11:"); on failure *u is left empty. */
vouch_code vouch__p11_uri_parse(const char *uri, vouch__p11_uri *u, vouch_err *err);
void vouch__p11_uri_free(vouch__p11_uri *u);

typedef struct vouch__p11_key vouch__p11_key;

/*
 * Opens the private key named by uri: loads the module, finds the token,
 * logs in, finds the private key and its public key. On success *out holds
 * the session, *type the key type and pub the raw public key (uncompressed
 * 65-byte point for P-256, 32 bytes for Ed25519; pubcap >= 65).
 */
vouch_code vouch__p11_open(const char *uri, vouch__p11_key **out, vouch_key_type *type,
                           uint8_t *pub, size_t pubcap, size_t *publen, vouch_err *err);

/* Generates a key pair in the token (see vouch_key_generate_pkcs11), then
 * opens it as vouch__p11_open does. */
vouch_code vouch__p11_generate(const char *uri, vouch_key_type type, vouch__p11_key **out,
                               uint8_t *pub, size_t pubcap, size_t *publen, vouch_err *err);

/* Signs inside the token: for P-256 tbs is the 32-byte SHA-256 digest
 * (CKM_ECDSA, raw r||s out), for Ed25519 the whole message (CKM_EDDSA). */
vouch_code vouch__p11_sign(vouch__p11_key *k, const uint8_t *tbs, size_t len,
                           uint8_t sig[VOUCH_SIG_LEN], vouch_err *err);

/* Reads a boolean attribute of the private key (for tests: CKA_SENSITIVE,
 * CKA_EXTRACTABLE...): 1 or 0 into *val. */
vouch_code vouch__p11_get_bool(vouch__p11_key *k, unsigned long attr, int *val, vouch_err *err);

/* Tries to read the private value (CKA_VALUE) of the key; returns
 * VOUCH_E_KEY_PKCS11 when the token refuses, as a non-extractable key must.
 * For tests only. */
vouch_code vouch__p11_try_read_private(vouch__p11_key *k, vouch_err *err);

void vouch__p11_free(vouch__p11_key *k);

/* The point in a CKA_EC_POINT value: DER OCTET STRING around it (PKCS#11
 * 2.40; SoftHSM2 2.6.1 for both curves) or the bare point. P-256: 65 or 33
 * bytes out; Ed25519: 32. Anything else is VOUCH_E_KEY_POINT. */
vouch_code vouch__p11_ec_point(const uint8_t *b, size_t n, vouch_key_type type, uint8_t *pub,
                               size_t cap, size_t *publen, vouch_err *err);

/* "CKR_PIN_INCORRECT" etc.; "CKR_VENDOR_DEFINED" or "CKR_(unknown)" for
 * values not in the standard (messages add the number). */
const char *vouch__p11_rv_name(unsigned long rv);

#endif
