# Sourced by tests/run, testnet/up and .ci/run: environment and system packages.
# shellcheck shell=bash

# Link Debian's RocksDB 7.8.3 (rocksdb crate =0.20.1) instead of building the bundled copy.
export ROCKSDB_LIB_DIR="${ROCKSDB_LIB_DIR:-/usr/lib/x86_64-linux-gnu}"
export SNAPPY_LIB_DIR="${SNAPPY_LIB_DIR:-/usr/lib/x86_64-linux-gnu}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

chancery_have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# Install the Debian packages the build and the tests need, if any is missing.
chancery_install_deps() {
  local pkgs=(librocksdb-dev libsnappy-dev clang libclang-dev iproute2 "$@")
  local missing=()
  for p in "${pkgs[@]}"; do chancery_have_pkg "$p" || missing+=("$p"); done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "== installing system packages: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}
