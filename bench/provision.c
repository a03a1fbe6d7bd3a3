/* provision.c - batch provisioning, devices per second, through the real
 * CLI: `vouch provision --batch` on N devices (default 5,000) into a fresh
 * project, timed from start to exit: CSV parse, the device keys (did:key),
 * the clone guard lookups, one ProductionCredential signature per device,
 * the bundles (a directory of three files each), the SQLite rows and the
 * fsynced log, one transaction per 1,000 devices.
 *
 * Printed beside the target (1,000 devices/s) and beside the bound, the
 * signatures per second of the issuer key type measured with
 * `openssl speed` in the same run (one signature per device): the ratio
 * ours/openssl says how much of the work is not the signature (here: file
 * creation). Best of ROUNDS, alternating with openssl, as bench/crypto does.
 *
 * usage: provision [N [ROUNDS]]   (VOUCH_CLI names the vouch binary; by
 * default the one beside this benchmark's directory in the build tree)
 * The last lines are machine-greppable: "ratio <figure> <value>".
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vouch/vouch.h"

#define TARGET 1000.0

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs argv (stdout/stderr to log); returns its exit status or -1. */
static int run(char *const argv[], const char *log)
{
    pid_t pid;
    int st = 0;

    fflush(stdout); /* or the child would print our buffer again */
    pid = fork();

    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (!freopen(log, "a", stdout) || !freopen(log, "a", stderr))
            _exit(127);
        execv(argv[0], argv);
        _exit(127);
    }
    if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

/* `openssl speed -seconds S ecdsap256` sign/s, or 0. */
static double openssl_sign(int secs)
{
    char cmd[128], line[512];
    double best = 0;
    FILE *p;

    snprintf(cmd, sizeof(cmd), "openssl speed -seconds %d ecdsap256 2>/dev/null", secs);
    p = popen(cmd, "r");
    if (!p)
        return 0;
    while (fgets(line, sizeof(line), p)) {
        const char *close = strchr(line, ')');
        double s, v;
        if (strstr(line, "ecdsa (nistp256)") && close &&
            sscanf(close + 1, " %*fs %*fs %lf %lf", &s, &v) == 2)
            best = s;
    }
    pclose(p);
    return best;
}

/* N fresh P-256 device keys as a CSV of did:keys. */
static int write_csv(const char *path, long n)
{
    FILE *f = fopen(path, "w");
    vouch_err e;

    if (!f)
        return -1;
    fprintf(f, "device,serial,hardware,mac,production_date\n");
    for (long i = 0; i < n; i++) {
        vouch_key *k = NULL;
        char *did = NULL;
        if (vouch_key_generate(VOUCH_KEY_P256, &k, &e) != VOUCH_OK ||
            vouch_did_key_encode(k, &did, &e) != VOUCH_OK) {
            fprintf(stderr, "key generation failed: %s\n", e.msg);
            fclose(f);
            return -1;
        }
        fprintf(f, "%s,BENCH-%07ld,board-a,02:00:%02lx:%02lx:%02lx:%02lx,2025-11-%02ld\n", did, i,
                (i >> 24) & 255, (i >> 16) & 255, (i >> 8) & 255, i & 255, 1 + i % 28);
        vouch_free(did);
        vouch_key_free(k);
    }
    return fclose(f) == 0 ? 0 : -1;
}

static const char *default_cli(char *buf, size_t cap)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    char *slash;

    if (n <= 0)
        return "vouch";
    self[n] = '\0';
    slash = strrchr(self, '/');
    if (slash)
        *slash = '\0';
    snprintf(buf, cap, "%s/../vouch", self);
    return buf;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 5000;
    int rounds = argc > 2 ? atoi(argv[2]) : 2, rc = 1;
    char clibuf[PATH_MAX + 16], tmpl[] = "/tmp/vouch-bench-provision.XXXXXX";
    const char *cli = getenv("VOUCH_CLI") ? getenv("VOUCH_CLI") : default_cli(clibuf, sizeof(clibuf));
    char csv[PATH_MAX], cos[PATH_MAX], log[PATH_MAX], cmd[PATH_MAX + 64];
    double best = 0, best_ssl = 0;
    vouch_key *k = NULL;
    vouch_err e;
    char *dir;

    if (n < 100 || n > 100000 || rounds < 1 || rounds > 10) {
        fprintf(stderr, "usage: %s [N 100..100000 [ROUNDS 1..10]]\n", argv[0]);
        return 2;
    }
    if (access(cli, X_OK) != 0) {
        fprintf(stderr, "no vouch binary at %s (set VOUCH_CLI)\n", cli);
        return 2;
    }
    dir = mkdtemp(tmpl);
    if (!dir)
        return 1;
    snprintf(csv, sizeof(csv), "%s/devices.csv", dir);
    snprintf(cos, sizeof(cos), "%s/cosigner.pem", dir);
    snprintf(log, sizeof(log), "%s/log", dir);
    if (vouch_key_generate(VOUCH_KEY_P256, &k, &e) != VOUCH_OK ||
        vouch_key_save_pem(k, cos, 1, &e) != VOUCH_OK || write_csv(csv, n) != 0) {
        fprintf(stderr, "setup failed\n");
        goto out;
    }
    printf("vouch provision --batch, %ld P-256 devices (did:key in the CSV), issuer key P-256 "
           "(ES256); best of %d rounds\n\n%-6s %14s %14s\n",
           n, rounds, "round", "devices/s", "openssl sign/s");
    for (int r = 1; r <= rounds; r++) {
        char proj[PATH_MAX], out[PATH_MAX];
        double t0, t, ssl;
        snprintf(proj, sizeof(proj), "%s/P%d", dir, r);
        snprintf(out, sizeof(out), "%s/bundles%d", dir, r);
        {
            char *init[] = {(char *)cli, "init", "--domain", "example.com", "--dir", proj,
                            "--cosigner", cos, NULL};
            char *prov[] = {(char *)cli, "provision", "--dir", proj, "--batch", csv, "--server",
                            "https://updates.example.com", "--out-dir", out, NULL};
            if (run(init, log) != 0) {
                fprintf(stderr, "vouch init failed (see %s)\n", log);
                goto out;
            }
            t0 = now_s();
            if (run(prov, log) != 0) {
                fprintf(stderr, "vouch provision failed (see %s)\n", log);
                goto out;
            }
            t = now_s() - t0;
        }
        ssl = openssl_sign(2);
        if (ssl <= 0) {
            fprintf(stderr, "could not run or parse `openssl speed -seconds 2 ecdsap256`\n");
            goto out;
        }
        printf("%-6d %14.0f %14.0f\n", r, (double)n / t, ssl);
        fflush(stdout);
        if ((double)n / t > best)
            best = (double)n / t;
        if (ssl > best_ssl)
            best_ssl = ssl;
        /* the rounds' bundles are removed at the end: deleting them now
         * would load the file system during the next round */
    }
    printf("\n%-22s %12s %12s %8s\n", "figure", "vouch", "reference", "ratio");
    printf("%-22s %12.0f %12.0f %8.2f%s\n", "devices/s vs target", best, TARGET, best / TARGET,
           best < TARGET ? "  (below target)" : "");
    printf("%-22s %12.0f %12.0f %8.3f\n", "devices/s vs sign/s", best, best_ssl,
           best / best_ssl);
    printf("\nratio provision_target %.2f\nratio provision_sign_bound %.3f\n", best / TARGET,
           best / best_ssl);
    rc = 0;
out:
    vouch_key_free(k);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        rc = 1;
    return rc;
}
