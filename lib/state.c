/* state.c - the device's persistent trust state (vouch/state.h): the
 * anti-rollback floor, the committed release, and the pinned trust policy,
 * behind a four-function port, with a file-backed implementation.
 *
 * The file port keeps two files in its directory:
 *   state.json   {"stateVersion":1,"floor":N[,"version":"V","sha256":"HEX"]}
 *   policy.jws   the exact signed policy the device pinned
 * Each is replaced atomically: a temporary file in the same directory is
 * written and fsynced, renamed over the old one, and the directory is
 * fsynced, so that after power loss a reader sees the old file or the new
 * one. Writers hold an exclusive flock on the directory, and the port
 * itself re-reads the floor under that lock and refuses to lower it, so the
 * "never lowers" rule holds even for two commits racing each other.
 *
 * A state file that exists but is not exactly what we write is
 * VOUCH_E_STATE, never "no state": a corrupted or truncated floor must not
 * read as floor 0 (that would re-open every rollback).
 */
#include "vouch/state.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vouch/codec.h"
#include "vouch/json.h"
#include "vouch/mem.h"

#define STATE_FILE "state.json"
#define POLICY_FILE "policy.jws"
/* Far more than a state ever takes (about 200 bytes); a bigger file is not ours. */
#define STATE_MAX_BYTES 4096u
/* A pinned policy is a signed policy JWS; the JWS cap bounds it. */
#define POLICY_PIN_MAX (256u * 1024u)
#define STATE_FORMAT 1

typedef struct state_file {
    char *dir;
} state_file;

static vouch_state_fault_fn fault_fn;
static void *fault_arg;

void vouch_state_file_set_fault(vouch_state_fault_fn fn, void *arg)
{
    fault_fn = fn;
    fault_arg = arg;
}

/* 1 if the test hook asks to "cut power" at this step. */
static int state_fault(const char *step) { return fault_fn && fault_fn(step, fault_arg) != 0; }

/* A committed version: 1..VOUCH_VERSION_MAX-1 printable ASCII bytes without
 * '"' or '\\', so it is written without escaping and read back unchanged. */
static int state_version_ok(const char *v, size_t n)
{
    size_t i;

    if (n == 0 || n >= VOUCH_VERSION_MAX)
        return 0;
    for (i = 0; i < n; i++)
        if (v[i] <= 0x20 || v[i] >= 0x7f || v[i] == '"' || v[i] == '\\')
            return 0;
    return 1;
}

vouch_code vouch_state_serialize(const vouch_device_state *st, char **out, size_t *len,
                                 vouch_err *err)
{
    char buf[256], hex[65];
    vouch_code rc;
    int n;

    *out = NULL;
    if (st->floor < 0 || st->floor > VOUCH_JSON_MAX_SAFE_INT) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "floor %" PRId64 " is out of range", st->floor);
        goto out;
    }
    if (!st->has_committed) {
        /* the floor is only ever raised by a commit */
        if (st->floor != 0) {
            rc = vouch_err_set(err, VOUCH_E_ARG, "a floor without a committed release");
            goto out;
        }
        n = snprintf(buf, sizeof(buf), "{\"stateVersion\":%d,\"floor\":0}\n", STATE_FORMAT);
    } else {
        if (!state_version_ok(st->version, strnlen(st->version, sizeof(st->version)))) {
            rc = vouch_err_set(err, VOUCH_E_ARG, "committed version is not printable text");
            goto out;
        }
        rc = vouch_hex_encode_buf(st->digest, sizeof(st->digest), hex, sizeof(hex), err);
        if (rc != VOUCH_OK)
            goto out;
        n = snprintf(buf, sizeof(buf),
                     "{\"stateVersion\":%d,\"floor\":%" PRId64 ",\"version\":\"%s\","
                     "\"sha256\":\"%s\"}\n",
                     STATE_FORMAT, st->floor, st->version, hex);
    }
    /* the fields are bounded above, so this cannot truncate; checked anyway */
    if (n < 0 || (size_t)n >= sizeof(buf)) {
        rc = vouch_err_set(err, VOUCH_E_INTERNAL, "state does not fit its buffer");
        goto out;
    }
    *out = vouch_strndup(buf, (size_t)n);
    if (!*out) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory writing the device state");
        goto out;
    }
    if (len)
        *len = (size_t)n;
    rc = VOUCH_OK;
out:
    return rc;
}

vouch_code vouch_state_parse(const char *text, size_t len, vouch_device_state *st,
                             vouch_err *err)
{
    vouch_json_limits lim = {STATE_MAX_BYTES, 2};
    json_t *doc = NULL;
    const char *key, *ver = NULL, *hex = NULL;
    json_t *val;
    int64_t fmt = 0, floor = 0;
    size_t hexn = 0, got = 0;
    vouch_err sub;
    vouch_code rc;

    memset(st, 0, sizeof(*st));
    vouch_err_clear(&sub);
    rc = vouch_json_parse_object(text, len, &lim, &doc, &sub);
    if (rc == VOUCH_E_NOMEM) {
        rc = vouch_err_set(err, rc, "out of memory reading the device state");
        goto out;
    }
    if (rc != VOUCH_OK) {
        rc = vouch_err_set(err, VOUCH_E_STATE, "device state is not valid JSON: %s", sub.msg);
        goto out;
    }
    /* consume the known members, then refuse whatever is left over */
    json_object_foreach(doc, key, val) {
        if (strcmp(key, "stateVersion") == 0 || strcmp(key, "floor") == 0 ||
            strcmp(key, "version") == 0 || strcmp(key, "sha256") == 0)
            got++;
        else {
            rc = vouch_err_set(err, VOUCH_E_STATE, "device state has an unknown member");
            goto out;
        }
    }
    if (vouch_json_get_int(doc, "stateVersion", &fmt, &sub) != VOUCH_OK || fmt != STATE_FORMAT) {
        rc = vouch_err_set(err, VOUCH_E_STATE, "device state: stateVersion is not %d",
                           STATE_FORMAT);
        goto out;
    }
    if (vouch_json_get_int(doc, "floor", &floor, &sub) != VOUCH_OK || floor < 0) {
        rc = vouch_err_set(err, VOUCH_E_STATE, "device state: floor is not an integer in "
                                               "0..2^53-1");
        goto out;
    }
    if (got == 2) {
        if (floor != 0) {
            rc = vouch_err_set(err, VOUCH_E_STATE,
                               "device state: a floor without a committed release");
            goto out;
        }
        st->floor = 0;
        rc = VOUCH_OK;
        goto out;
    }
    if (got != 4 || vouch_json_get_string(doc, "version", &ver, &sub) != VOUCH_OK ||
        vouch_json_get_string(doc, "sha256", &hex, &sub) != VOUCH_OK) {
        rc = vouch_err_set(err, VOUCH_E_STATE,
                           "device state: version and sha256 must both be strings");
        goto out;
    }
    hexn = json_string_length(json_object_get(doc, "sha256"));
    if (!state_version_ok(ver, json_string_length(json_object_get(doc, "version")))) {
        rc = vouch_err_set(err, VOUCH_E_STATE, "device state: version is not printable text");
        goto out;
    }
    /* exactly 64 lower-case hex digits: one state, one spelling */
    for (size_t i = 0; i < hexn; i++)
        if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
            hexn = 0;
    if (hexn != 64) {
        rc = vouch_err_set(err, VOUCH_E_STATE, "device state: sha256 is not 64 lower-case hex");
        goto out;
    }
    for (size_t i = 0; i < 32; i++) {
        unsigned hi = (unsigned)(hex[2 * i] <= '9' ? hex[2 * i] - '0' : hex[2 * i] - 'a' + 10);
        unsigned lo =
            (unsigned)(hex[2 * i + 1] <= '9' ? hex[2 * i + 1] - '0' : hex[2 * i + 1] - 'a' + 10);
        st->digest[i] = (uint8_t)(hi << 4 | lo);
    }
    memcpy(st->version, ver, strlen(ver) + 1);
    st->floor = floor;
    st->has_committed = 1;
    rc = VOUCH_OK;
out:
    if (rc != VOUCH_OK)
        memset(st, 0, sizeof(*st));
    json_decref(doc);
    return rc;
}

/* ---------------------------------------------------------------- file port */

/* dir/name into buf; VOUCH_E_ARG if it does not fit. */
static vouch_code state_path(const state_file *sf, const char *name, char *buf, size_t cap,
                             vouch_err *err)
{
    int n = snprintf(buf, cap, "%s/%s", sf->dir, name);

    if (n < 0 || (size_t)n >= cap)
        return vouch_err_set(err, VOUCH_E_ARG, "state directory path is too long");
    return VOUCH_OK;
}

/*
 * Replaces dir/name with data, atomically and durably, under the lock the
 * caller holds on dfd. The steps are the ones the fault hook names.
 */
static vouch_code state_replace(int dfd, const char *name, const void *data, size_t len,
                                unsigned mode, vouch_err *err)
{
    char tmp[64];
    const unsigned char *p = data;
    int fd = -1, made = 0;
    vouch_code rc = VOUCH_OK;

    /* a fixed name is safe: writers are serialized by the directory lock,
     * and a temp file left by a crash is simply truncated here */
    snprintf(tmp, sizeof(tmp), "%s.tmp", name);
    fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, (mode_t)mode);
    if (fd < 0) {
        rc = vouch_err_set(err, VOUCH_E_IO, "cannot create %s: %s", tmp, strerror(errno));
        goto out;
    }
    made = 1;
    if (fchmod(fd, (mode_t)mode) != 0) {
        rc = vouch_err_set(err, VOUCH_E_IO, "cannot chmod %s: %s", tmp, strerror(errno));
        goto out;
    }
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = vouch_err_set(err, VOUCH_E_IO, "cannot write %s: %s", tmp, strerror(errno));
            goto out;
        }
        p += n;
        len -= (size_t)n;
    }
    if (state_fault("temp-written"))
        goto crash;
    if (fsync(fd) != 0) {
        rc = vouch_err_set(err, VOUCH_E_IO, "cannot sync %s: %s", tmp, strerror(errno));
        goto out;
    }
    if (state_fault("temp-synced"))
        goto crash;
    if (renameat(dfd, tmp, dfd, name) != 0) {
        rc = vouch_err_set(err, VOUCH_E_IO, "cannot rename %s: %s", tmp, strerror(errno));
        goto out;
    }
    made = 0;
    if (state_fault("renamed"))
        goto crash;
    /* the rename is durable only once the directory is */
    if (fsync(dfd) != 0) {
        rc = vouch_err_set(err, VOUCH_E_IO, "cannot sync the state directory: %s",
                           strerror(errno));
        goto out;
    }
    goto out;
crash:
    /* a simulated power cut: leave everything exactly as it is */
    made = 0;
    rc = vouch_err_set(err, VOUCH_E_IO, "simulated power loss while writing %s", name);
out:
    if (fd >= 0)
        close(fd);
    if (made)
        unlinkat(dfd, tmp, 0);
    return rc;
}

/* Opens the state directory and takes the writers' lock on it. */
static vouch_code state_lock(const state_file *sf, int *dfd, vouch_err *err)
{
    *dfd = open(sf->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*dfd < 0)
        return vouch_err_set(err, VOUCH_E_IO, "cannot open the state directory %s: %s", sf->dir,
                             strerror(errno));
    while (flock(*dfd, LOCK_EX) != 0) {
        if (errno == EINTR)
            continue;
        close(*dfd);
        *dfd = -1;
        return vouch_err_set(err, VOUCH_E_IO, "cannot lock the state directory: %s",
                             strerror(errno));
    }
    return VOUCH_OK;
}

static vouch_code state_file_read(void *ctx, vouch_device_state *st, vouch_err *err)
{
    const state_file *sf = ctx;
    char path[4096];
    unsigned char *buf = NULL;
    size_t len = 0;
    vouch_err sub;
    vouch_code rc;

    memset(st, 0, sizeof(*st));
    vouch_err_clear(&sub);
    rc = state_path(sf, STATE_FILE, path, sizeof(path), err);
    if (rc != VOUCH_OK)
        goto out;
    rc = vouch_file_read(path, STATE_MAX_BYTES, &buf, &len, &sub);
    if (rc == VOUCH_E_NOTFOUND) {
        /* never committed: the zeroed state */
        rc = VOUCH_OK;
        goto out;
    }
    if (rc == VOUCH_E_LIMIT) {
        rc = vouch_err_set(err, VOUCH_E_STATE, "%s is larger than %u bytes", path,
                           STATE_MAX_BYTES);
        goto out;
    }
    if (rc != VOUCH_OK) {
        vouch_err_set(err, rc, "%s", sub.msg);
        goto out;
    }
    rc = vouch_state_parse((const char *)buf, len, st, err);
    if (rc != VOUCH_OK)
        vouch_err_prefix(err, "%s", path);
out:
    vouch_free(buf);
    return rc;
}

static vouch_code state_file_write(void *ctx, const vouch_device_state *st, vouch_err *err)
{
    const state_file *sf = ctx;
    vouch_device_state cur;
    char *text = NULL;
    size_t len = 0;
    int dfd = -1;
    vouch_code rc;

    rc = vouch_state_serialize(st, &text, &len, err);
    if (rc != VOUCH_OK)
        goto out;
    rc = state_lock(sf, &dfd, err);
    if (rc != VOUCH_OK)
        goto out;
    /* under the lock, so no other writer can slip in between */
    rc = state_file_read(ctx, &cur, err);
    if (rc != VOUCH_OK)
        goto out;
    if (st->floor < cur.floor) {
        rc = vouch_err_set(err, VOUCH_E_RELEASE_ROLLBACK,
                           "refusing to lower the anti-rollback floor from %" PRId64
                           " to %" PRId64,
                           cur.floor, st->floor);
        goto out;
    }
    rc = state_replace(dfd, STATE_FILE, text, len, 0600, err);
out:
    if (dfd >= 0)
        close(dfd); /* releases the lock */
    vouch_free(text);
    return rc;
}

static vouch_code state_file_read_policy(void *ctx, char **jws, size_t *len, vouch_err *err)
{
    const state_file *sf = ctx;
    char path[4096];
    unsigned char *buf = NULL;
    vouch_err sub;
    vouch_code rc;

    *jws = NULL;
    *len = 0;
    vouch_err_clear(&sub);
    rc = state_path(sf, POLICY_FILE, path, sizeof(path), err);
    if (rc != VOUCH_OK)
        goto out;
    rc = vouch_file_read(path, POLICY_PIN_MAX, &buf, len, &sub);
    if (rc == VOUCH_E_NOTFOUND) {
        rc = vouch_err_set(err, VOUCH_E_POLICY_MISSING, "no trust policy is pinned in %s",
                           sf->dir);
        goto out;
    }
    if (rc == VOUCH_E_LIMIT) {
        rc = vouch_err_set(err, VOUCH_E_STATE, "%s is larger than %u bytes", path,
                           POLICY_PIN_MAX);
        goto out;
    }
    if (rc != VOUCH_OK) {
        vouch_err_set(err, rc, "%s", sub.msg);
        goto out;
    }
    if (*len == 0) {
        rc = vouch_err_set(err, VOUCH_E_STATE, "%s is empty", path);
        goto out;
    }
    *jws = (char *)buf;
    buf = NULL;
out:
    if (rc != VOUCH_OK)
        *len = 0;
    vouch_free(buf);
    return rc;
}

static vouch_code state_file_write_policy(void *ctx, const char *jws, size_t len,
                                          vouch_err *err)
{
    const state_file *sf = ctx;
    int dfd = -1;
    vouch_code rc;

    if (!jws || len == 0 || len > POLICY_PIN_MAX) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "a pinned policy must be 1..%u bytes",
                           POLICY_PIN_MAX);
        goto out;
    }
    rc = state_lock(sf, &dfd, err);
    if (rc == VOUCH_OK)
        rc = state_replace(dfd, POLICY_FILE, jws, len, 0644, err);
out:
    if (dfd >= 0)
        close(dfd);
    return rc;
}

vouch_code vouch_state_file_open(const char *dir, vouch_state_port *port, vouch_err *err)
{
    state_file *sf = NULL;
    struct stat sb;
    vouch_code rc;

    if (port)
        memset(port, 0, sizeof(*port));
    if (!dir || !*dir || !port) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "vouch_state_file_open: bad argument");
        goto out;
    }
    if (strlen(dir) > 4000) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "state directory path is too long");
        goto out;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        rc = vouch_err_set(err, VOUCH_E_IO, "cannot create the state directory %s: %s", dir,
                           strerror(errno));
        goto out;
    }
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        rc = vouch_err_set(err, VOUCH_E_IO, "%s is not a directory", dir);
        goto out;
    }
    sf = vouch_calloc(1, sizeof(*sf));
    if (sf)
        sf->dir = vouch_strdup(dir);
    if (!sf || !sf->dir) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory opening the device state");
        goto out;
    }
    port->ctx = sf;
    port->read = state_file_read;
    port->write = state_file_write;
    port->read_policy = state_file_read_policy;
    port->write_policy = state_file_write_policy;
    sf = NULL;
    rc = VOUCH_OK;
out:
    if (sf)
        vouch_free(sf->dir);
    vouch_free(sf);
    return rc;
}

void vouch_state_file_close(vouch_state_port *port)
{
    state_file *sf;

    if (!port)
        return;
    sf = port->ctx;
    if (sf)
        vouch_free(sf->dir);
    vouch_free(sf);
    memset(port, 0, sizeof(*port));
}

vouch_code vouch_state_commit(const vouch_state_port *port, int64_t security_version,
                              const char *version, const uint8_t digest[32], vouch_err *err)
{
    vouch_device_state st, next;
    size_t vlen;
    vouch_code rc;

    if (!port || !port->read || !port->write || !version || !digest) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "vouch_state_commit: bad argument");
        goto out;
    }
    if (security_version < 0 || security_version > VOUCH_JSON_MAX_SAFE_INT) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "securityVersion %" PRId64 " is out of range",
                           security_version);
        goto out;
    }
    vlen = strnlen(version, VOUCH_VERSION_MAX);
    if (!state_version_ok(version, vlen)) {
        rc = vouch_err_set(err, VOUCH_E_ARG, "version is not 1..%d printable bytes",
                           VOUCH_VERSION_MAX - 1);
        goto out;
    }
    rc = port->read(port->ctx, &st, err);
    if (rc != VOUCH_OK)
        goto out;
    if (security_version < st.floor) {
        rc = vouch_err_set(err, VOUCH_E_RELEASE_ROLLBACK,
                           "securityVersion %" PRId64 " is below the floor %" PRId64,
                           security_version, st.floor);
        goto out;
    }
    /* one version names one image, forever */
    if (st.has_committed && strcmp(st.version, version) == 0 &&
        !vouch_ct_equal(st.digest, digest, 32)) {
        rc = vouch_err_set(err, VOUCH_E_RELEASE_SAME_VERSION,
                           "version %s was committed with a different image", version);
        goto out;
    }
    memset(&next, 0, sizeof(next));
    next.floor = security_version;
    memcpy(next.version, version, vlen + 1);
    memcpy(next.digest, digest, 32);
    next.has_committed = 1;
    rc = port->write(port->ctx, &next, err);
out:
    return rc;
}
