#!/usr/bin/env bash
# A real one-node Slurm cluster for the tests, without systemd.
#   tests/slurm/slurm.sh start   install (Debian slurm-wlm + munge, root only) and start
#   tests/slurm/slurm.sh stop    stop the daemons by their PID files, put our slurm.conf away
#   tests/slurm/slurm.sh status  exit 0 when sinfo answers
# Exit code 3 from start means "cannot run Slurm here" (not root, no apt-get): callers skip.
set -euo pipefail

STATE=/var/run/gmos-snake-slurm
CONF_DIR=/etc/slurm
PIDS="$STATE/slurmd.pid $STATE/slurmctld.pid $STATE/munged.pid"

install() {
  if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null; then
    return 0
  fi
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "cannot install Slurm: needs root and apt-get" >&2
    exit 3
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq slurm-wlm munge >/dev/null
}

write_conf() {
  local host cpus mem
  host=$(hostname)
  cpus=$(nproc)
  mem=$(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
  mem=$(( mem * 85 / 100 ))
  mkdir -p "$CONF_DIR" "$STATE" /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
  chown slurm: /var/spool/slurmctld /var/log/slurm 2>/dev/null || true
  cat > "$CONF_DIR/slurm.conf" <<CONF
ClusterName=gmostest
SlurmctldHost=$host
SlurmUser=slurm
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/var/spool/slurmctld/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
MinJobAge=3600
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
SchedulerType=sched/backfill
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
}

start() {
  install
  write_conf
  mkdir -p /etc/munge /run/munge /var/lib/munge /var/log/munge
  if [ ! -s /etc/munge/munge.key ]; then
    mungekey --create --keyfile=/etc/munge/munge.key >/dev/null 2>&1 || \
      dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  fi
  chown -R munge: /etc/munge /run/munge /var/lib/munge /var/log/munge
  chmod 700 /etc/munge; chmod 600 /etc/munge/munge.key
  if ! pgrep -x munged >/dev/null; then
    runuser -u munge -- /usr/sbin/munged
  fi
  pgrep -x slurmctld >/dev/null || slurmctld
  pgrep -x slurmd >/dev/null || slurmd
  sleep 2
  # the daemons fork: record every process of each name once they have settled
  pgrep -x munged > "$STATE/munged.pid" || true
  pgrep -x slurmctld > "$STATE/slurmctld.pid" || true
  pgrep -x slurmd > "$STATE/slurmd.pid" || true
  for _ in $(seq 1 30); do
    if sinfo -h -o %T 2>/dev/null | grep -qE 'idle|mix|alloc'; then
      echo "slurm up: $(sinfo -h -o '%P %D %T %c %m')"
      return 0
    fi
    sleep 1
  done
  echo "slurm did not come up; slurmctld log:" >&2
  tail -20 /var/log/slurm/slurmctld.log >&2 || true
  exit 1
}

stop() {
  local pid
  for f in $PIDS; do
    if [ -s "$f" ]; then
      for pid in $(cat "$f"); do
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      done
      rm -f "$f"
    fi
  done
  # Without a controller, Slurm clients (which Snakemake's Slurm plugin calls at start-up)
  # wait ~9 s for it while our configuration names it: put our configuration away.
  if grep -qs '^ClusterName=gmostest$' "$CONF_DIR/slurm.conf"; then
    mv "$CONF_DIR/slurm.conf" "$CONF_DIR/slurm.conf.gmostest-stopped"
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) sinfo -h >/dev/null 2>&1 ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
