"""The fixed photo set of the speed and quality benchmarks.

Eight real photos of varied content: the reference implementation's sample
(docia), the two photos in ``examples/data``, four colour photos that ship
inside scikit-image's wheel, and two photos of ``../shared/data/matting_dev``
(read from there, never copied; they are left out when it is absent).

Every photo is centre-cropped to the aspect ratio asked for and resized with
Pillow's bicubic filter, so ``photo(name, (480, 640))`` is a 640x480 photo.
Sizes above a photo's own resolution are upsampled: they measure the cost of
the pixel count, not the detail of a real 4-megapixel photo.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
SHARED = REPO.parent / "shared"

#: name -> where it comes from
SOURCES = {
    "docia": "left half of ../shared/data/docia_image_and_features.png",
    "astronaut": "examples/data/astronaut.jpg",
    "coffee": "examples/data/coffee.jpg",
    "chelsea": "skimage.data.chelsea()",
    "rocket": "skimage.data.rocket()",
    "motorcycle": "skimage.data.stereo_motorcycle()[0]",
    "GT04": "../shared/data/matting_dev/input/GT04.png",
    "GT14": "../shared/data/matting_dev/input/GT14.png",
}


def _full(name: str) -> np.ndarray:
    from PIL import Image
    if name == "docia":
        a = np.asarray(Image.open(SHARED / "data" / "docia_image_and_features.png").convert("RGB"))
        return a[:, : a.shape[1] // 2]
    if name in ("astronaut", "coffee"):
        return np.asarray(Image.open(REPO / "examples" / "data" / f"{name}.jpg").convert("RGB"))
    if name.startswith("GT"):
        return np.asarray(Image.open(SHARED / "data" / "matting_dev" / "input" / f"{name}.png")
                          .convert("RGB"))
    import skimage.data
    if name == "motorcycle":
        return skimage.data.stereo_motorcycle()[0]
    return getattr(skimage.data, name)()


def available() -> list[str]:
    """Names of the photos that can be loaded on this machine."""
    names = []
    for n in SOURCES:
        if n == "docia" or n.startswith("GT"):
            if not SHARED.is_dir():
                continue
        try:
            _full(n)
        except Exception:  # scikit-image missing, shared/ absent
            continue
        names.append(n)
    return names


def photo(name: str, size: tuple[int, int], crop: tuple[int, int] | None = None) -> np.ndarray:
    """Photo `name` centre-cropped to the aspect of `crop` = (H, W) (default:
    of `size`) and resized to `size` = (H, W), uint8 RGB.

    ``photo(n, (1632, 2448), crop=(480, 640))`` shows the same part of the
    scene as ``photo(n, (480, 640))``, stretched to 3:2.
    """
    from PIL import Image
    a = _full(name)
    h, w = a.shape[:2]
    th, tw = size if crop is None else crop
    if w * th > h * tw:       # too wide: crop the width
        cw = int(round(h * tw / th))
        x0 = (w - cw) // 2
        a = a[:, x0:x0 + cw]
    else:
        ch = int(round(w * th / tw))
        y0 = (h - ch) // 2
        a = a[y0:y0 + ch]
    return np.asarray(Image.fromarray(np.ascontiguousarray(a)).resize((size[1], size[0]),
                                                                       Image.BICUBIC))
