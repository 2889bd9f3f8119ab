#!/usr/bin/env python3
"""Write the tiny ONNX files used by tests/test_features.py (development only;
needs the `onnx` package). Each is a few hundred bytes and is committed to
tests/data, so the tests need only onnxruntime.

    python tools/make_test_models.py
"""
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = Path(__file__).resolve().parents[1] / "tests" / "data"


def save(name, nodes, inputs, outputs, inits=()):
    g = helper.make_graph(nodes, name, inputs, outputs, initializer=list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)],
                          producer_name="sss tools/make_test_models.py")
    m.ir_version = 8
    onnx.checker.check_model(m)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / name).write_bytes(m.SerializeToString(deterministic=True))


def img(name="image", c=3, t=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, t, [1, c, "H", "W"])


def out(name="features", shape=(1, 3, "h", "w"), t=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, t, list(shape))


def main():
    # valid: 8x8 average pooling, features = mean colour at stride 8 (D = 3)
    save("pool8.onnx", [helper.make_node("AveragePool", ["image"], ["features"],
                                         kernel_shape=[8, 8], strides=[8, 8])], [img()], [out()])
    # valid: identity at stride 1 (D = 3)
    save("identity.onnx", [helper.make_node("Identity", ["image"], ["features"])], [img()], [out()])
    # wrong: takes one channel
    save("gray_input.onnx", [helper.make_node("Identity", ["image"], ["features"])],
         [img(c=1)], [out(shape=(1, 1, "h", "w"))])
    # wrong: output (1, 3): global average
    save("vector_output.onnx", [helper.make_node("ReduceMean", ["image"], ["features"],
                                                 axes=[2, 3], keepdims=0)], [img()],
         [out(shape=(1, 3))])
    # wrong: output rows do not divide the input (drops the last row) -> rank 4 but no stride
    starts = numpy_helper.from_array(np.array([0], np.int64), "starts")
    ends = numpy_helper.from_array(np.array([-1], np.int64), "ends")
    axes = numpy_helper.from_array(np.array([2], np.int64), "axes")
    save("bad_stride.onnx", [helper.make_node("Slice", ["image", "starts", "ends", "axes"],
                                              ["features"])], [img()], [out()],
         [starts, ends, axes])
    # wrong: double input
    save("double_input.onnx", [helper.make_node("Identity", ["image"], ["features"])],
         [img(t=TensorProto.DOUBLE)], [out(t=TensorProto.DOUBLE)])
    # wrong: two inputs
    save("two_inputs.onnx", [helper.make_node("Add", ["image", "other"], ["features"])],
         [img(), img("other")], [out()])
    # wrong at run time: NaN features (0/0)
    save("nan_output.onnx", [helper.make_node("Sub", ["image", "image"], ["z"]),
                             helper.make_node("Div", ["z", "z"], ["features"])], [img()], [out()])
    print("wrote", sorted(p.name for p in OUT.glob("*.onnx")))


if __name__ == "__main__":
    main()
