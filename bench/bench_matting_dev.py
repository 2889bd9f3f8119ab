"""Layer quality against ground-truth alpha: ../shared/data/matting_dev (8 photos).

    python bench/bench_matting_dev.py [--scales 0.5 1.0] [--seeds 0 1 2] [--update-readme]

For each photo and scale, the best union of the layers (every subset of the
5 layers, what a user gets by picking the right layers) is compared with the
ground-truth alpha of the photo's main object: SAD / 1000 (the measure of
../shared/tools/matting_dev_eval.py, whose loading and best-union code is used
here). Configurations, each with several seeds (the layers depend on the seed
through the k-means initialisation, and on these photos that changes the SAD a
lot):

- ``no cue, no clean-up``: ``cues=(), levels=dict(alpha_cutoff=0),
  layer_matting=dict(enabled=False)``: the pipeline before the semantic cues;
- ``clean-up only``: the same with the default ``levels.alpha_cutoff``;
- ``cue only``: ``layer_matting=dict(enabled=False), subject=dict(enabled=False)``:
  the saliency cue in the features, without stages 10b and 11;
- ``no subject matting``: ``subject=dict(enabled=False)``: the cue and stage 10b
  (layer matting), without stage 11;
- ``default``: ``sss.segment(image)``.

The anchor is closed-form matting (pymatting) GIVEN the benchmark's user
trimap, which automatic layers should approach. The bound column is
closed-form matting given the tightest trimap there is, the ground truth's
own: known wherever the true alpha is 0 or 1 (within 1/1000), unknown only
where it is fractional. It is what the matting Laplacian, which makes every
soft transition of these layers, can reach with the object's extent known
exactly. The floor column is what the
multilevel representation itself allows: the ground truth resized to the
working level (with its complement as a second layer) and carried back to
the photo by the default guided upsampling and clean-up, i.e. the SAD of
perfect working-level layers: the working level's own limit, which stages 10b
and 11 (layer and subject matting, at up to 640 x 480 pixels) can pass. Per photo the table gives the
median over seeds; the summary rows give the mean over photos for each seed and
the worst single run.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

import sss
from _common import machine, publish, today

TOOLS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "tools")
_NO = dict(enabled=False)
CONFIGS = [("no cue, no clean-up", dict(cues=(), levels=dict(alpha_cutoff=0.0),
                                        layer_matting=_NO)),
           ("clean-up only", dict(cues=(), layer_matting=_NO)),
           ("cue only", dict(layer_matting=_NO, subject=_NO)),
           ("no subject matting", dict(subject=_NO)),
           ("default", dict())]


def _closed_form_sad(img, trimap, gt) -> float:
    """SAD / 1000 of closed-form matting (pymatting) of `img` given `trimap`,
    against `gt`; NaN without pymatting."""
    try:
        import pymatting
    except ImportError:
        return float("nan")
    alpha = pymatting.estimate_alpha_cf(img, trimap)
    return float(np.abs(np.clip(alpha, 0, 1) - gt).sum() / 1000)


def anchor_sad(E, name, scale, img, gt) -> float:
    """SAD / 1000 of the anchor, closed-form matting given the benchmark's
    user trimap, on a matting_dev photo (`E`: matting_dev_eval); NaN without
    pymatting."""
    return _closed_form_sad(img, E.load(name, scale, "trimap1", "L"), gt)


def ideal_trimap_sad(img, gt) -> float:
    """SAD / 1000 of closed-form matting given the ground truth's own trimap
    (unknown only where the true alpha is fractional); NaN without
    pymatting."""
    trimap = np.where(gt >= 0.999, 1.0, np.where(gt <= 0.001, 0.0, 0.5))
    return _closed_form_sad(img, trimap, gt)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scales", type=float, nargs="+", default=[0.5, 1.0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--configs", nargs="+", default=[c for c, _ in CONFIGS])
    ap.add_argument("--update-readme", action="store_true")
    a = ap.parse_args()
    if not os.path.isdir(os.path.join(TOOLS, "..", "data", "matting_dev")):
        sys.exit("../shared/data/matting_dev is not present beside the repository")
    sys.path.insert(0, TOOLS)
    import matting_dev_eval as E
    from sss.io import resize
    from sss.multilevel import clean_alphas, guided_upsample, working_shape

    lv = sss.default_params().levels

    def floor(img, gt):
        wh, ww = working_shape(img.shape[:2], lv.working_pixels)
        work = np.clip(resize(img, wh, ww, method="bicubic"), 0, 1)
        g = np.clip(resize(gt[..., None].astype(np.float64), wh, ww, method="bicubic"), 0, 1)
        up = guided_upsample(np.concatenate([g, 1 - g], 2), work, img,
                             radius=lv.upsample.radius, eps=lv.upsample.eps)
        return float(np.abs(clean_alphas(up, lv.alpha_cutoff)[..., 0] - gt).sum() / 1000)

    names = sorted(f[:-4] for f in os.listdir(os.path.join(E.DATA, "input")) if f.endswith(".png"))
    configs = [(c, kw) for c, kw in CONFIGS if c in a.configs]
    lines, t_start = [], time.perf_counter()
    for scale in a.scales:
        per = {c: {} for c, _ in configs}
        anchor, bound, low = {}, {}, {}
        for n in names:
            img = E.load(n, scale, "input", "RGB")
            gt = E.load(n, scale, "gt", "L")
            low[n] = floor(img, gt)
            anchor[n] = anchor_sad(E, n, scale, img, gt)
            bound[n] = ideal_trimap_sad(img, gt)
            for c, kw in configs:
                for seed in a.seeds:
                    layers = sss.segment(img, seed=seed, progress=False, **kw).alphas
                    sad = E.best_union(np.asarray(layers, dtype=np.float64), gt)[0] / 1000
                    per[c].setdefault(n, []).append(float(sad))
            print(n, scale, {c: np.round(per[c][n], 2).tolist() for c, _ in configs},
                  f"anchor {anchor[n]:.2f}", f"bound {bound[n]:.2f}", f"floor {low[n]:.2f}",
                  flush=True)
        h, w = E.load(names[0], scale, "input", "RGB").shape[:2]
        lines += [f"**scale {scale}** (photos about {max(h, w)} px on the longer side); "
                  f"SAD / 1000, median over seeds {a.seeds}", "",
                  "| photo | " + " | ".join(c for c, _ in configs) + " | anchor: closed-form + trimap "
                  "| bound: closed-form + the true alpha's own trimap "
                  "| floor: ground truth through the working level |",
                  "| --- |" + " ---: |" * (len(configs) + 3)]
        for n in names:
            lines.append(f"| {n} | " + " | ".join(f"{np.median(per[c][n]):.2f}" for c, _ in configs)
                         + f" | {anchor[n]:.2f} | {bound[n]:.2f} | {low[n]:.2f} |")
        lines.append("| **mean** | " + " | ".join(
            f"**{np.mean([np.median(per[c][n]) for n in names]):.2f}**" for c, _ in configs)
            + "".join(f" | **{np.mean(list(d.values())):.2f}**" for d in (anchor, bound, low))
            + " |")
        lines.append("| mean per seed | " + " | ".join(
            " / ".join(f"{np.mean([per[c][n][i] for n in names]):.2f}" for i in range(len(a.seeds)))
            for c, _ in configs) + " | | | |")
        lines.append("| worst run | " + " | ".join(
            f"{max(max(v) for v in per[c].values()):.2f}" for c, _ in configs) + " | | | |")
        lines.append("")
    notes = (f"{today()}, {machine()}; {time.perf_counter() - t_start:.0f} s in all. "
             "`python bench/bench_matting_dev.py --update-readme`. SAD is a sum over pixels, "
             "so at full size every number is about 4 times its half-size value, the anchor's "
             "too. The bound is closed-form matting given the ground truth's own trimap "
             "(unknown only where the true alpha is fractional): even with the object's "
             "extent known exactly, the matting Laplacian that makes the layers' soft "
             "transitions reaches no lower. The floor is what perfect working-level layers "
             "would score (the ground truth resized to the working level and carried back "
             "by the guided upsampling and clean-up): at half size it is far below the "
             "layers' SAD, so most of the error is in the working-level layers themselves, "
             "not in their resolution; "
             "stages 10b and 11 (layer and subject matting) work at up to 640 x 480 "
             "pixels, so they are not bound by this floor. "
             "What the cue and stages 10b and 11 change is in docs/cues.md; overviews of the "
             "layers of every photo (seed 0, half and full size) are in docs/matting_dev/.")
    publish("matting_dev", "Quality against ground-truth alpha (matting_dev)", lines,
            a.update_readme, notes)


if __name__ == "__main__":
    main()
