/* test_topo_nvlink.c: NVLink where hwloc gives none (topology/nvlink.h), with
 * a fake NVML (tests/support/nvml_stub.c, built as libnvidia-ml.so.1) loaded
 * through the same dlopen as the real one, on the Lassen capture (4
 * V100-SXM2, no NVLink data) read as if it were this machine
 * (HWLOC_XMLFILE + HWLOC_THISSYSTEM=1).
 *
 *  A. The stub reports Lassen's links (3 NVLink 2.0 links between the two
 *     GPUs of each socket, 3 from each GPU to its CPU): those two pairs
 *     become NVLink at 3 x 25 = 75 GB/s, the cross-socket pairs stay SYS, the
 *     CPU links are left out; the XML export carries the result (a reload
 *     with no NVML at all has it). Order, 2 nodes, pp=4 x dp=2, 1 GB of
 *     gradients per stage, no pipeline traffic: replica-major puts every
 *     stage group across the nodes, each ring on its own NIC and rail: 1 GB /
 *     12.5 GB/s = 0.08 s with or without NVLink. stage-major keeps each stage
 *     group on a GPU pair of one socket: over PCIe (SWITCH, 12 GB/s) 1/12 =
 *     0.0833 s, so without NVLink auto keeps replica-major (the allreduce
 *     between nodes); over NVLink 1/75 = 0.0133 s, so with it auto chooses
 *     stage-major (the allreduce inside the node).
 *  B. Links to NVSwitches (6 NVLink 3.0 links per GPU): every pair reaches
 *     every other through the fabric at 6 x 25 = 150 GB/s.
 *  C. NVML whose driver is not loaded, and no NVML library at all: no links
 *     and one line saying why (and no topology-file warning). A capture that
 *     is not this machine never asks NVML.
 *  D. placement.gpu_links: nvlink:GBS and file:PATH, and their errors.
 *  E. The warning for NVLink-class GPUs without NVLink data, on every capture
 *     in tests/topologies: only Lassen's V100-SXM2 draw it (DGX-2 and the
 *     POWER8 P100s have NVLinkBandwidth matrices; the others are PCIe cards).
 * With the argument "default-name" only A's discovery runs, with
 * PG_NVML_LIBRARY unset: the stub is then found as libnvidia-ml.so.1 through
 * LD_LIBRARY_PATH, as the driver's library is. */
#include "runtime/base/error.h"
#include "tests/support/testlib.h"
#include "topology/nvlink.h"
#include "topology/order.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LASSEN "topologies/mpibind-coral-lassen.xml"

static char *stub; /* the stub's path, from $PG_NVML_LIBRARY */

static const char *LASSEN_LINKS =
    "0004:04:00.0 0004:05:00.0 3 2 gpu; 0035:03:00.0 0035:04:00.0 3 2 gpu;"
    "0004:04:00.0 0004:00:00.0 3 2 npu; 0004:05:00.0 0004:00:00.0 3 2 npu;"
    "0035:03:00.0 0035:00:00.0 3 2 npu; 0035:04:00.0 0035:00:00.0 3 2 npu";

static int near(double a, double b) { return fabs(a - b) <= 1e-9 * fmax(fabs(a), fabs(b)); }

/* Lassen as this machine (NVML consulted) */
static pg_topo *live_lassen(void)
{
    setenv("HWLOC_XMLFILE", LASSEN, 1);
    setenv("HWLOC_THISSYSTEM", "1", 1);
    pg_topo *t = NULL;
    int rc = pg_topo_load(&t, NULL);
    unsetenv("HWLOC_XMLFILE");
    unsetenv("HWLOC_THISSYSTEM");
    CHECK_MSG(!rc && t, "%s", pg_errmsg());
    return t;
}

static pg_topo *file_topo(const char *xml)
{
    pg_topo *t = NULL;
    int rc = pg_topo_load(&t, xml);
    CHECK_MSG(!rc && t, "%s: %s", xml, pg_errmsg());
    return t;
}

static double nv(const pg_topo *t, int i, int j) { return t->nvlink[i * t->ngpus + j]; }

static int contains(const char *s, const char *what)
{
    int ok = strstr(s, what) != NULL;
    if (!ok) fprintf(stderr, "  expected '%s' in: %s\n", what, s);
    return ok;
}

static void check_lassen_links(const pg_topo *t)
{
    CHECK(t->ngpus == 4);
    CHECK(nv(t, 0, 1) == 75.0 && nv(t, 1, 0) == 75.0);
    CHECK(nv(t, 2, 3) == 75.0 && nv(t, 3, 2) == 75.0);
    for (int i = 0; i < 2; i++)
        for (int j = 2; j < 4; j++) CHECK(nv(t, i, j) == 0.0 && nv(t, j, i) == 0.0);
    CHECK(contains(t->nvlink_note, "NVLink read through NVML"));
    CHECK(contains(t->nvlink_note, "2 of 6 GPU pair(s) linked, up to 75 GB/s"));
    CHECK(contains(t->nvlink_note, "link ends at the GPUs: 12 to GPUs, 0 to NVSwitches, 12 to CPUs or others"));
}

/* 2 nodes x 4 GPUs, pp=4 x dp=2, 1 GB of gradients per stage */
static pg_order_table *orders(const pg_topo *t)
{
    static int node[8], slot[8];
    for (int r = 0; r < 8; r++) node[r] = r / 4, slot[r] = r % 4;
    pg_node_plan *np = NULL;
    pg_order_table *o = NULL;
    double grad[4] = {1e9, 1e9, 1e9, 1e9}, p2p[16] = {0};
    pg_traffic tr = {4, 2, 1, p2p, grad};
    if (pg_node_plan_create(&np, t, 4, 1, 1)) {
        CHECK_MSG(0, "%s", pg_errmsg());
        return NULL;
    }
    /* the chain: GPU0, its closest GPU1, then across the sockets */
    for (int s = 0; s < 4; s++) CHECK(np->slots[s].gpu == s);
    pg_layout L = {8, 2, node, slot, np};
    pg_bw bw;
    pg_bw_defaults(&bw);
    if (pg_order_choose(&o, &L, &tr, &bw, "auto")) CHECK_MSG(0, "%s", pg_errmsg());
    pg_node_plan_free(np);
    return o;
}

static const pg_order_cost *find(const pg_order_table *o, const char *name)
{
    for (int i = 0; o && i < o->n; i++)
        if (!strcmp(o->c[i].name, name)) return &o->c[i];
    CHECK_MSG(0, "no candidate '%s'", name);
    return NULL;
}

static void test_nvml_lassen(void)
{
    setenv("PG_NVML_STUB", LASSEN_LINKS, 1);
    pg_topo *t = live_lassen();
    if (!t) return;
    check_lassen_links(t);
    char msg[512];
    CHECK(!pg_topo_nvlink_missing(t, msg, sizeof msg));
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    pg_topo_print(t, f);
    fclose(f);
    CHECK(contains(buf, "0004:04:00.0            -         NV75          SYS          SYS"));
    free(buf);

    /* the export carries the links: a reload needs no NVML */
    char *xml = NULL;
    int xlen = 0;
    CHECK(!pg_topo_export(t, &xml, &xlen));
    setenv("PG_NVML_LIBRARY", "/nonexistent/libnvidia-ml.so.1", 1);
    pg_topo *u = NULL;
    CHECK_MSG(!pg_topo_load_exported(&u, xml, xlen, "this machine", 1), "%s", pg_errmsg());
    pg_topo_free_export(t, xml);
    if (u) check_lassen_links(u);
    pg_topo_free(u);
    setenv("PG_NVML_LIBRARY", stub, 1);

    /* the order the cost model chooses, without and with the links */
    pg_topo *plain = file_topo(LASSEN);
    pg_order_table *o0 = plain ? orders(plain) : NULL, *o1 = orders(t);
    if (o0 && o1) {
        CHECK(!strcmp(o0->c[o0->chosen].name, "replica-major"));
        CHECK(near(find(o0, "replica-major")->t_ar, 1e9 / 12.5e9));
        CHECK(near(find(o0, "stage-major")->t_ar, 1e9 / 12e9));
        CHECK(!strcmp(o1->c[o1->chosen].name, "stage-major"));
        CHECK(near(find(o1, "replica-major")->t_ar, 1e9 / 12.5e9));
        CHECK(near(find(o1, "stage-major")->t_ar, 1e9 / 75e9));
        CHECK(o1->c[o1->chosen].ar_out == 0.0 && o0->c[o0->chosen].ar_in == 0.0);
    }
    pg_order_table_free(o0);
    pg_order_table_free(o1);
    pg_topo_free(plain);
    pg_topo_free(t);
}

static void test_nvml_switch(void)
{
    setenv("PG_NVML_STUB",
           "0004:04:00.0 0007:00:00.0 6 4 switch; 0004:05:00.0 0007:00:00.0 6 4 switch;"
           "0035:03:00.0 0007:00:00.0 6 4 switch; 0035:04:00.0 0007:00:00.0 6 4 switch",
           1);
    pg_topo *t = live_lassen();
    if (!t) return;
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) CHECK(nv(t, i, j) == (i == j ? 0.0 : 150.0));
    CHECK(contains(t->nvlink_note, "6 of 6 GPU pair(s) linked, up to 150 GB/s"));
    CHECK(contains(t->nvlink_note, "link ends at the GPUs: 0 to GPUs, 24 to NVSwitches"));
    pg_topo_free(t);
}

static void test_no_nvml(void)
{
    unsetenv("PG_NVML_STUB"); /* the stub's driver is "not loaded" */
    pg_topo *t = live_lassen();
    if (t) {
        for (int i = 0; i < 16; i++) CHECK(t->nvlink[i] == 0.0);
        CHECK(contains(t->nvlink_note, "NVLink not read: NVML ("));
        CHECK(contains(t->nvlink_note, "could not start: Driver Not Loaded (error 9)"));
        char msg[512];
        CHECK(!pg_topo_nvlink_missing(t, msg, sizeof msg)); /* live: the note says it */
    }
    pg_topo_free(t);

    setenv("PG_NVML_LIBRARY", "/nonexistent/libnvidia-ml.so.1", 1);
    t = live_lassen();
    if (t) {
        for (int i = 0; i < 16; i++) CHECK(t->nvlink[i] == 0.0);
        CHECK(contains(t->nvlink_note, "NVLink not read: NVML (/nonexistent/libnvidia-ml.so.1) "
                                       "cannot be loaded ("));
        CHECK(!strchr(t->nvlink_note, '\n'));
    }
    pg_topo_free(t);
    setenv("PG_NVML_LIBRARY", stub, 1);

    /* a capture that is not this machine: NVML is not asked */
    setenv("PG_NVML_STUB", LASSEN_LINKS, 1);
    t = file_topo(LASSEN);
    if (t) {
        for (int i = 0; i < 16; i++) CHECK(t->nvlink[i] == 0.0);
        CHECK(!strcmp(t->nvlink_note, "no NVLink data in the topology"));
    }
    pg_topo_free(t);
}

static int set_links_err(pg_topo *t, const char *spec, const char *expect)
{
    int rc = pg_topo_set_links(t, spec);
    CHECK_MSG(rc < 0, "%s accepted", spec);
    return rc < 0 && contains(pg_errmsg(), expect);
}

static void test_gpu_links(void)
{
    pg_topo *t = file_topo(LASSEN);
    if (!t) return;
    CHECK(!pg_topo_set_links(t, ""));
    CHECK(!pg_topo_set_links(t, "nvlink:100"));
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) CHECK(nv(t, i, j) == (i == j ? 0.0 : 100.0));
    CHECK(!strcmp(t->nvlink_note, "NVLink from placement.gpu_links=nvlink:100 (every GPU pair)"));

    char path[] = "/tmp/pg_links_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("# Lassen\n0004:04:00.0 0004:05:00.0 75\n\n0035:03:00.0 0035:04:00.0 75 # socket 1\n", f);
    fclose(f);
    char spec[64];
    snprintf(spec, sizeof spec, "file:%s", path);
    CHECK_MSG(!pg_topo_set_links(t, spec), "%s", pg_errmsg());
    CHECK(nv(t, 0, 1) == 75.0 && nv(t, 1, 0) == 75.0 && nv(t, 3, 2) == 75.0);
    CHECK(nv(t, 0, 2) == 0.0 && nv(t, 1, 3) == 0.0); /* replaced, not added */
    CHECK(contains(t->nvlink_note, "(2 GPU pair(s))"));

    f = fopen(path, "w");
    fputs("0004:04:00.0 0004:05:00.0 75\n0004:04:00.0 0009:05:00.0 75\n", f);
    fclose(f);
    char line2[96];
    snprintf(line2, sizeof line2, "%s:2: no GPU with bus id '0009:05:00.0'", path);
    CHECK(set_links_err(t, spec, line2));
    f = fopen(path, "w");
    fputs("0004:04:00.0 0004:05:00.0\n", f);
    fclose(f);
    CHECK(set_links_err(t, spec, ":1: expected 'BUSID BUSID GBS'"));
    f = fopen(path, "w");
    fputs("0004:04:00.0 0004:04:00.0 50\n", f);
    fclose(f);
    CHECK(set_links_err(t, spec, ":1: a GPU linked to itself"));
    unlink(path);
    CHECK(set_links_err(t, spec, "placement.gpu_links: cannot open"));
    CHECK(set_links_err(t, "nvlink:-3", "expected nvlink:GBS"));
    CHECK(set_links_err(t, "nvlink:fast", "expected nvlink:GBS"));
    CHECK(set_links_err(t, "pcie:5", "got 'pcie:5'"));
    pg_topo_free(t);
}

static void test_warning(void)
{
    static const struct {
        const char *xml;
        int warns;
    } caps[] = {
        {"topologies/hwloc-24em64t-2n6c2t-pci.xml", 0},
        {"topologies/hwloc-32em64t-2n8c2t-pci-wholeio.xml", 0},
        {"topologies/hwloc-nvidiaDGX2.xml", 0},
        {"topologies/hwloc-power8gpudistances.xml", 0},
        {"topologies/mpibind-coral-lassen.xml", 1},
        {"topologies/mpibind-cts1-pascal.xml", 0},
        {"topologies/mpibind-g4dnmetal.xml", 0},
    };
    for (size_t k = 0; k < sizeof caps / sizeof caps[0]; k++) {
        pg_topo *t = file_topo(caps[k].xml);
        if (!t) continue;
        char msg[512] = "";
        int w = pg_topo_nvlink_missing(t, msg, sizeof msg);
        CHECK_MSG(w == caps[k].warns, "%s: warning %d, expected %d", caps[k].xml, w, caps[k].warns);
        if (w) {
            CHECK(contains(msg, "its 4 V100-SXM2-16GB GPUs are normally connected by NVLink"));
            CHECK(contains(msg, "placement.gpu_links=nvlink:GBS"));
            CHECK(!pg_topo_set_links(t, "nvlink:75"));
            CHECK(!pg_topo_nvlink_missing(t, msg, sizeof msg));
        }
        pg_topo_free(t);
    }
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "default-name")) {
        unsetenv("PG_NVML_LIBRARY");
        setenv("PG_NVML_STUB", LASSEN_LINKS, 1);
        pg_topo *t = live_lassen();
        if (t) {
            check_lassen_links(t);
            CHECK(contains(t->nvlink_note, "NVML (libnvidia-ml.so.1)"));
        }
        pg_topo_free(t);
        return pg_test_summary("test_topo_nvlink default-name");
    }
    if (!getenv("PG_NVML_LIBRARY")) {
        fprintf(stderr, "test_topo_nvlink: PG_NVML_LIBRARY must name the stub (ctest sets it)\n");
        return 1;
    }
    stub = strdup(getenv("PG_NVML_LIBRARY"));
    test_nvml_lassen();
    test_nvml_switch();
    test_no_nvml();
    test_gpu_links();
    test_warning();
    free(stub);
    return pg_test_summary("test_topo_nvlink");
}
