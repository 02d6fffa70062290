/* schedule.c: `pipegrid schedule` prints, checks, simulates and draws a
 * schedule; with a model it predicts the step from layer costs and can
 * choose the partition. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "runtime/base/error.h"
#include "runtime/cli/cli.h"
#include "runtime/cli/options.h"
#include "runtime/config/config.h"
#include "runtime/model/model.h"
#include "runtime/partition/costs.h"
#include "runtime/partition/partition.h"
#include "runtime/schedule/schedule.h"
#include "runtime/schedule/simulate.h"
#include "runtime/schedule/timeline.h"

#include <cblas.h>
#include <float.h>
#include <sched.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void help(FILE *f)
{
    fputs("usage: pipegrid schedule [options]\n"
          "\n"
          "Build a pipeline schedule (or read one from a file), validate it (every\n"
          "forward before its backward, every send matched by a receive, a dry run of\n"
          "the communication: no deadlock), print each rank's action list, and predict\n"
          "its timeline: step time, bubble and peak in-flight activations per rank.\n"
          "Needs no MPI.\n"
          "\n"
          "Costs: without a model, unit costs (F = I = W = 1, so B = 2) and the action\n"
          "grid. With --config (or --set), the model's layers are split into stages\n"
          "(parallel.partition) and each stage costs the sum of its layers, estimated\n"
          "(FLOPs; emulated layers' fixed times) or measured (--costs profile: every\n"
          "layer's F, I and W timed on one microbatch here).\n"
          "\n"
          "options:\n"
          "  -p, --pp P              pipeline ranks (default 4, or parallel.pp)\n"
          "  -m, --microbatches M    microbatches per step (default 8, or train.microbatches)\n"
          "  -s, --schedule NAME     gpipe | 1f1b | interleaved | zbh1 | zbv (default 1f1b)\n"
          "  -v, --chunks V          model chunks per rank (interleaved: 2 or more;\n"
          "                          default: the schedule's own)\n"
          "  -f, --file FILE         read the schedule from FILE: one line per rank,\n"
          "                          actions like '0F0 0F1 0B0 0B1' or '0F0 0I0 0W0'\n"
          "                          ('#' comments); sends and receives are added when absent\n"
          "  -c, --config FILE       the model (and defaults for the options above)\n"
          "      --set SEC.KEY=VAL   override a config key (repeatable)\n"
          "      --costs MODE        unit | estimate | profile | F,I,W (milliseconds per\n"
          "                          stage and microbatch); default unit, or estimate\n"
          "                          with a model\n"
          "      --latency US        point-to-point latency per message, microseconds\n"
          "      --bandwidth GBS     point-to-point bandwidth, GB/s (default: infinite)\n"
          "      --partition SPEC    uniform | auto | 3,3,2 (default parallel.partition);\n"
          "                          auto: balance the model's layer costs (profiled with\n"
          "                          --costs profile) under --mem-cap, and print the\n"
          "                          uniform split's prediction next to it\n"
          "      --mem-cap MB        memory a rank may use for its stages' parameters,\n"
          "                          gradients, optimizer state and in-flight activations\n"
          "      --svg FILE          draw the predicted timeline (one row per rank)\n"
          "  -a, --all               list communication actions too\n"
          "  -h, --help              this text\n"
          "\n"
          "Actions print as STAGE KIND MICROBATCH: 2F0 is stage 2's forward of microbatch\n"
          "0; B = backward, or split into I (input gradient) and W (weight gradient);\n"
          "SEND_F/RECV_F move activations, SEND_B/RECV_B gradients;\n"
          "REDUCE is the gradient allreduce of a stage, OPTIM the optimizer step.\n"
          "\n"
          "examples:\n"
          "  pipegrid schedule --pp 4 --microbatches 8 --schedule 1f1b\n"
          "  pipegrid schedule --pp 2 -m 3 --schedule gpipe --all\n"
          "  pipegrid schedule --pp 4 -m 9 --schedule interleaved --chunks 2\n"
          "  pipegrid schedule --pp 4 -m 8 --schedule zbh1 --svg zbh1.svg\n"
          "  pipegrid schedule --file my_schedule.txt\n"
          "  pipegrid schedule -c model.ini --pp 4 --costs profile --partition auto\n",
          f);
}

int pg_cli_blas_threads(const pg_config *c, int ranks_on_node)
{
    int t = c->runtime.threads;
    if (t <= 0) {
        cpu_set_t set;
        int cores = sched_getaffinity(0, sizeof set, &set) == 0
                        ? CPU_COUNT(&set)
                        : (int)sysconf(_SC_NPROCESSORS_ONLN);
        t = cores / (ranks_on_node > 0 ? ranks_on_node : 1);
    }
    if (t < 1) t = 1;
    openblas_set_num_threads(t);
    return t;
}

typedef struct opts {
    pg_opts o; /* a model (--config, --set) and the schedule's keys, in order */
    int all, model, profile, unit, fixed;
    const char *file, *svg, *partition;
    double fiw[3], latency, bandwidth, cap;
} opts;

enum { O_HELP = 1, O_FILE, O_ALL, O_COSTS, O_LAT, O_BW, O_PART, O_CAP, O_SVG };
static const pg_opt schedule_opts[] = {
    PG_OPTS_CONFIG,
    {"pp", 'p', 1, "parallel.pp", 0},
    {"microbatches", 'm', 1, "train.microbatches", 0},
    {"schedule", 's', 1, "parallel.schedule", 0},
    {"chunks", 'v', 1, "parallel.chunks", 0},
    {"file", 'f', 1, NULL, O_FILE},
    {"all", 'a', 0, NULL, O_ALL},
    {"costs", 0, 1, NULL, O_COSTS},
    {"latency", 0, 1, NULL, O_LAT},
    {"bandwidth", 0, 1, NULL, O_BW},
    {"partition", 0, 1, NULL, O_PART},
    {"mem-cap", 0, 1, NULL, O_CAP},
    {"svg", 0, 1, NULL, O_SVG},
    {"help", 'h', 0, NULL, O_HELP},
    PG_OPTS_END,
};

static int parse(int argc, char **argv, opts *o)
{
    const char *costs = NULL, *v;
    int id, rc = 0;
    pg_opts_init(&o->o, "schedule", schedule_opts, argc, argv);
    while (!rc && (id = pg_opts_next(&o->o, &v)) > 0) {
        switch (id) {
        case O_HELP: return 1;
        case O_FILE: o->file = v; break;
        case O_ALL: o->all = 1; break;
        case O_COSTS: costs = v; break;
        case O_LAT: rc = pg_opt_num("--latency", v, 0, 1e9, &o->latency); o->latency *= 1e-6; break;
        case O_BW: rc = pg_opt_num("--bandwidth", v, 1e-9, 1e9, &o->bandwidth); o->bandwidth *= 1e9; break;
        case O_PART: o->partition = v; break;
        case O_CAP: rc = pg_opt_num("--mem-cap", v, 1e-6, 1e12, &o->cap); o->cap *= 1e6; break;
        case O_SVG: o->svg = v; break;
        }
    }
    if (!rc && id < 0) rc = id;
    if (rc) return rc;
    if (o->o.rest < argc)
        return pg_error(PG_EINVAL, "unexpected argument '%s' (see pipegrid schedule --help)",
                        argv[o->o.rest]);
    /* a model: a config file, or --set of any key */
    o->model = o->o.config != NULL;
    for (int i = 0; i < o->o.nsets; i++) o->model |= !strcmp(o->o.sets[i].key, PG_OPT_SET);
    if (!costs) costs = o->model ? "estimate" : "unit";
    o->unit = !strcmp(costs, "unit");
    o->profile = !strcmp(costs, "profile");
    if (!o->unit && !o->profile && strcmp(costs, "estimate")) {
        o->fixed = 1;
        char *end = NULL;
        const char *p = costs;
        for (int k = 0; k < 3; k++) {
            o->fiw[k] = strtod(p, &end) * 1e-3;
            if (end == p || !(o->fiw[k] >= 0) || (k < 2 && *end != ',') || (k == 2 && *end))
                return pg_error(PG_EINVAL,
                                "--costs: expected unit, estimate, profile or F,I,W in ms "
                                "(e.g. 1,1,1), got '%s'",
                                costs);
            p = end + 1;
        }
    } else if (!o->unit && !o->model) {
        return pg_error(PG_EINVAL, "--costs %s needs a model (--config FILE or --set)", costs);
    }
    if (o->partition && !o->model)
        return pg_error(PG_EINVAL, "--partition needs a model (--config FILE or --set)");
    return 0;
}

/* Print the per-rank table and return the mean bubble. */
static double report(const pg_schedule *s, const pg_sim_result *r, int unit, int bytes)
{
    double mean = 0.0;
    if (unit) printf("\npredicted step: %g units\n", r->step_time);
    else printf("\npredicted step: %.3f ms\n", r->step_time * 1e3);
    printf("%-6s %10s %8s %15s%s\n", "rank", unit ? "busy" : "busy ms", "bubble",
           "peak in-flight", bytes ? "   peak act MB" : "");
    for (int k = 0; k < s->pp; k++) {
        printf("%-6d %10.*f %7.1f%% %15d", k, unit ? 1 : 3, unit ? r->busy[k] : r->busy[k] * 1e3,
               100.0 * r->bubble[k], r->peak_inflight[k]);
        if (bytes) printf(" %14.3f", r->peak_bytes[k] / 1e6);
        putchar('\n');
        mean += r->bubble[k] / s->pp;
    }
    printf("mean bubble %.1f%%", 100.0 * mean);
    if (s->nstages == s->pp)
        printf("; GPipe/1F1B theory (p-1)/(m+p-1) = %.1f%%",
               100.0 * (s->pp - 1) / (s->nmb + s->pp - 1));
    putchar('\n');
    return mean;
}

static int draw(const pg_schedule *s, const pg_sim_result *r, double mean_bubble, int unit,
                const char *costs, const char *path)
{
    pg_tl_span *spans;
    int n, rc = pg_sim_spans(r, &spans, &n);
    if (rc) return rc;
    char title[160], sub[400];
    snprintf(title, sizeof title, "%s: pp=%d, %d stages, %d microbatches (predicted)", s->name,
             s->pp, s->nstages, s->nmb);
    if (unit)
        snprintf(sub, sizeof sub, "step %g units, mean bubble %.1f%%; %s", r->step_time,
                 100.0 * mean_bubble, costs);
    else
        snprintf(sub, sizeof sub, "step %.3f ms, mean bubble %.1f%%; %s", r->step_time * 1e3,
                 100.0 * mean_bubble, costs);
    pg_timeline t = {.title = title, .subtitle = sub, .nrows = s->pp, .spans = spans,
                     .nspans = n, .show_stage = s->nstages > s->pp};
    if (unit) t.axis = "units";
    rc = pg_timeline_svg_file(&t, path);
    free(spans);
    if (!rc) printf("timeline written to %s\n", path);
    return rc;
}

/* The step end: the optimizer on the rank with the most of it, then the
 * gradient-norm and loss reductions (one message latency each). */
static double step_end(const pg_schedule *s, const pg_stage_costs *sc, double latency)
{
    double most = 0.0;
    for (int r = 0; r < s->pp; r++) {
        double t = 0.0;
        for (int st = 0; st < s->nstages; st++)
            if (s->stage_rank[st] == r) t += sc->optim[st];
        if (t > most) most = t;
    }
    return most + 2.0 * latency;
}

/* The model-based prediction: layer costs -> partition -> stage costs -> simulate. */
static int predict_model(const opts *o, const pg_config *cfg, const pg_schedule *s,
                         pg_sim_result *sim)
{
    pg_model *m = NULL;
    pg_layer_costs lc = {0};
    pg_stage_costs sc = {0};
    int S = s->nstages, *first = NULL, *uni = NULL;
    double *cost = NULL, *mult = NULL;
    int rc = pg_model_create(&m, cfg);
    if (rc) return rc;
    int dp = cfg->parallel.dp > 0 ? cfg->parallel.dp : 1;
    int b = cfg->train.batch_size / (dp * s->nmb);
    if (b < 1) b = 1;
    pg_shape shape = {b, m->T};
    const char *note = NULL;
    if (o->profile) {
        /* every rank of the grid on this machine computes at once */
        int ranks = s->pp * dp;
        int threads = pg_cli_blas_threads(cfg, ranks);
        printf("\nprofiling: %d profiler%s at once (pp x dp ranks on this machine), %d BLAS "
               "thread%s each\n",
               ranks, ranks > 1 ? "s" : "", threads, threads > 1 ? "s" : "");
        const pg_ops *ops = pg_ops_select(PG_DEVICE_CPU, &note);
        rc = ops ? pg_costs_profile(m, ops, shape, 3, ranks, &lc) : PG_EINVAL;
    } else {
        rc = pg_costs_estimate(m, shape, &lc);
    }
    first = malloc(sizeof(int) * (size_t)(S + 1));
    uni = malloc(sizeof(int) * (size_t)(S + 1));
    cost = malloc(sizeof(double) * (size_t)m->nlayers);
    mult = malloc(sizeof(double) * (size_t)S);
    if (!rc && (!first || !uni || !cost || !mult)) rc = pg_error(PG_ENOMEM, "out of memory");
    const char *spec = o->partition ? o->partition : cfg->parallel.partition;
    int autosplit = !strcmp(spec, "auto");
    if (!rc) rc = pg_partition(m, S, autosplit ? "uniform" : spec, shape, autosplit ? uni : first);
    if (!rc && autosplit) {
        /* microbatches each stage holds at once, from the schedule itself */
        pg_sim_result u;
        if (!(rc = pg_simulate_uniform(s, 1, 1, 1, &u))) {
            for (int st = 0; st < S; st++) mult[st] = u.peak_inflight[s->stage_rank[st]];
            pg_sim_result_free(&u);
        }
        for (int l = 0; l < m->nlayers; l++) cost[l] = lc.f[l] + lc.i[l] + lc.w[l];
        double cap = o->cap > 0 ? o->cap / (S / s->pp) : DBL_MAX;
        if (!rc)
            rc = pg_partition_capped(m, S, cost, lc.param_bytes, lc.act_bytes, mult, cap, first);
        if (!rc && (rc = pg_stage_costs_sum(&lc, S, uni, &sc)) == 0) {
            pg_sim_costs c = {sc.f, sc.i, sc.w, sc.bytes, sc.act_bytes, o->latency, o->bandwidth,
                              step_end(s, &sc, o->latency), NULL};
            pg_sim_result ur;
            if (!(rc = pg_simulate(s, &c, &ur))) {
                printf("\nuniform split: ");
                for (int st = 0; st < S; st++)
                    printf("%s%d", st ? "," : "", uni[st + 1] - uni[st] - (st == S - 1));
                printf("  predicted step %.3f ms\n", ur.step_time * 1e3);
                pg_sim_result_free(&ur);
            }
            pg_stage_costs_free(&sc);
        }
        if (!rc) {
            printf("auto split:    ");
            for (int st = 0; st < S; st++)
                printf("%s%d", st ? "," : "", first[st + 1] - first[st] - (st == S - 1));
            printf("  (use as parallel.partition)\n");
        }
    }
    if (!rc) rc = pg_stage_costs_sum(&lc, S, first, &sc);
    if (!rc) {
        printf("\n%s costs (microbatch of %d samples):\n", o->profile ? "profiled" : "estimated",
               b);
        printf("  %-6s %-10s %9s %9s %9s %11s %11s\n", "stage", "layers", "F ms", "I ms",
               "W ms", "params MB", "act MB/mb");
        for (int st = 0; st < S; st++)
            printf("  %-6d %3d-%-6d %9.3f %9.3f %9.3f %11.3f %11.3f\n", st, first[st],
                   first[st + 1] - 1, sc.f[st] * 1e3, sc.i[st] * 1e3, sc.w[st] * 1e3,
                   sc.param_bytes[st] / 1e6, sc.act_bytes[st] / 1e6);
        double end = step_end(s, &sc, o->latency);
        printf("  step end (optimizer on the fullest rank, norm and loss reductions): %.3f ms\n",
               end * 1e3);
        pg_sim_costs c = {sc.f, sc.i, sc.w, sc.bytes, sc.act_bytes, o->latency, o->bandwidth, end,
                          NULL};
        rc = pg_simulate(s, &c, sim);
    }
    pg_stage_costs_free(&sc);
    pg_costs_free(&lc);
    pg_model_free(m);
    free(first);
    free(uni);
    free(cost);
    free(mult);
    return rc;
}

int pg_cmd_schedule(int argc, char **argv)
{
    opts o = {0};
    pg_config cfg;
    int rc = parse(argc, argv, &o);
    if (rc == 1) {
        help(stdout);
        return PG_EXIT_OK;
    }
    if (!rc) rc = pg_config_init(&cfg);
    if (!rc) rc = pg_opts_config(&o.o, &cfg);
    if (rc) {
        pg_cli_error(pg_errmsg());
        return PG_EXIT_USAGE;
    }
    /* without a model, a schedule of its own: pp 4, 8 microbatches, 1f1b */
    int pp = o.model || pg_opts_gave(&o.o, "parallel.pp") ? cfg.parallel.pp : 4;
    int nmb = o.model || pg_opts_gave(&o.o, "train.microbatches") ? cfg.train.microbatches : 8;
    int v = cfg.parallel.chunks;
    const char *name = cfg.parallel.schedule;
    const char *file = o.file ? o.file
                       : (o.model && !strcmp(name, "file")) ? cfg.parallel.schedule_file : NULL;
    int given_nmb = o.model || pg_opts_gave(&o.o, "train.microbatches");
    pg_schedule *s = NULL;
    rc = file ? pg_schedule_load(&s, file, given_nmb ? nmb : 0) : pg_schedule_build(&s, name, pp, v, nmb);
    if (rc) {
        pg_cli_error(pg_errmsg());
        return PG_EXIT_FAIL;
    }
    printf("schedule %s: pp=%d, %d stages, %d microbatches (valid, no deadlock)\n\n", s->name,
           s->pp, s->nstages, s->nmb);
    pg_schedule_print_lists(s, stdout, o.all);
    pg_sim_result sim;
    char costs[160];
    if (o.model && !o.fixed) {
        rc = predict_model(&o, &cfg, s, &sim);
        snprintf(costs, sizeof costs, "%s layer costs", o.profile ? "profiled" : "estimated");
    } else if (o.unit) {
        /* a model chunk of v per rank costs 1/v of a whole-rank stage */
        double u = (double)s->pp / s->nstages;
        rc = pg_simulate_uniform(s, u, u, u, &sim);
        if (s->nstages > s->pp)
            snprintf(costs, sizeof costs, "unit costs per rank's model slice F = I = W = 1 "
                                          "(1/%d per chunk)", s->nstages / s->pp);
        else
            snprintf(costs, sizeof costs, "unit costs F = I = W = 1");
    } else {
        double *v3 = malloc(sizeof(double) * 3 * (size_t)s->nstages);
        if (!v3) rc = pg_error(PG_ENOMEM, "out of memory");
        for (int k = 0; k < s->nstages && v3; k++) {
            v3[k] = o.fiw[0];
            v3[s->nstages + k] = o.fiw[1];
            v3[2 * s->nstages + k] = o.fiw[2];
        }
        pg_sim_costs c = {.f = v3, .i = v3 ? v3 + s->nstages : NULL,
                          .w = v3 ? v3 + 2 * s->nstages : NULL, .latency = o.latency};
        if (v3) rc = pg_simulate(s, &c, &sim);
        free(v3);
        snprintf(costs, sizeof costs, "F %g, I %g, W %g ms per stage", o.fiw[0] * 1e3,
                 o.fiw[1] * 1e3, o.fiw[2] * 1e3);
    }
    if (rc) {
        pg_cli_error(pg_errmsg());
        pg_schedule_free(s);
        return PG_EXIT_FAIL;
    }
    int unit = o.unit && !o.model;
    if (unit) {
        printf("\naction grid (%s, B = I + W; '..' = idle):\n", costs);
        pg_sim_print_grid(s, &sim, (double)s->pp / s->nstages, stdout);
    }
    double mean = report(s, &sim, unit, o.model && !o.fixed);
    if (o.svg) rc = draw(s, &sim, mean, unit, costs, o.svg);
    pg_sim_result_free(&sim);
    pg_schedule_free(s);
    if (rc) {
        pg_cli_error(pg_errmsg());
        return PG_EXIT_FAIL;
    }
    return PG_EXIT_OK;
}
