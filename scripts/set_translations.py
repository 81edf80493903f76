"""Fill translations into a catalog from a Python dict: python scripts/set_translations.py fr FILE.py

FILE.py defines FR = {msgid: translation}; entries not in the catalog are reported, not added.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

CATALOGS = Path(__file__).resolve().parent.parent / "src" / "dashhub" / "translations"

if __name__ == "__main__":
    locale, source = sys.argv[1], sys.argv[2]
    translations = runpy.run_path(source)[locale.upper()]
    path = CATALOGS / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    for msgid, text in translations.items():
        if msgid in catalog:
            catalog[msgid].string = text
        else:
            print(f"not in catalog: {msgid}")
    with path.open("wb") as handle:
        write_po(handle, catalog, width=100, sort_output=True)
