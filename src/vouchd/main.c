/* main.c - `vouchd`, the update server: one table of commands (serve,
 * revoke, register); help, parsing and errors are common/cli.h's: errors to
 * stderr as "vouchd: <message> (<NAME>)" (printable ASCII only: they may
 * quote a device's words) or one JSON object with --json, and the
 * vouch_code of the error as the exit status. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/cli.h"
#include "vouchd/vouchd.h"

static int64_t clock_real(void) { return (int64_t)time(NULL); }

/* $VOUCHD_CLOCK_SKEW (a test hook): seconds added to the real clock, so
 * that expiry can be tested without waiting. */
static int64_t clock_offset;
static int64_t clock_shifted(void) { return (int64_t)time(NULL) + clock_offset; }

static vouch_code cmd_serve(const cli_args *a, vouch_err *err)
{
    vd_server s;
    vd_listen l;
    uint8_t key[VD_STATE_KEY_LEN] = {0};
    const char *dir, *listen_s, *skew = getenv("VOUCHD_CLOCK_SKEW");
    int64_t nthreads = sysconf(_SC_NPROCESSORS_ONLN);
    vouch_code rc;

    memset(&s, 0, sizeof(s));
    memset(&l, 0, sizeof(l));
    s.clock = clock_real;
    if ((rc = cli_require(a, "dir", &dir, err)) != VOUCH_OK ||
        (rc = cli_require(a, "listen", &listen_s, err)) != VOUCH_OK ||
        (rc = cli_get_int(a, "threads", 1, 256, &nthreads, err)) != VOUCH_OK)
        goto out;
    if (nthreads < 1)
        nthreads = 1;
    if (skew) {
        char *end = NULL;
        clock_offset = strtoll(skew, &end, 10);
        if (!*skew || *end) {
            rc = vouch_err_set(err, VOUCH_E_USAGE, "VOUCHD_CLOCK_SKEW must be an integer");
            goto out;
        }
        s.clock = clock_shifted;
    }
    l.listen = listen_s;
    l.tls_cert = cli_get(a, "tls-cert");
    l.tls_key = cli_get(a, "tls-key");
    l.public_url = cli_get(a, "public-url");
    l.threads = (unsigned)nthreads;
    if ((rc = vd_config_load(dir, &s.cfg, err)) != VOUCH_OK ||
        (rc = vd_store_open(dir, cli_get(a, "db"), 1, &s.store, err)) != VOUCH_OK ||
        (rc = s.store->ops->state_key(s.store, key, err)) != VOUCH_OK ||
        (rc = vd_sealer_new(key, &s.sealer, err)) != VOUCH_OK)
        goto out;
    vouch_wipe(key, sizeof(key));
    rc = vd_http_serve(&s, &l, err);
out:
    vouch_wipe(key, sizeof(key));
    vd_sealer_free(s.sealer);
    vd_store_close(s.store);
    vd_config_free(&s.cfg);
    return rc;
}

/* revoke and register: the DID must be a did:key we can decode. */
static vouch_code cmd_mark(const cli_args *a, int revoke, vouch_err *err)
{
    const char *dir, *did = a->pos[0]; /* the table asks for exactly one */
    vd_store *st = NULL;
    vouch_key *k = NULL;
    int changed = 0;
    vouch_code rc;

    if ((rc = cli_require(a, "dir", &dir, err)) != VOUCH_OK ||
        (rc = vouch_did_key_decode(did, &k, err)) != VOUCH_OK ||
        (rc = vd_store_open(dir, cli_get(a, "db"), 1, &st, err)) != VOUCH_OK)
        goto out;
    rc = revoke ? st->ops->revoke(st, did, (int64_t)time(NULL), &changed, err)
                : st->ops->enroll(st, did, (int64_t)time(NULL), &changed, err);
    if (rc != VOUCH_OK)
        goto out;
    if (a->json)
        rc = cli_print_json(json_pack("{s:s,s:s,s:b}", "did", did, "state",
                                      revoke ? "revoked" : "registered", "changed", changed),
                            err);
    else
        printf("%s %s%s\n", did, revoke ? "revoked" : "registered", changed ? "" : " (already)");
out:
    vouch_key_free(k);
    vd_store_close(st);
    return rc;
}

static vouch_code cmd_revoke(const cli_args *a, vouch_err *err) { return cmd_mark(a, 1, err); }
static vouch_code cmd_register(const cli_args *a, vouch_err *err) { return cmd_mark(a, 0, err); }

static const cli_cmd cmds[] = {
    {NULL, "serve",
     "--dir S --listen ADDR:PORT [--db URL] [--tls-cert F --tls-key F] [--public-url URL]",
     "Serve did:web, the SIOPv2 + OpenID4VP login and the device API until SIGTERM. Plain "
     "HTTP is allowed on loopback addresses only.",
     0, 0,
     {{"dir", "S", "the server directory (from `vouch server export`)", 0},
      {"listen", "ADDR:PORT", "IPv4 or [IPv6] address and port (0: any free port)", 0},
      {"db", "URL", "sqlite:PATH or postgresql://... (default S/vouchd.db)", 0},
      {"tls-cert", "FILE", "TLS certificate chain (PEM)", 0},
      {"tls-key", "FILE", "TLS private key (PEM, mode 0600)", 0},
      {"public-url", "URL", "scheme://host[:port] devices reach (default from --listen or S)", 0},
      {"threads", "N", "worker threads (default: one per core)", 0}},
     cmd_serve},
    {NULL, "revoke", "--dir S [--db URL] DID",
     "Revoke a device: its next login is refused and its access tokens stop working at once.",
     1, 1,
     {{"dir", "S", "the server directory", 0},
      {"db", "URL", "sqlite:PATH or postgresql://... (default S/vouchd.db)", 0}},
     cmd_revoke},
    {NULL, "register", "--dir S [--db URL] DID",
     "Register a device key for allowlist mode (id_token alone).", 1, 1,
     {{"dir", "S", "the server directory", 0},
      {"db", "URL", "sqlite:PATH or postgresql://... (default S/vouchd.db)", 0}},
     cmd_register},
    {NULL, NULL, NULL, NULL, 0, 0, {{NULL, NULL, NULL, 0}}, NULL},
};

static const cli_prog prog = {
    .name = "vouchd",
    .tagline = "the vouch update server",
    .cmds = cmds,
    .ascii_errors = 1,
};

int main(int argc, char **argv) { return cli_main(&prog, argc, argv); }
