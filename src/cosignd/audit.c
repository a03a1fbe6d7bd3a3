/* audit.c - the JSON-lines audit file beside the audit table: one line per
 * decision, built by jansson (so every text is escaped), appended with one
 * write(2) on an O_APPEND descriptor and fsynced before the decision is
 * committed. The SQLite table is the authority; the file is for shipping to
 * a log collector and for reading with ordinary tools. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cosignd/cosignd.h"

#define AUDIT_LINE_MAX (8u * 1024u)

json_t *cosignd_audit_json(int64_t id, const cosignd_audit *a)
{
    json_t *o = json_object();
    int bad = 0;

    if (!o)
        return NULL;
    if (id >= 0)
        bad |= json_object_set_new(o, "id", json_integer((json_int_t)id));
    bad |= json_object_set_new(o, "time", json_integer((json_int_t)a->time));
    bad |= json_object_set_new(o, "event", json_string(a->event));
    bad |= json_object_set_new(o, "buildServer",
                               a->build_server ? json_string(a->build_server) : json_null());
    bad |= json_object_set_new(o, "jti", a->jti ? json_string(a->jti) : json_null());
    bad |= json_object_set_new(o, "releaseSha256",
                               a->release_sha256 ? json_string(a->release_sha256) : json_null());
    bad |= json_object_set_new(o, "version", a->version ? json_string(a->version) : json_null());
    bad |= json_object_set_new(o, "securityVersion",
                               a->security_version >= 0
                                   ? json_integer((json_int_t)a->security_version)
                                   : json_null());
    bad |= json_object_set_new(o, "forced", json_boolean(a->forced));
    bad |= json_object_set_new(o, "code", json_integer((json_int_t)a->code));
    bad |= json_object_set_new(o, "name", json_string(vouch_code_name(a->code)));
    /* a reason that is not valid UTF-8 becomes null rather than raw bytes */
    bad |= json_object_set_new(o, "reason", a->reason ? json_string(a->reason) : json_null());
    bad |= json_object_set_new(o, "peer", a->peer ? json_string(a->peer) : json_null());
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

vouch_code cosignd_auditlog_open(const char *dir, int *fd, vouch_err *err)
{
    char path[COSIGND_PATH_MAX];
    struct stat st;
    char last = '\n';
    int f = -1;
    vouch_code rc;

    *fd = -1;
    if ((rc = cosignd_path(dir, COSIGND_AUDIT_FILE, path, sizeof(path), err)) != VOUCH_OK)
        goto out;
    f = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (f < 0) {
        rc = vouch_err_set(err, VOUCH_E_IO, "cannot open %s: %s", path, strerror(errno));
        goto out;
    }
    if (fstat(f, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = vouch_err_set(err, VOUCH_E_IO, "%s is not a regular file", path);
        goto out;
    }
    /* a line torn by a crash is closed, so the next record starts clean */
    if (st.st_size > 0) {
        int r = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (r >= 0) {
            if (pread(r, &last, 1, st.st_size - 1) != 1)
                last = '\n';
            close(r);
        }
        if (last != '\n' && (write(f, "\n", 1) != 1 || fsync(f) != 0)) {
            rc = vouch_err_set(err, VOUCH_E_IO, "cannot repair %s: %s", path, strerror(errno));
            goto out;
        }
    }
    *fd = f;
    f = -1;
    rc = VOUCH_OK;
out:
    if (f >= 0)
        close(f);
    return rc;
}

vouch_code cosignd_auditlog_append(int fd, int64_t id, const cosignd_audit *a, vouch_err *err)
{
    json_t *o = cosignd_audit_json(id, a);
    char line[AUDIT_LINE_MAX];
    size_t n, off = 0;
    vouch_code rc;

    if (!o) {
        rc = vouch_err_set(err, VOUCH_E_NOMEM, "out of memory writing the audit file");
        goto out;
    }
    n = json_dumpb(o, line, sizeof(line) - 1, JSON_COMPACT);
    if (n == 0 || n >= sizeof(line) - 1) {
        rc = vouch_err_set(err, VOUCH_E_IO, "audit record does not fit %u bytes", AUDIT_LINE_MAX);
        goto out;
    }
    line[n++] = '\n';
    while (off < n) {
        ssize_t w = write(fd, line + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = vouch_err_set(err, VOUCH_E_IO, "cannot append to the audit file: %s",
                               strerror(errno));
            goto out;
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0) {
        rc = vouch_err_set(err, VOUCH_E_IO, "cannot sync the audit file: %s", strerror(errno));
        goto out;
    }
    rc = VOUCH_OK;
out:
    json_decref(o);
    return rc;
}

vouch_code cosignd_audit_write(cosignd_db *db, int fd, const cosignd_audit *a, vouch_err *err)
{
    int64_t id = -1;
    vouch_code rc;

    rc = cosignd_db_audit_insert(db, a, &id, err);
    if (rc == VOUCH_OK)
        rc = cosignd_auditlog_append(fd, id, a, err);
    return rc;
}
