/* run.c: building a run from its configuration. */
#include "runtime/engine/run.h"

#include "runtime/base/error.h"
#include "runtime/compute/device.h"
#include "runtime/partition/partition.h"

#include <stdlib.h>
#include <string.h>

/* Everything that needs no communication and is the same on every rank. */
static int build_local(pg_run *r, int world_size)
{
    const pg_config *c = &r->cfg;
    int rc = pg_config_check(c);
    if (rc) return rc;
    /* the grid checks pp x dp against the ranks, the engine checks the batch */
    int pp = c->parallel.pp;
    int dp = c->parallel.dp ? c->parallel.dp : (world_size / pp > 0 ? world_size / pp : 1);
    int b = c->train.batch_size / (dp * c->train.microbatches);
    if ((rc = pg_model_create(&r->model, c))) return rc;
    if (!strcmp(c->parallel.schedule, "file"))
        rc = pg_schedule_load(&r->sched, c->parallel.schedule_file, c->train.microbatches);
    else
        rc = pg_schedule_build(&r->sched, c->parallel.schedule, pp, c->parallel.chunks,
                               c->train.microbatches);
    if (rc) return rc;
    if (r->sched->pp != pp)
        return pg_error(PG_EINVAL, "%s: the schedule has %d ranks (lines), but parallel.pp=%d",
                        c->parallel.schedule_file, r->sched->pp, pp);
    r->first = malloc(sizeof(int) * (size_t)(r->sched->nstages + 1));
    if (!r->first) return pg_error(PG_ENOMEM, "out of memory");
    pg_shape mb = {b > 0 ? b : 1, r->model->T};
    if ((rc = pg_partition(r->model, r->sched->nstages, c->parallel.partition, mb, r->first)))
        return rc;
    if (!(r->ops = pg_ops_select(c->runtime.device, &r->device_note))) return PG_EINVAL;
    pg_device_precision(r->ops, c->runtime.precision, &r->precision_note);
    pg_device_kernels(r->ops, c->runtime.kernels == PG_KERNELS_FUSED);
    return pg_data_create(&r->data, c, r->model);
}

/* Placement: the node topology chooses the order (parallel.order=auto) and
 * binds the ranks (placement.bind); off when neither is asked for. A grid
 * that does not fit the ranks is left for the grid to report. */
static int place(pg_run *r, MPI_Comm world, int *reporter)
{
    const pg_config *c = &r->cfg;
    int size;
    MPI_Comm_size(world, &size);
    int pp = c->parallel.pp, dp = c->parallel.dp ? c->parallel.dp : size / pp;
    if ((c->parallel.order != PG_ORDER_AUTO && c->placement.bind == PG_BIND_NONE) ||
        pp * dp != size)
        return 0;
    int b = c->train.batch_size / (dp * c->train.microbatches);
    pg_shape mb = {b > 0 ? b : 1, r->model->T};
    pg_plan_args a = {.pp = pp, .dp = dp, .order = c->parallel.order, .bind = c->placement.bind,
                      .use_gpus = strcmp(r->ops->name, "cpu") != 0};
    pg_bw_defaults(&a.bw);
    a.bw.net = c->placement.net_gbs;
    a.bw.cross_rail = c->placement.cross_rail;
    a.gpu_links = c->placement.gpu_links;
    int rc = pg_traffic_create(&a.traffic, r->model, r->sched, r->first, dp, mb);
    if ((rc = pg_agree(world, rc, reporter))) return rc;
    return pg_plan_live(&r->plan, &a, world, reporter);
}

int pg_run_create(pg_run **out, const pg_config *cfg, MPI_Comm world, int *reporter)
{
    *out = NULL;
    *reporter = 0;
    int size;
    MPI_Comm_size(world, &size);
    pg_run *r = calloc(1, sizeof *r);
    int rc = r ? 0 : pg_error(PG_ENOMEM, "out of memory");
    if (r) {
        r->cfg = *cfg;
        rc = build_local(r, size);
    }
    if ((rc = pg_agree(world, rc, reporter))) goto fail;
    if ((rc = place(r, world, reporter))) goto fail;
    /* one GPU per rank, the placement's when there is one; before any allocation */
    rc = pg_device_bind(r->ops, world, pg_placement_gpu_busid(), r->device_desc,
                        sizeof r->device_desc, r->bind_note, sizeof r->bind_note);
    if ((rc = pg_agree(world, rc, reporter))) goto fail;
    pg_grid_order_fn order = r->plan ? pg_grid_order_cells
                                     : pg_grid_order_of(r->cfg.parallel.order);
    if (!order) order = pg_grid_order_replica_major; /* auto without a plan: a grid error follows */
    rc = pg_grid_create(&r->grid, world, r->cfg.parallel.pp, r->cfg.parallel.dp, order,
                        r->plan ? r->plan->cell : NULL);
    if ((rc = pg_agree(world, rc, reporter))) goto fail;
    pg_engine_args a = {&r->cfg, r->grid, r->model, r->sched, r->first, r->ops, r->data};
    rc = pg_engine_create(&r->engine, &a);
    if ((rc = pg_agree(world, rc, reporter))) goto fail;
    *out = r;
    return 0;
fail:
    pg_run_free(r);
    return rc;
}

void pg_run_free(pg_run *r)
{
    if (!r) return;
    if (r->ckpt) r->ckpt_free(r->ckpt);
    pg_engine_free(r->engine);
    pg_data_destroy(r->data);
    pg_schedule_free(r->sched);
    free(r->first);
    pg_model_free(r->model);
    pg_grid_free(r->grid);
    pg_plan_free(r->plan);
    free(r);
}

void pg_run_describe(const pg_run *r, FILE *f)
{
    const pg_config *c = &r->cfg;
    const pg_grid *g = r->grid;
    const pg_model *m = r->model;
    int b = c->train.batch_size / (g->dp * c->train.microbatches);
    pg_shape one = {1, m->T};
    char order[64];
    if (r->plan && r->plan->orders && c->parallel.order == PG_ORDER_AUTO)
        snprintf(order, sizeof order, "auto: %s", r->plan->orders->c[r->plan->orders->chosen].name);
    else
        snprintf(order, sizeof order, "%s", pg_order_names[c->parallel.order]);
    fprintf(f, "pipegrid: %d ranks as pp=%d x dp=%d (%s), schedule %s, %d microbatches of %d "
               "samples, device %s\n",
            g->size, g->pp, g->dp, order, r->sched->name, c->train.microbatches, b,
            r->ops->name);
    if (r->plan && r->plan->note[0]) fprintf(f, "note: %s\n", r->plan->note);
    if (r->plan && r->plan->use_gpus && r->plan->topo->nvlink_note[0])
        fprintf(f, "gpu links: %s\n", r->plan->topo->nvlink_note);
    if (r->device_note) fprintf(f, "note: %s\n", r->device_note);
    if (r->precision_note) fprintf(f, "note: %s\n", r->precision_note);
    if (r->bind_note[0]) fprintf(f, "note: %s\n", r->bind_note);
    if (r->device_desc[0])
        fprintf(f, "device: rank 0 on %s, precision %s\n", r->device_desc,
                pg_precision_names[c->runtime.precision]);
    if (m->input == PG_INPUT_TOKENS)
        fprintf(f, "model: %s, vocab %d, ctx %d, depth %d, heads %d, width %d, %s embeddings; "
                   "%zu parameters%s, %.4g FLOP per token (forward; x3 with backward)\n",
                pg_model_type_names[c->model.type], m->input_width, m->T, c->model.depth, c->model.heads,
                c->model.width, c->model.tied ? "tied" : "untied",
                pg_model_unique_param_count(m), c->model.tied ? " (tied copy counted once)" : "",
                pg_model_flops(m, 0, m->nlayers, one) / m->T);
    else
        fprintf(f, "model: %s, %d layers, %zu parameters, %.3g FLOP per sample (forward)\n",
                pg_model_type_names[c->model.type], m->nlayers, pg_model_param_count(m, 0, m->nlayers),
                pg_model_flops(m, 0, m->nlayers, one));
    fprintf(f, "partition (%s):\n", c->parallel.partition);
    pg_partition_print(m, r->sched->nstages, r->first, (pg_shape){b, m->T}, f);
}

int pg_run_gather_params(const pg_run *r, float **out, size_t *n)
{
    const pg_grid *g = r->grid;
    const pg_model *m = r->model;
    *out = NULL;
    *n = pg_model_param_count(m, 0, m->nlayers);
    float *all = NULL;
    if (g->rank == 0 && !(all = malloc(sizeof(float) * (*n ? *n : 1))))
        return pg_error(PG_ENOMEM, "gather: out of memory");
    /* stage s's parameters come from its owner in replica 0, in stage order */
    size_t off = 0;
    for (int s = 0; s < r->sched->nstages; s++) {
        size_t cnt = pg_model_param_count(m, r->first[s], r->first[s + 1]);
        int owner = pg_grid_rank_at(g, r->sched->stage_rank[s], 0);
        float *host = NULL;
        if (g->rank == owner) {
            pg_stage *st = NULL;
            for (int i = 0; i < pg_engine_nstages(r->engine); i++)
                if (pg_engine_stage(r->engine, i)->id == s) st = pg_engine_stage(r->engine, i);
            host = g->rank == 0 ? all + off : malloc(sizeof(float) * (cnt ? cnt : 1));
            if (!host) return pg_error(PG_ENOMEM, "gather: out of memory");
            r->ops->download(host, st->params, sizeof(float) * cnt);
            if (g->rank != 0) {
                MPI_Send(host, (int)cnt, MPI_FLOAT, 0, s, g->world);
                free(host);
            }
        } else if (g->rank == 0) {
            MPI_Recv(all + off, (int)cnt, MPI_FLOAT, owner, s, g->world, MPI_STATUS_IGNORE);
        }
        off += cnt;
    }
    *out = all;
    return 0;
}
