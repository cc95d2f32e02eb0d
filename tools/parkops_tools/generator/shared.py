"""What the visits, incubator and manual-statistics generators share.

- ``KnownFirmHistory`` / ``KnownFirmRegistry``: the firms the *registrations feed* has delivered,
  day by day. The pipeline links a visit or an incubator tenant to an enterprise by USCC, and it
  only knows firms that had a registration event that loaded; a pre-existing firm that never had
  an event is invisible to it. So the other feeds must draw their firms from what the generated
  registration files actually delivered, before the visit or report date, not from the
  simulation's whole population. ``KnownFirmHistory`` re-runs ``RegistrationSimulation`` with
  the registration settings (it writes nothing) whenever a registry needs the deliveries, and
  the registry consumes them day by day: no event outlives its delivery day.
- ``KindDealer``: row-defect kinds dealt at an exact rate from shuffled decks (every kind appears
  even in a short range), like ``defects.DefectDealer`` but for any list of kinds.
- ``FeedFile`` / ``FeedSummary`` / ``format_feed_summary``: what a writer wrote, printed like the
  registrations summary.
- ``clean_folder``: removal of an earlier run's files that this run no longer produces.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence, Set
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from random import Random

from parkops_tools.generator.population import ORIGIN_MOVED_IN, Enterprise, EnterpriseFactory
from parkops_tools.generator.refdata import Park, ReferenceData
from parkops_tools.generator.registrations import (
    ENDING_EVENTS,
    RegistrationEvent,
    RegistrationSettings,
    RegistrationSimulation,
)
from parkops_tools.generator.workdays import is_workday

# --- firms the registrations feed has delivered ------------------------------------------------


@dataclass(frozen=True)
class RegistrationLink:
    """How the registrations feed a linked feed refers to was generated (its defaults by default).

    Visits and incubator tenants must name firms the registrations feed delivered, so their
    generators replay that feed's simulation with these options and the same range and seed.
    """

    defect_rate: float = 0.01
    events_per_day: int = 600
    population_size: int = 20000

    def settings(self, landing: Path, start: date, end: date, seed: int) -> RegistrationSettings:
        return RegistrationSettings(
            landing=landing,
            start=start,
            end=end,
            seed=seed,
            defect_rate=self.defect_rate,
            events_per_day=self.events_per_day,
            population_size=self.population_size,
        )


@dataclass(frozen=True, slots=True)
class KnownFirm:
    """A firm as the pipeline knows it after the registration deliveries applied so far."""

    uscc: str
    name: str
    park: Park
    is_key: bool
    is_tech: bool
    established: date
    known_since: date  # delivery day of its first loaded registration event
    active: bool = True
    registered: bool = True  # False: a firm registered elsewhere (not in the registrations feed)


class KnownFirmHistory:
    """The registrations feed as the linked feeds see it: its loaded events, day by day, replayed
    on demand, and every USCC and name the whole simulation issued.

    Nothing per event is kept: ``deliveries()`` re-runs ``RegistrationSimulation`` lazily (the
    simulation is deterministic), so a three-year range costs no more memory than three months
    beyond the firm population itself. The uniqueness sets must cover the *whole* range (a firm
    registered elsewhere must never share a code or name with a firm the feed delivers later), so
    they come from a complete run: ``replay`` makes one without keeping events, ``from_simulation``
    takes them from a run that already happened (the registrations writer's, in ``all``).
    """

    def __init__(
        self,
        settings: RegistrationSettings,
        ref: ReferenceData,
        used_usccs: Set[str],
        used_names: Set[str],
    ) -> None:
        self.settings = settings
        self.ref = ref
        self._used_usccs = used_usccs  # every code the simulation issued, loaded or not
        self._used_names = used_names

    @classmethod
    def replay(cls, settings: RegistrationSettings) -> KnownFirmHistory:
        simulation = RegistrationSimulation(settings)
        for _ in simulation.run():
            pass
        return cls.from_simulation(simulation)

    @classmethod
    def from_simulation(cls, simulation: RegistrationSimulation) -> KnownFirmHistory:
        """The history of a simulation that has run to its end (its events are not needed)."""
        population = simulation.population
        return cls(simulation.settings, simulation.ref, population.used_usccs, population.used_names)

    def deliveries(self) -> Iterator[tuple[date, list[RegistrationEvent]]]:
        """(delivery day, its loaded events in event-date order) for every day of the range."""
        simulation = RegistrationSimulation(self.settings, self.ref)
        for plan, events in simulation.run():
            # Within a delivery the pipeline orders by event date; keep that order for the registry.
            yield plan.day, sorted((event for event in events if event.loads), key=lambda e: e.event_date)

    def outsider_factory(self) -> EnterpriseFactory:
        """A factory for firms registered elsewhere: USCCs and names unused by the registrations
        feed (valid or not). Each caller gets its own additions on top of the shared sets, so one
        feed's outsiders never change another feed's random draws (``all`` = separate subcommands)."""
        return EnterpriseFactory(self.ref, Overlay(self._used_usccs), Overlay(self._used_names))


class Overlay:
    """A set seen through: membership in a shared base or in local additions; only the additions
    are stored (a copy of a three-year population's codes and names per feed would not be)."""

    def __init__(self, base: Set[str]) -> None:
        self._base = base
        self._added: set[str] = set()

    def __contains__(self, item: object) -> bool:
        return item in self._added or item in self._base

    def add(self, item: str) -> None:
        self._added.add(item)


class IndexedPool:
    """USCCs with O(1) add, remove and uniform random pick; iteration in insertion-stable order."""

    def __init__(self) -> None:
        self._items: list[str] = []
        self._position: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, uscc: object) -> bool:
        return uscc in self._position

    def __iter__(self):
        return iter(self._items)

    def add(self, uscc: str) -> None:
        if uscc not in self._position:
            self._position[uscc] = len(self._items)
            self._items.append(uscc)

    def discard(self, uscc: str) -> None:
        index = self._position.pop(uscc, None)
        if index is None:
            return
        last = self._items.pop()
        if index < len(self._items):
            self._items[index] = last
            self._position[last] = index

    def pick(self, rng: Random) -> str | None:
        return self._items[rng.randrange(len(self._items))] if self._items else None


class KnownFirmRegistry:
    """Replays the deliveries in order; after ``advance_to(D)`` it holds every firm whose first
    loaded event was delivered on or before D, in the state the pipeline would show.

    The registration extract of day D arrives by 09:00 (README), so a firm delivered on D is
    known to a visit dated D. Events reach the registry in delivery order, but an older event
    delivered late never overwrites a newer state: the pipeline orders by event date.
    """

    def __init__(self, history: KnownFirmHistory) -> None:
        self.history = history
        self.ref = history.ref
        self.firms: dict[str, KnownFirm] = {}
        self._last_event: dict[str, date] = {}
        self.active_by_park: dict[str, IndexedPool] = {park.name: IndexedPool() for park in self.ref.parks}
        self.key_by_park: dict[str, IndexedPool] = {park.name: IndexedPool() for park in self.ref.parks}
        self.tech_by_park: dict[str, IndexedPool] = {park.name: IndexedPool() for park in self.ref.parks}
        self._deliveries = history.deliveries()
        self._next: tuple[date, list[RegistrationEvent]] | None = next(self._deliveries, None)

    def advance_to(self, day: date) -> list[KnownFirm]:
        """Apply deliveries up to ``day``; return the active firms that appeared or changed."""
        touched: dict[str, None] = {}  # insertion-ordered set: the result order is deterministic
        while self._next is not None and self._next[0] <= day:
            delivery, events = self._next
            for event in events:
                if self._apply(event, delivery):
                    touched[event.firm.uscc] = None
            self._next = next(self._deliveries, None)
        return [self.firms[uscc] for uscc in touched if self.firms[uscc].active]

    def _apply(self, event: RegistrationEvent, delivery: date) -> bool:
        """True when the event changed what the registry holds for the firm."""
        uscc = event.firm.uscc
        last = self._last_event.get(uscc)
        if last is not None and event.event_date < last:
            return False  # an older event delivered late: the newer state stands
        self._last_event[uscc] = event.event_date
        previous = self.firms.get(uscc)
        if previous is not None:
            self._unindex(previous)
        known_since = previous.known_since if previous else delivery
        firm = self._from_enterprise(event.firm, known_since, active=event.event_type not in ENDING_EVENTS)
        self.firms[uscc] = firm
        if firm.active:
            self._index(firm)
        return True

    def _from_enterprise(self, enterprise: Enterprise, known_since: date, *, active: bool) -> KnownFirm:
        return KnownFirm(
            uscc=enterprise.uscc,
            name=enterprise.name,
            park=enterprise.park,
            is_key=enterprise.is_key,
            is_tech=self.ref.is_tech(enterprise.industry.code, enterprise.tags),
            established=enterprise.established,
            known_since=known_since,
            active=active,
        )

    def _index(self, firm: KnownFirm) -> None:
        park = firm.park.name
        self.active_by_park[park].add(firm.uscc)
        if firm.is_key:
            self.key_by_park[park].add(firm.uscc)
        if firm.is_tech:
            self.tech_by_park[park].add(firm.uscc)

    def _unindex(self, firm: KnownFirm) -> None:
        park = firm.park.name
        self.active_by_park[park].discard(firm.uscc)
        self.key_by_park[park].discard(firm.uscc)
        self.tech_by_park[park].discard(firm.uscc)

    def active_count(self) -> int:
        return sum(len(pool) for pool in self.active_by_park.values())

    def key_firms(self) -> Iterable[KnownFirm]:
        for pool in self.key_by_park.values():
            for uscc in pool:
                yield self.firms[uscc]


def outsider_firm(factory: EnterpriseFactory, rng: Random, park: Park, as_of: date) -> KnownFirm:
    """A valid USCC that the registrations feed never carries: a firm registered in another
    district or city that operates in the park (the pipeline must flag it, never drop it)."""
    established = as_of - timedelta(days=rng.randint(200, 12 * 365))
    enterprise = factory.create(rng, established, ORIGIN_MOVED_IN, as_of=as_of, park=park)
    return KnownFirm(
        uscc=enterprise.uscc,
        name=enterprise.name,
        park=park,
        is_key=enterprise.is_key,
        is_tech=factory.ref.is_tech(enterprise.industry.code, enterprise.tags),
        established=established,
        known_since=as_of,
        registered=False,
    )


def stable_index(text: str, modulus: int) -> int:
    """A process-independent bucket for a string (``hash()`` is salted per process)."""
    return zlib.crc32(text.encode("utf-8")) % modulus


def next_workday(day: date) -> date:
    while not is_workday(day):
        day += timedelta(days=1)
    return day


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def month_end(month: date) -> date:
    return add_months(month, 1) - timedelta(days=1)


# --- defect kinds dealt at an exact rate --------------------------------------------------------


class KindDealer:
    """Deals kinds at ``rate`` per item from freshly shuffled decks of all ``kinds``.

    An accumulator, not a coin flip, keeps the count at ``rows * rate`` give or take one; a kind
    that cannot apply to the item at hand is handed back with ``give_back`` and comes next.
    """

    def __init__(self, seed: int, label: str, rate: float, kinds: Sequence[str]) -> None:
        self.seed = seed
        self.label = label
        self.rate = rate
        self.kinds = tuple(kinds)
        self._accumulator = 0.5 if rate > 0 else 0.0
        self._deck: list[str] = []
        self._decks_dealt = 0

    def next(self) -> str | None:
        if self.rate <= 0:
            return None
        self._accumulator += self.rate
        if self._accumulator < 1.0:
            return None
        self._accumulator -= 1.0
        return self.draw()

    def draw(self) -> str:
        """The next kind of the deck, regardless of the rate (for planted, counted defects)."""
        if not self._deck:
            self._deck = list(self.kinds)
            Random(f"{self.seed}|{self.label}|deck|{self._decks_dealt}").shuffle(self._deck)
            self._decks_dealt += 1
        return self._deck.pop()

    def give_back(self, kind: str) -> None:
        self._deck.append(kind)


# --- summaries and folder hygiene ---------------------------------------------------------------


@dataclass
class FeedFile:
    path: str  # relative to the landing root
    file_format: str
    rows: int
    file_defect: str | None = None
    row_defects: Counter[str] = field(default_factory=Counter)


@dataclass
class FeedSummary:
    """What one feed writer produced; ``notes`` carry the feed's calibration figures."""

    feed: str
    headline: str
    row_defect_kinds: tuple[str, ...]
    row_unit: str = "rows"
    files: list[FeedFile] = field(default_factory=list)
    row_defects: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    removed_stale_files: int = 0
    elapsed_seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)

    def file_defects(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for report in self.files:
            if report.file_defect:
                found.setdefault(report.file_defect, []).append(report.path)
        return found


def format_feed_summary(summary: FeedSummary) -> str:
    formats = Counter(f.file_format for f in summary.files)
    lines = [
        summary.headline,
        f"  files {len(summary.files)} ({', '.join(f'{k} {v}' for k, v in sorted(formats.items()))}), "
        f"{summary.row_unit} {summary.rows:,}",
    ]
    lines.extend(f"  {note}" for note in summary.notes)
    lines.append(f"  row defects by kind ({sum(summary.row_defects.values())}):")
    for kind in summary.row_defect_kinds:
        lines.append(f"    {kind:<34} {summary.row_defects.get(kind, 0)}")
    file_defects = summary.file_defects()
    lines.append("  file defects:" + ("" if file_defects else " none"))
    for kind, paths in file_defects.items():
        for path in paths:
            lines.append(f"    {kind:<34} {path}")
    if summary.removed_stale_files:
        lines.append(f"  removed {summary.removed_stale_files} stale file(s) of an earlier run")
    lines.append(f"  elapsed {summary.elapsed_seconds:.1f} s")
    return "\n".join(lines)


def clean_folder(folder: Path, keep: set[str], ours: re.Pattern[str]) -> int:
    """Remove files of an earlier run that match ``ours`` but are not in ``keep``, and leftover
    ``.partial`` files of an interrupted write (writers.write_file's temporary names)."""
    removed = 0
    if not folder.is_dir():
        return 0
    for path in sorted(folder.iterdir()):
        if not path.is_file():
            continue
        partial = path.name.startswith(".") and path.name.endswith(".partial") and ours.match(path.name[1:-8])
        if partial or (ours.match(path.name) and path.name not in keep):
            path.unlink()
            removed += 1
    return removed
