"""Dashboard filter state in the URL query string, so that a view can be shared by its address."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode

MAX_FIELDS = 400


def parse_search(search: str | None) -> dict[str, list[str]]:
    """'?a=1&a=2&b=x' → {'a': ['1', '2'], 'b': ['x']}; malformed or oversized input gives {}."""
    if not isinstance(search, str) or len(search) > 8192:
        return {}
    try:
        return parse_qs(search.lstrip("?"), keep_blank_values=False, max_num_fields=MAX_FIELDS)
    except ValueError:
        return {}


def encode_search(params: dict[str, list[str] | str | None]) -> str:
    """The query string for params ('' when empty), keys in the given order, empty values dropped."""
    pairs = []
    for key, value in params.items():
        values = [value] if isinstance(value, str) else list(value or [])
        pairs.extend((key, v) for v in values)
    return "?" + urlencode(pairs) if pairs else ""
