"""Alerts for the data engineers: e-mail (SMTP provider) and group chat robots (企业微信 / 钉钉).

Where alerts go is the ``alerts`` section of ``config/operations.yaml`` (one file per
environment, ``PARKOPS_OPERATIONS_CONFIG``), read when an alert is sent, never at import time.
Robot URLs and the 钉钉 signing secret are credentials: the file names the environment
variables that hold them, and they never appear in logs or error messages.

:func:`send_alert` masks mobile and ID numbers in every line (``parkops.quality.personal_data``),
tries every channel, so one that is down does not silence the others, and
then raises :class:`AlertDeliveryError` naming the channels that failed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import logging
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, replace
from email.utils import parseaddr
from pathlib import Path
from typing import Literal

from parkops.ops.config import OperationsConfigError, load_section
from parkops.quality.personal_data import mask

log = logging.getLogger(__name__)

Severity = Literal["critical", "warning", "resolved"]
WebhookKind = Literal["wecom", "dingtalk"]
WEBHOOK_KINDS: tuple[WebhookKind, ...] = ("wecom", "dingtalk")
ALERT_KEYS = {"email", "sender", "smtp_conn_id", "webhooks", "airflow_base_url"}
WEBHOOK_KEYS = {"kind", "url_env", "secret_env"}

#: A line of an alert (an error summary, typically) is cut to this many characters.
LINE_LIMIT = 500
#: 企业微信 takes at most 4096 bytes (UTF-8) of markdown; 钉钉 takes more, the same cap keeps both readable.
CHAT_LIMIT_BYTES = 4000
WEBHOOK_TIMEOUT_SECONDS = 10

SEVERITY_LABELS = {"critical": "严重", "warning": "警告", "resolved": "已恢复"}
#: 企业微信 markdown knows three colours: info (green), comment (grey), warning (orange-red).
WECOM_COLOURS = {"critical": "warning", "warning": "warning", "resolved": "info"}
EMAIL_COLOURS = {"critical": "#c0392b", "warning": "#d35400", "resolved": "#1e8449"}

_ADDRESS = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


@dataclass(frozen=True)
class Alert:
    """What to tell: ``title`` short Chinese (e.g. 【失败】ingest_visit_logs.ingest_files), ``lines`` the
    facts, one each, ``link`` the run or log in the Airflow UI."""

    title: str
    lines: list[str]
    severity: Severity
    link: str | None = None


@dataclass(frozen=True)
class Webhook:
    kind: WebhookKind
    #: The environment variable the URL came from: names the robot in logs without its key.
    url_env: str
    url: str
    secret: str | None = None


@dataclass(frozen=True)
class AlertSettings:
    source: Path
    emails: tuple[str, ...]
    sender: str
    smtp_conn_id: str
    webhooks: tuple[Webhook, ...]
    airflow_base_url: str


class AlertDeliveryError(RuntimeError):
    """At least one channel did not take the alert; ``delivered`` and ``failures`` (channel -> why) say which."""

    def __init__(self, delivered: list[str], failures: dict[str, str]):
        self.delivered = delivered
        self.failures = failures
        summary = "; ".join(f"{channel}: {reason}" for channel, reason in failures.items())
        super().__init__(
            f"alert not delivered to {', '.join(failures)} ({summary}); delivered to {', '.join(delivered) or 'none'}"
        )


class WebhookError(RuntimeError):
    """A chat robot refused the message or could not be reached; the message names the channel."""


# --- configuration ---------------------------------------------------------------------------


def _emails(path: Path, value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise OperationsConfigError(f"{path}: alerts.email must be a list of e-mail addresses")
    invalid = [item for item in value if not _ADDRESS.match(item.strip())]
    if invalid:
        raise OperationsConfigError(f"{path}: alerts.email: not an e-mail address: {', '.join(invalid)}")
    return tuple(item.strip() for item in value)


def _webhook(path: Path, index: int, entry: object) -> Webhook | None:
    """The robot of ``alerts.webhooks[index]``; None (logged) when its URL variable is unset."""
    key = f"alerts.webhooks[{index}]"
    if not isinstance(entry, dict):
        raise OperationsConfigError(f"{path}: {key} must be a mapping with kind and url_env")
    unknown = sorted(set(entry) - WEBHOOK_KEYS)
    if unknown:
        raise OperationsConfigError(f"{path}: {key}: unknown keys {unknown} (known: {sorted(WEBHOOK_KEYS)})")
    kind = entry.get("kind")
    if kind not in WEBHOOK_KINDS:
        raise OperationsConfigError(f"{path}: {key}.kind must be one of {list(WEBHOOK_KINDS)}, got {kind!r}")
    url_env = entry.get("url_env")
    if not isinstance(url_env, str) or not url_env.strip():
        raise OperationsConfigError(f"{path}: {key}.url_env must name the environment variable holding the URL")
    secret_env = entry.get("secret_env")
    if secret_env is not None and (kind != "dingtalk" or not isinstance(secret_env, str) or not secret_env.strip()):
        raise OperationsConfigError(
            f"{path}: {key}.secret_env names the variable of a 钉钉 robot's signing secret (kind dingtalk only)"
        )
    url = os.environ.get(url_env, "").strip()
    if not url:
        log.info("%s robot skipped: %s is not set (%s: %s)", kind, url_env, path, key)
        return None
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        # The value is a credential: name the variable, not what it holds.
        raise OperationsConfigError(f"{path}: {key}: {url_env} must hold an http(s) URL")
    secret = None
    if secret_env:
        secret = os.environ.get(secret_env, "").strip() or None
        if secret is None:
            log.warning("%s robot: %s is not set, sending unsigned (%s: %s)", kind, secret_env, path, key)
    return Webhook(kind=kind, url_env=url_env, url=url, secret=secret)


def load_alert_settings() -> AlertSettings:
    """The ``alerts`` section, validated; an invalid value is an error naming the file and the key."""
    path, section = load_section("alerts")
    unknown = sorted(set(section) - ALERT_KEYS)
    if unknown:
        raise OperationsConfigError(f"{path}: alerts: unknown keys {unknown} (known: {sorted(ALERT_KEYS)})")
    emails = _emails(path, section.get("email"))
    sender = section.get("sender")
    if not isinstance(sender, str) or not _ADDRESS.match(parseaddr(sender)[1]):
        raise OperationsConfigError(f"{path}: alerts.sender must be an address, optionally with a name: 名称 <a@b.cn>")
    smtp_conn_id = section.get("smtp_conn_id") or "smtp_default"
    if not isinstance(smtp_conn_id, str):
        raise OperationsConfigError(f"{path}: alerts.smtp_conn_id must be the id of an Airflow connection")
    entries = section.get("webhooks") or []
    if not isinstance(entries, list):
        raise OperationsConfigError(f"{path}: alerts.webhooks must be a list of robots (kind, url_env)")
    webhooks = tuple(hook for index, entry in enumerate(entries) if (hook := _webhook(path, index, entry)))
    base_url = os.environ.get("AIRFLOW__API__BASE_URL") or section.get("airflow_base_url")
    if not isinstance(base_url, str) or urllib.parse.urlsplit(base_url).scheme not in ("http", "https"):
        raise OperationsConfigError(f"{path}: alerts.airflow_base_url must be the Airflow UI's http(s) URL")
    if not emails and not webhooks:
        raise OperationsConfigError(
            f"{path}: alerts: no channel: alerts.email is empty and no robot of alerts.webhooks has its URL set"
        )
    return AlertSettings(
        source=path,
        emails=emails,
        sender=sender,
        smtp_conn_id=smtp_conn_id,
        webhooks=webhooks,
        airflow_base_url=base_url.rstrip("/"),
    )


# --- message formats -------------------------------------------------------------------------


def truncate(text: str, limit: int = LINE_LIMIT) -> str:
    """``text`` cut to ``limit`` characters, the cut marked."""
    marker = "…（已截断）"
    return text if len(text) <= limit else text[: limit - len(marker)] + marker


def _chat_line(line: str) -> str:
    # A newline would end the list item in the middle of a fact (multi-line error messages).
    return truncate(" ".join(line.split()))


def chat_markdown(alert: Alert, *, title_markup: str | None = None, limit_bytes: int = CHAT_LIMIT_BYTES) -> str:
    """Title bold, the lines as list items, the link last; lines dropped from the end (and counted)
    when the whole would exceed ``limit_bytes`` of UTF-8."""
    title = title_markup or f"**{alert.title}**"
    items = [f"- {_chat_line(line)}" for line in alert.lines]
    footer = f"\n\n[查看运行与日志]({alert.link})" if alert.link else ""

    def render(shown: list[str], hidden: int) -> str:
        more = [f"- ……另有 {hidden} 行未显示，见运行日志"] if hidden else []
        return f"{title}\n\n" + "\n".join(shown + more) + footer

    shown = items
    text = render(shown, 0)
    while len(text.encode("utf-8")) > limit_bytes and shown:
        shown = shown[:-1]
        text = render(shown, len(items) - len(shown))
    return text


def wecom_payload(alert: Alert) -> dict:
    """企业微信 group robot, markdown message."""
    colour = WECOM_COLOURS[alert.severity]
    title = f'<font color="{colour}">**{alert.title}**</font>'
    return {"msgtype": "markdown", "markdown": {"content": chat_markdown(alert, title_markup=title)}}


def dingtalk_payload(alert: Alert) -> dict:
    """钉钉 group robot, markdown message (``title`` is what the notification preview shows)."""
    return {"msgtype": "markdown", "markdown": {"title": truncate(alert.title, 100), "text": chat_markdown(alert)}}


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """钉钉 加签: base64 of HMAC-SHA256 over ``"{timestamp}\\n{secret}"`` keyed with the secret."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def signed_dingtalk_url(url: str, secret: str, timestamp_ms: int | None = None) -> str:
    """``url`` with ``timestamp`` (ms) and ``sign`` (URL-encoded) appended as query parameters."""
    timestamp_ms = timestamp_ms if timestamp_ms is not None else round(time.time() * 1000)
    query = urllib.parse.urlencode({"timestamp": timestamp_ms, "sign": dingtalk_sign(secret, timestamp_ms)})
    return f"{url}{'&' if urllib.parse.urlsplit(url).query else '?'}{query}"


def email_html(alert: Alert, *, source: Path | None = None) -> str:
    """The e-mail body: the title, the lines as a list, the link; everything escaped."""
    colour = EMAIL_COLOURS[alert.severity]
    items = "".join(f"<li>{html.escape(truncate(line))}</li>" for line in alert.lines)
    parts = [
        f'<p style="color:{colour};font-weight:bold">{html.escape(alert.title)}'
        f"（{SEVERITY_LABELS[alert.severity]}）</p>",
        f"<ul>{items}</ul>",
    ]
    if alert.link:
        link = html.escape(alert.link, quote=True)
        parts.append(f'<p>运行与日志：<a href="{link}">{link}</a></p>')
    if source is not None:
        parts.append(f'<p style="color:#888">告警接收人在 {html.escape(str(source))} 的 alerts 一节配置。</p>')
    return "".join(parts)


# --- delivery --------------------------------------------------------------------------------


def post_json(channel: str, url: str, payload: dict) -> None:
    """POST ``payload`` to a robot and check its reply (``errcode`` 0); else WebhookError naming ``channel``."""
    request = urllib.request.Request(
        url,
        data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
        headers={"Content-Type": "application/json; charset=utf-8"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:
            body = response.read()
    except urllib.error.HTTPError as error:
        raise WebhookError(f"{channel} robot answered HTTP {error.code} {error.reason}") from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        # str(error) never holds the URL (which holds the robot's key).
        raise WebhookError(f"{channel} robot unreachable: {getattr(error, 'reason', error)}") from None
    try:
        reply = json.loads(body)
    except ValueError:
        raise WebhookError(f"{channel} robot replied with something other than JSON: {body[:200]!r}") from None
    if not isinstance(reply, dict) or reply.get("errcode") != 0:
        errcode = reply.get("errcode") if isinstance(reply, dict) else None
        errmsg = reply.get("errmsg") if isinstance(reply, dict) else reply
        raise WebhookError(f"{channel} robot refused the alert: errcode {errcode}, errmsg {errmsg!r}")


def send_email(alert: Alert, settings: AlertSettings) -> None:
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    with SmtpHook(smtp_conn_id=settings.smtp_conn_id) as hook:
        hook.send_email_smtp(
            to=list(settings.emails),
            subject=alert.title,
            html_content=email_html(alert, source=settings.source),
            from_email=settings.sender,
        )


def send_webhook(channel: str, webhook: Webhook, alert: Alert) -> None:
    if webhook.kind == "wecom":
        post_json(channel, webhook.url, wecom_payload(alert))
    else:
        url = signed_dingtalk_url(webhook.url, webhook.secret) if webhook.secret else webhook.url
        post_json(channel, url, dingtalk_payload(alert))


def channels(settings: AlertSettings, alert: Alert) -> list[tuple[str, Callable[[], None]]]:
    """(channel name, deliver) for every configured channel; a second robot of a kind is ``wecom#2``."""
    deliveries: list[tuple[str, Callable[[], None]]] = []
    if settings.emails:
        deliveries.append(("email", lambda: send_email(alert, settings)))
    seen: dict[str, int] = {}
    for webhook in settings.webhooks:
        seen[webhook.kind] = seen.get(webhook.kind, 0) + 1
        name = webhook.kind if seen[webhook.kind] == 1 else f"{webhook.kind}#{seen[webhook.kind]}"
        deliveries.append((name, lambda name=name, webhook=webhook: send_webhook(name, webhook, alert)))
    return deliveries


def send_alert(alert: Alert, settings: AlertSettings | None = None) -> list[str]:
    """Send ``alert`` on every configured channel; returns the channels that took it
    (e.g. ``["email", "wecom", "dingtalk"]``). Raises AlertDeliveryError, after trying them all,
    when any failed."""
    settings = settings or load_alert_settings()
    # Chat groups and mailboxes are no place for personal data: whatever a line quotes of a row
    # (an error message, a sample) goes out with mobile and ID numbers masked.
    alert = replace(alert, title=mask(alert.title), lines=[mask(line) for line in alert.lines])
    delivered: list[str] = []
    failures: dict[str, str] = {}
    for channel, deliver in channels(settings, alert):
        try:
            deliver()
        except Exception as error:  # noqa: BLE001 - one channel down must not silence the others; raised below
            log.error("alert %r not delivered by %s: %s", alert.title, channel, error)
            failures[channel] = f"{type(error).__name__}: {error}"
        else:
            delivered.append(channel)
    if failures:
        raise AlertDeliveryError(delivered, failures)
    log.info("alert %r delivered by %s", alert.title, ", ".join(delivered))
    return delivered
