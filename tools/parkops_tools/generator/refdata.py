"""Typed, generator-friendly view of the reference seeds (parks, industry classes, tags).

The generator must agree with the pipeline on what is valid, so it never hard-codes parks,
classes or tag semantics: everything comes from ``parkops.reference.cached_seed``. This module
only reshapes those rows into pools that make weighted choices cheap.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from itertools import accumulate

from parkops.reference import cached_seed
from parkops_tools.generator import vocab

_TRUE = {"true", "1", "yes", "y", "t", "是"}
_LIST_SEPARATORS = re.compile(r"[;；,，、/|]+")

#: Relative weight of each GB/T 4754 section among NON-tech firms registering in a science park.
#: Sections absent here (agriculture, mining, utilities, public administration...) get a tiny weight.
NON_TECH_SECTION_WEIGHTS = dict(
    zip("FLCEGHJKOPQRNMI", (30.0, 25.0, 9.0, 4.0, 4.0, 4.0, 5.0, 3.0, 3.0, 3.0, 2.0, 4.0, 1.0, 3.0, 2.0), strict=True)
)
_RARE_SECTION_WEIGHT = 0.05


def _truthy(value: str) -> bool:
    return value.strip().lower() in _TRUE


def split_list(value: str) -> tuple[str, ...]:
    """Split a seed cell holding several values (``集成电路;生物医药``) into a tuple."""
    return tuple(part.strip() for part in _LIST_SEPARATORS.split(value or "") if part.strip())


@dataclass(frozen=True, slots=True)
class Park:
    code: str
    name: str
    district: str
    division: str
    leading_industries: tuple[str, ...]
    publicly_confirmed: bool


@dataclass(frozen=True, slots=True)
class IndustryClass:
    code: str
    name: str
    division: int
    section: str
    is_tech: bool
    leading_industry: str


@dataclass(frozen=True, slots=True)
class TagInfo:
    tag: str
    makes_tech: bool
    unicorn_champion: bool


def _district_division(district: str) -> str:
    for name, code in vocab.SHANGHAI_DIVISIONS.items():
        if district and (district in name or name.startswith(district) or name in district):
            return code
    return "310000"


@dataclass(frozen=True)
class ReferenceData:
    """Parks, industry classes and tags, plus the pools the generator draws from."""

    parks: tuple[Park, ...]
    park_cum_weights: tuple[float, ...]
    classes: dict[str, IndustryClass]
    tech_classes: tuple[IndustryClass, ...]
    non_tech_classes: tuple[IndustryClass, ...]
    non_tech_cum_weights: tuple[float, ...]
    leading_classes: dict[str, tuple[IndustryClass, ...]]
    tags: dict[str, TagInfo]

    @property
    def tech_tags(self) -> frozenset[str]:
        return frozenset(tag for tag, info in self.tags.items() if info.makes_tech)

    @property
    def unicorn_champion_tags(self) -> frozenset[str]:
        return frozenset(tag for tag, info in self.tags.items() if info.unicorn_champion)

    def is_tech(self, industry_code: str, tags: tuple[str, ...]) -> bool:
        """The KPI definition: tech class, or a tag that makes a tech enterprise."""
        industry = self.classes.get(industry_code)
        return bool(industry and industry.is_tech) or any(tag in self.tech_tags for tag in tags)


def _park_weight(park: Park) -> float:
    """The core park registers most firms; confirmed parks more than unconfirmed ones."""
    if park.name == "张江核心园":
        return 6.0
    if park.name in {"金桥园", "临港园", "漕河泾园"}:
        return 2.5
    return 1.5 if park.publicly_confirmed else 1.0


@cache
def load_reference() -> ReferenceData:
    """Build the pools once per process from the seeds."""
    parks = tuple(
        Park(
            code=row["park_code"],
            name=row["park_name"],
            district=row["district"],
            division=row["division_code"]
            if re.fullmatch(r"\d{6}", row.get("division_code", ""))
            else _district_division(row["district"]),
            leading_industries=split_list(row.get("leading_industries", "")),
            publicly_confirmed=_truthy(row.get("publicly_confirmed", "")),
        )
        for row in cached_seed("parks")
    )
    if not parks:
        raise ValueError("seed parks.csv is empty")
    classes: dict[str, IndustryClass] = {}
    for row in cached_seed("industry_classes"):
        code = row["class_code"]
        classes[code] = IndustryClass(
            code=code,
            name=row["class_name"],
            division=int(row["division_code"] or code[:2]),
            section=row["section_code"],
            is_tech=_truthy(row["is_tech"]),
            leading_industry=row.get("leading_industry", ""),
        )
    tech = tuple(c for c in classes.values() if c.is_tech)
    non_tech = tuple(c for c in classes.values() if not c.is_tech)
    if not tech or not non_tech:
        raise ValueError("seed industry_classes.csv needs both tech and non-tech classes")
    leading: dict[str, list[IndustryClass]] = {}
    for industry_class in classes.values():
        if industry_class.leading_industry:
            leading.setdefault(industry_class.leading_industry, []).append(industry_class)
    # Within a section every class is equally likely, so divide the section weight by its size.
    section_sizes: dict[str, int] = {}
    for industry_class in non_tech:
        section_sizes[industry_class.section] = section_sizes.get(industry_class.section, 0) + 1
    non_tech_weights = tuple(
        NON_TECH_SECTION_WEIGHTS.get(c.section, _RARE_SECTION_WEIGHT) / section_sizes[c.section] for c in non_tech
    )
    tags = {
        row["tag"]: TagInfo(
            tag=row["tag"],
            makes_tech=_truthy(row["makes_tech_enterprise"]),
            unicorn_champion=_truthy(row["counts_for_unicorn_champions"]),
        )
        for row in cached_seed("qualification_tags")
    }
    return ReferenceData(
        parks=parks,
        park_cum_weights=tuple(accumulate(_park_weight(p) for p in parks)),
        classes=classes,
        tech_classes=tech,
        non_tech_classes=non_tech,
        non_tech_cum_weights=tuple(accumulate(non_tech_weights)),
        leading_classes={k: tuple(v) for k, v in leading.items()},
        tags=tags,
    )
