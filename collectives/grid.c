/* grid.c: world ranks -> (stage, replica) and the sub-communicators. */
#include "collectives/grid.h"

#include "runtime/base/error.h"

#include <stdlib.h>
#include <string.h>

int pg_grid_order_replica_major(int r, int pp, int dp, void *ctx, int *stage, int *replica)
{
    (void)dp, (void)ctx;
    *stage = r % pp;
    *replica = r / pp;
    return 0;
}

int pg_grid_order_stage_major(int r, int pp, int dp, void *ctx, int *stage, int *replica)
{
    (void)pp, (void)ctx;
    *stage = r / dp;
    *replica = r % dp;
    return 0;
}

pg_grid_order_fn pg_grid_order_of(pg_order order)
{
    return order == PG_ORDER_REPLICA_MAJOR ? pg_grid_order_replica_major
           : order == PG_ORDER_STAGE_MAJOR ? pg_grid_order_stage_major
                                           : NULL;
}

int pg_grid_create(pg_grid **out, MPI_Comm world, int pp, int dp, pg_grid_order_fn order,
                   void *ctx)
{
    int rank, size;
    MPI_Comm_rank(world, &rank);
    MPI_Comm_size(world, &size);
    *out = NULL;
    if (pp < 1) return pg_error(PG_EINVAL, "grid: pp must be >= 1, got %d", pp);
    if (dp == 0) {
        if (size % pp)
            return pg_error(PG_EINVAL,
                            "grid: %d ranks cannot be split into pp=%d pipeline stages "
                            "(ranks must be a multiple of pp)",
                            size, pp);
        dp = size / pp;
    }
    if (pp * dp != size)
        return pg_error(PG_EINVAL, "grid: pp=%d x dp=%d = %d ranks, but the job has %d ranks",
                        pp, dp, pp * dp, size);

    pg_grid *g = calloc(1, sizeof *g);
    int *rank_of = malloc(sizeof(int) * (size_t)size);
    if (!g || !rank_of) {
        free(g);
        free(rank_of);
        return pg_error(PG_ENOMEM, "grid: out of memory");
    }
    for (int i = 0; i < size; i++) rank_of[i] = -1;
    for (int r = 0; r < size; r++) {
        int s, d, rc = order(r, pp, dp, ctx, &s, &d);
        if (rc) goto fail;
        if (s < 0 || s >= pp || d < 0 || d >= dp || rank_of[s * dp + d] != -1) {
            pg_error(PG_EINVAL, "grid: the rank order maps rank %d to (stage %d, replica %d), "
                                "which is out of range or taken",
                     r, s, d);
            goto fail;
        }
        rank_of[s * dp + d] = r;
        if (r == rank) {
            g->stage = s;
            g->replica = d;
        }
    }
    g->world = world;
    g->rank = rank;
    g->size = size;
    g->pp = pp;
    g->dp = dp;
    g->rank_of = rank_of;
    MPI_Comm_split(world, g->replica, g->stage, &g->pipe);
    MPI_Comm_split(world, g->stage, g->replica, &g->stage_group);
    MPI_Comm local;
    MPI_Comm_split_type(world, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &local);
    MPI_Comm_rank(local, &g->local_rank);
    MPI_Comm_size(local, &g->local_size);
    MPI_Comm_free(&local);
    *out = g;
    return 0;
fail:
    free(rank_of);
    free(g);
    return PG_EINVAL;
}

void pg_grid_free(pg_grid *g)
{
    if (!g) return;
    MPI_Comm_free(&g->pipe);
    MPI_Comm_free(&g->stage_group);
    free(g->rank_of);
    free(g);
}
