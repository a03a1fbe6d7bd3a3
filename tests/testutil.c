/* testutil.c - helpers shared by the C tests (see testutil.h). */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *test_data_path(char *buf, size_t cap, const char *rel)
{
    const char *base = getenv("VOUCH_TEST_DATA");

    if (!base)
        fail_msg("VOUCH_TEST_DATA is not set (run through ctest)");
    snprintf(buf, cap, "%s/%s", base, rel);
    return buf;
}

unsigned char *test_read_data(const char *rel, size_t *len)
{
    char path[4096];
    unsigned char *buf = NULL;
    vouch_err e;

    vouch_err_clear(&e);
    if (vouch_file_read(test_data_path(path, sizeof(path), rel), 64u << 20, &buf, len, &e) !=
        VOUCH_OK)
        fail_msg("cannot read %s: %s", path, e.msg);
    return buf;
}

char *test_tmpdir(void)
{
    const char *t = getenv("TMPDIR");
    char tmpl[4096];
    char *d;

    snprintf(tmpl, sizeof(tmpl), "%s/vouch-test-XXXXXX", t ? t : "/tmp");
    d = mkdtemp(tmpl);
    if (!d)
        fail_msg("mkdtemp failed");
    return strdup(d);
}

vouch_key *test_precomputed_copy(const vouch_key *k)
{
    vouch_key *p = NULL;
    vouch_err e;

    if (!k || vouch_key_get_type(k) != VOUCH_KEY_P256)
        return NULL;
    assert_ok(vouch_key_public_copy(k, &p, &e), e);
#ifdef VOUCH_HAVE_P256_TABLE
    assert_ok(vouch_key_precompute(p, &e), e);
#else
    assert_code(vouch_key_precompute(p, &e), VOUCH_E_KEY_CRYPTO, e);
#endif
    return p;
}

int test_under_valgrind(void) { return getenv("VOUCH_UNDER_VALGRIND") != NULL; }

void test_rmtree(const char *dir)
{
    char cmd[4200];

    if (!dir || !*dir || strcmp(dir, "/") == 0)
        return;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "warning: could not remove %s\n", dir);
}
