/* trace_read.c: trace files back into spans; totals and timelines (see
 * trace_read.h). */
#include "runtime/observe/trace_read.h"

#include "runtime/base/error.h"
#include "runtime/base/files.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RANKS (1 << 20)

typedef struct building {
    pg_tr_rank r;
    int seen;       /* events seen for this pid */
    int named;      /* process_name seen */
    int cap, stepcap;
    double *ids;    /* [cap] async id of spans[i] while its "e" is pending, else -1 */
} building;

static char *slurp(const char *path, long *len)
{
    char *buf;
    size_t n;
    if (pg_read_file(path, "trace file", &buf, &n)) return NULL;
    *len = (long)n;
    return buf;
}

static int kind_of(const char *cat)
{
    for (int k = 0; k < PG_SPAN_KINDS; k++)
        if (!strcmp(cat, pg_span_cat(k))) return k;
    return -1;
}

static double num(const cJSON *o, const char *key, double dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

static int push_span(building *b, pg_tr_span s, double id)
{
    if (b->r.nspans == b->cap) {
        int cap = b->cap ? 2 * b->cap : 256;
        pg_tr_span *v = realloc(b->r.spans, sizeof *v * (size_t)cap);
        if (v) b->r.spans = v;
        double *ids = v ? realloc(b->ids, sizeof *ids * (size_t)cap) : NULL;
        if (!ids) return pg_error(PG_ENOMEM, "trace: out of memory");
        b->ids = ids;
        b->cap = cap;
    }
    b->ids[b->r.nspans] = id;
    b->r.spans[b->r.nspans++] = s;
    return 0;
}

static int push_step(building *b, int step, double t, const char *path, int pid)
{
    pg_tr_rank *r = &b->r;
    if (r->nsteps == 0) r->step0 = step;
    if (step != r->step0 + r->nsteps)
        return pg_error(PG_EINVAL, "trace file '%s': rank %d: step %d follows step %d", path, pid,
                        step, r->step0 + r->nsteps - 1);
    if (r->nsteps == b->stepcap) {
        int cap = b->stepcap ? 2 * b->stepcap : 64;
        double *v = realloc(r->step_t, sizeof *v * (size_t)cap);
        if (!v) return pg_error(PG_ENOMEM, "trace: out of memory");
        r->step_t = v;
        b->stepcap = cap;
    }
    r->step_t[r->nsteps++] = t;
    return 0;
}

/* One event into its rank's lists. */
static int add_event(building *b, const cJSON *ev, const char *path, int pid)
{
    const cJSON *ph = cJSON_GetObjectItemCaseSensitive(ev, "ph");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(ev, "name");
    const cJSON *cat = cJSON_GetObjectItemCaseSensitive(ev, "cat");
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(ev, "args");
    if (!cJSON_IsString(ph)) return pg_error(PG_EINVAL, "trace file '%s': an event without \"ph\"", path);
    double ts = num(ev, "ts", 0.0) * 1e-6;
    const char *p = ph->valuestring;
    b->seen = 1;
    if (!strcmp(p, "M")) {
        const cJSON *an = cJSON_GetObjectItemCaseSensitive(args, "name");
        if (cJSON_IsString(name) && !strcmp(name->valuestring, "process_name") && cJSON_IsString(an)) {
            if (sscanf(an->valuestring, "rank %d (stage %d, replica %d)", &b->r.rank, &b->r.stage,
                       &b->r.replica) != 3)
                return pg_error(PG_EINVAL,
                                "trace file '%s': process name '%s' is not \"rank R (stage S, "
                                "replica D)\" (not a pipegrid trace?)",
                                path, an->valuestring);
            b->named = 1;
        }
        return 0;
    }
    if (!strcmp(p, "i")) return push_step(b, (int)num(args, "step", 0), ts, path, pid);
    if (!strcmp(p, "e")) {
        double id = num(ev, "id", -1);
        for (int i = b->r.nspans - 1; i >= 0; i--)
            if (b->ids[i] == id) {
                b->r.spans[i].t1 = ts;
                b->ids[i] = -1;
                return 0;
            }
        return pg_error(PG_EINVAL, "trace file '%s': rank %d: an \"e\" event without its \"b\" (id %.0f)",
                        path, pid, id);
    }
    if (strcmp(p, "X") && strcmp(p, "b")) return 0; /* other phases: not ours, ignored */
    int kind = cJSON_IsString(cat) ? kind_of(cat->valuestring) : -1;
    if (kind < 0)
        return pg_error(PG_EINVAL, "trace file '%s': rank %d: unknown span category '%s'", path,
                        pid, cJSON_IsString(cat) ? cat->valuestring : "(none)");
    pg_tr_span s = {kind, ts, ts, (int)num(args, "stage", -1), (int)num(args, "mb", -1)};
    if (!strcmp(p, "X")) {
        s.t1 = ts + num(ev, "dur", 0.0) * 1e-6;
        return push_span(b, s, -1);
    }
    return push_span(b, s, num(ev, "id", -1));
}

static void free_building(building *v, int n)
{
    for (int i = 0; v && i < n; i++) {
        free(v[i].r.spans);
        free(v[i].r.step_t);
        free(v[i].ids);
    }
    free(v);
}

int pg_trace_load(const char *path, pg_trace_file **out)
{
    *out = NULL;
    long len = 0;
    char *text = slurp(path, &len);
    if (!text) return PG_EIO;
    cJSON *root = cJSON_ParseWithLength(text, (size_t)len);
    free(text);
    if (!root) return pg_error(PG_EINVAL, "trace file '%s': not valid JSON", path);
    const cJSON *evs = cJSON_IsArray(root) ? root : cJSON_GetObjectItemCaseSensitive(root, "traceEvents");
    building *bv = NULL;
    int npid = 0, rc = 0;
    if (!cJSON_IsArray(evs)) {
        rc = pg_error(PG_EINVAL, "trace file '%s': no \"traceEvents\" array", path);
        goto out;
    }
    const cJSON *ev;
    cJSON_ArrayForEach(ev, evs)
    {
        int pid = (int)num(ev, "pid", -1);
        if (pid < 0 || pid >= MAX_RANKS) {
            rc = pg_error(PG_EINVAL, "trace file '%s': an event with a bad \"pid\"", path);
            goto out;
        }
        if (pid >= npid) {
            building *g = realloc(bv, sizeof *g * (size_t)(pid + 1));
            if (!g) {
                rc = pg_error(PG_ENOMEM, "trace: out of memory");
                goto out;
            }
            memset(g + npid, 0, sizeof *g * (size_t)(pid + 1 - npid));
            bv = g;
            npid = pid + 1;
        }
        if ((rc = add_event(&bv[pid], ev, path, pid))) goto out;
    }
    pg_trace_file *t = calloc(1, sizeof *t);
    int n = 0;
    for (int p = 0; p < npid; p++) n += bv[p].seen;
    if (!t || !(t->ranks = calloc((size_t)(n ? n : 1), sizeof(pg_tr_rank)))) {
        free(t);
        rc = pg_error(PG_ENOMEM, "trace: out of memory");
        goto out;
    }
    for (int p = 0; p < npid; p++) {
        if (!bv[p].seen) continue;
        if (!bv[p].named) {
            rc = pg_error(PG_EINVAL, "trace file '%s': pid %d has no \"rank R (stage S, replica D)\" "
                          "process name (not a pipegrid trace?)", path, p);
            free(t->ranks);
            free(t);
            goto out;
        }
        t->ranks[t->nranks++] = bv[p].r;
        free(bv[p].ids);
        memset(&bv[p], 0, sizeof bv[p]);
    }
    if (t->nranks == 0) {
        pg_trace_file_free(t);
        rc = pg_error(PG_EINVAL, "trace file '%s': no events", path);
        goto out;
    }
    *out = t;
out:
    free_building(bv, npid);
    cJSON_Delete(root);
    return rc;
}

void pg_trace_file_free(pg_trace_file *t)
{
    if (!t) return;
    for (int i = 0; i < t->nranks; i++) {
        free(t->ranks[i].spans);
        free(t->ranks[i].step_t);
    }
    free(t->ranks);
    free(t);
}

int pg_trace_steps(const pg_trace_file *t, int *first, int *last)
{
    *first = 1;
    *last = 0;
    for (int i = 0; i < t->nranks; i++) {
        const pg_tr_rank *r = &t->ranks[i];
        int lo = r->step0, hi = r->step0 + r->nsteps - 1;
        if (i == 0 || lo > *first) *first = lo;
        if (i == 0 || hi < *last) *last = hi;
    }
    return *last >= *first ? *last - *first + 1 : 0;
}

static int is_sync(int kind)
{
    return kind != PG_SPAN_SEND && kind != PG_SPAN_RECV && kind != PG_SPAN_ALLREDUCE;
}

/* [*a, *b) of `step` on rank r. */
static void step_window(const pg_tr_rank *r, int step, double *a, double *b)
{
    int k = step - r->step0;
    *a = r->step_t[k];
    if (k + 1 < r->nsteps) {
        *b = r->step_t[k + 1];
        return;
    }
    *b = *a;
    for (int i = 0; i < r->nspans; i++)
        if (is_sync(r->spans[i].kind) && r->spans[i].t0 >= *a && r->spans[i].t1 > *b)
            *b = r->spans[i].t1;
}

static int category(int kind)
{
    switch (kind) {
    case PG_SPAN_FORWARD:
    case PG_SPAN_BACKWARD:
    case PG_SPAN_BACKWARD_I:
    case PG_SPAN_BACKWARD_W: return PG_TC_COMPUTE;
    case PG_SPAN_WAIT_SEND:
    case PG_SPAN_WAIT_ALLREDUCE: return PG_TC_COMM;
    case PG_SPAN_WAIT:
    case PG_SPAN_SYNC: return PG_TC_WAIT;
    case PG_SPAN_OPTIMIZER: return PG_TC_OPTIM;
    case PG_SPAN_DATA: return PG_TC_DATA;
    case PG_SPAN_CHECKPOINT: return PG_TC_CKPT;
    case PG_SPAN_EVAL: return -2; /* counted in "other" */
    default: return -1;
    }
}

void pg_trace_totals(const pg_trace_file *t, int i, int first, int last, pg_tr_totals *out)
{
    const pg_tr_rank *r = &t->ranks[i];
    memset(out, 0, sizeof *out);
    for (int step = first; step <= last; step++) {
        double a, b;
        step_window(r, step, &a, &b);
        out->wall += b - a;
        for (int j = 0; j < r->nspans; j++) {
            const pg_tr_span *s = &r->spans[j];
            if (s->t0 < a || s->t0 >= b) continue;
            int c = category(s->kind);
            if (c >= 0) out->cat[c] += s->t1 - s->t0;
            else if (c == -1) out->inflight += s->t1 - s->t0;
        }
    }
    double known = 0.0;
    for (int c = 0; c < PG_TC_OTHER; c++) known += out->cat[c];
    out->cat[PG_TC_OTHER] = out->wall > known ? out->wall - known : 0.0;
}

int pg_trace_stage_compute(const pg_trace_file *t, int first, int last, double **out, int *nstages)
{
    int S = 0;
    for (int i = 0; i < t->nranks; i++)
        for (int j = 0; j < t->ranks[i].nspans; j++)
            if (t->ranks[i].spans[j].stage + 1 > S) S = t->ranks[i].spans[j].stage + 1;
    double *best = calloc((size_t)(S ? S : 1), sizeof(double));
    double *mine = calloc((size_t)(S ? S : 1), sizeof(double));
    if (!best || !mine) {
        free(best);
        free(mine);
        return pg_error(PG_ENOMEM, "trace: out of memory");
    }
    for (int i = 0; i < t->nranks; i++) {
        const pg_tr_rank *r = &t->ranks[i];
        memset(mine, 0, sizeof(double) * (size_t)S);
        for (int step = first; step <= last; step++) {
            double a, b;
            step_window(r, step, &a, &b);
            for (int j = 0; j < r->nspans; j++) {
                const pg_tr_span *s = &r->spans[j];
                if (s->t0 >= a && s->t0 < b && s->stage >= 0 && category(s->kind) == PG_TC_COMPUTE)
                    mine[s->stage] += s->t1 - s->t0;
            }
        }
        for (int s = 0; s < S; s++)
            if (mine[s] > best[s]) best[s] = mine[s];
    }
    free(mine);
    *out = best;
    *nstages = S;
    return 0;
}

int pg_trace_step_spans(const pg_trace_file *t, int step, pg_tl_span **spans, int *n,
                        double *t_end)
{
    static const char letter[] = {[PG_SPAN_FORWARD] = 'F', [PG_SPAN_BACKWARD] = 'B',
                                  [PG_SPAN_BACKWARD_I] = 'I', [PG_SPAN_BACKWARD_W] = 'W',
                                  [PG_SPAN_OPTIMIZER] = 'O'};
    int total = 0;
    double origin = 0.0;
    for (int i = 0; i < t->nranks; i++) {
        total += t->ranks[i].nspans;
        double a, b;
        step_window(&t->ranks[i], step, &a, &b);
        if (i == 0 || a < origin) origin = a;
    }
    *n = 0;
    *t_end = 0.0;
    if (!(*spans = malloc(sizeof(pg_tl_span) * (size_t)(total + 1))))
        return pg_error(PG_ENOMEM, "trace: out of memory");
    for (int i = 0; i < t->nranks; i++) {
        const pg_tr_rank *r = &t->ranks[i];
        double a, b;
        step_window(r, step, &a, &b);
        for (int j = 0; j < r->nspans; j++) {
            const pg_tr_span *s = &r->spans[j];
            int c = category(s->kind);
            if (s->t0 < a || s->t0 >= b || (c != PG_TC_COMPUTE && c != PG_TC_OPTIM)) continue;
            (*spans)[(*n)++] = (pg_tl_span){i, s->t0 - origin, s->t1 - origin, letter[s->kind],
                                            s->stage, c == PG_TC_OPTIM ? -1 : s->mb};
            if (s->t1 - origin > *t_end) *t_end = s->t1 - origin;
        }
    }
    return 0;
}
