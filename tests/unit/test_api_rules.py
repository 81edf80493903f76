"""The prediction API's rules without a server: instance and feedback checks, the shared rate
counter, the retention's time buckets, token secrets."""

from __future__ import annotations

import math
import multiprocessing
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashhub.domain.predictions import MAX_PROBLEMS, check_feedback, check_instances
from dashhub.limiter_storage import DiskcacheStorage
from dashhub.services.tokens import TOKEN_PATTERN, digest

FEATURES = ["a", "b", "c"]


def test_good_instances_become_rows_in_the_schemas_order():
    rows, problems = check_instances(
        [{"c": 3, "a": 1.5, "b": -2}, {"a": 0, "b": 0, "c": 1e300}], FEATURES, 10
    )
    assert problems == []
    assert rows == [[1.5, -2.0, 3.0], [0.0, 0.0, 1e300]]


@pytest.mark.parametrize(
    ("instances", "expected"),
    [
        (None, [(None, None, "instances must be a list of objects, one per instance")]),
        ([], [(None, None, "instances is empty: send 1 instance or more")]),
        ([{"a": 1, "b": 2, "c": 3}] * 11, [(None, None, "11 instances in one call; at most 10")]),
        ([7], [(0, None, "an instance is an object {feature: number}")]),
        ([{"a": 1, "b": 2}], [(0, "c", "missing feature")]),
        ([{"a": 1, "b": 2, "c": 3, "d": 4}], [(0, "d", "unknown feature (not in the model's schema)")]),
        ([{"a": "1", "b": 2, "c": 3}], [(0, "a", "must be a number")]),
        ([{"a": False, "b": 2, "c": 3}], [(0, "a", "must be a number")]),
        (
            [{"a": 1, "b": math.nan, "c": math.inf}],
            [
                (0, "b", "must be a finite number (not NaN or infinite)"),
                (0, "c", "must be a finite number (not NaN or infinite)"),
            ],
        ),
    ],
)
def test_each_problem_names_the_instance_and_the_feature(instances, expected):
    rows, problems = check_instances(instances, FEATURES, 10)
    assert rows == []
    assert [(p.instance, p.feature, p.message) for p in problems] == expected


def test_a_batch_full_of_mistakes_reports_a_bounded_number_of_them():
    _rows, problems = check_instances([{"x": 1}] * 500, FEATURES, 1000)
    assert len(problems) == MAX_PROBLEMS


@settings(max_examples=300, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.floats() | st.integers() | st.text(),
        lambda kids: st.lists(kids) | st.dictionaries(st.text(), kids),
        max_leaves=10,
    )
)
def test_any_json_is_either_rows_or_problems(value):
    rows, problems = check_instances(value, FEATURES, 5)
    assert bool(rows) != bool(problems)
    for row in rows:
        assert len(row) == 3 and all(math.isfinite(v) for v in row)


def test_feedback_items_are_id_and_label_strings():
    items, problems = check_feedback([{"id": "abc", "label": "setosa"}], 10)
    assert problems == [] and [(i.id, i.label) for i in items] == [("abc", "setosa")]
    for bad in (
        [],
        None,
        [{"id": 1, "label": "x"}],
        [{"id": "a"}],
        [{"id": "a", "label": "x", "extra": 1}],
        [{"id": "a" * 65, "label": "x"}],
        [{"id": "a", "label": "x"}] * 11,
    ):
        assert check_feedback(bad, 10)[1], bad


def test_a_token_is_kept_only_as_its_hash():
    secret = "dh_" + "A" * 43
    assert TOKEN_PATTERN.match(secret) and not TOKEN_PATTERN.match(secret + "x")
    assert digest(secret) != secret and len(digest(secret)) == 64


def _count_in_another_process(folder: str, key: str, times: int, queue) -> None:
    storage = DiskcacheStorage(f"dashhub-diskcache://{folder}")
    queue.put([storage.incr(key, 60) for _ in range(times)])


def test_the_rate_counter_is_shared_by_processes_and_expires(tmp_path):
    queue = multiprocessing.get_context("spawn").Queue()
    workers = [
        multiprocessing.get_context("spawn").Process(
            target=_count_in_another_process, args=(str(tmp_path), "token:1", 50, queue)
        )
        for _ in range(3)
    ]
    for worker in workers:
        worker.start()
    seen = sorted(n for _ in workers for n in queue.get(timeout=60))
    for worker in workers:
        worker.join()
    assert seen == list(range(1, 151)), "every increment counted once, whatever the process"
    storage = DiskcacheStorage(f"dashhub-diskcache://{tmp_path}")
    assert storage.get("token:1") == 150
    assert storage.incr("short", 1) == 1 and storage.get_expiry("short") > time.time()
    time.sleep(1.2)
    assert storage.get("short") == 0 and storage.incr("short", 1) == 1, "a new window starts at zero"
    storage.clear("token:1")
    assert storage.get("token:1") == 0 and storage.check()
