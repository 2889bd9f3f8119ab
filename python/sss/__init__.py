"""sss: semantic soft segmentation (Aksoy et al., SIGGRAPH 2018).

Splits a photograph into a few soft layers, one per meaningful region, with
accurate soft transitions. Each pipeline stage of SPEC.md is a module usable
on its own:

- :mod:`sss.superpixels` -- SLIC-0 superpixels and the superpixel graph (stage 2)
- :mod:`sss.matting` -- matting affinity and Laplacians (stage 3)
- :mod:`sss.affinity` -- semantic / colour affinities and the Laplacian (stages 4-6)
"""

from __future__ import annotations

__version__ = "0.1.0"

from .matting import laplacian_from_affinity, matting_affinity
from .superpixels import SuperpixelGraph, superpixel_graph, superpixels
from .affinity import affinity_laplacian, color_affinity, semantic_affinity

__all__ = ["matting_affinity", "laplacian_from_affinity", "__version__",
           "superpixels", "superpixel_graph", "SuperpixelGraph",
           "semantic_affinity", "color_affinity", "affinity_laplacian"]
