#!/usr/bin/env bash
# testcluster.sh: a real Slurm cluster on one machine, for tests and demos.
#
#   jobs/testcluster.sh start [NODES]   start munge, slurmctld and NODES slurmd daemons
#                                       (emulated nodes n1..nNODES, default 4)
#   jobs/testcluster.sh stop            stop them and remove the cluster's files
#   jobs/testcluster.sh status          sinfo
#   jobs/testcluster.sh env             print the export line clients need
#   jobs/testcluster.sh --help          this text
#
# Everything lives under $PG_SLURM_DIR (default /tmp/pipegrid-slurm): config,
# munge key and socket, state, spool, logs, pid files. Clients use
# SLURM_CONF=$PG_SLURM_DIR/slurm.conf. Needs root and the Debian packages
# slurm-wlm and munge (installed here when missing). Each emulated node claims
# CPUS cores (default 2; more than the machine has is allowed) so that jobs of
# several tasks per node fit; all nodes share this machine's kernel, so MPICH
# uses shared memory between them. Node nK listens on port PG_SLURM_PORT+K
# (default 17000+K) and slurmctld on PG_SLURM_PORT-183 (16817): give a second
# cluster (the ctest one) its own PG_SLURM_DIR and PG_SLURM_PORT.
#
# Two partitions over the same nodes: debug (the default, no time limit) and
# short (MaxTime=1 minute, for tests of jobs that can never start there).
# KillWait (seconds between SIGTERM and SIGKILL when Slurm ends or requeues
# a job) is PG_SLURM_KILLWAIT (default 30, Slurm's own default).
set -euo pipefail
dir=${PG_SLURM_DIR:-/tmp/pipegrid-slurm}
cpus=${PG_SLURM_CPUS:-2}
port=${PG_SLURM_PORT:-17000}
killwait=${PG_SLURM_KILLWAIT:-30}
cmd=${1:-status}

need_packages() {
  local missing=()
  for p in slurm-wlm munge; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

wait_for() { # wait_for SECONDS COMMAND...: poll until the command succeeds
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
}

start() {
  local nodes=${1:-4}
  need_packages
  [ ! -f "$dir/slurmctld.pid" ] || { echo "testcluster: already running in $dir (stop it first)" >&2; exit 1; }
  mkdir -p "$dir"/{munge,state,log}
  chmod 0700 "$dir/munge"
  chmod 0755 "$dir"
  # munge: own key, socket and pid file under $dir
  dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
  chmod 0400 "$dir/munge/munge.key"
  mkdir -p "$dir/sock" && chmod 0755 "$dir/sock"
  munged --force --socket="$dir/sock/munge.sock" --key-file="$dir/munge/munge.key" \
    --log-file="$dir/log/munged.log" --pid-file="$dir/munge/munged.pid" --seed-file="$dir/munge/munged.seed"
  local host; host=$(hostname)
  cat >"$dir/slurm.conf" <<CONF
ClusterName=pgtest$port
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$((port - 183))
AuthType=auth/munge
AuthInfo=socket=$dir/sock/munge.sock,cred_expire=10
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=pmi2
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
JobRequeue=1
ReturnToService=2
SlurmdParameters=config_overrides
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/%n
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.%n.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.%n.log
InactiveLimit=0
KillWait=$killwait
MinJobAge=300
MessageTimeout=20
NodeName=n[1-$nodes] NodeHostname=$host NodeAddr=127.0.0.1 Port=[$((port + 1))-$((port + nodes))] CPUs=$cpus RealMemory=4000 State=UNKNOWN
PartitionName=debug Nodes=n[1-$nodes] Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
PartitionName=short Nodes=n[1-$nodes] Default=NO MaxTime=1 State=UP OverSubscribe=NO
CONF
  for ((i = 1; i <= nodes; i++)); do mkdir -p "$dir/spool/n$i"; done
  export SLURM_CONF="$dir/slurm.conf"
  slurmctld -f "$SLURM_CONF" -i
  for ((i = 1; i <= nodes; i++)); do slurmd -f "$SLURM_CONF" -N "n$i"; done
  # idle nodes: every node answers and the partition accepts jobs
  if ! wait_for 60 bash -c "[ \$(sinfo -h -N -t idle -o %N | sort -u | wc -l) -eq $nodes ]"; then
    echo "testcluster: nodes did not become idle; see $dir/log" >&2
    sinfo -N >&2 || true
    exit 1
  fi
  echo "testcluster: $nodes nodes up; export SLURM_CONF=$SLURM_CONF"
}

stop() {
  [ -d "$dir" ] || return 0
  # jobs first: their processes outlive slurmd once it is gone
  if [ -f "$dir/slurmctld.pid" ] && kill -0 "$(cat "$dir/slurmctld.pid")" 2>/dev/null; then
    export SLURM_CONF="$dir/slurm.conf"
    if [ -n "$(squeue -h -o %i 2>/dev/null)" ]; then
      scancel --full $(squeue -h -o %i) 2>/dev/null || true
      wait_for $((killwait + 20)) bash -c '[ -z "$(squeue -h -o %i)" ]' ||
        echo "testcluster: jobs still in the queue after scancel: $(squeue -h -o '%i %T' | tr '\n' ' ')" >&2
    fi
  fi
  for pidfile in "$dir"/slurmd.*.pid "$dir/slurmctld.pid" "$dir/munge/munged.pid"; do
    [ -f "$pidfile" ] || continue
    local pid; pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    wait_for 10 bash -c "! kill -0 $pid" || kill -9 "$pid" 2>/dev/null || true
  done
  rm -rf "$dir"
}

case "$cmd" in
  start) start "${2:-4}" ;;
  stop) stop ;;
  status) SLURM_CONF="$dir/slurm.conf" sinfo -N ;;
  env) echo "export SLURM_CONF=$dir/slurm.conf" ;;
  -h | --help) sed -n '2,/^set -euo pipefail/{/^set /d;s/^# \{0,1\}//;p}' "$0" ;;
  *) echo "usage: $0 start [NODES] | stop | status | env | --help" >&2; exit 2 ;;
esac
