"""Export a trained student for edge devices: ONNX, TFLite, TensorRT, with an optional attention head.

``formats`` (the one table of formats and option validation), ``head`` (the exported
graph), ``onnx_export`` / ``tflite_export`` / ``tensorrt_export`` (the writers),
``verify`` (the parity gate), ``exporter.export`` (the orchestration the CLI calls).
Heavy dependencies are imported inside functions.
"""
