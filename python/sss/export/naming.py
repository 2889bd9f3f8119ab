"""The names of the files written for one photo: the one place they are spelled."""

from __future__ import annotations

import re

__all__ = ["output_name", "output_names", "stale_pattern", "is_output_name"]

#: file name per format; ``{layer}`` is the layer index of the per-layer PNGs
_TEMPLATES = {
    "overview": "{name}_overview.png",
    "png": "{name}_layer{layer}.png",
    "ora": "{name}.ora",
    "psd": "{name}.psd",
    "npz": "{name}_alphas.npz",
    "subject": "{name}_subject.png",
}


def output_name(name: str, fmt: str, layer: int | None = None) -> str:
    """File name of format `fmt` for stem `name` (`layer`: the index for "png")."""
    template = _TEMPLATES[fmt]
    if "{layer}" in template:
        if layer is None:
            raise ValueError(f"format {fmt!r} writes one file per layer: give the layer")
        return template.format(name=name, layer=layer)
    return template.format(name=name)


def output_names(name: str, formats, num_layers: int) -> list[str]:
    """Every file name written for `formats` and `num_layers` layers, in format order."""
    out = []
    for fmt in formats:
        if "{layer}" in _TEMPLATES[fmt]:
            out.extend(output_name(name, fmt, k) for k in range(num_layers))
        else:
            out.append(output_name(name, fmt))
    return out


def stale_pattern(name: str) -> re.Pattern:
    """The file names written for `name`, whatever the formats and layer
    count: an earlier run's files of that name that a new set does not
    rewrite are removed (sss._files.write_set)."""
    return re.compile(_names_regex(re.escape(name)))


def _names_regex(stem: str) -> str:
    """A regular expression of every output file name whose stem matches the
    regular expression `stem` (every template starts with the stem)."""
    return "|".join(stem + r"\d+".join(re.escape(part) for part in
                                       t[len("{name}"):].split("{layer}"))
                    for t in _TEMPLATES.values())


#: any photo's output file names
_ANY_OUTPUT = re.compile(_names_regex(".+"))


def is_output_name(filename: str) -> bool:
    """Whether `filename` is named as a file written for some photo (e.g.
    ``beach_layer0.png``, ``beach_overview.png``): what a folder scan skips in
    the output folder, so that a rerun does not take its earlier outputs for
    photos."""
    return _ANY_OUTPUT.fullmatch(filename) is not None
