"""Stage 11, subject matting (sss.subject_matting): the closed-form matte and
the trimap against independent numpy / scipy versions, matte_subject's
properties on a synthetic photo, its input checks, how sss.segment runs it,
and its quality against ground truth on two matting_dev photos."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from PIL import Image

import sss
from sss.subject_matting import (SubjectMattingParams, closed_form_matte, matte_subject,
                                 subject_trimap)
from conftest import shared_path


# ---------------------------------------------------------------- synthetic data
def _two_colour(h=40, w=50, seed=0):
    """A smooth two-colour image (orange left, blue right) with a soft, wavy
    vertical edge, plus a little noise; and its true alpha (of the left colour)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    edge = w / 2 + 3 * np.sin(yy / 5)
    alpha = 1 / (1 + np.exp((xx - edge) / 1.5))
    fg = np.array([0.9, 0.55, 0.2]) + 0.05 * (yy / h)[..., None]
    bg = np.array([0.15, 0.3, 0.75]) + 0.05 * (xx / w)[..., None]
    img = alpha[..., None] * fg + (1 - alpha[..., None]) * bg
    img = np.clip(img + rng.normal(0, 0.01, img.shape), 0, 1)
    return img, alpha


def _band_trimap(h, w, half=8):
    """1 left of the middle band, 0 right of it, 0.5 in a vertical band of
    2 * half columns (a few unknown pixels hold 0.25: anything but 0 / 1 is unknown)."""
    t = np.full((h, w), 0.5)
    t[:, : w // 2 - half] = 1.0
    t[:, w // 2 + half:] = 0.0
    t[::7, w // 2] = 0.25
    # an unknown blob touching the border inside the known background
    t[:4, -6:] = 0.5
    return t


def _disc_scene(h=60, w=70, seed=1):
    """A red, hairy-edged disc (the subject) on a blue background.

    Returns the photo, the true alpha of the disc, and three layers that are
    wrong near the edge: layer 1 is a too-small disc (radius 5 pixels less
    than the true one, 18 +- 2 at 60 x 70), layers 0 and 2 share the rest
    left / right."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    cy, cx = h / 2, w / 2
    d = np.hypot(yy - cy, xx - cx)
    theta = np.arctan2(yy - cy, xx - cx)
    r0 = 0.3 * min(h, w)
    radius = r0 + 2 * np.sin(12 * theta)              # "hair": strands around the rim
    alpha = np.clip((radius - d) / 2.0 + 0.5, 0, 1)
    fg = np.array([0.85, 0.25, 0.15])
    bg = np.array([0.2, 0.45, 0.85])
    img = alpha[..., None] * fg + (1 - alpha[..., None]) * bg
    img = np.clip(img + rng.normal(0, 0.01, img.shape), 0, 1)
    sub = np.clip(r0 - 5 - d + 0.5, 0, 1)
    g = np.clip(xx / (w - 1), 0, 1)
    layers = np.stack([(1 - sub) * (1 - g), sub, (1 - sub) * g], axis=2)
    return img, alpha, layers


def _smooth_field(rng, h, w, sigma=3.0):
    """A random smooth field in [0, 1] that reaches both ends."""
    f = ndi.gaussian_filter(rng.standard_normal((h, w)), sigma)
    f = (f - f.min()) / (f.max() - f.min())
    return np.clip(2.5 * (f - 0.5) + 0.5, 0, 1)      # saturate: regions of 0 and 1


# ---------------------------------------------------------------- 1 closed_form_matte
def _scipy_matte(img, trimap, prior_alpha, eps, prior):
    """Independent solution: (L_uu + prior I) x = -L_uk t_k + prior a0_u,
    L the matting Laplacian (3 x 3 windows), clipped to [0, 1]."""
    L = sp.csr_matrix(sss.laplacian_from_affinity(sss.matting_affinity(img, 1, eps)))
    t = trimap.ravel()
    unknown = (t != 0) & (t != 1)
    u, k = np.flatnonzero(unknown), np.flatnonzero(~unknown)
    Luu = L[u][:, u]
    Luk = L[u][:, k]
    rhs = -Luk @ t[k] + prior * prior_alpha.ravel()[u]
    x = spla.spsolve((Luu + prior * sp.identity(len(u))).tocsc(), rhs)
    out = t.copy()
    out[u] = np.clip(x, 0, 1)
    return out.reshape(trimap.shape)


@pytest.mark.parametrize("overrides", [{}, {"eps": 1e-4, "prior": 1e-2}])
def test_closed_form_matte_equals_a_scipy_solution(overrides):
    img, alpha = _two_colour()
    h, w = alpha.shape
    tri = _band_trimap(h, w)
    prior_alpha = np.clip(alpha + np.random.default_rng(2).normal(0, 0.2, alpha.shape), 0, 1)
    p = SubjectMattingParams()
    eps = overrides.get("eps", p.eps)
    prior = overrides.get("prior", p.prior)
    got = closed_form_matte(img, tri, prior_alpha, **overrides)
    want = _scipy_matte(img, tri, prior_alpha, eps, prior)
    assert got.shape == (h, w) and got.dtype == np.float64
    # tolerance: 1e-7 absolute (two direct solvers of the same SPD system)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-7)
    known = (tri == 0) | (tri == 1)
    np.testing.assert_array_equal(got[known], tri[known])   # known pixels exactly
    assert got.min() >= 0 and got.max() <= 1
    # the value of an unknown pixel in the trimap does not matter
    tri2 = np.where(known, tri, 0.5)
    np.testing.assert_array_equal(closed_form_matte(img, tri2, prior_alpha, **overrides), got)


def test_closed_form_matte_recovers_a_two_colour_edge():
    """Sanity beyond the equation: on a two-colour image the matte of the band
    is close to the true alpha (mean abs error < 0.05)."""
    img, alpha = _two_colour()
    tri = _band_trimap(*alpha.shape)
    got = closed_form_matte(img, tri, np.full(alpha.shape, 0.5))
    band = (tri != 0) & (tri != 1)
    assert np.abs(got - alpha)[band].mean() < 0.05


def test_closed_form_matte_with_no_unknown_pixel_returns_the_trimap():
    img, alpha = _two_colour(20, 24)
    tri = (alpha > 0.5).astype(np.float64)
    np.testing.assert_array_equal(closed_form_matte(img, tri, alpha), tri)


# ---------------------------------------------------------------- 2 subject_trimap
def _numpy_trimap(subject, m, map_certain, layers_certain, erosion):
    fg = (m > map_certain) & (subject > layers_certain)
    bg = (m < 1 - map_certain) & (subject < layers_certain)
    if erosion > 0:  # scipy's iterations=0 would mean "until nothing changes"
        fg = ndi.binary_erosion(fg, iterations=erosion, border_value=1)
        bg = ndi.binary_erosion(bg, iterations=erosion, border_value=1)
    t = np.full(m.shape, 0.5)
    t[fg] = 1.0
    t[bg] = 0.0
    return t


@pytest.mark.parametrize("erosion", [0, 1, 3])
@pytest.mark.parametrize("certain", [None, (0.8, 0.9)])
def test_subject_trimap_equals_a_numpy_version(erosion, certain):
    rng = np.random.default_rng(103)
    h, w = 36, 48
    m = _smooth_field(rng, h, w)
    subject = np.clip(m + 0.3 * (_smooth_field(rng, h, w) - 0.5), 0, 1)
    kw = {"erosion": erosion}
    if certain is not None:
        kw.update(map_certain=certain[0], layers_certain=certain[1])
    p = SubjectMattingParams()
    mc, lc = certain if certain is not None else (p.map_certain, p.layers_certain)
    got = subject_trimap(subject, m, **kw)
    want = _numpy_trimap(subject, m, mc, lc, erosion)
    assert got.shape == (h, w) and got.dtype == np.float64
    np.testing.assert_array_equal(got, want)
    # the test means something: all three classes occur, and erosion shrinks both regions
    assert {0.0, 0.5, 1.0} <= set(np.unique(got).tolist()), np.unique(got)
    if erosion > 0:
        unshrunk = _numpy_trimap(subject, m, mc, lc, 0)
        assert (got == 0).sum() < (unshrunk == 0).sum()
        assert (got == 1).sum() < (unshrunk == 1).sum()


def test_subject_trimap_border_counts_as_inside():
    """A region touching the border is not eroded from the border side."""
    m = np.ones((10, 12))
    t = subject_trimap(m, m, erosion=2)
    np.testing.assert_array_equal(t, np.ones((10, 12)))


# ---------------------------------------------------------------- 3 matte_subject
@pytest.fixture(scope="module")
def disc_scene():
    img, alpha, layers = _disc_scene()
    out, info = matte_subject(layers, img, alpha, return_info=True)
    return img, alpha, layers, out, info


def test_matte_subject_output_is_a_valid_partition(disc_scene):
    img, alpha, layers, out, info = disc_scene
    assert out.dtype == np.float32 and out.shape == layers.shape
    np.testing.assert_allclose(out.sum(axis=2), 1.0, atol=1e-5)
    assert out.min() >= 0 and out.max() <= 1


def test_matte_subject_info(disc_scene):
    img, alpha, layers, out, info = disc_scene
    assert info["applied"] is True
    assert info["subject"] == [1]
    assert info["confidence"] == pytest.approx(1.0)
    assert info["matting_shape"] == img.shape[:2]
    assert 0 < info["unknown_fraction"] < 0.5


def test_matte_subject_moves_the_subject_layer_to_the_true_alpha(disc_scene):
    img, alpha, layers, out, info = disc_scene
    before = np.abs(layers[..., 1] - alpha).mean()
    after = np.abs(out[..., 1] - alpha).mean()
    # measured mean abs error: 0.118 -> 0.0012; required: at least a 3x reduction
    assert after < before / 3, (before, after)
    # the background layers keep their left / right proportions
    bg = out[..., 0] + out[..., 2]
    far = bg > 0.5
    ratio_in = layers[..., 2][far] / (layers[..., 0] + layers[..., 2])[far]
    ratio_out = out[..., 2][far] / bg[far]
    np.testing.assert_allclose(ratio_out, ratio_in, atol=1e-5)


def test_matte_subject_does_not_modify_its_inputs():
    img, alpha, layers = _disc_scene()
    copies = [x.copy() for x in (img, alpha, layers)]
    f32 = layers.astype(np.float32)
    f32_before = f32.copy()
    matte_subject(layers, img, alpha)
    matte_subject(f32, img, alpha)
    for x, y in zip((img, alpha, layers), copies):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(f32, f32_before)


def test_matte_subject_is_bitwise_identical_for_1_and_2_threads():
    img, alpha, layers = _disc_scene()
    a1 = matte_subject(layers, img, alpha, num_threads=1)
    a2 = matte_subject(layers, img, alpha, num_threads=2)
    assert np.array_equal(a1, a2)
    # also at a matting level smaller than the photo (resize + guided upsampling)
    b1 = matte_subject(layers, img, alpha, num_threads=1, max_pixels=2000)
    b2 = matte_subject(layers, img, alpha, num_threads=2, max_pixels=2000)
    assert np.array_equal(b1, b2)


@pytest.mark.parametrize("case", ["vague map", "disabled", "no salient layer",
                                  "every layer salient"])
def test_matte_subject_does_nothing_when_it_should_not_apply(case):
    img, alpha, layers = _disc_scene()
    saliency, kw = alpha, {}
    if case == "vague map":
        saliency = np.full(alpha.shape, 0.5)          # confidence 0
    elif case == "disabled":
        kw = {"enabled": False}
    elif case == "no salient layer":
        saliency = np.zeros(alpha.shape)              # confident, but no subject
    else:
        saliency = np.ones(alpha.shape)
    out, info = matte_subject(layers, img, saliency, return_info=True, **kw)
    assert info["applied"] is False
    assert info["subject"] == []
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, layers.astype(np.float32))
    if case == "vague map":
        assert info["confidence"] == 0.0
    if case in ("no salient layer", "every layer salient"):
        assert info["confidence"] == 1.0


def test_matte_subject_on_a_photo_larger_than_max_pixels():
    img, alpha, layers = _disc_scene(100, 120)
    out, info = matte_subject(layers, img, alpha, return_info=True, max_pixels=2000)
    mh, mw = info["matting_shape"]
    assert mh * mw <= 2000 and mh < 100 and mw < 120
    assert info["applied"] is True and info["subject"] == [1]
    assert out.dtype == np.float32 and out.shape == layers.shape
    np.testing.assert_allclose(out.sum(axis=2), 1.0, atol=1e-5)
    assert out.min() >= 0 and out.max() <= 1
    # even from a 40 x 48 matting level the subject layer gets much closer to the
    # truth (measured mean abs error 0.073 -> 0.0022; required: a 3x reduction)
    before = np.abs(layers[..., 1] - alpha).mean()
    after = np.abs(out[..., 1] - alpha).mean()
    assert after < before / 3, (before, after)


def test_matte_subject_takes_a_map_of_another_size():
    """The map is resized bilinearly to the matting level: a half-size map
    still finds the subject."""
    img, alpha, layers = _disc_scene()
    small = np.asarray(Image.fromarray(alpha.astype(np.float32)).resize((35, 30),
                                                                         Image.BILINEAR))
    out, info = matte_subject(layers, img, np.clip(small, 0, 1), return_info=True)
    assert info["applied"] and info["subject"] == [1]
    np.testing.assert_allclose(out.sum(axis=2), 1.0, atol=1e-5)


# ---------------------------------------------------------------- 4 bad input
def _bad_cases():
    img, alpha, layers = _disc_scene(20, 24)
    nan = alpha.copy()
    nan[3, 4] = np.nan
    two = np.stack([alpha, alpha], axis=2)
    return img, alpha, layers, [
        ("saliency NaN", dict(saliency=nan), ValueError, r"finite values in \[0, 1\]"),
        ("saliency > 1", dict(saliency=alpha * 1.5), ValueError, r"finite values in \[0, 1\]"),
        ("saliency < 0", dict(saliency=alpha - 0.5), ValueError, r"finite values in \[0, 1\]"),
        ("saliency 2 channels", dict(saliency=two), ValueError, r"saliency must be an \(H, W\) map"),
        ("alphas of another size", dict(alphas=layers[:-1]), ValueError,
         r"alphas of 19 x 24 pixels do not match the image's 20 x 24"),
        ("prior 0", dict(prior=0.0), ValueError, "eps and prior must be positive"),
        ("eps negative", dict(eps=-1e-5), ValueError, "eps and prior must be positive"),
        ("erosion -1", dict(erosion=-1), ValueError, "erosion and fallback_radius must be >= 0"),
        ("map_certain 0.3", dict(map_certain=0.3), ValueError, "map_certain and layers_certain"),
        ("unknown override", dict(erosoin=2), TypeError,
         r"subject: SubjectMattingParams has no field 'erosoin'"),
        ("params of the wrong type", dict(params={"erosion": 2}), TypeError,
         "params must be an sss.SubjectMattingParams, got dict"),
    ]


@pytest.mark.parametrize("case", [c[0] for c in _bad_cases()[3]])
def test_matte_subject_rejects_bad_input(case):
    img, alpha, layers, cases = _bad_cases()
    _, kw, err, match = next(c for c in cases if c[0] == case)
    args = dict(alphas=layers, image=img, saliency=alpha)
    for key in ("alphas", "saliency"):
        if key in kw:
            args[key] = kw.pop(key)
    with pytest.raises(err, match=match):
        matte_subject(args["alphas"], args["image"], args["saliency"], **kw)


def test_trimap_and_matte_reject_bad_input():
    img, alpha, _ = _disc_scene(20, 24)
    with pytest.raises(ValueError, match="differ in size"):
        subject_trimap(alpha, alpha[:-1])
    with pytest.raises(ValueError, match=r"subject must hold finite values in \[0, 1\]"):
        subject_trimap(alpha * 2, alpha)
    with pytest.raises(ValueError, match="erosion and fallback_radius must be >= 0"):
        subject_trimap(alpha, alpha, erosion=-1)
    with pytest.raises(ValueError, match="trimap must be a finite"):
        closed_form_matte(img, alpha[:-1], alpha)
    tri = np.full(alpha.shape, 0.5)
    tri[0, 0] = np.inf
    with pytest.raises(ValueError, match="trimap must be a finite"):
        closed_form_matte(img, tri, alpha)
    with pytest.raises(ValueError, match=r"prior_alpha must hold finite values in \[0, 1\]"):
        closed_form_matte(img, np.full(alpha.shape, 0.5), alpha + 1)
    with pytest.raises(ValueError, match="eps and prior must be positive"):
        closed_form_matte(img, np.full(alpha.shape, 0.5), alpha, prior=0.0)


def test_params_are_copied_not_modified():
    p = SubjectMattingParams()
    p.erosion = 2
    img, alpha, layers = _disc_scene(30, 36)
    a = matte_subject(layers, img, alpha, params=p, erosion=4)
    assert p.erosion == 2
    np.testing.assert_array_equal(a, matte_subject(layers, img, alpha, erosion=4))


# ---------------------------------------------------------------- 5 in sss.segment
def _cat():
    """scikit-image's cat, 128 x 85: a photo on which the stage applies
    (confidence 1, two of five layers are the subject's)."""
    skimage_data = pytest.importorskip("skimage.data")
    im = Image.fromarray(skimage_data.chelsea())
    im.thumbnail((128, 128), Image.BILINEAR)
    return np.asarray(im)


@pytest.fixture(scope="module")
def cat_runs():
    img = _cat()
    return {"img": img,
            "on1": sss.segment(img, progress=False, num_threads=1),
            "on2": sss.segment(img, progress=False, num_threads=2),
            "off": sss.segment(img, progress=False, subject=dict(enabled=False))}


def test_segment_runs_subject_matting_by_default(cat_runs):
    assert "subject matting" in cat_runs["on1"].timings
    assert "subject matting" not in cat_runs["off"].timings


def test_segment_stage_is_matte_subject_on_the_final_layers(cat_runs):
    """For photos of at most 640 x 480 pixels the feature network and the
    saliency map run at the photo's size, and the pipeline calls the same
    function on the final layers: the default run's layers are exactly
    matte_subject of the disabled run's (bitwise, no tolerance)."""
    img, on, off = cat_runs["img"], cat_runs["on1"], cat_runs["off"]
    s = sss.saliency_map(img)
    got, info = sss.matte_subject(off.alphas, img, s, return_info=True)
    assert info["applied"], info
    assert on.matted_subject == tuple(info["subject"]) and on.matted_subject
    assert off.matted_subject == ()
    assert np.abs(on.alphas - off.alphas).max() > 0.1     # the stage changed something
    assert np.array_equal(got, on.alphas), np.abs(got - on.alphas).max()
    # the stages before are untouched by the switch
    for key in ("initial_alphas", "grouped_alphas", "eigenvalues", "features"):
        assert np.array_equal(getattr(on, key), getattr(off, key)), key


def test_segment_without_cues_does_not_run_it():
    img = _cat()[::2, ::2]
    res = sss.segment(img, cues=(), progress=False)
    assert "subject matting" not in res.timings


def test_reference_method_never_runs_it():
    assert sss.Params.reference().subject.enabled is False
    assert sss.Params.multilevel().subject.enabled is True
    assert sss.default_params("reference").subject.enabled is False


def test_segment_with_the_stage_is_bitwise_identical_for_1_and_2_threads(cat_runs):
    """tests/test_reliability.py checks this with given features (no cue, so
    no stage 11); here the default run, which includes it."""
    assert "subject matting" in cat_runs["on2"].timings
    assert np.array_equal(cat_runs["on1"].alphas, cat_runs["on2"].alphas)


def test_cli_no_subject_matting_flag(cat_runs, tmp_path):
    """`sss segment --no-subject-matting` gives the layers of
    segment(subject=dict(enabled=False)); without it, the default's."""
    import subprocess
    import sys

    photo = tmp_path / "cat.png"
    Image.fromarray(cat_runs["img"]).save(photo)
    run = lambda *a: subprocess.run([sys.executable, "-m", "sss", "segment", str(photo), "-o",
                                     str(tmp_path / "out"), "-q", "--format", "npz", *a],
                                    capture_output=True, text=True)
    for flags, key in ((("--no-subject-matting",), "off"), ((), "on1")):
        r = run(*flags)
        assert r.returncode == 0, r.stderr
        np.testing.assert_allclose(sss.load(tmp_path / "out").alphas, cat_runs[key].alphas,
                                   atol=1e-6)
    assert np.abs(cat_runs["on1"].alphas - cat_runs["off"].alphas).max() > 0.1


# ---------------------------------------------------------------- 6 quality
def test_subject_matting_improves_layers_on_matting_dev(monkeypatch):
    """GT14 and GT17 at half size, seed 0: the best union of layers is closer
    to the true alpha with the stage than without, and closer with its colour
    sampling than without it. Measured SAD / 1000 (without the stage / without
    sampling / default; stage 10b on in all three): GT14 0.939 / 0.501 / 0.391,
    GT17 2.193 / 1.710 / 1.341; sums 3.13 / 2.21 / 1.73. Required, with room: against no stage, GT14 and
    GT17 at least 25 % lower and the sum at least 30 % lower; against no
    sampling, the sum at least 15 % lower. Skipped without ../shared."""
    shared_path("data", "matting_dev")
    monkeypatch.syspath_prepend(str(shared_path("tools")))
    import matting_dev_eval as E

    sads = {}
    for name in ("GT14", "GT17"):
        img = E.load(name, 0.5, "input", "RGB")
        gt = E.load(name, 0.5, "gt", "L")
        on = sss.segment(img, seed=0, progress=False)
        unsampled = sss.segment(img, seed=0, progress=False, subject=dict(sampling_weight=0.0))
        off = sss.segment(img, seed=0, progress=False, subject=dict(enabled=False))
        assert "subject matting" in on.timings
        sads[name] = tuple(E.best_union(np.asarray(r.alphas, np.float64), gt)[0] / 1000
                           for r in (on, unsampled, off))
    assert sads["GT14"][0] < 0.75 * sads["GT14"][2], sads
    assert sads["GT17"][0] < 0.75 * sads["GT17"][2], sads
    total = [sum(v[i] for v in sads.values()) for i in range(3)]
    assert total[0] < 0.70 * total[2], sads
    assert total[0] < 0.85 * total[1], sads


# ---------------------------------------------------------------- the map's refinement and the guard
def test_map_refinement_moves_a_blobby_map_onto_the_photo_edges():
    """A map too big by 4 pixels all round (as a 320 x 320 network's blobby
    output often is) and layers that agree with it: without the refinement
    the ring of background is known subject and stays in the subject's layer
    (measured mean abs error 0.041); refined on the photo's colours from a
    2000-pixel copy (map_guide_pixels, the default) the map follows the
    disc's edge and the matte is right (0.0006). Required: 0.02 without,
    under a fifth of that with."""
    h, w = 120, 140
    img, alpha, _ = _disc_scene(h, w)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    d = np.hypot(yy - h / 2, xx - w / 2)
    r0 = 0.3 * min(h, w)
    big = np.clip(r0 + 4 - d + 0.5, 0, 1)
    g = np.clip(xx / (w - 1), 0, 1)
    layers = np.stack([(1 - big) * (1 - g), big, (1 - big) * g], axis=2)
    blobby = np.clip((r0 + 4 - d) / 3 + 0.5, 0, 1)
    err = {}
    for pixels in (0, 2000):
        out, info = matte_subject(layers, img, blobby, map_guide_pixels=pixels,
                                  return_info=True)
        assert info["applied"], info
        err[pixels] = np.abs(out[..., 1] - alpha).mean()
    assert err[0] > 0.02 and err[2000] < err[0] / 5, err
    assert SubjectMattingParams().map_guide_pixels == 2000


def test_a_subject_the_trimap_does_not_know_is_left_alone():
    """A thin subject (a 2-pixel bar, as the rocket of the bench photos at the
    matting level): the trimap's erosion leaves no pixel of it known, the
    matte would fade the bar towards the background (measured: to 0.71 with
    eps 1e-6, to below 0.5 with eps 1e-5), so the stage does nothing
    (known_subject below min_known_subject = 0.1); with the guard off the bar fades."""
    h, w = 60, 80
    img = np.zeros((h, w, 3)) + [0.3, 0.5, 0.9]
    img[10:55, 39:41] = [0.9, 0.9, 0.85]
    bar = np.zeros((h, w))
    bar[10:55, 39:41] = 1
    layers = np.stack([1 - bar, bar], axis=2)
    out, info = matte_subject(layers, img, bar, return_info=True)
    assert not info["applied"] and info["known_subject"] < 0.1, info
    np.testing.assert_array_equal(out, layers.astype(np.float32))
    erased, info = matte_subject(layers, img, bar, min_known_subject=0,
                                 return_info=True)
    assert info["applied"]
    assert erased[..., 1][bar > 0].mean() < 0.8   # what the guard prevents
