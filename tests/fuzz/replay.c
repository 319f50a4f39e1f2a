/*
 * Runs a fuzz target's LLVMFuzzerTestOneInput over files, without libFuzzer: how the
 * normal, sanitizer and valgrind builds replay the seed corpus and every input that once
 * crashed (tests/fuzz/regressions), so a fixed bug stays fixed in every build.
 *
 *   fuzz_replay_TARGET FILE_OR_FOLDER...
 *
 * Exits 0 when every input ran; a failed check aborts, as under libFuzzer.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *file = fopen(path, "rb");
    if (file == NULL) {
        perror(path);
        return -1;
    }
    uint8_t *data = NULL;
    size_t size = 0, capacity = 0;
    for (;;) {
        if (size == capacity) {
            capacity = capacity ? capacity * 2 : 4096;
            uint8_t *grown = realloc(data, capacity);
            if (grown == NULL) {
                free(data);
                fclose(file);
                return -1;
            }
            data = grown;
        }
        size_t got = fread(data + size, 1, capacity - size, file);
        size += got;
        if (got == 0)
            break;
    }
    fclose(file);
    /* An exact-size copy, so the sanitizers see a read past the input's end. */
    uint8_t *exact = malloc(size ? size : 1);
    if (exact == NULL) {
        free(data);
        return -1;
    }
    memcpy(exact, data, size);
    free(data);
    LLVMFuzzerTestOneInput(exact, size);
    free(exact);
    return 0;
}

/* Runs a file, or every file of a folder (not recursive). Returns the count run, or -1. */
static int run_path(const char *path)
{
    struct stat info;
    if (stat(path, &info) < 0) {
        perror(path);
        return -1;
    }
    if (!S_ISDIR(info.st_mode))
        return run_file(path) < 0 ? -1 : 1;
    DIR *folder = opendir(path);
    if (folder == NULL) {
        perror(path);
        return -1;
    }
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(folder)) != NULL) {
        if (entry->d_name[0] == '.')
            continue;
        char child[4096];
        snprintf(child, sizeof child, "%s/%s", path, entry->d_name);
        if (stat(child, &info) == 0 && S_ISREG(info.st_mode)) {
            if (run_file(child) < 0) {
                count = -1;
                break;
            }
            count++;
        }
    }
    closedir(folder);
    return count;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE_OR_FOLDER...\n", argv[0]);
        return 2;
    }
    int total = 0;
    for (int i = 1; i < argc; i++) {
        int count = run_path(argv[i]);
        if (count < 0)
            return 1;
        total += count;
    }
    if (total == 0) {
        fprintf(stderr, "%s: no input to run\n", argv[0]);
        return 1;
    }
    printf("%d inputs ran\n", total);
    return 0;
}
