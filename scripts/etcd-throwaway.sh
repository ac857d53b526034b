# shellcheck shell=bash
# A throwaway single-member etcd on free loopback ports with a temp data dir. Source this file, then:
#
#   etcd_throwaway_start            # sets ETCD_THROWAWAY_URL, ETCD_THROWAWAY_PID, ETCD_THROWAWAY_DIR
#   trap etcd_throwaway_stop EXIT   # kills exactly that PID and removes the dir
#
# Needs bash and etcd on PATH (or $ETCD_BINARY). Uses python3 to find free ports when present, else a
# /dev/tcp probe over a random range below the kernel's ephemeral ports. etcd's output goes to
# $ETCD_THROWAWAY_DIR/etcd.log.

ETCD_THROWAWAY_URL=""
ETCD_THROWAWAY_PID=""
ETCD_THROWAWAY_DIR=""

# Prints one free TCP port on 127.0.0.1.
_etcd_free_port() {
  if command -v python3 >/dev/null 2>&1 &&
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null; then
    return 0
  fi
  local port _
  for _ in $(seq 1 200); do
    port=$((20000 + RANDOM % 12000))
    # Nothing answering a connect means nothing listens there.
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  echo "no free port found" >&2
  return 1
}

# Succeeds when GET /health on 127.0.0.1:$1 answers "health":"true" (plain bash, no curl needed).
_etcd_healthy() {
  local reply
  reply=$(timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" >&3
    cat <&3' _ "$1" 2>/dev/null) || true
  [[ $reply == *'"health":"true"'* ]]
}

# Starts etcd and waits (15 s at most) until it is healthy. Retries on new ports when a port was taken.
etcd_throwaway_start() {
  local etcd_bin="${ETCD_BINARY:-$(command -v etcd || true)}"
  if [[ -z $etcd_bin || ! -x $etcd_bin ]]; then
    echo "etcd not found: install it with \`apt-get install etcd-server etcd-client\`" >&2
    return 1
  fi

  # tmpfs is faster, but each member preallocates ~125 MB of WAL: use /dev/shm only when it is roomy.
  local base="${TMPDIR:-/tmp}" free_kb
  if [[ -d /dev/shm && -w /dev/shm ]]; then
    free_kb=$(df -Pk /dev/shm 2>/dev/null | awk 'NR == 2 { print $4 }')
    if [[ ${free_kb:-0} -ge 2097152 ]]; then base=/dev/shm; fi
  fi
  ETCD_THROWAWAY_DIR=$(mktemp -d "$base/etcd-run.XXXXXX")
  local log="$ETCD_THROWAWAY_DIR/etcd.log"

  local attempt client peer waited
  for attempt in 1 2 3 4 5; do
    client=$(_etcd_free_port) || return 1
    peer=$(_etcd_free_port) || return 1
    [[ $client != "$peer" ]] || continue
    rm -rf "$ETCD_THROWAWAY_DIR/data"
    ETCD_THROWAWAY_URL="http://127.0.0.1:$client"
    # env -u: etcd reads ETCD_* variables as flags, and ETCD_BINARY is ours.
    env -u ETCD_BINARY "$etcd_bin" --name s1 --data-dir "$ETCD_THROWAWAY_DIR/data" --logger zap \
      --listen-client-urls "$ETCD_THROWAWAY_URL" --advertise-client-urls "$ETCD_THROWAWAY_URL" \
      --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
      --initial-cluster "s1=http://127.0.0.1:$peer" --initial-cluster-state new \
      >>"$log" 2>&1 </dev/null &
    ETCD_THROWAWAY_PID=$!

    for ((waited = 0; waited < 300; waited++)); do # 300 x 50 ms = 15 s
      if _etcd_healthy "$client"; then
        return 0
      fi
      if ! kill -0 "$ETCD_THROWAWAY_PID" 2>/dev/null; then
        break
      fi
      sleep 0.05
    done

    if ! kill -0 "$ETCD_THROWAWAY_PID" 2>/dev/null; then
      wait "$ETCD_THROWAWAY_PID" 2>/dev/null || true
      ETCD_THROWAWAY_PID=""
      if [[ $attempt -lt 5 ]] && grep -q 'address already in use' "$log"; then
        echo "etcd: port $client or $peer was taken, retrying on new ports" >&2
        continue
      fi
      echo "etcd exited early; last lines of $log:" >&2
    else
      echo "etcd did not become healthy within 15 s; last lines of $log:" >&2
    fi
    tail -n 30 "$log" >&2
    return 1
  done
  return 1
}

# Stops the etcd started above (SIGTERM, then SIGKILL after 5 s) and removes its dir. Safe to call twice.
etcd_throwaway_stop() {
  local pid="$ETCD_THROWAWAY_PID" i
  ETCD_THROWAWAY_PID=""
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.05
    done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
    wait "$pid" 2>/dev/null || true
  fi
  if [[ -n $ETCD_THROWAWAY_DIR ]]; then
    rm -rf "$ETCD_THROWAWAY_DIR"
    ETCD_THROWAWAY_DIR=""
  fi
}
