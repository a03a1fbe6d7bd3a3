/*
 * make_login.c - the device and the server of one login, for
 * tests/interop/identity.sh (compiled by it against libvouch.a):
 *
 *   make_login respond POLICY SERVER-KEY DEVICE-KEY CREDENTIAL NONCE [AUTHZ]
 *       the server's request object (signed by SERVER-KEY, its definition
 *       from the authz.json AUTHZ, else the default), verified as the
 *       device would, and the device's response made with DEVICE-KEY;
 *       prints {"client_id","nonce","request","id_token","vp_token",
 *       "presentation_submission"} as JSON.
 *   make_login verify POLICY ID-TOKEN-FILE VP-TOKEN-FILE SUBMISSION-FILE NONCE
 *       the server's verdict (default authorization policy) on a response
 *       made by someone else; prints {"code","name","did","serial"} and
 *       exits 0 only when accepted.
 * The clock is the real one: the other side checks exp against it too.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "vouch/vouch.h"
#include "vouch/policy.h"
#include "vouch/siop.h"

#define ORIGIN "https://updates.example.com"

static char *slurp(const char *path)
{
    unsigned char *b = NULL;
    size_t n = 0;
    vouch_err e;

    if (vouch_file_read(path, 1u << 20, &b, &n, &e) != VOUCH_OK) {
        fprintf(stderr, "%s: %s\n", path, e.msg);
        exit(1);
    }
    while (n && (b[n - 1] == '\n' || b[n - 1] == '\r'))
        b[--n] = '\0';
    return (char *)b;
}

static void die(const char *what, const vouch_err *e)
{
    fprintf(stderr, "%s: %s (%s)\n", what, e->msg, vouch_code_name(e->code));
    exit(1);
}

int main(int argc, char **argv)
{
    vouch_policy *p = NULL;
    vouch_err e;
    int64_t now = (int64_t)time(NULL);
    char *pol;

    vouch_json_init();
    vouch_err_clear(&e);
    if (argc < 7 || argc > 8 || (strcmp(argv[1], "respond") && strcmp(argv[1], "verify"))) {
        fprintf(stderr, "usage: see the top of make_login.c\n");
        return 2;
    }
    pol = slurp(argv[2]);
    if (vouch_policy_verify_root(pol, strlen(pol), now, &p, &e) != VOUCH_OK)
        die("policy", &e);
    if (strcmp(argv[1], "respond") == 0) {
        vouch_key *sk = NULL, *dk = NULL;
        vouch_authz a;
        vouch_login_params lp = {vouch_policy_issuer(p), ORIGIN "/auth/siop/response/interop",
                                 argv[6], "interop-state", now, now + 120};
        vouch_siop_request rq;
        vouch_siop_response rs;
        json_t *def = NULL, *out;
        char *ro = NULL, *cred = slurp(argv[5]), *s;

        vouch_authz_default(&a);
        if (argc == 8) {
            char *az = slurp(argv[7]);
            if (vouch_authz_parse(az, strlen(az), &a, &e) != VOUCH_OK)
                die("authz", &e);
            vouch_free(az);
        }
        if (vouch_key_load(argv[3], &sk, &e) != VOUCH_OK || vouch_key_load(argv[4], &dk, &e) ||
            vouch_authz_definition(&a, &def, &e) != VOUCH_OK ||
            vouch_siop_request_build(sk, "server-1", &lp, def, &ro, &e) != VOUCH_OK ||
            vouch_siop_request_verify(p, ro, strlen(ro), ORIGIN, now, &rq, &e) != VOUCH_OK ||
            vouch_siop_response_build(dk, cred, &rq, now, &rs, &e) != VOUCH_OK)
            die("respond", &e);
        out = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "client_id", lp.client_id, "nonce",
                        lp.nonce, "request", ro, "id_token", rs.id_token, "vp_token",
                        rs.vp_token, "presentation_submission", rs.presentation_submission);
        s = json_dumps(out, JSON_COMPACT);
        printf("%s\n", s);
        free(s);
        json_decref(out);
        json_decref(def);
        vouch_siop_response_free(&rs);
        vouch_siop_request_free(&rq);
        vouch_free(ro);
        vouch_free(cred);
        vouch_key_free(sk);
        vouch_key_free(dk);
    } else {
        vouch_authz a;
        vouch_login_params lp = {vouch_policy_issuer(p), ORIGIN "/auth/siop/response/interop",
                                 argv[6], "interop-state", now, now + 120};
        vouch_device_facts f;
        char *idt = slurp(argv[3]), *vpt = slurp(argv[4]), *sub = slurp(argv[5]);
        vouch_code rc;

        vouch_authz_default(&a);
        rc = vouch_siop_response_verify(p, &a, &lp, idt, strlen(idt), vpt, strlen(vpt), sub,
                                        strlen(sub), now, &f, &e);
        printf("{\"code\":%d,\"name\":\"%s\",\"did\":\"%s\",\"serial\":\"%s\"}\n", (int)rc,
               vouch_code_name(rc), f.did, f.serial);
        if (rc != VOUCH_OK)
            fprintf(stderr, "verify: %s\n", e.msg);
        vouch_free(idt);
        vouch_free(vpt);
        vouch_free(sub);
        vouch_policy_free(p);
        vouch_free(pol);
        return rc == VOUCH_OK ? 0 : 1;
    }
    vouch_policy_free(p);
    vouch_free(pol);
    return 0;
}
