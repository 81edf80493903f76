"""Extract every translatable string and update the fr and en catalogs (keeps translations).

Run after adding or changing a user-visible string:  python scripts/update_catalogs.py
English is the source language, so the en catalog repeats each msgid; fr needs a translation
for every new entry (the unit tests fail on a missing one).
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [ROOT / "src" / "dashhub", ROOT / "layouts", ROOT / "callbacks"]
KEYWORDS = {"_": None, "gettext": None, "N_": None, "t": None}
METHODS = [("**.py", "python"), ("**/templates/**.html", "jinja2.ext:babel_extract")]
CATALOGS = ROOT / "src" / "dashhub" / "translations"


def extract() -> list[str]:
    found: dict[str, None] = {}
    for source in SOURCES:
        for _file, _line, message, _comments, _context in extract_from_dir(
            source, method_map=METHODS, keywords=KEYWORDS
        ):
            if isinstance(message, str) and message:
                found.setdefault(message)
    return sorted(found)


def update(locale: str, messages: list[str]) -> list[str]:
    path = CATALOGS / locale / "LC_MESSAGES" / "messages.po"
    old = {}
    if path.exists():
        with path.open("rb") as handle:
            old = {m.id: m.string for m in read_po(handle) if m.id}
    catalog = Catalog(locale=locale, project="dashhub", fuzzy=False)
    missing = []
    for message in messages:
        translation = message if locale == "en" else old.get(message, "")
        if not translation:
            missing.append(message)
        catalog.add(message, translation)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        write_po(handle, catalog, width=100, omit_header=False, sort_output=True)
    return missing


if __name__ == "__main__":
    messages = extract()
    for locale in ("en", "fr"):
        missing = update(locale, messages)
        print(f"{locale}: {len(messages)} messages, {len(missing)} without translation")
        for message in missing:
            print(f"  - {message}")
