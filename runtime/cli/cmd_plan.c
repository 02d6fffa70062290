/* cmd_plan.c: `pipegrid plan`, the grid, schedule, microbatches, partition
 * and rank order for a model on a cluster, ranked by predicted step time
 * (runtime/planner/planner.h). */
#include "runtime/base/error.h"
#include "runtime/cli/cli.h"
#include "runtime/cli/options.h"
#include "runtime/compute/ops.h"
#include "runtime/config/config.h"
#include "runtime/planner/planner.h"
#include "topology/discover.h"
#include "topology/nvlink.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void help(FILE *f)
{
    fputs("usage: pipegrid plan [options]\n"
          "\n"
          "Choose how to train a model on a cluster without running it: every pp x dp\n"
          "grid of the ranks, microbatch count, schedule (gpipe, 1f1b, interleaved with\n"
          "2 chunks, zbh1, zbv), partition (uniform or cost-balanced) and rank order is\n"
          "predicted with the schedule simulator and the placement cost model; those\n"
          "that do not fit in a device's memory are dropped, and the best few are\n"
          "printed with why each ranks where it does, the config and the command\n"
          "lines that run the best. Needs no MPI. docs/plan.md has the model.\n"
          "\n"
          "options:\n"
          "  -c, --config FILE        the model and global batch (train.batch_size)\n"
          "      --set SEC.KEY=VAL    override a config key (repeatable)\n"
          "      --xml FILE           a node's hwloc topology (as `pipegrid topo`);\n"
          "                           default: this machine\n"
          "  -N, --nodes N            nodes (default 1)\n"
          "  -R, --gpus-per-node R    ranks per node (default: the node's GPUs on a GPU\n"
          "                           run, its cores on a CPU run)\n"
          "      --device DEV         auto (GPUs when the topology has them) | cuda | cpu\n"
          "      --oversubscribe      allow more ranks per node than cores\n"
          "  -b, --batch B            global batch in samples (train.batch_size)\n"
          "      --mem GB             memory per device; plans above it are dropped\n"
          "                           (default: no limit)\n"
          "      --net-gbs GBS        one NIC's bandwidth between nodes (placement.net_gbs)\n"
          "      --tflops T           sustained TFLOP/s of a device for estimated layer\n"
          "                           costs (default: the partitioner's nominal 0.01)\n"
          "      --costs MODE         estimate (FLOPs; emulated layers' times) | profile\n"
          "                           (every layer timed here on the CPU, per microbatch size)\n"
          "      --mem-gbs GBS        memory bandwidth of the optimizer step (default 10\n"
          "                           on CPU runs, 2000 on GPU runs)\n"
          "      --latency US         per pipeline message, microseconds (default 20)\n"
          "      --step-end US        step-end reductions (norm, loss), microseconds\n"
          "                           (default 100)\n"
          "      --max-microbatches M most microbatches per replica (default 64)\n"
          "      --schedules LIST     comma-separated subset of the schedules\n"
          "  -k, --top K              plans to print (default 5; 0: every one that fits)\n"
          "      --json               print the plans as JSON\n"
          "  -h, --help               this text\n"
          "\n"
          "examples:\n"
          "  pipegrid plan -c examples/gpt.ini --xml tests/topologies/hwloc-nvidiaDGX2.xml \\\n"
          "      --nodes 128 --gpus-per-node 8 --batch 4096 --mem 32 --tflops 100\n"
          "  pipegrid plan -c examples/emulated.ini -N 1 -R 8 --device cpu --oversubscribe \\\n"
          "      --costs profile --json\n",
          f);
}

typedef struct plan_opts {
    pg_opts o; /* the config file and the key options, in order */
    const char *xml, *costs, *schedules;
    int nodes, rpn, oversubscribe, json, max_mb;
    long top;
    double mem, tflops, mem_gbs, latency, step_end;
} plan_opts;

enum { O_HELP = 1, O_XML, O_NODES, O_RPN, O_OVER, O_MEM, O_TFLOPS, O_COSTS, O_MEMBW, O_LAT,
       O_END, O_MAXMB, O_SCHED, O_TOP, O_JSON };
static const pg_opt plan_opt_table[] = {
    PG_OPTS_CONFIG,
    {"device", 0, 1, "runtime.device", 0},
    {"batch", 'b', 1, "train.batch_size", 0},
    {"net-gbs", 0, 1, "placement.net_gbs", 0},
    {"xml", 0, 1, NULL, O_XML},
    {"nodes", 'N', 1, NULL, O_NODES},
    {"gpus-per-node", 'R', 1, NULL, O_RPN},
    {"ranks-per-node", 0, 1, NULL, O_RPN},
    {"oversubscribe", 0, 0, NULL, O_OVER},
    {"mem", 0, 1, NULL, O_MEM},
    {"tflops", 0, 1, NULL, O_TFLOPS},
    {"costs", 0, 1, NULL, O_COSTS},
    {"mem-gbs", 0, 1, NULL, O_MEMBW},
    {"latency", 0, 1, NULL, O_LAT},
    {"step-end", 0, 1, NULL, O_END},
    {"max-microbatches", 0, 1, NULL, O_MAXMB},
    {"schedules", 0, 1, NULL, O_SCHED},
    {"top", 'k', 1, NULL, O_TOP},
    {"json", 0, 0, NULL, O_JSON},
    {"help", 'h', 0, NULL, O_HELP},
    PG_OPTS_END,
};

static int count(const char *opt, const char *v, long hi, int *out)
{
    long x;
    int rc = pg_opt_int(opt, v, 1, hi, &x);
    if (!rc) *out = (int)x;
    return rc;
}

/* Returns 1 for help, 0 ok, or a (negative) pg_err. */
static int parse(int argc, char **argv, plan_opts *o)
{
    o->costs = "estimate";
    o->top = 5;
    o->max_mb = 64;
    o->latency = 20e-6;
    o->step_end = 100e-6;
    o->nodes = 1;
    pg_opts_init(&o->o, "plan", plan_opt_table, argc, argv);
    const char *v;
    int id, rc = 0;
    while (!rc && (id = pg_opts_next(&o->o, &v)) > 0) {
        switch (id) {
        case O_HELP: return 1;
        case O_XML: o->xml = v; break;
        case O_NODES: rc = count("--nodes", v, 1 << 20, &o->nodes); break;
        case O_RPN: rc = count("--gpus-per-node", v, 4096, &o->rpn); break;
        case O_OVER: o->oversubscribe = 1; break;
        case O_MEM: rc = pg_opt_num("--mem", v, 1e-9, 1e9, &o->mem); o->mem *= 1e9; break;
        case O_TFLOPS: rc = pg_opt_num("--tflops", v, 1e-9, 1e9, &o->tflops); break;
        case O_COSTS: o->costs = v; break;
        case O_MEMBW: rc = pg_opt_num("--mem-gbs", v, 1e-6, 1e9, &o->mem_gbs); break;
        case O_LAT: rc = pg_opt_num("--latency", v, 0, 1e9, &o->latency); o->latency *= 1e-6; break;
        case O_END: rc = pg_opt_num("--step-end", v, 0, 1e9, &o->step_end); o->step_end *= 1e-6; break;
        case O_MAXMB: rc = count("--max-microbatches", v, 1 << 16, &o->max_mb); break;
        case O_SCHED: o->schedules = v; break;
        case O_TOP: rc = pg_opt_int("--top", v, 0, 1 << 30, &o->top); break;
        case O_JSON: o->json = 1; break;
        }
    }
    if (!rc && id < 0) rc = id;
    if (!rc && o->o.rest < argc)
        rc = pg_error(PG_EINVAL, "unexpected argument '%s' (see pipegrid plan --help)",
                      argv[o->o.rest]);
    if (!rc && strcmp(o->costs, "estimate") && strcmp(o->costs, "profile"))
        rc = pg_error(PG_EINVAL, "--costs: expected estimate or profile, got '%s'", o->costs);
    if (!rc && o->tflops > 0 && !strcmp(o->costs, "profile"))
        rc = pg_error(PG_EINVAL, "--tflops applies to estimated costs, not --costs profile");
    return rc;
}

/* The user's configuration options as `--set KEY=VALUE` arguments, in order. */
static size_t user_sets(const plan_opts *o, const char *quote, char *buf, size_t n)
{
    size_t k = 0;
    buf[0] = '\0';
    for (int i = 0; i < o->o.nsets && k < n; i++) {
        int raw = !strcmp(o->o.sets[i].key, PG_OPT_SET);
        k += (size_t)snprintf(buf + k, n - k, " --set %s%s%s%s%s", quote,
                              raw ? "" : o->o.sets[i].key, raw ? "" : "=", o->o.sets[i].value,
                              quote);
    }
    return k;
}

static const char *order_key(const pg_candidate *c)
{
    /* parallel.order names these two; auto finds the tiles by the same model */
    return !strcmp(c->order, "replica-major") || !strcmp(c->order, "stage-major") ? c->order
                                                                                 : "auto";
}

/* `pipegrid train` arguments that run candidate c (after the config). */
static void train_args(const plan_opts *o, const pg_candidate *c, char *buf, size_t n)
{
    size_t k = 0;
    char sets[1024];
    user_sets(o, "'", sets, sizeof sets); /* " --set 'KEY=VALUE'" each */
    if (o->o.config) k += (size_t)snprintf(buf + k, n - k, "-c %s ", o->o.config);
    if (sets[0] && k < n) k += (size_t)snprintf(buf + k, n - k, "%s ", sets + 1);
    if (k < n)
        k += (size_t)snprintf(buf + k, n - k,
                              "--pp %d --dp %d --schedule %s --microbatches %d "
                              "--set parallel.chunks=%d --set parallel.partition=%s",
                              c->pp, c->dp, c->schedule, c->nmb, c->chunks, c->partition);
    if (k < n) snprintf(buf + k, n - k, " --set parallel.order=%s", order_key(c));
}

/* The mpiexec and sbatch lines that run candidate c. */
static void commands(const plan_opts *o, const pg_candidate *c, int nodes, int rpn, int gpus,
                     char *mpi, char *sb, size_t n)
{
    char args[2048], sets[1024] = "", gpu_req[32] = "";
    train_args(o, c, args, sizeof args);
    snprintf(mpi, n, "mpiexec -n %d -ppn %d pipegrid train %s", nodes * rpn, rpn, args);
    if (gpus) snprintf(gpu_req, sizeof gpu_req, " --gpus-per-node=%d", rpn);
    user_sets(o, "", sets, sizeof sets); /* the user's overrides ride in PG_ARGS (split on spaces) */
    snprintf(sb, n,
             "%s%s%sPG_PP=%d PG_DP=%d PG_MICROBATCHES=%d PG_SCHEDULE=%s PG_ARGS='--set "
             "parallel.chunks=%d --set parallel.partition=%s --set parallel.order=%s%s' sbatch "
             "--nodes=%d --ntasks-per-node=%d%s jobs/%s-nodes.sbatch",
             o->o.config ? "PG_CONFIG=" : "", o->o.config ? o->o.config : "", o->o.config ? " " : "",
             c->pp, c->dp, c->nmb, c->schedule, c->chunks, c->partition, order_key(c), sets,
             nodes, rpn, gpu_req, gpus ? "gpu" : "cpu");
}

/* The whole config that runs candidate c, as INI text (malloc'd), or NULL. */
static char *config_text(const pg_config *cfg, const pg_candidate *c)
{
    pg_config k = *cfg;
    char set[6][320];
    snprintf(set[0], sizeof set[0], "parallel.pp=%d", c->pp);
    snprintf(set[1], sizeof set[1], "parallel.dp=%d", c->dp);
    snprintf(set[2], sizeof set[2], "parallel.schedule=%s", c->schedule);
    snprintf(set[3], sizeof set[3], "parallel.chunks=%d", c->chunks);
    snprintf(set[4], sizeof set[4], "parallel.partition=%s", c->partition);
    snprintf(set[5], sizeof set[5], "parallel.order=%s", order_key(c));
    char mb[64];
    snprintf(mb, sizeof mb, "train.microbatches=%d", c->nmb);
    for (int i = 0; i < 6; i++)
        if (pg_config_set(&k, set[i])) return NULL;
    if (pg_config_set(&k, mb)) return NULL;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return NULL;
    pg_config_dump(&k, f);
    fclose(f);
    return text;
}

static int print_json(const plan_opts *o, const pg_config *cfg, const pg_planner *p, int nodes,
                      int rpn, int gpus, int top)
{
    cJSON *root = cJSON_CreateObject(), *arr = NULL;
    if (!root) return pg_error(PG_ENOMEM, "out of memory");
    cJSON_AddNumberToObject(root, "ranks", p->ranks);
    cJSON_AddNumberToObject(root, "nodes", nodes);
    cJSON_AddNumberToObject(root, "ranks_per_node", rpn);
    cJSON_AddBoolToObject(root, "gpus", gpus);
    cJSON_AddStringToObject(root, "costs", o->costs);
    cJSON_AddNumberToObject(root, "plan_seconds", p->seconds);
    cJSON_AddNumberToObject(root, "considered", p->considered);
    cJSON_AddNumberToObject(root, "fit", p->n);
    cJSON_AddNumberToObject(root, "over_memory", p->over_mem);
    arr = cJSON_AddArrayToObject(root, "plans");
    for (int k = 0; arr && k < top; k++) {
        const pg_candidate *c = &p->c[k];
        cJSON *j = cJSON_CreateObject();
        if (!j) break;
        char buf[4096], mpi[4096], sb[4096];
        cJSON_AddNumberToObject(j, "rank", k + 1);
        cJSON_AddNumberToObject(j, "pp", c->pp);
        cJSON_AddNumberToObject(j, "dp", c->dp);
        cJSON_AddNumberToObject(j, "microbatches", c->nmb);
        cJSON_AddNumberToObject(j, "microbatch_size", c->mb_size);
        cJSON_AddStringToObject(j, "schedule", c->schedule);
        cJSON_AddNumberToObject(j, "chunks", c->chunks);
        cJSON_AddStringToObject(j, "partition", c->partition);
        cJSON_AddStringToObject(j, "order", c->order);
        cJSON_AddNumberToObject(j, "step_ms", c->step * 1e3);
        cJSON_AddNumberToObject(j, "samples_per_s", c->samples_per_s);
        cJSON_AddNumberToObject(j, "compute_ms", c->compute * 1e3);
        cJSON_AddNumberToObject(j, "bubble_ms", c->bubble * 1e3);
        cJSON_AddNumberToObject(j, "exposed_comm_ms", c->comm * 1e3);
        cJSON_AddNumberToObject(j, "step_end_ms", c->optim * 1e3);
        cJSON_AddNumberToObject(j, "mem_gb", c->mem / 1e9);
        cJSON_AddNumberToObject(j, "mem_state_gb", c->mem_params / 1e9);
        pg_planner_reason(p, k, buf, sizeof buf);
        cJSON_AddStringToObject(j, "reason", buf);
        train_args(o, c, buf, sizeof buf);
        cJSON_AddStringToObject(j, "train_args", buf);
        commands(o, c, nodes, rpn, gpus, mpi, sb, sizeof mpi);
        cJSON_AddStringToObject(j, "mpiexec", mpi);
        cJSON_AddStringToObject(j, "sbatch", sb);
        char *ini = config_text(cfg, c);
        if (!ini) {
            cJSON_Delete(j);
            cJSON_Delete(root);
            return pg_error(PG_ENOMEM, "plan: cannot write the config of plan %d", k + 1);
        }
        cJSON_AddStringToObject(j, "config", ini);
        free(ini);
        cJSON_AddItemToArray(arr, j);
    }
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text) return pg_error(PG_ENOMEM, "out of memory");
    puts(text);
    free(text);
    return 0;
}

static void print_text(const plan_opts *o, const pg_config *cfg, const pg_planner *p,
                       const pg_topo *t, int nodes, int rpn, int gpus, int top)
{
    printf("plan: %d node%s x %d %s = %d ranks (topology %s), global batch %d, %s\n", nodes,
           nodes == 1 ? "" : "s", rpn, gpus ? "GPUs" : "ranks", p->ranks, t->source,
           cfg->train.batch_size,
           !strcmp(o->costs, "profile") ? "layer costs profiled here"
           : o->tflops > 0              ? "layer costs from FLOPs at --tflops"
                                        : "layer costs from FLOPs at the nominal rate");
    printf("%d candidates simulated in %.2f s; %d fit", p->considered, p->seconds, p->n);
    if (o->mem > 0) printf(" in %.3g GB per device", o->mem / 1e9);
    if (p->over_mem) {
        const pg_candidate *f = &p->fastest_over_mem;
        printf(" (%d dropped for memory; the fastest of them, pp=%d dp=%d m=%d %s, predicted "
               "%.2f ms, needs %.3g GB)",
               p->over_mem, f->pp, f->dp, f->nmb, f->schedule, f->step * 1e3, f->mem / 1e9);
    }
    printf("\n\n%-3s %4s %5s %4s %4s %-12s %-14s %-18s %9s %10s %7s %8s %8s\n", "#", "pp", "dp",
           "m", "mb", "schedule", "partition", "order", "step ms", "samples/s", "bubble",
           "comm ms", "mem GB");
    for (int k = 0; k < top; k++) {
        const pg_candidate *c = &p->c[k];
        char part[15];
        snprintf(part, sizeof part, "%.14s", c->partition);
        if (strlen(c->partition) > 14) memcpy(part + 11, "...", 4);
        printf("%-3d %4d %5d %4d %4d %-12s %-14s %-18s %9.3f %10.1f %6.1f%% %8.3f %8.3f\n", k + 1,
               c->pp, c->dp, c->nmb, c->mb_size, c->schedule, part, c->order, c->step * 1e3,
               c->samples_per_s, 100.0 * c->bubble / c->step, c->comm * 1e3, c->mem / 1e9);
    }
    printf("\nwhy:\n");
    for (int k = 0; k < top; k++) {
        char why[512];
        pg_planner_reason(p, k, why, sizeof why);
        printf("  #%d %s\n", k + 1, why);
    }
    const pg_candidate *b = &p->c[0];
    printf("\nthe best plan as config (with the model's):\n"
           "[train]\nbatch_size = %d\nmicrobatches = %d\n[parallel]\npp = %d\ndp = %d\n"
           "schedule = %s\nchunks = %d\npartition = %s\norder = %s\n",
           cfg->train.batch_size, b->nmb, b->pp, b->dp, b->schedule, b->chunks, b->partition,
           order_key(b));
    if (strcmp(order_key(b), b->order))
        printf("; order auto chooses '%s' from the same cost model at run time\n", b->order);
    char mpi[4096], sb[4096];
    commands(o, b, nodes, rpn, gpus, mpi, sb, sizeof mpi);
    printf("\nrun it:\n  %s\n  %s\n", mpi, sb);
}

int pg_cmd_plan(int argc, char **argv)
{
    plan_opts *o = calloc(1, sizeof *o);
    pg_config cfg;
    pg_topo *t = NULL;
    pg_planner p = {0};
    int status = PG_EXIT_FAIL;
    if (!o) {
        pg_cli_error("out of memory");
        return PG_EXIT_FAIL;
    }
    int rc = parse(argc, argv, o);
    if (rc == 1) {
        help(stdout);
        free(o);
        return PG_EXIT_OK;
    }
    if (rc) {
        pg_cli_error(pg_errmsg());
        free(o);
        return PG_EXIT_USAGE;
    }
    int gpus;
    if (!(rc = pg_cli_topo_setup(&o->o, o->xml, &cfg, &t, &gpus)))
        rc = pg_topo_set_links(t, cfg.placement.gpu_links);
    if (rc) goto out;
    char warning[512];
    if (gpus && pg_topo_nvlink_missing(t, warning, sizeof warning))
        fprintf(stderr, "pipegrid: warning: %s\n", warning);
    int rpn = o->rpn ? o->rpn : gpus ? t->ngpus : t->ncores;
    pg_planner_args a = {.cfg = &cfg, .topo = t, .nnodes = o->nodes, .per_node = rpn,
                         .use_gpus = gpus, .oversubscribe = o->oversubscribe,
                         .cores = t->ncores, .mem = o->mem,
                         .flops = o->tflops * 1e12, .latency = o->latency,
                         .mem_gbs = o->mem_gbs > 0 ? o->mem_gbs : gpus ? 2000.0 : 10.0,
                         .step_end = o->step_end, .max_mb = o->max_mb,
                         .schedules = o->schedules};
    pg_bw_defaults(&a.bw);
    a.bw.net = cfg.placement.net_gbs;
    a.bw.cross_rail = cfg.placement.cross_rail;
    if (!strcmp(o->costs, "profile")) {
        const char *note = NULL;
        if (!(a.profile = pg_ops_select(PG_DEVICE_CPU, &note))) {
            rc = pg_error(PG_EINVAL, "--costs profile: no CPU backend");
            goto out;
        }
        pg_cli_blas_threads(&cfg, rpn);
    }
    if ((rc = pg_planner_run(&a, &p))) goto out;
    int top = o->top == 0 || o->top > p.n ? p.n : o->top;
    if (o->json) rc = print_json(o, &cfg, &p, o->nodes, rpn, gpus, top);
    else print_text(o, &cfg, &p, t, o->nodes, rpn, gpus, top);
    if (!rc) status = PG_EXIT_OK;
out:
    if (rc) pg_cli_error(pg_errmsg());
    pg_planner_free(&p);
    pg_topo_free(t);
    free(o);
    return status;
}
