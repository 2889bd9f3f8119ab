"""The whole pipeline: sss.segment end to end and its interface."""

from __future__ import annotations

import io

import numpy as np
import pytest
import scipy.sparse as sp

import sss
from sss._progress import Progress

from layer_match import match_layers
from conftest import load_reference
from _pipeline_cases import small

SMALL = small()


def _small_inputs(rng, h=28, w=26):
    img = np.zeros((h, w, 3))
    img[:, : w // 2] = [0.8, 0.2, 0.1]
    img[:, w // 2:] = [0.1, 0.3, 0.8]
    img[h // 2:, :, 1] += 0.5
    img += 0.03 * rng.random((h, w, 3))
    feat = img[:, :, ::-1].copy()
    return img, feat


# ---------------------------------------------------------------- docia end to end
@pytest.fixture(scope="module")
def docia_result():
    inp = load_reference("inputs.npz")
    st = load_reference("stages.npz")
    res = sss.segment(inp["image"], inp["features"], superpixels=inp["superpixel_labels"] - 1,
                      progress=False, method="reference")
    return res, st


def test_docia_end_to_end_matches_reference(docia_result):
    """5 layers summing to ~1 and, after optimal one-to-one matching, >= 85%
    of pixels with the same strongest layer as the reference's softSegments
    (one valid sample of a chaotic stage; see the oracle README)."""
    res, st = docia_result
    assert res.alphas.shape == (320, 320, 5) and res.alphas.dtype == np.float32
    assert abs(res.alphas.sum(axis=2).mean() - 1) <= 1e-3
    m = match_layers(res.alphas, st["softSegments"])
    print(f"strongest-layer agreement {m['strongest_agreement']:.4f}, "
          f"mean abs diff {m['mean_abs_diff']:.4f}")
    assert m["strongest_agreement"] >= 0.85
    assert m["mean_abs_diff"] < 0.1


def test_docia_intermediate_results(docia_result):
    res, _ = docia_result
    ref = load_reference("eigs.npz")["eigenvalues"]
    # our L is built from the same inputs, so its spectrum matches the oracle's
    assert np.abs(res.eigenvalues - ref).max() < 1e-6
    assert 12 <= res.initial_alphas.shape[2] <= 30
    assert np.abs(res.initial_alphas.sum(axis=2) - 1).max() < 1e-4
    np.testing.assert_allclose(res.grouped_alphas.sum(axis=2), 1, atol=1e-4)
    assert res.superpixels.shape == (320, 320)
    assert set(res.timings) >= {"affinities", "eigenvectors", "constrained sparsification",
                                "grouping", "relaxed sparsification"}


# ---------------------------------------------------------------- interface
def test_small_image_deterministic_for_a_seed(rng):
    img, feat = _small_inputs(rng)
    a = sss.segment(img, feat, seed=3, progress=False, **SMALL)
    b = sss.segment(img, feat, seed=3, progress=False, **SMALL)
    assert np.array_equal(a.alphas, b.alphas)
    assert a.alphas.shape == (28, 26, 3)
    assert abs(a.alphas.sum(axis=2).mean() - 1) < 1e-3


def test_progress_reports_on_stderr_and_is_silent_otherwise(rng, capsys):
    img, feat = _small_inputs(rng)
    sss.segment(img, feat, progress=True, **SMALL)
    err = capsys.readouterr().err
    for name in ("features", "affinities", "eigenvectors", "constrained sparsification",
                 "grouping", "relaxed sparsification"):
        assert f"[sss] {name}... " in err
    assert err.rstrip().splitlines()[-1].startswith("[sss] total")
    sss.segment(img, feat, progress=False, **SMALL)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


def test_progress_helper_format():
    out = io.StringIO()
    p = Progress(True, stream=out)
    with p.stage("thing"):
        pass
    assert out.getvalue().startswith("[sss] thing... ") and out.getvalue().endswith(" s\n")
    assert set(p.timings) == {"thing"}


def test_stages_are_swappable(rng):
    """A custom eigensolver and a ready Laplacian replace the built-in ones."""
    img, feat = _small_inputs(rng)
    L = sss.affinity_laplacian(img, feat, n_segments=40)
    calls = []

    def dense_eigs(L, k):
        calls.append(k)
        vals, vecs = np.linalg.eigh(L.toarray())
        return vals[:k], vecs[:, :k]

    res = sss.segment(img, feat, laplacian=L, eigensolver=dense_eigs, progress=False,
                      method="reference", **SMALL)
    assert calls == [16]
    assert res.superpixels is None
    assert abs(res.alphas.sum(axis=2).mean() - 1) < 1e-3
    seen = []
    res = sss.segment(img, feat, laplacian=lambda i, f, lab: L, method="reference",
                      progress=lambda stage, frac: seen.append((stage, frac)), **SMALL)
    starts = [stage for stage, frac in seen if frac == 0.0]
    assert starts == ["features", "affinities", "eigenvectors", "constrained sparsification",
                      "grouping", "relaxed sparsification"]


def test_raw_features_go_through_preprocessing(rng, monkeypatch):
    img, feat = _small_inputs(rng)
    seen = []

    def fake_preprocess(f, image):
        seen.append(f.shape)
        return feat

    monkeypatch.setattr(sss.pipeline, "preprocess_features", fake_preprocess)
    sss.segment(img, rng.random((28, 26, 8)), progress=False, **SMALL)
    assert seen == [(28, 26, 8)]


def test_bad_input(rng):
    img, feat = _small_inputs(rng)
    with pytest.raises(ValueError, match="do not match"):
        sss.segment(img, feat[:-1], progress=False)
    with pytest.raises(ValueError, match="3 channels"):
        sss.segment(img, feat[:, :, :2], progress=False)
    with pytest.raises(ValueError, match="num_layers"):
        sss.segment(img, feat, num_layers=0, progress=False)
    with pytest.raises(ValueError, match="channels"):  # (2 channels are grey + alpha)
        sss.segment(np.concatenate([img, img[..., :2]], axis=2), feat, progress=False)
    with pytest.raises(ValueError, match="preconditioner"):
        sss.segment(img, feat, relaxed=dict(preconditioner="ilu"), progress=False)
    with pytest.raises(TypeError, match="no field 'tolerance'"):
        sss.segment(img, feat, eigen=dict(tolerance=1e-3), progress=False)
    with pytest.raises(TypeError, match="sss.EigenParams or a dict"):
        sss.segment(img, feat, eigen=sss.RelaxedParams(), progress=False)
    with pytest.raises(ValueError, match="eigen.tol"):
        sss.segment(img, feat, eigen=dict(tol=0.0), progress=False)
    with pytest.raises(ValueError, match="laplacian"):
        sss.segment(img, feat, laplacian=sp.eye(10, format="csr"), progress=False)
    bad = img.copy()
    bad[1, 1, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        sss.segment(bad, feat, progress=False)


def test_every_stage_parameter_is_reachable(rng):
    """Non-default k-means, pruning and normalised-Laplacian settings reach
    their stages (the result changes, it still sums to 1)."""
    img, feat = _small_inputs(rng)
    a = sss.segment(img, feat, progress=False, **SMALL)
    b = sss.segment(img, feat, progress=False, **small(
        initial=dict(kmeans=dict(start_clusters=2, replicates=1, rerun_below=3)),
        constrained=dict(prune_every=2), affinity=dict(normalized=True)))
    assert not np.array_equal(a.alphas, b.alphas)
    assert abs(b.alphas.sum(axis=2).mean() - 1) < 1e-3


def test_input_not_modified(rng):
    img, feat = _small_inputs(rng)
    i0, f0 = img.copy(), feat.copy()
    sss.segment(img, feat, progress=False, **SMALL)
    assert np.array_equal(img, i0) and np.array_equal(feat, f0)


# ---------------------------------------------------------------- progress within stages
def test_progress_polls_the_fraction_of_a_running_stage():
    """While a stage runs, the fraction the core reports reaches the callback
    (only changes), between the 0.0 and 1.0 of the stage's start and end."""
    import time
    from sss import _core
    seen = []
    prog = Progress(lambda s, f: seen.append((s, f)), interval=0.01)
    with prog.stage("long", fractions=True):
        for f in (0.25, 0.5, 0.75):
            _core.report_progress(f)
            time.sleep(0.1)
    fr = [f for s, f in seen if s == "long"]
    assert fr[0] == 0.0 and fr[-1] == 1.0
    assert {0.25, 0.5, 0.75} <= set(fr)
    assert all(a != b for a, b in zip(fr[1:-2], fr[2:-1]))


def test_progress_on_stderr_shows_percentages():
    import time
    from sss import _core
    out = io.StringIO()
    prog = Progress(True, stream=out, interval=0.01)
    with prog.stage("long", fractions=True):
        _core.report_progress(0.55)
        time.sleep(0.1)
    assert out.getvalue().startswith("[sss] long... 50% ") and out.getvalue().endswith(" s\n")


def test_core_stages_report_their_progress(rng):
    """The eigensolver ends at 1 (converged), constrained sparsification at
    (iterations - 1) / iterations, relaxed at iterations / (iterations + 1)."""
    from sss import _core
    img, feat = _small_inputs(rng)
    L = sss.affinity_laplacian(img, feat, n_segments=40)
    _core.report_progress(0.0)
    vals, vecs = sss.smallest_eigenvectors(L, 16)
    assert _core.progress_fraction() == 1.0
    init = sss.constrained_sparsify(vecs, vals, L, img.shape[:2], features=feat, num_layers=6,
                                    max_iter=8)
    assert _core.progress_fraction() == pytest.approx(7 / 8)
    grouped = sss.group_layers(init, feat, 3)
    sss.relaxed_sparsify(grouped, L, image=img, max_iter=4)
    assert _core.progress_fraction() == pytest.approx(4 / 5)


def test_progress_callback_returning_false_cancels(rng):
    img, feat = _small_inputs(rng)
    stages = []

    def stop_at_eigenvectors(stage, fraction):
        stages.append(stage)
        return stage != "eigenvectors"

    with pytest.raises(sss.Cancelled, match="eigenvectors"):
        sss.segment(img, feat, progress=stop_at_eigenvectors, **SMALL)
    assert stages[-1] == "eigenvectors" and "constrained sparsification" not in stages


def test_progress_callback_cancels_a_running_stage():
    """Returning False while the eigensolver runs stops it at its next check
    (well before it would finish) and the next computation runs normally."""
    import time
    yy, xx = np.mgrid[0:140, 0:140] / 140.0
    img = np.stack([xx, yy, 0.5 + 0.4 * np.sin(9 * xx * yy)], -1)
    asked = []

    def cb(stage, fraction):
        if stage == "eigenvectors" and 0 < fraction < 1:
            asked.append(time.perf_counter())
            return False

    with pytest.raises(sss.Cancelled, match="during eigenvectors"):
        sss.segment(img, img[..., ::-1].copy(), method="reference", progress=cb)
    assert asked and time.perf_counter() - asked[0] < 1.0
    res = sss.segment(img[:40, :40], img[:40, :40, ::-1].copy(), progress=False, **SMALL)
    assert res.alphas.shape == (40, 40, 3)
