/* ckpt_verify.c: checking and describing a checkpoint file without MPI
 * (`pipegrid ckpt verify|inspect`, see checkpoint.h). The expected datasets
 * come from the configuration recorded in the file itself. */
#include "io/checkpoint/checkpoint.h"
#include "io/checkpoint/ckpt_h5.h"
#include "io/checkpoint/ckpt_layout.h"
#include "runtime/base/error.h"

#include <stdlib.h>
#include <string.h>

/* The file opened with the default (POSIX) driver, its header, the model its
 * configuration describes and the datasets that model implies. */
typedef struct opened {
    hid_t f;
    pg_ckpt_header h;
    pg_model *m;
    pg_ckpt_tensor *t;
    int nt, nstates;
    pg_ckpt_state states[PG_CKPT_MAX_STATES];
} opened;

static void close_opened(opened *o)
{
    if (o->f >= 0) H5Fclose(o->f);
    pg_ckpt_header_free(&o->h);
    pg_model_free(o->m);
    free(o->t);
}

static int open_file(const char *path, opened *o)
{
    memset(o, 0, sizeof *o);
    o->f = -1;
    pg_h5_quiet();
    FILE *probe = fopen(path, "rb");
    if (!probe) return pg_error(PG_EIO, "%s: cannot open", path);
    fclose(probe);
    if (H5Fis_hdf5(path) <= 0) return pg_error(PG_EFORMAT, "%s: not an HDF5 file", path);
    o->f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (o->f < 0)
        return pg_error(PG_EFORMAT, "%s: cannot open as HDF5 (truncated or damaged)", path);
    int rc = pg_ckpt_read_header(o->f, path, &o->h);
    if (!rc && (rc = pg_model_create(&o->m, &o->h.cfg))) {
        char why[1024];
        snprintf(why, sizeof why, "%s", pg_errmsg());
        rc = pg_error(rc, "%s: the recorded config does not build a model: %s", path, why);
    }
    if (!rc) rc = pg_ckpt_tensors(o->m, &o->t, &o->nt);
    if (!rc) o->nstates = pg_ckpt_states(o->h.optimizer, o->states);
    return rc;
}

static void dataset_name(const opened *o, int d, char *buf, size_t n)
{
    snprintf(buf, n, "%s/%s", pg_ckpt_group(o->states[d / o->nt]), o->t[d % o->nt].name);
}

/* Datasets in the file that the recorded configuration does not imply. */
typedef struct extra_ctx {
    const opened *o;
    const char *path;
    FILE *out;
    int count;
    void (*report)(struct extra_ctx *x, const char *name, const H5O_info_t *info);
} extra_ctx;

static herr_t visit(hid_t obj, const char *name, const H5O_info_t *info, void *arg)
{
    extra_ctx *x = arg;
    if (info->type != H5O_TYPE_DATASET) return 0;
    char want[200];
    for (int d = 0; d < x->o->nt * x->o->nstates; d++) {
        if (x->o->t[d % x->o->nt].copy) continue;
        dataset_name(x->o, d, want, sizeof want);
        if (!strcmp(want + 1, name)) return 0;
    }
    x->count++;
    x->report(x, name, info);
    return 0;
}

static int problem(FILE *out, int *first, int rc)
{
    if (out) fprintf(out, "%s\n", pg_errmsg());
    if (!*first) *first = rc;
    return rc;
}

static char first_msg[1024];

static void report_extra(extra_ctx *x, const char *name, const H5O_info_t *info)
{
    pg_error(PG_EFORMAT, "%s: unexpected dataset /%s (not implied by the recorded config)",
             x->path, name);
    if (x->out) fprintf(x->out, "%s\n", pg_errmsg());
    if (x->count == 1 && !first_msg[0]) snprintf(first_msg, sizeof first_msg, "%s", pg_errmsg());
}

int pg_ckpt_verify(const char *path, FILE *out)
{
    opened o;
    int first = 0, rc = open_file(path, &o);
    first_msg[0] = '\0';
    if (rc) {
        problem(out, &first, rc);
        close_opened(&o);
        return rc;
    }
    /* the buffer grows tensor by tensor, only once pg_ckpt_open_tensor has
     * checked that the file holds that tensor's bytes: the shapes come from
     * the file's config attribute and may claim terabytes */
    float *buf = NULL;
    size_t cap = 0;
    int D = o.nt * o.nstates, good = 0, stored = 0;
    double bytes = 0;
    for (int d = 0; d < D; d++) {
        const pg_ckpt_tensor *t = &o.t[d % o.nt];
        if (t->copy) continue;
        stored++;
        char name[200];
        dataset_name(&o, d, name, sizeof name);
        uint32_t want = 0;
        int e = 0;
        hid_t ds = pg_ckpt_open_tensor(o.f, path, name, t, &want, &e);
        if (ds < 0) {
            problem(out, &first, e);
            if (!first_msg[0]) snprintf(first_msg, sizeof first_msg, "%s", pg_errmsg());
            continue;
        }
        if (t->n > cap) {
            float *grown = realloc(buf, sizeof(float) * t->n);
            if (!grown) {
                H5Dclose(ds);
                free(buf);
                close_opened(&o);
                return pg_error(PG_ENOMEM, "%s: out of memory for dataset %s", path, name);
            }
            buf = grown;
            cap = t->n;
        }
        if (H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
            e = pg_error(PG_EIO, "%s: reading dataset %s failed (file truncated or damaged)",
                         path, name);
        H5Dclose(ds);
        uint32_t got = e ? 0 : pg_crc32(0, buf, sizeof(float) * t->n);
        if (!e && got != want)
            e = pg_error(PG_EFORMAT, "%s: dataset %s: CRC-32 mismatch (stored 0x%08x, data "
                                     "0x%08x): the checkpoint is corrupted",
                         path, name, want, got);
        size_t bad = e ? t->n : pg_ckpt_nonfinite(buf, t->n);
        if (!e && bad < t->n)
            e = pg_error(PG_ENUMERIC, "%s: dataset %s holds NaN/Inf (element %zu)", path, name, bad);
        if (e) {
            problem(out, &first, e);
            if (!first_msg[0]) snprintf(first_msg, sizeof first_msg, "%s", pg_errmsg());
            continue;
        }
        good++;
        bytes += 4.0 * (double)t->n;
    }
    free(buf);
    extra_ctx x = {&o, path, out, 0, report_extra};
    H5Ovisit2(o.f, H5_INDEX_NAME, H5_ITER_INC, visit, &x, H5O_INFO_BASIC);
    if (x.count && !first) first = PG_EFORMAT;
    int64_t step = o.h.step;
    close_opened(&o);
    if (first) {
        if (out)
            fprintf(out, "%s: FAILED: %d of %d datasets good, %d unexpected\n", path, good,
                    stored, x.count);
        return pg_error(first, "%s", first_msg);
    }
    if (out)
        fprintf(out, "%s: ok: step %lld, %d datasets, %.1f MB, every CRC-32 matches, all "
                     "finite\n", path,
                (long long)step, stored, bytes / 1e6);
    return 0;
}

static void dtype_str(hid_t type, char *buf, size_t n)
{
    size_t bits = 8 * H5Tget_size(type);
    switch (H5Tget_class(type)) {
    case H5T_FLOAT: snprintf(buf, n, "float%zu", bits); break;
    case H5T_INTEGER: snprintf(buf, n, "int%zu", bits); break;
    default: snprintf(buf, n, "other"); break;
    }
}

static void print_dataset(FILE *out, hid_t f, const char *name)
{
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d < 0) {
        fprintf(out, "  %-44s MISSING\n", name);
        return;
    }
    hid_t type = H5Dget_type(d), space = H5Dget_space(d);
    hsize_t dims[8] = {0};
    int nd = H5Sget_simple_extent_ndims(space);
    if (nd > 8) nd = 8;
    if (nd > 0) H5Sget_simple_extent_dims(space, dims, NULL);
    char shape[96] = "(", dt[16];
    for (int i = 0; i < nd; i++)
        snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%s%llu", i ? ", " : "",
                 (unsigned long long)dims[i]);
    strcat(shape, ")");
    dtype_str(type, dt, sizeof dt);
    uint32_t crc = 0;
    int has_crc = pg_h5_get_u32(d, "crc32", &crc) == 0;
    char crcs[16] = "none";
    if (has_crc) snprintf(crcs, sizeof crcs, "0x%08x", crc);
    fprintf(out, "  %-44s %-14s %-8s %12llu  %s\n", name, shape, dt,
            (unsigned long long)(H5Sget_simple_extent_npoints(space) * (hssize_t)H5Tget_size(type)),
            crcs);
    H5Tclose(type);
    H5Sclose(space);
    H5Dclose(d);
}

static void print_extra(extra_ctx *x, const char *name, const H5O_info_t *info)
{
    char full[256];
    snprintf(full, sizeof full, "/%s", name);
    print_dataset(x->out, x->o->f, full);
}

int pg_ckpt_inspect(const char *path, FILE *out)
{
    opened o;
    int rc = open_file(path, &o);
    if (rc) {
        close_opened(&o);
        return rc;
    }
    const pg_ckpt_header *h = &o.h;
    int64_t part[1024];
    char partition[512] = "?";
    hid_t a = H5Aexists(o.f, "partition") > 0 ? H5Aopen(o.f, "partition", H5P_DEFAULT) : -1;
    if (a >= 0) {
        hid_t sp = H5Aget_space(a);
        hssize_t n = H5Sget_simple_extent_npoints(sp);
        H5Sclose(sp);
        if (n > 1 && n <= 1024 && H5Aread(a, H5T_NATIVE_INT64, part) >= 0) {
            partition[0] = '\0';
            for (hssize_t s = 0; s + 1 < n; s++)
                snprintf(partition + strlen(partition), sizeof partition - strlen(partition),
                         "%s%lld", s ? "," : "", (long long)(part[s + 1] - part[s]));
            strncat(partition, " layers per stage", sizeof partition - strlen(partition) - 1);
        }
        H5Aclose(a);
    }
    double bytes = 0;
    int stored = 0;
    for (int i = 0; i < o.nt; i++) {
        if (o.t[i].copy) continue;
        bytes += 4.0 * (double)o.t[i].n * o.nstates;
        stored++;
    }
    fprintf(out, "checkpoint %s\n", path);
    fprintf(out, "  format         %s version %lld, written by %s at %s\n", PG_CKPT_FORMAT,
            (long long)h->version, h->writer, h->created);
    fprintf(out, "  step           %lld (optimizer updates %lld)\n", (long long)h->step,
            (long long)h->optim_t);
    fprintf(out, "  data position  %lld (global sample index of the next sample)\n",
            (long long)h->data_position);
    fprintf(out, "  grid at save   pp=%lld x dp=%lld (%lld ranks), schedule %s, %lld "
                 "microbatches, partition %s\n",
            (long long)h->pp, (long long)h->dp, (long long)h->nranks, h->schedule,
            (long long)h->microbatches, partition);
    fprintf(out, "  seeds          train.seed=%ld data.seed=%ld\n", h->cfg.train.seed,
            h->cfg.data.seed);
    fprintf(out, "  model          %s, %d layers, %d parameter tensors%s, optimizer %s\n",
            pg_model_type_names[h->cfg.model.type], o.m->nlayers, stored, stored < o.nt ? " (tied copies once)" : "",
            h->optimizer);
    fprintf(out, "  tensors        %d datasets, %.1f MB\n\n", stored * o.nstates, bytes / 1e6);
    fprintf(out, "  %-44s %-14s %-8s %12s  %s\n", "dataset", "shape", "dtype", "bytes", "crc32");
    for (int d = 0; d < o.nt * o.nstates; d++) {
        if (o.t[d % o.nt].copy) continue;
        char name[200];
        dataset_name(&o, d, name, sizeof name);
        print_dataset(out, o.f, name);
    }
    extra_ctx x = {&o, path, out, 0, print_extra};
    H5Ovisit2(o.f, H5_INDEX_NAME, H5_ITER_INC, visit, &x, H5O_INFO_BASIC);
    close_opened(&o);
    return 0;
}
