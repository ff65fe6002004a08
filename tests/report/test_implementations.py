"""NumPy/SciPy against PyTorch on the same inputs (lipbench/report/implementations.py):
the fastest verified contender of each library per thread setting, auto on a
tensor against auto on the array, and PyTorch's targets."""

from __future__ import annotations

import pandas as pd

from lipbench.report import targets_table
from lipbench.report.implementations import auto_torch_table, implementations_table
from lipbench.report.rivals import rivals_table


def _c(name, role, threads, median, *, lib="numpy", met=True, method=None, note=""):
    return name, {"method": method or name.split(" (")[0], "role": role, "threads": threads, "median": median,
                  "q1": median, "q3": median, "rounds": 0 if median is None else 3,
                  "rel_error": 1e-9 if met else 1e-3, "met_target": met, "converged": met, "setting": f"{name} s",
                  "library": lib, "note": note}


def _row(entries, dtype="float64", shape="2048x2048", run="0001", when="2026-01-01"):
    c = {f"{name}@{v['threads']}": v for name, v in entries}
    return dict(kind="rivals", method="rivals", machine="box", backend="numpy", dtype=dtype, family="gaussian",
                shape=shape, tol=1e-6, run=run, file=f"{run}.json", datetime=pd.Timestamp(when, tz="UTC"),
                contenders=c)


def _both(threads, auto, torch_auto=None, **extra):
    """auto on NumPy and (when given) on the tensor, at ``threads``."""
    out = [_c("auto", "lipbench", threads, auto)]
    if torch_auto is not None:
        out.append(_c("auto (torch)", "lipbench", threads, torch_auto, lib="torch", method="auto"))
    return out


ROW = _row([
    *_both(1, 0.10, 0.11), *_both(2, 0.06, 0.09),
    _c("propack (luckiest)", "luckiest", 1, 0.08), _c("propack (luckiest)", "luckiest", 2, 0.07),
    _c("arpack (rule)", "rule", 2, 0.01, met=False),  # fast but wrong: counts for no library
    _c("numpy.linalg.norm", "reference", 2, 2.0),
    _c("torch.lobpcg (luckiest)", "luckiest", 2, 0.05, lib="torch"),  # PyTorch's best at 2 threads
    _c("torch.lobpcg (luckiest)", "luckiest", 1, 0.30, lib="torch"),
    _c("torch SN power (1 step)", "sn", 1, 0.001, lib="torch", met=False),  # fixed steps: never counts
    _c("torch.linalg.matrix_norm", "reference", 1, 3.0, lib="torch"),
    _c("torch.linalg.matrix_norm", "reference", 2, 1.5, lib="torch"),
    _c("A^T(Ax)", "product", 2, 0.001),
])


def test_the_fastest_verified_contender_of_each_library_per_thread_setting():
    table = implementations_table(pd.DataFrame([ROW]))
    assert set(table["contenders"]) == {"with lipbench", "own functions"} and len(table) == 4
    t = table[table["contenders"] == "with lipbench"].set_index("threads")
    assert t.loc[1, "NumPy/SciPy: fastest verified"] == "propack (luckiest): propack (luckiest) s"
    assert t.loc[1, "PyTorch: fastest verified"] == "auto (torch): auto (torch) s"
    assert t.loc[1, "PyTorch / NumPy"] == "1.38x" and t.loc[1, "use here"] == "NumPy/SciPy: propack (luckiest)"
    assert t.loc[2, "NumPy/SciPy: fastest verified"] == "auto: auto s"
    assert t.loc[2, "PyTorch: fastest verified"] == "torch.lobpcg (luckiest): torch.lobpcg (luckiest) s"
    assert t.loc[2, "PyTorch / NumPy"] == "0.83x" and t.loc[2, "use here"] == "PyTorch: torch.lobpcg (luckiest)"
    assert list(t["fastest of the thread settings"]) == ["", "yes"]
    own = table[table["contenders"] == "own functions"].set_index("threads")  # lipbench's auto left out
    assert own.loc[1, "PyTorch: fastest verified"] == "torch.lobpcg (luckiest): torch.lobpcg (luckiest) s"
    assert own.loc[2, "NumPy/SciPy: fastest verified"] == "propack (luckiest): propack (luckiest) s"
    assert own.loc[1, "PyTorch / NumPy"] == "3.75x" and own.loc[2, "PyTorch / NumPy"] == "0.71x"


def test_each_dtype_of_an_input_keeps_its_own_newest_row_and_rows_without_torch_are_left_out():
    f32 = _row([*_both(2, 0.03), _c("torch.lobpcg (luckiest)", "luckiest", 2, 0.06, lib="torch")],
               dtype="float32", run="0002", when="2026-02-01")
    numpy_only = _row([*_both(2, 0.05)], shape="8192x1024", run="0003", when="2026-03-01")
    t = implementations_table(pd.DataFrame([ROW, f32, numpy_only]))
    assert sorted(set(t["input"])) == ["2048x2048 float32 gaussian", "2048x2048 float64 gaussian"]
    assert t[t["input"].str.contains("float32")]["PyTorch / NumPy"].tolist() == ["2.00x", ""]
    assert implementations_table(pd.DataFrame([numpy_only])).empty


def test_auto_on_a_tensor_against_auto_on_the_array_and_a_refusal_with_its_reason():
    t = auto_torch_table(pd.DataFrame([ROW])).set_index("threads")
    assert t.loc[1, "torch / NumPy"] == "1.10x" and t.loc[2, "torch / NumPy"] == "1.50x"
    assert list(t["fastest of the thread settings"]) == ["", "yes"]
    refused = _row([*_both(1, 0.1), *_both(2, 0.06),
                    _c("auto (torch)", "lipbench", 2, None, lib="torch", method="auto", met=False,
                       note="refused: ValueError: got a torch array")])
    t = auto_torch_table(pd.DataFrame([refused])).set_index("threads")
    assert t.loc[2, "note"] == "refused: ValueError: got a torch array" and t.loc[2, "auto on torch"] == ""
    assert t.loc[1, "note"] == "" and set(t["fastest of the thread settings"]) == {""}
    r = rivals_table(pd.DataFrame([refused]))
    assert r[r["contender"] == "auto (torch)"]["median time"].tolist() == ["refused"]


def _verdicts(rows):
    t = targets_table(pd.DataFrame(rows))
    return {r["target"]: (r["measured"], r["verdict"]) for _, r in t.iterrows() if "torch" in r["target"]}


def test_pytorchs_targets_are_judged_at_every_thread_setting():
    v = _verdicts([ROW])
    head = "2048x2048 float64 Gaussian, {} thread(s): "
    assert v[head.format(1) + "auto on a torch tensor <= 1.15x auto on the same data as NumPy"] == ("1.10x", "met")
    assert v[head.format(2) + "auto on a torch tensor <= 1.15x auto on the same data as NumPy"] == ("1.50x",
                                                                                                   "NOT met")
    assert v[head.format(1) + "auto >= 20x faster than torch.linalg.matrix_norm(A, 2)"] == ("30.00x", "met")
    assert v[head.format(2) + "auto >= 20x faster than torch.linalg.matrix_norm(A, 2)"] == ("25.00x", "met")
    lobpcg = "auto not slower than torch.lobpcg at its luckiest verified setting"
    assert v[head.format(1) + lobpcg] == ("3.00x", "met")
    assert v[head.format(2) + lobpcg] == ("0.83x", "NOT met")


def test_a_refused_tensor_fails_its_target_and_torch_never_stands_in_for_scipy():
    row = _row([*_both(1, 0.1), *_both(2, 0.06),
                _c("auto (torch)", "lipbench", 2, None, lib="torch", method="auto", met=False,
                   note="refused: ValueError: got a torch array"),
                _c("propack (rule)", "rule", 2, 0.3),
                _c("torch.lobpcg (luckiest)", "luckiest", 2, 0.01, lib="torch")])
    key = "2048x2048 float64 Gaussian, 2 thread(s): auto on a torch tensor <= 1.15x auto on the same data as NumPy"
    assert _verdicts([row])[key] == ("refused", "NOT met")
    t = targets_table(pd.DataFrame([row]))["target"]
    assert not t.str.contains("torch.lobpcg at the setting derived").any(), list(t)
    assert t.str.contains("2 thread\\(s\\): auto not slower than torch.lobpcg").sum() == 1, list(t)
    tall = {**row, "shape": "8192x1024"}  # the best verified SciPy setting: propack's, not torch's faster one
    t = targets_table(pd.DataFrame([tall]))
    best = t[t["target"].str.contains("best verified SciPy setting")]
    assert best[["measured", "verdict"]].values.tolist() == [["5.00x", "met"]]
