/* mem.c - allocation wrapper with fault injection, wipe, constant-time
 * compare, capped buffers, and whole-file I/O helpers (vouch/mem.h). */
#include "vouch/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

static long fail_after = -1;      /* -1: never fail */
static unsigned long alloc_count; /* every attempt, for tests */

/* Decides whether this allocation is one the test asked to fail. */
static int should_fail(void)
{
    alloc_count++;
    if (fail_after < 0)
        return 0;
    if (fail_after == 0)
        return 1;
    fail_after--;
    return 0;
}

void vouch_alloc_fail_after(long n) { fail_after = n; }
unsigned long vouch_alloc_count(void) { return alloc_count; }

void *vouch_malloc(size_t n)
{
    if (n == 0 || should_fail())
        return NULL;
    return malloc(n);
}

void *vouch_calloc(size_t count, size_t size)
{
    /* check count * size ourselves: sanitizer allocators abort on overflow
     * where glibc would return NULL */
    if (count == 0 || size == 0 || count > SIZE_MAX / size || should_fail())
        return NULL;
    return calloc(count, size);
}

void *vouch_realloc(void *p, size_t n)
{
    if (n == 0 || should_fail())
        return NULL;
    return realloc(p, n);
}

void vouch_free(void *p) { free(p); }

char *vouch_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *d = vouch_malloc(len + 1);

    if (d) {
        memcpy(d, s, len);
        d[len] = '\0';
    }
    return d;
}

char *vouch_strdup(const char *s) { return vouch_strndup(s, strlen(s)); }

void vouch_wipe(void *p, size_t n)
{
    if (p && n)
        OPENSSL_cleanse(p, n);
}

void vouch_free_secret(void *p, size_t n)
{
    vouch_wipe(p, n);
    free(p);
}

int vouch_ct_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

void vouch_buf_init(vouch_buf *b, size_t max)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->max = max;
}

/* Grows so that `need` bytes (plus a NUL) fit; doubling, but never past max. */
static vouch_code buf_reserve(vouch_buf *b, size_t need)
{
    size_t ncap;
    unsigned char *nd;

    if (need > b->max)
        return VOUCH_E_LIMIT;
    if (need <= b->cap && b->data)
        return VOUCH_OK;
    ncap = b->cap ? b->cap : 64;
    while (ncap < need)
        ncap = ncap > b->max / 2 ? b->max : ncap * 2;
    /* realloc would leave the old copy of possible secrets in freed memory */
    nd = vouch_malloc(ncap + 1);
    if (!nd)
        return VOUCH_E_NOMEM;
    if (b->data) {
        memcpy(nd, b->data, b->len);
        vouch_free_secret(b->data, b->cap + 1);
    }
    b->data = nd;
    b->cap = ncap;
    return VOUCH_OK;
}

vouch_code vouch_buf_append(vouch_buf *b, const void *p, size_t n)
{
    vouch_code rc;

    if (n > b->max - b->len) /* len <= max always, so this cannot wrap */
        return VOUCH_E_LIMIT;
    rc = buf_reserve(b, b->len + n);
    if (rc != VOUCH_OK)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return VOUCH_OK;
}

vouch_code vouch_buf_append_str(vouch_buf *b, const char *s)
{
    return vouch_buf_append(b, s, strlen(s));
}

vouch_code vouch_buf_printf(vouch_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    vouch_code rc;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return VOUCH_E_INTERNAL;
    if ((size_t)n > b->max - b->len)
        return VOUCH_E_LIMIT;
    rc = buf_reserve(b, b->len + (size_t)n);
    if (rc != VOUCH_OK)
        return rc;
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return VOUCH_OK;
}

unsigned char *vouch_buf_take(vouch_buf *b, size_t *len)
{
    unsigned char *d = b->data;

    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return d;
}

void vouch_buf_free(vouch_buf *b)
{
    if (b->data)
        vouch_free_secret(b->data, b->cap + 1);
    b->data = NULL;
    b->len = b->cap = 0;
}

vouch_code vouch_file_read(const char *path, size_t max, unsigned char **out, size_t *len,
                           vouch_err *err)
{
    vouch_buf b;
    unsigned char chunk[16384];
    vouch_code rc = VOUCH_OK;
    int fd = 0, own = 0;
    ssize_t n;

    *out = NULL;
    vouch_buf_init(&b, max);
    if (path && strcmp(path, "-") != 0) {
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            rc = vouch_err_set(err, errno == ENOENT ? VOUCH_E_NOTFOUND : VOUCH_E_IO,
                               "cannot open %s: %s", path, strerror(errno));
            goto out;
        }
        own = 1;
    }
    /* an empty file still yields a valid, NUL-terminated buffer */
    rc = vouch_buf_append(&b, "", 0);
    while (rc == VOUCH_OK && (n = read(fd, chunk, sizeof(chunk))) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = vouch_err_set(err, VOUCH_E_IO, "cannot read %s: %s", path ? path : "stdin",
                               strerror(errno));
            goto out;
        }
        rc = vouch_buf_append(&b, chunk, (size_t)n);
    }
    if (rc == VOUCH_E_LIMIT)
        vouch_err_set(err, rc, "%s is larger than %zu bytes", path ? path : "stdin", max);
    else if (rc != VOUCH_OK)
        vouch_err_set(err, rc, "out of memory reading %s", path ? path : "stdin");
    else
        *out = vouch_buf_take(&b, len);
out:
    vouch_wipe(chunk, sizeof(chunk));
    vouch_buf_free(&b);
    if (own)
        close(fd);
    return rc;
}

/* fsync of the directory holding path, so a rename survives power loss. */
static int fsync_parent(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    int fd, rc;

    if (!slash)
        snprintf(dir, sizeof(dir), ".");
    else if (slash == path)
        snprintf(dir, sizeof(dir), "/");
    else
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    rc = fsync(fd);
    close(fd);
    return rc;
}

vouch_code vouch_file_write_atomic(const char *path, const void *data, size_t len,
                                   unsigned mode, int exclusive, vouch_err *err)
{
    char tmp[4096];
    vouch_code rc = VOUCH_OK;
    const unsigned char *p = data;
    int fd = -1, made = 0;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp))
        return vouch_err_set(err, VOUCH_E_ARG, "path too long: %.64s...", path);
    if (exclusive && access(path, F_OK) == 0) {
        rc = vouch_err_set(err, VOUCH_E_EXISTS, "%s exists; refusing to overwrite", path);
        goto out;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, (mode_t)mode);
    if (fd < 0) {
        rc = vouch_err_set(err, VOUCH_E_IO, "cannot create %s: %s", tmp, strerror(errno));
        goto out;
    }
    made = 1;
    /* the umask must not widen nor narrow what the caller asked for */
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
    if (fsync(fd) != 0 || close(fd) != 0) {
        fd = -1;
        rc = vouch_err_set(err, VOUCH_E_IO, "cannot flush %s: %s", tmp, strerror(errno));
        goto out;
    }
    fd = -1;
    /* link() fails if path exists, closing the race left by access() above */
    if (exclusive ? link(tmp, path) != 0 : rename(tmp, path) != 0) {
        rc = vouch_err_set(err, errno == EEXIST ? VOUCH_E_EXISTS : VOUCH_E_IO,
                           "cannot create %s: %s", path, strerror(errno));
        goto out;
    }
    if (exclusive)
        unlink(tmp);
    made = 0;
    if (fsync_parent(path) != 0)
        rc = vouch_err_set(err, VOUCH_E_IO, "cannot sync directory of %s: %s", path,
                           strerror(errno));
out:
    if (fd >= 0)
        close(fd);
    if (made)
        unlink(tmp);
    return rc;
}
