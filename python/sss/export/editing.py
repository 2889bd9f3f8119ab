"""Editing methods of a segmentation result: layer colours, composites, saving."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..colors import estimate_layer_colors
from . import FORMATS, _check_formats, _COLOUR_FORMATS, save_layers

__all__ = ["LayerEditing"]


class LayerEditing:
    """Editing methods for a soft segmentation result (mixed into
    :class:`sss.SoftSegments`). Needs ``self.image`` (H, W, 3) and
    ``self.alphas`` (H, W, K); ``colors`` is computed once and cached."""

    @property
    def colors(self) -> np.ndarray:
        """(H, W, K, 3) layer colours (:func:`sss.estimate_layer_colors`;
        for a multilevel result :func:`sss.multilevel.layer_colors`, which
        estimates them at the working resolution and fits them exactly to the
        full-size photo), computed on first use and cached."""
        cached = self.__dict__.get("_colors_cache")
        if cached is None:
            if getattr(self, "image", None) is None:
                raise ValueError("layer colours need the photo: this result has no image")
            if getattr(self, "method", "reference") == "multilevel":
                from ..multilevel import layer_colors
                cached = layer_colors(self.image, self.alphas)
            else:
                cached = estimate_layer_colors(self.image, self.alphas)
            cached.setflags(write=False)
            self.__dict__["_colors_cache"] = cached
        return cached

    def composite(self, layers=None, background=None) -> np.ndarray:
        """Selected layers over a background (see :func:`sss.colors.composite`):
        e.g. ``composite([0, 2], background=new_photo)`` replaces the rest.
        With every layer (the default) this is the photo."""
        from ..colors import composite as _composite

        return _composite(self.alphas, self.colors, layers=layers, background=background)

    def save(self, directory, formats=FORMATS, *, name: str = "segments",
             ora_space: str = "srgb") -> dict[str, list[Path]]:
        """Write ``name_overview.png``, ``name_layer{i}.png``, ``name.ora`` and
        ``name_alphas.npz`` (or the chosen `formats`) into `directory`; see
        :func:`save_layers`. Returns the files written per format."""
        if getattr(self, "image", None) is None:
            raise ValueError("saving layers needs the photo: this result has no image")
        formats = _check_formats(formats)
        needs = any(f in formats for f in _COLOUR_FORMATS)
        extra = {key: getattr(self, key, None)
                 for key in ("initial_alphas", "eigenvalues", "superpixels")}
        # what sss.load needs to give the result back whole
        extra["image"] = np.asarray(self.image, dtype=np.float32)
        extra["method"] = np.array(getattr(self, "method", "reference"))
        if getattr(self, "working_shape", None):
            extra["working_shape"] = np.asarray(self.working_shape)
        return save_layers(directory, name, self.image, self.alphas,
                           self.colors if needs else None, formats=formats,
                           raw_alphas=self.alphas, extra=extra, ora_space=ora_space)
