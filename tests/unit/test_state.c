/* test_state.c - unit tests of lib/state.c: the file port, the strict
 * state.json parse, commits that never lower the floor, power loss at every
 * step of a write (by the fault hook and by a real abort()), and allocation
 * failure at every allocation. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "vouch/state.h"

static char *tmp;
static int dirs;
static const uint8_t D1[32] = {1, 2, 3}, D2[32] = {9, 9, 9};

static int setup(void **state)
{
    (void)state;
    tmp = test_tmpdir();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_rmtree(tmp);
    free(tmp);
    return 0;
}

/* A fresh state directory path (not created). */
static void fresh_dir(char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/state-%d", tmp, dirs++);
}

static void put(const char *dir, const char *name, const char *text)
{
    char path[4200];
    int fd;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static char *get(const char *dir, const char *name)
{
    char path[4200];
    unsigned char *buf = NULL;
    size_t n = 0;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (vouch_file_read(path, 1u << 20, &buf, &n, NULL) != VOUCH_OK)
        return NULL;
    return (char *)buf;
}

static void test_open_fresh(void **state)
{
    char dir[4096];
    struct stat sb;
    vouch_state_port port;
    vouch_device_state st;
    vouch_err e;

    (void)state;
    vouch_err_clear(&e);
    fresh_dir(dir, sizeof(dir));
    assert_ok(vouch_state_file_open(dir, &port, &e), e);
    assert_int_equal(stat(dir, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0700);
    memset(&st, 0xff, sizeof(st));
    assert_ok(port.read(port.ctx, &st, &e), e);
    assert_int_equal(st.floor, 0);
    assert_int_equal(st.has_committed, 0);
    assert_string_equal(st.version, "");
    vouch_state_file_close(&port);
    vouch_state_file_close(&port); /* twice is fine */
    assert_code(vouch_state_file_open("", &port, &e), VOUCH_E_ARG, e);
    assert_code(vouch_state_file_open(NULL, &port, &e), VOUCH_E_ARG, e);
    put(tmp, "plainfile", "x");
    snprintf(dir, sizeof(dir), "%s/plainfile", tmp);
    assert_code(vouch_state_file_open(dir, &port, &e), VOUCH_E_IO, e);
}

static void test_commit_and_floor(void **state)
{
    char dir[4096], *text, *before;
    struct stat sb;
    vouch_state_port port;
    vouch_device_state st;
    vouch_err e;

    (void)state;
    vouch_err_clear(&e);
    fresh_dir(dir, sizeof(dir));
    assert_ok(vouch_state_file_open(dir, &port, &e), e);
    assert_ok(vouch_state_commit(&port, 5, "1.3.0", D1, &e), e);
    assert_ok(port.read(port.ctx, &st, &e), e);
    assert_int_equal(st.floor, 5);
    assert_true(st.has_committed);
    assert_string_equal(st.version, "1.3.0");
    assert_memory_equal(st.digest, D1, 32);
    text = get(dir, "state.json");
    assert_string_equal(text, "{\"stateVersion\":1,\"floor\":5,\"version\":\"1.3.0\",\"sha256\":"
                              "\"0102030000000000000000000000000000000000000000000000000000000000"
                              "\"}\n");
    vouch_free(text);
    {
        char path[4200];
        snprintf(path, sizeof(path), "%s/state.json", dir);
        assert_int_equal(stat(path, &sb), 0);
        assert_int_equal(sb.st_mode & 0777, 0600);
    }
    /* same floor, another version: fine; the floor never goes down */
    assert_ok(vouch_state_commit(&port, 5, "1.3.1", D2, &e), e);
    before = get(dir, "state.json");
    assert_code(vouch_state_commit(&port, 4, "1.2.0", D1, &e), VOUCH_E_RELEASE_ROLLBACK, e);
    assert_code(vouch_state_commit(&port, 6, "1.3.1", D1, &e), VOUCH_E_RELEASE_SAME_VERSION, e);
    text = get(dir, "state.json");
    assert_string_equal(text, before);
    vouch_free(text);
    vouch_free(before);
    /* the port itself refuses to lower the floor, whoever asks */
    memset(&st, 0, sizeof(st));
    st.floor = 1;
    st.has_committed = 1;
    snprintf(st.version, sizeof(st.version), "0.1.0");
    assert_code(port.write(port.ctx, &st, &e), VOUCH_E_RELEASE_ROLLBACK, e);
    /* bad arguments */
    assert_code(vouch_state_commit(&port, -1, "1.0.0", D1, &e), VOUCH_E_ARG, e);
    assert_code(vouch_state_commit(&port, 1LL << 53, "1.0.0", D1, &e), VOUCH_E_ARG, e);
    assert_code(vouch_state_commit(&port, 9, "", D1, &e), VOUCH_E_ARG, e);
    assert_code(vouch_state_commit(&port, 9, "1.0 .0", D1, &e), VOUCH_E_ARG, e);
    assert_code(vouch_state_commit(&port, 9, "1.0.\"0", D1, &e), VOUCH_E_ARG, e);
    assert_code(vouch_state_commit(NULL, 9, "1.0.0", D1, &e), VOUCH_E_ARG, e);
    assert_ok(vouch_state_commit(&port, 9007199254740991LL, "9.9.9", D1, &e), e);
    assert_ok(port.read(port.ctx, &st, &e), e);
    assert_int_equal(st.floor, 9007199254740991LL);
    vouch_state_file_close(&port);
}

static void test_corrupt_state(void **state)
{
    static const char *const bad[] = {
        "",
        "{",
        "[]",
        "null",
        "{}",
        "{\"stateVersion\":1}",
        "{\"stateVersion\":2,\"floor\":0}",
        "{\"stateVersion\":1,\"floor\":-1}",
        "{\"stateVersion\":1,\"floor\":\"0\"}",
        "{\"stateVersion\":1,\"floor\":0.0}",
        "{\"stateVersion\":1,\"floor\":9007199254740992}",
        "{\"stateVersion\":1,\"floor\":99999999999999999999}",
        "{\"stateVersion\":1,\"floor\":3}",
        "{\"stateVersion\":1,\"floor\":0,\"extra\":1}",
        "{\"stateVersion\":1,\"floor\":0,\"floor\":0}",
        "{\"stateVersion\":1,\"floor\":0} x",
        "{\"stateVersion\":1,\"floor\":3,\"version\":\"1.0.0\"}",
        "{\"stateVersion\":1,\"floor\":3,\"sha256\":\"00\"}",
        "{\"stateVersion\":1,\"floor\":3,\"version\":\"1.0.0\",\"sha256\":\"00\"}",
        "{\"stateVersion\":1,\"floor\":3,\"version\":\"1.0.0\",\"sha256\":"
        "\"ABCDEF0000000000000000000000000000000000000000000000000000000000\"}",
        "{\"stateVersion\":1,\"floor\":3,\"version\":\"\",\"sha256\":"
        "\"abcdef0000000000000000000000000000000000000000000000000000000000\"}",
        "{\"stateVersion\":1,\"floor\":3,\"version\":\"a b\",\"sha256\":"
        "\"abcdef0000000000000000000000000000000000000000000000000000000000\"}",
        "{\"stateVersion\":1,\"floor\":3,\"version\":1,\"sha256\":"
        "\"abcdef0000000000000000000000000000000000000000000000000000000000\"}",
        "\xef\xbb\xbf{\"stateVersion\":1,\"floor\":0}",
    };
    char dir[4096], big[5000];
    vouch_state_port port;
    vouch_device_state st;
    vouch_err e;

    (void)state;
    vouch_err_clear(&e);
    fresh_dir(dir, sizeof(dir));
    assert_ok(vouch_state_file_open(dir, &port, &e), e);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        put(dir, "state.json", bad[i]);
        st.floor = 77;
        assert_code(port.read(port.ctx, &st, &e), VOUCH_E_STATE, e);
        assert_int_equal(st.floor, 0); /* never a half-filled state */
        /* and nobody can commit over a broken state */
        assert_code(vouch_state_commit(&port, 100, "2.0.0", D1, &e), VOUCH_E_STATE, e);
        assert_code(vouch_state_parse(bad[i], strlen(bad[i]), &st, &e), VOUCH_E_STATE, e);
    }
    memset(big, ' ', sizeof(big) - 1);
    big[0] = '{';
    big[sizeof(big) - 2] = '}';
    big[sizeof(big) - 1] = '\0';
    put(dir, "state.json", big);
    assert_code(port.read(port.ctx, &st, &e), VOUCH_E_STATE, e);
    vouch_state_file_close(&port);
}

static void test_serialize_roundtrip(void **state)
{
    vouch_device_state st, back;
    char *text = NULL;
    size_t n = 0;
    vouch_err e;

    (void)state;
    vouch_err_clear(&e);
    memset(&st, 0, sizeof(st));
    assert_ok(vouch_state_serialize(&st, &text, &n, &e), e);
    assert_string_equal(text, "{\"stateVersion\":1,\"floor\":0}\n");
    assert_ok(vouch_state_parse(text, n, &back, &e), e);
    assert_memory_equal(&back, &st, sizeof(st));
    vouch_free(text);
    st.floor = 42;
    assert_code(vouch_state_serialize(&st, &text, &n, &e), VOUCH_E_ARG, e);
    st.has_committed = 1;
    snprintf(st.version, sizeof(st.version), "2.0.0-rc.1+build.7");
    memcpy(st.digest, D2, 32);
    assert_ok(vouch_state_serialize(&st, &text, &n, &e), e);
    assert_ok(vouch_state_parse(text, n, &back, &e), e);
    assert_memory_equal(&back, &st, sizeof(st));
    vouch_free(text);
    st.floor = -5;
    assert_code(vouch_state_serialize(&st, &text, &n, &e), VOUCH_E_ARG, e);
}

static void test_policy_pin(void **state)
{
    char dir[4096], *jws = NULL, *text;
    size_t n = 0;
    vouch_state_port port;
    vouch_err e;

    (void)state;
    vouch_err_clear(&e);
    fresh_dir(dir, sizeof(dir));
    assert_ok(vouch_state_file_open(dir, &port, &e), e);
    assert_code(port.read_policy(port.ctx, &jws, &n, &e), VOUCH_E_POLICY_MISSING, e);
    assert_null(jws);
    assert_ok(port.write_policy(port.ctx, "{\"payload\":\"x\"}", 15, &e), e);
    assert_ok(port.read_policy(port.ctx, &jws, &n, &e), e);
    assert_int_equal(n, 15);
    assert_memory_equal(jws, "{\"payload\":\"x\"}", 15);
    vouch_free(jws);
    assert_code(port.write_policy(port.ctx, "", 0, &e), VOUCH_E_ARG, e);
    put(dir, "policy.jws", "");
    assert_code(port.read_policy(port.ctx, &jws, &n, &e), VOUCH_E_STATE, e);
    /* pinning a policy does not touch the floor */
    assert_ok(vouch_state_commit(&port, 3, "1.0.0", D1, &e), e);
    text = get(dir, "state.json");
    assert_ok(port.write_policy(port.ctx, "abc", 3, &e), e);
    {
        char *again = get(dir, "state.json");
        assert_string_equal(again, text);
        vouch_free(again);
    }
    vouch_free(text);
    vouch_state_file_close(&port);
}

/* ------------------------------------------------------------ power loss */

static const char *cut_at;

static int cut_power(const char *step, void *arg)
{
    (void)arg;
    return strcmp(step, cut_at) == 0;
}

static int abort_at(const char *step, void *arg)
{
    (void)arg;
    if (strcmp(step, cut_at) == 0)
        abort();
    return 0;
}

/* After a cut at `step` the state reads back as the old one (before the
 * rename) or the new one (after), never anything else, and the next
 * commit succeeds. */
static void power_loss_at(const char *step, int use_abort)
{
    char dir[4096], *before, *after;
    vouch_state_port port;
    vouch_device_state st;
    int renamed = strcmp(step, "renamed") == 0;
    vouch_err e;

    vouch_err_clear(&e);
    fresh_dir(dir, sizeof(dir));
    assert_ok(vouch_state_file_open(dir, &port, &e), e);
    assert_ok(vouch_state_commit(&port, 5, "1.3.0", D1, &e), e);
    before = get(dir, "state.json");
    cut_at = step;
    if (use_abort) {
        pid_t pid = fork();
        int status = 0;
        assert_true(pid >= 0);
        if (pid == 0) {
            /* the child "loses power" in the middle of the commit */
            signal(SIGABRT, SIG_DFL);
            vouch_state_file_set_fault(abort_at, NULL);
            vouch_state_commit(&port, 9, "1.4.0", D2, NULL);
            _exit(0);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    } else {
        vouch_state_file_set_fault(cut_power, NULL);
        assert_code(vouch_state_commit(&port, 9, "1.4.0", D2, &e), VOUCH_E_IO, e);
        vouch_state_file_set_fault(NULL, NULL);
    }
    vouch_state_file_close(&port);
    /* "reboot": a new port over the same directory */
    assert_ok(vouch_state_file_open(dir, &port, &e), e);
    assert_ok(port.read(port.ctx, &st, &e), e);
    after = get(dir, "state.json");
    if (renamed) {
        assert_int_equal(st.floor, 9);
        assert_string_equal(st.version, "1.4.0");
    } else {
        assert_string_equal(after, before);
        assert_int_equal(st.floor, 5);
        assert_string_equal(st.version, "1.3.0");
        assert_memory_equal(st.digest, D1, 32);
    }
    vouch_free(after);
    /* the left-over temp file does not stop the next commit */
    assert_ok(vouch_state_commit(&port, 10, "1.5.0", D1, &e), e);
    assert_ok(port.read(port.ctx, &st, &e), e);
    assert_int_equal(st.floor, 10);
    vouch_state_file_close(&port);
    vouch_free(before);
}

static void test_power_loss_hook(void **state)
{
    (void)state;
    power_loss_at("temp-written", 0);
    power_loss_at("temp-synced", 0);
    power_loss_at("renamed", 0);
}

static void test_power_loss_abort(void **state)
{
    (void)state;
    power_loss_at("temp-written", 1);
    power_loss_at("temp-synced", 1);
    power_loss_at("renamed", 1);
}

static void test_power_loss_policy(void **state)
{
    char dir[4096], *jws = NULL;
    size_t n = 0;
    vouch_state_port port;
    vouch_err e;

    (void)state;
    vouch_err_clear(&e);
    fresh_dir(dir, sizeof(dir));
    assert_ok(vouch_state_file_open(dir, &port, &e), e);
    assert_ok(port.write_policy(port.ctx, "old", 3, &e), e);
    cut_at = "temp-synced";
    vouch_state_file_set_fault(cut_power, NULL);
    assert_code(port.write_policy(port.ctx, "new!", 4, &e), VOUCH_E_IO, e);
    vouch_state_file_set_fault(NULL, NULL);
    assert_ok(port.read_policy(port.ctx, &jws, &n, &e), e);
    assert_int_equal(n, 3);
    assert_memory_equal(jws, "old", 3);
    vouch_free(jws);
    vouch_state_file_close(&port);
}

/* ------------------------------------------------- allocation failures */

#define ALLOC_LOOP(call)                                                                       \
    do {                                                                                       \
        vouch_code rc__;                                                                       \
        for (long n__ = 0;; n__++) {                                                           \
            vouch_alloc_fail_after(n__);                                                       \
            rc__ = (call);                                                                     \
            vouch_alloc_fail_after(-1);                                                        \
            if (rc__ == VOUCH_OK)                                                              \
                break;                                                                         \
            if (rc__ != VOUCH_E_NOMEM)                                                         \
                fail_msg("allocation %ld: got %s (%s)", n__, vouch_code_name(rc__), e.msg);    \
            assert_true(n__ < 10000);                                                          \
        }                                                                                      \
    } while (0)

static void test_alloc_failures(void **state)
{
    char dir[4096];
    vouch_state_port port;
    vouch_device_state st;
    char *text = NULL;
    size_t n = 0;
    int64_t sv = 1;
    vouch_err e;

    (void)state;
    vouch_err_clear(&e);
    fresh_dir(dir, sizeof(dir));
    ALLOC_LOOP(vouch_state_file_open(dir, &port, &e));
    ALLOC_LOOP(vouch_state_commit(&port, sv++, "1.0.0", D1, &e));
    ALLOC_LOOP(port.read(port.ctx, &st, &e));
    ALLOC_LOOP((vouch_free(text), text = NULL, vouch_state_serialize(&st, &text, &n, &e)));
    ALLOC_LOOP(vouch_state_parse(text, n, &st, &e));
    vouch_free(text);
    vouch_state_file_close(&port);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_fresh),
        cmocka_unit_test(test_commit_and_floor),
        cmocka_unit_test(test_corrupt_state),
        cmocka_unit_test(test_serialize_roundtrip),
        cmocka_unit_test(test_policy_pin),
        cmocka_unit_test(test_power_loss_hook),
        cmocka_unit_test(test_power_loss_abort),
        cmocka_unit_test(test_power_loss_policy),
        cmocka_unit_test(test_alloc_failures),
    };
    vouch_json_init();
    return cmocka_run_group_tests(tests, setup, teardown);
}
