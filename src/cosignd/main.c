/*
 * main.c - `vouch-cosignd`, the co-signing service: one table drives the
 * subcommands, their parsing and their help (common/cli.h).
 *
 * Results go to stdout (text, or one JSON object with --json); errors go to
 * stderr and the process exits with the vouch_code of the error (`vouch
 * errors` lists them). --help prints to stdout and exits 0.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cli.h"
#include "cosignd/cosignd.h"

/* Opens the database of a state directory that init made. */
static vouch_code open_db(const char *dir, cosignd_db **db, vouch_err *err)
{
    char path[COSIGND_PATH_MAX];
    cosignd_config c;
    vouch_code rc;

    *db = NULL;
    if ((rc = cosignd_config_load(dir, &c, err)) != VOUCH_OK ||
        (rc = cosignd_path(dir, COSIGND_DB_FILE, path, sizeof(path), err)) != VOUCH_OK)
        return rc;
    return cosignd_db_open(path, 0, db, err);
}

/* A build server's DID: a bare did:key (no fragment) that decodes. */
static vouch_code check_build_did(const char *did, vouch_err *err)
{
    vouch_key *k = NULL;
    vouch_code rc;

    if (strnlen(did, VOUCH_DID_MAX + 1) > VOUCH_DID_MAX)
        return vouch_err_set(err, VOUCH_E_LIMIT, "DID is longer than %u bytes", VOUCH_DID_MAX);
    if (strchr(did, '#'))
        return vouch_err_set(err, VOUCH_E_DID_SYNTAX, "give the bare DID, without a #fragment");
    rc = vouch_did_key_decode(did, &k, err);
    vouch_key_free(k);
    if (rc != VOUCH_OK)
        vouch_err_prefix(err, "build servers are did:key identities");
    return rc;
}

/* --------------------------------------------------------------- commands */

static vouch_code cmd_init(const cli_args *a, vouch_err *err)
{
    const char *dir, *vendor = cli_get(a, "vendor"), *type_s = cli_get(a, "key-type");
    const char *uri = cli_get(a, "key");
    char path[COSIGND_PATH_MAX];
    cosignd_config c;
    cosignd_db *db = NULL;
    vouch_key *k = NULL;
    vouch_key_type type = VOUCH_KEY_P256;
    char *did = NULL, *kid = NULL;
    json_t *jwk = NULL;
    struct stat st;
    cosignd_audit au;
    int fd = -1;
    vouch_code rc;
    const char *const files[] = {COSIGND_CONFIG_FILE, COSIGND_KEY_FILE, COSIGND_DB_FILE};

    if ((rc = cli_require(a, "dir", &dir, err)) != VOUCH_OK)
        goto out;
    cosignd_config_defaults(&c);
    if (vendor) {
        if ((rc = cosignd_check_vendor(vendor, err)) != VOUCH_OK)
            goto out;
        snprintf(c.vendor, sizeof(c.vendor), "%s", vendor);
    }
    if (type_s) {
        type = vouch_key_type_from_name(type_s);
        if (type == VOUCH_KEY_NONE) {
            rc = vouch_err_set(err, VOUCH_E_USAGE, "--key-type must be p256 or ed25519");
            goto out;
        }
    }
    if (uri && strncmp(uri, "pkcs11:", 7) != 0) {
        rc = vouch_err_set(err, VOUCH_E_USAGE, "--key takes a pkcs11: URI");
        goto out;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        rc = vouch_err_set(err, VOUCH_E_IO, "cannot create %s: %s", dir, strerror(errno));
        goto out;
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        rc = vouch_err_set(err, VOUCH_E_IO, "%s is not a directory", dir);
        goto out;
    }
    /* never over an existing co-signer: its key and state are the service */
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        if ((rc = cosignd_path(dir, files[i], path, sizeof(path), err)) != VOUCH_OK)
            goto out;
        if (access(path, F_OK) == 0) {
            rc = vouch_err_set(err, VOUCH_E_EXISTS, "%s already exists; not overwritten", path);
            goto out;
        }
    }
    if (uri) {
        /* a key already in the token is used; else one is made there */
        vouch_err tmp;
        if (vouch_key_load(uri, &k, &tmp) != VOUCH_OK &&
            (rc = vouch_key_generate_pkcs11(uri, type, &k, err)) != VOUCH_OK)
            goto out;
        snprintf(c.key, sizeof(c.key), "%s", uri);
        if (strlen(uri) >= sizeof(c.key)) {
            rc = vouch_err_set(err, VOUCH_E_LIMIT, "--key URI is too long");
            goto out;
        }
    } else {
        if ((rc = vouch_key_generate(type, &k, err)) != VOUCH_OK ||
            (rc = cosignd_path(dir, COSIGND_KEY_FILE, path, sizeof(path), err)) != VOUCH_OK ||
            (rc = vouch_key_save_pem(k, path, 0, err)) != VOUCH_OK)
            goto out;
    }
    if ((rc = vouch_did_key_encode(k, &did, err)) != VOUCH_OK ||
        (rc = vouch_did_key_vm_id(did, &kid, err)) != VOUCH_OK ||
        (rc = vouch_key_to_jwk(k, &jwk, err)) != VOUCH_OK ||
        (rc = cosignd_path(dir, COSIGND_DB_FILE, path, sizeof(path), err)) != VOUCH_OK ||
        (rc = cosignd_db_open(path, 1, &db, err)) != VOUCH_OK ||
        (rc = cosignd_auditlog_open(dir, &fd, err)) != VOUCH_OK)
        goto out;
    memset(&au, 0, sizeof(au));
    au.time = (int64_t)time(NULL);
    au.event = "init";
    au.build_server = NULL;
    au.security_version = -1;
    au.code = VOUCH_OK;
    au.reason = "co-signer created";
    if ((rc = cosignd_db_begin(db, err)) != VOUCH_OK)
        goto out;
    if ((rc = cosignd_audit_write(db, fd, &au, err)) != VOUCH_OK ||
        (rc = cosignd_db_commit(db, err)) != VOUCH_OK) {
        cosignd_db_rollback(db);
        goto out;
    }
    /* config.json last: its presence says the directory is complete */
    if ((rc = cosignd_config_save(dir, &c, 1, err)) != VOUCH_OK)
        goto out;
    if (a->json)
        rc = cli_print_json(json_pack("{s:s,s:s,s:O,s:s,s:s?}", "did", did, "kid", kid, "jwk",
                                      jwk, "dir", dir, "vendor", vendor),
                            err);
    else
        printf("%s\n", did);
out:
    if (fd >= 0)
        close(fd);
    cosignd_db_close(db);
    json_decref(jwk);
    vouch_free(kid);
    vouch_free(did);
    vouch_key_free(k);
    return rc;
}

static vouch_code cmd_config(const cli_args *a, vouch_err *err)
{
    const char *dir, *vendor = cli_get(a, "vendor");
    cosignd_config c;
    int changed = 0;
    vouch_code rc;

    if ((rc = cli_require(a, "dir", &dir, err)) != VOUCH_OK ||
        (rc = cosignd_config_load(dir, &c, err)) != VOUCH_OK)
        goto out;
    if (vendor) {
        if ((rc = cosignd_check_vendor(vendor, err)) != VOUCH_OK)
            goto out;
        snprintf(c.vendor, sizeof(c.vendor), "%s", vendor);
        changed = 1;
    }
    if ((rc = cli_get_int(a, "max-lifetime", 1, COSIGND_MAX_LIFETIME_MAX,
                          &c.max_release_lifetime, err)) != VOUCH_OK ||
        (rc = cli_get_int(a, "skew", 0, VOUCH_COSIGN_MAX_TTL, &c.skew, err)) != VOUCH_OK ||
        (rc = cli_get_int(a, "rate-burst", 1, COSIGND_RATE_BURST_MAX, &c.rate_burst, err)) !=
            VOUCH_OK ||
        (rc = cli_get_int(a, "rate-per-minute", 1, COSIGND_RATE_PER_MIN_MAX,
                          &c.rate_per_minute, err)) != VOUCH_OK)
        goto out;
    changed |= cli_get(a, "max-lifetime") || cli_get(a, "skew") || cli_get(a, "rate-burst") ||
               cli_get(a, "rate-per-minute");
    if (changed && (rc = cosignd_config_save(dir, &c, 0, err)) != VOUCH_OK)
        goto out;
    if (a->json) {
        rc = cli_print_json(cosignd_config_json(&c), err);
    } else {
        printf("vendor %s\nmaxReleaseLifetime %lld\nskew %lld\nrateBurst %lld\n"
               "ratePerMinute %lld\nkey %s\n",
               c.vendor[0] ? c.vendor : "(none: serve refuses to start)",
               (long long)c.max_release_lifetime, (long long)c.skew, (long long)c.rate_burst,
               (long long)c.rate_per_minute,
               strncmp(c.key, "pkcs11:", 7) == 0 ? "(a PKCS#11 token)" : c.key);
        if (changed)
            printf("restart a running vouch-cosignd to apply\n");
    }
out:
    return rc;
}

static vouch_code cmd_serve(const cli_args *a, vouch_err *err)
{
    cosignd_server s;
    cosignd_listen l;
    int64_t threads = 4;
    int opened = 0;
    vouch_code rc;

    memset(&l, 0, sizeof(l));
    if ((rc = cli_require(a, "dir", &s.dir, err)) != VOUCH_OK ||
        (rc = cli_require(a, "listen", &l.listen, err)) != VOUCH_OK ||
        (rc = cli_get_int(a, "threads", 1, 64, &threads, err)) != VOUCH_OK)
        goto out;
    l.tls_cert = cli_get(a, "tls-cert");
    l.tls_key = cli_get(a, "tls-key");
    l.threads = (unsigned)threads;
    if ((rc = cosignd_server_open(&s, cli_get(a, "dir"), err)) != VOUCH_OK)
        goto out;
    opened = 1;
    rc = cosignd_http_serve(&s, &l, err);
out:
    if (opened)
        cosignd_server_close(&s);
    return rc;
}

/* allow and revoke: the change and its audit record in one transaction. */
static vouch_code change_server(const cli_args *a, int revoke, vouch_err *err)
{
    const char *dir, *did = a->pos[0];
    int force = cli_get(a, "allow-force") != NULL;
    cosignd_db *db = NULL;
    cosignd_server_row before;
    cosignd_audit au;
    int fd = -1, in_tx = 0;
    vouch_code rc;

    if ((rc = cli_require(a, "dir", &dir, err)) != VOUCH_OK ||
        (rc = check_build_did(did, err)) != VOUCH_OK ||
        (rc = open_db(dir, &db, err)) != VOUCH_OK ||
        (rc = cosignd_auditlog_open(dir, &fd, err)) != VOUCH_OK ||
        (rc = cosignd_db_begin(db, err)) != VOUCH_OK)
        goto out;
    in_tx = 1;
    if ((rc = cosignd_db_server(db, did, &before, err)) != VOUCH_OK)
        goto out;
    memset(&au, 0, sizeof(au));
    au.time = (int64_t)time(NULL);
    au.build_server = did;
    au.security_version = -1;
    au.code = VOUCH_OK;
    au.peer = "operator";
    if (revoke) {
        rc = cosignd_db_revoke(db, did, au.time, err);
        au.event = "revoked";
        au.reason = before.found ? "revoked by the operator"
                                 : "revoked by the operator before it was ever allowed";
    } else {
        rc = cosignd_db_allow(db, did, force, au.time, err);
        au.event = "allowed";
        au.forced = force;
        au.reason = force ? "allowed by the operator, may force a lower securityVersion"
                          : "allowed by the operator";
    }
    if (rc != VOUCH_OK || (rc = cosignd_audit_write(db, fd, &au, err)) != VOUCH_OK ||
        (rc = cosignd_db_commit(db, err)) != VOUCH_OK)
        goto out;
    in_tx = 0;
    if (a->json)
        rc = cli_print_json(json_pack("{s:s,s:s,s:b}", "did", did, "status",
                                      revoke ? "revoked" : "allowed", "allowForce",
                                      !revoke && force),
                            err);
    else
        printf("%s %s%s\n", revoke ? "revoked" : "allowed", did,
               !revoke && force ? " (may force)" : "");
out:
    if (in_tx)
        cosignd_db_rollback(db);
    if (fd >= 0)
        close(fd);
    cosignd_db_close(db);
    return rc;
}

static vouch_code cmd_allow(const cli_args *a, vouch_err *err) { return change_server(a, 0, err); }
static vouch_code cmd_revoke(const cli_args *a, vouch_err *err) { return change_server(a, 1, err); }

static const char *jstr(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "-";
}

static long long jint(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

static vouch_code cmd_list(const cli_args *a, vouch_err *err)
{
    const char *dir;
    cosignd_db *db = NULL;
    json_t *servers = NULL, *hw = NULL, *v;
    size_t i;
    vouch_code rc;

    if ((rc = cli_require(a, "dir", &dir, err)) != VOUCH_OK ||
        (rc = open_db(dir, &db, err)) != VOUCH_OK ||
        (rc = cosignd_db_list_servers(db, &servers, err)) != VOUCH_OK ||
        (rc = cosignd_db_list_highest(db, &hw, err)) != VOUCH_OK)
        goto out;
    if (a->json) {
        rc = cli_print_json(json_pack("{s:O,s:O}", "buildServers", servers, "hardware", hw),
                            err);
        goto out;
    }
    printf("build servers:\n");
    json_array_foreach(servers, i, v)
        printf("  %-8s %s%s\n", jint(v, "revoked") ? "revoked" : "allowed", jstr(v, "did"),
               !jint(v, "revoked") && jint(v, "allowForce") == 1 ? " (may force)" : "");
    printf("highest securityVersion co-signed:\n");
    json_array_foreach(hw, i, v)
        printf("  %-24s %lld (version %s)\n", jstr(v, "hardware"), jint(v, "securityVersion"),
               jstr(v, "version"));
out:
    json_decref(servers);
    json_decref(hw);
    cosignd_db_close(db);
    return rc;
}

static vouch_code cmd_audit(const cli_args *a, vouch_err *err)
{
    const char *dir;
    cosignd_db *db = NULL;
    json_t *rows = NULL, *v;
    int64_t limit = 1000000;
    size_t i;
    vouch_code rc;

    if ((rc = cli_require(a, "dir", &dir, err)) != VOUCH_OK ||
        (rc = cli_get_int(a, "limit", 1, INT64_C(1) << 40, &limit, err)) != VOUCH_OK ||
        (rc = open_db(dir, &db, err)) != VOUCH_OK ||
        (rc = cosignd_db_list_audit(db, limit, &rows, err)) != VOUCH_OK)
        goto out;
    if (a->json) {
        rc = cli_print_json(json_pack("{s:O}", "audit", rows), err);
        goto out;
    }
    json_array_foreach(rows, i, v)
        printf("%lld %lld %-8s %s jti=%s version=%s sv=%lld %s: %s\n", jint(v, "id"),
               jint(v, "time"), jstr(v, "event"), jstr(v, "buildServer"), jstr(v, "jti"),
               jstr(v, "version"), jint(v, "securityVersion"), jstr(v, "name"),
               jstr(v, "reason"));
out:
    json_decref(rows);
    cosignd_db_close(db);
    return rc;
}

static vouch_code cmd_did(const cli_args *a, vouch_err *err)
{
    const char *dir;
    cosignd_config c;
    vouch_key *k = NULL;
    char *did = NULL, *kid = NULL;
    json_t *jwk = NULL;
    vouch_code rc;

    if ((rc = cli_require(a, "dir", &dir, err)) != VOUCH_OK ||
        (rc = cosignd_config_load(dir, &c, err)) != VOUCH_OK ||
        (rc = cosignd_key_load(dir, &c, &k, err)) != VOUCH_OK ||
        (rc = vouch_did_key_encode(k, &did, err)) != VOUCH_OK ||
        (rc = vouch_did_key_vm_id(did, &kid, err)) != VOUCH_OK ||
        (rc = vouch_key_to_jwk(k, &jwk, err)) != VOUCH_OK)
        goto out;
    if (a->json)
        rc = cli_print_json(json_pack("{s:s,s:s,s:O}", "did", did, "kid", kid, "jwk", jwk),
                            err);
    else
        printf("%s\n", did);
out:
    json_decref(jwk);
    vouch_free(kid);
    vouch_free(did);
    vouch_key_free(k);
    return rc;
}

static const cli_cmd cmds[] = {
    {NULL, "init", "--dir DIR [--vendor DID] [--key-type p256|ed25519] [--key PKCS11-URI]",
     "Create a co-signer in DIR (made 0700): its signing key (cosign.pem, 0600; or a key in a "
     "PKCS#11 token), config.json, the SQLite state and the audit log. Prints its did:key.",
     0, 0,
     {{"dir", "DIR", "the state directory", 0},
      {"vendor", "DID", "the issuer every co-signed release must have (did:web:...)", 0},
      {"key-type", "p256|ed25519", "type of a new key (default p256)", 0},
      {"key", "PKCS11-URI", "use (or create) the signing key in a PKCS#11 token", 0}},
     cmd_init},
    {NULL, "config",
     "--dir DIR [--vendor DID] [--max-lifetime S] [--skew S] [--rate-burst N] "
     "[--rate-per-minute N]",
     "Show the configuration, or change it (written atomically; restart serve to apply).", 0, 0,
     {{"dir", "DIR", "the state directory", 0},
      {"vendor", "DID", "the issuer every co-signed release must have", 0},
      {"max-lifetime", "S", "longest release lifetime (exp - nbf) co-signed, seconds", 0},
      {"skew", "S", "how far a request's iat may be ahead of this clock (0..300)", 0},
      {"rate-burst", "N", "requests a build server may make at once", 0},
      {"rate-per-minute", "N", "sustained requests per minute per build server", 0}},
     cmd_config},
    {NULL, "serve",
     "--dir DIR --listen ADDR:PORT [--tls-cert FILE --tls-key FILE] [--threads N]",
     "Serve POST /v1/cosign, GET /v1/did and GET /healthz until SIGTERM or SIGINT. Plain HTTP "
     "only on loopback addresses; elsewhere TLS is required. Port 0 picks a free port; the "
     "first line on stdout says which.",
     0, 0,
     {{"dir", "DIR", "the state directory", 0},
      {"listen", "ADDR:PORT", "address to listen on (IPv4, or [IPv6])", 0},
      {"tls-cert", "FILE", "PEM certificate chain for HTTPS", 0},
      {"tls-key", "FILE", "PEM private key for HTTPS (mode 0600)", 0},
      {"threads", "N", "worker threads (default 4)", 0}},
     cmd_serve},
    {NULL, "allow", "--dir DIR DID [--allow-force]",
     "Allow a build server (its did:key) to ask for co-signatures. --allow-force lets its "
     "requests with \"force\": true go below the highest securityVersion co-signed.",
     1, 1,
     {{"dir", "DIR", "the state directory", 0},
      {"allow-force", NULL, "this build server may force a lower securityVersion", 0}},
     cmd_allow},
    {NULL, "revoke", "--dir DIR DID",
     "Revoke a build server: its requests are refused from the next one on, and it can never "
     "be allowed again.",
     1, 1, {{"dir", "DIR", "the state directory", 0}}, cmd_revoke},
    {NULL, "list", "--dir DIR",
     "List the build servers (allowed, revoked) and the highest securityVersion co-signed per "
     "hardware id.",
     0, 0, {{"dir", "DIR", "the state directory", 0}}, cmd_list},
    {NULL, "audit", "--dir DIR [--limit N]",
     "Print the audit table: every decision, signed or refused, and every operator change.", 0,
     0,
     {{"dir", "DIR", "the state directory", 0}, {"limit", "N", "only the last N records", 0}},
     cmd_audit},
    {NULL, "did", "--dir DIR",
     "Print the co-signer's did:key (with --json also its kid and JWK).", 0, 0,
     {{"dir", "DIR", "the state directory", 0}}, cmd_did},
    {NULL, NULL, NULL, NULL, 0, 0, {{NULL, NULL, NULL, 0}}, NULL},
};

static const cli_prog prog = {
    .name = "vouch-cosignd",
    .tagline = "the co-signing service (the second factor)",
    .cmds = cmds,
};

int main(int argc, char **argv)
{
    umask(077); /* the database, its WAL and the audit file are the service's alone */
    return cli_main(&prog, argc, argv);
}
