"""The photo's subject as a union of layers (sss.subject): the choice, the
cut-out (SoftSegments.subject, NAME_subject.png) and its quality against
ground truth on a matting_dev photo."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import sss
import sss.cli
from sss import export
from sss.subject import layer_saliency, subject_layers

from conftest import shared_path
from test_cli import _fake_segment, _run


def _disc_photo(h=120, w=160):
    """A red disc (an obvious subject) on a grey-blue background."""
    yy, xx = np.mgrid[0:h, 0:w]
    disc = (yy - h // 2) ** 2 + (xx - w // 2) ** 2 < (h // 4) ** 2
    img = np.empty((h, w, 3))
    img[...] = [0.55, 0.55, 0.6]
    img[disc] = [0.85, 0.15, 0.1]
    return img, disc


def _disc_layers(disc, k=3):
    """k soft layers: the disc (layer 1), the left and the right background."""
    h, w = disc.shape
    a = np.zeros((h, w, k))
    a[..., 1] = disc
    left = np.arange(w)[None, :] < w // 2
    a[..., 0] = ~disc & left
    a[..., 2] = ~disc & ~left
    return a


def test_layer_saliency_is_the_mean_map_under_each_layer(rng):
    a = sss.normalize_alphas(rng.random((20, 30, 4)))
    m = rng.random((20, 30))
    want = [(a[..., k] * m).sum() / a[..., k].sum() for k in range(4)]
    np.testing.assert_allclose(layer_saliency(a, m), want, rtol=1e-12)
    a[..., 3] = 0  # an empty layer scores 0, not NaN
    assert layer_saliency(a, m)[3] == 0
    with pytest.raises(ValueError, match="does not match"):
        layer_saliency(a, m[:-1])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        layer_saliency(a, m * 2)


def test_subject_layers_from_a_map():
    img, disc = _disc_photo()
    a = _disc_layers(disc)
    m = disc.astype(float)
    assert subject_layers(a, saliency=m) == [1]
    # a layer counts when more than `threshold` of its alpha is salient
    half = np.zeros_like(m)
    half[:, : disc.shape[1] // 2] = 1.0
    assert subject_layers(a, saliency=np.maximum(m, half)) == [0, 1]
    assert subject_layers(a, saliency=m, threshold=0.999) == [1]
    # a vague map (no clear subject) chooses nothing rather than guessing
    assert subject_layers(a, saliency=np.full(m.shape, 0.5)) == []
    assert subject_layers(a, saliency=np.zeros(m.shape)) == []  # clear: nothing salient
    with pytest.raises(ValueError, match="either"):
        subject_layers(a)
    with pytest.raises(ValueError, match="either"):
        subject_layers(a, img, saliency=m)
    with pytest.raises(ValueError, match="threshold"):
        subject_layers(a, saliency=m, threshold=1.5)
    with pytest.raises(ValueError, match="does not match"):
        subject_layers(a, img[:-2])


def test_subject_layers_from_the_photo():
    img, disc = _disc_photo()
    a = _disc_layers(disc)
    assert subject_layers(a, img) == [1]
    # a large photo is scored on a shrunk copy, with the same answer
    big = np.repeat(np.repeat(img, 6, axis=0), 6, axis=1)
    big_a = np.repeat(np.repeat(a, 6, axis=0), 6, axis=1)
    assert big.shape[0] * big.shape[1] > sss.subject.SCORE_PIXELS
    assert subject_layers(big_a, big) == [1]


def test_soft_segments_subject_cuts_out_the_disc():
    img, disc = _disc_photo()
    res = sss.segment(img, num_layers=3, progress=False)
    layers = res.subject_layers()
    assert layers
    cut = res.subject()
    assert cut.shape == img.shape[:2] + (4,)
    np.testing.assert_allclose(cut[..., 3], sss.normalize_alphas(res.alphas)[..., layers].sum(2),
                               atol=1e-12)
    # the cut-out is the disc: opaque on it, transparent well away from it
    assert cut[..., 3][disc].mean() > 0.95
    yy, xx = np.mgrid[0:disc.shape[0], 0:disc.shape[1]]
    far = (yy - 60) ** 2 + (xx - 80) ** 2 > 45 ** 2
    assert cut[..., 3][far].mean() < 0.05
    np.testing.assert_allclose(cut[..., :3][disc].mean(0), [0.85, 0.15, 0.1], atol=0.05)
    # over a new background
    over = res.subject(background=[0.0, 1.0, 0.0])
    assert over.shape == img.shape
    # a texture has no subject
    noise = np.random.default_rng(0).random((60, 80, 3))
    assert sss.segment(noise, num_layers=3, progress=False).subject() is None


def test_save_layers_writes_the_subject(tmp_path, rng):
    img, disc = _disc_photo()
    a = _disc_layers(disc).astype(float) * 0.98 + 0.01
    colors = sss.estimate_layer_colors(img, a)
    files = export.save_layers(tmp_path, "p", img, a, colors, formats=("subject",))
    with Image.open(files["subject"][0]) as im:
        assert im.mode == "RGBA"
        cut = np.asarray(im)
    want = sss.colors.composite(a, colors, layers=[1])  # the disc's layer
    np.testing.assert_array_equal(cut, np.round(np.clip(want, 0, 1) * 255).astype(np.uint8))
    # chosen explicitly, and 16-bit
    files = export.save_layers(tmp_path, "q", img, a, colors, formats=("subject",),
                               subject=[0, -1], bit_depth=16)
    from test_bit_depth import _read_png16

    alpha = _read_png16(files["subject"][0].read_bytes())[0][..., 3]
    np.testing.assert_array_equal(
        alpha, np.round(sss.normalize_alphas(a)[..., [0, 2]].sum(2) * 65535).astype(np.uint16))
    for bad, err in (([5], ValueError), (["x"], TypeError), ("0", TypeError)):
        with pytest.raises(err):
            export.save_layers(tmp_path, "r", img, a, colors, formats=("subject",), subject=bad)
    # no clear subject: a warning, and no file (nor a stale one from before)
    flat = np.full_like(img, 0.5)
    (tmp_path / "p_subject.png").write_bytes(b"old")
    with pytest.warns(UserWarning, match="no clear salient subject"):
        files = export.save_layers(tmp_path, "p", flat, a, colors, formats=("subject", "png"))
    assert "subject" not in files and not (tmp_path / "p_subject.png").exists()


def test_cli_format_subject(tmp_path, monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(sss.cli, "segment", _fake_segment(calls))
    img, disc = _disc_photo()
    src = tmp_path / "disc.png"
    Image.fromarray((img * 255).round().astype(np.uint8)).save(src)
    code, _, err = _run(["segment", str(src), "-o", str(tmp_path / "out"), "--layers", "3",
                         "--format", "subject,png", "-q"], capsys)
    assert code == 0, err
    with Image.open(tmp_path / "out" / "disc_subject.png") as im:
        alpha = np.asarray(im)[..., 3] / 255.0
    assert alpha[disc].mean() > alpha[~disc].mean() + 0.5


def test_subject_is_the_best_union_on_a_matting_dev_photo(monkeypatch):
    """GT01 (half size): the layers chosen from the saliency map are the
    union of layers closest to the true alpha (SAD 0.81 / 1000 for seed 0).
    Skipped without ../shared (the photos may not be copied here)."""
    shared_path("data", "matting_dev")
    monkeypatch.syspath_prepend(str(shared_path("tools")))
    import matting_dev_eval as E

    img = E.load("GT01", 0.5, "input", "RGB")
    gt = E.load("GT01", 0.5, "gt", "L")
    res = sss.segment(img, seed=0, progress=False)
    a = sss.normalize_alphas(res.alphas)
    best, subset, _ = E.best_union(a, gt)
    chosen = res.subject_layers()
    sad = np.abs(a[..., chosen].sum(2) - gt).sum()
    assert sad <= 1.05 * best, (sad / 1000, best / 1000, chosen, subset)
    assert sad / 1000 < 1.5
