/*
 * vouch-verify - the device-side verifier and SWUpdate pre-update hook.
 *
 *   vouch-verify --policy POLICY --credential REL [--state DIR] [--hardware HW]
 *                [--now UNIX-SECONDS] [--json] IMAGE
 *   vouch-verify --commit --credential REL --state DIR [--policy POLICY] [IMAGE]
 *   vouch-verify --swupdate-hook --credential REL [--policy POLICY] [--state DIR]
 *                [--hardware HW] [--sw-description FILE] [IMAGE.swu]
 *   vouch-verify --pin --policy POLICY --state DIR
 *
 * One table of modes and one table of options drive parsing and --help.
 * The process exits with the vouch_code of the first failure (0 on success),
 * so a shell, SWUpdate or an agent can tell every class of refusal apart.
 *
 * What may write the device state (--state DIR) is fixed here: only --commit
 * (after a successful install: raises the floor, records version and digest,
 * and pins the policy it verified with if that was a new one) and --pin (end
 * of line provisioning, or walking a rotation one step). Verifying, and the
 * SWUpdate hook, never write anything.
 *
 * Memory: the credential and the policy are capped (256 KiB each) and the
 * image is read once through one VOUCH_IMAGE_BUF buffer, so the peak RSS
 * does not depend on the image's size.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vouch/vouch.h"
#include "vouch/policy.h"
#include "vouch/release.h"
#include "vouch/state.h"

#define PROG "vouch-verify"
#define TEXT_MAX (256u * 1024u)

enum vv_opt_id {
    O_POLICY,
    O_CREDENTIAL,
    O_STATE,
    O_HARDWARE,
    O_NOW,
    O_SWDESC,
    O__COUNT
};

typedef struct vv_opt {
    const char *name;
    const char *metavar;
    const char *help;
} vv_opt;

static const vv_opt opts[O__COUNT] = {
    [O_POLICY] = {"policy", "POLICY",
                  "the signed trust policy (optional once one is pinned in --state)"},
    [O_CREDENTIAL] = {"credential", "REL", "the release credential (general JWS)"},
    [O_STATE] = {"state", "DIR",
                 "device state: anti-rollback floor, committed release, pinned policy"},
    [O_HARDWARE] = {"hardware", "HW", "this device's hardware id; the release must name it"},
    [O_NOW] = {"now", "UNIX-SECONDS", "the clock for expiry checks (default: the system clock)"},
    [O_SWDESC] = {"sw-description", "FILE",
                  "hook mode: the sw-description SWUpdate extracted (default "
                  "$TMPDIR/sw-description)"},
};

typedef struct vv_args {
    const char *val[O__COUNT];
    const char *image;
    int json;
    const struct vv_mode *mode;
} vv_args;

typedef struct vv_mode {
    const char *flag; /* NULL for the default mode */
    const char *name;
    const char *synopsis;
    const char *summary;
    unsigned required;  /* bit per option */
    unsigned allowed;   /* bit per option */
    int image;          /* 0 no IMAGE, 1 optional, 2 required */
    vouch_code (*run)(const vv_args *a, vouch_err *err);
} vv_mode;

#define B(o) (1u << (o))

static vouch_code run_verify(const vv_args *a, vouch_err *err);
static vouch_code run_commit(const vv_args *a, vouch_err *err);
static vouch_code run_hook(const vv_args *a, vouch_err *err);
static vouch_code run_pin(const vv_args *a, vouch_err *err);

static const vv_mode modes[] = {
    {NULL, "verify",
     "--policy POLICY --credential REL [--state DIR] [--hardware HW] [--now T] IMAGE",
     "Verify a release credential and the image it vouches for: each required role's "
     "threshold of distinct keys, issuer, expiry, hardware, the anti-rollback floor, then the "
     "exact size and SHA-256 of IMAGE, read once. Writes nothing.",
     B(O_CREDENTIAL),
     B(O_POLICY) | B(O_CREDENTIAL) | B(O_STATE) | B(O_HARDWARE) | B(O_NOW), 2, run_verify},
    {"commit", "commit",
     "--credential REL --state DIR [--policy POLICY] [--hardware HW] [--now T] [IMAGE]",
     "After a successful install: verify the credential again (and IMAGE if given), then raise "
     "the floor to its securityVersion and record its version and digest, atomically. Pins "
     "the policy it verified with when that is a new one. The only way the floor goes up.",
     B(O_CREDENTIAL) | B(O_STATE),
     B(O_POLICY) | B(O_CREDENTIAL) | B(O_STATE) | B(O_HARDWARE) | B(O_NOW), 1, run_commit},
    {"swupdate-hook", "swupdate-hook",
     "--credential REL [--policy POLICY] [--state DIR] [--hardware HW] [--sw-description FILE] "
     "[IMAGE.swu]",
     "SWUpdate pre-update command (-P): verify the credential, then check that the "
     "sw-description SWUpdate extracted is the one it vouches for (swDescriptionSha256), "
     "before any payload byte is written. With IMAGE.swu (a local install, swupdate -i), the "
     "whole archive's size and digest are verified too, so a tampered payload is refused "
     "even for images SWUpdate installs directly from the stream. Writes nothing.",
     B(O_CREDENTIAL),
     B(O_POLICY) | B(O_CREDENTIAL) | B(O_STATE) | B(O_HARDWARE) | B(O_NOW) | B(O_SWDESC), 1,
     run_hook},
    {"pin", "pin", "--policy POLICY --state DIR [--now T]",
     "Pin a trust policy: as the root of trust when none is pinned (end of line), else as the "
     "pinned one's successor (version N+1 only, signed by both root sets).",
     B(O_POLICY) | B(O_STATE), B(O_POLICY) | B(O_STATE) | B(O_NOW), 0, run_pin},
};
#define NMODES (sizeof(modes) / sizeof(modes[0]))

static void print_help(FILE *f)
{
    fprintf(f, "%s %s - verify firmware releases on the device (vouched for twice)\n\n", PROG,
            VOUCH_VERSION);
    for (size_t i = 0; i < NMODES; i++)
        fprintf(f, "usage: %s%s%s %s\n", PROG, modes[i].flag ? " --" : "",
                modes[i].flag ? modes[i].flag : "", modes[i].synopsis);
    fprintf(f, "\nmodes:\n");
    for (size_t i = 0; i < NMODES; i++)
        fprintf(f, "  %-16s %s\n", modes[i].name, modes[i].summary);
    fprintf(f, "\noptions:\n");
    for (int o = 0; o < O__COUNT; o++) {
        char left[48];
        snprintf(left, sizeof(left), "--%s %s", opts[o].name, opts[o].metavar);
        fprintf(f, "  %-30s %s\n", left, opts[o].help);
    }
    fprintf(f, "  %-30s %s\n", "--json", "print the result (or the error) as one JSON object");
    fprintf(f, "  %-30s %s\n", "--help", "show this help and exit");
    fprintf(f, "\nexit status: 0 when verified, else the vouch error code, e.g. 106 no trust "
               "policy,\n121 a required signature missing, 122 rollback, 123 digest, 124 size,\n"
               "125 hardware, 126 expired, 128 sw-description (see `vouch errors`).\n");
}

/* Fills a from argv; 1 if --help was asked, 0 on success, else an error. */
static int parse_args(int argc, char **argv, vv_args *a, vouch_err *err)
{
    const vv_mode *m = &modes[0];
    int only_pos = 0;

    memset(a, 0, sizeof(*a));
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        size_t k;
        int o;

        if (only_pos || arg[0] != '-' || arg[1] != '-' || arg[2] == '\0') {
            if (!only_pos && strcmp(arg, "--") == 0) {
                only_pos = 1;
                continue;
            }
            if (a->image)
                return vouch_err_set(err, VOUCH_E_USAGE, "unexpected argument '%.64s'", arg);
            a->image = arg;
            continue;
        }
        if (strcmp(arg, "--help") == 0)
            return 1;
        if (strcmp(arg, "--json") == 0) {
            a->json = 1;
            continue;
        }
        for (k = 0; k < NMODES; k++)
            if (modes[k].flag && strcmp(arg + 2, modes[k].flag) == 0)
                break;
        if (k < NMODES) {
            if (m != &modes[0] && m != &modes[k])
                return vouch_err_set(err, VOUCH_E_USAGE, "--%s and --%s exclude each other",
                                     m->flag, modes[k].flag);
            m = &modes[k];
            continue;
        }
        for (o = 0; o < O__COUNT; o++)
            if (strcmp(arg + 2, opts[o].name) == 0)
                break;
        if (o == O__COUNT)
            return vouch_err_set(err, VOUCH_E_USAGE, "unknown option '%.64s' (see --help)", arg);
        if (i + 1 >= argc)
            return vouch_err_set(err, VOUCH_E_USAGE, "--%s needs a value (%s)", opts[o].name,
                                 opts[o].metavar);
        if (a->val[o])
            return vouch_err_set(err, VOUCH_E_USAGE, "--%s given twice", opts[o].name);
        a->val[o] = argv[++i];
    }
    a->mode = m;
    for (int o = 0; o < O__COUNT; o++) {
        if (a->val[o] && !(m->allowed & B(o)))
            return vouch_err_set(err, VOUCH_E_USAGE, "--%s does not apply to %s mode",
                                 opts[o].name, m->name);
        /* no policy at all is not a usage error: it fails closed below */
        if (!a->val[o] && (m->required & B(o)))
            return vouch_err_set(err, VOUCH_E_USAGE, "%s mode needs --%s", m->name,
                                 opts[o].name);
    }
    if (m->image == 2 && !a->image)
        return vouch_err_set(err, VOUCH_E_USAGE, "%s mode needs an IMAGE", m->name);
    if (m->image == 0 && a->image)
        return vouch_err_set(err, VOUCH_E_USAGE, "%s mode takes no IMAGE", m->name);
    return 0;
}

/* A text file, capped, without trailing whitespace (files end in newlines). */
static vouch_code read_text(const char *path, char **out, size_t *len, vouch_err *err)
{
    unsigned char *buf = NULL;
    size_t n = 0;
    vouch_code rc = vouch_file_read(path, TEXT_MAX, &buf, &n, err);

    if (rc != VOUCH_OK)
        return rc;
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' ||
                 buf[n - 1] == '\t'))
        buf[--n] = '\0';
    *out = (char *)buf;
    *len = n;
    return VOUCH_OK;
}

static vouch_code parse_now(const char *s, int64_t *now, vouch_err *err)
{
    char *end = NULL;
    long long v;

    if (!s) {
        *now = (int64_t)time(NULL);
        return VOUCH_OK;
    }
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || !end || *end || end == s || v < 0 || v > VOUCH_JSON_MAX_SAFE_INT)
        return vouch_err_set(err, VOUCH_E_USAGE, "--now must be unix seconds, not '%.32s'", s);
    *now = (int64_t)v;
    return VOUCH_OK;
}

/* Everything a mode works with, loaded in the order cap -> verify -> use. */
typedef struct vv_ctx {
    int64_t now;
    vouch_state_port port;
    int have_port;
    vouch_device_state st;
    vouch_policy *policy;
    int policy_new;
    char *cred;
    size_t cred_len;
    vouch_release rel;
} vv_ctx;

static void ctx_free(vv_ctx *c)
{
    if (c->policy)
        vouch_policy_free(c->policy);
    vouch_free(c->cred);
    if (c->have_port)
        vouch_state_file_close(&c->port);
    memset(c, 0, sizeof(*c));
}

/*
 * Opens the state (creating its directory only for modes that write),
 * chooses the trust policy, reads the floor and the credential.
 */
static vouch_code ctx_load(const vv_args *a, int writes, vv_ctx *c, vouch_err *err)
{
    char *pol = NULL;
    size_t pol_len = 0;
    const char *dir = a->val[O_STATE];
    struct stat sb;
    vouch_code rc;

    memset(c, 0, sizeof(*c));
    rc = parse_now(a->val[O_NOW], &c->now, err);
    if (rc != VOUCH_OK)
        goto out;
    /* a verifier must not even create the state directory; a device that
     * never committed simply has no floor and no pinned policy yet */
    if (dir && (writes || stat(dir, &sb) == 0)) {
        rc = vouch_state_file_open(dir, &c->port, err);
        if (rc != VOUCH_OK)
            goto out;
        c->have_port = 1;
    }
    if (a->val[O_POLICY]) {
        rc = read_text(a->val[O_POLICY], &pol, &pol_len, err);
        if (rc == VOUCH_E_NOTFOUND)
            rc = vouch_err_set(err, VOUCH_E_POLICY_MISSING, "no trust policy at %s",
                               a->val[O_POLICY]);
        if (rc != VOUCH_OK)
            goto out;
    }
    rc = vouch_release_trust_policy(c->have_port ? &c->port : NULL, pol, pol_len, c->now,
                                    &c->policy, &c->policy_new, err);
    if (rc != VOUCH_OK)
        goto out;
    if (c->have_port) {
        rc = c->port.read(c->port.ctx, &c->st, err);
        if (rc != VOUCH_OK)
            goto out;
    }
    if (a->val[O_CREDENTIAL]) {
        rc = read_text(a->val[O_CREDENTIAL], &c->cred, &c->cred_len, err);
        if (rc == VOUCH_E_LIMIT)
            rc = vouch_err_set(err, VOUCH_E_JWS_TOO_LARGE, "%s is too large",
                               a->val[O_CREDENTIAL]);
    }
out:
    vouch_free(pol);
    return rc;
}

static vouch_code print_result(const vv_args *a, const vv_ctx *c, const char *what,
                               vouch_err *err)
{
    char sha[65];
    const vouch_release *r = &c->rel;

    vouch_hex_encode_buf(r->sha256, 32, sha, sizeof(sha), NULL);
    if (a->json) {
        json_t *hw = json_array(), *o;
        char *s = NULL;
        size_t n = 0;
        vouch_code rc;

        for (size_t i = 0; hw && i < r->nhardware; i++)
            json_array_append_new(hw, json_string(r->hardware[i]));
        o = json_pack("{s:b,s:s,s:s,s:s,s:I,s:s,s:I,s:o,s:s,s:I,s:b,s:I}", "ok", 1, "mode",
                      a->mode->name, "result", what, "version", r->version, "securityVersion",
                      (json_int_t)r->security_version, "sha256", sha, "size",
                      (json_int_t)r->size, "hardware", hw ? hw : json_null(), "format",
                      vouch_image_format_name(r->format), "policyVersion",
                      (json_int_t)vouch_policy_version(c->policy), "policyNew", c->policy_new,
                      "exp", (json_int_t)r->exp);
        if (!o)
            return vouch_err_set(err, VOUCH_E_NOMEM, "out of memory printing the result");
        rc = vouch_json_dump(o, &s, &n, err);
        json_decref(o);
        if (rc == VOUCH_OK)
            printf("%s\n", s);
        vouch_free(s);
        return rc;
    }
    printf("%s: release %s (securityVersion %" PRId64 ", %" PRIu64 " bytes, sha256 %s), "
           "policy version %" PRId64 "\n",
           what, r->version, r->security_version, r->size, sha,
           vouch_policy_version(c->policy));
    return VOUCH_OK;
}

static vouch_release_check make_check(const vv_args *a, const vv_ctx *c)
{
    vouch_release_check chk;

    chk.now = c->now;
    chk.hardware = a->val[O_HARDWARE];
    chk.state = c->have_port ? &c->st : NULL;
    return chk;
}

static vouch_code run_verify(const vv_args *a, vouch_err *err)
{
    vv_ctx c;
    vouch_release_check chk;
    vouch_code rc;

    rc = ctx_load(a, 0, &c, err);
    if (rc != VOUCH_OK)
        goto out;
    chk = make_check(a, &c);
    rc = vouch_release_verify_image_file(c.policy, c.cred, c.cred_len, &chk, a->image, &c.rel,
                                         err);
    if (rc == VOUCH_OK)
        rc = print_result(a, &c, "verified", err);
out:
    ctx_free(&c);
    return rc;
}

static vouch_code run_commit(const vv_args *a, vouch_err *err)
{
    vv_ctx c;
    vouch_release_check chk;
    const char *pj;
    size_t pjn = 0;
    vouch_code rc;

    rc = ctx_load(a, 1, &c, err);
    if (rc != VOUCH_OK)
        goto out;
    chk = make_check(a, &c);
    if (a->image)
        rc = vouch_release_verify_image_file(c.policy, c.cred, c.cred_len, &chk, a->image,
                                             &c.rel, err);
    else
        rc = vouch_release_verify(c.policy, c.cred, c.cred_len, &chk, &c.rel, err);
    if (rc != VOUCH_OK)
        goto out;
    /* the policy first: if power fails in between, the floor is still the
     * old one and the commit can simply be repeated */
    if (c.policy_new) {
        pj = vouch_policy_jws(c.policy, &pjn);
        if (!pj) {
            rc = vouch_err_set(err, VOUCH_E_INTERNAL, "verified policy has no signed text");
            goto out;
        }
        rc = c.port.write_policy(c.port.ctx, pj, pjn, err);
        if (rc != VOUCH_OK)
            goto out;
    }
    rc = vouch_state_commit(&c.port, c.rel.security_version, c.rel.version, c.rel.sha256, err);
    if (rc == VOUCH_OK)
        rc = print_result(a, &c, "committed", err);
out:
    ctx_free(&c);
    return rc;
}

static vouch_code run_hook(const vv_args *a, vouch_err *err)
{
    char path[4096];
    const char *swd = a->val[O_SWDESC];
    vv_ctx c;
    vouch_release_check chk;
    vouch_code rc;

    rc = ctx_load(a, 0, &c, err);
    if (rc != VOUCH_OK)
        goto out;
    if (!swd) {
        /* where SWUpdate extracts it: get_tmpdir() is $TMPDIR or /tmp */
        const char *t = getenv("TMPDIR");
        size_t tl;
        if (!t || !*t)
            t = "/tmp";
        tl = strlen(t);
        if (snprintf(path, sizeof(path), "%s%ssw-description", t,
                     tl && t[tl - 1] == '/' ? "" : "/") >= (int)sizeof(path)) {
            rc = vouch_err_set(err, VOUCH_E_ARG, "TMPDIR is too long");
            goto out;
        }
        swd = path;
    }
    chk = make_check(a, &c);
    if (a->image)
        rc = vouch_release_verify_image_file(c.policy, c.cred, c.cred_len, &chk, a->image,
                                             &c.rel, err);
    else
        rc = vouch_release_verify(c.policy, c.cred, c.cred_len, &chk, &c.rel, err);
    if (rc == VOUCH_OK && c.rel.format != VOUCH_FORMAT_SWU)
        rc = vouch_err_set(err, VOUCH_E_RELEASE_SWDESC,
                           "the release is a %s image, not a .swu: it binds no sw-description",
                           vouch_image_format_name(c.rel.format));
    if (rc == VOUCH_OK)
        rc = vouch_release_check_swdesc(&c.rel, swd, err);
    if (rc == VOUCH_OK)
        rc = print_result(a, &c, "vouched sw-description", err);
out:
    ctx_free(&c);
    return rc;
}

static vouch_code run_pin(const vv_args *a, vouch_err *err)
{
    vv_ctx c;
    const char *pj;
    size_t pjn = 0;
    vouch_code rc;

    rc = ctx_load(a, 1, &c, err);
    if (rc != VOUCH_OK)
        goto out;
    if (c.policy_new) {
        pj = vouch_policy_jws(c.policy, &pjn);
        if (!pj) {
            rc = vouch_err_set(err, VOUCH_E_INTERNAL, "verified policy has no signed text");
            goto out;
        }
        rc = c.port.write_policy(c.port.ctx, pj, pjn, err);
        if (rc != VOUCH_OK)
            goto out;
    }
    if (a->json)
        printf("{\"ok\":true,\"mode\":\"pin\",\"policyVersion\":%" PRId64 ",\"policyNew\":%s}\n",
               vouch_policy_version(c.policy), c.policy_new ? "true" : "false");
    else
        printf("%s trust policy version %" PRId64 "\n", c.policy_new ? "pinned" : "already pinned:",
               vouch_policy_version(c.policy));
out:
    ctx_free(&c);
    return rc;
}

static int report_error(const vouch_err *e, int json)
{
    if (json) {
        json_t *o = json_pack("{s:b,s:{s:i,s:s,s:s}}", "ok", 0, "error", "code", (int)e->code,
                              "name", vouch_code_name(e->code), "message", e->msg);
        char *s = NULL;
        size_t n = 0;
        if (o && vouch_json_dump(o, &s, &n, NULL) == VOUCH_OK)
            fprintf(stderr, "%s\n", s);
        else
            fprintf(stderr, "{\"ok\":false,\"error\":{\"code\":%d}}\n", (int)e->code);
        vouch_free(s);
        json_decref(o);
    } else {
        fprintf(stderr, "%s: %s (%s)\n", PROG, e->msg[0] ? e->msg : vouch_code_describe(e->code),
                vouch_code_name(e->code));
    }
    return (int)e->code;
}

int main(int argc, char **argv)
{
    vv_args a;
    vouch_err err;
    int json = 0, rc;

    vouch_err_clear(&err);
    vouch_json_init();
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
    rc = parse_args(argc, argv, &a, &err);
    if (rc == 1) {
        print_help(stdout);
        return 0;
    }
    if (rc != 0)
        return report_error(&err, json);
    if (a.mode->run(&a, &err) != VOUCH_OK) {
        if (err.code == VOUCH_OK)
            vouch_err_set(&err, VOUCH_E_INTERNAL, "failed without a reason");
        return report_error(&err, json);
    }
    return 0;
}
