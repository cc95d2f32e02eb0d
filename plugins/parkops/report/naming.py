"""Names of a report: its title, the e-mail subject and the Excel attachment's file name.

One place for them so the subject line, the heading of the HTML, the first sheet of the workbook
and the attachment all call the report the same thing.
"""

from __future__ import annotations

import re

from parkops.report.content import ReportContent

REPORT_KIND_NAME = "园区运行"

# Characters Windows, macOS or a mail client would refuse or mangle in an attachment's file name.
_UNSAFE_IN_FILENAME = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


def report_name(content: ReportContent) -> str:
    """``园区运行周报`` or ``园区运行月报``."""
    return f"{REPORT_KIND_NAME}{content.period.report_name}"


def report_title(content: ReportContent) -> str:
    """The heading: ``张江高新区 园区运行周报 · 2025年3月第2周``."""
    return f"{content.zone_name} {report_name(content)} · {content.period.label}"


def subject(content: ReportContent) -> str:
    """The e-mail subject: ``【园区运行周报】2025年3月第2周（3月10日—3月16日）张江高新区``.

    The bracketed report name comes first so the reports group together in a mailbox sorted or
    searched by subject; the span tells which days a 第n周 label means without opening the mail.
    """
    return f"【{report_name(content)}】{content.period.label}（{content.period.span_label}）{content.zone_name}"


def attachment_filename(content: ReportContent) -> str:
    """The workbook's file name: ``张江高新区园区运行周报_2025年3月第2周.xlsx`` or ``…月报_2025年3月.xlsx``."""
    stem = f"{content.zone_name}{report_name(content)}_{content.period.label}"
    return _UNSAFE_IN_FILENAME.sub("_", stem).strip(" .") + ".xlsx"
