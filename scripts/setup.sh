#!/usr/bin/env bash
# Installs what building and testing Corral needs on a fresh Debian machine, and nothing
# that is already there. Safe to run again.
set -euo pipefail

log() { printf 'setup: %s\n' "$*" >&2; }

if ! command -v cargo >/dev/null 2>&1; then
  log "cargo not found: install Rust 1.95 with rustup (https://rustup.rs) first"
  exit 1
fi

# The plugins are WebAssembly components built for wasm32-wasip2.
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
  log "adding the wasm32-wasip2 target"
  rustup target add wasm32-wasip2
fi

# rustfmt and clippy for the checks in scripts/test.sh.
for component in rustfmt clippy; do
  if ! rustup component list --installed 2>/dev/null | grep -q "^$component"; then
    log "adding rustup component $component"
    rustup component add "$component"
  fi
done

apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    log "missing Debian packages: ${missing[*]} (run as root or install them)"
    exit 1
  fi
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
}

# python3-venv: the compatibility test drives Corral with pymesos, a third-party Mesos client.
# protobuf-compiler: etcd-client builds etcd's gRPC protos. etcd-server: the etcd tests start
# their own `etcd` on free loopback ports (a system service the package may start is unused).
# dnsutils: the DNS tests ask with `dig`; dnsperf: the DNS benchmark (docs/benchmarks.md).
apt_install pkg-config python3-venv protobuf-compiler etcd-server dnsutils dnsperf

# A venv with pymesos for tests/python. pymesos needs http-parser, whose C extension no longer
# builds on Python 3.11; its pure-Python parser is what we install (pymesos falls back to it).
venv="${CORRAL_PY_VENV:-$HOME/.cache/corral/pyvenv}"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import pymesos, http_parser.http' 2>/dev/null; then
  log "creating the pymesos venv in $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q six addict
  "$venv/bin/pip" install -q --no-deps pymesos==0.3.15
  tmp=$(mktemp -d)
  "$venv/bin/pip" download -q --no-deps --no-binary :all: http-parser==0.9.0 -d "$tmp"
  tar -xzf "$tmp"/http-parser-0.9.0.tar.gz -C "$tmp"
  site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  rm -rf "$site/http_parser"
  cp -r "$tmp/http-parser-0.9.0/http_parser" "$site/http_parser"
  rm -f "$site"/http_parser/*.c "$site"/http_parser/*.pyx "$site"/http_parser/*.h
  rm -rf "$tmp"
fi
log "ready"
