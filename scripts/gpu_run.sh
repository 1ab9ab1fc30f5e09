#!/usr/bin/env bash
# The paper-scale run on a GPU machine that reaches no package index (this workplace's device machine):
# the checkout arrives with wheels/ (`make wheels`) and, where the machine lacks the EGL loaders, .gl/ (Debian
# packages: libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2, downloaded with `apt-get download`)
# carried beside it. Usage: scripts/gpu_run.sh OUT_DIR [COMMIT] [more paper-scale flags]
set -uo pipefail
cd "$(dirname "$0")/.."
out="${1:?usage: scripts/gpu_run.sh OUT_DIR [COMMIT]}"
export LUCID_DREAMER_COMMIT="${2:-${LUCID_DREAMER_COMMIT:-}}"
shift $(( $# >= 2 ? 2 : 1 ))
if compgen -G ".gl/*.deb" >/dev/null; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
export MUJOCO_GL=egl PYTHONUNBUFFERED=1
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
# the command line imports the whole package: what it lacks is installed first, then found on PYTHONPATH
export PYTHONPATH="$(python3 -m lucid_dreamer.pipeline.offline --install wheels)${PYTHONPATH:+:$PYTHONPATH}"
python3 -m lucid_dreamer.cli paper-scale --out "$out" --install-wheels wheels "$@" 2>&1 | tee "$out/log.txt"
