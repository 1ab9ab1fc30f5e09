#!/usr/bin/env bash
# Download the wheels `lucid-dreamer paper-scale` needs beside torch, for the GPU machine (Python 3.12,
# manylinux x86-64, no package index there), into wheels/ (ignored by git; about 14 MiB). The list and
# the pinned versions are lucid_dreamer/pipeline/offline.py's; ALL=1 also fetches the large ones that machine's
# image already holds (opencv-python-headless, numpy, scipy, matplotlib). Usage: scripts/gather_wheels.sh [DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
dest="${1:-wheels}"
python="${PYTHON:-python3}"
mkdir -p "$dest"
mapfile -t wanted < <("$python" -m lucid_dreamer.pipeline.offline ${ALL:+--all})
platforms=()
for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64 manylinux1_x86_64; do
  platforms+=(--platform "$p")
done
"$python" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  "${platforms[@]}" -d "$dest" "${wanted[@]}"
# keep one version of each: two would stop the offline install
ls "$dest"/*.whl | sed 's#.*/##' | cut -d- -f1 | sort | uniq -d | while read -r twice; do
  echo "error: $dest holds two versions of $twice; delete the older" >&2; exit 1
done
du -sh "$dest"
echo "wheels: ${wanted[*]} -> $dest/ (carry it beside the checkout; paper-scale --install-wheels $dest installs them)"
