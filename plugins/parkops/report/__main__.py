"""Leadership reports from the command line.

python -m parkops.report render --period 2025-W10   # preview a past week or month, not sent
python -m parkops.report resend data/reports/weekly/2025-W10 [--to a@b.cn ...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def render(period_key: str) -> int:
    from parkops.report.tasks import preview_report

    folder, readiness = preview_report(period_key)
    for problem in readiness.problems + readiness.waiting_for:
        print(f"注意（数据未就绪，正式发送会改为告警）：{problem}")
    print(f"{period_key}: {folder / 'report.html'}")
    print(f"   附件与原始邮件: {folder}")
    return 0


def resend(folder: Path, recipients: list[str] | None) -> int:
    import json

    from parkops.report.delivery import load_archived_message, record_send, send_message
    from parkops.report.settings import load_settings

    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    if "previews" in folder.resolve().parts:
        print(f"{folder}: a preview, never sent as is; render and send the period through its DAG", file=sys.stderr)
        return 2
    settings = load_settings()
    message = load_archived_message(folder)
    to = recipients or [
        address.strip() for field in (manifest["to"], manifest["cc"]) if field for address in field.split(",")
    ]
    send_message(message, smtp_conn_id=settings.smtp_conn_id, recipients=to)
    record_send(folder, recipients=to, smtp_conn_id=settings.smtp_conn_id, run_id=None)
    print(f"re-sent {manifest['subject']} to {', '.join(to)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m parkops.report", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    render_parser = commands.add_parser("render", help="render a period into the previews archive, without sending")
    render_parser.add_argument("--period", required=True, action="append", help="2025-W10 or 2025-03 (repeatable)")
    resend_parser = commands.add_parser("resend", help="send an archived report again (its message.eml)")
    resend_parser.add_argument("folder", type=Path)
    resend_parser.add_argument("--to", nargs="+", help="other recipients than the archived ones")
    args = parser.parse_args(argv)
    if args.command == "render":
        return max(render(period) for period in args.period)
    return resend(args.folder, args.to)


if __name__ == "__main__":
    sys.exit(main())
