"""sss._core.build_info(), sss.show_config() and the single-sourced version."""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

import numpy as np
import pytest

import sss

ROOT = Path(__file__).resolve().parents[1]


def test_version_is_written_once():
    # pyproject.toml takes it from __init__.py; CMakeLists.txt reads the same line.
    text = (ROOT / "python" / "sss" / "__init__.py").read_text(encoding="utf-8")
    assert re.findall(r'^__version__ = "([^"]+)"$', text, re.M) == [sss.__version__]
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'dynamic = ["version"]' in pyproject
    assert not re.search(r"^version\s*=", pyproject, re.M)
    assert sss._core.build_info()["version"] == sss.__version__


def test_installed_metadata_agrees():
    try:
        dist_version = importlib.metadata.version("semantic-soft-segmentation")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("semantic-soft-segmentation is not installed (source-tree run)")
    if not Path(sss.__file__).resolve().is_relative_to(
            Path(importlib.metadata.distribution("semantic-soft-segmentation")
                 .locate_file("")).resolve()):
        pytest.skip("sss is imported from the source tree, not from the installed distribution")
    assert dist_version == sss.__version__


def test_build_info_keys_and_types():
    info = sss._core.build_info()
    for key in ("compiler", "build_type", "eigen", "sparse_factorization", "max_threads"):
        assert info[key], key
    for dep in ("spectra", "cholmod", "blas", "openmp"):
        assert isinstance(info[f"has_{dep}"], bool)
        assert (info[dep] is not None) == info[f"has_{dep}"], dep
    assert info["sparse_factorization"] == ("cholmod" if info["has_cholmod"] else "eigen-ldlt")
    assert re.search(r"\((system|cmeel-eigen)\)$", info["eigen"])
    simd = info["simd"]
    assert simd["gram_kernel"] in simd["gram_kernels_available"]
    assert simd["kmeans_kernel"] in simd["kmeans_kernels_available"]
    assert simd["vector_pow"] in ("avx2", "scalar")


def test_show_config_prints_the_build(capsys):
    assert sss.show_config() is None
    out = capsys.readouterr().out
    info = sss._core.build_info()
    assert out.startswith(f"sss {sss.__version__}")
    for label in ("compiler:", "Eigen:", "Spectra:", "CHOLMOD:", "BLAS:", "OpenMP:",
                  "weighted Gram:", "k-means:", "model:"):
        assert label in out, label
    assert info["compiler"] in out
    assert info["simd"]["gram_kernel"] in out
    cfg = sss.show_config(mode="dicts")
    assert cfg["build"]["compiler"] == info["compiler"]
    assert cfg["model"]["path"].endswith(".onnx")
    assert cfg["cue_models"]["u2netp.onnx"].endswith("u2netp.onnx")
    assert "u2netp.onnx (cue):" in out
    assert "optional: pillow_heif" in out and "HEIC" in cfg["python"]["optional"]["pillow_heif"]
    assert "optional: rawpy" in out and "raw" in cfg["python"]["optional"]["rawpy"]
    with pytest.raises(ValueError, match="mode"):
        sss.show_config(mode="json")


def test_lanczos_without_spectra_names_what_to_install():
    if sss._core.build_info()["has_spectra"]:
        pytest.skip("this build has Spectra (tests/test_packaging.py builds one without it)")
    rng = np.random.default_rng(0)
    img = rng.random((12, 12, 3))
    L = sss.laplacian_from_affinity(sss.matting_affinity(img))
    with pytest.raises(RuntimeError, match="libspectra-dev"):
        sss.smallest_eigenvectors(L, 3, method="lanczos")
