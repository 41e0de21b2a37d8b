/* wz_fuzz.h - helpers shared by the libFuzzer targets and make_seeds. */
#ifndef WZ_FUZZ_H_INCLUDED
#define WZ_FUZZ_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "wz_policy.h"

/* libFuzzer's entry points, declared for -Wall builds. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reports a broken invariant on stderr and aborts, so libFuzzer keeps the input. */
void wz_fuzz_fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* Creates an empty file under $TMPDIR (or /tmp) named after tag and writes its
 * path into out. Returns 0, or -1 with errno. */
int wz_fuzz_temp_file(char *out, size_t outlen, const char *tag);
/* Replaces the file at path with exactly len bytes of data. Returns 0 or -1. */
int wz_fuzz_write_file(const char *path, const void *data, size_t len);

/* The integration tests' policy (tests/support/policy.yaml with its
 * answer-seconds placeholder filled in), loaded without keys. The caller
 * destroys it. Aborts with a message when it cannot be loaded: no fuzzing
 * makes sense without it. */
wz_policy_t *wz_fuzz_test_policy(void);

#endif
