"""Personal data stays out of quarantine reasons and of the quality gate's alert, on both engines.

Two held deliveries (tests/support/personal_data.py): visit lines whose needs are free text (a
name, a mobile number, an ID number) instead of a list, and registrations whose 统一社会信用代码
holds an ID number, with 法定代表人 and 联系电话 filled in. The quarantine keeps every value as
received (nothing lost) in its ``value`` column; the reasons and the held batches' alert lines
carry none of them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.personal_data import DELIVERY, FREE_TEXT_NEEDS, ID_NUMBER, PERSONAL, write_personal_landing
from support.pipeline import rows, run_pipeline


@pytest.fixture
def landing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = write_personal_landing(tmp_path / "landing")
    monkeypatch.setenv("PARKOPS_LANDING_DIR", str(root))
    monkeypatch.delenv("PARKOPS_OPERATIONS_CONFIG", raising=False)
    return root


@pytest.mark.parametrize(("feed", "value"), [("visits", FREE_TEXT_NEEDS), ("registrations", ID_NUMBER)])
def test_held_batch_alert_and_reasons_carry_no_personal_value(use_warehouse, landing, feed, value):
    summary = run_pipeline("run-privacy", DELIVERY, DELIVERY, feed=feed, transform=False)
    (held,) = summary["held"]
    assert held["rows_quarantined"] == 6
    quarantined = rows(use_warehouse, "select value, reason from ops.quarantine where feed = :feed", {"feed": feed})
    assert sorted(row["value"] for row in quarantined) == [value] * 6  # kept as received
    for row in quarantined:
        assert not [text for text in PERSONAL if text in row["reason"]], row["reason"]
    lines = held["alert_lines"]
    assert [line for line in lines if line.startswith("样例：")], lines  # the samples are there, masked
    alert = "\n".join(lines)
    assert not [text for text in PERSONAL if text in alert], alert
