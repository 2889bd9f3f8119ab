#!/usr/bin/env bash
# One-command set-up for a brand-new Debian/Ubuntu machine, then a job:
#
#   bash tools/bootstrap.sh demo   # set up, then segment a real photo into out/
#   bash tools/bootstrap.sh test   # set up (with test extras), then run the test suite
#
# It installs the C++ libraries the core builds against (Debian's
# libeigen3-dev, libspectra-dev, libsuitesparse-dev, libblas-dev and
# libopenblas0-pthread,
# plus a compiler if there is none), makes a
# virtual environment in .venv (override with SSS_VENV=path), installs sss into
# it from this checkout with pip, and runs the job. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
job=${1:-test}
shift || true
venv=${SSS_VENV:-.venv}
say() { printf '[bootstrap] %s\n' "$*" >&2; }

# ---- system packages (C++ toolchain and header-only libraries)
need=()
[ -f /usr/include/eigen3/Eigen/Core ] || need+=(libeigen3-dev)
[ -f /usr/include/Spectra/SymEigsShiftSolver.h ] || need+=(libspectra-dev)
# CHOLMOD for the eigensolver's factorisation (optional in CMake, ~10x faster
# than the Eigen fallback) and a fast BLAS for its supernodal kernels.
[ -f /usr/include/suitesparse/cholmod.h ] || need+=(libsuitesparse-dev)
[ -d /usr/lib/x86_64-linux-gnu/openblas-pthread ] || [ "$(uname -m)" != x86_64 ] ||
  need+=(libopenblas0-pthread)
# A BLAS to link (dsyrk for constrained sparsification's Gram matrices, dgemm
# for the block eigensolver); Debian's libblas.so then runs OpenBLAS.
compgen -G "/usr/lib/*/libblas.so" >/dev/null || compgen -G "/usr/lib/libblas.so" >/dev/null ||
  need+=(libblas-dev)
command -v g++ >/dev/null || need+=(g++)
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
# The test job also runs the viewer in a real headless browser (tests/test_viewer.py).
if [ "$job" = test ] && ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then
  need+=(chromium)
fi
if [ ${#need[@]} -gt 0 ]; then
  say "installing Debian packages: ${need[*]}"
  sudo_cmd=()
  [ "$(id -u)" = 0 ] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# ---- Python environment
if [ ! -x "$venv/bin/python" ]; then
  say "creating virtual environment $venv"
  python3 -m venv "$venv"
fi
py="$venv/bin/python"
"$py" -m pip install -q --upgrade pip >/dev/null
case "$job" in
  test) extras="[test]" ;;
  bench) extras="[test,bench]" ;;
  *) extras="" ;;
esac
say "building and installing sss$extras (C++ core, Release) into $venv"
"$py" -m pip install -q ".$extras"

# ---- the job
case "$job" in
  demo)
    photo=${1:-examples/data/astronaut.jpg}
    say "segmenting $photo into out/"
    exec "$venv/bin/sss" segment "$photo" -o out
    ;;
  test)
    exec "$py" -m pytest -q tests "$@"
    ;;
  bench)
    exec "$py" bench/run_all.py "$@"
    ;;
  *)
    say "unknown job '$job' (expected demo, test or bench)"; exit 2 ;;
esac
