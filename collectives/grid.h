/* grid.h: the 2D process grid, pp pipeline stages x dp data-parallel replicas.
 *
 * Every world rank gets coordinates (stage, replica). The stage is the rank's
 * position along its pipeline (with several model chunks per rank, see
 * schedule.h, a position holds several model stages). Communicators:
 *   pipe        the pp ranks of one replica, rank in it == stage
 *   stage_group the dp ranks at one stage, rank in it == replica
 * Which world rank takes which coordinates is decided by one replaceable
 * function (an "order"); topology-aware placement supplies its own. */
#ifndef PG_GRID_H
#define PG_GRID_H

#include "runtime/config/config.h"

#include <mpi.h>

/* Coordinates of world rank r; returns 0 or a pg_err. */
typedef int (*pg_grid_order_fn)(int r, int pp, int dp, void *ctx, int *stage, int *replica);

/* A pipeline on consecutive ranks: r = replica*pp + stage. */
int pg_grid_order_replica_major(int r, int pp, int dp, void *ctx, int *stage, int *replica);
/* A stage group on consecutive ranks: r = stage*dp + replica. */
int pg_grid_order_stage_major(int r, int pp, int dp, void *ctx, int *stage, int *replica);
/* The function of a fixed parallel.order (config.h); NULL for auto. */
pg_grid_order_fn pg_grid_order_of(pg_order order);

typedef struct pg_grid {
    MPI_Comm world;
    int rank, size;
    int pp, dp;
    int stage, replica;  /* this rank's coordinates */
    MPI_Comm pipe;       /* this replica's pipeline */
    MPI_Comm stage_group;/* this stage's replicas */
    int local_rank, local_size; /* among ranks on this node */
    int *rank_of;        /* [stage*dp + replica] -> world rank */
} pg_grid;

/* Build the grid on `world` (not freed by the grid). pp >= 1; dp = 0 infers
 * it from the world size. Fails with a message when pp*dp != world size or an
 * order does not give a permutation. Collective over `world`. */
int pg_grid_create(pg_grid **g, MPI_Comm world, int pp, int dp, pg_grid_order_fn order,
                   void *ctx);

/* World rank at (stage, replica). */
static inline int pg_grid_rank_at(const pg_grid *g, int stage, int replica)
{
    return g->rank_of[stage * g->dp + replica];
}

void pg_grid_free(pg_grid *g);

#endif
