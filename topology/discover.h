/* discover.h: what one node has, read with hwloc from the live machine or
 * from an hwloc XML capture.
 *
 * GPUs are the PCI devices that carry a CUDA or NVML OS device ("cuda0",
 * "nvml0"); a capture (or a live hwloc without those plugins, like Debian's)
 * that has no such OS device at all falls back to PCI vendor 0x10de with a
 * display class (0x03xx), which also leaves out BMC VGA chips (ASPEED,
 * Matrox) and NVSwitches (class 0x0680). NICs are PCI devices with an
 * OpenFabrics OS device (InfiniBand, RoCE, EFA: "rdma") or a network class
 * (0x02xx) device with a Linux interface ("eth"). GPUs and NICs are kept in
 * PCI bus id order and named by bus id: names like mlx5_3 differ between
 * sister nodes, bus ids do not, so a NIC's rail is its position in this list.
 *
 * For every GPU pair and GPU-NIC pair the topology gives the PCI path class
 * (below) with the number of PCI bridges on the path, and for GPU pairs the
 * NVLink bandwidth where the capture has an NVLinkBandwidth matrix (GPUs that
 * hang off NVSwitches reach each other through the switch fabric: the smaller
 * of their bandwidths into it; hwloc does not list the trunks between switch
 * boards). When the topology is this machine, has NVIDIA GPUs and no such
 * matrix (Debian's hwloc has no NVML plugin), NVLink is read through NVML at
 * run time instead (topology/nvlink.h); nvlink_note says where the numbers
 * came from, or why there are none, in one line.
 *
 * A pg_topo is read-only once loaded; its arrays may be read directly. */
#ifndef PG_DISCOVER_H
#define PG_DISCOVER_H

#include <hwloc.h>
#include <stdio.h>

#define PG_BUSID_LEN 16 /* "dddd:bb:dd.f" */

/* How two PCI devices reach each other, closest first (nvidia-smi topo -m
 * names in brackets). */
typedef enum pg_path {
    PG_PATH_SWITCH = 0, /* through PCIe switches only            [PIX/PXB] */
    PG_PATH_HOSTBRIDGE, /* through their common PCIe host bridge [PHB] */
    PG_PATH_NUMA,       /* different host bridges, same NUMA node [NODE] */
    PG_PATH_SYS,        /* across NUMA nodes or sockets          [SYS] */
} pg_path;
#define PG_NPATHS 4

typedef struct pg_topo_gpu {
    char busid[PG_BUSID_LEN];
    char model[64];
    unsigned device_id; /* PCI device id (vendor 0x10de) */
    int cuda;          /* N of an OS device "cudaN", -1 when the capture has none */
    int by_pci;        /* found by PCI vendor and class (no CUDA/NVML OS device) */
    hwloc_obj_t pci;   /* the PCI device */
    hwloc_obj_t local; /* its first non-I/O ancestor: the GPU's CPU locality */
} pg_topo_gpu;

typedef enum pg_nic_kind { PG_NIC_RDMA, PG_NIC_ETH } pg_nic_kind;

typedef struct pg_topo_nic {
    char busid[PG_BUSID_LEN];
    char name[32];   /* OpenFabrics device (mlx5_0) for RDMA NICs, else the interface */
    char netdev[32]; /* Linux network interface, "" when the capture has none */
    pg_nic_kind kind;
    hwloc_obj_t pci, local;
} pg_topo_nic;

typedef struct pg_topo {
    hwloc_topology_t hw;
    char source[256]; /* "this machine" or the XML file */
    int thissystem;   /* 1 when binding applies to this machine */
    int nnuma, npackages, ncores; /* ncores counts PUs when there are no Core objects */
    hwloc_obj_type_t core_type;   /* HWLOC_OBJ_CORE, or HWLOC_OBJ_PU */
    int ngpus;
    pg_topo_gpu *gpus; /* bus id order */
    int nnics;
    pg_topo_nic *nics; /* bus id order: index = rail */
    pg_path *gpu_path; /* [ngpus * ngpus] */
    int *gpu_hops;     /* [ngpus * ngpus] PCI bridges on the path */
    double *nvlink;    /* [ngpus * ngpus] GB/s one way, 0 = no NVLink path */
    char nvlink_note[224]; /* where nvlink came from (or why it is empty), one line */
    pg_path *nic_path; /* [ngpus * nnics] */
    int *nic_hops;     /* [ngpus * nnics] */
} pg_topo;

/* Load the node's topology: the live machine when xml is NULL (hwloc honours
 * HWLOC_XMLFILE then; the live machine is discovered once per process and
 * kept), else the XML file. Errors name the file. */
int pg_topo_load(pg_topo **t, const char *xml);
void pg_topo_free(pg_topo *t);

/* Share a loaded topology: pg_topo_export writes it as an XML buffer (free
 * it with pg_topo_free_export), pg_topo_load_exported reads one back,
 * naming it `source`; thissystem = 1 says it describes the calling machine,
 * so that binding works (ranks of one node load it once and share it). */
int pg_topo_export(const pg_topo *t, char **xml, int *len);
void pg_topo_free_export(const pg_topo *t, char *xml);
int pg_topo_load_exported(pg_topo **t, const char *xml, int len, const char *source,
                          int thissystem);

/* Short name of a path class: "SWITCH", "HOSTBRIDGE", "NUMA", "SYS". */
const char *pg_path_name(pg_path p);

/* How a CPU set reaches a NIC: NUMA when the NIC is local to one of the set's
 * NUMA nodes, SYS otherwise. */
pg_path pg_topo_cpu_nic_path(const pg_topo *t, hwloc_const_cpuset_t cpus, int nic);

/* The discovered devices and the GPU/NIC path matrices, for people. */
void pg_topo_print(const pg_topo *t, FILE *f);

#endif
