"""Tables and figure of compare_estimators.py: the markdown people read and the PNG beside it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

GROUPS = {"logreg": lambda m: m == "logreg", "cnn-small": lambda m: m.startswith("cnn-small")}


def _models(d: dict, group: str) -> list[str]:
    return [m for m in d if GROUPS[group](m)]


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def _shift_stats(d: dict, group: str, protocol: str, share: str, estimator: str) -> dict:
    rows = [r for m in _models(d, group) for r in d[m]["shifted"][protocol][share]]
    e = [r[estimator] for r in rows]
    return {"abs_error": float(np.mean([x["abs_error"] for x in e])),
            "max_error": float(np.max([x["abs_error"] for x in e])),
            "gain": float(np.mean([x["adapted_accuracy"] - r["bcts_0.5"] for x, r in zip(e, rows)])),
            "worst_gain": float(np.min([x["adapted_accuracy"] - r["bcts_0.5"] for x, r in zip(e, rows)])),
            "to_hindsight": float(np.mean([r["hindsight_best"] - x["adapted_accuracy"] for x, r in zip(e, rows)]))}


def _resampled_vs_raw(d: dict, key: str) -> tuple[float, float]:
    """Test ACC minus each cnn-small model's own raw arg-max, over validation resamples: (mean, worst), in points."""
    cnn = _models(d, "cnn-small")
    ops = [(d[m]["operating_points"][key]["val_resampled_test_accuracy"], d[m]["operating_points"]["raw_argmax"])
           for m in cnn]
    return 100 * float(np.mean([b["mean"] - raw for b, raw in ops])), 100 * float(min(b["min"] - raw for b, raw in ops))


def _rules_table(d: dict, rules, calibrations) -> list[str]:
    cnn = _models(d, "cnn-small")
    lines = ["| calibration / rule | logreg test ACC | cnn-small test ACC, mean (seeds) | cnn sens / spec | "
             "cnn vs raw arg-max | val resampled, cnn vs raw arg-max: mean / worst |", "|---|---|---|---|---|---|"]
    raw = np.mean([d[m]["operating_points"]["raw_argmax"] for m in cnn])
    lines.append(f"| raw arg-max (today) | {_pct(d['logreg']['operating_points']['raw_argmax'])} | {_pct(raw)} "
                 f"({', '.join(_pct(d[m]['operating_points']['raw_argmax']) for m in cnn)}) | | | |")
    for cal in calibrations:
        for rule in rules:
            key = f"{cal}/{rule}"
            op = [d[m]["operating_points"][key] for m in cnn]
            acc = np.mean([o["test_accuracy"] for o in op])
            mean, worst = _resampled_vs_raw(d, key)
            lines.append(
                f"| {key} | {_pct(d['logreg']['operating_points'][key]['test_accuracy'])} | {_pct(acc)} "
                f"({', '.join(_pct(o['test_accuracy']) for o in op)}) | "
                f"{_pct(np.mean([o['test_sensitivity'] for o in op]))} / {_pct(np.mean([o['test_specificity'] for o in op]))} | "
                f"{100 * (acc - raw):+.1f} | {mean:+.1f} / {worst:+.1f} |")
    best = np.mean([d[m]["operating_points"]["hindsight_best"] for m in cnn])
    lines.append(f"| hindsight-best threshold (test labels) | {_pct(d['logreg']['operating_points']['hindsight_best'])} | "
                 f"{_pct(best)} | | {100 * (best - raw):+.1f} | |")
    return lines


def _calibration_table(d: dict) -> list[str]:
    lines = ["| model | calibration | T | val ECE | test ECE [95 % interval] | test NLL |", "|---|---|---|---|---|---|"]
    for m, row in d.items():
        for cal, c in row["calibration"].items():
            lo, hi = c["test_ece_interval"]
            lines.append(f"| {m} | {cal} | {c['temperature']:.3f} | {c['val_ece']:.3f} | {c['test_ece']:.3f} "
                         f"[{lo:.3f}, {hi:.3f}] | {c['test_nll']:.3f} |")
    return lines


def _real_test_table(d: dict, estimators) -> list[str]:
    head = " | ".join(f"{e} est. / adapted ACC" for e in estimators)
    lines = [f"| model | true positive share | {head} | raw arg-max ACC | BCTS at 0.5 | hindsight best |",
             "|---|---|" + "---|" * (len(estimators) + 3)]
    for m, row in d.items():
        r = row["real_test"]
        cells = " | ".join(f"{_pct(r[e]['estimate'])} / {_pct(r[e]['adapted_accuracy'])}" for e in estimators)
        lines.append(f"| {m} | {_pct(r['truth'])} | {cells} | {_pct(r['raw_argmax'])} | {_pct(r['bcts_0.5'])} | "
                     f"{_pct(r['hindsight_best'])} |")
    return lines


def _shift_table(d: dict, protocol: str, priors, estimators) -> list[str]:
    lines = ["| model | estimator | " + " | ".join(f"{p}: mean / max abs error" for p in priors) +
             " | adapted − unadapted ACC, mean (worst) | hindsight − adapted |",
             "|---|---|" + "---|" * (len(priors) + 2)]
    for group in GROUPS:
        for e in estimators:
            s = [_shift_stats(d, group, protocol, str(p), e) for p in priors]
            errs = " | ".join(f"{x['abs_error']:.3f} / {x['max_error']:.3f}" for x in s)
            gain = f"{100 * np.mean([x['gain'] for x in s]):+.1f} ({100 * min(x['worst_gain'] for x in s):+.1f})"
            lines.append(f"| {group} | {e} | {errs} | {gain} | {100 * np.mean([x['to_hindsight'] for x in s]):.1f} |")
    return lines


def _best_estimator(report: dict, protocol: str) -> tuple[str, dict]:
    """The estimator with the lowest mean absolute error, and every estimator's, over data sets, models and shares."""
    st = report["settings"]
    score = {e: float(np.mean([_shift_stats(d, g, protocol, str(p), e)["abs_error"]
                               for d in report["datasets"].values() for g in GROUPS for p in st["priors"]]))
             for e in st["estimators"]}
    return min(score, key=score.get), score


def _cnn_mean(d: dict, key: str, field: str = "test_accuracy") -> float:
    return float(np.mean([d[m]["operating_points"][key][field] for m in _models(d, "cnn-small")]))


def _reading(report: dict) -> list[str]:
    """The conclusions, each figure computed from the report."""
    st, dsets = report["settings"], report["datasets"]
    lines = ["## Reading", ""]
    for ds, d in dsets.items():
        parts = []
        for protocol, what in (("half_fitted", "where label shift holds (half-fitted)"),
                               ("val_fitted", "with rules fitted on validation")):
            best, score = _best_estimator({"settings": st, "datasets": {ds: d}}, protocol)
            parts.append(f"{what}: " + ", ".join(f"{e} {v:.3f}" for e, v in score.items()) + f" (lowest **{best}**)")
        lines.append(f"- **Estimators, {ds}**, mean absolute error of the positive share over models and shares, "
                     + "; ".join(parts) + ".")
    lines.append("- EM on temperature-only probabilities over-shoots far from the training prior (the bias of BCTS is "
                 "what makes the mean calibrated probability match the class frequencies EM starts from); BBSE is the "
                 "noisiest where its confusion matrix comes from few images. BreastMNIST's half-fitted protocol "
                 "calibrates on 78 test images, as its validation split does: every estimator is noisy there.")
    if "pneumoniamnist" in dsets:
        d = dsets["pneumoniamnist"]
        est = {e: [d[m]["real_test"][e]["estimate"] for m in d] for e in st["estimators"]}
        lo, hi = min(min(v) for v in est.values()), max(max(v) for v in est.values())
        cnn = _models(d, "cnn-small")
        lines.append(
            f"- **PneumoniaMNIST's real test split is not label shift.** Every estimator, on every model, puts its "
            f"positive share at {_pct(lo)}-{_pct(hi)} % (true {_pct(d['logreg']['real_test']['truth'])} %): cnn-small's "
            f"specificity at 0.5 is {_pct(_cnn_mean(d, 'temperature/0.5', 'val_specificity'))} % on validation and "
            f"{_pct(_cnn_mean(d, 'temperature/0.5', 'test_specificity'))} % on test, so the test's normal images look "
            "unlike validation's, which no label-shift estimator can see. Resampled from the test split with rules "
            "fitted on validation, the errors stay large for the same reason; adaptation still gains on average there "
            "(most at low positive shares, where even an over-estimate moves decisions the right way), not because the "
            "estimate is right. "
            f"{len(cnn)} cnn-small seeds.")
    for ds, d in dsets.items():
        keys = [f"{c}/{r}" for c in st["calibrations"] for r in st["rules"]]
        raw = np.mean([d[m]["operating_points"]["raw_argmax"] for m in _models(d, "cnn-small")])
        ranked = sorted(keys, key=lambda k: -_cnn_mean(d, k))
        lines.append(f"- **Rules, {ds}** (cnn-small mean test ACC, raw arg-max {_pct(raw)}): best "
                     + ", ".join(f"{k} {_pct(_cnn_mean(d, k))}" for k in ranked[:3]) + "; worst "
                     + ", ".join(f"{k} {_pct(_cnn_mean(d, k))}" for k in ranked[-2:]) + ".")
    safe = [k for k in (f"{c}/{r}" for c in st["calibrations"] for r in st["rules"])
            if all(_cnn_mean(d, k) >= np.mean([d[m]["operating_points"]["raw_argmax"] for m in _models(d, "cnn-small")])
                   - 1e-9 for d in dsets.values())]
    lines.append("- **Never below the raw arg-max on either data set** (cnn-small means): "
                 + (", ".join(safe) if safe else "none") + ". The rules that gain most on PneumoniaMNIST raise the "
                 "threshold toward the training prior, which helps there only because its test normals look more like "
                 "pneumonia; on BreastMNIST, where validation and test share one distribution, the same rules cost "
                 "points, and a threshold fitted on 78 validation images can cost many more (the 'worst' column).")
    return lines + [""]


def markdown(report: dict) -> str:
    st = report["settings"]
    rec = st["cnn_recipes"]
    lines = [
        "# Decisions: prior estimators and operating-point rules", "",
        "Generated by `benchmarks/decisions/compare_estimators.py` (library: `edgekd/decision/`; models: "
        f"`{st['models_script']}`). One thread. Models per data set: a pixel logistic regression "
        f"(scikit-learn, C = {st['logreg_C']}) and cnn-small trained alone by edgekd's `train_supervised` with its "
        f"defaults (SGD, cosine, 2-px shifts, checkpoint by validation AUC), seeds {st['cnn_seeds']}, "
        + "; ".join(f"{ds}: {', '.join(f'{k} {v}' for k, v in r.items())}" for ds, r in rec.items()) + ". "
        "Positive class: class 1 (pneumonia; BreastMNIST's 'normal, benign'). All percentages are of test images.", "",
        "Every rule and calibration is fitted on the validation split unless said otherwise. Adapted decisions use "
        "the BCTS-calibrated rule at 0.5 with each estimator's prior, so estimators differ by their estimate only; "
        "`bbse` reads the raw arg-max as its black box.", ""]
    for ds, d in report["datasets"].items():
        pr = d["logreg"]["priors"]
        lines += [f"## {ds}", "",
                  f"Positive share: train {_pct(pr['train'])} %, validation {_pct(pr['val'])} %, test {_pct(pr['test'])} %.", "",
                  "### Operating points (validation -> test)", "",
                  f"'val resampled': each rule refitted on {st['val_resamples']} bootstrap resamples of the validation "
                  "split, scored on the fixed test split, against each model's own raw arg-max (mean over resamples "
                  "and seeds / worst single resample), in points.", ""]
        lines += _rules_table(d, st["rules"], st["calibrations"])
        lines += ["", "Bootstrap resamples repeat images, which the shrunk and guarded rules' own inner bootstrap counts as "
                  "distinct: it then trusts the validation set more than it should, so their 'val resampled' columns "
                  "lean pessimistic.", "", "### Calibration (fitted on validation)", ""] + _calibration_table(d)
        lines += ["", "### Prior estimators on the real test split", ""] + _real_test_table(d, st["estimators"])
        for protocol, what in (("val_fitted", "rules fitted on validation (the product's protocol)"),
                               ("half_fitted", "rules fitted on one half of the test split, the other half resampled "
                                               "(label shift holds by construction)")):
            lines += ["", f"### Test split resampled to known positive shares: {what}", "",
                      f"{st['target_n']} images per set with replacement, {st['seeds']} draws per share and model.", ""]
            lines += _shift_table(d, protocol, st["priors"], st["estimators"])
        lines.append("")
    return "\n".join(lines + _reading(report))


def plot(report: dict, path: Path) -> None:
    from edgekd.plotting import pyplot, save_png

    plt = pyplot()
    st = report["settings"]
    datasets = list(report["datasets"])
    fig, axes = plt.subplots(len(datasets), 3, figsize=(14, 4 * len(datasets)), squeeze=False)
    for row, ds in enumerate(datasets):
        d = report["datasets"][ds]
        for col, protocol in enumerate(("val_fitted", "half_fitted")):
            ax = axes[row, col]
            for e in st["estimators"]:
                for group, style in (("cnn-small", "-"), ("logreg", ":")):
                    errs = [_shift_stats(d, group, protocol, str(p), e)["abs_error"] for p in st["priors"]]
                    ax.plot(st["priors"], errs, style, marker="o", label=f"{e} ({group})")
            ax.axhline(0.05, color="grey", linewidth=0.8, linestyle="--")
            ax.set(title=f"{ds}: {protocol.replace('_', ' ')}", xlabel="true positive share",
                   ylabel="mean |estimated - true| share")
            ax.legend(fontsize=7)
        ax = axes[row, 2]
        keys = [f"temperature/{r}" for r in st["rules"]]
        means, worst = zip(*(_resampled_vs_raw(d, k) for k in keys))
        y = np.arange(len(keys))
        ax.barh(y, means, color="tab:blue", label="mean over validation resamples")
        ax.plot(worst, y, "k|", markersize=12, label="worst resample")
        ax.set_yticks(y, [k.split("/", 1)[1] for k in keys], fontsize=8)
        ax.axvline(0, color="grey", linewidth=0.8)
        ax.set(title=f"{ds}: rule - raw arg-max", xlabel="cnn-small test ACC, points (temperature rules)")
        ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    save_png(fig, path)
