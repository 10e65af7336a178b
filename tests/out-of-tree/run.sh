#!/usr/bin/env bash
# Installs the build into a temp prefix, builds tests/out-of-tree/project
# against it with find_package(tessel), and checks the installed `tessel`
# loads the result through TESSEL_PLUGIN_PATH.
set -euo pipefail
build_dir=$1
src_dir=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build_dir" --prefix "$work/prefix" > "$work/install.log"
cmake -S "$src_dir/project" -B "$work/build" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DCMAKE_BUILD_TYPE=Release > "$work/configure.log" || { cat "$work/configure.log"; exit 1; }
cmake --build "$work/build" > "$work/build.log" || { cat "$work/build.log"; exit 1; }
so=$(find "$work/build" -name 'tessel-input-hello.so' | head -1)
[ -n "$so" ] || { echo "plugin library was not built"; exit 1; }
out=$(TESSEL_PLUGIN_PATH=$(dirname "$so") "$work/prefix/bin/tessel" plugins --json)
echo "$out" | grep -q '"name": "hello"' || { echo "installed tessel did not list the plugin:"; echo "$out"; exit 1; }
# The installed binary also finds the installed in-tree plugins next to it.
echo "$out" | grep -q "$work/prefix/lib/tessel/plugins" || { echo "installed plugins not found"; echo "$out"; exit 1; }
echo "out-of-tree plugin loaded"
