"""sss view: the local page, its files, and the page run in headless Chromium."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import urllib.request

import numpy as np
import pytest
from PIL import Image

import sss
from _pipeline_cases import small
from sss.viewer import make_server


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    out = tmp_path_factory.mktemp("view")
    yy, xx = np.mgrid[0:48, 0:64] / 64.0
    img = np.stack([xx, yy, 0.5 + 0.4 * np.sin(8 * xx)], -1)
    seg = sss.segment(img, img[..., ::-1].copy(), progress=False, **small())
    seg.save(out, formats=("npz",), name="photo")
    server = make_server(out)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", seg, out
    server.shutdown()
    server.server_close()


def _get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status, r.headers["Content-Type"], r.read()


def test_page_and_files(served):
    url, seg, _ = served
    status, ctype, body = _get(url)
    assert status == 200 and ctype.startswith("text/html") and b"sss view: photo" in body
    layers = json.loads(_get(url + "layers.json")[2])
    assert [L["name"] for L in layers] == ["layer 0", "layer 1", "layer 2"]
    import io
    px = np.asarray(Image.open(io.BytesIO(_get(url + "layer1.png")[2])))
    assert px.shape == (48, 64, 4)
    np.testing.assert_allclose(px / 255.0, np.clip(seg.layer(1), 0, 1), atol=0.51 / 255)
    with pytest.raises(urllib.error.HTTPError):
        _get(url + "../../etc/passwd")


def test_a_name_from_a_file_is_escaped_and_other_hosts_are_refused(served, tmp_path):
    import http.client
    import os

    _, seg, out = served
    # a result file named with markup (a photo may be named so): shown as text
    name = "<img src=x onerror=alert(1)>"
    os.link(out / "photo_alphas.npz", tmp_path / f"{name}_alphas.npz")
    server = make_server(tmp_path)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        body = _get(f"http://127.0.0.1:{port}/")[2].decode()
        assert "<img src=x" not in body and "&lt;img src=x onerror=alert(1)&gt;" in body
        for host, status in (("evil.example.com", 403), (f"evil.example.com:{port}", 403),
                             (f"localhost:{port}", 200), (f"[::1]:{port}", 200), ("", 403)):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            c.putrequest("GET", "/", skip_host=True)
            if host:
                c.putheader("Host", host)
            c.endheaders()
            assert c.getresponse().status == status, host
            c.close()
    finally:
        server.shutdown()
        server.server_close()


def test_view_port_out_of_range_is_a_usage_error(capsys):
    from sss import cli
    with pytest.raises(SystemExit) as e:
        cli.main(["view", "x", "--port", "70000"])
    assert e.value.code == 2 and "must be <= 65535" in capsys.readouterr().err


def test_view_refuses_a_folder_without_a_result(tmp_path, capsys):
    from sss import cli
    assert cli.main(["view", str(tmp_path), "--no-browser", "--port", "0"]) == 2
    assert "expected one" in capsys.readouterr().err


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian: chromium)")
def test_page_in_headless_chromium(served, tmp_path):
    """The page's script loads every layer and merges two (?merge=0,2); a
    screenshot is written for a person to look at."""
    url, _, _ = served
    base = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
            "--virtual-time-budget=8000", f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(base + ["--dump-dom", url + "?merge=0,2"], capture_output=True,
                         text=True, timeout=120).stdout
    assert 'data-ready="1"' in dom
    assert "layer 0 + layer 2" in dom and dom.count('class="layer"') == 2
    shot = tmp_path / "viewer.png"
    subprocess.run(base + ["--window-size=1400,800", f"--screenshot={shot}", url],
                   capture_output=True, timeout=120)
    img = np.asarray(Image.open(shot).convert("RGB"))
    assert img.shape[:2] == (800, 1400) and img.std() > 10  # not a blank page
