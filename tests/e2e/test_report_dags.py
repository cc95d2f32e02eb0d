"""The report DAGs through Airflow, delivering to a real SMTP server on loopback (aiosmtpd).

A DuckDB warehouse holds five weeks of generated feeds (2025-02-03 to 2025-03-09 deliveries).
``send_weekly_report`` and ``send_monthly_report`` run with ``airflow dags test``; the server
receives the messages, which are parsed as a mail client would. A week whose data has not all
arrived makes the weekly DAG fail instead, sending nothing to leadership: the failure alert of
every DAG reaches the data engineers once, by e-mail and on both chat robots (loopback HTTP).
The archived HTML is rendered in headless Chromium with only the project's font; the screenshot
stays in ``var/screenshots/`` (git-ignored) for a person to look at.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from email.message import EmailMessage
from pathlib import Path

import openpyxl
import pytest
from conftest import IN_CI, PROJECT_DIR, copy_duckdb
from PIL import Image
from support.chat_robots import robot_server
from support.pipeline import rows
from support.smtp import smtp_server

from parkops.report import formatting as fmt

pytestmark = pytest.mark.airflow


SCREENSHOTS = PROJECT_DIR / "var" / "screenshots"
CONFIG = """
sender: "张江高新区数据平台 <parkops@zjpark.example.cn>"
smtp_conn_id: smtp_default
zone_name: 张江高新区
archive_dir: {archive}
weekly: {{schedule: "30 8 * * 1", recipients: [leader1@zjpark.example.cn, leader2@zjpark.example.cn],
          cc: [office@zjpark.example.cn], wait_until: "14:00", poke_minutes: 10}}
monthly: {{schedule: "0 9 1 * *", recipients: [leader1@zjpark.example.cn], cutoff_day: 15, wait_until: "14:00",
           poke_minutes: 60}}
"""
# Failure alerts (a report that cannot go out) go to the data engineers of the operations config:
# by e-mail and to the chat robots (企业微信, 钉钉 with signing), whose URLs the test provides.
ROBOT_SIGNING_KEY = "SECe2e0123456789"
OPERATIONS = """
alerts:
  email: [oncall@zjpark.example.cn]
  sender: "张江高新区数据平台 <parkops@zjpark.example.cn>"
  smtp_conn_id: smtp_default
  webhooks:
    - kind: wecom
      url_env: PARKOPS_WECOM_WEBHOOK_URL
    - kind: dingtalk
      url_env: PARKOPS_DINGTALK_WEBHOOK_URL
      secret_env: PARKOPS_DINGTALK_SECRET
  airflow_base_url: http://airflow.zjpark.example.cn
freshness:
  registrations: {due_time: "09:00"}
  visits: {due_time: "10:00"}
  incubator_reports: {due_day: 10, due_time: "23:59"}
"""


@pytest.fixture(scope="module")
def report_env(airflow_home, tmp_path_factory, five_week_landing, five_week_duckdb):
    root = tmp_path_factory.mktemp("reports")
    url = copy_duckdb(five_week_duckdb, root)  # the five weeks, loaded as support.pipeline.load_feeds does
    config = root / "reports.yaml"
    config.write_text(CONFIG.format(archive=root / "archive"), encoding="utf-8")
    operations = root / "operations.yaml"
    operations.write_text(OPERATIONS, encoding="utf-8")
    env = {
        **airflow_home,
        "PARKOPS_WAREHOUSE_URL": url,
        "PARKOPS_LANDING_DIR": str(five_week_landing),
        "PARKOPS_REPORTS_CONFIG": str(config),
        "PARKOPS_OPERATIONS_CONFIG": str(operations),
        "PARKOPS_DINGTALK_SECRET": ROBOT_SIGNING_KEY,
    }
    return env, root / "archive", url


def run_report_dag(
    env: dict[str, str], dag_id: str, period: str, inbox, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    airflow = str(Path(sys.executable).with_name("airflow"))
    command = [airflow, "dags", "test", dag_id, "--conf", json.dumps({"period": period})]
    env = {**env, **inbox.connection_env(), **(extra_env or {})}
    return subprocess.run(command, env=env, capture_output=True, text=True, check=False, cwd=PROJECT_DIR)


def referenced_cids(html: str) -> set[str]:
    return set(re.findall(r'src="cid:([^"]+)"', html))


def inline_images(message: EmailMessage) -> dict[str, bytes]:
    return {
        part["Content-ID"].strip("<>"): part.get_payload(decode=True)
        for part in message.walk()
        if part.get_content_maintype() == "image"
    }


def test_weekly_report_arrives_through_smtp_with_correct_mime(report_env):
    env, archive, url = report_env
    with smtp_server() as inbox:
        completed = run_report_dag(env, "send_weekly_report", "2025-W09", inbox)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert len(inbox.received) == 1
    received = inbox.received[0]
    assert sorted(received.rcpt_tos) == [
        "leader1@zjpark.example.cn",
        "leader2@zjpark.example.cn",
        "office@zjpark.example.cn",
    ]
    assert received.mail_from == "parkops@zjpark.example.cn"
    raw_headers = received.raw.split(b"\r\n\r\n", 1)[0].decode("ascii")  # 8-bit free: all encoded
    assert re.search(r"^Subject: =\?utf-8\?[bq]\?", raw_headers, re.MULTILINE | re.IGNORECASE)
    message = received.message
    assert message["Subject"] == "【园区运行周报】2025年2月第4周（2月24日—3月2日）张江高新区"
    assert message["To"] == "leader1@zjpark.example.cn, leader2@zjpark.example.cn"
    assert message["Cc"] == "office@zjpark.example.cn"
    assert message.get_content_type() == "multipart/mixed"

    html_part = message.get_body(preferencelist=("html",))
    text_part = message.get_body(preferencelist=("plain",))
    html = html_part.get_content()
    assert "日均新增科技企业" in html and "<script" not in html.lower() and "<svg" not in html.lower()
    assert "日均新增科技企业" in text_part.get_content()
    images = inline_images(message)
    assert referenced_cids(html) == set(images) == {"daily-new-tech@parkops", "kpi-attainment@parkops"}
    for png in images.values():
        assert Image.open(io.BytesIO(png)).format == "PNG"

    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename() == "张江高新区园区运行周报_2025年2月第4周.xlsx"
    # RFC 2231 in Content-Disposition (continued over lines when long), the bytes all ASCII.
    assert re.search(rb"filename\*(0\*)?=utf-8''%E5%BC%A0%E6%B1%9F", received.raw)
    assert received.raw.isascii()
    workbook = openpyxl.load_workbook(io.BytesIO(attachment.get_payload(decode=True)))
    progress_sheet = workbook["目标进度"]
    header_row = next(
        index for index, row in enumerate(progress_sheet.iter_rows(values_only=True), 1) if row[0] == "指标代码"
    )
    sheet_rows = {row[0]: row for row in progress_sheet.iter_rows(min_row=header_row + 1, values_only=True) if row[0]}
    marts = {
        row["kpi_code"]: row
        for row in rows(
            url, "select * from mart.kpi_target_progress where as_of_date = :day", {"day": dt.date(2025, 3, 2)}
        )
    }
    assert set(sheet_rows) == set(marts)
    for code, row in marts.items():
        # The cell holds the mart's value as the card shows it (the unit's precision).
        shown = fmt.kpi_shown(row["actual"], row["unit"])
        assert sheet_rows[code][4] == (None if shown is None else pytest.approx(float(shown))), code
    daily_sheet = workbook["每日新增科技企业"]
    sheet_total = sum(
        row[3] for row in daily_sheet.iter_rows(values_only=True) if isinstance(row[0], dt.datetime | dt.date)
    )
    mart_total = rows(
        url,
        "select sum(new_tech_enterprises) as total from mart.daily_new_tech_enterprises "
        "where date between '2025-02-24' and '2025-03-02'",
    )[0]["total"]
    assert sheet_total == mart_total > 0

    folder = archive / "weekly" / "2025-W09"
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert len(manifest["sends"]) == 1 and manifest["subject"] == message["Subject"]
    assert (folder / "message.eml").read_bytes() == received.raw
    assert {path.name for path in (folder / "images").iterdir()} == {"daily_new_tech.png", "kpi_attainment.png"}
    assert "cid:" not in (folder / "report.html").read_text(encoding="utf-8")


def test_monthly_report_says_on_which_basis_it_went_out(report_env):
    env, archive, url = report_env
    with smtp_server() as inbox:
        completed = run_report_dag(env, "send_monthly_report", "2025-02", inbox)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    (received,) = inbox.received
    message = received.message
    assert message["Subject"] == "【园区运行月报】2025年2月（2月1日—2月28日）张江高新区"
    html = message.get_body(preferencelist=("html",)).get_content()
    manifest = json.loads((archive / "monthly" / "2025-02" / "manifest.json").read_text(encoding="utf-8"))
    # The run's clock is far past 15 March: sent on the cut-off basis unless every incubator reported.
    assert manifest["incubator_basis"] in {"complete", "cutoff"}
    assert ("截止日" in html) == (manifest["incubator_basis"] == "cutoff")
    (attachment,) = list(message.iter_attachments())
    workbook = openpyxl.load_workbook(io.BytesIO(attachment.get_payload(decode=True)))
    incubator_rows = [
        row for row in workbook["孵化器月报"].iter_rows(values_only=True) if row[0] and str(row[0]).startswith("FH")
    ]
    reported = rows(url, "select count(*) as n from mart.incubator_monthly where report_month = '2025-02-01'")[0]["n"]
    assert len(incubator_rows) == reported > 0


def test_stale_week_sends_no_report_and_one_alert_on_every_channel(report_env):
    from parkops.ops.alerts import dingtalk_sign

    env, archive, _ = report_env
    with smtp_server() as inbox, robot_server() as robots:
        robot_urls = {
            "PARKOPS_WECOM_WEBHOOK_URL": robots.url("/wecom?key=k"),
            "PARKOPS_DINGTALK_WEBHOOK_URL": robots.url("/dingtalk?access_token=t"),
        }
        # 2025-W10 ends on 9 March: its data needs the deliveries of 10 March, which never came.
        completed = run_report_dag(env, "send_weekly_report", "2025-W10", inbox, robot_urls)
    assert completed.returncode != 0
    assert not (archive / "weekly" / "2025-W10").exists()
    # One alert per channel (a retry would have sent a second): the failure alert of every DAG.
    title = "【失败】send_weekly_report.wait_for_data"
    facts = ["DAG：send_weekly_report", "任务：wait_for_data", "运行：manual__", '参数：{"period": "2025-W10"}']
    facts += ["2025-W10（2025年3月第1周）未发送", "本期数据需要 2025-03-10 的交付", "数据错误，不重试"]
    assert len(inbox.received) == 1, [message.message["Subject"] for message in inbox.received]
    alert = inbox.received[0]
    assert alert.rcpt_tos == ["oncall@zjpark.example.cn"]
    assert alert.message["Subject"] == title
    body = alert.message.get_body(preferencelist=("html",)).get_content()
    assert all(html.escape(fact) in body for fact in facts), body
    assert 'href="http://airflow.zjpark.example.cn/dags/send_weekly_report/runs/manual__' in body
    (wecom,) = robots.at("/wecom")
    content = wecom.payload["markdown"]["content"]
    assert title in content and all(fact in content for fact in facts), content
    (dingtalk,) = robots.at("/dingtalk")
    assert dingtalk.payload["markdown"]["title"] == title
    assert all(fact in dingtalk.payload["markdown"]["text"] for fact in facts)
    (timestamp,), (sign,) = dingtalk.query["timestamp"], dingtalk.query["sign"]
    assert sign == dingtalk_sign(ROBOT_SIGNING_KEY, int(timestamp))


def test_a_held_batch_fails_its_ingest_run_with_one_alert_on_every_channel(report_env, tmp_path):
    """The quality gate through Airflow: registrations 2025-03-01 of the sample is held (a file
    refused whole); the run fails at check_quality_gate, once, without retrying, and the alert
    carries the batch's counts, top failing rules and sample rows."""
    env, _, _ = report_env
    airflow = str(Path(sys.executable).with_name("airflow"))
    conf = {"delivery_from": "2025-03-01", "delivery_to": "2025-03-01"}
    command = [airflow, "dags", "test", "ingest_enterprise_registrations", "--conf", json.dumps(conf)]
    fresh = {"PARKOPS_WAREHOUSE_URL": f"duckdb:///{tmp_path / 'warehouse.duckdb'}"}
    with smtp_server() as inbox, robot_server() as robots:
        robot_urls = {
            "PARKOPS_WECOM_WEBHOOK_URL": robots.url("/wecom?key=k"),
            "PARKOPS_DINGTALK_WEBHOOK_URL": robots.url("/dingtalk?access_token=t"),
        }
        completed = subprocess.run(
            command,
            env={**env, **inbox.connection_env(), **robot_urls, **fresh},
            capture_output=True,
            text=True,
            check=False,
            cwd=PROJECT_DIR,
        )
    assert completed.returncode != 0
    title = "【失败】ingest_enterprise_registrations.check_quality_gate"
    facts = [
        "质量闸门扣留 企业登记（registrations）1 个批次：2025-03-01",
        "数据错误，不重试",
        "2025-03-01：113/548 行被隔离（20.6%，上限 5%），2 个文件，整批扣留，未进入 core / mart",
        "主要失败规则：缺少必需列",  # the rule's Chinese label, its id only in ops.quarantine
        "整个文件被拒：registrations/2025-03-01/",
        "样例：registrations/2025-03-01/",
    ]
    assert [message.message["Subject"] for message in inbox.received] == [title]
    body = inbox.received[0].message.get_body(preferencelist=("html",)).get_content()
    assert all(html.escape(fact) in body for fact in facts), body
    (wecom,) = robots.at("/wecom")
    assert all(fact in wecom.payload["markdown"]["content"] for fact in facts)
    (dingtalk,) = robots.at("/dingtalk")
    assert dingtalk.payload["markdown"]["title"] == title
    assert all(fact in dingtalk.payload["markdown"]["text"] for fact in facts)
    for text in (body, wecom.payload["markdown"]["content"], dingtalk.payload["markdown"]["text"]):
        assert "missing_required_column" not in text
    url = fresh["PARKOPS_WAREHOUSE_URL"]
    assert [row["delivery_date"].isoformat() for row in rows(url, "select delivery_date from ops.held_batches")] == [
        "2025-03-01"
    ]


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def test_archived_report_renders_in_headless_chromium_with_the_projects_font(report_env):
    from parkops.report.fonts import write_fontconfig

    env, archive, _ = report_env
    browser = chromium()
    if browser is None:
        message = "Debian's chromium is not installed (make test installs it: `make chromium`)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(f"!!! SKIPPED: {message}")
    folder = archive / "weekly" / "2025-W09"
    if not (folder / "report.html").exists():
        with smtp_server() as inbox:
            assert run_report_dag(env, "send_weekly_report", "2025-W09", inbox).returncode == 0
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        fontconfig = write_fontconfig(Path(scratch) / "fontconfig")
        for width, height in ((375, 6500), (800, 4500)):
            shot = SCREENSHOTS / f"report-weekly-{width}.png"
            shot.unlink(missing_ok=True)
            command = [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                f"--user-data-dir={Path(scratch) / f'profile-{width}'}",
                f"--window-size={width},{height}",
                f"--screenshot={shot}",
                (folder / "report.html").as_uri(),
            ]
            completed = subprocess.run(
                command,
                env={**os.environ, "FONTCONFIG_FILE": str(fontconfig)},
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert completed.returncode == 0 and shot.exists(), completed.stderr[-2000:]
            image = Image.open(shot).convert("RGB")
            assert image.size == (width, height)
            colours = image.resize((width // 5, height // 5)).getcolors(maxcolors=1_000_000)
            assert colours is not None and len(colours) > 50, "the screenshot looks blank"
