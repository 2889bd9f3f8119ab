"""Layer colour estimation: sss (C++, K layers at once) against pymatting's
closed-form foreground/background estimation (Levin et al.; two layers),
run in the same process on the same photo. Prints times and ratios.

For K = 2 both solve the same kind of problem; for K = 5 pymatting is run
once per layer (layer vs the rest), which is how one would get K layer
colours from a two-layer method, and its colours do not recompose the photo.

    PYTHONPATH=python python bench/bench_colors.py [--size 320] [--repeat 1]
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def soft_layers(h, w, k, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    cent = rng.random((k, 2)) * [h, w]
    d = np.stack([-((yy - c[0]) ** 2 + (xx - c[1]) ** 2) / (0.02 * h * w) for c in cent], -1)
    a = np.exp(d - d.max(-1, keepdims=True))
    return a / a.sum(-1, keepdims=True)


def best(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=320)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    import sss
    from skimage import data, transform

    img = transform.resize(data.astronaut() / 255.0, (args.size, args.size), anti_aliasing=True)
    try:
        from pymatting import estimate_foreground_cf
    except ImportError:
        estimate_foreground_cf = None
        print("pymatting not installed: no baseline (pip install pymatting)")
    for k in (2, 5):
        a = soft_layers(args.size, args.size, k)
        t_sss, (c, info) = best(lambda: sss.estimate_layer_colors(img, a, return_info=True),
                                args.repeat)
        err = np.abs(np.einsum("hwk,hwkc->hwc", a, c) - img).max()
        line = (f"K={k} {args.size}x{args.size}: sss {t_sss:.2f} s ({info['iterations']}+"
                f"{info['coarse_iterations']} CG its, recomposition error {err:.1e})")
        if estimate_foreground_cf is not None:
            def base():
                outs = []
                for i in range(k if k > 2 else 1):
                    outs.append(estimate_foreground_cf(img, a[..., i], return_background=True))
                return outs
            t_b, outs = best(base, args.repeat)
            f, b = outs[0]
            err_b = np.abs(a[..., :1] * f + (1 - a[..., :1]) * b - img).max()
            line += (f"; pymatting cf x{k if k > 2 else 1} {t_b:.2f} s (error {err_b:.1e}); "
                     f"speed-up {t_b / t_sss:.1f}x")
        print(line)


if __name__ == "__main__":
    main()
