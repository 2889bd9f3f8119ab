#!/usr/bin/env bash
# Developer build: compile the extension in build/dev and place it next to the
# sources in python/sss, so `PYTHONPATH=python pytest tests` runs against the
# working tree without reinstalling. Needs numpy, scipy, pybind11 in the
# current Python; users install with `pip install .` instead.
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PYTHON:-python3}
cmake -S . -B build/dev -G Ninja -DCMAKE_BUILD_TYPE=Release -DSSS_BUILD_PYTHON=ON \
  -DPython_EXECUTABLE="$(command -v "$py")" -Dpybind11_DIR="$("$py" -m pybind11 --cmakedir)" >/dev/null
cmake --build build/dev -j"${JOBS:-2}"
for f in build/dev/_core*.so; do cp "$f" "python/sss/.$(basename "$f").tmp" && mv -f "python/sss/.$(basename "$f").tmp" "python/sss/$(basename "$f")"; done  # atomic: running processes keep the old file
echo "built python/sss/$(cd build/dev && ls _core*.so)"
