/* topo.c: `pipegrid topo`, a dry run of placement on real node topologies. */
#include "runtime/base/error.h"
#include "runtime/cli/cli.h"
#include "runtime/cli/options.h"
#include "runtime/config/config.h"
#include "runtime/model/model.h"
#include "runtime/partition/partition.h"
#include "runtime/schedule/schedule.h"
#include "topology/nvlink.h"
#include "topology/plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void help(FILE *f)
{
    fputs("usage: pipegrid topo [options]\n"
          "\n"
          "Plan where the ranks of a pp x dp job would run on N nodes alike, without\n"
          "running it: each rank's node, grid cell (stage, replica), GPU (PCI bus id),\n"
          "cores, NUMA node and NIC, and the predicted communication time per step of\n"
          "each rank order, with the one chosen. Reads the node's hwloc topology from\n"
          "an XML file (lstopo --of xml, or hwloc-gather-topology) or this machine.\n"
          "Ranks are numbered node by node, as mpiexec and srun place them by default.\n"
          "\n"
          "options:\n"
          "      --xml FILE           node topology (hwloc XML v1 or v2); default: this machine\n"
          "  -N, --nodes N            nodes in the job (default: enough for pp x dp)\n"
          "  -R, --ranks-per-node R   ranks per node (default: the node's GPUs on a GPU\n"
          "                           run, its cores on a CPU run)\n"
          "      --pp P               pipeline stages                      (parallel.pp)\n"
          "      --dp D               data-parallel replicas; default N*R/P (parallel.dp)\n"
          "  -c, --config FILE        the training config: its model, batch and\n"
          "                           microbatches give the bytes a step moves\n"
          "  -m, --microbatches M     microbatches per replica per step    (train.microbatches)\n"
          "      --schedule NAME      gpipe | 1f1b                         (parallel.schedule)\n"
          "      --order ORDER        auto | replica-major | stage-major   (parallel.order)\n"
          "      --device DEV         auto (GPUs when the topology has them) | cuda | cpu\n"
          "      --oversubscribe      allow more ranks per node than cores (they share)\n"
          "      --set SEC.KEY=VAL    override any config key, e.g. placement.net_gbs=25\n"
          "      --json               print the plan as JSON\n"
          "      --topology           also print the node's GPUs, NICs and their paths\n"
          "  -h, --help               this text\n"
          "\n"
          "Path classes (closest first): SWITCH (through PCIe switches only), HOSTBRIDGE\n"
          "(same PCIe host bridge), NUMA (same NUMA node), SYS (across NUMA nodes or\n"
          "sockets); NVLink bandwidth is used where the topology has it. Orders:\n"
          "replica-major puts a pipeline on consecutive ranks, stage-major a stage group;\n"
          "'tile SxB pipe|group' gives each node S stages of B replicas, with a pipeline's\n"
          "(pipe) or a stage group's (group) ranks on neighbouring GPUs. See\n"
          "docs/placement.md for the cost model.\n"
          "\n"
          "NVLink: from the topology's NVLinkBandwidth matrix (hwloc built with NVML);\n"
          "on this machine without one, read through NVML (libnvidia-ml.so.1, loaded at\n"
          "run time; one line says when it cannot be); or given with --set\n"
          "placement.gpu_links=nvlink:GBS (every GPU pair of a node, GB/s one way) or\n"
          "=file:PATH (lines 'BUSID BUSID GBS'), which replaces the others. A topology\n"
          "whose GPUs are an NVLink model (SXM: V100, A100, H100, ...) but that has no\n"
          "NVLink data draws a one-line warning naming that option.\n"
          "\n"
          "examples:\n"
          "  pipegrid topo --xml tests/topologies/hwloc-nvidiaDGX2.xml --nodes 4 --pp 4 \\\n"
          "      --dp 16 --oversubscribe -c tests/topologies/gradient_heavy.ini\n"
          "  pipegrid topo --xml tests/topologies/mpibind-coral-lassen.xml --pp 2 --dp 2 --topology\n"
          "  pipegrid topo --xml tests/topologies/mpibind-coral-lassen.xml --nodes 2 --pp 2 \\\n"
          "      --dp 4 -c tests/topologies/gradient_heavy.ini --set placement.gpu_links=nvlink:75\n"
          "  pipegrid topo --pp 2 --dp 1 --json          # this machine\n",
          f);
}

typedef struct topo_args {
    pg_opts o; /* the config file and the key options, in order */
    const char *xml;
    int nodes, rpn, oversubscribe, json, show_topology;
} topo_args;

enum { O_HELP = 1, O_XML, O_NODES, O_RPN, O_OVER, O_JSON, O_TOPO };
static const pg_opt topo_opts[] = {
    PG_OPTS_CONFIG,
    PG_OPTS_GRID,
    {"xml", 0, 1, NULL, O_XML},
    {"nodes", 'N', 1, NULL, O_NODES},
    {"ranks-per-node", 'R', 1, NULL, O_RPN},
    {"oversubscribe", 0, 0, NULL, O_OVER},
    {"json", 0, 0, NULL, O_JSON},
    {"topology", 0, 0, NULL, O_TOPO},
    {"help", 'h', 0, NULL, O_HELP},
    PG_OPTS_END,
};

static int count(const char *opt, const char *v, int *out)
{
    long n;
    int rc = pg_opt_int(opt, v, 1, 1000000, &n);
    if (!rc) *out = (int)n;
    return rc;
}

/* Returns 1 for help, 0 ok, or a (negative) pg_err. */
static int parse(int argc, char **argv, topo_args *a)
{
    memset(a, 0, sizeof *a);
    pg_opts_init(&a->o, "topo", topo_opts, argc, argv);
    const char *v;
    int id, rc = 0;
    while (!rc && (id = pg_opts_next(&a->o, &v)) > 0) {
        switch (id) {
        case O_HELP: return 1;
        case O_XML: a->xml = v; break;
        case O_NODES: rc = count("--nodes", v, &a->nodes); break;
        case O_RPN: rc = count("--ranks-per-node", v, &a->rpn); break;
        case O_OVER: a->oversubscribe = 1; break;
        case O_JSON: a->json = 1; break;
        case O_TOPO: a->show_topology = 1; break;
        }
    }
    if (!rc && id < 0) rc = id;
    if (!rc && a->o.rest < argc)
        rc = pg_error(PG_EINVAL, "unexpected argument '%s' (see pipegrid topo --help)",
                      argv[a->o.rest]);
    return rc;
}

/* Nodes and ranks per node from what was given; dp = 0 is inferred. */
static int shape(const topo_args *a, int per_node, pg_config *c, int *nodes, int *rpn)
{
    int pp = c->parallel.pp, N = a->nodes, R = a->rpn;
    if (c->parallel.dp == 0) {
        if (!N) N = 1;
        if (!R) R = per_node;
        if ((N * R) % pp)
            return pg_error(PG_EINVAL, "%d nodes x %d ranks per node cannot be split into pp=%d "
                                       "stages; give --dp",
                            N, R, pp);
        c->parallel.dp = N * R / pp;
    }
    int total = pp * c->parallel.dp;
    if (N && R) {
        if (N * R != total)
            return pg_error(PG_EINVAL,
                            "pp=%d x dp=%d = %d ranks, but %d nodes x %d ranks per node = %d",
                            pp, c->parallel.dp, total, N, R, N * R);
    } else if (N) {
        if (total % N)
            return pg_error(PG_EINVAL, "pp x dp = %d ranks do not split evenly over %d nodes",
                            total, N);
        R = total / N;
    } else if (R) {
        if (total % R)
            return pg_error(PG_EINVAL, "pp x dp = %d ranks do not fill nodes of %d ranks", total,
                            R);
        N = total / R;
    } else if (total <= per_node) {
        N = 1;
        R = total;
    } else if (total % per_node == 0) {
        N = total / per_node;
        R = per_node;
    } else {
        return pg_error(PG_EINVAL,
                        "pp x dp = %d ranks do not fill nodes of %d ranks; give --nodes or "
                        "--ranks-per-node",
                        total, per_node);
    }
    *nodes = N;
    *rpn = R;
    return 0;
}

/* The bytes a step moves, from the model the config describes. */
static int traffic(const pg_config *c, pg_traffic **out)
{
    pg_model *m = NULL;
    pg_schedule *s = NULL;
    int *first = NULL, pp = c->parallel.pp, dp = c->parallel.dp;
    int rc = pg_model_create(&m, c);
    if (!rc) rc = pg_schedule_build(&s, c->parallel.schedule, pp, 1, c->train.microbatches);
    if (!rc && !(first = malloc(sizeof(int) * (size_t)(s->nstages + 1))))
        rc = pg_error(PG_ENOMEM, "out of memory");
    int b = c->train.batch_size / (dp * c->train.microbatches);
    pg_shape mb = {b > 0 ? b : 1, m ? m->T : 1};
    if (!rc) rc = pg_partition(m, s->nstages, c->parallel.partition, mb, first);
    if (!rc) rc = pg_traffic_create(out, m, s, first, dp, mb);
    free(first);
    pg_schedule_free(s);
    pg_model_free(m);
    return rc;
}

int pg_cli_topo_setup(const pg_opts *o, const char *xml, pg_config *cfg, pg_topo **t,
                      int *use_gpus)
{
    *t = NULL;
    int rc = pg_config_init(cfg);
    if (!rc) rc = pg_opts_config(o, cfg);
    if (!rc) rc = pg_topo_load(t, xml);
    if (rc) return rc;
    pg_device_kind dev = pg_opts_gave(o, "runtime.device") ? cfg->runtime.device : PG_DEVICE_AUTO;
    *use_gpus = dev == PG_DEVICE_CUDA || (dev == PG_DEVICE_AUTO && (*t)->ngpus > 0);
    if (*use_gpus && (*t)->ngpus == 0)
        return pg_error(PG_EINVAL, "topology %s: --device cuda, but hwloc finds no NVIDIA GPU",
                        (*t)->source);
    return 0;
}

int pg_cmd_topo(int argc, char **argv)
{
    topo_args *a = calloc(1, sizeof *a);
    pg_config cfg;
    pg_topo *t = NULL;
    pg_plan *p = NULL;
    int status = PG_EXIT_FAIL;
    if (!a) {
        pg_cli_error("out of memory");
        return PG_EXIT_FAIL;
    }
    int rc = parse(argc, argv, a);
    if (rc == 1) {
        help(stdout);
        free(a);
        return PG_EXIT_OK;
    }
    if (rc) {
        pg_cli_error(pg_errmsg());
        free(a);
        return PG_EXIT_USAGE;
    }
    int use_gpus;
    if ((rc = pg_cli_topo_setup(&a->o, a->xml, &cfg, &t, &use_gpus))) goto out;
    pg_plan_args pa = {.xml = a->xml, .oversubscribe = a->oversubscribe,
                       .order = cfg.parallel.order, .bind = PG_BIND_NONE, .use_gpus = use_gpus};
    if ((rc = shape(a, use_gpus ? t->ngpus : t->ncores, &cfg, &pa.nnodes, &pa.ranks_per_node)))
        goto out;
    pa.pp = cfg.parallel.pp;
    pa.dp = cfg.parallel.dp;
    pg_bw_defaults(&pa.bw);
    pa.bw.net = cfg.placement.net_gbs;
    pa.bw.cross_rail = cfg.placement.cross_rail;
    pa.gpu_links = cfg.placement.gpu_links;
    if ((rc = traffic(&cfg, &pa.traffic)) || (rc = pg_plan_simulate(&p, &pa))) goto out;
    char warning[512];
    if (pa.use_gpus && pg_topo_nvlink_missing(p->topo, warning, sizeof warning))
        fprintf(stderr, "pipegrid: warning: %s\n", warning);
    if (a->json) {
        rc = pg_plan_print_json(p, stdout);
    } else {
        if (a->show_topology) {
            pg_topo_print(p->topo, stdout);
            putchar('\n');
        }
        pg_plan_print(p, stdout);
    }
    if (!rc) status = PG_EXIT_OK;
out:
    if (rc) pg_cli_error(pg_errmsg());
    pg_plan_free(p);
    pg_topo_free(t);
    free(a);
    return status;
}
