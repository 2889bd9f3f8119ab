"""Many photos, on one machine or a cluster: :func:`segment_many`.

Each photo is one task, :func:`segment_one`, that reads the photo, segments
it and writes its output set (atomically) into the output folder, and returns
a record of what happened. The tasks go to any executor with the
``concurrent.futures`` interface (``submit`` returning futures with
``result()``): a ``ProcessPoolExecutor`` on one machine, a Dask
``distributed.Client`` on a cluster (its workers need sss installed and the
photos and output folder on a shared file system). See docs/batch.md.
"""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path

__all__ = ["segment_many", "segment_one"]


def segment_one(photo, out_dir, *, name: str | None = None, **options) -> dict:
    """Segment one photo file into `out_dir` and report how it went.

    Never raises for a bad photo: the failure is in the record.

    Parameters
    ----------
    photo : path
    out_dir : path
    name : str, optional
        Stem of the output files (default: the photo's stem).
    **options
        Passed to :func:`sss.cli.segment_file` (``num_layers``, ``method``,
        ``formats``, ``max_side``, ``seed``, ``model``, ``num_threads``...).

    Returns
    -------
    dict
        ``photo``, ``name``, ``size`` ("WxH"), ``layers``, ``seconds``,
        ``status`` ("ok" or "failed"), ``error`` and ``host``.
    """
    from .cli import _record, segment_file

    photo = Path(os.fspath(photo))
    name = name or photo.stem or "photo"
    info: dict = {}
    t = time.monotonic()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            segment_file(photo, Path(os.fspath(out_dir)), name=name, info=info, **options)
        status, error = "ok", ""
    except Exception as e:  # reported per photo
        status, error = "failed", str(e) or type(e).__name__
    return _record(photo, name, info, time.monotonic() - t, status, error)


def segment_many(paths, out_dir, executor=None, **options) -> list[dict]:
    """Segment every photo of `paths` into `out_dir`, in parallel when given an executor.

    Parameters
    ----------
    paths : iterable of paths
        Photo files (folders are expanded to the photos in them, not
        recursively; see ``sss segment -r`` for that).
    out_dir : path
        Output folder (created if missing, and removed again if no file was
        written into it); photos with the same stem get distinct names
        (``a``, ``a-2``...).
    executor : concurrent.futures.Executor-like, optional
        Anything with ``submit(fn, *args, **kwargs)`` returning futures with
        ``result()``: ``ProcessPoolExecutor``, ``ThreadPoolExecutor``, a Dask
        ``distributed.Client``... None runs the photos one after the other
        here.
    **options
        Passed to every :func:`segment_one` (e.g. ``method``, ``formats``,
        ``num_threads``: with several tasks per machine, give each a share
        of the cores).

    Returns
    -------
    list of dict
        One record per photo, in the order of `paths` (see :func:`segment_one`);
        failures are records with ``status="failed"``, never exceptions.
    """
    import inspect

    from ._files import output_folder
    from .cli import _expand_photos, _raw_skipped_note, _record, _unique_names, segment_file

    # a misspelt option is the caller's error, not a failure of every photo
    allowed = [k for k in inspect.signature(segment_file).parameters
               if k not in ("path", "outdir", "name", "info", "progress")]  # set here
    bad = [k for k in options if k not in allowed]
    if bad:
        raise TypeError(f"segment_many got unknown option(s) {', '.join(map(repr, bad))}; "
                        f"the options are {', '.join(allowed)}")

    skipped: list = []
    photos = _expand_photos([os.fspath(p) for p in paths], recursive=False, skipped=skipped,
                            outdir=out_dir)  # not earlier runs' layers in out_dir
    if skipped:
        warnings.warn(_raw_skipped_note(skipped), UserWarning, stacklevel=2)
    out = Path(os.fspath(out_dir))
    names = _unique_names(photos)
    with output_folder(out):  # removed again if nothing was written into it
        if executor is None:
            return [segment_one(p, out, name=n, **options) for p, n in zip(photos, names)]
        futures = [executor.submit(segment_one, str(p), str(out), name=n, **options)
                   for p, n in zip(photos, names)]
        records = []
        for p, n, f in zip(photos, names, futures):
            try:
                records.append(f.result())
            except Exception as e:  # the task itself was lost (a worker died)
                records.append(dict(_record(p, n, {}, 0.0, "failed",
                                            f"task failed: {type(e).__name__}: {e}"), host=""))
        return records
