"""Step 1 of the report: saved runs -> one tidy frame, one row per benchmark.

``pytest benchmarks --benchmark-save=NAME`` writes pytest-benchmark JSON files
under ``results/<machine>/<pytest-benchmark machine id>/NNNN_NAME.json``.  Every
such file under a results folder (any machine, any depth) is read; each
benchmark becomes one row with its time statistics next to the accuracy the
benchmark recorded in ``extra_info``.  A file that is not valid JSON, or valid
JSON that is not a lipbench pytest-benchmark run, is named in a
:class:`ReportWarning` and skipped; the rest is still reported.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..benchmark_meta import AUTO_RULE_HISTORY, AUTO_RULE_VERSION

__all__ = ["ReportWarning", "LIST_FIELDS", "PROVENANCE_COLUMNS", "find_result_files", "load_results",
           "load_curves", "latest_per_case", "isnan", "rule_version_at", "measures_auto"]


class ReportWarning(UserWarning):
    """A results file was skipped (corrupt or foreign) or a row was unusable."""


#: list-valued extras (error curves, tracking errors): object columns, left out of results.csv
LIST_FIELDS = ("curve_matvecs", "curve_time", "curve_rel_error", "curve_iteration",
               "tracking_rel_error")

_STAT_FIELDS = {
    "median": "time_median",
    "iqr": "time_iqr",
    "q1": "time_q1",
    "q3": "time_q3",
    "mean": "time_mean",
    "min": "time_min",
    "max": "time_max",
    "stddev": "time_stddev",
    "rounds": "rounds",
}

_EXTRA_FIELDS = (
    "kind", "method", "baseline", "backend", "device", "dtype", "family", "shape", "m", "n",
    "nnz", "tol", "rel_error", "value", "truth", "truth_source", "lower", "upper",
    "bracket_ok", "iterations", "matvecs", "converged", "met_target", "seed",
    "blas_threads", "impl", "profile", "note", "steps", "mean_tracking_error",
    "max_tracking_error", "final_tracking_error", "max_tracking_error_after_burn_in",
    "error_estimate", "warning", "truth_uncertainty", "target_tol", "timing", "result_method",
    "matvec_seconds", "options", "matvecs_per_step_after_first", "theory_steps", "contenders", "excluded",
)

#: which code produced a row: ``commit`` (12 hex digits, "" when the run could not
#: name it), ``dirty`` (tracked files differed from it), ``commit_time``,
#: ``code`` (the two in one cell: ``4d328566a06c``, ``4d328566a06c dirty`` or
#: ``unknown``), ``auto_rule`` (the version of auto's rule the run's code ran on
#: the row's backend: recorded by the run, else dated from its commit time, else
#: from the run's date) and ``stale`` (the row measures auto under an older rule
#: than :data:`lipbench.benchmark_meta.AUTO_RULE_VERSION`).
PROVENANCE_COLUMNS = ["commit", "dirty", "commit_time", "code", "auto_rule", "stale"]

_CURVE_COLUMNS = ["machine", "run", "method", "backend", "dtype", "family", "shape", "tol", "iteration",
                  "matvecs", "time", "rel_error"]


def isnan(v: Any) -> bool:
    """True for a float NaN (and nothing else: None, strings and bools are not NaN)."""
    return isinstance(v, float) and math.isnan(v)


def find_result_files(path: str | Path) -> list[Path]:
    """Every ``*.json`` file under ``path`` (or ``path`` itself), sorted."""
    p = Path(path)
    if p.is_file():
        return [p]
    if not p.exists():
        raise FileNotFoundError(f"results path {str(p)!r} does not exist; run "
                                f"`pytest benchmarks --benchmark-save=NAME` first")
    return sorted(f for f in p.rglob("*.json") if f.is_file())


def _machine_from_path(file: Path, root: Path) -> str:
    try:
        rel = file.relative_to(root)
    except ValueError:
        return "unknown"
    return rel.parts[0] if len(rel.parts) >= 2 else "unknown"


def rule_version_at(backend: str, when: Any) -> int | None:
    """The version of auto's rule for ``backend`` in force at ``when`` (a
    timestamp or ISO string; None when unknown or the backend has no history)."""
    t = pd.to_datetime(when, utc=True, errors="coerce")
    if t is None or pd.isna(t):
        return None
    versions = [c.version for c in AUTO_RULE_HISTORY
                if c.backend == backend and pd.Timestamp(c.since) <= t]
    return max(versions) if versions else None


def measures_auto(kind: Any, method: Any) -> bool:
    """Whether a row's result depends on auto's rule: auto's own grid rows, its
    accuracy sweep, and the head-to-head rows where auto is timed."""
    return method == "auto" or kind in ("auto_accuracy", "head_to_head")


def _commit(doc: dict) -> tuple[str, bool, Any]:
    """(commit id or "", dirty, commit time) of a saved run; a run whose
    commit pytest-benchmark could not name may carry it in machine_info."""
    info = doc.get("commit_info") or {}
    sha = str(info.get("id") or "")
    if sha in ("unknown", "unversioned"):
        sha = ""
    return sha[:12], bool(info.get("dirty")), info.get("time")


def _blas_summary(machine_info: dict) -> str:
    blas = machine_info.get("blas") or []
    if isinstance(blas, list) and blas:
        b = blas[0]
        return f"{b.get('internal_api', '?')} {b.get('version', '')} x{b.get('num_threads', '?')}".strip()
    return ""


def _rows_from_file(file: Path, root: Path) -> list[dict]:
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        warnings.warn(f"skipping {file}: cannot be read ({exc})", ReportWarning, stacklevel=3)
        return []
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        warnings.warn(f"skipping {file}: not valid JSON ({exc}); is the file truncated?",
                      ReportWarning, stacklevel=3)
        return []
    if not (isinstance(doc, dict) and isinstance(doc.get("benchmarks"), list)
            and isinstance(doc.get("machine_info"), dict)):
        warnings.warn(f"skipping {file}: not a pytest-benchmark results file "
                      f"(expected an object with 'machine_info' and a 'benchmarks' list)",
                      ReportWarning, stacklevel=3)
        return []
    mi = doc["machine_info"]
    machine = str(mi.get("lipbench_machine") or _machine_from_path(file, root))
    try:
        rel = str(file.relative_to(root))
    except ValueError:
        rel = str(file)
    commit, dirty, commit_time = _commit(doc)
    recorded_rules = mi.get("lipbench_auto_rule") if isinstance(mi.get("lipbench_auto_rule"), dict) else {}
    rows, foreign = [], 0
    for bench in doc["benchmarks"]:
        extra = bench.get("extra_info") if isinstance(bench, dict) else None
        stats = bench.get("stats") if isinstance(bench, dict) else None
        if not isinstance(extra, dict) or "method" not in extra or not isinstance(stats, dict):
            foreign += 1
            continue
        row: dict[str, Any] = {
            "machine": machine,
            "run": file.stem,
            "file": rel,
            "datetime": doc.get("datetime"),
            "commit": commit,
            "dirty": dirty,
            "commit_time": commit_time,
            "name": bench.get("name"),
            "fullname": bench.get("fullname"),
            "group": bench.get("group"),
            "gpu": mi.get("gpu_name") or "",
            "blas": _blas_summary(mi),
        }
        for key in _EXTRA_FIELDS:
            row[key] = extra.get(key)
        for key in LIST_FIELDS:
            row[key] = extra.get(key)
        for src, dst in _STAT_FIELDS.items():
            row[dst] = stats.get(src)
        backend = str(extra.get("backend"))
        rule = recorded_rules.get(backend)
        row["auto_rule"] = int(rule) if isinstance(rule, int) else rule_version_at(
            backend, commit_time or doc.get("datetime"))
        rows.append(row)
    if foreign:
        warnings.warn(f"{file}: skipped {foreign} of {len(doc['benchmarks'])} benchmarks that "
                      f"carry no lipbench extra_info (not produced by lipbench's benchmarks/)",
                      ReportWarning, stacklevel=3)
    return rows


def load_results(path: str | Path) -> pd.DataFrame:
    """Read every saved run under ``path`` into one tidy frame (one row per benchmark).

    Columns: provenance (machine, run, file, datetime, commit, gpu, blas), the
    case (kind, method, baseline, backend, device, dtype, family, shape, m, n,
    nnz, tol, seed), accuracy (rel_error, value, truth, lower, upper,
    bracket_ok, iterations, matvecs, converged, met_target) and time (seconds:
    time_median, time_iqr, time_q1, time_q3, time_mean, time_min, time_max,
    time_stddev, rounds).  List-valued extras (error curves, tracking errors)
    are kept as object columns.  Corrupt or foreign files are skipped with a
    :class:`ReportWarning` naming them.
    """
    root = Path(path)
    root_dir = root if root.is_dir() else root.parent
    rows: list[dict] = []
    for f in find_result_files(root):
        rows.extend(_rows_from_file(f, root_dir))
    columns = (["machine", "run", "file", "datetime", "commit", "dirty", "commit_time", "auto_rule", "name",
                "fullname", "group", "gpu", "blas"]
               + list(_EXTRA_FIELDS) + list(LIST_FIELDS) + list(_STAT_FIELDS.values()))
    df = pd.DataFrame(rows, columns=columns)
    if df.empty:
        return df
    for col in ("m", "n", "nnz", "iterations", "matvecs", "seed", "blas_threads", "rounds", "steps"):
        df[col] = pd.to_numeric(df[col], errors="coerce")
    for col in ("tol", "rel_error", "value", "truth", "lower", "upper", "mean_tracking_error",
                "max_tracking_error", "final_tracking_error", "max_tracking_error_after_burn_in",
                "error_estimate", "truth_uncertainty", "target_tol", "matvec_seconds",
                "matvecs_per_step_after_first") + tuple(_STAT_FIELDS.values()):
        if col in df:
            df[col] = pd.to_numeric(df[col], errors="coerce").astype(float)
    for col in ("baseline", "converged", "met_target", "bracket_ok"):
        df[col] = df[col].map(lambda v: bool(v) if v is not None and not isnan(v) else None).astype(object)
    df["kind"] = df["kind"].fillna("spectral")
    df["datetime"] = pd.to_datetime(df["datetime"], utc=True, errors="coerce")
    df["entries"] = np.where(df["nnz"].notna(), df["nnz"], df["m"] * df["n"])
    df["status"] = np.where(df["met_target"].map(lambda v: v is True).astype(bool), "ok", "MISS")
    df["code"] = [("unknown" if not c else c + (" dirty" if d else "")) for c, d in zip(df["commit"], df["dirty"])]
    current = df["backend"].map(lambda b: AUTO_RULE_VERSION.get(str(b)))
    older = [cur is not None and (pd.isna(v) or v < cur) for v, cur in zip(df["auto_rule"], current)]
    auto_rows = [measures_auto(k, m) for k, m in zip(df["kind"], df["method"])]
    df["stale"] = np.array(older, dtype=bool) & np.array(auto_rows, dtype=bool)
    return df


def load_curves(df: pd.DataFrame) -> pd.DataFrame:
    """Long frame of error-vs-cost curves (one row per recorded iteration)."""
    if df.empty:
        return pd.DataFrame(columns=_CURVE_COLUMNS)
    out = []
    has_curve = df["curve_rel_error"].map(lambda v: isinstance(v, list) and len(v) > 0).astype(bool)
    for _, r in df[has_curve].iterrows():
        n = len(r["curve_rel_error"])

        def col(name: str, r: pd.Series = r, n: int = n) -> list:
            v = r[name]
            return list(v) if isinstance(v, list) and len(v) == n else [math.nan] * n

        out.append(pd.DataFrame({
            "machine": r["machine"], "run": r["run"], "method": r["method"], "backend": r["backend"],
            "dtype": r["dtype"], "family": r["family"], "shape": r["shape"], "tol": r["tol"],
            "iteration": col("curve_iteration"), "matvecs": col("curve_matvecs"),
            "time": col("curve_time"), "rel_error": col("curve_rel_error"),
        }))
    if not out:
        return pd.DataFrame(columns=_CURVE_COLUMNS)
    return pd.concat(out, ignore_index=True)


def latest_per_case(df: pd.DataFrame) -> pd.DataFrame:
    """For each machine and benchmark (``fullname``), the row of the newest run."""
    if df.empty:
        return df
    d = df.sort_values(["datetime", "file"], na_position="first")
    return d.drop_duplicates(["machine", "fullname"], keep="last").reset_index(drop=True)
