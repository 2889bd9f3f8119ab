"""Photo to files: ``sss segment`` end to end on large photos.

    PYTHONPATH=python python bench/bench_files.py [--photos a,b] [--sizes 2448x1632,4000x3000]
                                                  [--update-readme]

What a photographer running ``sss segment`` on a folder of camera photos
waits for: for each photo (a JPEG written from bench/photos.py at the size
asked) one fresh process runs the command's per-photo work
(:func:`sss.cli.segment_file`, all default outputs: overview, layer PNGs,
OpenRaster, npz) and reports the wall time of its parts (reading and
segmenting, layer colours, rendering and writing the files), its peak
resident memory and the bytes written. Since the files are rendered a band
of rows at a time (sss.export.bands), *colours* is the estimation at the
working size; the full-size colours are made band by band inside *files*.

Baselines measured in the same run: the segmentation itself (the ratio
says how much longer the files take than the layers), and, at the largest
size, the same run with the encoders sss used before (each PNG encoded in
turn by Pillow at zlib level 6, :func:`numpy.savez_compressed`) swapped in,
so that the encoders' share is compared on the same machine state.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from _common import machine, publish, run_child, today

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent

_CHILD = r"""
import io, json, os, resource, sys, time
sys.path.insert(0, {bench!r})
import numpy as np
from PIL import Image
import sss, sss.cli as cli, sss.export as ex, sss.export.ora as ora
from photos import photo
name, h, w, old, tmp = {name!r}, {h}, {w}, {old!r}, {tmp!r}
src = os.path.join(tmp, name + ".jpg")
Image.fromarray(photo(name, (h, w))).save(src, quality=95)
if old:  # the encoders before 2026-12-01: Pillow's PNG encoder, one image at a time
    def png_bytes(a, icc=None, level=6, exif=None):
        buf = io.BytesIO(); kw = {{}} if icc is None else {{"icc_profile": icc}}
        if exif is not None: kw["exif"] = exif
        Image.fromarray(a).save(buf, format="PNG", compress_level=level, **kw)
        return buf.getvalue()
    import threading
    import sss.export.bands as bands, sss.export.encode as enc
    one_at_a_time = threading.Lock()
    class PillowStream:  # the rows gathered, then the whole image encoded by Pillow
        def __init__(self, h, w, planes, bits, icc=None, level=6, exif=None):
            self.rows, self.args = [], (icc, level, exif)
        def write(self, rows):
            self.rows.append(np.array(rows))
        def finish(self):
            with one_at_a_time:
                return png_bytes(np.concatenate(self.rows), *self.args)
    bands.PngStream = PillowStream
    enc.png_bytes = png_bytes
    ora.png_bytes_many = lambda arrays, *args: [png_bytes(a, *args) for a in arrays]
    def npz_bytes(arrays):
        buf = io.BytesIO(); np.savez_compressed(buf, **arrays); return buf.getvalue()
    ex.npz_bytes = npz_bytes
t = {{}}
def timed(key, fn):
    def run(*a, **k):
        s = time.perf_counter()
        try:
            return fn(*a, **k)
        finally:
            t[key] = t.get(key, 0.0) + time.perf_counter() - s
    return run
cli.segment = timed("segment", cli.segment)
cli.layer_colors = timed("colours", cli.layer_colors)
cli.save_layers = timed("files", cli.save_layers)
out = os.path.join(tmp, "out")
s = time.perf_counter()
cli.segment_file(src, out)
t["total"] = time.perf_counter() - s
t["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
t["mb_written"] = sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out)) / 1e6
print(json.dumps(t))
"""


def run_one(name, h, w, old=False):
    with tempfile.TemporaryDirectory() as tmp:
        code = _CHILD.format(bench=str(BENCH), name=name, h=h, w=w, old=old, tmp=tmp)
        return run_child(code, f"{name} {w}x{h}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", default="docia,coffee,motorcycle,GT04")
    ap.add_argument("--sizes", default="2448x1632,4000x3000")
    ap.add_argument("--update-readme", action="store_true")
    a = ap.parse_args(argv)
    names = a.photos.split(",")
    sizes = [tuple(int(v) for v in s.split("x"))[::-1] for s in a.sizes.split(",")]
    rows, res = [], {}
    for h, w in sizes:
        for n in names:
            r = run_one(n, h, w)
            res[(n, h, w)] = r
            print(n, f"{w}x{h}", {k: round(v, 2) for k, v in r.items()}, flush=True)
    big = max(sizes, key=lambda s: s[0] * s[1])
    old = {}
    for n in names:
        old[n] = run_one(n, *big, old=True)
        print(n, "old encoders", {k: round(v, 2) for k, v in old[n].items()}, flush=True)

    lines = ["| photo | size | segment s | colours s | files s | total s | total / segment "
             "| peak MiB | MB written |", "| --- | --- |" + " ---: |" * 7]
    for h, w in sizes:
        for n in names:
            r = res[(n, h, w)]
            lines.append(f"| {n} | {w}x{h} | {r['segment']:.1f} | {r['colours']:.1f} | "
                         f"{r['files']:.1f} | {r['total']:.1f} | {r['total'] / r['segment']:.1f} "
                         f"| {r['peak_mib']:.0f} | {r['mb_written']:.0f} |")
        med = {k: float(np.median([res[(n, h, w)][k] for n in names]))
               for k in ("segment", "colours", "files", "total", "peak_mib", "mb_written")}
        lines.append(f"| **median** | {w}x{h} | {med['segment']:.1f} | {med['colours']:.1f} | "
                     f"{med['files']:.1f} | **{med['total']:.1f}** | "
                     f"{med['total'] / med['segment']:.1f} | {med['peak_mib']:.0f} | "
                     f"{med['mb_written']:.0f} |")
    ratio = float(np.median([res[(n, *big)]["files"] / old[n]["files"] for n in names]))
    size_ratio = float(np.median([res[(n, *big)]["mb_written"] / old[n]["mb_written"]
                                  for n in names]))
    notes = (f"{today()}, {machine()}. One fresh process per photo and size "
             "(`python bench/bench_files.py --update-readme`); the photo is read from a JPEG "
             "(quality 95). *total* includes reading it; *colours* is the layer colours' "
             "estimation at the working size; *files* is making the full-size colours, "
             "rendering (a band of rows at a time) and writing the overview, the layer PNGs, "
             "the OpenRaster file and the npz.\n\n"
             f"Same run, {big[1]}x{big[0]}, with the encoders used before 2026-12-01 swapped in "
             "(each PNG gathered whole, then encoded by Pillow at zlib level 6, one at a time; "
             "`numpy.savez_compressed`): the files take "
             f"{1 / ratio:.2f}x as long as with the current ones (median over the photos), for "
             f"{1 / size_ratio:.2f}x the bytes.")
    publish("files", "Photo to files: `sss segment` end to end on large photos", lines,
            a.update_readme, notes)


if __name__ == "__main__":
    main()
