"""The freshness check: observe every monitored feed, update the incidents, send the alerts; the DAG's task."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from parkops.ops.freshness.announcements import Transition, opening_alert, recovery_alert
from parkops.ops.freshness.incidents import (
    INCIDENT_KIND,
    incidents_to_announce,
    open_incidents,
    update_incidents,
    update_unsettled_incidents,
)
from parkops.ops.freshness.observations import observe
from parkops.ops.freshness.rules import FreshnessRule, load_freshness_rules, shanghai_naive

if TYPE_CHECKING:
    import sqlalchemy as sa

    from parkops.ops.alerts import AlertSettings

log = logging.getLogger(__name__)


class FreshnessAlertsNotDelivered(RuntimeError):
    """Some alerts did not reach every channel; the undelivered ones are sent again by the next check."""


def _record_delivery(engine: sa.Engine, transition: Transition) -> None:
    import sqlalchemy as sa

    column = "alerted_at" if transition.change == "opened" else "recovery_alerted_at"
    incident = transition.incident
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                f"update ops.feed_incidents set {column} = :sent_at "
                "where feed = :feed and kind = :kind and expected_delivery = :expected_delivery"
            ),
            {
                "sent_at": shanghai_naive(dt.datetime.now(dt.UTC)),
                "feed": incident.feed,
                "kind": incident.kind,
                "expected_delivery": incident.expected_delivery,
            },
        )


def check_freshness(
    engine: sa.Engine,
    now: dt.datetime,
    *,
    rules: list[FreshnessRule] | None = None,
    alert_settings: AlertSettings | None = None,
    landing: Path | None = None,
) -> list[Transition]:
    """Check every monitored feed at ``now`` (Asia/Shanghai; naive, or aware and converted).

    Opens and resolves incidents in one transaction, then sends the alerts: for the incidents
    opened or resolved now, and for earlier ones whose alert was not delivered. Returns those
    transitions. Raises :class:`FreshnessAlertsNotDelivered` after trying them all when an alert
    reached no channel (it stays pending) or not every channel (recorded as delivered: people
    were told; the error makes the broken channel visible).
    """
    from parkops.config import landing_dir
    from parkops.ops.alerts import AlertDeliveryError, load_alert_settings, send_alert
    from parkops.warehouse import apply_ddl

    now = shanghai_naive(now)
    rules = load_freshness_rules() if rules is None else rules
    # Loaded on every check, not only when an incident occurs: a broken alert configuration
    # must fail the monitor now, not on the day a feed is late.
    settings = alert_settings or load_alert_settings()
    landing = landing or landing_dir()
    with engine.begin() as connection:
        # The monitor may be the first writer of a new warehouse, or of one predating ops.feed_incidents.
        apply_ddl(connection)
    with engine.begin() as connection:
        observations = {rule.feed: observe(connection, rule, now, landing) for rule in rules}
        update_incidents(connection, list(observations.values()), now)
        update_unsettled_incidents(connection, now, landing)
        announce = incidents_to_announce(connection)
    transitions = [
        Transition("opened", incident, opening_alert(incident, settings))
        if incident.is_open
        else Transition(
            "resolved",
            incident,
            recovery_alert(
                incident, observations.get(incident.feed) if incident.kind == INCIDENT_KIND else None, settings
            ),
        )
        for incident in announce
    ]
    failures: list[str] = []
    for transition in transitions:
        try:
            channels = send_alert(transition.alert, settings)
        except AlertDeliveryError as error:
            failures.append(f"{transition.alert.title}: {error}")
            if not error.delivered:
                continue
            channels = error.delivered
        _record_delivery(engine, transition)
        log.info("%s alert delivered by %s: %s", transition.change, ", ".join(channels), transition.alert.title)
    if failures:
        raise FreshnessAlertsNotDelivered("; ".join(failures))
    return transitions


def run_monitor(check_at: str | None, scheduled_at: dt.datetime | None) -> dict[str, object]:
    """The ``monitor_feed_freshness`` task: check at ``check_at`` (ISO, Asia/Shanghai) if given,
    else at the run's scheduled time, else now; a summary for the task's XCom."""
    from parkops.warehouse import create_warehouse_engine

    if check_at:
        now = shanghai_naive(dt.datetime.fromisoformat(check_at))
    elif scheduled_at is not None:
        now = shanghai_naive(scheduled_at)
    else:
        now = shanghai_naive(dt.datetime.now(dt.UTC))
    engine = create_warehouse_engine()
    try:
        transitions = check_freshness(engine, now)
        with engine.connect() as connection:
            still_open = [incident.feed for incident in open_incidents(connection)]
    finally:
        engine.dispose()
    log.info("freshness checked at %s: open incidents %s", now, still_open or "none")
    return {
        "checked_at": now.isoformat(timespec="minutes"),
        "opened": [t.incident.feed for t in transitions if t.change == "opened"],
        "resolved": [t.incident.feed for t in transitions if t.change == "resolved"],
        "open_incidents": still_open,
    }
