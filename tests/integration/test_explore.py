"""Vos données (/explore) through the app: the upload route (streamed, limited, CSRF, login), the
page's callbacks (dataset list, table pages, column summary), and no reach into another user's."""

from __future__ import annotations

import pytest

from dashhub.callbacks import explore as explore_callbacks
from dashhub.layouts.explore import IDS
from dashhub.shell import PAGE_CONTENT
from tests.conftest import session_of
from tests.support.dash_requests import callback_body, find_prop, page_body, stringify_id

CSV = "ville,ventes,jour\nLyon,10,2026-01-05\nParis,25.5,2026-01-06\nLyon,4,2026-01-07\nNice,,2026-01-08\n"


def csrf(client) -> str:
    layout = client.get("/_dash-layout").get_json()
    return find_prop(layout, "logout-csrf", "value")


def upload(client, content: bytes, name: str = "ventes.csv", token: str | None = None):
    return client.post(
        "/explore/upload",
        data=content,
        headers={"X-CSRFToken": token if token is not None else csrf(client), "X-Filename": name},
        content_type="application/octet-stream",
    )


def test_a_file_sent_is_typed_listed_paged_and_summarised(app):
    client = session_of(app, "viewer")
    answer = upload(client, CSV.encode())
    assert answer.status_code == 200, answer.get_json()
    sent = answer.get_json()
    assert (sent["rows"], sent["columns"], sent["rejected"]) == (4, 3, 0)
    page = client.post("/_dash-update-component", json=page_body("/explore", f"?dataset={sent['id']}"))
    drawn = page.get_json()["response"][PAGE_CONTENT]["children"]
    assert find_prop(drawn, IDS.DATASET, "value") == sent["id"]
    assert find_prop(drawn, IDS.COLUMN, "value") == "ville"
    chosen = client.post(
        "/_dash-update-component",
        json=callback_body(
            [
                (IDS.COLUMN, "options"),
                (IDS.COLUMN, "value"),
                (IDS.TABLE, "columnDefs"),
                (IDS.DETAILS, "children"),
                (IDS.CORRELATIONS, "figure"),
            ],
            [(IDS.DATASET, "value", sent["id"])],
            [(IDS.COLUMN, "value", None)],
        ),
    ).get_json()["response"]
    assert [c["field"] for c in chosen[IDS.TABLE]["columnDefs"]] == ["ville", "ventes", "jour"]
    assert "Moins de deux colonnes numériques" in str(chosen[IDS.CORRELATIONS]["figure"])
    rows = client.post(
        "/_dash-update-component",
        json=callback_body(
            [(IDS.TABLE, "getRowsResponse")],
            [
                (
                    IDS.TABLE,
                    "getRowsRequest",
                    {"startRow": 0, "endRow": 20, "sortModel": [{"colId": "ventes", "sort": "desc"}]},
                )
            ],
            [(IDS.DATASET, "value", sent["id"])],
        ),
    ).get_json()["response"][IDS.TABLE]["getRowsResponse"]
    assert rows["rowCount"] == 4
    assert [r["ventes"] for r in rows["rowData"]] == [25.5, 10.0, 4.0, None]
    summary = client.post(
        "/_dash-update-component",
        json=callback_body(
            [(IDS.SUMMARY, "children"), (IDS.HISTOGRAM, "figure"), (IDS.VIEW, "data")],
            [(IDS.COLUMN, "value", "ventes")],
            [(IDS.DATASET, "value", sent["id"])],
        ),
    ).get_json()["response"]
    texts = str(summary[IDS.SUMMARY]["children"])
    assert "Manquantes" in texts or "Missing" in texts
    bars = summary[IDS.HISTOGRAM]["figure"]["data"][0]
    assert sum(bars["y"]) == 3  # (the three values; the empty cell is missing)
    assert summary[stringify_id(IDS.VIEW)]["data"]["search"] == f"?dataset={sent['id']}&column=ventes"
    towns = client.post(
        "/_dash-update-component",
        json=callback_body(
            [(IDS.SUMMARY, "children"), (IDS.HISTOGRAM, "figure"), (IDS.VIEW, "data")],
            [(IDS.COLUMN, "value", "ville")],
            [(IDS.DATASET, "value", sent["id"])],
        ),
    )
    assert towns.status_code == 200
    bars = towns.get_json()["response"][IDS.HISTOGRAM]["figure"]["data"][0]
    assert dict(zip(bars["y"], bars["x"], strict=True)) == {"Lyon": 2, "Paris": 1, "Nice": 1}
    days = client.post(
        "/_dash-update-component",
        json=callback_body(
            [(IDS.SUMMARY, "children"), (IDS.HISTOGRAM, "figure"), (IDS.VIEW, "data")],
            [(IDS.COLUMN, "value", "jour")],
            [(IDS.DATASET, "value", sent["id"])],
        ),
    )
    assert days.status_code == 200
    assert sum(days.get_json()["response"][IDS.HISTOGRAM]["figure"]["data"][0]["y"]) == 4


def test_a_file_over_the_server_wide_body_limit_but_under_the_uploads_goes_in(app):
    client = session_of(app, "viewer")
    big = ("x,y\n" + "123456,abcdefgh\n" * 700_000).encode()  # (11 MB: server.max_request_mb is 10)
    answer = upload(client, big, name="big.csv")
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["rows"] == 700_000


def test_uploads_are_refused_without_login_token_or_under_the_limit(app, anonymous, monkeypatch):
    assert anonymous.post("/explore/upload", data=b"a\n1\n").status_code == 401
    client = session_of(app, "analyst")
    assert upload(client, CSV.encode(), token="forged").status_code == 400
    monkeypatch.setattr(explore_callbacks, "MAX_UPLOAD_BYTES", 10)
    too_big = upload(client, CSV.encode())
    assert too_big.status_code == 413 and "Le fichier dépasse" in too_big.get_json()["error"]
    monkeypatch.undo()
    binary = upload(client, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert binary.status_code == 400 and "binary" in binary.get_json()["error"]
    uploads = app.server.extensions["dashhub"].settings.data_dir / "uploads"
    assert not list(uploads.glob("*.upload"))


@pytest.mark.parametrize("forged", [999_999, 2**40, -1, "1", True, None])
def test_another_users_or_a_forged_dataset_id_reaches_nothing(app, forged):
    owner = session_of(app, "hr")
    mine = upload(owner, CSV.encode(), name="secret.csv").get_json()["id"]
    other = session_of(app, "viewer")
    for dataset in (mine, forged):
        answer = other.post(
            "/_dash-update-component",
            json=callback_body(
                [(IDS.TABLE, "getRowsResponse")],
                [(IDS.TABLE, "getRowsRequest", {"startRow": 0, "endRow": 20})],
                [(IDS.DATASET, "value", dataset)],
            ),
        )
        assert answer.status_code in (204, 400), (dataset, answer.status_code)
        assert "secret" not in answer.get_data(as_text=True) and "Lyon" not in answer.get_data(as_text=True)
    page = other.post("/_dash-update-component", json=page_body("/explore", f"?dataset={mine}"))
    assert "secret" not in page.get_data(as_text=True)


def manage(client, trigger: str, dataset, new_name=None):
    body = callback_body(
        [
            (IDS.DATASET, "options"),
            (IDS.DATASET, "value"),
            (IDS.ACTION_STATUS, "children"),
            (IDS.NEW_NAME, "value"),
        ],
        [(trigger, "n_clicks", 1), (IDS.UPLOADED, "data", None)],
        [(IDS.DATASET, "value", dataset), (IDS.NEW_NAME, "value", new_name)],
    )
    body["inputs"] = [
        {"id": IDS.UPLOADED, "property": "data", "value": None},
        {"id": IDS.RENAME, "property": "n_clicks", "value": 1 if trigger == IDS.RENAME else None},
        {
            "id": IDS.DELETE_CONFIRM,
            "property": "n_clicks",
            "value": 1 if trigger == IDS.DELETE_CONFIRM else None,
        },
    ]
    return client.post("/_dash-update-component", json=body)


def test_the_owner_renames_and_deletes_others_cannot(app):
    owner, other = session_of(app, "analyst"), session_of(app, "viewer")
    mine = upload(owner, CSV.encode(), name="brouillon.csv").get_json()["id"]
    renamed = manage(owner, IDS.RENAME, mine, "  Ventes   2026 ").get_json()["response"]
    assert renamed[IDS.ACTION_STATUS]["children"] == "Renommé « Ventes 2026 »."
    assert any(
        o["value"] == mine and o["label"].startswith("Ventes 2026") for o in renamed[IDS.DATASET]["options"]
    )
    refused = manage(other, IDS.DELETE_CONFIRM, mine)
    assert refused.status_code == 200
    assert "Seul son propriétaire" in refused.get_json()["response"][IDS.ACTION_STATUS]["children"]
    assert all(o["value"] != mine for o in refused.get_json()["response"][IDS.DATASET]["options"])
    deleted = manage(owner, IDS.DELETE_CONFIRM, mine).get_json()["response"]
    assert deleted[IDS.ACTION_STATUS]["children"] == "« Ventes 2026 » a été supprimé."
    assert all(o["value"] != mine for o in deleted[IDS.DATASET]["options"])
