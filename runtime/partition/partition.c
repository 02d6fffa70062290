/* partition.c: uniform, explicit and cost-balanced layer partitions. */
#include "runtime/partition/partition.h"

#include "runtime/base/error.h"

#include <float.h>
#include <stdlib.h>
#include <string.h>

/* Nominal FLOP rate that puts FLOPs and emulated seconds on one scale. It only
 * weighs layers against each other; the absolute value does not matter. */
#define PG_NOMINAL_FLOPS 1e10

double pg_layer_cost(const pg_layer *l, pg_shape s)
{
    double fixed = 0.0;
    for (int phase = 0; phase < 3; phase++) fixed += pg_layer_fixed_time(l, phase, s);
    return 3.0 * l->kind->flops(l, s) / PG_NOMINAL_FLOPS + fixed;
}

/* Minimise the largest stage cost over contiguous ranges of the L units
 * (dynamic programming over (stages, prefix), O(S L^2)). prefix[] are prefix
 * sums of unit costs; with a memory cap, fixed[] and act[] are prefix sums of
 * unit memory (parameters and optimizer state; activations per in-flight
 * microbatch) and stage s may hold only ranges with
 * fixed + mult[s] * act <= cap. Fails when no split fits. */
static int balance_capped(const double *prefix, const double *fixed, const double *act,
                          const double *mult, double cap, int L, int S, int *first)
{
    double *best = malloc(sizeof(double) * (size_t)(S + 1) * (size_t)(L + 1));
    int *cut = malloc(sizeof(int) * (size_t)(S + 1) * (size_t)(L + 1));
    if (!best || !cut) {
        free(best);
        free(cut);
        return pg_error(PG_ENOMEM, "partition: out of memory");
    }
#define AT(a, s, j) a[(size_t)(s) * (size_t)(L + 1) + (size_t)(j)]
    for (int j = 0; j <= L; j++) AT(best, 0, j) = j == 0 ? 0.0 : DBL_MAX;
    for (int s = 1; s <= S; s++) {
        for (int j = 0; j <= L; j++) {
            AT(best, s, j) = DBL_MAX;
            AT(cut, s, j) = -1;
            for (int i = s - 1; i < j; i++) {
                if (AT(best, s - 1, i) == DBL_MAX) continue;
                if (fixed && fixed[j] - fixed[i] + mult[s - 1] * (act[j] - act[i]) > cap)
                    continue;
                double c = prefix[j] - prefix[i];
                double v = AT(best, s - 1, i) > c ? AT(best, s - 1, i) : c;
                if (v < AT(best, s, j)) {
                    AT(best, s, j) = v;
                    AT(cut, s, j) = i;
                }
            }
        }
    }
    int fits = AT(best, S, L) < DBL_MAX;
    first[S] = L;
    for (int s = S; s >= 1 && fits; s--) first[s - 1] = AT(cut, s, first[s]);
#undef AT
    free(best);
    free(cut);
    if (!fits)
        return pg_error(PG_EINVAL, "partition: no split into %d stages fits the memory cap of "
                                   "%.4g MB per stage",
                        S, cap / 1e6);
    return 0;
}

static int balance(const double *prefix, int L, int S, int *first)
{
    return balance_capped(prefix, NULL, NULL, NULL, DBL_MAX, L, S, first);
}

/* Partition units: runs of layers that always share a stage (a layer with
 * glue = 1 joins the next one, glue = -1 the previous one). start[u] is the
 * first layer of unit u, start[U] = L (the loss is not part of any unit). */
static int units_of(const pg_model *m, int L, int *start)
{
    int U = 0;
    for (int i = 0; i < L; i++) {
        int joined = i > 0 && (m->layers[i - 1].glue == 1 || m->layers[i].glue == -1);
        if (!joined) start[U++] = i;
    }
    start[U] = L;
    return U;
}

static int partition_units(const pg_model *m, int S, const char *spec, pg_shape shape,
                           const int *start, int U, int *ufirst)
{
    if (S > U)
        return pg_error(PG_EINVAL,
                        "partition: %d stages but the model has only %d layers to split "
                        "(partition units: layers before the loss; a gpt's are its blocks), "
                        "each stage needs one",
                        S, U);
    if (!strcmp(spec, "uniform")) {
        for (int s = 0; s <= S; s++) ufirst[s] = (int)((long)s * U / S);
        return 0;
    }
    if (!strcmp(spec, "auto")) {
        double *prefix = malloc(sizeof(double) * (size_t)(U + 1));
        if (!prefix) return pg_error(PG_ENOMEM, "partition: out of memory");
        prefix[0] = 0.0;
        for (int u = 0; u < U; u++) {
            prefix[u + 1] = prefix[u];
            for (int i = start[u]; i < start[u + 1]; i++)
                prefix[u + 1] += pg_layer_cost(&m->layers[i], shape);
        }
        /* the loss rides with the last unit */
        prefix[U] += pg_layer_cost(&m->layers[m->nlayers - 1], shape);
        int rc = balance(prefix, U, S, ufirst);
        free(prefix);
        return rc;
    }
    const char *p = spec;
    int s = 0, total = 0;
    ufirst[0] = 0;
    while (*p) {
        char *end = NULL;
        long n = strtol(p, &end, 10);
        if (end == p || n < 1 || (*end && *end != ','))
            return pg_error(PG_EINVAL,
                            "parallel.partition: expected auto, uniform or positive layer "
                            "counts like 3,3,2, got '%s'",
                            spec);
        if (s >= S)
            return pg_error(PG_EINVAL, "parallel.partition: '%s' lists more than the %d stages",
                            spec, S);
        total += (int)n;
        if (total > U) break;
        ufirst[++s] = total;
        p = *end ? end + 1 : end;
    }
    if (s != S || total != U)
        return pg_error(PG_EINVAL,
                        "parallel.partition: '%s' gives %d stages and %d units; expected %d "
                        "stages covering the %d units (layers before the loss; gpt: blocks)",
                        spec, s, total, S, U);
    return 0;
}

int pg_partition(const pg_model *m, int S, const char *spec, pg_shape shape, int *first)
{
    int L = m->nlayers - 1; /* every layer but the loss */
    if (S < 1) return pg_error(PG_EINVAL, "partition: need at least one stage");
    int *start = malloc(sizeof(int) * (size_t)(L + 1));
    int *ufirst = malloc(sizeof(int) * (size_t)(S + 1));
    if (!start || !ufirst) {
        free(start);
        free(ufirst);
        return pg_error(PG_ENOMEM, "partition: out of memory");
    }
    int U = units_of(m, L, start);
    int rc = partition_units(m, S, spec, shape, start, U, ufirst);
    if (!rc) {
        for (int s = 0; s < S; s++) first[s] = start[ufirst[s]];
        first[S] = m->nlayers; /* the loss layer joins the last stage */
    }
    free(start);
    free(ufirst);
    return rc;
}

int pg_partition_capped(const pg_model *m, int S, const double *cost, const double *fixed,
                        const double *act, const double *mult, double cap, int *first)
{
    int L = m->nlayers - 1;
    if (S < 1 || S > L)
        return pg_error(PG_EINVAL, "partition: %d stages for %d layers before the loss", S, L);
    int *start = malloc(sizeof(int) * (size_t)(L + 1));
    int *ufirst = malloc(sizeof(int) * (size_t)(S + 1));
    double *pre = calloc(3 * (size_t)(L + 1), sizeof(double));
    int rc = 0;
    if (!start || !ufirst || !pre) rc = pg_error(PG_ENOMEM, "partition: out of memory");
    if (!rc) {
        int U = units_of(m, L, start);
        double *pc = pre, *pf = pre + L + 1, *pa = pre + 2 * (L + 1);
        for (int u = 0; u < U; u++) {
            pc[u + 1] = pc[u];
            pf[u + 1] = pf[u];
            pa[u + 1] = pa[u];
            /* the loss rides with the last unit */
            int hi = u == U - 1 ? m->nlayers : start[u + 1];
            for (int i = start[u]; i < hi; i++) {
                pc[u + 1] += cost[i];
                pf[u + 1] += fixed[i];
                pa[u + 1] += act[i];
            }
        }
        if (S > U)
            rc = pg_error(PG_EINVAL, "partition: %d stages but only %d partition units", S, U);
        if (!rc) rc = balance_capped(pc, pf, pa, mult, cap, U, S, ufirst);
        if (!rc) {
            for (int s = 0; s < S; s++) first[s] = start[ufirst[s]];
            first[S] = m->nlayers;
        }
    }
    free(start);
    free(ufirst);
    free(pre);
    return rc;
}

void pg_partition_print(const pg_model *m, int S, const int *first, pg_shape shape, FILE *f)
{
    for (int s = 0; s < S; s++) {
        double cost = 0.0;
        char kinds[160] = "";
        size_t used = 0;
        for (int i = first[s]; i < first[s + 1]; i++) {
            cost += pg_layer_cost(&m->layers[i], shape);
            const char *sep = i == first[s] ? "" : " ";
            int n = snprintf(kinds + used, sizeof kinds - used, "%s%s", sep, m->layers[i].kind->name);
            if (n < 0 || (size_t)n >= sizeof kinds - used) {
                strcpy(kinds + sizeof kinds - 4, "...");
                break;
            }
            used += (size_t)n;
        }
        fprintf(f, "  stage %2d: layers %3d-%-3d %-44s %10zu params  est %.3g ms/mb\n", s,
                first[s], first[s + 1] - 1, kinds, pg_model_param_count(m, first[s], first[s + 1]),
                cost * 1e3);
    }
}
