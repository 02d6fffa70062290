/* ckpt_save.c: writing a checkpoint in parallel and committing it atomically
 * (see checkpoint.h and docs/checkpoint-format.md).
 *
 * A save is a job: a host snapshot of the rows this rank writes (its replica's
 * share of every tensor of its stages) plus the root attributes, taken at the
 * step boundary; then the collective write of step_N.h5.tmp, the sync, the
 * rename and `latest`. Synchronous saves run the job at once; asynchronous
 * ones run it on a thread over the job's own communicator. */
#define _GNU_SOURCE
#include "io/checkpoint/checkpoint.h"
#include "io/checkpoint/ckpt_h5.h"
#include "io/checkpoint/ckpt_layout.h"
#include "runtime/base/error.h"
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
    haddr_t *addr;     /* [D] file offset of each dataset (asynchronous saves) */
    float *host;
    double bytes;      /* tensor bytes in the whole file */
    /* background save */
    pthread_t thread;
    int running, rc;
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

/* The snapshot: root attributes and a host copy of this rank's rows. */
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
    j->nstates = pg_ckpt_states(r->cfg.optim.name, j->states);
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
        size_t row = pg_ckpt_row_len(t);
        r->ops->download(j->host + j->off[d], src + j->lo[d] * row,
                         sizeof(float) * (size_t)(j->hi[d] - j->lo[d]) * row);
    }
    *out = j;
    return 0;
nomem:
    job_free(j);
    return pg_error(PG_ENOMEM, "checkpoint: out of memory for the host copy");
}

/* Fault injection (runtime/guard/fault.h): action=checkpoint fires here, halfway
 * through writing the tensors. */
static void maybe_die(const struct pg_ckpt_job *j)
{
    pg_fault_hit(PG_FAULT_PHASE(PG_PHASE_CKPT_WRITE), (int)j->step, -1);
}

static int root_attrs(const struct pg_ckpt_job *j, hid_t f)
{
    const pg_run *r = j->run;
    const pg_config *c = &r->cfg;
    int S = r->sched->nstages;
    int64_t first[S + 1];
    for (int s = 0; s <= S; s++) first[s] = r->first[s];
    int64_t v1 = PG_CKPT_VERSION, pp = r->grid->pp, dp = r->grid->dp,
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
    bad |= pg_h5_put_i64(f, "format_version", &v1, 1);
    bad |= pg_h5_put_i64(f, "step", &j->step, 1);
    bad |= pg_h5_put_i64(f, "data_position", &j->data_position, 1);
    bad |= pg_h5_put_i64(f, "optimizer_step", &j->optim_t, 1);
    bad |= pg_h5_put_str(f, "optimizer", c->optim.name);
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
    return bad ? pg_error(PG_EIO, "%s: cannot write the root attributes", j->tmp) : 0;
}

/* The CRC-32 of every dataset (collective): each rank digests its own row
 * blocks, one allreduce gathers them, and the blocks are combined in row
 * order, so every rank ends with the same j->crc[]. */
static int digest(struct pg_ckpt_job *j)
{
    int D = j->nstates * j->nt, dp = j->dp;
    uint32_t *crc = calloc((size_t)D * dp + 1, sizeof *crc);
    uint64_t *len = calloc((size_t)D * dp + 1, sizeof *len);
    int rc = (crc && len) ? 0 : pg_error(PG_ENOMEM, "checkpoint: out of memory");
    if ((rc = pg_ckpt_agree(j->comm, rc))) goto done;
    for (int d = 0; d < D; d++) {
        size_t bytes = sizeof(float) * (size_t)(j->hi[d] - j->lo[d]) * pg_ckpt_row_len(&j->t[d % j->nt]);
        if (!bytes) continue;
        crc[(size_t)d * dp + j->replica] = pg_crc32(0, j->host + j->off[d], bytes);
        len[(size_t)d * dp + j->replica] = bytes;
    }
    MPI_Allreduce(MPI_IN_PLACE, crc, D * dp, MPI_UINT32_T, MPI_BOR, j->comm);
    MPI_Allreduce(MPI_IN_PLACE, len, D * dp, MPI_UINT64_T, MPI_SUM, j->comm);
    for (int d = 0; d < D; d++) {
        uint32_t c = 0;
        for (int k = 0; k < dp; k++)
            c = pg_crc32_combine(c, crc[(size_t)d * dp + k], len[(size_t)d * dp + k]);
        j->crc[d] = c;
    }
done:
    free(crc);
    free(len);
    return rc;
}

/* Collective creation of j->tmp: root attributes, every dataset with its
 * attributes (crc32 included). With `data`, the rows are written too, one
 * collective H5Dwrite per dataset; without, only the datasets' file offsets
 * are recorded in j->addr for write_raw. Every rank takes part in every
 * collective call, also after a local failure, so none is left waiting. */
static int write_file(struct pg_ckpt_job *j, int data)
{
    int rc = 0, D = j->nstates * j->nt;
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_mpio(fapl, j->comm, MPI_INFO_NULL);
    H5Pset_all_coll_metadata_ops(fapl, 1);
    H5Pset_coll_metadata_write(fapl, 1);
    hid_t f = H5Fcreate(j->tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    if (f < 0) return pg_error(PG_EIO, "cannot create checkpoint file '%s'", j->tmp);
    rc = root_attrs(j, f);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE), dcpl = H5Pcreate(H5P_DATASET_CREATE),
          dxpl = H5Pcreate(H5P_DATASET_XFER);
    H5Pset_create_intermediate_group(lcpl, 1);
    H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER);
    H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY);
    H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE);
    float dummy = 0.0f;
    for (int d = 0; d < D; d++) {
        const pg_ckpt_tensor *t = &j->t[d % j->nt];
        if (t->copy) continue;
        char path[160];
        snprintf(path, sizeof path, "%s/%s", pg_ckpt_group(j->states[d / j->nt]), t->name);
        hsize_t dims[2] = {t->dims[0], t->dims[1]};
        hid_t fs = H5Screate_simple(t->ndim, dims, NULL);
        hid_t ds = H5Dcreate2(f, path, H5T_IEEE_F32LE, fs, lcpl, dcpl, H5P_DEFAULT);
        int64_t layer = t->layer;
        if (ds < 0 || pg_h5_put_i64(ds, "layer", &layer, 1) || pg_h5_put_str(ds, "kind", t->kind) ||
            pg_h5_put_u32(ds, "crc32", j->crc[d]))
            if (!rc) rc = pg_error(PG_EIO, "%s: cannot create dataset %s", j->tmp, path);
        if (!data) {
            j->addr[d] = ds >= 0 ? H5Dget_offset(ds) : HADDR_UNDEF;
            if (j->addr[d] == HADDR_UNDEF && !rc)
                rc = pg_error(PG_EIO, "%s: dataset %s has no file offset", j->tmp, path);
        } else {
            uint64_t rows = j->hi[d] - j->lo[d];
            size_t row = pg_ckpt_row_len(t);
            hsize_t start[2] = {j->lo[d], 0}, count[2] = {rows, dims[1]};
            hsize_t mdims[1] = {rows * row > 0 ? rows * row : 1};
            hid_t ms = H5Screate_simple(1, mdims, NULL);
            if (rows) {
                H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
            } else {
                H5Sselect_none(fs);
                H5Sselect_none(ms);
            }
            if (H5Dwrite(ds, H5T_NATIVE_FLOAT, ms, fs, dxpl, rows ? j->host + j->off[d] : &dummy) < 0)
                if (!rc) rc = pg_error(PG_EIO, "%s: writing dataset %s failed", j->tmp, path);
            H5Sclose(ms);
            if (d == D / 2) maybe_die(j);
        }
        H5Sclose(fs);
        if (ds >= 0) H5Dclose(ds);
    }
    H5Pclose(lcpl);
    H5Pclose(dcpl);
    H5Pclose(dxpl);
    if (H5Fclose(f) < 0 && !rc) rc = pg_error(PG_EIO, "%s: closing the file failed", j->tmp);
    return rc;
}

/* The rows of an asynchronous save, written with plain MPI-IO at the offsets
 * HDF5 gave the (contiguous, allocated, little-endian float32) datasets: the
 * background thread makes no HDF5 call, so the training thread may use HDF5
 * (the token dataset reader) meanwhile. Independent writes; collective open. */
static int write_raw(struct pg_ckpt_job *j)
{
    MPI_File fh;
    if (MPI_File_open(j->comm, j->tmp, MPI_MODE_WRONLY, MPI_INFO_NULL, &fh) != MPI_SUCCESS)
        return pg_error(PG_EIO, "%s: cannot reopen to write the tensors", j->tmp);
    int rc = 0, D = j->nstates * j->nt;
    for (int d = 0; d < D && !rc; d++) {
        const pg_ckpt_tensor *t = &j->t[d % j->nt];
        size_t row = pg_ckpt_row_len(t), n = (size_t)(j->hi[d] - j->lo[d]) * row;
        if (n && MPI_File_write_at(fh, (MPI_Offset)(j->addr[d] + j->lo[d] * row * sizeof(float)),
                                   j->host + j->off[d], (int)n, MPI_FLOAT,
                                   MPI_STATUS_IGNORE) != MPI_SUCCESS)
            rc = pg_error(PG_EIO, "%s: writing %s/%s failed", j->tmp,
                          pg_ckpt_group(j->states[d / j->nt]), t->name);
        if (d == D / 2) maybe_die(j);
    }
    MPI_File_close(&fh);
    return rc;
}

/* Make the file's data durable: every rank's writes, on any file system. */
static int sync_file(struct pg_ckpt_job *j)
{
    MPI_File fh;
    int e = MPI_File_open(j->comm, j->tmp, MPI_MODE_RDWR, MPI_INFO_NULL, &fh);
    if (e != MPI_SUCCESS) return pg_error(PG_EIO, "%s: cannot reopen to sync", j->tmp);
    e = MPI_File_sync(fh);
    MPI_File_close(&fh);
    return e == MPI_SUCCESS ? 0 : pg_error(PG_EIO, "%s: sync failed", j->tmp);
}

static int fsync_path(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static int mkdir_p(const char *dir)
{
    char p[PG_STR_LONG];
    snprintf(p, sizeof p, "%s", dir);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = '\0';
        if (mkdir(p, 0777) && errno != EEXIST)
            return pg_error(PG_EIO, "cannot create checkpoint directory '%s': %s", p,
                            strerror(errno));
        *s = '/';
    }
    if (mkdir(p, 0777) && errno != EEXIST)
        return pg_error(PG_EIO, "cannot create checkpoint directory '%s': %s", p, strerror(errno));
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Delete all but the newest `keep` committed checkpoints (never `protect`,
 * the one resumed from) and the *.tmp left by saves that died. Rank 0. */
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
        if (tail[0] || strlen(e->d_name) != strlen("step_00000000.h5")) continue;
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
            snprintf(path, sizeof path, "%s/step_%08lld.h5", j->dir, (long long)steps[i]);
            char *real = realpath(path, NULL);
            int keep = real && j->protect && !strcmp(real, j->protect);
            free(real);
            if (!keep) unlink(path);
        }
    }
    free(steps);
}

/* Rename the synced file into place, then replace `latest`. Rank 0. */
static int commit(const struct pg_ckpt_job *j)
{
    if (rename(j->tmp, j->final))
        return pg_error(PG_EIO, "cannot rename '%s' to '%s': %s", j->tmp, j->final,
                        strerror(errno));
    fsync_path(j->dir);
    char latest[PG_STR_LONG + 16], tmp[PG_STR_LONG + 32];
    snprintf(latest, sizeof latest, "%s/latest", j->dir);
    snprintf(tmp, sizeof tmp, "%s/latest.tmp", j->dir);
    FILE *f = fopen(tmp, "w");
    int bad = !f || fprintf(f, "%s\n", j->base) < 0 || fflush(f) || fsync(fileno(f));
    if (f && fclose(f)) bad = 1;
    if (bad || rename(tmp, latest))
        return pg_error(PG_EIO, "cannot update '%s': %s", latest, strerror(errno));
    fsync_path(j->dir);
    prune(j);
    return 0;
}

/* Write (unless the HDF5 part is done and only the raw rows are left),
 * confirm, sync, commit: collective over j->comm. */
static int run_job(struct pg_ckpt_job *j, int raw)
{
    pg_range_push("checkpoint write");
    int rc = pg_ckpt_agree(j->comm, raw ? write_raw(j) : write_file(j, 1));
    pg_range_pop();
    pg_range_push("checkpoint sync");
    if (!rc) rc = pg_ckpt_agree(j->comm, sync_file(j));
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
    j->rc = run_job(j, 1);
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
    rc = pg_ckpt_agree(world, r->grid->rank == 0 ? mkdir_p(dir) : 0);
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
    if (rc) {
        job_free(j);
        return rc;
    }
    if (!async) {
        rc = run_job(j, 0);
        c->last_stall = c->last_seconds = pg_now() - t0;
        c->last_bytes = j->bytes;
        job_free(j);
        return rc;
    }
    /* asynchronous: the HDF5 structure now, the rows on a thread */
    rc = pg_ckpt_agree(world, write_file(j, 0));
    if (!rc && MPI_Comm_dup(world, &j->comm) != MPI_SUCCESS)
        rc = pg_error(PG_ECOMM, "checkpoint: cannot duplicate the communicator");
    int started = 0;
    if (!rc && !(started = !pthread_create(&j->thread, NULL, job_thread, j)))
        rc = pg_error(PG_EIO, "checkpoint: cannot start the writer thread");
    if ((rc = pg_ckpt_agree(world, rc))) {
        /* a rank whose thread did start cannot be stopped: the caller ends the job */
        if (!started) job_free(j);
        return rc;
    }
    c->last_stall = pg_now() - t0;
    c->job = j;
    return 0;
}

int pg_ckpt_maybe_save(pg_run *r)
{
    const pg_config *cfg = &r->cfg;
    int step = pg_engine_steps_done(r->engine), every = cfg->checkpoint.every;
    if (every <= 0 || (step % every && step != cfg->train.steps)) return 0;
    int rc = pg_ckpt_save(r, cfg->checkpoint.dir);
    if (rc || r->grid->rank != 0) return rc;
    const struct pg_ckpt *c = r->ckpt;
    if (c->job)
        printf("checkpoint: step %d -> %s/step_%08d.h5 (%.1f MB, writing in the background; "
               "step stalled %.3f s)\n",
               step, cfg->checkpoint.dir, step, c->job->bytes / 1e6, c->last_stall);
    else
        printf("checkpoint: step %d -> %s/step_%08d.h5 (%.1f MB in %.3f s, %.0f MB/s)\n", step,
               cfg->checkpoint.dir, step, c->last_bytes / 1e6, c->last_seconds,
               c->last_bytes / 1e6 / (c->last_seconds > 0 ? c->last_seconds : 1e-9));
    fflush(stdout);
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
