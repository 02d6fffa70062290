/* trace.c: `pipegrid trace FILE --summary | --svg OUT`: read a trace written
 * by `pipegrid train --trace DIR` and say where the time went. */
#include "runtime/base/error.h"
#include "runtime/cli/cli.h"
#include "runtime/cli/options.h"
#include "runtime/observe/trace_read.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void help(FILE *f)
{
    fputs("usage: pipegrid trace FILE [--summary] [--svg OUT] [--step N]\n"
          "\n"
          "Read a trace written by 'pipegrid train --trace DIR' (DIR/trace.json, the whole\n"
          "job, or one DIR/rank<R>.json) and show where the time went.\n"
          "\n"
          "options:\n"
          "      --summary       per rank, the time per step in compute (F/B/I/W),\n"
          "                      communication (blocked on sends and on the gradient\n"
          "                      allreduce: exposed), waiting on other ranks (blocked\n"
          "                      receives + the step-end wait for the slowest: bubble),\n"
          "                      optimizer, data and the rest; then the slowest stage\n"
          "                      (the default when no --svg is given)\n"
          "      --svg OUT       draw the measured timeline of one step as SVG, in the\n"
          "                      style of 'pipegrid schedule --svg'\n"
          "      --step N        the step to summarize or draw (default: summary over\n"
          "                      every step but the first, the warm-up; timeline of the\n"
          "                      last step)\n"
          "  -h, --help          this text\n"
          "\n"
          "examples:\n"
          "  mpiexec -n 4 pipegrid train --pp 4 --steps 5 --trace tr\n"
          "  pipegrid trace tr/trace.json --summary\n"
          "  pipegrid trace tr/trace.json --svg step3.svg --step 3\n",
          f);
}

static void cell(double v, double wall, int n)
{
    printf(" %9.2f %5.1f%%", v * 1e3 / n, wall > 0 ? 100.0 * v / wall : 0.0);
}

static int summary(const char *path, const pg_trace_file *t, int first, int last, int all_first)
{
    int n = last - first + 1;
    printf("trace %s: %d rank(s), step%s %d", path, t->nranks, n > 1 ? "s" : "", first);
    if (n > 1) printf("-%d", last);
    if (first == all_first + 1)
        printf(" (step %d, the %s, left out)", all_first, all_first == 1 ? "warm-up" : "first traced");
    printf("\nms per step (share of the step) per rank:\n");
    printf("%4s %5s %7s %9s %15s %15s %15s %15s %15s %15s %10s\n", "rank", "stage", "replica",
           "step", "compute", "comm", "wait (bubble)", "optimizer", "data+ckpt", "other",
           "in flight");
    for (int i = 0; i < t->nranks; i++) {
        pg_tr_totals s;
        pg_trace_totals(t, i, first, last, &s);
        const pg_tr_rank *r = &t->ranks[i];
        printf("%4d %5d %7d %9.2f", r->rank, r->stage, r->replica, s.wall * 1e3 / n);
        cell(s.cat[PG_TC_COMPUTE], s.wall, n);
        cell(s.cat[PG_TC_COMM], s.wall, n);
        cell(s.cat[PG_TC_WAIT], s.wall, n);
        cell(s.cat[PG_TC_OPTIM], s.wall, n);
        cell(s.cat[PG_TC_DATA] + s.cat[PG_TC_CKPT], s.wall, n);
        cell(s.cat[PG_TC_OTHER], s.wall, n);
        printf(" %10.2f\n", s.inflight * 1e3 / n);
    }
    double *stage;
    int S, rc = pg_trace_stage_compute(t, first, last, &stage, &S);
    if (rc) return rc;
    if (S > 0) {
        int worst = 0;
        double mean = 0.0;
        for (int s = 0; s < S; s++) {
            mean += stage[s] / S;
            if (stage[s] > stage[worst]) worst = s;
        }
        printf("slowest stage: %d (compute %.2f ms per step; mean over %d stage(s) %.2f ms, "
               "x%.2f)\n",
               worst, stage[worst] * 1e3 / n, S, mean * 1e3 / n,
               mean > 0 ? stage[worst] / mean : 1.0);
    }
    free(stage);
    return 0;
}

static int svg(const char *path, const pg_trace_file *t, int step, const char *out)
{
    pg_tl_span *spans;
    int n;
    double end;
    int rc = pg_trace_step_spans(t, step, &spans, &n, &end);
    if (rc) return rc;
    char **names = calloc((size_t)t->nranks, sizeof(char *));
    int multi = 0, maxstage = -1, ok = names != NULL;
    for (int i = 0; i < t->nranks && ok; i++) {
        const pg_tr_rank *r = &t->ranks[i];
        ok = (names[i] = malloc(32)) != NULL;
        if (ok) snprintf(names[i], 32, "rank %d", r->rank);
        if (r->replica > 0) multi = 1;
        if (r->stage > maxstage) maxstage = r->stage;
    }
    for (int i = 0; i < n; i++)
        if (spans[i].stage > maxstage) maxstage = spans[i].stage;
    if (multi)
        for (int i = 0; i < t->nranks && ok; i++)
            snprintf(names[i], 32, "s%d r%d", t->ranks[i].stage, t->ranks[i].replica);
    int stages_per_row = 0;
    for (int i = 0; i < t->nranks; i++)
        if (t->ranks[i].stage + 1 > stages_per_row) stages_per_row = t->ranks[i].stage + 1;
    char title[256], sub[256];
    snprintf(title, sizeof title, "measured: %d rank(s), step %d (%s)", t->nranks, step, path);
    snprintf(sub, sizeof sub, "step %.3f ms from the earliest rank's start to the last optimizer",
             end * 1e3);
    pg_timeline tl = {.title = title, .subtitle = sub, .nrows = t->nranks,
                      .row_names = (const char *const *)names, .spans = spans, .nspans = n,
                      .show_stage = maxstage + 1 > stages_per_row};
    if (!ok) rc = pg_error(PG_ENOMEM, "trace: out of memory");
    if (!rc) rc = pg_timeline_svg_file(&tl, out);
    if (!rc) printf("timeline of step %d written to %s\n", step, out);
    for (int i = 0; names && i < t->nranks; i++) free(names[i]);
    free(names);
    free(spans);
    return rc;
}

enum { O_HELP = 1, O_SUMMARY, O_SVG, O_STEP };
static const pg_opt trace_opts[] = {
    {"summary", 0, 0, NULL, O_SUMMARY}, {"svg", 0, 1, NULL, O_SVG},
    {"step", 0, 1, NULL, O_STEP},       {"help", 'h', 0, NULL, O_HELP},
    PG_OPTS_END,
};

/* Parse, then summarize and/or draw; 1 after --help; *usage set when the
 * command line is at fault. */
static int trace(int argc, char **argv, int *usage)
{
    const char *out = NULL, *v;
    int want_summary = 0, id, rc = 0;
    long step = 0;
    pg_opts o;
    pg_opts_init(&o, "trace", trace_opts, argc, argv);
    while (!rc && (id = pg_opts_next(&o, &v)) > 0) {
        switch (id) {
        case O_HELP: return 1;
        case O_SUMMARY: want_summary = 1; break;
        case O_SVG: out = v; break;
        case O_STEP: rc = pg_opt_int("--step", v, 1, INT_MAX, &step); break;
        }
    }
    *usage = 1;
    if (rc || id < 0) return rc ? rc : id;
    if (o.rest != argc - 1)
        return pg_error(PG_EINVAL, "trace needs one FILE (see pipegrid trace --help)");
    *usage = 0;
    const char *path = argv[o.rest];
    pg_trace_file *t;
    if ((rc = pg_trace_load(path, &t))) return rc;
    int first, last;
    if (!pg_trace_steps(t, &first, &last))
        rc = pg_error(PG_EINVAL, "trace file '%s': no step that every rank recorded", path);
    else if (step && (step < first || step > last))
        rc = pg_error(PG_EINVAL, "--step %ld: trace file '%s' holds steps %d-%d", step, path, first,
                      last);
    if (!rc && (want_summary || !out)) {
        int lo = step ? (int)step : last > first ? first + 1 : first, hi = step ? (int)step : last;
        rc = summary(path, t, lo, hi, first);
    }
    if (!rc && out) rc = svg(path, t, step ? (int)step : last, out);
    pg_trace_file_free(t);
    return rc;
}

int pg_cmd_trace(int argc, char **argv)
{
    int usage = 0, rc = trace(argc, argv, &usage);
    return pg_cli_status(rc, usage, help);
}
