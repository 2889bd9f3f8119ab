"""The subject chosen automatically (sss.subject_layers) against ground truth.

    python bench/bench_subject.py [--scale 0.5] [--seeds 0 1 2] [--update-readme]

On ../shared/data/matting_dev (8 photos with the true alpha of their main
object), for each photo and seed: the SAD / 1000 of the union of layers that
``SoftSegments.subject_layers()`` chooses from the salient-object map, beside
the best union of the same layers for the true alpha (an oracle: what a user
who picks the right layers gets; bench_matting_dev.py's "default" column) and
the salient-object map itself used as the alpha. "same as best" counts the
seeds where the chosen layers are exactly the oracle's. When the map has no
clear subject nothing is chosen and the SAD is that of an empty cut-out.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

import sss
from sss.cues import cue_confidence
from _common import machine, publish, today

TOOLS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "tools")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=0.5)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--update-readme", action="store_true")
    a = ap.parse_args(argv)
    sys.path.insert(0, TOOLS)
    import matting_dev_eval as E

    names = sorted(f[:-4] for f in os.listdir(os.path.join(E.DATA, "input"))
                   if f.endswith(".png"))
    lines = ["| photo | map confidence | best union (oracle) | chosen | same as best "
             "| map as alpha |", "| --- |" + " ---: |" * 5]
    best_all, chosen_all, same_all, runs = [], [], 0, 0
    for n in names:
        img = E.load(n, a.scale, "input", "RGB")
        gt = E.load(n, a.scale, "gt", "L")
        m = sss.saliency_map(img).astype(np.float64)
        conf = cue_confidence(m)
        best, chosen, same, empty = [], [], 0, 0
        for seed in a.seeds:
            res = sss.segment(img, seed=seed, progress=False)
            al = sss.normalize_alphas(res.alphas)
            sad, subset, _ = E.best_union(al, gt)
            layers = res.subject_layers()
            best.append(sad / 1000)
            chosen.append(np.abs(al[..., layers].sum(2) - gt).sum() / 1000)
            same += sorted(layers) == sorted(subset)
            empty += not layers
        runs += len(a.seeds)
        same_all += same
        best_all.append(np.median(best))
        chosen_all.append(np.median(chosen))
        note = f" ({empty} none)" if empty else ""
        lines.append(f"| {n} | {conf:.2f} | {np.median(best):.2f} | {np.median(chosen):.2f}{note} "
                     f"| {same}/{len(a.seeds)} | {np.abs(m - gt).sum() / 1000:.2f} |")
        print(lines[-1], flush=True)
    lines.append(f"| **mean** | | **{np.mean(best_all):.2f}** | **{np.mean(chosen_all):.2f}** | "
                 f"{same_all}/{runs} | |")
    notes = (f"{today()}, {machine()}; `python bench/bench_subject.py --update-readme`, scale "
             f"{a.scale}, median over seeds {a.seeds}. SAD / 1000 against the true alpha.")
    publish("subject", "The subject chosen automatically (matting_dev)", lines,
            a.update_readme, notes)


if __name__ == "__main__":
    main()
