/* nvlink.h: NVLink between the GPUs of a node, where hwloc gives none.
 *
 * pg_topo.nvlink (GB/s one way, per GPU pair) is what the GPU chain of a node
 * plan and the order cost model read, whichever of three sources filled it:
 *  1. the topology's NVLinkBandwidth matrix (an hwloc built with NVML wrote
 *     it; discover.c reads it);
 *  2. live, NVML: when the topology is this machine, has NVIDIA GPUs and no
 *     such matrix (Debian's hwloc has no NVML plugin), pg_nvlink_from_nvml
 *     loads the driver's NVML at run time, dlopen("libnvidia-ml.so.1") (or
 *     the path in $PG_NVML_LIBRARY): no build dependency. Each GPU is found
 *     by its PCI bus id (nvmlDeviceGetHandleByPciBusId_v2); for each active
 *     link, its version and its remote end (PCI bus id; device type where
 *     the driver has nvmlDeviceGetNvLinkRemoteDeviceType): a link to another
 *     GPU of the node adds one link's bandwidth to that pair, a link to an
 *     NVSwitch adds to the GPU's bandwidth into the switch fabric (two GPUs
 *     reach each other through it at the smaller of their two), a link to a
 *     CPU (POWER9) or to anything unknown is left out. One link, one way, as
 *     hwloc's NVML backend counts it: 20 GB/s for NVLink 1.0 (P100), 25 GB/s
 *     for versions 2.0 to 4.0 (V100, A100, H100; NVML numbers 2 to 6), 50
 *     GB/s for 5.0 (NVML 7; B200), except on Hopper GPUs (PCI device ids
 *     0x23xx), which some drivers report as 5.0: 25. The result is added to
 *     the topology as an NVLinkBandwidth matrix of the GPUs, with the note as
 *     the root's info "PipegridNVLink", so the XML export a node's first rank
 *     shares with the others carries both and NVML is read once per node;
 *  3. placement.gpu_links (pg_topo_set_links), for topology files without
 *     NVLink data: "nvlink:GBS" gives every GPU pair GBS; "file:PATH" names a
 *     file of lines "BUSID BUSID GBS" (bus ids as `pipegrid topo --topology`
 *     prints them, '#' starts a comment), one GPU pair each, the pairs not
 *     listed having none. Either replaces 1 and 2.
 * pg_topo.nvlink_note says in one line where the numbers came from, or why
 * there are none (no NVML, NVML failed). */
#ifndef PG_NVLINK_H
#define PG_NVLINK_H

#include "topology/discover.h"

#include <stddef.h>

/* Source 2. Never fails for want of NVML: a library that cannot be loaded or
 * initialised leaves t->nvlink at zero and says why in t->nvlink_note.
 * Returns 0, or a negative pg_err for want of memory. */
int pg_nvlink_from_nvml(pg_topo *t);

/* Source 3: spec is placement.gpu_links ("" leaves t alone). Errors name the
 * key, or the file and line. */
int pg_topo_set_links(pg_topo *t, const char *spec);

/* 1 when t is a topology file (not this machine, whose nvlink_note already
 * says why it has no NVLink), at least two of its GPUs are a model normally
 * connected by NVLink (SXM and DGX parts of P100, V100, A100, H100, H200, by
 * PCI device id) and it has NVLink for no GPU pair; msg then gets a one-line warning naming the
 * topology, the model and the option that supplies the links. Else 0. */
int pg_topo_nvlink_missing(const pg_topo *t, char *msg, size_t n);

#endif
