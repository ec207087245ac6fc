#!/usr/bin/env bash
# Jetson (Orin / Xavier) with JetPack 6: TensorRT and its Python bindings come with JetPack
# (python3-libnvinfer); edgekd's device part installs beside them, without torch:
# [jetson] = [runtime] (numpy, onnxruntime, ai-edge-litert, Pillow, typer, rich, psutil)
# + onnx and cuda-python, which an engine build from an exported .onnx needs.
set -euo pipefail
cd "$(dirname "$0")/../.."
python3 -c "import tensorrt; print('TensorRT', tensorrt.__version__)" || {
  echo "TensorRT Python bindings missing: sudo apt-get install python3-libnvinfer python3-libnvinfer-dev" >&2; exit 2; }
python3 -m venv --system-site-packages ~/edgekd-venv   # sees JetPack's tensorrt
~/edgekd-venv/bin/pip install --upgrade pip
~/edgekd-venv/bin/pip install -e ".[jetson]"
~/edgekd-venv/bin/edgekd --version
cat /proc/device-tree/model; echo
