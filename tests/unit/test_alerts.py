"""Alert rules without a server: hold, hysteresis, missing data, "below" rules, levels, and a property
checked against an independent scan of random series."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashhub.domain.alerts import (
    AlertState,
    Event,
    Rule,
    hysteresis_rule,
    level,
    overall_level,
    replay,
    step,
)

T0 = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)
HOLD = 5 * MINUTE


def minute(n: float) -> dt.datetime:
    return T0 + n * MINUTE


def every_minute(values: list[float | None], start: float = 0) -> list[tuple[dt.datetime, float | None]]:
    return [(minute(start + i), v) for i, v in enumerate(values)]


def latency(hold: dt.timedelta = HOLD) -> Rule:
    return hysteresis_rule("latency", 100.0, "above", hold, margin=0.05)


def accuracy(hold: dt.timedelta = HOLD) -> Rule:
    return hysteresis_rule("accuracy", 0.90, "below", hold, margin=0.05)


def firing(rule: Rule, bad: float) -> tuple[AlertState, dt.datetime]:
    """A rule brought to firing by `bad` held from minute 0; the state and the minute it fired."""
    state, events = replay(rule, AlertState(), every_minute([bad] * 6))
    assert state.state == "firing" and len(events) == 1
    return state, events[0].at


# --- the rule and its thresholds ---


def test_hysteresis_rule_clears_a_margin_below_an_above_threshold_with_the_same_hold():
    rule = latency()
    assert rule.clear_threshold == pytest.approx(95.0)
    assert rule.clear_hold == rule.hold == HOLD


def test_hysteresis_rule_on_a_rate_clears_a_margin_of_the_headroom_to_one():
    assert accuracy().clear_threshold == pytest.approx(0.905)


def test_hysteresis_rule_below_on_a_non_rate_clears_a_margin_above_the_threshold():
    assert hysteresis_rule("drift", 10.0, "below", HOLD, 0.05).clear_threshold == pytest.approx(10.5)


def test_hysteresis_rule_keeps_the_clear_threshold_on_the_good_side_of_a_negative_threshold():
    assert hysteresis_rule("drift", -10.0, "above", HOLD, 0.1).clear_threshold == pytest.approx(-11.0)
    assert hysteresis_rule("drift", -10.0, "below", HOLD, 0.1).clear_threshold == pytest.approx(-9.0)


@pytest.mark.parametrize("margin", [-0.01, 1.0, 1.5])
def test_hysteresis_rule_refuses_a_margin_outside_zero_to_one(margin):
    with pytest.raises(ValueError, match="margin"):
        hysteresis_rule("latency", 100.0, "above", HOLD, margin)


def test_breached_and_recovered_are_strict():
    rule = latency()
    assert not rule.breached(100.0) and rule.breached(100.01)
    assert not rule.recovered(rule.clear_threshold) and rule.recovered(94.99)
    below = accuracy()
    assert not below.breached(0.90) and below.breached(0.8999)
    assert not below.recovered(below.clear_threshold) and below.recovered(0.9051)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"direction": "Above"}, "direction"),
        ({"clear_threshold": 105.0}, "clear_threshold"),
        ({"hold": -MINUTE}, "hold"),
        ({"clear_hold": -MINUTE}, "hold"),
        ({"threshold": float("nan")}, "NaN"),
    ],
)
def test_a_rule_that_cannot_work_is_refused(kwargs, message):
    fields = {
        "indicator": "latency",
        "threshold": 100.0,
        "direction": "above",
        "hold": HOLD,
        "clear_threshold": 95.0,
        "clear_hold": HOLD,
    }
    with pytest.raises(ValueError, match=message):
        Rule(**(fields | kwargs))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"state": "pending"},
        {"state": "firing"},
        {"since": T0},
        {"state": "pending", "since": T0, "recovering_since": T0},
    ],
)
def test_an_inconsistent_alert_state_is_refused(kwargs):
    with pytest.raises(ValueError):
        AlertState(**kwargs)


# --- firing ---


def test_a_breach_shorter_than_hold_never_fires():
    state, events = replay(latency(), AlertState(), every_minute([101.0] * 5 + [90.0]))
    assert events == []
    assert state == AlertState(value=90.0)


def test_a_breach_held_for_hold_fires_once_at_the_first_point_reaching_hold():
    state, events = replay(latency(), AlertState(), every_minute([150.0] * 30))
    assert events == [Event("latency", "fired", minute(5), 150.0, 100.0)]
    assert state == AlertState("firing", since=minute(5), value=150.0)


def test_a_pending_alert_remembers_its_first_breaching_point():
    state, events = replay(latency(), AlertState(), every_minute([120.0, 130.0, 140.0]))
    assert events == []
    assert state == AlertState("pending", since=minute(0), value=140.0)
    assert level(state) == "amber"


def test_a_breach_on_irregular_points_fires_once_hold_has_elapsed_not_after_a_point_count():
    points = [(minute(0), 101.0), (minute(4.5), 101.0), (minute(5.5), 101.0), (minute(6), 101.0)]
    _, events = replay(latency(), AlertState(), points)
    assert [e.at for e in events] == [minute(5.5)]


def test_a_value_flapping_around_the_threshold_never_fires():
    state, events = replay(latency(), AlertState(), every_minute([99.0, 101.0] * 60))
    assert events == []
    assert state.state != "firing"


def test_a_value_at_the_threshold_breaks_a_pending_run():
    _, events = replay(latency(), AlertState(), every_minute([101.0] * 4 + [100.0] + [101.0] * 5))
    assert events == []


def test_hold_zero_fires_at_the_first_breaching_point():
    state, events = replay(latency(hold=dt.timedelta(0)), AlertState(), every_minute([90.0, 101.0, 102.0]))
    assert events == [Event("latency", "fired", minute(1), 101.0, 100.0)]
    assert state.state == "firing" and state.since == minute(1)


# --- clearing ---


def test_once_firing_a_value_between_clear_threshold_and_threshold_does_not_clear():
    rule = latency()
    state, _ = firing(rule, 150.0)
    state, events = replay(rule, state, every_minute([97.0] * 60, start=6))
    assert events == []
    assert state.state == "firing" and state.recovering_since is None
    assert level(state) == "red"


def test_a_recovery_held_for_clear_hold_clears_once_at_the_first_point_reaching_it():
    rule = latency()
    state, _ = firing(rule, 150.0)
    state, events = replay(rule, state, every_minute([90.0] * 30, start=6))
    assert events == [Event("latency", "cleared", minute(11), 90.0, 95.0)]
    assert state == AlertState(value=90.0)


def test_a_recovering_alert_keeps_firing_and_remembers_where_the_recovery_began():
    rule = latency()
    state, _ = firing(rule, 150.0)
    state, events = replay(rule, state, every_minute([90.0, 80.0], start=6))
    assert events == []
    assert state == AlertState("firing", since=minute(5), recovering_since=minute(6), value=80.0)


def test_a_brief_dip_below_clear_threshold_followed_by_a_breach_does_not_clear():
    rule = latency()
    state, _ = firing(rule, 150.0)
    state, events = replay(rule, state, every_minute([90.0] * 4 + [120.0] + [90.0] * 4, start=6))
    assert events == []
    assert state.state == "firing" and state.recovering_since == minute(11)


def test_a_value_between_the_thresholds_restarts_the_recovery():
    rule = latency()
    state, _ = firing(rule, 150.0)
    state, events = replay(rule, state, every_minute([90.0] * 4 + [97.0] + [90.0] * 6, start=6))
    assert [(e.kind, e.at) for e in events] == [("cleared", minute(16))]


def test_clear_hold_zero_clears_at_the_first_recovered_point():
    rule = Rule("latency", 100.0, "above", HOLD, 95.0, dt.timedelta(0))
    state, _ = firing(rule, 150.0)
    state, events = replay(rule, state, every_minute([97.0, 94.0], start=6))
    assert [(e.kind, e.at) for e in events] == [("cleared", minute(7))]
    assert state.state == "ok"


def test_an_alert_can_fire_again_after_clearing():
    values = [150.0] * 6 + [90.0] * 6 + [150.0] * 6
    _, events = replay(latency(), AlertState(), every_minute(values))
    assert [(e.kind, e.at) for e in events] == [
        ("fired", minute(5)),
        ("cleared", minute(11)),
        ("fired", minute(17)),
    ]


# --- missing data ---


@pytest.mark.parametrize(
    "state",
    [
        AlertState(),
        AlertState("pending", since=T0, value=101.0),
        AlertState("firing", since=T0, value=150.0),
        AlertState("firing", since=T0, recovering_since=minute(1), value=90.0),
    ],
)
@pytest.mark.parametrize("missing", [None, float("nan")])
def test_a_missing_value_leaves_the_state_as_it_is(state, missing):
    assert step(latency(), state, minute(30), missing) == (state, None)


def test_missing_values_neither_break_nor_confirm_a_pending_run():
    rule = latency()
    state, events = replay(rule, AlertState(), every_minute([101.0, None, None, 101.0, None, None]))
    assert events == [] and state == AlertState("pending", since=minute(0), value=101.0)
    _, events = replay(rule, state, [(minute(6), 101.0)])
    assert [e.at for e in events] == [minute(6)]


def test_missing_values_neither_break_nor_confirm_a_recovery():
    rule = latency()
    state, _ = firing(rule, 150.0)
    state, events = replay(rule, state, every_minute([90.0, None, None, None, None, None], start=6))
    assert events == [] and state.recovering_since == minute(6)
    _, events = replay(rule, state, [(minute(12), 90.0)])
    assert [(e.kind, e.at) for e in events] == [("cleared", minute(12))]


# --- "below" rules ---


def test_a_below_rule_fires_after_hold_and_ignores_flapping():
    rule = accuracy()
    _, events = replay(rule, AlertState(), every_minute([0.91, 0.89] * 30))
    assert events == []
    state, events = replay(rule, AlertState(), every_minute([0.85] * 10))
    assert events == [Event("accuracy", "fired", minute(5), 0.85, 0.90)]
    assert state.state == "firing"


def test_a_below_rule_clears_only_above_its_clear_threshold_for_clear_hold():
    rule = accuracy()
    state, _ = firing(rule, 0.85)
    state, events = replay(rule, state, every_minute([0.902] * 30, start=6))
    assert events == [] and state.state == "firing"
    state, events = replay(rule, state, every_minute([0.95] * 3 + [0.88] + [0.95] * 6, start=36))
    assert [(e.kind, e.at, e.threshold) for e in events] == [("cleared", minute(45), pytest.approx(0.905))]
    assert state.state == "ok"


# --- levels ---


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (AlertState(), "green"),
        (AlertState("pending", since=T0), "amber"),
        (AlertState("firing", since=T0), "red"),
        (AlertState("firing", since=T0, recovering_since=T0), "red"),
    ],
)
def test_level_colours_each_state(state, expected):
    assert level(state) == expected


def test_overall_level_is_the_worst_and_green_when_empty():
    ok, pending, fired = AlertState(), AlertState("pending", since=T0), AlertState("firing", since=T0)
    assert overall_level([]) == "green"
    assert overall_level([ok, ok]) == "green"
    assert overall_level([ok, pending, ok]) == "amber"
    assert overall_level([pending, fired, ok]) == "red"
    assert overall_level(iter([fired, pending])) == "red"


# --- property: against an independent scan ---

ABOVE = Rule("latency", 100.0, "above", HOLD, 95.0, HOLD)
BELOW = Rule("accuracy", 0.90, "below", HOLD, 0.905, HOLD)
# Values on, between and either side of both boundaries, plus missing points.
VALUES = {
    "above": [None, 80.0, 95.0, 97.0, 100.0, 101.0, 150.0],
    "below": [None, 0.8, 0.9, 0.902, 0.905, 0.95],
}


@st.composite
def scenarios(draw):
    base = draw(st.sampled_from([ABOVE, BELOW]))
    hold = draw(st.integers(0, 6)) * MINUTE
    clear_hold = draw(st.integers(0, 6)) * MINUTE
    rule = Rule(base.indicator, base.threshold, base.direction, hold, base.clear_threshold, clear_hold)
    gaps = draw(st.lists(st.integers(1, 3), max_size=60))
    values = draw(st.lists(st.sampled_from(VALUES[rule.direction]), min_size=len(gaps), max_size=len(gaps)))
    at = T0
    points = []
    for gap, value in zip(gaps, values, strict=True):
        at += gap * MINUTE
        points.append((at, value))
    return rule, points


def trailing_run_start(points, end: int, good) -> dt.datetime | None:
    """The first point of the run of `good` values ending at points[end], skipping missing values."""
    if points[end][1] is None or not good(points[end][1]):
        return None
    start = points[end][0]
    for at, value in reversed(points[:end]):
        if value is None:
            continue
        if not good(value):
            break
        start = at
    return start


@given(scenarios())
@settings(max_examples=300, deadline=None)
def test_events_alternate_and_follow_held_runs_over_any_series(scenario):
    rule, points = scenario
    if rule.direction == "above":
        bad, better = (lambda v: v > rule.threshold), (lambda v: v < rule.clear_threshold)
    else:
        bad, better = (lambda v: v < rule.threshold), (lambda v: v > rule.clear_threshold)

    state, events = replay(rule, AlertState(), points)

    assert [e.kind for e in events] == [("fired", "cleared")[i % 2] for i in range(len(events))]
    assert (state.state == "firing") == (len(events) % 2 == 1)
    index = {at: i for i, (at, _) in enumerate(points)}
    for event in events:
        end = index[event.at]
        assert points[end][1] == event.value
        start = trailing_run_start(points, end, bad if event.kind == "fired" else better)
        assert start is not None
        assert event.at - start >= (rule.hold if event.kind == "fired" else rule.clear_hold)
    # And the other way round: a run held long enough always shows in the outcome at its end.
    for i, (at, _) in enumerate(points):
        fired_by_now = sum(e.at <= at for e in events) % 2 == 1
        breach = trailing_run_start(points, i, bad)
        if breach is not None and at - breach >= rule.hold:
            assert fired_by_now
        recovery = trailing_run_start(points, i, better)
        if recovery is not None and at - recovery >= rule.clear_hold:
            assert not fired_by_now
