"""sss: semantic soft segmentation (Aksoy et al., SIGGRAPH 2018).

Splits a photograph into a few soft layers, one per meaningful region, with
accurate soft transitions. Each pipeline stage of SPEC.md is a module usable
on its own:

- :mod:`sss.matting` -- matting affinity and Laplacians (stage 3)
- :mod:`sss.colors` -- layer colours for editing and compositing
- :mod:`sss.io` -- reading and writing photos
"""

from __future__ import annotations

__version__ = "0.1.0"

from .matting import laplacian_from_affinity, matting_affinity
from .colors import estimate_layer_colors, normalize_alphas, project_layer_colors
from .io import imread, imsave

__all__ = ["matting_affinity", "laplacian_from_affinity", "__version__",
           "estimate_layer_colors", "normalize_alphas", "project_layer_colors",
           "imread", "imsave"]
