"""The reports say which day the park ranking describes: the evaluation's own as-of day."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace

from support.report_content import sample_content

from parkops.report.html import render_html
from parkops.report.text import render_text


def test_ranking_note_names_the_evaluation_day_not_the_period_end() -> None:
    # A preview of 2025-W11 (3月10日—3月16日) whose data ends on 3月14日: the evaluation is that day's.
    content = sample_content("weekly")
    content = replace(content, parks=replace(content.parks, as_of=dt.date(2025, 3, 14)))
    text = re.sub(r"<[^>]+>", "", render_html(content, []))
    assert "2025年度累计综合得分，截至3月14日" in text
    assert "截至3月16日" not in text
    assert "三、园区考核（2025年，截至3月14日）" in render_text(content)
