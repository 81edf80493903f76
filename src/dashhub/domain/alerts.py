"""The monitoring dashboard's alert rules, as pure functions: alerts that do not flap.

A breach must last `hold` before an alert fires, and once firing it clears only after the value has
been back beyond a stricter `clear_threshold` (hysteresis) for `clear_hold`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Literal

Direction = Literal["above", "below"]
State = Literal["ok", "pending", "firing"]
Level = Literal["green", "amber", "red"]

_DIRECTIONS = ("above", "below")
_STATES = ("ok", "pending", "firing")
_LEVELS: dict[State, Level] = {"ok": "green", "pending": "amber", "firing": "red"}
_RANK: dict[Level, int] = {"green": 0, "amber": 1, "red": 2}


@dataclass(frozen=True)
class Rule:
    """When an indicator's alert fires (`threshold` held for `hold`) and clears (`clear_threshold` held
    for `clear_hold`). "above": values above the threshold are bad; "below": values below it are."""

    indicator: str
    threshold: float
    direction: Direction
    hold: dt.timedelta
    clear_threshold: float
    clear_hold: dt.timedelta

    def __post_init__(self) -> None:
        if self.direction not in _DIRECTIONS:
            raise ValueError(f"{self.indicator}: direction must be 'above' or 'below': {self.direction!r}")
        if math.isnan(self.threshold) or math.isnan(self.clear_threshold):
            raise ValueError(f"{self.indicator}: thresholds must be numbers, not NaN")
        if self.hold < dt.timedelta(0) or self.clear_hold < dt.timedelta(0):
            raise ValueError(f"{self.indicator}: hold and clear_hold must not be negative")
        # A clear threshold on the bad side would let one value both breach and recover.
        if self.breached(self.clear_threshold):
            raise ValueError(
                f"{self.indicator}: clear_threshold {self.clear_threshold} is worse than threshold "
                f"{self.threshold} for direction {self.direction!r}"
            )

    def breached(self, value: float) -> bool:
        """Whether `value` is strictly worse than the threshold."""
        return value > self.threshold if self.direction == "above" else value < self.threshold

    def recovered(self, value: float) -> bool:
        """Whether `value` is strictly better than the clear threshold."""
        return value < self.clear_threshold if self.direction == "above" else value > self.clear_threshold


def hysteresis_rule(
    indicator: str, threshold: float, direction: Direction, hold: dt.timedelta, margin: float
) -> Rule:
    """A rule that clears `margin` (a fraction) on the good side of `threshold`, held as long as `hold`.

    For "below" rules on a rate (0 < threshold <= 1, e.g. accuracy) the margin is a fraction of the
    headroom to 1, so that the clear threshold stays reachable."""
    if not 0 <= margin < 1:
        raise ValueError(f"{indicator}: margin must be in [0, 1), not {margin}")
    # The sign checks keep the clear threshold on the good side for negative thresholds too.
    if direction == "above":
        clear = threshold * (1 - margin) if threshold >= 0 else threshold * (1 + margin)
    elif 0 < threshold <= 1:
        clear = threshold + (1 - threshold) * margin
    else:
        clear = threshold * (1 + margin) if threshold >= 0 else threshold * (1 - margin)
    return Rule(indicator, threshold, direction, hold, clear, hold)


@dataclass(frozen=True)
class AlertState:
    """Where one rule's alert stands. `since`: the first breaching point (pending) or when it fired
    (firing); `recovering_since`: the first point of the current recovered run (firing only)."""

    state: State = "ok"
    since: dt.datetime | None = None
    recovering_since: dt.datetime | None = None
    value: float | None = None

    def __post_init__(self) -> None:
        if self.state not in _STATES:
            raise ValueError(f"state must be one of {_STATES}, not {self.state!r}")
        if self.state == "ok" and self.since is not None:
            raise ValueError("an ok alert has no since")
        if self.state != "ok" and self.since is None:
            raise ValueError(f"a {self.state} alert needs since")
        if self.recovering_since is not None and self.state != "firing":
            raise ValueError("only a firing alert can be recovering")


@dataclass(frozen=True)
class Event:
    """An alert firing or clearing. `threshold`: the boundary crossed (the rule's threshold when it
    fired, its clear threshold when it cleared)."""

    indicator: str
    kind: Literal["fired", "cleared"]
    at: dt.datetime
    value: float
    threshold: float


def step(
    rule: Rule, state: AlertState, at: dt.datetime, value: float | None
) -> tuple[AlertState, Event | None]:
    """Advance one point (points come in time order). A missing value (None or NaN: no data in that
    period) leaves the state as it is: it neither confirms nor breaks a run."""
    if value is None or math.isnan(value):
        return state, None
    if state.state == "firing":
        if not rule.recovered(value):
            return replace(state, recovering_since=None, value=value), None
        start = at if state.recovering_since is None else state.recovering_since
        if at - start >= rule.clear_hold:
            cleared = Event(rule.indicator, "cleared", at, value, rule.clear_threshold)
            return AlertState(value=value), cleared
        return replace(state, recovering_since=start, value=value), None
    if not rule.breached(value):
        return AlertState(value=value), None
    start = state.since if state.state == "pending" and state.since is not None else at
    if at - start >= rule.hold:
        fired = Event(rule.indicator, "fired", at, value, rule.threshold)
        return AlertState("firing", since=at, value=value), fired
    return AlertState("pending", since=start, value=value), None


def replay(
    rule: Rule, state: AlertState, points: Iterable[tuple[dt.datetime, float | None]]
) -> tuple[AlertState, list[Event]]:
    """Advance through `points` (in time order); the final state and the events on the way."""
    events: list[Event] = []
    for at, value in points:
        state, event = step(rule, state, at, value)
        if event is not None:
            events.append(event)
    return state, events


def level(state: AlertState) -> Level:
    """The colour to show: firing red, pending amber, ok green."""
    return _LEVELS[state.state]


def overall_level(states: Iterable[AlertState]) -> Level:
    """The worst level among `states`; green when there are none."""
    return max((level(s) for s in states), key=_RANK.__getitem__, default="green")
