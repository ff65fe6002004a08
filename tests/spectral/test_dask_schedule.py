"""How a pass over a Dask array runs (``lipbench.spectral._dask_schedule``):
BLAS threads per task, one timed pass per compute, the progress bar of a long
pass and its validated setting."""

from __future__ import annotations

import os

import pytest

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

import lipbench as lb  # noqa: E402
from lipbench.spectral.dask_support import PROGRESS_AFTER, PROGRESS_ENV, blas_threads_per_task, progress_setting  # noqa: E402,E501
from lipbench.testing import dask_compute as compute  # noqa: E402
from tests.spectral.dask_cases import case as _case  # noqa: E402


def _progress_run(monkeypatch, capsys, setting):
    if setting is None:
        monkeypatch.delenv("LIPBENCH_PROGRESS", raising=False)
    else:
        monkeypatch.setenv("LIPBENCH_PROGRESS", setting)
    M, _ = _case()
    r = lb.spectral_norm(da.from_array(M, chunks=(32, 72)), seed=0)
    return r, capsys.readouterr().err


def test_progress_bar_per_pass_when_asked(monkeypatch, capsys):
    # a threshold of 0 s: every pass draws its bar, on stderr
    r, err = _progress_run(monkeypatch, capsys, "0.0")
    assert err.count("% Completed") >= r.passes.passes, (r.passes, err[-300:])


@pytest.mark.parametrize("setting", [None, "auto", "off", "on"])
def test_progress_bar_quiet_when_short_or_off(monkeypatch, capsys, setting):
    # stderr is not a terminal under pytest (auto: no bar); "on" waits 10 s, longer than these passes
    _, err = _progress_run(monkeypatch, capsys, setting)
    assert "Completed" not in err, (setting, err[-300:])


def test_progress_setting_is_validated(monkeypatch):
    from lipbench.spectral.dask_support import PROGRESS_AFTER, progress_setting

    assert progress_setting("on") == PROGRESS_AFTER and progress_setting("off") is None
    assert progress_setting("2.5") == 2.5
    for bad in ("sometimes", "-1", "nan"):
        with pytest.raises(ValueError, match="LIPBENCH_PROGRESS"):
            progress_setting(bad)


# ------------------------------------------------------------ the module's own contract
class _Log:
    def __init__(self):
        self.rows = []

    def record(self, kind, seconds):
        self.rows.append((kind, seconds))


def test_compute_is_one_timed_pass():
    log = _Log()
    (total,) = compute(log, "summary", da.ones((6, 4), chunks=2).sum())
    assert total == 24.0 and len(log.rows) == 1 and log.rows[0][0] == "summary" and log.rows[0][1] >= 0


@pytest.mark.parametrize("workers", [1, 2, 64])
def test_blas_threads_per_task_share_the_cores(workers):
    cores = os.cpu_count() or 1
    with dask.config.set(num_workers=workers):
        threads = blas_threads_per_task()
    assert threads == max(1, cores // workers) and threads >= 1


def test_progress_setting_by_name_and_by_the_environment(monkeypatch):
    for off in ("off", "0", "false", "no", "OFF "):
        assert progress_setting(off) is None, off
    for on in ("on", "1", "true", "yes"):
        assert progress_setting(on) == PROGRESS_AFTER, on
    monkeypatch.setenv(PROGRESS_ENV, "3")
    assert progress_setting() == 3.0
    monkeypatch.setenv(PROGRESS_ENV, "auto")
    assert progress_setting() is None, "stderr is not a terminal under pytest: no bar"
