"""Shared fixtures: the reference oracle in ../shared and small test images."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SSS_SHARED", REPO.parent / "shared"))
REFERENCE = SHARED / "reference" / "docia_320"


def shared_path(*parts: str) -> Path:
    """Path inside ../shared, skipping the test with a clear reason if absent."""
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"oracle data {p} is not present (tests that compare with the authors' "
                    "reference need ../shared beside the repository, or SSS_SHARED=path)")
    return p


def load_reference(name: str):
    """np.load of ../shared/reference/docia_320/<name>, skipping if absent."""
    return np.load(shared_path("reference", "docia_320", name))


def oracle_csr(npz, name: str, h: int, w: int) -> sp.csr_matrix:
    """A matrix from laplacian.npz, re-indexed from the oracle's column-major
    pixel index (p = col*h + row) to ours (p = row*w + col)."""
    r, c, v = npz[name + "_row"], npz[name + "_col"], npz[name + "_val"]
    n = h * w
    rr = (r % h) * w + r // h
    cc = (c % h) * w + c // h
    m = sp.csr_matrix((v, (rr, cc)), shape=(n, n))
    m.sort_indices()
    return m


def fortran_to_c_index(p: np.ndarray, h: int, w: int) -> np.ndarray:
    """Convert 0-based column-major pixel indices to our row-major ones."""
    return (p % h) * w + p // h


@pytest.fixture(scope="session")
def docia_inputs():
    return load_reference("inputs.npz")


@pytest.fixture(scope="session")
def docia_laplacian():
    return load_reference("laplacian.npz")


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture(autouse=True)
def _keep_signal_handlers():
    """Give every test the SIGINT / SIGTERM handlers it started with: a test
    that leaves Ctrl-C ignored (a worker pool, a subprocess helper) must not
    change what later tests see."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    yield
    for s, handler in saved.items():
        if handler is not None and signal.getsignal(s) is not handler:
            signal.signal(s, handler)

