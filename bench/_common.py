"""Helpers shared by the benchmark scripts: test photos, timing, machine
description and the results tables in bench/README.md.

Every script times sss against a baseline measured in the same run and
reports ratios, because machines here are noisy.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import re
import sys
import time
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
# test helpers the benchmarks share (layer_match, kmeans_numpy)
sys.path.insert(0, str(REPO / "tests"))
README = BENCH / "README.md"


def photo(height: int = 480, width: int = 640, name: str = "coffee.jpg") -> np.ndarray:
    """A real photo from examples/data resized to (height, width), uint8 RGB."""
    from PIL import Image
    im = Image.open(REPO / "examples" / "data" / name).convert("RGB")
    return np.asarray(im.resize((width, height), Image.BICUBIC))


def best_time(fn, repeat: int = 5, warmup: int = 1) -> float:
    """Minimum wall time of `repeat` calls after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def run_child(code: str, what: str) -> dict:
    """Run `code` in a fresh Python process that imports this checkout's sss
    (python/ first on PYTHONPATH) and return the JSON object its last line of
    output prints; RuntimeError naming `what` with the child's stderr if it fails."""
    import json
    import subprocess

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in [str(REPO / "python"),
                                                    env.get("PYTHONPATH", "")] if p)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    if r.returncode:
        raise RuntimeError(f"{what}: {r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def today() -> str:
    return _dt.date.today().isoformat()


def write_section(key: str, markdown: str) -> None:
    """Replace (or append) the section between <!-- bench:key --> markers."""
    start, end = f"<!-- bench:{key} -->", f"<!-- /bench:{key} -->"
    block = f"{start}\n{markdown.rstrip()}\n{end}"
    text = README.read_text() if README.exists() else "# Benchmarks\n"
    if start in text:
        text = re.sub(re.escape(start) + r".*?" + re.escape(end), lambda _: block, text,
                      flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    README.write_text(text)


def publish(key: str, title: str, lines: list[str], update_readme: bool, notes: str = "") -> None:
    """Print a table (its markdown lines) and, when asked, write it with its
    title (and notes below it) as the section `key` of bench/README.md."""
    table = "\n".join(lines)
    print(table)
    if update_readme:
        write_section(key, f"## {title}\n\n{table}" + (f"\n\n{notes}" if notes else ""))
