"""x ** e over arrays (sss/vector_pow.hpp), the IRLS weights of stages 8 and 10."""

import numpy as np
import pytest

from sss import _core


def _inputs():
    rng = np.random.default_rng(0)
    # the weights' range: clamped bases 1e-10 .. ~2, exponents gamma - 2 in
    # [-1.2, -1.0]; plus edge cases of the range reduction
    x = np.concatenate([10 ** rng.uniform(-10, 0.35, 20000),
                        [1e-10, 0.5, 1.0, 2.0, np.sqrt(2.0), np.nextafter(np.sqrt(2.0), 3.0),
                         np.nextafter(1.0, 0.0), 1e-300, 7.0, 1234.5]])
    e = rng.uniform(-1.2, -1.0, x.size)
    e[-3:] = [-0.5, 3.0, 1.5]
    return x, e


def test_pow_array_matches_numpy():
    """Within 2e-14 relative of numpy's x ** e (here |e log x| reaches 345)."""
    x, e = _inputs()
    y = _core.pow_array(x, e)
    ref = x ** e
    assert np.all(np.isfinite(y))
    assert np.abs(y / ref - 1.0).max() < 2e-14


def test_pow_array_simd_and_scalar_paths_agree_bitwise():
    """The AVX2 path (4 at a time) and the one-at-a-time path do the same
    operations: bitwise equal results, for every length (vector tails)."""
    x, e = _inputs()
    for n in (1, 3, 4, 5, 17, x.size):
        assert np.array_equal(_core.pow_array(x[:n], e[:n]),
                              _core.pow_array(x[:n], e[:n], simd=False))


def test_pow_array_bad_input():
    with pytest.raises(ValueError, match="finite and > 0"):
        _core.pow_array(np.array([0.0]), np.array([1.0]))
    with pytest.raises(ValueError, match="differ in length"):
        _core.pow_array(np.ones(3), np.ones(2))
