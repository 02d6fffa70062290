/* order.h: which grid cell (stage, replica) each world rank takes, chosen by
 * the bytes a training step moves and the bandwidth of the paths they take.
 *
 * Traffic of one step (pg_traffic): between pipeline neighbours, the
 * activations forward and their gradients back, for every microbatch; within
 * each stage group, a ring allreduce of the stage's fp32 gradients, which
 * sends 2(dp-1)/dp times the gradient bytes over every ring edge.
 *
 * Bandwidth of a path (pg_bw, GB/s):
 *   same node, GPUs: the NVLink bandwidth from the topology, else a PCIe
 *                    figure per path class (SWITCH, HOSTBRIDGE, NUMA, SYS);
 *   same node, CPU ranks: a shared-memory figure, same or other NUMA node;
 *   between nodes:   one NIC's bandwidth, shared by the flows that use that
 *                    NIC at the same time, times cross_rail when the two
 *                    NICs are on different rails (rail = NIC position in bus
 *                    id order; a node whose topology shows no NIC is given
 *                    one assumed NIC).
 * Predicted times: p2p = the busiest rank's sum of bytes/bandwidth over its
 * pipeline transfers; allreduce = the slowest stage group's ring (bytes per
 * edge / its slowest edge; all groups run at once); total = p2p + allreduce
 * (no overlap assumed, so it is an upper bound of exposed communication).
 *
 * Candidates (pg_order_choose): the two named orders, defined on world ranks
 *   replica-major  r = replica*pp + stage (a pipeline on consecutive ranks)
 *   stage-major    r = stage*dp + replica (a stage group on consecutive ranks)
 * and, when every node has R ranks, each tiling of the grid into node tiles
 * of S stages x R/S replicas ("tile SxB"), with the node's slots in "pipe"
 * order (a pipeline's stages on neighbouring slots, i.e. close GPUs) or
 * "group" order (a stage group's replicas on neighbouring slots). Tiles go
 * to nodes stage block fastest. "auto" takes the cheapest total (ties: fewer
 * bytes between nodes, then the earlier candidate, replica-major first). */
#ifndef PG_ORDER_H
#define PG_ORDER_H

#include "runtime/model/model.h"
#include "runtime/schedule/schedule.h"
#include "topology/placement.h"

typedef struct pg_traffic {
    int pp, dp, nmb;
    double *p2p;  /* [pp*pp], i<j: bytes per step per replica between pipeline ranks i and j */
    double *grad; /* [pp] gradient bytes held by pipeline rank i (allreduced over dp) */
} pg_traffic;

/* Traffic of the model split by `first` (stage s has layers [first[s],
 * first[s+1])) and placed by the schedule, with microbatch shape mb. */
int pg_traffic_create(pg_traffic **t, const pg_model *m, const pg_schedule *s, const int *first,
                      int dp, pg_shape mb);
void pg_traffic_free(pg_traffic *t);

typedef struct pg_bw { /* GB/s */
    double net;              /* one NIC, between nodes */
    double cross_rail;       /* factor between NICs on different rails */
    double pcie[PG_NPATHS];  /* GPU peers without NVLink, by path class */
    double shm_numa, shm_sys;/* CPU ranks of a node: same / different NUMA node */
} pg_bw;

/* Defaults: net 12.5 (100 Gb/s), cross_rail 0.5, PCIe 12/10/8/5, shared
 * memory 8/4. */
void pg_bw_defaults(pg_bw *b);

/* Where world ranks run: node index and slot (local rank) of every rank;
 * every node has the same topology and node plan (plan->nslots slots). */
typedef struct pg_layout {
    int size, nnodes;
    const int *node, *slot; /* [size] */
    const pg_node_plan *plan;
} pg_layout;

typedef struct pg_order_cost {
    char name[32];
    int *cell;                 /* [size] stage*dp + replica of world rank r */
    double p2p_in, p2p_out;    /* bytes per step, summed over ranks, inside / between nodes */
    double ar_in, ar_out;      /* allreduce bytes per step, inside / between nodes */
    double t_p2p, t_ar, total; /* predicted seconds per step */
} pg_order_cost;

typedef struct pg_order_table {
    int n, chosen;
    pg_order_cost *c;
} pg_order_table;

/* Evaluate every candidate on layout L and choose: `requested` is "auto" or
 * a named order (which is then chosen, the table still showing the rest). */
int pg_order_choose(pg_order_table **out, const pg_layout *L, const pg_traffic *t,
                    const pg_bw *bw, const char *requested);
void pg_order_table_free(pg_order_table *o);

/* A pg_grid_order_fn reading the chosen cells: ctx is an int array [size]
 * holding stage*dp + replica of each world rank. */
int pg_grid_order_cells(int r, int pp, int dp, void *ctx, int *stage, int *replica);

#endif
