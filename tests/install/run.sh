#!/usr/bin/env bash
# Installs the build into a scratch prefix, builds tests/install/consumer
# against it (find_package and pkg-config), and runs both programs on a model.
#   tests/install/run.sh BUILD_DIR MODEL
set -euo pipefail
build="$1"
model="$2"
here="$(cd "$(dirname "$0")" && pwd)"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
cmake --install "$build" --prefix "$scratch/prefix" >/dev/null
libdir="$(find "$scratch/prefix" -name 'libedgelm.so' -printf '%h\n' | head -1)"
CMAKE_PREFIX_PATH="$scratch/prefix" PKG_CONFIG_PATH="$libdir/pkgconfig" \
  cmake -S "$here/consumer" -B "$scratch/build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$scratch/build" >/dev/null
for program in consumer_cmake consumer_pkgconfig; do
  out="$(EDGELM_HOME="$scratch/prefix/share/edgelm" LD_LIBRARY_PATH="$libdir" "$scratch/build/$program" "$model" "turn it on")"
  echo "$program: $out"
  [[ "$out" == \[* ]] || { echo "$program: unexpected output" >&2; exit 1; }
done
