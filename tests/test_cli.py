"""The ``sss`` command line: arguments, batches with failures, output files,
progress. The segmentation itself is replaced by a small stand-in here (the
end-to-end run with the real pipeline is test_cli_end_to_end below)."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import sss
import sss.cli
from sss import cli, export
from sss._batchprogress import BatchProgress as Progress

REPO = Path(__file__).resolve().parents[1]


def _fake_segment(calls):
    """Soft layers from colour distances to K fixed colours: depends on the image."""
    def segment(image, features=None, *, num_layers=5, seed=0, progress=True, **kw):
        calls.append({"shape": image.shape, "features": None if features is None
                      else features.shape, "num_layers": num_layers, "seed": seed,
                      "method": kw.get("method"), "model": kw.get("model")})
        rng = np.random.default_rng(seed)
        centres = rng.random((num_layers, 3))
        d = ((image[..., None, :] - centres) ** 2).sum(-1)
        a = np.exp(-d / 0.02)
        a = a / a.sum(-1, keepdims=True) * 1.08 - 0.02  # raw alphas stray outside [0, 1]
        return types.SimpleNamespace(alphas=a.astype(np.float32),
                                     eigenvalues=np.linspace(0, 1e-3, 10))
    return segment


@pytest.fixture
def fake(monkeypatch):
    calls = []
    monkeypatch.setattr(sss.cli, "segment", _fake_segment(calls))
    return calls


@pytest.fixture
def photo(tmp_path, rng):
    h, w = 36, 50
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.stack([xx / w, yy / h, 0.5 + 0.4 * np.sin(xx / 4.0)], -1)
    img = (img * 255).round().astype(np.uint8)
    p = tmp_path / "in" / "photo.png"
    p.parent.mkdir()
    Image.fromarray(img).save(p)
    return p, img / 255.0


def _run(argv, capsys):
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_outputs_recompose_the_photo(tmp_path, photo, fake, capsys):
    p, img = photo
    code, out, err = _run(["segment", str(p), "-o", str(tmp_path / "out"), "--layers", "4"],
                          capsys)
    assert code == 0, err
    names = sorted(os.listdir(tmp_path / "out"))
    assert names == sorted(["photo_overview.png", "photo.ora", "photo_alphas.npz"]
                           + [f"photo_layer{i}.png" for i in range(4)])
    stack = np.stack([np.asarray(Image.open(tmp_path / "out" / f"photo_layer{i}.png"))
                      for i in range(4)])
    assert stack.shape == (4,) + img.shape[:2] + (4,)
    assert np.abs(export.composite_additive(stack) - img).max() <= 3 / 255
    assert fake[0]["num_layers"] == 4 and fake[0]["shape"] == img.shape
    with np.load(tmp_path / "out" / "photo_alphas.npz") as z:
        assert z["alphas"].shape == img.shape[:2] + (4,)
        assert z["alphas"].min() < 0  # raw alphas are kept
        assert "eigenvalues" in z
    assert out == ""  # everything goes to stderr
    assert "photo.png: done" in err


def test_max_side_downsizes_and_layers_are_written_at_photo_size(tmp_path, photo, fake,
                                                                 capsys):
    p, img = photo
    code, _, err = _run(["segment", str(p), "-o", str(tmp_path / "o"), "--max-side", "20",
                         "--format", "png,npz,ora"], capsys)
    assert code == 0, err
    assert fake[0]["shape"] == (14, 20, 3)  # 36x50 -> longer side 20
    stack = np.stack([np.asarray(Image.open(tmp_path / "o" / f"photo_layer{i}.png"))
                      for i in range(5)])
    assert stack.shape[1:3] == img.shape[:2]
    assert np.abs(export.composite_additive(stack) - img).max() <= 3 / 255
    assert np.all(stack[..., 3].astype(int).sum(0) == 255)
    with np.load(tmp_path / "o" / "photo_alphas.npz") as z:
        assert z["alphas"].shape == (14, 20, 5)  # raw, at the working size
        assert z["layer_alphas"].shape == img.shape[:2] + (5,)
        np.testing.assert_array_equal(z["photo_size"], img.shape[:2])
    assert not (tmp_path / "o" / "photo_overview.png").exists()


def test_batch_goes_on_after_failures_and_exits_nonzero(tmp_path, photo, fake, capsys):
    p, img = photo
    bad = tmp_path / "in" / "notes.jpg"
    bad.write_text("not a photo")
    missing = tmp_path / "in" / "missing.png"
    code, _, err = _run(["segment", str(bad), str(missing), str(p), "-o",
                         str(tmp_path / "o"), "--format", "png"], capsys)
    assert code == 1
    assert (tmp_path / "o" / "photo_layer0.png").exists()  # the good one after the bad ones
    assert f"sss: error: {bad}: not an image file" in err
    assert f"{missing}: no such file" in err
    assert "1 of 3 photo(s) done, 2 failed" in err


def test_quiet_is_silent_on_success_but_reports_errors(tmp_path, photo, fake, capsys):
    p, _ = photo
    code, out, err = _run(["segment", str(p), "-o", str(tmp_path / "o"), "--quiet",
                           "--format", "npz"], capsys)
    assert code == 0 and out == "" and err == ""
    code, out, err = _run(["segment", str(tmp_path / "nope.png"), "-o", str(tmp_path / "o"),
                           "-q"], capsys)
    assert code == 1 and "no such file" in err


def test_a_failed_run_leaves_no_output_folder_behind(tmp_path, photo, fake, capsys):
    """The folders a run creates are removed again when nothing was written into them
    (every photo failed); a folder that existed before is kept, and a run that writes
    keeps the folder it created."""
    p, _ = photo
    missing = tmp_path / "in" / "missing.png"
    new = tmp_path / "a" / "b" / "out"
    code, _, err = _run(["segment", str(missing), "-o", str(new), "-q"], capsys)
    assert code == 1 and "no such file" in err
    assert not (tmp_path / "a").exists()  # the parents created for it too
    before = tmp_path / "existing"
    before.mkdir()
    code, _, _ = _run(["segment", str(missing), "-o", str(before), "-q"], capsys)
    assert code == 1 and before.is_dir() and not any(before.iterdir())
    code, _, err = _run(["segment", str(missing), str(p), "-o", str(new), "-q",
                         "--format", "npz"], capsys)
    assert code == 1 and (new / "photo_alphas.npz").is_file()


def test_an_interrupted_run_leaves_no_output_folder_behind(tmp_path, photo, monkeypatch,
                                                          capsys):
    p, _ = photo

    def interrupted(*a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr(sss.cli, "segment", interrupted)
    code, _, err = _run(["segment", str(p), "-o", str(tmp_path / "new" / "out"), "-q"],
                        capsys)
    assert code == 130 and "interrupted" in err
    assert not (tmp_path / "new").exists()


def test_rgba_warning_is_reported(tmp_path, photo, fake, capsys):
    _, img = photo
    rgba = np.dstack([(img * 255).astype(np.uint8), np.full(img.shape[:2], 100, np.uint8)])
    p = tmp_path / "t.png"
    Image.fromarray(rgba).save(p)
    code, _, err = _run(["segment", str(p), "-o", str(tmp_path / "o"), "--format", "npz"],
                        capsys)
    assert code == 0
    assert "warning" in err and "white background" in err


def test_features_are_passed_resized(tmp_path, photo, fake, capsys):
    p, img = photo
    f = tmp_path / "f.npy"
    np.save(f, np.random.default_rng(0).random(img.shape[:2] + (8,)))
    code, _, err = _run(["segment", str(p), "-o", str(tmp_path / "o"), "--features", str(f),
                         "--max-side", "25", "--format", "npz"], capsys)
    assert code == 0, err
    assert fake[0]["features"] == (18, 25, 8)
    # a features file of the wrong size is a per-file error
    np.save(f, np.zeros((5, 5, 3)))
    code, _, err = _run(["segment", str(p), "-o", str(tmp_path / "o"), "--features", str(f),
                         "--format", "npz"], capsys)
    assert code == 1 and "do not match" in err
    # one --features per photo
    code, _, err = _run(["segment", str(p), str(p), "-o", str(tmp_path / "o"),
                         "--features", str(f)], capsys)
    assert code == 2 and "once per photo" in err


def test_seed_and_duplicate_names(tmp_path, photo, fake, capsys):
    p, _ = photo
    other = tmp_path / "other"
    other.mkdir()
    (other / "photo.png").write_bytes(p.read_bytes())
    code, _, err = _run(["segment", str(p), str(other / "photo.png"), "-o", str(tmp_path / "o"),
                         "--seed", "7", "--format", "npz"], capsys)
    assert code == 0, err
    assert [c["seed"] for c in fake] == [7, 7]
    assert sorted(os.listdir(tmp_path / "o")) == ["photo-2_alphas.npz", "photo_alphas.npz"]


@pytest.mark.parametrize("argv, match", [
    (["segment", "x.png"], "required"),
    (["segment", "x.png", "-o", "o", "--layers", "0"], "must be >= 1"),
    (["segment", "x.png", "-o", "o", "--max-side", "-5"], "must be >= 0"),
    (["segment", "x.png", "-o", "o", "--max-side", "2"], "0 (no limit) or at least 3"),
    (["segment", "x.png", "-o", "o", "--output-max-side", "1"], "0 (no limit) or at least 3"),
    (["segment", "x.png", "-o", "o", "--seed", "-1"], "must be >= 0"),
    (["segment", "x.png", "-o", "o", "--seed", str(1 << 64)], "must be <= 18446744073709551615"),
    (["segment", "x.png", "-o", "o", "--format", "png,gif"], "unknown format"),
    (["segment", "-o", "o"], "PHOTO"),
    (["frobnicate"], "invalid choice"),
])
def test_usage_errors_exit_2(argv, match, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(argv)
    assert e.value.code == 2
    assert match in capsys.readouterr().err


def test_no_command_prints_help(capsys):
    assert cli.main([]) == 2
    assert "segment" in capsys.readouterr().err


def test_version_and_python_dash_m():
    # the subprocess must import the same sss as this test (installed or dev tree)
    env = dict(os.environ, PYTHONPATH=str(Path(sss.__file__).resolve().parents[1]))
    r = subprocess.run([sys.executable, "-m", "sss", "--version"], capture_output=True,
                       text=True, env=env, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == f"sss {sss.__version__}"
    r = subprocess.run([sys.executable, "-m", "sss", "segment", "--help"], capture_output=True,
                       text=True, env=env, timeout=60)
    assert r.returncode == 0 and "--max-side" in r.stdout


def test_console_script_is_declared():
    import tomllib

    with open(REPO / "pyproject.toml", "rb") as f:
        meta = tomllib.load(f)
    assert meta["project"]["scripts"]["sss"] == "sss.cli:main"
    deps = " ".join(meta["project"]["dependencies"])
    assert "Pillow" in deps


# ---------------------------------------------------------------- progress
class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_on_a_terminal():
    s = _Tty()
    pr = Progress(4, stream=s)
    for i in range(4):
        pr.start_file(f"f{i}.jpg")
        pr.stage("segmenting")
        pr.end_file(ok=i != 2)
    pr.close()
    text = s.getvalue()
    assert "\r" in text and "[" + "#" * 24 + "] 4/4 100%" in text
    assert "[" + "#" * 6 + "." * 18 + "] 1/4  25%" in text
    assert "f1.jpg: segmenting" in text  # the current stage is on the status line
    assert "f2.jpg: FAILED" in text and "left" in text


def test_progress_within_the_rendering_of_the_files(tmp_path, rng, monkeypatch):
    # save_layers renders the images a band of rows at a time; on a terminal the
    # status line shows how much of the files is done, elsewhere one line per step
    import types

    import sss.export.bands as bands
    from PIL import Image

    img = rng.random((40, 30, 3))
    Image.fromarray((img * 255).astype(np.uint8)).save(tmp_path / "p.png")
    monkeypatch.setattr(cli, "segment", lambda image, features=None, **kw:
                        types.SimpleNamespace(alphas=sss.normalize_alphas(
                            rng.random(image.shape[:2] + (3,))).astype(np.float32)))
    monkeypatch.setattr(bands, "BAND_BYTES", 30 * 3 * 12 * 8)  # bands of 8 rows
    for stream, tty in ((_Tty(), True), (io.StringIO(), False)):
        pr = Progress(1, stream=stream)
        pr.start_file("p.png")
        cli.segment_file(tmp_path / "p.png", tmp_path / f"o{tty}", progress=pr)
        text = stream.getvalue()
        assert "rendering overview, layer PNGs, OpenRaster" in text
        shown = [int(x) for x in re.findall(r"\((\d+)% of the files\)", text)]
        if tty:
            assert len(shown) == 4 and shown == sorted(shown) and 0 < shown[0] < 100
        else:
            assert shown == [] and text.count("rendering overview") == 1


def test_progress_plain_lines_when_not_a_terminal_and_quiet():
    s = io.StringIO()
    pr = Progress(2, stream=s)
    pr.start_file("a.jpg")
    pr.stage("reading")
    pr.end_file(True)
    assert "\r" not in s.getvalue()
    assert "[1/2] a.jpg: reading ..." in s.getvalue() and "1/2" in s.getvalue()
    q = io.StringIO()
    pr = Progress(2, stream=q, enabled=False)
    pr.start_file("a.jpg")
    pr.stage("reading")
    pr.message("hello")
    pr.end_file(False)
    pr.close()
    assert q.getvalue() == ""


def test_ora_space_linear(tmp_path, photo, fake, capsys):
    import zipfile

    p, img = photo
    code, _, err = _run(["segment", str(p), "-o", str(tmp_path / "o"), "--format", "ora",
                         "--ora-space", "linear"], capsys)
    assert code == 0, err
    with zipfile.ZipFile(tmp_path / "o" / "photo.ora") as z:
        import xml.etree.ElementTree as ET
        layers = ET.fromstring(z.read("stack.xml")).find("stack").findall("layer")
        stack = np.stack([np.asarray(Image.open(io.BytesIO(z.read(el.get("src")))))
                          for el in layers])
    assert np.abs(export.composite_over(stack, space="linear") - img).max() <= 3 / 255


def test_pipeline_output_passes_through_the_status_line():
    s = _Tty()
    pr = Progress(2, stream=s)
    pr.start_file("a.jpg")
    pr.stage("segmenting")
    out = pr.passthrough()
    out.write("[sss] eigenvectors...")
    out.write(" 1.20 s\n")
    text = s.getvalue()
    # the status line is cleared before the pipeline's line and redrawn after it
    assert "\r\033[K[sss] eigenvectors... 1.20 s\n\r\033[K[" in text


# ---------------------------------------------------------------- end to end
def test_cli_end_to_end_with_the_real_pipeline(tmp_path, monkeypatch, capsys):
    """`sss segment` with the real sss.segment on the authors' sample photo
    and its features (downsized to 64x64, segmented at 32x32): every output
    exists, the layers are written at the photo's size and recompose it
    (additive PNGs and the OpenRaster stack), and the SoftSegments methods
    work on the real result."""
    import zipfile
    import xml.etree.ElementTree as ET

    from conftest import shared_path
    from sss.io import resize

    src = np.asarray(Image.open(shared_path("data", "docia_image_and_features.png")))
    w = src.shape[1] // 2
    photo = np.round(np.clip(resize(src[:, :w] / 255.0, 64, 64), 0, 1) * 255).astype(np.uint8)
    feats = np.round(np.clip(resize(src[:, w:] / 255.0, 64, 64), 0, 1) * 255).astype(np.uint8)
    Image.fromarray(photo).save(tmp_path / "docia.png")
    Image.fromarray(feats).save(tmp_path / "docia_features.png")
    results = []
    real = sss.segment

    def spy(*args, **kwargs):
        results.append(real(*args, **kwargs))
        return results[-1]

    monkeypatch.setattr(sss.cli, "segment", spy)
    code = cli.main(["segment", str(tmp_path / "docia.png"), "-o", str(tmp_path / "out"),
                     "--features", str(tmp_path / "docia_features.png"), "--max-side", "32"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "[sss] eigenvectors" in err and "docia.png: done" in err
    out = tmp_path / "out"
    img = photo / 255.0
    stack = np.stack([np.asarray(Image.open(out / f"docia_layer{i}.png")) for i in range(5)])
    assert stack.shape == (5, 64, 64, 4)
    assert np.abs(export.composite_additive(stack) - img).max() <= 3 / 255
    with zipfile.ZipFile(out / "docia.ora") as z:
        layers = ET.fromstring(z.read("stack.xml")).find("stack").findall("layer")
        ora = np.stack([np.asarray(Image.open(io.BytesIO(z.read(el.get("src")))))
                        for el in layers])
    assert np.abs(export.composite_over(ora) - img).max() <= 3 / 255
    seg = results[0]
    with np.load(out / "docia_alphas.npz") as z:
        np.testing.assert_array_equal(z["alphas"], seg.alphas)
        np.testing.assert_array_equal(z["eigenvalues"], seg.eigenvalues)
    assert Image.open(out / "docia_overview.png").size[0] > 2 * 32
    # the layers are real segments: each covers something, together everything
    a = sss.normalize_alphas(seg.alphas)
    assert np.all(a.reshape(-1, 5).max(0) > 0.5)
    # SoftSegments methods on the real result
    np.testing.assert_allclose(seg.composite(background=0.0), seg.image, atol=1e-6)
    assert seg.colors.shape == (32, 32, 5, 3)
    written = seg.save(tmp_path / "api", "png")
    assert len(written["png"]) == 5


def test_method_switch_and_its_default_max_side(tmp_path, fake, capsys):
    """--method reaches sss.segment; the multilevel default segments the photo
    at its own size, the reference method a copy of at most 640 pixels a side
    unless --max-side says otherwise."""
    img = (np.random.default_rng(0).random((30, 700, 3)) * 255).astype(np.uint8)
    p = tmp_path / "wide.png"
    Image.fromarray(img).save(p)
    code, _, err = _run(["segment", str(p), "-o", str(tmp_path / "a"), "--format", "npz"],
                        capsys)
    assert code == 0, err
    assert fake[-1]["method"] == "multilevel" and fake[-1]["shape"] == (30, 700, 3)
    code, _, err = _run(["segment", str(p), "-o", str(tmp_path / "b"), "--format", "npz",
                         "--method", "reference"], capsys)
    assert code == 0, err
    assert fake[-1]["method"] == "reference" and fake[-1]["shape"] == (27, 640, 3)
    code, _, err = _run(["segment", str(p), "-o", str(tmp_path / "c"), "--format", "npz",
                         "--method", "reference", "--max-side", "0"], capsys)
    assert code == 0, err
    assert fake[-1]["shape"] == (30, 700, 3)
    with pytest.raises(SystemExit):
        cli.main(["segment", str(p), "-o", str(tmp_path / "d"), "--method", "fast"])
    assert "invalid choice: 'fast'" in capsys.readouterr().err


# ---------------------------------------------------------------- batches
def _tree(tmp_path):
    rng = np.random.default_rng(1)
    (tmp_path / "in" / "sub").mkdir(parents=True)
    for rel in ("in/a.png", "in/b.jpg", "in/sub/a.png"):
        Image.fromarray((rng.random((30, 40, 3)) * 255).astype(np.uint8)).save(tmp_path / rel)
    (tmp_path / "in" / "notes.txt").write_text("not a photo")
    return tmp_path / "in"


def test_folders_recursive_summary_and_report(tmp_path, fake, capsys):
    folder = _tree(tmp_path)
    code, _, err = _run(["segment", str(folder), "-o", str(tmp_path / "o"), "--format", "npz",
                         "--report", str(tmp_path / "r.json")], capsys)
    assert code == 0, err
    assert len(fake) == 2  # a.png, b.jpg; not the text file, not the subfolder
    code, _, err = _run(["segment", str(folder), "-r", "-o", str(tmp_path / "o2"),
                         "--format", "npz", "--report", str(tmp_path / "r.csv")], capsys)
    assert code == 0, err
    assert len(fake) == 5
    names = sorted(p.name for p in (tmp_path / "o2").iterdir())
    assert names == ["a-2_alphas.npz", "a_alphas.npz", "b_alphas.npz"]
    assert "photo" in err and "seconds" in err and "status" in err  # the summary table
    import csv
    import json
    rows = list(csv.DictReader(open(tmp_path / "r.csv")))
    assert [r["status"] for r in rows] == ["ok"] * 3
    assert {r["size"] for r in rows} == {"40x30"} and {r["layers"] for r in rows} == {"5"}
    recs = json.loads((tmp_path / "r.json").read_text())
    assert [r["name"] for r in recs] == ["a", "b"] and recs[0]["seconds"] >= 0


def test_an_output_folder_inside_the_photos_folder_is_not_taken_for_photos(tmp_path, fake,
                                                                          capsys):
    # a rerun used to segment its own earlier outputs (a_layer0_layer0.png...)
    folder = _tree(tmp_path)
    args = ["segment", str(folder), "-r", "-o", str(folder / "out"), "--format",
            "overview,png"]
    assert _run(args, capsys)[0] == 0
    first = sorted(p.name for p in (folder / "out").iterdir())
    assert len(fake) == 3 and "a_layer0.png" in first
    code, _, err = _run(args, capsys)
    assert code == 0, err
    assert len(fake) == 6  # the same 3 photos again, not their 18 outputs
    assert sorted(p.name for p in (folder / "out").iterdir()) == first
    assert f"left out {len(first)} file(s) of earlier runs" in err
    # outputs written beside the photos: the photos are still taken, the outputs not
    args = ["segment", str(folder), "-o", str(folder), "--format", "overview,png"]
    assert _run(args, capsys)[0] == 0
    code, _, err = _run(args, capsys)
    assert code == 0, err
    assert len(fake) == 10 and "left out 12 file(s)" in err
    # a photo named like an output elsewhere than the output folder is a photo
    assert [p.name for p in sss.cli._expand_photos([str(folder / "out")], False)] == first


def test_hidden_files_and_folders_are_not_photos_of_a_folder_scan(tmp_path, fake, capsys):
    # e.g. the "._a.png" resource forks macOS leaves on shared drives, which are not
    # images: each was a failure of the batch
    folder = _tree(tmp_path)
    (folder / "._a.png").write_bytes(b"\x00\x05\x16\x07 AppleDouble")
    (folder / ".cache").mkdir()
    Image.fromarray(np.zeros((30, 40, 3), np.uint8)).save(folder / ".cache" / "t.png")
    code, _, err = _run(["segment", str(folder), "-r", "-o", str(tmp_path / "o"), "--format",
                         "npz"], capsys)
    assert code == 0, err
    assert len(fake) == 3  # a.png, b.jpg, sub/a.png
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == [
        "a-2_alphas.npz", "a_alphas.npz", "b_alphas.npz"]
    # named explicitly, a hidden file is taken
    assert sss.cli._expand_photos([str(folder / ".cache" / "t.png")], False) == [
        folder / ".cache" / "t.png"]


def test_skip_existing_and_model(tmp_path, fake, capsys):
    folder = _tree(tmp_path)
    model = tmp_path / "net.onnx"
    model.write_bytes(b"stand-in")  # the fake segment does not run it
    args = ["segment", str(folder), "-o", str(tmp_path / "o"), "--format", "npz,png",
            "--model", str(model)]
    code, _, err = _run(args, capsys)
    assert code == 0, err
    assert [c["model"] for c in fake] == [str(model)] * 2
    (tmp_path / "o" / "b_layer4.png").unlink()  # b's set is incomplete: redone
    code, _, err = _run(args + ["--skip-existing", "--report", str(tmp_path / "r.json")],
                        capsys)
    assert code == 0, err
    import json
    recs = json.loads((tmp_path / "r.json").read_text())
    assert [r["status"] for r in recs] == ["skipped", "ok"] and len(fake) == 3
    code, _, err = _run(["segment", str(folder), "-o", str(tmp_path / "x"), "--model",
                         str(tmp_path / "missing.onnx")], capsys)
    assert code == 2 and "--model" in err
    code, _, err = _run(["segment", str(tmp_path / "o" / "nothing-here"), "-o",
                         str(tmp_path / "y"), "--report", str(tmp_path / "r.txt")], capsys)
    assert code == 2


def test_jobs_run_photos_in_parallel_processes(tmp_path, capsys):
    """--jobs 2 with the real pipeline: every photo's outputs and an ok report."""
    folder = _tree(tmp_path)
    code, _, err = _run(["segment", str(folder), "-r", "-o", str(tmp_path / "o"), "--format",
                         "npz", "--jobs", "2", "--report", str(tmp_path / "r.json")], capsys)
    assert code == 0, err
    import json
    recs = json.loads((tmp_path / "r.json").read_text())
    assert [r["status"] for r in recs] == ["ok"] * 3
    for name in ("a", "b", "a-2"):
        with np.load(tmp_path / "o" / f"{name}_alphas.npz") as z:
            assert z["layer_alphas"].shape == (30, 40, 5)


@pytest.mark.parametrize("max_side", [None, "12", "40"])
def test_output_max_side_writes_the_files_smaller(tmp_path, photo, fake, capsys, max_side):
    """--output-max-side: the layers computed as without it (on the photo or
    its --max-side copy), the files written for a 36x50 photo's copy of
    longer side 30 (22x30), recomposing that copy."""
    p, img = photo
    argv = ["segment", str(p), "-o", str(tmp_path / "o"), "--output-max-side", "30",
            "--format", "png,npz,ora,overview"]
    if max_side:
        argv += ["--max-side", max_side]
    code, _, err = _run(argv, capsys)
    assert code == 0, err
    computed = {None: (36, 50), "12": (9, 12), "40": (29, 40)}[max_side]
    assert fake[0]["shape"] == computed + (3,)
    small = np.clip(sss.io.resize(img, 22, 30, method="bicubic"), 0, 1)
    stack = np.stack([np.asarray(Image.open(tmp_path / "o" / f"photo_layer{i}.png"))
                      for i in range(5)])
    assert stack.shape[1:3] == (22, 30)
    assert np.abs(export.composite_additive(stack) - small).max() <= 3 / 255
    with np.load(tmp_path / "o" / "photo_alphas.npz") as z:
        # raw layers: as computed, or resized to the written size if that is smaller
        assert z["alphas"].shape == (computed if computed[1] < 30 else (22, 30)) + (5,)
        assert z["layer_alphas"].shape == (22, 30, 5)
        np.testing.assert_array_equal(z["photo_size"], img.shape[:2])
        np.testing.assert_allclose(z["image"], small, atol=1e-6)
    seg = sss.load(tmp_path / "o" / "photo_alphas.npz")
    assert seg.alphas.shape == (22, 30, 5) and seg.image.shape == (22, 30, 3)
    # a photo already within the size is written at its own size
    code, _, err = _run(["segment", str(p), "-o", str(tmp_path / "o2"), "--output-max-side",
                         "50", "--format", "png"], capsys)
    assert code == 0, err
    assert np.asarray(Image.open(tmp_path / "o2" / "photo_layer0.png")).shape[:2] == (36, 50)


def test_segment_file_checks_output_max_side(tmp_path, photo, fake):
    p, _ = photo
    for bad, exc in [(-1, ValueError), (2.5, ValueError), ("10", TypeError)]:
        with pytest.raises(exc, match="output_max_side"):
            cli.segment_file(p, tmp_path / "o", output_max_side=bad)
    assert not fake and not (tmp_path / "o").exists()
