"""lipbench.models.scan: each weight's kind, its certified bracket around the
exact value, the order of the rows, the conv size rule and the chain product."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lipbench.lipschitz import conv_operator_norm
from lipbench.models.scan import scan_weights, weight_kind
from lipbench.models.weights import WeightFile, read_weights
from lipbench.testing import rounding

LIPSDP = Path(__file__).parent / "data" / "lipsdp" / "random_weights.mat"


def _file(arrays, chain=None) -> WeightFile:
    return WeightFile(Path("mem.npz"), "numpy", dict(arrays), chain=chain)


def _rows(scan):
    return {r.name: r for r in scan.rows}


@pytest.mark.parametrize("name, shape, dtype, kind", [
    ("encoder.layer.0.attention.self.query.weight", (8, 8), "float32", "dense"),
    ("embeddings.word_embeddings.weight", (50, 8), "float32", "embedding"),
    ("transformer.wte.weight", (50, 8), "float32", "embedding"),
    ("features.0.weight", (8, 3, 3, 3), "float32", "conv"),
    ("wav2vec.pos_conv.weight", (8, 4, 128), "float32", "conv"),
    ("experts.weight", (4, 64, 32), "float32", "other"),
    ("ln.weight", (8,), "float32", "scale"),
    ("logit_scale", (), "float32", "scale"),
    ("ln.bias", (8,), "float32", "bias"),
    ("LayerNorm/beta", (8,), "float32", "bias"),
    ("bn.running_var", (8,), "float32", "statistics"),
    ("bn.num_batches_tracked", (), "int64", "integer"),
    ("position_ids", (1, 512), "int64", "integer"),
])
def test_kinds(name, shape, dtype, kind):
    assert weight_kind(name, np.zeros(shape, dtype=dtype)) == kind


def test_brackets_contain_the_exact_sigma_and_are_certified():
    rng = np.random.default_rng(1)
    arrays = {"a": rng.standard_normal((200, 30)), "b.weight": rng.standard_normal((40, 90)).astype(np.float32),
              "embed.weight": rng.standard_normal((500, 16)).astype(np.float32),
              "half": rng.standard_normal((12, 7)).astype(np.float16)}
    tol = 1e-6
    scan = scan_weights(_file(arrays), tol=tol)
    for name, W in arrays.items():
        r = _rows(scan)[name]
        exact = np.linalg.norm(W.astype(np.float64), 2)
        assert r.bound == "sigma" and r.certified, (name, r)
        assert r.lower <= exact <= r.upper and (r.upper - r.lower) <= tol * r.upper, (name, r, exact)


def test_rows_are_sorted_by_upper_end_and_unbounded_rows_come_last():
    rng = np.random.default_rng(2)
    arrays = {"z.bias": np.ones(4), "small": 0.1 * rng.standard_normal((5, 5)), "scale": np.array([-7.0, 2.0]),
              "big": 10 * rng.standard_normal((6, 4)), "bad": np.array([[1.0, np.nan], [0.0, 1.0]]),
              "mid": rng.standard_normal((6, 6))}
    scan = scan_weights(_file(arrays))
    names = [r.name for r in scan.rows]
    assert names[:4] == ["big", "scale", "mid", "small"], names
    assert set(names[4:]) == {"z.bias", "bad"}, names  # never dropped
    uppers = [r.upper for r in scan.rows if r.upper is not None]
    assert uppers == sorted(uppers, reverse=True), uppers
    rows = _rows(scan)
    assert rows["scale"].lower == rows["scale"].upper == 7.0 and rows["scale"].certified
    assert rows["z.bias"].reason == "bias" and rows["z.bias"].upper is None
    assert rows["bad"].reason == "failed" and "NaN" in rows["bad"].detail, rows["bad"]


def test_conv_size_free_without_an_input_shape():
    rng = np.random.default_rng(3)
    K = rng.standard_normal((6, 4, 3, 3))
    r = _rows(scan_weights(_file({"conv.weight": K})))["conv.weight"]
    assert r.bound == "conv-size-free" and r.lower is None and not r.certified and r.input_size is None
    for stride, padding in ((1, 1), (2, 1), (1, 0)):
        at = conv_operator_norm(K, (10, 10), stride=stride, padding=padding)
        assert at.lower <= r.upper, (stride, padding, at.lower, r.upper)


def test_conv_at_the_input_size_bounds_every_stride_and_zero_padding():
    rng = np.random.default_rng(4)
    K = rng.standard_normal((6, 4, 3, 3))
    scan = scan_weights(_file({"conv.weight": K, "conv1d.weight": rng.standard_normal((3, 2, 5))}),
                        input_shape=(4, 9, 9))
    r = _rows(scan)["conv.weight"]
    assert r.bound == "conv-at-size" and r.input_size == (9, 9) and r.lower is not None, r
    full = conv_operator_norm(K, (9, 9), padding=2, method="dense")
    assert r.lower <= full.upper and full.lower <= r.upper, (r, full)
    for stride, padding, dilation in ((1, 1, 1), (2, 1, 1), (1, 0, 1), (2, 2, 1), (1, 2, 2)):
        at = conv_operator_norm(K, (9, 9), stride=stride, padding=padding, dilation=dilation, method="dense")
        assert at.lower <= r.upper, (stride, padding, dilation, at.lower, r.upper)
    other_rank = _rows(scan)["conv1d.weight"]
    assert other_rank.bound == "conv-size-free", other_rank


def test_the_lipsdp_chain_product():
    scan = scan_weights(read_weights(LIPSDP))
    assert [r.kind for r in scan.rows] == ["dense"] * 4 and all(r.certified for r in scan.rows)
    uppers = {r.name: r.upper for r in scan.rows}
    assert scan.chain_upper == rounding.prod_up(uppers[n] for n in scan.chain)
    assert scan.chain_upper >= 39.839  # LipSDP-Layer's published bound is tighter than the product


def test_a_torch_state_dict_scan(tmp_path):
    torch = pytest.importorskip("torch", reason="torch is not installed (pip install -e '.[torch]')")
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
                              torch.nn.Flatten(), torch.nn.Linear(4 * 8 * 8, 16), torch.nn.ReLU(),
                              torch.nn.Linear(16, 3))
    torch.save(net.state_dict(), tmp_path / "net.pt")
    scan = scan_weights(read_weights(tmp_path / "net.pt"), input_shape=(1, 8, 8))
    rows = _rows(scan)
    for name in ("4.weight", "6.weight"):
        exact = np.linalg.norm(net.state_dict()[name].double().numpy(), 2)
        assert rows[name].certified and rows[name].lower <= exact <= rows[name].upper, (name, rows[name], exact)
    assert rows["0.weight"].bound == "conv-at-size"
    assert rows["1.weight"].kind == "scale" and rows["1.running_var"].kind == "statistics"
    assert rows["1.num_batches_tracked"].kind == "integer" and scan.chain is None and scan.chain_upper is None


def test_tied_weights_are_bounded_once(tmp_path):
    torch = pytest.importorskip("torch", reason="torch is not installed (pip install -e '.[torch]')")
    torch.manual_seed(0)
    emb = torch.nn.Embedding(40, 8)
    head = torch.nn.Linear(8, 40, bias=False)
    head.weight = emb.weight  # a language model's tied output layer
    torch.save({"embed.weight": emb.weight, "head.weight": head.weight, "other": torch.ones(40, 8)},
               tmp_path / "tied.pt")
    wf = read_weights(tmp_path / "tied.pt")
    assert wf.tied == {"head.weight": "embed.weight"}, wf.tied  # an equal but separate tensor is not tied
    rows = _rows(scan_weights(wf))
    assert rows["head.weight"].tied_to == "embed.weight" and rows["head.weight"].seconds == 0.0
    assert (rows["head.weight"].lower, rows["head.weight"].upper) == (rows["embed.weight"].lower,
                                                                        rows["embed.weight"].upper)
    assert rows["head.weight"].kind == "embedding" and rows["other"].tied_to == ""


def test_an_array_that_cannot_be_read_is_a_row_with_the_reason():
    from lipbench.models.weights import LazyArrays

    def broken() -> np.ndarray:
        raise TypeError("quantized tensors have no NumPy view")

    wf = WeightFile(Path("q.pt"), "torch", LazyArrays({"q.weight": broken, "w": lambda: np.eye(3)}))
    rows = _rows(scan_weights(wf))
    assert rows["q.weight"].kind == "unreadable" and rows["q.weight"].reason == "failed"
    assert rows["q.weight"].detail == "quantized tensors have no NumPy view" and rows["w"].upper >= 1.0
    assert [r.name for r in scan_weights(wf).rows] == ["w", "q.weight"]
