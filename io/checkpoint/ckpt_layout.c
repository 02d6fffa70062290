/* ckpt_layout.c: datasets of a checkpoint, where their data lives on this
 * rank, and digests (see ckpt_layout.h). */
#include "io/checkpoint/ckpt_layout.h"

#include "io/checkpoint/checkpoint.h"

#include "io/checkpoint/ckpt_h5.h"
#include "runtime/base/clock.h"
#include "runtime/base/error.h"

#include <sched.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <isa-l/crc.h>
#include <zlib.h>

int pg_ckpt_states(const char *optim, pg_ckpt_state states[PG_CKPT_MAX_STATES])
{
    states[0] = PG_CKPT_PARAMS;
    if (!strcmp(optim, "adamw")) {
        states[1] = PG_CKPT_EXP_AVG;
        states[2] = PG_CKPT_EXP_AVG_SQ;
        return 3;
    }
    if (!strcmp(optim, "sgd")) {
        states[1] = PG_CKPT_MOMENTUM;
        return 2;
    }
    return 0;
}

const char *pg_ckpt_group(pg_ckpt_state s)
{
    switch (s) {
    case PG_CKPT_PARAMS: return "/params";
    case PG_CKPT_EXP_AVG: return "/optim/exp_avg";
    case PG_CKPT_EXP_AVG_SQ: return "/optim/exp_avg_sq";
    case PG_CKPT_MOMENTUM: return "/optim/momentum";
    }
    return "?";
}

int pg_ckpt_tensors(const pg_model *m, pg_ckpt_tensor **out, int *n)
{
    *out = NULL;
    *n = 0;
    int total = 0;
    for (int l = 0; l < m->nlayers; l++) total += m->layers[l].nparams;
    pg_ckpt_tensor *t = calloc(total ? (size_t)total : 1, sizeof *t);
    if (!t) return pg_error(PG_ENOMEM, "checkpoint: out of memory");
    int k = 0, first_tied = -1;
    for (int l = 0; l < m->nlayers; l++) {
        const pg_layer *L = &m->layers[l];
        for (int p = 0; p < L->nparams; p++, k++) {
            const pg_param *P = &L->params[p];
            snprintf(t[k].name, sizeof t[k].name, "layers.%d.%s", L->index, P->name);
            if (P->tied && first_tied < 0) first_tied = k;
            else if (P->tied) {
                t[k].copy = 1;
                memcpy(t[k].name, t[first_tied].name, sizeof t[k].name);
            }
            t[k].layer = l;
            t[k].param = p;
            t[k].kind = L->kind->name;
            t[k].ndim = P->ndim;
            t[k].dims[0] = (uint64_t)P->dims[0];
            t[k].dims[1] = P->ndim == 2 ? (uint64_t)P->dims[1] : 1;
            t[k].n = P->n;
        }
    }
    *out = t;
    *n = total;
    return 0;
}

float *pg_ckpt_local(const pg_run *r, const pg_ckpt_tensor *t, pg_ckpt_state s)
{
    pg_optim *o = pg_engine_optim(r->engine);
    for (int i = 0; i < pg_engine_nstages(r->engine); i++) {
        pg_stage *st = pg_engine_stage(r->engine, i);
        if (t->layer < st->lo || t->layer >= st->hi) continue;
        size_t off = st->layers[t->layer - st->lo].params[t->param].offset;
        switch (s) {
        case PG_CKPT_PARAMS: return st->params + off;
        case PG_CKPT_EXP_AVG:
        case PG_CKPT_MOMENTUM: return o->m[i] + off;
        case PG_CKPT_EXP_AVG_SQ: return o->v[i] ? o->v[i] + off : NULL;
        }
    }
    return NULL;
}

void pg_ckpt_rows(const pg_ckpt_tensor *t, int replica, int dp, uint64_t *lo, uint64_t *hi)
{
    uint64_t rows = t->dims[0];
    *lo = rows * (uint64_t)replica / (uint64_t)dp;
    *hi = rows * (uint64_t)(replica + 1) / (uint64_t)dp;
}

uint32_t pg_crc32(uint32_t crc, const void *p, size_t n)
{
    /* ISA-L's folding CRC (PCLMULQDQ): the same CRC-32 as zlib's crc32(),
     * chaining included, about 5x faster (docs/checkpoint-format.md) */
    return crc32_gzip_refl(crc, p, n);
}

uint32_t pg_crc32_combine(uint32_t crc1, uint32_t crc2, uint64_t len2)
{
    return (uint32_t)crc32_combine(crc1, crc2, (z_off_t)len2);
}

/* Complete request q, spinning briefly and then yielding the CPU between
 * tests: MPICH's blocking calls busy-poll, which starves ranks that share
 * cores (docs/checkpoint-format.md). Usable from any thread (no watcher). */
static int wait_yield(MPI_Request *q)
{
    double t0 = pg_now();
    for (;;) {
        int done = 0;
        if (MPI_Test(q, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS)
            return pg_error(PG_ECOMM, "checkpoint: MPI request failed");
        if (done) return 0;
        if (pg_now() - t0 > 50e-6) sched_yield();
    }
}

int pg_ckpt_allreduce(void *buf, int n, MPI_Datatype type, MPI_Op op, MPI_Comm comm)
{
    MPI_Request q;
    if (MPI_Iallreduce(MPI_IN_PLACE, buf, n, type, op, comm, &q) != MPI_SUCCESS)
        return pg_error(PG_ECOMM, "checkpoint: allreduce failed");
    return wait_yield(&q);
}

int pg_ckpt_bcast(void *buf, int n, MPI_Datatype type, int root, MPI_Comm comm)
{
    MPI_Request q;
    if (MPI_Ibcast(buf, n, type, root, comm, &q) != MPI_SUCCESS)
        return pg_error(PG_ECOMM, "checkpoint: broadcast failed");
    return wait_yield(&q);
}

int pg_ckpt_agree(MPI_Comm comm, int rc)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    int who = rc ? rank : INT_MAX;
    if (pg_ckpt_allreduce(&who, 1, MPI_INT, MPI_MIN, comm)) return PG_ECOMM;
    if (who == INT_MAX) return 0;
    struct {
        int code;
        char msg[1024];
    } m = {rc, ""};
    if (rank == who) snprintf(m.msg, sizeof m.msg, "%s", pg_errmsg());
    if (pg_ckpt_bcast(&m, (int)sizeof m, MPI_BYTE, who, comm)) return PG_ECOMM;
    return pg_error(m.code, "%s", m.msg);
}

uint32_t pg_ckpt_combine(const pg_ckpt_tensor *t, const uint32_t *parts, int dp)
{
    uint32_t c = 0;
    for (int k = 0; k < dp; k++) {
        uint64_t lo, hi;
        pg_ckpt_rows(t, k, dp, &lo, &hi);
        c = pg_crc32_combine(c, parts[k], sizeof(float) * (hi - lo) * pg_ckpt_row_len(t));
    }
    return c;
}

size_t pg_ckpt_nonfinite(const float *x, size_t n)
{
    /* an exponent of all ones is Inf or NaN: only then does adding one to
     * the exponent field carry into the sign bit. Whole blocks of 1024 are
     * screened by OR-ing those sums (a reduction of known length that gcc
     * vectorises at -O2); a block that fails, and the tail, are searched
     * one by one */
    const uint32_t *u = (const uint32_t *)x;
    size_t i = 0;
    for (; i + 1024 <= n; i += 1024) {
        const uint32_t *b = u + i;
        uint32_t any = 0;
        for (int k = 0; k < 1024; k++) any |= (b[k] & 0x7f800000u) + 0x00800000u;
        if (any & 0x80000000u) break;
    }
    for (; i < n; i++)
        if ((u[i] & 0x7f800000u) == 0x7f800000u) return i;
    return n;
}

/* The root attributes the checksum covers, in this order (docs). */
static const char *const attrs_covered[] = {
    "format", "format_version", "step", "data_position", "optimizer_step", "optimizer",
    "config", "grid_pp", "grid_dp", "nranks", "schedule", "microbatches", "partition",
    "train_seed", "data_seed", "rng_state", "writer", "created"};

int pg_ckpt_attrs_crc(hid_t f, uint32_t *crc)
{
    uint32_t c = 0;
    for (size_t i = 0; i < sizeof attrs_covered / sizeof attrs_covered[0]; i++) {
        const char *name = attrs_covered[i];
        char *text = NULL;
        if (pg_h5_text(f, name, &text)) return -1;
        c = pg_crc32(c, name, strlen(name));
        c = pg_crc32(c, "=", 1);
        c = pg_crc32(c, text, strlen(text));
        c = pg_crc32(c, "\n", 1);
        free(text);
    }
    *crc = c;
    return 0;
}

struct pg_ckpt *pg_ckpt_of(pg_run *r)
{
    if (!r->ckpt && !(r->ckpt = calloc(1, sizeof *r->ckpt)))
        pg_error(PG_ENOMEM, "checkpoint: out of memory");
    if (r->ckpt) r->ckpt_free = pg_ckpt_free;
    return r->ckpt;
}
