/* engine.c: the schedule executor (see engine.h). */
#include "runtime/engine/engine.h"

#include "collectives/buckets.h"
#include "runtime/base/clock.h"
#include "runtime/base/error.h"
#include "runtime/base/range.h"
#include "runtime/guard/watchdog.h"
#include "runtime/model/tied.h"
#include "runtime/observe/trace.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A transfer in flight: a send or receive of one microbatch's activation or
 * gradient. */
typedef struct pending {
    pg_req req;
    int kind; /* PG_SEND_F, PG_SEND_B, PG_RECV_F, PG_RECV_B */
    int stage, mb;
    pg_slot *slot; /* sends: the slot they read */
    pg_comm *comm;
    double t_post, t_done; /* t_done: when a test saw it finish, 0 before */
} pending;

struct pg_engine {
    const pg_config *cfg;
    const pg_grid *grid;
    const pg_model *model;
    const pg_schedule *sched;
    const pg_ops *ops;
    pg_data *data;
    pg_comm *pipe, *group;
    int nlocal;
    pg_stage **stages;
    int *local_of; /* [nstages] local index or -1 */
    unsigned char *last_use; /* [len] action i is the last to touch its slot */
    unsigned char *final_grad; /* [len] action i is its stage's last weight-gradient one */
    unsigned char *posted;   /* [len] RECV action i was posted ahead of its turn */
    pg_buckets **buckets;    /* [nlocal] gradient buckets (dp > 1), else NULL */
    int grad_stage;          /* stage whose final weight gradients are running, or -1 */
    int hook_rc;             /* first error raised inside the layer hook */
    pg_optim *optim;
    pg_tied *tied; /* tied embedding copies on this rank (NULL: none) */
    int steps_done;
    int eval_batch;       /* >= 0: forwards read validation batch eval_batch (pg_engine_eval) */
    int G, b; /* global batch, samples per microbatch */
    /* host staging for data and losses */
    float *hx, *htarget, *hlosses;
    int *htokens, *hlabels;
    /* operations in flight */
    pending *pend;
    int npend, cap;
    /* per-step accounting */
    double compute, loss_sum;
    double recv_wait;     /* blocked on pipeline neighbours' messages */
    double exposed_comm;  /* blocked on gradient allreduce at the step end */
    int nf_key;           /* where NaN/Inf first appeared this step (nf_key()), INT_MAX: nowhere */
};

static int progress(pg_engine *e);

/* ---- helpers ---- */

static int tag_of(const pg_engine *e, int kind, int stage, int mb)
{
    int S = e->sched->nstages;
    int boundary = (kind == PG_SEND_F || kind == PG_RECV_F)
                       ? (kind == PG_SEND_F ? stage : stage - 1)
                       : (kind == PG_SEND_B ? stage - 1 : stage);
    int dir = (kind == PG_SEND_B || kind == PG_RECV_B);
    return (mb * S + boundary) * 2 + dir;
}

static pg_stage *local(const pg_engine *e, int stage)
{
    int i = e->local_of[stage];
    return i >= 0 ? e->stages[i] : NULL;
}

static pg_shape mb_shape(const pg_engine *e) { return (pg_shape){e->b, e->model->T}; }

static pg_mb mb_desc(const pg_engine *e)
{
    pg_mb m = {.shape = mb_shape(e)};
    m.loss_scale = 1.0f / ((float)e->G * (float)e->model->T);
    return m;
}

static int push_pending(pg_engine *e, pending p, pending **out)
{
    if (e->npend == e->cap) {
        int cap = e->cap ? 2 * e->cap : 64;
        pending *grown = realloc(e->pend, sizeof(pending) * (size_t)cap);
        if (!grown) return pg_error(PG_ENOMEM, "engine: out of memory");
        e->pend = grown;
        e->cap = cap;
    }
    e->pend[e->npend] = p;
    *out = &e->pend[e->npend++];
    return 0;
}

static void drop_pending(pg_engine *e, int i) { e->pend[i] = e->pend[--e->npend]; }

static void maybe_release(pg_engine *e, int stage, pg_slot *sl)
{
    if (sl->finished && sl->pending_sends == 0) pg_stage_release_slot(local(e, stage), sl);
}

static void describe(const pg_engine *e, const pending *p, char *buf, size_t n)
{
    char act[32];
    pg_action_str((pg_action){p->kind, p->stage, p->mb}, act);
    int peer_stage = (p->kind == PG_SEND_F || p->kind == PG_RECV_B) ? p->stage + 1 : p->stage - 1;
    int peer = pg_grid_rank_at(e->grid, e->sched->stage_rank[peer_stage], e->grid->replica);
    snprintf(buf, n, "%s (microbatch %d, %s rank %d)", act, p->mb,
             (p->kind == PG_SEND_F || p->kind == PG_SEND_B) ? "to" : "from", peer);
}

/* Complete pending[i] (waiting as needed) and forget it. *waited gets the
 * seconds spent blocked. */
static int complete(pg_engine *e, int i, double *waited)
{
    pending p = e->pend[i];
    char what[160];
    describe(e, &p, what, sizeof what);
    int rc = pg_wait(p.comm, &p.req, e->cfg->runtime.watchdog_s, what, waited);
    if (rc) return rc;
    drop_pending(e, i);
    if (pg_trace_on()) {
        int send = p.kind == PG_SEND_F || p.kind == PG_SEND_B;
        pg_trace_span(send ? PG_SPAN_SEND : PG_SPAN_RECV, p.t_post, p.t_done ? p.t_done : pg_now(),
                      p.stage, p.mb, p.kind);
    }
    if (p.slot && --p.slot->pending_sends == 0) maybe_release(e, p.stage, p.slot);
    return 0;
}

static int find_pending(const pg_engine *e, int kind, int stage, int mb)
{
    for (int i = 0; i < e->npend; i++)
        if (e->pend[i].kind == kind && e->pend[i].stage == stage && e->pend[i].mb == mb) return i;
    return -1;
}

/* Test the transfers in flight without blocking (this is also what drives
 * MPI's progress between actions and between layers): finished sends are
 * forgotten so their slots can be reused; finished receives stay pending,
 * inactive, until their consumer collects them. */
static int poll_p2p(pg_engine *e)
{
    for (int i = 0; i < e->npend;) {
        pending *p = &e->pend[i];
        if (!p->req.active) {
            i++;
            continue;
        }
        int done = 0, rc = p->comm->ops->test(p->comm, &p->req, &done);
        if (rc) return rc;
        if (done) p->t_done = pg_now();
        if (!done || (p->kind != PG_SEND_F && p->kind != PG_SEND_B)) {
            i++;
            continue;
        }
        pg_slot *sl = p->slot;
        int stage = p->stage;
        pg_trace_span(PG_SPAN_SEND, p->t_post, p->t_done, p->stage, p->mb, p->kind);
        drop_pending(e, i);
        if (--sl->pending_sends == 0) maybe_release(e, stage, sl);
    }
    return 0;
}

/* Test everything in flight: transfers and gradient buckets. */
static int progress(pg_engine *e)
{
    int rc = poll_p2p(e);
    for (int i = 0; i < e->nlocal && !rc; i++)
        if (e->buckets[i]) rc = pg_buckets_poll(e->buckets[i]);
    return rc;
}

/* The stage hook (stage.h), after every layer: when the layer just finished
 * the last weight-gradient accumulation of its stage this step, the
 * gradients of it and of every later layer are final, so the buckets they
 * fill start their allreduce; then drive whatever is in flight. */
static void after_layer(void *ctx, pg_stage *st, int k, int weight)
{
    pg_engine *e = ctx;
    if (e->hook_rc) return;
    pg_buckets *b = e->buckets[e->local_of[st->id]];
    int rc = 0;
    if (b && weight && st->id == e->grad_stage) {
        size_t off = 0; /* first gradient of layer k: layers are laid out in order */
        for (int j = 0; j < k; j++)
            for (int p = 0; p < st->layers[j].nparams; p++) off += st->layers[j].params[p].n;
        /* no device sync: the allreduce is ordered after the queued backward
         * by its backend (comm.h) */
        rc = pg_buckets_ready(b, off);
    }
    if (!rc) rc = progress(e);
    e->hook_rc = rc;
}

static pg_slot *slot_for(pg_engine *e, int stage, int mb)
{
    pg_slot *sl = pg_stage_slot(local(e, stage), mb, mb_shape(e));
    if (!sl)
        pg_error(PG_ENOMEM, "engine: out of memory for activations of stage %d microbatch %d",
                 stage, mb);
    return sl;
}

/* ---- data ---- */

static int load_batch(pg_engine *e, pg_stage *st, pg_slot *sl, int mb)
{
    int first = pg_stage_is_first(st), last = pg_stage_is_last(st);
    const pg_model *m = e->model;
    int64_t batch = e->eval_batch >= 0 ? e->eval_batch : e->steps_done;
    int64_t sample = batch * e->G +
                     (int64_t)e->grid->replica * (e->G / e->grid->dp) + (int64_t)mb * e->b;
    size_t rows = (size_t)e->b * (size_t)m->T;
    int feats = first && m->input == PG_INPUT_FEATURES, toks = first && !feats;
    int ftarget = last && m->target == PG_TARGET_FLOAT, labels = last && !ftarget;
    double t0 = pg_now();
    int rc = e->data->get(e->data, sample, e->b, feats ? e->hx : NULL, toks ? e->htokens : NULL,
                          ftarget ? e->htarget : NULL, labels ? e->hlabels : NULL);
    if (rc) return rc;
    if (feats) e->ops->upload(sl->act[0], e->hx, sizeof(float) * rows * m->input_width);
    if (toks) e->ops->upload(sl->tokens, e->htokens, sizeof(int) * rows);
    if (ftarget) e->ops->upload(sl->target, e->htarget, sizeof(float) * rows * m->target_width);
    if (labels) e->ops->upload(sl->labels, e->hlabels, sizeof(int) * rows);
    pg_trace_span(PG_SPAN_DATA, t0, pg_now(), st->id, mb, -1);
    return 0;
}

/* ---- actions ---- */

/* Post transfer action a (PG_SEND_F, PG_SEND_B, PG_RECV_F, PG_RECV_B): the
 * one place that knows which buffer each moves. A forward transfer carries the
 * activations at a stage boundary, a backward one their gradient; a receive
 * takes (or makes) its microbatch's slot, a send reads the slot its compute
 * action filled and holds it until the send completes. */
static int post(pg_engine *e, pg_action a)
{
    pg_stage *st = local(e, a.stage);
    int send = a.kind == PG_SEND_F || a.kind == PG_SEND_B;
    pg_slot *sl = send ? pg_stage_find_slot(st, a.mb) : slot_for(e, a.stage, a.mb);
    if (!sl) return send ? pg_error(PG_EINVAL, "engine: %s before its compute action",
                                    pg_action_str(a, (char[32]){0}))
                        : PG_ENOMEM;
    size_t rows = (size_t)e->b * e->model->T;
    size_t n_in = rows * pg_stage_in_width(st), n_out = rows * pg_stage_out_width(st);
    float *buf = a.kind == PG_RECV_F ? sl->act[0]            /* (b, T, in) */
                 : a.kind == PG_SEND_F ? sl->act[st->nlayers] /* (b, T, out) */
                 : a.kind == PG_RECV_B ? sl->grad[st->nlayers] /* (b, T, out) */
                                       : sl->grad[0];          /* (b, T, in) */
    size_t n = (a.kind == PG_RECV_F || a.kind == PG_SEND_B) ? n_in : n_out;
    int peer_stage = (a.kind == PG_SEND_F || a.kind == PG_RECV_B) ? a.stage + 1 : a.stage - 1;
    int peer = e->sched->stage_rank[peer_stage];
    int tag = tag_of(e, a.kind, a.stage, a.mb);
    pending p = {.kind = a.kind, .stage = a.stage, .mb = a.mb, .comm = e->pipe, .t_post = pg_now()};
    pending *q = NULL;
    int rc = push_pending(e, p, &q);
    if (rc) return rc;
    if (send) {
        q->slot = sl;
        sl->pending_sends++;
        return e->pipe->ops->isend(e->pipe, buf, n, peer, tag, &q->req);
    }
    return e->pipe->ops->irecv(e->pipe, buf, n, peer, tag, &q->req);
}

/* Wait for a posted receive of (kind, stage, mb), if one is pending. */
static int wait_recv(pg_engine *e, int kind, int stage, int mb)
{
    int i = find_pending(e, kind, stage, mb);
    if (i < 0) return 0;
    double waited, t0 = pg_now();
    int rc = complete(e, i, &waited);
    e->recv_wait += waited;
    if (waited > 0) pg_trace_span(PG_SPAN_WAIT, t0, pg_now(), stage, mb, kind);
    return rc;
}

static int do_forward(pg_engine *e, int stage, int mb)
{
    pg_stage *st = local(e, stage);
    pg_slot *sl = slot_for(e, stage, mb);
    if (!sl) return PG_ENOMEM;
    int rc;
    if ((pg_stage_is_first(st) || pg_stage_is_last(st)) && (rc = load_batch(e, st, sl, mb)))
        return rc;
    if ((rc = wait_recv(e, PG_RECV_F, stage, mb))) return rc;
    pg_mb desc = mb_desc(e);
    double t0 = pg_now();
    pg_stage_forward(st, sl, &desc);
    e->ops->sync();
    double t1 = pg_now();
    e->compute += t1 - t0;
    pg_trace_span(PG_SPAN_FORWARD, t0, t1, stage, mb, PG_F);
    size_t rows = (size_t)pg_rows(desc.shape);
    if (pg_stage_is_last(st)) {
        e->ops->download(e->hlosses, sl->losses, sizeof(float) * rows);
        double sum = 0.0;
        for (size_t i = 0; i < rows; i++) sum += e->hlosses[i];
        e->loss_sum += sum;
    } else if (local(e, stage + 1)) { /* hand the output to the next stage here */
        pg_slot *next = slot_for(e, stage + 1, mb);
        if (!next) return PG_ENOMEM;
        e->ops->copy(next->act[0], sl->act[st->nlayers], sizeof(float) * rows * pg_stage_out_width(st));
    }
    return 0;
}

static int do_backward(pg_engine *e, int kind, int stage, int mb)
{
    pg_stage *st = local(e, stage);
    pg_slot *sl = pg_stage_find_slot(st, mb);
    if (!sl)
        return pg_error(PG_EINVAL, "engine: backward of stage %d microbatch %d before its forward",
                        stage, mb);
    int rc;
    if (kind != PG_W && (rc = wait_recv(e, PG_RECV_B, stage, mb))) return rc;
    pg_mb desc = mb_desc(e);
    double t0 = pg_now();
    if (kind != PG_W) pg_stage_backward_input(st, sl, &desc, !pg_stage_is_first(st));
    if (kind != PG_I) pg_stage_backward_weight(st, sl, &desc);
    e->ops->sync();
    double t1 = pg_now();
    e->compute += t1 - t0;
    pg_trace_span(kind == PG_B ? PG_SPAN_BACKWARD : kind == PG_I ? PG_SPAN_BACKWARD_I
                                                                 : PG_SPAN_BACKWARD_W,
                  t0, t1, stage, mb, kind);
    if (kind != PG_W && !pg_stage_is_first(st) && local(e, stage - 1)) {
        /* hand the input gradient to the previous stage here */
        pg_stage *prev = local(e, stage - 1);
        pg_slot *to = pg_stage_find_slot(prev, mb);
        size_t n = (size_t)pg_rows(desc.shape) * pg_stage_in_width(st);
        e->ops->copy(to->grad[prev->nlayers], sl->grad[0], sizeof(float) * n);
    }
    return 0;
}

/* The stage's gradients are final: launch the buckets the backward has not
 * launched yet (all of them with one bucket, parallel.bucket_mb = 0). */
static int do_reduce(pg_engine *e, int stage)
{
    pg_buckets *b = e->buckets[e->local_of[stage]];
    if (!b) return 0;
    return pg_buckets_ready(b, 0); /* ordered after the backward by the backend (comm.h) */
}

/* ---- NaN/Inf ---- */

/* Where a non-finite value can first appear in a step, as an order: the
 * forwards run from stage 0 up (the last stage's forward ends in the loss),
 * the backwards from the last stage down. The smallest key over the grid is
 * the first place. */
static int nf_key(int nstages, int stage, int backward)
{
    return backward ? 2 * nstages - 1 - stage : stage;
}

static void nf_note(pg_engine *e, int key)
{
    if (key < e->nf_key) e->nf_key = key;
}

/* After action a: its output (a forward's activations, a backward's input
 * gradient) holds a NaN/Inf? One sum of squares on the device. Losses and
 * weight gradients are checked at the step end. */
static void check_finite(pg_engine *e, pg_action a)
{
    if (a.kind != PG_F && a.kind != PG_B && a.kind != PG_I) return;
    pg_stage *st = local(e, a.stage);
    pg_slot *sl = pg_stage_find_slot(st, a.mb);
    size_t rows = (size_t)e->b * e->model->T;
    int S = e->sched->nstages;
    if (a.kind == PG_F && !pg_stage_is_last(st) &&
        !isfinite(e->ops->sumsq(sl->act[st->nlayers], rows * pg_stage_out_width(st))))
        nf_note(e, nf_key(S, a.stage, 0));
    if (a.kind != PG_F && !pg_stage_is_first(st) &&
        !isfinite(e->ops->sumsq(sl->grad[0], rows * pg_stage_in_width(st))))
        nf_note(e, nf_key(S, a.stage, 1));
}

/* ---- the step end (PG_OPTIM), in phases ---- */

/* Phase 1: the sends still in flight. */
static int drain_sends(pg_engine *e)
{
    while (e->npend > 0) {
        double waited, tw = pg_now();
        pending *p = &e->pend[e->npend - 1];
        int stage = p->stage, mb = p->mb, kind = p->kind;
        int rc = complete(e, e->npend - 1, &waited);
        if (rc) return rc;
        if (waited > 0) pg_trace_span(PG_SPAN_WAIT_SEND, tw, pg_now(), stage, mb, kind);
    }
    return 0;
}

/* Phase 2: the gradient allreduce still in flight (its wait is the exposed
 * communication), then the tied embedding copies' exchange. */
static int finish_grads(pg_engine *e)
{
    for (int i = 0; i < e->nlocal; i++) {
        double waited;
        if (!e->buckets[i]) continue;
        int rc = pg_buckets_finish(e->buckets[i], e->cfg->runtime.watchdog_s, &waited);
        if (rc) return rc;
        e->exposed_comm += waited;
    }
    return pg_tied_reduce(e->tied, e->cfg->runtime.watchdog_s);
}

/* What the step-end allreduce gathers. */
typedef struct step_sums {
    double sumsq;            /* squared gradient norm over all stages */
    double loss, compute, exposed; /* sums over the world */
    double peak_mb;          /* max over the world */
    int first_nf;            /* nf_key of the first NaN/Inf over the grid, INT_MAX: none */
    double t_sync, t_synced; /* the allreduce's start and end on this rank */
} step_sums;

/* Phase 3: per-stage gradient sums of squares (replica 0 contributes,
 * gradients being equal on all replicas after the allreduce), the loss sum
 * (all last-stage ranks), compute and exposed-communication time summed; peak
 * memory and the first NaN/Inf place (as -nf_key) maxed; sum and max in
 * flight at once. */
static int world_sums(pg_engine *e, step_sums *out)
{
    int S = e->sched->nstages;
    enum { LOSS, COMPUTE, EXPOSED, NSTAT };
    double *v = calloc((size_t)S + NSTAT, sizeof(double));
    if (!v) return pg_error(PG_ENOMEM, "engine: out of memory");
    if (e->grid->replica == 0)
        for (int i = 0; i < e->nlocal; i++)
            v[e->stages[i]->id] = pg_tied_stage_sumsq(e->stages[i]);
    v[S + LOSS] = e->loss_sum;
    v[S + COMPUTE] = e->compute;
    v[S + EXPOSED] = e->exposed_comm;
    if (!isfinite(e->loss_sum)) nf_note(e, nf_key(S, S - 1, 0)); /* the loss: last forward */
    double mx[2] = {pg_peak_rss_mb(), -(double)e->nf_key};
    MPI_Request req[2];
    out->t_sync = pg_now();
    MPI_Iallreduce(MPI_IN_PLACE, v, S + NSTAT, MPI_DOUBLE, MPI_SUM, e->grid->world, &req[0]);
    MPI_Iallreduce(MPI_IN_PLACE, mx, 2, MPI_DOUBLE, MPI_MAX, e->grid->world, &req[1]);
    int rc = pg_wait_mpi(req, 2, e->cfg->runtime.watchdog_s,
                         "the step-end allreduce (loss, gradient norm) with all ranks");
    out->t_synced = pg_now();
    pg_trace_span(PG_SPAN_SYNC, out->t_sync, out->t_synced, -1, -1, -1);
    if (!rc) {
        out->sumsq = 0.0;
        out->first_nf = (int)-mx[1];
        for (int s = 0; s < S; s++) { /* a stage's non-finite gradient: its backward */
            out->sumsq += v[s];
            if (!isfinite(v[s]) && nf_key(S, s, 1) < out->first_nf) out->first_nf = nf_key(S, s, 1);
        }
        out->loss = v[S + LOSS];
        out->compute = v[S + COMPUTE];
        out->exposed = v[S + EXPOSED];
        out->peak_mb = mx[0];
    }
    free(v);
    return rc;
}

/* The step's statistics from the world sums (all but the timing fields
 * filled after the optimizer). */
static void step_stats(const pg_engine *e, const step_sums *w, pg_step_stats *out)
{
    int S = e->sched->nstages, first = w->first_nf;
    double n = e->grid->size;
    memset(out, 0, sizeof *out);
    out->loss = w->loss / ((double)e->G * e->model->T);
    out->grad_norm = sqrt(w->sumsq);
    out->compute_time = w->compute / n;
    out->exposed_comm = w->exposed / n;
    out->peak_mem_mb = w->peak_mb;
    out->lr = pg_optim_lr(e->cfg, e->steps_done);
    out->nonfinite = !isfinite(out->grad_norm) || !isfinite(out->loss) || first != INT_MAX;
    out->nonfinite_stage = first == INT_MAX ? -1 : first < S ? first : 2 * S - 1 - first;
    out->nonfinite_where = first == INT_MAX ? PG_NF_NORM
                           : first == S - 1 ? PG_NF_LOSS
                           : first < S      ? PG_NF_FORWARD
                                            : PG_NF_BACKWARD;
}

/* Phase 4: the update, gradients clipped to optim.clip_norm. */
static void update(pg_engine *e, const pg_step_stats *st)
{
    pg_watchdog_phase(PG_PHASE_OPTIMIZER);
    double t0 = pg_now(), norm = st->grad_norm, clip = e->cfg->optim.clip_norm;
    float scale = (clip > 0 && norm > clip) ? (float)(clip / (norm + 1e-6)) : 1.0f;
    pg_optim_step(e->optim, st->lr, scale);
    e->ops->sync();
    pg_trace_span(PG_SPAN_OPTIMIZER, t0, pg_now(), -1, -1, -1);
}

/* The step end: drain, finish the gradients, gather the statistics, update
 * unless a NaN/Inf appeared. The bubble is the share of this rank's step, up
 * to the end of the statistics allreduce, it spent waiting on others (blocked
 * receives, then the wait for the slowest rank in that allreduce), both
 * measured on this rank, so it lies in [0, 1]; it is averaged over ranks by a
 * second small allreduce that runs while the optimizer works. */
static int finish_step(pg_engine *e, pg_step_stats *out, double t0)
{
    pg_watchdog_phase(PG_PHASE_ALLREDUCE);
    step_sums w = {0};
    int rc = drain_sends(e);
    if (!rc) rc = finish_grads(e);
    if (!rc) rc = world_sums(e, &w);
    if (rc) return rc;
    double bubble = w.t_synced > t0
                        ? (e->recv_wait + (w.t_synced - w.t_sync)) / (w.t_synced - t0) : 0.0;
    MPI_Request breq;
    MPI_Iallreduce(MPI_IN_PLACE, &bubble, 1, MPI_DOUBLE, MPI_SUM, e->grid->world, &breq);
    step_stats(e, &w, out);
    if (!out->nonfinite) update(e, out);
    if ((rc = pg_wait_mpi(&breq, 1, e->cfg->runtime.watchdog_s, "the bubble allreduce")))
        return rc;
    e->steps_done++;
    out->step = e->steps_done;
    out->step_time = pg_now() - t0;
    out->bubble = bubble / e->grid->size;
    out->samples_per_s = out->step_time > 0 ? e->G / out->step_time : 0.0;
    return 0;
}

/* Post the receives that the next compute action after action i will wait
 * on, so they are in flight while action i computes. */
static int post_ahead(pg_engine *e, int i)
{
    int r = e->grid->stage, len = e->sched->len[r];
    const pg_action *acts = e->sched->acts[r];
    for (int j = i + 1; j < len && !pg_act_is_compute(acts[j].kind); j++) {
        if (acts[j].kind != PG_RECV_F && acts[j].kind != PG_RECV_B) continue;
        int rc = post(e, acts[j]);
        if (rc) return rc;
        e->posted[j] = 1;
    }
    return 0;
}

/* Fault injection (fault.h): a NaN in the output of action a, just run: the
 * loss of a last-stage forward, the output of any other forward, the first
 * weight gradient of a backward. */
static void poison(pg_engine *e, pg_action a)
{
    pg_stage *st = local(e, a.stage);
    const float nan = NAN;
    if (a.kind == PG_F && pg_stage_is_last(st)) e->loss_sum = NAN;
    else if (a.kind == PG_F) e->ops->upload(pg_stage_find_slot(st, a.mb)->act[st->nlayers], &nan, sizeof nan);
    else e->ops->upload(st->grads, &nan, sizeof nan);
}

int pg_engine_step(pg_engine *e, pg_step_stats *out)
{
    double t0 = pg_now();
    pg_trace_step(e->steps_done + 1, t0);
    pg_watchdog_step(e->steps_done + 1);
    e->compute = e->loss_sum = e->recv_wait = e->exposed_comm = 0.0;
    e->nf_key = INT_MAX;
    e->hook_rc = 0;
    for (int i = 0; i < e->nlocal; i++) pg_stage_zero_grads(e->stages[i]);
    int r = e->grid->stage, rc = 0;
    memset(e->posted, 0, (size_t)e->sched->len[r]);
    for (int i = 0; i < e->sched->len[r] && !rc; i++) {
        pg_action a = e->sched->acts[r][i];
        int nan = pg_watchdog_action(a); /* an injected fault may fire here */
        if (pg_act_is_compute(a.kind) && (rc = post_ahead(e, i))) break;
        if (e->posted[i]) goto next;
        if (PG_RANGES) pg_range_push(pg_action_str(a, (char[32]){0})); /* Nsight Systems */
        switch (a.kind) {
        case PG_F: rc = do_forward(e, a.stage, a.mb); break;
        case PG_B:
        case PG_I:
        case PG_W:
            e->grad_stage = e->final_grad[i] ? a.stage : -1;
            rc = do_backward(e, a.kind, a.stage, a.mb);
            e->grad_stage = -1;
            if (!rc) rc = e->hook_rc;
            break;
        case PG_RECV_F:
        case PG_RECV_B:
        case PG_SEND_F:
        case PG_SEND_B: rc = post(e, a); break;
        case PG_REDUCE: rc = do_reduce(e, a.stage); break;
        case PG_OPTIM: rc = finish_step(e, out, t0); break;
        }
        pg_range_pop();
    next:
        if (!rc && nan) poison(e, a);
        if (!rc) check_finite(e, a);
        if (!rc && e->last_use[i]) {
            /* nothing later in the step reads this microbatch's slot: free it
             * as soon as its sends have completed */
            pg_slot *sl = pg_stage_find_slot(local(e, a.stage), a.mb);
            sl->finished = 1;
            maybe_release(e, a.stage, sl);
        }
        if (!rc) rc = progress(e);
    }
    return rc;
}

/* ---- evaluation ---- */

/* Forward-only passes over validation batches: this rank's forwards and
 * forward transfers in schedule order (dropping backward actions only removes
 * waits, so the order stays deadlock-free); slots are freed after each batch. */
static int eval_batch(pg_engine *e)
{
    int r = e->grid->stage, rc = 0;
    for (int i = 0; i < e->sched->len[r] && !rc; i++) {
        pg_action a = e->sched->acts[r][i];
        if (a.kind == PG_F) rc = do_forward(e, a.stage, a.mb);
        else if (a.kind == PG_RECV_F || a.kind == PG_SEND_F) rc = post(e, a);
        if (!rc) rc = progress(e);
    }
    while (!rc && e->npend > 0) rc = complete(e, e->npend - 1, NULL);
    for (int s = 0; s < e->nlocal; s++)
        for (int k = 0; k < e->stages[s]->nslots; k++)
            if (e->stages[s]->slots[k]->mb != -1)
                pg_stage_release_slot(e->stages[s], e->stages[s]->slots[k]);
    return rc;
}

int pg_engine_eval(pg_engine *e, int batches, double *loss)
{
    *loss = 0.0;
    if (e->data->val_samples <= 0)
        return pg_error(PG_EINVAL, "eval: data.source=%s has no validation split",
                        e->data->name);
    double keep_compute = e->compute, sum = 0.0;
    int rc = 0;
    e->data->split = 1;
    for (int bt = 0; bt < batches && !rc; bt++) {
        e->eval_batch = bt;
        e->loss_sum = 0.0;
        rc = eval_batch(e);
        sum += e->loss_sum;
    }
    e->data->split = 0;
    e->eval_batch = -1;
    e->compute = keep_compute;
    if (rc) return rc;
    MPI_Request req;
    MPI_Iallreduce(MPI_IN_PLACE, &sum, 1, MPI_DOUBLE, MPI_SUM, e->grid->world, &req);
    if ((rc = pg_wait_mpi(&req, 1, e->cfg->runtime.watchdog_s, "the evaluation loss allreduce")))
        return rc;
    *loss = sum / ((double)batches * e->G * e->model->T);
    return 0;
}

/* ---- life cycle ---- */

int pg_engine_create(pg_engine **out, const pg_engine_args *a)
{
    *out = NULL;
    const pg_grid *g = a->grid;
    int G = a->cfg->train.batch_size, M = a->cfg->train.microbatches;
    if (G % (g->dp * M))
        return pg_error(PG_EINVAL,
                        "train.batch_size=%d must be divisible by dp x microbatches = %d x %d = "
                        "%d (each microbatch holds batch_size / (dp x microbatches) samples)",
                        G, g->dp, M, g->dp * M);
    if (a->sched->pp != g->pp || a->sched->nmb != M)
        return pg_error(PG_EINVAL, "engine: schedule for pp=%d, %d microbatches does not match "
                                   "the run (pp=%d, %d microbatches)",
                        a->sched->pp, a->sched->nmb, g->pp, M);
    int S = a->sched->nstages;
    int *tag_ub = NULL, flag = 0;
    MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_TAG_UB, &tag_ub, &flag);
    if (flag && (long)M * S * 2 + 1 > (long)*tag_ub)
        return pg_error(PG_EINVAL, "engine: %d microbatches x %d stages exceed MPI's tag range",
                        M, S);
    pg_engine *e = calloc(1, sizeof *e);
    if (!e) return pg_error(PG_ENOMEM, "engine: out of memory");
    e->cfg = a->cfg;
    e->grid = g;
    e->model = a->model;
    e->sched = a->sched;
    e->ops = a->ops;
    e->data = a->data;
    e->G = G;
    e->eval_batch = -1;
    e->b = G / (g->dp * M);
    /* pipeline sends and receives; the stage group's gradient allreduce */
    double wd = a->cfg->runtime.watchdog_s;
    int rc = pg_comm_create(&e->pipe, g->pipe, a->ops, a->cfg->runtime.comm, 1, wd);
    if (!rc) rc = pg_comm_create(&e->group, g->stage_group, a->ops, a->cfg->runtime.comm, 0, wd);
    if (rc) goto fail;
    e->local_of = malloc(sizeof(int) * (size_t)S);
    e->stages = calloc((size_t)S, sizeof(pg_stage *));
    if (!e->local_of || !e->stages) goto nomem;
    for (int s = 0; s < S; s++) {
        e->local_of[s] = -1;
        if (a->sched->stage_rank[s] != g->stage) continue;
        rc = pg_stage_create(&e->stages[e->nlocal], a->model, s, S, a->first[s], a->first[s + 1],
                             a->ops, (uint64_t)a->cfg->train.seed);
        if (rc) goto fail;
        e->local_of[s] = e->nlocal++;
    }
    if ((rc = pg_optim_create(&e->optim, a->cfg, e->stages, e->nlocal))) goto fail;
    /* the tied copies live on the first and last stages; the tag follows
     * every activation/gradient tag */
    int peer = a->sched->stage_rank[g->stage == a->sched->stage_rank[0] ? S - 1 : 0];
    if ((rc = pg_tied_create(&e->tied, e->stages, e->nlocal, e->pipe, peer, M * S * 2))) goto fail;
    int len = a->sched->len[g->stage];
    e->last_use = calloc((size_t)len + 1, 1);
    e->final_grad = calloc((size_t)len + 1, 1);
    e->posted = calloc((size_t)len + 1, 1);
    e->buckets = calloc((size_t)S, sizeof(pg_buckets *));
    if (!e->last_use || !e->final_grad || !e->posted || !e->buckets) goto nomem;
    e->grad_stage = -1;
    for (int i = 0; i < e->nlocal; i++) {
        pg_stage *st = e->stages[i];
        st->after_layer = after_layer;
        st->hook_ctx = e;
        size_t bucket = (size_t)(pg_config_bucket_mb(a->cfg, a->ops->name) * 1024 * 1024 /
                                 sizeof(float));
        if (g->dp > 1 && (rc = pg_buckets_create(&e->buckets[i], e->group, st->grads,
                                                 st->nparams, bucket, st->id)))
            goto fail;
    }
    pg_schedule_marks(a->sched, g->stage, e->last_use, e->final_grad);
    size_t rows = (size_t)e->b * a->model->T;
    e->hx = malloc(sizeof(float) * rows * (size_t)a->model->input_width);
    e->htarget = malloc(sizeof(float) * rows * (size_t)a->model->target_width);
    e->hlosses = malloc(sizeof(float) * rows);
    e->htokens = malloc(sizeof(int) * rows);
    e->hlabels = malloc(sizeof(int) * rows);
    if (!e->hx || !e->htarget || !e->hlosses || !e->htokens || !e->hlabels) goto nomem;
    *out = e;
    return 0;
nomem:
    rc = pg_error(PG_ENOMEM, "engine: out of memory");
fail:
    pg_engine_free(e);
    return rc;
}

void pg_engine_free(pg_engine *e)
{
    if (!e) return;
    pg_optim_free(e->optim);
    pg_tied_free(e->tied);
    for (int i = 0; i < e->nlocal; i++) pg_stage_free(e->stages[i]);
    free(e->stages);
    free(e->local_of);
    free(e->last_use);
    free(e->final_grad);
    free(e->posted);
    for (int i = 0; e->buckets && i < e->nlocal; i++) pg_buckets_free(e->buckets[i]);
    free(e->buckets);
    pg_comm_destroy(e->pipe);
    pg_comm_destroy(e->group);
    free(e->pend);
    free(e->hx);
    free(e->htarget);
    free(e->hlosses);
    free(e->htokens);
    free(e->hlabels);
    free(e);
}

int pg_engine_nstages(const pg_engine *e) { return e->nlocal; }
pg_stage *pg_engine_stage(const pg_engine *e, int i) { return e->stages[i]; }
pg_optim *pg_engine_optim(const pg_engine *e) { return e->optim; }
int pg_engine_steps_done(const pg_engine *e) { return e->steps_done; }
void pg_engine_set_steps_done(pg_engine *e, int steps) { e->steps_done = steps; }
