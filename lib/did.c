/* did.c - the did:key method for Ed25519 and P-256 keys (vouch/did.h). */
#include "vouch/did.h"

#include <pthread.h>
#include <string.h>

#include "vouch/codec.h"
#include "vouch/json.h"
#include "vouch/mem.h"

#define DID_KEY_PREFIX "did:key:"

/* Multicodec varints (unsigned LEB128): ed25519-pub 0xed, p256-pub 0x1200. */
static const uint8_t mc_ed25519[2] = {0xed, 0x01};
static const uint8_t mc_p256[2] = {0x80, 0x24};

vouch_code vouch_did_key_encode(const vouch_key *k, char **out, vouch_err *err)
{
    uint8_t buf[2 + 33];
    size_t n = 0;
    char *mb = NULL, *did = NULL;
    vouch_code rc;

    if (!k || !out)
        return vouch_err_set(err, VOUCH_E_ARG, "vouch_did_key_encode: NULL argument");
    *out = NULL;
    rc = vouch_key_public_raw(k, buf + 2, sizeof(buf) - 2, &n, err);
    if (rc != VOUCH_OK)
        goto out;
    memcpy(buf, vouch_key_get_type(k) == VOUCH_KEY_P256 ? mc_p256 : mc_ed25519, 2);
    rc = vouch_multibase_encode(buf, n + 2, &mb, err);
    if (rc != VOUCH_OK)
        goto out;
    did = vouch_malloc(sizeof(DID_KEY_PREFIX) + strlen(mb));
    if (!did) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory");
        goto out;
    }
    memcpy(did, DID_KEY_PREFIX, sizeof(DID_KEY_PREFIX) - 1);
    memcpy(did + sizeof(DID_KEY_PREFIX) - 1, mb, strlen(mb) + 1);
    *out = did;
out:
    vouch_free(mb);
    return rc;
}

/* Splits did into its method-specific id [*id, *id + *idlen): checks the
 * DID syntax, the method, and the cap; drops a "#fragment". */
static vouch_code did_key_split(const char *did, const char **id, size_t *idlen, vouch_err *err)
{
    size_t len, i;
    const char *m, *hash;

    if (!did)
        return vouch_err_set(err, VOUCH_E_ARG, "DID is NULL");
    len = strnlen(did, VOUCH_DID_MAX + 1);
    if (len > VOUCH_DID_MAX)
        return vouch_err_set(err, VOUCH_E_LIMIT, "DID longer than %u bytes", VOUCH_DID_MAX);
    hash = memchr(did, '#', len);
    if (hash)
        len = (size_t)(hash - did);
    if (len < 4 || memcmp(did, "did:", 4) != 0)
        return vouch_err_set(err, VOUCH_E_DID_SYNTAX, "not a DID (no \"did:\" prefix)");
    /* DID Core: method-name = 1*method-char (lower-case letters, digits) */
    m = did + 4;
    for (i = 0; 4 + i < len && m[i] != ':'; i++)
        if (!((m[i] >= 'a' && m[i] <= 'z') || (m[i] >= '0' && m[i] <= '9')))
            return vouch_err_set(err, VOUCH_E_DID_SYNTAX, "DID method name is malformed");
    if (i == 0 || 4 + i >= len || 4 + i + 1 == len)
        return vouch_err_set(err, VOUCH_E_DID_SYNTAX, "not a DID (did:<method>:<id>)");
    if (i != 3 || memcmp(m, "key", 3) != 0)
        return vouch_err_set(err, VOUCH_E_DID_METHOD, "DID method is not \"key\"");
    *id = did + 8;
    *idlen = len - 8;
    return VOUCH_OK;
}

/* Decodes the method-specific id to a key. */
static vouch_code did_key_id_decode(const char *id, size_t idlen, vouch_key **out, vouch_err *err)
{
    uint8_t *raw = NULL;
    size_t n = 0;
    vouch_key_type type;
    vouch_err sub;
    vouch_code rc;

    *out = NULL;
    if (idlen == 0 || id[0] != 'z')
        return vouch_err_set(err, VOUCH_E_KEY_DIDKEY,
                             "did:key value is not multibase base58btc ('z')");
    vouch_err_clear(&sub);
    rc = vouch_b58_decode(id + 1, idlen - 1, &raw, &n, &sub);
    if (rc != VOUCH_OK) {
        /* out of memory stays what it is; anything else is a bad did:key */
        rc = vouch_err_set(err, rc == VOUCH_E_NOMEM ? rc : VOUCH_E_KEY_DIDKEY,
                           "did:key value is not base58btc: %s", sub.msg);
        goto out;
    }
    /* exact prefixes: a longer (non-minimal) varint for the same code is refused */
    if (n >= 2 && memcmp(raw, mc_ed25519, 2) == 0)
        type = VOUCH_KEY_ED25519;
    else if (n >= 2 && memcmp(raw, mc_p256, 2) == 0)
        type = VOUCH_KEY_P256;
    else {
        rc = vouch_err_set(err, VOUCH_E_KEY_DIDKEY,
                           "did:key multicodec is not ed25519-pub (0xed) or p256-pub (0x1200)");
        goto out;
    }
    if (n - 2 != (type == VOUCH_KEY_P256 ? 33u : 32u)) {
        rc = vouch_err_set(err, VOUCH_E_KEY_DIDKEY, "did:key %s key is %zu bytes, not %u",
                           type == VOUCH_KEY_P256 ? "P-256" : "Ed25519", n - 2,
                           type == VOUCH_KEY_P256 ? 33u : 32u);
        goto out;
    }
    rc = vouch_key_from_public_raw(type, raw + 2, n - 2, out, &sub);
    if (rc != VOUCH_OK)
        rc = vouch_err_set(err, rc == VOUCH_E_NOMEM ? rc : VOUCH_E_KEY_DIDKEY,
                           "did:key public key: %s", sub.msg);
out:
    vouch_free(raw);
    return rc;
}

vouch_code vouch_did_key_decode(const char *did, vouch_key **out, vouch_err *err)
{
    const char *id = NULL;
    size_t idlen = 0;
    vouch_code rc;

    if (!out)
        return vouch_err_set(err, VOUCH_E_ARG, "vouch_did_key_decode: out is NULL");
    *out = NULL;
    rc = did_key_split(did, &id, &idlen, err);
    if (rc != VOUCH_OK)
        return rc;
    return did_key_id_decode(id, idlen, out, err);
}

/* The bare DID (no fragment) and its id, checked by decoding. */
static vouch_code did_key_bare(const char *did, char **bare, const char **id, size_t *idlen,
                               vouch_key **key, vouch_err *err)
{
    vouch_code rc;

    *bare = NULL;
    rc = did_key_split(did, id, idlen, err);
    if (rc == VOUCH_OK)
        rc = did_key_id_decode(*id, *idlen, key, err);
    if (rc != VOUCH_OK)
        return rc;
    *bare = vouch_strndup(did, 8 + *idlen);
    if (!*bare) {
        vouch_key_free(*key);
        *key = NULL;
        return vouch_err_set(err, VOUCH_E_NOMEM, "out of memory");
    }
    *id = *bare + 8;
    return VOUCH_OK;
}

vouch_code vouch_did_key_vm_id(const char *did, char **out, vouch_err *err)
{
    char *bare = NULL, *vm = NULL;
    const char *id = NULL;
    size_t idlen = 0;
    vouch_key *k = NULL;
    vouch_code rc;

    if (!out)
        return vouch_err_set(err, VOUCH_E_ARG, "vouch_did_key_vm_id: out is NULL");
    *out = NULL;
    rc = did_key_bare(did, &bare, &id, &idlen, &k, err);
    if (rc != VOUCH_OK)
        goto out;
    vm = vouch_malloc(8 + idlen + 1 + idlen + 1);
    if (!vm) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory");
        goto out;
    }
    memcpy(vm, bare, 8 + idlen);
    vm[8 + idlen] = '#';
    memcpy(vm + 8 + idlen + 1, id, idlen);
    vm[8 + 2 * idlen + 1] = '\0';
    *out = vm;
out:
    vouch_key_free(k);
    vouch_free(bare);
    return rc;
}

/* ["vm"] as a new array. */
static json_t *vm_ref(const char *vm)
{
    json_t *a = json_array();

    if (a && json_array_append_new(a, json_string(vm)) != 0) {
        json_decref(a);
        a = NULL;
    }
    return a;
}

vouch_code vouch_did_key_document(const char *did, json_t **out, vouch_err *err)
{
    static const char *const rels[] = {"authentication", "assertionMethod",
                                       "capabilityInvocation", "capabilityDelegation"};
    char *bare = NULL, *vm = NULL;
    const char *id = NULL;
    size_t idlen = 0;
    vouch_key *k = NULL;
    json_t *doc = NULL, *jwk = NULL, *method = NULL, *ctx = NULL, *methods = NULL;
    vouch_code rc;
    int bad;

    if (!out)
        return vouch_err_set(err, VOUCH_E_ARG, "vouch_did_key_document: out is NULL");
    *out = NULL;
    rc = did_key_bare(did, &bare, &id, &idlen, &k, err);
    if (rc != VOUCH_OK)
        goto out;
    rc = vouch_did_key_vm_id(bare, &vm, err);
    if (rc != VOUCH_OK)
        goto out;
    rc = vouch_key_to_jwk(k, &jwk, err);
    if (rc != VOUCH_OK)
        goto out;
    vouch_json_init();
    doc = json_object();
    ctx = json_array();
    method = json_object();
    methods = json_array();
    bad = !doc || !ctx || !method || !methods ||
          json_array_append_new(ctx, json_string("https://www.w3.org/ns/did/v1")) ||
          json_array_append_new(ctx, json_string("https://w3id.org/security/suites/jws-2020/v1")) ||
          json_object_set_new(method, "id", json_string(vm)) ||
          json_object_set_new(method, "type", json_string("JsonWebKey2020")) ||
          json_object_set_new(method, "controller", json_string(bare)) ||
          json_object_set(method, "publicKeyJwk", jwk) ||
          json_array_append(methods, method) ||
          json_object_set(doc, "@context", ctx) ||
          json_object_set_new(doc, "id", json_string(bare)) ||
          json_object_set(doc, "verificationMethod", methods);
    for (size_t i = 0; !bad && i < sizeof(rels) / sizeof(rels[0]); i++)
        bad = json_object_set_new(doc, rels[i], vm_ref(vm)) != 0;
    if (bad) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory building the DID document");
        goto out;
    }
    *out = doc;
    doc = NULL;
out:
    json_decref(doc);
    json_decref(ctx);
    json_decref(method);
    json_decref(methods);
    json_decref(jwk);
    vouch_key_free(k);
    vouch_free(bare);
    vouch_free(vm);
    return rc;
}

/* ------------------------------------------------------------------ cache
 *
 * A hash table of the method-specific ids (the part after "did:key:",
 * without a fragment) with a least-recently-used list through the same
 * entries. The lock covers lookups and list moves only: a miss decodes
 * outside it, so threads never wait for each other's decoding; when two
 * threads decode the same DID at once, the first to insert wins and the
 * other's key is dropped. */

typedef struct did_entry {
    struct did_entry *hnext;        /* bucket chain */
    struct did_entry *prev, *next;  /* LRU list, most recent first */
    vouch_key *key;                 /* one reference, the cache's */
    uint32_t hash;
    size_t idlen;
    char id[];                      /* idlen bytes and a NUL */
} did_entry;

struct vouch_did_cache {
    pthread_mutex_t lock;
    size_t cap, n, mask;
    did_entry **buckets;
    did_entry *head, *tail;
};

static uint32_t did_hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u; /* FNV-1a */

    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

vouch_code vouch_did_cache_new(size_t cap, vouch_did_cache **out, vouch_err *err)
{
    vouch_did_cache *c = NULL;
    size_t nb = 1;
    vouch_code rc = VOUCH_OK;

    if (!out)
        return vouch_err_set(err, VOUCH_E_ARG, "vouch_did_cache_new: out is NULL");
    *out = NULL;
    if (cap < 1 || cap > VOUCH_DID_CACHE_MAX) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "DID cache capacity must be 1..%u",
                           VOUCH_DID_CACHE_MAX);
        goto out;
    }
    while (nb < cap)
        nb <<= 1;
    c = vouch_calloc(1, sizeof(*c));
    if (!c || !(c->buckets = vouch_calloc(nb, sizeof(*c->buckets)))) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory");
        goto out;
    }
    if (pthread_mutex_init(&c->lock, NULL) != 0) {
        rc = vouch_err_set(err, VOUCH_E_INTERNAL, "cannot create the DID cache lock");
        goto out;
    }
    c->cap = cap;
    c->mask = nb - 1;
    *out = c;
    c = NULL;
out:
    if (c)
        vouch_free(c->buckets);
    vouch_free(c);
    return rc;
}

void vouch_did_cache_free(vouch_did_cache *c)
{
    did_entry *e, *next;

    if (!c)
        return;
    for (e = c->head; e; e = next) {
        next = e->next;
        vouch_key_free(e->key);
        vouch_free(e);
    }
    pthread_mutex_destroy(&c->lock);
    vouch_free(c->buckets);
    vouch_free(c);
}

/* Under the lock: the entry for id, or NULL. */
static did_entry *cache_find(vouch_did_cache *c, const char *id, size_t idlen, uint32_t h)
{
    did_entry *e = c->buckets[h & c->mask];

    while (e && !(e->hash == h && e->idlen == idlen && memcmp(e->id, id, idlen) == 0))
        e = e->hnext;
    return e;
}

static void lru_unlink(vouch_did_cache *c, did_entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        c->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->tail = e->prev;
    e->prev = e->next = NULL;
}

static void lru_push_front(vouch_did_cache *c, did_entry *e)
{
    e->prev = NULL;
    e->next = c->head;
    if (c->head)
        c->head->prev = e;
    c->head = e;
    if (!c->tail)
        c->tail = e;
}

/* Under the lock: takes e out of the table and the list. */
static void cache_remove(vouch_did_cache *c, did_entry *e)
{
    did_entry **pp = &c->buckets[e->hash & c->mask];

    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    lru_unlink(c, e);
    c->n--;
}

vouch_code vouch_did_cache_decode(vouch_did_cache *c, const char *did, vouch_key **out,
                                  vouch_err *err)
{
    const char *id = NULL;
    size_t idlen = 0;
    uint32_t h;
    did_entry *e, *fresh = NULL, *evicted = NULL;
    vouch_key *k = NULL;
    vouch_code rc;

    if (!out)
        return vouch_err_set(err, VOUCH_E_ARG, "vouch_did_cache_decode: out is NULL");
    *out = NULL;
    if (!c) {
        rc = vouch_did_key_decode(did, out, err);
        goto out;
    }
    if ((rc = did_key_split(did, &id, &idlen, err)) != VOUCH_OK)
        goto out;
    h = did_hash(id, idlen);
    pthread_mutex_lock(&c->lock);
    e = cache_find(c, id, idlen, h);
    if (e) {
        lru_unlink(c, e);
        lru_push_front(c, e);
        *out = vouch_key_ref(e->key);
    }
    pthread_mutex_unlock(&c->lock);
    if (*out)
        goto out;
    /* a miss: decode outside the lock; failures are not kept */
    if ((rc = did_key_id_decode(id, idlen, &k, err)) != VOUCH_OK)
        goto out;
    fresh = vouch_malloc(sizeof(*fresh) + idlen + 1);
    if (!fresh) {
        /* the answer is still right, only not kept */
        *out = k;
        k = NULL;
        goto out;
    }
    memset(fresh, 0, sizeof(*fresh));
    fresh->hash = h;
    fresh->idlen = idlen;
    memcpy(fresh->id, id, idlen);
    fresh->id[idlen] = '\0';
    pthread_mutex_lock(&c->lock);
    e = cache_find(c, id, idlen, h);
    if (!e) {
        e = fresh;
        e->key = k;
        k = NULL;
        fresh = NULL;
        e->hnext = c->buckets[h & c->mask];
        c->buckets[h & c->mask] = e;
        c->n++;
        if (c->n > c->cap) {
            evicted = c->tail;
            cache_remove(c, evicted);
        }
    } else {
        lru_unlink(c, e);
    }
    lru_push_front(c, e);
    *out = vouch_key_ref(e->key);
    pthread_mutex_unlock(&c->lock);
out:
    if (evicted) {
        vouch_key_free(evicted->key);
        vouch_free(evicted);
    }
    vouch_free(fresh);
    vouch_key_free(k);
    return rc;
}
