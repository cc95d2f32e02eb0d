"""Failure alerts of every DAG (``on_failure_callback`` in ``parkops.dag_factory.DEFAULT_ARGS``).

Retries and failures: a task fails for good after its retries (``DEFAULT_ARGS``: two, with
exponential backoff), which is what transient errors need (:func:`is_transient`: connection
lost, warehouse file locked by another process, SMTP server gone). Data errors (stale or
invalid data) are raised by the tasks as ``AirflowFailException``: no retry would change them,
so they fail at once. Either way the callback runs once, when the task has failed for good,
and alerts the data engineers on every channel of ``config/operations.yaml``.

Imported when DAG files are parsed: only ``airflow.sdk`` here; the configuration is read and
the alert built in :meth:`FailureNotifier.notify`, when a task has failed.
"""

from __future__ import annotations

import json
import smtplib
from typing import TYPE_CHECKING
from urllib.parse import quote

from airflow.sdk.bases.notifier import BaseNotifier

if TYPE_CHECKING:
    from airflow.sdk.definitions.context import Context

    from parkops.ops.alerts import Alert

ZONE_TIMEZONE = "Asia/Shanghai"
ERROR_LINES = 3
#: (module prefix, class name) of driver errors that mean "the database could not be reached or
#: was busy", matched by name along the class hierarchy so that classifying imports no driver.
TRANSIENT_DRIVER_ERRORS = (
    ("sqlalchemy.exc", "OperationalError"),
    ("psycopg", "OperationalError"),
    ("_duckdb", "IOException"),
    ("duckdb", "IOException"),
    # A landed file the load could not read (moved, I/O error, changed while read).
    ("parkops.pipeline.errors", "SourceFilesUnread"),
)
#: DuckDB admits one writer process per file; another process holding it is worth a retry.
TRANSIENT_MESSAGES = ("Could not set lock on file", "Conflicting lock is held")


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def is_transient(exc: BaseException) -> bool:
    """True for errors a retry may cure: connection lost or refused, timeouts, a database lock held
    by another process. Looks along the exception's causes; ``AirflowFailException`` (a data
    error) is never transient."""
    from airflow.sdk.exceptions import AirflowFailException

    if isinstance(exc, AirflowFailException):
        return False
    for error in _causes(exc):
        if isinstance(error, ConnectionError | TimeoutError | smtplib.SMTPServerDisconnected):
            return True
        for cls in type(error).__mro__:
            if any(
                cls.__module__.startswith(module) and cls.__name__ == name for module, name in TRANSIENT_DRIVER_ERRORS
            ):
                return True
        if any(message in str(error) for message in TRANSIENT_MESSAGES):
            return True
    return False


def error_summary(exc: BaseException | str | None) -> str | None:
    """Exception type and the first lines of its message, on one line."""
    if exc is None:
        return None
    if isinstance(exc, str):
        lines = [line.strip() for line in exc.splitlines() if line.strip()]
        return " / ".join(lines[:ERROR_LINES]) or None
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    message = " / ".join(lines[:ERROR_LINES])
    if len(lines) > ERROR_LINES:
        message += " / …"
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def error_kind(exc: BaseException | str | None) -> str | None:
    from airflow.sdk.exceptions import AirflowFailException

    if not isinstance(exc, BaseException):
        return None
    if isinstance(exc, AirflowFailException):
        return "数据错误，不重试：修正数据或配置后重新运行"
    if is_transient(exc):
        return "临时错误（连接、锁），重试后仍失败：检查数据库 / 网络后重新运行"
    return "未归类的错误：见日志"


def _shanghai(moment) -> str:
    import pendulum

    return pendulum.instance(moment).in_timezone(ZONE_TIMEZONE).strftime("%Y-%m-%d %H:%M")


def run_link(base_url: str, dag_id: str, run_id: str, task_id: str | None = None, try_number: int | None = None) -> str:
    """The run in the Airflow UI, or the task's log in it (the path of ``RuntimeTaskInstance.log_url``)."""
    link = f"{base_url.rstrip('/')}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"
    if task_id:
        link += f"/tasks/{quote(task_id, safe='')}"
        if try_number:
            link += f"?try_number={try_number}"
    return link


def failure_alert(context: Context, airflow_base_url: str) -> Alert:
    """The alert of a failed task, from its callback context."""
    from parkops.ops.alerts import Alert

    ti = context["ti"]
    dag_id, task_id, run_id = ti.dag_id, ti.task_id, context.get("run_id") or ti.run_id
    map_index = getattr(ti, "map_index", -1)
    task_label = f"{task_id}[{map_index}]" if map_index is not None and map_index >= 0 else task_id
    start, end = context.get("data_interval_start"), context.get("data_interval_end")
    interval = f"{_shanghai(start)} 至 {_shanghai(end)}（{ZONE_TIMEZONE}）" if start and end else "无"
    lines = [f"DAG：{dag_id}", f"任务：{task_label}", f"运行：{run_id}"]
    conf = getattr(context.get("dag_run"), "conf", None)
    if conf:
        # A manual run's parameters (delivery_from, period, ...) say more than its data interval.
        lines.append(f"参数：{json.dumps(conf, ensure_ascii=False, sort_keys=True, default=str)}")
    lines.append(f"数据区间：{interval}")
    try_number = getattr(ti, "try_number", None)
    max_tries = getattr(ti, "max_tries", None)
    if try_number:
        lines.append(f"尝试：第 {try_number} 次" + (f"（最多 {max_tries + 1} 次）" if max_tries is not None else ""))
    exception = context.get("exception")
    summary = error_summary(exception)
    if summary:
        lines.append(f"错误：{summary}")
    kind = error_kind(exception)
    if kind:
        lines.append(f"判断：{kind}")
    # Details a task attached for the people on call (the quality gate: counts, failing rules, rows).
    lines.extend(str(line) for line in getattr(exception, "alert_lines", None) or [])
    return Alert(
        title=f"【失败】{dag_id}.{task_label}",
        lines=lines,
        severity="critical",
        link=run_link(airflow_base_url, dag_id, run_id, task_id, try_number),
    )


class FailureNotifier(BaseNotifier):
    """Alerts the data engineers (e-mail, 企业微信, 钉钉) that a task failed for good."""

    def notify(self, context: Context) -> None:
        from parkops.ops.alerts import load_alert_settings, send_alert

        settings = load_alert_settings()
        send_alert(failure_alert(context, settings.airflow_base_url), settings)


def failure_callbacks() -> list:
    """``on_failure_callback`` of every parkops task."""
    return [FailureNotifier()]
