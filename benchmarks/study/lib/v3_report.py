"""The third round's report (lib/v3.py runs, ``records/v3.jsonl.gz``): per group and method the test
figures over (teacher draw, seed), paired differences to the same-recipe student alone and to KD,
gap recovery, students against their own teacher, the teacher draw's share of the variance, the
decision columns, the screen's verdict and the targets of the students and decisions issues."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from benchmarks._lib.provenance import rel_path
from benchmarks.study.lib import records, v3
from benchmarks.study.lib.recipe import recovery
from benchmarks.study.lib.stats import delta_text, mean_sd, ms_text, paired

DEFAULT_METHOD = "mip+kd"  # what `edgekd distill` does with no options
DISTILLED = [m for m in v3.METHODS if m != "ce"]
TARGETS = {"recovery": 0.75, "recovery_groups": 6, "at_teacher_groups": 3,
           "breastmnist full/cnn-small": ("auc", 0.919, "BreastMNIST cnn-small test AUC > 91.9"),
           "mnist full/cnn-tiny": ("acc", 0.98, "MNIST 10 % cnn-tiny test ACC >= 98.0")}


def primary(dataset: str) -> str:
    return "auc" if v3.DATASETS[dataset][2] else "acc"


def _run_figures(rec: dict) -> dict | None:
    """The figures of one finished run record (None unless finished)."""
    if "test" not in rec or "metrics" not in rec:
        return None
    test, decide = rec["test"], rec.get("decide") or {}
    out = {"acc": test["test"]["accuracy"], "auc": test["test"].get("auc"), "val_acc": test["val"]["accuracy"],
           "val_auc": test["val"].get("auc"), "wall_s": (rec.get("study_run") or {}).get("wall_s"),
           "imported": (rec.get("study_run") or {}).get("imported")}
    for k in ("accuracy_at_half", "accuracy_at_rule", "accuracy_adapted", "ece_before", "ece_after", "ece_adapted"):
        out[k] = decide.get(k)
    pos = decide.get("positive_class")
    if pos is not None and decide.get("estimated_prior"):
        out["prior_error"] = decide["estimated_prior"][pos] - decide["true_prior"][pos]
    return out


def load() -> tuple[dict, dict]:
    """(teachers {dataset: {draw: figures}}, runs {(ds, regime, student, method): {(draw, seed): figures}})."""
    teachers: dict = defaultdict(dict)
    runs: dict = defaultdict(dict)
    for key, rec in records.load(records.records_path(v3.PROFILE)).items():
        parts, figures = key.split("/"), _run_figures(rec)
        if figures is None:
            continue
        if len(parts) == 2 and parts[1].startswith("teacher-t"):
            teachers[parts[0]][int(parts[1][len("teacher-t"):])] = figures
        elif len(parts) == 5:
            ds, regime, student, method, run = parts
            draw, _, seed = run.rpartition("-")
            runs[(ds, regime, student, method)][(int(draw[1:]) if draw else None, int(seed[1:]))] = figures
    return dict(teachers), dict(runs)


def _paired_values(a: dict, b: dict, metric: str) -> tuple[list[float], list[float]]:
    """``metric`` in a and in b over the (draw, seed) pairs both hold with a value; b without draws
    (the student alone) pairs with every draw of its seed."""
    x, y = [], []
    for k in sorted(a):
        other = b.get(k) or b.get((None, k[1]))
        if other is not None and a[k].get(metric) is not None and other.get(metric) is not None:
            x.append(a[k][metric])
            y.append(other[metric])
    return x, y


def _pairs(a: dict, b: dict, metric: str) -> dict | None:
    """Paired difference a - b (:func:`_paired_values`); None without a pair."""
    x, y = _paired_values(a, b, metric)
    return paired(x, y) if x else None


def _variance(per_run: dict, metric: str) -> dict | None:
    """The teacher draw's share of the spread: sd of the draw means and the pooled within-draw sd."""
    by_draw = defaultdict(list)
    for (draw, _), f in per_run.items():
        by_draw[draw].append(f[metric])
    if len(by_draw) < 2 or min(len(v) for v in by_draw.values()) < 2:
        return None
    means = [float(np.mean(v)) for v in by_draw.values()]
    within = float(np.sqrt(np.mean([np.var(v, ddof=1) for v in by_draw.values()])))
    return {"between_draws_sd": float(np.std(means, ddof=1)), "within_draw_sd": within,
            "draws": len(by_draw), "seeds_per_draw": min(len(v) for v in by_draw.values())}


def group_rows(teachers: dict, runs: dict) -> dict:
    """Per group: each method's figures, paired differences, recovery and its teacher comparison."""
    out = {}
    for ds, regime, student in v3.groups():
        metric, gkey = primary(ds), f"{ds} {regime}/{student}"
        alone = runs.get((ds, regime, student, "ce"), {})
        kd = runs.get((ds, regime, student, "kd"), {})
        methods = {}
        for method in v3.METHODS:
            per_run = runs.get((ds, regime, student, method), {})
            if not per_run:
                continue
            row = {"n": len(per_run), "runs": sorted(f"t{d}-s{s}" if d is not None else f"s{s}" for d, s in per_run),
                   "imported": sorted({f["imported"] for f in per_run.values() if f["imported"]})}
            for m in ("acc", "auc", "val_acc", "val_auc", "accuracy_at_half", "accuracy_at_rule",
                      "accuracy_adapted", "ece_before", "ece_after", "ece_adapted", "prior_error"):
                vals = [f[m] for f in per_run.values() if f.get(m) is not None]
                row[m] = mean_sd(vals) if vals else None
            if method != "ce":
                row["vs_alone"] = _pairs(per_run, alone, metric) if alone else None
                row["vs_kd"] = _pairs(per_run, kd, metric) if kd and method != "kd" else None
                # the figure users act on: accuracy at the shipped rule, paired the same way
                row["rule_vs_alone"] = _pairs(per_run, alone, "accuracy_at_rule") if alone else None
                row["rule_vs_kd"] = _pairs(per_run, kd, "accuracy_at_rule") if kd and method != "kd" else None
                first_draw = {k: f for k, f in per_run.items() if k[0] == 0}  # what the screen saw
                row["vs_kd_draw0"] = _pairs(first_draw, kd, metric) if kd and first_draw and method != "kd" else None
                to_teacher = [f[metric] - teachers[ds][k[0]][metric] for k, f in per_run.items()
                              if k[0] in teachers.get(ds, {})]  # each student against its own teacher
                row["vs_teacher"] = paired(to_teacher, [0.0] * len(to_teacher)) if to_teacher else None
                draws = sorted({d for d, _ in per_run if d in teachers.get(ds, {})})
                t_mean = float(np.mean([teachers[ds][d][metric] for d in draws])) if draws else None
                a_mean = row_value(methods.get("ce"), metric)
                row["teacher"] = t_mean
                row["recovery"] = recovery(t_mean, a_mean, row_value(row, metric))
                row["variance"] = _variance(per_run, metric)
            methods[method] = row
        if methods:
            picked = [m for m in DISTILLED if m in methods and methods[m].get(f"val_{metric}")]
            pick = max(picked, key=lambda m: methods[m][f"val_{metric}"]["mean"]) if picked else None
            out[gkey] = {"metric": metric, "methods": methods, "pick": pick,
                         "screen": (ds, regime, student) in v3.SCREEN_GROUPS}
    return out


def row_value(row: dict | None, metric: str) -> float | None:
    """The mean of ``metric`` in a method's row (None without the row or the metric)."""
    return row[metric]["mean"] if row and row.get(metric) else None


def verdicts(groups: dict) -> dict:
    """Per method: in how many groups it beats / loses to the student alone and KD (95 % t-interval)."""
    out = {}
    for method in DISTILLED:
        counts = {"groups": 0, "beats_alone": 0, "worse_than_alone": 0, "beats_kd": 0, "worse_than_kd": 0}
        for g in groups.values():
            row = g["methods"].get(method)
            if not row:
                continue
            counts["groups"] += 1
            for ref in ("alone", "kd"):
                p = row.get(f"vs_{ref}")
                if p and p["n"] >= 2:
                    counts[f"beats_{ref}"] += p["beats"]
                    counts[f"worse_than_{ref}"] += p["worse"]
        out[method] = counts
    return out


def pooled_vs_kd(runs: dict) -> dict:
    """Per method: its paired difference to KD pooled over every group's (draw, seed) pairs, on the
    group's primary metric and on accuracy at the shipped rule (the default is chosen on these)."""
    out = {}
    for method in DISTILLED:
        if method == "kd":
            continue
        pairs: dict = {"primary": ([], []), "accuracy_at_rule": ([], [])}
        for (ds, regime, student, m), per_run in runs.items():
            if m != method:
                continue
            kd = runs.get((ds, regime, student, "kd"), {})
            for name, (a, b) in pairs.items():
                x, y = _paired_values(per_run, kd, primary(ds) if name == "primary" else name)
                a += x
                b += y
        if pairs["primary"][0]:
            out[method] = {name: paired(a, b) for name, (a, b) in pairs.items()}
    return out


def screen_ranking(groups: dict) -> list[dict]:
    """The screen's evidence per method other than KD: its paired difference to KD in each screen
    group (draw 0, the screen's seeds) and their mean, best first; the grid keeps the best two."""
    rows = []
    for method in DISTILLED:
        if method == "kd":
            continue
        deltas = {k: g["methods"][method]["vs_kd_draw0"] for k, g in groups.items()
                  if g["screen"] and method in g["methods"] and g["methods"][method].get("vs_kd_draw0")}
        if deltas:
            rows.append({"method": method, "mean_vs_kd": float(np.mean([p["mean"] for p in deltas.values()])),
                         "worse_than_kd": sum(p["worse"] for p in deltas.values()),
                         "beats_kd": sum(p["beats"] for p in deltas.values()), "groups": deltas})
    return sorted(rows, key=lambda r: -r["mean_vs_kd"])


def targets(groups: dict) -> list[dict]:
    """The students issue's targets, from the default method and from the method picked on validation."""
    rows = []
    for label, chooser in (("edgekd's default (MIP + KD)", lambda g: DEFAULT_METHOD),
                           ("the method picked on validation", lambda g: g["pick"])):
        rec = {k: (g["methods"].get(chooser(g)) or {}).get("recovery") for k, g in groups.items()}
        met = [k for k, r in rec.items() if r is not None and r >= TARGETS["recovery"]]
        rows.append({"target": f"gap recovery >= 75 % vs the same-recipe student alone in >= "
                               f"{TARGETS['recovery_groups']} of 12 groups ({label})",
                     "measured": f"{len(met)} of {sum(r is not None for r in rec.values())} groups with a gap "
                                 f"({len(groups)} groups run)", "met": len(met) >= TARGETS["recovery_groups"]})
        at = [k for k, g in groups.items() if (p := (g["methods"].get(chooser(g)) or {}).get("vs_teacher"))
              and p["n"] >= 2 and p["ci"][1] >= 0]
        rows.append({"target": f"a student at or above its own teacher (paired interval not below 0) in >= "
                               f"{TARGETS['at_teacher_groups']} groups ({label})",
                     "measured": f"{len(at)} groups: " + (", ".join(at) or "none"),
                     "met": len(at) >= TARGETS["at_teacher_groups"]})
    for gkey in ("breastmnist full/cnn-small", "mnist full/cnn-tiny"):
        metric, goal, text = TARGETS[gkey]
        g = groups.get(gkey)
        best = None
        if g:
            vals = {m: row_value(r, metric) for m, r in g["methods"].items() if m != "ce"}
            vals = {m: v for m, v in vals.items() if v is not None}
            best = max(vals.items(), key=lambda kv: kv[1]) if vals else None
        rows.append({"target": text, "measured": None if best is None else f"{best[1] * 100:.1f} ({best[0]})",
                     "met": best is not None and best[1] >= goal,
                     "margin": None if best is None else best[1] - goal})
    return rows


def maps_summary() -> dict | None:
    """The students' own CAMs in ``v3.MAPS_GROUP`` (``--v3 maps``, teacher draw 0): per method, per
    image the mean over the seeds every method has of the CAM's ins−del (and of its agreement gain
    with the teacher's CAM); intervals over images, paired against the random control, the student
    alone and KD.  None before ``--v3 maps`` ran."""
    ds, regime, student = v3.MAPS_GROUP
    found: dict = defaultdict(dict)
    for key, rec in records.load(records.records_path(v3.PROFILE)).items():
        parts = key.split("/")
        if parts[:3] == [ds, regime, student] and rec.get("maps") and parts[4].startswith(("s", "t0-")):
            found[parts[3]][int(parts[4].rpartition("s")[2])] = rec["maps"]
    if not found:
        return None
    seeds = sorted(set.intersection(*(set(r) for r in found.values())))

    def per_image(method: str, name: str) -> np.ndarray:
        values = [[np.nan if v is None else v for v in found[method][s][name]] for s in seeds]
        return np.nanmean(np.asarray(values, float), axis=0)

    scores = {m: per_image(m, "ins_del") for m in v3.MAPS_METHODS if m in found}
    out = {"group": f"{ds} {regime}/{student}", "seeds": seeds, "n": len(next(iter(scores.values()))), "methods": {}}
    for method, score in scores.items():
        out["methods"][method] = {
            "ins_del": float(np.nanmean(score)), "accuracy": float(np.mean([found[method][s]["accuracy"] for s in seeds])),
            "vs_random": paired(score, per_image(method, "random")),
            "agreement_gain": paired(per_image(method, "agreement_gain"), np.zeros_like(score)),
            **{f"vs_{ref}": paired(score, scores[ref]) for ref in ("ce", "kd", DEFAULT_METHOD)
               if ref in scores and ref != method}}
    return out


def _map_delta(p: dict | None) -> str:
    return "-" if not p else f"{p['mean']:+.3f} [{p['ci'][0]:+.3f}, {p['ci'][1]:+.3f}]"


def summarise() -> dict:
    teachers, runs = load()
    groups = group_rows(teachers, runs)
    return {"teachers": {ds: {f"t{d}": {k: f[k] for k in ("acc", "auc")} for d, f in sorted(t.items())}
                         for ds, t in teachers.items()},
            "groups": groups, "verdicts": verdicts(groups), "pooled_vs_kd": pooled_vs_kd(runs),
            "screen": screen_ranking(groups),
            "targets": targets(groups), "maps": maps_summary(),
            "records": rel_path(records.records_path(v3.PROFILE))}


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v * 100:.0f} %"


def markdown(rep: dict) -> list[str]:
    L = ["## Third round (v3): the product's recipe, two teacher draws, the new methods", "",
         f"`benchmarks/study/study.py --v3 screen|grid --jobs 2` (design: `benchmarks/study/lib/v3.py`; run records: "
         f"`{rep['records']}`). Teachers: `edgekd train --model resnet20 --dataset D --seed DRAW` with its defaults "
         "(MNIST: `--label-fraction 0.1`), draws 0 and 1. Students: `edgekd distill` with its defaults, only the "
         "method varied (`--method none` = the student alone, `kd`, `dkd`, `kd --logit-standardize` = ls-kd, "
         "`mip` = MIP + KD, the default, `cam --att-loss cosine` = the e2KD-style explanation term); the student "
         "alone reads no teacher, so one run per seed serves both draws. Pairs are (draw, seed): same views, same "
         "order. Test figures of the best-on-validation epoch, mean ± sd over runs, in %; Δ = paired difference in "
         "points with its 95 % t-interval; recovery = (student − alone) / (teacher − alone), n/a where the teacher "
         "is less than 0.5 points above the student alone. One thread per run, two runs at a time, 2-core x86.", ""]
    L += ["Teachers (test ACC / AUC):", ""]
    for ds, t in rep["teachers"].items():
        L.append(f"- {ds}: " + "; ".join(f"draw {d[1:]}: {f['acc'] * 100:.1f} / {f['auc'] * 100:.1f}"
                                         for d, f in t.items()))
    L += ["", "### Per group (primary metric: AUC on the binary sets, ACC on MNIST)", "",
          "| group | metric | teacher | alone | " + " | ".join(DISTILLED) + " | pick (val) | Δ default vs alone | "
          "Δ default vs KD | default − teacher | recovery default | recovery pick |",
          "|---|---|---|---|" + "---|" * len(DISTILLED) + "---|---|---|---|---|---|"]
    for gkey, g in rep["groups"].items():
        m, rows = g["metric"], g["methods"]
        cells = [f"{ms_text(rows[x][m])} (n={rows[x]['n']})" if x in rows and rows[x][m] else "-"
                 for x in ("ce", *DISTILLED)]
        d = rows.get(DEFAULT_METHOD) or {}
        teacher = d.get("teacher") or next((r.get("teacher") for r in rows.values() if r.get("teacher")), None)
        pick = rows.get(g["pick"]) or {}
        L.append(f"| {gkey}{' (screen)' if g['screen'] else ''} | {m.upper()} | "
                 f"{'-' if teacher is None else f'{teacher * 100:.1f}'} | " + " | ".join(cells) +
                 f" | {g['pick'] or '-'} | {delta_text(d.get('vs_alone'))} | {delta_text(d.get('vs_kd'))} | "
                 f"{delta_text(d.get('vs_teacher'))} | {_pct(d.get('recovery'))} | {_pct(pick.get('recovery'))} |")
    L += ["", "### Each method against the student alone and KD", "",
          "| group | method | Δ vs alone | Δ vs KD | − teacher | recovery | teacher-draw sd / seed sd |",
          "|---|---|---|---|---|---|---|"]
    for gkey, g in rep["groups"].items():
        for method, row in g["methods"].items():
            if method == "ce":
                continue
            var = row.get("variance")
            spread = "-" if not var else (f"{var['between_draws_sd'] * 100:.2f} / {var['within_draw_sd'] * 100:.2f}")
            L.append(f"| {gkey} | {method} | {delta_text(row.get('vs_alone'))} | {delta_text(row.get('vs_kd'))} | "
                     f"{delta_text(row.get('vs_teacher'))} | {_pct(row.get('recovery'))} | {spread} |")
    L += ["", f"Screen (every method on {len(v3.SCREEN_GROUPS)} groups, draw 0; paired difference to KD on the "
          "primary metric, points): the grid keeps the student alone, KD and the best two, "
          f"{', '.join(m for m in v3.GRID_METHODS if m not in ('ce', 'kd', DEFAULT_METHOD))}, beside the default "
          f"({DEFAULT_METHOD}), which ships whatever the screen says.", ""]
    for r in rep["screen"]:
        per_group = "; ".join(f"{k}: {delta_text(p)}" for k, p in r["groups"].items())
        L.append(f"- {r['method']}: mean {r['mean_vs_kd'] * 100:+.2f}, worse than KD in {r['worse_than_kd']}, "
                 f"better in {r['beats_kd']} ({per_group})")
    L += ["", "Verdict per method (groups where the 95 % interval is above / below zero):", ""]
    for method, c in rep["verdicts"].items():
        L.append(f"- {method}: {c['groups']} groups; beats the student alone in {c['beats_alone']}, worse in "
                 f"{c['worse_than_alone']}; beats KD in {c['beats_kd']}, worse in {c['worse_than_kd']}")
    L += ["", "Pooled over the groups (every (draw, seed) pair with a KD run of the same group; points):", ""]
    for method, p in rep.get("pooled_vs_kd", {}).items():
        L.append(f"- {method} − KD: primary metric {delta_text(p['primary'])} ({p['primary']['n']} pairs, "
                 f"{p['primary']['wins']} above / {p['primary']['losses']} below); accuracy at the shipped rule "
                 f"{delta_text(p['accuracy_at_rule'])} ({p['accuracy_at_rule']['wins']} above / "
                 f"{p['accuracy_at_rule']['losses']} below)")
    L += ["", "### Decisions (test split, each model's shipped rule: temperature, the 0.5 operating point)", "",
          "| group | method | ACC at 0.5 | ACC at the rule | Δ ACC at the rule vs alone | vs KD | ACC after adapt | "
          "ECE before | ECE after temperature | ECE after adapt | prior error (positive class) |",
          "|---|---|---|---|---|---|---|---|---|---|---|"]
    for gkey, g in rep["groups"].items():
        for method in ("ce", "kd", DEFAULT_METHOD):
            row = g["methods"].get(method)
            if not row or not row.get("accuracy_at_rule"):
                continue
            e = [ms_text(row.get(k), 1, 3) for k in ("ece_before", "ece_after", "ece_adapted")]
            L.append(f"| {gkey} | {method} | {ms_text(row['accuracy_at_half'])} | {ms_text(row['accuracy_at_rule'])} | "
                     f"{delta_text(row.get('rule_vs_alone'))} | {delta_text(row.get('rule_vs_kd'))} | "
                     f"{ms_text(row['accuracy_adapted'])} | {' | '.join(e)} | {ms_text(row.get('prior_error'), 1, 3)} |")
    if rep.get("maps"):
        mp = rep["maps"]
        L += ["", f"### The students' own maps ({mp['group']}, teacher draw 0, seeds "
              f"{', '.join(map(str, mp['seeds']))})", "",
              f"`study.py --v3 maps`: each student's exported CAM (its `--attention-head cam`) scored by "
              f"`edgekd attention-agreement` on the first {mp['n']} test images (blur fill): insertion − deletion of "
              "the predicted class's probability, higher = more faithful, random orderings 0; per image the mean "
              "over the seeds, 95 % t-intervals over images. Agreement gain: r with the teacher's CAM of the same "
              "image minus r with another image's.", "",
              "| method | ACC (these images) | CAM ins−del | − random | − student alone | − KD | − default | "
              "agreement gain |", "|---|---|---|---|---|---|---|---|"]
        for method, r in mp["methods"].items():
            L.append(f"| {method} | {r['accuracy'] * 100:.1f} | {r['ins_del']:+.3f} | {_map_delta(r['vs_random'])} | "
                     f"{_map_delta(r.get('vs_ce'))} | {_map_delta(r.get('vs_kd'))} | "
                     f"{_map_delta(r.get('vs_' + DEFAULT_METHOD))} | {_map_delta(r['agreement_gain'])} |")
    L += ["", "Targets (the students issue):", ""]
    for t in rep["targets"]:
        margin = f", margin {t['margin'] * 100:+.1f} points" if t.get("margin") is not None else ""
        L.append(f"- {t['target']}: {t['measured'] or 'not run'} -> **{'met' if t['met'] else 'missed'}**{margin}")
    return L + [""]


def plot(rep: dict, path) -> None:
    """Each method's paired difference to the student alone per group (points, 95 % interval)."""
    from edgekd.plotting import pyplot, save_png

    plt = pyplot()
    names = [k for k, g in rep["groups"].items() if any(r.get("vs_alone") for r in g["methods"].values())]
    fig, ax = plt.subplots(figsize=(9, 0.5 + 0.45 * max(1, len(names))))
    for j, method in enumerate(DISTILLED):
        labelled = False
        for i, gkey in enumerate(names):
            p = (rep["groups"][gkey]["methods"].get(method) or {}).get("vs_alone")
            if not p or p["n"] < 2:
                continue
            y = i + (j - len(DISTILLED) / 2) * 0.13
            ax.errorbar(p["mean"] * 100, y, xerr=[[(p["mean"] - p["ci"][0]) * 100], [(p["ci"][1] - p["mean"]) * 100]],
                        fmt="o", ms=4, color=f"C{j}", label=None if labelled else method)
            labelled = True
    ax.axvline(0, color="k", lw=0.8)
    ax.set_yticks(range(len(names)), [n.replace(" ", "\n", 1) for n in names], fontsize=7)
    ax.set_xlabel("test AUC (binary) / ACC (MNIST) minus the same-recipe student alone, points")
    ax.set_title("Study v3: each method against the student alone (95 % t-interval over draw x seed)", fontsize=9)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    save_png(fig, path)
