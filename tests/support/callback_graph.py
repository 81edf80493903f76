"""Read Dash's callback graph (`/_dash-dependencies`): which callback writes which output."""

from __future__ import annotations

from collections import defaultdict


def outputs_of(output: str) -> list[str]:
    """'..a.b...c.d..' (several outputs) or 'a.b' (one) → ['a.b', 'c.d'], '@hash' kept."""
    if output.startswith("..") and output.endswith(".."):
        return output[2:-2].split("...")
    return [output]


def outputs_written_twice(dependencies: list[dict]) -> dict[str, int]:
    """Each id.prop that more than one callback writes without allow_duplicate (Dash marks an
    allowed duplicate 'id.prop@hash'; two plain writers break the page in debug mode)."""
    plain_writers: dict[str, int] = defaultdict(int)
    for dependency in dependencies:
        for output in outputs_of(dependency["output"]):
            if "@" not in output:
                plain_writers[output] += 1
    return {target: count for target, count in plain_writers.items() if count > 1}
