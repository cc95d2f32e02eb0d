"""Alert formats (企业微信 / 钉钉 robots, e-mail), 钉钉 signing, alerts configuration, failure alerts."""

from __future__ import annotations

import json
import logging
import smtplib
from pathlib import Path
from types import SimpleNamespace

import pytest

from parkops.ops.alerts import (
    CHAT_LIMIT_BYTES,
    LINE_LIMIT,
    Alert,
    dingtalk_payload,
    dingtalk_sign,
    email_html,
    load_alert_settings,
    signed_dingtalk_url,
    truncate,
    wecom_payload,
)
from parkops.ops.config import OperationsConfigError

ALERT = Alert(
    title="【失败】ingest_visit_logs.ingest_files",
    lines=["DAG：ingest_visit_logs", "错误：ValueError: bad\nsecond line"],
    severity="critical",
    link="http://airflow.example.cn/dags/ingest_visit_logs/runs/r1",
)

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
  airflow_base_url: http://airflow.example.cn:8080/
"""


@pytest.fixture
def operations_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Write an operations.yaml and point PARKOPS_OPERATIONS_CONFIG at it; returns the writer."""
    path = tmp_path / "operations.yaml"
    monkeypatch.setenv("PARKOPS_OPERATIONS_CONFIG", str(path))
    monkeypatch.delenv("AIRFLOW__API__BASE_URL", raising=False)
    for name in ("TEST_WECOM_URL", "TEST_DINGTALK_URL", "TEST_DINGTALK_SECRET"):
        monkeypatch.delenv(name, raising=False)

    def write(text: str = CONFIG) -> Path:
        path.write_text(text, encoding="utf-8")
        return path

    return write


def test_wecom_payload_is_a_markdown_message():
    assert wecom_payload(ALERT) == {
        "msgtype": "markdown",
        "markdown": {
            "content": '<font color="warning">**【失败】ingest_visit_logs.ingest_files**</font>\n\n'
            "- DAG：ingest_visit_logs\n"
            "- 错误：ValueError: bad second line\n\n"
            "[查看运行与日志](http://airflow.example.cn/dags/ingest_visit_logs/runs/r1)"
        },
    }
    resolved = Alert(title="【恢复】visits", lines=["已按时加载"], severity="resolved")
    assert (
        wecom_payload(resolved)["markdown"]["content"] == '<font color="info">**【恢复】visits**</font>\n\n- 已按时加载'
    )


def test_dingtalk_payload_is_a_markdown_message_with_a_title():
    assert dingtalk_payload(ALERT) == {
        "msgtype": "markdown",
        "markdown": {
            "title": "【失败】ingest_visit_logs.ingest_files",
            "text": "**【失败】ingest_visit_logs.ingest_files**\n\n"
            "- DAG：ingest_visit_logs\n"
            "- 错误：ValueError: bad second line\n\n"
            "[查看运行与日志](http://airflow.example.cn/dags/ingest_visit_logs/runs/r1)",
        },
    }


def test_dingtalk_signature_matches_the_documented_computation():
    # printf '1700000000000\nSEC0123456789abcdef' | openssl dgst -sha256 -hmac SEC0123456789abcdef -binary | base64
    expected = "TSZbRFUuvaSQaRKUpF970OPCb2/LcQAP3wOvwZIzBZk="
    assert dingtalk_sign("SEC0123456789abcdef", 1700000000000) == expected
    url = signed_dingtalk_url(
        "https://oapi.dingtalk.com/robot/send?access_token=abc", "SEC0123456789abcdef", 1700000000000
    )
    assert url == (
        "https://oapi.dingtalk.com/robot/send?access_token=abc"
        "&timestamp=1700000000000&sign=TSZbRFUuvaSQaRKUpF970OPCb2%2FLcQAP3wOvwZIzBZk%3D"
    )
    assert signed_dingtalk_url("http://127.0.0.1:1/robot", "s", 5).startswith(
        "http://127.0.0.1:1/robot?timestamp=5&sign="
    )


def test_long_lines_are_cut_and_long_alerts_stay_under_the_robot_limit():
    long_error = "错" * 2000
    assert len(truncate(long_error)) == LINE_LIMIT and truncate(long_error).endswith("（已截断）")
    assert truncate("short") == "short"
    alert = Alert(title="【失败】x.y", lines=[f"第{i}行 " + "数据" * 240 for i in range(40)], severity="critical")
    for content in (wecom_payload(alert)["markdown"]["content"], dingtalk_payload(alert)["markdown"]["text"]):
        assert len(content.encode("utf-8")) <= CHAT_LIMIT_BYTES
        assert content.startswith(("**【失败】x.y**", '<font color="warning">**【失败】x.y**'))
        assert "- 第0行" in content and "行未显示，见运行日志" in content
        assert max(len(line) for line in content.splitlines()) <= LINE_LIMIT + 2


def test_email_body_lists_the_lines_escaped():
    alert = Alert(
        title="【失败】a.b", lines=["错误：<script>x</script> & y"], severity="critical", link="http://h/?a=1&b=2"
    )
    body = email_html(alert)
    assert "<li>错误：&lt;script&gt;x&lt;/script&gt; &amp; y</li>" in body
    assert '<a href="http://h/?a=1&amp;b=2">' in body and "<script>" not in body


def test_settings_take_urls_and_secret_from_the_environment(operations_config, monkeypatch):
    source = operations_config()
    monkeypatch.setenv("TEST_WECOM_URL", "http://wecom.example/send?key=k")
    monkeypatch.setenv("TEST_DINGTALK_URL", "http://dingtalk.example/robot/send?access_token=t")
    monkeypatch.setenv("TEST_DINGTALK_SECRET", "SECx")
    settings = load_alert_settings()
    assert settings.source == source
    assert settings.emails == ("data-oncall@zjpark.example.cn",)
    assert settings.sender == "张江高新区数据平台 <parkops@zjpark.example.cn>"
    assert [(hook.kind, hook.url, hook.secret) for hook in settings.webhooks] == [
        ("wecom", "http://wecom.example/send?key=k", None),
        ("dingtalk", "http://dingtalk.example/robot/send?access_token=t", "SECx"),
    ]
    assert settings.airflow_base_url == "http://airflow.example.cn:8080"
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "https://airflow.zjpark.example.cn/")
    assert load_alert_settings().airflow_base_url == "https://airflow.zjpark.example.cn"


def test_a_robot_whose_url_is_unset_is_skipped_and_logged(operations_config, caplog):
    operations_config()
    with caplog.at_level(logging.INFO, logger="parkops.ops.alerts"):
        settings = load_alert_settings()
    assert settings.webhooks == ()
    assert "TEST_WECOM_URL is not set" in caplog.text and "TEST_DINGTALK_URL is not set" in caplog.text


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("kind: wecom", "kind: slack", "alerts.webhooks[0].kind"),
        ("[data-oncall@zjpark.example.cn]", "[not-an-address]", "alerts.email"),
        ('sender: "张江高新区数据平台 <parkops@zjpark.example.cn>"', "sender: 数据平台", "alerts.sender"),
        ("url_env: TEST_WECOM_URL", "url_env: TEST_WECOM_URL\n      secret_env: X", "alerts.webhooks[0].secret_env"),
        ("url_env: TEST_WECOM_URL", "url: http://in.the.file/", "alerts.webhooks[0]: unknown keys ['url']"),
        ("smtp_conn_id: smtp_default", "smtp_conn: smtp_default", "alerts: unknown keys ['smtp_conn']"),
        ("airflow_base_url: http://airflow.example.cn:8080/", "airflow_base_url: airflow", "alerts.airflow_base_url"),
        ("  email: [data-oncall@zjpark.example.cn]\n", "", "alerts: no channel"),
    ],
)
def test_invalid_settings_name_the_file_and_the_key(operations_config, old, new, key):
    assert old in CONFIG
    source = operations_config(CONFIG.replace(old, new))
    with pytest.raises(OperationsConfigError) as raised:
        load_alert_settings()
    assert str(raised.value).startswith(f"{source}: ") and key in str(raised.value)


def test_a_url_variable_without_a_url_is_an_error_that_does_not_show_its_value(operations_config, monkeypatch):
    source = operations_config()
    monkeypatch.setenv("TEST_WECOM_URL", "key=secret-key")
    with pytest.raises(OperationsConfigError) as raised:
        load_alert_settings()
    assert str(source) in str(raised.value) and "TEST_WECOM_URL" in str(raised.value)
    assert "secret-key" not in str(raised.value)


def test_missing_section_names_the_file(operations_config):
    source = operations_config("freshness: {}\n")
    with pytest.raises(OperationsConfigError, match="section 'alerts'") as raised:
        load_alert_settings()
    assert str(source) in str(raised.value)


# --- failure alerts (parkops.ops.notifier) ----------------------------------------------------


def failed_context(exception: BaseException | None) -> dict:
    import pendulum

    ti = SimpleNamespace(
        dag_id="ingest_visit_logs",
        task_id="ingest_files",
        run_id="scheduled__2025-03-10T02:30:00+00:00",
        map_index=-1,
        try_number=3,
        max_tries=2,
    )
    return {
        "ti": ti,
        "run_id": ti.run_id,
        "data_interval_start": pendulum.datetime(2025, 3, 9, 2, 30, tz="UTC"),
        "data_interval_end": pendulum.datetime(2025, 3, 10, 2, 30, tz="UTC"),
        "dag_run": SimpleNamespace(conf={}),
        "exception": exception,
    }


def test_failure_alert_names_dag_task_run_interval_error_and_links_the_log():
    from parkops.ops.notifier import failure_alert

    error = ConnectionError("server closed the connection unexpectedly\nThis probably means\nthe server\nterminated")
    alert = failure_alert(failed_context(error), "http://airflow.example.cn")
    assert alert.title == "【失败】ingest_visit_logs.ingest_files"
    assert alert.severity == "critical"
    assert alert.lines == [
        "DAG：ingest_visit_logs",
        "任务：ingest_files",
        "运行：scheduled__2025-03-10T02:30:00+00:00",
        "数据区间：2025-03-09 10:30 至 2025-03-10 10:30（Asia/Shanghai）",
        "尝试：第 3 次（最多 3 次）",
        "错误：ConnectionError: server closed the connection unexpectedly / This probably means / the server / …",
        "判断：临时错误（连接、锁），重试后仍失败：检查数据库 / 网络后重新运行",
    ]
    assert alert.link == (
        "http://airflow.example.cn/dags/ingest_visit_logs/runs/scheduled__2025-03-10T02%3A30%3A00%2B00%3A00"
        "/tasks/ingest_files?try_number=3"
    )


def test_failure_alert_of_a_data_error_says_it_is_not_retried():
    from airflow.sdk.exceptions import AirflowFailException

    from parkops.ops.notifier import failure_alert

    context = {
        **failed_context(AirflowFailException("2025-W10: data not ready")),
        "data_interval_start": None,
        "dag_run": SimpleNamespace(conf={"period": "2025-W10"}),
    }
    alert = failure_alert(context, "http://h")
    assert alert.lines[3] == '参数：{"period": "2025-W10"}'
    assert "错误：AirflowFailException: 2025-W10: data not ready" in alert.lines
    assert "数据区间：无" in alert.lines
    assert any(line.startswith("判断：数据错误，不重试") for line in alert.lines)


def test_a_held_batch_fails_as_a_data_error_whose_alert_carries_the_batch_details():
    from parkops.dag_factory import quality_gate_outcome
    from parkops.ops.notifier import failure_alert

    details = [
        "2025-03-01：113/548 行被隔离（20.6%，上限 5%），2 个文件",
        "主要失败规则：缺少必需列 90 行",
    ]
    summary = {
        "batches_published": 3,
        "batches_released": 0,
        "held": [{"delivery_date": "2025-03-01", "alert_lines": details}],
    }
    from airflow.sdk.exceptions import AirflowFailException

    with pytest.raises(AirflowFailException, match="质量闸门扣留") as raised:
        quality_gate_outcome("registrations", summary)
    alert = failure_alert(failed_context(raised.value), "http://h")
    assert alert.lines[-2:] == details
    assert any(
        line.startswith("错误：AirflowFailException: 质量闸门扣留 企业登记（registrations）1 个批次：2025-03-01")
        for line in alert.lines
    )
    assert any(line.startswith("判断：数据错误，不重试") for line in alert.lines)
    assert quality_gate_outcome("registrations", {**summary, "held": []}) == {"held": 0, "published": 3}


def test_the_notifier_reads_no_configuration_when_built(monkeypatch, tmp_path):
    from parkops.ops.notifier import FailureNotifier, failure_callbacks

    monkeypatch.setenv("PARKOPS_OPERATIONS_CONFIG", str(tmp_path / "absent.yaml"))
    (notifier,) = failure_callbacks()
    assert isinstance(notifier, FailureNotifier)
    with pytest.raises(OperationsConfigError, match=r"absent\.yaml"):
        notifier.notify(failed_context(None))


def _sqlalchemy_wrapping(driver_error: Exception) -> Exception:
    import sqlalchemy as sa

    return sa.exc.OperationalError("select 1", {}, driver_error)


def test_transient_errors_are_told_from_data_errors():
    import duckdb
    import psycopg
    from airflow.sdk.exceptions import AirflowFailException

    from parkops.ops.notifier import is_transient

    lock = duckdb.IOException('IO Error: Could not set lock on file "/w.duckdb": Conflicting lock is held')
    transient = [
        lock,
        _sqlalchemy_wrapping(lock),
        psycopg.OperationalError("connection to server at 127.0.0.1 failed: Connection refused"),
        ConnectionResetError("connection reset by peer"),
        TimeoutError("timed out"),
        smtplib.SMTPServerDisconnected("Connection unexpectedly closed"),
    ]
    for error in transient:
        assert is_transient(error), error
    wrapped = RuntimeError("ingest failed")
    wrapped.__cause__ = lock
    assert is_transient(wrapped)
    for error in (
        AirflowFailException("stale data"),
        ValueError("bad row"),
        KeyError("column"),
        json.JSONDecodeError("x", "", 0),
    ):
        assert not is_transient(error), error
