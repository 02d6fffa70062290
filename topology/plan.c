/* plan.c: a whole job's placement, simulated or live, and its reports. */
#include "topology/plan.h"

#include "collectives/comm.h"
#include "collectives/grid.h"
#include "runtime/base/error.h"
#include "topology/nvlink.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static void fill_row(pg_plan_row *w, const pg_plan *p, int r)
{
    const pg_topo *t = p->topo;
    const pg_node_slot *s = &p->node->slots[p->slot_of[r]];
    w->rank = r;
    w->node = p->node_of[r];
    w->slot = p->slot_of[r];
    w->stage = p->cell[r] / p->dp;
    w->replica = p->cell[r] % p->dp;
    snprintf(w->gpu, sizeof w->gpu, "%s", s->gpu >= 0 ? t->gpus[s->gpu].busid : "");
    if (hwloc_bitmap_list_snprintf(w->cpus, sizeof w->cpus, s->cpuset) >= (int)sizeof w->cpus)
        strcpy(w->cpus + sizeof w->cpus - 4, "...");
    w->ncores = s->ncores;
    w->shared = s->shared;
    hwloc_bitmap_list_snprintf(w->numa, sizeof w->numa, s->nodeset);
    if (s->nic >= 0) {
        snprintf(w->nic, sizeof w->nic, "%s", t->nics[s->nic].name);
        snprintf(w->nic_busid, sizeof w->nic_busid, "%s", t->nics[s->nic].busid);
        snprintf(w->nic_path, sizeof w->nic_path, "%s", pg_path_name(s->nic_path));
    }
}

/* Takes over a->traffic, also when it fails. */
static pg_plan *plan_new(pg_plan_args *a, int size)
{
    pg_plan *p = calloc(1, sizeof *p);
    if (!p) {
        pg_traffic_free(a->traffic);
        a->traffic = NULL;
        return NULL;
    }
    p->traffic = a->traffic;
    a->traffic = NULL;
    p->size = size;
    p->pp = a->pp;
    p->dp = a->dp;
    p->bw = a->bw;
    p->order = a->order;
    p->node_of = calloc((size_t)size, sizeof(int));
    p->slot_of = calloc((size_t)size, sizeof(int));
    p->cell = calloc((size_t)size, sizeof(int));
    if (!p->node_of || !p->slot_of || !p->cell) {
        pg_plan_free(p);
        return NULL;
    }
    return p;
}

static int choose(pg_plan *p)
{
    pg_layout L = {p->size, p->nnodes, p->node_of, p->slot_of, p->node};
    int rc = pg_order_choose(&p->orders, &L, p->traffic, &p->bw, pg_order_names[p->order]);
    if (!rc)
        memcpy(p->cell, p->orders->c[p->orders->chosen].cell, sizeof(int) * (size_t)p->size);
    return rc;
}

int pg_plan_simulate(pg_plan **out, pg_plan_args *a)
{
    *out = NULL;
    int N = a->nnodes * a->ranks_per_node, rc;
    if (a->nnodes < 1 || a->ranks_per_node < 1) {
        pg_traffic_free(a->traffic);
        a->traffic = NULL;
        return pg_error(PG_EINVAL, "plan: need at least 1 node and 1 rank per node");
    }
    if (a->pp * a->dp != N) {
        pg_traffic_free(a->traffic);
        a->traffic = NULL;
        return pg_error(PG_EINVAL,
                        "plan: pp=%d x dp=%d = %d ranks, but %d nodes x %d ranks per node = %d",
                        a->pp, a->dp, a->pp * a->dp, a->nnodes, a->ranks_per_node, N);
    }
    pg_plan *p = plan_new(a, N);
    if (!p) return pg_error(PG_ENOMEM, "plan: out of memory");
    p->nnodes = a->nnodes;
    p->ranks_per_node = a->ranks_per_node;
    if ((rc = pg_topo_load(&p->topo, a->xml)) || (rc = pg_topo_set_links(p->topo, a->gpu_links)))
        goto fail;
    p->use_gpus = a->use_gpus < 0 ? p->topo->ngpus > 0 : a->use_gpus;
    rc = pg_node_plan_create(&p->node, p->topo, a->ranks_per_node, p->use_gpus, a->oversubscribe);
    if (rc) goto fail;
    for (int r = 0; r < N; r++) {
        p->node_of[r] = r / a->ranks_per_node;
        p->slot_of[r] = r % a->ranks_per_node;
    }
    if ((rc = choose(p))) goto fail;
    if (!(p->rows = calloc((size_t)N, sizeof *p->rows))) {
        rc = pg_error(PG_ENOMEM, "plan: out of memory");
        goto fail;
    }
    for (int r = 0; r < N; r++) {
        fill_row(&p->rows[r], p, r);
        snprintf(p->rows[r].host, sizeof p->rows[r].host, "node%d", p->node_of[r]);
        snprintf(p->rows[r].bound, sizeof p->rows[r].bound, "planned");
    }
    *out = p;
    return 0;
fail:
    pg_plan_free(p);
    return rc;
}

/* Bind this rank as `bind` says; *why gets the "bound" column. */
static int bind_self(pg_plan *p, pg_bind bind, int slot, char *why, size_t n)
{
    const pg_node_slot *s = &p->node->slots[slot];
    if (bind == PG_BIND_NONE) {
        snprintf(why, n, "no (placement.bind=none)");
        return 0;
    }
    if (bind == PG_BIND_AUTO) {
        if (!p->topo->thissystem) {
            snprintf(why, n, "no (XML topology)");
            return 0;
        }
        if (s->shared) {
            snprintf(why, n, "no (more ranks than cores)");
            return 0;
        }
        hwloc_cpuset_t cur = hwloc_bitmap_alloc();
        int launcher = !pg_placement_bound() &&
                       !hwloc_get_cpubind(p->topo->hw, cur, HWLOC_CPUBIND_PROCESS) &&
                       !hwloc_bitmap_isincluded(hwloc_topology_get_allowed_cpuset(p->topo->hw), cur);
        hwloc_bitmap_free(cur);
        if (launcher) {
            snprintf(why, n, "no (launcher's binding kept)");
            return 0;
        }
    }
    const char *note = NULL;
    int rc = pg_node_plan_bind(p->node, slot, &note);
    if (!rc) snprintf(why, n, "%s", note ? "yes (cores; memory refused)" : "yes");
    return rc;
}

/* The node's first rank reads the live topology and shares it as XML with
 * the others on the node (collective over `local`). */
static int load_node_topology(pg_plan *p, int lrank, MPI_Comm local)
{
    char *xml = NULL;
    int head[2] = {0, 0}, rc = 0; /* result, XML length */
    if (lrank == 0) {
        rc = pg_topo_load(&p->topo, NULL);
        if (!rc) rc = pg_topo_export(p->topo, &xml, &head[1]);
        head[0] = rc;
    }
    MPI_Bcast(head, 2, MPI_INT, 0, local);
    if (head[0]) return lrank == 0 ? rc : pg_error(head[0], "topology: the node's first rank "
                                                            "could not read it");
    char *buf = lrank == 0 ? xml : malloc((size_t)head[1]);
    rc = pg_agree(local, buf ? 0 : pg_error(PG_ENOMEM, "topology: out of memory"), NULL);
    if (!rc) MPI_Bcast(buf, head[1], MPI_CHAR, 0, local);
    if (lrank == 0) {
        pg_topo_free_export(p->topo, xml);
        return rc;
    }
    if (!rc) rc = pg_topo_load_exported(&p->topo, buf, head[1], "this machine", 1);
    free(buf);
    return rc;
}

int pg_plan_live(pg_plan **out, pg_plan_args *a, MPI_Comm world, int *reporter)
{
    *out = NULL;
    *reporter = 0;
    int rank, size, rc = 0;
    MPI_Comm_rank(world, &rank);
    MPI_Comm_size(world, &size);
    pg_plan *p = plan_new(a, size);
    rc = p ? 0 : pg_error(PG_ENOMEM, "plan: out of memory");
    if ((rc = pg_agree(world, rc, reporter))) {
        pg_plan_free(p);
        return rc;
    }
    p->live = 1;

    /* which node each rank is on, and its slot (local rank) there */
    MPI_Comm local, leaders;
    int lrank, lsize, node = 0, me[2], sizes[2];
    MPI_Comm_split_type(world, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &local);
    MPI_Comm_rank(local, &lrank);
    MPI_Comm_size(local, &lsize);
    MPI_Comm_split(world, lrank == 0 ? 0 : MPI_UNDEFINED, rank, &leaders);
    if (lrank == 0) {
        MPI_Comm_rank(leaders, &node);
        MPI_Comm_free(&leaders);
    }
    MPI_Bcast(&node, 1, MPI_INT, 0, local);
    me[0] = node;
    me[1] = lrank;
    int *pairs = malloc(sizeof(int) * 2 * (size_t)size);
    if ((rc = pg_agree(world, pairs ? 0 : pg_error(PG_ENOMEM, "plan: out of memory"), reporter))) {
        MPI_Comm_free(&local);
        goto fail;
    }
    MPI_Allgather(me, 2, MPI_INT, pairs, 2, MPI_INT, world);
    for (int r = 0; r < size; r++) {
        p->node_of[r] = pairs[2 * r];
        p->slot_of[r] = pairs[2 * r + 1];
    }
    free(pairs);
    int mine[2] = {lsize, -lsize};
    MPI_Allreduce(mine, sizes, 2, MPI_INT, MPI_MAX, world);
    MPI_Allreduce(&node, &p->nnodes, 1, MPI_INT, MPI_MAX, world);
    p->nnodes++;
    p->ranks_per_node = lsize;
    p->use_gpus = a->use_gpus;

    rc = load_node_topology(p, lrank, local);
    MPI_Comm_free(&local);
    if (!rc) rc = pg_topo_set_links(p->topo, a->gpu_links);
    if (!rc)
        rc = pg_node_plan_create(&p->node, p->topo, lsize, p->use_gpus, a->bind != PG_BIND_CORES);
    if ((rc = pg_agree(world, rc, reporter))) goto fail;

    /* world rank 0 chooses the order for everyone */
    if (rank == 0) {
        if (sizes[0] == -sizes[1]) {
            rc = choose(p);
        } else {
            pg_grid_order_fn f = pg_grid_order_of(
                p->order == PG_ORDER_AUTO ? PG_ORDER_REPLICA_MAJOR : p->order);
            for (int r = 0; r < size && f; r++) {
                int s, d;
                f(r, p->pp, p->dp, NULL, &s, &d);
                p->cell[r] = s * p->dp + d;
            }
            if (p->order == PG_ORDER_AUTO)
                snprintf(p->note, sizeof p->note,
                         "nodes hold different numbers of ranks (%d to %d): order auto uses "
                         "replica-major",
                         -sizes[1], sizes[0]);
        }
    }
    if ((rc = pg_agree(world, rc, reporter))) goto fail;
    MPI_Bcast(p->cell, size, MPI_INT, 0, world);

    pg_plan_row row;
    memset(&row, 0, sizeof row);
    fill_row(&row, p, rank);
    char host[MPI_MAX_PROCESSOR_NAME];
    int hlen = 0;
    MPI_Get_processor_name(host, &hlen);
    snprintf(row.host, sizeof row.host, "%.63s", host);
    rc = pg_node_plan_select(p->node, lrank);
    if (!rc) rc = bind_self(p, a->bind, lrank, row.bound, sizeof row.bound);
    if ((rc = pg_agree(world, rc, reporter))) goto fail;
    if (rank == 0 && !(p->rows = calloc((size_t)size, sizeof *p->rows)))
        rc = pg_error(PG_ENOMEM, "plan: out of memory");
    if ((rc = pg_agree(world, rc, reporter))) goto fail;
    MPI_Gather(&row, (int)sizeof row, MPI_BYTE, p->rows, (int)sizeof row, MPI_BYTE, 0, world);
    *out = p;
    return 0;
fail:
    pg_plan_free(p);
    return rc;
}

void pg_plan_free(pg_plan *p)
{
    if (!p) return;
    pg_order_table_free(p->orders);
    pg_node_plan_free(p->node);
    pg_topo_free(p->topo);
    pg_traffic_free(p->traffic);
    free(p->node_of);
    free(p->slot_of);
    free(p->cell);
    free(p->rows);
    free(p);
}

/* ---- reports ---- */

static double mb(double bytes) { return bytes / 1e6; }

static void traffic_totals(const pg_plan *p, double *pipe, double *grads)
{
    *pipe = *grads = 0.0;
    if (p->orders && p->orders->n > 0) {
        const pg_order_cost *c = &p->orders->c[0];
        *pipe = c->p2p_in + c->p2p_out;
        *grads = c->ar_in + c->ar_out;
    }
}

void pg_plan_print(const pg_plan *p, FILE *f)
{
    const pg_topo *t = p->topo;
    fprintf(f, "placement: pp=%d x dp=%d = %d ranks on %d node(s) x %d, %s run, order %s\n",
            p->pp, p->dp, p->size, p->nnodes, p->ranks_per_node, p->use_gpus ? "GPU" : "CPU",
            pg_order_names[p->order]);
    fprintf(f, "node topology %s: %d package(s), %d NUMA node(s), %d %s, %d GPU(s), %d NIC(s)%s\n",
            t->source, t->npackages, t->nnuma, t->ncores,
            t->core_type == HWLOC_OBJ_CORE ? "cores" : "PUs", t->ngpus, t->nnics,
            t->nnics == 0 && p->nnodes > 1 ? " (one NIC per node assumed between nodes)" : "");
    if (p->use_gpus && t->nvlink_note[0]) fprintf(f, "gpu links: %s\n", t->nvlink_note);
    const pg_traffic *tr = p->traffic;
    double bound_bytes = 0.0, grad_bytes = 0.0;
    int bounds = 0;
    for (int i = 0; i < tr->pp * tr->pp; i++)
        if (tr->p2p[i] > 0) bound_bytes += tr->p2p[i], bounds++;
    for (int i = 0; i < tr->pp; i++) grad_bytes += tr->grad[i];
    fprintf(f, "step traffic per replica (%d microbatches): %.3g MB of activations and their "
               "gradients over %d stage boundar%s, %.3g MB of gradients allreduced over %d "
               "replica%s\n",
            tr->nmb, mb(bound_bytes), bounds, bounds == 1 ? "y" : "ies", mb(grad_bytes), tr->dp,
            tr->dp == 1 ? "" : "s");
    if (p->rows) {
        fprintf(f, "%5s %-10s %5s %7s %-12s %-18s %5s %-5s %-10s %-10s %s\n", "rank", "node",
                "stage", "replica", "gpu", "cpus", "cores", "numa", "nic", "nic path", "bound");
        for (int r = 0; r < p->size; r++) {
            const pg_plan_row *w = &p->rows[r];
            char cores[16];
            snprintf(cores, sizeof cores, "%d%s", w->ncores, w->shared ? "*" : "");
            fprintf(f, "%5d %-10s %5d %7d %-12s %-18s %5s %-5s %-10s %-10s %s\n", w->rank, w->host,
                    w->stage, w->replica, w->gpu[0] ? w->gpu : "-", w->cpus, cores, w->numa,
                    w->nic[0] ? w->nic : "-", w->nic_path[0] ? w->nic_path : "-", w->bound);
        }
        for (int r = 0; r < p->size; r++)
            if (p->rows[r].shared) {
                fputs("  (* cores shared with other ranks: more ranks than cores)\n", f);
                break;
            }
    }
    if (p->note[0]) fprintf(f, "note: %s\n", p->note);
    const pg_order_table *o = p->orders;
    if (!o) return;
    const pg_bw *b = &p->bw;
    fprintf(f, "\ncommunication per step, predicted (GB/s: NIC %.3g, other rail x%.2g, NVLink "
               "per GPU pair (gpu links), PCIe %.3g/%.3g/%.3g/%.3g by path, shared memory %.3g/%.3g):\n",
            b->net, b->cross_rail, b->pcie[0], b->pcie[1], b->pcie[2], b->pcie[3], b->shm_numa,
            b->shm_sys);
    fprintf(f, "  %-18s %12s %12s %12s %12s %10s %12s %10s\n", "order", "p2p MB in", "p2p MB out",
            "allred MB in", "allred MB out", "p2p ms", "allreduce ms", "total ms");
    for (int i = 0; i < o->n; i++) {
        const pg_order_cost *c = &o->c[i];
        fprintf(f, "%c %-18s %12.1f %12.1f %12.1f %12.1f %10.3f %12.3f %10.3f\n",
                i == o->chosen ? '*' : ' ', c->name, mb(c->p2p_in), mb(c->p2p_out), mb(c->ar_in),
                mb(c->ar_out), c->t_p2p * 1e3, c->t_ar * 1e3, c->total * 1e3);
    }
    fputs("  (in = inside nodes, out = between nodes; bytes summed over all ranks)\n", f);
    const pg_order_cost *c = &o->c[o->chosen];
    double pipe, grads;
    traffic_totals(p, &pipe, &grads);
    int next = -1;
    for (int i = 0; i < o->n; i++)
        if (i != o->chosen && (next < 0 || o->c[i].total < o->c[next].total)) next = i;
    fprintf(f, "order: %s %s, %.3f ms per step", p->order != PG_ORDER_AUTO ? "requested" : "auto chose",
            c->name, c->total * 1e3);
    if (next >= 0) fprintf(f, " (next best: %s, %.3f ms)", o->c[next].name, o->c[next].total * 1e3);
    double pct_p = pipe > 0 ? 100.0 * c->p2p_in / pipe : 100.0;
    double pct_g = grads > 0 ? 100.0 * c->ar_in / grads : 100.0;
    if (grads > pipe)
        fprintf(f, ".\n  heavier traffic: gradient allreduce, %.1f MB per step vs %.1f MB between "
                   "pipeline neighbours; %s keeps %.0f%% of the allreduce and %.0f%% of the "
                   "pipeline traffic inside nodes\n",
                mb(grads), mb(pipe), c->name, pct_g, pct_p);
    else
        fprintf(f, ".\n  heavier traffic: between pipeline neighbours, %.1f MB per step vs %.1f MB "
                   "of gradient allreduce; %s keeps %.0f%% of the pipeline and %.0f%% of the "
                   "allreduce traffic inside nodes\n",
                mb(pipe), mb(grads), c->name, pct_p, pct_g);
}

int pg_plan_print_json(const pg_plan *p, FILE *f)
{
    const pg_topo *t = p->topo;
    cJSON *root = cJSON_CreateObject();
    cJSON_AddNumberToObject(root, "pp", p->pp);
    cJSON_AddNumberToObject(root, "dp", p->dp);
    cJSON_AddNumberToObject(root, "ranks", p->size);
    cJSON_AddNumberToObject(root, "nodes", p->nnodes);
    cJSON_AddNumberToObject(root, "ranks_per_node", p->ranks_per_node);
    cJSON_AddStringToObject(root, "device", p->use_gpus ? "gpu" : "cpu");
    cJSON_AddBoolToObject(root, "dry_run", !p->live);
    cJSON_AddStringToObject(root, "order_requested", pg_order_names[p->order]);
    if (p->orders) cJSON_AddStringToObject(root, "order", p->orders->c[p->orders->chosen].name);
    if (p->note[0]) cJSON_AddStringToObject(root, "note", p->note);

    cJSON *topo = cJSON_AddObjectToObject(root, "topology");
    cJSON_AddStringToObject(topo, "source", t->source);
    cJSON_AddNumberToObject(topo, "packages", t->npackages);
    cJSON_AddNumberToObject(topo, "numa_nodes", t->nnuma);
    cJSON_AddNumberToObject(topo, "cores", t->ncores);
    cJSON_AddStringToObject(topo, "nvlink_source", t->nvlink_note);
    cJSON *gpus = cJSON_AddArrayToObject(topo, "gpus");
    for (int i = 0; i < t->ngpus; i++) {
        cJSON *g = cJSON_CreateObject();
        char numa[32];
        hwloc_bitmap_list_snprintf(numa, sizeof numa, t->gpus[i].local->nodeset);
        cJSON_AddStringToObject(g, "busid", t->gpus[i].busid);
        cJSON_AddStringToObject(g, "model", t->gpus[i].model);
        cJSON_AddNumberToObject(g, "cuda", t->gpus[i].cuda);
        cJSON_AddStringToObject(g, "numa", numa);
        cJSON *paths = cJSON_AddArrayToObject(g, "paths");
        cJSON *nvl = cJSON_AddArrayToObject(g, "nvlink_gbs");
        for (int j = 0; j < t->ngpus; j++) {
            cJSON_AddItemToArray(paths, cJSON_CreateString(
                                            i == j ? "SELF" : pg_path_name(t->gpu_path[i * t->ngpus + j])));
            cJSON_AddItemToArray(nvl, cJSON_CreateNumber(t->nvlink[i * t->ngpus + j]));
        }
        cJSON *np = cJSON_AddArrayToObject(g, "nic_paths");
        for (int j = 0; j < t->nnics; j++)
            cJSON_AddItemToArray(np, cJSON_CreateString(pg_path_name(t->nic_path[i * t->nnics + j])));
        cJSON_AddItemToArray(gpus, g);
    }
    cJSON *nics = cJSON_AddArrayToObject(topo, "nics");
    for (int i = 0; i < t->nnics; i++) {
        cJSON *n = cJSON_CreateObject();
        cJSON_AddStringToObject(n, "busid", t->nics[i].busid);
        cJSON_AddStringToObject(n, "name", t->nics[i].name);
        cJSON_AddStringToObject(n, "netdev", t->nics[i].netdev);
        cJSON_AddStringToObject(n, "kind", t->nics[i].kind == PG_NIC_RDMA ? "rdma" : "ethernet");
        cJSON_AddItemToArray(nics, n);
    }

    cJSON *ranks = cJSON_AddArrayToObject(root, "placement");
    for (int r = 0; p->rows && r < p->size; r++) {
        const pg_plan_row *w = &p->rows[r];
        cJSON *x = cJSON_CreateObject();
        cJSON_AddNumberToObject(x, "rank", w->rank);
        cJSON_AddNumberToObject(x, "node", w->node);
        cJSON_AddStringToObject(x, "host", w->host);
        cJSON_AddNumberToObject(x, "slot", w->slot);
        cJSON_AddNumberToObject(x, "stage", w->stage);
        cJSON_AddNumberToObject(x, "replica", w->replica);
        cJSON_AddStringToObject(x, "gpu", w->gpu);
        cJSON_AddStringToObject(x, "cpus", w->cpus);
        cJSON_AddNumberToObject(x, "cores", w->ncores);
        cJSON_AddBoolToObject(x, "cores_shared", w->shared);
        cJSON_AddStringToObject(x, "numa", w->numa);
        cJSON_AddStringToObject(x, "nic", w->nic);
        cJSON_AddStringToObject(x, "nic_busid", w->nic_busid);
        cJSON_AddStringToObject(x, "nic_path", w->nic_path);
        cJSON_AddStringToObject(x, "bound", w->bound);
        cJSON_AddItemToArray(ranks, x);
    }

    const pg_traffic *tr = p->traffic;
    cJSON *traffic = cJSON_AddObjectToObject(root, "traffic");
    cJSON_AddNumberToObject(traffic, "microbatches", tr->nmb);
    cJSON *pipe = cJSON_AddArrayToObject(traffic, "pipeline_bytes_per_replica");
    for (int i = 0; i < tr->pp; i++)
        for (int j = i + 1; j < tr->pp; j++)
            if (tr->p2p[i * tr->pp + j] > 0) {
                cJSON *e = cJSON_CreateObject();
                cJSON_AddNumberToObject(e, "from", i);
                cJSON_AddNumberToObject(e, "to", j);
                cJSON_AddNumberToObject(e, "bytes", tr->p2p[i * tr->pp + j]);
                cJSON_AddItemToArray(pipe, e);
            }
    cJSON *grad = cJSON_AddArrayToObject(traffic, "gradient_bytes");
    for (int i = 0; i < tr->pp; i++) cJSON_AddItemToArray(grad, cJSON_CreateNumber(tr->grad[i]));

    cJSON *bw = cJSON_AddObjectToObject(root, "bandwidth_gbs");
    cJSON_AddNumberToObject(bw, "nic", p->bw.net);
    cJSON_AddNumberToObject(bw, "cross_rail_factor", p->bw.cross_rail);
    cJSON *pcie = cJSON_AddObjectToObject(bw, "pcie");
    for (int i = 0; i < PG_NPATHS; i++) cJSON_AddNumberToObject(pcie, pg_path_name(i), p->bw.pcie[i]);
    cJSON_AddNumberToObject(bw, "shm_same_numa", p->bw.shm_numa);
    cJSON_AddNumberToObject(bw, "shm_other_numa", p->bw.shm_sys);

    cJSON *costs = cJSON_AddArrayToObject(root, "orders");
    for (int i = 0; p->orders && i < p->orders->n; i++) {
        const pg_order_cost *c = &p->orders->c[i];
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "order", c->name);
        cJSON_AddBoolToObject(x, "chosen", i == p->orders->chosen);
        cJSON_AddNumberToObject(x, "p2p_bytes_inside_nodes", c->p2p_in);
        cJSON_AddNumberToObject(x, "p2p_bytes_between_nodes", c->p2p_out);
        cJSON_AddNumberToObject(x, "allreduce_bytes_inside_nodes", c->ar_in);
        cJSON_AddNumberToObject(x, "allreduce_bytes_between_nodes", c->ar_out);
        cJSON_AddNumberToObject(x, "p2p_seconds", c->t_p2p);
        cJSON_AddNumberToObject(x, "allreduce_seconds", c->t_ar);
        cJSON_AddNumberToObject(x, "total_seconds", c->total);
        cJSON_AddItemToArray(costs, x);
    }
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text) return pg_error(PG_ENOMEM, "plan: out of memory writing JSON");
    fputs(text, f);
    fputc('\n', f);
    free(text);
    return 0;
}
