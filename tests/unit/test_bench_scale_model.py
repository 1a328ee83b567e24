"""bench/scale_model.py: the line fit and the extrapolation docs/scale.md shows."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[2] / "bench" / "scale_model.py"
_SPEC = importlib.util.spec_from_file_location("scale_model", _PATH)
assert _SPEC is not None and _SPEC.loader is not None
scale_model = importlib.util.module_from_spec(_SPEC)
# dataclasses resolve the module's annotations through sys.modules.
sys.modules["scale_model"] = scale_model
_SPEC.loader.exec_module(scale_model)
Line, ControllerModel, fit_line = (scale_model.Line, scale_model.ControllerModel,
                                   scale_model.fit_line)


def test_fit_line_recovers_an_exact_line() -> None:
    line = fit_line([(3, 1.0 + 0.2 * 3), (6, 1.0 + 0.2 * 6), (10, 1.0 + 0.2 * 10)])
    assert line.slope == pytest.approx(0.2)
    assert line.intercept == pytest.approx(1.0)
    assert line.at(200) == pytest.approx(41.0)


def test_fit_line_is_least_squares_over_noisy_points() -> None:
    # x mean 5, y mean 2; slope = sum(dx*dy) / sum(dx^2) = (-2*-1 + 0*1 + 2*0) / 8.
    line = fit_line([(3, 1.0), (5, 3.0), (7, 2.0)])
    assert line.slope == pytest.approx(0.25)
    assert line.intercept == pytest.approx(0.75)


def test_fit_line_refuses_a_single_host_count() -> None:
    with pytest.raises(ValueError, match="two different host counts"):
        fit_line([(3, 1.0), (3, 2.0)])


def _model(forks: int | None) -> ControllerModel:
    return ControllerModel(cpu=Line(1.0, 0.2), per_host_memory=Line(0.0, 2.0),
                           per_fork_memory=Line(100.0, 50.0), forks=forks)


def test_per_fork_memory_stops_growing_at_forks_and_per_host_memory_does_not() -> None:
    capped = _model(forks=30)
    assert capped.peak_memory(10) == pytest.approx(2.0 * 10 + 100 + 50 * 10)
    assert capped.peak_memory(1000) == pytest.approx(2.0 * 1000 + 100 + 50 * 30)
    # Without forks (Kamal: every host at once) nothing is capped.
    assert _model(forks=None).peak_memory(1000) == pytest.approx(2.0 * 1000 + 100 + 50 * 1000)


def test_wall_floor_is_cpu_over_cores_or_rounds_of_host_work_whichever_is_longer() -> None:
    model = _model(forks=30)
    # 1,000 hosts: 201 CPU-seconds on 2 cores, or 34 rounds of 2 s.
    assert model.wall_floor(1000, cores=2, host_seconds=2.0) == pytest.approx(100.5)
    assert model.wall_floor(1000, cores=8, host_seconds=2.0) == pytest.approx(68.0)
    # Every host at once: one round whatever the count.
    assert _model(forks=None).wall_floor(1000, cores=8, host_seconds=2.0) == pytest.approx(
        201 / 8)


def test_wall_floor_spreads_cpu_over_at_most_max_cores() -> None:
    one_core = ControllerModel(cpu=Line(1.0, 0.2), per_host_memory=Line(0.0, 0.0),
                               per_fork_memory=Line(100.0, 1.0), forks=None, max_cores=1)
    assert one_core.wall_floor(1000, cores=8) == pytest.approx(201.0)
