/* placement.h: where the ranks of one node run: GPU, cores, memory, NIC.
 *
 * A node plan has one slot per local rank (local rank i takes slot i):
 *  - GPU runs: one GPU per slot, in "chain" order: starting from the lowest
 *    bus id, each next GPU is the closest unused one (most NVLink bandwidth,
 *    then the closest PCI path class, then fewest bridges), so neighbouring
 *    slots sit on GPUs that share NVLink or a PCIe switch. With fewer ranks
 *    than GPUs the first ranks' worth of the chain is used.
 *  - cores: the cores local to a slot's GPU (its first non-I/O ancestor,
 *    widened to the package when that has no cores) are split evenly and
 *    disjointly among the slots whose GPUs share that locality, in bus id
 *    order. CPU runs spread the ranks over the NUMA nodes in contiguous
 *    blocks and split each NUMA node's cores the same way (a rank alone on
 *    several NUMA nodes gets all of their cores).
 *  - memory: bound to the NUMA nodes of the slot's cores.
 *  - NIC: the closest RDMA NIC (any Ethernet NIC only when the node has no
 *    RDMA NIC) by PCI path class then bridge count; ties go to the NIC with
 *    fewest slots so far, so GPUs that share several equally close NICs are
 *    spread over them.
 * A slot's cores hold whole cores (all their hardware threads). More ranks
 * than cores is an error unless oversubscribing is allowed: ranks then share
 * cores (consecutive slots share, each core carries ranks/cores of them).
 *
 * On the live machine pg_node_plan_select hands a slot's GPU and NIC to the
 * backends (pg_placement_gpu_busid, NCCL_IB_HCA) and pg_node_plan_bind binds
 * the process to its cores and memory. */
#ifndef PG_PLACEMENT_H
#define PG_PLACEMENT_H

#include "topology/discover.h"

typedef struct pg_node_slot {
    int gpu;                 /* index into topo->gpus, -1 on CPU runs */
    hwloc_cpuset_t cpuset;   /* the slot's cores (every PU of each) */
    hwloc_nodeset_t nodeset; /* NUMA nodes for memory binding */
    int ncores;
    int shared;              /* cores shared with other slots (oversubscribed) */
    int nic;                 /* index into topo->nics, -1 when the node has none */
    pg_path nic_path;
    int nic_hops;
} pg_node_slot;

typedef struct pg_node_plan {
    const pg_topo *topo; /* not owned */
    int use_gpus;
    int nslots;
    pg_node_slot *slots;
} pg_node_plan;

/* Plan `ranks` ranks on a node of topology t. use_gpus: one GPU per rank
 * (error when the node has fewer GPUs than ranks, or none). oversubscribe:
 * allow more ranks than cores instead of failing. */
int pg_node_plan_create(pg_node_plan **p, const pg_topo *t, int ranks, int use_gpus,
                        int oversubscribe);
void pg_node_plan_free(pg_node_plan *p);

/* Hand slot `slot`'s devices on (live machine only; nothing for an XML
 * topology): record its GPU bus id and NIC for pg_placement_gpu_busid and
 * pg_placement_nic and, on GPU runs, tell NCCL the NIC (NCCL_IB_HCA=<=name>
 * for RDMA NICs, NCCL_SOCKET_IFNAME=<=interface> for Ethernet; a value the
 * user set is kept). Independent of CPU binding. */
int pg_node_plan_select(const pg_node_plan *p, int slot);

/* Bind the calling process to slot `slot`: CPU binding of the whole process
 * and memory binding (calling thread and threads it creates later) to the
 * slot's NUMA nodes. Fails when the topology is not this machine or CPU
 * binding fails; memory binding the system refuses (containers) is only
 * noted in *note (a static string, or NULL). */
int pg_node_plan_bind(const pg_node_plan *p, int slot, const char **note);

/* This process's GPU, as a PCI bus id "dddd:bb:dd.f" (what
 * cudaDeviceGetByPCIBusId takes), after pg_node_plan_select; NULL when none
 * was chosen (CPU run, placement off, or an XML topology). The CUDA backend
 * selects its device with it, falling back to the local rank when NULL. */
const char *pg_placement_gpu_busid(void);

/* This process's NIC name (mlx5_0, eth0) after pg_node_plan_select, or NULL. */
const char *pg_placement_nic(void);

/* 1 once pg_node_plan_bind has bound this process. */
int pg_placement_bound(void);

#endif
