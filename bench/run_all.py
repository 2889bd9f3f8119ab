"""Run every benchmark script in bench/ and refresh the tables in bench/README.md.

    python bench/run_all.py            # all bench_*.py, --update-readme
    python bench/run_all.py matting    # only bench_matting.py

Each script measures its own baseline in the same run and reports ratios.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    scripts = sorted(BENCH.glob("bench_*.py"))
    if argv:
        scripts = [s for s in scripts if any(a in s.stem for a in argv)]
    failed = []
    for script in scripts:
        print(f"== {script.name}", flush=True)
        res = subprocess.run([sys.executable, str(script), "--update-readme"], cwd=BENCH)
        if res.returncode:
            failed.append(script.name)
    if failed:
        print("failed: " + ", ".join(failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
