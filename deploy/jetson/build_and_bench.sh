#!/usr/bin/env bash
# On the Jetson: build the TensorRT engine from the exported ONNX (engines are device-specific,
# so they are built here), then benchmark ONNX vs TensorRT fp16 / int8 with the recommended settings.
#   bash deploy/jetson/build_and_bench.sh student_fma.onnx [model.pt for int8 calibration data]
# Copy the ONNX (and pneumoniamnist.npz to ~/edgekd-data/medmnist/ for accuracy) from the host first.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 STUDENT.onnx [CHECKPOINT.pt]" >&2; exit 2; }
onnx=$1
export EDGEKD_DATA="${EDGEKD_DATA:-$HOME/edgekd-data}"
edgekd=~/edgekd-venv/bin/edgekd
sudo nvpmodel -m 0 || true      # maximum power mode
sudo jetson_clocks || true      # lock clocks at maximum for repeatable timings
stem=${onnx%.onnx}
# The engine is built with the tensorrt Python API through edgekd (fp16; int8 needs calibration
# images, which export reads through the checkpoint's data set).
if [ $# -ge 2 ]; then
  "$edgekd" export "$2" --format tensorrt --quantize fp16 --out "$stem.fp16.engine" --force
  "$edgekd" export "$2" --format tensorrt --quantize int8 --out "$stem.int8.engine" --force
else
  echo "no checkpoint given: building the fp16 engine with trtexec from the ONNX"
  /usr/src/tensorrt/bin/trtexec --onnx="$onnx" --fp16 --saveEngine="$stem.fp16.engine"
fi
data_args=()
if [ -f "$EDGEKD_DATA/medmnist/pneumoniamnist.npz" ]; then data_args=(--dataset pneumoniamnist); fi
# memory of the whole board while benchmarking: tegrastats (jtop also works: pip install jetson-stats)
tegrastats --interval 500 --logfile tegrastats.log & stats=$!
trap 'kill $stats 2>/dev/null || true' EXIT
"$edgekd" bench "$onnx" "$stem".*.engine --batch 1 --warmup 50 --min-time 5 "${data_args[@]}" \
  --json bench_jetson.json --md bench_jetson.md --plot bench_jetson.png
echo "board memory during the run: tegrastats.log (RAM used / total per line)"
