/* testlib.h: tiny assertion helpers shared by the C tests. A failed CHECK
 * prints file:line and the condition and counts a failure; tests end with
 * `return pg_test_summary(name)`, which exits non-zero on any failure. */
#ifndef PG_TESTLIB_H
#define PG_TESTLIB_H

#include <stddef.h>

extern int pg_test_failures;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) pg_test_fail(__FILE__, __LINE__, #cond, "");                     \
    } while (0)
#define CHECK_MSG(cond, ...)                                                          \
    do {                                                                              \
        if (!(cond)) {                                                                \
            char msg_[512];                                                           \
            snprintf(msg_, sizeof msg_, __VA_ARGS__);                                 \
            pg_test_fail(__FILE__, __LINE__, #cond, msg_);                            \
        }                                                                             \
    } while (0)

void pg_test_fail(const char *file, int line, const char *cond, const char *msg);
int pg_test_summary(const char *name);

/* ||a - b|| / ||b|| (b = reference); 0 when both are zero. */
double pg_rel_diff(const float *a, const float *b, size_t n);

/* Exit code ctest maps to "skipped" (SKIP_RETURN_CODE). */
#define PG_TEST_SKIP 77

#include <stdio.h>

#endif
