#!/usr/bin/env bash
# `cmake --install` into a temp prefix, then checks the tree a user gets:
# binary, library, plugins, headers, configs, docs, man pages, completions,
# CMake package and pkg-config file; that no installed file names the source
# or build folder; and that examples/ builds against the installed package
# (CMake and pkg-config) and runs on the shared models.
#   run.sh BUILD_DIR SOURCE_DIR      (shared data: $TESSEL_SHARED, default SOURCE_DIR/../shared)
set -euo pipefail
build_dir=$(cd "$1" && pwd)
src_dir=$(cd "$2" && pwd)
shared=${TESSEL_SHARED:-$src_dir/../shared}
# The build's compiler, and its sanitizer flags when it is instrumented (CMake passes both).
cxx=${CONSUMER_CXX:-c++}
consumer_flags=${CONSUMER_FLAGS:-}
[ -d "$shared/models" ] || { echo "shared test data not found at $shared: set TESSEL_SHARED"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
p=$work/prefix
cmake --install "$build_dir" --prefix "$p" > "$work/install.log"

fail() { echo "install tree: $*"; exit 1; }
libdir=$(cd "$p" && ls -d lib* | head -1)
for f in bin/tessel "$libdir/libtessel.so" include/tessel/api.hpp include/tessel/pipeline.hpp \
         share/tessel/configs/stories260k.yaml share/doc/tessel/README.md share/doc/tessel/library.md \
         share/man/man1/tessel.1 share/man/man1/tessel-generate.1 share/man/man1/tessel-embed.1 \
         share/man/man1/tessel-tokenize.1 share/bash-completion/completions/tessel \
         share/zsh/site-functions/_tessel "$libdir/pkgconfig/tessel.pc" "$libdir/cmake/tessel/tesselConfig.cmake" \
         share/doc/tessel/examples/story_and_embeddings.cpp; do
  [ -e "$p/$f" ] || fail "missing $f"
done
ls "$p/$libdir/tessel/plugins"/tessel-format-gguf.so "$p/$libdir/tessel/plugins"/tessel-architecture-llama.so \
  > /dev/null || fail "plugins missing"
grep -q -- '--no-display-prompt' "$p/share/man/man1/tessel-generate.1" || fail "tessel-generate.1 lacks the generate flags"
grep -q -- '--embd-output-format' "$p/share/bash-completion/completions/tessel" || fail "bash completion lacks embed flags"
grep -q '#compdef tessel' "$p/share/zsh/site-functions/_tessel" || fail "zsh completion header"
bash -n "$p/share/bash-completion/completions/tessel" || fail "bash completion does not parse"

# No installed file carries the source or build path (no TESSEL_SOURCE_DIR, no build RPATH).
# Not checked for an instrumented build: ASan and UBSan store each file's path
# for their reports and its line tables name the build folder (clang 14 has no
# prefix map for the sanitizers), and such a build is never a package.
if [ -z "$consumer_flags" ]; then
  for dir in "$src_dir" "$build_dir"; do
    if grep -rlF "$dir" "$p/bin" "$p/$libdir" "$p/include" > "$work/hits" 2>/dev/null; then
      fail "these installed files name $dir: $(tr '\n' ' ' < "$work/hits")"
    fi
  done
fi

# The installed binary runs outside the checkout, models from TESSEL_SHARED.
cd "$work"
"$p/bin/tessel" --version | grep -q '^tessel ' || fail "tessel --version"
TESSEL_SHARED=$shared "$p/bin/tessel" run "$p/share/tessel/configs/stories260k.yaml" \
  --set generate.max_tokens=4 > "$work/run.out" 2> "$work/run.err" || { cat "$work/run.err"; fail "run config"; }
env -u TESSEL_SHARED "$p/bin/tessel" run "$p/share/tessel/configs/stories260k.yaml" > /dev/null 2> "$work/noshared.err" &&
  fail "an installed tessel found shared data without TESSEL_SHARED"
grep -q 'TESSEL_SHARED' "$work/noshared.err" || { cat "$work/noshared.err"; fail "message should name TESSEL_SHARED"; }

# examples/ against the installed CMake package.
cmake -S "$src_dir/examples" -B "$work/example" -G Ninja -DCMAKE_PREFIX_PATH="$p" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_CXX_FLAGS="$consumer_flags" \
  > "$work/configure.log" || { cat "$work/configure.log"; fail "example configure"; }
cmake --build "$work/example" > "$work/build.log" || { cat "$work/build.log"; fail "example build"; }
"$work/example/tessel-example" "$shared/models/stories260K.gguf" "$shared/golden/models/bert-synth.gguf" \
  > "$work/example.out" 2>&1 || { cat "$work/example.out"; fail "example run"; }
grep -q '^story: Once upon a time' "$work/example.out" || { cat "$work/example.out"; fail "example output"; }
grep -q '^embeddings: 3 x ' "$work/example.out" || { cat "$work/example.out"; fail "example embeddings"; }

# ... and through pkg-config.
PKG_CONFIG_PATH="$p/$libdir/pkgconfig" pkg-config --exists tessel || fail "pkg-config does not find tessel"
flags=$(PKG_CONFIG_PATH="$p/$libdir/pkgconfig" pkg-config --cflags --libs tessel)
# shellcheck disable=SC2086
"$cxx" -O1 $consumer_flags "$src_dir/examples/story_and_embeddings.cpp" $flags -Wl,-rpath,"$p/$libdir" -o "$work/example-pc" \
  || fail "example does not build with pkg-config flags: $flags"
"$work/example-pc" "$shared/models/stories260K.gguf" > "$work/example-pc.out" 2>&1 || { cat "$work/example-pc.out"; fail "pkg-config example run"; }
cmp -s <(head -1 "$work/example.out") <(head -1 "$work/example-pc.out") || fail "the two example builds disagree"
echo "install tree complete; example built with CMake and pkg-config"
