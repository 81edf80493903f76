"""Accounts and sessions against an attacker: locks per (account, address), answers that say
nothing about which accounts exist, sessions that end on the server. Both databases."""

from __future__ import annotations

import json
import re
import statistics
import time

from click.testing import CliRunner
from sqlalchemy import func, select

from dashhub.cli import main
from dashhub.db import (
    api_tokens,
    audit_events,
    datasets,
    login_failures,
    saved_charts,
    user_sessions,
    user_settings,
)
from tests.conftest import PASSWORDS, login

ATTACKER = {"REMOTE_ADDR": "203.0.113.9"}
OFFICE = {"REMOTE_ADDR": "198.51.100.20"}
WRONG = "not-the-password-1"


def _client(app, environ: dict | None = None):
    client = app.server.test_client()
    if environ:
        client.environ_base.update(environ)
    return client


def _fail(app, username: str, environ: dict, times: int) -> list[int]:
    client = _client(app, environ)
    return [login(client, username, WRONG).status_code for _ in range(times)]


def _cli(settings, *args: str, input: str | None = None):
    env = {"DASHHUB_DATABASE__URL": settings.database_url, "DASHHUB_PATHS__DATA_DIR": str(settings.data_dir)}
    return CliRunner().invoke(main, list(args), env=env, input=input)


def test_an_attacker_cannot_lock_the_admin_out(demo_app):
    """Five failures from one address hold that address out of that account only: the right
    password from an address that has not failed still opens it."""
    assert _fail(demo_app, "admin", ATTACKER, 5) == [401, 401, 401, 401, 429]
    assert login(_client(demo_app, ATTACKER), "admin").status_code == 429, "the attacker's address waits"
    assert login(_client(demo_app, OFFICE), "admin").status_code == 302, "the admin's does not"


def test_each_further_lock_lasts_longer(tmp_path, demo_url):
    from dashhub.app import create_app
    from tests.conftest import make_settings

    # fifteen failures in a few seconds: above the per-address rate limit, which is not tested here
    demo_app = create_app(make_settings(tmp_path, demo_url, DASHHUB_AUTH__LOGIN_RATE_LIMIT="100 per minute"))
    services = demo_app.server.extensions["dashhub"]
    throttle_rows = []
    for _ in range(3):
        _fail(demo_app, "viewer", ATTACKER, 5)
        with services.engine.connect() as conn:
            row = conn.execute(
                select(login_failures).where(
                    login_failures.c.username == "viewer", login_failures.c.address == ATTACKER["REMOTE_ADDR"]
                )
            ).one()
        throttle_rows.append(row)
        with services.engine.begin() as conn:  # the lock is over: the clock moved on
            conn.execute(
                login_failures.update()
                .where(login_failures.c.address == ATTACKER["REMOTE_ADDR"])
                .values(locked_until=None)
            )
    services.engine.dispose()
    assert [row.locks for row in throttle_rows] == [1, 2, 3]
    lengths = [(row.locked_until - row.last_failure_at).total_seconds() / 60 for row in throttle_rows]
    assert [round(x) for x in lengths] == [15, 30, 60]


def test_unknown_and_existing_accounts_answer_alike(demo_app):
    """Same status, same message, for failures, for locks, on a real and an unknown account."""
    other = {"REMOTE_ADDR": "203.0.113.10"}  # (each address under the per-address rate limit)
    real = _fail(demo_app, "hr", ATTACKER, 6)
    unknown = _fail(demo_app, "nobody-here", other, 6)
    assert real == unknown == [401, 401, 401, 401, 429, 429]
    pages = []
    for name, environ in (("hr", ATTACKER), ("nobody-here", other)):
        body = login(_client(demo_app, environ), name, WRONG).get_data(as_text=True)
        message = re.search(r'role="alert">([^<]+)<', body).group(1)
        pages.append(re.sub(r"\d\d:\d\d", "HH:MM", message))  # (the two may straddle a minute)
    assert pages[0] == pages[1] and "réessayez après" in pages[0]


def test_failures_take_the_same_time_locked_or_not(demo_app):
    """A locked address, an unknown user and a wrong password each cost one password hash."""
    _fail(demo_app, "analyst", ATTACKER, 5)  # locked now

    def median_ms(username: str, environ: dict) -> float:
        client = _client(demo_app, environ)
        times = []
        for _ in range(5):
            started = time.perf_counter()
            login(client, username, WRONG)
            times.append((time.perf_counter() - started) * 1000)
        return statistics.median(times)

    locked = median_ms("analyst", ATTACKER)
    unknown = median_ms("nobody-at-all", OFFICE)
    wrong = median_ms("admin", {"REMOTE_ADDR": "192.0.2.77"})
    # a hash costs tens of milliseconds: a lock answered without one would take a few
    assert locked > 0.5 * wrong and unknown > 0.5 * wrong, (locked, unknown, wrong)


def test_the_account_ceiling_holds_spread_out_guessing(tmp_path, demo_url):
    """Past the hourly ceiling on an account, every address that failed on it waits; one that
    has not failed still logs in."""
    from dashhub.app import create_app
    from tests.conftest import make_settings

    app = create_app(make_settings(tmp_path, demo_url, DASHHUB_AUTH__ACCOUNT_FAILURES_PER_HOUR="6"))
    try:
        codes = [_fail(app, "admin", {"REMOTE_ADDR": f"203.0.113.{n}"}, 1)[0] for n in range(1, 8)]
        assert codes == [401] * 7  # one guess each: none locked on its own
        again = login(_client(app, {"REMOTE_ADDR": "203.0.113.1"}), "admin")
        assert again.status_code == 429, "an address that failed waits, even with the right password"
        assert login(_client(app, OFFICE), "admin").status_code == 302
    finally:
        app.server.extensions["dashhub"].engine.dispose()


def test_an_admin_unlocks_from_the_command_line(demo_app, settings):
    _fail(demo_app, "viewer", ATTACKER, 5)
    listing = _cli(settings, "users", "sessions", "viewer")
    assert listing.exit_code == 0 and f"locked out: {ATTACKER['REMOTE_ADDR']}" in listing.output
    unlocked = _cli(settings, "users", "unlock", "viewer")
    assert unlocked.exit_code == 0 and ATTACKER["REMOTE_ADDR"] in unlocked.output, unlocked.output
    assert login(_client(demo_app, ATTACKER), "viewer").status_code == 302
    assert _cli(settings, "users", "unlock", "ghost").exit_code == 1
    with demo_app.server.extensions["dashhub"].engine.connect() as conn:
        events = conn.execute(select(audit_events.c.event).where(audit_events.c.event == "user_unlock")).all()
    assert len(events) == 1


def test_logout_ends_the_session_even_for_a_saved_cookie(demo_app):
    client = _client(demo_app)
    assert login(client, "hr").status_code == 302
    saved = client.get_cookie("dashhub_session").value
    layout = client.get("/_dash-layout").get_data(as_text=True)
    token = re.search(r'"id": ?"logout-csrf".*?"value": ?"([^"]+)"', layout) or re.search(
        r'"value": ?"([^"]+)"[^{}]*"id": ?"logout-csrf"', layout
    )
    assert client.post("/logout", data={"csrf_token": token.group(1)}).status_code == 302
    replay = _client(demo_app)
    replay.set_cookie("dashhub_session", saved)
    assert replay.get("/_dash-layout").status_code == 401


def test_a_password_or_role_change_ends_every_session(demo_app, settings):
    browsers = [_client(demo_app) for _ in range(2)]
    for browser in browsers:
        assert login(browser, "analyst").status_code == 302
        assert browser.get("/_dash-layout").status_code == 200
    changed = _cli(settings, "users", "passwd", "analyst", "--password-stdin", input="A-New-Long-Secret-77\n")
    assert changed.exit_code == 0, changed.output
    assert [b.get("/_dash-layout").status_code for b in browsers] == [401, 401]
    assert login(browsers[0], "analyst", "A-New-Long-Secret-77").status_code == 302
    assert _cli(settings, "users", "role", "analyst", "viewer").exit_code == 0
    assert browsers[0].get("/_dash-layout").status_code == 401


def test_an_admin_ends_a_users_sessions(demo_app, settings):
    browser = _client(demo_app)
    assert login(browser, "viewer").status_code == 302
    listing = _cli(settings, "users", "sessions", "viewer")
    assert "1 open session(s)" in listing.output
    ended = _cli(settings, "users", "logout", "viewer")
    assert ended.exit_code == 0 and "Ended 1 session(s)" in ended.output
    assert browser.get("/_dash-layout").status_code == 401
    assert "0 open session(s)" in _cli(settings, "users", "sessions", "viewer").output
    assert login(browser, "viewer", PASSWORDS["viewer"]).status_code == 302, "and may log in again"


def test_deleting_a_user_takes_their_sessions_tokens_and_files_with_them(demo_app, settings):
    """`dashhub users delete`: the open session ends at once, the API token stops working, the
    datasets' rows, saved charts and Parquet files are gone (another user's stay), the audit trail
    names them; the last admin cannot be deleted; without a terminal it needs --yes."""
    from dashhub.services.user_datasets import Viewer

    services = demo_app.server.extensions["dashhub"]
    browser = _client(demo_app)
    assert login(browser, "analyst").status_code == 302
    assert browser.get("/_dash-layout").status_code == 200
    analyst = Viewer.of(services.users.authenticate("analyst", PASSWORDS["analyst"]).user)
    hr = Viewer.of(services.users.authenticate("hr", PASSWORDS["hr"]).user)
    mine = services.datasets.add_example(analyst, "iris").dataset
    services.datasets.add_example(analyst, "wine")
    services.saved_charts.save(analyst, mine, "Iris", "kind=histogram&x=sepal_length")
    theirs = services.datasets.add_example(hr, "iris").dataset
    _, secret = services.tokens.create("analyst", "batch")
    services.users.set_theme(analyst.user_id, "dark")
    folder = settings.data_dir / "datasets" / str(analyst.user_id)
    assert len(list(folder.glob("*.parquet"))) == 2

    refused = _cli(settings, "users", "delete", "analyst")  # (no terminal: CliRunner's stdin)
    assert refused.exit_code == 2 and "--yes" in refused.output, refused.output
    assert services.users.exists("analyst") and folder.exists()

    deleted = _cli(settings, "users", "delete", "analyst", "--yes")
    assert deleted.exit_code == 0, deleted.output
    assert "2 dataset(s)" in deleted.output
    assert browser.get("/_dash-layout").status_code == 401
    assert services.tokens.authenticate(secret) is None
    assert not services.users.exists("analyst") and not folder.exists()
    assert login(_client(demo_app), "analyst").status_code != 302
    engine = services.engine
    with engine.connect() as conn:
        for table, column in (
            (datasets, datasets.c.owner_id),
            (saved_charts, saved_charts.c.owner_id),
            (user_settings, user_settings.c.user_id),
            (user_sessions, user_sessions.c.user_id),
            (api_tokens, api_tokens.c.user_id),
        ):
            left = conn.scalar(select(func.count()).select_from(table).where(column == analyst.user_id))
            assert left == 0, table.name
        event = conn.execute(select(audit_events).where(audit_events.c.event == "user_delete")).one()
    assert json.loads(event.detail)["target"] == "analyst"
    assert services.datasets.get(hr, theirs.id).rows == 150
    assert (settings.data_dir / theirs.stored).exists()

    assert _cli(settings, "users", "delete", "ghost", "--yes").exit_code == 1
    last = _cli(settings, "users", "delete", "admin", "--yes")
    assert last.exit_code == 1 and "last admin" in last.output, last.output
    assert services.users.exists("admin")
    assert _cli(settings, "users", "role", "hr", "admin").exit_code == 0
    assert _cli(settings, "users", "delete", "admin", "--yes").exit_code == 0, "another admin: allowed"
