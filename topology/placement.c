/* placement.c: slots of a node (GPU, cores, memory, NIC) and binding. */
#include "topology/placement.h"

#include "runtime/base/error.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Is GPU a closer to GPU `from` than GPU b? NVLink bandwidth first, then the
 * PCI path class, bridges, bus id. */
static int closer(const pg_topo *t, int from, int a, int b)
{
    int n = t->ngpus;
    double na = t->nvlink[from * n + a], nb = t->nvlink[from * n + b];
    if (na != nb) return na > nb;
    if (t->gpu_path[from * n + a] != t->gpu_path[from * n + b])
        return t->gpu_path[from * n + a] < t->gpu_path[from * n + b];
    if (t->gpu_hops[from * n + a] != t->gpu_hops[from * n + b])
        return t->gpu_hops[from * n + a] < t->gpu_hops[from * n + b];
    return a < b;
}

/* GPUs in chain order: each next one is the closest unused to the last. */
static void gpu_chain(const pg_topo *t, int *chain)
{
    int n = t->ngpus;
    char *used = calloc((size_t)n, 1);
    for (int k = 0; k < n; k++) {
        int best = -1;
        for (int g = 0; g < n; g++) {
            if (used[g]) continue;
            if (best < 0 || (k > 0 && closer(t, chain[k - 1], g, best))) best = g;
        }
        chain[k] = best;
        used[best] = 1;
    }
    free(used);
}

static int count_cores(const pg_topo *t, hwloc_const_cpuset_t set)
{
    return hwloc_get_nbobjs_inside_cpuset_by_type(t->hw, set, t->core_type);
}

/* Where the cores of a GPU's rank come from: the GPU's locality, widened to
 * its package (then the machine) when that holds no cores. */
static hwloc_obj_t gpu_domain(const pg_topo *t, int gpu)
{
    hwloc_obj_t o = t->gpus[gpu].local;
    while (o && count_cores(t, o->cpuset) == 0) o = o->parent;
    return o ? o : hwloc_get_root_obj(t->hw);
}

/* Split the free cores of `domain` among slots idx[0..n) in that order,
 * marking them taken. */
static int split_cores(pg_node_plan *p, hwloc_const_cpuset_t domain, const char *what,
                       const int *idx, int n, hwloc_cpuset_t taken, int oversubscribe)
{
    const pg_topo *t = p->topo;
    hwloc_cpuset_t free_set = hwloc_bitmap_alloc();
    hwloc_bitmap_andnot(free_set, domain, taken);
    int c = count_cores(t, free_set);
    if (c == 0) hwloc_bitmap_copy(free_set, domain), c = count_cores(t, free_set);
    if (c < n && !oversubscribe) {
        char cpus[128];
        hwloc_bitmap_list_snprintf(cpus, sizeof cpus, domain);
        hwloc_bitmap_free(free_set);
        return pg_error(PG_EINVAL,
                        "topology %s: %d ranks share %s (cpus %s) but only %d cores are free "
                        "there; each rank needs its own core (pipegrid topo --oversubscribe, or "
                        "placement.bind=auto in training, lets them share)",
                        t->source, n, what, cpus, c);
    }
    hwloc_obj_t *cores = malloc(sizeof *cores * (size_t)c);
    if (!cores) {
        hwloc_bitmap_free(free_set);
        return pg_error(PG_ENOMEM, "placement: out of memory");
    }
    for (int i = 0; i < c; i++)
        cores[i] = hwloc_get_obj_inside_cpuset_by_type(t->hw, free_set, t->core_type, (unsigned)i);
    for (int k = 0; k < n; k++) {
        pg_node_slot *s = &p->slots[idx[k]];
        int lo = (int)((long)k * c / n), hi = (int)((long)(k + 1) * c / n);
        if (hi <= lo) hi = lo + 1; /* oversubscribed: share one core */
        s->shared = c < n;
        for (int i = lo; i < hi; i++) hwloc_bitmap_or(s->cpuset, s->cpuset, cores[i]->cpuset);
        s->ncores = hi - lo;
        hwloc_bitmap_or(taken, taken, s->cpuset);
        hwloc_cpuset_to_nodeset(t->hw, s->cpuset, s->nodeset);
    }
    free(cores);
    hwloc_bitmap_free(free_set);
    return 0;
}

static int plan_gpu_cores(pg_node_plan *p, int oversubscribe)
{
    const pg_topo *t = p->topo;
    int n = p->nslots, rc = 0;
    hwloc_obj_t *dom = malloc(sizeof *dom * (size_t)n);
    int *idx = malloc(sizeof(int) * (size_t)n);
    char *done = calloc((size_t)n, 1);
    hwloc_cpuset_t taken = hwloc_bitmap_alloc();
    if (!dom || !idx || !done || !taken) {
        rc = pg_error(PG_ENOMEM, "placement: out of memory");
        goto out;
    }
    for (int i = 0; i < n; i++) dom[i] = gpu_domain(t, p->slots[i].gpu);
    /* the most specific locality first, so nested ones do not share cores */
    for (int round = 0; round < n && !rc; round++) {
        int pick = -1;
        for (int i = 0; i < n; i++)
            if (!done[i] && (pick < 0 || hwloc_bitmap_weight(dom[i]->cpuset) <
                                             hwloc_bitmap_weight(dom[pick]->cpuset)))
                pick = i;
        if (pick < 0) break;
        int m = 0;
        for (int i = 0; i < n; i++) /* slots of this domain, by GPU bus id */
            if (!done[i] && dom[i] == dom[pick]) idx[m++] = i;
        for (int a = 1; a < m; a++)
            for (int b = a; b > 0 && p->slots[idx[b]].gpu < p->slots[idx[b - 1]].gpu; b--) {
                int tmp = idx[b];
                idx[b] = idx[b - 1];
                idx[b - 1] = tmp;
            }
        for (int k = 0; k < m; k++) done[idx[k]] = 1;
        char what[96];
        snprintf(what, sizeof what, "%s L#%u (local to their GPUs)",
                 hwloc_obj_type_string(dom[pick]->type), dom[pick]->logical_index);
        rc = split_cores(p, dom[pick]->cpuset, what, idx, m, taken, oversubscribe);
    }
out:
    free(dom);
    free(idx);
    free(done);
    hwloc_bitmap_free(taken);
    return rc;
}

static int plan_cpu_cores(pg_node_plan *p, int oversubscribe)
{
    const pg_topo *t = p->topo;
    int n = p->nslots, rc = 0;
    /* NUMA nodes that have cores */
    int total = hwloc_get_nbobjs_by_type(t->hw, HWLOC_OBJ_NUMANODE), d = 0;
    hwloc_obj_t *numa = malloc(sizeof *numa * (size_t)(total > 0 ? total : 1));
    int *idx = malloc(sizeof(int) * (size_t)n);
    hwloc_cpuset_t taken = hwloc_bitmap_alloc(), set = hwloc_bitmap_alloc();
    if (!numa || !idx || !taken || !set) {
        rc = pg_error(PG_ENOMEM, "placement: out of memory");
        goto out;
    }
    for (int i = 0; i < total; i++) {
        hwloc_obj_t o = hwloc_get_obj_by_type(t->hw, HWLOC_OBJ_NUMANODE, (unsigned)i);
        if (count_cores(t, o->cpuset) > 0) numa[d++] = o;
    }
    if (d == 0) numa[d++] = hwloc_get_root_obj(t->hw);
    if (n <= d) { /* each rank gets whole NUMA nodes */
        for (int k = 0; k < n; k++) {
            hwloc_bitmap_zero(set);
            for (int j = k * d / n; j < (k + 1) * d / n; j++)
                hwloc_bitmap_or(set, set, numa[j]->cpuset);
            idx[0] = k;
            if ((rc = split_cores(p, set, "its NUMA nodes", idx, 1, taken, oversubscribe))) break;
        }
        goto out;
    }
    for (int j = 0; j < d && !rc; j++) { /* contiguous blocks of ranks per NUMA node */
        int m = 0;
        for (int k = 0; k < n; k++)
            if ((long)k * d / n == j) idx[m++] = k;
        char what[64];
        snprintf(what, sizeof what, "NUMA node %u", numa[j]->os_index);
        rc = split_cores(p, numa[j]->cpuset, what, idx, m, taken, oversubscribe);
    }
out:
    free(numa);
    free(idx);
    hwloc_bitmap_free(taken);
    hwloc_bitmap_free(set);
    return rc;
}

/* Closest NIC per slot; ties go to the least loaded. */
static void plan_nics(pg_node_plan *p)
{
    const pg_topo *t = p->topo;
    int rdma = 0;
    for (int j = 0; j < t->nnics; j++) rdma |= t->nics[j].kind == PG_NIC_RDMA;
    pg_nic_kind want = rdma ? PG_NIC_RDMA : PG_NIC_ETH;
    int *load = calloc((size_t)t->nnics + 1, sizeof(int));
    for (int i = 0; i < p->nslots; i++) {
        pg_node_slot *s = &p->slots[i];
        s->nic = -1;
        for (int j = 0; j < t->nnics; j++) {
            if (t->nics[j].kind != want) continue;
            pg_path path = s->gpu >= 0 ? t->nic_path[s->gpu * t->nnics + j]
                                       : pg_topo_cpu_nic_path(t, s->cpuset, j);
            int hops = s->gpu >= 0 ? t->nic_hops[s->gpu * t->nnics + j] : 0;
            if (s->nic < 0 || path < s->nic_path || (path == s->nic_path && hops < s->nic_hops) ||
                (path == s->nic_path && hops == s->nic_hops && load && load[j] < load[s->nic])) {
                s->nic = j;
                s->nic_path = path;
                s->nic_hops = hops;
            }
        }
        if (s->nic >= 0 && load) load[s->nic]++;
    }
    free(load);
}

int pg_node_plan_create(pg_node_plan **out, const pg_topo *t, int ranks, int use_gpus,
                        int oversubscribe)
{
    *out = NULL;
    if (ranks < 1) return pg_error(PG_EINVAL, "placement: ranks per node must be >= 1, got %d", ranks);
    if (use_gpus && t->ngpus == 0)
        return pg_error(PG_EINVAL, "topology %s: a GPU run, but hwloc finds no NVIDIA GPU",
                        t->source);
    if (use_gpus && ranks > t->ngpus)
        return pg_error(PG_EINVAL,
                        "topology %s: %d ranks per node but only %d GPUs (a GPU run gives each "
                        "rank its own GPU)",
                        t->source, ranks, t->ngpus);
    if (ranks > t->ncores && !oversubscribe)
        return pg_error(PG_EINVAL,
                        "topology %s: %d ranks per node but only %d cores (each rank needs its "
                        "own core; to share cores: pipegrid topo --oversubscribe, or "
                        "placement.bind=auto in training)",
                        t->source, ranks, t->ncores);
    pg_node_plan *p = calloc(1, sizeof *p);
    if (!p) return pg_error(PG_ENOMEM, "placement: out of memory");
    p->topo = t;
    p->use_gpus = use_gpus;
    p->nslots = ranks;
    p->slots = calloc((size_t)ranks, sizeof *p->slots);
    int *chain = malloc(sizeof(int) * (size_t)(t->ngpus + 1));
    int rc = p->slots && chain ? 0 : pg_error(PG_ENOMEM, "placement: out of memory");
    for (int i = 0; i < ranks && !rc; i++) {
        p->slots[i].cpuset = hwloc_bitmap_alloc();
        p->slots[i].nodeset = hwloc_bitmap_alloc();
        p->slots[i].gpu = -1;
        if (!p->slots[i].cpuset || !p->slots[i].nodeset)
            rc = pg_error(PG_ENOMEM, "placement: out of memory");
    }
    if (!rc && use_gpus) {
        gpu_chain(t, chain);
        for (int i = 0; i < ranks; i++) p->slots[i].gpu = chain[i];
        rc = plan_gpu_cores(p, oversubscribe);
    } else if (!rc) {
        rc = plan_cpu_cores(p, oversubscribe);
    }
    free(chain);
    if (rc) {
        pg_node_plan_free(p);
        return rc;
    }
    plan_nics(p);
    *out = p;
    return 0;
}

void pg_node_plan_free(pg_node_plan *p)
{
    if (!p) return;
    for (int i = 0; p->slots && i < p->nslots; i++) {
        hwloc_bitmap_free(p->slots[i].cpuset);
        hwloc_bitmap_free(p->slots[i].nodeset);
    }
    free(p->slots);
    free(p);
}

/* What this process was given (process-wide, like its binding). */
static char chosen_gpu[PG_BUSID_LEN], chosen_nic[32];
static int bound;

const char *pg_placement_gpu_busid(void) { return chosen_gpu[0] ? chosen_gpu : NULL; }
const char *pg_placement_nic(void) { return chosen_nic[0] ? chosen_nic : NULL; }
int pg_placement_bound(void) { return bound; }

int pg_node_plan_select(const pg_node_plan *p, int slot)
{
    const pg_topo *t = p->topo;
    const pg_node_slot *s = &p->slots[slot];
    chosen_gpu[0] = chosen_nic[0] = '\0';
    if (!t->thissystem) return 0; /* bus ids of another machine */
    if (s->gpu >= 0) snprintf(chosen_gpu, sizeof chosen_gpu, "%s", t->gpus[s->gpu].busid);
    if (s->nic < 0) return 0;
    const pg_topo_nic *n = &t->nics[s->nic];
    snprintf(chosen_nic, sizeof chosen_nic, "%s", n->name);
    if (p->use_gpus) {
        char v[40];
        snprintf(v, sizeof v, "=%s", n->kind == PG_NIC_RDMA ? n->name : n->netdev);
        if (setenv(n->kind == PG_NIC_RDMA ? "NCCL_IB_HCA" : "NCCL_SOCKET_IFNAME", v, 0))
            return pg_error(PG_ENOMEM, "placement: cannot set the NCCL NIC variable");
    }
    return 0;
}

int pg_node_plan_bind(const pg_node_plan *p, int slot, const char **note)
{
    const pg_topo *t = p->topo;
    const pg_node_slot *s = &p->slots[slot];
    *note = NULL;
    if (!t->thissystem)
        return pg_error(PG_EINVAL, "placement: topology %s is not this machine; cannot bind",
                        t->source);
    char cpus[256];
    hwloc_bitmap_list_snprintf(cpus, sizeof cpus, s->cpuset);
    if (hwloc_set_cpubind(t->hw, s->cpuset, HWLOC_CPUBIND_PROCESS) &&
        hwloc_set_cpubind(t->hw, s->cpuset, 0))
        return pg_error(PG_EINVAL, "placement: binding to cpus %s failed: %s", cpus,
                        strerror(errno));
    /* the thread's policy; threads created later inherit it */
    if (hwloc_set_membind(t->hw, s->nodeset, HWLOC_MEMBIND_BIND, HWLOC_MEMBIND_BYNODESET))
        *note = "memory binding refused by the system (cores are bound; memory follows first "
                "touch)";
    bound = 1;
    return 0;
}
