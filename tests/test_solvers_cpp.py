"""The solver templates take new operators, preconditioners and shift-solve
backends without changes (CONTRIBUTING.md, "Solvers and operators"):
tests/cpp/test_solvers.cpp plugs test-only ones in and checks them against
dense solves."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _eigen_include() -> Path:
    for d in (Path("/usr/include/eigen3"), Path("/usr/local/include/eigen3")):
        if (d / "Eigen" / "Core").exists():
            return d
    try:
        import cmeel  # noqa: F401  (PyPI's cmeel-eigen)
        from cmeel import cmeel_prefix  # type: ignore
        d = Path(cmeel_prefix()) / "include" / "eigen3"
        if (d / "Eigen" / "Core").exists():
            return d
    except Exception:
        pass
    pytest.skip("Eigen headers not found (Debian: libeigen3-dev)")


def test_solver_templates_take_new_ops(tmp_path):
    if not (REPO / "cpp" / "src").exists():
        pytest.skip("needs the source tree (cpp/src)")
    cxx = shutil.which("g++") or shutil.which("c++") or shutil.which("clang++")
    if cxx is None:
        pytest.skip("no C++ compiler")
    exe = tmp_path / "test_solvers"
    cmd = [cxx, "-std=c++17", "-O1", "-fopenmp", "-DNDEBUG",
           f"-I{REPO / 'cpp' / 'include'}", f"-I{REPO / 'cpp' / 'src'}", f"-I{_eigen_include()}",
           str(REPO / "tests" / "cpp" / "test_solvers.cpp"),
           str(REPO / "cpp" / "src" / "eigen" / "common.cpp"), "-o", str(exe)]
    res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stdout + run.stderr
