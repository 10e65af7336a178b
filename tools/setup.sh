#!/usr/bin/env bash
# Installs tessel's build dependencies (Debian 12 packages only) and builds it
# into ./build. Safe to run again: it installs only what is missing and
# rebuilds incrementally.
#   tools/setup.sh --fuzz   also installs clang and libFuzzer, which only the
#                           sanitizer/fuzz build (tools/test.sh, tools/fuzz.sh) needs
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build pkg-config git xz-utils
  libeigen3-dev libxsimd-dev libboost-dev libboost-filesystem-dev libyaml-cpp-dev
  catch2 libcli11-dev libpcre2-dev libutf8proc-dev libstb-dev nlohmann-json3-dev
  libcpp-httplib-dev
  # tests/serve: curl and the openai npm client talk to `tessel serve`, nginx fronts two replicas
  curl nginx-light
)
# The npm client needs node and npm; any installed node (>= 18) will do.
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
if [ "${1:-}" = "--fuzz" ]; then
  packages+=(clang-14 libclang-rt-14-dev python3)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The pinned openai client for tests/serve (package-lock.json), from the npm registry.
if [ ! -d tests/serve/node_modules/openai ] || [ tests/serve/package-lock.json -nt tests/serve/node_modules/.package-lock.json ]; then
  (cd tests/serve && npm ci --no-audit --no-fund --loglevel=error) ||
    echo "setup: npm ci in tests/serve failed; the openai client test will fail until it succeeds" >&2
fi

jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release ${TESSEL_CMAKE_ARGS:-}
cmake --build build -j "$jobs"
