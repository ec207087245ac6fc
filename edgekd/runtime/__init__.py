"""Torch-free inference runners: onnxruntime, LiteRT / tflite-runtime, TensorRT, and torch.

Importable on a Raspberry Pi with only numpy and one runtime installed: nothing here
imports torch except :mod:`edgekd.runtime.torch_runner`, and that only inside ``load``.
Entry point: :func:`edgekd.runtime.registry.create_runner`; the interface is
:class:`edgekd.runtime.base.Runner`; artifact metadata is :mod:`edgekd.runtime.metadata`.
"""
