"""TFLite int8 schemes: the ai-edge-quantizer recipe of a scheme, and float input / output.

- :func:`int8_recipe`: ``static`` int8 (signed symmetric weights, per channel or per tensor;
  int8 asymmetric activations, the only int8 activations LiteRT's kernels take), with the ops
  up to and including the first convolution, and the FULLY_CONNECTED ops that write a model
  output (the classifier), left in float32 when the scheme says so (``NO_QUANTIZE`` for their
  scopes: ai-edge-quantizer names an op by its output tensors, ``"name;"``).
  ai-edge-quantizer inserts the QUANTIZE / DEQUANTIZE around them itself.
- :func:`float_io`: ai-edge-quantizer turns the model's input and outputs into int8 tensors. A
  float I/O scheme gets float32 boundary tensors back: a QUANTIZE op in front of an int8 input
  and a DEQUANTIZE op after an int8 output (XNNPACK runs both), or, where the quantizer left a
  DEQUANTIZE right after the input (the first layers are float), that DEQUANTIZE is removed and
  its float output becomes the input (and likewise a QUANTIZE right before an output). The
  boundary tensors keep their names (the runner orders outputs by them), so a caller never sees
  a scale or a zero point.
"""

from __future__ import annotations

import re
from typing import Any

from edgekd.int8_schemes import Int8Scheme
from edgekd.runtime.litert_runner import op_names

CONVS = ("CONV_2D", "DEPTHWISE_CONV_2D")


def float_scopes(data: bytes, first: bool, last: bool) -> list[str]:
    """ai-edge-quantizer scopes (output tensor names, ``;``-joined) of the ops to keep in float:
    ``first``: those up to and including the first convolution; ``last``: the FULLY_CONNECTED
    ops that write a model output."""
    from ai_edge_litert.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(data))
    graph = model.subgraphs[0]
    names = op_names(model)

    def scope(op: Any) -> str:
        out = [graph.tensors[t].name for t in op.outputs if t >= 0]
        return "".join((n.decode() if isinstance(n, bytes) else str(n)) + ";" for n in out)

    scopes = []
    if first and any(n in CONVS for n in names):
        upto = next(k for k, n in enumerate(names) if n in CONVS)
        scopes += [scope(op) for op in graph.operators[:upto + 1]]
    if last:
        outputs = set(graph.outputs)
        scopes += [scope(op) for op, n in zip(graph.operators, names)
                   if n == "FULLY_CONNECTED" and outputs & set(op.outputs)]
    return scopes


def int8_recipe(scheme: Int8Scheme, data: bytes) -> Any:
    """The ai-edge-quantizer recipe of ``scheme`` for the float32 flatbuffer ``data``."""
    from ai_edge_quantizer.algorithm_manager import AlgorithmName
    from ai_edge_quantizer.qtyping import QuantGranularity, TFLOperationName
    from ai_edge_quantizer.recipe_manager import RecipeManager

    manager = RecipeManager()
    granularity = QuantGranularity.CHANNELWISE if scheme.per_channel else QuantGranularity.TENSORWISE
    manager.add_static_config(".*", TFLOperationName.ALL_SUPPORTED, activation_num_bits=8, weight_num_bits=8,
                              weight_granularity=granularity)
    for scope in float_scopes(data, scheme.float_first, scheme.float_last):
        manager.add_quantization_config("^" + re.escape(scope) + "$", TFLOperationName.ALL_SUPPORTED,
                                        algorithm_key=AlgorithmName.NO_QUANTIZE)
    return manager.get_quantization_recipe()


def _opcode(model: Any, builtin: int) -> int:
    """The index of ``builtin``'s operator code in ``model``, added when missing."""
    from ai_edge_litert import schema_py_generated as schema

    for i, code in enumerate(model.operatorCodes):
        if max(code.builtinCode, code.deprecatedBuiltinCode) == builtin:
            return i
    code = schema.OperatorCodeT()
    code.builtinCode, code.deprecatedBuiltinCode, code.version = builtin, min(builtin, 127), 1
    model.operatorCodes.append(code)
    return len(model.operatorCodes) - 1


def _float_twin(model: Any, graph: Any, index: int) -> int:
    """A new float32 tensor shaped like tensor ``index``; it takes the name, the int8 one gets ``_int8``."""
    from ai_edge_litert import schema_py_generated as schema

    old = graph.tensors[index]
    twin = schema.TensorT()
    twin.shape, twin.shapeSignature, twin.type = list(old.shape), old.shapeSignature, schema.TensorType.FLOAT32
    model.buffers.append(schema.BufferT())
    twin.buffer, twin.name = len(model.buffers) - 1, old.name
    old.name = (old.name if isinstance(old.name, bytes) else str(old.name).encode()) + b"_int8"
    graph.tensors.append(twin)
    return len(graph.tensors) - 1


def float_io(data: bytes) -> bytes:
    """``data`` with float32 input and outputs where they are int8 (see the module doc)."""
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(data))
    graph = model.subgraphs[0]
    names = op_names(model)
    int8 = schema.TensorType.INT8
    remap: dict[int, int] = {}
    drop: set[int] = set()
    head, tail = [], []
    for t in graph.inputs:
        if graph.tensors[t].type != int8:
            continue
        users = [k for k, op in enumerate(graph.operators) if t in op.inputs]
        if len(users) == 1 and names[users[0]] == "DEQUANTIZE":
            remap[t] = graph.operators[users[0]].outputs[0]
            graph.tensors[remap[t]].name = graph.tensors[t].name
            drop.add(users[0])
            continue
        op = schema.OperatorT()
        op.opcodeIndex, op.outputs = _opcode(model, schema.BuiltinOperator.QUANTIZE), [t]
        op.inputs = [remap.setdefault(t, _float_twin(model, graph, t))]
        head.append(op)
    for t in graph.outputs:
        if graph.tensors[t].type != int8:
            continue
        maker = next((k for k, op in enumerate(graph.operators) if t in op.outputs), None)
        users = [op for op in graph.operators if t in op.inputs]
        if maker is not None and names[maker] == "QUANTIZE" and not users:
            remap[t] = graph.operators[maker].inputs[0]
            graph.tensors[remap[t]].name = graph.tensors[t].name
            drop.add(maker)
            continue
        op = schema.OperatorT()
        op.opcodeIndex, op.inputs = _opcode(model, schema.BuiltinOperator.DEQUANTIZE), [t]
        op.outputs = [remap.setdefault(t, _float_twin(model, graph, t))]
        tail.append(op)
    if not remap:
        return data
    graph.operators = head + [op for k, op in enumerate(graph.operators) if k not in drop] + tail
    graph.inputs = [remap.get(t, t) for t in graph.inputs]
    graph.outputs = [remap.get(t, t) for t in graph.outputs]
    for signature in model.signatureDefs or []:
        for entry in list(signature.inputs or []) + list(signature.outputs or []):
            entry.tensorIndex = remap.get(entry.tensorIndex, entry.tensorIndex)
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))
