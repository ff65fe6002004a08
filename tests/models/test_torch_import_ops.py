"""The ops the ONNX importer gained, through the torch.fx walk and the ATen walk of
``torch.export`` programs: each imported graph against torch's own forward pass, its
constant against an independent value (the Jacobian's sigma_max from torch's autograd,
a proven closed form, or max pooling's window count measured by torch), refusals named."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

from lipbench.models.export_import import import_exported  # noqa: E402
from lipbench.models.graph_axis_layers import LayerNorm, Softmax  # noqa: E402
from lipbench.models.graph_conv_transpose import ConvTranspose  # noqa: E402
from lipbench.models.graph_layers import Pad  # noqa: E402
from lipbench.models.onnx_import import UnsupportedModel  # noqa: E402
from lipbench.models.torch_import import import_torch  # noqa: E402
from lipbench.testing import gelu_tanh_sup_upper  # noqa: E402
from properties.tolerances import proven_sigma_rtol, scalar_rtol, svd_atol  # noqa: E402
from tests.models.test_torch_import import TORCH_MATCH  # noqa: E402


class FGeluTanh(nn.Module):
    """``F.gelu`` with ``approximate='tanh'`` as a function call (the fx walk reads its keyword)."""

    def forward(self, x):
        return F.gelu(x, approximate="tanh")


class FPad(nn.Module):
    """``F.pad`` with a mode, widths and a fill value."""

    def __init__(self, widths, mode="constant", value=None):
        super().__init__()
        self.widths, self.mode, self.value = widths, mode, value

    def forward(self, x):
        if self.mode == "constant":
            return F.pad(x, self.widths, value=0.0 if self.value is None else self.value)
        return F.pad(x, self.widths, mode=self.mode)


class Functional(nn.Module):
    """softmax as a function, a method and torch's; F.layer_norm with held weights; F.hardtanh, F.relu6."""

    def __init__(self):
        super().__init__()
        self.w, self.b = nn.Parameter(torch.randn(4)), nn.Parameter(torch.randn(4))

    def forward(self, x):
        normalised = F.layer_norm(x, (4,), self.w, self.b, 1e-3)
        return (F.softmax(x, dim=1) + x.log_softmax(-1) + torch.softmax(x, 2) + normalised
                + F.hardtanh(x, -0.5, 0.5) + F.relu6(x))


def _peak(m):
    return float(m.weight.detach().abs().max())


#: linear ops: the constant is the Jacobian's sigma_max (a single layer: exactly; Pad then AvgPool: at least)
LINEAR = [
    pytest.param(nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1, dilation=2), (2, 5, 5), True,
                 id="ConvTranspose2d-stride-pad-outpad-dilation"),
    pytest.param(nn.ConvTranspose1d(4, 6, 3, stride=3, padding=2, output_padding=2, groups=2, dilation=2, bias=False),
                 (4, 6), True, id="ConvTranspose1d-groups"),
    pytest.param(nn.ConvTranspose3d(2, 2, (2, 3, 1), stride=(1, 2, 2), padding=(0, 1, 0)), (2, 3, 4, 3), True,
                 id="ConvTranspose3d"),
    pytest.param(nn.ReflectionPad2d((1, 2, 0, 1)), (2, 5, 5), True, id="ReflectionPad2d"),
    pytest.param(nn.ReplicationPad1d((2, 1)), (2, 5), True, id="ReplicationPad1d"),
    pytest.param(nn.CircularPad2d((1, 0, 2, 1)), (2, 4, 5), True, id="CircularPad2d"),
    pytest.param(nn.ZeroPad2d((1, 0, 2, 1)), (2, 4, 5), True, id="ZeroPad2d"),
    pytest.param(nn.ConstantPad1d((2, 1), 0.5), (2, 5), True, id="ConstantPad1d"),
    pytest.param(FPad((1, 2, 0, 1), "reflect"), (2, 5, 5), True, id="F.pad-reflect"),
    pytest.param(FPad((0, 1, 2, 0), "replicate"), (2, 5, 5), True, id="F.pad-replicate"),
    pytest.param(FPad((1, 2), "circular"), (2, 5), True, id="F.pad-circular"),
    pytest.param(FPad((1, 2, 0, 1), "constant", 0.25), (2, 5, 5), True, id="F.pad-constant"),
    pytest.param(nn.AvgPool2d(3, 2, padding=1), (2, 7, 7), False, id="AvgPool2d-padded-count_include_pad"),
    pytest.param(nn.AvgPool1d(3, 2, padding=1, ceil_mode=True), (2, 7), False, id="AvgPool1d-ceil-no-partial"),
]

#: nonlinear ops: (module, shape, the constant's closed form from the module)
NONLINEAR = [
    pytest.param(nn.Softmax(dim=1), (3, 4), lambda m, s: 0.5, id="Softmax"),
    pytest.param(nn.LogSoftmax(dim=-1), (3, 5), lambda m, s: math.sqrt(5), id="LogSoftmax"),
    pytest.param(nn.LayerNorm([3, 4], eps=1e-3), (2, 3, 4), lambda m, s: _peak(m) / math.sqrt(m.eps), id="LayerNorm"),
    pytest.param(nn.LayerNorm(4, bias=False), (3, 4), lambda m, s: _peak(m) / math.sqrt(m.eps), id="LayerNorm-no-bias"),
    pytest.param(nn.ReLU6(), (4,), lambda m, s: 1.0, id="ReLU6"),
    pytest.param(nn.GELU(approximate="tanh"), (4,), lambda m, s: gelu_tanh_sup_upper(), id="GELU-tanh"),
    pytest.param(FGeluTanh(), (2, 3), lambda m, s: gelu_tanh_sup_upper(), id="F.gelu-tanh"),
    pytest.param(nn.Hardtanh(-2.0, 3.0), (4,), lambda m, s: 1.0, id="Hardtanh"),
    pytest.param(nn.MaxPool2d(3, 2, padding=1, dilation=2), (2, 7, 7), None, id="MaxPool2d-padded-dilated"),
    pytest.param(nn.MaxPool1d(2, 1, padding=1), (2, 5), None, id="MaxPool1d-padded"),
]


def _randomise(module):
    torch.manual_seed(1)
    for p in module.parameters():
        p.data.uniform_(-2.0, 2.0)
    return module.double().eval()


def _forward(module, shape, x):
    with torch.no_grad():
        return module(torch.from_numpy(x).reshape(-1, *shape)).reshape(x.shape[0], -1).numpy()


def _assert_matches(g, module, shape, what):
    x = np.random.default_rng(0).standard_normal((3, int(np.prod(shape))))
    want, got = _forward(module, shape, x), g(x)
    err = float(np.max(np.abs(got - want))) / max(1.0, float(np.max(np.abs(want))))
    assert err <= TORCH_MATCH, f"{what} {type(module).__name__}: relative difference {err:.3g} (shape {want.shape})"


def _exported(module, shape):
    program = torch.export.export(module, (torch.zeros(2, *shape, dtype=torch.float64),))
    return import_exported(program)


def _imports(module, shape):
    """The graph from both walks, each checked against torch's forward pass."""
    graphs = {"fx": import_torch(module, shape), "aten": _exported(module, shape)}
    for what, g in graphs.items():
        _assert_matches(g, module, shape, what)
    return graphs


def _jacobian_sigma(module, shape):
    x = torch.randn(int(np.prod(shape)), dtype=torch.float64)
    J = torch.autograd.functional.jacobian(lambda v: module(v.reshape(1, *shape)).reshape(-1), x).numpy()
    return float(np.linalg.svd(J, compute_uv=False)[0]), J.shape


@pytest.mark.parametrize("module, shape, exact", LINEAR)
def test_linear_ops_match_torch_and_their_constant(module, shape, exact):
    module = _randomise(module)
    sigma, jshape = _jacobian_sigma(module, shape)
    slack = svd_atol("float64", jshape, sigma)
    for what, g in _imports(module, shape).items():
        bound = g.product_bound()
        assert bound >= sigma - slack, f"{what}: product bound {bound!r} below the Jacobian's sigma_max {sigma!r}"
        if exact:
            width = sigma * proven_sigma_rtol(jshape) + slack  # the certified bracket's own width
            assert bound <= sigma + width, f"{what}: product bound {bound!r} above the map's norm {sigma!r}"


def _max_coverage(module, shape):
    """The most windows holding one input, counted by torch: the gradient of the pooled sum
    at an input whose entry j dominates is the number of windows that picked j."""
    n = int(np.prod(shape))
    best = 0.0
    for j in range(n):
        x = torch.zeros(n, dtype=torch.float64)
        x[j] = 1.0
        x.requires_grad_(True)
        module(x.reshape(1, *shape)).sum().backward()
        best = max(best, float(x.grad[j]))
    return math.sqrt(best)


@pytest.mark.parametrize("module, shape, constant", NONLINEAR)
def test_nonlinear_ops_match_torch_and_their_constant(module, shape, constant):
    module = _randomise(module)
    want = _max_coverage(module, shape) if constant is None else constant(module, shape)
    for what, g in _imports(module, shape).items():
        bound = g.product_bound()
        rel = abs(bound - want) / want
        assert rel <= scalar_rtol("float64", 4), f"{what}: constant {bound!r}, expected {want!r}"
        assert bound >= want, f"{what}: constant {bound!r} below the closed form {want!r}"


def test_layers_are_the_onnx_importers():
    layers = {type(n.layer) for n in import_torch(nn.Sequential(
        nn.ConvTranspose1d(2, 2, 3), nn.ReflectionPad1d(1), nn.LayerNorm(7), nn.Softmax(-1)), (2, 3)).nodes}
    assert {ConvTranspose, Pad, LayerNorm, Softmax} <= layers, layers


def test_functional_forms_match_torch():
    module = Functional().double().eval()
    g = import_torch(module, (3, 4))
    _assert_matches(g, module, (3, 4), "fx")
    _assert_matches(_exported(module, (3, 4)), module, (3, 4), "aten")


def test_layer_norm_eps_as_float32_adds_it():
    """A float32 trace (a module without parameters is traced in float32): eps is float32's,
    and the constant 1/sqrt(eps) that of the eps torch adds."""
    g = import_torch(nn.LayerNorm(4, eps=1e-5, elementwise_affine=False).eval(), (3, 4))
    (layer,) = [n.layer for n in g.nodes]
    eps32 = float(np.float32(1e-5))
    assert layer.eps == eps32, layer.eps
    want = 1 / math.sqrt(eps32)
    assert want <= g.product_bound() <= want * (1 + scalar_rtol("float64", 4)), (g.product_bound(), want)


REFUSED = [
    pytest.param(nn.Mish(), (3,), "no importer for (aten.)?[Mm]ish", id="Mish"),
    pytest.param(nn.AvgPool2d(3, 2, padding=1, count_include_pad=False), (2, 7, 7), "count_include_pad=False",
                 id="AvgPool-count_include_pad-False"),
    pytest.param(nn.AvgPool2d(2, divisor_override=3), (2, 4, 4), "divisor_override", id="AvgPool-divisor_override"),
    pytest.param(nn.AvgPool1d(2, ceil_mode=True), (2, 7), "ceil_mode=True adds partial windows", id="ceil-partial"),
    pytest.param(nn.MaxPool1d(2, ceil_mode=True), (2, 7), "ceil_mode=True adds partial windows", id="max-ceil"),
    pytest.param(nn.Softmax(dim=0), (3,), "dim=0", id="Softmax-batch"),
    pytest.param(FPad((1, 1, 1, 1, 1, 1)), (2, 5, 5), "not batch, channels", id="pad-channels"),
    pytest.param(FPad((-1, 1)), (2, 5), "cropping", id="pad-negative"),
    pytest.param(nn.ConstantPad1d(1, 0.0), (4,), "spatial axes", id="pad-no-spatial-axis"),
]


@pytest.mark.parametrize("module, shape, message", REFUSED)
def test_refusals_name_the_op_or_argument(module, shape, message):
    module = module.double().eval()
    for walk in (import_torch, _exported):
        with pytest.raises(UnsupportedModel, match=message):
            walk(module, shape)


def test_softmax_without_dim_is_refused_by_the_fx_walk():
    with pytest.raises(UnsupportedModel, match="dim=None"), pytest.warns(UserWarning, match="Implicit dimension"):
        import_torch(nn.Sequential(nn.Softmax()), (3,))  # torch.export records the dim torch picks


def test_conv_transpose_called_with_output_size_is_refused():
    class Sized(nn.Module):
        def __init__(self):
            super().__init__()
            self.up = nn.ConvTranspose1d(2, 2, 3, stride=2)

        def forward(self, x):
            return self.up(x, output_size=[12])

    with pytest.raises(UnsupportedModel, match="output_size"):
        import_torch(Sized().eval(), (2, 5))


#: torch's own deprecation, raised inside run_decompositions() (its copy of a tree spec), not lipbench's
TORCH_TREESPEC = "ignore:`isinstance\\(treespec, LeafSpec\\)` is deprecated:FutureWarning"


@pytest.mark.filterwarnings(TORCH_TREESPEC)
@pytest.mark.parametrize("module, shape", [
    pytest.param(nn.LayerNorm([3, 4], eps=1e-3), (2, 3, 4), id="native_layer_norm"),
    pytest.param(nn.MaxPool2d(3, 2, padding=1, dilation=2), (2, 7, 7), id="max_pool2d_with_indices"),
])
def test_core_aten_tuple_calls_read_for_their_first_value(module, shape):
    """run_decompositions() writes these as tuple-valued calls read through getitem 0."""
    module = _randomise(module)
    program = torch.export.export(module, (torch.zeros(2, *shape, dtype=torch.float64),)).run_decompositions()
    names = {str(n.target) for n in program.graph.nodes}
    assert any("native_layer_norm" in t or "with_indices" in t for t in names), names
    g = import_exported(program)
    _assert_matches(g, module, shape, "core aten")
    assert g.product_bound() == import_torch(module, shape).product_bound()


@pytest.mark.filterwarnings(TORCH_TREESPEC)
def test_core_aten_index_padding_is_refused_by_name():
    module = nn.ReflectionPad1d(1).double().eval()
    program = torch.export.export(module, (torch.zeros(2, 2, 5, dtype=torch.float64),)).run_decompositions()
    with pytest.raises(UnsupportedModel, match="no importer for aten"):
        import_exported(program)
