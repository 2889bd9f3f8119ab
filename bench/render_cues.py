"""Look at what the semantic cue changes: one overview per photo.

    python bench/render_cues.py [--out docs/cues] [--matting-dev]

For every bench photo (bench/photos.py, at 640x480) and scikit-image's Hubble
deep field (a photo with many objects and no single salient one): photo |
saliency map | layers without the cue (``cues=()``) | layers with the default
cue, colours matched between the two sets. Prints, per photo, the saliency
map's mean and maximum and the ``union_error`` (../shared/tools/layer_agreement.py)
between the two sets of layers: how much the cue changed them.

With ``--matting-dev`` the 8 matting_dev photos are rendered too (photo | true
alpha | saliency | layers without | with the cue | best union of the default
layers) into bench/out/matting_dev/, which is not committed: those photos may
not be copied into the repository. The same run writes docs/matting_dev/GTxx.jpg,
which show only what sss computed, at half and at full size: the default
layers colour-coded and the best union of them (the alpha a user gets by
picking those layers), with its SAD beside the anchor's; neither the photo nor
its true alpha is drawn there.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

import sss
from photos import SHARED, available, photo
from render_layers import _matched_order, color_coded

sys.path.insert(0, str(SHARED / "tools"))


def _panel(x):
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 2:
        x = np.repeat(x[:, :, None], 3, axis=2)
    if x.max() > 1.5:
        x = x / 255.0
    return Image.fromarray((np.clip(x, 0, 1) * 255 + 0.5).astype(np.uint8))


def strip(panels, titles, path, height=240):
    ims = []
    for p in panels:
        im = _panel(p)
        ims.append(im.resize((round(im.width * height / im.height), height), Image.BILINEAR))
    gap, top = 6, 18
    canvas = Image.new("RGB", (sum(i.width for i in ims) + gap * (len(ims) - 1), height + top),
                       "white")
    draw = ImageDraw.Draw(canvas)
    x = 0
    for im, t in zip(ims, titles):
        canvas.paste(im, (x, top))
        draw.text((x + 2, 3), t, fill="black")
        x += im.width + gap
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(path, quality=88)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "docs" / "cues"))
    ap.add_argument("--matting-dev", action="store_true")
    ap.add_argument("--matting-dev-docs",
                    default=str(Path(__file__).resolve().parent.parent / "docs" / "matting_dev"))
    a = ap.parse_args()
    try:
        from layer_agreement import agreement
    except ImportError:
        agreement = None
    out = Path(a.out)
    names = [n for n in available() if not n.startswith("GT")] + ["hubble"]
    for n in names:
        if n == "hubble":
            import skimage.data
            img = np.asarray(Image.fromarray(skimage.data.hubble_deep_field())
                             .resize((640, 480), Image.BICUBIC))
        else:
            img = photo(n, (480, 640))
        sal = sss.saliency_map(img, num_threads=1)
        off = sss.segment(img, cues=(), progress=False).alphas
        on = sss.segment(img, progress=False).alphas
        change = agreement(on, off)["union_error"] if agreement else float("nan")
        conf = sss.cues.cue_confidence(sal)
        print(f"{n:12s} saliency mean {sal.mean():.2f} max {sal.max():.2f} confidence {conf:.2f}  "
              f"union_error(default, cues=()) {change:.3f}", flush=True)
        strip([img, sal, color_coded(off), color_coded(on, _matched_order(on, off))],
              ["photo", "saliency map", "cues=()", "default (saliency cue)"],
              out / f"{n}.jpg")
    if a.matting_dev:
        sys.path.insert(0, str(SHARED / "tools"))
        import matting_dev_eval as E
        mdir = Path(__file__).resolve().parent / "out" / "matting_dev"
        for n in sorted(f[:-4] for f in os.listdir(os.path.join(E.DATA, "input"))):
            img = E.load(n, 0.5, "input", "RGB")
            gt = E.load(n, 0.5, "gt", "L")
            sal = sss.saliency_map(img, num_threads=1)
            off = sss.segment(img, cues=(), levels=dict(alpha_cutoff=0.0), progress=False).alphas
            on = sss.segment(img, progress=False).alphas
            sad, subset, union = E.best_union(np.asarray(on, dtype=np.float64), gt)
            strip([img, gt, sal, color_coded(off), color_coded(on, _matched_order(on, off)), union],
                  ["photo", "true alpha", "saliency", "no cue, no clean-up", "default",
                   f"best union {list(subset)}: SAD {sad / 1000:.2f}"], mdir / f"{n}.png")
            print(f"{n}: {mdir / (n + '.png')}", flush=True)
            _our_layers_only(E, n, (img, gt, on), Path(a.matting_dev_docs) / f"{n}.jpg")


def _our_layers_only(E, name, half, path):
    """docs/matting_dev/NAME.jpg: sss's layers (colour-coded) and their best
    union at half and full size, seed 0, nothing of the dataset's files
    (`half`: the photo, true alpha and layers at half size)."""
    from bench_matting_dev import anchor_sad

    panels, titles, first = [], [], None
    for scale in (0.5, 1.0):
        if scale == 0.5:
            img, gt, layers = half
        else:
            img = E.load(name, scale, "input", "RGB")
            gt = E.load(name, scale, "gt", "L")
            layers = sss.segment(img, progress=False).alphas
        layers = np.asarray(layers, dtype=np.float64)
        sad, subset, union = E.best_union(layers, gt)
        anchor = anchor_sad(E, name, scale, img, gt)
        order = None  # the half-size layers' colours; at full size those of the most alike
        if first is None:
            first = layers
        else:
            H, W = layers.shape[:2]
            order = _matched_order(layers, np.stack(
                [np.asarray(Image.fromarray(first[:, :, j].astype(np.float32))
                            .resize((W, H), Image.BILINEAR)) for j in range(first.shape[2])],
                axis=2))
        panels += [color_coded(layers, order), union]
        titles += [f"scale {scale}: {layers.shape[2]} layers",
                   f"best union {list(subset)}: SAD {sad / 1000:.2f} (anchor {anchor:.2f})"]
    strip(panels, titles, path, height=240)
    print(f"{name}: {path}", flush=True)


if __name__ == "__main__":
    main()
