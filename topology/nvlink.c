/* nvlink.c: NVLink from NVML at run time, from placement.gpu_links, and the
 * check for NVLink-class GPUs whose topology lacks it. */
#include "topology/nvlink.h"

#include "runtime/base/error.h"

#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- NVML, declared here (no nvml.h at build time); layouts as in nvml.h ---- */

typedef int nvml_ret; /* nvmlReturn_t: 0 = NVML_SUCCESS */
typedef struct nvml_device_st *nvml_dev; /* nvmlDevice_t */
typedef struct nvml_pci {   /* nvmlPciInfo_t */
    char bus_id_legacy[16]; /* busIdLegacy */
    unsigned domain, bus, device;
    unsigned pci_device_id;  /* device id << 16 | vendor id */
    unsigned pci_subsystem_id;
    char bus_id[32];
} nvml_pci;
#define NVML_MAX_LINKS 18           /* NVML_NVLINK_MAX_LINKS (NVLink 4 and 5) */
#define NVML_LINK_TYPE_SWITCH 2     /* NVML_NVLINK_DEVICE_TYPE_SWITCH */
#define NVML_LINK_TYPE_UNKNOWN 0xff /* NVML_NVLINK_DEVICE_TYPE_UNKNOWN */

typedef struct nvml_api {
    void *lib;
    nvml_ret (*init)(void);                                       /* nvmlInit_v2 */
    nvml_ret (*shutdown)(void);                                   /* nvmlShutdown */
    const char *(*error_string)(nvml_ret);                        /* nvmlErrorString */
    nvml_ret (*count)(unsigned *);                                /* nvmlDeviceGetCount_v2 */
    nvml_ret (*by_busid)(const char *, nvml_dev *);               /* ..GetHandleByPciBusId_v2 */
    nvml_ret (*link_state)(nvml_dev, unsigned, unsigned *);       /* ..GetNvLinkState */
    nvml_ret (*link_version)(nvml_dev, unsigned, unsigned *);     /* ..GetNvLinkVersion */
    nvml_ret (*link_remote)(nvml_dev, unsigned, nvml_pci *);      /* ..GetNvLinkRemotePciInfo_v2 */
    nvml_ret (*link_remote_type)(nvml_dev, unsigned, unsigned *); /* optional */
} nvml_api;

static int sym(void *lib, const char *name, void *fn, size_t size)
{
    void *p = dlsym(lib, name);
    if (size != sizeof p) return 0;
    memcpy(fn, &p, sizeof p);
    return p != NULL;
}

#define SYM(api, field, name) sym((api)->lib, name, &(api)->field, sizeof((api)->field))

static const char *nvml_library(void)
{
    const char *env = getenv("PG_NVML_LIBRARY");
    return env && *env ? env : "libnvidia-ml.so.1";
}

/* One link's bandwidth one way in GB/s, from NVML's version number; 0 when
 * unknown. */
static double link_gbs(unsigned version, unsigned device_id)
{
    if (version == 1) return 20.0;                /* NVLink 1.0: P100 */
    if (version >= 2 && version <= 6) return 25.0; /* 2.0 .. 4.0: V100, A100, H100 */
    if (version == 7) return (device_id & 0xff00) == 0x2300 ? 25.0 : 50.0; /* 5.0: B200 */
    return 0.0;
}

static int gpu_by_pci(const pg_topo *t, const nvml_pci *p)
{
    char b[PG_BUSID_LEN];
    snprintf(b, sizeof b, "%04x:%02x:%02x", p->domain, p->bus, p->device);
    for (int i = 0; i < t->ngpus; i++)
        if (!strncmp(t->gpus[i].busid, b, strlen(b))) return i;
    return -1;
}

/* Is the remote end of link l of dev an NVSwitch? The driver's word where it
 * has the call, else the PCI device hwloc sees there (NVIDIA, bridge class). */
static int remote_is_switch(const nvml_api *api, const pg_topo *t, nvml_dev dev, unsigned l,
                            const nvml_pci *p)
{
    unsigned type = NVML_LINK_TYPE_UNKNOWN;
    if (api->link_remote_type && api->link_remote_type(dev, l, &type)) type = NVML_LINK_TYPE_UNKNOWN;
    if (type != NVML_LINK_TYPE_UNKNOWN) return type == NVML_LINK_TYPE_SWITCH;
    hwloc_obj_t o = hwloc_get_pcidev_by_busid(t->hw, p->domain, p->bus, p->device, 0);
    return o && o->attr->pcidev.vendor_id == 0x10de && (o->attr->pcidev.class_id >> 8) == 0x06;
}

/* Record the matrix (MB/s, as hwloc's) and the note in the topology. */
static void store(pg_topo *t, int any)
{
    int n = t->ngpus;
    hwloc_obj_add_info(hwloc_get_root_obj(t->hw), "PipegridNVLink", t->nvlink_note);
    if (!any || n < 2) return;
    hwloc_obj_t *objs = malloc(sizeof *objs * (size_t)n);
    hwloc_uint64_t *v = calloc((size_t)(n * n), sizeof *v);
    if (objs && v) {
        for (int i = 0; i < n; i++) {
            objs[i] = t->gpus[i].pci;
            for (int j = 0; j < n; j++) v[i * n + j] = (hwloc_uint64_t)(t->nvlink[i * n + j] * 1000.0);
        }
        hwloc_distances_add_handle_t h = hwloc_distances_add_create(
            t->hw, "NVLinkBandwidth",
            HWLOC_DISTANCES_KIND_FROM_OS | HWLOC_DISTANCES_KIND_MEANS_BANDWIDTH, 0);
        if (h && !hwloc_distances_add_values(t->hw, h, (unsigned)n, objs, v, 0))
            hwloc_distances_add_commit(t->hw, h, 0);
    }
    free(objs);
    free(v);
}

int pg_nvlink_from_nvml(pg_topo *t)
{
    const char *name = nvml_library();
    nvml_api api;
    memset(&api, 0, sizeof api);
    dlerror();
    if (!(api.lib = dlopen(name, RTLD_NOW | RTLD_LOCAL))) {
        const char *why = dlerror();
        snprintf(t->nvlink_note, sizeof t->nvlink_note,
                 "NVLink not read: NVML (%s) cannot be loaded (%s); GPU peers priced by PCIe path",
                 name, why ? why : "unknown reason");
        store(t, 0);
        return 0;
    }
    int n = t->ngpus, rc = 0;
    double *fabric = NULL;
    if (!SYM(&api, init, "nvmlInit_v2") || !SYM(&api, shutdown, "nvmlShutdown") ||
        !SYM(&api, count, "nvmlDeviceGetCount_v2") ||
        !SYM(&api, by_busid, "nvmlDeviceGetHandleByPciBusId_v2") ||
        !SYM(&api, link_state, "nvmlDeviceGetNvLinkState") ||
        !SYM(&api, link_version, "nvmlDeviceGetNvLinkVersion") ||
        !SYM(&api, link_remote, "nvmlDeviceGetNvLinkRemotePciInfo_v2")) {
        snprintf(t->nvlink_note, sizeof t->nvlink_note,
                 "NVLink not read: NVML (%s) lacks the NVLink calls (driver too old?); GPU "
                 "peers priced by PCIe path",
                 name);
        goto done;
    }
    SYM(&api, error_string, "nvmlErrorString");
    SYM(&api, link_remote_type, "nvmlDeviceGetNvLinkRemoteDeviceType");
    nvml_ret e = api.init();
    if (e) {
        snprintf(t->nvlink_note, sizeof t->nvlink_note,
                 "NVLink not read: NVML (%s) could not start: %s (error %d); GPU peers priced "
                 "by PCIe path",
                 name, api.error_string ? api.error_string(e) : "", e);
        goto done;
    }
    unsigned seen = 0;
    api.count(&seen);
    if (!(fabric = calloc((size_t)n + 1, sizeof *fabric))) {
        rc = pg_error(PG_ENOMEM, "topology: out of memory");
        api.shutdown();
        goto done;
    }
    int found = 0, to_gpu = 0, to_switch = 0, other = 0, unknown_version = 0;
    for (int i = 0; i < n; i++) {
        nvml_dev dev;
        if (api.by_busid(t->gpus[i].busid, &dev)) continue;
        found++;
        for (unsigned l = 0; l < NVML_MAX_LINKS; l++) {
            unsigned active = 0, version = 0;
            if (api.link_state(dev, l, &active)) break; /* no such link */
            if (!active) continue;
            nvml_pci p;
            memset(&p, 0, sizeof p);
            if (api.link_remote(dev, l, &p)) {
                other++;
                continue;
            }
            double bw = api.link_version(dev, l, &version) ? 0.0
                                                           : link_gbs(version, t->gpus[i].device_id);
            if (bw <= 0) {
                unknown_version = (int)version;
                continue;
            }
            int j = gpu_by_pci(t, &p);
            if (j >= 0 && j != i) {
                t->nvlink[i * n + j] += bw;
                to_gpu++;
            } else if (j < 0 && remote_is_switch(&api, t, dev, l, &p)) {
                fabric[i] += bw;
                to_switch++;
            } else {
                other++;
            }
        }
    }
    api.shutdown();
    int pairs = 0;
    double most = 0.0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            if (i == j) continue;
            double f = fabric[i] < fabric[j] ? fabric[i] : fabric[j];
            t->nvlink[i * n + j] += f;
            if (t->nvlink[i * n + j] > most) most = t->nvlink[i * n + j];
            pairs += j > i && (t->nvlink[i * n + j] > 0 || t->nvlink[j * n + i] > 0);
        }
    char extra[96] = "";
    if (unknown_version)
        snprintf(extra, sizeof extra, "; links of unknown NVLink version %d left out",
                 unknown_version);
    if (pairs)
        snprintf(t->nvlink_note, sizeof t->nvlink_note,
                 "NVLink read through NVML (%s): %d of %d GPU pair(s) linked, up to %.0f GB/s "
                 "one way (link ends at the GPUs: %d to GPUs, %d to NVSwitches, %d to CPUs or others)%s",
                 name, pairs, n * (n - 1) / 2, most, to_gpu, to_switch, other, extra);
    else
        snprintf(t->nvlink_note, sizeof t->nvlink_note,
                 "NVLink read through NVML (%s): no NVLink between this node's %d GPU(s) (NVML "
                 "knows %d of them, sees %u)%s",
                 name, n, found, seen, extra);
done:
    store(t, !rc && fabric);
    free(fabric);
    dlclose(api.lib);
    return rc;
}

/* ---- placement.gpu_links ---- */

static int gpu_by_busid(const pg_topo *t, const char *b)
{
    for (int i = 0; i < t->ngpus; i++)
        if (!strcasecmp(t->gpus[i].busid, b)) return i;
    return -1;
}

static int positive(const char *s, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    while (end && isspace((unsigned char)*end)) end++;
    if (end == s || *end || errno || !(v > 0) || v > 1e6) return 0;
    *out = v;
    return 1;
}

static int links_file(pg_topo *t, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return pg_error(PG_EIO, "placement.gpu_links: cannot open '%s': %s", path, strerror(errno));
    int n = t->ngpus, line = 0, pairs = 0, rc = 0;
    char buf[256];
    memset(t->nvlink, 0, sizeof *t->nvlink * (size_t)(n * n));
    while (!rc && fgets(buf, sizeof buf, f)) {
        line++;
        char *hash = strchr(buf, '#');
        if (hash) *hash = '\0';
        char a[64], b[64], bw[64], more[8];
        int k = sscanf(buf, "%63s %63s %63s %7s", a, b, bw, more);
        if (k <= 0) continue;
        double v;
        int i = gpu_by_busid(t, a), j = gpu_by_busid(t, b);
        if (k != 3 || !positive(bw, &v))
            rc = pg_error(PG_EFORMAT, "%s:%d: expected 'BUSID BUSID GBS' (two GPUs' PCI bus ids "
                                      "and their NVLink bandwidth one way in GB/s)",
                          path, line);
        else if (i < 0 || j < 0)
            rc = pg_error(PG_EFORMAT, "%s:%d: no GPU with bus id '%s' in topology %s (see "
                                      "pipegrid topo --topology)",
                          path, line, i < 0 ? a : b, t->source);
        else if (i == j)
            rc = pg_error(PG_EFORMAT, "%s:%d: a GPU linked to itself ('%s')", path, line, a);
        else {
            t->nvlink[i * n + j] = t->nvlink[j * n + i] = v;
            pairs++;
        }
    }
    fclose(f);
    if (!rc)
        snprintf(t->nvlink_note, sizeof t->nvlink_note,
                 "NVLink from placement.gpu_links=file:%s (%d GPU pair(s))", path, pairs);
    return rc;
}

int pg_topo_set_links(pg_topo *t, const char *spec)
{
    if (!spec || !*spec) return 0;
    int n = t->ngpus;
    double v;
    if (!strncmp(spec, "file:", 5) && spec[5]) return links_file(t, spec + 5);
    if (strncmp(spec, "nvlink:", 7) || !positive(spec + 7, &v))
        return pg_error(PG_EINVAL, "placement.gpu_links: expected nvlink:GBS (every GPU pair of a "
                                   "node, GB/s one way) or file:PATH, got '%s'",
                        spec);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) t->nvlink[i * n + j] = i == j ? 0.0 : v;
    snprintf(t->nvlink_note, sizeof t->nvlink_note,
             "NVLink from placement.gpu_links=%s (every GPU pair)", spec);
    return 0;
}

/* ---- NVLink-class GPUs ---- */

/* SXM and DGX parts, PCI device ids from pci.ids (2023.04.11) except H200
 * (0x2335, NVIDIA's gpu-admin-tools). PCIe cards (NVLink only by bridge) are
 * not listed. */
static const struct {
    unsigned id;
    const char *name;
} NVLINK_GPUS[] = {
    {0x15f9, "P100-SXM2-16GB"}, {0x1db1, "V100-SXM2-16GB"}, {0x1df5, "V100-SXM2-16GB"},
    {0x1db5, "V100-SXM2-32GB"}, {0x1db2, "V100-DGXS-16GB"}, {0x1db7, "V100-DGXS-32GB"},
    {0x1db8, "V100-SXM3-32GB"}, {0x20b0, "A100-SXM4-40GB"}, {0x20b2, "A100-SXM4-80GB"},
    {0x20b3, "A100-SXM-64GB"},  {0x20f3, "A800-SXM4-80GB"}, {0x2330, "H100-SXM5-80GB"},
    {0x2324, "H800-SXM5"},      {0x2335, "H200-SXM-141GB"},
};

static const char *nvlink_model(unsigned id)
{
    for (size_t i = 0; i < sizeof NVLINK_GPUS / sizeof NVLINK_GPUS[0]; i++)
        if (NVLINK_GPUS[i].id == id) return NVLINK_GPUS[i].name;
    return NULL;
}

int pg_topo_nvlink_missing(const pg_topo *t, char *msg, size_t len)
{
    int n = t->ngpus, cls = 0;
    const char *model = NULL;
    if (t->thissystem) return 0; /* live: the NVML note says why there is no NVLink */
    for (int i = 0; i < n; i++) {
        const char *m = nvlink_model(t->gpus[i].device_id);
        if (m) {
            cls++;
            if (!model) model = m;
        }
    }
    if (cls < 2) return 0;
    for (int i = 0; i < n * n; i++)
        if (t->nvlink[i] > 0) return 0;
    snprintf(msg, len,
             "topology %s: its %d %s GPUs are normally connected by NVLink, but it holds no "
             "NVLink data, so GPU peers are priced by PCIe path; give the links with "
             "placement.gpu_links=nvlink:GBS (--set) or file:PATH (docs/placement.md)",
             t->source, cls, model);
    return 1;
}
