#!/usr/bin/env python3
"""Open sss's OpenRaster stacks in the real editors and compare what they show.

    PYTHONPATH=python python tools/check_ora_in_editors.py [--side 128] [--workdir DIR]
        [--gimp3-chroot DIR] [--emulate-gimp-loader]

Segments a small real photo (examples/data/astronaut.jpg resized to --side px)
with ``sss segment --format ora,npz``, writes the same layers as an .ora for
each --ora-space, then asks every editor it finds to open each .ora headless,
flatten it and export a PNG, and prints per editor and space: the number of
layers the editor saw and the max / mean absolute difference from the photo in
8-bit levels.

Editors (none is a dependency of sss; tools/bootstrap.sh does not install them):

* Krita (``krita`` and ``xvfb-run`` on PATH): ``krita F.ora --export
  --export-filename out.png`` flattens; a second export to .kra gives the
  layer stack Krita built (maindoc.xml).
* GIMP 3 (``gimp-console-3.0`` on PATH, or inside a Debian trixie chroot given
  with --gimp3-chroot): its own file-openraster plug-in loads the .ora
  (python-fu batch), then the visible layers are merged and exported. Also
  run with every layer's composite space set to "RGB (perceptual)" (the
  remedy docs/outputs.md gives for the srgb stack).
* GIMP 2.10 (``gimp`` on PATH): tried with gimp-file-load. Debian 12's GIMP
  2.10 has no OpenRaster loader (it is a Python 2 plug-in and Debian ships no
  Python 2), so this fails with "Unknown file type". With
  --emulate-gimp-loader the stack is then rebuilt the way that plug-in does it
  (each PNG loaded with gimp-file-load-layer into an RGB image, mode from the
  same composite-op table, svg:src-over -> LAYER-MODE-NORMAL, opacity 100),
  which checks GIMP 2.10's compositing but not its loader; it is labelled
  "gimp-2.10 (emulated loader)".

The functions are also used by tests/test_editors.py.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
PHOTO = ROOT / "examples" / "data" / "astronaut.jpg"
SPACES = ("srgb", "linear")

# The GIMP OpenRaster plug-in's table (2.10 and 3.0 agree for svg:src-over) for
# the one operator sss writes.
_GIMP210_MODES = {"svg:src-over": "LAYER-MODE-NORMAL"}


def read_rgb(path) -> np.ndarray:
    """(H, W, 3) int array of an image file's 8-bit RGB values (alpha must be opaque)."""
    im = Image.open(path)
    a = np.asarray(im.convert("RGBA")).astype(np.int64)
    if a[..., 3].min() < 255:
        raise RuntimeError(f"{path}: the flattened image is not opaque "
                           f"(min alpha {a[..., 3].min()})")
    return a[..., :3]


def difference(shown: np.ndarray, photo: np.ndarray) -> tuple[int, float]:
    """Max and mean absolute difference in 8-bit levels."""
    if shown.shape != photo.shape:
        raise RuntimeError(f"editor image {shown.shape} does not match photo {photo.shape}")
    d = np.abs(shown.astype(np.int64) - photo.astype(np.int64))
    return int(d.max()), float(d.mean())


def ora_layer_count(path) -> int:
    with zipfile.ZipFile(path) as z:
        return len(ET.fromstring(z.read("stack.xml")).findall(".//layer"))


# ---------------------------------------------------------------- Krita
def krita_available() -> bool:
    return shutil.which("krita") is not None and shutil.which("xvfb-run") is not None


def krita_version() -> str:
    out = _run(["xvfb-run", "-a", "krita", "--version"], timeout=120, env=_krita_env())
    return out.strip().splitlines()[-1] if out.strip() else "krita (unknown version)"


def _krita_env() -> dict:
    env = dict(os.environ)
    # a private profile: no user settings, no first-run state shared with anyone
    home = Path(tempfile.gettempdir()) / "sss-editor-check-home"
    home.mkdir(exist_ok=True)
    env["HOME"] = str(home)
    env.pop("QT_QPA_PLATFORM", None)  # Krita insists on xcb: give it Xvfb
    return env


def krita_open(ora, workdir) -> tuple[np.ndarray, int]:
    """Krita opens `ora`; returns the flattened RGB it exports and its layer count."""
    ora, workdir = Path(ora), Path(workdir)
    png = workdir / (ora.stem + "_krita.png")
    kra = workdir / (ora.stem + "_krita.kra")
    for target in (png, kra):
        target.unlink(missing_ok=True)
        _run(["xvfb-run", "-a", "krita", str(ora), "--export", "--export-filename",
              str(target)], timeout=300, env=_krita_env())
        if not target.exists():
            raise RuntimeError(f"Krita did not write {target}")
    with zipfile.ZipFile(kra) as z:
        doc = ET.fromstring(z.read("maindoc.xml"))
    n = sum(1 for el in doc.iter() if el.tag.endswith("layer")
            and el.get("nodetype") == "paintlayer")
    return read_rgb(png), n


# ---------------------------------------------------------------- GIMP 3
_GIMP3_SCRIPT = r'''
from gi.repository import Gimp, Gio
for src, dst, perceptual in JOBS:
    img = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(src))
    layers = img.get_layers()
    print("SSS-LAYERS", dst, len(layers), ",".join(l.get_mode().value_nick for l in layers),
          flush=True)
    if perceptual:
        for l in layers:
            l.set_composite_space(Gimp.LayerColorSpace.RGB_PERCEPTUAL)
    img.merge_visible_layers(Gimp.MergeType.CLIP_TO_IMAGE)
    Gimp.file_save(Gimp.RunMode.NONINTERACTIVE, img, Gio.File.new_for_path(dst), None)
    img.delete()
'''


def gimp3_command(chroot=None) -> list[str] | None:
    """The command that runs GIMP 3's console binary, or None."""
    if chroot:
        if Path(chroot, "usr/bin/gimp-console-3.0").exists():
            return ["chroot", str(chroot), "gimp-console-3.0"]
        return None
    exe = shutil.which("gimp-console-3.0") or shutil.which("gimp-console-3")
    return [exe] if exe else None


def gimp3_open(oras, workdir, *, chroot=None, perceptual=False) -> dict:
    """GIMP 3 opens each .ora with its own loader; returns {ora: (rgb, layers, modes)}."""
    cmd = gimp3_command(chroot)
    if cmd is None:
        raise RuntimeError("GIMP 3 (gimp-console-3.0) not found")
    base = Path(tempfile.mkdtemp(prefix="sss-gimp3-", dir=Path(chroot, "tmp") if chroot
                                 else None))
    inside = (lambda p: "/" + str(p.relative_to(chroot))) if chroot else str
    jobs = []
    for i, ora in enumerate(oras):
        src = base / f"{i}_{Path(ora).name}"
        shutil.copy(ora, src)
        tag = "_gimp3p" if perceptual else "_gimp3"
        jobs.append((src, base / (src.stem + tag + ".png")))
    script = base / "job.py"
    script.write_text("JOBS = %r\n" % [(inside(s), inside(d), perceptual) for s, d in jobs]
                      + _GIMP3_SCRIPT)
    env = dict(os.environ, HOME=inside(base))
    out = _run(cmd + ["-i", "-n", "-d", "-f", "--quit", "--batch-interpreter=python-fu-eval",
                      "-b", f"exec(open({inside(script)!r}).read())"], timeout=600, env=env)
    seen = {m.group(1): (int(m.group(2)), m.group(3))
            for m in re.finditer(r"SSS-LAYERS (\S+) (\d+) (\S*)", out)}
    result = {}
    for ora, (src, dst) in zip(oras, jobs):
        if not dst.exists() or inside(dst) not in seen:
            raise RuntimeError(f"GIMP 3 did not open/export {ora}:\n{out[-2000:]}")
        n, modes = seen[inside(dst)]
        result[ora] = (read_rgb(dst), n, modes)
        shutil.copy(dst, Path(workdir) / dst.name)
    shutil.rmtree(base, ignore_errors=True)
    return result


def gimp3_version(chroot=None) -> str:
    cmd = gimp3_command(chroot)
    return _run(cmd + ["--version"], timeout=120).strip() if cmd else ""


# ---------------------------------------------------------------- GIMP 2.10
def gimp2_available() -> bool:
    return shutil.which("gimp") is not None


def gimp2_version() -> str:
    return _run(["gimp", "--version"], timeout=120).strip()


def _gimp2_batch(*commands) -> str:
    env = dict(os.environ, HOME=str(Path(tempfile.gettempdir()) / "sss-editor-check-home"))
    Path(env["HOME"]).mkdir(exist_ok=True)
    args = ["gimp", "-i", "-n", "-d", "-f", "-c", "--batch-interpreter=plug-in-script-fu-eval"]
    for c in commands:
        args += ["-b", c]
    return _run(args + ["-b", "(gimp-quit 0)"], timeout=300, env=env)


def gimp2_try_load(ora) -> str | None:
    """None if GIMP 2.10 loads the .ora itself, else GIMP's error message."""
    out = _gimp2_batch(f'(gimp-file-load RUN-NONINTERACTIVE "{ora}" "{ora}")')
    m = re.search(r"Error: (.*(?:\n.+)?)", out)
    return " ".join(m.group(1).split()) if m else None


def gimp2_open_psd(psd, workdir) -> tuple[np.ndarray, int]:
    """Open a layered .psd with GIMP 2.10's own PSD loader; the number of
    layers and the visible layers merged, as RGB."""
    psd, workdir = Path(psd), Path(workdir)
    out_png = workdir / (psd.stem + "_gimp210_psd.png")
    out = _gimp2_batch(
        f'(let* ((img (car (gimp-file-load RUN-NONINTERACTIVE "{psd}" "{psd}"))))'
        ' (gimp-message (string-append "SSS-LAYERS " (number->string'
        ' (car (gimp-image-get-layers img)))))'
        ' (let ((m (car (gimp-image-merge-visible-layers img CLIP-TO-IMAGE))))'
        f' (gimp-file-save RUN-NONINTERACTIVE img m "{out_png}" "{out_png}")))')
    m = re.search(r"SSS-LAYERS (\d+)", out)
    if m is None or not out_png.exists():
        raise RuntimeError(f"GIMP 2.10 did not open {psd}:\n{out[-2000:]}")
    return read_rgb(out_png), int(m.group(1))


def gimp2_emulated_open(ora, workdir, *, perceptual=False) -> tuple[np.ndarray, int]:
    """Rebuild the stack as GIMP's OpenRaster plug-in would, in GIMP 2.10; flatten."""
    ora, workdir = Path(ora), Path(workdir)
    tmp = Path(tempfile.mkdtemp(prefix="sss-gimp2-"))
    with zipfile.ZipFile(ora) as z:
        root = ET.fromstring(z.read("stack.xml"))
        lines = [f'(let* ((img (car (gimp-image-new {root.get("w")} {root.get("h")} RGB))))']
        for n, el in enumerate(root.find("stack").findall("layer")):
            png = tmp / f"{n}.png"
            png.write_bytes(z.read(el.get("src")))
            mode = _GIMP210_MODES[el.get("composite-op", "svg:src-over")]
            opacity = 100.0 * float(el.get("opacity", "1.0"))
            space = ("(gimp-layer-set-composite-space l LAYER-COLOR-SPACE-RGB-PERCEPTUAL)"
                     if perceptual else "")
            lines.append(f' (let ((l (car (gimp-file-load-layer RUN-NONINTERACTIVE img "{png}"))))'
                         f' (gimp-layer-set-mode l {mode}) {space}'
                         f' (gimp-layer-set-opacity l {opacity})'
                         f' (gimp-image-insert-layer img l 0 {n}))')
    out_png = workdir / (ora.stem + ("_gimp210p.png" if perceptual else "_gimp210.png"))
    lines.append(' (gimp-message (string-append "SSS-LAYERS " (number->string'
                 ' (car (gimp-image-get-layers img)))))')
    lines.append(' (let ((m (car (gimp-image-merge-visible-layers img CLIP-TO-IMAGE))))'
                 f' (gimp-file-save RUN-NONINTERACTIVE img m "{out_png}" "{out_png}")))')
    out = _gimp2_batch("\n".join(lines))
    shutil.rmtree(tmp, ignore_errors=True)
    m = re.search(r"SSS-LAYERS (\d+)", out)
    if m is None or not out_png.exists():
        raise RuntimeError(f"GIMP 2.10 did not rebuild {ora}:\n{out[-2000:]}")
    return read_rgb(out_png), int(m.group(1))


# ---------------------------------------------------------------- helpers
def _run(cmd, *, timeout, env=None) -> str:
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=timeout, env=env, errors="replace")
    return p.stdout


def make_stacks(workdir, *, side=128, photo=PHOTO, spaces=SPACES) -> tuple[Path, dict]:
    """Resize the photo, run ``sss segment --format ora,npz`` once (first space)
    and write the same layers as an .ora for the other spaces.

    Returns the photo PNG and {space: ora path}.
    """
    import sss
    from sss.export import write_ora

    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    small = workdir / "photo.png"
    im = Image.open(photo).convert("RGB")
    s = side / max(im.size)
    im.resize((max(1, round(im.width * s)), max(1, round(im.height * s))),
              Image.Resampling.LANCZOS).save(small)
    oras = {}
    out = workdir / spaces[0]
    subprocess.run([sys.executable, "-m", "sss", "segment", str(small), "-o", str(out),
                    "--max-side", "0", "--format", "ora,npz", "--ora-space", spaces[0],
                    "--quiet"], check=True, env=dict(os.environ, PYTHONPATH=str(ROOT / "python")
                                                      + os.pathsep
                                                      + os.environ.get("PYTHONPATH", "")))
    oras[spaces[0]] = out / "photo.ora"
    img = np.asarray(Image.open(small), dtype=np.float64) / 255.0
    alphas = np.load(out / "photo_alphas.npz")["layer_alphas"].astype(np.float64)
    colors = sss.estimate_layer_colors(img, alphas)
    for space in spaces[1:]:
        d = workdir / space
        d.mkdir(exist_ok=True)
        write_ora(d / "photo.ora", img, alphas, colors, space=space)
        oras[space] = d / "photo.ora"
    return small, oras


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--side", type=int, default=128, help="longer side of the test photo, px")
    ap.add_argument("--photo", type=Path, default=PHOTO)
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--gimp3-chroot", type=Path, default=None,
                    help="a root file system with GIMP 3 (e.g. debootstrap trixie + gimp)")
    ap.add_argument("--emulate-gimp-loader", action="store_true",
                    help="if GIMP 2.10 cannot open .ora, rebuild the stack as its plug-in would")
    args = ap.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="sss-ora-editors-"))
    photo_png, oras = make_stacks(workdir, side=args.side, photo=args.photo)
    photo = read_rgb(photo_png)
    print(f"photo {photo_png} {photo.shape[1]}x{photo.shape[0]}; stacks of "
          f"{ora_layer_count(oras['srgb'])} layers in {workdir}")
    rows = []

    def report(editor, space, rgb, n, note=""):
        mx, mean = difference(rgb, photo)
        rows.append((editor, space, n, mx, mean, note))
        print(f"  {editor:<34} --ora-space {space:<6}  layers {n:>2}  "
              f"max {mx:>3}  mean {mean:6.3f}  {note}", flush=True)

    if krita_available():
        print(krita_version())
        for space, ora in oras.items():
            rgb, n = krita_open(ora, workdir)
            report("krita", space, rgb, n)
    else:
        print("Krita: not found (needs krita and xvfb-run on PATH)")
    if gimp3_command(args.gimp3_chroot):
        print(gimp3_version(args.gimp3_chroot))
        for perceptual in (False, True):
            res = gimp3_open(list(oras.values()), workdir, chroot=args.gimp3_chroot,
                             perceptual=perceptual)
            for space, ora in oras.items():
                rgb, n, modes = res[ora]
                report("gimp-3" + (" (composite space perceptual)" if perceptual else ""),
                       space, rgb, n, f"modes {modes}")
    else:
        print("GIMP 3: not found (gimp-console-3.0; or pass --gimp3-chroot)")
    if gimp2_available():
        print(gimp2_version())
        err = gimp2_try_load(oras["srgb"])
        if err is None:
            print("  GIMP 2.10 opens .ora itself (its OpenRaster plug-in is installed)")
        else:
            print(f"  GIMP 2.10 cannot open .ora here: {err}")
        if err is None or args.emulate_gimp_loader:
            for perceptual in (False, True):
                for space, ora in oras.items():
                    rgb, n = gimp2_emulated_open(ora, workdir, perceptual=perceptual)
                    report("gimp-2.10 (emulated loader" + (", perceptual)" if perceptual
                                                            else ")"), space, rgb, n)
    else:
        print("GIMP 2.10: not found")
    return 0


if __name__ == "__main__":
    sys.exit(main())
