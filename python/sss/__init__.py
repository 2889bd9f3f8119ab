"""sss: semantic soft segmentation (Aksoy et al., SIGGRAPH 2018).

Splits a photograph into a few soft layers, one per meaningful region, with
accurate soft transitions. Each pipeline stage (described in the repository's
docs/algorithm.md) is a module usable on its own:

- :mod:`sss.features` -- embedded feature network and feature preprocessing (stage 1)
- :mod:`sss.cues` -- semantic cues appended to the features (a salient-object map)
- :mod:`sss.superpixels` -- SLIC-0 superpixels and the superpixel graph (stage 2)
- :mod:`sss.matting` -- matting affinity and Laplacians (stage 3)
- :mod:`sss.affinity` -- semantic / colour affinities and the Laplacian (stages 4-6)
- :mod:`sss.eigensolver` -- smallest eigenvectors (stage 7)
- :mod:`sss.constrained` -- constrained sparsification, grouping (stages 8-9)
- :mod:`sss.relaxed` -- relaxed sparsification, image gradient (stage 10)
- :mod:`sss.multilevel` -- working level and guided upsampling of the default pipeline
- :mod:`sss.layer_matting` -- every layer's boundary matted at a finer level (stage 10b)
- :mod:`sss.subject_matting` -- the salient subject's boundary matted at a finer level (stage 11)
- :mod:`sss.alpha_sampling` -- alpha of unknown pixels from known colours (stage 11's data term)
- :mod:`sss.pipeline` -- ``segment``: the whole pipeline (run by the C++ core)
- :mod:`sss.params` -- every stage's parameters and defaults (``Params``)
- :mod:`sss.batch` -- ``segment_many``: many photos over any executor (processes, Dask)
- :mod:`sss.colors` -- layer colours for editing and compositing
- :mod:`sss.subject` -- the layers that make up the photo's salient subject (cut-outs)
- :mod:`sss.io` -- reading and writing photos

``sss.show_config()`` prints how this installation was built (compiler, BLAS,
CHOLMOD, OpenMP, SIMD kernels, model path).
"""

from __future__ import annotations

# The package's version, written only here: pyproject.toml (scikit-build-core's
# regex metadata provider) and CMakeLists.txt both read this line.
__version__ = "0.1.0"


def _load_core():
    """Import the compiled core, turning a missing shared library into an
    ImportError that says what to install."""
    try:
        from . import _core  # noqa: F401
    except ImportError as e:
        import os
        import re
        msg = str(e)
        m = re.search(r"(lib[\w+-]+\.so[\d.]*)", msg)
        lib = os.path.basename(m.group(1)) if m else ""
        debian = {"libcholmod": "libcholmod3", "libblas": "libblas3",
                  "libopenblas": "libopenblas0-pthread", "liblapack": "liblapack3",
                  "libgomp": "libgomp1"}
        hint = next((pkg for key, pkg in debian.items() if lib.startswith(key)), None)
        raise ImportError(
            f"sss's compiled core (sss._core) could not be loaded: {msg}. "
            + (f"This build of sss was linked against {lib}, which is missing or unreadable now: "
               f"install it "
               f"(Debian/Ubuntu: apt-get install {hint}) " if hint else
               "Install the shared libraries it was built against ")
            + "or reinstall sss: `pip install --force-reinstall semantic-soft-segmentation` (the "
              "Linux x86-64 wheel bundles CHOLMOD, BLAS and OpenMP), or rebuild it from source "
              "on this machine (`pip install --no-binary semantic-soft-segmentation "
              "semantic-soft-segmentation`).") from e


_load_core()

from .features import compute_features, preprocess_features
from .cues import append_cues, saliency_map
from .matting import laplacian_from_affinity, matting_affinity
from .superpixels import SuperpixelGraph, superpixel_graph, superpixels
from .affinity import affinity_laplacian, color_affinity, semantic_affinity
from .eigensolver import smallest_eigenvectors
from .constrained import constrained_sparsify, group_layers, initial_labels
from .relaxed import image_gradient, relaxed_sparsify
from .params import (AffinityParams, ColorParams, ConstrainedParams, EigenParams,
                     GroupingParams, InitialParams, LayerMattingParams, MattingParams,
                     MultilevelParams, Params, RelaxedParams,
                     SemanticParams, SlicParams, SplittingParams, SubjectMattingParams,
                     UpsampleParams)
from .pipeline import Cancelled, SoftSegments, default_params, load, segment
from .colors import estimate_layer_colors, normalize_alphas, project_layer_colors
from .subject import subject_layers
from .layer_matting import matte_layers
from .subject_matting import matte_subject
from .io import imread, imsave
from ._config import show_config

__all__ = ["compute_features", "preprocess_features", "saliency_map", "append_cues", "matting_affinity", "laplacian_from_affinity", "__version__",
           "superpixels", "superpixel_graph", "SuperpixelGraph",
           "semantic_affinity", "color_affinity", "affinity_laplacian",
           "smallest_eigenvectors", "constrained_sparsify", "group_layers", "initial_labels",
           "image_gradient", "relaxed_sparsify", "SoftSegments", "segment", "load", "Cancelled",
           "default_params", "Params", "AffinityParams", "SlicParams", "MattingParams",
           "SemanticParams", "ColorParams", "EigenParams", "InitialParams", "SplittingParams",
           "ConstrainedParams", "GroupingParams", "RelaxedParams", "MultilevelParams",
           "UpsampleParams", "LayerMattingParams", "matte_layers", "SubjectMattingParams", "matte_subject", "estimate_layer_colors", "normalize_alphas", "project_layer_colors",
           "subject_layers", "imread", "imsave", "show_config"]
