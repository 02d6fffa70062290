/* ckpt_load.c: finding a checkpoint, checking it fits the run, and loading
 * it into any grid (see checkpoint.h).
 *
 * Every rank reads the root attributes and checks the model configuration
 * (the same verdict everywhere). Then each rank reads the whole tensors of
 * its own stages (independent reads) and checks each one's CRC-32 before it
 * is used. Sharing the reads among a stage's replicas and exchanging the
 * blocks (MPI_Allgatherv) was measured 2x slower on one node (docs). */
#define _GNU_SOURCE
#include "io/checkpoint/checkpoint.h"
#include "io/checkpoint/ckpt_h5.h"
#include "io/checkpoint/ckpt_layout.h"
#include "runtime/base/error.h"
#include "runtime/base/range.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int pg_ckpt_resolve(const char *spec, const char *dir, char *path, size_t n)
{
    path[0] = '\0';
    int automatic = !strcmp(spec, "auto");
    const char *d = dir;
    if (!automatic && strcmp(spec, "latest")) {
        struct stat st;
        if (stat(spec, &st))
            return pg_error(PG_EIO, "cannot open '%s': %s", spec, strerror(errno));
        if (!S_ISDIR(st.st_mode)) {
            snprintf(path, n, "%s", spec);
            return 0;
        }
        d = spec;
    }
    char latest[PG_STR_LONG + 16], name[256] = "";
    snprintf(latest, sizeof latest, "%s/latest", d);
    FILE *f = fopen(latest, "r");
    if (!f) {
        if (automatic && errno == ENOENT) return 0;
        return pg_error(PG_EIO, "no checkpoint to resume: cannot open '%s': %s",
                        latest, strerror(errno));
    }
    int ok = fgets(name, sizeof name, f) != NULL;
    fclose(f);
    name[strcspn(name, "\r\n")] = '\0';
    if (!ok || !name[0] || strchr(name, '/'))
        return pg_error(PG_EFORMAT, "%s: expected the name of a checkpoint file in %s", latest,
                        d);
    snprintf(path, n, "%s/%s", d, name);
    if (access(path, R_OK))
        return pg_error(PG_EIO, "%s names '%s', which cannot be read: %s", latest, path,
                        strerror(errno));
    return 0;
}

void pg_ckpt_header_free(pg_ckpt_header *h)
{
    free(h->optimizer);
    free(h->schedule);
    free(h->config);
    free(h->created);
    free(h->writer);
    memset(h, 0, sizeof *h);
}

/* The root attributes against each other and the file's name: the data
 * position counts the samples of `step` global batches, the optimizer's
 * updates are at most the steps (skipped NaN/Inf steps update nothing), and
 * step_NNNNNNNN.h5 holds step NNNNNNNN. */
static int cross_check(const char *path, const pg_ckpt_header *h)
{
    if (h->data_position != h->step * (int64_t)h->cfg.train.batch_size)
        return pg_error(PG_EFORMAT, "%s: root attributes disagree: data_position %lld is not "
                                    "step %lld x train.batch_size %d", path,
                        (long long)h->data_position, (long long)h->step, h->cfg.train.batch_size);
    if (h->optim_t > h->step)
        return pg_error(PG_EFORMAT, "%s: root attributes disagree: optimizer_step %lld exceeds "
                                    "step %lld", path, (long long)h->optim_t, (long long)h->step);
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    long long named;
    int len = 0;
    if (sscanf(base, "step_%8lld.h5%n", &named, &len) == 1 && len == (int)strlen(base) &&
        len == (int)strlen("step_00000000.h5") && named != h->step)
        return pg_error(PG_EFORMAT, "%s: root attribute step %lld disagrees with the file name",
                        path, (long long)h->step);
    return 0;
}

int pg_ckpt_read_header(hid_t f, const char *path, pg_ckpt_header *h)
{
    memset(h, 0, sizeof *h);
    char *format = NULL;
    if (pg_h5_get_str(f, "format", &format) || strcmp(format, PG_CKPT_FORMAT)) {
        free(format);
        return pg_error(PG_EFORMAT, "%s: not a pipegrid checkpoint (root attribute 'format' is "
                                    "not '%s')", path, PG_CKPT_FORMAT);
    }
    free(format);
    if (pg_h5_get_i64(f, "format_version", &h->version, 1))
        return pg_error(PG_EFORMAT, "%s: root attribute 'format_version' is missing", path);
    if (h->version > PG_CKPT_VERSION)
        return pg_error(PG_EFORMAT, "%s: format version %lld is newer than this pipegrid "
                                    "reads (%d)", path, (long long)h->version, PG_CKPT_VERSION);
    static const char *const ints[] = {"step", "optimizer_step", "data_position", "grid_pp",
                                       "grid_dp", "microbatches", "nranks"};
    int64_t *dst[] = {&h->step, &h->optim_t, &h->data_position, &h->pp, &h->dp,
                      &h->microbatches, &h->nranks};
    for (int i = 0; i < 7; i++)
        if (pg_h5_get_i64(f, ints[i], dst[i], 1))
            return pg_error(PG_EFORMAT, "%s: root attribute '%s' is missing or not an integer",
                            path, ints[i]);
    static const char *const strs[] = {"optimizer", "schedule", "config", "created", "writer"};
    char **sdst[] = {&h->optimizer, &h->schedule, &h->config, &h->created, &h->writer};
    for (int i = 0; i < 5; i++)
        if (pg_h5_get_str(f, strs[i], sdst[i])) {
            pg_ckpt_header_free(h);
            return pg_error(PG_EFORMAT, "%s: root attribute '%s' is missing or not a string",
                            path, strs[i]);
        }
    char origin[PG_STR_LONG + 32];
    snprintf(origin, sizeof origin, "%s: attribute config", path);
    int rc = pg_config_init(&h->cfg);
    if (!rc) rc = pg_config_load_string(&h->cfg, h->config, origin);
    if (!rc && (rc = pg_config_check(&h->cfg))) {
        char why[1024];
        snprintf(why, sizeof why, "%s", pg_errmsg());
        rc = pg_error(PG_EFORMAT, "%s: attribute config: %s", path, why);
    }
    /* counters the run keeps as int: refuse what would not fit */
    for (int i = 0; i < 2 && !rc; i++) /* step, optimizer_step */
        if (*dst[i] < 0 || *dst[i] > INT_MAX)
            rc = pg_error(PG_EFORMAT, "%s: root attribute '%s' = %lld lies outside [0, %d]",
                          path, ints[i], (long long)*dst[i], INT_MAX);
    if (!rc && strcmp(h->optimizer, pg_optim_names[h->cfg.optim.name]))
        rc = pg_error(PG_EFORMAT, "%s: attribute optimizer '%s' disagrees with the config's "
                                  "optim.name '%s'", path, h->optimizer,
                      pg_optim_names[h->cfg.optim.name]);
    uint32_t want = 0, got = 0;
    if (!rc && h->version >= 2) {
        if (pg_h5_get_u32(f, "attrs_crc32", &want))
            rc = pg_error(PG_EFORMAT, "%s: root attribute 'attrs_crc32' is missing", path);
        else if (pg_ckpt_attrs_crc(f, &got))
            rc = pg_error(PG_EFORMAT, "%s: a root attribute covered by attrs_crc32 is missing "
                                      "or of the wrong type", path);
        else if (got != want)
            rc = pg_error(PG_EFORMAT, "%s: root attributes: CRC-32 mismatch (stored 0x%08x, "
                                      "attributes 0x%08x): step, config or another root "
                                      "attribute was changed", path, want, got);
    }
    if (!rc) rc = cross_check(path, h);
    if (rc) pg_ckpt_header_free(h);
    return rc;
}

/* The configuration keys that must match to resume: the whole [model]
 * section (whatever keys it has), the optimizer (its state tensors) and the
 * global batch (the data position counts samples, the steps count batches). */
static int must_match(const char *section, const char *key)
{
    return !strcmp(section, "model") || (!strcmp(section, "optim") && !strcmp(key, "name")) ||
           (!strcmp(section, "train") && !strcmp(key, "batch_size"));
}

static char *dump(const pg_config *c)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return NULL;
    pg_config_dump(c, f);
    fclose(f);
    return text;
}

/* Compare the dumps of both configurations line by line (the same key table
 * writes both, so lines correspond). */
static int compatible(const char *path, const pg_config *saved, const pg_config *now)
{
    char *a = dump(saved), *b = dump(now);
    int rc = (a && b) ? 0 : pg_error(PG_ENOMEM, "checkpoint: out of memory");
    char section[64] = "";
    char *sa = NULL, *sb = NULL;
    for (char *la = a ? strtok_r(a, "\n", &sa) : NULL, *lb = b ? strtok_r(b, "\n", &sb) : NULL;
         !rc && la && lb; la = strtok_r(NULL, "\n", &sa), lb = strtok_r(NULL, "\n", &sb)) {
        if (la[0] == '[') {
            snprintf(section, sizeof section, "%.*s", (int)strcspn(la + 1, "]"), la + 1);
            continue;
        }
        char *eqa = strstr(la, " = "), *eqb = strstr(lb, " = ");
        if (!eqa || !eqb) continue;
        *eqa = '\0';
        if (!must_match(section, la) || !strcmp(eqa + 3, eqb + 3)) continue;
        rc = pg_error(PG_EINVAL, "%s: %s.%s differs: checkpoint has '%s', this run '%s' (it "
                                 "must match to resume)", path, section, la, eqa + 3, eqb + 3);
    }
    free(a);
    free(b);
    return rc;
}

/* The file holds all of dataset d's data: its storage is allocated and no
 * larger than the file. Checked before a buffer is sized by t's shape (the
 * shape comes from the file's own config attribute). */
static int stored_whole(hid_t f, hid_t d, const pg_ckpt_tensor *t)
{
    H5D_space_status_t st = H5D_SPACE_STATUS_ERROR;
    hsize_t file_size = 0;
    if (H5Dget_space_status(d, &st) < 0 || st != H5D_SPACE_STATUS_ALLOCATED) return 0;
    if (H5Fget_filesize(f, &file_size) < 0) return 0;
    return (double)t->n * sizeof(float) <= (double)file_size;
}

hid_t pg_ckpt_open_tensor(hid_t f, const char *path, const char *name, const pg_ckpt_tensor *t,
                         uint32_t *crc, int *rc)
{
    if (!pg_h5_exists(f, name)) {
        *rc = pg_error(PG_EFORMAT, "%s: dataset %s is missing", path, name);
        return -1;
    }
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d < 0) {
        *rc = pg_error(PG_EFORMAT, "%s: %s is not a readable dataset", path, name);
        return -1;
    }
    hid_t type = H5Dget_type(d), space = H5Dget_space(d);
    hsize_t dims[2] = {0, 0};
    int nd = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
    if (nd >= 1 && nd <= 2) H5Sget_simple_extent_dims(space, dims, NULL);
    int is_f32 = type >= 0 && H5Tget_class(type) == H5T_FLOAT && H5Tget_size(type) == 4;
    if (type >= 0) H5Tclose(type);
    if (space >= 0) H5Sclose(space);
    char want[64], got[64];
    snprintf(want, sizeof want, t->ndim == 2 ? "(%llu, %llu)" : "(%llu)",
             (unsigned long long)t->dims[0], (unsigned long long)t->dims[1]);
    if (nd == 1) snprintf(got, sizeof got, "(%llu)", (unsigned long long)dims[0]);
    else if (nd == 2)
        snprintf(got, sizeof got, "(%llu, %llu)", (unsigned long long)dims[0],
                 (unsigned long long)dims[1]);
    else snprintf(got, sizeof got, "%d dimensions", nd);
    if (!is_f32) *rc = pg_error(PG_EFORMAT, "%s: dataset %s is not float32", path, name);
    else if (strcmp(want, got))
        *rc = pg_error(PG_EFORMAT, "%s: dataset %s has shape %s, expected %s", path, name, got,
                       want);
    else if (pg_h5_get_u32(d, "crc32", crc))
        *rc = pg_error(PG_EFORMAT, "%s: dataset %s has no crc32 attribute", path, name);
    else if (!stored_whole(f, d, t))
        *rc = pg_error(PG_EFORMAT, "%s: dataset %s: the file does not hold its %zu bytes "
                                   "(truncated, damaged or never written)",
                       path, name, sizeof(float) * t->n);
    if (*rc) {
        H5Dclose(d);
        return -1;
    }
    return d;
}

/* What one replica checks of a tensor it reads: the bytes [lo, hi) (its
 * row block), their CRC-32 and the first NaN/Inf there (in elements from
 * the tensor's start; SIZE_MAX: none). */
typedef struct check {
    size_t lo, hi;
    uint32_t crc;
    size_t bad;
} check;

/* Check bytes [at, at + n) of the tensor, which sit at p. */
static void check_part(check *c, const char *p, size_t at, size_t n)
{
    size_t a = at > c->lo ? at : c->lo, b = at + n < c->hi ? at + n : c->hi;
    if (a >= b) return;
    size_t nf = (b - a) / sizeof(float), i = pg_ckpt_nonfinite((const float *)(p + (a - at)), nf);
    if (i < nf && c->bad == SIZE_MAX) c->bad = a / sizeof(float) + i;
    c->crc = pg_crc32(c->crc, p + (a - at), b - a);
}

/* Read all of tensor t (dataset d) into buf and check c's part of it. With
 * contiguous storage (what pipegrid writes): preads of 1 MiB at the
 * dataset's file offset, each checked while it is still in the cache (one
 * pass over memory); else through HDF5, then checked. */
static int read_all(hid_t d, int fd, const pg_ckpt_tensor *t, float *buf, check *c)
{
    haddr_t a = fd >= 0 ? H5Dget_offset(d) : HADDR_UNDEF;
    size_t total = sizeof(float) * t->n;
    if (a == HADDR_UNDEF) {
        if (H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) return -1;
        check_part(c, (const char *)buf, 0, total);
        return 0;
    }
    char *p = (char *)buf;
    for (size_t done = 0; done < total;) {
        size_t want = total - done < (1u << 20) ? total - done : (1u << 20);
        ssize_t got = pread(fd, p + done, want, (off_t)(a + done));
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return -1;
        check_part(c, p + done, done, (size_t)got);
        done += (size_t)got;
    }
    return 0;
}

/* Datasets in f that the layout does not imply: the first one's name into
 * `first`. */
typedef struct extra {
    const pg_ckpt_tensor *t;
    int nt, nstates;
    const pg_ckpt_state *states;
    char first[256];
} extra;

static herr_t visit_extra(hid_t obj, const char *name, const H5O_info_t *info, void *arg)
{
    (void)obj;
    extra *x = arg;
    if (info->type != H5O_TYPE_DATASET) return 0;
    for (int d = 0; d < x->nt * x->nstates; d++) {
        char want[200];
        snprintf(want, sizeof want, "%s/%s", pg_ckpt_group(x->states[d / x->nt]), x->t[d % x->nt].name);
        if (!strcmp(want + 1, name)) return 0;
    }
    snprintf(x->first, sizeof x->first, "/%s", name);
    return 1;
}

/* Load every tensor of this rank's stages and check its CRC-32 and that it
 * is finite: each dp replica of a stage reads the whole tensor but checks
 * only its own row block, and the blocks' CRC-32s are combined over the
 * world (the replicas share the checking). Collective; the result is
 * agreed. */
static int load_tensors(pg_run *r, hid_t f, const char *path)
{
    pg_ckpt_state states[PG_CKPT_MAX_STATES];
    int nstates = pg_ckpt_states(pg_optim_names[r->cfg.optim.name], states), nt, dp = r->grid->dp,
        replica = r->grid->replica;
    pg_ckpt_tensor *ts;
    int rc = pg_ckpt_tensors(r->model, &ts, &nt);
    if (rc) return pg_ckpt_agree(r->grid->world, rc);
    int D = nstates * nt;
    /* host memory (the CPU backend) is read into directly; else through buf */
    int host = !strcmp(r->ops->name, "cpu");
    size_t biggest = 1;
    for (int i = 0; i < nt && !host; i++) biggest = ts[i].n > biggest ? ts[i].n : biggest;
    float *buf = malloc(sizeof(float) * biggest);
    uint32_t *want = calloc((size_t)D + 1, sizeof *want), *part = calloc((size_t)D * dp + 1, sizeof *part);
    rc = buf && want && part ? 0 : pg_error(PG_ENOMEM, "checkpoint: out of memory");
    extra x = {ts, nt, nstates, states, ""};
    if (!rc && H5Ovisit2(f, H5_INDEX_NAME, H5_ITER_INC, visit_extra, &x, H5O_INFO_BASIC) > 0)
        rc = pg_error(PG_EFORMAT, "%s: unexpected dataset %s (not implied by the recorded config)",
                      path, x.first);
    int fd = rc ? -1 : open(path, O_RDONLY);
    for (int d = 0; d < D && !rc; d++) {
        const pg_ckpt_tensor *t = &ts[d % nt];
        float *dst = pg_ckpt_local(r, t, states[d / nt]);
        if (!dst) continue;
        char name[160];
        snprintf(name, sizeof name, "%s/%s", pg_ckpt_group(states[d / nt]), t->name);
        hid_t ds = pg_ckpt_open_tensor(f, path, name, t, &want[d], &rc);
        float *into = host ? dst : buf;
        uint64_t lo, hi;
        size_t row = pg_ckpt_row_len(t);
        pg_ckpt_rows(t, replica, dp, &lo, &hi);
        check ck = {sizeof(float) * lo * row, sizeof(float) * hi * row, 0, SIZE_MAX};
        if (!rc && read_all(ds, fd, t, into, &ck))
            rc = pg_error(PG_EIO, "%s: reading dataset %s failed (file truncated or damaged)",
                          path, name);
        if (ds >= 0) H5Dclose(ds);
        if (rc) break;
        part[(size_t)d * dp + replica] = ck.crc;
        if (ck.bad != SIZE_MAX)
            rc = pg_error(PG_ENUMERIC, "%s: dataset %s holds NaN/Inf (element %zu)", path, name,
                          ck.bad);
        else if (!host) r->ops->upload(dst, buf, sizeof(float) * t->n);
    }
    if (fd >= 0) close(fd);
    if (!(rc = pg_ckpt_agree(r->grid->world, rc)) &&
        !(rc = pg_ckpt_allreduce(part, D * dp, MPI_UINT32_T, MPI_BOR, r->grid->world))) {
        for (int d = 0; d < D && !rc; d++) {
            const pg_ckpt_tensor *t = &ts[d % nt];
            if (!pg_ckpt_local(r, t, states[d / nt])) continue;
            uint32_t got = pg_ckpt_combine(t, part + (size_t)d * dp, dp);
            if (got != want[d])
                rc = pg_error(PG_EFORMAT, "%s: dataset %s/%s: CRC-32 mismatch (stored 0x%08x, "
                                          "data 0x%08x): the checkpoint is corrupted",
                              path, pg_ckpt_group(states[d / nt]), t->name, want[d], got);
        }
        rc = pg_ckpt_agree(r->grid->world, rc);
    }
    free(buf);
    free(want);
    free(part);
    free(ts);
    return rc;
}

int pg_ckpt_load(pg_run *r, const char *path)
{
    pg_h5_quiet();
    MPI_Comm world = r->grid->world;
    struct pg_ckpt *c = pg_ckpt_of(r);
    int rc = pg_ckpt_agree(world, c ? 0 : PG_ENOMEM);
    if (rc) return rc;
    /* every rank opens the file with the serial driver: no MPI inside HDF5 */
    hid_t f = H5Fis_hdf5(path) > 0 ? H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT) : -1;
    if (f < 0)
        rc = pg_error(PG_EFORMAT, "%s: not an HDF5 file, or truncated or unreadable", path);
    pg_ckpt_header h = {0};
    if (!rc) rc = pg_ckpt_read_header(f, path, &h);
    if (!rc) rc = compatible(path, &h.cfg, &r->cfg);
    pg_range_push("checkpoint load");
    if (!(rc = pg_ckpt_agree(world, rc))) rc = load_tensors(r, f, path);
    pg_range_pop();
    if (f >= 0) H5Fclose(f);
    if (!rc) {
        pg_engine_optim(r->engine)->t = (int)h.optim_t;
        pg_engine_set_steps_done(r->engine, (int)h.step);
        free(c->resumed_from);
        c->resumed_from = realpath(path, NULL);
    }
    pg_ckpt_header_free(&h);
    return rc;
}

static int cmp_desc(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x < y) - (x > y);
}

void pg_ckpt_candidates_free(char **paths, int n)
{
    for (int i = 0; i < n; i++) free(paths[i]);
    free(paths);
}

int pg_ckpt_candidates(const char *spec, const char *dir, char ***paths, int *n, char **note)
{
    *paths = NULL;
    *n = 0;
    if (note) *note = NULL;
    int automatic = !strcmp(spec, "auto");
    const char *d = dir;
    if (!automatic && strcmp(spec, "latest")) {
        struct stat st;
        if (stat(spec, &st))
            return pg_error(PG_EIO, "cannot open '%s': %s", spec, strerror(errno));
        if (!S_ISDIR(st.st_mode)) {
            char **one = malloc(sizeof *one);
            if (!one || !(one[0] = strdup(spec))) {
                free(one);
                return pg_error(PG_ENOMEM, "out of memory");
            }
            *paths = one;
            *n = 1;
            return 0;
        }
        d = spec;
    }
    /* `latest` first; its reason is kept when it cannot be used */
    char first[PG_STR_LONG + 300] = "";
    long long first_step = -1;
    int rc = pg_ckpt_resolve(automatic ? "latest" : spec, dir, first, sizeof first);
    char why[1024] = "";
    if (rc) {
        snprintf(why, sizeof why, "%s", pg_errmsg());
        first[0] = '\0';
    } else {
        const char *base = strrchr(first, '/') ? strrchr(first, '/') + 1 : first;
        if (sscanf(base, "step_%lld.h5", &first_step) != 1) first_step = -1;
    }
    /* then the step files, newest first (older than latest's when it has one) */
    long long *steps = NULL;
    size_t ns = 0, cap = 0;
    DIR *dd = opendir(d);
    for (struct dirent *e; dd && (e = readdir(dd));) {
        long long s;
        int len = 0;
        if (sscanf(e->d_name, "step_%8lld.h5%n", &s, &len) != 1 || len != (int)strlen(e->d_name) ||
            len != (int)strlen("step_00000000.h5"))
            continue;
        if (first[0] && (first_step < 0 || s >= first_step)) continue;
        if (ns == cap) {
            cap = cap ? 2 * cap : 16;
            long long *g = realloc(steps, sizeof *g * cap);
            if (!g) break;
            steps = g;
        }
        steps[ns++] = s;
    }
    if (dd) closedir(dd);
    if (ns) qsort(steps, ns, sizeof *steps, cmp_desc); /* steps is NULL when ns = 0 */
    int total = (first[0] ? 1 : 0) + (int)ns;
    char **out = calloc((size_t)total + 1, sizeof *out);
    if (!out) {
        free(steps);
        return pg_error(PG_ENOMEM, "out of memory");
    }
    int k = 0;
    if (first[0]) out[k++] = strdup(first);
    for (size_t i = 0; i < ns; i++) {
        char p[PG_STR_LONG + 300];
        snprintf(p, sizeof p, "%s/step_%08lld.h5", d, steps[i]);
        out[k++] = strdup(p);
    }
    free(steps);
    for (int i = 0; i < k; i++)
        if (!out[i]) {
            pg_ckpt_candidates_free(out, k);
            return pg_error(PG_ENOMEM, "out of memory");
        }
    if (k == 0) {
        free(out);
        if (automatic && rc) {
            /* no latest and no step files: start fresh; anything else is an error */
            char latest[PG_STR_LONG + 16];
            snprintf(latest, sizeof latest, "%s/latest", d);
            if (access(latest, F_OK) && errno == ENOENT) return 0;
        }
        return pg_error(rc ? rc : PG_EIO, "%s", why[0] ? why : "no checkpoint to resume");
    }
    if (rc && note) *note = strdup(why);
    *paths = out;
    *n = k;
    return 0;
}
