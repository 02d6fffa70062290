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

#include <errno.h>
#include <limits.h>
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
    if (!rc && strcmp(h->optimizer, h->cfg.optim.name))
        rc = pg_error(PG_EFORMAT, "%s: attribute optimizer '%s' disagrees with the config's "
                                  "optim.name '%s'", path, h->optimizer, h->cfg.optim.name);
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

/* Read rows [lo, hi) of dataset d into buf (which holds the whole tensor). */
static int read_rows(hid_t d, const pg_ckpt_tensor *t, uint64_t lo, uint64_t hi, float *buf)
{
    if (hi == lo) return 0;
    hsize_t start[2] = {lo, 0}, count[2] = {hi - lo, t->dims[1]};
    hsize_t mdims[1] = {(hi - lo) * pg_ckpt_row_len(t)};
    hid_t fs = H5Dget_space(d), ms = H5Screate_simple(1, mdims, NULL);
    int bad = fs < 0 || H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
              H5Dread(d, H5T_NATIVE_FLOAT, ms, fs, H5P_DEFAULT, buf + lo * pg_ckpt_row_len(t)) < 0;
    if (fs >= 0) H5Sclose(fs);
    H5Sclose(ms);
    return bad ? -1 : 0;
}

/* Load every tensor of this rank's stages (no communication; the caller
 * agrees on the result over the world). */
static int load_tensors(pg_run *r, hid_t f, const char *path)
{
    pg_ckpt_state states[PG_CKPT_MAX_STATES];
    int nstates = pg_ckpt_states(r->cfg.optim.name, states), nt;
    pg_ckpt_tensor *ts;
    int rc = pg_ckpt_tensors(r->model, &ts, &nt);
    if (rc) return rc;
    size_t biggest = 1;
    for (int i = 0; i < nt; i++) biggest = ts[i].n > biggest ? ts[i].n : biggest;
    float *buf = malloc(sizeof(float) * biggest);
    rc = buf ? 0 : pg_error(PG_ENOMEM, "checkpoint: out of memory");
    for (int s = 0; s < nstates && !rc; s++) {
        for (int i = 0; i < nt && !rc; i++) {
            const pg_ckpt_tensor *t = &ts[i];
            float *dst = pg_ckpt_local(r, t, states[s]);
            if (!dst) continue;
            char name[160];
            snprintf(name, sizeof name, "%s/%s", pg_ckpt_group(states[s]), t->name);
            uint32_t want = 0;
            hid_t d = pg_ckpt_open_tensor(f, path, name, t, &want, &rc);
            if (!rc && read_rows(d, t, 0, t->dims[0], buf))
                rc = pg_error(PG_EIO, "%s: reading dataset %s failed (file truncated or "
                                      "damaged)", path, name);
            if (d >= 0) H5Dclose(d);
            if (rc) break;
            uint32_t got = pg_crc32(0, buf, sizeof(float) * t->n);
            if (got != want)
                rc = pg_error(PG_EFORMAT, "%s: dataset %s: CRC-32 mismatch (stored 0x%08x, "
                                          "data 0x%08x): the checkpoint is corrupted",
                              path, name, want, got);
            else r->ops->upload(dst, buf, sizeof(float) * t->n);
        }
    }
    free(buf);
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
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_mpio(fapl, world, MPI_INFO_NULL);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    H5Pclose(fapl);
    if (f < 0)
        rc = pg_error(PG_EFORMAT, "%s: not an HDF5 file, or truncated or unreadable", path);
    pg_ckpt_header h = {0};
    if (!rc) rc = pg_ckpt_read_header(f, path, &h);
    if (!rc) rc = compatible(path, &h.cfg, &r->cfg);
    pg_range_push("checkpoint load");
    if (!(rc = pg_ckpt_agree(world, rc))) rc = pg_ckpt_agree(world, load_tensors(r, f, path));
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
