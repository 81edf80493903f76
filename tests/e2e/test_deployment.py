"""The deployment as operators run it: nginx in front of two gunicorn instances."""

from __future__ import annotations

import gzip
import urllib.request

from tests.support.wire import loaded


def _get(url: str, **headers) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, dict(response.headers), response.read()


def test_nginx_serves_health_and_the_login_page_with_request_ids(live_server):
    status, headers, body = _get(live_server + "/health")
    assert (status, body) == (200, b"OK")
    assert len(headers["X-Request-ID"]) >= 16
    status, headers, body = _get(live_server + "/login", **{"X-Request-ID": "given-by-a-client"})
    assert status == 200 and b"csrf_token" in body
    assert headers["X-Request-ID"] != "given-by-a-client"  # nginx sets its own


def test_dash_bundles_are_compressed_and_cached_for_a_year(live_server, page):
    page.goto(page.base_url + "/")
    page.locator(".dashboard-card").first.wait_for()
    bundles = [
        r
        for r in page.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
        if "/_dash-component-suites/" in r
    ]
    assert bundles
    cookies = "; ".join(f"{c['name']}={c['value']}" for c in page.context.cookies())
    status, headers, body = _get(bundles[0], **{"Accept-Encoding": "gzip", "Cookie": cookies})
    assert status == 200
    assert headers["Content-Encoding"] == "gzip"
    assert "max-age=31536000" in headers["Cache-Control"]
    assert len(gzip.decompress(body)) > len(body)


def test_the_ready_endpoint_answers_through_nginx(live_server):
    status, _headers, body = _get(live_server + "/ready")
    assert status == 200
    assert b'"database":"ok"' in body.replace(b" ", b"")


def test_a_repeat_visit_takes_the_bundles_from_the_browser_cache(page):
    page.goto(page.base_url + "/")
    page.locator(".dashboard-card").first.wait_for()
    page.wait_for_load_state("networkidle")
    page.goto(page.base_url + "/")
    page.locator(".dashboard-card").first.wait_for()
    page.wait_for_load_state("networkidle")
    bundles = [r for r in loaded(page) if "/_dash-component-suites/" in r.url]
    assert bundles
    fetched = [r.url for r in bundles if not r.from_cache]
    assert fetched == [], f"bundles fetched again: {fetched}"
