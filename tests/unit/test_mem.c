/* test_mem.c - mirrors lib/mem.c */
#include "testutil.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_fail_after(void **state)
{
    void *a, *b;
    (void)state;
    vouch_alloc_fail_after(1);
    a = vouch_malloc(8);
    b = vouch_malloc(8);
    assert_non_null(a);
    assert_null(b);
    assert_null(vouch_strdup("x"));
    vouch_alloc_fail_after(-1);
    b = vouch_malloc(8);
    assert_non_null(b);
    vouch_free(a);
    vouch_free(b);
    assert_null(vouch_malloc(0));
    assert_null(vouch_calloc((size_t)-1, 16)); /* overflow */
}

static void test_ct_equal(void **state)
{
    (void)state;
    assert_true(vouch_ct_equal("abcd", "abcd", 4));
    assert_false(vouch_ct_equal("abcd", "abce", 4));
    assert_true(vouch_ct_equal("a", "b", 0));
}

static void test_wipe(void **state)
{
    unsigned char k[32];
    (void)state;
    memset(k, 0xAA, sizeof(k));
    vouch_wipe(k, sizeof(k));
    for (size_t i = 0; i < sizeof(k); i++)
        assert_int_equal(k[i], 0);
}

static void test_buf_cap(void **state)
{
    vouch_buf b;
    (void)state;
    vouch_buf_init(&b, 10);
    assert_int_equal(vouch_buf_append(&b, "hello", 5), VOUCH_OK);
    assert_int_equal(vouch_buf_printf(&b, "%d", 1234), VOUCH_OK);
    assert_string_equal((char *)b.data, "hello1234");
    assert_int_equal(vouch_buf_append(&b, "xy", 2), VOUCH_E_LIMIT);
    assert_int_equal(b.len, 9); /* unchanged by the refused append */
    assert_int_equal(vouch_buf_printf(&b, "%s", "toolong"), VOUCH_E_LIMIT);
    assert_int_equal(vouch_buf_append(&b, "z", 1), VOUCH_OK);
    vouch_buf_free(&b);
    /* allocation failure surfaces as NOMEM, not a crash */
    vouch_buf_init(&b, 100);
    vouch_alloc_fail_after(0);
    assert_int_equal(vouch_buf_append(&b, "x", 1), VOUCH_E_NOMEM);
    vouch_alloc_fail_after(-1);
    vouch_buf_free(&b);
}

static void test_file_roundtrip_atomic(void **state)
{
    char *dir = test_tmpdir();
    char path[4200];
    unsigned char *data = NULL;
    size_t len = 0;
    struct stat st;
    vouch_err e;
    (void)state;
    snprintf(path, sizeof(path), "%s/secret", dir);
    assert_ok(vouch_file_write_atomic(path, "abc", 3, 0600, 1, &e), e);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_code(vouch_file_write_atomic(path, "zzz", 3, 0600, 1, &e), VOUCH_E_EXISTS, e);
    assert_ok(vouch_file_read(path, 100, &data, &len, &e), e);
    assert_int_equal(len, 3);
    assert_memory_equal(data, "abc", 3); /* the refused write changed nothing */
    vouch_free(data);
    assert_code(vouch_file_read(path, 2, &data, &len, &e), VOUCH_E_LIMIT, e);
    assert_null(data);
    snprintf(path, sizeof(path), "%s/missing", dir);
    assert_code(vouch_file_read(path, 2, &data, &len, &e), VOUCH_E_NOTFOUND, e);
    test_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fail_after),
        cmocka_unit_test(test_ct_equal),
        cmocka_unit_test(test_wipe),
        cmocka_unit_test(test_buf_cap),
        cmocka_unit_test(test_file_roundtrip_atomic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
