/* test_topo_lassen.c: placement on LLNL Lassen against mpibind's published
 * answers (topologies/mpibind-expected.coral-lassen).
 *
 * mpibind lists, per test, each task's CPUs (first hardware thread of each
 * core at smt 0) and GPUs (CUDA index = bus id order). Checked here:
 *  - one task per GPU: test 1 maps one task to every core and names each
 *    task's GPU; the union of the cores of GPU g's tasks must equal the cores
 *    our 4-rank GPU plan gives GPU g's rank;
 *  - every unrestricted test: each task's CPUs and the cores we give each of
 *    its GPUs contain one another (the same locality, at either grain);
 *  - CPU runs: our 40-rank and 2-rank CPU plans give exactly the CPUs of
 *    mpibind's tests 1 and 10. */
#include "runtime/base/error.h"
#include "tests/support/testlib.h"
#include "topology/placement.h"

#include <stdlib.h>
#include <string.h>

#define XML "topologies/mpibind-coral-lassen.xml"
#define EXPECTED "topologies/mpibind-expected.coral-lassen"
#define MAXT 64

typedef struct answer {
    int id, restricted, ntasks;
    hwloc_bitmap_t cpus[MAXT], gpus[MAXT];
} answer;

/* Split a quoted "a;b;c" line into per-task hwloc lists. */
static int split(const char *line, hwloc_bitmap_t *out)
{
    char buf[4096];
    const char *q = strchr(line, '"');
    snprintf(buf, sizeof buf, "%s", q ? q + 1 : line);
    char *end = strrchr(buf, '"');
    if (end) *end = '\0';
    int n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ";", &save); tok && n < MAXT; tok = strtok_r(NULL, ";", &save)) {
        out[n] = hwloc_bitmap_alloc();
        hwloc_bitmap_list_sscanf(out[n], tok);
        n++;
    }
    return n;
}

/* Read every answer of the file: "# N:", a params comment, a description,
 * then the thread, cpu and gpu lines. */
static int read_answers(answer *a, int max)
{
    FILE *f = fopen(EXPECTED, "r");
    CHECK_MSG(f != NULL, "cannot open %s", EXPECTED);
    if (!f) return 0;
    char line[4096];
    int n = 0, quoted = -1;
    while (fgets(line, sizeof line, f) && n < max) {
        int id;
        char colon;
        if (sscanf(line, "# %d%c", &id, &colon) == 2 && colon == ':') {
            memset(&a[n], 0, sizeof a[n]);
            a[n].id = id;
            quoted = 0;
            continue;
        }
        if (quoted < 0) continue;
        if (strstr(line, "\"restr_set\"")) a[n].restricted = !strstr(line, "\"restr_set\": null");
        if (line[0] != '"') continue;
        if (quoted == 1) a[n].ntasks = split(line, a[n].cpus);
        if (quoted == 2) {
            CHECK_MSG(split(line, a[n].gpus) == a[n].ntasks, "answer %d: task counts differ", id);
            n++;
            quoted = -1;
            continue;
        }
        quoted++;
    }
    fclose(f);
    return n;
}

/* First PU of every core that `set` touches: mpibind's CPU list at smt 0. */
static hwloc_bitmap_t first_pus(const pg_topo *t, hwloc_const_bitmap_t set)
{
    hwloc_bitmap_t out = hwloc_bitmap_alloc();
    hwloc_obj_t core = NULL;
    while ((core = hwloc_get_next_obj_by_type(t->hw, HWLOC_OBJ_CORE, core)))
        if (hwloc_bitmap_intersects(core->cpuset, set))
            hwloc_bitmap_set(out, (unsigned)hwloc_bitmap_first(core->cpuset));
    return out;
}

static const char *str(hwloc_const_bitmap_t b)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    hwloc_bitmap_list_snprintf(buf[k], sizeof buf[k], b);
    return buf[k];
}

int main(void)
{
    static answer ans[32];
    int nans = read_answers(ans, 32);
    CHECK_MSG(nans == 12, "read %d answers from %s, expected 12", nans, EXPECTED);
    pg_topo *t;
    if (pg_topo_load(&t, XML)) {
        CHECK_MSG(0, "%s", pg_errmsg());
        return pg_test_summary("test_topo_lassen");
    }
    CHECK(t->ngpus == 4);
    pg_node_plan *gp = NULL, *cpu40 = NULL, *cpu2 = NULL;
    CHECK(pg_node_plan_create(&gp, t, 4, 1, 0) == 0);
    CHECK(pg_node_plan_create(&cpu40, t, 40, 0, 0) == 0);
    CHECK(pg_node_plan_create(&cpu2, t, 2, 0, 0) == 0);
    if (!gp || !cpu40 || !cpu2) return pg_test_summary("test_topo_lassen");

    /* the cores (first PUs) our one-rank-per-GPU plan gives each CUDA index */
    hwloc_bitmap_t ours[4] = {0};
    for (int i = 0; i < 4; i++) {
        int cuda = t->gpus[gp->slots[i].gpu].cuda;
        CHECK(cuda >= 0 && cuda < 4 && !ours[cuda]);
        if (cuda >= 0 && cuda < 4) ours[cuda] = first_pus(t, gp->slots[i].cpuset);
    }
    for (int a = 0; a < nans; a++) {
        answer *x = &ans[a];
        if (x->id == 1) { /* one task per core: per GPU, the union of its tasks' CPUs */
            for (int g = 0; g < 4; g++) {
                hwloc_bitmap_t theirs = hwloc_bitmap_alloc();
                for (int k = 0; k < x->ntasks; k++)
                    if (hwloc_bitmap_isset(x->gpus[k], (unsigned)g) && hwloc_bitmap_weight(x->gpus[k]) == 1)
                        hwloc_bitmap_or(theirs, theirs, x->cpus[k]);
                CHECK_MSG(ours[g] && hwloc_bitmap_isequal(theirs, ours[g]),
                          "GPU %d: mpibind cpus %s, ours %s", g, str(theirs), ours[g] ? str(ours[g]) : "-");
                printf("GPU %d (%s): cpus %s (mpibind: %s)\n", g, t->gpus[g].busid,
                       ours[g] ? str(ours[g]) : "-", str(theirs));
                hwloc_bitmap_free(theirs);
            }
            for (int k = 0; k < x->ntasks && k < 40; k++) { /* CPU run, 40 ranks */
                hwloc_bitmap_t mine = first_pus(t, cpu40->slots[k].cpuset);
                CHECK_MSG(hwloc_bitmap_isequal(mine, x->cpus[k]), "40 ranks, rank %d: %s vs %s", k,
                          str(mine), str(x->cpus[k]));
                hwloc_bitmap_free(mine);
            }
        }
        if (x->id == 10) /* two tasks without GPU optimisation: one socket each */
            for (int k = 0; k < 2; k++) {
                hwloc_bitmap_t mine = first_pus(t, cpu2->slots[k].cpuset);
                CHECK_MSG(hwloc_bitmap_isequal(mine, x->cpus[k]), "2 ranks, rank %d: %s vs %s", k,
                          str(mine), str(x->cpus[k]));
                hwloc_bitmap_free(mine);
            }
        if (!x->restricted) /* GPU locality agrees at either grain */
            for (int k = 0; k < x->ntasks; k++) {
                int g = -1;
                while ((g = hwloc_bitmap_next(x->gpus[k], g)) >= 0 && g < 4) {
                    hwloc_bitmap_t task = first_pus(t, x->cpus[k]);
                    int ok = ours[g] && (hwloc_bitmap_isincluded(task, ours[g]) ||
                                         hwloc_bitmap_isincluded(ours[g], task));
                    CHECK_MSG(ok, "answer %d task %d: cpus %s vs GPU %d's %s", x->id, k, str(task),
                              g, ours[g] ? str(ours[g]) : "-");
                    hwloc_bitmap_free(task);
                }
            }
    }
    for (int a = 0; a < nans; a++)
        for (int k = 0; k < ans[a].ntasks; k++) {
            hwloc_bitmap_free(ans[a].cpus[k]);
            hwloc_bitmap_free(ans[a].gpus[k]);
        }
    for (int g = 0; g < 4; g++) hwloc_bitmap_free(ours[g]);
    pg_node_plan_free(gp);
    pg_node_plan_free(cpu40);
    pg_node_plan_free(cpu2);
    pg_topo_free(t);
    return pg_test_summary("test_topo_lassen");
}
