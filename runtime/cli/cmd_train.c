/* train.c: `pipegrid train`. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "io/checkpoint/checkpoint.h"
#include "io/checkpoint/weights.h"
#include "runtime/base/error.h"
#include "runtime/cli/cli.h"
#include "runtime/cli/options.h"
#include "runtime/cli/progress.h"
#include "runtime/engine/metrics.h"
#include "runtime/engine/run.h"
#include "runtime/guard/fault.h"
#include "runtime/guard/halt.h"
#include "runtime/guard/watchdog.h"
#include "runtime/model/layers/layer.h"
#include "runtime/observe/trace.h"
#include "topology/placement.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <mpi.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void help(FILE *f)
{
    fputs("usage: mpiexec -n N pipegrid train [options]\n"
          "\n"
          "Train a model on N MPI ranks arranged as pp pipeline stages x dp data-parallel\n"
          "replicas. Without --config it trains the built-in job: a small GPT (4 blocks,\n"
          "width 64) on byte-level text from /usr/share/common-licenses (docs/gpt.md).\n"
          "\n"
          "options:\n"
          "  -c, --config FILE       INI file with [model] [data] [train] [optim] [parallel]\n"
          "                          [runtime] sections (see docs/config.md)\n"
          "      --pp P              pipeline stages                     (parallel.pp)\n"
          "      --dp D              data-parallel replicas; default N/P (parallel.dp)\n"
          "  -m, --microbatches M    microbatches per replica per step   (train.microbatches)\n"
          "      --schedule NAME     gpipe | 1f1b | interleaved | zbh1 | zbv | file\n"
          "                                                              (parallel.schedule)\n"
          "      --order ORDER       auto | replica-major | stage-major  (parallel.order)\n"
          "      --steps N           optimizer steps                     (train.steps)\n"
          "      --seed S            seed of the initial weights         (train.seed)\n"
          "      --device DEV        auto | cpu | cuda                   (runtime.device)\n"
          "      --precision P       fp32 | tf32 | bf16 (CUDA matmuls)   (runtime.precision)\n"
          "      --set SEC.KEY=VAL   override any config key (repeatable)\n"
          "      --resume SPEC       continue from a checkpoint, on any grid: latest (the\n"
          "                          one checkpoint.dir/latest names; if it does not load,\n"
          "                          the older step files, newest first, each skip named),\n"
          "                          auto (as latest; start fresh when the directory holds\n"
          "                          no checkpoint), a directory (as latest), or a file\n"
          "      --init-from DIR     start from a Hugging Face GPT-2 directory (config.json,\n"
          "                          model.safetensors): its config sets the model keys\n"
          "                          (model.ctx may be set smaller), its weights the\n"
          "                          initial ones; skipped when --resume finds a checkpoint\n"
          "      --print-config      print the effective configuration and exit\n"
          "      --show-placement    print each rank's node, grid cell, GPU, cores, NUMA\n"
          "                          node and NIC, and the predicted communication time\n"
          "                          of each rank order (as pipegrid topo does)\n"
          "      --trace DIR         write a per-rank timeline: DIR/rank<R>.json and the\n"
          "                          merged DIR/trace.json (Chrome trace events; open in\n"
          "                          ui.perfetto.dev; summarize with pipegrid trace)\n"
          "      --trace-steps A-B   trace only steps A to B (default: every step; a\n"
          "                          traced step keeps 32 bytes x 6-10 per microbatch)\n"
          "      --metrics FILE      append one JSON line per step to FILE (rank 0): loss,\n"
          "                          samples/s, tokens/s, MFU, bubble, exposed allreduce,\n"
          "                          peak memory per rank (docs/observability.md)\n"
          "      --progress MODE     auto | bar | lines: a progress bar with ETA on rank 0\n"
          "                          (auto: when stdout is a terminal), else log lines\n"
          "  -h, --help              this text\n"
          "\n"
          "Each step logs: step, mean loss over the global batch, learning rate, gradient\n"
          "norm (before clipping), samples/s, step time, bubble (share of the step the\n"
          "ranks spent waiting on pipeline neighbours: blocked receives plus waiting for\n"
          "the slowest rank at the step end, mean over ranks) and the time left.\n"
          "\n"
          "examples:\n"
          "  mpiexec -n 4 pipegrid train --pp 2 --dp 2\n"
          "  mpiexec -n 8 pipegrid train --pp 4 --schedule gpipe -m 8 --steps 50\n"
          "  mpiexec -n 2 pipegrid train -c examples/mlp.ini --set optim.lr=3e-4\n"
          "  mpiexec -n 4 pipegrid train --pp 4 --set model.depth=8 --set model.width=128\n"
          "  pipegrid prep book.txt -o book.h5 && pipegrid train --set data.path=book.h5\n"
          "  pipegrid train --print-config > my.ini     # start a config from the defaults\n"
          "  mpiexec -n 2 pipegrid train --show-placement --set placement.bind=cores\n"
          "  mpiexec -n 4 pipegrid train --set checkpoint.every=50     # save every 50 steps\n"
          "  mpiexec -n 8 pipegrid train --pp 4 --resume latest          # on another grid\n"
          "\n"
          "layer kinds for model.layers (N*KIND:ARGS repeats a layer N times):\n",
          f);
    pg_layer_kinds_print(f);
    fputs("\nconfiguration keys:\n", f);
    pg_config_print_keys(f);
}

typedef struct train_args {
    pg_opts o;          /* the config file and the key options, in order */
    const char *resume; /* --resume SPEC, or NULL */
    const char *init_from; /* --init-from DIR (Hugging Face GPT-2), or NULL */
    const char *trace;  /* --trace DIR, or NULL */
    int trace_from, trace_to; /* --trace-steps A-B; 1-INT_MAX by default */
    const char *metrics; /* --metrics FILE, or NULL */
    const char *progress; /* --progress MODE */
    int print_config, show_placement;
} train_args;

enum { O_HELP = 1, O_PRINT, O_SHOW, O_RESUME, O_INIT, O_TRACE, O_TRACE_STEPS, O_METRICS, O_PROGRESS };
static const pg_opt train_opts[] = {
    PG_OPTS_CONFIG,
    PG_OPTS_GRID,
    {"steps", 0, 1, "train.steps", 0},
    {"seed", 0, 1, "train.seed", 0},
    {"precision", 0, 1, "runtime.precision", 0},
    {"print-config", 0, 0, NULL, O_PRINT},
    {"show-placement", 0, 0, NULL, O_SHOW},
    {"resume", 0, 1, NULL, O_RESUME},
    {"init-from", 0, 1, NULL, O_INIT},
    {"trace", 0, 1, NULL, O_TRACE},
    {"trace-steps", 0, 1, NULL, O_TRACE_STEPS},
    {"metrics", 0, 1, NULL, O_METRICS},
    {"progress", 0, 1, NULL, O_PROGRESS},
    {"help", 'h', 0, NULL, O_HELP},
    PG_OPTS_END,
};

/* Parse the command line. Returns 1 for help, 0 ok, or a (negative) pg_err. */
static int parse(int argc, char **argv, train_args *a)
{
    memset(a, 0, sizeof *a);
    a->progress = "auto";
    a->trace_from = 1;
    a->trace_to = INT_MAX;
    pg_opts_init(&a->o, "train", train_opts, argc, argv);
    const char *v;
    int id;
    while ((id = pg_opts_next(&a->o, &v)) > 0) {
        switch (id) {
        case O_HELP: return 1;
        case O_PRINT: a->print_config = 1; break;
        case O_SHOW: a->show_placement = 1; break;
        case O_RESUME: a->resume = v; break;
        case O_INIT: a->init_from = v; break;
        case O_TRACE: a->trace = v; break;
        case O_TRACE_STEPS: {
            int n = 0;
            if (sscanf(v, "%d-%d%n", &a->trace_from, &a->trace_to, &n) != 2 || v[n] ||
                a->trace_from < 1 || a->trace_to < a->trace_from)
                return pg_error(PG_EINVAL, "--trace-steps: expected A-B with 1 <= A <= B, got '%s'",
                                v);
            break;
        }
        case O_METRICS: a->metrics = v; break;
        case O_PROGRESS: a->progress = v; break;
        }
    }
    if (id < 0) return id;
    if (a->o.rest < argc)
        return pg_error(PG_EINVAL, "unexpected argument '%s' (see pipegrid train --help)",
                        argv[a->o.rest]);
    return 0;
}

/* Defaults, then the model of --init-from's config.json, then the file and
 * the command line in order. */
static int configure(pg_config *cfg, const train_args *a)
{
    int rc = pg_config_init(cfg);
    if (!rc && a->init_from) rc = pg_hf_config_apply(a->init_from, cfg);
    if (!rc) rc = pg_opts_config(&a->o, cfg);
    return rc;
}

/* BLAS threads: the configured count, the cores placement bound this rank
 * to, or this node's cores shared among the ranks on it. */
static int blas_threads(const pg_run *r)
{
    if (r->cfg.runtime.threads > 0) return r->cfg.runtime.threads;
    cpu_set_t set;
    int cores = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set)
                                                            : (int)sysconf(_SC_NPROCESSORS_ONLN);
    int t = pg_placement_bound() ? cores : cores / r->grid->local_size;
    return t > 0 ? t : 1;
}

/* An error on this rank alone: one line (unless the watchdog is already
 * ending the job), then end every rank. */
static void fatal(const pg_run *r)
{
    const pg_grid *g = r->grid;
    if (pg_watchdog_claim()) {
        fprintf(stderr, "pipegrid: error: rank %d (stage %d, replica %d): %s\n", g->rank,
                g->stage, g->replica, pg_errmsg());
        fflush(stderr);
    }
    MPI_Abort(MPI_COMM_WORLD, PG_EXIT_FAIL);
}

/* The end of every path after MPI_Init. */
static int finish(int status)
{
    pg_watchdog_stop();
    MPI_Finalize();
    return status;
}

/* --init-from DIR: every rank reads the Hugging Face weights and keeps those
 * of its stages (collective; agreed result). */
static int init_from(pg_run *r, const char *dir, int *reporter)
{
    pg_weights w;
    int rc = pg_weights_from_hf(&w, dir, &r->cfg);
    if (!rc) {
        for (int i = 0; i < pg_engine_nstages(r->engine); i++)
            pg_weights_to_stage(&w, pg_engine_stage(r->engine, i));
        pg_weights_free(&w);
    }
    if ((rc = pg_agree(r->grid->world, rc, reporter))) return rc;
    if (r->grid->rank == 0) printf("initialised from %s (Hugging Face GPT-2)\n", dir);
    return 0;
}

/* --resume: load the best checkpoint SPEC names that loads (collective;
 * agreed result). A newer one that fails (corrupt, NaN/Inf, another model)
 * is named with its reason and the next older one tried. */
static int resume(pg_run *r, const char *spec)
{
    char **paths = NULL, *note = NULL;
    int n = 0, rank0 = r->grid->rank == 0;
    int rc = pg_ckpt_candidates(spec, r->cfg.checkpoint.dir, &paths, &n, &note);
    if (rc) {
        char why[1024];
        snprintf(why, sizeof why, "%s", pg_errmsg());
        pg_error(rc, "--resume %s: %s", spec, why);
    }
    rc = pg_agree(r->grid->world, rc, NULL);
    if (rc || n == 0) { /* auto without any checkpoint: start fresh */
        free(note);
        pg_ckpt_candidates_free(paths, n);
        return rc;
    }
    if (note && rank0) printf("resume: %s; trying the step files, newest first\n", note);
    free(note);
    char first_why[1024] = "";
    double t0 = pg_now();
    int i = 0;
    for (; i < n; i++) {
        t0 = pg_now();
        if (!(rc = pg_ckpt_load(r, paths[i]))) break;
        if (!first_why[0]) snprintf(first_why, sizeof first_why, "%s", pg_errmsg());
        if (rank0 && i + 1 < n) printf("resume: skipping %s: %s\n", paths[i], pg_errmsg());
    }
    if (rc) {
        if (n > 1)
            pg_error(rc, "--resume %s: none of %d checkpoints loads; the newest: %s", spec, n,
                     first_why);
        else pg_error(rc, "%s", first_why);
        pg_ckpt_candidates_free(paths, n);
        return rc;
    }
    double dt = pg_now() - t0;
    struct stat st;
    double mb = stat(paths[i], &st) ? 0.0 : (double)st.st_size / 1e6;
    int step = pg_engine_steps_done(r->engine);
    if (step >= r->cfg.train.steps)
        rc = pg_error(PG_EINVAL, "%s is at step %d, at or past train.steps=%d: nothing left to "
                                 "train (raise --steps)", paths[i], step, r->cfg.train.steps);
    else if (rank0)
        printf("resumed from %s at step %d (%.1f MB in %.3f s, %.0f MB/s)\n", paths[i], step, mb,
               dt, mb / (dt > 0 ? dt : 1e-9));
    pg_ckpt_candidates_free(paths, n);
    return rc;
}

/* A failed save (agreed: every rank holds the message): one line, then
 * checkpoint.on_error decides. Returns 1 to stop. */
static int save_failed(const pg_run *r, pg_progress *p)
{
    int stop = r->cfg.checkpoint.on_error != PG_CKPT_CONTINUE;
    if (r->grid->rank == 0) {
        pg_progress_clear(p);
        if (stop) {
            pg_cli_error(pg_errmsg());
        } else {
            fprintf(stderr, "pipegrid: warning: checkpoint not saved: %s; training goes on "
                            "(checkpoint.on_error=continue)\n", pg_errmsg());
            fflush(stderr);
        }
    }
    return stop;
}

/* The line of a save that was due after a step (rank 0). */
static void report_save(const pg_ckpt_saved *s, pg_progress *p)
{
    pg_progress_clear(p);
    if (s->background)
        printf("checkpoint: step %d -> %s (%.1f MB, writing in the background; step stalled "
               "%.3f s)\n", s->step, s->path, s->bytes / 1e6, s->stall);
    else
        printf("checkpoint: step %d -> %s (%.1f MB in %.3f s, %.0f MB/s)\n", s->step, s->path,
               s->bytes / 1e6, s->seconds, s->bytes / 1e6 / (s->seconds > 0 ? s->seconds : 1e-9));
    fflush(stdout);
}

/* Validation loss every train.eval_every steps and after the last one. */
static int eval_maybe(pg_run *r, int step, pg_progress *p)
{
    const pg_config *c = &r->cfg;
    int every = c->train.eval_every;
    if (every <= 0 || r->data->val_samples <= 0 || (step % every && step != c->train.steps))
        return 0;
    double loss, t0 = pg_now();
    int traced = pg_trace_pause(1); /* the validation forwards are not part of a step */
    int rc = pg_engine_eval(r->engine, c->train.eval_batches, &loss);
    if (traced) pg_trace_pause(0);
    pg_trace_span(PG_SPAN_EVAL, t0, pg_now(), -1, -1, -1);
    if (!rc && r->grid->rank == 0) {
        pg_progress_clear(p);
        char bpb[48] = "";
        if (r->data->bytes_per_token > 0) /* nats/token -> bits/byte */
            snprintf(bpb, sizeof bpb, " (%.4f bits/byte)",
                     loss / log(2.0) / r->data->bytes_per_token);
        printf("eval  %5d/%d | val loss %.6f%s | %d batches of %d samples\n", step,
               c->train.steps, loss, bpb, c->train.eval_batches, c->train.batch_size);
        fflush(stdout);
    }
    return rc;
}

/* Where a step's NaN/Inf appeared first (engine.h), in words. */
static void nonfinite_where(const pg_step_stats *s, char *buf, size_t n)
{
    switch (s->nonfinite_where) {
    case PG_NF_FORWARD: snprintf(buf, n, "the forward of stage %d", s->nonfinite_stage); break;
    case PG_NF_LOSS: snprintf(buf, n, "the loss (stage %d)", s->nonfinite_stage); break;
    case PG_NF_BACKWARD:
        snprintf(buf, n, "the backward of stage %d (gradients)", s->nonfinite_stage);
        break;
    default: snprintf(buf, n, "the gradient norm (overflow)"); break;
    }
}

static const char *skipped_note(int skipped)
{
    static char buf[64];
    snprintf(buf, sizeof buf, " (%d step%s skipped: NaN/Inf)", skipped, skipped > 1 ? "s" : "");
    return buf;
}

/* A stop was requested (runtime/guard/halt.h): every rank is here after the same
 * step, whose log line is out. `saved`: the step's periodic checkpoint was
 * just written (it is not written twice). The checkpoint is committed first;
 * the step's evaluation (when due) follows, so a kill during it loses no step. */
static int halted(pg_run *r, int step, const char *why, int saved, pg_progress *p)
{
    const pg_config *c = &r->cfg;
    double t0 = pg_now();
    pg_watchdog_phase(PG_PHASE_CHECKPOINT);
    int rc = saved ? 0 : pg_ckpt_save(r, c->checkpoint.dir);
    if (!rc) rc = pg_ckpt_finish(r);
    double dt = pg_now() - t0;
    if (rc) { /* agreed: every rank holds the message */
        if (r->grid->rank == 0) pg_cli_error(pg_errmsg());
        return PG_EXIT_FAIL;
    }
    pg_watchdog_phase(PG_PHASE_EVAL);
    if (eval_maybe(r, step, p)) fatal(r);
    if (r->grid->rank == 0) {
        char what[64];
        if (saved) snprintf(what, sizeof what, "its periodic checkpoint, not saved twice,");
        else snprintf(what, sizeof what, "checkpoint written in %.2f s", dt);
        pg_progress_clear(p);
        printf("halted: %s after step %d of %d; %s in %s; exit %d (resume with --resume "
               "latest)\n",
               why, step, c->train.steps, what, c->checkpoint.dir, PG_EXIT_HALTED);
        fflush(stdout);
    }
    return PG_EXIT_HALTED;
}

/* The steps; p: rank 0's output, m: the --metrics file or NULL; a: the
 * steps to trace. */
static int train_loop(pg_run *r, pg_progress *p, pg_metrics *m, const train_args *a)
{
    const pg_config *c = &r->cfg;
    int rank0 = r->grid->rank == 0;
    double t0 = pg_now(), last_loss = 0.0;
    int start = p->start, skipped = 0;
    for (int step = start; step < c->train.steps; step++) {
        pg_step_stats s;
        if (a->trace) pg_trace_pause(step + 1 < a->trace_from || step + 1 > a->trace_to);
        int rc = pg_engine_step(r->engine, &s);
        if (rc) fatal(r);
        if (s.nonfinite) { /* agreed: every rank is here */
            int stop = c->runtime.on_nonfinite == PG_NONFINITE_STOP;
            char where[64];
            nonfinite_where(&s, where, sizeof where);
            if (rank0) pg_progress_clear(p);
            if (rank0)
                fprintf(stop ? stderr : stdout,
                        "%sstep %d: NaN/Inf, first in %s; loss %g, gradient norm %g; %s\n",
                        stop ? "pipegrid: error: " : "", s.step, where, s.loss, s.grad_norm,
                        stop ? "stopping (runtime.on_nonfinite=stop)"
                             : "optimizer step skipped on every rank, weights unchanged "
                               "(runtime.on_nonfinite=skip)");
            if (stop) return PG_EXIT_FAIL;
            skipped++;
        } else {
            last_loss = s.loss;
        }
        if (m && pg_metrics_step(m, &s)) fatal(r);
        double tc = pg_now();
        pg_watchdog_phase(PG_PHASE_CHECKPOINT);
        pg_ckpt_saved saved;
        rc = pg_ckpt_maybe_save(r, &saved);
        int every = c->checkpoint.every;
        if (every > 0 && (s.step % every == 0 || s.step == c->train.steps))
            pg_trace_span(PG_SPAN_CHECKPOINT, tc, pg_now(), -1, -1, -1);
        char failed[1024]; /* errors are agreed: every rank is here */
        snprintf(failed, sizeof failed, "%s", pg_errmsg());
        if (saved.earlier_rc) { /* the previous background save failed */
            pg_error(saved.earlier_rc, "%s", saved.earlier);
            if (save_failed(r, p)) return PG_EXIT_FAIL;
        }
        if (rc && pg_error(rc, "%s", failed) && save_failed(r, p)) return PG_EXIT_FAIL;
        if (!rc && saved.saved && rank0) report_save(&saved, p);
        int last = s.step == c->train.steps;
        char why[1100];
        pg_watchdog_phase(PG_PHASE_HALT);
        int halt = pg_halt_agree(r->grid->world, c->runtime.watchdog_s, why, sizeof why);
        if (halt < 0) fatal(r);
        halt = halt && !last; /* the last step ends the run anyway */
        if (rank0)
            pg_progress_step(p, &s,
                             halt || s.step % c->train.log_every == 0 || last || s.step == start + 1);
        if (halt) return halted(r, s.step, why, !rc && saved.saved, p);
        pg_watchdog_phase(PG_PHASE_EVAL);
        if ((rc = eval_maybe(r, s.step, p))) fatal(r);
    }
    pg_watchdog_phase(PG_PHASE_CHECKPOINT);
    if (pg_ckpt_finish(r) && save_failed(r, p)) return PG_EXIT_FAIL;
    if (rank0)
        printf("done: %d steps in %.1f s, final loss %.6f%s\n", c->train.steps - start,
               pg_now() - t0, last_loss, skipped ? skipped_note(skipped) : "");
    return PG_EXIT_OK;
}

int pg_cmd_train(int argc, char **argv)
{
    int threading; /* MULTIPLE: asynchronous checkpoints write from a thread */
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &threading);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    pg_halt_install(NULL, NULL); /* a stop requested during set-up waits for step 1 */
    train_args a;
    pg_config cfg;
    int usage = 0, rc = parse(argc, argv, &a);
    if (rc == 1) {
        if (rank == 0) help(stdout);
        MPI_Finalize();
        return PG_EXIT_OK;
    }
    usage = rc != 0;
    if (!rc) rc = configure(&cfg, &a);
    if (!rc) rc = pg_halt_install(cfg.runtime.halt_file, cfg.runtime.halt_signal);
    if (!rc) rc = pg_fault_init(rank);
    int reporter;
    if ((rc = pg_agree(MPI_COMM_WORLD, rc, &reporter))) {
        if (reporter) pg_cli_error(pg_errmsg());
        MPI_Finalize();
        return usage ? PG_EXIT_USAGE : PG_EXIT_FAIL;
    }
    if (a.print_config) {
        if (rank == 0) pg_config_dump(&cfg, stdout);
        MPI_Finalize();
        return PG_EXIT_OK;
    }
    /* from here on a stuck rank ends the job (runtime/guard/watchdog.h) */
    if ((rc = pg_agree(MPI_COMM_WORLD, pg_watchdog_start(cfg.runtime.watchdog_s, rank),
                       &reporter))) {
        if (reporter) pg_cli_error(pg_errmsg());
        return finish(PG_EXIT_FAIL);
    }
    pg_run *r;
    if ((rc = pg_run_create(&r, &cfg, MPI_COMM_WORLD, &reporter))) {
        if (reporter) pg_cli_error(pg_errmsg());
        return finish(PG_EXIT_FAIL);
    }
    pg_watchdog_coords(r->grid->stage, r->grid->replica);
    /* a checkpoint directory that cannot be written is found now, not at the first save */
    if (cfg.checkpoint.every > 0 &&
        (rc = pg_agree(MPI_COMM_WORLD, rank == 0 ? pg_ckpt_check_dir(cfg.checkpoint.dir) : 0, NULL))) {
        if (rank == 0) pg_cli_error(pg_errmsg());
        pg_run_free(r);
        return finish(PG_EXIT_FAIL);
    }
    if (a.resume && (rc = resume(r, a.resume))) {
        if (rank == 0) pg_cli_error(pg_errmsg());
        pg_run_free(r);
        return finish(PG_EXIT_FAIL);
    }
    /* a resumed run continues its checkpoint; --init-from starts a fresh one */
    if (a.init_from && pg_engine_steps_done(r->engine) == 0 && (rc = init_from(r, a.init_from, &reporter))) {
        if (reporter) pg_cli_error(pg_errmsg());
        pg_run_free(r);
        return finish(PG_EXIT_FAIL);
    }
    openblas_set_num_threads(blas_threads(r));
    if (rank == 0) {
        pg_run_describe(r, stdout);
        if (a.show_placement && r->plan) pg_plan_print(r->plan, stdout);
        else if (a.show_placement)
            printf("placement: off (parallel.order=%s, placement.bind=none)\n",
                   pg_order_names[cfg.parallel.order]);
        printf("threads: %d BLAS thread(s) per rank\n", blas_threads(r));
        fflush(stdout);
    }
    pg_progress prog;
    pg_metrics *metrics = NULL;
    rc = pg_progress_init(&prog, stdout, a.progress, pg_engine_steps_done(r->engine),
                          cfg.train.steps);
    if (!rc && a.metrics) rc = pg_metrics_open(&metrics, a.metrics, r, &reporter);
    else reporter = rank == 0;
    if (rc) {
        if (reporter) pg_cli_error(pg_errmsg());
        pg_run_free(r);
        return finish(PG_EXIT_FAIL);
    }
    if (a.trace && pg_trace_start(MPI_COMM_WORLD, r->grid->stage, r->grid->replica)) fatal(r);
    int status = train_loop(r, &prog, metrics, &a);
    pg_watchdog_phase(PG_PHASE_FINISH);
    pg_metrics_close(metrics);
    if (a.trace) {
        if ((rc = pg_trace_write(a.trace, &reporter))) {
            if (reporter) pg_cli_error(pg_errmsg());
            status = PG_EXIT_FAIL;
        } else if (rank == 0) {
            printf("trace: %s/trace.json (all ranks) and %s/rank<R>.json\n", a.trace, a.trace);
        }
    }
    pg_run_free(r);
    return finish(status);
}
