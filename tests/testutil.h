/*
 * testutil.h - what every C test includes: cmocka, and assertions that
 * check the exact vouch_code (printing the message when it differs).
 */
#ifndef VOUCH_TESTUTIL_H
#define VOUCH_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vouch/vouch.h"

/* Asserts that expr returns code `want`; on mismatch prints both names and
 * the message in `e` (a vouch_err variable in scope). */
#define assert_code(expr, want, e)                                                       \
    do {                                                                                 \
        vouch_code got__ = (expr);                                                       \
        if (got__ != (want))                                                             \
            fail_msg("%s:%d: got %s (%s), want %s", __FILE__, __LINE__,                  \
                     vouch_code_name(got__), (e).msg, vouch_code_name(want));            \
    } while (0)

#define assert_ok(expr, e) assert_code(expr, VOUCH_OK, e)

/* $VOUCH_TEST_DATA/<rel> into buf; fails the test if unset. */
const char *test_data_path(char *buf, size_t cap, const char *rel);

/* Reads a whole test data file (fails the test if it cannot). */
unsigned char *test_read_data(const char *rel, size_t *len);

/* A public copy of k with a table (vouch_key_precompute, asserted to
 * succeed where this build has tables and to fail cleanly where it has
 * none), or NULL for NULL or an Ed25519 key (which gets no table). */
vouch_key *test_precomputed_copy(const vouch_key *k);

/* 1 when the test runs under valgrind (ctest's valgrind/ tests set
 * $VOUCH_UNDER_VALGRIND): loops that only add volume may run fewer rounds
 * there, as the plain and ASan runs keep the full count. */
int test_under_valgrind(void);

/* A fresh temporary directory (mkdtemp under $TMPDIR), removed by
 * test_rmtree. */
char *test_tmpdir(void);
void test_rmtree(const char *dir);

#endif
