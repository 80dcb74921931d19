#!/usr/bin/env python3
"""Write a tiny ONNX model that mimics a PyTorch export, for RadProbe's ONNX reader tests.

How to run (default ``python3`` with ``numpy`` and ``onnx``; ``onnxruntime`` is
optional and, when present, is used to prove the graph is valid and runnable)::

    python3 scripts/make_onnx_fixtures.py            # writes Tests/Fixtures/onnx/
    python3 scripts/make_onnx_fixtures.py --out DIR

Outputs (a few KB in total):

``tiny.onnx``
    A small ViT-like graph built with ``onnx.helper`` the way ``torch.onnx.export``
    lays one out (node names are module scopes such as ``/block/fc1/MatMul``):

    * ``embeddings.cls_token`` [1,1,6] concatenated in front of the input patches;
      the position embedding is *split* the way the exporter constant-folds Hugging
      Face ``Dinov2Embeddings.interpolate_pos_encoding``: ``onnx::Concat_201`` [1,1,6]
      (``position_embeddings[:, :1]``) and ``onnx::Reshape_202`` [1,4,6]
      (``position_embeddings[:, 1:]``), the latter reshaped to a 2x2 grid,
      transposed, ``Resize``d (cubic), transposed back and concatenated on axis 1
      by ``/embeddings/Concat_6``;
    * ``block.norm`` LayerNormalization (``block.norm.weight`` stored in
      ``float_data``, ``block.norm.bias`` in ``raw_data``);
    * ``block.fc1`` Linear 6->5 as ``MatMul(x, onnx::MatMul_101 [6,5])`` then
      ``Add(block.fc1.bias, .)`` (bias first, as PyTorch emits it);
    * ``block.fc2`` Linear 5->3 as ``MatMul`` + ``Add(., block.fc2.bias)`` (bias
      second, to test both operand orders);
    * ``block.scale`` [3] stored as FLOAT16 (``raw_data``) and ``Cast`` to float;
    * ``block.shift`` [3] stored as BFLOAT16 (``raw_data``), ``block.gain`` [3]
      as DOUBLE (``double_data``), ``block.bits`` [3] as FLOAT16 in ``int32_data``;
    * ``head.proj`` Linear 3->2 *without* bias, ``MatMul`` node ``/head/proj/MatMul``
      with ``onnx::MatMul_103`` [3,2] (name recovered from the node scope);
    * ``onnx::MatMul_104`` [2,2] used by ``/head/MatMul_1`` with no bias and no
      unambiguous scope: must keep its name and [in, out] layout;
    * ``onnx::Reshape_shape_grid`` (INT64 in ``int64_data``) and other INT64 shape
      initializers, which keep their names.

``tiny_expected.json``
    The StateDict the Swift reader must produce: for every key its shape and every
    value (float32 values written as the shortest decimal of the equal double, so
    they parse back exactly), with the Linear weights transposed to [out, in] and
    the position embedding reassembled as ``embeddings.position_embeddings`` [1,5,6].
"""

import argparse
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SEED = 20240601
D = 6  # embedding width of the tiny model


def tensor(name, array, onnx_type=None, raw=True):
    """An initializer; ``raw=False`` stores the typed repeated field instead of raw_data."""
    array = np.asarray(array)
    if raw:
        t = numpy_helper.from_array(array, name)
        if onnx_type is not None:
            t.data_type = onnx_type
        return t
    if onnx_type is None:
        onnx_type = helper.np_dtype_to_tensor_dtype(array.dtype)
    return helper.make_tensor(name, onnx_type, list(array.shape), array.flatten().tolist(), raw=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser.add_argument("--out", default=os.path.join(root, "Tests", "Fixtures", "onnx"))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)

    rng = np.random.default_rng(SEED)

    def randn(*shape):
        return rng.standard_normal(shape).astype(np.float32)

    # --- parameters in PyTorch layout ([out, in] for Linear) -----------------------------
    cls_token = randn(1, 1, D)
    position_embeddings = randn(1, 5, D)  # 1 class + 2x2 patches
    norm_weight = randn(D)
    norm_bias = randn(D)
    fc1_w, fc1_b = randn(5, D), randn(5)
    fc2_w, fc2_b = randn(3, 5), randn(3)
    scale16 = randn(3).astype(np.float16)
    shift_bf16_bits = (randn(3).view(np.uint32) >> 16).astype(np.uint16)  # truncated to bfloat16
    gain64 = rng.standard_normal(3).astype(np.float64)
    bits16 = randn(3).astype(np.float16)
    head_w = randn(2, 3)
    mystery = randn(2, 2)  # stored as-is; the reader cannot name it

    inits = [
        tensor("embeddings.cls_token", cls_token),
        tensor("onnx::Concat_201", position_embeddings[:, :1]),
        tensor("onnx::Reshape_202", position_embeddings[:, 1:]),
        tensor("block.norm.weight", norm_weight, raw=False),  # float_data
        tensor("block.norm.bias", norm_bias),
        tensor("onnx::MatMul_101", np.ascontiguousarray(fc1_w.T)),  # [in, out] as exported
        tensor("block.fc1.bias", fc1_b),
        tensor("onnx::MatMul_102", np.ascontiguousarray(fc2_w.T)),
        tensor("block.fc2.bias", fc2_b),
        tensor("block.scale", scale16),  # FLOAT16, raw_data
        tensor("block.shift", shift_bf16_bits, onnx_type=TensorProto.BFLOAT16),  # BFLOAT16, raw_data
        tensor("block.gain", gain64, raw=False),  # DOUBLE, double_data
        # make_tensor stores FLOAT16 values as their bit patterns in int32_data
        helper.make_tensor("block.bits", TensorProto.FLOAT16, [3], bits16.tolist(), raw=False),
        tensor("onnx::MatMul_103", np.ascontiguousarray(head_w.T)),
        tensor("onnx::MatMul_104", mystery),
        tensor("onnx::Reshape_shape_grid", np.array([1, 2, 2, D], dtype=np.int64), raw=False),  # int64_data
        tensor("onnx::Reshape_shape_seq", np.array([1, 4, D], dtype=np.int64)),
        tensor("onnx::Resize_sizes", np.array([1, D, 2, 2], dtype=np.int64)),
    ]

    N = helper.make_node
    nodes = [
        # embeddings: tokens = cat(cls, patches); pos = cat(class_pos, resize(patch_pos))
        N("Concat", ["embeddings.cls_token", "patches"], ["/embeddings/Concat_1_output_0"],
          name="/embeddings/Concat_1", axis=1),
        N("Reshape", ["onnx::Reshape_202", "onnx::Reshape_shape_grid"], ["/embeddings/Reshape_1_output_0"],
          name="/embeddings/Reshape_1"),
        N("Transpose", ["/embeddings/Reshape_1_output_0"], ["/embeddings/Transpose_output_0"],
          name="/embeddings/Transpose", perm=[0, 3, 1, 2]),
        N("Resize", ["/embeddings/Transpose_output_0", "", "", "onnx::Resize_sizes"], ["/embeddings/Resize_output_0"],
          name="/embeddings/Resize", mode="cubic", coordinate_transformation_mode="half_pixel", cubic_coeff_a=-0.75),
        N("Transpose", ["/embeddings/Resize_output_0"], ["/embeddings/Transpose_1_output_0"],
          name="/embeddings/Transpose_1", perm=[0, 2, 3, 1]),
        N("Reshape", ["/embeddings/Transpose_1_output_0", "onnx::Reshape_shape_seq"], ["/embeddings/Reshape_2_output_0"],
          name="/embeddings/Reshape_2"),
        N("Concat", ["onnx::Concat_201", "/embeddings/Reshape_2_output_0"], ["/embeddings/Concat_6_output_0"],
          name="/embeddings/Concat_6", axis=1),
        N("Add", ["/embeddings/Concat_1_output_0", "/embeddings/Concat_6_output_0"], ["/embeddings/Add_output_0"],
          name="/embeddings/Add"),
        # block
        N("LayerNormalization", ["/embeddings/Add_output_0", "block.norm.weight", "block.norm.bias"],
          ["/block/norm/LayerNormalization_output_0"], name="/block/norm/LayerNormalization", axis=-1, epsilon=1e-6),
        N("MatMul", ["/block/norm/LayerNormalization_output_0", "onnx::MatMul_101"], ["/block/fc1/MatMul_output_0"],
          name="/block/fc1/MatMul"),
        N("Add", ["block.fc1.bias", "/block/fc1/MatMul_output_0"], ["/block/fc1/Add_output_0"], name="/block/fc1/Add"),
        N("MatMul", ["/block/fc1/Add_output_0", "onnx::MatMul_102"], ["/block/fc2/MatMul_output_0"],
          name="/block/fc2/MatMul"),
        N("Add", ["/block/fc2/MatMul_output_0", "block.fc2.bias"], ["/block/fc2/Add_output_0"], name="/block/fc2/Add"),
        N("Cast", ["block.scale"], ["/block/Cast_output_0"], name="/block/Cast", to=TensorProto.FLOAT),
        N("Mul", ["/block/fc2/Add_output_0", "/block/Cast_output_0"], ["/block/Mul_output_0"], name="/block/Mul"),
        N("Cast", ["block.shift"], ["/block/Cast_1_output_0"], name="/block/Cast_1", to=TensorProto.FLOAT),
        N("Add", ["/block/Mul_output_0", "/block/Cast_1_output_0"], ["/block/Add_output_0"], name="/block/Add"),
        N("Cast", ["block.gain"], ["/block/Cast_2_output_0"], name="/block/Cast_2", to=TensorProto.FLOAT),
        N("Mul", ["/block/Add_output_0", "/block/Cast_2_output_0"], ["/block/Mul_1_output_0"], name="/block/Mul_1"),
        N("Cast", ["block.bits"], ["/block/Cast_3_output_0"], name="/block/Cast_3", to=TensorProto.FLOAT),
        N("Add", ["/block/Mul_1_output_0", "/block/Cast_3_output_0"], ["/block/Add_1_output_0"], name="/block/Add_1"),
        # head: bias-less Linear, then an unnamed matmul
        N("MatMul", ["/block/Add_1_output_0", "onnx::MatMul_103"], ["/head/proj/MatMul_output_0"],
          name="/head/proj/MatMul"),
        N("MatMul", ["/head/proj/MatMul_output_0", "onnx::MatMul_104"], ["output"], name="/head/MatMul_1"),
    ]
    graph = helper.make_graph(
        nodes, "tiny_vit_like",
        inputs=[helper.make_tensor_value_info("patches", TensorProto.FLOAT, [1, 4, D])],
        outputs=[helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 5, 2])],
        initializer=inits,
    )
    model = helper.make_model(graph, producer_name="radprobe-make_onnx_fixtures",
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    path = os.path.join(args.out, "tiny.onnx")
    onnx.save(model, path)

    try:  # prove the graph runs (optional dependency)
        import onnxruntime as ort

        session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        out = session.run(None, {"patches": randn(1, 4, D)})[0]
        assert out.shape == (1, 5, 2), out.shape
        print("onnxruntime", ort.__version__, "ran tiny.onnx: output", out.shape)
    except ImportError:
        print("onnxruntime not installed; skipped the run check", file=sys.stderr)

    f32 = lambda a: np.asarray(a, dtype=np.float32)  # noqa: E731
    expected = {
        "embeddings.cls_token": f32(cls_token),
        "embeddings.position_embeddings": f32(position_embeddings),
        "block.norm.weight": f32(norm_weight),
        "block.norm.bias": f32(norm_bias),
        "block.fc1.weight": f32(fc1_w),
        "block.fc1.bias": f32(fc1_b),
        "block.fc2.weight": f32(fc2_w),
        "block.fc2.bias": f32(fc2_b),
        "block.scale": f32(scale16),
        "block.shift": (shift_bf16_bits.astype(np.uint32) << 16).view(np.float32),
        "block.gain": f32(gain64),
        "block.bits": f32(bits16),
        "head.proj.weight": f32(head_w),
        "onnx::MatMul_104": f32(mystery),
        "onnx::Reshape_shape_grid": f32([1, 2, 2, D]),
        "onnx::Reshape_shape_seq": f32([1, 4, D]),
        "onnx::Resize_sizes": f32([1, D, 2, 2]),
    }
    doc = {
        "generator": "scripts/make_onnx_fixtures.py",
        "seed": SEED,
        "onnx_version": onnx.__version__,
        "numpy_version": np.__version__,
        "model": "tiny.onnx",
        "note": "Expected StateDict of ONNXCheckpoint.read: Linear weights [out, in], values float32 "
                "(each written as the double equal to the float32), row-major.",
        "tensors": {k: {"shape": list(v.shape), "values": [float(x) for x in v.flatten()]}
                    for k, v in sorted(expected.items())},
    }
    with open(os.path.join(args.out, "tiny_expected.json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print("wrote", path, os.path.getsize(path), "bytes and tiny_expected.json")


if __name__ == "__main__":
    main()
