/* SPDX-License-Identifier: MIT */
/* Runs the fuzz target over the stored corpus as a TAP test, so every input
 * that once found a bug keeps being checked in the normal test run.
 * The corpus is $TESTS/fuzz/corpus, or the source tree's. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/tap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
        char dir[4096];
        const char *t = getenv("TESTS");
        snprintf(dir, sizeof dir, "%s/fuzz/corpus", argc > 1 ? argv[1] : t ? t : CORPUS_PARENT);
        DIR *d = opendir(dir);
        if (!d) {
                tap_skip("no corpus directory");
                return tap_done();
        }
        struct dirent *de;
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                char path[8192];
                snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
                FILE *f = fopen(path, "rb");
                if (!f)
                        continue;
                static uint8_t buf[65536];
                size_t n = fread(buf, 1, sizeof buf, f);
                fclose(f);
                LLVMFuzzerTestOneInput(buf, n);
                tap_ok(1, "replayed %s", de->d_name);
        }
        closedir(d);
        return tap_done();
}
