/* nvml_stub.c: a fake NVML (built as libnvidia-ml.so.1) for the NVLink tests:
 * the calls topology/nvlink.c makes, answering from $PG_NVML_STUB, read at
 * nvmlInit_v2:
 *
 *   PG_NVML_STUB="A B LINKS VERSION TYPE; ..."
 *
 * one entry per group of links from GPU A (PCI bus id) to B, LINKS links of
 * NVML version VERSION, B being a gpu (the links show on both GPUs), a switch
 * or an npu (a POWER CPU's NVLink bridge; both only on A). The GPUs NVML
 * knows are every A and every gpu B. Unset, nvmlInit_v2 fails as on a node
 * whose driver is not loaded. Each GPU has 18 link slots: its links first
 * (active), then inactive ones; slot 18 and above is an invalid argument. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct pci {
    char legacy[16];
    unsigned domain, bus, device, device_id, subsystem;
    char busid[32];
} pci;

enum { OK = 0, INVALID_ARGUMENT = 2, DRIVER_NOT_LOADED = 9, NOT_FOUND = 6 };
enum { GPU = 0, NPU = 1, SWITCH = 2 };
#define SLOTS 18
#define MAXGPU 32

typedef struct link {
    unsigned domain, bus, device, version, type;
} link;

static struct gpu {
    unsigned domain, bus, device;
    int nlinks;
    link links[SLOTS];
} gpus[MAXGPU];
static int ngpus;

static int parse_busid(const char *s, unsigned *d, unsigned *b, unsigned *v)
{
    unsigned f = 0;
    return sscanf(s, "%x:%x:%x.%x", d, b, v, &f) >= 3;
}

static int gpu_index(unsigned d, unsigned b, unsigned v, int add)
{
    for (int i = 0; i < ngpus; i++)
        if (gpus[i].domain == d && gpus[i].bus == b && gpus[i].device == v) return i;
    if (!add || ngpus == MAXGPU) return -1;
    gpus[ngpus].domain = d;
    gpus[ngpus].bus = b;
    gpus[ngpus].device = v;
    return ngpus++;
}

static void add_links(int g, unsigned d, unsigned b, unsigned v, int n, unsigned version,
                      unsigned type)
{
    for (int k = 0; k < n && gpus[g].nlinks < SLOTS; k++)
        gpus[g].links[gpus[g].nlinks++] = (link){d, b, v, version, type};
}

int nvmlInit_v2(void)
{
    const char *spec = getenv("PG_NVML_STUB");
    ngpus = 0;
    memset(gpus, 0, sizeof gpus);
    if (!spec) return DRIVER_NOT_LOADED;
    char *copy = strdup(spec), *save = NULL;
    for (char *e = strtok_r(copy, ";", &save); e; e = strtok_r(NULL, ";", &save)) {
        char a[32], b[32], type[16];
        unsigned da, ba, va, db, bb, vb, version;
        int n;
        if (sscanf(e, "%31s %31s %d %u %15s", a, b, &n, &version, type) != 5 ||
            !parse_busid(a, &da, &ba, &va) || !parse_busid(b, &db, &bb, &vb))
            continue;
        unsigned t = !strcmp(type, "gpu") ? GPU : !strcmp(type, "switch") ? SWITCH : NPU;
        int ga = gpu_index(da, ba, va, 1);
        add_links(ga, db, bb, vb, n, version, t);
        if (t == GPU) add_links(gpu_index(db, bb, vb, 1), da, ba, va, n, version, GPU);
    }
    free(copy);
    return OK;
}

int nvmlShutdown(void) { return OK; }

const char *nvmlErrorString(int e)
{
    return e == DRIVER_NOT_LOADED ? "Driver Not Loaded" : e == OK ? "Success" : "Error";
}

int nvmlDeviceGetCount_v2(unsigned *n)
{
    *n = (unsigned)ngpus;
    return OK;
}

/* handles are 1 + the GPU's index */
int nvmlDeviceGetHandleByPciBusId_v2(const char *busid, void **dev)
{
    unsigned d, b, v;
    int i = parse_busid(busid, &d, &b, &v) ? gpu_index(d, b, v, 0) : -1;
    if (i < 0) return NOT_FOUND;
    *dev = (void *)(size_t)(i + 1);
    return OK;
}

static struct gpu *of(void *dev, unsigned l)
{
    size_t i = (size_t)dev;
    return i >= 1 && i <= (size_t)ngpus && l < SLOTS ? &gpus[i - 1] : NULL;
}

int nvmlDeviceGetNvLinkState(void *dev, unsigned l, unsigned *active)
{
    struct gpu *g = of(dev, l);
    if (!g) return INVALID_ARGUMENT;
    *active = (int)l < g->nlinks;
    return OK;
}

int nvmlDeviceGetNvLinkVersion(void *dev, unsigned l, unsigned *version)
{
    struct gpu *g = of(dev, l);
    if (!g || (int)l >= g->nlinks) return INVALID_ARGUMENT;
    *version = g->links[l].version;
    return OK;
}

int nvmlDeviceGetNvLinkRemotePciInfo_v2(void *dev, unsigned l, pci *p)
{
    struct gpu *g = of(dev, l);
    if (!g || (int)l >= g->nlinks) return INVALID_ARGUMENT;
    const link *k = &g->links[l];
    memset(p, 0, sizeof *p);
    p->domain = k->domain;
    p->bus = k->bus;
    p->device = k->device;
    snprintf(p->busid, sizeof p->busid, "%08x:%02x:%02x.0", k->domain, k->bus, k->device);
    snprintf(p->legacy, sizeof p->legacy, "%04x:%02x:%02x.0", k->domain & 0xffff, k->bus,
             k->device);
    return OK;
}

int nvmlDeviceGetNvLinkRemoteDeviceType(void *dev, unsigned l, unsigned *type)
{
    struct gpu *g = of(dev, l);
    if (!g || (int)l >= g->nlinks) return INVALID_ARGUMENT;
    *type = g->links[l].type;
    return OK;
}
