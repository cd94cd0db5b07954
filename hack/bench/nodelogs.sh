#!/usr/bin/env bash
# Wall time of `kubectl node-logs --tail 100000 -q kubelet` over every node,
# against `docker exec <node> journalctl -u kubelet -n 100000` on each node in
# turn, interleaved so that drift hits both equally. Prints CSV.
set -euo pipefail
kubectl=$1 kubeconfig=$2 cluster=$3 runs=${4:-5}
nodes=$(docker ps --filter "label=io.x-k8s.kind.cluster=$cluster" --format '{{.Names}}')
[ -n "$nodes" ] || { echo "no nodes of kind cluster $cluster: run make cluster" >&2; exit 1; }
now() { date +%s.%N; }
echo "run,method,seconds,lines"
for i in $(seq 1 "$runs"); do
  t0=$(now)
  lines=$("$kubectl" --kubeconfig "$kubeconfig" node-logs -l kubernetes.io/os=linux -q kubelet --tail 100000 | wc -l)
  t1=$(now)
  echo "$i,kubectl-node-logs,$(echo "$t1 - $t0" | bc),$lines"
  t0=$(now)
  lines=0
  for n in $nodes; do
    lines=$((lines + $(docker exec "$n" journalctl -u kubelet -n 100000 --no-pager --output=short-precise | wc -l)))
  done
  t1=$(now)
  echo "$i,docker-exec-journalctl,$(echo "$t1 - $t0" | bc),$lines"
done
