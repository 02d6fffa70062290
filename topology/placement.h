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
 * pg_node_plan_apply binds this process on the live machine and records the
 * chosen GPU and NIC for the backends (pg_placement_gpu_busid, NCCL_IB_HCA). */
#ifndef PG_PLACEMENT_H
#define PG_PLACEMENT_H

#include "discover.h"

typedef struct pg_node_slot {
    int gpu;                 /* index into topo->gpus, -1 on CPU runs */
    int domain;              /* index of the locality group the cores came from */
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

/* Bind the calling process to slot `slot`: CPU binding of the whole process
 * and memory binding to the slot's NUMA nodes, with hwloc. Records the GPU
 * bus id and NIC, and hands the NIC to NCCL (NCCL_IB_HCA for RDMA NICs,
 * NCCL_SOCKET_IFNAME for Ethernet; a value the user set is kept) on GPU
 * runs. Fails when the topology is not this machine or CPU binding fails;
 * memory binding that the system refuses (containers) is only noted in
 * *note (a static string, or NULL). */
int pg_node_plan_apply(const pg_node_plan *p, int slot, const char **note);

/* This process's GPU, as a PCI bus id "dddd:bb:dd.f" (what
 * cudaDeviceGetByPCIBusId takes), after pg_node_plan_apply; NULL when none
 * was given (CPU run, or no placement). */
const char *pg_placement_gpu_busid(void);

/* This process's NIC name (mlx5_0, eth0) after pg_node_plan_apply, or NULL. */
const char *pg_placement_nic(void);

/* 1 once pg_node_plan_apply has bound this process. */
int pg_placement_applied(void);

#endif
