"""The reader of Dash's callback graph used by the one-owner-per-output test."""

from __future__ import annotations

from tests.support.callback_graph import outputs_of, outputs_written_twice


def test_outputs_of_splits_multi_output_callbacks():
    assert outputs_of("..a.b...c.d..") == ["a.b", "c.d"]
    assert outputs_of("page-content.children") == ["page-content.children"]
    assert outputs_of('..{"dashboard":"hr","type":"view-state"}.data...x.y..') == [
        '{"dashboard":"hr","type":"view-state"}.data',
        "x.y",
    ]


def test_two_plain_writers_of_one_output_are_reported():
    graph = [{"output": "..a.b...url.search.."}, {"output": "url.search"}, {"output": "c.d"}]
    assert outputs_written_twice(graph) == {"url.search": 2}


def test_allowed_duplicates_are_not_reported():
    graph = [{"output": "url.search"}, {"output": "url.search@1f2e"}, {"output": "..url.search@9a8b...e.f.."}]
    assert outputs_written_twice(graph) == {}
