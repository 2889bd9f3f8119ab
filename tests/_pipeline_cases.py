"""Small pipeline runs whose results are stored in tests/data/pipeline_cases.npz.

The stored arrays were computed by the pipeline as orchestrated in Python
(before sss::segment moved it into the C++ core); test_pipeline_core.py
checks that the core's pipeline gives the same layers for the same seed.
The multilevel cases turn off the final clean-up (``levels.alpha_cutoff``)
and run the grouping's k-means once on every layer (``grouping=dict(replicates=1,
min_mass=0)``, the reference's grouping; the multilevel defaults of 10 runs and
of leaving near-empty layers out came after them), and without stage 10b
(``layer_matting=dict(enabled=False)``, which came later too; it runs only
where the layers are upsampled, as in multilevel_upsampled).
Regenerate (only when a deliberate change of the results is intended) with
``PYTHONPATH=python python tests/_pipeline_cases.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parent / "data" / "pipeline_cases.npz"
def small(n_segments=40, initial_layers=8, **kw):
    """Keywords of segment for a small, fast run."""
    out = dict(num_layers=3, affinity=dict(superpixels=dict(n_segments=n_segments)),
               eigen=dict(num_vectors=16), initial=dict(num_layers=initial_layers),
               constrained=dict(max_iter=8), relaxed=dict(max_iter=4))
    for key, value in kw.items():
        if isinstance(value, dict) and key in out:
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


def image(h, w, seed):
    """A photo-like test image: four colour regions, a soft diagonal edge, noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / np.array([h, w])[:, None, None]
    img = np.zeros((h, w, 3))
    img[xx < 0.5] = [0.8, 0.2, 0.1]
    img[xx >= 0.5] = [0.1, 0.3, 0.8]
    img[..., 1] += 0.5 / (1 + np.exp(-30 * (yy + 0.3 * xx - 0.6)))
    img += 0.03 * rng.random((h, w, 3))
    return np.clip(img, 0, 1)


def features(img):
    return np.ascontiguousarray(img[:, :, ::-1] * 0.9 + 0.05)


#: name -> (image size, image seed, segment keywords)
CASES = {
    "reference": ((30, 28), 1, small(method="reference", seed=3)),
    "reference_options": ((26, 30), 2, small(
        method="reference", seed=2, initial=dict(kmeans=dict(start_clusters=2, replicates=1,
                                                             rerun_below=3)),
        constrained=dict(prune_every=2), affinity=dict(normalized=True))),
    "multilevel_upsampled": ((48, 44), 3, small(method="multilevel", seed=1,
                                                levels=dict(working_pixels=600,
                                                            alpha_cutoff=0.0),
                                                grouping=dict(replicates=1, min_mass=0.0),
                                                layer_matting=dict(enabled=False))),
    # more than 10000 pixels: the k-means subsample takes numpy's tail-shuffle branch
    "multilevel_large": ((120, 96), 4, small(method="multilevel", seed=5, initial_layers=10,
                                             n_segments=120,
                                             levels=dict(alpha_cutoff=0.0),
                                             grouping=dict(replicates=1, min_mass=0.0),
                                             layer_matting=dict(enabled=False))),
}

FIELDS = ("alphas", "initial_alphas", "grouped_alphas", "group_ids", "eigenvalues")


def inputs(name):
    """(image, features, segment keywords) of a case."""
    (h, w), s, kw = CASES[name]
    img = image(h, w, s)
    return img, features(img), dict(kw)


def main():
    import sss
    out = {}
    for name in CASES:
        img, feat, kw = inputs(name)
        res = sss.segment(img, feat, progress=False, **kw)
        for f in FIELDS:
            out[f"{name}/{f}"] = np.asarray(getattr(res, f))
        print(name, res.alphas.shape, res.initial_alphas.shape)
    np.savez_compressed(DATA, **out)


if __name__ == "__main__":
    main()
