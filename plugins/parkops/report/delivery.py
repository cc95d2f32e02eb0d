"""Render a report, build its MIME message, archive it, send it through the SMTP provider.

The message: ``multipart/mixed`` of (``multipart/alternative`` of a plain-text summary and the
HTML, the HTML ``multipart/related`` with its charts inline by Content-ID) and the Excel
attachment. Built with :class:`email.message.EmailMessage` under the SMTP policy, so the Chinese
subject is RFC 2047 encoded and the attachment's Chinese file name RFC 2231 encoded.

It is sent through the SMTP provider's :class:`SmtpHook` and the ``smtp_default`` connection
(host, port, login, TLS from Airflow), but not with ``SmtpHook.send_email_smtp``: that builds its
own ``multipart/mixed`` with every file an attachment (images would arrive as attachments, not
inline) and no text alternative. :class:`MimeSmtpHook` sends our message over the hook's
authenticated client instead.

Archive: ``<archive_dir>/<weekly|monthly>/<period>/`` holds ``message.eml`` (the bytes sent),
``report.html`` (the same HTML with the charts linked from ``images/``, to open in a browser),
``images/*.png``, the ``.xlsx`` attachment and ``manifest.json`` (what, to whom, every send).
Previews (``make report``) go to ``<archive_dir>/previews/...`` and are never sent.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from parkops.report.content import ChartImage, ReportContent

log = logging.getLogger(__name__)

XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@dataclass(frozen=True)
class RenderedReport:
    content: ReportContent
    subject: str
    html: str
    plain_text: str
    charts: list[ChartImage]
    workbook: bytes
    attachment_name: str


def render_report(content: ReportContent) -> RenderedReport:
    from parkops.report import charts, html, naming, text, workbook

    images = [charts.daily_new_tech_chart(content.daily, content.period), charts.kpi_attainment_chart(content.kpis)]
    return RenderedReport(
        content=content,
        subject=naming.subject(content),
        html=html.render_html(content, images),
        plain_text=text.render_text(content),
        charts=images,
        workbook=workbook.build_workbook(content),
        attachment_name=naming.attachment_filename(content),
    )


def build_message(
    report: RenderedReport, *, sender: str, recipients: list[str], cc: list[str] | None = None
) -> EmailMessage:
    message = EmailMessage(policy=policy.SMTP)
    message["Subject"] = report.subject
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    if cc:
        message["Cc"] = ", ".join(cc)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(idstring=report.content.period.key, domain="parkops")
    message.set_content(report.plain_text, subtype="plain", charset="utf-8")
    message.add_alternative(report.html, subtype="html", charset="utf-8")
    html_part = message.get_payload()[1]
    for chart in report.charts:
        html_part.add_related(
            chart.png,
            maintype="image",
            subtype="png",
            cid=f"<{chart.cid}>",
            filename=chart.filename,
            disposition="inline",
        )
    message.add_attachment(
        report.workbook, maintype=XLSX_TYPE[0], subtype=XLSX_TYPE[1], filename=report.attachment_name
    )
    return message


def browser_html(report: RenderedReport) -> str:
    """The HTML as sent, with each ``cid:`` image pointing at its archived file instead."""
    text = report.html
    for chart in report.charts:
        text = text.replace(f'src="cid:{chart.cid}"', f'src="images/{chart.filename}"')
    return text


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def archive_report(report: RenderedReport, message: EmailMessage, folder: Path) -> Path:
    """Write the report into ``folder`` (replacing an earlier rendering; the sends are kept)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "images").mkdir(exist_ok=True)
    eml = message.as_bytes()
    files = {
        "message.eml": eml,
        "report.html": browser_html(report).encode("utf-8"),
        report.attachment_name: report.workbook,
        **{f"images/{chart.filename}": chart.png for chart in report.charts},
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    manifest_path = folder / "manifest.json"
    previous_sends = json.loads(manifest_path.read_text(encoding="utf-8"))["sends"] if manifest_path.exists() else []
    content = report.content
    manifest = {
        "period": content.period.key,
        "kind": content.period.kind,
        "label": content.period.label,
        "start": content.period.start.isoformat(),
        "end": content.period.end.isoformat(),
        "subject": report.subject,
        "from": message["From"],
        "to": message["To"],
        "cc": message["Cc"],
        "message_id": message["Message-ID"],
        "generated_at": content.generated_at.isoformat(timespec="seconds"),
        "incubator_basis": content.incubators.basis,
        "files": {name: {"bytes": len(data), "sha256": _sha256(data)} for name, data in sorted(files.items())},
        "sends": previous_sends,
    }
    manifest_path.write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    return folder


def record_send(folder: Path, *, recipients: list[str], smtp_conn_id: str, run_id: str | None) -> None:
    manifest_path = folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["sends"].append(
        {
            "sent_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "recipients": recipients,
            "smtp_conn_id": smtp_conn_id,
            "run_id": run_id,
            "message_sha256": _sha256((folder / "message.eml").read_bytes()),
        }
    )
    manifest_path.write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")


def _mime_smtp_hook_class() -> type:
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    class MimeSmtpHook(SmtpHook):
        """The provider's hook, sending a message built elsewhere over its authenticated client."""

        def send_mime(self, message: EmailMessage, recipients: list[str]) -> None:
            if self._smtp_client is None:
                raise RuntimeError("the SMTP client is not connected: use the hook as a context manager")
            refused = self._smtp_client.send_message(message, to_addrs=recipients)
            if refused:
                raise RuntimeError(f"the SMTP server refused some recipients: {refused}")

    return MimeSmtpHook


def send_message(message: EmailMessage, *, smtp_conn_id: str, recipients: list[str]) -> None:
    """Send through the Airflow connection ``smtp_conn_id`` (SMTP provider)."""
    hook_class = _mime_smtp_hook_class()
    with hook_class(smtp_conn_id=smtp_conn_id) as hook:
        hook.send_mime(message, recipients)
    log.info("sent %r to %s via %s", str(message["Subject"]), ", ".join(recipients), smtp_conn_id)


def load_archived_message(folder: Path) -> EmailMessage:
    from email import message_from_bytes

    return message_from_bytes((folder / "message.eml").read_bytes(), _class=EmailMessage, policy=policy.SMTP)
