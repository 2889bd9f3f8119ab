"""The C++ core is usable without Python: install it with CMake, build the
example host program with find_package(sss CONFIG), run it, and compare its
output with the Python binding on the same image."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import sss

REPO = Path(__file__).resolve().parents[1]


def _cmake() -> str:
    exe = shutil.which("cmake") or str(Path(sys.executable).parent / "cmake")
    if not Path(exe).exists() and not shutil.which(exe):
        pytest.skip("cmake is not installed (pip install '.[test]' provides it)")
    return exe


def _run(cmd, **kw):
    res = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert res.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{res.stdout}\n{res.stderr}"
    return res.stdout


@pytest.fixture(scope="module")
def host_program(tmp_path_factory):
    if not (REPO / "CMakeLists.txt").exists():
        pytest.skip("needs the source tree (CMakeLists.txt) to build the C++ core")
    cmake = _cmake()
    tmp = tmp_path_factory.mktemp("cpp_host")
    gen = ["-G", "Ninja"] if shutil.which("ninja") or (Path(sys.executable).parent / "ninja").exists() else []
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    _run([cmake, "-S", REPO, "-B", tmp / "core", *gen, "-DCMAKE_BUILD_TYPE=Release",
          "-DSSS_BUILD_PYTHON=OFF"], env=env)
    _run([cmake, "--build", tmp / "core", "-j2"], env=env)
    _run([cmake, "--install", tmp / "core", "--prefix", tmp / "prefix"], env=env)
    assert (tmp / "prefix" / "lib" / "cmake" / "sss" / "sssConfig.cmake").exists() or \
        list((tmp / "prefix").glob("lib*/cmake/sss/sssConfig.cmake"))
    _run([cmake, "-S", REPO / "examples" / "cpp_host", "-B", tmp / "host", *gen,
          f"-DCMAKE_PREFIX_PATH={tmp / 'prefix'}", "-DCMAKE_BUILD_TYPE=Release"], env=env)
    _run([cmake, "--build", tmp / "host"], env=env)
    exe = tmp / "host" / "sss_cpp_host"
    assert exe.exists()
    return exe, tmp


def _parse(out: str) -> dict:
    vals = {}
    for line in out.splitlines():
        key, _, rest = line.partition(" ")
        vals[key] = rest
    return vals


def _checksums(W):
    coo = W.tocoo()
    weights = (coo.row.astype(np.int64) * 7 + coo.col.astype(np.int64) * 13) % 101 + 1
    return coo.data.sum(), (coo.data * weights).sum()


def test_host_program_matches_python_on_a_ppm(host_program, rng):
    exe, tmp = host_program
    img = rng.integers(0, 256, size=(23, 31, 3), dtype=np.uint8)
    ppm = tmp / "img.ppm"
    ppm.write_bytes(b"P6\n31 23\n255\n" + img.tobytes())
    out = _parse(_run([exe, ppm]))
    W = sss.matting_affinity(img)
    assert out["size"] == f"{W.shape[0]} x {W.shape[1]}"
    assert int(out["nnz"]) == W.nnz
    s, c = _checksums(W)
    assert float(out["sum"]) == pytest.approx(s, rel=1e-12)
    assert float(out["checksum"]) == pytest.approx(c, rel=1e-12)
    assert float(out["laplacian_max_row_sum"]) < 1e-10


def test_host_program_builtin_image_and_errors(host_program):
    exe, tmp = host_program
    out = _parse(_run([exe]))
    assert out["size"] == "1200 x 1200"
    assert int(out["nnz"]) > 0
    bad = tmp / "bad.ppm"
    bad.write_bytes(b"P3\n2 2\n255\n")
    res = subprocess.run([exe, bad], capture_output=True, text=True)
    assert res.returncode == 1 and "not a binary 8-bit PPM" in res.stderr
