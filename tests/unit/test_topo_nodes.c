/* test_topo_nodes.c: placement on every real node topology in topologies/.
 *
 * For each capture with GPUs, one rank per GPU must give: every GPU exactly
 * one rank; each rank's cores inside its GPU's NUMA node (its package when
 * that NUMA node has no cores), split evenly (counts within one of each
 * other) and disjoint from the other ranks' cores; and each rank's NIC the
 * closest by PCI path (class, then bridges) among the node's RDMA NICs (its
 * Ethernet NICs when it has none), with ties spread evenly. The NUMA nodes,
 * paths and NIC candidates are recomputed here from hwloc directly. On top,
 * what each capture is known to hold (GPU counts, NVLink, which NIC). */
#include "runtime/base/error.h"
#include "tests/support/testlib.h"
#include "topology/placement.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#define DIR_TOPO "topologies"

/* The cores a GPU's rank may use: its NUMA node(s), or its package when
 * those have no cores. */
static hwloc_bitmap_t allowed_cores(const pg_topo *t, int g)
{
    hwloc_obj_t loc = hwloc_get_non_io_ancestor_obj(t->hw, t->gpus[g].pci);
    hwloc_bitmap_t set = hwloc_bitmap_alloc();
    hwloc_obj_t numa = NULL;
    while ((numa = hwloc_get_next_obj_by_type(t->hw, HWLOC_OBJ_NUMANODE, numa)))
        if (hwloc_bitmap_isset(loc->nodeset, numa->os_index))
            hwloc_bitmap_or(set, set, numa->cpuset);
    if (hwloc_bitmap_iszero(set)) {
        hwloc_obj_t pkg = hwloc_get_ancestor_obj_by_type(t->hw, HWLOC_OBJ_PACKAGE, loc);
        hwloc_bitmap_copy(set, pkg ? pkg->cpuset : loc->cpuset);
    }
    return set;
}

static void check_nics(const char *name, const pg_topo *t, const pg_node_plan *p)
{
    int rdma = 0;
    for (int j = 0; j < t->nnics; j++) rdma |= t->nics[j].kind == PG_NIC_RDMA;
    pg_nic_kind want = rdma ? PG_NIC_RDMA : PG_NIC_ETH;
    int n = p->nslots, nn = t->nnics;
    char *best = calloc((size_t)(n * nn) + 1, 1); /* [slot][nic] one of the closest */
    int *load = calloc((size_t)nn + 1, sizeof(int));
    for (int i = 0; i < n; i++) {
        int g = p->slots[i].gpu, bc = 99, bh = 99;
        for (int j = 0; j < nn; j++) {
            if (t->nics[j].kind != want) continue;
            int c = t->nic_path[g * nn + j], h = t->nic_hops[g * nn + j];
            if (c < bc || (c == bc && h < bh)) bc = c, bh = h;
        }
        for (int j = 0; j < nn; j++)
            best[i * nn + j] = t->nics[j].kind == want && (int)t->nic_path[g * nn + j] == bc &&
                               t->nic_hops[g * nn + j] == bh;
        int nic = p->slots[i].nic;
        if (nn == 0) {
            CHECK_MSG(nic == -1, "%s: slot %d has NIC %d but the node has none", name, i, nic);
            continue;
        }
        CHECK_MSG(nic >= 0 && best[i * nn + nic], "%s: GPU %s got NIC %s, not a closest one",
                  name, t->gpus[g].busid, nic >= 0 ? t->nics[nic].name : "none");
        if (nic >= 0) load[nic]++;
    }
    /* ties balanced: slots with the same set of closest NICs spread evenly */
    for (int i = 0; i < n && nn > 0; i++) {
        int lo = 1 << 30, hi = -1;
        for (int j = 0; j < nn; j++)
            if (best[i * nn + j]) {
                int l = 0;
                for (int k = 0; k < n; k++)
                    l += p->slots[k].nic == j && !memcmp(best + k * nn, best + i * nn, (size_t)nn);
                if (l < lo) lo = l;
                if (l > hi) hi = l;
            }
        CHECK_MSG(hi - lo <= 1, "%s: equally close NICs carry %d and %d ranks", name, lo, hi);
    }
    free(best);
    free(load);
}

static void check_plan(const char *name, const pg_topo *t, const pg_node_plan *p, int shared)
{
    int n = p->nslots;
    int *uses = calloc((size_t)t->ngpus, sizeof(int));
    for (int i = 0; i < n; i++) {
        const pg_node_slot *s = &p->slots[i];
        CHECK_MSG(s->gpu >= 0 && s->gpu < t->ngpus, "%s: slot %d has no GPU", name, i);
        if (s->gpu < 0 || s->gpu >= t->ngpus) continue;
        uses[s->gpu]++;
        hwloc_bitmap_t ok = allowed_cores(t, s->gpu);
        char cpus[128], allowed[128];
        hwloc_bitmap_list_snprintf(cpus, sizeof cpus, s->cpuset);
        hwloc_bitmap_list_snprintf(allowed, sizeof allowed, ok);
        CHECK_MSG(!hwloc_bitmap_iszero(s->cpuset) && hwloc_bitmap_isincluded(s->cpuset, ok),
                  "%s: GPU %s got cpus %s, outside its NUMA node's %s", name,
                  t->gpus[s->gpu].busid, cpus, allowed);
        CHECK_MSG(s->ncores == hwloc_get_nbobjs_inside_cpuset_by_type(t->hw, s->cpuset,
                                                                      t->core_type),
                  "%s: slot %d counts %d cores for cpus %s", name, i, s->ncores, cpus);
        /* even split among the ranks of the same locality */
        for (int k = 0; k < n; k++) {
            hwloc_bitmap_t other = allowed_cores(t, p->slots[k].gpu);
            if (hwloc_bitmap_isequal(ok, other))
                CHECK_MSG(abs(p->slots[k].ncores - s->ncores) <= 1,
                          "%s: slots %d and %d share a NUMA node but got %d and %d cores", name,
                          i, k, s->ncores, p->slots[k].ncores);
            hwloc_bitmap_free(other);
        }
        hwloc_bitmap_free(ok);
        for (int k = i + 1; k < n && !shared; k++)
            CHECK_MSG(!hwloc_bitmap_intersects(s->cpuset, p->slots[k].cpuset),
                      "%s: slots %d and %d share cores", name, i, k);
        CHECK_MSG(s->shared == shared, "%s: slot %d shared=%d", name, i, s->shared);
        hwloc_bitmap_t numa = hwloc_bitmap_alloc();
        hwloc_cpuset_to_nodeset(t->hw, s->cpuset, numa);
        CHECK_MSG(hwloc_bitmap_isequal(numa, s->nodeset), "%s: slot %d memory not on its cores' "
                                                          "NUMA nodes", name, i);
        hwloc_bitmap_free(numa);
    }
    for (int g = 0; g < t->ngpus; g++)
        CHECK_MSG(uses[g] == 1, "%s: GPU %s has %d ranks", name, t->gpus[g].busid, uses[g]);
    free(uses);
    check_nics(name, t, p);
}

/* What each capture is known to hold. */
typedef struct expect {
    const char *file;
    int gpus, by_pci, nics;
} expect;

static const expect EXPECT[] = {
    {"hwloc-24em64t-2n6c2t-pci.xml", 3, 1, 3},   /* GPUs only as PCI 0x10de; mlx4 + 2 eth */
    {"hwloc-32em64t-2n8c2t-pci-wholeio.xml", 1, 0, 3}, /* cuda0 only; mlx5_0 + 2 eth */
    {"hwloc-nvidiaDGX2.xml", 16, 0, 0},
    {"hwloc-power8gpudistances.xml", 4, 0, 0},
    {"mpibind-coral-lassen.xml", 4, 0, 6},       /* 4 mlx5 ports + 2 eth */
    {"mpibind-cts1-pascal.xml", 2, 0, 3},
    {"mpibind-g4dnmetal.xml", 8, 0, 2},          /* EFA + ENA */
};

static const char *nic_of(const pg_topo *t, const pg_node_plan *p, const char *busid)
{
    for (int i = 0; i < p->nslots; i++)
        if (!strcmp(t->gpus[p->slots[i].gpu].busid, busid))
            return p->slots[i].nic >= 0 ? t->nics[p->slots[i].nic].name : "none";
    return "no such GPU";
}

static void specifics(const char *file, const pg_topo *t, const pg_node_plan *p)
{
    int n = t->ngpus;
    if (!strcmp(file, "hwloc-32em64t-2n8c2t-pci-wholeio.xml")) {
        CHECK(!strcmp(t->gpus[0].busid, "0000:84:00.0")); /* not the two bare 0x10de devices */
        CHECK(!strcmp(nic_of(t, p, "0000:84:00.0"), "mlx5_0"));
        CHECK(p->slots[0].nic_path == PG_PATH_SWITCH);
    } else if (!strcmp(file, "hwloc-24em64t-2n6c2t-pci.xml")) {
        for (int i = 0; i < n; i++) CHECK(!strcmp(nic_of(t, p, t->gpus[i].busid), "mlx4_0"));
    } else if (!strcmp(file, "mpibind-coral-lassen.xml")) {
        CHECK(!strcmp(nic_of(t, p, "0004:04:00.0"), "mlx5_0")); /* two ports: one each */
        CHECK(!strcmp(nic_of(t, p, "0004:05:00.0"), "mlx5_1"));
        CHECK(!strcmp(nic_of(t, p, "0035:03:00.0"), "mlx5_2"));
        CHECK(!strcmp(nic_of(t, p, "0035:04:00.0"), "mlx5_3"));
        CHECK(t->gpu_path[0 * n + 1] == PG_PATH_SWITCH && t->gpu_path[0 * n + 2] == PG_PATH_SYS);
    } else if (!strcmp(file, "mpibind-cts1-pascal.xml")) {
        CHECK(!strcmp(nic_of(t, p, "0000:04:00.0"), "mlx5_0"));
        CHECK(!strcmp(nic_of(t, p, "0000:07:00.0"), "mlx5_0"));
        CHECK(p->slots[0].nic_path == PG_PATH_SWITCH);
    } else if (!strcmp(file, "mpibind-g4dnmetal.xml")) {
        for (int i = 0; i < n; i++) CHECK(!strcmp(nic_of(t, p, t->gpus[i].busid), "rdmap197s0"));
        CHECK(t->gpu_path[0 * n + 1] == PG_PATH_HOSTBRIDGE && t->gpu_path[0 * n + 2] == PG_PATH_NUMA);
    } else if (!strcmp(file, "hwloc-power8gpudistances.xml")) {
        /* NVLink pairs (0,1) and (2,3) at 40 GB/s, neighbours in slot order */
        CHECK(t->nvlink[0 * n + 1] == 40.0 && t->nvlink[2 * n + 3] == 40.0);
        CHECK(t->nvlink[0 * n + 2] == 0.0 && t->nvlink[1 * n + 3] == 0.0);
        int a = p->slots[0].gpu, b = p->slots[1].gpu;
        CHECK_MSG(t->nvlink[a * n + b] == 40.0, "slots 0 and 1 not NVLink peers (%d, %d)", a, b);
    } else if (!strcmp(file, "hwloc-nvidiaDGX2.xml")) {
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                CHECK_MSG(i == j || t->nvlink[i * n + j] == 150.0, "NVSwitch %d-%d: %g", i, j,
                          t->nvlink[i * n + j]);
        /* a slot's neighbour sits under the same PCIe switch */
        CHECK(t->gpu_path[p->slots[0].gpu * n + p->slots[1].gpu] == PG_PATH_SWITCH);
        /* 16 ranks on 4 cores: each core carries 4 ranks of its package's GPUs */
        int per_core[256] = {0};
        for (int i = 0; i < p->nslots; i++) {
            CHECK(p->slots[i].ncores == 1 && p->slots[i].shared);
            per_core[hwloc_bitmap_first(p->slots[i].cpuset) & 255]++;
        }
        for (int c = 0; c < 256; c++) CHECK_MSG(per_core[c] == 0 || per_core[c] == 4, "cpu %d: %d", c, per_core[c]);
    }
}

int main(void)
{
    DIR *d = opendir(DIR_TOPO);
    CHECK_MSG(d != NULL, "cannot open %s", DIR_TOPO);
    int seen = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".xml")) continue;
        char path[200];
        snprintf(path, sizeof path, "%s/%s", DIR_TOPO, e->d_name);
        pg_topo *t;
        int rc = pg_topo_load(&t, path);
        CHECK_MSG(rc == 0, "%s: %s", path, pg_errmsg());
        if (rc) continue;
        for (size_t i = 0; i < sizeof EXPECT / sizeof *EXPECT; i++)
            if (!strcmp(EXPECT[i].file, e->d_name)) {
                seen++;
                CHECK_MSG(t->ngpus == EXPECT[i].gpus, "%s: %d GPUs, expected %d", path, t->ngpus,
                          EXPECT[i].gpus);
                CHECK_MSG(t->nnics == EXPECT[i].nics, "%s: %d NICs, expected %d", path, t->nnics,
                          EXPECT[i].nics);
                for (int g = 0; g < t->ngpus; g++) CHECK(t->gpus[g].by_pci == EXPECT[i].by_pci);
            }
        if (t->ngpus == 0) {
            pg_topo_free(t);
            continue;
        }
        int shared = t->ngpus > t->ncores;
        pg_node_plan *p = NULL;
        if (shared) { /* the DGX-2 capture keeps 4 of its cores: refused unless allowed */
            rc = pg_node_plan_create(&p, t, t->ngpus, 1, 0);
            CHECK_MSG(rc != 0 && strstr(pg_errmsg(), "ranks per node but only"),
                      "%s: %d ranks on %d cores not refused", path, t->ngpus, t->ncores);
        }
        rc = pg_node_plan_create(&p, t, t->ngpus, 1, shared);
        CHECK_MSG(rc == 0, "%s: %s", path, pg_errmsg());
        if (!rc) {
            check_plan(path, t, p, shared);
            specifics(e->d_name, t, p);
            printf("%-40s %2d GPUs, %2d NICs, %3d cores: checked\n", e->d_name, t->ngpus, t->nnics,
                   t->ncores);
        }
        /* more ranks than GPUs on a GPU run */
        pg_node_plan *q = NULL;
        CHECK(pg_node_plan_create(&q, t, t->ngpus + 1, 1, 1) != 0 &&
              strstr(pg_errmsg(), "GPUs"));
        pg_node_plan_free(p);
        pg_topo_free(t);
    }
    if (d) closedir(d);
    CHECK_MSG(seen == (int)(sizeof EXPECT / sizeof *EXPECT), "saw %d of the %zu captures", seen,
              sizeof EXPECT / sizeof *EXPECT);
    return pg_test_summary("test_topo_nodes");
}
