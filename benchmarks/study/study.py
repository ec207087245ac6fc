"""Does attention guidance beat KD and AT?  The paired multi-seed study.

Run from the repository root (``EDGEKD_DATA`` defaults to ../shared/data):

    python benchmarks/study/study.py --list [--jobs 2]   # the parts, their runs, what is finished, projected time
    python benchmarks/study/study.py --part 1 --jobs 2   # one part (<= ~1 h on 2 free cores, see --list)
    python benchmarks/study/study.py --dataset breastmnist --regime low
    python benchmarks/study/study.py --report            # records -> study.md, results.json, params.png
    python benchmarks/study/study.py --all --jobs 2      # everything, two runs at a time (one per core)
    python benchmarks/study/study.py --quick --jobs 2    # 1 seed, 1 epoch per run, everything -> quick/report.md,
                                                         # with the full study's projected time on this machine
    python benchmarks/study/study.py --quick --report    # rebuild the quick report only
    python benchmarks/study/study.py --v2 --part 1 --jobs 2  # the second recipe (plan.py V2_*), same parts;
                                                         # --report then adds it beside the first recipe
    python benchmarks/study/study.py --v3 screen --jobs 2    # the third round (lib/v3.py): the product's recipe,
    python benchmarks/study/study.py --v3 grid --jobs 2      # two teacher draws; screen first, then the grid
    python benchmarks/study/study.py --v3 grid --list        # what is finished, per group and method
    python benchmarks/study/study.py --v3 maps               # score the students' own CAMs (v3.MAPS_GROUP)

Runs are made in the git-ignored ``benchmarks/_work/study/`` (``v2/``, ``v3/`` and ``quick/`` below it);
each finished run is added to its round's record file, ``records/{v1,v2,v3,quick}.jsonl.gz``
beside this script (lib/records.py), and the reports are built from those records alone.
``--collect`` adds run folders made otherwise. The work is in ``lib/``, one job per module:
plan (the design as data), runner (resume, jobs), records, recipe, stats (intervals,
aggregation, targets), cost (projection), report (Markdown, figures, latency).

Design (decisions written down here, as METHOD.md asks):
- One teacher per data set: ResNet-20, trained once on the study's whole training set
  (with random-shift augmentation), selected on validation.
- Students ``cnn-tiny`` and ``cnn-small``; methods CE (student alone), KD, AT, AT+KD,
  FMA, MIP, SALS, FMA+KD, MIP+KD, SALS+KD.  Every student run, CE included, goes
  through ``edgekd.distillation.run.distill`` (CE = method "none", alpha 0), so for one seed
  every method starts from the *same* student initialisation, sees the same batches in
  the same order and, in the low-data regime, the same stratified label subset: the
  comparison is paired by seed.
- Students train without augmentation: the teacher cache (logits, maps, AT's per-layer
  maps) needs identical inputs every epoch.  The committed AT and AT+KD runs were made
  with the live teacher, before the cache learnt AT; the cached form computes the same
  loss up to float32 rounding (tests/test_distill.py), and a rerun uses it.
- Model selection: the best epoch on the validation split, by validation AUC on the
  binary sets (a probe: val accuracy saturates near 0.96 and the test split's
  class balance differs from train/val, so accuracy is a threshold-sensitive, noisy
  selector) and by validation accuracy on MNIST.  The test split is read once per run,
  by the library, after selection.  Nothing in this script selects on test.
- Regimes: ``full`` (all training labels; MNIST: a stratified 10 % subsample, 5,500
  images, to fit the time budget) and ``low`` (10 % of the full regime's fraction,
  stratified, seeded by the run's seed).  The teacher is trained on the whole training set
  (MNIST: a 20 % subsample, 11,000 images, seed 0, 4 epochs; the students' subsets, drawn
  with their own seeds, overlap it only partly).
- Schedules (per data set and regime, see ``PROFILES``) are short to fit ~4 h on 2 cores;
  small training sets get small batches so that every run takes >= ~200 SGD steps.
  Study runs skip the loop's per-epoch curves.png (see ``_no_curve_plots``).
- Statistics (``paired``): per seed the difference method - reference; mean, a
  two-sided 95 % t-interval over seeds (df = n - 1) and a paired bootstrap interval over
  seeds (10,000 resamples, fixed seed).  A method "beats" another only where the
  t-interval excludes zero on the positive side.
- Hyper-parameters (T, alpha, beta, attention loss, layers, size) come from
  ``benchmarks/sweep/sweep.py`` (validation AUC on PneumoniaMNIST), copied into ``DEFAULTS``.
- Resume: a run whose folder holds ``test.json`` and whose ``metrics.json`` records the
  same training config and method is skipped; an unfinished run (``last.pt``) resumes;
  a folder holding a run of another config is an error (delete it, or ``--force``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("EDGEKD_DATA", str(ROOT.parent / "shared" / "data"))
from edgekd.training.threads import calm_openmp_waits  # noqa: E402

calm_openmp_waits()  # before torch loads, as the edgekd command does (benchmarks/contention/contention.md)

from benchmarks._lib.provenance import rel_path  # noqa: E402
from benchmarks.study.lib import records, v3  # noqa: E402
from benchmarks.study.lib.cost import projection  # noqa: E402
from benchmarks.study.lib.plan import PARTS, PROFILES, STUDY_DIR, part_specs, plan  # noqa: E402
from benchmarks.study.lib.report import report  # noqa: E402
from benchmarks.study.lib.runner import run_plan, run_state  # noqa: E402


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="1 seed, 1 epoch per run (report: benchmarks/study/quick/), with the full study's projected cost")
    ap.add_argument("--v2", action="store_true",
                    help="run the second recipe (augmentation + K-view teacher cache, 100 epochs; records in "
                         "benchmarks/study/records/v2.jsonl.gz); the report shows it beside the first recipe")
    ap.add_argument("--v3", choices=("screen", "grid", "maps"),
                    help="the third round (lib/v3.py): every method on 3 groups (screen) or the kept methods on "
                         "the 12 groups with 2 teacher draws (grid); --method, --seed, --draw, --dataset, --regime and "
                         "--student narrow it; maps: score the finished students' CAMs in v3.MAPS_GROUP")
    ap.add_argument("--draw", nargs="*", type=int, help="with --v3: only these teacher draws (0, 1)")
    ap.add_argument("--part", type=int, help=f"run part N (1..{len(PARTS)}); see --list")
    ap.add_argument("--all", action="store_true", help="run every part in order")
    ap.add_argument("--dataset", nargs="*")
    ap.add_argument("--regime", nargs="*")
    ap.add_argument("--student", nargs="*")
    ap.add_argument("--method", nargs="*")
    ap.add_argument("--seed", nargs="*", type=int, help="only these seeds (e.g. to split a part over two machines)")
    ap.add_argument("--teachers", action="store_true", help="train only the teachers (of --dataset, or all)")
    ap.add_argument("--list", action="store_true", help="list parts, run counts and what is finished")
    ap.add_argument("--report", action="store_true", help="aggregate the round's run records into JSON/MD/PNG")
    ap.add_argument("--collect", action="store_true",
                    help="add every finished run folder of the round's work folder to its records file "
                         "(the runner records each run it finishes; this catches runs made otherwise)")
    ap.add_argument("--bench", action="store_true", help="with --report: export + bench the students")
    ap.add_argument("--force", action="store_true",
                    help="rerun the selected student runs even when finished (teachers only with --teachers)")
    ap.add_argument("--jobs", type=int, default=1,
                    help="runs at a time, each in its own process (2 on a 2-core machine); default 1")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads per process (default 1: on a shared 2-core machine, 2 threads per "
                         "process oversubscribe the cores and ran 5x slower here; use --jobs 2 instead); "
                         "0 = torch's default")
    args = ap.parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    profile = PROFILES["quick" if args.quick else ("v2" if args.v2 else "full")]
    md_path = STUDY_DIR / "quick" / "report.md" if args.quick else STUDY_DIR / "study.md"
    out_dir = STUDY_DIR / "quick" if args.quick else STUDY_DIR
    title = "The study: --quick pipeline check (1 seed, 1 epoch per run: NOT evidence)" if args.quick else \
        "The study: does attention guidance beat KD and AT?"
    t0 = time.perf_counter()
    if args.collect:
        target = v3.PROFILE if args.v3 else profile
        n = records.collect(target)
        print(f"{n} run folders recorded in {rel_path(records.records_path(target))}", flush=True)
        if not args.report:
            return
    if args.v3 == "maps":
        for draw in args.draw or (0,):
            print(f"teacher draw {draw}: {v3.maps(draw, args.seed or v3.SEEDS)} students' maps recorded", flush=True)
        return
    if args.v3:
        specs = v3.plan(args.v3, args.method, args.draw, args.seed, args.dataset, args.regime, args.student)
        if args.list:
            print(v3.listing(specs))
            return
        print(f"{len(specs)} runs planned under {rel_path(v3.PROFILE['root'])}", flush=True)
        counts = run_plan(specs, args.force, log=lambda s: print(s, flush=True), jobs=args.jobs, threads=args.threads)
        print(f"finished in {time.perf_counter() - t0:.0f}s; states found: {counts}", flush=True)
        return
    if args.list:
        for i, p in enumerate(PARTS, 1):
            specs = part_specs(profile, i)
            states = [run_state(s) for s in specs]
            cost = projection(PROFILES["quick"], PROFILES["full"], args.jobs or 1, specs)
            estimate = ("" if cost["runs_missing"] else
                        f", projected {cost['wall_h'] * 60:.0f} min with --jobs {args.jobs} (from --quick)")
            print(f"part {i}: {p['dataset']} {p['regime']} {','.join(p['students'])}: {len(specs)} runs, "
                  f"{states.count('done')} done{estimate}")
        return
    if args.teachers:
        specs = [s for s in plan(profile, args.dataset) if s["kind"] == "teacher"]
        print(f"{len(specs)} teachers planned", flush=True)
        run_plan(specs, args.force, log=lambda s: print(s, flush=True), jobs=args.jobs, threads=args.threads,
                 force_teachers=args.force)
    elif (args.quick and not args.report) or args.all or args.part or args.dataset or args.regime or args.student or args.method:
        if args.part:
            specs = part_specs(profile, args.part)
        elif args.all:
            specs = [s for i in range(1, len(PARTS) + 1) for s in part_specs(profile, i)]
        else:
            specs = plan(profile, args.dataset, args.regime, args.student, args.method)
        if args.seed:
            specs = [s for s in specs if s["kind"] == "teacher" or s["seed"] in args.seed]
        print(f"{len(specs)} runs planned under {profile['root']}", flush=True)
        load_before = os.getloadavg()[0]
        counts = run_plan(specs, args.force, log=lambda s: print(s, flush=True), jobs=args.jobs,
                          threads=args.threads)
        wall = time.perf_counter() - t0
        print(f"finished in {wall:.0f}s; states found: {counts}", flush=True)
        if args.quick and set(counts) == {"new"}:  # a whole fresh --quick run: its time is the figure
            (out_dir / "last_run.json").write_text(json.dumps(
                {"wall_s": round(wall, 1), "runs": len(specs), "states": counts, "jobs": args.jobs,
                 "threads": args.threads, "cores": os.cpu_count(), "load_before": load_before}, indent=1) + "\n")
    if args.report or args.quick:
        report(PROFILES["full"] if args.v2 else profile, md_path, out_dir, title, bench=args.bench)
        print(f"wrote {md_path} and {out_dir}/results.json", flush=True)


if __name__ == "__main__":
    main()
