#!/usr/bin/env bash
# GPU check (< 8 min on one H100). Needs a GPU machine with PyTorch and onnxruntime(-gpu) and a
# copy of this repository. Data: copy pneumoniamnist.npz to data/medmnist/ in the repository
# first (data/ is git-ignored); without it the check runs on scikit-learn's digits.
#   mkdir -p data/medmnist && cp /path/to/pneumoniamnist.npz data/medmnist/
#   bash benchmarks/gpu_check/gpu_check.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
python -c "import torch, onnxruntime; assert torch.cuda.is_available(), 'no CUDA GPU visible'"
python -m pip install -q --no-deps -e . 2>/dev/null || true
python -c "import typer, rich, sklearn, matplotlib" 2>/dev/null || python -m pip install -q typer rich scikit-learn matplotlib psutil
PYTHONPATH=. python benchmarks/gpu_check/gpu_check.py "$@"
