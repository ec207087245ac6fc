"""The study's statistics: paired differences with t and bootstrap intervals, aggregation of
finished runs, and the study's targets (every choice made on validation, never on test)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from benchmarks._lib.provenance import rel_path
from benchmarks.study.lib import records
from benchmarks.study.lib.plan import ATTENTION, DEFAULTS, PUBLISHED


def t_quantile(df: int, q: float = 0.975) -> float:
    from scipy import stats

    return float(stats.t.ppf(q, df))


def paired(a: list[float], b: list[float], n_boot: int = 10000, seed: int = 0) -> dict:
    """Paired difference a - b over seeds: mean, sd, 95 % t-interval, bootstrap interval, wins."""
    d = np.asarray(a, float) - np.asarray(b, float)
    n = len(d)
    out = {"n": n, "mean": float(d.mean()) if n else float("nan"), "wins": int((d > 0).sum()),
           "losses": int((d < 0).sum())}
    if n < 2:
        out.update(sd=float("nan"), ci=[float("nan")] * 2, boot_ci=[float("nan")] * 2, beats=False, worse=False)
        return out
    sd = float(d.std(ddof=1))
    half = t_quantile(n - 1) * sd / math.sqrt(n)
    rng = np.random.default_rng(seed)
    boots = d[rng.integers(0, n, size=(n_boot, n))].mean(1)
    out.update(sd=sd, ci=[out["mean"] - half, out["mean"] + half],
               boot_ci=[float(np.quantile(boots, 0.025)), float(np.quantile(boots, 0.975))])
    out["beats"] = bool(out["ci"][0] > 0)
    out["worse"] = bool(out["ci"][1] < 0)
    return out


def mean_sd(values: list[float]) -> dict:
    v = np.asarray(values, float)
    return {"mean": float(v.mean()) if len(v) else float("nan"),
            "sd": float(v.std(ddof=1)) if len(v) > 1 else float("nan"), "n": len(v)}


def ms_text(x: dict | None, scale: float = 100, digits: int = 1) -> str:
    """``mean ± sd`` of a :func:`mean_sd` record, scaled (percent by default); ``-`` when empty."""
    if not x or x.get("n", 0) == 0:
        return "-"
    sd = "" if x["sd"] != x["sd"] else f" ± {scale * x['sd']:.{digits}f}"
    return f"{scale * x['mean']:.{digits}f}{sd}"


def delta_text(p: dict | None) -> str:
    """A :func:`paired` record in points: ``+1.2 [+0.3, +2.1]`` (the t-interval); no interval below 2 pairs."""
    if not p or p["n"] == 0:
        return "-"
    if p["n"] < 2:
        return f"{100 * p['mean']:+.1f}"
    return f"{100 * p['mean']:+.1f} [{100 * p['ci'][0]:+.1f}, {100 * p['ci'][1]:+.1f}]"


# ----------------------------------------------------------------------------- aggregation

def read_run(record: dict | None) -> dict | None:
    """The figures the report uses from one run's record (:mod:`records`); None unless finished."""
    if not record or "test" not in record or "metrics" not in record:
        return None
    test, m = record["test"], record["metrics"]
    times = [e["time_s"] for e in m.get("epochs", [])]
    return {"test_acc": test["test"]["accuracy"], "test_auc": test["test"].get("auc"),
            "val_acc": test["val"]["accuracy"], "val_auc": test["val"].get("auc"), "best_epoch": test["best_epoch"],
            "params": m.get("params"), "macs": m.get("macs"), "s_per_epoch": float(np.mean(times)) if times else None,
            "epochs": len(times), "teacher_test": test.get("teacher", {}).get("test")}


def row_of(profile: dict, folder: Path) -> dict | None:
    """:func:`read_run` of the record of run folder ``folder`` of ``profile``."""
    return read_run(records.record_of(profile, folder))


def aggregate(profile: dict) -> dict:
    """Every finished run in the profile's records -> one results dict (see results.json)."""
    recs, runs_dir = records.load(records.records_path(profile)), records.runs_dir(profile)

    def read(folder: Path) -> dict | None:
        return read_run(recs.get(records.key_of(folder, runs_dir)))

    root = profile["root"]
    res: dict = {"profile": {k: (rel_path(v) if isinstance(v, Path) else v) for k, v in profile.items()
                             if k not in ("defaults", "records")},
                 "defaults": profile.get("defaults", DEFAULTS), "datasets": {}}
    for ds, d in profile["datasets"].items():
        t = read(root / "runs" / ds / "teacher")
        entry: dict = {"binary": d["binary"], "teacher": t, "groups": {}}
        for regime in profile["regimes"]:
            for student in profile["students"]:
                runs = {}
                for method in profile["methods"]:
                    per_seed = {}
                    for seed in d["seeds"]:
                        r = read(root / "runs" / ds / regime / student / method / f"s{seed}")
                        if r:
                            per_seed[seed] = r
                    runs[method] = per_seed
                if not any(runs.values()):
                    continue
                entry["groups"][f"{regime}/{student}"] = summarise(runs, d["seeds"])
        res["datasets"][ds] = entry
    return res


def summarise(runs: dict[str, dict[int, dict]], seeds: list[int]) -> dict:
    out = {}
    for method, per_seed in runs.items():
        if not per_seed:
            out[method] = {"n": 0, "seeds_done": []}
            continue
        rows = list(per_seed.values())
        row = {"n": len(rows), "seeds_done": sorted(per_seed), "seeds_planned": seeds,
               "params": rows[0]["params"], "macs": rows[0]["macs"],
               "s_per_epoch": mean_sd([r["s_per_epoch"] for r in rows])["mean"]}
        for key in ("test_acc", "test_auc", "val_acc", "val_auc"):
            vals = [r[key] for r in rows if r[key] is not None]
            row[key] = mean_sd(vals)
            row[key]["values"] = {s: per_seed[s][key] for s in sorted(per_seed)}
        for ref in ("ce", "kd", "at"):
            if ref == method or not runs.get(ref):
                continue
            common = sorted(set(per_seed) & set(runs[ref]))
            row[f"vs_{ref}"] = {m: paired([per_seed[s][f"test_{m}"] for s in common],
                                          [runs[ref][s][f"test_{m}"] for s in common]) for m in ("acc", "auc")}
            row[f"vs_{ref}"]["seeds"] = common
        out[method] = row
    return out


# ----------------------------------------------------------------------------- targets

def primary(entry: dict) -> str:
    return "auc" if entry["binary"] else "acc"


def _recovery(teacher: dict, alone: dict, method: dict, metric: str) -> tuple[float, float, float, float | None]:
    """(teacher, alone, method test values of ``metric``, share of the teacher-alone gap the
    method recovers; None when the student alone is not below the teacher)."""
    v_t, v_ce, v_m = teacher[f"test_{metric}"], alone[f"test_{metric}"]["mean"], method[f"test_{metric}"]["mean"]
    return v_t, v_ce, v_m, ((v_m - v_ce) / (v_t - v_ce) if v_t - v_ce > 0 else None)


def targets(res: dict) -> dict:
    """The study's targets, each met / missed / incomplete; choices made on validation only."""
    out: dict = {}
    tparams = [e["teacher"]["params"] for e in res["datasets"].values() if e.get("teacher")]
    small = {}
    for e in res["datasets"].values():
        for g in e["groups"].values():
            for m in g.values():
                if m.get("params"):
                    small[m["params"]] = True
    if tparams and small:
        ratio = min(small) / tparams[0]
        out["student_le_5pct_params"] = {"status": "met" if ratio <= 0.05 else "missed",
                                         "smallest_student_params": min(small), "teacher_params": tparams[0],
                                         "ratio": ratio}
    beat, recovery, reach = {}, {}, {}
    prof = res["profile"]
    for ds, e in res["datasets"].items():
        key = primary(e)
        planned_seeds = len(prof["datasets"][ds]["seeds"])
        per_regime = {f"{r}/{st}": {"status": "not run"} for r in prof["regimes"] for st in prof["students"]}
        for gname, g in e["groups"].items():
            cands = [m for m in ATTENTION if g.get(m, {}).get("n")]
            if not cands or not g.get("kd", {}).get("n") or not g.get("at", {}).get("n"):
                per_regime[gname] = {"status": "incomplete"}
                continue
            complete = all(g.get(m, {}).get("n") == planned_seeds for m in prof["methods"])
            best = max(cands, key=lambda m: g[m][f"val_{key}"]["mean"])  # chosen on validation
            vk, va = g[best].get("vs_kd", {}).get(key), g[best].get("vs_at", {}).get(key)
            per_regime[gname] = {"best_on_val": best, "metric": key, "vs_kd": vk, "vs_at": va,
                                 "beats_both": bool(vk and va and vk["beats"] and va["beats"]),
                                 "n": g[best]["n"], "complete": complete}
            t = e.get("teacher")
            ce = g.get("ce", {})
            if t and ce.get("n") and t.get(f"test_{key}") is not None:
                # judged on the data set's primary metric (AUC for the binary sets, as selection is);
                # the other metric's recovery is kept beside it for reference
                v_t, v_ce, v_m, r = _recovery(t, ce, g[best], key)
                rec = {"method": best, "metric": key, "teacher": v_t, "alone": v_ce, "method_value": v_m, "recovery": r}
                other = "acc" if key == "auc" else "auc"
                if t.get(f"test_{other}") is not None and ce.get(f"test_{other}"):
                    rec[f"recovery_{other}"] = _recovery(t, ce, g[best], other)[3]
                rec["status"] = ("n/a (student alone >= teacher)" if rec["recovery"] is None
                                 else ("met" if rec["recovery"] >= 0.75 else "missed"))
                if not complete:
                    rec["status"] += " (provisional: not all seeds run)"
                recovery[f"{ds}/{gname}"] = rec
            if ds in PUBLISHED and gname.startswith("full/") and gname.endswith("cnn-small"):
                r18 = PUBLISHED[ds][0]
                row = {"method": best, "acc": g[best]["test_acc"]["mean"], "auc": g[best]["test_auc"]["mean"],
                       "resnet18_28": {"acc": r18[1], "auc": r18[2]}}
                row["status"] = "met" if (row["acc"] >= r18[1] and row["auc"] >= r18[2]) else "missed"
                if not complete:
                    row["status"] += " (provisional: not all seeds run)"
                if len(PUBLISHED[ds]) > 1:
                    r50 = PUBLISHED[ds][1]
                    row["gap_to_resnet50_224"] = {"acc": row["acc"] - r50[1], "auc": row["auc"] - r50[2]}
                reach[ds] = row
        done = [v for v in per_regime.values() if v.get("complete")]
        if any(v["beats_both"] for v in done):
            status = "met"
        elif len(done) == len(per_regime):
            status = "missed"
        else:
            status = (f"incomplete ({len(done)} of {len(per_regime)} regime/student groups complete; "
                      "none met so far)")
        beat[ds] = {"status": status, "regimes": per_regime}
    out["attention_beats_kd_and_at"] = beat
    out["gap_recovery_ge_75pct"] = recovery
    out["small_student_reaches_resnet18_28"] = reach
    return out
