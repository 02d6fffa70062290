/* ckpt_save.c: writing a checkpoint in parallel and committing it atomically
 * (see checkpoint.h and docs/checkpoint-format.md).
 *
 * A save is a job with four phases, each ended by an agreement of every rank
 * (pg_ckpt_agree, a yielding wait), so that no rank ever leaves the save's
 * path while another is still in it:
 *   snapshot  every rank copies the rows it writes (its replica's share of
 *             every tensor of its stages) to host memory, refuses NaN/Inf,
 *             and the CRC-32 of every dataset is computed (digest);
 *   create    rank 0 alone makes step_N.h5.tmp with serial HDF5: the root
 *             attributes and every dataset (contiguous, allocated, no fill),
 *             no tensor data; it reserves the file's blocks (fallocate), so a
 *             full disk is found here, and sends every rank the datasets'
 *             file offsets;
 *   write     every rank pwrite()s its rows at those offsets and fsync()s;
 *   commit    rank 0 writes latest.tmp, renames the file into place, then
 *             latest.tmp over `latest`, syncs the directory and prunes.
 * No HDF5 call is collective, so an error cannot leave ranks in different
 * collectives, and no MPI call inside another library busy-polls. Any error
 * is agreed, names the file and the system's cause (strerror), and removes
 * the partial file; `latest` still names the previous checkpoint.
 * Synchronous saves run all phases at once; asynchronous ones run snapshot
 * and create at once and write and commit on a thread, over the job's own
 * communicator (the thread makes no HDF5 call). */
#define _GNU_SOURCE
#include "io/checkpoint/checkpoint.h"
#include "io/checkpoint/ckpt_h5.h"
#include "io/checkpoint/ckpt_layout.h"
#include "runtime/base/error.h"
#include "runtime/base/files.h"
#include "runtime/base/range.h"
#include "runtime/guard/fault.h"
#include "runtime/guard/watchdog.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct pg_ckpt_job {
    MPI_Comm comm; /* the world, or a duplicate of it for a background save */
    int rank, replica, dp;
    int64_t step;
    char dir[PG_STR_LONG], final[PG_STR_LONG + 32], tmp[PG_STR_LONG + 40], base[32];
    char *protect; /* realpath of the checkpoint resumed from, or NULL */
    int keep;
    /* root attributes */
    char *config;
    const pg_run *run; /* grid, schedule, partition: fixed for the run's life */
    int64_t data_position, optim_t;
    /* datasets (state-major: d = state * nt + tensor) and this rank's rows */
    int nstates, nt;
    pg_ckpt_state states[PG_CKPT_MAX_STATES];
    pg_ckpt_tensor *t;
    uint64_t *lo, *hi; /* [D] rows this rank writes; lo == hi: none */
    size_t *off;       /* [D] floats into host */
    uint32_t *crc;     /* [D] CRC-32 of each whole dataset (digest) */
    int64_t *addr;     /* [D] file offset of each dataset (from rank 0) */
    float *host;
    double bytes;      /* tensor bytes in the whole file */
    /* background save */
    pthread_t thread;
    int rc;
    char msg[1024];
    double seconds;
};

static void job_free(struct pg_ckpt_job *j)
{
    if (!j) return;
    if (j->comm != MPI_COMM_NULL && j->comm != j->run->grid->world) MPI_Comm_free(&j->comm);
    free(j->protect);
    free(j->config);
    free(j->t);
    free(j->lo);
    free(j->hi);
    free(j->off);
    free(j->crc);
    free(j->addr);
    free(j->host);
    free(j);
}

static char *config_text(const pg_config *c)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return NULL;
    pg_config_dump(c, f);
    fclose(f);
    return text;
}

/* The dataset name of entry d, "/params/layers.0.weight". */
static void ds_name(const struct pg_ckpt_job *j, int d, char *buf, size_t n)
{
    snprintf(buf, n, "%s/%s", pg_ckpt_group(j->states[d / j->nt]), j->t[d % j->nt].name);
}

/* The snapshot: root attributes and a host copy of this rank's rows, which
 * must be finite (a NaN/Inf is never committed). */
static int snapshot(pg_run *r, const char *dir, struct pg_ckpt_job **out)
{
    *out = NULL;
    struct pg_ckpt_job *j = calloc(1, sizeof *j);
    if (!j) return pg_error(PG_ENOMEM, "checkpoint: out of memory");
    j->run = r;
    j->comm = r->grid->world;
    j->rank = r->grid->rank;
    j->replica = r->grid->replica;
    j->dp = r->grid->dp;
    j->step = pg_engine_steps_done(r->engine);
    j->keep = r->cfg.checkpoint.keep;
    j->data_position = j->step * (int64_t)r->cfg.train.batch_size;
    j->optim_t = pg_engine_optim(r->engine)->t;
    snprintf(j->dir, sizeof j->dir, "%s", dir);
    snprintf(j->base, sizeof j->base, "step_%08lld.h5", (long long)j->step);
    snprintf(j->final, sizeof j->final, "%s/%s", dir, j->base);
    snprintf(j->tmp, sizeof j->tmp, "%s.tmp", j->final);
    if (r->ckpt && r->ckpt->resumed_from && !(j->protect = strdup(r->ckpt->resumed_from)))
        goto nomem;
    if (!(j->config = config_text(&r->cfg))) goto nomem;
    j->nstates = pg_ckpt_states(pg_optim_names[r->cfg.optim.name], j->states);
    int rc = pg_ckpt_tensors(r->model, &j->t, &j->nt);
    if (rc) {
        job_free(j);
        return rc;
    }
    size_t D = (size_t)j->nstates * (size_t)j->nt, total = 0;
    j->lo = calloc(D + 1, sizeof *j->lo);
    j->hi = calloc(D + 1, sizeof *j->hi);
    j->off = calloc(D + 1, sizeof *j->off);
    j->crc = calloc(D + 1, sizeof *j->crc);
    j->addr = calloc(D + 1, sizeof *j->addr);
    if (!j->lo || !j->hi || !j->off || !j->crc || !j->addr) goto nomem;
    for (size_t d = 0; d < D; d++) {
        const pg_ckpt_tensor *t = &j->t[d % j->nt];
        if (t->copy) continue;
        j->bytes += 4.0 * (double)t->n;
        if (!pg_ckpt_local(r, t, j->states[d / j->nt])) continue;
        pg_ckpt_rows(t, j->replica, j->dp, &j->lo[d], &j->hi[d]);
        j->off[d] = total;
        total += (size_t)(j->hi[d] - j->lo[d]) * pg_ckpt_row_len(t);
    }
    if (!(j->host = malloc(sizeof(float) * (total ? total : 1)))) goto nomem;
    for (size_t d = 0; d < D; d++) {
        if (j->hi[d] == j->lo[d]) continue;
        const pg_ckpt_tensor *t = &j->t[d % j->nt];
        const float *src = pg_ckpt_local(r, t, j->states[d / j->nt]);
        size_t row = pg_ckpt_row_len(t), n = (size_t)(j->hi[d] - j->lo[d]) * row;
        r->ops->download(j->host + j->off[d], src + j->lo[d] * row, sizeof(float) * n);
        size_t bad = pg_ckpt_nonfinite(j->host + j->off[d], n);
        if (bad < n) {
            char name[160];
            ds_name(j, (int)d, name, sizeof name);
            *out = j;
            return pg_error(PG_ENUMERIC, "checkpoint: refusing to save step %lld: %s holds "
                                         "NaN/Inf (element %zu; rank %d)", (long long)j->step,
                            name, (size_t)j->lo[d] * row + bad, j->rank);
        }
    }
    *out = j;
    return 0;
nomem:
    job_free(j);
    return pg_error(PG_ENOMEM, "checkpoint: out of memory for the host copy");
}

/* A fault injected at `phase` (runtime/guard/fault.h): kill and hang happen
 * inside; returns the errno an injected I/O error asks for, else 0. */
static int fault(const struct pg_ckpt_job *j, pg_phase phase)
{
    int e = pg_fault_hit(PG_FAULT_PHASE(phase), (int)j->step, -1);
    return e > 1 ? e : 0;
}

static int root_attrs(const struct pg_ckpt_job *j, hid_t f)
{
    const pg_run *r = j->run;
    const pg_config *c = &r->cfg;
    int S = r->sched->nstages;
    int64_t first[S + 1];
    for (int s = 0; s <= S; s++) first[s] = r->first[s];
    int64_t v = PG_CKPT_VERSION, pp = r->grid->pp, dp = r->grid->dp,
            m = c->train.microbatches, n = r->grid->size, tseed = c->train.seed,
            dseed = c->data.seed;
    char when[64];
    time_t now = time(NULL);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    char rng[512];
    snprintf(rng, sizeof rng,
             "counter-based, no sequential state: xoshiro256** streams keyed by (seed, key1, "
             "key2); initial weights (train.seed=%ld, layer, tensor); samples (data.seed=%ld, "
             "global sample index); resuming at data_position reproduces the stream",
             c->train.seed, c->data.seed);
    int bad = 0;
    bad |= pg_h5_put_str(f, "format", PG_CKPT_FORMAT);
    bad |= pg_h5_put_i64(f, "format_version", &v, 1);
    bad |= pg_h5_put_i64(f, "step", &j->step, 1);
    bad |= pg_h5_put_i64(f, "data_position", &j->data_position, 1);
    bad |= pg_h5_put_i64(f, "optimizer_step", &j->optim_t, 1);
    bad |= pg_h5_put_str(f, "optimizer", pg_optim_names[c->optim.name]);
    bad |= pg_h5_put_str(f, "config", j->config);
    bad |= pg_h5_put_i64(f, "grid_pp", &pp, 1);
    bad |= pg_h5_put_i64(f, "grid_dp", &dp, 1);
    bad |= pg_h5_put_i64(f, "nranks", &n, 1);
    bad |= pg_h5_put_str(f, "schedule", r->sched->name);
    bad |= pg_h5_put_i64(f, "microbatches", &m, 1);
    bad |= pg_h5_put_i64(f, "partition", first, S + 1);
    bad |= pg_h5_put_i64(f, "train_seed", &tseed, 1);
    bad |= pg_h5_put_i64(f, "data_seed", &dseed, 1);
    bad |= pg_h5_put_str(f, "rng_state", rng);
    bad |= pg_h5_put_str(f, "writer", "pipegrid " PG_VERSION_STRING);
    bad |= pg_h5_put_str(f, "created", when);
    uint32_t crc = 0;
    if (!bad && pg_ckpt_attrs_crc(f, &crc)) bad = 1;
    bad |= pg_h5_put_u32(f, "attrs_crc32", crc);
    return bad ? -1 : 0;
}

/* The CRC-32 of every dataset (collective): each rank digests its own row
 * blocks, one allreduce gathers them, and the blocks are combined in row
 * order, so every rank ends with the same j->crc[]. */
static int digest(struct pg_ckpt_job *j)
{
    int D = j->nstates * j->nt, dp = j->dp;
    uint32_t *crc = calloc((size_t)D * dp + 1, sizeof *crc);
    int rc = crc ? 0 : pg_error(PG_ENOMEM, "checkpoint: out of memory");
    if ((rc = pg_ckpt_agree(j->comm, rc))) goto done;
    for (int d = 0; d < D; d++) {
        size_t bytes = sizeof(float) * (size_t)(j->hi[d] - j->lo[d]) * pg_ckpt_row_len(&j->t[d % j->nt]);
        if (bytes) crc[(size_t)d * dp + j->replica] = pg_crc32(0, j->host + j->off[d], bytes);
    }
    if ((rc = pg_ckpt_allreduce(crc, D * dp, MPI_UINT32_T, MPI_BOR, j->comm))) goto done;
    for (int d = 0; d < D; d++) j->crc[d] = pg_ckpt_combine(&j->t[d % j->nt], crc + (size_t)d * dp, dp);
done:
    free(crc);
    return rc;
}

/* Rank 0: make j->tmp with the serial HDF5 driver (root attributes, every
 * dataset allocated with its attributes, no data), record each dataset's
 * file offset in j->addr, and reserve the whole file's blocks. */
#define ALIGN (1 << 16)  /* datasets of ALIGN_MIN bytes or more start at multiples of 64 KiB */
#define ALIGN_MIN (1 << 20)

/* Claim the space the file will need with a placeholder before HDF5 writes
 * anything, and give it back: a full disk (or quota) is then found here,
 * with its errno, and not inside H5Fclose, whose failure leaves HDF5 1.10
 * holding a broken file that crashes it at exit. Where fallocate is not
 * supported, nothing is checked. */
static int claim_space(const struct pg_ckpt_job *j, size_t meta)
{
    double need = (double)meta;
    for (int d = 0; d < j->nstates * j->nt; d++) {
        size_t b = sizeof(float) * j->t[d % j->nt].n;
        if (!j->t[d % j->nt].copy) need += (double)(b >= ALIGN_MIN ? b + ALIGN : b);
    }
    char probe[sizeof j->tmp + 16];
    snprintf(probe, sizeof probe, "%s.space", j->tmp);
    int fd = open(probe, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int e = fd < 0 ? errno : posix_fallocate(fd, 0, (off_t)need);
    if (!e) e = fault(j, PG_PHASE_CKPT_CREATE);
    if (fd >= 0) close(fd);
    unlink(probe);
    if (e == EOPNOTSUPP || e == EINVAL || e == ENOSYS) e = 0;
    return e ? pg_error(PG_EIO, "cannot create checkpoint file '%s' (%.1f MB): %s", j->tmp,
                        need / 1e6, strerror(e))
             : 0;
}

static int create_file(struct pg_ckpt_job *j)
{
    int D = j->nstates * j->nt, rc = 0;
    char cause[256];
    /* the metadata goes first, in one block sized for every object header
     * and attribute, then the datasets in order at aligned offsets: each
     * rank's rows are a few big writes */
    size_t meta = ((strlen(j->config) + 2048 * (size_t)D + 4096 + 4095) / 4096) * 4096;
    if ((rc = claim_space(j, meta))) return rc;
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE), fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_meta_block_size(fapl, meta);
    H5Pset_alignment(fapl, ALIGN_MIN, ALIGN);
    H5Pset_libver_bounds(fapl, H5F_LIBVER_EARLIEST, H5F_LIBVER_LATEST);
    hid_t f = H5Fcreate(j->tmp, H5F_ACC_TRUNC, fcpl, fapl);
    H5Pclose(fcpl);
    H5Pclose(fapl);
    if (f < 0) {
        pg_h5_cause(cause, sizeof cause);
        return pg_error(PG_EIO, "cannot create checkpoint file '%s': %s", j->tmp, cause);
    }
    if (root_attrs(j, f)) {
        pg_h5_cause(cause, sizeof cause);
        rc = pg_error(PG_EIO, "%s: cannot write the root attributes: %s", j->tmp, cause);
    }
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER);
    H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY);
    for (int d = 0; d < D && !rc; d++) {
        const pg_ckpt_tensor *t = &j->t[d % j->nt];
        if (t->copy) continue;
        char path[160];
        ds_name(j, d, path, sizeof path);
        hsize_t dims[2] = {t->dims[0], t->dims[1]};
        hid_t fs = H5Screate_simple(t->ndim, dims, NULL);
        hid_t ds = H5Dcreate2(f, path, H5T_IEEE_F32LE, fs, lcpl, dcpl, H5P_DEFAULT);
        int64_t layer = t->layer;
        haddr_t a = ds >= 0 ? H5Dget_offset(ds) : HADDR_UNDEF;
        if (ds < 0 || pg_h5_put_i64(ds, "layer", &layer, 1) || pg_h5_put_str(ds, "kind", t->kind) ||
            pg_h5_put_u32(ds, "crc32", j->crc[d]) || a == HADDR_UNDEF) {
            pg_h5_cause(cause, sizeof cause);
            rc = pg_error(PG_EIO, "%s: cannot create dataset %s: %s", j->tmp, path, cause);
        }
        j->addr[d] = (int64_t)a;
        H5Sclose(fs);
        if (ds >= 0) H5Dclose(ds);
    }
    H5Pclose(lcpl);
    H5Pclose(dcpl);
    if (H5Fclose(f) < 0 && !rc) {
        pg_h5_cause(cause, sizeof cause);
        rc = pg_error(PG_EIO, "%s: writing the file's metadata failed: %s", j->tmp, cause);
    }
    if (rc) return rc;
    /* reserve the blocks now: a full disk (or quota) fails here, cleanly */
    int fd = open(j->tmp, O_WRONLY);
    struct stat st;
    int e = fd < 0 || fstat(fd, &st) ? errno : 0;
    if (!e && posix_fallocate(fd, 0, st.st_size) == ENOSPC) e = ENOSPC;
    if (fd >= 0 && close(fd) && !e) e = errno;
    return e ? pg_error(PG_EIO, "%s: cannot reserve the file's space: %s", j->tmp, strerror(e))
             : 0;
}

/* Every rank: write this rank's rows at the datasets' offsets, then sync.
 * No communication. */
static int write_rows(struct pg_ckpt_job *j)
{
    int fd = open(j->tmp, O_WRONLY);
    if (fd < 0)
        return pg_error(PG_EIO, "%s: cannot open to write the tensors: %s", j->tmp,
                        strerror(errno));
    int D = j->nstates * j->nt, e = 0, at = -1;
    for (int d = 0; d < D && !e; d++) {
        if (d == D / 2 && (e = fault(j, PG_PHASE_CKPT_WRITE))) {
            at = d;
            break;
        }
        const pg_ckpt_tensor *t = &j->t[d % j->nt];
        size_t row = pg_ckpt_row_len(t), left = sizeof(float) * (size_t)(j->hi[d] - j->lo[d]) * row;
        const char *p = (const char *)(j->host + j->off[d]);
        off_t pos = (off_t)(j->addr[d] + (int64_t)(j->lo[d] * row * sizeof(float)));
        while (left > 0) {
            ssize_t w = pwrite(fd, p, left, pos);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) {
                e = w < 0 ? errno : EIO;
                at = d;
                break;
            }
            p += w;
            pos += w;
            left -= (size_t)w;
        }
    }
    if (e) {
        close(fd);
        char name[160];
        ds_name(j, at, name, sizeof name);
        return pg_error(PG_EIO, "%s: writing %s failed: %s", j->tmp, name, strerror(e));
    }
    e = fault(j, PG_PHASE_CKPT_SYNC);
    if (!e && fsync(fd)) e = errno;
    if (close(fd) && !e) e = errno;
    return e ? pg_error(PG_EIO, "%s: sync failed: %s", j->tmp, strerror(e)) : 0;
}

static int fsync_path(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int pg_ckpt_check_dir(const char *dir)
{
    int rc = pg_mkdirs(dir, "checkpoint directory");
    if (rc) return rc;
    char probe[PG_STR_LONG + 64];
    snprintf(probe, sizeof probe, "%s/.pipegrid_write_test.%ld", dir, (long)getpid());
    int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0)
        return pg_error(PG_EIO, "checkpoint.dir '%s' is not writable: %s", dir, strerror(errno));
    close(fd);
    unlink(probe);
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Delete the *.tmp left by saves that died, and all but the newest `keep`
 * committed checkpoints at or below the step just written. Never deleted:
 * the one just written, the one resumed from, and those numbered above the
 * step just written (a run resumed from an earlier step, a rewind: they
 * belong to the run that wrote them). Rank 0. */
static void prune(const struct pg_ckpt_job *j)
{
    DIR *dir = opendir(j->dir);
    if (!dir) return;
    int64_t *steps = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    char path[PG_STR_LONG + 300];
    while ((e = readdir(dir))) {
        long long s;
        char tail[8] = "";
        if (sscanf(e->d_name, "step_%lld.h5%7s", &s, tail) < 1 ||
            strncmp(e->d_name, "step_", 5))
            continue;
        if (!strcmp(tail, ".tmp")) {
            snprintf(path, sizeof path, "%s/%s", j->dir, e->d_name);
            unlink(path);
            continue;
        }
        if (tail[0] || strlen(e->d_name) != strlen("step_00000000.h5") || s > j->step) continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            int64_t *g = realloc(steps, sizeof *steps * cap);
            if (!g) break;
            steps = g;
        }
        steps[n++] = s;
    }
    closedir(dir);
    if (j->keep > 0 && n > (size_t)j->keep) {
        qsort(steps, n, sizeof *steps, cmp_i64);
        for (size_t i = 0; i + (size_t)j->keep < n; i++) {
            if (steps[i] == j->step) continue;
            snprintf(path, sizeof path, "%s/step_%08lld.h5", j->dir, (long long)steps[i]);
            char *real = realpath(path, NULL);
            int keep = real && j->protect && !strcmp(real, j->protect);
            free(real);
            if (!keep) unlink(path);
        }
    }
    free(steps);
}

/* Rank 0: write latest.tmp, rename the synced file into place, then
 * latest.tmp over `latest`. On failure nothing of this save remains and
 * `latest` is unchanged. */
static int commit(const struct pg_ckpt_job *j)
{
    char latest[PG_STR_LONG + 16], tmp[PG_STR_LONG + 32];
    snprintf(latest, sizeof latest, "%s/latest", j->dir);
    snprintf(tmp, sizeof tmp, "%s/latest.tmp", j->dir);
    int e = fault(j, PG_PHASE_CKPT_COMMIT);
    FILE *f = e ? NULL : fopen(tmp, "w");
    if (!e && !f) e = errno;
    if (f && (fprintf(f, "%s\n", j->base) < 0 || fflush(f) || fsync(fileno(f)))) e = errno ? errno : EIO;
    if (f && fclose(f) && !e) e = errno;
    if (e) {
        unlink(tmp);
        unlink(j->tmp);
        return pg_error(PG_EIO, "cannot write '%s': %s", tmp, strerror(e));
    }
    if (rename(j->tmp, j->final)) {
        e = errno;
        unlink(tmp);
        unlink(j->tmp);
        return pg_error(PG_EIO, "cannot rename '%s' to '%s': %s", j->tmp, j->final, strerror(e));
    }
    if (rename(tmp, latest)) {
        e = errno;
        unlink(tmp);
        unlink(j->final);
        return pg_error(PG_EIO, "cannot replace '%s': %s", latest, strerror(e));
    }
    fsync_path(j->dir);
    prune(j);
    return 0;
}

/* Write and commit (the phases after create): collective over j->comm. */
static int run_job(struct pg_ckpt_job *j)
{
    pg_range_push("checkpoint write");
    int rc = pg_ckpt_agree(j->comm, write_rows(j));
    pg_range_pop();
    if (rc) {
        if (j->rank == 0) unlink(j->tmp);
        return rc;
    }
    pg_range_push("checkpoint commit");
    rc = pg_ckpt_agree(j->comm, j->rank == 0 ? commit(j) : 0);
    pg_range_pop();
    return rc;
}

static void *job_thread(void *arg)
{
    struct pg_ckpt_job *j = arg;
    double t0 = pg_now();
    j->rc = run_job(j);
    j->seconds = pg_now() - t0;
    snprintf(j->msg, sizeof j->msg, "%s", pg_errmsg());
    return NULL;
}

int pg_ckpt_finish(pg_run *r)
{
    struct pg_ckpt *c = r->ckpt;
    if (!c || !c->job) return 0;
    struct pg_ckpt_job *j = c->job;
    pthread_join(j->thread, NULL);
    c->job = NULL;
    int rc = j->rc;
    if (rc) pg_error(rc, "%s", j->msg);
    else {
        c->last_bytes = j->bytes;
        c->last_seconds = j->seconds;
    }
    job_free(j);
    return rc;
}

int pg_ckpt_save(pg_run *r, const char *dir)
{
    pg_h5_quiet();
    MPI_Comm world = r->grid->world;
    struct pg_ckpt *c = pg_ckpt_of(r);
    int rc = pg_ckpt_agree(world, c ? 0 : PG_ENOMEM);
    if (!rc) rc = pg_ckpt_finish(r); /* results of a background save are already agreed */
    if (rc) return rc;
    double t0 = pg_now();
    rc = pg_ckpt_agree(world, r->grid->rank == 0 ? pg_mkdirs(dir, "checkpoint directory") : 0);
    if (rc) return rc;
    struct pg_ckpt_job *j = NULL;
    int async = r->cfg.checkpoint.async;
    pg_range_push("checkpoint snapshot");
    rc = snapshot(r, dir, &j);
    pg_range_pop();
    if (!rc && async) {
        int level;
        MPI_Query_thread(&level);
        if (level < MPI_THREAD_MULTIPLE)
            rc = pg_error(PG_EINVAL, "checkpoint.async=1 needs MPI initialised with "
                                     "MPI_THREAD_MULTIPLE (pipegrid train does that)");
    }
    pg_range_push("checkpoint digest");
    if (!(rc = pg_ckpt_agree(world, rc))) rc = digest(j);
    pg_range_pop();
    pg_range_push("checkpoint create");
    if (!rc) rc = pg_ckpt_agree(world, j->rank == 0 ? create_file(j) : 0);
    if (!rc) rc = pg_ckpt_bcast(j->addr, j->nstates * j->nt, MPI_INT64_T, 0, world);
    pg_range_pop();
    if (rc) {
        if (j && j->rank == 0) unlink(j->tmp);
        job_free(j);
        return rc;
    }
    if (!async) {
        rc = run_job(j);
        c->last_stall = c->last_seconds = pg_now() - t0;
        c->last_bytes = j->bytes;
        job_free(j);
        return rc;
    }
    /* asynchronous: the rows and the commit on a thread */
    if (MPI_Comm_dup(world, &j->comm) != MPI_SUCCESS) {
        j->comm = MPI_COMM_NULL;
        rc = pg_error(PG_ECOMM, "checkpoint: cannot duplicate the communicator");
    }
    int started = 0;
    if (!rc && !(started = !pthread_create(&j->thread, NULL, job_thread, j)))
        rc = pg_error(PG_EIO, "checkpoint: cannot start the writer thread");
    if ((rc = pg_ckpt_agree(world, rc))) {
        /* a rank whose thread did start cannot be stopped: the caller ends the job */
        if (!started) {
            if (j->rank == 0) unlink(j->tmp);
            job_free(j);
        }
        return rc;
    }
    c->last_stall = pg_now() - t0;
    c->job = j;
    return 0;
}

int pg_ckpt_maybe_save(pg_run *r, pg_ckpt_saved *saved)
{
    const pg_config *cfg = &r->cfg;
    memset(saved, 0, sizeof *saved);
    int step = pg_engine_steps_done(r->engine), every = cfg->checkpoint.every;
    if (every <= 0 || (step % every && step != cfg->train.steps)) return 0;
    int rc = pg_ckpt_finish(r); /* the previous background save, reported on its own */
    if (rc && cfg->checkpoint.on_error != PG_CKPT_CONTINUE) return rc;
    if (rc) {
        saved->earlier_rc = rc;
        snprintf(saved->earlier, sizeof saved->earlier, "%s", pg_errmsg());
    }
    rc = pg_ckpt_save(r, cfg->checkpoint.dir);
    if (rc) return rc;
    const struct pg_ckpt *c = r->ckpt;
    saved->saved = 1;
    saved->step = step;
    saved->background = c->job != NULL;
    snprintf(saved->path, sizeof saved->path, "%s/step_%08d.h5", cfg->checkpoint.dir, step);
    saved->bytes = c->job ? c->job->bytes : c->last_bytes;
    saved->seconds = c->job ? 0.0 : c->last_seconds;
    saved->stall = c->last_stall;
    return 0;
}

void pg_ckpt_free(struct pg_ckpt *c)
{
    if (!c) return;
    if (c->job) {
        pthread_join(c->job->thread, NULL);
        job_free(c->job);
    }
    free(c->resumed_from);
    free(c);
}
