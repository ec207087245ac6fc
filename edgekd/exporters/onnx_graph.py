"""Graph facts of an exported ONNX, torch-free (the ``onnx`` package only): used on the host by the
ONNX exporter and on a Jetson when an engine is built from an .onnx."""

from __future__ import annotations

from typing import Any


def head_nodes(model: Any, logits: str = "logits") -> list[str]:
    """Names of the nodes the ``logits`` output does not depend on: the attention head."""
    producer = {out: node for node in model.graph.node for out in node.output}
    needed: set[str] = set()
    stack = [logits]
    while stack:
        node = producer.get(stack.pop())
        if node is None or node.name in needed:
            continue
        needed.add(node.name)
        stack.extend(node.input)
    return [n.name for n in model.graph.node if n.name not in needed]
