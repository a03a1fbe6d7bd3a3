/* replay_main.c - runs a libFuzzer target over every file of a corpus
 * directory without libFuzzer, so corpora are regression tests in every
 * build (plain, ASan+UBSan, valgrind). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vouch/mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
    DIR *d;
    struct dirent *e;
    int count = 0, rc = 1;

    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS-DIR\n", argv[0]);
        return 2;
    }
    d = opendir(argv[1]);
    if (!d) {
        perror(argv[1]);
        return 1;
    }
    while ((e = readdir(d)) != NULL) {
        char path[4096];
        unsigned char *buf = NULL;
        size_t len = 0;

        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", argv[1], e->d_name);
        if (vouch_file_read(path, 16u << 20, &buf, &len, NULL) != VOUCH_OK) {
            fprintf(stderr, "cannot read %s\n", path);
            goto out;
        }
        LLVMFuzzerTestOneInput(buf, len);
        vouch_free(buf);
        count++;
    }
    if (count == 0) {
        fprintf(stderr, "%s: empty corpus\n", argv[1]);
        goto out;
    }
    printf("%d inputs replayed\n", count);
    rc = 0;
out:
    closedir(d);
    return rc;
}
