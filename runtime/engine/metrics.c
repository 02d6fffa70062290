/* metrics.c: JSON lines per step (see metrics.h). */
#include "runtime/engine/metrics.h"

#include "runtime/base/clock.h"
#include "runtime/base/error.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pg_metrics {
    const pg_run *r;
    FILE *f;           /* rank 0 only */
    double *peak;      /* [world size] on rank 0 */
    double step_gflop; /* model FLOPs of one step, GFLOP */
};

int pg_metrics_open(pg_metrics **out, const char *path, const pg_run *r, int *reporter)
{
    *out = NULL;
    int rc = 0;
    pg_metrics *m = calloc(1, sizeof *m);
    if (!m) rc = pg_error(PG_ENOMEM, "metrics: out of memory");
    if (!rc) {
        m->r = r;
        const pg_model *md = r->model;
        pg_shape batch = {r->cfg.train.batch_size, md->T};
        m->step_gflop = 3.0 * pg_model_flops(md, 0, md->nlayers, batch) / 1e9;
    }
    if (!rc && r->grid->rank == 0) {
        m->peak = calloc((size_t)r->grid->size, sizeof(double));
        if (!m->peak) rc = pg_error(PG_ENOMEM, "metrics: out of memory");
        else if (!(m->f = fopen(path, "a")))
            rc = pg_error(PG_EIO, "--metrics: cannot open '%s' for writing: %s", path,
                          strerror(errno));
    }
    if ((rc = pg_agree(r->grid->world, rc, reporter))) {
        pg_metrics_close(m);
        return rc;
    }
    *out = m;
    return 0;
}

int pg_metrics_step(pg_metrics *m, const pg_step_stats *s)
{
    const pg_run *r = m->r;
    double mine = pg_peak_rss_mb();
    MPI_Request req;
    MPI_Igather(&mine, 1, MPI_DOUBLE, m->peak, 1, MPI_DOUBLE, 0, r->grid->world, &req);
    int rc = pg_wait_mpi(&req, 1, r->cfg.runtime.watchdog_s, "the peak-memory gather (--metrics)");
    if (rc || r->grid->rank != 0) return rc;
    cJSON *o = cJSON_CreateObject();
    if (!o) return pg_error(PG_ENOMEM, "metrics: out of memory");
    int tokens = r->model->input == PG_INPUT_TOKENS;
    double peak = r->cfg.runtime.peak_gflops;
    cJSON_AddNumberToObject(o, "step", s->step);
    cJSON_AddNumberToObject(o, "loss", s->loss);
    cJSON_AddNumberToObject(o, "lr", s->lr);
    cJSON_AddNumberToObject(o, "grad_norm", s->grad_norm);
    cJSON_AddNumberToObject(o, "step_time", s->step_time);
    cJSON_AddNumberToObject(o, "samples_per_s", s->samples_per_s);
    if (tokens) cJSON_AddNumberToObject(o, "tokens_per_s", s->samples_per_s * r->model->T);
    else cJSON_AddNullToObject(o, "tokens_per_s");
    cJSON_AddNumberToObject(o, "model_gflop", m->step_gflop);
    if (peak > 0 && s->step_time > 0)
        cJSON_AddNumberToObject(o, "mfu", m->step_gflop / s->step_time / (r->grid->size * peak));
    else cJSON_AddNullToObject(o, "mfu");
    cJSON_AddNumberToObject(o, "compute_time", s->compute_time);
    cJSON_AddNumberToObject(o, "bubble", s->bubble);
    cJSON_AddNumberToObject(o, "exposed_comm", s->exposed_comm);
    cJSON *mem = cJSON_AddArrayToObject(o, "peak_mem_mb");
    for (int i = 0; mem && i < r->grid->size; i++)
        cJSON_AddItemToArray(mem, cJSON_CreateNumber(m->peak[i]));
    char *line = mem ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!line) return pg_error(PG_ENOMEM, "metrics: out of memory");
    if (fprintf(m->f, "%s\n", line) < 0 || fflush(m->f))
        rc = pg_error(PG_EIO, "--metrics: write failed: %s", strerror(errno));
    free(line);
    return rc;
}

void pg_metrics_close(pg_metrics *m)
{
    if (!m) return;
    if (m->f) fclose(m->f);
    free(m->peak);
    free(m);
}
