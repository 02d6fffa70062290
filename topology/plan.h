/* plan.h: the placement of a whole job: every rank's node, grid cell, GPU,
 * cores, NUMA node and NIC, and the predicted communication time per step of
 * each candidate rank order (order.h) with the one chosen.
 *
 * Two ways to make one:
 *  - pg_plan_simulate: a dry run for `pipegrid topo`: N nodes alike, each
 *    with the topology of an XML file (or this machine), R ranks per node
 *    numbered node by node (block distribution, as mpiexec and srun place
 *    them by default). Nothing is bound.
 *  - pg_plan_live: inside an MPI job (collective): each rank reads its own
 *    node's topology, plans its node, world rank 0 chooses the order for
 *    the whole job (assuming nodes alike) and broadcasts it, and each rank
 *    binds itself according to `bind`:
 *      auto   bind when this is the live machine, the node has a core for
 *             every rank on it and no launcher bound the rank already;
 *             otherwise leave the binding alone and say why
 *      cores  bind; more ranks on a node than cores is an error
 *      none   never bind (the plan still chooses the order)
 * The per-rank table is gathered to world rank 0 for printing. */
#ifndef PG_PLAN_H
#define PG_PLAN_H

#include "runtime/config/config.h"
#include "topology/order.h"

#include <mpi.h>
#include <stdio.h>

typedef struct pg_plan_row {
    int rank, node, slot, stage, replica;
    char host[64];
    char gpu[PG_BUSID_LEN]; /* "" on CPU runs */
    char cpus[192];         /* PU list, as taskset -c takes it */
    int ncores, shared;
    char numa[32];          /* NUMA node list for memory binding */
    char nic[32], nic_busid[PG_BUSID_LEN], nic_path[12];
    char bound[48];         /* "yes", "planned" (dry run) or "no (why)" */
} pg_plan_row;

typedef struct pg_plan_args {
    const char *xml;     /* simulate: topology file, NULL = this machine */
    int nnodes, ranks_per_node; /* simulate: the cluster */
    int pp, dp;
    int use_gpus;        /* 1: one GPU per rank; 0: CPU run */
    int oversubscribe;   /* simulate: allow more ranks than cores */
    pg_order order;      /* parallel.order */
    pg_bind bind;        /* live: placement.bind */
    const char *gpu_links; /* placement.gpu_links: "" or NULL = the topology's (nvlink.h) */
    pg_bw bw;
    pg_traffic *traffic; /* taken over by the plan (freed with it, also on error) */
} pg_plan_args;

typedef struct pg_plan {
    int live, size, pp, dp, nnodes, ranks_per_node, use_gpus;
    pg_order order; /* requested */
    pg_bw bw;
    pg_topo *topo;          /* this rank's node (live) or every node's (simulated) */
    pg_node_plan *node;
    int *node_of, *slot_of; /* [size] */
    int *cell;              /* [size] stage*dp + replica: the chosen order; pass
                               pg_grid_order_cells with ctx = cell to pg_grid_create */
    pg_traffic *traffic;
    pg_order_table *orders; /* simulated, and world rank 0 when live; else NULL */
    pg_plan_row *rows;      /* [size] simulated, and world rank 0 when live */
    char note[256];         /* one remark for people ("" if none) */
} pg_plan;

int pg_plan_simulate(pg_plan **p, pg_plan_args *a);

/* Collective over world. Errors are agreed: every rank returns the same
 * code and *reporter is 1 on the one rank holding the message. */
int pg_plan_live(pg_plan **p, pg_plan_args *a, MPI_Comm world, int *reporter);

void pg_plan_free(pg_plan *p);

/* The plan table, the cost table and the choice, for people. */
void pg_plan_print(const pg_plan *p, FILE *f);

/* The same as one JSON document (cJSON). */
int pg_plan_print_json(const pg_plan *p, FILE *f);

#endif
