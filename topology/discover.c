/* discover.c: GPUs, NICs, NUMA nodes and cores of a node through hwloc. */
#include "topology/discover.h"

#include "runtime/base/error.h"
#include "topology/nvlink.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const char *pg_path_name(pg_path p)
{
    static const char *const names[PG_NPATHS] = {"SWITCH", "HOSTBRIDGE", "NUMA", "SYS"};
    return p >= 0 && p < PG_NPATHS ? names[p] : "?";
}

static void busid_of(hwloc_obj_t pci, char *out)
{
    const struct hwloc_pcidev_attr_s *a = &pci->attr->pcidev;
    snprintf(out, PG_BUSID_LEN, "%04x:%02x:%02x.%01x", a->domain, a->bus, a->dev, a->func);
}

static int is_cuda_osdev(hwloc_obj_t o)
{
    const char *backend = hwloc_obj_get_info_by_name(o, "Backend");
    if (backend && (!strcmp(backend, "CUDA") || !strcmp(backend, "NVML"))) return 1;
    return o->name && (!strncmp(o->name, "cuda", 4) || !strncmp(o->name, "nvml", 4));
}

static int find_gpu(const pg_topo *t, hwloc_obj_t pci)
{
    for (int i = 0; i < t->ngpus; i++)
        if (t->gpus[i].pci == pci) return i;
    return -1;
}

static int add_gpu(pg_topo *t, hwloc_obj_t pci)
{
    if (find_gpu(t, pci) >= 0) return 0;
    pg_topo_gpu *g = realloc(t->gpus, sizeof *g * (size_t)(t->ngpus + 1));
    if (!g) return pg_error(PG_ENOMEM, "topology: out of memory");
    t->gpus = g;
    g = &t->gpus[t->ngpus++];
    memset(g, 0, sizeof *g);
    g->pci = pci;
    g->cuda = -1;
    g->local = hwloc_get_non_io_ancestor_obj(t->hw, pci);
    busid_of(pci, g->busid);
    g->device_id = pci->attr->pcidev.device_id;
    const char *model = hwloc_obj_get_info_by_name(pci, "PCIDevice");
    if (model) snprintf(g->model, sizeof g->model, "%s", model);
    else snprintf(g->model, sizeof g->model, "NVIDIA %04x", pci->attr->pcidev.device_id);
    return 0;
}

static int by_busid_gpu(const void *a, const void *b)
{
    return strcmp(((const pg_topo_gpu *)a)->busid, ((const pg_topo_gpu *)b)->busid);
}

static int by_busid_nic(const void *a, const void *b)
{
    return strcmp(((const pg_topo_nic *)a)->busid, ((const pg_topo_nic *)b)->busid);
}

/* CUDA/NVML OS devices if the topology has any, else NVIDIA display-class
 * PCI devices. */
static int find_gpus(pg_topo *t)
{
    hwloc_obj_t o = NULL;
    int rc;
    while ((o = hwloc_get_next_osdev(t->hw, o))) {
        if (!is_cuda_osdev(o) || !o->parent || o->parent->type != HWLOC_OBJ_PCI_DEVICE) continue;
        if ((rc = add_gpu(t, o->parent))) return rc;
    }
    if (t->ngpus == 0) {
        while ((o = hwloc_get_next_pcidev(t->hw, o)))
            if (o->attr->pcidev.vendor_id == 0x10de && (o->attr->pcidev.class_id >> 8) == 0x03) {
                if ((rc = add_gpu(t, o))) return rc;
                t->gpus[t->ngpus - 1].by_pci = 1;
            }
    }
    if (t->ngpus > 1) qsort(t->gpus, (size_t)t->ngpus, sizeof *t->gpus, by_busid_gpu);
    /* model and CUDA index from the OS devices, now that the order is fixed */
    while ((o = hwloc_get_next_osdev(t->hw, o))) {
        if (!is_cuda_osdev(o) || !o->parent) continue;
        int i = find_gpu(t, o->parent);
        if (i < 0) continue;
        const char *model = hwloc_obj_get_info_by_name(o, "GPUModel");
        if (model) snprintf(t->gpus[i].model, sizeof t->gpus[i].model, "%s", model);
        if (o->name && !strncmp(o->name, "cuda", 4)) t->gpus[i].cuda = atoi(o->name + 4);
    }
    return 0;
}

/* An RDMA device whose ports are all known and none is ACTIVE (state 4) is
 * unusable: NCCL skips such ports too. */
static int ports_down(hwloc_obj_t ofed)
{
    int known = 0;
    for (unsigned i = 0; i < ofed->infos_count; i++) {
        const char *n = ofed->infos[i].name;
        size_t len = strlen(n);
        if (strncmp(n, "Port", 4) || len < 9 || strcmp(n + len - 5, "State")) continue;
        known = 1;
        if (!strcmp(ofed->infos[i].value, "4")) return 0;
    }
    return known;
}

static int find_nics(pg_topo *t)
{
    hwloc_obj_t pci = NULL;
    while ((pci = hwloc_get_next_pcidev(t->hw, pci))) {
        pg_topo_nic n = {0};
        int rdma = 0, down = 0;
        for (hwloc_obj_t c = pci->io_first_child; c; c = c->next_sibling) {
            if (c->type != HWLOC_OBJ_OS_DEVICE || !c->name) continue;
            if (c->attr->osdev.type == HWLOC_OBJ_OSDEV_OPENFABRICS) {
                rdma = 1;
                down = ports_down(c);
                snprintf(n.name, sizeof n.name, "%s", c->name);
            } else if (c->attr->osdev.type == HWLOC_OBJ_OSDEV_NETWORK && !n.netdev[0]) {
                snprintf(n.netdev, sizeof n.netdev, "%s", c->name);
            }
        }
        if (rdma && down) continue;
        if (!rdma && !((pci->attr->pcidev.class_id >> 8) == 0x02 && n.netdev[0])) continue;
        n.kind = rdma ? PG_NIC_RDMA : PG_NIC_ETH;
        if (!rdma) snprintf(n.name, sizeof n.name, "%s", n.netdev);
        n.pci = pci;
        n.local = hwloc_get_non_io_ancestor_obj(t->hw, pci);
        busid_of(pci, n.busid);
        pg_topo_nic *grown = realloc(t->nics, sizeof *grown * (size_t)(t->nnics + 1));
        if (!grown) return pg_error(PG_ENOMEM, "topology: out of memory");
        t->nics = grown;
        t->nics[t->nnics++] = n;
    }
    if (t->nnics > 1) qsort(t->nics, (size_t)t->nnics, sizeof *t->nics, by_busid_nic);
    return 0;
}

/* The closest common ancestor (hwloc's helper compares depths, which I/O
 * objects do not have). */
static hwloc_obj_t common_ancestor(hwloc_obj_t a, hwloc_obj_t b)
{
    for (hwloc_obj_t x = a; x; x = x->parent)
        for (hwloc_obj_t y = b; y; y = y->parent)
            if (x == y) return x;
    return NULL;
}

/* Path class and bridge count between two PCI devices. */
static void pci_path(const pg_topo *t, hwloc_obj_t a, hwloc_obj_t b, pg_path *cls, int *hops)
{
    hwloc_obj_t c = common_ancestor(a, b);
    int n = 0;
    for (hwloc_obj_t o = a->parent; o && o != c; o = o->parent) n += o->type == HWLOC_OBJ_BRIDGE;
    for (hwloc_obj_t o = b->parent; o && o != c; o = o->parent) n += o->type == HWLOC_OBJ_BRIDGE;
    if (c->type == HWLOC_OBJ_BRIDGE) {
        n++;
        *cls = c->attr->bridge.upstream_type == HWLOC_OBJ_BRIDGE_HOST ? PG_PATH_HOSTBRIDGE
                                                                      : PG_PATH_SWITCH;
    } else if (c->type == HWLOC_OBJ_PCI_DEVICE) {
        *cls = PG_PATH_SWITCH; /* functions of one device */
    } else {
        hwloc_obj_t la = hwloc_get_non_io_ancestor_obj(t->hw, a);
        hwloc_obj_t lb = hwloc_get_non_io_ancestor_obj(t->hw, b);
        *cls = hwloc_bitmap_intersects(la->nodeset, lb->nodeset) ? PG_PATH_NUMA : PG_PATH_SYS;
    }
    *hops = n;
}

pg_path pg_topo_cpu_nic_path(const pg_topo *t, hwloc_const_cpuset_t cpus, int nic)
{
    hwloc_nodeset_t mine = hwloc_bitmap_alloc();
    hwloc_cpuset_to_nodeset(t->hw, cpus, mine);
    int near = hwloc_bitmap_intersects(mine, t->nics[nic].local->nodeset);
    hwloc_bitmap_free(mine);
    return near ? PG_PATH_NUMA : PG_PATH_SYS;
}

/* The GPU an NVLink matrix entry stands for (its OS device or PCI device),
 * or -1 for anything else (NVSwitch, CPU package). */
static int nvlink_gpu(const pg_topo *t, hwloc_obj_t o)
{
    if (o->type == HWLOC_OBJ_OS_DEVICE && o->parent) o = o->parent;
    return o->type == HWLOC_OBJ_PCI_DEVICE ? find_gpu(t, o) : -1;
}

static void find_nvlink(pg_topo *t)
{
    unsigned nr = 4;
    struct hwloc_distances_s *d[4];
    if (hwloc_distances_get_by_name(t->hw, "NVLinkBandwidth", &nr, d, 0) || nr == 0) return;
    int n = t->ngpus;
    for (unsigned k = 0; k < nr && k < 4; k++) {
        unsigned m = d[k]->nbobjs;
        int *gpu = malloc(sizeof(int) * m);
        int *sw = malloc(sizeof(int) * m);
        if (!gpu || !sw) {
            free(gpu);
            free(sw);
            break;
        }
        for (unsigned i = 0; i < m; i++) {
            gpu[i] = nvlink_gpu(t, d[k]->objs[i]);
            sw[i] = gpu[i] < 0 && d[k]->objs[i]->type == HWLOC_OBJ_PCI_DEVICE;
        }
        /* direct GPU-GPU links (values are MB/s) */
        for (unsigned i = 0; i < m; i++)
            for (unsigned j = 0; j < m; j++)
                if (i != j && gpu[i] >= 0 && gpu[j] >= 0)
                    t->nvlink[gpu[i] * n + gpu[j]] += d[k]->values[i * m + j] / 1000.0;
        /* through NVSwitches: the smaller side's bandwidth into the switch
         * fabric. hwloc lists GPU-switch links only, not the trunks between
         * switch boards (DGX-2), and a node's switches form one fabric. */
        for (unsigned i = 0; i < m; i++)
            for (unsigned j = 0; j < m; j++) {
                if (i == j || gpu[i] < 0 || gpu[j] < 0) continue;
                double bi = 0.0, bj = 0.0;
                for (unsigned s = 0; s < m; s++)
                    if (sw[s]) {
                        bi += (double)d[k]->values[i * m + s];
                        bj += (double)d[k]->values[j * m + s];
                    }
                t->nvlink[gpu[i] * n + gpu[j]] += (bi < bj ? bi : bj) / 1000.0;
            }
        free(gpu);
        free(sw);
        hwloc_distances_release(t->hw, d[k]);
    }
    for (unsigned k = 4; k < nr; k++) hwloc_distances_release(t->hw, d[k]);
}

static int fill_paths(pg_topo *t)
{
    int g = t->ngpus, c = t->nnics;
    size_t gg = (size_t)(g * g) + 1, gc = (size_t)(g * c) + 1;
    t->gpu_path = malloc(sizeof *t->gpu_path * gg);
    t->gpu_hops = malloc(sizeof *t->gpu_hops * gg);
    t->nvlink = calloc(gg, sizeof *t->nvlink);
    t->nic_path = malloc(sizeof *t->nic_path * gc);
    t->nic_hops = malloc(sizeof *t->nic_hops * gc);
    if (!t->gpu_path || !t->gpu_hops || !t->nvlink || !t->nic_path || !t->nic_hops)
        return pg_error(PG_ENOMEM, "topology: out of memory");
    for (int i = 0; i < g; i++) {
        for (int j = 0; j < g; j++)
            pci_path(t, t->gpus[i].pci, t->gpus[j].pci, &t->gpu_path[i * g + j],
                     &t->gpu_hops[i * g + j]);
        for (int j = 0; j < c; j++)
            pci_path(t, t->gpus[i].pci, t->nics[j].pci, &t->nic_path[i * c + j],
                     &t->nic_hops[i * c + j]);
    }
    find_nvlink(t);
    return 0;
}

/* Where the NVLink numbers come from: the note a first reading left in the
 * topology (NVML, shared through the XML export), the topology's own matrix,
 * or, on this machine, NVML now. */
static int nvlink_source(pg_topo *t)
{
    const char *saved = hwloc_obj_get_info_by_name(hwloc_get_root_obj(t->hw), "PipegridNVLink");
    int any = 0;
    for (int i = 0; i < t->ngpus * t->ngpus; i++) any |= t->nvlink[i] > 0;
    if (saved) snprintf(t->nvlink_note, sizeof t->nvlink_note, "%s", saved);
    else if (any)
        snprintf(t->nvlink_note, sizeof t->nvlink_note,
                 "NVLink from the topology's NVLinkBandwidth matrix (hwloc)");
    else if (t->thissystem && t->ngpus > 0) return pg_nvlink_from_nvml(t);
    else if (t->ngpus > 1)
        snprintf(t->nvlink_note, sizeof t->nvlink_note, "no NVLink data in the topology");
    return 0;
}

/* Everything after hwloc_topology_load. */
static int finish(pg_topo *t)
{
    t->thissystem = hwloc_topology_is_thissystem(t->hw);
    t->nnuma = hwloc_get_nbobjs_by_type(t->hw, HWLOC_OBJ_NUMANODE);
    t->npackages = hwloc_get_nbobjs_by_type(t->hw, HWLOC_OBJ_PACKAGE);
    t->core_type = HWLOC_OBJ_CORE;
    t->ncores = hwloc_get_nbobjs_by_type(t->hw, HWLOC_OBJ_CORE);
    if (t->ncores <= 0) {
        t->core_type = HWLOC_OBJ_PU;
        t->ncores = hwloc_get_nbobjs_by_type(t->hw, HWLOC_OBJ_PU);
    }
    if (t->ncores <= 0)
        return pg_error(PG_EFORMAT, "topology %s: no cores or processing units", t->source);
    int rc;
    if ((rc = find_gpus(t)) || (rc = find_nics(t)) || (rc = fill_paths(t)) ||
        (rc = nvlink_source(t)))
        return rc;
    return 0;
}

static pg_topo *topo_new(const char *source)
{
    pg_topo *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    snprintf(t->source, sizeof t->source, "%s", source);
    if (hwloc_topology_init(&t->hw)) {
        free(t);
        return NULL;
    }
    /* without this, PCI and OS devices are filtered out before we see them */
    hwloc_topology_set_io_types_filter(t->hw, HWLOC_TYPE_FILTER_KEEP_IMPORTANT);
    return t;
}

/* The live machine as XML, read once per process (discovering PCI devices
 * takes tens of milliseconds, parsing this a fraction of one). */
static char *live_xml;
static int live_len;

int pg_topo_load(pg_topo **out, const char *xml)
{
    *out = NULL;
    const char *env = getenv("HWLOC_XMLFILE");
    int live = !xml && !(env && *env);
    if (live && live_xml) return pg_topo_load_exported(out, live_xml, live_len, "this machine", 1);
    if (xml) {
        FILE *f = fopen(xml, "rb");
        if (!f) return pg_error(PG_EIO, "cannot open topology file '%s': %s", xml, strerror(errno));
        fclose(f);
    }
    pg_topo *t = topo_new(xml ? xml : (env && *env ? env : "this machine"));
    if (!t) return pg_error(PG_ENOMEM, "topology: out of memory");
    int rc = 0;
    if ((xml && hwloc_topology_set_xml(t->hw, xml)) || hwloc_topology_load(t->hw)) {
        rc = xml ? pg_error(PG_EFORMAT,
                            "topology file '%s': not a valid hwloc XML topology (hwloc %s reads "
                            "XML versions 1.x and 2.x)",
                            xml, HWLOC_VERSION)
                 : pg_error(PG_EIO, "topology: hwloc could not read %s: %s", t->source,
                            strerror(errno));
        goto fail;
    }
    if ((rc = finish(t))) goto fail;
    if (live) {
        char *buf;
        int len;
        if (!hwloc_topology_export_xmlbuffer(t->hw, &buf, &len, 0)) {
            if ((live_xml = malloc((size_t)len))) {
                memcpy(live_xml, buf, (size_t)len);
                live_len = len;
            }
            hwloc_free_xmlbuffer(t->hw, buf);
        }
    }
    *out = t;
    return 0;
fail:
    pg_topo_free(t);
    return rc;
}

int pg_topo_export(const pg_topo *t, char **xml, int *len)
{
    if (hwloc_topology_export_xmlbuffer(t->hw, xml, len, 0))
        return pg_error(PG_ENOMEM, "topology: cannot export %s as XML", t->source);
    return 0;
}

void pg_topo_free_export(const pg_topo *t, char *xml) { hwloc_free_xmlbuffer(t->hw, xml); }

int pg_topo_load_exported(pg_topo **out, const char *xml, int len, const char *source,
                          int thissystem)
{
    *out = NULL;
    pg_topo *t = topo_new(source);
    if (!t) return pg_error(PG_ENOMEM, "topology: out of memory");
    if (thissystem) hwloc_topology_set_flags(t->hw, HWLOC_TOPOLOGY_FLAG_IS_THISSYSTEM);
    int rc = 0;
    if (hwloc_topology_set_xmlbuffer(t->hw, xml, len) || hwloc_topology_load(t->hw))
        rc = pg_error(PG_EFORMAT, "topology: cannot load the XML of %s", source);
    if (!rc) rc = finish(t);
    if (rc) {
        pg_topo_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

void pg_topo_free(pg_topo *t)
{
    if (!t) return;
    if (t->hw) hwloc_topology_destroy(t->hw);
    free(t->gpus);
    free(t->nics);
    free(t->gpu_path);
    free(t->gpu_hops);
    free(t->nvlink);
    free(t->nic_path);
    free(t->nic_hops);
    free(t);
}

static void numa_list(hwloc_obj_t local, char *buf, size_t n)
{
    hwloc_bitmap_list_snprintf(buf, n, local->nodeset);
}

void pg_topo_print(const pg_topo *t, FILE *f)
{
    fprintf(f, "topology %s: %d package(s), %d NUMA node(s), %d %s, %d GPU(s), %d NIC(s)\n",
            t->source, t->npackages, t->nnuma, t->ncores,
            t->core_type == HWLOC_OBJ_CORE ? "cores" : "PUs (no core objects)", t->ngpus,
            t->nnics);
    char numa[64];
    for (int i = 0; i < t->ngpus; i++) {
        const pg_topo_gpu *g = &t->gpus[i];
        numa_list(g->local, numa, sizeof numa);
        fprintf(f, "  GPU%-2d %s  NUMA %-4s %s%s\n", i, g->busid, numa, g->model,
                g->by_pci ? " (found by PCI vendor and class)" : "");
    }
    for (int i = 0; i < t->nnics; i++) {
        const pg_topo_nic *n = &t->nics[i];
        numa_list(n->local, numa, sizeof numa);
        fprintf(f, "  NIC%-2d %s  NUMA %-4s %s (%s%s%s)\n", i, n->busid, numa, n->name,
                n->kind == PG_NIC_RDMA ? "rdma" : "ethernet",
                n->kind == PG_NIC_RDMA && n->netdev[0] ? ", interface " : "",
                n->kind == PG_NIC_RDMA ? n->netdev : "");
    }
    if (t->ngpus > 0 && t->nvlink_note[0]) fprintf(f, "  %s\n", t->nvlink_note);
    if (t->ngpus > 1) {
        fprintf(f, "  GPU-GPU paths (NVn = NVLink, n GB/s):\n  %12s", "");
        for (int j = 0; j < t->ngpus; j++) fprintf(f, " %12s", t->gpus[j].busid);
        fputc('\n', f);
        for (int i = 0; i < t->ngpus; i++) {
            fprintf(f, "  %12s", t->gpus[i].busid);
            for (int j = 0; j < t->ngpus; j++) {
                char cell[24];
                double bw = t->nvlink[i * t->ngpus + j];
                if (i == j) snprintf(cell, sizeof cell, "-");
                else if (bw > 0) snprintf(cell, sizeof cell, "NV%.0f", bw);
                else snprintf(cell, sizeof cell, "%s", pg_path_name(t->gpu_path[i * t->ngpus + j]));
                fprintf(f, " %12s", cell);
            }
            fputc('\n', f);
        }
    }
    if (t->ngpus > 0 && t->nnics > 0) {
        fprintf(f, "  GPU-NIC paths:\n  %12s", "");
        for (int j = 0; j < t->nnics; j++) fprintf(f, " %11s", t->nics[j].name);
        fputc('\n', f);
        for (int i = 0; i < t->ngpus; i++) {
            fprintf(f, "  %12s", t->gpus[i].busid);
            for (int j = 0; j < t->nnics; j++)
                fprintf(f, " %11s", pg_path_name(t->nic_path[i * t->nnics + j]));
            fputc('\n', f);
        }
    }
}
