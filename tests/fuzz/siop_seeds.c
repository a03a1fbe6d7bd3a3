/* siop_seeds.c - writes the seed corpora of the four login fuzz targets
 * (valid messages made with the fixture of siop_fuzz.h, and malformed
 * ones). Not part of the build; regenerate with:
 *   cc -D_GNU_SOURCE -Iinclude -Itests/fuzz tests/fuzz/siop_seeds.c \
 *      build/libvouch.a $(pkg-config --cflags --libs jansson libcrypto) -ldl -lpthread \
 *      -o /tmp/siop_seeds && /tmp/siop_seeds tests/fuzz/corpus
 */
#include <stdio.h>
#include <sys/stat.h>

#include "siop_fuzz.h"

static const char *root;

static void put(const char *target, const char *name, const char *data, size_t len)
{
    char path[1024];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", root, target);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/%s/%s", root, target, name);
    f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0)
        abort();
}

static void puts0(const char *target, const char *name, const char *s)
{
    put(target, name, s, strlen(s));
}

/* A compact JWS of claims (released) by k with typ and kid. */
static char *sign(const vouch_key *k, const char *typ, const char *kid, json_t *claims)
{
    vouch_jws_sign_opts o = {typ, kid, NULL};
    char *p = NULL, *out = NULL;
    size_t n = 0;

    if (!claims || vouch_json_dump(claims, &p, &n, NULL) != VOUCH_OK ||
        vouch_jws_sign_compact(k, &o, (const uint8_t *)p, n, &out, NULL) != VOUCH_OK)
        abort();
    vouch_free(p);
    json_decref(claims);
    return out;
}

/* The claims of a compact JWS (no verification). */
static json_t *claims(const char *jws)
{
    const char *a = strchr(jws, '.'), *b = strchr(a + 1, '.');
    uint8_t *p = NULL;
    size_t n = 0;
    json_t *c;

    if (vouch_b64url_decode(a + 1, (size_t)(b - a - 1), &p, &n, NULL) != VOUCH_OK)
        abort();
    c = json_loadb((const char *)p, n, 0, NULL);
    vouch_free(p);
    return c;
}

/* header.payload. with alg none */
static char *none(const char *payload)
{
    char *h = NULL, *p = NULL, *out = malloc(8192);
    size_t n;

    vouch_b64url_encode((const uint8_t *)"{\"alg\":\"none\"}", 14, &h, &n, NULL);
    vouch_b64url_encode((const uint8_t *)payload, strlen(payload), &p, &n, NULL);
    snprintf(out, 8192, "%s.%s.", h, p);
    vouch_free(h);
    vouch_free(p);
    return out;
}

int main(int argc, char **argv)
{
    char *did = NULL, *vm = NULL, *t;
    json_t *c;

    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS-ROOT\n", argv[0]);
        return 2;
    }
    root = argv[1];
    sf_init();
    vouch_did_key_encode(sf.dev, &did, NULL);
    vouch_did_key_vm_id(did, &vm, NULL);

    /* request objects */
    puts0("fuzz_request_object", "valid", sf.request);
    c = claims(sf.request);
    json_object_del(c, "presentation_definition");
    json_object_set_new(c, "response_type", json_string("id_token"));
    t = sign(sf.server, "JWT", SF_DID "#server-1", c);
    puts0("fuzz_request_object", "valid_id_token_only_typ_jwt", t);
    vouch_free(t);
    c = claims(sf.request);
    json_object_set_new(c, "response_uri", json_string("https://evil.example/cb"));
    t = sign(sf.server, "oauth-authz-req+jwt", SF_DID "#server-1", c);
    puts0("fuzz_request_object", "other_origin", t);
    vouch_free(t);
    c = claims(sf.request);
    json_object_set_new(json_object_get(c, "client_metadata"), "jwks",
                        json_pack("{s:[{s:s,s:s,s:s,s:s,s:s}]}", "keys", "kty", "EC", "crv",
                                  "P-256", "x", "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
                                  "y", "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0", "d",
                                  "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"));
    t = sign(sf.server, "oauth-authz-req+jwt", SF_DID "#server-1", c);
    puts0("fuzz_request_object", "private_jwk_in_metadata", t);
    vouch_free(t);
    t = sign(sf.issuer, "oauth-authz-req+jwt", SF_DID "#issuer-1", claims(sf.request));
    puts0("fuzz_request_object", "not_server_key", t);
    vouch_free(t);
    t = none("{\"iss\":\"did:web:example.com\"}");
    puts0("fuzz_request_object", "alg_none", t);
    free(t);
    put("fuzz_request_object", "truncated", sf.request, strlen(sf.request) / 2);
    puts0("fuzz_request_object", "garbage", "eyJ.eyJ.x");

    /* id_tokens */
    puts0("fuzz_id_token", "valid", sf.resp.id_token);
    c = claims(sf.resp.id_token);
    json_object_set_new(c, "iss", json_string(VOUCH_SIOP_ISSUER));
    t = sign(sf.dev, NULL, NULL, c);
    puts0("fuzz_id_token", "siop_issuer_no_kid", t);
    vouch_free(t);
    c = claims(sf.resp.id_token);
    json_object_set_new(c, "sub_jwk", sf_jwk(sf.dev));
    json_object_set_new(c, "aud", json_pack("[s]", SF_DID));
    t = sign(sf.dev, "JWT", vm, c);
    puts0("fuzz_id_token", "sub_jwk_aud_array", t);
    vouch_free(t);
    c = claims(sf.resp.id_token);
    json_object_set_new(c, "nonce", json_string("wrong-nonce-0123456789abcdef"));
    t = sign(sf.dev, "JWT", vm, c);
    puts0("fuzz_id_token", "wrong_nonce", t);
    vouch_free(t);
    c = claims(sf.resp.id_token);
    t = sign(sf.dev2, "JWT", NULL, c);
    puts0("fuzz_id_token", "other_key", t);
    vouch_free(t);
    t = none("{\"iss\":\"x\",\"sub\":\"x\"}");
    puts0("fuzz_id_token", "alg_none", t);
    free(t);
    puts0("fuzz_id_token", "garbage", "a.b");

    /* vp_tokens (and credentials) */
    puts0("fuzz_vp_token", "valid", sf.resp.vp_token);
    puts0("fuzz_vp_token", "credential", sf.cred);
    c = claims(sf.resp.vp_token);
    json_array_insert_new(json_object_get(json_object_get(c, "vp"), "verifiableCredential"), 0,
                          json_string("x.y.z"));
    t = sign(sf.dev, "JWT", NULL, c);
    puts0("fuzz_vp_token", "two_credentials", t);
    vouch_free(t);
    c = claims(sf.resp.vp_token);
    json_object_set_new(c, "aud", json_string("did:web:other.example"));
    t = sign(sf.dev, "JWT", vm, c);
    puts0("fuzz_vp_token", "wrong_aud", t);
    vouch_free(t);
    c = claims(sf.cred);
    json_object_set_new(json_object_get(json_object_get(c, "vc"), "credentialSubject"),
                        "hardware", json_string("board-z"));
    t = sign(sf.issuer, "JWT", SF_DID "#issuer-1", c);
    puts0("fuzz_vp_token", "credential_other_hardware", t);
    vouch_free(t);
    t = none("{\"vp\":{}}");
    puts0("fuzz_vp_token", "alg_none", t);
    free(t);

    /* submissions (and authz files) */
    puts0("fuzz_submission", "valid", sf.resp.presentation_submission);
    puts0("fuzz_submission", "vp_path",
          "{\"id\":\"s\",\"definition_id\":\"" VOUCH_PRODUCTION_DEFINITION_ID "\","
          "\"descriptor_map\":[{\"id\":\"" VOUCH_PRODUCTION_DESCRIPTOR_ID "\","
          "\"format\":\"jwt_vp_json\",\"path\":\"$\",\"path_nested\":{\"format\":"
          "\"jwt_vc_json\",\"path\":\"$.vp.verifiableCredential[0]\"}}]}");
    puts0("fuzz_submission", "flat",
          "{\"id\":\"s\",\"definition_id\":\"" VOUCH_PRODUCTION_DEFINITION_ID "\","
          "\"descriptor_map\":[{\"id\":\"" VOUCH_PRODUCTION_DESCRIPTOR_ID "\","
          "\"format\":\"jwt_vc\",\"path\":\"$.verifiableCredential[0]\"}]}");
    puts0("fuzz_submission", "other_definition",
          "{\"id\":\"s\",\"definition_id\":\"x\",\"descriptor_map\":[]}");
    puts0("fuzz_submission", "authz_full",
          "{\"mode\":\"credential\",\"produced_by\":[\"did:web:example.com#line-3\"],"
          "\"production_date_from\":\"2025-01-01\",\"production_date_to\":\"2025-12-31\","
          "\"hardware\":[\"board-a\"],\"refuse_clones\":true,\"access_ttl\":900,"
          "\"nonce_ttl\":120}");
    puts0("fuzz_submission", "authz_allowlist", "{\"mode\":\"allowlist\"}");
    puts0("fuzz_submission", "garbage", "{\"id\":");

    vouch_free(vm);
    vouch_free(did);
    return 0;
}
