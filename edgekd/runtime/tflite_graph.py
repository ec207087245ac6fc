"""Read a TFLite flatbuffer's operators by name (torch-free; needs ``flatbuffers``, which
ai-edge-litert installs). Shared by the exporter's int8 recipes and ``bench --profile``."""

from __future__ import annotations

from typing import Any


def op_names(model: Any) -> list[str]:
    """The builtin op name (``CONV_2D``...) of each operator in subgraph 0 of a flatbuffer object
    (``ai_edge_litert.tools.flatbuffer_utils.read_model_from_bytearray``)."""
    from ai_edge_litert import schema_py_generated as schema

    by_code = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    codes = [max(c.builtinCode, c.deprecatedBuiltinCode) for c in model.operatorCodes]
    return [by_code.get(codes[op.opcodeIndex], "CUSTOM") for op in model.subgraphs[0].operators]
