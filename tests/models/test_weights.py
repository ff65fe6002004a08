"""lipbench.models.weights: each format read to named NumPy arrays, and the
errors for a missing reader, an unknown suffix and a file that is not what its
suffix says."""

from __future__ import annotations

import json
import struct
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from lipbench.models.weights import FORMATS, LazyArrays, WeightFile, WeightFileError, read_weights

LIPSDP = Path(__file__).parent / "data" / "lipsdp" / "random_weights.mat"


def _arrays(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"fc1.weight": rng.standard_normal((6, 4)).astype(np.float32),
            "fc1.bias": rng.standard_normal(6).astype(np.float32),
            "conv.weight": rng.standard_normal((3, 2, 3, 3))}


def _same(wf: WeightFile, expected: dict[str, np.ndarray]) -> None:
    assert set(wf.arrays) == set(expected), (wf.path, list(wf.arrays))
    for k, v in expected.items():
        got = wf.arrays[k]
        assert isinstance(got, np.ndarray) and got.dtype == v.dtype and np.array_equal(got, v), (k, got, v)


def test_every_reader_is_named_by_its_suffixes():
    assert set(FORMATS) == {"safetensors", "torch", "torch.export", "numpy", "onnx", "mat"}


def test_pt2_program_weights_and_a_wrong_file(tmp_path):
    """A torch.export program's parameters and buffers by their module paths; a file that is not
    a zip archive is refused before torch reads it."""
    torch = pytest.importorskip("torch")
    module = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2)).eval()
    torch.export.save(torch.export.export(module, (torch.zeros(2, 3),)), str(tmp_path / "m.pt2"))
    wf = read_weights(tmp_path / "m.pt2")
    assert wf.format == "torch.export"
    _same(wf, {k: v.numpy() for k, v in module.state_dict().items()})
    (tmp_path / "text.pt2").write_text("not a program")
    with pytest.raises(WeightFileError, match="not a torch.export"):
        read_weights(tmp_path / "text.pt2")


def test_npz_and_npy(tmp_path):
    arrays = _arrays()
    np.savez(tmp_path / "w.npz", **arrays)
    wf = read_weights(tmp_path / "w.npz")
    assert wf.format == "numpy" and wf.chain is None
    _same(wf, arrays)
    np.save(tmp_path / "layer.npy", arrays["fc1.weight"])
    _same(read_weights(tmp_path / "layer.npy"), {"layer": arrays["fc1.weight"]})


def test_npz_with_pickled_objects_is_refused(tmp_path):
    np.savez(tmp_path / "obj.npz", a=np.array([{"x": 1}], dtype=object))
    with pytest.raises(WeightFileError, match="pickled Python objects"):
        read_weights(tmp_path / "obj.npz")


def test_safetensors_without_torch(tmp_path, monkeypatch):
    st = pytest.importorskip("safetensors.numpy", reason="safetensors is not installed (pip install -e '.[models]')")
    arrays = _arrays()
    st.save_file(arrays, tmp_path / "m.safetensors")
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now fails
    wf = read_weights(tmp_path / "m.safetensors")
    assert wf.format == "safetensors"
    _same(wf, arrays)


def test_safetensors_bfloat16_is_widened_exactly(tmp_path):
    pytest.importorskip("safetensors", reason="safetensors is not installed (pip install -e '.[models]')")
    torch = pytest.importorskip("torch", reason="torch writes the bfloat16 file")
    from safetensors.torch import save_file

    t = torch.tensor([[1.5, -2.0, 3.140625], [0.0, 1e-3, 65280.0]], dtype=torch.bfloat16)
    save_file({"w": t, "b": torch.ones(2)}, tmp_path / "bf.safetensors")
    wf = read_weights(tmp_path / "bf.safetensors")
    assert wf.arrays["w"].dtype == np.float32
    assert np.array_equal(wf.arrays["w"], t.float().numpy()) and set(wf.arrays) == {"w", "b"}


def test_onnx_bfloat16_and_float8_are_widened_exactly(tmp_path):
    onnx = pytest.importorskip("onnx", reason="onnx is not installed (pip install -e '.[models]')")
    from onnx import TensorProto, helper

    vals = [1.5, -2.0, 0.25]
    inits = [helper.make_tensor("bf", TensorProto.BFLOAT16, [3], vals),
             helper.make_tensor("f8", TensorProto.FLOAT8E4M3FN, [3], vals)]
    graph = helper.make_graph([], "g", [], [], inits)
    onnx.save(helper.make_model(graph), tmp_path / "low.onnx")
    wf = read_weights(tmp_path / "low.onnx")
    for name in ("bf", "f8"):
        assert wf.arrays[name].dtype == np.float32 and wf.arrays[name].tolist() == vals, (name, wf.arrays[name])


def test_safetensors_in_a_type_numpy_lacks_is_named(tmp_path):
    pytest.importorskip("safetensors", reason="safetensors is not installed (pip install -e '.[models]')")
    header = json.dumps({"w": {"dtype": "F8_E4M3", "shape": [2], "data_offsets": [0, 2]}}).encode()
    p = tmp_path / "f8.safetensors"
    p.write_bytes(struct.pack("<Q", len(header)) + header + b"\x00\x00")
    with pytest.raises(WeightFileError, match=r"1 tensors in a type NumPy cannot hold \(e.g. 'w', F8_E4M3\)"):
        read_weights(p)


def test_a_torch_state_dict(tmp_path):
    torch = pytest.importorskip("torch", reason="torch is not installed (pip install -e '.[torch]')")
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8), torch.nn.ReLU(),
                              torch.nn.Flatten(), torch.nn.Linear(8 * 30 * 30, 10).to(torch.float16))
    sd = net.state_dict()
    torch.save({"epoch": 3, "state_dict": sd}, tmp_path / "ckpt.pt")
    wf = read_weights(tmp_path / "ckpt.pt")
    assert wf.format == "torch" and wf.ignored == ("epoch",)
    assert list(wf.arrays) == [f"state_dict.{k}" for k in sd]
    for k, v in sd.items():
        got = wf.arrays[f"state_dict.{k}"]
        want = v.float().numpy() if v.dtype == torch.float16 else v.numpy()
        assert got.dtype == want.dtype and np.array_equal(got, want), k


def test_a_whole_pickled_module_is_refused(tmp_path):
    torch = pytest.importorskip("torch", reason="torch is not installed (pip install -e '.[torch]')")
    torch.save(torch.nn.Linear(2, 3), tmp_path / "module.pt")
    with pytest.raises(WeightFileError, match=r"not a weights-only PyTorch file.*save model.state_dict\(\)"):
        read_weights(tmp_path / "module.pt")


def test_onnx_initializers(tmp_path):
    onnx = pytest.importorskip("onnx", reason="onnx is not installed (pip install -e '.[models]')")
    from onnx import TensorProto, helper, numpy_helper

    w = np.arange(12, dtype=np.float32).reshape(3, 4)
    b = np.ones(3, dtype=np.float32)
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "W", "b"], ["y"], transB=1)], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
        [numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "b")])
    onnx.save(helper.make_model(graph), tmp_path / "m.onnx")
    wf = read_weights(tmp_path / "m.onnx")
    assert wf.format == "onnx"
    _same(wf, {"W": w, "b": b})


def test_the_lipsdp_reference_file():
    wf = read_weights(LIPSDP)
    assert wf.format == "mat" and wf.chain == ("weights[0]", "weights[1]", "weights[2]", "weights[3]")
    assert [wf.arrays[k].shape for k in wf.chain] == [(10, 2), (30, 10), (20, 30), (2, 20)]
    W = [wf.arrays[k] for k in wf.chain]
    exact = np.linalg.norm(W[3] @ W[2] @ W[1] @ W[0], 2)
    assert round(exact, 3) == 36.482, exact  # its published Lipschitz constant, given to 3 decimals


def test_mat_layouts_that_are_not_a_chain(tmp_path):
    import scipy.io

    scipy.io.savemat(tmp_path / "other.mat", {"W": np.eye(2)})
    with pytest.raises(WeightFileError, match="has no 'weights' variable.*it holds: W"):
        read_weights(tmp_path / "other.mat")
    cells = np.empty((1, 2), dtype=object)
    cells[0, 0], cells[0, 1] = np.ones((4, 3)), np.ones((2, 5))
    scipy.io.savemat(tmp_path / "broken.mat", {"weights": cells})
    with pytest.raises(WeightFileError, match=r"weights\[1\] \(2, 5\) cannot follow weights\[0\] \(4, 3\)"):
        read_weights(tmp_path / "broken.mat")


@pytest.mark.parametrize("suffix, what", [(".safetensors", "safetensors"), (".pt", "PyTorch"),
                                          (".npz", "NumPy"), (".mat", "MATLAB")])
def test_a_file_that_is_not_what_its_suffix_says(tmp_path, suffix, what):
    p = tmp_path / f"fake{suffix}"
    p.write_bytes(b"hello, this is plain text and not weights")
    with pytest.raises(WeightFileError, match=f"not a {what}.*is the suffix right"):
        read_weights(p)


def test_onnx_that_is_not_onnx(tmp_path):
    pytest.importorskip("onnx", reason="onnx is not installed (pip install -e '.[models]')")
    p = tmp_path / "fake.onnx"
    p.write_bytes(b"\xff\xfe not a protobuf")
    with pytest.raises(WeightFileError, match="not a valid ONNX model"):
        read_weights(p)


def test_unknown_missing_and_directory(tmp_path):
    (tmp_path / "w.h5").write_bytes(b"\x89HDF")
    with pytest.raises(WeightFileError, match=r"unknown weight format '.h5'; lipbench reads .safetensors"):
        read_weights(tmp_path / "w.h5")
    with pytest.raises(WeightFileError, match="no such file"):
        read_weights(tmp_path / "absent.pt")
    with pytest.raises(WeightFileError, match="is a directory"):
        read_weights(tmp_path)


def test_a_missing_optional_reader_names_the_extra(tmp_path, monkeypatch):
    p = tmp_path / "m.safetensors"
    p.write_bytes(b"\x02\x00\x00\x00\x00\x00\x00\x00{}")
    for name in ("safetensors", "safetensors.numpy"):
        monkeypatch.setitem(sys.modules, name, None)  # importing it now fails
    with pytest.raises(WeightFileError, match=r"reading .safetensors needs the safetensors package "
                                              r"\(`pip install -e '.\[models\]'`\)"):
        read_weights(p)


def test_a_pt_file_without_torch_names_the_extra(tmp_path, monkeypatch):
    p = tmp_path / "w.pt"
    with zipfile.ZipFile(p, "w") as zf:  # torch.save's container, so the suffix check passes
        zf.writestr("w/data.pkl", b"")
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now fails
    with pytest.raises(WeightFileError, match=r"reading a PyTorch file needs the torch package "
                                              r"\(`pip install -e '.\[torch\]'`\)"):
        read_weights(p)


def test_arrays_are_read_when_asked_for(tmp_path):
    torch = pytest.importorskip("torch", reason="torch is not installed (pip install -e '.[torch]')")
    w = torch.arange(6, dtype=torch.bfloat16).reshape(2, 3)
    f8 = torch.tensor([1.5, -2.0]).to(torch.float8_e4m3fn)
    torch.save({"w": w, "f8": f8}, tmp_path / "new.pt")
    torch.save({"w": w}, tmp_path / "legacy.pt", _use_new_zipfile_serialization=False)  # not mapped, no float8
    for name in ("new.pt", "legacy.pt"):
        wf = read_weights(tmp_path / name)
        assert isinstance(wf.arrays, LazyArrays) and set(wf.arrays) <= {"w", "f8"}, name
        assert wf.arrays["w"].dtype == np.float32 and np.array_equal(wf.arrays["w"], w.float().numpy()), name
    assert read_weights(tmp_path / "new.pt").arrays["f8"].tolist() == [1.5, -2.0]


def test_a_truncated_safetensors_file_is_refused_when_read(tmp_path):
    st = pytest.importorskip("safetensors.numpy", reason="safetensors is not installed (pip install -e '.[models]')")
    p = tmp_path / "cut.safetensors"
    st.save_file({"w": np.ones((64, 64), dtype=np.float32)}, p)
    p.write_bytes(p.read_bytes()[:-100])
    with pytest.raises(WeightFileError, match="not a valid safetensors file"):
        read_weights(p)
