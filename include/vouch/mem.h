/*
 * vouch/mem.h - the allocation wrapper, the wipe, the constant-time compare,
 * and a growing buffer with a hard cap.
 *
 * Every allocation in libvouch and the vouch programs goes through
 * vouch_malloc/vouch_calloc/vouch_realloc/vouch_free (jansson is routed here
 * too), so that tests can count allocations and make the Nth one fail.
 * Code must treat a NULL return as VOUCH_E_NOMEM and never abort.
 *
 * vouch_wipe is the one function called wherever a secret dies; the compiler
 * may not elide it. vouch_ct_equal is the one comparison for MACs, tokens,
 * digests and nonces: its time depends on n only, not on the contents.
 */
#ifndef VOUCH_MEM_H
#define VOUCH_MEM_H

#include <stddef.h>
#include <stdint.h>

#include "vouch/error.h"

#ifdef __cplusplus
extern "C" {
#endif

void *vouch_malloc(size_t n);                 /* NULL on failure or n == 0 */
void *vouch_calloc(size_t count, size_t size); /* NULL on failure or overflow */
void *vouch_realloc(void *p, size_t n);       /* NULL on failure; p then untouched */
void vouch_free(void *p);                     /* NULL is fine */
char *vouch_strdup(const char *s);            /* NULL on failure */
char *vouch_strndup(const char *s, size_t n); /* copies at most n bytes, NUL-terminates */

/* Wipes then frees n bytes at p (for buffers that held secrets). */
void vouch_free_secret(void *p, size_t n);

/* Overwrites n bytes at p with zeros in a way the optimizer keeps. */
void vouch_wipe(void *p, size_t n);

/* 1 if the n bytes at a and b are equal, else 0; constant time in n. */
int vouch_ct_equal(const void *a, const void *b, size_t n);

/*
 * Test hooks. vouch_alloc_fail_after(n): the next n allocations succeed and
 * every one after fails, until called with -1 (the default: never fail).
 * vouch_alloc_count(): allocations made since start (successful or not).
 * Not thread-safe; meant for single-threaded tests.
 */
void vouch_alloc_fail_after(long n);
unsigned long vouch_alloc_count(void);

/*
 * A growing byte buffer with a hard cap. data is always NUL-terminated after
 * len bytes (so text can be used as a C string) and is wiped on free.
 */
typedef struct vouch_buf {
    unsigned char *data;
    size_t len;   /* bytes in use */
    size_t cap;   /* bytes allocated (excluding the terminating NUL) */
    size_t max;   /* hard cap on len */
} vouch_buf;

void vouch_buf_init(vouch_buf *b, size_t max);
/* VOUCH_E_LIMIT if len + n would exceed max, VOUCH_E_NOMEM on failure. */
vouch_code vouch_buf_append(vouch_buf *b, const void *p, size_t n);
vouch_code vouch_buf_append_str(vouch_buf *b, const char *s);
vouch_code vouch_buf_printf(vouch_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Hands the data to the caller (free with vouch_free) and resets b. */
unsigned char *vouch_buf_take(vouch_buf *b, size_t *len);
void vouch_buf_free(vouch_buf *b);

/*
 * Reads a whole file (or stdin when path is "-" or NULL) into a new buffer,
 * NUL-terminated, refusing more than max bytes with VOUCH_E_LIMIT.
 */
vouch_code vouch_file_read(const char *path, size_t max, unsigned char **out,
                           size_t *len, vouch_err *err);

/*
 * Writes len bytes to path atomically: a temporary file in the same
 * directory with the given mode, fsync, rename, fsync of the directory.
 * With exclusive set, an existing path is refused with VOUCH_E_EXISTS.
 */
vouch_code vouch_file_write_atomic(const char *path, const void *data, size_t len,
                                   unsigned mode, int exclusive, vouch_err *err);

#ifdef __cplusplus
}
#endif
#endif
