"""The sliding-window tables shared by Conv and pooling (``lipbench.lipschitz.windows``): the index
each tap reads under every padding mode (against ``conv_cases._source``, written out per mode),
PyTorch's output-size formula, coverage counts, and the errors for arguments that make no window."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from lipbench.lipschitz.windows import PADDING_MODES, as_tuple, check_shape, coverage, output_size, window_table
from tests.lipschitz.conv_cases import _source


def _reference_table(spatial, kernel, stride, padding, dilation, mode):
    """The window table by loops: position-major, tap-minor, flat C-order indices, -1 for a zero."""
    outs = [output_size(n, k, s, p, dl) for n, k, s, p, dl in zip(spatial, kernel, stride, padding, dilation)]
    rows = []
    for pos in itertools.product(*map(range, outs)):
        row = []
        for tap in itertools.product(*map(range, kernel)):
            src = [_source(pos[a] * stride[a] + tap[a] * dilation[a] - padding[a], spatial[a], mode)
                   for a in range(len(spatial))]
            row.append(-1 if any(s is None for s in src) else int(np.ravel_multi_index(src, spatial)))
        rows.append(row)
    return np.array(rows), tuple(outs)


@pytest.mark.parametrize("mode", PADDING_MODES)
@pytest.mark.parametrize("spatial,kernel,stride,padding,dilation", [
    ((7,), (3,), (1,), (1,), (1,)), ((7,), (3,), (2,), (2,), (2,)), ((5, 6), (3, 2), (2, 1), (1, 1), (1, 2)),
    ((4, 3), (2, 2), (1, 2), (2, 1), (1, 1)), ((3, 3, 4), (2, 1, 3), (1, 1, 2), (1, 0, 2), (1, 1, 1)),
])
def test_window_table_reads_what_pytorch_pads(mode, spatial, kernel, stride, padding, dilation):
    got, out = window_table(spatial, kernel, stride, padding, dilation, mode)
    want, want_out = _reference_table(spatial, kernel, stride, padding, dilation, mode)
    assert out == want_out and got.shape == want.shape, (out, want_out, got.shape, want.shape)
    assert np.array_equal(got, want), f"{mode} {spatial} k={kernel}: first difference at " \
                                      f"{np.argwhere(got != want)[0].tolist()}"


def test_coverage_counts_every_read():
    table, _ = window_table((5,), (3,), (1,), (1,), (1,), "zeros")
    assert coverage(table, 5).tolist() == [2, 3, 3, 3, 2]  # the ends lose the tap that falls on padding
    table, _ = window_table((5,), (3,), (1,), (1,), (1,), "replicate")
    assert coverage(table, 5).tolist() == [3, 3, 3, 3, 3]  # ...which replicate gives back to the edge
    table, _ = window_table((4, 4), (2, 2), (2, 2), (0, 0), (1, 1))
    assert coverage(table, 16).tolist() == [1] * 16  # non-overlapping windows read each pixel once


@pytest.mark.parametrize("n,k,s,p,dl,out", [(8, 3, 1, 0, 1, 6), (8, 3, 2, 1, 1, 4), (7, 3, 3, 0, 2, 1),
                                            (1, 3, 1, 1, 1, 1), (10, 4, 3, 2, 1, 4)])
def test_output_size_is_pytorch_s_floor_formula(n, k, s, p, dl, out):
    """floor((n + 2p - d (k - 1) - 1) / s) + 1, worked out by hand for each row."""
    assert output_size(n, k, s, p, dl) == out


@pytest.mark.parametrize("value,d,minimum,error,match", [
    (True, 2, 1, TypeError, "tuple of 2 ints"),  # a bool is not read as 1
    ((1, 2, 3), 2, 1, ValueError, "one per spatial axis"),
    ((1.0, 2), 2, 1, ValueError, "tuple of 2 ints"),
    (0, 2, 1, ValueError, ">= 1 on every axis"),
    ((0, -1), 2, 0, ValueError, ">= 0 on every axis"),
    (None, 2, 1, TypeError, "an int or a tuple"),
])
def test_as_tuple_names_what_it_refuses(value, d, minimum, error, match):
    with pytest.raises(error, match=match):
        as_tuple(value, d, "stride", minimum)


def test_as_tuple_and_check_shape_accept_ints():
    assert as_tuple(3, 2, "stride", 1) == (3, 3)
    assert as_tuple((np.int64(2), 1), 2, "padding", 0) == (2, 1)
    assert check_shape([np.int32(2), 5]) == (2, 5)
    for bad in [(4,), (2, 0), (2, 3.0), ()]:
        with pytest.raises(ValueError, match="channels, \\*spatial"):
            check_shape(bad)


@pytest.mark.parametrize("args,match", [
    (((4,), (5,), (1,), (0,), (1,), "zeros"), "does not fit"),
    (((4,), (3,), (1,), (0,), (3,), "zeros"), "span 7"),
    (((4,), (3,), (1,), (4,), (1,), "reflect"), "reflect padding 4 must be smaller"),
    (((4,), (3,), (1,), (5,), (1,), "circular"), "circular padding 5"),
    (((4,), (3,), (1,), (1,), (1,), "mirror"), "padding_mode must be one of"),
])
def test_window_table_names_a_window_that_cannot_exist(args, match):
    with pytest.raises(ValueError, match=match):
        window_table(*args)
