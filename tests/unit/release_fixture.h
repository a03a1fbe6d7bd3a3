/*
 * release_fixture.h - builds what release tests need, in process: fresh
 * keys, trust policies (version 1, and a rotation to version 2 that swaps
 * the release key), release payloads with any field changed, signatures by
 * any keys, images on disk, and device state directories. Used by
 * tests/unit/test_release.c and tests/attacks/attack_release.c.
 */
#ifndef VOUCH_TEST_RELEASE_FIXTURE_H
#define VOUCH_TEST_RELEASE_FIXTURE_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "testutil.h"
#include "vouch/policy.h"
#include "vouch/release.h"
#include "vouch/state.h"

#define RFX_T0 1763683200LL              /* policy issued, release iat/nbf */
#define RFX_DAY 86400LL
#define RFX_NOW (RFX_T0 + RFX_DAY)       /* the test clock */
#define RFX_ISSUER "did:web:example.com"

typedef struct rfx {
    vouch_key *root[6];                  /* 0..2 version 1, 3..5 version 2 */
    vouch_key *release, *release2, *cosign, *issuer, *server, *newrel;
    char *v1;                            /* signed policy, version 1 */
    vouch_policy *p1;
} rfx;

static inline vouch_key *rfx_gen(vouch_key_type t)
{
    vouch_key *k = NULL;
    vouch_err e;

    vouch_err_clear(&e);
    assert_ok(vouch_key_generate(t, &k, &e), e);
    return k;
}

static inline json_t *rfx_jwk(const vouch_key *k)
{
    json_t *j = NULL;
    vouch_err e;

    vouch_err_clear(&e);
    assert_ok(vouch_key_to_jwk(k, &j, &e), e);
    return j;
}

/*
 * A policy payload: roots r0..r2 (threshold 2) named root-<i+1>; release
 * role = rel (and rel2 when not NULL, with release_threshold); cosign,
 * issuer, server one key each; releaseRequires release and cosign.
 */
static inline json_t *rfx_policy_doc(const rfx *f, int64_t version, int r0,
                                     const vouch_key *rel, const vouch_key *rel2,
                                     int release_threshold)
{
    static const char *const rk[] = {"root-1", "root-2", "root-3", "root-4", "root-5", "root-6"};
    json_t *keys = json_object(), *roots = json_array(), *relkeys = json_array(), *doc;

    vouch_json_init();
    for (int i = r0; i < r0 + 3; i++) {
        json_object_set_new(keys, rk[i], rfx_jwk(f->root[i]));
        json_array_append_new(roots, json_string(rk[i]));
    }
    json_object_set_new(keys, "release-1", rfx_jwk(rel));
    json_array_append_new(relkeys, json_string("release-1"));
    if (rel2) {
        json_object_set_new(keys, "release-2", rfx_jwk(rel2));
        json_array_append_new(relkeys, json_string("release-2"));
    }
    json_object_set_new(keys, "cosign-1", rfx_jwk(f->cosign));
    json_object_set_new(keys, "issuer-1", rfx_jwk(f->issuer));
    json_object_set_new(keys, "server-1", rfx_jwk(f->server));
    doc = json_pack("{s:s,s:I,s:I,s:I,s:s,s:o,"
                    "s:{s:{s:i,s:o},s:{s:i,s:o},s:{s:i,s:[s]},s:{s:i,s:[s]},s:{s:i,s:[s]}},"
                    "s:[ss],s:I,s:b}",
                    "type", "vouch-trust-policy", "version", (json_int_t)version, "issued",
                    (json_int_t)RFX_T0, "expires", (json_int_t)(RFX_T0 + 365 * RFX_DAY),
                    "issuer", RFX_ISSUER, "keys", keys, "roles", "root", "threshold", 2, "keys",
                    roots, "release", "threshold", release_threshold, "keys", relkeys, "cosign",
                    "threshold", 1, "keys", "cosign-1", "issuer", "threshold", 1, "keys",
                    "issuer-1", "server", "threshold", 1, "keys", "server-1", "releaseRequires",
                    "release", "cosign", "maxReleaseLifetime", (json_int_t)(90 * RFX_DAY),
                    "production", 1);
    assert_non_null(doc);
    return doc;
}

/* Signs a policy document (released) with roots idx[0..n). */
static inline char *rfx_policy_sign(const rfx *f, json_t *doc, const int *idx, size_t n)
{
    static const char *const rk[] = {"root-1", "root-2", "root-3", "root-4", "root-5", "root-6"};
    vouch_jws_keyref signers[6];
    char *payload = NULL, *out = NULL;
    size_t plen = 0, olen = 0;
    vouch_err e;

    vouch_err_clear(&e);
    assert_ok(vouch_json_dump(doc, &payload, &plen, &e), e);
    for (size_t i = 0; i < n; i++) {
        signers[i].key = f->root[idx[i]];
        signers[i].kid = rk[idx[i]];
    }
    assert_ok(vouch_policy_sign(payload, plen, signers, n, &out, &olen, &e), e);
    vouch_free(payload);
    json_decref(doc);
    return out;
}

/* Version 2: new roots 3..5, the release key replaced by newrel; signed by
 * two old roots and two new ones. */
static inline char *rfx_policy_v2(const rfx *f)
{
    static const int s[] = {0, 1, 3, 4};
    return rfx_policy_sign(f, rfx_policy_doc(f, 2, 3, f->newrel, NULL, 1), s, 4);
}

static inline void rfx_init(rfx *f)
{
    static const int s[] = {0, 1};
    vouch_err e;

    memset(f, 0, sizeof(*f));
    vouch_err_clear(&e);
    for (int i = 0; i < 6; i++)
        f->root[i] = rfx_gen(i % 2 ? VOUCH_KEY_ED25519 : VOUCH_KEY_P256);
    f->release = rfx_gen(VOUCH_KEY_P256);
    f->release2 = rfx_gen(VOUCH_KEY_ED25519);
    f->cosign = rfx_gen(VOUCH_KEY_ED25519);
    f->issuer = rfx_gen(VOUCH_KEY_P256);
    f->server = rfx_gen(VOUCH_KEY_P256);
    f->newrel = rfx_gen(VOUCH_KEY_P256);
    f->v1 = rfx_policy_sign(f, rfx_policy_doc(f, 1, 0, f->release, NULL, 1), s, 2);
    assert_ok(vouch_policy_verify_root(f->v1, strlen(f->v1), RFX_NOW, &f->p1, &e), e);
}

static inline void rfx_free(rfx *f)
{
    for (int i = 0; i < 6; i++)
        vouch_key_free(f->root[i]);
    vouch_key_free(f->release);
    vouch_key_free(f->release2);
    vouch_key_free(f->cosign);
    vouch_key_free(f->issuer);
    vouch_key_free(f->server);
    vouch_key_free(f->newrel);
    vouch_free(f->v1);
    vouch_policy_free(f->p1);
    memset(f, 0, sizeof(*f));
}

static inline void rfx_sha256(const void *data, size_t n, uint8_t out[32])
{
    unsigned int dl = 0;

    assert_int_equal(EVP_Digest(data, n, out, &dl, EVP_sha256(), NULL), 1);
}

/* The default release for an image of these bytes. */
static inline vouch_release rfx_release(const void *image, size_t n)
{
    vouch_release r;

    memset(&r, 0, sizeof(r));
    snprintf(r.url, sizeof(r.url), "https://updates.example.com/fw/board-a-1.4.2.img");
    rfx_sha256(image, n, r.sha256);
    r.size = n;
    snprintf(r.version, sizeof(r.version), "1.4.2");
    r.security_version = 7;
    snprintf(r.hardware[0], sizeof(r.hardware[0]), "board-a");
    snprintf(r.hardware[1], sizeof(r.hardware[1]), "board-b");
    r.nhardware = 2;
    r.format = VOUCH_FORMAT_RAW;
    snprintf(r.iss, sizeof(r.iss), RFX_ISSUER);
    snprintf(r.jti, sizeof(r.jti), "urn:uuid:3f8f9f6e-6a63-4c55-9e7a-2f4b1c6c0d11");
    r.iat = r.nbf = RFX_T0;
    r.exp = RFX_T0 + 30 * RFX_DAY;
    return r;
}

static inline char *rfx_payload(const vouch_release *r)
{
    char *p = NULL;
    size_t n = 0;
    vouch_err e;

    vouch_err_clear(&e);
    assert_ok(vouch_release_payload(r, &p, &n, &e), e);
    return p;
}

/* Signs payload text as a release (typ vouch-release+jwt) with keys[0..n),
 * no validation at all, so tests can sign hostile payloads. */
static inline char *rfx_sign_typ(const char *payload, const vouch_key *const *keys, size_t n,
                                 const char *typ)
{
    char *cur = NULL, *next = NULL;
    vouch_err e;

    vouch_err_clear(&e);
    for (size_t i = 0; i < n; i++) {
        vouch_jws_sign_opts o = {typ, NULL, NULL};
        if (i == 0)
            assert_ok(vouch_jws_sign_general(keys[i], &o, (const uint8_t *)payload,
                                             strlen(payload), &next, &e),
                      e);
        else
            assert_ok(vouch_jws_general_add(cur, strlen(cur), keys[i], &o, &next, &e), e);
        vouch_free(cur);
        cur = next;
        next = NULL;
    }
    return cur;
}

static inline char *rfx_sign(const char *payload, const vouch_key *const *keys, size_t n)
{
    return rfx_sign_typ(payload, keys, n, VOUCH_RELEASE_TYP);
}

/* A release signed by the release and cosign keys of f. */
static inline char *rfx_signed(const rfx *f, const vouch_release *r)
{
    const vouch_key *k[] = {f->release, f->cosign};
    char *p = rfx_payload(r), *out = rfx_sign(p, k, 2);

    vouch_free(p);
    return out;
}

/* The payload text with a JSON edit applied to the credentialSubject:
 * member set to v (stolen), or removed when v is NULL. */
static inline char *rfx_payload_edit(const vouch_release *r, const char *member, json_t *v)
{
    char *p = rfx_payload(r), *out = NULL;
    size_t n = 0;
    json_t *doc = NULL, *subj;
    vouch_err e;

    vouch_err_clear(&e);
    assert_ok(vouch_json_parse_object(p, strlen(p), NULL, &doc, &e), e);
    subj = json_object_get(json_object_get(doc, "vc"), "credentialSubject");
    assert_non_null(subj);
    if (v)
        json_object_set_new(subj, member, v);
    else
        json_object_del(subj, member);
    assert_ok(vouch_json_dump(doc, &out, &n, &e), e);
    json_decref(doc);
    vouch_free(p);
    return out;
}

/* Replaces the first occurrence of `from` in s with `to` (new string). */
static inline char *rfx_replace(const char *s, const char *from, const char *to)
{
    size_t n = strlen(s), flen = strlen(from), tlen = strlen(to), pre = 0, rest;
    char *out;

    /* an index, not a pointer into s: cmocka's longjmp makes gcc nervous */
    while (pre + flen <= n && memcmp(s + pre, from, flen) != 0)
        pre++;
    assert_true(pre + flen <= n);
    rest = n - pre - flen;
    out = vouch_malloc(pre + tlen + rest + 1);
    assert_non_null(out);
    memcpy(out, s, pre);
    memcpy(out + pre, to, tlen);
    memcpy(out + pre + tlen, s + pre + flen, rest + 1);
    return out;
}

/* Writes bytes to dir/name; returns the path (static buffer per call site
 * is not enough for two files, so the caller passes one). */
static inline void rfx_write(const char *path, const void *data, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, n), (ssize_t)n);
    close(fd);
}

/* A cpio "newc" entry (header, name, padding, data, padding) appended to b. */
static inline void rfx_cpio_entry(vouch_buf *b, const char *magic, const char *name,
                                  const void *data, size_t n, unsigned check)
{
    char hdr[111];
    size_t namesize = strlen(name) + 1;
    static const char zeros[4] = {0, 0, 0, 0};

    snprintf(hdr, sizeof(hdr),
             "%s%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", magic, 1u, 0100644u,
             0u, 0u, 1u, 0u, (unsigned)n, 0u, 0u, 0u, 0u, (unsigned)namesize, check);
    assert_int_equal(vouch_buf_append(b, hdr, 110), VOUCH_OK);
    assert_int_equal(vouch_buf_append(b, name, namesize), VOUCH_OK);
    assert_int_equal(vouch_buf_append(b, zeros, (4 - (110 + namesize) % 4) % 4), VOUCH_OK);
    if (n)
        assert_int_equal(vouch_buf_append(b, data, n), VOUCH_OK);
    assert_int_equal(vouch_buf_append(b, zeros, (4 - n % 4) % 4), VOUCH_OK);
}

/* A small .swu: sw-description, then one payload file, then the trailer. */
static inline unsigned char *rfx_swu(const char *swdesc, const char *payload, size_t *len)
{
    vouch_buf b;

    vouch_buf_init(&b, 1u << 20);
    rfx_cpio_entry(&b, "070701", "sw-description", swdesc, strlen(swdesc), 0);
    rfx_cpio_entry(&b, "070701", "rootfs.img", payload, strlen(payload), 0);
    rfx_cpio_entry(&b, "070701", "TRAILER!!!", NULL, 0, 0);
    return vouch_buf_take(&b, len);
}

/* Byte-for-byte snapshot of the files a state directory holds. */
typedef struct rfx_snap {
    unsigned char *state, *policy;
    size_t state_len, policy_len;
    int has_state, has_policy;
} rfx_snap;

static inline void rfx_snap_take(const char *dir, rfx_snap *s)
{
    char path[4200];

    memset(s, 0, sizeof(*s));
    snprintf(path, sizeof(path), "%s/state.json", dir);
    s->has_state = vouch_file_read(path, 1u << 20, &s->state, &s->state_len, NULL) == VOUCH_OK;
    snprintf(path, sizeof(path), "%s/policy.jws", dir);
    s->has_policy =
        vouch_file_read(path, 1u << 20, &s->policy, &s->policy_len, NULL) == VOUCH_OK;
}

static inline void rfx_snap_free(rfx_snap *s)
{
    vouch_free(s->state);
    vouch_free(s->policy);
    memset(s, 0, sizeof(*s));
}

/* Fails unless dir still holds exactly what the snapshot saw. */
static inline void rfx_snap_same(const char *dir, const rfx_snap *before)
{
    rfx_snap now;

    rfx_snap_take(dir, &now);
    assert_int_equal(now.has_state, before->has_state);
    assert_int_equal(now.has_policy, before->has_policy);
    assert_int_equal(now.state_len, before->state_len);
    assert_int_equal(now.policy_len, before->policy_len);
    if (now.has_state)
        assert_memory_equal(now.state, before->state, now.state_len);
    if (now.has_policy)
        assert_memory_equal(now.policy, before->policy, now.policy_len);
    rfx_snap_free(&now);
}

#endif
