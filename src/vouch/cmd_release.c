/*
 * cmd_release.c - `vouch release`: create, sign, (co-sign,) verify and show
 * release credentials.
 *
 * The life of a release file:
 *   create   reads the image once and writes the UNSIGNED release,
 *            {"payload":"<base64url claims>","signatures":[]}: not yet a JWS
 *            (a JWS needs a signature), only what signers add to;
 *   sign     adds the release key's signature (a general JWS from then on);
 *   cosign   adds the co-signing service's (cmd_cosign.c);
 *   verify   checks it as a device would, with a policy and an image.
 * Any verifier refuses the unsigned form with VOUCH_E_RELEASE_SIGNATURES.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "project.h"
#include "vouch/cli.h"
#include "vouch/policy.h"
#include "vouch/release.h"
#include "vouch/state.h"

#define REL_TEXT_MAX (256u * 1024u)
#define DEFAULT_EXPIRES (90LL * 86400LL)

/* "30d", "12h", "45m", "90s", "2w" or plain seconds -> seconds, 1..10 years. */
static vouch_code parse_duration(const char *s, int64_t *out, vouch_err *err)
{
    char *end = NULL;
    long long v;
    int64_t mul = 1;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || end == s || v <= 0)
        goto bad;
    if (*end) {
        switch (*end) {
        case 's': mul = 1; break;
        case 'm': mul = 60; break;
        case 'h': mul = 3600; break;
        case 'd': mul = 86400; break;
        case 'w': mul = 7 * 86400; break;
        default: goto bad;
        }
        if (end[1])
            goto bad;
    }
    /* v * mul must stay below ten years: checked by division, so no overflow */
    if (v > 10LL * 366 * 86400 / mul)
        goto bad;
    *out = (int64_t)v * mul;
    return VOUCH_OK;
bad:
    return vouch_err_set(err, VOUCH_E_USAGE,
                         "--expires must be a duration like 30d, 12h or 3600 (at most ten "
                         "years), not '%.32s'",
                         s);
}

static vouch_code parse_int(const char *opt, const char *s, int64_t lo, int64_t *out,
                            vouch_err *err)
{
    char *end = NULL;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > VOUCH_JSON_MAX_SAFE_INT)
        return vouch_err_set(err, VOUCH_E_USAGE, "--%s must be an integer in %" PRId64
                             "..2^53-1, not '%.32s'", opt, lo, s);
    *out = (int64_t)v;
    return VOUCH_OK;
}

static vouch_code parse_now(const cli_args *a, int64_t *now, vouch_err *err)
{
    const char *s = cli_get(a, "now");

    if (!s) {
        *now = (int64_t)time(NULL);
        return VOUCH_OK;
    }
    return parse_int("now", s, 0, now, err);
}

/* Copies s into a fixed field; VOUCH_E_USAGE if it does not fit. */
static vouch_code copy_field(char *dst, size_t cap, const char *s, const char *what,
                             vouch_err *err)
{
    size_t n = strlen(s);

    if (n >= cap)
        return vouch_err_set(err, VOUCH_E_USAGE, "%s is longer than %zu bytes", what, cap - 1);
    memcpy(dst, s, n + 1);
    return VOUCH_OK;
}

/* The project's did:web, through the project module (one reader of
 * project.json for every command). */
static vouch_code project_did(const char *dir, char *out, size_t cap, vouch_err *err)
{
    proj pj;
    vouch_code rc = proj_load(dir, &pj, err);

    if (rc == VOUCH_OK)
        rc = copy_field(out, cap, pj.did, "the project DID", err);
    proj_free(&pj);
    return rc;
}

/* id must be a plain name: it becomes part of a path and of a kid. */
static int key_id_ok(const char *id)
{
    size_t n = strlen(id);

    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z') ||
              (id[i] >= '0' && id[i] <= '9') || id[i] == '-' || id[i] == '_' || id[i] == '.'))
            return 0;
    return id[0] != '.';
}

static vouch_code write_out(const char *path, const char *text, size_t len, int exclusive,
                            vouch_err *err)
{
    if (!path || strcmp(path, "-") == 0) {
        fwrite(text, 1, len, stdout);
        if (len && text[len - 1] != '\n')
            fputc('\n', stdout);
        return VOUCH_OK;
    }
    return vouch_file_write_atomic(path, text, len, 0644, exclusive, err);
}

static json_t *release_json(const vouch_release *r)
{
    char sha[65], swd[65];
    json_t *hw = json_array(), *o;

    vouch_hex_encode_buf(r->sha256, 32, sha, sizeof(sha), NULL);
    vouch_hex_encode_buf(r->swdesc_sha256, 32, swd, sizeof(swd), NULL);
    for (size_t i = 0; hw && i < r->nhardware; i++)
        json_array_append_new(hw, json_string(r->hardware[i]));
    o = json_pack("{s:s,s:s,s:I,s:s,s:I,s:o,s:s,s:s,s:s,s:I,s:I,s:I}", "url", r->url, "sha256",
                  sha, "size", (json_int_t)r->size, "version", r->version, "securityVersion",
                  (json_int_t)r->security_version, "hardware", hw ? hw : json_null(), "format",
                  vouch_image_format_name(r->format), "issuer", r->iss, "jti", r->jti, "iat",
                  (json_int_t)r->iat, "nbf", (json_int_t)r->nbf, "exp", (json_int_t)r->exp);
    if (o && r->has_swdesc)
        json_object_set_new(o, "swDescriptionSha256", json_string(swd));
    return o;
}

static void release_print(const vouch_release *r)
{
    char sha[65], swd[65];

    vouch_hex_encode_buf(r->sha256, 32, sha, sizeof(sha), NULL);
    vouch_hex_encode_buf(r->swdesc_sha256, 32, swd, sizeof(swd), NULL);
    printf("version          %s\nsecurityVersion  %" PRId64 "\nurl              %s\n"
           "sha256           %s\nsize             %" PRIu64 "\nformat           %s\n",
           r->version, r->security_version, r->url, sha, r->size,
           vouch_image_format_name(r->format));
    if (r->has_swdesc)
        printf("swDescription    %s\n", swd);
    printf("hardware        ");
    for (size_t i = 0; i < r->nhardware; i++)
        printf(" %s", r->hardware[i]);
    printf("\nissuer           %s\njti              %s\nvalid            %" PRId64 "..%" PRId64
           "\n",
           r->iss, r->jti, r->nbf, r->exp);
}

/* ------------------------------------------------------------------ create */

static vouch_code release_create(const cli_args *a, vouch_err *err)
{
    const char *version, *sv, *url, *out, *fmt = cli_get(a, "format");
    const char *exp_s = cli_get(a, "expires"), *issuer = cli_get(a, "issuer");
    const char *dir = cli_get(a, "dir");
    const char *const *hws = NULL;
    vouch_release rel;
    int64_t now, life = DEFAULT_EXPIRES;
    char *payload = NULL, *text = NULL;
    size_t plen = 0, nhw;
    vouch_code rc;

    memset(&rel, 0, sizeof(rel));
    if ((rc = cli_require(a, "version", &version, err)) != VOUCH_OK ||
        (rc = cli_require(a, "security-version", &sv, err)) != VOUCH_OK ||
        (rc = cli_require(a, "url", &url, err)) != VOUCH_OK ||
        (rc = cli_require(a, "out", &out, err)) != VOUCH_OK)
        goto out;
    nhw = (size_t)cli_get_all(a, "hardware", &hws);
    if (nhw == 0) {
        rc = vouch_err_set(err, VOUCH_E_USAGE, "release create: --hardware is required");
        goto out;
    }
    if (!!issuer == !!dir) {
        rc = vouch_err_set(err, VOUCH_E_USAGE,
                           "release create: give the issuer with --issuer DID or --dir P");
        goto out;
    }
    rel.format = vouch_image_format_from_name(fmt ? fmt : "raw");
    if (rel.format == VOUCH_FORMAT_NONE) {
        rc = vouch_err_set(err, VOUCH_E_USAGE, "--format must be raw, tar or swu");
        goto out;
    }
    if ((rc = parse_int("security-version", sv, 0, &rel.security_version, err)) != VOUCH_OK ||
        (exp_s && (rc = parse_duration(exp_s, &life, err)) != VOUCH_OK) ||
        (rc = parse_now(a, &now, err)) != VOUCH_OK ||
        (rc = copy_field(rel.version, sizeof(rel.version), version, "--version", err)) !=
            VOUCH_OK ||
        (rc = copy_field(rel.url, sizeof(rel.url), url, "--url", err)) != VOUCH_OK)
        goto out;
    if (issuer)
        rc = copy_field(rel.iss, sizeof(rel.iss), issuer, "--issuer", err);
    else
        rc = project_did(dir, rel.iss, sizeof(rel.iss), err);
    if (rc != VOUCH_OK)
        goto out;
    /* --hardware a,b --hardware c: every comma-separated id, in order */
    for (size_t i = 0; i < nhw; i++) {
        const char *p = hws[i];
        while (*p) {
            size_t n = strcspn(p, ",");
            if (rel.nhardware >= VOUCH_RELEASE_MAX_HW || n == 0 || n >= VOUCH_HW_MAX) {
                rc = vouch_err_set(err, VOUCH_E_USAGE,
                                   "--hardware takes 1..%u ids of 1..%u bytes",
                                   VOUCH_RELEASE_MAX_HW, VOUCH_HW_MAX - 1);
                goto out;
            }
            memcpy(rel.hardware[rel.nhardware], p, n);
            rel.hardware[rel.nhardware++][n] = '\0';
            p += n;
            if (*p == ',')
                p++;
        }
    }
    rel.iat = rel.nbf = now;
    rel.exp = now + life;
    /* the image is read exactly once, streaming */
    rc = vouch_release_describe_image(a->pos[0], rel.format, &rel, err);
    if (rc != VOUCH_OK)
        goto out;
    if ((rc = vouch_release_payload(&rel, &payload, &plen, err)) != VOUCH_OK ||
        (rc = vouch_release_parse_payload((const uint8_t *)payload, plen, &rel, err)) !=
            VOUCH_OK ||
        (rc = vouch_release_unsigned((const uint8_t *)payload, plen, &text, err)) != VOUCH_OK)
        goto out;
    rc = write_out(out, text, strlen(text), 1, err);
    if (rc != VOUCH_OK)
        goto out;
    if (a->json) {
        json_t *o = release_json(&rel);
        if (o)
            json_object_set_new(o, "out", json_string(out));
        rc = cli_print_json(o, err);
    } else if (strcmp(out, "-") != 0) {
        printf("unsigned release %s (version %s, securityVersion %" PRId64 ") written to %s\n",
               rel.jti, rel.version, rel.security_version, out);
    }
out:
    vouch_free(payload);
    vouch_free(text);
    return rc;
}

/* -------------------------------------------------------------------- sign */

static vouch_code release_sign(const cli_args *a, vouch_err *err)
{
    const char *dir = cli_get(a, "dir"), *keyref = cli_get(a, "key");
    const char *key_id = cli_get(a, "key-id"), *kid_opt = cli_get(a, "kid");
    const char *out = cli_get(a, "out");
    char kid[VOUCH_DID_MAX_LEN + 80];
    char *text = NULL, *signed_text = NULL;
    size_t len = 0;
    vouch_key *k = NULL;
    vouch_release rel;
    size_t nsigs = 0;
    proj pj;
    vouch_code rc;

    memset(&pj, 0, sizeof(pj));
    if (!!dir == !!keyref) {
        rc = vouch_err_set(err, VOUCH_E_USAGE, "release sign: give --dir P or --key KEY");
        goto out;
    }
    if (key_id && !dir) {
        rc = vouch_err_set(err, VOUCH_E_USAGE, "--key-id goes with --dir");
        goto out;
    }
    if ((rc = cli_read_text(a->pos[0], REL_TEXT_MAX, &text, &len, err)) != VOUCH_OK)
        goto out;
    if (dir) {
        if (!key_id)
            key_id = "release-1";
        if (!key_id_ok(key_id)) {
            rc = vouch_err_set(err, VOUCH_E_USAGE, "--key-id must be a plain name");
            goto out;
        }
        if ((rc = proj_load(dir, &pj, err)) != VOUCH_OK ||
            (rc = proj_load_key(&pj, key_id, &k, err)) != VOUCH_OK)
            goto out;
        snprintf(kid, sizeof(kid), "%s#%s", pj.did, key_id);
    } else {
        if ((rc = cli_load_key(keyref, &k, err)) != VOUCH_OK)
            goto out;
        if (kid_opt)
            rc = copy_field(kid, sizeof(kid), kid_opt, "--kid", err);
        else
            kid[0] = '\0';
        if (rc != VOUCH_OK)
            goto out;
    }
    if (!vouch_key_has_private(k)) {
        rc = vouch_err_set(err, VOUCH_E_KEY_NOT_PRIVATE, "signing needs a private key");
        goto out;
    }
    if ((rc = vouch_release_add_signature(text, len, k, kid[0] ? kid : NULL, &signed_text,
                                          err)) != VOUCH_OK ||
        (rc = vouch_release_read_unverified(signed_text, strlen(signed_text), &rel, &nsigs,
                                            err)) != VOUCH_OK)
        goto out;
    /* in place by default: the file grows one signature at a time */
    rc = write_out(out ? out : a->pos[0], signed_text, strlen(signed_text), 0, err);
    if (rc != VOUCH_OK)
        goto out;
    if (a->json)
        rc = cli_print_json(json_pack("{s:s,s:s,s:i,s:s?}", "release", rel.jti, "out",
                                      out ? out : a->pos[0], "signatures", (int)nsigs, "kid",
                                      kid[0] ? kid : NULL),
                            err);
    else if (!out || strcmp(out, "-") != 0)
        printf("signed release %s: %zu signature%s\n", rel.version, nsigs,
               nsigs == 1 ? "" : "s");
out:
    proj_free(&pj);
    vouch_key_free(k);
    vouch_free(text);
    vouch_free(signed_text);
    return rc;
}

/* ------------------------------------------------------------------ verify */

static vouch_code release_verify(const cli_args *a, vouch_err *err)
{
    const char *pol_path, *image = cli_get(a, "image"), *dir = cli_get(a, "state");
    char *rel_text = NULL, *pol = NULL;
    size_t rel_len = 0, pol_len = 0;
    vouch_policy *p = NULL;
    vouch_state_port port;
    vouch_device_state st;
    vouch_release_check chk;
    vouch_release rel;
    int have_port = 0;
    int64_t now;
    vouch_code rc;

    memset(&port, 0, sizeof(port));
    memset(&st, 0, sizeof(st));
    if ((rc = cli_require(a, "policy", &pol_path, err)) != VOUCH_OK ||
        (rc = parse_now(a, &now, err)) != VOUCH_OK)
        goto out;
    rc = cli_read_text(pol_path, REL_TEXT_MAX, &pol, &pol_len, err);
    if (rc == VOUCH_E_NOTFOUND)
        rc = vouch_err_set(err, VOUCH_E_POLICY_MISSING, "no trust policy at %s", pol_path);
    if (rc != VOUCH_OK)
        goto out;
    /* the given policy is the root of trust here: this is the vendor's own
     * check, not a device's (vouch-verify pins and rotates) */
    rc = vouch_policy_verify_root(pol, pol_len, now, &p, err);
    if (rc != VOUCH_OK)
        goto out;
    if (dir) {
        struct stat sb;
        /* read-only: the floor of a device state copied here; never created */
        if (stat(dir, &sb) != 0) {
            rc = vouch_err_set(err, VOUCH_E_NOTFOUND, "no state directory %s", dir);
            goto out;
        }
        rc = vouch_state_file_open(dir, &port, err);
        if (rc != VOUCH_OK)
            goto out;
        have_port = 1;
        rc = port.read(port.ctx, &st, err);
        if (rc != VOUCH_OK)
            goto out;
    }
    rc = cli_read_text(a->pos[0], REL_TEXT_MAX, &rel_text, &rel_len, err);
    if (rc == VOUCH_E_LIMIT)
        rc = vouch_err_set(err, VOUCH_E_JWS_TOO_LARGE, "%s is too large", a->pos[0]);
    if (rc != VOUCH_OK)
        goto out;
    chk.now = now;
    chk.hardware = cli_get(a, "hardware");
    chk.state = have_port ? &st : NULL;
    if (image)
        rc = vouch_release_verify_image_file(p, rel_text, rel_len, &chk, image, &rel, err);
    else
        rc = vouch_release_verify(p, rel_text, rel_len, &chk, &rel, err);
    if (rc != VOUCH_OK)
        goto out;
    if (a->json) {
        json_t *o = release_json(&rel);
        if (o) {
            json_object_set_new(o, "ok", json_true());
            json_object_set_new(o, "imageVerified", json_boolean(image != NULL));
            json_object_set_new(o, "policyVersion", json_integer(vouch_policy_version(p)));
        }
        rc = cli_print_json(o, err);
    } else {
        printf("OK: release %s (securityVersion %" PRId64 ") vouched for by policy version "
               "%" PRId64 "%s\n",
               rel.version, rel.security_version, vouch_policy_version(p),
               image ? "; image verified" : "");
    }
out:
    if (have_port)
        vouch_state_file_close(&port);
    if (p)
        vouch_policy_free(p);
    vouch_free(pol);
    vouch_free(rel_text);
    return rc;
}

/* -------------------------------------------------------------------- show */

static vouch_code release_show(const cli_args *a, vouch_err *err)
{
    char *text = NULL;
    size_t len = 0, nsigs = 0;
    vouch_release rel;
    vouch_jws *j = NULL;
    vouch_code rc;

    if ((rc = cli_read_text(a->pos[0], REL_TEXT_MAX, &text, &len, err)) != VOUCH_OK ||
        (rc = vouch_release_read_unverified(text, len, &rel, &nsigs, err)) != VOUCH_OK)
        goto out;
    if (nsigs && vouch_jws_parse(text, len, &j, NULL) != VOUCH_OK)
        j = NULL;
    if (a->json) {
        json_t *o = release_json(&rel), *sigs = json_array();
        for (size_t i = 0; j && sigs && i < j->nsigs; i++)
            json_array_append_new(sigs, json_pack("{s:s?,s:s?,s:s?}", "alg", j->sigs[i].alg,
                                                  "typ", j->sigs[i].typ, "kid", j->sigs[i].kid));
        if (o && sigs) {
            json_object_set_new(o, "signatures", sigs);
            json_object_set_new(o, "verified", json_false());
        } else {
            json_decref(sigs);
        }
        rc = cli_print_json(o, err);
        goto out;
    }
    printf("release (signatures NOT verified; use `vouch release verify`)\n");
    release_print(&rel);
    printf("signatures       %zu%s\n", nsigs, nsigs ? "" : " (unsigned)");
    for (size_t i = 0; j && i < j->nsigs; i++)
        printf("  %zu: %s kid=%s\n", i, j->sigs[i].alg ? j->sigs[i].alg : "?",
               j->sigs[i].kid ? j->sigs[i].kid : "(none)");
out:
    vouch_jws_free(j);
    vouch_free(text);
    return rc;
}

const cli_cmd cli_release_cmds[] = {
    {"release", "create",
     "IMAGE --version V --security-version N --hardware HW[,HW...] --url URL "
     "[--expires DURATION] [--format raw|tar|swu] [--issuer DID | --dir P] --out REL",
     "Create an unsigned release credential for IMAGE, read once (streaming): digest, size, "
     "and for swu the digest of sw-description. Writes {\"payload\":...,\"signatures\":[]}, "
     "which `release sign` and `release cosign` then sign; never overwrites REL.",
     1, 1,
     {{"version", "V", "semantic version (semver 2.0.0)", 0},
      {"security-version", "N", "anti-rollback counter (0..2^53-1)", 0},
      {"hardware", "HW[,HW...]", "target hardware ids ([A-Za-z0-9._-], at most 16)", 1},
      {"url", "URL", "download URL (http or https); the credential subject id", 0},
      {"expires", "DURATION", "lifetime: 30d, 12h, 3600 ... (default 90d)", 0},
      {"format", "raw|tar|swu", "image format (default raw)", 0},
      {"issuer", "DID", "issuer DID (the policy's issuer)", 0},
      {"dir", "P", "take the issuer DID from the project P/project.json", 0},
      {"now", "UNIX", "issue time (default: now)", 0},
      {"out", "REL", "where the unsigned release goes (- for stdout)", 0}},
     release_create},
    {"release", "sign", "REL --dir P [--key-id release-1] | --key FILE|PKCS11-URI [--kid KID]",
     "Add the release key's signature to REL (in place unless --out). With --dir the key is "
     "P/keys/<key-id>.pem and the kid did:web:DOMAIN#<key-id>. The payload is checked "
     "before anything is signed.",
     1, 1,
     {{"dir", "P", "project directory", 0},
      {"key-id", "ID", "key id within the project (default release-1)", 0},
      {"key", "FILE|PKCS11-URI", "the signing key instead of a project key", 0},
      {"kid", "KID", "kid to put in the protected header (with --key)", 0},
      {"out", "FILE", "write the signed release here instead of in place", 0}},
     release_sign},
    {"release", "cosign",
     "REL --cosigner URL --identity FILE|PKCS11-URI (--cosigner-key DID|JWK-FILE | "
     "--trust-on-first-use) [--force] [--timeout S] [--cacert FILE]",
     "Ask the co-signing service for its signature (the second factor) and add it to REL. "
     "The request is signed by this build server's identity key.",
     1, 1,
     {{"cosigner", "URL", "the co-signing service", 0},
      {"identity", "FILE|PKCS11-URI", "this build server's identity key", 0},
      {"cosigner-key", "DID|JWK-FILE", "the co-signer's pinned public key", 0},
      {"trust-on-first-use", NULL, "fetch the co-signer's key from the service (says so)", 0},
      {"force", NULL, "ask to co-sign a lower securityVersion (the co-signer decides)", 0},
      {"timeout", "S", "whole exchange timeout in seconds (default 30)", 0},
      {"cacert", "FILE", "CA certificates for the service's TLS", 0}},
     cli_release_cosign},
    {"release", "verify",
     "REL --policy POLICY [--image IMAGE] [--hardware HW] [--now UNIX] [--state DIR]",
     "Verify REL as a device would: every required role's threshold of distinct keys, issuer, "
     "expiry, hardware, the floor in --state, and IMAGE's size and digest. Exits with the "
     "code of the first failure.",
     1, 1,
     {{"policy", "POLICY", "the signed trust policy (taken as the root of trust)", 0},
      {"image", "IMAGE", "also verify this image (read once)", 0},
      {"hardware", "HW", "the device's hardware id", 0},
      {"now", "UNIX", "the clock (default: now)", 0},
      {"state", "DIR", "a device state directory (floor, committed release); read only", 0}},
     release_verify},
    {"release", "show", "REL",
     "Print a release's claims and signature headers WITHOUT verifying anything.", 1, 1,
     {{NULL, NULL, NULL, 0}},
     release_show},
    {NULL, NULL, NULL, NULL, 0, 0, {{NULL, NULL, NULL, 0}}, NULL},
};
