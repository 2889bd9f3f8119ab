"""sss.batch: segment_many over executors (serial, processes, a Dask cluster)."""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp

import numpy as np
import pytest
from PIL import Image

from sss.batch import segment_many

OPTIONS = dict(formats=("npz",), num_threads=1)


def _photos(tmp_path):
    rng = np.random.default_rng(2)
    (tmp_path / "in").mkdir()
    paths = []
    for rel in ("a.png", "b.jpg"):
        p = tmp_path / "in" / rel
        Image.fromarray((rng.random((30, 40, 3)) * 255).astype(np.uint8)).save(p)
        paths.append(p)
    bad = tmp_path / "in" / "c.png"
    bad.write_text("not a photo")
    return paths + [bad]


def _check(records, out):
    assert [r["status"] for r in records] == ["ok", "ok", "failed"]
    assert records[2]["error"] and records[0]["size"] == "40x30" and records[0]["layers"] == 5
    for name in ("a", "b"):
        with np.load(out / f"{name}_alphas.npz") as z:
            assert z["layer_alphas"].shape == (30, 40, 5)
    assert not (out / "c_alphas.npz").exists()


def test_segment_many_serial_and_in_processes(tmp_path):
    paths = _photos(tmp_path)
    serial = segment_many(paths, tmp_path / "o1", **OPTIONS)
    _check(serial, tmp_path / "o1")
    with cf.ProcessPoolExecutor(2, mp_context=mp.get_context("spawn")) as pool:
        par = segment_many(paths, tmp_path / "o2", executor=pool, **OPTIONS)
    _check(par, tmp_path / "o2")
    for name in ("a", "b"):  # same layers whatever ran them
        with np.load(tmp_path / "o1" / f"{name}_alphas.npz") as x, \
                np.load(tmp_path / "o2" / f"{name}_alphas.npz") as y:
            np.testing.assert_array_equal(x["layer_alphas"], y["layer_alphas"])


def test_segment_many_on_a_dask_local_cluster(tmp_path):
    distributed = pytest.importorskip("distributed", reason="dask.distributed is not installed "
                                      "(pip install distributed)")
    paths = _photos(tmp_path)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        records = segment_many(paths, tmp_path / "o", executor=client, **OPTIONS)
    _check(records, tmp_path / "o")


def test_segment_many_refuses_a_misspelt_option_before_any_photo(tmp_path):
    # it used to run every photo and report each as failed
    paths = _photos(tmp_path)
    with pytest.raises(TypeError, match=r"unknown option\(s\) 'num_layer'.*num_layers"):
        segment_many(paths, tmp_path / "o", num_layer=3)
    with pytest.raises(TypeError, match="'info'"):
        segment_many(paths, tmp_path / "o", info={})
    assert not (tmp_path / "o").exists()


def test_segment_many_leaves_no_folder_when_every_photo_fails(tmp_path):
    bad = _photos(tmp_path)[2]
    records = segment_many([bad, tmp_path / "missing.png"], tmp_path / "new" / "o", **OPTIONS)
    assert [r["status"] for r in records] == ["failed", "failed"]
    assert not (tmp_path / "new").exists()
