"""Stage 10b, layer matting (sss.layer_matting): the trimap against a numpy
version, matte_layers rebuilt from its public pieces, its properties on a
synthetic photo, its input checks, how sss.segment runs it, and its quality
against ground truth on two matting_dev photos."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi

import sss
from sss.alpha_sampling import sampled_alpha
from sss.layer_matting import LayerMattingParams, layer_trimap, matte_layers
from sss.multilevel import clean_alphas
from sss.subject_matting import closed_form_matte
from conftest import shared_path
from test_subject_matting import _disc_scene


def _blurred_scene(h=60, w=70):
    """The hairy red disc on blue (test_subject_matting's scene) and three
    layers as the working level would give them: the true partition (disc,
    background left, background right) blurred by a 3-pixel Gaussian, so
    the disc's strands are smeared over a wide band."""
    img, alpha, _ = _disc_scene(h, w)
    g = np.clip(np.mgrid[0:h, 0:w][1] / (w - 1), 0, 1)
    true = np.stack([(1 - alpha) * (1 - g), alpha, (1 - alpha) * g], axis=2)
    blurred = np.stack([ndi.gaussian_filter(true[:, :, k], 3.0) for k in range(3)], axis=2)
    return img, alpha, true, blurred / blurred.sum(2, keepdims=True)


# ---------------------------------------------------------------- 1 layer_trimap
@pytest.mark.parametrize("erosion", [0, 1, 3])
@pytest.mark.parametrize("certain", [0.95, 0.8, 1.0])
def test_layer_trimap_equals_a_numpy_version(erosion, certain):
    rng = np.random.default_rng(erosion)
    a = np.clip(ndi.gaussian_filter(rng.standard_normal((30, 40)), 2) * 4 + 0.5, 0, 1)
    inside, outside = a > certain, a < 1 - certain
    if erosion:  # the border counts as inside the region
        inside = ndi.binary_erosion(inside, iterations=erosion, border_value=1)
        outside = ndi.binary_erosion(outside, iterations=erosion, border_value=1)
    want = np.where(inside, 1.0, np.where(outside, 0.0, 0.5))
    got = layer_trimap(a, certain=certain, erosion=erosion)
    assert got.dtype == np.float64 and got.shape == a.shape
    np.testing.assert_array_equal(got, want)
    if certain < 1:
        assert (got == 1).any() and (got == 0).any() and (got == 0.5).any()


def test_layer_trimap_rejects_bad_input():
    with pytest.raises(ValueError, match="certain"):
        layer_trimap(np.zeros((4, 4)), certain=0.3)
    with pytest.raises(ValueError, match="erosion"):
        layer_trimap(np.zeros((4, 4)), erosion=-1)
    with pytest.raises(ValueError, match="layer must be an"):
        layer_trimap(np.zeros((4, 4, 2)))
    with pytest.raises(ValueError, match="NaN|finite"):
        layer_trimap(np.full((4, 4), np.nan))


# ---------------------------------------------------------------- 2 matte_layers
def _rebuilt(layers, img, p):
    """matte_layers from the public pieces: each layer's trimap, its sampled
    alpha, closed_form_matte with the blended pull, then the sum-to-one step."""
    out = layers.copy()
    for k in range(layers.shape[2]):
        a = np.clip(layers[:, :, k], 0, 1)
        tri = layer_trimap(a, certain=p.certain, erosion=p.erosion)
        if not ((tri == 1).any() and (tri == 0).any() and (tri == 0.5).any()):
            continue
        s, conf = sampled_alpha(img, tri, neighbours=p.sampling_neighbours,
                                sigma=p.sampling_sigma, band=p.sampling_band)
        ws = p.sampling_weight * conf
        pull = (p.prior * a + ws * s) / (p.prior + ws)
        out[:, :, k] = closed_form_matte(img, tri, pull, prior_weight=ws, eps=p.eps,
                                         prior=p.prior)
    total = out.sum(2, keepdims=True)
    return np.where(total > 1e-6, out / np.maximum(total, 1e-6), np.clip(layers, 0, 1))


@pytest.mark.parametrize("overrides", [{}, {"certain": 0.9, "erosion": 2,
                                            "sampling_weight": 3e-3, "eps": 1e-5}])
def test_matte_layers_equals_its_pieces(overrides):
    img, _, _, layers = _blurred_scene()
    p = LayerMattingParams()
    for key, v in overrides.items():
        setattr(p, key, v)
    got = matte_layers(layers, img, **overrides)
    assert got.shape == layers.shape and got.dtype == np.float64
    # tolerance: 1e-12, the same arithmetic in another order
    np.testing.assert_allclose(got, _rebuilt(layers, img, p), rtol=0, atol=1e-12)


def test_matte_layers_moves_blurred_layers_to_the_true_partition():
    """The disc's layer after the stage is far closer to the true alpha than
    the blurred one (mean absolute error at least 5 times lower; measured
    0.064 -> 0.0024, 0.0014 without the sampling's pull, which matters on
    real photos: the quality test below), and the result is a partition (in
    [0, 1], sums to one)."""
    img, alpha, true, layers = _blurred_scene()
    got = matte_layers(layers, img)
    assert got.min() >= 0 and got.max() <= 1
    np.testing.assert_allclose(got.sum(2), 1.0, atol=1e-12)
    before = np.abs(layers[:, :, 1] - alpha).mean()
    after = np.abs(got[:, :, 1] - alpha).mean()
    unsampled = np.abs(matte_layers(layers, img, sampling_weight=0)[:, :, 1] - alpha).mean()
    assert after < 0.2 * before and unsampled < 0.2 * before, (before, after, unsampled)


def test_matte_layers_keeps_a_layer_without_a_certain_inside():
    """A layer that is nowhere above `certain` (a faint, spread-out layer)
    has nothing to propagate: it is kept, up to the final sum-to-one scaling
    (here: exactly, since every layer is kept)."""
    img, _, _, _ = _blurred_scene(30, 36)
    layers = np.full(img.shape[:2] + (3,), 1 / 3)
    np.testing.assert_array_equal(matte_layers(layers, img), layers)
    one = np.zeros(img.shape[:2] + (2,))
    one[:, :, 0] = 1      # every pixel certain: no unknown band
    np.testing.assert_array_equal(matte_layers(one, img), one)


def test_matte_layers_does_not_modify_its_inputs_and_disabled_is_identity():
    img, _, _, layers = _blurred_scene(30, 36)
    i0, l0 = img.copy(), layers.copy()
    matte_layers(layers, img)
    np.testing.assert_array_equal(img, i0)
    np.testing.assert_array_equal(layers, l0)
    np.testing.assert_array_equal(matte_layers(layers, img, enabled=False), layers)


def test_matte_layers_is_bitwise_identical_for_1_and_2_threads():
    img, _, _, layers = _blurred_scene()
    assert np.array_equal(matte_layers(layers, img, num_threads=1),
                          matte_layers(layers, img, num_threads=2))


@pytest.mark.parametrize("case", ["size", "nan", "certain", "erosion", "weight", "prior",
                                  "neighbours", "params_type", "field"])
def test_matte_layers_rejects_bad_input(case):
    img, _, _, layers = _blurred_scene(20, 24)
    kw, match, exc = {}, None, ValueError
    if case == "size":
        layers, match = layers[:-1], "do not match"
    elif case == "nan":
        layers = layers.copy()
        layers[3, 4, 0] = np.nan
        match = "NaN|finite"
    elif case == "certain":
        kw, match = {"certain": 0.2}, "certain must be in"
    elif case == "erosion":
        kw, match = {"erosion": -1}, "erosion must be >= 0"
    elif case == "weight":
        kw, match = {"sampling_weight": np.inf}, "sampling_weight"
    elif case == "prior":
        kw, match = {"prior": 0.0}, "eps and prior must be positive"
    elif case == "neighbours":
        kw, match = {"sampling_neighbours": 0}, "neighbours"
    elif case == "params_type":
        kw, match, exc = {"params": {"certain": 0.9}}, "LayerMattingParams", TypeError
    elif case == "field":
        kw, match, exc = {"certainty": 0.9}, "no field 'certainty'", TypeError
    with pytest.raises(exc, match=match):
        matte_layers(layers, img, **kw)


def test_params_are_copied_not_modified():
    p = LayerMattingParams()
    p.certain = 0.9
    img, _, _, layers = _blurred_scene(20, 24)
    a = matte_layers(layers, img, params=p, erosion=2)
    assert p.certain == 0.9 and p.erosion == 1
    np.testing.assert_array_equal(a, matte_layers(layers, img, certain=0.9, erosion=2))


# ---------------------------------------------------------------- 3 in sss.segment
def _cat(side=200):
    """scikit-image's cat, 200 x 133: above the working level's 19,200 pixels
    (the stage runs only where the layers are upsampled) and below the
    matting level's 640 x 480 (the photo is its own matting level)."""
    from PIL import Image

    skimage_data = pytest.importorskip("skimage.data")
    im = Image.fromarray(skimage_data.chelsea())
    im.thumbnail((side, side), Image.BILINEAR)
    return np.asarray(im)


@pytest.fixture(scope="module")
def cat_runs():
    img = _cat()
    off = dict(enabled=False)
    return {"img": img,
            "on1": sss.segment(img, progress=False, subject=off, num_threads=1),
            "on2": sss.segment(img, progress=False, subject=off, num_threads=2),
            "off": sss.segment(img, progress=False, subject=off, layer_matting=off)}


def test_segment_runs_layer_matting_by_default(cat_runs):
    assert "layer matting" in cat_runs["on1"].timings
    assert "layer matting" not in cat_runs["off"].timings
    assert sss.Params.multilevel().layer_matting.enabled is True
    assert sss.Params.reference().layer_matting.enabled is False
    # a photo no larger than the working level is computed at every pixel: no stage
    small = sss.segment(_cat(128), progress=False, cues=())
    assert "layer matting" not in small.timings


def test_segment_stage_is_matte_layers_on_the_upsampled_layers(cat_runs):
    """A photo of at most 640 x 480 pixels is its own matting level: the
    stage is matte_layers of the upsampled (and cleaned) layers, cleaned
    again (float32 layers: 1e-6)."""
    img, on, off = cat_runs["img"], cat_runs["on1"], cat_runs["off"]
    cutoff = sss.Params.multilevel().levels.alpha_cutoff
    want = clean_alphas(matte_layers(off.alphas, img), cutoff)
    assert np.abs(on.alphas - off.alphas).max() > 0.05     # the stage changed something
    np.testing.assert_allclose(on.alphas, want, rtol=0, atol=1e-6)
    for key in ("initial_alphas", "grouped_alphas", "eigenvalues", "features"):
        assert np.array_equal(getattr(on, key), getattr(off, key)), key


def test_a_calls_thread_count_limits_stages_10b_and_11():
    """segment(num_threads=n) runs stages 10b and 11 on n threads too (they
    default to all cores); a stage's own num_threads is kept."""
    from sss.pipeline import _segment_params

    p = _segment_params("multilevel", None, 5, 0, 1, {})
    assert (p.num_threads, p.layer_matting.num_threads, p.subject.num_threads) == (1, 1, 1)
    p = _segment_params("multilevel", None, 5, 0, 2, {"layer_matting": {"num_threads": 3}})
    assert (p.num_threads, p.layer_matting.num_threads, p.subject.num_threads) == (2, 3, 2)
    p = _segment_params("multilevel", None, 5, 0, None, {})
    assert (p.num_threads, p.layer_matting.num_threads, p.subject.num_threads) == (1, 0, 0)


def test_segment_with_the_stage_is_bitwise_identical_for_1_and_2_threads(cat_runs):
    assert np.array_equal(cat_runs["on1"].alphas, cat_runs["on2"].alphas)


def test_cli_no_layer_matting_flag(cat_runs, tmp_path):
    """`sss segment --no-layer-matting` gives the layers of
    segment(layer_matting=dict(enabled=False)); without it, the default's
    (both here with --no-subject-matting, as the fixture's runs)."""
    import subprocess
    import sys
    from PIL import Image

    photo = tmp_path / "cat.png"
    Image.fromarray(cat_runs["img"]).save(photo)
    for flags, key in ((("--no-layer-matting",), "off"), ((), "on1")):
        r = subprocess.run([sys.executable, "-m", "sss", "segment", str(photo), "-o",
                            str(tmp_path / "out"), "-q", "--format", "npz",
                            "--no-subject-matting", *flags], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        np.testing.assert_allclose(sss.load(tmp_path / "out").alphas, cat_runs[key].alphas,
                                   atol=1e-6)


def test_stage_11_after_stage_10b_at_another_matting_level():
    """When the two stages' matting levels differ, stage 11 starts from the
    final layers of stage 10b, resized to its own level: the default run's
    layers are exactly sss.matte_subject of the run without stage 11."""
    img = _cat(256)       # 256 x 170, above both matting levels below
    lm = dict(max_pixels=20_000)
    on = sss.segment(img, progress=False, layer_matting=lm, subject=dict(max_pixels=30_000))
    off = sss.segment(img, progress=False, layer_matting=lm, subject=dict(enabled=False))
    assert "layer matting" in on.timings and on.matted_subject
    got, info = sss.matte_subject(off.alphas, img, sss.saliency_map(img), return_info=True,
                                  max_pixels=30_000)
    assert info["applied"] and info["matting_shape"] != (170, 256)
    assert np.array_equal(got, on.alphas), np.abs(got - on.alphas).max()


def test_stage_11_starts_from_stage_10b_at_the_same_matting_level():
    """Both stages at one matting level below the photo's size: stage 11
    takes stage 10b's layers there; it applies, the result is a partition,
    and it differs from the run without stage 11 only where it should (its
    matte changes the layers, the earlier stages are the same)."""
    img = _cat(256)
    level = dict(max_pixels=20_000)
    on = sss.segment(img, progress=False, layer_matting=level, subject=level)
    off = sss.segment(img, progress=False, layer_matting=level, subject=dict(enabled=False))
    assert on.matted_subject and "subject matting" in on.timings
    a = on.alphas
    assert a.min() >= 0 and a.max() <= 1
    np.testing.assert_allclose(a.sum(2), 1.0, atol=1e-5)
    assert np.abs(a - off.alphas).max() > 0.05
    assert np.array_equal(on.grouped_alphas, off.grouped_alphas)


def test_segment_on_a_photo_larger_than_the_matting_level():
    """A photo above max_pixels: the stage runs at the matting level and its
    layers come back to the photo's size as a partition."""
    img = _cat(256)       # 256 x 170
    res = sss.segment(img, progress=False, cues=(), layer_matting=dict(max_pixels=10_000))
    off = sss.segment(img, progress=False, cues=(), layer_matting=dict(enabled=False))
    assert "layer matting" in res.timings
    a = res.alphas
    assert a.shape == off.alphas.shape and a.min() >= 0 and a.max() <= 1
    np.testing.assert_allclose(a.sum(2), 1.0, atol=1e-5)
    assert np.abs(a - off.alphas).max() > 0.05


def test_the_stage_reports_progress_and_can_be_cancelled():
    """matte_layers reports its fraction after each layer (the bindings poll
    it while the stage runs), ending at 1; a progress callback returning
    False when the stage starts cancels the run."""
    from sss import _core

    img, _, _, layers = _blurred_scene(30, 36)
    _core.report_progress(0.0)
    matte_layers(layers[:, :, :2] / layers[:, :, :2].sum(2, keepdims=True), img)
    assert _core.progress_fraction() == 1.0
    stages = []

    def stop(stage, fraction):
        stages.append(stage)
        return stage != "layer matting"

    with pytest.raises(sss.Cancelled, match="layer matting"):
        sss.segment(_cat(), cues=(), progress=stop)
    assert stages[-1] == "layer matting"


def test_segment_rejects_bad_layer_matting_params_before_work():
    with pytest.raises(ValueError, match="certain"):
        sss.segment(_cat(), cues=(), progress=False, layer_matting=dict(certain=2.0))


# ---------------------------------------------------------------- 4 quality
def test_layer_matting_improves_layers_on_matting_dev(monkeypatch):
    """GT23 and GT26 at half size, seed 0 (GT26: a plant whose leaves and
    twigs are smaller than a working-level pixel; no clear map, so stage 11
    does not run): the best union of layers is closer to the true alpha
    with the stage than without, and with its colour-sampling pull than
    without it. Measured SAD / 1000 (without the stage / without sampling /
    default): GT23 1.433 / 1.297 / 1.066, GT26 7.437 / 8.942 / 5.296.
    Required: each at least 15 % lower than without the stage, and the sum
    lower than without sampling. Skipped without ../shared."""
    shared_path("data", "matting_dev")
    monkeypatch.syspath_prepend(str(shared_path("tools")))
    import matting_dev_eval as E

    sads = {}
    for name in ("GT23", "GT26"):
        img = E.load(name, 0.5, "input", "RGB")
        gt = E.load(name, 0.5, "gt", "L")
        on = sss.segment(img, seed=0, progress=False)
        off = sss.segment(img, seed=0, progress=False, layer_matting=dict(enabled=False))
        unsampled = sss.segment(img, seed=0, progress=False,
                                layer_matting=dict(sampling_weight=0.0))
        sads[name] = tuple(E.best_union(np.asarray(r.alphas, np.float64), gt)[0] / 1000
                           for r in (off, unsampled, on))
    for name, (off, _, on) in sads.items():
        assert on < 0.85 * off, sads
    assert sum(v[2] for v in sads.values()) < sum(v[1] for v in sads.values()), sads
