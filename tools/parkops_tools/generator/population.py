"""The shared enterprise population: who exists, with which USCC, name, park and industry.

Every feed talks about the same firms: registrations create, change and end them; visits go
to them (key enterprises above all); incubator reports list them as incubatees. So the
population is its own object, built deterministically from the seed, and the registrations
simulation is the only thing that changes it. A later ``visits`` or ``incubators`` generator
replays the same simulation (cheap: no files) and reads ``active()`` / ``key_enterprises()``.

Rules that keep the pipeline's view and the generator's view identical:
- a firm is changed or ended only while active, and at most one event per firm per date, so
  "latest event by (event_date, delivery order)" never depends on delivery order;
- new firms mature for ``MATURITY_DAYS`` before any other event can touch them, so a firm's
  creation is always delivered no later than its next event (delivery lag is at most 7 days);
- state changes are applied only for rows that the pipeline will load (callers decide).
"""

from __future__ import annotations

import bisect
import dataclasses
import math
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import accumulate
from random import Random
from typing import ClassVar, Protocol

from parkops.uscc import ALPHABET, make_uscc
from parkops_tools.generator import vocab
from parkops_tools.generator.refdata import IndustryClass, Park, ReferenceData

TAG_TECH_SME = "科技型中小企业"
TAG_HIGH_TECH = "高新技术企业"
TAG_SRDI = "专精特新"
TAG_LITTLE_GIANT = "小巨人"
TAG_UNICORN = "独角兽"
TAG_CHAMPION = "隐形冠军"
#: Order tags are written in (registry exports list them in a stable order).
TAG_ORDER = (TAG_TECH_SME, TAG_HIGH_TECH, TAG_SRDI, TAG_LITTLE_GIANT, TAG_UNICORN, TAG_CHAMPION)
KEY_TAGS = frozenset({TAG_SRDI, TAG_LITTLE_GIANT, TAG_UNICORN, TAG_CHAMPION})

#: Days a new firm is untouchable (longer than the maximum delivery lag of 7 days).
MATURITY_DAYS = 8
#: USCCs issued from 2016 carry an "MA" organisation body instead of the old 8-digit code.
USCC_MA_SINCE = date(2016, 1, 1)

ORIGIN_PREEXISTING = "存量"
ORIGIN_ESTABLISHED = "设立"
ORIGIN_MOVED_IN = "迁入"


@dataclass(slots=True)
class Enterprise:
    """Current registered state of one firm (as the registry would export it)."""

    uscc: str
    name: str
    enterprise_type: str
    established: date
    park: Park
    industry: IndustryClass
    capital_10k: float
    currency: str
    address: str
    legal_rep: str
    phone: str
    tags: tuple[str, ...]
    employees: int | None
    origin: str
    last_event_date: date

    @property
    def is_key(self) -> bool:
        """Key enterprise (重点企业) for visit coverage: distinguished tags, or large and high-tech."""
        if KEY_TAGS.intersection(self.tags):
            return True
        staff = self.employees or 0
        return staff >= 500 or (TAG_HIGH_TECH in self.tags and staff >= 100)


def _weighted(rng: Random, items: tuple, cum_weights: tuple[float, ...]):
    """One weighted pick; cumulative weights because some pools have >1,000 items and are hot."""
    return rng.choices(items, cum_weights=cum_weights, k=1)[0]


def ordered_tags(tags: set[str] | tuple[str, ...]) -> tuple[str, ...]:
    return tuple(tag for tag in TAG_ORDER if tag in tags)


class UniqueSet(Protocol):
    """What the factory needs of a uniqueness set (a ``set``, or ``shared.Overlay`` on one)."""

    def __contains__(self, item: object) -> bool: ...

    def add(self, item: str) -> None: ...


class EnterpriseFactory:
    """Draws plausible attributes; knows nothing about population state except uniqueness sets."""

    #: Probability that a firm's industry class is a tech class, by origin. Calibrated so that
    #: about 190 new tech firms appear per ordinary working day at 600 events/day.
    TECH_CLASS_SHARE: ClassVar[dict[str, float]] = {
        ORIGIN_ESTABLISHED: 0.56,
        ORIGIN_MOVED_IN: 0.62,
        ORIGIN_PREEXISTING: 0.45,
    }
    #: Within tech, the share drawn from the park's leading industries.
    LEADING_SHARE = 0.6
    #: Chance that a 变更 of an eligible firm (tech, 高新技术企业, >= 2 years) makes it a unicorn or
    #: champion: about 30 a year at the default volume, so the KPI visibly moves.
    CROWN_PROBABILITY = 0.005

    def __init__(self, ref: ReferenceData, used_usccs: UniqueSet, used_names: UniqueSet) -> None:
        self.ref = ref
        self.used_usccs = used_usccs
        self.used_names = used_names
        self._available_tags = frozenset(ref.tags)
        self._company_types = tuple(t for t, _ in vocab.COMPANY_TYPES)
        self._company_weights = tuple(accumulate(w for _, w in vocab.COMPANY_TYPES))
        self._currencies = tuple(c for c, _ in vocab.FOREIGN_CURRENCIES)
        self._currency_weights = tuple(accumulate(w for _, w in vocab.FOREIGN_CURRENCIES))
        self._leading_pools: dict[str, tuple[IndustryClass, ...]] = {}
        self._surname_cum = list(accumulate(1.0 / math.sqrt(i + 1) for i in range(len(vocab.SURNAMES))))

    # --- identity -------------------------------------------------------------------------

    def uscc(self, rng: Random, division: str, established: date, entity_type: str = "1") -> str:
        """A fresh, valid, unique code: old numeric org bodies before 2016, ``MA…`` bodies after."""
        while True:
            if established < USCC_MA_SINCE:
                body = "".join(rng.choice("0123456789") for _ in range(8))
            else:
                body = "MA" + rng.choice("1234567") + "".join(rng.choice(ALPHABET) for _ in range(5))
            code = make_uscc("9", entity_type, division, body)
            if code not in self.used_usccs:
                self.used_usccs.add(code)
                return code

    def trade_name(self, rng: Random) -> str:
        return "".join(rng.choice(vocab.TRADE_NAME_CHARS) for _ in range(rng.choice((2, 2, 3))))

    def industry_word(self, rng: Random, industry: IndustryClass) -> str:
        words = vocab.LEADING_INDUSTRY_WORDS.get(industry.leading_industry)
        if words is None:
            words = next(
                (w for first, last, w in vocab.DIVISION_WORDS if first <= industry.division <= last),
                vocab.GENERIC_WORDS,
            )
        return rng.choice(words)

    def name(self, rng: Random, industry: IndustryClass, enterprise_type: str, park: Park) -> str:
        """上海 + 字号 + 行业词 + 有限公司, in the variant the enterprise type calls for; unique."""
        for attempt in range(50):
            trade = self.trade_name(rng) + (rng.choice(vocab.TRADE_NAME_CHARS) if attempt > 20 else "")
            if enterprise_type == vocab.PARTNERSHIP_TYPE:
                candidate = f"上海{trade}{rng.choice(vocab.PARTNERSHIP_WORDS)}（有限合伙）"
            elif enterprise_type == vocab.SOLE_PROPRIETOR_TYPE:
                candidate = f"上海市{park.district}{trade}{rng.choice(vocab.SOLE_PROPRIETOR_WORDS)}"
            elif enterprise_type == vocab.COOPERATIVE_TYPE:
                candidate = f"上海{trade}果蔬专业合作社"
            elif enterprise_type in vocab.FOREIGN_TYPES and rng.random() < 0.6:
                foreign = rng.choice(vocab.FOREIGN_TRADE_NAMES)
                region = rng.choice(("（上海）", "（中国）", "（上海）"))
                candidate = f"{foreign}{region}{self.industry_word(rng, industry)}有限公司"
            else:
                suffix = "股份有限公司" if enterprise_type.startswith("股份") else "有限公司"
                candidate = f"上海{trade}{self.industry_word(rng, industry)}{suffix}"
            if candidate not in self.used_names:
                self.used_names.add(candidate)
                return candidate
        raise RuntimeError("could not find a unique enterprise name; enlarge vocab.TRADE_NAME_CHARS")

    def person_name(self, rng: Random) -> str:
        if rng.random() < 0.01:
            surname = rng.choice(vocab.COMPOUND_SURNAMES)
        else:
            surname = vocab.SURNAMES[bisect.bisect(self._surname_cum, rng.random() * self._surname_cum[-1])]
        given_length = 1 if rng.random() < 0.3 else 2
        given = "".join(rng.choice(vocab.GIVEN_NAME_CHARS) for _ in range(given_length))
        if rng.random() < 0.002:
            given = given[:-1] + rng.choice(vocab.RARE_NAME_CHARS)
        return surname + given

    def phone(self, rng: Random) -> str:
        return rng.choice(vocab.MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"

    def address(self, rng: Random, park: Park) -> str:
        streets = vocab.PARK_STREETS.get(park.name) or vocab.DISTRICT_STREETS.get(park.district)
        if streets is None:
            streets = next(
                (s for d, s in vocab.DISTRICT_STREETS.items() if park.district and park.district in d),
                vocab.GENERIC_WORDS,
            )
        street = rng.choice(streets)
        number = rng.randint(1, 2999)
        if park.name in vocab.LINGANG_PARKS:
            prefix = "中国（上海）自由贸易试验区临港新片区"
        elif park.name in vocab.FTZ_PARKS and rng.random() < 0.5:
            prefix = "中国（上海）自由贸易试验区"
        else:
            district = park.district if park.district.endswith(("区", "县")) else f"{park.district}区"
            prefix = f"上海市{district}"
        detail = rng.random()
        if detail < 0.45:
            return f"{prefix}{street}{number}号{rng.randint(1, 12)}幢{rng.randint(1, 12)}{rng.randint(1, 30):02d}室"
        if detail < 0.75:
            return f"{prefix}{street}{number}弄{rng.randint(1, 80)}号{rng.randint(1, 9)}层"
        return f"{prefix}{street}{number}号"

    # --- classification -------------------------------------------------------------------

    def park(self, rng: Random) -> Park:
        return _weighted(rng, self.ref.parks, self.ref.park_cum_weights)

    def industry(self, rng: Random, park: Park, tech: bool) -> IndustryClass:
        if tech:
            leading_pool = self._leading_pools.get(park.name)
            if leading_pool is None:  # built once per park: this runs for every new tech firm
                leading_pool = tuple(
                    c for name in park.leading_industries for c in self.ref.leading_classes.get(name, ()) if c.is_tech
                )
                self._leading_pools[park.name] = leading_pool
            if leading_pool and rng.random() < self.LEADING_SHARE:
                return rng.choice(leading_pool)
            return rng.choice(self.ref.tech_classes)
        return _weighted(rng, self.ref.non_tech_classes, self.ref.non_tech_cum_weights)

    def enterprise_type(self, rng: Random, industry: IndustryClass) -> tuple[str, str]:
        """(enterprise type, USCC entity type character)."""
        if not industry.is_tech:
            roll = rng.random()
            if industry.section in {"F", "H", "O"} and roll < 0.05:
                return vocab.SOLE_PROPRIETOR_TYPE, "2"
            if industry.section == "A" and roll < 0.3:
                return vocab.COOPERATIVE_TYPE, "3"
            if industry.section in {"J", "L"} and roll < 0.15:
                return vocab.PARTNERSHIP_TYPE, "1"
        return _weighted(rng, self._company_types, self._company_weights), "1"

    def capital_and_currency(self, rng: Random, enterprise_type: str) -> tuple[float, str]:
        """Capital in 万 of its currency: round amounts mostly, odd amounts from converted capital."""
        currency = "人民币"
        if enterprise_type in vocab.FOREIGN_TYPES:
            currency = _weighted(rng, self._currencies, self._currency_weights)
        if enterprise_type == vocab.SOLE_PROPRIETOR_TYPE:
            return float(rng.choice((10, 10, 20, 30, 50))), currency
        median = 1000.0 if enterprise_type.startswith("股份") else 200.0
        value = math.exp(rng.gauss(math.log(median), 1.3))
        value = min(max(value, 10.0), 100000.0)
        if rng.random() < 0.7:
            magnitude = 10 ** max(1, int(math.log10(value)))
            value = max(10.0, round(value / magnitude) * magnitude)
        else:
            value = round(value, 2)
        return float(value), currency

    def employees(self, rng: Random, origin: str, age_years: float) -> int | None:
        if rng.random() < 0.08:
            return None
        if origin == ORIGIN_ESTABLISHED:
            return 0 if rng.random() < 0.65 else rng.randint(1, 12)
        median = 4.0 + 3.0 * min(age_years, 10.0)
        return min(2000, int(math.exp(rng.gauss(math.log(median), 1.2))))

    def initial_tags(self, rng: Random, industry: IndustryClass, origin: str, age_years: float) -> tuple[str, ...]:
        tags: set[str] = set()
        if origin == ORIGIN_ESTABLISHED:
            if rng.random() < 0.07:
                tags.add(TAG_TECH_SME)
        else:
            tech = industry.is_tech
            if rng.random() < (0.30 if tech else 0.05):
                tags.add(TAG_TECH_SME)
            if age_years >= 1 and rng.random() < (0.25 if tech else 0.02):
                tags.add(TAG_HIGH_TECH)
            if age_years >= 3 and rng.random() < (0.05 if tech else 0.004):
                tags.add(TAG_SRDI)
                if rng.random() < 0.2:
                    tags.add(TAG_LITTLE_GIANT)
        return ordered_tags(tags & self._available_tags)

    # --- whole firms ----------------------------------------------------------------------

    def create(self, rng: Random, established: date, origin: str, as_of: date, park: Park | None = None) -> Enterprise:
        """A new firm. ``as_of`` is the date of the event that makes it known (for its age)."""
        park = park or self.park(rng)
        industry = self.industry(rng, park, rng.random() < self.TECH_CLASS_SHARE[origin])
        enterprise_type, entity_type = self.enterprise_type(rng, industry)
        division = park.division
        if origin == ORIGIN_MOVED_IN:
            if rng.random() < 0.5:
                division = rng.choice(vocab.OTHER_CITY_DIVISIONS)
            else:
                division = rng.choice(tuple(vocab.SHANGHAI_DIVISIONS.values()))
        elif enterprise_type in vocab.FOREIGN_TYPES and rng.random() < 0.4:
            division = "310000"  # foreign-invested firms are often registered by the city bureau
        capital, currency = self.capital_and_currency(rng, enterprise_type)
        age_years = (as_of - established).days / 365.25
        return Enterprise(
            uscc=self.uscc(rng, division, established, entity_type),
            name=self.name(rng, industry, enterprise_type, park),
            enterprise_type=enterprise_type,
            established=established,
            park=park,
            industry=industry,
            capital_10k=capital,
            currency=currency,
            address=self.address(rng, park),
            legal_rep=self.person_name(rng),
            phone=self.phone(rng),
            tags=self.initial_tags(rng, industry, origin, age_years),
            employees=self.employees(rng, origin, age_years),
            origin=origin,
            last_event_date=as_of,
        )

    def changed(self, rng: Random, firm: Enterprise, when: date) -> Enterprise:
        """A copy of ``firm`` after a 变更: one or more attributes change, the USCC never does."""
        new = dataclasses.replace(firm, last_event_date=when)
        if self.crownable(new, when) and rng.random() < self.CROWN_PROBABILITY:
            self.crown(rng, new, when)
            return new
        changed_any = False
        while not changed_any:
            if rng.random() < 0.12:
                new.name = self.name(rng, new.industry, new.enterprise_type, new.park)
                changed_any = True
            if rng.random() < 0.07:
                new.park = self.park(rng)
                new.address = self.address(rng, new.park)
                changed_any = True
            elif rng.random() < 0.08:
                new.address = self.address(rng, new.park)
                changed_any = True
            if rng.random() < 0.07:
                new.industry = self.industry(rng, new.park, rng.random() < 0.6)
                changed_any = True
            if rng.random() < 0.25:
                new.tags = self._evolve_tags(rng, new, when)
                changed_any = True
            if rng.random() < 0.30:
                base = new.employees if new.employees is not None else rng.randint(0, 20)
                new.employees = min(2000, max(0, int(base * rng.uniform(0.8, 1.5)) + rng.randint(0, 5)))
                changed_any = True
            if rng.random() < 0.18:
                new.capital_10k = min(100000.0, round(new.capital_10k * rng.choice((1.5, 2.0, 2.5, 5.0)), 2))
                changed_any = True
            if rng.random() < 0.10:
                new.legal_rep = self.person_name(rng)
                new.phone = self.phone(rng)
                changed_any = True
        return new

    def _evolve_tags(self, rng: Random, firm: Enterprise, when: date) -> tuple[str, ...]:
        """Tags are mostly gained, within the age rules of each qualification; 科技型中小企业 is
        re-assessed yearly, so it is sometimes lost. 独角兽 / 隐形冠军 come only from ``crown``."""
        tags = set(firm.tags)
        age_years = (when - firm.established).days / 365.25
        roll = rng.random()
        if roll < 0.45 or (roll < 0.75 and age_years < 1):
            tags.add(TAG_TECH_SME)
        elif roll < 0.75:
            tags.add(TAG_HIGH_TECH)
        elif roll < 0.88 and age_years >= 2:
            tags.add(TAG_SRDI)
        elif roll < 0.93 and TAG_SRDI in tags:
            tags.add(TAG_LITTLE_GIANT)
        else:
            tags.discard(TAG_TECH_SME)
        return ordered_tags(tags & self._available_tags)

    def crown(self, rng: Random, firm: Enterprise, when: date) -> None:
        """Make a firm a 独角兽 (only if at most 10 years old) or 隐形冠军, with the size that goes with it."""
        age_years = (when - firm.established).days / 365.25
        tag = TAG_UNICORN if age_years <= 10 and rng.random() < 0.6 else TAG_CHAMPION
        firm.tags = ordered_tags((set(firm.tags) | {tag, TAG_HIGH_TECH}) & self._available_tags)
        firm.employees = max(firm.employees or 0, rng.randint(300, 2000))
        firm.capital_10k = max(firm.capital_10k, float(rng.choice((5000, 10000, 20000, 50000))))

    @staticmethod
    def crownable(firm: Enterprise, when: date) -> bool:
        """Only established high-tech firms can become unicorns or champions (slow, steady growth
        of the KPI from the few dozen of the pre-existing population)."""
        return (
            firm.industry.is_tech
            and TAG_HIGH_TECH in firm.tags
            and TAG_UNICORN not in firm.tags
            and TAG_CHAMPION not in firm.tags
            and (when - firm.established).days >= 2 * 365
        )


class Population:
    """Active firms with O(1) random pick, add and end; the truth the registrations come from."""

    def __init__(self, ref: ReferenceData) -> None:
        self.ref = ref
        self.used_usccs: set[str] = set()
        self.used_names: set[str] = set()
        self.factory = EnterpriseFactory(ref, self.used_usccs, self.used_names)
        self._active: list[Enterprise] = []
        self._position: dict[str, int] = {}
        self._maturing: deque[tuple[date, Enterprise]] = deque()

    @classmethod
    def build(cls, ref: ReferenceData, seed: int, as_of: date, size: int = 20000, years: int = 15) -> Population:
        """Firms established before ``as_of`` over ``years`` years (more in recent years), all active.

        A few dozen established tech firms carry 独角兽 / 隐形冠军, as the zone reports today.
        """
        rng = Random(f"{seed}|population|{as_of.isoformat()}|{size}")
        population = cls(ref)
        span_days = years * 365
        for _ in range(size):
            # Density rises linearly towards as_of: sqrt of a uniform draw.
            days_ago = int(span_days * (1.0 - math.sqrt(rng.random()))) + 1
            established = as_of - timedelta(days=days_ago)
            firm = population.factory.create(rng, established, ORIGIN_PREEXISTING, as_of=as_of)
            population._add_active(firm)
        population._crown_leaders(rng, as_of, target=max(1, round(size * 0.0019)))
        return population

    def _crown_leaders(self, rng: Random, as_of: date, target: int) -> None:
        candidates = [
            f
            for f in self._active
            if f.industry.is_tech
            and f.enterprise_type not in {vocab.PARTNERSHIP_TYPE, vocab.SOLE_PROPRIETOR_TYPE}
            and (as_of - f.established).days >= 2 * 365
        ]
        for firm in rng.sample(candidates, min(target, len(candidates))):
            self.factory.crown(rng, firm, as_of)

    # --- state ----------------------------------------------------------------------------

    def _add_active(self, firm: Enterprise) -> None:
        self._position[firm.uscc] = len(self._active)
        self._active.append(firm)

    def add_new(self, firm: Enterprise, event_date: date) -> None:
        """Register a firm created by 设立/迁入; it becomes pickable after the maturity period."""
        self._maturing.append((event_date + timedelta(days=MATURITY_DAYS), firm))

    def promote(self, today: date) -> None:
        while self._maturing and self._maturing[0][0] <= today:
            self._add_active(self._maturing.popleft()[1])

    def pick(self, rng: Random, event_date: date, spare_key: bool = False) -> Enterprise | None:
        """A random active firm without an event on ``event_date`` yet (None if none found).

        ``spare_key``: for ending events, key enterprises are mostly passed over, as large
        distinguished firms rarely close; otherwise the unicorn count would melt away.
        """
        if not self._active:
            return None
        for _ in range(8):
            firm = self._active[rng.randrange(len(self._active))]
            if firm.last_event_date == event_date:
                continue
            if spare_key and firm.is_key and rng.random() < 0.9:
                continue
            return firm
        return None

    def update(self, firm: Enterprise) -> None:
        """Replace the stored state of an active firm by its changed copy."""
        self._active[self._position[firm.uscc]] = firm

    def end(self, firm: Enterprise) -> None:
        """注销 / 吊销 / 迁出: remove from the active set (swap with the last for O(1))."""
        index = self._position.pop(firm.uscc)
        last = self._active.pop()
        if index < len(self._active):
            self._active[index] = last
            self._position[last.uscc] = index

    # --- read access for other feeds ---------------------------------------------------------

    def __len__(self) -> int:
        return len(self._active) + len(self._maturing)

    def active(self) -> Iterator[Enterprise]:
        """All active firms, including those still maturing."""
        yield from self._active
        for _, firm in self._maturing:
            yield firm

    def key_enterprises(self) -> Iterator[Enterprise]:
        return (firm for firm in self.active() if firm.is_key)
