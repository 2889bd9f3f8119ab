"""sss: semantic soft segmentation (Aksoy et al., SIGGRAPH 2018).

Splits a photograph into a few soft layers, one per meaningful region, with
accurate soft transitions. Each pipeline stage of SPEC.md is a module usable
on its own:

- :mod:`sss.features` -- embedded feature network and feature preprocessing (stage 1)
- :mod:`sss.matting` -- matting affinity and Laplacians (stage 3)
"""

from __future__ import annotations

__version__ = "0.1.0"

from .features import compute_features, preprocess_features
from .matting import laplacian_from_affinity, matting_affinity

__all__ = ["compute_features", "preprocess_features", "matting_affinity", "laplacian_from_affinity", "__version__"]
