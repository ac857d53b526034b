# shellcheck shell=bash
# Prerequisites and builds of the Go and Node peers of ./run.sh compare. Source it from the repository root, then
# call compare_prepare: installs Go (golang-go), etcd's Go client sources (golang-etcd-server-dev) and Node (nodejs,
# npm) with apt-get when missing, builds the Go peer offline in GOPATH mode (cached until its sources or Go change)
# and installs the Node peer's locked dependencies with `npm ci` (again only when package-lock.json changed).

COMPARE_DIR=bench/compare
COMPARE_GO_BINARY=$COMPARE_DIR/go/.build/etcd-compare-go
COMPARE_GOCODE=/usr/share/gocode

# apt-get install PACKAGES (sudo -n when not root, as ensure_etcd in run.sh does); explains what to do when impossible.
_compare_apt_install() {
  local why=$1
  shift
  local -a sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
      if [[ -t 0 ]]; then sudo=(sudo); else sudo=(sudo -n); fi
    else
      echo "$why Not root and no sudo: as root, run  apt-get update && apt-get install -y $*" >&2
      return 1
    fi
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "$why No apt-get here: install $* (or their equivalents) yourself." >&2
    return 1
  fi
  echo "$why Installing $* with apt-get ..." >&2
  if ! "${sudo[@]}" apt-get update ||
    ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "$@"; then
    echo "Installing $* failed; install them yourself:  sudo apt-get update && sudo apt-get install -y $*" >&2
    return 1
  fi
  hash -r
}

compare_ensure_go() {
  if ! command -v go >/dev/null 2>&1; then
    _compare_apt_install "The Go peer needs Go ('go' is not on PATH)." golang-go || return 1
    command -v go >/dev/null 2>&1 || { echo "apt-get finished but 'go' is still not on PATH." >&2; return 1; }
  fi
  if [[ ! -d $COMPARE_GOCODE/src/go.etcd.io/etcd/clientv3 ]]; then
    _compare_apt_install "The Go peer needs etcd's Go client sources ($COMPARE_GOCODE/src/go.etcd.io/etcd/clientv3)." \
      golang-etcd-server-dev || return 1
  fi
}

compare_build_go() {
  local stamp=$COMPARE_GO_BINARY.stamp want
  want=$( { cat "$COMPARE_DIR"/go/*.go; go version; } | sha256sum | cut -d ' ' -f 1)
  if [[ -x $COMPARE_GO_BINARY && -f $stamp && $(cat "$stamp") == "$want" ]]; then
    return 0
  fi
  echo "building the Go peer (GOPATH mode, offline) ..." >&2
  mkdir -p "$(dirname "$COMPARE_GO_BINARY")" "$COMPARE_DIR/.gopath/cache"
  # Our own GOPATH entry first (Go writes only to the first), then Debian's packaged sources; no module proxy.
  if ! env GO111MODULE=off GOFLAGS= GOPROXY=off GOCACHE="$PWD/$COMPARE_DIR/.gopath/cache" \
    GOPATH="$PWD/$COMPARE_DIR/.gopath:$COMPARE_GOCODE" go build -o "$COMPARE_GO_BINARY" "./$COMPARE_DIR/go"; then
    echo "building the Go peer failed (see above)" >&2
    return 1
  fi
  echo "$want" >"$stamp"
}

compare_ensure_node() {
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    _compare_apt_install "The Node peer needs Node.js and npm." nodejs npm || return 1
  fi
  local major
  major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  if [[ $major -lt 16 ]]; then
    echo "The Node peer needs Node.js 16 or later (npm etcd3 1.1.2); found $(node --version 2>/dev/null)." >&2
    return 1
  fi
  local dir=$COMPARE_DIR/node want
  want=$(sha256sum "$dir/package-lock.json" | cut -d ' ' -f 1)
  if [[ -f $dir/node_modules/.compare-stamp && $(cat "$dir/node_modules/.compare-stamp") == "$want" ]]; then
    return 0
  fi
  echo "installing the Node peer's dependencies (npm ci) ..." >&2
  # --ignore-scripts: no install script is needed (protobufjs's only checks its version).
  if ! (cd "$dir" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error); then
    echo "npm ci failed in $dir (is the npm registry reachable?)" >&2
    return 1
  fi
  echo "$want" >"$dir/node_modules/.compare-stamp"
}

compare_prepare() {
  compare_ensure_go && compare_build_go && compare_ensure_node
}
