/* trace.c: the span buffer and the Chrome Trace Event writer (see trace.h).
 *
 * Layout of the JSON: one process (pid) per world rank, named "rank R (stage
 * S, replica D)" and sorted by rank; thread 0 ("main") holds the synchronous
 * spans, which never overlap; in-flight operations are async "b"/"e" pairs
 * whose category names their track (send, recv, allreduce). Every span has
 * args {stage, mb}; step starts are instant events "step N". */
#include "runtime/observe/trace.h"

#include "runtime/base/clock.h"
#include "runtime/base/error.h"
#include "runtime/base/files.h"
#include "runtime/base/wait.h"
#include "runtime/schedule/schedule.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct span {
    double t0, t1;
    short kind, act; /* pg_span_kind, pg_act_kind or -1; kind -1 = step mark */
    int stage, mb;
} span;

int pg_trace_on_ = 0;

static struct {
    MPI_Comm world;
    int rank, stage, replica;
    double origin;
    span *v;
    size_t n, cap;
    int oom; /* a span was dropped for lack of memory */
} T;

static const char *const CATS[PG_SPAN_KINDS] = {
    [PG_SPAN_FORWARD] = "forward",
    [PG_SPAN_BACKWARD] = "backward",
    [PG_SPAN_BACKWARD_I] = "backward_input",
    [PG_SPAN_BACKWARD_W] = "backward_weight",
    [PG_SPAN_WAIT] = "wait",
    [PG_SPAN_WAIT_SEND] = "wait_send",
    [PG_SPAN_WAIT_ALLREDUCE] = "wait_allreduce",
    [PG_SPAN_SYNC] = "sync",
    [PG_SPAN_OPTIMIZER] = "optimizer",
    [PG_SPAN_DATA] = "data",
    [PG_SPAN_CHECKPOINT] = "checkpoint",
    [PG_SPAN_EVAL] = "eval",
    [PG_SPAN_SEND] = "send",
    [PG_SPAN_RECV] = "recv",
    [PG_SPAN_ALLREDUCE] = "allreduce",
};

const char *pg_span_cat(pg_span_kind k) { return k >= 0 && k < PG_SPAN_KINDS ? CATS[k] : "?"; }

int pg_trace_start(MPI_Comm world, int stage, int replica)
{
    pg_trace_stop();
    T.world = world;
    MPI_Comm_rank(world, &T.rank);
    T.stage = stage;
    T.replica = replica;
    T.cap = 1 << 14;
    T.v = malloc(sizeof(span) * T.cap);
    int rc = T.v ? 0 : pg_error(PG_ENOMEM, "trace: out of memory");
    int reporter;
    if ((rc = pg_agree(world, rc, &reporter))) {
        pg_trace_stop();
        return rc;
    }
    /* a yielding barrier: ranks may outnumber cores (runtime/base/wait.h) */
    MPI_Request req;
    MPI_Ibarrier(world, &req);
    if ((rc = pg_wait_mpi(&req, 1, 300.0, "the barrier starting the trace"))) {
        pg_trace_stop();
        return rc;
    }
    T.origin = pg_now();
    pg_trace_on_ = 1;
    return 0;
}

static void push(span s)
{
    if (T.n == T.cap) {
        span *grown = realloc(T.v, sizeof(span) * T.cap * 2);
        if (!grown) {
            T.oom = 1;
            return;
        }
        T.v = grown;
        T.cap *= 2;
    }
    T.v[T.n++] = s;
}

void pg_trace_add_(pg_span_kind k, double t0, double t1, int stage, int mb, int act)
{
    push((span){t0, t1, (short)k, (short)act, stage, mb});
}

void pg_trace_step_(int step, double t) { push((span){t, t, -1, -1, -1, step}); }

void pg_trace_stop(void)
{
    pg_trace_on_ = 0;
    free(T.v);
    T.v = NULL;
    T.n = T.cap = 0;
    T.oom = 0;
}

int pg_trace_pause(int pause)
{
    int was = pg_trace_on_;
    if (T.v) pg_trace_on_ = !pause;
    return was;
}

long pg_trace_count(void) { return (long)T.n; }

static int is_async(int kind)
{
    return kind == PG_SPAN_SEND || kind == PG_SPAN_RECV || kind == PG_SPAN_ALLREDUCE;
}

static void span_name(const span *s, char *buf, size_t n)
{
    char act[32] = "";
    if (s->act >= 0 && s->stage >= 0) pg_action_str((pg_action){s->act, s->stage, s->mb}, act);
    switch (s->kind) {
    case PG_SPAN_FORWARD:
    case PG_SPAN_BACKWARD:
    case PG_SPAN_BACKWARD_I:
    case PG_SPAN_BACKWARD_W:
    case PG_SPAN_SEND:
    case PG_SPAN_RECV: snprintf(buf, n, "%s", act[0] ? act : pg_span_cat(s->kind)); break;
    case PG_SPAN_WAIT:
    case PG_SPAN_WAIT_SEND: snprintf(buf, n, "wait %s", act); break;
    case PG_SPAN_ALLREDUCE: snprintf(buf, n, "%dREDUCE bucket %d", s->stage, s->mb); break;
    case PG_SPAN_WAIT_ALLREDUCE: snprintf(buf, n, "wait %dREDUCE", s->stage); break;
    case PG_SPAN_DATA: snprintf(buf, n, "data %d", s->mb); break;
    default: snprintf(buf, n, "%s", pg_span_cat(s->kind)); break;
    }
}

/* This rank's events as a comma-separated list of JSON objects. */
static char *events_json(size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    if (!f) return NULL;
    int pid = T.rank;
    fprintf(f,
            "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":%d,\"tid\":0,"
            "\"args\":{\"name\":\"rank %d (stage %d, replica %d)\"}},\n"
            "{\"name\":\"process_sort_index\",\"ph\":\"M\",\"pid\":%d,\"tid\":0,"
            "\"args\":{\"sort_index\":%d}},\n"
            "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":%d,\"tid\":0,"
            "\"args\":{\"name\":\"main\"}}",
            pid, T.rank, T.stage, T.replica, pid, T.rank, pid);
    long id = (long)T.rank << 32;
    for (size_t i = 0; i < T.n; i++) {
        const span *s = &T.v[i];
        double ts = (s->t0 - T.origin) * 1e6, dur = (s->t1 - s->t0) * 1e6;
        if (s->kind < 0) {
            fprintf(f,
                    ",\n{\"name\":\"step %d\",\"cat\":\"step\",\"ph\":\"i\",\"s\":\"p\","
                    "\"ts\":%.3f,\"pid\":%d,\"tid\":0,\"args\":{\"step\":%d}}",
                    s->mb, ts, pid, s->mb);
            continue;
        }
        char name[64];
        span_name(s, name, sizeof name);
        const char *cat = pg_span_cat(s->kind);
        if (is_async(s->kind)) {
            id++;
            fprintf(f,
                    ",\n{\"name\":\"%s\",\"cat\":\"%s\",\"ph\":\"b\",\"id\":%ld,\"ts\":%.3f,"
                    "\"pid\":%d,\"tid\":0,\"args\":{\"stage\":%d,\"mb\":%d}},\n"
                    "{\"name\":\"%s\",\"cat\":\"%s\",\"ph\":\"e\",\"id\":%ld,\"ts\":%.3f,"
                    "\"pid\":%d,\"tid\":0}",
                    name, cat, id, ts, pid, s->stage, s->mb, name, cat, id, ts + dur, pid);
        } else {
            fprintf(f,
                    ",\n{\"name\":\"%s\",\"cat\":\"%s\",\"ph\":\"X\",\"ts\":%.3f,\"dur\":%.3f,"
                    "\"pid\":%d,\"tid\":0,\"args\":{\"stage\":%d,\"mb\":%d}}",
                    name, cat, ts, dur, pid, s->stage, s->mb);
        }
    }
    if (fclose(f)) {
        free(buf);
        return NULL;
    }
    return buf;
}

static int write_file(const char *path, const char *const *parts, const size_t *lens, int n)
{
    FILE *f = fopen(path, "w");
    if (!f) return pg_error(PG_EIO, "trace: cannot write %s: %s", path, strerror(errno));
    fputs("{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n", f);
    for (int i = 0; i < n; i++) {
        if (i) fputs(",\n", f);
        fwrite(parts[i], 1, lens[i], f);
    }
    fputs("\n]}\n", f);
    if (fclose(f)) return pg_error(PG_EIO, "trace: error writing %s", path);
    return 0;
}

int pg_trace_write(const char *dir, int *reporter)
{
    if (!T.v) return pg_error(PG_EINVAL, "trace: not started");
    pg_trace_on_ = 0;
    MPI_Comm w = T.world;
    int size, rc = T.oom ? pg_error(PG_ENOMEM, "trace: out of memory while tracing") : 0;
    MPI_Comm_size(w, &size);
    size_t len = 0;
    char *mine = NULL;
    if (!rc) rc = pg_mkdirs(dir, "trace directory");
    if (!rc && !(mine = events_json(&len))) rc = pg_error(PG_ENOMEM, "trace: out of memory");
    if (!rc && len > (size_t)1 << 30) rc = pg_error(PG_EINVAL, "trace: rank trace over 1 GiB");
    char path[4200];
    if (!rc) {
        snprintf(path, sizeof path, "%s/rank%d.json", dir, T.rank);
        const char *parts[1] = {mine};
        rc = write_file(path, parts, &len, 1);
    }
    if ((rc = pg_agree(w, rc, reporter))) goto out;
    /* the merged file: rank 0 gathers every rank's events */
    int n = (int)len, *counts = NULL, *displs = NULL;
    char *all = NULL;
    if (T.rank == 0) {
        counts = calloc((size_t)size, sizeof(int));
        displs = calloc((size_t)size, sizeof(int));
    }
    MPI_Gather(&n, 1, MPI_INT, counts, 1, MPI_INT, 0, w);
    if (T.rank == 0) {
        long total = 0;
        for (int r = 0; r < size; r++) {
            displs[r] = (int)total;
            total += counts[r];
        }
        if (total > 0x7fffffffL) rc = pg_error(PG_EINVAL, "trace: merged trace over 2 GiB");
        else if (!(all = malloc((size_t)total + 1))) rc = pg_error(PG_ENOMEM, "trace: out of memory");
    }
    MPI_Bcast(&rc, 1, MPI_INT, 0, w);
    *reporter = T.rank == 0 && rc;
    if (!rc) {
        MPI_Gatherv(mine, n, MPI_CHAR, all, counts, displs, MPI_CHAR, 0, w);
        if (T.rank == 0) {
            const char **parts = malloc(sizeof(char *) * (size_t)size);
            size_t *lens = malloc(sizeof(size_t) * (size_t)size);
            if (!parts || !lens) rc = pg_error(PG_ENOMEM, "trace: out of memory");
            for (int r = 0; r < size && !rc; r++) {
                parts[r] = all + displs[r];
                lens[r] = (size_t)counts[r];
            }
            snprintf(path, sizeof path, "%s/trace.json", dir);
            if (!rc) rc = write_file(path, parts, lens, size);
            free(parts);
            free(lens);
        }
        rc = pg_agree(w, rc, reporter);
    }
    free(all);
    free(counts);
    free(displs);
out:
    free(mine);
    pg_trace_stop();
    return rc;
}
