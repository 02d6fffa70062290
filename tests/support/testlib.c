/* testlib.c: see testlib.h. */
#include "tests/support/testlib.h"

#include <math.h>
#include <stdio.h>

int pg_test_failures;

void pg_test_fail(const char *file, int line, const char *cond, const char *msg)
{
    pg_test_failures++;
    fprintf(stderr, "%s:%d: CHECK failed: %s %s\n", file, line, cond, msg);
}

int pg_test_summary(const char *name)
{
    if (pg_test_failures) {
        fprintf(stderr, "%s: %d check(s) failed\n", name, pg_test_failures);
        return 1;
    }
    printf("%s: all checks passed\n", name);
    return 0;
}

double pg_rel_diff(const float *a, const float *b, size_t n)
{
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - (double)b[i];
        num += d * d;
        den += (double)b[i] * b[i];
    }
    if (den == 0.0) return num == 0.0 ? 0.0 : INFINITY;
    return sqrt(num / den);
}
