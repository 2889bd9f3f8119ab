"""The pipeline in the C++ core (sss::segment) and the numpy/scipy/Pillow
arithmetic it reproduces: results equal those of the stage-by-stage Python
orchestration for the same seed."""

from __future__ import annotations

import numpy as np
import pytest

import sss
from sss import _core
from sss.io import resize
from sss.kmeans import splitting_kmeans
from sss.relaxed import image_gradient

import _pipeline_cases as cases


# ---------------------------------------------------------------- numpy's generator
@pytest.mark.parametrize("seed", [0, 1, 7, 12345, 2**32 + 5, 2**63 + 11])
def test_rng_follows_numpy_draw_for_draw(seed):
    ours, theirs = _core.Rng(seed), np.random.default_rng(seed)
    for n in (1, 2, 3, 10, 1000, 2**31 + 3, 2**40):
        assert ours.integers(n) == theirs.integers(n)
        assert ours.random() == theirs.random()
    w = np.random.default_rng(99).random(50) ** 3
    w[7] = 0.0
    for _ in range(20):
        assert ours.choice(list(w), float(w.sum())) == theirs.choice(50, p=w / w.sum())
    for n, k in ((10, 10), (100, 7), (3000, 300), (10001, 5), (20000, 2000), (20000, 400),
                 (20000, 401), (50, 1)):
        assert list(ours.choice_without_replacement(n, k)) == \
            list(theirs.choice(n, k, replace=False)), (n, k)
    assert ours.integers(5) == theirs.integers(5)


def test_rng_continues_a_numpy_generator_state():
    g = np.random.default_rng(3)
    g.integers(7)  # leaves half a 64-bit word buffered
    st = g.bit_generator.state
    s, inc = st["state"]["state"], st["state"]["inc"]
    ours = _core.Rng(s >> 64, s & (2**64 - 1), inc >> 64, inc & (2**64 - 1),
                     bool(st["has_uint32"]), st["uinteger"])
    assert [ours.integers(9) for _ in range(5)] == [g.integers(9) for _ in range(5)]


@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 127, 128, 129, 1000, 8193, 70001])
def test_numpy_sum_rounds_as_numpy(n, rng):
    x = rng.random(n) * 10.0 ** rng.integers(-4, 4, n)
    assert _core.numpy_sum(x) == np.sum(x)


# ---------------------------------------------------------------- stages reproduced exactly
@pytest.mark.parametrize("n,k,seed", [(400, 12, 0), (12000, 15, 3), (90, 6, 1)])
def test_splitting_kmeans_equals_python(rng, n, k, seed):
    X = np.ascontiguousarray(rng.random((n, 3)) ** 2)
    p = _core.SplittingParams()
    np.testing.assert_array_equal(_core.splitting_kmeans(X, k, p, seed),
                                  splitting_kmeans(X, k, seed=seed))


def test_splitting_kmeans_names_the_unsplittable_case():
    X = np.ascontiguousarray(np.random.default_rng(0).random((20, 3)))
    with pytest.raises(ValueError, match=r"initial\.num_layers in sss\.segment"):
        _core.splitting_kmeans(X, 8, _core.SplittingParams(), 0)


def _scipy_gradient(img):
    """The relaxed stage's gradient as the reference computes it, with scipy."""
    from scipy import ndimage
    k = np.array([0.0000, 0.0007, 0.0071, 0.0374, 0.1126, 0.2119, 0.2605,
                  0.2119, 0.1126, 0.0374, 0.0071, 0.0007, 0.0000])
    d = np.array([0.0001, 0.0019, 0.0142, 0.0509, 0.0963, 0.0878, 0.0000,
                  -0.0878, -0.0963, -0.0509, -0.0142, -0.0019, -0.0001])
    gx2, gy2 = np.zeros(img.shape[:2]), np.zeros(img.shape[:2])
    for c in range(img.shape[2]):
        ch = img[:, :, c]
        gy = ndimage.convolve1d(ndimage.convolve1d(ch, d, axis=0, mode="nearest"), k, axis=1,
                                mode="nearest")
        gx = ndimage.convolve1d(ndimage.convolve1d(ch, k, axis=0, mode="nearest"), d, axis=1,
                                mode="nearest")
        gx2 += gx * gx
        gy2 += gy * gy
    return np.sqrt(gx2 + gy2)


@pytest.mark.parametrize("shape", [(1, 1, 3), (5, 9, 3), (40, 31, 3), (17, 20, 1)])
def test_image_gradient_equals_scipy(rng, shape):
    img = rng.random(shape)
    assert np.array_equal(image_gradient(img), _scipy_gradient(img))


@pytest.mark.parametrize("method", ["bicubic", "bilinear"])
@pytest.mark.parametrize("src,dst", [((50, 40), (25, 20)), ((97, 130), (31, 44)),
                                     ((20, 30), (20, 13)), ((20, 30), (9, 30)),
                                     ((12, 12), (30, 25)), ((480, 640), (120, 160))])
def test_resize_equals_pillow(rng, method, src, dst):
    img = rng.random(src + (3,)) * 1.2 - 0.1
    assert np.array_equal(_core.resize_image(img, *dst, method), resize(img, *dst, method=method))


# ---------------------------------------------------------------- the whole pipeline
@pytest.fixture(scope="module")
def stored():
    return np.load(cases.DATA)


#: largest difference from the stored arrays where this machine's BLAS runs other
#: kernels than the machine that stored them (an Intel Xeon, OpenBLAS's SkylakeX
#: kernels): dgemm and dsyrk sum in another order, the eigenvalues differ by ~1e-17
#: and the alphas by float32 rounding, except in multilevel_large, whose 8 unconverged
#: sparsification iterations carry the rounding to 0.017 (measured on an AMD EPYC with
#: OpenBLAS's Haswell kernels; the same machine with OPENBLAS_CORETYPE=SkylakeX gives
#: the stored arrays bitwise)
OTHER_KERNELS_ATOL = {"reference": 1e-6, "reference_options": 1e-6,
                      "multilevel_upsampled": 1e-6, "multilevel_large": 0.05}


def _same_as_stored(name, f, got, stored, exact):
    ref = stored[f"{name}/{f}"]
    got = np.asarray(got)
    assert got.shape == ref.shape and got.dtype == ref.dtype, f
    if exact:
        assert np.array_equal(got, ref), f
    elif f == "eigenvalues":
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12 * np.abs(ref).max(), err_msg=f)
    else:
        np.testing.assert_allclose(got, ref, rtol=0, atol=OTHER_KERNELS_ATOL[name], err_msg=f)


def _blas_as_stored(stored, name, res):
    """Whether this machine's BLAS gave the stored run's eigenvalues bitwise
    (the eigensolver's block products are the first BLAS results): then every
    later array must be bitwise equal too."""
    return np.array_equal(np.asarray(res.eigenvalues), stored[f"{name}/eigenvalues"])


@pytest.mark.parametrize("name", list(cases.CASES))
def test_core_pipeline_equals_the_python_orchestration(stored, name):
    """sss.segment (the core's pipeline) gives the layers that the pipeline
    orchestrated stage by stage in Python gave for the same inputs and seed
    (tests/_pipeline_cases.py; stored in tests/data/pipeline_cases.npz):
    bitwise where the BLAS runs the storing machine's kernels, else within
    the rounding that other kernels bring (OTHER_KERNELS_ATOL)."""
    img, feat, kw = cases.inputs(name)
    res = sss.segment(img, feat, progress=False, **kw)
    np.testing.assert_array_equal(res.group_ids, stored[f"{name}/group_ids"])
    exact = _blas_as_stored(stored, name, res)
    for f in ("eigenvalues", "initial_alphas", "grouped_alphas", "alphas"):
        _same_as_stored(name, f, getattr(res, f), stored, exact)


def _grouping_inertia(layers, feat, ids):
    """k-means objective of a grouping: squared distances of the layers'
    alpha-weighted mean features to their group's centre."""
    A = np.asarray(layers).reshape(-1, np.asarray(layers).shape[-1])
    F = feat.reshape(-1, feat.shape[2])
    comp = (A.T @ F) / A.sum(axis=0)[:, None]
    ids = np.asarray(ids)
    return sum(((comp[ids == g] - comp[ids == g].mean(axis=0)) ** 2).sum() for g in np.unique(ids))


def test_multilevel_grouping_keeps_the_best_of_its_kmeans_runs(stored):
    """The multilevel default runs the grouping's k-means 10 times and keeps
    the grouping of least inertia: the layers before the grouping are those of
    the one-run case, and its first run is that case's, so the inertia can
    only go down."""
    assert sss.Params.multilevel().grouping.replicates == 10
    assert sss.Params.reference().grouping.replicates == 1
    name = "multilevel_large"
    img, feat, kw = cases.inputs(name)
    assert kw.pop("grouping") == dict(replicates=1, min_mass=0.0)
    res = sss.segment(img, feat, progress=False, grouping=dict(min_mass=0.0), **kw)
    init = np.asarray(res.initial_alphas)
    _same_as_stored(name, "initial_alphas", init, stored, _blas_as_stored(stored, name, res))
    init = init.reshape(-1, init.shape[-1])
    ids = np.asarray(res.group_ids)
    grouped = np.asarray(res.grouped_alphas)
    grouped = grouped.reshape(-1, grouped.shape[-1])
    for g in range(grouped.shape[1]):
        np.testing.assert_allclose(grouped[:, g], init[:, ids == g].sum(axis=1), atol=1e-6)
    one = _grouping_inertia(init, feat, stored[f"{name}/group_ids"])
    best = _grouping_inertia(init, feat, ids)
    assert best <= one * (1 + 1e-12)
    # and the ten runs found a better grouping than the single run on this case
    assert not np.array_equal(ids, stored[f"{name}/group_ids"]) and best < one


def test_multilevel_grouping_leaves_small_layers_out_of_the_kmeans():
    """Layers below grouping.min_mass join the group of the nearest centre of
    the others' k-means (each centre the mean of its members at convergence),
    as sss.group_layers(min_mass=) does; a Params object and a dict give the
    same result."""
    assert sss.Params.multilevel().grouping.min_mass == 0.005
    assert sss.Params.reference().grouping.min_mass == 0.0
    img, feat, kw = cases.inputs("multilevel_large")
    kw.pop("grouping")
    # leaves out some of this case's 10 initial layers
    res = sss.segment(img, feat, progress=False, grouping=dict(min_mass=0.06), **kw)
    p = sss.Params.multilevel()
    p.grouping = sss.GroupingParams(replicates=10, min_mass=0.06)
    same = sss.segment(img, feat, progress=False, params=p, **kw)
    np.testing.assert_array_equal(same.group_ids, res.group_ids)
    init = np.asarray(res.initial_alphas)
    A = init.reshape(-1, init.shape[-1]).astype(np.float64)
    mass = A.sum(axis=0) / A.shape[0]
    small = np.flatnonzero(mass < 0.06)
    big = np.flatnonzero(mass >= 0.06)
    assert small.size >= 1 and big.size > 3
    F = feat.reshape(-1, 3)
    comp = (A.T @ F) / A.sum(axis=0)[:, None]
    ids = np.asarray(res.group_ids)
    centres = np.array([comp[big][ids[big] == g].mean(axis=0) for g in range(3)])
    for i in small:
        assert ids[i] == np.argmin(((comp[i] - centres) ** 2).sum(axis=1))
    with pytest.raises(ValueError, match="grouping.min_mass"):
        sss.segment(img, feat, progress=False, grouping=dict(min_mass=-1.0), **kw)


# ---------------------------------------------------------------- parameters, declared once
def test_params_keyword_constructors_repr_and_copies():
    e = sss.EigenParams(tol=1e-8, num_vectors=20)
    assert (e.tol, e.num_vectors, e.max_restarts) == (1e-8, 20, 1000)
    assert repr(e).startswith("EigenParams(num_vectors=20, method='block', ncv=0, tol=1e-08")
    with pytest.raises(TypeError, match="unexpected keyword argument 'tolerance'"):
        sss.EigenParams(tolerance=1e-8)
    with pytest.raises(TypeError):
        sss.EigenParams(num_vectors=2.5)
    with pytest.raises(ValueError, match="preconditioner must be one of"):
        sss.RelaxedParams(preconditioner="ilu")
    p = sss.Params.multilevel()
    import copy
    q = copy.deepcopy(p)
    q.eigen.tol = 1e-3
    assert p.eigen.tol == 1e-6 and q != p and copy.deepcopy(p) == p


def test_method_defaults_are_declared_in_the_core():
    ref, ml = sss.Params.reference(), sss.Params.multilevel()
    assert (ref.method, ref.eigen.num_vectors, ref.eigen.tol, ref.constrained.max_iter,
            ref.constrained.sample_stride) == ("reference", 100, 1e-10, 40, 0)
    assert (ml.method, ml.eigen.num_vectors, ml.eigen.tol, ml.constrained.max_iter,
            ml.constrained.sample_stride, ml.levels.working_pixels, ml.levels.feature_pixels,
            ml.levels.upsample.radius, ml.levels.upsample.eps) == \
        ("multilevel", 50, 1e-6, 20, 2, 19200, 640 * 480, 1, 1e-4)
    assert sss.default_params("reference") == ref and sss.Params() == ml


def test_segment_takes_stage_objects_and_dicts(monkeypatch):
    """A stage object replaces the stage's parameters; a dict changes only its fields."""
    seen = []
    monkeypatch.setattr(_core, "segment", lambda *a, **kw: seen.append(a[3]) or 1 / 0)
    img, feat, _ = cases.inputs("reference")
    with pytest.raises(ZeroDivisionError):
        sss.segment(img, feat, progress=False, eigen=dict(tol=1e-7),
                    relaxed=sss.RelaxedParams(max_iter=3), num_layers=4, seed=9)
    p = seen[-1]
    assert (p.method, p.eigen.tol, p.eigen.num_vectors, p.relaxed.max_iter, p.num_layers,
            p.seed, p.num_threads) == ("multilevel", 1e-7, 50, 3, 4, 9, 1)
    with pytest.raises(ZeroDivisionError):
        sss.segment(img, feat, progress=False, method="reference", num_threads=1,
                    affinity=dict(semantic=dict(center=0.8)))
    p = seen[-1]
    assert (p.affinity.semantic.center, p.affinity.semantic.steepness, p.eigen.num_vectors,
            p.num_threads) == (0.8, 20.0, 100, 1)


@pytest.mark.parametrize("case, match", [
    ("num_layers", r"num_layers must be in \[1, initial.num_layers = 40\].*got 41"),
    ("cutoff_nan", r"levels.alpha_cutoff must be in \[0, 0.25\], got nan"),
    ("image_nan", "image contains NaN or infinite values"),
    ("image_255", r"image values must lie in \[0, 1\].*divided by 255"),
    ("features_inf", "features contains NaN or infinite values"),
])
def test_core_segment_checks_what_python_checks(case, match):
    # a C++ host calling sss::segment gets the same refusals as Python's segment
    # (before: 8 layers for num_layers=41, an eigensolver failure for NaN, a NaN
    # cut-off silently skipped, 0-255 photos segmented)
    import sss

    img = np.random.default_rng(0).random((30, 30, 3))
    feat = img.copy()
    p = sss.Params.multilevel()
    if case == "num_layers":
        p.num_layers = 41
    elif case == "cutoff_nan":
        p.levels.alpha_cutoff = float("nan")
    elif case == "image_nan":
        img[3, 3, 1] = np.nan
    elif case == "image_255":
        img = img * 255
    else:
        feat[1, 1, 1] = np.inf
    with pytest.raises(ValueError, match=match):
        _core.segment(img, img, feat, p, None, None, None, None)
