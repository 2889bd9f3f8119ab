"""``sss.show_config()``: how this installation of sss was built and what it
uses at run time (like ``numpy.show_config()``)."""

from __future__ import annotations

import platform
import re
import sys

__all__ = ["show_config", "build_config"]

# Shared libraries worth naming when they are loaded into the process: the
# ones sss._core links (bundled into wheels by auditwheel) and their BLAS.
_RUNTIME_LIBS = re.compile(r"lib(cholmod|suitesparseconfig|amd|camd|colamd|ccolamd|metis|"
                           r"blas|openblas\w*|lapack|gomp|gfortran|quadmath)[-.]")


def _loaded_libraries() -> list[str]:
    """Paths of the shared libraries above mapped into this process (Linux)."""
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as f:
            paths = {line.split(None, 5)[5].strip() for line in f if line.count(" ") >= 5 and "/" in line}
    except OSError:
        return []
    import os
    return sorted(p for p in paths if _RUNTIME_LIBS.match(os.path.basename(p)))


def build_config() -> dict:
    """The facts :func:`show_config` prints, as nested dicts.

    ``build``: ``sss._core.build_info()`` (compiler, Eigen, Spectra, CHOLMOD,
    BLAS, OpenMP; ``None`` for what this build was made without);
    ``simd``: the kernels chosen on this CPU at run time; ``model``: the
    default feature network; ``python``: interpreter and Python
    dependencies; ``runtime_libraries``: the native libraries loaded now.
    """
    from . import __version__, _core
    from .features import DEFAULT_MODEL, default_model_path

    info = dict(_core.build_info())
    simd = info.pop("simd")
    try:
        model = str(default_model_path())
    except (FileNotFoundError, OSError) as e:
        model = f"not found ({e})"
    from .cues import SALIENCY_MODEL, _model_path
    try:
        cue_model = str(_model_path(SALIENCY_MODEL))
    except (FileNotFoundError, OSError) as e:
        cue_model = f"not found ({e})"
    deps = {}
    for name in ("numpy", "scipy", "onnxruntime", "PIL"):
        try:
            mod = __import__(name)
            deps[name] = getattr(mod, "__version__", "?")
        except ImportError:
            deps[name] = None
    optional = {}
    # from the installed distributions' metadata, without importing them (rawpy
    # would load its own OpenMP runtime into the process)
    from importlib import metadata

    for name, dist, what in (("pillow_heif", "pillow-heif", "HEIC/HEIF photos"),
                             ("rawpy", "rawpy", "camera raw files")):
        try:
            optional[name] = f"{metadata.version(dist)} ({what})"
        except metadata.PackageNotFoundError:
            optional[name] = f"not installed ({what} cannot be read)"
    return {
        "sss": {"version": __version__, "extension": _core.__file__},
        "build": info,
        "simd": simd,
        "model": {"name": DEFAULT_MODEL, "path": model},
        "cue_models": {SALIENCY_MODEL: cue_model},
        "python": {"version": sys.version.split()[0], "executable": sys.executable,
                   "platform": platform.platform(), "dependencies": deps,
                   "optional": optional},
        "runtime_libraries": _loaded_libraries(),
    }


def _fmt(value) -> str:
    if value is None:
        return "not built in"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value) or "-"
    return str(value)


def _linked(value) -> str:
    # The library path CMake linked; a repaired wheel carries its own copy
    # (see "native libraries loaded").
    return "not built in" if value is None else f"yes (linked at build time: {value})"


def show_config(mode: str = "stdout"):
    """Print how sss was built and what it runs with.

    Lists the version, the C++ compiler and flags, Eigen (and whether it came
    from the system or PyPI's cmeel-eigen), Spectra (the eigensolver's
    ``method="lanczos"``),
    SuiteSparse CHOLMOD (the eigensolver's factorisation), the BLAS, OpenMP
    and its thread count, the SIMD kernels chosen on this CPU at run time, the
    default feature model's path, the Python dependencies and the native
    libraries actually loaded. Attach its output to bug reports.

    Parameters
    ----------
    mode : {"stdout", "dicts"}
        "stdout" prints and returns None; "dicts" returns the nested dict of
        :func:`build_config` without printing.
    """
    if mode not in ("stdout", "dicts"):
        raise ValueError(f"mode must be 'stdout' or 'dicts', got {mode!r}")
    cfg = build_config()
    if mode == "dicts":
        return cfg
    b, s = cfg["build"], cfg["simd"]
    lines = [
        f"sss {cfg['sss']['version']} (distribution semantic-soft-segmentation)",
        f"  extension:            {cfg['sss']['extension']}",
        "build:",
        f"  compiler:             {b['compiler']} ({b['build_type']}; {b['cxx_flags'] or 'no extra flags'})",
        f"  processor:            {b['processor']}",
        f"  Eigen:                {b['eigen']}",
        f"  Spectra:              {_fmt(b['spectra'])}"
        + ("" if b["has_spectra"] else
           "  (smallest_eigenvectors(method='lanczos') unavailable; its default 'block' works)"),
        f"  CHOLMOD:              {_linked(b['cholmod'])}"
        + ("" if b["has_cholmod"] else "  (Eigen's SimplicialLDLT factorises instead, slower)"),
        f"  BLAS:                 {_linked(b['blas'])}",
        f"  OpenMP:               {_fmt(b['openmp'])}; {b['max_threads']} threads",
        f"  sparse factorisation: {b['sparse_factorization']}",
        "SIMD kernels chosen on this CPU:",
        f"  CPU features:         {_fmt(s['cpu_features'])}",
        f"  weighted Gram:        {s['gram_kernel']} (available: {_fmt(s['gram_kernels_available'])})",
        f"  k-means:              {s['kmeans_kernel']} (available: {_fmt(s['kmeans_kernels_available'])})",
        f"  x^e (IRLS weights):   {s['vector_pow']}",
        "model:",
        f"  {cfg['model']['name']}: {cfg['model']['path']}",
        *(f"  {name} (cue): {path}" for name, path in cfg["cue_models"].items()),
        "python:",
        f"  {cfg['python']['version']} ({cfg['python']['executable']}) on {cfg['python']['platform']}",
        "  " + ", ".join(f"{k} {_fmt(v) if v is not None else 'missing'}"
                         for k, v in cfg["python"]["dependencies"].items()),
        *(f"  optional: {k} {v}" for k, v in cfg["python"]["optional"].items()),
        "native libraries loaded (CHOLMOD, BLAS, OpenMP and their dependencies):",
    ]
    lines += [f"  {p}" for p in cfg["runtime_libraries"]] or ["  (none of CHOLMOD, BLAS, OpenMP)"]
    print("\n".join(lines))
    return None
