"""Export slots and disk budget (services.export_files): claims per user and in all, abandoned
claims removed with their partial file."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from dashhub.services.export_files import ExportFiles, ExportLimits, ExportRefused


def files(tmp_path, per_user=2, in_all=3, disk_bytes=10_000) -> ExportFiles:
    return ExportFiles(tmp_path / "exports", 24, 600, ExportLimits(per_user, in_all, disk_bytes))


def test_a_user_holds_at_most_their_share_of_slots(tmp_path):
    exports = files(tmp_path)
    first, _second = exports.claim(1), exports.claim(1)
    with pytest.raises(ExportRefused) as refused:
        exports.claim(1)
    assert refused.value.limit == "per_user" and refused.value.figures == {"limit": 2}
    exports.release(first)
    exports.claim(1)  # a finished export frees its slot


def test_everyone_together_holds_at_most_the_server_slots(tmp_path):
    exports = files(tmp_path)
    exports.claim(1), exports.claim(2), exports.claim(3)
    with pytest.raises(ExportRefused) as refused:
        exports.claim(4)
    assert refused.value.limit == "in_all"


def test_the_disk_budget_counts_finished_and_partial_files(tmp_path):
    exports = files(tmp_path, disk_bytes=1000)
    export_id = exports.claim(1)
    exports.partial_path(export_id).write_bytes(b"x" * 600)
    exports.check_space()  # under the budget
    (exports.directory / ("0" * 32 + ".csv")).write_bytes(b"y" * 600)
    with pytest.raises(ExportRefused) as refused:
        exports.check_space()
    assert refused.value.limit == "disk"
    with pytest.raises(ExportRefused):
        exports.claim(2)


def test_a_claim_whose_process_died_goes_with_its_partial_file(tmp_path):
    exports = files(tmp_path, per_user=1)
    export_id = exports.claim(1)
    exports.partial_path(export_id).write_text("date,region\n")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    claim_path = exports.directory / f"{export_id}.claim"
    claim = json.loads(claim_path.read_text())
    claim_path.write_text(json.dumps({**claim, "pid": dead.pid}))  # as if the job had been killed
    assert exports.remove_abandoned() == 1
    assert not list(exports.directory.glob(f"{export_id}*"))
    exports.claim(1)  # and the user's slot is free again


def test_a_running_claim_is_kept_and_the_lock_file_is_never_expired(tmp_path):
    exports = files(tmp_path)
    export_id = exports.claim(1)
    assert exports.remove_abandoned() == 0
    assert exports.remove_expired() == 0
    assert (exports.directory / f"{export_id}.claim").exists()


def test_decimal_commas_touch_numbers_only():
    from dashhub.exports import decimal_commas

    row = ["2025-12-24", "Produit A", "1234.50", 12.5, 7, "v1.2", "-3.25", "'=1.5"]
    assert decimal_commas(row) == ["2025-12-24", "Produit A", "1234,50", "12,5", 7, "v1.2", "-3,25", "'=1.5"]
