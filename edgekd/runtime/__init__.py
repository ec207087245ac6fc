"""Torch-free inference runners: onnxruntime, LiteRT / tflite-runtime, TensorRT, and torch.

Importable on a Raspberry Pi with only numpy and one runtime installed: nothing here
imports torch. The torch runner for checkpoints (the baseline exports are compared to) is
:mod:`edgekd.training.torch_runner`, loaded by name from the runtime table only when asked for.
Entry point: :func:`edgekd.runtime.registry.create_runner`; the interface is
:class:`edgekd.runtime.base.Runner`; artifact metadata is :mod:`edgekd.runtime.metadata`.
"""
