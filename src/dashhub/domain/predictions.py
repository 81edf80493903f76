"""The prediction API's checks, as pure functions: what a caller sent, against the served version's
feature schema. Every problem names the instance and the feature."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

MAX_PROBLEMS = 50  # problems reported per request (enough to fix a batch, bounded in size)


@dataclass(frozen=True)
class Problem:
    """One reason a request was refused: which instance (None: the request itself), which
    feature (None: the instance as a whole), and what is wrong."""

    message: str
    instance: int | None = None
    feature: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"instance": self.instance, "feature": self.feature, "message": self.message}


def check_instances(
    instances: Any, features: Sequence[str], max_instances: int
) -> tuple[list[list[float]], list[Problem]]:
    """The instances as rows of numbers in the schema's order, or the problems with them."""
    if not isinstance(instances, list):
        return [], [Problem("instances must be a list of objects, one per instance")]
    if not instances:
        return [], [Problem("instances is empty: send 1 instance or more")]
    if len(instances) > max_instances:
        return [], [Problem(f"{len(instances)} instances in one call; at most {max_instances}")]
    expected = set(features)
    rows: list[list[float]] = []
    problems: list[Problem] = []
    for index, instance in enumerate(instances):
        if len(problems) >= MAX_PROBLEMS:
            break
        if not isinstance(instance, dict):
            problems.append(Problem("an instance is an object {feature: number}", index))
            continue
        problems.extend(Problem("missing feature", index, name) for name in features if name not in instance)
        problems.extend(
            Problem("unknown feature (not in the model's schema)", index, str(name)[:100])
            for name in instance
            if name not in expected
        )
        row = []
        for name in features:
            value = instance.get(name)
            if name not in instance:
                continue
            if not isinstance(value, int | float) or isinstance(value, bool):
                problems.append(Problem("must be a number", index, name))
            elif not math.isfinite(value):
                problems.append(Problem("must be a finite number (not NaN or infinite)", index, name))
            else:
                row.append(float(value))
        rows.append(row)
    return ([], problems[:MAX_PROBLEMS]) if problems else (rows, [])


@dataclass(frozen=True)
class FeedbackItem:
    id: str
    label: str


def check_feedback(items: Any, max_items: int) -> tuple[list[FeedbackItem], list[Problem]]:
    """The feedback items ({"id", "label"}), or the problems with them."""
    if not isinstance(items, list) or not items:
        return [], [Problem("feedback must be a non-empty list of {id, label}")]
    if len(items) > max_items:
        return [], [Problem(f"{len(items)} feedback items in one call; at most {max_items}")]
    found, problems = [], []
    for index, item in enumerate(items):
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("id"), str)
            or not isinstance(item.get("label"), str)
            or not 1 <= len(item["id"]) <= 64
            or not 1 <= len(item["label"]) <= 128
            or set(item) - {"id", "label"}
        ):
            problems.append(Problem("a feedback item is {id: string, label: string}", index))
            continue
        found.append(FeedbackItem(item["id"], item["label"]))
    return ([], problems[:MAX_PROBLEMS]) if problems else (found, [])
