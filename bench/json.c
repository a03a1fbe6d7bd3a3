/* json.c - hardened JSON parsing in MB/s, beside jansson's json_loadb
 * measured in the same run.
 *
 * The documents are the ones a login makes vouchd parse, built here: a JWS
 * header, an id_token payload, a VP payload whose vp.verifiableCredential
 * holds a ~1 KB VC-JWT string, a VC payload with a nested
 * credentialSubject, and a presentation_submission. Ours is
 * vouch_json_parse (size cap, pre-scan, parse into jansson values); the
 * reference is json_loadb with the flags vouch used to pass it
 * (JSON_REJECT_DUPLICATES | JSON_DECODE_ANY), without our pre-scan. Both
 * build the same json_t tree through the same allocator (vouch_malloc, blocks
 * wiped on free) and free it with json_decref, which is timed too.
 *
 * The machine is shared, so ours and jansson's are measured in alternating
 * rounds and the best of each side is kept.
 *
 * usage: json [SECONDS [ROUNDS]]   (default 1 s for the mix, half that per
 * document; 3 rounds). The last line is machine-greppable:
 * "ratio json_parse <ours/jansson>" for the mix.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vouch/vouch.h"

#define NDOCS 5

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const vouch_err *e)
{
    fprintf(stderr, "bench json: %s%s%s\n", what, e ? ": " : "", e ? e->msg : "");
    exit(1);
}

typedef struct doc {
    const char *name;
    char *text;
    size_t len;
} doc;

/* Parses docs[lo..hi) in turn for `secs` seconds with ours (or jansson's);
 * returns MB/s (10^6 bytes). */
static double bench_parse(const doc *docs, int lo, int hi, int jansson, double secs)
{
    unsigned long long bytes = 0;
    double t0 = now_s(), t;
    json_error_t je;
    vouch_err e;

    do {
        for (int r = 0; r < 16; r++) {
            for (int i = lo; i < hi; i++) {
                json_t *v = NULL;
                if (jansson) {
                    v = json_loadb(docs[i].text, docs[i].len,
                                   JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
                    if (!v)
                        die(je.text, NULL);
                } else if (vouch_json_parse(docs[i].text, docs[i].len, NULL, &v, &e) !=
                           VOUCH_OK) {
                    die(docs[i].name, &e);
                }
                json_decref(v);
                bytes += docs[i].len;
            }
        }
        t = now_s() - t0;
    } while (t < secs);
    return (double)bytes / t / 1e6;
}

/* A string made with printf, from vouch_malloc; exits on failure. */
static char *dup_printf(size_t *len, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *dup_printf(size_t *len, const char *fmt, ...)
{
    va_list ap;
    char *s;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !(s = vouch_malloc((size_t)n + 1)))
        die("out of memory", NULL);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    *len = (size_t)n;
    return s;
}

/* base64url of s, from vouch_malloc. */
static char *b64(const char *s)
{
    char *out = NULL;
    size_t n;
    vouch_err e;

    if (vouch_b64url_encode((const uint8_t *)s, strlen(s), &out, &n, &e) != VOUCH_OK)
        die("base64url", &e);
    return out;
}

static void build_docs(doc *d)
{
    static const char holder[] = "did:key:zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169";
    static const char issuer[] = "did:key:zDnaeUm3QkcyZWZTPttxB711jgqRDhkwvhF485SFw1bDZ9AQw";
    static const char sig[] = "MEUCIQDk3PWHsYv8v7XoHn7SYtFh3p5dDk2FDpR0k8dJ0KZ3AQIgT8QkGq7-"
                              "YVf9hQp2rX8mO0b3nXc4vV1Jc6kqz9bP0w"; /* 86 chars, as ES256 */
    char *vc_head, *vc_body, *vcjwt;
    size_t n;

    d[0].name = "jws_header";
    d[0].text = dup_printf(&d[0].len, "{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"%s#%s\"}",
                           holder, holder + 8);
    d[1].name = "id_token";
    d[1].text = dup_printf(
        &d[1].len,
        "{\"iss\":\"%s\",\"sub\":\"%s\",\"aud\":\"https://updates.example.com/auth/siop\","
        "\"nonce\":\"Jp9x0bQm2TqkV3yWc8LrZg\",\"iat\":1763683200,\"exp\":1763683500,"
        "\"jti\":\"urn:uuid:0b6f3c1e-8d2a-4f5b-9c7e-1a2b3c4d5e6f\",\"sub_jwk\":{\"kty\":\"EC\","
        "\"crv\":\"P-256\",\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
        "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}}",
        holder, holder);
    d[3].name = "vc_payload";
    d[3].text = dup_printf(
        &d[3].len,
        "{\"iss\":\"%s\",\"sub\":\"%s\",\"nbf\":1763683200,\"iat\":1763683200,"
        "\"exp\":1921449600,\"jti\":\"urn:uuid:6a5d3c2e-1f0b-4e7a-9d8c-7b6a5f4e3d2c\","
        "\"vc\":{\"@context\":[\"https://www.w3.org/2018/credentials/v1\","
        "\"https://vouch.example/credentials/v1\"],"
        "\"type\":[\"VerifiableCredential\",\"ProductionCredential\"],"
        "\"issuanceDate\":\"2025-11-21T00:00:00Z\","
        "\"credentialSubject\":{\"id\":\"%s\",\"serialNumber\":\"SN-2025-000123\","
        "\"model\":\"gateway-x2\",\"hardware\":{\"revision\":\"B2\","
        "\"compatible\":[\"board-a\",\"board-b\"]},\"productionDate\":\"2025-03-01\","
        "\"producedBy\":\"did:web:example.com#line-3\",\"batch\":4711}}}",
        issuer, holder, holder);
    /* the VC above as the VC-JWT a wallet embeds in its presentation */
    vc_head = b64("{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"did:key:zDnaeUm3QkcyZWZTPttxB711"
                  "jgqRDhkwvhF485SFw1bDZ9AQw#zDnaeUm3QkcyZWZTPttxB711jgqRDhkwvhF485SFw1bDZ9AQw\"}");
    vc_body = b64(d[3].text);
    vcjwt = dup_printf(&n, "%s.%s.%s", vc_head, vc_body, sig);
    d[2].name = "vp_payload";
    d[2].text = dup_printf(
        &d[2].len,
        "{\"iss\":\"%s\",\"aud\":\"https://updates.example.com/auth/siop\","
        "\"nonce\":\"Jp9x0bQm2TqkV3yWc8LrZg\",\"iat\":1763683200,\"exp\":1763683500,"
        "\"jti\":\"urn:uuid:5e4d3c2b-1a09-4f8e-8d7c-6b5a49382716\",\"vp\":{\"@context\":"
        "[\"https://www.w3.org/2018/credentials/v1\"],\"type\":[\"VerifiablePresentation\"],"
        "\"holder\":\"%s\",\"verifiableCredential\":[\"%s\"]}}",
        holder, holder, vcjwt);
    d[4].name = "submission";
    d[4].text = dup_printf(
        &d[4].len,
        "{\"id\":\"350b9392-01e8-455d-95f2-ace0cd341e0f\","
        "\"definition_id\":\"vouch-production-credential\",\"descriptor_map\":[{\"id\":"
        "\"production_credential\",\"format\":\"jwt_vp\",\"path\":\"$\",\"path_nested\":"
        "{\"id\":\"production_credential\",\"format\":\"jwt_vc\","
        "\"path\":\"$.verifiableCredential[0]\"}}]}");
    vouch_free(vc_head);
    vouch_free(vc_body);
    vouch_free(vcjwt);
}

static void keep_max(double *best, double v)
{
    if (v > *best)
        *best = v;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 1.0;
    int rounds = argc > 2 ? atoi(argv[2]) : 3;
    double ours[NDOCS + 1] = {0}, ref[NDOCS + 1] = {0};
    doc d[NDOCS];
    size_t total = 0;

    if (secs < 0.1 || secs > 60 || rounds < 1 || rounds > 10) {
        fprintf(stderr, "usage: %s [SECONDS 0.1..60 [ROUNDS 1..10]]\n", argv[0]);
        return 2;
    }
    vouch_json_init(); /* jansson allocates through vouch_malloc on both sides */
    build_docs(d);
    printf("vouch_json_parse vs json_loadb (JSON_REJECT_DUPLICATES|JSON_DECODE_ANY), "
           "parse + json_decref; MB/s, best of %d rounds\n\n",
           rounds);
    for (int i = 0; i < NDOCS; i++)
        total += d[i].len;
    printf("%-6s %-8s", "round", "who");
    for (int i = 0; i < NDOCS; i++)
        printf(" %11s", d[i].name);
    printf(" %11s\n", "mix");
    for (int r = 1; r <= rounds; r++) {
        for (int who = 0; who <= 1; who++) {
            double *f = who ? ref : ours;
            printf("%-6d %-8s", r, who ? "jansson" : "vouch");
            for (int i = 0; i <= NDOCS; i++) {
                double v = i < NDOCS ? bench_parse(d, i, i + 1, who, secs / 2)
                                     : bench_parse(d, 0, NDOCS, who, secs);
                keep_max(&f[i], v);
                printf(" %11.1f", v);
                fflush(stdout);
            }
            printf("\n");
        }
    }
    printf("\n%-12s %7s %10s %10s %7s\n", "document", "bytes", "vouch", "jansson", "ratio");
    for (int i = 0; i <= NDOCS; i++)
        printf("%-12s %7zu %10.1f %10.1f %7.2f\n", i < NDOCS ? d[i].name : "mix",
               i < NDOCS ? d[i].len : total, ours[i], ref[i], ours[i] / ref[i]);
    printf("\nratio json_parse %.2f\n", ours[NDOCS] / ref[NDOCS]);
    for (int i = 0; i < NDOCS; i++)
        vouch_free(d[i].text);
    return 0;
}
