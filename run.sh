#!/usr/bin/env bash
# Entry point for people and CI: ./run.sh test | demo | bench [args] | compare [args] | help
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
# shellcheck source=scripts/etcd-throwaway.sh
source scripts/etcd-throwaway.sh

usage() {
  cat <<'EOF'
Usage: ./run.sh COMMAND [ARGS...]

  test [ARGS...]    build in Release and run all tests (unit + integration against real etcd
                    processes that the tests start themselves); ARGS go to `dotnet test`,
                    e.g. ./run.sh test --filter "FullyQualifiedName~Kv"
  demo              start a throwaway etcd and run samples/Etcd.Demo against it
  bench [ARGS...]   start a throwaway etcd and run bench/Etcd.Bench against it (Release);
                    ARGS go to the bench, e.g. ./run.sh bench --callers 1,64 --duration 5.
                    With --endpoint URL the bench uses that server and none is started.
  compare [ARGS...] side by side with etcd's Go client and Node's etcd3: starts a throwaway etcd and
                    runs the same workloads with the three clients in alternating rounds, then prints one
                    table of medians with our ratio to Go (bench/Etcd.Bench.Compare, bench/compare).
                    Installs Go, etcd's Go client sources and Node with apt-get when missing, builds
                    the Go peer offline and runs npm ci for the Node peer. ARGS go to the driver, e.g.
                    ./run.sh compare --rounds 1 --duration 2 --only put,watch --clients ours,go
  help              this text

Each command first checks prerequisites: the .NET 10 SDK, and etcd + etcdctl (installed with
apt-get when missing: packages etcd-server and etcd-client); compare also golang-go,
golang-etcd-server-dev, nodejs and npm.
EOF
}

ensure_dotnet() {
  if ! command -v dotnet >/dev/null 2>&1; then
    echo ".NET SDK 10 required: 'dotnet' is not on PATH. Install it from https://dotnet.microsoft.com/download" >&2
    echo "(or with apt-get install dotnet-sdk-10.0 from Microsoft's package feed), then run this again." >&2
    exit 1
  fi
  if ! dotnet --list-sdks 2>/dev/null | grep -Eq '^(1[0-9]|[2-9][0-9])\.'; then
    echo ".NET SDK 10 required: found only these SDKs:" >&2
    dotnet --list-sdks >&2 || true
    echo "Install the .NET 10 SDK from https://dotnet.microsoft.com/download, then run this again." >&2
    exit 1
  fi
}

ensure_etcd() {
  if command -v etcd >/dev/null 2>&1 && command -v etcdctl >/dev/null 2>&1; then
    return 0
  fi
  local missing_msg="etcd and etcdctl are required (Debian/Ubuntu packages etcd-server and etcd-client)."
  local -a sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
      # Without a terminal (CI) sudo must not wait for a password.
      if [[ -t 0 ]]; then sudo=(sudo); else sudo=(sudo -n); fi
    else
      echo "$missing_msg" >&2
      echo "Not root and no sudo: as root, run  apt-get update && apt-get install -y etcd-server etcd-client" >&2
      exit 1
    fi
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "$missing_msg" >&2
    echo "No apt-get here: install etcd 3.4+ (etcd and etcdctl on PATH) from https://github.com/etcd-io/etcd/releases" >&2
    exit 1
  fi
  echo "etcd/etcdctl not found: installing etcd-server and etcd-client with apt-get ..." >&2
  if ! "${sudo[@]}" apt-get update ||
    ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y etcd-server etcd-client; then
    echo "$missing_msg Installing them failed; install them yourself:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y etcd-server etcd-client" >&2
    exit 1
  fi
  hash -r
  if ! command -v etcd >/dev/null 2>&1 || ! command -v etcdctl >/dev/null 2>&1; then
    echo "$missing_msg apt-get finished but etcd/etcdctl are still not on PATH." >&2
    exit 1
  fi
}

# Starts the throwaway etcd and arranges for exactly that process and its dir to go away on exit.
start_throwaway_etcd() {
  trap etcd_throwaway_stop EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  etcd_throwaway_start
  echo "etcd $("${ETCD_BINARY:-etcd}" --version 2>/dev/null | head -n 1 | awk '{ print $3 }') at $ETCD_THROWAWAY_URL (pid $ETCD_THROWAWAY_PID, log $ETCD_THROWAWAY_DIR/etcd.log)"
}

cmd_test() {
  ensure_dotnet
  ensure_etcd
  export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
  dotnet build Etcd.slnx -c Release
  local rc=0
  # The console logger prints failures as they happen and a Passed!/Failed! summary per test assembly.
  dotnet test Etcd.slnx -c Release --no-build "$@" || rc=$?
  if [[ $rc -eq 0 ]]; then echo "run.sh test: all tests passed"; else echo "run.sh test: FAILED (exit code $rc)" >&2; fi
  return "$rc"
}

cmd_demo() {
  ensure_dotnet
  ensure_etcd
  start_throwaway_etcd
  dotnet run -c Release --project samples/Etcd.Demo -- "$ETCD_THROWAWAY_URL" "$@"
}

cmd_bench() {
  ensure_dotnet
  local arg
  for arg in "$@"; do
    if [[ $arg == --endpoint ]]; then
      dotnet run -c Release --project bench/Etcd.Bench -- "$@"
      return
    fi
  done
  ensure_etcd
  start_throwaway_etcd
  dotnet run -c Release --project bench/Etcd.Bench -- --endpoint "$ETCD_THROWAWAY_URL" --server-pid "$ETCD_THROWAWAY_PID" "$@"
}

cmd_compare() {
  local arg
  for arg in "$@"; do
    if [[ $arg == --endpoint || $arg == --etcd-pid ]]; then
      echo "compare always starts its own etcd: $arg is not accepted" >&2
      exit 2
    fi
  done
  ensure_dotnet
  ensure_etcd
  # shellcheck source=bench/compare/prepare.sh
  source bench/compare/prepare.sh
  compare_prepare || exit 1
  export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
  dotnet build bench/compare/dotnet -c Release -v quiet -nologo
  dotnet build bench/Etcd.Bench.Compare -c Release -v quiet -nologo
  start_throwaway_etcd
  # Not exec: the EXIT trap stops etcd after the driver ends.
  bench/Etcd.Bench.Compare/bin/Release/net10.0/Etcd.Bench.Compare --endpoint "$ETCD_THROWAWAY_URL" --etcd-pid "$ETCD_THROWAWAY_PID" \
    --dotnet-peer bench/compare/dotnet/bin/Release/net10.0/Etcd.Bench.Peer --go-peer "$COMPARE_GO_BINARY" \
    --node-peer bench/compare/node/bench.js "$@"
}

command="${1:-help}"
if [[ $# -gt 0 ]]; then shift; fi
case "$command" in
  test) cmd_test "$@" ;;
  demo) cmd_demo "$@" ;;
  bench) cmd_bench "$@" ;;
  compare) cmd_compare "$@" ;;
  help | -h | --help) usage ;;
  *)
    echo "unknown command: $command" >&2
    usage >&2
    exit 2
    ;;
esac
