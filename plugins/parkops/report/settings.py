"""Report configuration: ``config/reports.yaml`` (or the file ``PARKOPS_REPORTS_CONFIG`` names).

Read at run time by the report tasks. The DAG files read only the ``schedule`` lines, through
:func:`report_schedule`, when they are parsed: a timetable cannot be decided later. That is the
one file a DAG file reads at parse time: a small YAML file of the repository, like the DAG file
itself (Airflow's best practices endorse static configuration files for DAG structure); it
opens no connection and imports nothing heavy (PyYAML).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path

from parkops.config import PROJECT_DIR, home_dir
from parkops.report.periods import PeriodKind

DEFAULT_CONFIG = PROJECT_DIR / "config" / "reports.yaml"
_ADDRESS = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


class ReportConfigError(ValueError):
    """The report configuration file is invalid: the message names the file and the key."""


@dataclass(frozen=True)
class ScheduleSettings:
    kind: PeriodKind
    schedule: str
    recipients: tuple[str, ...]
    cc: tuple[str, ...]
    wait_until: dt.time
    poke_minutes: int
    cutoff_day: int | None  # monthly only


@dataclass(frozen=True)
class ReportSettings:
    source: Path
    sender: str
    smtp_conn_id: str
    zone_name: str
    archive_dir: Path
    weekly: ScheduleSettings
    monthly: ScheduleSettings

    def for_kind(self, kind: PeriodKind) -> ScheduleSettings:
        return self.weekly if kind == "weekly" else self.monthly


def config_path() -> Path:
    return Path(os.environ.get("PARKOPS_REPORTS_CONFIG") or DEFAULT_CONFIG)


def _read(path: Path) -> dict:
    import yaml

    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReportConfigError(f"{path}: report configuration not found (PARKOPS_REPORTS_CONFIG)") from None
    except yaml.YAMLError as error:
        raise ReportConfigError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(document, dict):
        raise ReportConfigError(f"{path}: expected a mapping at the top level")
    return document


def _addresses(path: Path, key: str, value: object, *, required: bool) -> tuple[str, ...]:
    if value is None:
        value = []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ReportConfigError(f"{path}: {key} must be a list of e-mail addresses")
    invalid = [item for item in value if not _ADDRESS.match(item.strip())]
    if invalid:
        raise ReportConfigError(f"{path}: {key}: not an e-mail address: {', '.join(invalid)}")
    if required and not value:
        raise ReportConfigError(f"{path}: {key} needs at least one address")
    return tuple(item.strip() for item in value)


def _schedule_settings(path: Path, kind: PeriodKind, section: object) -> ScheduleSettings:
    if not isinstance(section, dict):
        raise ReportConfigError(f"{path}: section {kind} is missing or not a mapping")
    schedule = section.get("schedule")
    if not isinstance(schedule, str) or len(schedule.split()) != 5:
        raise ReportConfigError(f"{path}: {kind}.schedule must be a five-field cron expression, got {schedule!r}")
    wait_text = str(section.get("wait_until", "14:00"))
    try:
        wait_until = dt.time.fromisoformat(wait_text)
    except ValueError:
        raise ReportConfigError(f"{path}: {kind}.wait_until must be HH:MM, got {wait_text!r}") from None
    poke_minutes = section.get("poke_minutes", 10)
    if not isinstance(poke_minutes, int) or poke_minutes < 1:
        raise ReportConfigError(f"{path}: {kind}.poke_minutes must be a positive integer")
    cutoff_day = None
    if kind == "monthly":
        cutoff_day = section.get("cutoff_day")
        if not isinstance(cutoff_day, int) or not 1 <= cutoff_day <= 28:
            raise ReportConfigError(f"{path}: monthly.cutoff_day must be a day of the month from 1 to 28")
    return ScheduleSettings(
        kind=kind,
        schedule=schedule,
        recipients=_addresses(path, f"{kind}.recipients", section.get("recipients"), required=True),
        cc=_addresses(path, f"{kind}.cc", section.get("cc"), required=False),
        wait_until=wait_until,
        poke_minutes=poke_minutes,
        cutoff_day=cutoff_day,
    )


def load_settings(path: Path | None = None) -> ReportSettings:
    path = path or config_path()
    document = _read(path)
    archive = os.environ.get("PARKOPS_REPORT_ARCHIVE_DIR") or str(document.get("archive_dir") or "data/reports")
    archive_dir = Path(archive).expanduser()
    if not archive_dir.is_absolute():
        archive_dir = home_dir() / archive_dir
    sender = document.get("sender")
    if not isinstance(sender, str) or "@" not in sender:
        raise ReportConfigError(f"{path}: sender must be an address, optionally with a name: 名称 <a@b.cn>")
    return ReportSettings(
        source=path,
        sender=sender,
        smtp_conn_id=str(document.get("smtp_conn_id") or "smtp_default"),
        zone_name=str(document.get("zone_name") or "张江高新区"),
        archive_dir=archive_dir,
        weekly=_schedule_settings(path, "weekly", document.get("weekly")),
        monthly=_schedule_settings(path, "monthly", document.get("monthly")),
    )


def report_timing(kind: PeriodKind) -> tuple[str, int]:
    """(cron expression, minutes between checks) of ``kind``: what a DAG file needs when parsed
    (reads only the YAML, see the module docstring)."""
    path = config_path()
    settings = _schedule_settings(path, kind, _read(path).get(kind))
    return settings.schedule, settings.poke_minutes
