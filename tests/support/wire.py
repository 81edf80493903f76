"""What a page loaded, and from where: the network or the browser cache (Resource Timing API).

Read from the page rather than through a DevTools session: attaching one changes how Chromium
uses its cache.
"""

from __future__ import annotations

from dataclasses import dataclass

ENTRIES = """[...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')]
  .map(e => ({url: e.name, transfer: e.transferSize, body: e.decodedBodySize}))"""


@dataclass(frozen=True)
class Loaded:
    url: str
    transfer: int  # bytes on the wire, headers included; 0 when the browser cache answered
    body: int

    @property
    def from_cache(self) -> bool:
        return self.transfer == 0 and self.body > 0


def loaded(page) -> list[Loaded]:
    """Every request of the current document so far."""
    return [Loaded(e["url"], int(e["transfer"]), int(e["body"])) for e in page.evaluate(ENTRIES)]
