/* cpu_threads.h: how the CPU backend spreads its non-GEMM work over the rank's
 * threads. The rank's thread budget is the BLAS's thread count
 * (runtime.threads sets it); loops over independent pieces (attention's
 * (sample, head) pairs, rows of elementwise passes) run on up to
 * min(PG_CPU_WORKERS, budget) OpenMP threads. Work is split by a fixed static
 * schedule over pieces that do not interact, so results are the same bits for
 * any thread count. Built without OpenMP, everything runs on one thread. */
#ifndef PG_CPU_THREADS_H
#define PG_CPU_THREADS_H

#include <cblas.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* The most threads a CPU loop uses (per-worker scratch is sized for this many). */
#define PG_CPU_WORKERS 4

/* Threads for a loop over n independent pieces. */
static inline int pg_cpu_workers(long n)
{
#ifdef _OPENMP
    int t = openblas_get_num_threads();
    if (t > PG_CPU_WORKERS) t = PG_CPU_WORKERS;
    return n < t ? (n < 1 ? 1 : (int)n) : t;
#else
    (void)n;
    return 1;
#endif
}

/* This thread's index inside such a loop, in [0, PG_CPU_WORKERS). */
static inline int pg_cpu_worker(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* Before a loop of nw threads that calls BLAS inside: one BLAS thread per
 * caller (the loop's threads are the parallelism); returns what to restore. */
static inline int pg_cpu_blas_single(int nw)
{
    int t = openblas_get_num_threads();
    if (nw > 1 && t != 1) openblas_set_num_threads(1);
    return t;
}

static inline void pg_cpu_blas_restore(int t)
{
    if (openblas_get_num_threads() != t) openblas_set_num_threads(t);
}

#endif
