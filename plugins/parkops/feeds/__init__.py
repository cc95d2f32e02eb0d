"""The feeds the pipeline ingests: one package per feed, this registry of them.

Each feed is defined once, in ``parkops.feeds.<name>`` (``FEED``, a :class:`Feed`), with the code
that reads its files in ``parkops.feeds.<name>.reading``; everything else (DAGs, loader,
transform, freshness, reports, personal data, CLI) asks this registry. README, "Adding a feed".

The registry finds the feeds itself: every subpackage of ``parkops.feeds`` is a feed and
defines ``FEED``. Light on purpose (standard library and the feed definitions only): DAG files
import it at parse time.
"""

from __future__ import annotations

import importlib
import pkgutil

from parkops.feeds.definition import Cadence, Column, Feed, Kind, ReportKind, TableContract

__all__ = [
    "FEEDS",
    "FEED_NAMES",
    "MONTHLY_FEEDS",
    "Cadence",
    "Column",
    "Feed",
    "Kind",
    "ReportKind",
    "TableContract",
    "families_rebuilt_by",
    "feed",
    "feed_label_cn",
    "feed_of_asset",
    "feeds_required_by",
]


def _discover() -> tuple[Feed, ...]:
    packages = [module.name for module in pkgutil.iter_modules(__path__, f"{__name__}.") if module.ispkg]
    return tuple(sorted((importlib.import_module(package).FEED for package in packages), key=lambda each: each.order))


#: Every feed, in pipeline order (``Feed.order``: ingest order, family build order, report tables).
FEEDS: tuple[Feed, ...] = _discover()
FEED_NAMES: tuple[str, ...] = tuple(each.name for each in FEEDS)
_BY_NAME = {each.name: each for each in FEEDS}
#: Feeds delivered per month (folders ``YYYY-MM``; their data runs through a month, not a day).
MONTHLY_FEEDS: frozenset[str] = frozenset(each.name for each in FEEDS if each.cadence == "monthly")


def feed(name: str) -> Feed:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown feed {name!r}; known: {', '.join(FEED_NAMES)}") from None


def feed_label_cn(name: str) -> str:
    """The feed's Chinese name; a name that is no feed (an old row) as it is."""
    known = _BY_NAME.get(name)
    return known.label_cn if known is not None else name


def feed_of_asset(uri: str) -> str | None:
    """The feed whose staging asset is ``uri``; None for any other asset."""
    return next((each.name for each in FEEDS if each.asset_uri == uri), None)


def families_rebuilt_by(name: str) -> tuple[str, ...]:
    """The table families (named after their feeds) a load of ``name`` rebuilds, in ``FEEDS`` order:
    its own and every family whose core models read its core tables, transitively."""
    wanted = {feed(name).name}
    grown = True
    while grown:
        grown = False
        for each in FEEDS:
            if each.name not in wanted and wanted & set(each.reads_core_of):
                wanted.add(each.name)
                grown = True
    return tuple(each.name for each in FEEDS if each.name in wanted)


def feeds_required_by(report: ReportKind) -> tuple[str, ...]:
    """Feeds a report of this kind waits for, in ``FEEDS`` order."""
    return tuple(each.name for each in FEEDS if report in each.required_by_reports)
