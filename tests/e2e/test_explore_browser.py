"""Vos données in the browser, through nginx: a file sent with the page's button (streamed with a
progress bar, not through a callback), its rows in the table, a column's summary and spread, the
view in the address, and no serious accessibility violation."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import expect

from tests.e2e.test_accessibility_browser import _settle, _violations

SCREENS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screens"
CSV = "ville;ventes;jour\nLyon;10;2026-01-05\nParis;25,5;2026-01-06\nLyon;4;2026-01-07\nNice;;2026-01-08\n"


def test_a_file_is_sent_browsed_and_summarised(analyst_page, tmp_path):
    page = analyst_page
    path = tmp_path / "mes-ventes.csv"
    path.write_text(CSV.replace(";", ",").replace("25,5", "25.5"))
    page.goto(page.base_url + "/explore")
    _settle(page, "#explore-upload")
    page.set_input_files("#explore-file", str(path))
    page.click("#explore-send")
    expect(page.locator("#explore-status")).to_contain_text(
        "Enregistré : 4 lignes, 3 colonnes", timeout=30_000
    )
    expect(page.locator("#explore-dataset")).to_contain_text("mes-ventes")
    expect(page.locator("#explore-table .ag-row")).to_have_count(4, timeout=20_000)
    expect(page.locator("#explore-summary")).to_contain_text("Manquantes")
    page.locator("#explore-column").click()
    page.get_by_role("option", name="ventes (nombre)").click()
    expect(page.locator("#explore-summary")).to_contain_text("Médiane")
    expect(page.locator("#explore-histogram .main-svg").first).to_be_visible()
    page.wait_for_function("() => window.location.search.includes('column=ventes')", timeout=10_000)
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / "explore-1400.png"), full_page=True)
    address = page.url
    page.goto(address)  # (the view is in the address: the same dataset and column come back)
    expect(page.locator("#explore-summary")).to_contain_text("Médiane", timeout=20_000)
    _settle(page, "#explore-histogram .main-svg")
    assert _violations(page) == []
    # another column, then Back and Forward follow the address
    choose(page, "#explore-column", "jour (date)")
    page.wait_for_function("() => window.location.search.includes('column=jour')", timeout=10_000)
    expect(page.locator("#explore-summary")).to_contain_text("date", timeout=20_000)
    page.go_back()
    page.wait_for_function("() => window.location.search.includes('column=ventes')", timeout=10_000)
    expect(page.locator("#explore-column")).to_contain_text("ventes", timeout=20_000)
    expect(page.locator("#explore-summary")).to_contain_text("Médiane")
    page.go_forward()
    page.wait_for_function("() => window.location.search.includes('column=jour')", timeout=10_000)
    expect(page.locator("#explore-column")).to_contain_text("jour", timeout=20_000)
    page.fill("#explore-new-name", "Ventes de janvier")
    page.click("#explore-rename")
    expect(page.locator("#explore-action-status")).to_have_text("Renommé « Ventes de janvier ».")
    expect(page.locator("#explore-dataset")).to_contain_text("Ventes de janvier")
    page.click("#explore-delete")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Supprimer ce jeu de données ?")
    page.locator(".modal.show").wait_for()
    page.wait_for_timeout(300)  # (the backdrop's own transition)
    assert _violations(page) == []
    dialog.get_by_role("button", name="Supprimer").click()
    expect(page.locator("#explore-action-status")).to_have_text("« Ventes de janvier » a été supprimé.")
    expect(page.locator("#explore-dataset")).not_to_contain_text("Ventes de janvier")


def test_a_file_that_is_not_a_table_is_refused_in_words(analyst_page, tmp_path):
    page = analyst_page
    page.expected_errors = ["/explore/upload", "status of 400"]  # (the refusal, on purpose)
    path = tmp_path / "image.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    page.goto(page.base_url + "/explore")
    _settle(page, "#explore-upload")
    page.set_input_files("#explore-file", str(path))
    page.click("#explore-send")
    expect(page.locator("#explore-status")).to_contain_text("Fichier refusé", timeout=30_000)
    expect(page.locator("#explore-status")).to_contain_text("le fichier est binaire")


def opened_in_the_explorer(page, label: str, features: int) -> None:
    """« Ouvrir dans l’explorateur », then its link: the explorer trains on the dataset."""
    page.get_by_role("button", name="Ouvrir dans l’explorateur").click()
    page.locator("#explore-model-link").click()
    page.wait_for_function("() => window.location.pathname.endsWith('/ml/explorer')", timeout=20_000)
    assert "dataset=user-" in page.evaluate("location.search")
    expect(page.locator("#ml-dataset")).to_contain_text(label, timeout=20_000)
    expect(page.locator("#ml-kpi-features")).to_have_text(str(features), timeout=30_000)
    expect(page.locator("#ml-kpi-accuracy")).to_contain_text(",", timeout=30_000)


def choose(page, control: str, option: str) -> None:
    page.locator(control).click()
    page.get_by_role("option", name=option, exact=True).click()


def test_a_type_is_fixed_a_chart_built_exported_saved_shared_and_modelled(analyst_page, tmp_path):
    page = analyst_page
    path = tmp_path / "tickets.csv"
    path.write_text(
        "jour,magasin,montant,articles\n"
        + "".join(f"{d:02d}/01/2026,{'AB'[d % 2]},{d * 1.5},{d % 5 + 1}\n" for d in range(1, 29))
    )
    page.goto(page.base_url + "/explore")
    _settle(page, "#explore-upload")
    page.set_input_files("#explore-file", str(path))
    page.click("#explore-send")
    expect(page.locator("#explore-status")).to_contain_text("28 lignes", timeout=30_000)
    choose(page, "#explore-column", "jour (texte)")  # (day first: not read as a date by itself)
    choose(page, "#explore-new-type", "date")
    page.fill("#explore-date-format", "%d/%m/%Y")
    page.click("#explore-retype")
    expect(page.locator("#explore-retype-status")).to_contain_text("est maintenant de type « date »")
    expect(page.locator("#explore-column")).to_contain_text("jour (date)")
    choose(page, "#explore-chart-kind", "Courbe")
    choose(page, "#explore-chart-x", "jour (date)")
    choose(page, "#explore-chart-y", "montant (nombre)")
    choose(page, "#explore-chart-color", "magasin (catégorie)")
    choose(page, "#explore-chart-agg", "Somme")
    page.wait_for_function(
        "() => window.location.search.includes('chart=line') && window.location.search.includes('agg=sum')"
        " && window.location.search.includes('color=magasin')",
        timeout=20_000,
    )
    chart = page.locator("#explore-chart")
    expect(chart.locator(".legendtext")).to_have_count(2, timeout=20_000)
    expect(chart.locator(".gtitle")).to_contain_text("Somme de montant par jour")
    with page.expect_download() as download:
        page.click("#explore-chart-csv")
    lines = Path(download.value.path()).read_text().splitlines()
    assert lines[0] == "magasin,jour,sum(montant)" and len(lines) == 29
    assert sum(float(line.rsplit(",", 1)[1]) for line in lines[1:]) == sum(d * 1.5 for d in range(1, 29))
    page.fill("#explore-save-name", "Montants par jour")
    page.click("#explore-save")
    expect(page.locator("#explore-save-status")).to_have_text("Enregistré sous « Montants par jour ».")
    expect(page.locator("#explore-saved")).to_contain_text("Montants par jour")
    _settle(page, "#explore-chart .main-svg")
    assert _violations(page) == []
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / "explore-chart-1400.png"), full_page=True)
    shared = page.context.new_page()  # (the address, opened in a new page, draws the same chart)
    shared.goto(page.url)
    expect(shared.locator("#explore-chart .legendtext")).to_have_count(2, timeout=30_000)
    expect(shared.locator("#explore-chart-agg")).to_contain_text("Somme")
    expect(shared.locator("#explore-chart .gtitle")).to_contain_text("Somme de montant par jour")
    shared.close()
    page.get_by_role("link", name="Montants par jour").click()
    expect(page.locator("#explore-chart .gtitle")).to_contain_text(
        "Somme de montant par jour", timeout=20_000
    )
    # « Le modéliser »: the shop from the amount and the number of items, then in the explorer
    expect(page.locator("#explore-model-target")).to_contain_text("magasin", timeout=20_000)
    page.locator("#explore-model-features").click()
    page.get_by_role("option", name="articles", exact=True).click()
    page.keyboard.press("Escape")
    expect(page.locator("#explore-model-features")).to_contain_text("articles")
    opened_in_the_explorer(page, "Vos données : tickets", features=2)


def test_the_course_iris_scatter_in_one_click(analyst_page):
    page = analyst_page
    page.goto(page.base_url + "/explore")
    _settle(page, "#explore-upload")
    page.click("#explore-seed-scatter")
    page.wait_for_function("() => window.location.search.includes('size=petal_length')", timeout=30_000)
    chart = page.locator("#explore-chart")
    expect(chart.locator(".legendtext")).to_have_count(3, timeout=20_000)
    expect(chart.locator(".point")).to_have_count(150)
    expect(chart.locator(".gtitle")).to_contain_text("sepal_length selon sepal_width")
    table = page.locator("#explore-table")
    table.locator('.ag-header-cell[col-id="species"] .ag-header-cell-filter-button').click()
    page.locator(".ag-filter input.ag-input-field-input").first.fill("virg")  # (contains, by default)
    expect(table.locator(".ag-paging-row-summary-panel")).to_contain_text("sur 50", timeout=20_000)
    # « Model it »: the species from the four measures, then the dataset in the explorer
    page.keyboard.press("Escape")  # (the column filter closes)
    card = page.locator("#explore-model-target")
    expect(card).to_contain_text("species", timeout=20_000)
    opened_in_the_explorer(page, "Vos données : iris", features=4)
