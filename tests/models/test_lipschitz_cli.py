"""`lipbench lipschitz FILE.onnx`: the ladder on an imported network, the refusals, --json rows."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("onnx")

import onnx  # noqa: E402
from onnx import helper  # noqa: E402

from lipbench.cli import main  # noqa: E402

from .onnx_models import const, mlp, model, residual_cnn  # noqa: E402

ROW_KEYS = {"name", "kind", "value", "certified", "seconds", "note"}


@pytest.fixture
def small_mlp(tmp_path):
    p = tmp_path / "mlp.onnx"
    onnx.save(mlp(np.random.default_rng(0), (8, 6, 3)), str(p))
    return p


def test_text_output_is_the_ladder(small_mlp, capsys):
    assert main(["lipschitz", str(small_mlp)]) == 0
    out = capsys.readouterr().out
    assert "input (8,) -> output (3,), 3 nodes" in out
    for rung in ("product", "eclipse_fast", "patterns", "realised_pattern", "empirical"):
        assert rung in out, out


def test_json_rows(small_mlp, capsys):
    assert main(["lipschitz", str(small_mlp), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in data["rows"]][0] == "product"
    assert all(set(r) == ROW_KEYS for r in data["rows"]), data["rows"]
    assert {r["kind"] for r in data["rows"]} == {"upper", "lower"}
    product = data["rows"][0]
    assert product["certified"] and product["value"] > 0
    assert [layer["node"] for layer in data["layers"]] == ["fc0", "relu0", "fc1"]


def test_exact_seconds_adds_the_branch_and_bound_rungs(small_mlp, capsys):
    """--exact-seconds runs the branch and bound: its certified upper end and an attained, certified
    lower end, the lower below every certified upper row; off by default."""
    assert main(["lipschitz", str(small_mlp), "--json", "--exact-seconds", "30", "--gap", "1e-6"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)["rows"]}
    bnb, low = rows["branch_and_bound"], rows["attained_pattern"]
    assert bnb["certified"] and low["certified"], (bnb, low)
    assert all(low["value"] <= r["value"] for r in rows.values() if r["kind"] == "upper" and r["certified"])
    assert "nodes explored" in bnb["note"]
    assert main(["lipschitz", str(small_mlp), "--json"]) == 0
    assert "branch_and_bound" not in {r["name"] for r in json.loads(capsys.readouterr().out)["rows"]}


@pytest.mark.parametrize("flag", [["--exact-seconds", "-1"], ["--exact-seconds", "nan"], ["--gap", "0"],
                                  ["--gap", "1.5"]])
def test_exact_search_flags_are_checked(small_mlp, capsys, flag):
    assert main(["lipschitz", str(small_mlp), *flag]) == 2
    assert flag[0] in capsys.readouterr().err


def test_graph_with_a_residual_add(tmp_path, capsys):
    p = tmp_path / "cnn.onnx"
    onnx.save(residual_cnn(np.random.default_rng(1)), str(p))
    assert main(["lipschitz", str(p), "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)["rows"]}
    assert rows["patterns"]["value"] is None and "branches at residual" in rows["patterns"]["note"]
    assert rows["empirical"]["value"] <= rows["product"]["value"]


def test_not_globally_lipschitz_is_refused_with_status_1(tmp_path, capsys):
    p = tmp_path / "gate.onnx"
    nodes = [helper.make_node("Tanh", ["x"], ["t"], name="t"), helper.make_node("Mul", ["x", "t"], ["y"], name="gate")]
    onnx.save(model(nodes, ["N", 4], None), str(p))
    assert main(["lipschitz", str(p)]) == 1
    out = capsys.readouterr().out
    assert "not globally Lipschitz" in out and "node 'gate' (Mul)" in out
    assert main(["lipschitz", str(p), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["refused"][0]["node"] == "gate" and "rows" not in data


def test_unsupported_nodes_exit_2_naming_them(tmp_path, capsys):
    p = tmp_path / "abs.onnx"
    onnx.save(model([helper.make_node("Abs", ["x"], ["y"], name="abs")], ["N", 4], None), str(p))
    assert main(["lipschitz", str(p)]) == 2
    err = capsys.readouterr().err
    assert "node 'abs' (Abs)" in err


def test_input_shape_flag(tmp_path, capsys):
    p = tmp_path / "sym.onnx"
    m = model([helper.make_node("Gemm", ["x", "W"], ["y"], name="fc", transB=1)], ["N", "K"], None,
              [const("W", np.eye(3, dtype=np.float32))])
    onnx.save(m, str(p))
    assert main(["lipschitz", str(p)]) == 2
    assert "pass input_shape" in capsys.readouterr().err
    assert main(["lipschitz", str(p), "--input-shape", "3", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["input_shape"] == [3]


def test_a_lipsdp_mat_file_is_a_relu_chain(capsys):
    """LipSDP's example network (its constant is ||W4 W3 W2 W1||, 36.482 as
    published): every certified upper rung lies above it, the lower below."""
    from pathlib import Path

    from lipbench.models.weights import read_weights
    from properties.tolerances import scalar_rtol, svd_atol

    mat = Path(__file__).parent / "data" / "lipsdp" / "random_weights.mat"
    wf = read_weights(mat)
    W = [wf.arrays[k] for k in wf.chain]
    P = W[3] @ W[2] @ W[1] @ W[0]
    exact = float(np.linalg.norm(P, 2))
    slack = svd_atol("float64", P.shape, exact) + scalar_rtol(ops=len(W)) * exact  # the product's and SVD's rounding
    assert main(["lipschitz", str(mat), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["input_shape"] == [2] and out["output_shape"] == [2]
    upper = [r["value"] for r in out["rows"] if r["kind"] == "upper" and r["certified"]]
    lower = [r["value"] for r in out["rows"] if r["kind"] == "lower"]
    assert upper and min(upper) >= exact - slack
    assert lower and max(lower) <= exact + slack
