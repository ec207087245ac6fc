"""``edgekd bench`` with a model that carries no edgekd metadata, beside edgekd's own files.

The example report of docs/bench.md: the teacher checkpoint (PyTorch eager),
the student's ONNX, its int8 ONNX with the FMA head, and the student's ONNX with its
edgekd metadata stripped: a "foreign" model that ``edgekd bench`` can only score when
told how (``--norm dataset --class-map 0=normal,1=pneumonia``). Being the same network,
it must score exactly the student's accuracy and AUC: the script checks that. A second
run benches the stripped file without a data set (latency and memory only).

Models as in ``edge_latency.py`` (resnet20 teacher 3 epochs, cnn-small FMA + KD student,
alpha 0.5, 3 epochs) unless given. Writes benchmarks/bench_any/bench_any.{json,md,png}. Timings:
run it on a quiet machine (about 2 minutes of training, then 4 + 1 models x --min-time):

    python benchmarks/bench_any/bench_any.py [--teacher T.pt --student S.pt] [--min-time 1.0]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from benchmarks.edge_latency.edge_latency import DATASET, make_models  # noqa: E402


def strip_metadata(src: Path, dst: Path) -> None:
    """A copy of an ONNX file without its edgekd metadata entry."""
    import onnx

    model = onnx.load(str(src))
    kept = [p for p in model.metadata_props if p.key != "edgekd"]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    onnx.save(model, str(dst))


def bench(args: list[str]) -> None:
    cmd = [sys.executable, "-m", "edgekd.cli.app", "bench", *args]
    print("$ edgekd bench " + " ".join(args), flush=True)
    subprocess.run(cmd, check=True)


def main() -> None:
    from edgekd.exporters.exporter import ExportOptions, export

    parser = argparse.ArgumentParser()
    parser.add_argument("--teacher", type=Path)
    parser.add_argument("--student", type=Path)
    parser.add_argument("--min-time", type=float, default=1.0)
    parser.add_argument("--limit", type=int, help="score only the first N test images (a quick check)")
    parser.add_argument("--out", type=Path, default=HERE / "bench_any")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="edgekd_bench_any_"))
    teacher, student = make_models(work, args.teacher, args.student)
    onnx_path, head_path = work / "student.onnx", work / "student_int8_fma.onnx"
    export(student, ExportOptions(format="onnx", out=onnx_path, force=True))
    export(student, ExportOptions(format="onnx", head="fma", quantize="int8", out=head_path, force=True))
    foreign = work / "student_no_metadata.onnx"
    strip_metadata(onnx_path, foreign)

    common = ["--threads", "1", "--batch", "1", "--warmup", "20", "--min-time", str(args.min_time), "--no-peak"]
    common += ["--limit", str(args.limit)] if args.limit else []
    out = args.out
    bench([str(teacher), str(onnx_path), str(head_path), str(foreign), "--dataset", DATASET, "--norm", "dataset",
           "--class-map", "0=normal,1=pneumonia", *common, "--json", str(out.with_suffix(".json")),
           "--md", str(out.with_suffix(".md")), "--plot", str(out.with_suffix(".png"))])
    only = work / "latency_only"
    bench([str(onnx_path), str(foreign), *common, "--json", str(only.with_suffix(".json")),
           "--md", str(only.with_suffix(".md"))])

    rows = {r["model"]: r for r in json.loads(out.with_suffix(".json").read_text())["rows"]}
    same = all(rows[str(foreign)][k] == rows[str(onnx_path)][k] for k in ("accuracy", "auc"))
    only_rows = json.loads(only.with_suffix(".json").read_text())["rows"]
    md = out.with_suffix(".md").read_text()
    check = (f"Check: the metadata-free copy of the student scores {'the same' if same else 'NOT the same'} "
             f"accuracy and AUC as the student ({rows[str(foreign)]['accuracy']:.4f}, {rows[str(foreign)]['auc']:.4f}).")
    md += ("\n" + textwrap.fill(check, 80) + "\n"
           "\nWithout --dataset (latency and memory only):\n\n" + only.with_suffix(".md").read_text().split("\n\n", 3)[3])
    out.with_suffix(".md").write_text(md)
    print(md)
    if not same or only_rows[1]["feed_mode"] != "random":
        sys.exit("bench_any: the metadata-free student was not scored like the student")


if __name__ == "__main__":
    main()
