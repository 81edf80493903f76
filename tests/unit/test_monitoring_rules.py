"""The monitoring's arithmetic without a database: latency histograms and percentiles, windows and
their granularity, totals, the page's address, and the simulator's bounds."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashhub.domain.monitoring import (
    CUSTOM,
    RollupRow,
    bucket_lower,
    bucket_upper,
    by_step,
    coarser,
    histogram,
    last,
    latency_bucket,
    mean_and_std,
    percentile,
    query_for,
    totals,
    view_from_query,
    window_for,
)
from dashhub.domain.query import parse_search
from dashhub.services.traffic import SimulationError, check_target, drifted_features, simulate

NOW = dt.datetime(2026, 12, 2, 10, 17, 42, tzinfo=dt.UTC)
latencies = st.lists(st.floats(min_value=0.001, max_value=60_000, allow_nan=False), min_size=1, max_size=400)


@given(st.floats(min_value=0.0101, max_value=1e6, allow_nan=False))
def test_a_latency_falls_in_its_bucket(ms):
    bucket = latency_bucket(ms)
    assert bucket_lower(bucket) < ms <= bucket_upper(bucket) * (1 + 1e-9)
    assert bucket_upper(bucket) <= ms * 1.02 * (1 + 1e-9)


@settings(max_examples=200)
@given(latencies, st.sampled_from([50, 90, 95, 99, 99.9]))
def test_a_percentile_from_the_histogram_is_within_two_percent_above_the_exact_one(values, q):
    ordered = np.sort(values)
    exact = ordered[max(1, int(np.ceil(q / 100 * len(ordered)))) - 1]  # nearest rank
    shown = percentile(histogram(values), q)
    floor = max(exact, 0.01)
    assert exact <= shown * (1 + 1e-9) and shown <= floor * 1.02 * (1 + 1e-9)


def test_an_empty_histogram_has_no_percentile():
    assert percentile({}, 95) is None


@pytest.mark.parametrize(
    ("period", "granularity", "step", "points"),
    [
        ("24h", "minute", dt.timedelta(minutes=10), 145),
        ("7d", "hour", dt.timedelta(hours=1), 169),
        ("30d", "day", dt.timedelta(days=1), 31),
    ],
)
def test_each_period_has_a_granularity_that_fits_it(period, granularity, step, points):
    window = last(period, NOW)
    assert (window.granularity, window.step) == (granularity, step)
    assert len(by_step([], window)) == points
    assert (
        window.start
        <= NOW
        - {"24h": dt.timedelta(hours=24), "7d": dt.timedelta(days=7), "30d": dt.timedelta(days=30)}[period]
    )
    assert window.end >= NOW and window.until == NOW
    assert window.days == pytest.approx((NOW - window.start) / dt.timedelta(days=1))


def test_coarse_windows_hold_whole_rollup_periods():
    window = window_for(NOW - dt.timedelta(days=3, minutes=7), NOW - dt.timedelta(hours=5, minutes=3))
    assert window.granularity == "hour"
    assert window.start.minute == window.end.minute == 0 and window.start.second == 0
    assert window.start <= NOW - dt.timedelta(days=3, minutes=7) and window.end >= NOW - dt.timedelta(
        hours=5, minutes=3
    )


def _row(
    minute: int, status: str, count: int, latency: float, labelled: int = 0, correct: int = 0
) -> RollupRow:
    return RollupRow(
        NOW.replace(second=0, microsecond=0) - dt.timedelta(minutes=minute),
        status,
        count,
        latency * count,
        latency,
        labelled,
        correct,
        histogram([latency] * count),
    )


def test_totals_take_latency_and_accuracy_from_answered_calls_and_errors_from_the_rest():
    rows = [
        _row(1, "ok", 10, 5.0, 4, 3),
        _row(2, "ok", 30, 20.0, 6, 6),
        _row(2, "rejected", 8, 1.0),
        _row(3, "error", 2, 900.0),
    ]
    t = totals(rows)
    assert (t.count, t.answered, t.failed) == (50, 40, 10)
    assert t.latency_mean == pytest.approx((10 * 5 + 30 * 20) / 40)
    assert t.error_rate == pytest.approx(10 / 50)
    assert t.accuracy == pytest.approx(9 / 10)
    assert t.latency_max == 20.0, "refused calls do not count in the latency"
    assert t.latency_percentile(99) == pytest.approx(bucket_upper(latency_bucket(20.0)))
    merged = coarser(by_step(rows, last("24h", NOW)), dt.timedelta(hours=1))
    assert sum(p.count for _, p in merged) == 50 and sum(p.labelled for _, p in merged) == 10


def test_a_window_without_calls_has_no_rates():
    t = totals([])
    assert (t.accuracy, t.latency_mean, t.error_rate, t.latency_percentile(95)) == (None, None, None, None)


@given(st.lists(st.floats(min_value=-1e4, max_value=1e4, allow_nan=False), min_size=2, max_size=200))
def test_mean_and_deviation_from_sums_equal_numpy(values):
    x = np.asarray(values)
    mean, std = mean_and_std(len(x), float(x.sum()), float((x**2).sum()))
    assert mean == pytest.approx(x.mean(), abs=1e-6)
    assert std == pytest.approx(x.std(ddof=1), rel=1e-4, abs=1e-3)


def test_the_address_keeps_the_view_and_refuses_what_no_control_sends():
    models = ["cancer:1", "cancer:2"]
    view = view_from_query(
        parse_search("?model=cancer%3A2&period=7d&feature=mean+radius"), models, "cancer:1", "24h"
    )
    assert (view.model, view.period, view.features) == ("cancer:2", "7d", ("mean radius",))
    assert view_from_query(parse_search(query_for(view)), models, "cancer:1", "24h") == view
    custom = view_from_query(
        parse_search("?model=x&period=custom&start=2026-11-20&end=2026-11-10"), models, "cancer:1", "30d"
    )
    assert (custom.model, custom.period, custom.start, custom.end) == (
        "cancer:1",
        CUSTOM,
        dt.date(2026, 11, 10),
        dt.date(2026, 11, 20),
    )
    assert custom.window(NOW).start == dt.datetime(2026, 11, 10, tzinfo=dt.UTC)
    assert custom.window(NOW).end == dt.datetime(2026, 11, 21, tzinfo=dt.UTC)
    bad = view_from_query(parse_search("?period=1y&start=2026-02-30"), models, "cancer:1", "30d")
    assert (bad.model, bad.period) == ("cancer:1", "30d")


@pytest.mark.parametrize("url", ["http://10.0.0.8:8050", "https://example.org", "http://0.0.0.0:80"])
def test_the_simulator_refuses_a_target_that_is_not_this_machine(url):
    with pytest.raises(SimulationError, match="allow-remote"):
        check_target(url, allow_remote=False)
    assert check_target(url, allow_remote=True) == url.rstrip("/")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rate": 0}, "--rate"),
        ({"rate": 10_000}, "--rate"),
        ({"duration": 7200}, "--duration"),
        ({"error_rate": 2}, "--error-rate"),
        ({"drift": 50}, "--drift"),
    ],
)
def test_the_simulator_is_bounded_in_rate_duration_and_shares(kwargs, message):
    arguments = {"rate": 5, "duration": 10, **kwargs}
    with pytest.raises(SimulationError, match=message):
        simulate("http://127.0.0.1:9", "token", "cancer", **arguments)


def test_the_simulated_drift_enlarges_the_size_features_or_every_feature():
    assert drifted_features(["mean radius", "mean texture", "worst area"]) == ["mean radius", "worst area"]
    assert drifted_features(["petal length (cm)", "sepal width (cm)"]) == [
        "petal length (cm)",
        "sepal width (cm)",
    ]
    assert check_target("http://localhost:8050/", allow_remote=False) == "http://localhost:8050"


def test_resource_charts_span_the_period_with_one_line_per_host_and_the_limit():
    from dashhub.domain.monitoring import ResourcePoint
    from dashhub.figures.monitoring import memory_figure

    at = NOW.replace(second=0, microsecond=0)
    hosts = {
        "app-1": [ResourcePoint(at, 1.5, 20.0, 35.0, 6.0)],
        "app-2": [ResourcePoint(at, 2.5, 30.0, 45.0, 7.0)],
    }
    span = (NOW - dt.timedelta(days=7), NOW)
    figure = memory_figure(hosts, 4.0, "en", span)
    assert [trace["name"] for trace in figure["data"]] == [
        "Server processes · app-1",
        "Host · app-1",
        "Server processes · app-2",
        "Host · app-2",
    ]
    assert figure["data"][2]["y"] == [2.5]
    assert figure["layout"]["xaxis"]["range"] == [
        span[0].strftime("%Y-%m-%d %H:%M"),
        span[1].strftime("%Y-%m-%d %H:%M"),
    ]
    assert figure["layout"]["shapes"][0]["y0"] == 4.0
    assert memory_figure({}, 4.0, "en", span)["data"] == []
