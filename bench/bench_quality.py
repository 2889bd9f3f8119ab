"""Quality of the multilevel default against the reference computation.

    PYTHONPATH=python python bench/bench_quality.py [--photos a,b] [--update-readme]

For every photo of the bench set (bench/photos.py) at 640x480:

* the reference method's layers with seed 0 and seed 1 (``method="reference"``);
  their ``union_error`` (``../shared/tools/layer_agreement.py``: how well one
  set of layers is expressed by unions of the other, both ways, the worse
  direction) is the method's natural variability on that photo;
* the multilevel default (seed 0) against the reference (seed 0).

Pass: on the median photo, multilevel error <= variability + 0.01; on every
photo, multilevel error <= 2 variability + 0.02.

Resolution independence: the multilevel layers at 400x300 and at 2448x1632
(the same 4:3 part of the scene stretched to 3:2; layers resized to 640x480,
then renormalised) against those at 640x480, with the same bounds.

Writes one side-by-side picture per photo (photo | reference seed 0 |
reference seed 1 | multilevel, colours matched) into bench/out/quality/.
The reference layers are cached in bench/out/cache (they take minutes each);
``--no-cache`` recomputes them. Needs ../shared (layer_agreement.py).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

import sss
from _common import machine, publish, today
from photos import SHARED, available, photo
from render_layers import side_by_side

OUT = Path(__file__).resolve().parent / "out"


def _agreement():
    sys.path.insert(0, str(SHARED / "tools"))
    from layer_agreement import agreement
    return agreement


def _reference(name, size, seed, cache: Path | None):
    """The reference method's layers of photo `name` at `size` = (H, W) and
    the seconds they took, computed once and cached as an npz in `cache`."""
    f = None if cache is None else cache / f"{name}_{size[1]}x{size[0]}_seed{seed}.npz"
    if f is not None and f.exists():
        z = np.load(f)
        return z["alphas"], float(z["seconds"]) if "seconds" in z.files else float("nan")
    t = time.perf_counter()
    a = sss.segment(photo(name, size), seed=seed, method="reference", progress=False).alphas
    dt = time.perf_counter() - t
    if f is not None:
        f.parent.mkdir(parents=True, exist_ok=True)
        tmp = f.with_suffix(".tmp.npz")
        np.savez_compressed(tmp, alphas=a, seconds=dt)
        tmp.replace(f)
    return a, dt


def reference_layers(name, seed, cache: Path | None):
    """The reference method's layers at 640x480 and their seconds."""
    return _reference(name, (480, 640), seed, cache)


def reference_at_half(name, cache: Path | None):
    """The reference method (seed 0) on the photo at 320x240, carried to
    640x480 by the same guided upsampling as the multilevel method: how much
    the reference's own layers move when the pixel count changes."""
    from sss.colors import normalize_alphas
    from sss.multilevel import guided_upsample
    a, _ = _reference(name, (240, 320), 0, cache)
    return guided_upsample(normalize_alphas(a), photo(name, (240, 320)) / 255.0,
                           photo(name, (480, 640)) / 255.0)


def _down(a, size):
    from sss.io import resize
    from sss.colors import normalize_alphas
    return normalize_alphas(resize(a, size[0], size[1], method="bilinear"))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", default=None, help="comma-separated subset of the photo set")
    ap.add_argument("--cache", default=str(OUT / "cache"))
    ap.add_argument("--no-cache", action="store_true")
    ap.add_argument("--no-scales", action="store_true", help="skip the resolution check")
    ap.add_argument("--no-half", action="store_true",
                    help="skip the reference at 320x240 (its own resolution dependence)")
    ap.add_argument("--update-readme", action="store_true")
    args = ap.parse_args(argv)
    if not (SHARED / "tools" / "layer_agreement.py").exists():
        print("bench_quality: needs ../shared/tools/layer_agreement.py; skipped")
        return 0
    agreement = _agreement()
    names = available() if args.photos is None else args.photos.split(",")
    cache = None if args.no_cache else Path(args.cache)
    (OUT / "quality").mkdir(parents=True, exist_ok=True)
    rows, scale_rows, results = [], [], {}
    for name in names:
        r0, t0 = reference_layers(name, 0, cache)
        r1, _ = reference_layers(name, 1, cache)
        im = photo(name, (480, 640))
        t = time.perf_counter()
        ml = sss.segment(im, seed=0, progress=False)
        tm = time.perf_counter() - t
        # the same features as the reference: no semantic cue, no clean-up
        plain = sss.segment(im, seed=0, progress=False, cues=(), levels=dict(alpha_cutoff=0.0))
        var = agreement(r1, r0)["union_error"]
        err = agreement(ml.alphas, r0)["union_error"]
        err_plain = agreement(plain.alphas, r0)["union_error"]
        ok = err <= 2 * var + 0.02
        results[name] = dict(variability=var, multilevel=err, multilevel_no_cue=err_plain)
        half = ""
        if not args.no_half:
            e_half = agreement(reference_at_half(name, cache), r0)["union_error"]
            results[name]["reference_320x240"] = e_half
            half = f" {e_half:.3f} | {e_half - var:+.3f} |"
        rows.append(f"| {name} | {var:.3f} | {err:.3f} | {err - var:+.3f} | "
                    f"{'yes' if ok else '**no**'} | {err_plain:.3f} | {err_plain - var:+.3f} |"
                    f"{half} {t0:.1f} | {tm:.2f} |")
        side_by_side(im, [r0, r1, ml.alphas],
                     ["reference, seed 0", "reference, seed 1", "multilevel (default), seed 0"],
                     OUT / "quality" / f"{name}.png")
        line = f"{name}: variability {var:.3f}, multilevel {err:.3f}"
        if not args.no_scales:
            small = sss.segment(photo(name, (300, 400)), progress=False).alphas
            # the same 4:3 part of the scene, at 4 megapixels (stretched to 3:2)
            big = sss.segment(photo(name, (1632, 2448), crop=(480, 640)), progress=False).alphas
            e_small = agreement(_down(small, (480, 640)), ml.alphas)["union_error"]
            e_big = agreement(_down(big, (480, 640)), ml.alphas)["union_error"]
            results[name].update(at_400x300=e_small, at_2448x1632=e_big)
            okk = max(e_small, e_big) <= 2 * var + 0.02
            scale_rows.append(f"| {name} | {var:.3f} | {e_small:.3f} | {e_big:.3f} | "
                              f"{'yes' if okk else '**no**'} |")
            line += f", 400x300 {e_small:.3f}, 2448x1632 {e_big:.3f}"
        print(line, flush=True)
    var = np.array([results[n]["variability"] for n in names])
    err = np.array([results[n]["multilevel"] for n in names])
    med_ok = np.median(err - var) <= 0.01
    all_ok = bool(np.all(err <= 2 * var + 0.02))
    hh = "" if args.no_half else (" reference at 320x240 vs reference at 640x480 (seed 0) | "
                                  "difference |")
    hs = "" if args.no_half else " ---: | ---: |"
    lines = ["| photo | reference seed 0 vs seed 1 (variability) | multilevel vs reference "
             "seed 0 | difference | within 2 var + 0.02 | multilevel without the cue "
             "(cues=(), levels=dict(alpha_cutoff=0)) vs reference | difference |" + hh +
             " reference s (cached) | multilevel s |",
             "| --- | ---: | ---: | ---: | --- | ---: | ---: |" + hs + " ---: | ---: |"] + rows
    hm = ""
    if not args.no_half:
        eh = np.array([results[n]["reference_320x240"] for n in names])
        hm = f" {np.median(eh):.3f} | {np.median(eh - var):+.3f} |"
    errp = np.array([results[n]["multilevel_no_cue"] for n in names])
    lines.append(f"| **median** | {np.median(var):.3f} | {np.median(err):.3f} | "
                 f"{np.median(err - var):+.3f} | | {np.median(errp):.3f} | "
                 f"{np.median(errp - var):+.3f} |{hm} | |")
    notes = (f"Median of (multilevel - variability): {np.median(err - var):+.3f} "
             f"({'meets' if med_ok else '**misses**'} the bound of +0.01); every photo within "
             f"2 variability + 0.02: {'yes' if all_ok else '**no**'}.")
    if scale_rows:
        s_err = np.array([max(results[n]["at_400x300"], results[n]["at_2448x1632"])
                          for n in names])
        notes += ("\n\nResolution independence: the multilevel layers of the same photo at "
                  "400x300 and at 2448x1632 (resized to 640x480) against those at 640x480:\n\n"
                  "| photo | variability | 400x300 vs 640x480 | 2448x1632 vs 640x480 | "
                  "within 2 var + 0.02 |\n| --- | ---: | ---: | ---: | --- |\n"
                  + "\n".join(scale_rows)
                  + f"\n\nMedian of (worse of the two - variability): "
                    f"{np.median(s_err - var):+.3f}.")
    notes += ("\n\nSide-by-side pictures (photo | reference seed 0 | reference seed 1 | "
              "multilevel; colours matched to the reference seed 0) are written to "
              "bench/out/quality/; copies of those of the photos that may be redistributed (not the matting_dev ones) are in docs/multilevel/.")
    publish("quality", f"Multilevel against the reference, 640x480 ({today()}, {machine()})",
            lines, args.update_readme, notes)
    (OUT / "quality" / "results.json").write_text(json.dumps(results, indent=1))
    return 0 if (med_ok and all_ok) else 1


if __name__ == "__main__":
    sys.exit(main())
