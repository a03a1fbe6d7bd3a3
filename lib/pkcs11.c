/* pkcs11.c - RFC 7512 URIs and signing keys inside PKCS#11 tokens
 * (lib/pkcs11.h). Tested against SoftHSM2. */
#include "pkcs11.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <p11-kit/pkcs11.h>

#include "vouch/mem.h"

#define P11_MAX_ATTR 256u   /* longest decoded string attribute we accept */
#define P11_MAX_PIN 256u
#define P11_MAX_SLOTS 1024u /* a module reporting more is broken or hostile */

/* DER of the named curves for CKA_EC_PARAMS. */
static const uint8_t oid_p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
static const uint8_t oid_ed25519[] = {0x06, 0x03, 0x2b, 0x65, 0x70}; /* 1.3.101.112 */
/* PrintableString "edwards25519": the other form PKCS#11 3.0 allows */
static const uint8_t str_ed25519[] = {0x13, 0x0c, 'e', 'd', 'w', 'a', 'r',
                                      'd',  's',  '2', '5', '5', '1', '9'};

/* ---- return value names ---- */

struct rv_name {
    CK_RV rv;
    const char *name;
};

static const struct rv_name rv_names[] = {
#define R(x) {x, #x}
    R(CKR_OK), R(CKR_CANCEL), R(CKR_HOST_MEMORY), R(CKR_SLOT_ID_INVALID), R(CKR_GENERAL_ERROR),
    R(CKR_FUNCTION_FAILED), R(CKR_ARGUMENTS_BAD), R(CKR_NO_EVENT),
    R(CKR_NEED_TO_CREATE_THREADS), R(CKR_CANT_LOCK), R(CKR_ATTRIBUTE_READ_ONLY),
    R(CKR_ATTRIBUTE_SENSITIVE), R(CKR_ATTRIBUTE_TYPE_INVALID), R(CKR_ATTRIBUTE_VALUE_INVALID),
    R(CKR_ACTION_PROHIBITED), R(CKR_DATA_INVALID), R(CKR_DATA_LEN_RANGE), R(CKR_DEVICE_ERROR),
    R(CKR_DEVICE_MEMORY), R(CKR_DEVICE_REMOVED), R(CKR_ENCRYPTED_DATA_INVALID),
    R(CKR_ENCRYPTED_DATA_LEN_RANGE), R(CKR_FUNCTION_CANCELED), R(CKR_FUNCTION_NOT_PARALLEL),
    R(CKR_FUNCTION_NOT_SUPPORTED), R(CKR_KEY_HANDLE_INVALID), R(CKR_KEY_SIZE_RANGE),
    R(CKR_KEY_TYPE_INCONSISTENT), R(CKR_KEY_NOT_NEEDED), R(CKR_KEY_CHANGED), R(CKR_KEY_NEEDED),
    R(CKR_KEY_INDIGESTIBLE), R(CKR_KEY_FUNCTION_NOT_PERMITTED), R(CKR_KEY_NOT_WRAPPABLE),
    R(CKR_KEY_UNEXTRACTABLE), R(CKR_MECHANISM_INVALID), R(CKR_MECHANISM_PARAM_INVALID),
    R(CKR_OBJECT_HANDLE_INVALID), R(CKR_OPERATION_ACTIVE), R(CKR_OPERATION_NOT_INITIALIZED),
    R(CKR_PIN_INCORRECT), R(CKR_PIN_INVALID), R(CKR_PIN_LEN_RANGE), R(CKR_PIN_EXPIRED),
    R(CKR_PIN_LOCKED), R(CKR_SESSION_CLOSED), R(CKR_SESSION_COUNT),
    R(CKR_SESSION_HANDLE_INVALID), R(CKR_SESSION_PARALLEL_NOT_SUPPORTED),
    R(CKR_SESSION_READ_ONLY), R(CKR_SESSION_EXISTS), R(CKR_SESSION_READ_ONLY_EXISTS),
    R(CKR_SESSION_READ_WRITE_SO_EXISTS), R(CKR_SIGNATURE_INVALID), R(CKR_SIGNATURE_LEN_RANGE),
    R(CKR_TEMPLATE_INCOMPLETE), R(CKR_TEMPLATE_INCONSISTENT), R(CKR_TOKEN_NOT_PRESENT),
    R(CKR_TOKEN_NOT_RECOGNIZED), R(CKR_TOKEN_WRITE_PROTECTED),
    R(CKR_UNWRAPPING_KEY_SIZE_RANGE), R(CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT),
    R(CKR_USER_ALREADY_LOGGED_IN), R(CKR_USER_NOT_LOGGED_IN), R(CKR_USER_PIN_NOT_INITIALIZED),
    R(CKR_USER_TYPE_INVALID), R(CKR_USER_ANOTHER_ALREADY_LOGGED_IN),
    R(CKR_USER_TOO_MANY_TYPES), R(CKR_WRAPPED_KEY_INVALID), R(CKR_WRAPPED_KEY_LEN_RANGE),
    R(CKR_WRAPPING_KEY_HANDLE_INVALID), R(CKR_WRAPPING_KEY_SIZE_RANGE),
    R(CKR_WRAPPING_KEY_TYPE_INCONSISTENT), R(CKR_RANDOM_SEED_NOT_SUPPORTED),
    R(CKR_RANDOM_NO_RNG), R(CKR_DOMAIN_PARAMS_INVALID), R(CKR_CURVE_NOT_SUPPORTED),
    R(CKR_BUFFER_TOO_SMALL), R(CKR_SAVED_STATE_INVALID), R(CKR_INFORMATION_SENSITIVE),
    R(CKR_STATE_UNSAVEABLE), R(CKR_CRYPTOKI_NOT_INITIALIZED),
    R(CKR_CRYPTOKI_ALREADY_INITIALIZED), R(CKR_MUTEX_BAD), R(CKR_MUTEX_NOT_LOCKED),
    R(CKR_NEW_PIN_MODE), R(CKR_NEXT_OTP), R(CKR_EXCEEDED_MAX_ITERATIONS),
    R(CKR_FIPS_SELF_TEST_FAILED), R(CKR_LIBRARY_LOAD_FAILED), R(CKR_PIN_TOO_WEAK),
    R(CKR_PUBLIC_KEY_INVALID), R(CKR_FUNCTION_REJECTED),
#undef R
};

const char *vouch__p11_rv_name(unsigned long rv)
{
    for (size_t i = 0; i < sizeof(rv_names) / sizeof(rv_names[0]); i++)
        if (rv_names[i].rv == rv)
            return rv_names[i].name;
    return rv >= CKR_VENDOR_DEFINED ? "CKR_VENDOR_DEFINED" : "CKR_(unknown)";
}

static vouch_code rv_fail(vouch_err *err, const char *fn, CK_RV rv)
{
    return vouch_err_set(err, VOUCH_E_KEY_PKCS11, "PKCS#11 %s failed: %s (0x%lx)", fn,
                         vouch__p11_rv_name(rv), (unsigned long)rv);
}

/* ---- RFC 7512 URIs ---- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* RFC 7512 s2.3: pk11-pchar / pk11-qchar, besides unreserved and '%'. */
static int uri_char_ok(char c, int query)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
        c == '-' || c == '.' || c == '_' || c == '~')
        return 1;
    if (c != '\0' && strchr(":[]@!$'()*+,=", c))
        return 1;
    return c != '\0' && strchr(query ? "/?|" : "&", c) != NULL;
}

/* Percent-decodes v[0..n) into a new buffer (NUL-terminated); binary allows
 * NUL bytes (for id), else they are refused. */
static vouch_code pct_decode(const char *name, const char *v, size_t n, int query, int binary,
                             size_t max, uint8_t **out, size_t *outlen, vouch_err *err)
{
    uint8_t *d;
    size_t o = 0;
    vouch_code rc = VOUCH_OK;

    *out = NULL;
    if (n == 0)
        return vouch_err_set(err, VOUCH_E_KEY_PKCS11_URI, "PKCS#11 URI: %s has an empty value",
                             name);
    d = vouch_malloc(n + 1);
    if (!d)
        return vouch_err_set(err, VOUCH_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (v[i] == '%') {
            int hi, lo;
            /* two hex digits must follow, inside the value */
            if (n - i < 3 || (hi = hexval(v[i + 1])) < 0 || (lo = hexval(v[i + 2])) < 0) {
                rc = vouch_err_set(err, VOUCH_E_KEY_PKCS11_URI,
                                   "PKCS#11 URI: %s has a bad percent-encoding", name);
                goto out;
            }
            d[o] = (uint8_t)(hi << 4 | lo);
            if (d[o] == 0 && !binary) {
                rc = vouch_err_set(err, VOUCH_E_KEY_PKCS11_URI,
                                   "PKCS#11 URI: %s contains a NUL byte", name);
                goto out;
            }
            o++;
            i += 2;
        } else if (uri_char_ok(v[i], query)) {
            d[o++] = (uint8_t)v[i];
        } else {
            rc = vouch_err_set(err, VOUCH_E_KEY_PKCS11_URI,
                               "PKCS#11 URI: %s has a character that must be percent-encoded",
                               name);
            goto out;
        }
    }
    if (o > max) {
        rc = vouch_err_set(err, VOUCH_E_KEY_PKCS11_URI, "PKCS#11 URI: %s is longer than %zu bytes",
                           name, max);
        goto out;
    }
    d[o] = '\0';
    *out = d;
    *outlen = o;
out:
    if (rc != VOUCH_OK)
        vouch_free_secret(d, n + 1); /* may be a PIN */
    return rc;
}

void vouch__p11_uri_free(vouch__p11_uri *u)
{
    if (!u)
        return;
    vouch_free(u->token);
    vouch_free(u->manufacturer);
    vouch_free(u->model);
    vouch_free(u->serial);
    vouch_free(u->slot_description);
    vouch_free(u->slot_manufacturer);
    vouch_free(u->library_manufacturer);
    vouch_free(u->library_description);
    vouch_free(u->object);
    vouch_free(u->id);
    if (u->pin_value)
        vouch_free_secret(u->pin_value, strlen(u->pin_value));
    vouch_free(u->pin_source);
    vouch_free(u->module_path);
    memset(u, 0, sizeof(*u));
}

/* The string-valued attributes: name, where it may appear, and its slot. */
static char **uri_string_slot(vouch__p11_uri *u, const char *name, size_t nlen, int query)
{
    static const struct {
        const char *name;
        int query;
        size_t off;
    } tab[] = {
        {"token", 0, offsetof(vouch__p11_uri, token)},
        {"manufacturer", 0, offsetof(vouch__p11_uri, manufacturer)},
        {"model", 0, offsetof(vouch__p11_uri, model)},
        {"serial", 0, offsetof(vouch__p11_uri, serial)},
        {"slot-description", 0, offsetof(vouch__p11_uri, slot_description)},
        {"slot-manufacturer", 0, offsetof(vouch__p11_uri, slot_manufacturer)},
        {"library-manufacturer", 0, offsetof(vouch__p11_uri, library_manufacturer)},
        {"library-description", 0, offsetof(vouch__p11_uri, library_description)},
        {"object", 0, offsetof(vouch__p11_uri, object)},
        {"pin-value", 1, offsetof(vouch__p11_uri, pin_value)},
        {"pin-source", 1, offsetof(vouch__p11_uri, pin_source)},
        {"module-path", 1, offsetof(vouch__p11_uri, module_path)},
    };

    for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
        if (tab[i].query == query && strlen(tab[i].name) == nlen &&
            memcmp(tab[i].name, name, nlen) == 0)
            return (char **)((char *)u + tab[i].off);
    return NULL;
}

/* One "name=value" attribute of the path (query = 0) or query (1). */
static vouch_code uri_attr(vouch__p11_uri *u, const char *a, size_t n, int query, vouch_err *err)
{
    const char *eq = memchr(a, '=', n);
    size_t nlen, vlen;
    char name[32];
    uint8_t *val = NULL;
    char **slot;
    vouch_code rc = VOUCH_OK;

    if (n == 0)
        return vouch_err_set(err, VOUCH_E_KEY_PKCS11_URI, "PKCS#11 URI: empty attribute");
    if (!eq || eq == a)
        return vouch_err_set(err, VOUCH_E_KEY_PKCS11_URI,
                             "PKCS#11 URI: attribute %zu bytes long has no name=value", n);
    nlen = (size_t)(eq - a);
    vlen = n - nlen - 1;
    /* names are printed in messages: only the known alphabet gets that far */
    for (size_t i = 0; i < nlen; i++)
        if (!((a[i] >= 'a' && a[i] <= 'z') || (a[i] >= '0' && a[i] <= '9') || a[i] == '-'))
            return vouch_err_set(err, VOUCH_E_KEY_PKCS11_URI,
                                 "PKCS#11 URI: malformed attribute name");
    if (nlen >= 2 && a[0] == 'x' && a[1] == '-')
        return VOUCH_OK; /* RFC 7512 s2.3: vendor attributes may be ignored */
    if (nlen >= sizeof(name))
        return vouch_err_set(err, VOUCH_E_KEY_PKCS11_URI, "PKCS#11 URI: unknown attribute");
    memcpy(name, a, nlen);
    name[nlen] = '\0';
    slot = uri_string_slot(u, name, nlen, query);
    if (slot) {
        size_t dlen;
        if (*slot)
            return vouch_err_set(err, VOUCH_E_KEY_PKCS11_URI, "PKCS#11 URI: %s given twice",
                                 name);
        rc = pct_decode(name, eq + 1, vlen, query, 0, query ? PATH_MAX : P11_MAX_ATTR, &val,
                        &dlen, err);
        if (rc == VOUCH_OK)
            *slot = (char *)val;
        return rc;
    }
    if (!query && strcmp(name, "id") == 0) {
        if (u->has_id)
            return vouch_err_set(err, VOUCH_E_KEY_PKCS11_URI, "PKCS#11 URI: id given twice");
        rc = pct_decode(name, eq + 1, vlen, 0, 1, VOUCH__P11_MAX_ID, &u->id, &u->id_len, err);
        u->has_id = rc == VOUCH_OK;
        return rc;
    }
    if (!query && strcmp(name, "slot-id") == 0) {
        unsigned long v = 0;
        if (u->has_slot_id)
            return vouch_err_set(err, VOUCH_E_KEY_PKCS11_URI, "PKCS#11 URI: slot-id given twice");
        if (vlen == 0 || vlen > 19)
            return vouch_err_set(err, VOUCH_E_KEY_PKCS11_URI,
                                 "PKCS#11 URI: slot-id is not a decimal number");
        for (size_t i = 0; i < vlen; i++) {
            char c = eq[1 + i];
            if (c < '0' || c > '9' || v > (ULONG_MAX - 9) / 10)
                return vouch_err_set(err, VOUCH_E_KEY_PKCS11_URI,
                                     "PKCS#11 URI: slot-id is not a decimal number");
            v = v * 10 + (unsigned long)(c - '0');
        }
        u->slot_id = v;
        u->has_slot_id = 1;
        return VOUCH_OK;
    }
    if (!query && strcmp(name, "type") == 0) {
        static const char *const types[] = {"private", "public", "cert", "secret-key", "data"};
        static const vouch__p11_objtype tv[] = {VOUCH__P11_PRIVATE, VOUCH__P11_PUBLIC,
                                                VOUCH__P11_CERT, VOUCH__P11_SECRET,
                                                VOUCH__P11_DATA};
        if (u->type != VOUCH__P11_ANY)
            return vouch_err_set(err, VOUCH_E_KEY_PKCS11_URI, "PKCS#11 URI: type given twice");
        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
            if (strlen(types[i]) == vlen && memcmp(types[i], eq + 1, vlen) == 0)
                u->type = tv[i];
        if (u->type == VOUCH__P11_ANY)
            return vouch_err_set(err, VOUCH_E_KEY_PKCS11_URI, "PKCS#11 URI: unknown type");
        return VOUCH_OK;
    }
    if (strcmp(name, query ? "module-name" : "library-version") == 0)
        return vouch_err_set(err, VOUCH_E_KEY_PKCS11_URI, "PKCS#11 URI: %s is not supported%s",
                             name, query ? " (use module-path)" : "");
    return vouch_err_set(err, VOUCH_E_KEY_PKCS11_URI, "PKCS#11 URI: unknown %s attribute %s",
                         query ? "query" : "path", name);
}

vouch_code vouch__p11_uri_parse(const char *uri, vouch__p11_uri *u, vouch_err *err)
{
    const char *p, *end, *q;
    vouch_code rc = VOUCH_OK;
    size_t len;

    memset(u, 0, sizeof(*u));
    if (!uri)
        return vouch_err_set(err, VOUCH_E_ARG, "PKCS#11 URI is NULL");
    len = strnlen(uri, VOUCH__P11_MAX_URI + 1);
    if (len > VOUCH__P11_MAX_URI)
        return vouch_err_set(err, VOUCH_E_KEY_PKCS11_URI, "PKCS#11 URI longer than %u bytes",
                             VOUCH__P11_MAX_URI);
    if (len < 7 || strncasecmp(uri, "pkcs11:", 7) != 0)
        return vouch_err_set(err, VOUCH_E_KEY_PKCS11_URI, "not a PKCS#11 URI (no \"pkcs11:\")");
    end = uri + len;
    p = uri + 7;
    q = memchr(p, '?', (size_t)(end - p));
    if (!q)
        q = end;
    if (memchr(uri, '#', len)) {
        rc = vouch_err_set(err, VOUCH_E_KEY_PKCS11_URI, "PKCS#11 URI has a fragment");
        goto out;
    }
    /* the path may be empty ("pkcs11:?..."); otherwise ';'-separated */
    while (p < q) {
        const char *s = memchr(p, ';', (size_t)(q - p));
        if (!s)
            s = q;
        rc = uri_attr(u, p, (size_t)(s - p), 0, err);
        if (rc != VOUCH_OK)
            goto out;
        if (s < q && s + 1 == q) {
            rc = vouch_err_set(err, VOUCH_E_KEY_PKCS11_URI, "PKCS#11 URI: trailing ';'");
            goto out;
        }
        p = s < q ? s + 1 : q;
    }
    if (q < end) {
        p = q + 1;
        if (p == end) {
            rc = vouch_err_set(err, VOUCH_E_KEY_PKCS11_URI, "PKCS#11 URI: empty query");
            goto out;
        }
        while (p < end) {
            const char *s = memchr(p, '&', (size_t)(end - p));
            if (!s)
                s = end;
            rc = uri_attr(u, p, (size_t)(s - p), 1, err);
            if (rc != VOUCH_OK)
                goto out;
            if (s < end && s + 1 == end) {
                rc = vouch_err_set(err, VOUCH_E_KEY_PKCS11_URI, "PKCS#11 URI: trailing '&'");
                goto out;
            }
            p = s < end ? s + 1 : end;
        }
    }
    if (u->pin_value && u->pin_source)
        rc = vouch_err_set(err, VOUCH_E_KEY_PKCS11_URI,
                           "PKCS#11 URI: both pin-value and pin-source");
out:
    if (rc != VOUCH_OK)
        vouch__p11_uri_free(u);
    return rc;
}

/* ---- modules ---- */

struct p11_module {
    struct p11_module *next;
    char *path;
    void *dl;
    CK_FUNCTION_LIST_PTR f;
    unsigned refs;
    int finalize; /* we initialized it, so we finalize it */
};

static pthread_mutex_t modules_lock = PTHREAD_MUTEX_INITIALIZER;
static struct p11_module *modules;

static void module_put(struct p11_module *m)
{
    struct p11_module **pp;

    if (!m)
        return;
    pthread_mutex_lock(&modules_lock);
    if (--m->refs == 0) {
        for (pp = &modules; *pp; pp = &(*pp)->next)
            if (*pp == m) {
                *pp = m->next;
                break;
            }
        if (m->finalize)
            m->f->C_Finalize(NULL);
        dlclose(m->dl);
        vouch_free(m->path);
        vouch_free(m);
    }
    pthread_mutex_unlock(&modules_lock);
}

static vouch_code module_get(const char *path, struct p11_module **out, vouch_err *err)
{
    struct p11_module *m;
    CK_C_GetFunctionList getfl;
    CK_C_INITIALIZE_ARGS args;
    CK_RV rv;
    vouch_code rc = VOUCH_OK;

    *out = NULL;
    pthread_mutex_lock(&modules_lock);
    for (m = modules; m; m = m->next)
        if (strcmp(m->path, path) == 0) {
            m->refs++;
            *out = m;
            goto out;
        }
    m = vouch_calloc(1, sizeof(*m));
    if (!m || !(m->path = vouch_strdup(path))) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory");
        goto fail;
    }
    m->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!m->dl) {
        rc = vouch_err_set(err, VOUCH_E_KEY_PKCS11, "cannot load PKCS#11 module %s: %s", path,
                           dlerror());
        goto fail;
    }
    *(void **)&getfl = dlsym(m->dl, "C_GetFunctionList");
    if (!getfl) {
        rc = vouch_err_set(err, VOUCH_E_KEY_PKCS11, "%s is not a PKCS#11 module", path);
        goto fail;
    }
    rv = getfl(&m->f);
    if (rv != CKR_OK || !m->f) {
        rc = rv_fail(err, "C_GetFunctionList", rv);
        goto fail;
    }
    memset(&args, 0, sizeof(args));
    args.flags = CKF_OS_LOCKING_OK; /* we sign from several threads */
    rv = m->f->C_Initialize(&args);
    if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
        rc = rv_fail(err, "C_Initialize", rv);
        goto fail;
    }
    m->finalize = rv == CKR_OK;
    m->refs = 1;
    m->next = modules;
    modules = m;
    *out = m;
    goto out;
fail:
    if (m) {
        if (m->dl)
            dlclose(m->dl);
        vouch_free(m->path);
        vouch_free(m);
    }
out:
    pthread_mutex_unlock(&modules_lock);
    return rc;
}

/* ---- tokens, sessions, objects ---- */

struct vouch__p11_key {
    struct p11_module *mod;
    CK_SESSION_HANDLE session;
    int open;
    CK_OBJECT_HANDLE priv;
    vouch_key_type type;
    pthread_mutex_t lock;
};

/* RFC 7512 s2.3: a fixed-size, blank-padded token field matches value when
 * equal after the padding is removed. */
static int padded_eq(const unsigned char *field, size_t size, const char *value)
{
    size_t n;

    if (!value)
        return 1;
    n = strlen(value);
    if (n > size || memcmp(field, value, n) != 0)
        return 0;
    for (size_t i = n; i < size; i++)
        if (field[i] != ' ')
            return 0;
    return 1;
}

static vouch_code find_slot(struct p11_module *m, const vouch__p11_uri *u, CK_SLOT_ID *slot,
                            CK_FLAGS *tflags, vouch_err *err)
{
    CK_SLOT_ID *slots = NULL;
    CK_ULONG n = 0;
    CK_INFO info;
    CK_RV rv;
    vouch_code rc;

    if (u->library_manufacturer || u->library_description) {
        rv = m->f->C_GetInfo(&info);
        if (rv != CKR_OK)
            return rv_fail(err, "C_GetInfo", rv);
        if (!padded_eq(info.manufacturerID, sizeof(info.manufacturerID),
                       u->library_manufacturer) ||
            !padded_eq(info.libraryDescription, sizeof(info.libraryDescription),
                       u->library_description))
            return vouch_err_set(err, VOUCH_E_NOTFOUND,
                                 "PKCS#11 module does not match the URI's library attributes");
    }
    rv = m->f->C_GetSlotList(CK_TRUE, NULL, &n);
    if (rv != CKR_OK)
        return rv_fail(err, "C_GetSlotList", rv);
    if (n > P11_MAX_SLOTS)
        return vouch_err_set(err, VOUCH_E_KEY_PKCS11, "PKCS#11 module reports %lu slots", n);
    rc = VOUCH_E_NOTFOUND; /* until a slot matches */
    if (n == 0)
        goto out;
    slots = vouch_calloc(n, sizeof(*slots));
    if (!slots) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory");
        goto out;
    }
    rv = m->f->C_GetSlotList(CK_TRUE, slots, &n);
    if (rv != CKR_OK) {
        rc = rv_fail(err, "C_GetSlotList", rv);
        goto out;
    }
    for (CK_ULONG i = 0; i < n; i++) {
        CK_TOKEN_INFO ti;
        CK_SLOT_INFO si;
        if (u->has_slot_id && slots[i] != u->slot_id)
            continue;
        if (m->f->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
            continue;
        if (!padded_eq(ti.label, sizeof(ti.label), u->token) ||
            !padded_eq(ti.manufacturerID, sizeof(ti.manufacturerID), u->manufacturer) ||
            !padded_eq(ti.model, sizeof(ti.model), u->model) ||
            !padded_eq(ti.serialNumber, sizeof(ti.serialNumber), u->serial))
            continue;
        if (u->slot_description || u->slot_manufacturer) {
            if (m->f->C_GetSlotInfo(slots[i], &si) != CKR_OK ||
                !padded_eq(si.slotDescription, sizeof(si.slotDescription),
                           u->slot_description) ||
                !padded_eq(si.manufacturerID, sizeof(si.manufacturerID), u->slot_manufacturer))
                continue;
        }
        *slot = slots[i];
        *tflags = ti.flags;
        rc = VOUCH_OK;
        break;
    }
out:
    if (rc == VOUCH_E_NOTFOUND)
        vouch_err_set(err, rc, "no PKCS#11 token matches%s%s%s", u->token ? " token \"" : "",
                      u->token ? u->token : "", u->token ? "\"" : "");
    vouch_free(slots);
    return rc;
}

/* The PIN from the URI, its pin-source file, or $VOUCH_PKCS11_PIN; NULL
 * in *pin when there is none. */
static vouch_code get_pin(const vouch__p11_uri *u, char **pin, size_t *len, vouch_err *err)
{
    const char *env;
    unsigned char *buf = NULL;
    size_t n = 0;
    vouch_code rc;

    *pin = NULL;
    *len = 0;
    if (u->pin_value) {
        *pin = vouch_strdup(u->pin_value);
        n = strlen(u->pin_value);
    } else if (u->pin_source) {
        const char *path = u->pin_source;
        if (strncmp(path, "file:", 5) == 0)
            path += 5;
        if (path[0] != '/')
            return vouch_err_set(err, VOUCH_E_KEY_PKCS11_URI,
                                 "PKCS#11 URI: pin-source must be file:/absolute/path");
        rc = vouch_file_read(path, P11_MAX_PIN, &buf, &n, err);
        if (rc != VOUCH_OK) {
            vouch_err_prefix(err, "pin-source");
            return rc;
        }
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
            buf[--n] = '\0';
        *pin = (char *)buf;
        *len = n;
        return VOUCH_OK;
    } else if ((env = getenv("VOUCH_PKCS11_PIN")) != NULL) {
        *pin = vouch_strdup(env);
        n = strlen(env);
    } else {
        return VOUCH_OK;
    }
    if (!*pin)
        return vouch_err_set(err, VOUCH_E_NOMEM, "out of memory");
    *len = n;
    return VOUCH_OK;
}

static vouch_code login(struct p11_module *m, CK_SESSION_HANDLE s, const vouch__p11_uri *u,
                        CK_FLAGS tflags, vouch_err *err)
{
    char *pin = NULL;
    size_t n = 0;
    CK_RV rv;
    vouch_code rc;

    rc = get_pin(u, &pin, &n, err);
    if (rc != VOUCH_OK)
        return rc;
    if (!pin) {
        if (tflags & CKF_LOGIN_REQUIRED)
            return vouch_err_set(err, VOUCH_E_KEY_PKCS11,
                                 "PKCS#11 token needs a PIN: give pin-value or pin-source in "
                                 "the URI, or set VOUCH_PKCS11_PIN");
        return VOUCH_OK;
    }
    rv = m->f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pin, n);
    vouch_free_secret(pin, n + 1);
    if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN)
        return rv_fail(err, "C_Login", rv);
    return VOUCH_OK;
}

/* Up to max handles of objects matching tmpl into h; count into *found. */
static vouch_code find_objects(struct p11_module *m, CK_SESSION_HANDLE s, CK_ATTRIBUTE *tmpl,
                               CK_ULONG nt, CK_OBJECT_HANDLE *h, CK_ULONG max, CK_ULONG *found,
                               vouch_err *err)
{
    CK_RV rv;

    *found = 0;
    rv = m->f->C_FindObjectsInit(s, tmpl, nt);
    if (rv != CKR_OK)
        return rv_fail(err, "C_FindObjectsInit", rv);
    rv = m->f->C_FindObjects(s, h, max, found);
    m->f->C_FindObjectsFinal(s);
    if (rv != CKR_OK)
        return rv_fail(err, "C_FindObjects", rv);
    return VOUCH_OK;
}

/* Reads a variable-length attribute into a new buffer. */
static vouch_code get_attr(struct p11_module *m, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
                           CK_ATTRIBUTE_TYPE type, const char *what, uint8_t **out, size_t *len,
                           vouch_err *err)
{
    CK_ATTRIBUTE a = {type, NULL, 0};
    CK_RV rv;

    *out = NULL;
    *len = 0;
    rv = m->f->C_GetAttributeValue(s, o, &a, 1);
    if (rv != CKR_OK)
        return vouch_err_set(err, VOUCH_E_KEY_PKCS11, "PKCS#11 C_GetAttributeValue(%s) failed: %s",
                             what, vouch__p11_rv_name(rv));
    if (a.ulValueLen == (CK_ULONG)-1 || a.ulValueLen > 4096)
        return vouch_err_set(err, VOUCH_E_KEY_PKCS11, "PKCS#11 %s has an unusable length", what);
    if (a.ulValueLen == 0)
        return VOUCH_OK;
    a.pValue = vouch_malloc(a.ulValueLen);
    if (!a.pValue)
        return vouch_err_set(err, VOUCH_E_NOMEM, "out of memory");
    rv = m->f->C_GetAttributeValue(s, o, &a, 1);
    if (rv != CKR_OK) {
        vouch_free(a.pValue);
        return vouch_err_set(err, VOUCH_E_KEY_PKCS11, "PKCS#11 C_GetAttributeValue(%s) failed: %s",
                             what, vouch__p11_rv_name(rv));
    }
    *out = a.pValue;
    *len = a.ulValueLen;
    return VOUCH_OK;
}

/* CKA_EC_POINT: a DER OCTET STRING around the point (PKCS#11 2.40), or the
 * bare point as some tokens store it; the sizes tell them apart since no
 * bare point has a length byte equal to its remaining length. */
vouch_code vouch__p11_ec_point(const uint8_t *b, size_t n, vouch_key_type type, uint8_t *pub,
                               size_t cap, size_t *publen, vouch_err *err)
{
    size_t want = type == VOUCH_KEY_P256 ? 65 : 32;

    if (n == want + 2 && b[0] == 0x04 && b[1] == want) {
        b += 2;
        n -= 2;
    } else if (type == VOUCH_KEY_P256 && n == 33 + 2 && b[0] == 0x04 && b[1] == 33) {
        b += 2;
        n -= 2;
    }
    if (!(n == want || (type == VOUCH_KEY_P256 && n == 33)) || n > cap)
        return vouch_err_set(err, VOUCH_E_KEY_POINT, "PKCS#11 CKA_EC_POINT of %zu bytes", n);
    memcpy(pub, b, n);
    *publen = n;
    return VOUCH_OK;
}

/* Decides the key type from CKA_KEY_TYPE and CKA_EC_PARAMS. */
static vouch_code key_type_of(struct p11_module *m, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
                              vouch_key_type *type, vouch_err *err)
{
    CK_KEY_TYPE kt = 0;
    CK_ATTRIBUTE a = {CKA_KEY_TYPE, &kt, sizeof(kt)};
    uint8_t *params = NULL;
    size_t n = 0;
    CK_RV rv;
    vouch_code rc;

    rv = m->f->C_GetAttributeValue(s, o, &a, 1);
    if (rv != CKR_OK)
        return rv_fail(err, "C_GetAttributeValue(CKA_KEY_TYPE)", rv);
    if (kt != CKK_EC && kt != CKK_EC_EDWARDS)
        return vouch_err_set(err, VOUCH_E_KEY_TYPE, "PKCS#11 key type 0x%lx is not EC or EdDSA",
                             (unsigned long)kt);
    rc = get_attr(m, s, o, CKA_EC_PARAMS, "CKA_EC_PARAMS", &params, &n, err);
    if (rc != VOUCH_OK)
        return rc;
    if (kt == CKK_EC && n == sizeof(oid_p256) && memcmp(params, oid_p256, n) == 0)
        *type = VOUCH_KEY_P256;
    else if (kt == CKK_EC_EDWARDS &&
             ((n == sizeof(oid_ed25519) && memcmp(params, oid_ed25519, n) == 0) ||
              (n == sizeof(str_ed25519) && memcmp(params, str_ed25519, n) == 0)))
        *type = VOUCH_KEY_ED25519;
    else
        rc = vouch_err_set(err, VOUCH_E_KEY_TYPE,
                           "PKCS#11 key is on a curve other than P-256 or Ed25519");
    vouch_free(params);
    return rc;
}

/* Finds the private key of the URI and the public key that goes with it. */
static vouch_code find_key(vouch__p11_key *k, const vouch__p11_uri *u, uint8_t *pub,
                           size_t pubcap, size_t *publen, vouch_err *err)
{
    struct p11_module *m = k->mod;
    CK_OBJECT_CLASS priv_class = CKO_PRIVATE_KEY, pub_class = CKO_PUBLIC_KEY;
    CK_ATTRIBUTE t[3];
    CK_ULONG nt = 0, found = 0;
    CK_OBJECT_HANDLE h[2], ph[2];
    uint8_t *id = NULL, *label = NULL, *point = NULL;
    size_t idlen = 0, labellen = 0, pointlen = 0;
    vouch_code rc;

    t[nt++] = (CK_ATTRIBUTE){CKA_CLASS, &priv_class, sizeof(priv_class)};
    if (u->object)
        t[nt++] = (CK_ATTRIBUTE){CKA_LABEL, u->object, strlen(u->object)};
    if (u->has_id)
        t[nt++] = (CK_ATTRIBUTE){CKA_ID, u->id, u->id_len};
    rc = find_objects(m, k->session, t, nt, h, 2, &found, err);
    if (rc != VOUCH_OK)
        goto out;
    if (found == 0) {
        rc = vouch_err_set(err, VOUCH_E_NOTFOUND, "no PKCS#11 private key%s%s%s in the token",
                           u->object ? " \"" : "", u->object ? u->object : "",
                           u->object ? "\"" : "");
        goto out;
    }
    if (found > 1) {
        rc = vouch_err_set(err, VOUCH_E_KEY_PKCS11,
                           "the PKCS#11 URI matches more than one private key");
        goto out;
    }
    k->priv = h[0];
    rc = key_type_of(m, k->session, k->priv, &k->type, err);
    if (rc != VOUCH_OK)
        goto out;
    /* the public key: same CKA_ID if the key has one, else the same label */
    rc = get_attr(m, k->session, k->priv, CKA_ID, "CKA_ID", &id, &idlen, err);
    if (rc == VOUCH_OK && idlen == 0)
        rc = get_attr(m, k->session, k->priv, CKA_LABEL, "CKA_LABEL", &label, &labellen, err);
    if (rc != VOUCH_OK)
        goto out;
    if (idlen == 0 && labellen == 0) {
        rc = vouch_err_set(err, VOUCH_E_KEY_PKCS11,
                           "PKCS#11 private key has neither id nor label to find its public key");
        goto out;
    }
    nt = 0;
    t[nt++] = (CK_ATTRIBUTE){CKA_CLASS, &pub_class, sizeof(pub_class)};
    if (idlen)
        t[nt++] = (CK_ATTRIBUTE){CKA_ID, id, idlen};
    else
        t[nt++] = (CK_ATTRIBUTE){CKA_LABEL, label, labellen};
    rc = find_objects(m, k->session, t, nt, ph, 2, &found, err);
    if (rc != VOUCH_OK)
        goto out;
    if (found != 1) {
        rc = vouch_err_set(err, found ? VOUCH_E_KEY_PKCS11 : VOUCH_E_NOTFOUND,
                           "%s public key object for the PKCS#11 private key",
                           found ? "more than one" : "no");
        goto out;
    }
    rc = get_attr(m, k->session, ph[0], CKA_EC_POINT, "CKA_EC_POINT", &point, &pointlen, err);
    if (rc == VOUCH_OK)
        rc = vouch__p11_ec_point(point, pointlen, k->type, pub, pubcap, publen, err);
out:
    vouch_free(id);
    vouch_free(label);
    vouch_free(point);
    return rc;
}

/* Refuses when any object already has the label or id we would give. */
static vouch_code check_free_name(vouch__p11_key *k, const vouch__p11_uri *u, vouch_err *err)
{
    CK_ATTRIBUTE t;
    CK_OBJECT_HANDLE h;
    CK_ULONG found = 0;
    vouch_code rc = VOUCH_OK;

    if (u->object) {
        t = (CK_ATTRIBUTE){CKA_LABEL, u->object, strlen(u->object)};
        rc = find_objects(k->mod, k->session, &t, 1, &h, 1, &found, err);
        if (rc == VOUCH_OK && found)
            return vouch_err_set(err, VOUCH_E_EXISTS, "a PKCS#11 object labelled \"%s\" exists",
                                 u->object);
    }
    if (rc == VOUCH_OK && u->has_id) {
        t = (CK_ATTRIBUTE){CKA_ID, u->id, u->id_len};
        rc = find_objects(k->mod, k->session, &t, 1, &h, 1, &found, err);
        if (rc == VOUCH_OK && found)
            return vouch_err_set(err, VOUCH_E_EXISTS, "a PKCS#11 object with that id exists");
    }
    return rc;
}

static vouch_code generate_pair(vouch__p11_key *k, const vouch__p11_uri *u, vouch_key_type type,
                                vouch_err *err)
{
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_KEY_TYPE kt = type == VOUCH_KEY_P256 ? CKK_EC : CKK_EC_EDWARDS;
    CK_MECHANISM mech = {type == VOUCH_KEY_P256 ? CKM_EC_KEY_PAIR_GEN
                                                : CKM_EC_EDWARDS_KEY_PAIR_GEN,
                         NULL, 0};
    CK_OBJECT_HANDLE hpub, hpriv;
    CK_ATTRIBUTE pubt[10], privt[14];
    CK_ULONG np = 0, nv = 0;
    CK_RV rv;
    int tries = type == VOUCH_KEY_ED25519 ? 2 : 1;

    pubt[np++] = (CK_ATTRIBUTE){CKA_TOKEN, &yes, sizeof(yes)};
    pubt[np++] = (CK_ATTRIBUTE){CKA_VERIFY, &yes, sizeof(yes)};
    /* a signing key does nothing else: tokens default some of these to true */
    pubt[np++] = (CK_ATTRIBUTE){CKA_ENCRYPT, &no, sizeof(no)};
    pubt[np++] = (CK_ATTRIBUTE){CKA_WRAP, &no, sizeof(no)};
    pubt[np++] = (CK_ATTRIBUTE){CKA_KEY_TYPE, &kt, sizeof(kt)};
    pubt[np++] = (CK_ATTRIBUTE){CKA_EC_PARAMS,
                                (void *)(type == VOUCH_KEY_P256 ? oid_p256 : oid_ed25519),
                                type == VOUCH_KEY_P256 ? sizeof(oid_p256) : sizeof(oid_ed25519)};
    privt[nv++] = (CK_ATTRIBUTE){CKA_TOKEN, &yes, sizeof(yes)};
    privt[nv++] = (CK_ATTRIBUTE){CKA_PRIVATE, &yes, sizeof(yes)};
    privt[nv++] = (CK_ATTRIBUTE){CKA_SENSITIVE, &yes, sizeof(yes)};
    privt[nv++] = (CK_ATTRIBUTE){CKA_EXTRACTABLE, &no, sizeof(no)};
    privt[nv++] = (CK_ATTRIBUTE){CKA_SIGN, &yes, sizeof(yes)};
    privt[nv++] = (CK_ATTRIBUTE){CKA_DECRYPT, &no, sizeof(no)};
    privt[nv++] = (CK_ATTRIBUTE){CKA_UNWRAP, &no, sizeof(no)};
    privt[nv++] = (CK_ATTRIBUTE){CKA_DERIVE, &no, sizeof(no)};
    privt[nv++] = (CK_ATTRIBUTE){CKA_KEY_TYPE, &kt, sizeof(kt)};
    if (u->object) {
        pubt[np++] = (CK_ATTRIBUTE){CKA_LABEL, u->object, strlen(u->object)};
        privt[nv++] = (CK_ATTRIBUTE){CKA_LABEL, u->object, strlen(u->object)};
    }
    if (u->has_id) {
        pubt[np++] = (CK_ATTRIBUTE){CKA_ID, u->id, u->id_len};
        privt[nv++] = (CK_ATTRIBUTE){CKA_ID, u->id, u->id_len};
    }
    for (;;) {
        rv = k->mod->f->C_GenerateKeyPair(k->session, &mech, pubt, np, privt, nv, &hpub, &hpriv);
        /* PKCS#11 3.0 names Edwards curves by OID or by PrintableString;
         * tokens accept one or the other */
        if (rv == CKR_OK || --tries == 0 ||
            (rv != CKR_ATTRIBUTE_VALUE_INVALID && rv != CKR_CURVE_NOT_SUPPORTED &&
             rv != CKR_DOMAIN_PARAMS_INVALID && rv != CKR_TEMPLATE_INCONSISTENT))
            break;
        pubt[3].pValue = (void *)str_ed25519;
        pubt[3].ulValueLen = sizeof(str_ed25519);
    }
    if (rv != CKR_OK)
        return rv_fail(err, "C_GenerateKeyPair", rv);
    return VOUCH_OK;
}

void vouch__p11_free(vouch__p11_key *k)
{
    if (!k)
        return;
    if (k->open)
        k->mod->f->C_CloseSession(k->session);
    module_put(k->mod);
    pthread_mutex_destroy(&k->lock);
    vouch_free_secret(k, sizeof(*k));
}

static vouch_code p11_open(const char *uri, int generate, vouch_key_type gen_type,
                           vouch__p11_key **out, vouch_key_type *type, uint8_t *pub,
                           size_t pubcap, size_t *publen, vouch_err *err)
{
    vouch__p11_uri u;
    vouch__p11_key *k = NULL;
    const char *module;
    CK_SLOT_ID slot = 0;
    CK_FLAGS tflags = 0;
    CK_RV rv;
    vouch_code rc;

    *out = NULL;
    rc = vouch__p11_uri_parse(uri, &u, err);
    if (rc != VOUCH_OK)
        return rc;
    if (!u.object && !u.has_id) {
        rc = vouch_err_set(err, VOUCH_E_KEY_PKCS11_URI,
                           "PKCS#11 URI names no key: give object= or id=");
        goto out;
    }
    if (u.type != VOUCH__P11_ANY && u.type != VOUCH__P11_PRIVATE) {
        rc = vouch_err_set(err, VOUCH_E_KEY_PKCS11_URI,
                           "PKCS#11 URI: a signing key needs type=private (or no type)");
        goto out;
    }
    module = u.module_path ? u.module_path : getenv("VOUCH_PKCS11_MODULE");
    if (!module || !*module)
        module = VOUCH__P11_DEFAULT_MODULE;
    k = vouch_calloc(1, sizeof(*k));
    if (!k) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory");
        goto out;
    }
    if (pthread_mutex_init(&k->lock, NULL) != 0) {
        vouch_free(k);
        k = NULL;
        rc = vouch_err_set(err, VOUCH_E_INTERNAL, "cannot create a mutex");
        goto out;
    }
    rc = module_get(module, &k->mod, err);
    if (rc != VOUCH_OK)
        goto out;
    rc = find_slot(k->mod, &u, &slot, &tflags, err);
    if (rc != VOUCH_OK)
        goto out;
    rv = k->mod->f->C_OpenSession(slot, CKF_SERIAL_SESSION | (generate ? CKF_RW_SESSION : 0),
                                  NULL, NULL, &k->session);
    if (rv != CKR_OK) {
        rc = rv_fail(err, "C_OpenSession", rv);
        goto out;
    }
    k->open = 1;
    rc = login(k->mod, k->session, &u, tflags, err);
    if (rc != VOUCH_OK)
        goto out;
    if (generate) {
        rc = check_free_name(k, &u, err);
        if (rc == VOUCH_OK)
            rc = generate_pair(k, &u, gen_type, err);
        if (rc != VOUCH_OK)
            goto out;
    }
    rc = find_key(k, &u, pub, pubcap, publen, err);
    if (rc != VOUCH_OK)
        goto out;
    if (generate && k->type != gen_type) {
        rc = vouch_err_set(err, VOUCH_E_KEY_PKCS11, "the token made a key of another type");
        goto out;
    }
    *type = k->type;
    *out = k;
    k = NULL;
out:
    vouch__p11_free(k);
    vouch__p11_uri_free(&u);
    return rc;
}

vouch_code vouch__p11_open(const char *uri, vouch__p11_key **out, vouch_key_type *type,
                           uint8_t *pub, size_t pubcap, size_t *publen, vouch_err *err)
{
    return p11_open(uri, 0, VOUCH_KEY_NONE, out, type, pub, pubcap, publen, err);
}

vouch_code vouch__p11_generate(const char *uri, vouch_key_type type, vouch__p11_key **out,
                               uint8_t *pub, size_t pubcap, size_t *publen, vouch_err *err)
{
    vouch_key_type got;
    return p11_open(uri, 1, type, out, &got, pub, pubcap, publen, err);
}

vouch_code vouch__p11_sign(vouch__p11_key *k, const uint8_t *tbs, size_t len,
                           uint8_t sig[VOUCH_SIG_LEN], vouch_err *err)
{
    CK_MECHANISM mech = {k->type == VOUCH_KEY_P256 ? CKM_ECDSA : CKM_EDDSA, NULL, 0};
    /* room for any signature, so C_Sign never stops at CKR_BUFFER_TOO_SMALL
     * and leaves the operation active */
    uint8_t buf[256];
    CK_ULONG n = sizeof(buf);
    CK_RV rv;
    vouch_code rc = VOUCH_OK;

    pthread_mutex_lock(&k->lock);
    rv = k->mod->f->C_SignInit(k->session, &mech, k->priv);
    if (rv != CKR_OK) {
        rc = rv_fail(err, "C_SignInit", rv);
        goto out;
    }
    rv = k->mod->f->C_Sign(k->session, (CK_BYTE_PTR)tbs, len, buf, &n);
    if (rv != CKR_OK) {
        rc = rv_fail(err, "C_Sign", rv);
        goto out;
    }
    if (n != VOUCH_SIG_LEN) {
        rc = vouch_err_set(err, VOUCH_E_KEY_PKCS11, "PKCS#11 signature is %lu bytes, not 64",
                           (unsigned long)n);
        goto out;
    }
    memcpy(sig, buf, VOUCH_SIG_LEN);
out:
    pthread_mutex_unlock(&k->lock);
    return rc;
}

vouch_code vouch__p11_get_bool(vouch__p11_key *k, unsigned long attr, int *val, vouch_err *err)
{
    CK_BBOOL b = CK_FALSE;
    CK_ATTRIBUTE a = {attr, &b, sizeof(b)};
    CK_RV rv;

    pthread_mutex_lock(&k->lock);
    rv = k->mod->f->C_GetAttributeValue(k->session, k->priv, &a, 1);
    pthread_mutex_unlock(&k->lock);
    if (rv != CKR_OK)
        return rv_fail(err, "C_GetAttributeValue", rv);
    *val = b == CK_TRUE;
    return VOUCH_OK;
}

vouch_code vouch__p11_try_read_private(vouch__p11_key *k, vouch_err *err)
{
    uint8_t buf[128];
    CK_ATTRIBUTE a = {CKA_VALUE, buf, sizeof(buf)};
    CK_RV rv;

    pthread_mutex_lock(&k->lock);
    rv = k->mod->f->C_GetAttributeValue(k->session, k->priv, &a, 1);
    pthread_mutex_unlock(&k->lock);
    vouch_wipe(buf, sizeof(buf));
    if (rv != CKR_OK)
        return rv_fail(err, "C_GetAttributeValue(CKA_VALUE)", rv);
    if (a.ulValueLen == (CK_ULONG)-1)
        return vouch_err_set(err, VOUCH_E_KEY_PKCS11, "PKCS#11 CKA_VALUE is unavailable");
    return VOUCH_OK;
}
