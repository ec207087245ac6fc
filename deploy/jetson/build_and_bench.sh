#!/usr/bin/env bash
# On the Jetson: build TensorRT engines from the exported ONNX (engines are device-specific, so
# they are built here, from the ONNX's own metadata, without torch), each checked against
# onnxruntime on the same ONNX, then benchmark ONNX vs TensorRT fp16 / int8.
#   bash deploy/jetson/build_and_bench.sh student_fma.onnx [CALIBRATION]
# CALIBRATION (int8): a data set name (default: the model's own, e.g. pneumoniamnist) or a
# folder of image files. Copy the ONNX (and pneumoniamnist.npz to ~/edgekd-data/medmnist/
# for accuracy and the parity gate) from the host first.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 STUDENT.onnx [CALIBRATION]" >&2; exit 2; }
onnx=$1
export EDGEKD_DATA="${EDGEKD_DATA:-$HOME/edgekd-data}"
edgekd=~/edgekd-venv/bin/edgekd
sudo nvpmodel -m 0 || true      # maximum power mode
sudo jetson_clocks || true      # lock clocks at maximum for repeatable timings
stem=${onnx%.onnx}
"$edgekd" export "$onnx" --quantize fp16 --out "$stem.fp16.engine" --force
calib_args=()
if [ $# -ge 2 ]; then calib_args=(--calib-dataset "$2"); fi
"$edgekd" export "$onnx" --quantize int8 "${calib_args[@]}" --out "$stem.int8.engine" --force
data_args=()
if [ -f "$EDGEKD_DATA/medmnist/pneumoniamnist.npz" ]; then data_args=(--dataset pneumoniamnist); fi
# memory of the whole board while benchmarking: tegrastats (jtop also works: pip install jetson-stats)
tegrastats --interval 500 --logfile tegrastats.log & stats=$!
trap 'kill $stats 2>/dev/null || true' EXIT
"$edgekd" bench "$onnx" "$stem".*.engine --batch 1 --warmup 50 --min-time 5 "${data_args[@]}" \
  --json bench_jetson.json --md bench_jetson.md --plot bench_jetson.png
echo "board memory during the run: tegrastats.log (RAM used / total per line)"
