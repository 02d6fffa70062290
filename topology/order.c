/* order.c: candidate rank orders and their predicted communication time. */
#include "topology/order.h"

#include "runtime/base/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void pg_bw_defaults(pg_bw *b)
{
    b->net = 12.5; /* one 100 Gb/s NIC (InfiniBand EDR, 100 GbE) */
    b->cross_rail = 0.5;
    /* PCIe 3.0 x16 peer copies, worse the further up the tree they go */
    b->pcie[PG_PATH_SWITCH] = 12.0;
    b->pcie[PG_PATH_HOSTBRIDGE] = 10.0;
    b->pcie[PG_PATH_NUMA] = 8.0;
    b->pcie[PG_PATH_SYS] = 5.0;
    b->shm_numa = 8.0;
    b->shm_sys = 4.0;
}

int pg_grid_order_cells(int r, int pp, int dp, void *ctx, int *stage, int *replica)
{
    (void)pp;
    const int *cell = ctx;
    *stage = cell[r] / dp;
    *replica = cell[r] % dp;
    return 0;
}

static int nics_per_node(const pg_layout *L)
{
    return L->plan->topo->nnics > 0 ? L->plan->topo->nnics : 1;
}

/* NIC index of rank r on its node (0 = the assumed NIC when none shows). */
static int nic_of(const pg_layout *L, int r)
{
    int n = L->plan->slots[L->slot[r]].nic;
    return n < 0 ? 0 : n;
}

static double intra_bw(const pg_layout *L, const pg_bw *bw, int u, int v)
{
    const pg_topo *t = L->plan->topo;
    const pg_node_slot *a = &L->plan->slots[L->slot[u]], *b = &L->plan->slots[L->slot[v]];
    if (a->gpu >= 0 && b->gpu >= 0) {
        double nv = t->nvlink[a->gpu * t->ngpus + b->gpu];
        return nv > 0 ? nv : bw->pcie[t->gpu_path[a->gpu * t->ngpus + b->gpu]];
    }
    return hwloc_bitmap_intersects(a->nodeset, b->nodeset) ? bw->shm_numa : bw->shm_sys;
}

/* Between nodes: one NIC's bandwidth over the flows sharing the busier end. */
static double inter_bw(const pg_layout *L, const pg_bw *bw, int u, int v, const int *load_u,
                       const int *load_v)
{
    int nn = nics_per_node(L);
    int nu = nic_of(L, u), nv = nic_of(L, v);
    int share = load_u[L->node[u] * nn + nu];
    if (load_v[L->node[v] * nn + nv] > share) share = load_v[L->node[v] * nn + nv];
    return bw->net * (nu == nv ? 1.0 : bw->cross_rail) / (share > 0 ? share : 1);
}

static void sort_by_place(const pg_layout *L, int *m, int n)
{
    for (int a = 1; a < n; a++)
        for (int b = a; b > 0; b--) {
            int x = m[b - 1], y = m[b];
            if (L->node[x] < L->node[y] || (L->node[x] == L->node[y] && L->slot[x] <= L->slot[y]))
                break;
            m[b - 1] = y;
            m[b] = x;
        }
}

static int evaluate(const pg_layout *L, const pg_traffic *T, const pg_bw *bw, pg_order_cost *c)
{
    int N = L->size, pp = T->pp, dp = T->dp, nn = nics_per_node(L);
    size_t nl = (size_t)(L->nnodes * nn);
    int *inv = malloc(sizeof(int) * (size_t)N), *ring = malloc(sizeof(int) * (size_t)dp);
    int *load = calloc(nl, sizeof(int)), *out = calloc(nl, sizeof(int)),
        *in = calloc(nl, sizeof(int));
    double *busy = calloc((size_t)N, sizeof(double));
    int rc = 0;
    if (!inv || !ring || !load || !out || !in || !busy) {
        rc = pg_error(PG_ENOMEM, "order: out of memory");
        goto done;
    }
    for (int r = 0; r < N; r++) inv[c->cell[r]] = r;
    c->p2p_in = c->p2p_out = c->ar_in = c->ar_out = c->t_p2p = c->t_ar = 0.0;

    /* pipeline transfers: count the flows on each NIC, then time them */
    for (int pass = 0; pass < 2; pass++)
        for (int d = 0; d < dp; d++)
            for (int i = 0; i < pp; i++)
                for (int j = i + 1; j < pp; j++) {
                    double bytes = T->p2p[i * pp + j];
                    if (bytes <= 0) continue;
                    int u = inv[i * dp + d], v = inv[j * dp + d];
                    int inter = L->node[u] != L->node[v];
                    if (pass == 0) {
                        if (inter) {
                            load[L->node[u] * nn + nic_of(L, u)]++;
                            load[L->node[v] * nn + nic_of(L, v)]++;
                        }
                        continue;
                    }
                    double b = inter ? inter_bw(L, bw, u, v, load, load) : intra_bw(L, bw, u, v);
                    double s = bytes / (b * 1e9);
                    busy[u] += s;
                    busy[v] += s;
                    *(inter ? &c->p2p_out : &c->p2p_in) += bytes;
                }
    for (int r = 0; r < N; r++)
        if (busy[r] > c->t_p2p) c->t_p2p = busy[r];

    /* ring allreduce in each stage group, ring in node/slot order */
    if (dp > 1)
        for (int pass = 0; pass < 2; pass++)
            for (int i = 0; i < pp; i++) {
                if (T->grad[i] <= 0) continue;
                for (int d = 0; d < dp; d++) ring[d] = inv[i * dp + d];
                sort_by_place(L, ring, dp);
                double edge = 2.0 * (dp - 1) / dp * T->grad[i], slowest = INFINITY;
                for (int k = 0; k < dp; k++) {
                    int u = ring[k], v = ring[(k + 1) % dp];
                    int inter = L->node[u] != L->node[v];
                    if (pass == 0) {
                        if (inter) {
                            out[L->node[u] * nn + nic_of(L, u)]++;
                            in[L->node[v] * nn + nic_of(L, v)]++;
                        }
                        continue;
                    }
                    double b = inter ? inter_bw(L, bw, u, v, out, in) : intra_bw(L, bw, u, v);
                    if (b < slowest) slowest = b;
                    *(inter ? &c->ar_out : &c->ar_in) += edge;
                }
                if (pass == 1 && edge / (slowest * 1e9) > c->t_ar) c->t_ar = edge / (slowest * 1e9);
            }
    c->total = c->t_p2p + c->t_ar;
done:
    free(inv);
    free(ring);
    free(load);
    free(out);
    free(in);
    free(busy);
    return rc;
}

static pg_order_cost *add(pg_order_table *o, const char *name, int size)
{
    pg_order_cost *c = &o->c[o->n];
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", name);
    c->cell = malloc(sizeof(int) * (size_t)size);
    if (!c->cell) return NULL;
    o->n++;
    return c;
}

/* Does the candidate just added repeat an earlier one (from index `from`)? */
static int repeats(const pg_order_table *o, int from, int size)
{
    const pg_order_cost *last = &o->c[o->n - 1];
    for (int i = from; i < o->n - 1; i++)
        if (!memcmp(o->c[i].cell, last->cell, sizeof(int) * (size_t)size)) return 1;
    return 0;
}

/* Every node has R = nslots ranks on distinct slots. */
static int uniform(const pg_layout *L)
{
    int R = L->plan->nslots;
    if (L->size != L->nnodes * R) return 0;
    char *seen = calloc((size_t)L->size, 1);
    int ok = seen != NULL;
    for (int r = 0; ok && r < L->size; r++) {
        int k = L->node[r] * R + L->slot[r];
        if (L->node[r] < 0 || L->node[r] >= L->nnodes || L->slot[r] < 0 || L->slot[r] >= R ||
            seen[k])
            ok = 0;
        else
            seen[k] = 1;
    }
    free(seen);
    return ok;
}

int pg_order_choose(pg_order_table **out, const pg_layout *L, const pg_traffic *T,
                    const pg_bw *bw, const char *requested)
{
    *out = NULL;
    int N = L->size, pp = T->pp, dp = T->dp, R = L->plan->nslots, rc = 0;
    if (pp * dp != N)
        return pg_error(PG_EINVAL, "order: pp=%d x dp=%d = %d ranks, but the layout has %d", pp,
                        dp, pp * dp, N);
    pg_order_table *o = calloc(1, sizeof *o);
    if (!o || !(o->c = calloc((size_t)(2 + 2 * pp), sizeof *o->c))) {
        free(o);
        return pg_error(PG_ENOMEM, "order: out of memory");
    }
    pg_order_cost *c;
    if (!(c = add(o, "replica-major", N))) goto oom;
    for (int r = 0; r < N; r++) c->cell[r] = (r % pp) * dp + r / pp;
    if (!(c = add(o, "stage-major", N))) goto oom;
    for (int r = 0; r < N; r++) c->cell[r] = r;
    int tiles = uniform(L);
    for (int a = 1; a <= pp && tiles; a++) {
        if (pp % a || R % a || dp % (R / a)) continue;
        int b = R / a;
        for (int group = 0; group < 2; group++) {
            if (group && (a == 1 || b == 1)) continue; /* same as "pipe" */
            char name[32];
            snprintf(name, sizeof name, "tile %dx%d %s", a, b, group ? "group" : "pipe");
            if (!(c = add(o, name, N))) goto oom;
            for (int r = 0; r < N; r++) {
                int k = L->node[r], q = L->slot[r];
                int sb = k % (pp / a), rb = k / (pp / a);
                int s = sb * a + (group ? q / b : q % a);
                int d = rb * b + (group ? q % b : q / a);
                c->cell[r] = s * dp + d;
            }
            if (repeats(o, 0, N)) free(o->c[--o->n].cell);
        }
    }
    for (int i = 0; i < o->n && !rc; i++) rc = evaluate(L, T, bw, &o->c[i]);
    if (rc) goto fail;
    o->chosen = -1;
    for (int i = 0; i < o->n; i++) {
        const pg_order_cost *x = &o->c[i];
        if (strcmp(requested, "auto")) {
            if (!strcmp(x->name, requested)) o->chosen = i;
            continue;
        }
        if (o->chosen < 0) {
            o->chosen = i;
            continue;
        }
        const pg_order_cost *y = &o->c[o->chosen];
        double tol = 1e-9 * fmax(x->total, y->total);
        if (x->total < y->total - tol ||
            (fabs(x->total - y->total) <= tol &&
             x->p2p_out + x->ar_out < y->p2p_out + y->ar_out))
            o->chosen = i;
    }
    if (o->chosen < 0) {
        rc = pg_error(PG_EINVAL, "order: unknown order '%s' (expected auto, replica-major or "
                                 "stage-major)",
                      requested);
        goto fail;
    }
    *out = o;
    return 0;
oom:
    rc = pg_error(PG_ENOMEM, "order: out of memory");
fail:
    pg_order_table_free(o);
    return rc;
}

void pg_order_table_free(pg_order_table *o)
{
    if (!o) return;
    for (int i = 0; i < o->n; i++) free(o->c[i].cell);
    free(o->c);
    free(o);
}
