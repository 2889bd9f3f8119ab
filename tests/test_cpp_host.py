"""The C++ core is usable without Python: install it with CMake, build the
example host program with find_package(sss CONFIG), let it segment a photo
from files with sss::segment, and compare its layers with sss.segment's."""

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


def _photo(h, w):
    yy, xx = np.mgrid[0:h, 0:w] / np.array([h, w])[:, None, None]
    img = np.stack([xx, yy, 0.5 + 0.4 * np.sin(7 * xx * yy + 3 * xx)], -1)
    img[xx + 0.4 * yy > 0.7] *= 0.4
    return np.round(img * 255).astype(np.uint8)


@pytest.mark.parametrize("method,h,w,opts", [
    ("multilevel", 50, 60, dict(working_pixels=1200)),  # resized to a 31 x 38 working level
    ("multilevel", 30, 34, {}),                          # the photo is the working level
    ("reference", 30, 34, {}),
])
def test_host_program_segments_as_python(host_program, method, h, w, opts):
    """The host reads a photo and its features, runs sss::segment and writes
    the layers: the same layers, bitwise, as sss.segment in Python."""
    exe, tmp = host_program
    img = _photo(h, w)
    feat = np.ascontiguousarray(np.clip(img[..., ::-1] / 255.0 * 0.8 + 0.1, 0, 1))
    ppm, npy, out = tmp / f"{method}{h}.ppm", tmp / f"{method}{h}_f.npy", tmp / f"{method}{h}_a.npy"
    ppm.write_bytes(f"P6\n{w} {h}\n255\n".encode() + img.tobytes())
    np.save(npy, feat)
    knobs = dict(num_layers=3, seed=2, n_segments=40, num_vectors=16, initial_layers=8,
                 max_iter=6, **opts)
    stdout = _run([exe, ppm, npy, out, f"method={method}",
                   *(f"{k}={v}" for k, v in knobs.items())])
    layers = np.load(out)
    res = sss.segment(img, feat, method=method, num_layers=3, seed=2, progress=False,
                      affinity=dict(superpixels=dict(n_segments=40)),
                      eigen=dict(num_vectors=16), initial=dict(num_layers=8),
                      constrained=dict(max_iter=6), relaxed=dict(max_iter=6),
                      levels=dict(working_pixels=opts.get("working_pixels", 19200)))
    assert f"working {res.working_shape[0]} x {res.working_shape[1]}" in stdout
    assert layers.dtype == np.float32 and layers.shape == res.alphas.shape
    np.testing.assert_array_equal(layers, res.alphas)


def test_host_program_runs_the_default_pipeline(host_program):
    """With the features and the salient-object map that sss.segment computes
    for a photo, the host's sss::segment gives sss.segment(photo)'s layers,
    subject matting (stage 11) included, bitwise."""
    exe, tmp = host_program
    yy, xx = np.mgrid[0:90, 0:120]
    img = _photo(90, 120)
    disc = (yy - 45) ** 2 + (xx - 60) ** 2 < 28 ** 2
    img[disc] = [200, 60, 40]  # a red subject the saliency network finds
    res = sss.segment(img, progress=False)
    assert "subject matting" in res.timings
    sal = sss.saliency_map(img)  # the photo is below 640 x 480: the network's own size
    ppm, npy, snpy, out = (tmp / "d.ppm", tmp / "d_f.npy", tmp / "d_s.npy", tmp / "d_a.npy")
    ppm.write_bytes(b"P6\n120 90\n255\n" + img.tobytes())
    np.save(npy, np.ascontiguousarray(res.features, dtype=np.float64))  # working level
    np.save(snpy, np.ascontiguousarray(sal, dtype=np.float64)[:, :, None])
    _run([exe, ppm, npy, out, f"saliency={snpy}"])
    np.testing.assert_array_equal(np.load(out), res.alphas)
    _run([exe, ppm, npy, out])  # without the map: no stage 11
    off = sss.segment(img, progress=False, subject=dict(enabled=False))
    np.testing.assert_array_equal(np.load(out), off.alphas)
    assert not np.array_equal(off.alphas, res.alphas)


def test_host_program_reports_bad_input(host_program):
    exe, tmp = host_program
    res = subprocess.run([exe], capture_output=True, text=True)
    assert res.returncode == 2 and "usage" in res.stderr
    bad = tmp / "bad.ppm"
    bad.write_bytes(b"P3\n2 2\n255\n")
    np.save(tmp / "f.npy", np.zeros((2, 2, 3)))
    res = subprocess.run([exe, bad, tmp / "f.npy", tmp / "o.npy"], capture_output=True, text=True)
    assert res.returncode == 1 and "not a binary 8-bit PPM" in res.stderr
    ppm = tmp / "ok.ppm"
    ppm.write_bytes(b"P6\n4 4\n255\n" + bytes(48))
    np.save(tmp / "f32.npy", np.zeros((4, 4, 3), np.float32))
    res = subprocess.run([exe, ppm, tmp / "f32.npy", tmp / "o.npy"], capture_output=True,
                         text=True)
    assert res.returncode == 1 and "float64" in res.stderr
