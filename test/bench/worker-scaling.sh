#!/usr/bin/env bash
# Worker-scaling benchmark, the network half: builds a private network out of namespaces, runs
# test/bench/worker-scaling.bench.ts inside it, and removes every namespace on any way out (trap).
#
#   sudo -E pnpm bench:scaling          (root is needed for `ip netns` and `tc`; run `pnpm build` first)
#
#   ns <tag>-hub   redis-server, API, the bench itself; bridge br0 10.213.0.1/24
#   ns <tag>-stor  the emulator (VOD + OSS) at 10.213.0.2, behind the shared storage link
#                  (tbf at STORAGE_MBIT both ways)
#   ns <tag>-wN    worker N at 10.213.0.(10+N), behind its own WORKER_MBIT link (tbf both ways), and
#                  its delay relay on 127.0.0.1:9000 (the emulator's endpoint as the worker sees it),
#                  which holds every chunk RTT_MS/2 each way on its way to 10.213.0.2:9000
#
# Latency: this machine's kernel has no sch_netem (tc netem: "Specified qdisc kind is unknown"), so
# the round trip is added by that userspace relay (support/delay-relay.main.ts) instead of by tc. It
# delays every request/response round trip by RTT_MS; unlike netem it does not stretch TCP's own RTT
# (the relay ends the TCP connection), so TCP windows are not what limits a connection here.
#
# Real target: 200 Mbit/s per worker, 1 Gbit/s storage, 20 ms RTT. On a 2-core machine the emulator
# cannot take 125 MB/s of signed multipart uploads, so the rates are scaled by BENCH_RATE_SCALE
# (default 0.25: 50 Mbit/s per worker, 250 Mbit/s storage). The ratio (storage = 5 worker links) is
# kept, so the storage link saturates between 4 and 8 workers as in the real setup. The RTT is not
# scaled. Only addresses inside these namespaces and loopback are used; nothing touches the host's
# interfaces or routes.
set -euo pipefail

if [[ $(id -u) -ne 0 ]]; then
  echo "worker-scaling bench: needs root (ip netns, tc); run it as root or with sudo -E" >&2
  exit 2
fi
for tool in ip tc redis-server; do
  command -v "$tool" >/dev/null || { echo "worker-scaling bench: $tool is missing" >&2; exit 2; }
done

here=$(cd "$(dirname "$0")" && pwd)
scale=${BENCH_RATE_SCALE:-0.25}
max_workers=${BENCH_MAX_WORKERS:-8}
rtt_ms=${BENCH_RTT_MS:-20}
worker_mbit=$(awk -v s="$scale" 'BEGIN { printf "%d", 200 * s }')
storage_mbit=$(awk -v s="$scale" 'BEGIN { printf "%d", 1000 * s }')
tag="mfsc$$"
hub="$tag-hub"
stor="$tag-stor"
inner_pid=""

cleanup() {
  local code=$?
  trap - EXIT INT TERM
  if [[ -n $inner_pid ]] && kill -0 "$inner_pid" 2>/dev/null; then
    kill -TERM "$inner_pid" 2>/dev/null || true
    for _ in $(seq 1 150); do kill -0 "$inner_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$inner_pid" 2>/dev/null || true
  fi
  # Whatever still runs in our namespaces was started by this run: stop it by pid, then drop the
  # namespaces (their veths and qdiscs go with them).
  for ns in $(ip netns list | awk -v t="$tag-" 'index($1, t) == 1 { print $1 }'); do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
  exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

in_ns() { ip netns exec "$1" "${@:2}"; }

ip netns add "$hub"
in_ns "$hub" ip link set lo up
in_ns "$hub" ip link add br0 type bridge
in_ns "$hub" ip addr add 10.213.0.1/24 dev br0
in_ns "$hub" ip link set br0 up

# attach NS ADDR: a veth pair from NS (eth0, ADDR/24) to the hub's bridge (port PORT).
attach() {
  local ns=$1 addr=$2 port=$3
  ip netns add "$ns"
  in_ns "$ns" ip link set lo up
  ip link add "$port" netns "$hub" type veth peer name eth0 netns "$ns"
  in_ns "$ns" ip addr add "$addr/24" dev eth0
  in_ns "$ns" ip link set eth0 up
  in_ns "$hub" ip link set "$port" master br0
  in_ns "$hub" ip link set "$port" up
}

# Storage link: the hub side shapes what goes to the emulator (uploads), the emulator side its answers.
attach "$stor" 10.213.0.2 stor0
for side in "$hub stor0" "$stor eth0"; do
  read -r ns dev <<<"$side"
  in_ns "$ns" tc qdisc add dev "$dev" root tbf rate "${storage_mbit}mbit" burst 1mb latency 100ms
done
for i in $(seq 0 $((max_workers - 1))); do
  attach "$tag-w$i" "10.213.0.$((10 + i))" "w$i"
  for side in "$tag-w$i eth0" "$hub w$i"; do
    read -r ns dev <<<"$side"
    in_ns "$ns" tc qdisc add dev "$dev" root tbf rate "${worker_mbit}mbit" burst 256kb latency 100ms
  done
done
echo "worker-scaling bench: namespaces $tag-*: worker links ${worker_mbit} Mbit/s, storage ${storage_mbit} Mbit/s, RTT ${rtt_ms} ms (scale ${scale})" >&2

# The bench stops by itself (per-run deadline); `timeout` is the backstop.
BENCH_NS_TAG=$tag BENCH_WORKER_MBIT=$worker_mbit BENCH_STORAGE_MBIT=$storage_mbit BENCH_RTT_MS=$rtt_ms \
  BENCH_MAX_WORKERS=$max_workers BENCH_RATE_SCALE=$scale \
  timeout --signal=TERM --kill-after=30 "${BENCH_TIMEOUT_S:-1500}" \
  ip netns exec "$hub" node --experimental-strip-types "$here/worker-scaling.bench.ts" &
inner_pid=$!
wait "$inner_pid"
