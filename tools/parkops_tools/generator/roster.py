"""The enterprise-service staff who make the visits: 片区 (areas) of each park and who works where.

The visit feed has no roster (measures.md: staff who made no visit in a week do not appear), but
the generator needs one so that weekly visit counts per person are plausible and the 片长 target
(>= 3 visits a week) is met by most, not all. Counts at ``staff_scale`` 1.0 give about 100
visits per working day zone-wide; the scale multiplies every role.

Roles and their weekly rhythm (a person's week, scaled down in short holiday weeks):
- 楼长 (building heads): many, about 5 visits a week to firms of their area;
- 片长 (area heads): one or two per area; most visit 3-4 firms a week, about one in five only 1-2;
- 服务总监 (park service directors): one per park, about 2 a week, mostly key enterprises;
- 首席代办员 (chief agents): about 10 zone-wide, about 4 a week, anywhere in the zone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from random import Random

from parkops_tools.generator.population import EnterpriseFactory
from parkops_tools.generator.refdata import Park, ReferenceData
from parkops_tools.generator.shared import stable_index

ROLE_BUILDING_HEAD = "楼长"
ROLE_AREA_HEAD = "片长"
ROLE_SERVICE_DIRECTOR = "服务总监"
ROLE_CHIEF_AGENT = "首席代办员"
ROLES = (ROLE_BUILDING_HEAD, ROLE_AREA_HEAD, ROLE_SERVICE_DIRECTOR, ROLE_CHIEF_AGENT)

#: The core park's areas carry their own names; other parks number theirs (金桥一片区, 金桥二片区...).
CORE_PARK = "张江核心园"
CORE_PARK_AREAS = ("张江中区", "张江南区", "张江北区", "张江东区")
BIG_PARKS = frozenset({"金桥园", "临港园", "漕河泾园"})
AREA_NUMERALS = "一二三四"

#: Base head counts at staff_scale 1.0 (per area, per park, zone-wide).
BUILDING_HEADS_PER_CORE_AREA = 3
BUILDING_HEADS_PER_AREA = 1
AREA_HEADS_PER_BIG_AREA = 2  # areas of the core and big parks
AREA_HEADS_PER_AREA = 1
SERVICE_DIRECTORS_PER_PARK = 1
CHIEF_AGENTS = 10

#: Share of 片长 who visit less than the target (1-2 a week instead of 3-4).
LIGHT_AREA_HEAD_SHARE = 0.2


@dataclass(frozen=True, slots=True)
class Area:
    park: Park
    index: int
    name: str


@dataclass(frozen=True, slots=True)
class StaffMember:
    staff_id: str
    name: str
    role: str
    park: Park | None  # None: zone-wide (首席代办员)
    area: Area | None  # None: park-wide or zone-wide
    light: bool = False  # a 片长 who visits 1-2 firms a week

    def weekly_visits(self, rng: Random) -> int:
        """Visits this person plans for an ordinary (five working days) week."""
        if self.role == ROLE_BUILDING_HEAD:
            return min(8, max(2, round(rng.gauss(5.0, 1.0))))
        if self.role == ROLE_AREA_HEAD:
            if self.light:
                return rng.choice((1, 2, 2))
            return rng.choices((2, 3, 4, 5), weights=(4, 46, 46, 4), k=1)[0]
        if self.role == ROLE_SERVICE_DIRECTOR:
            return rng.choice((1, 2, 2, 2, 3))
        return rng.choice((3, 4, 4, 5))

    @property
    def expected_weekly_visits(self) -> float:
        if self.role == ROLE_BUILDING_HEAD:
            return 5.0
        if self.role == ROLE_AREA_HEAD:
            return 5.0 / 3.0 if self.light else 3.5
        if self.role == ROLE_SERVICE_DIRECTOR:
            return 2.0
        return 4.0


def area_count(park: Park) -> int:
    if park.name == CORE_PARK:
        return len(CORE_PARK_AREAS)
    if park.name in BIG_PARKS:
        return 3
    return 2 if park.publicly_confirmed else 1


def park_short_name(park: Park) -> str:
    return park.name.removesuffix("园") or park.name


def build_areas(park: Park) -> tuple[Area, ...]:
    if park.name == CORE_PARK:
        return tuple(Area(park, i, name) for i, name in enumerate(CORE_PARK_AREAS))
    short = park_short_name(park)
    return tuple(Area(park, i, f"{short}{AREA_NUMERALS[i]}片区") for i in range(area_count(park)))


@dataclass(frozen=True)
class Roster:
    areas_by_park: dict[str, tuple[Area, ...]]
    staff: tuple[StaffMember, ...]

    def area_of(self, park: Park, uscc: str) -> Area:
        """The area a firm sits in: stable per USCC, so the same 楼长/片长 look after it."""
        areas = self.areas_by_park[park.name]
        return areas[stable_index(uscc, len(areas))]

    def by_role(self, role: str) -> list[StaffMember]:
        return [member for member in self.staff if member.role == role]

    def building_heads(self, area: Area) -> list[StaffMember]:
        return [m for m in self.staff if m.role == ROLE_BUILDING_HEAD and m.area == area]

    def service_director(self, park: Park) -> StaffMember | None:
        return next((m for m in self.staff if m.role == ROLE_SERVICE_DIRECTOR and m.park == park), None)

    @property
    def expected_weekly_visits(self) -> float:
        return sum(member.expected_weekly_visits for member in self.staff)


def _apportion(bases: list[tuple[str, int]], scale: float) -> list[int]:
    """Head counts per unit (role, base count): each role's total is its base total times the
    scale, shared out by largest remainder so the roster grows smoothly with the scale (rounding
    per area would move in steps of a whole person per area). Every area keeps a 片长, every
    park a 服务总监, and the zone at least one 首席代办员."""
    counts = [0] * len(bases)
    for role in ROLES:
        indexes = [i for i, (unit_role, _) in enumerate(bases) if unit_role == role]
        exact = [bases[i][1] * scale for i in indexes]
        floors = [math.floor(value) for value in exact]
        spare = round(sum(exact)) - sum(floors)
        by_remainder = sorted(range(len(indexes)), key=lambda k: (-(exact[k] - floors[k]), k))
        for k in by_remainder[: max(0, spare)]:
            floors[k] += 1
        minimum = 0 if role == ROLE_BUILDING_HEAD else 1
        for k, i in enumerate(indexes):
            counts[i] = max(minimum, floors[k])
    return counts


def build_roster(ref: ReferenceData, seed: int, staff_scale: float = 1.0) -> Roster:
    """Areas and staff, numbered S0001... park by park (director, then per area 片长 and 楼长),
    then the zone-wide chief agents. Names are personal data, drawn like the registry's."""
    rng = Random(f"{seed}|roster|{staff_scale}")
    names = EnterpriseFactory(ref, set(), set())
    used_names: set[str] = set()
    areas_by_park: dict[str, tuple[Area, ...]] = {}
    units: list[tuple[str, Park | None, Area | None]] = []
    bases: list[tuple[str, int]] = []
    for park in ref.parks:
        areas = build_areas(park)
        areas_by_park[park.name] = areas
        units.append((ROLE_SERVICE_DIRECTOR, park, None))
        bases.append((ROLE_SERVICE_DIRECTOR, SERVICE_DIRECTORS_PER_PARK))
        big = park.name == CORE_PARK or park.name in BIG_PARKS
        for area in areas:
            units.append((ROLE_AREA_HEAD, park, area))
            bases.append((ROLE_AREA_HEAD, AREA_HEADS_PER_BIG_AREA if big else AREA_HEADS_PER_AREA))
            units.append((ROLE_BUILDING_HEAD, park, area))
            per_area = BUILDING_HEADS_PER_CORE_AREA if park.name == CORE_PARK else BUILDING_HEADS_PER_AREA
            bases.append((ROLE_BUILDING_HEAD, per_area))
    units.append((ROLE_CHIEF_AGENT, None, None))
    bases.append((ROLE_CHIEF_AGENT, CHIEF_AGENTS))
    staff: list[StaffMember] = []
    for (role, park, area), count in zip(units, _apportion(bases, staff_scale), strict=True):
        for _ in range(count):
            light = role == ROLE_AREA_HEAD and rng.random() < LIGHT_AREA_HEAD_SHARE
            name = names.person_name(rng)
            while name in used_names:  # two colleagues with the same name would confuse a reader
                name = names.person_name(rng)
            used_names.add(name)
            staff.append(StaffMember(f"S{len(staff) + 1:04d}", name, role, park, area, light))
    return Roster(areas_by_park=areas_by_park, staff=tuple(staff))
