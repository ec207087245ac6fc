#!/usr/bin/env bash
# Jetson (Orin / Xavier) with JetPack 6: TensorRT and its Python bindings come with JetPack
# (python3-libnvinfer); edgekd's runtime part installs beside them, without torch.
set -euo pipefail
cd "$(dirname "$0")/../.."
python3 -c "import tensorrt; print('TensorRT', tensorrt.__version__)" || {
  echo "TensorRT Python bindings missing: sudo apt-get install python3-libnvinfer python3-libnvinfer-dev" >&2; exit 2; }
python3 -m venv --system-site-packages ~/edgekd-venv   # sees JetPack's tensorrt
~/edgekd-venv/bin/pip install --upgrade pip
~/edgekd-venv/bin/pip install -e ".[onnx]" numpy typer rich psutil pillow cuda-python
~/edgekd-venv/bin/edgekd --version
cat /proc/device-tree/model; echo
