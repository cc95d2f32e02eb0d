"""Alerts delivered for real: an SMTP server (aiosmtpd) and 企业微信 / 钉钉 robots (http.server) on loopback."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.chat_robots import robot_server
from support.smtp import free_port, smtp_server

from parkops.ops.alerts import Alert, AlertDeliveryError, dingtalk_sign, send_alert

CONFIG = """
alerts:
  email: [data-oncall@zjpark.example.cn]
  sender: "张江高新区数据平台 <parkops@zjpark.example.cn>"
  smtp_conn_id: smtp_default
  webhooks:
    - kind: wecom
      url_env: TEST_WECOM_URL
    - kind: dingtalk
      url_env: TEST_DINGTALK_URL
      secret_env: TEST_DINGTALK_SECRET
  airflow_base_url: http://localhost:8080
"""
ROBOT_SIGNING_KEY = "SECtest0123456789"
ALERT = Alert(
    title="【失败】ingest_visit_logs.ingest_files",
    lines=[
        "DAG：ingest_visit_logs",
        "任务：ingest_files",
        "错误：AirflowFailException: 2025-03-10 交付缺少走访记录 <visits>",
    ],
    severity="critical",
    link="http://localhost:8080/dags/ingest_visit_logs/runs/manual__1",
)


@pytest.fixture
def channels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """(inbox, robots) with operations.yaml and the environment pointing at them."""
    config = tmp_path / "operations.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    monkeypatch.setenv("PARKOPS_OPERATIONS_CONFIG", str(config))
    with smtp_server() as inbox, robot_server() as robots:
        for name, value in inbox.connection_env().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("TEST_WECOM_URL", robots.url("/wecom?key=wecom-key"))
        monkeypatch.setenv("TEST_DINGTALK_URL", robots.url("/dingtalk?access_token=ding-token"))
        monkeypatch.setenv("TEST_DINGTALK_SECRET", ROBOT_SIGNING_KEY)
        yield inbox, robots


def test_every_channel_gets_the_alert_once(channels):
    inbox, robots = channels
    assert send_alert(ALERT) == ["email", "wecom", "dingtalk"]

    (mail,) = inbox.received
    assert mail.rcpt_tos == ["data-oncall@zjpark.example.cn"]
    assert mail.mail_from == "parkops@zjpark.example.cn"
    assert mail.message["Subject"] == ALERT.title
    body = mail.message.get_body(preferencelist=("html",)).get_content()
    assert "<li>DAG：ingest_visit_logs</li>" in body and "交付缺少走访记录 &lt;visits&gt;" in body
    assert ALERT.link in body

    (wecom,) = robots.at("/wecom")
    assert wecom.query == {"key": ["wecom-key"]}
    assert wecom.headers["Content-Type"].startswith("application/json")
    assert wecom.payload["msgtype"] == "markdown"
    content = wecom.payload["markdown"]["content"]
    assert ALERT.title in content and all(f"- {line}" in content for line in ALERT.lines)

    (dingtalk,) = robots.at("/dingtalk")
    assert dingtalk.payload["msgtype"] == "markdown"
    assert dingtalk.payload["markdown"]["title"] == ALERT.title
    assert all(f"- {line}" in dingtalk.payload["markdown"]["text"] for line in ALERT.lines)
    assert dingtalk.query["access_token"] == ["ding-token"]
    (timestamp,), (sign,) = dingtalk.query["timestamp"], dingtalk.query["sign"]
    assert sign == dingtalk_sign(ROBOT_SIGNING_KEY, int(timestamp))  # parse_qs has undone the URL encoding


def test_a_refusing_robot_is_named_and_the_others_still_get_the_alert(channels):
    inbox, robots = channels
    robots.replies["/dingtalk"] = {"errcode": 310000, "errmsg": "sign not match"}
    with pytest.raises(AlertDeliveryError, match="dingtalk") as raised:
        send_alert(ALERT)
    assert raised.value.delivered == ["email", "wecom"]
    assert list(raised.value.failures) == ["dingtalk"] and "310000" in raised.value.failures["dingtalk"]
    assert len(inbox.received) == 1 and inbox.received[0].message["Subject"] == ALERT.title
    assert len(robots.at("/wecom")) == 1 and len(robots.at("/dingtalk")) == 1


def test_mail_server_down_still_reaches_the_robots_and_says_so(channels, monkeypatch):
    _, robots = channels
    monkeypatch.setenv(
        "AIRFLOW_CONN_SMTP_DEFAULT",
        f'{{"conn_type": "smtp", "host": "127.0.0.1", "port": {free_port()}, '
        '"extra": {"disable_ssl": true, "disable_tls": true, "timeout": 5, "retry_limit": 1}}',
    )
    monkeypatch.setenv("TEST_WECOM_URL", f"http://127.0.0.1:{free_port()}/wecom")  # nothing listens there
    with pytest.raises(AlertDeliveryError) as raised:
        send_alert(ALERT)
    assert raised.value.delivered == ["dingtalk"]
    assert set(raised.value.failures) == {"email", "wecom"}
    assert "wecom robot unreachable" in raised.value.failures["wecom"]
    assert "wecom-key" not in str(raised.value)  # the robot's key is a credential
    assert len(robots.at("/dingtalk")) == 1


def test_no_channel_receives_a_mobile_or_id_number_of_any_alert(channels):
    """A failure alert whose error quotes a row (a task's exception) reaches no channel with the
    row's mobile number or ID number; the rest of the line stays readable."""
    inbox, robots = channels
    leaky = Alert(
        title="【失败】ingest_enterprise_registrations.ingest_files",
        lines=["错误：ValueError: row 12: 联系电话 13912345678, 证件 31011519850302123X not accepted"],
        severity="critical",
        link="http://localhost:8080/dags/ingest_enterprise_registrations/runs/manual__1",
    )
    send_alert(leaky)
    (mail,) = inbox.received
    received = [
        mail.message.get_body(preferencelist=("html",)).get_content(),
        robots.at("/wecom")[0].payload["markdown"]["content"],
        robots.at("/dingtalk")[0].payload["markdown"]["text"],
    ]
    for text in received:
        assert "13912345678" not in text and "31011519850302123X" not in text, text
        assert "row 12: 联系电话 ＊＊＊, 证件 ＊＊＊ not accepted" in text, text
