"""Visit logs (走访记录, feed 2): staff visits, needs and their status flow, as JSON Lines.

``VisitSimulation`` walks visit dates week by week: every staff member of the roster plans a
week of visits (``roster``), each visit goes to a firm the registrations feed has delivered by
then (``shared.KnownFirmRegistry``), and some visits raise needs (诉求). A need's whole future
is decided when it is raised (handling, resolution day, satisfaction) and each later status
change becomes a follow-up visit record (电话/线上, same visitor, same firm) on the change day,
so "the latest record wins" in the pipeline replays exactly the history planned here.

``write_visits`` then assigns visits to delivery days (mostly the next day), files and
encodings, deals the row defects (one kind per defective line, every kind in a few weeks) and
the three file defects, and writes ``visits/<YYYY-MM-DD>/visits_<YYYYMMDD>_<nn>.jsonl``.

Calibration (defaults): about 100 visits per working day zone-wide; 1.75 new needs per calendar
day, low enough that the recurring-need rule (>= 5 distinct firms of one category within 7 days,
measures.md) rarely fires by chance, plus one deliberate burst of 供应链 "液氮储备不足" needs from
15-25 firms within one week; key enterprises mostly visited at least once a quarter.
"""

from __future__ import annotations

import heapq
import json
import math
import re
import statistics
import time
from collections import Counter, defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from random import Random

from parkops_tools.generator.defects import UNKNOWN_PARK_NAMES, corrupt_encoding, corrupt_uscc
from parkops_tools.generator.refdata import Park
from parkops_tools.generator.registrations import RegistrationSettings
from parkops_tools.generator.rendering import date_text, full_width
from parkops_tools.generator.roster import (
    ROLE_AREA_HEAD,
    ROLE_BUILDING_HEAD,
    ROLE_SERVICE_DIRECTOR,
    ROLES,
    Area,
    Roster,
    StaffMember,
    build_roster,
)
from parkops_tools.generator.shared import (
    FeedFile,
    FeedSummary,
    IndexedPool,
    KindDealer,
    KnownFirm,
    KnownFirmHistory,
    KnownFirmRegistry,
    RegistrationLink,
    clean_folder,
    format_feed_summary,
    next_workday,
    outsider_firm,
)
from parkops_tools.generator.workdays import is_workday
from parkops_tools.generator.writers import write_file

FEED = "visits"

CHANNEL_ON_SITE = "上门走访"
CHANNEL_PHONE = "电话"
CHANNEL_ONLINE = "线上"
CHANNELS = (CHANNEL_ON_SITE, CHANNEL_PHONE, CHANNEL_ONLINE)
#: A first visit is mostly in person; status updates are reported by phone or online.
ROUTINE_CHANNEL_WEIGHTS = (85.0, 10.0, 5.0)
FOLLOW_UP_CHANNELS = (CHANNEL_PHONE, CHANNEL_ONLINE)
FOLLOW_UP_CHANNEL_WEIGHTS = (65.0, 35.0)

STATUS_OPEN = "待处理"
STATUS_IN_PROGRESS = "处理中"
STATUS_RESOLVED = "已办结"
STATUSES = (STATUS_OPEN, STATUS_IN_PROGRESS, STATUS_RESOLVED)

#: Fairly even category weights: an uneven mix would make random recurring-need episodes likelier.
NEED_CATEGORIES = ("人才", "资金", "空间", "审批", "政策", "供应链", "知识产权", "其他")
NEED_CATEGORY_WEIGHTS = (13.0, 13.0, 12.0, 12.0, 13.0, 13.0, 12.0, 12.0)
NEED_DESCRIPTIONS = {
    "人才": ("研发人员招聘困难", "人才公寓申请", "高端人才落户咨询", "子女入学咨询", "人才补贴申报"),
    "资金": ("融资需求对接", "贷款贴息申请", "专项资金申报", "研发费用加计扣除咨询", "股权融资对接"),
    "空间": ("扩租办公场地", "实验室空间不足", "厂房租赁需求", "洁净车间需求", "租金补贴咨询"),
    "审批": ("环评审批进度", "施工许可办理", "危化品使用许可", "药品注册申报咨询", "进口设备通关"),
    "政策": ("高企认定政策咨询", "专精特新申报辅导", "产业扶持政策解读", "税收优惠咨询"),
    "供应链": ("液氮储备不足", "芯片交期延长", "原材料价格上涨", "进口试剂通关慢", "物流运输受阻"),
    "知识产权": ("专利申请加速", "商标侵权维权", "知识产权质押融资", "PCT国际申请咨询"),
    "其他": ("周边交通不便", "员工食堂需求", "网络宽带升级", "停车位紧张"),
}
#: The planted recurring need: a liquid-nitrogen shortage hits labs and fabs in one week.
BURST_CATEGORY = "供应链"
BURST_DESCRIPTION = "液氮储备不足"
BURST_PARKS = ("张江核心园", "临港园")
BURST_PARK_SHARE = 0.8
BURST_FIRMS = (15, 25)
#: The burst week starts on the first Monday at or after this share of the range.
BURST_POSITION = 0.4

#: Need lifecycle: some are settled on the spot, most within days, a tail takes weeks, a few never.
RESOLVED_AT_ONCE_SHARE = 0.12
NEVER_RESOLVED_SHARE = 0.04
IN_PROGRESS_STEP_SHARE = 0.85  # the others go straight from 待处理 to 已办结 in a follow-up
RESOLUTION_MEDIAN_DAYS = 5.0
RESOLUTION_SIGMA = 0.85
MAX_RESOLUTION_DAYS = 60
SATISFACTION_SCORES = (5, 4, 3, 2, 1)
SATISFACTION_WEIGHTS = (50.0, 30.0, 12.0, 5.0, 3.0)
SATISFACTION_ABSENT_SHARE = 0.15
TWO_NEEDS_SHARE = 0.1
#: A category already raised by this many distinct firms in the trailing 7 days is damped.
#: Memoryless draws cluster by chance: at 1.75 needs a day about ten spurious recurring-need
#: episodes would appear per quarter and bury the planted burst. Real platforms damp them too:
#: a topic already being handled jointly is answered in bulk, not raised again by each firm.
CROWDED_CATEGORY_FIRMS = 4
CROWDED_CATEGORY_DAMPING = 0.1
#: About 250 working days a year in China: the need probability per visit is calibrated so that
#: needs per *calendar* day average ``needs_per_day`` over a year.
WORKING_WEEKS_PER_YEAR = 50.0

#: Routine visits: a few on off days, ~1% to firms the registrations feed does not carry.
OFF_DAY_VISIT_SHARE = 0.03
UNKNOWN_FIRM_SHARE = 0.01
OUTSIDERS_PER_PARK = 3
REVISIT_DAYS = 21
#: Chance that a routine visit of a 片长 / 楼长 / 服务总监 goes to a key firm due a visit.
DUE_KEY_PREFERENCE = {ROLE_AREA_HEAD: 0.85, ROLE_BUILDING_HEAD: 0.35, ROLE_SERVICE_DIRECTOR: 0.85}
#: Key firms left out of a quarter's visit plan (coverage ends near 90%, not 100%).
KEY_NEGLECT_SHARE = 0.12
#: Due dates leave this many days before quarter end, so a due visit is rarely missed.
KEY_DUE_SLACK_DAYS = 10

#: Delivery: visits of day D arrive on D+1 mostly, D+2..D+3 sometimes.
DELIVERY_LAGS = (1, 2, 3)
DELIVERY_LAG_WEIGHTS = (85.0, 10.0, 5.0)
FILE_COUNTS = (1, 2)
FILE_COUNT_WEIGHTS = (65.0, 35.0)
ENCODINGS = ("utf-8", "utf-8-sig", "gb18030")
ENCODING_WEIGHTS = (70.0, 15.0, 15.0)
#: Share of an undecodable day's visits that go into the rejected extra file.
REJECTED_FILE_SHARE = 0.2
MIN_DAYS_FOR_FILE_DEFECTS = 10

FIELDS = (
    "visit_id",
    "visit_date",
    "visitor_id",
    "visitor_name",
    "visitor_role",
    "area",
    "park_name",
    "uscc",
    "enterprise_name",
    "channel",
    "is_key_enterprise",
    "needs",
)
NEED_FIELDS = ("need_id", "category", "description", "status", "raised_date", "resolved_date", "satisfaction")
REMARKS = ("企业负责人出差，改为电话沟通", "已转交园区服务中心", "复访", "企业新址待核实", "陪同区领导走访")
EXTRA_KEY = "remark"
EXTRA_KEY_SHARE = 0.015

#: Row (line) defect kinds, named after the rule each breaks (keys of the summary).
ROW_DEFECT_KINDS = (
    "invalid_json",
    "missing_visit_id",
    "duplicate_visit_id",
    "unparseable_visit_date",
    "visit_date_after_delivery",
    "unknown_visitor_role",
    "unknown_channel",
    "unknown_park",
    "invalid_uscc",
    "is_key_not_boolean",
    "needs_not_list",
    "unknown_need_category",
    "unknown_need_status",
    "resolved_without_date",
    "resolved_before_raised",
    "satisfaction_out_of_range",
    "satisfaction_not_resolved",
    "raised_after_visit",
)
#: Kinds that break a rule of a need: a line without needs gets one made up for the purpose.
NEED_DEFECT_KINDS = frozenset(ROW_DEFECT_KINDS[11:])
FILE_UNDECODABLE = "undecodable"
FILE_REDELIVERY = "redelivery"
FILE_CORRECTED = "corrected_redelivery"
UNKNOWN_ROLES = ("网格员", "招商专员", "楼宇管家", "片区经理")
UNKNOWN_CHANNELS = ("微信", "座谈会", "来访登记", "邮件")
UNKNOWN_CATEGORIES = ("环保", "安全生产", "税务", "法务")
UNKNOWN_STATUSES = ("已关闭", "已撤销", "退回", "待分派")
NOT_BOOLEANS = ("maybe", "待定", "unknown")
BAD_SATISFACTION = (0, 6, 10, -1)
BAD_DATE_TEXTS = ("{y}-02-30", "{y}/13/5", "{m:02d}/{d:02d}/{y}", "昨天", "{y}.{m}.{d}", "{y}年{m}月")

FILE_PATTERN = re.compile(r"visits_\d{8}_\d{2}\.jsonl$")


@dataclass(frozen=True)
class VisitSettings:
    landing: Path
    start: date
    end: date
    seed: int = 20250101
    defect_rate: float = 0.01
    staff_scale: float = 1.0
    needs_per_day: float = 1.75
    burst_start: date | None = None  # Monday of the burst week; None: the first Monday at 40% of the range
    #: The registrations feed the visits link to (the options ``registrations`` was run with).
    registrations: RegistrationLink = field(default_factory=RegistrationLink)

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"--to {self.end} is before --from {self.start}")
        if not 0.0 <= self.defect_rate <= 0.5:
            raise ValueError(f"--defect-rate must be within 0..0.5, got {self.defect_rate}")
        if not 0.0 < self.staff_scale <= 50.0:
            raise ValueError(f"--staff-scale must be within (0, 50], got {self.staff_scale}")
        if not 0.0 <= self.needs_per_day <= 200.0:
            raise ValueError(f"--needs-per-day must be within 0..200, got {self.needs_per_day}")
        if self.burst_start is not None and self.burst_start.weekday() != 0:
            raise ValueError(f"the burst week must start on a Monday, got {self.burst_start}")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def registration_settings(self) -> RegistrationSettings:
        return self.registrations.settings(self.landing, self.start, self.end, self.seed)


@dataclass(slots=True)
class NeedRecord:
    """One need as one visit line reports it (the same need_id recurs as its status moves)."""

    need_id: str
    category: str
    description: str
    status: str
    raised: date
    resolved: date | None = None
    satisfaction: int | None = None


@dataclass(slots=True)
class Visit:
    visit_date: date
    visitor: StaffMember
    firm: KnownFirm
    area: Area
    channel: str
    needs: list[NeedRecord]
    purpose: str  # routine | follow_up | burst (for the summary only; not in the file)
    sequence: int = 0

    @property
    def visit_id(self) -> str:
        return f"V{self.visit_date:%Y%m%d}{self.sequence:05d}"


@dataclass
class KeyCoverage:
    quarter: date
    through: date
    key_firms: int
    visited: int

    @property
    def percent(self) -> float:
        return 100.0 * self.visited / self.key_firms if self.key_firms else 0.0


def quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def quarter_end(day: date) -> date:
    start = quarter_start(day)
    following = date(start.year + 1, 1, 1) if start.month == 10 else date(start.year, start.month + 3, 1)
    return following - timedelta(days=1)


def burst_monday(settings: VisitSettings) -> date | None:
    """Monday of the planted burst week, or None when the range cannot hold a whole week of it."""
    last_visit_day = settings.end - timedelta(days=1)
    if settings.burst_start is not None:
        monday = settings.burst_start
    else:
        anchor = settings.start + timedelta(days=math.ceil(settings.days * BURST_POSITION))
        monday = anchor + timedelta(days=(7 - anchor.weekday()) % 7)
    # A week with fewer than three working days (Spring Festival) would not look like a burst.
    while sum(is_workday(monday + timedelta(days=i)) for i in range(7)) < 3:
        monday += timedelta(days=7)
    if monday < settings.start or monday + timedelta(days=6) > last_visit_day - timedelta(days=1):
        return None
    return monday


class VisitSimulation:
    """Plans every visit dated within [start, end - 1] (a visit of the last day cannot be
    delivered inside the range). Writes nothing."""

    def __init__(self, settings: VisitSettings, history: KnownFirmHistory) -> None:
        self.settings = settings
        self.ref = history.ref
        self.roster: Roster = build_roster(self.ref, settings.seed, settings.staff_scale)
        self.registry = KnownFirmRegistry(history)
        self._outsider_factory = history.outsider_factory()
        self._outsiders: dict[str, list[KnownFirm]] = defaultdict(list)
        self.need_sequence: Counter[date] = Counter()
        self._recent_needs: dict[str, deque[tuple[date, str]]] = defaultdict(deque)
        per_visit = settings.needs_per_day * 365.0 / (self.roster.expected_weekly_visits * WORKING_WEEKS_PER_YEAR)
        self.need_probability = min(1.0, per_visit / (1.0 + TWO_NEEDS_SHARE))
        self._follow_ups: dict[date, list[tuple[StaffMember, KnownFirm, NeedRecord]]] = defaultdict(list)
        self._last_visit: dict[str, date] = {}
        self.burst_monday = burst_monday(settings)
        self._burst_days: Counter[date] = Counter()
        self._burst_firms: set[str] = set()
        # Key-enterprise plan of the current quarter: due dates per area, who was visited.
        self._quarter: date | None = None
        self._due: dict[tuple[str, int], list[tuple[date, str]]] = defaultdict(list)
        self._planned: set[str] = set()
        self._visited_in_quarter: set[str] = set()
        self.key_coverage: list[KeyCoverage] = []
        self._last_day: date | None = None

    @property
    def first_day(self) -> date:
        return self.settings.start

    @property
    def last_day(self) -> date:
        return self.settings.end - timedelta(days=1)

    def days(self) -> Iterator[tuple[date, list[Visit]]]:
        """(visit date, its visits) for every day of [first_day, last_day], in order: the caller
        writes each day's visits away before the next is simulated."""
        if self.last_day < self.first_day:
            return
        self._plan_burst()
        monday = self.first_day - timedelta(days=self.first_day.weekday())
        while monday <= self.last_day:
            self._forget_old_visits(monday)
            slots = self._plan_week(monday)
            for offset in range(7):
                day = monday + timedelta(days=offset)
                if self.first_day <= day <= self.last_day:
                    yield day, self._simulate_day(day, slots.get(day, []))
            monday += timedelta(days=7)
        self._close_quarter()

    def run(self) -> list[Visit]:
        """Every visit of the range in one list (small ranges; the writer streams ``days``)."""
        return [visit for _, visits in self.days() for visit in visits]

    def _forget_old_visits(self, monday: date) -> None:
        """Drop last-visit dates too old to matter from this week on (``_recently_visited`` would
        say False for them anyway): the map stays at a few weeks of visits, not the whole range."""
        stale = [uscc for uscc, last in self._last_visit.items() if (monday - last).days >= REVISIT_DAYS]
        for uscc in stale:
            del self._last_visit[uscc]

    # --- planning ------------------------------------------------------------------------------

    def _plan_burst(self) -> None:
        if self.burst_monday is None:
            return
        rng = Random(f"{self.settings.seed}|burst|{self.burst_monday}")
        working = [self.burst_monday + timedelta(days=i) for i in range(7)]
        working = [day for day in working if is_workday(day)]
        for _ in range(rng.randint(*BURST_FIRMS)):
            self._burst_days[rng.choice(working)] += 1

    def _plan_week(self, monday: date) -> dict[date, list[StaffMember]]:
        """Each person's visits of an ISO week, spread over its working days (a few on off days).
        Short holiday weeks get proportionally fewer visits."""
        rng = Random(f"{self.settings.seed}|visit-week|{monday}|{self.settings.staff_scale}")
        week = [monday + timedelta(days=i) for i in range(7)]
        working = [day for day in week if is_workday(day)]
        off = [day for day in week if not is_workday(day)]
        factor = min(1.0, len(working) / 5.0)
        slots: dict[date, list[StaffMember]] = defaultdict(list)
        for member in self.roster.staff:
            planned = member.weekly_visits(rng) * factor
            count = int(planned) + (rng.random() < planned - int(planned))
            for _ in range(count):
                if off and (not working or rng.random() < OFF_DAY_VISIT_SHARE):
                    slots[rng.choice(off)].append(member)
                else:
                    slots[rng.choice(working)].append(member)
        return slots

    # --- one day -------------------------------------------------------------------------------

    def _simulate_day(self, day: date, slots: list[StaffMember]) -> list[Visit]:
        rng = Random(f"{self.settings.seed}|visits|{day}")
        changed = self.registry.advance_to(day)
        self._update_key_plan(rng, day, changed)
        self._last_day = day
        visits: list[Visit] = []
        for member, firm, need in self._follow_ups.pop(day, []):
            current = self.registry.firms.get(firm.uscc, firm) if firm.registered else firm
            channel = rng.choices(FOLLOW_UP_CHANNELS, weights=FOLLOW_UP_CHANNEL_WEIGHTS, k=1)[0]
            visits.append(self._visit(day, member, current, channel, [need], "follow_up"))
        for member in slots:
            firm = self._pick_firm(rng, member, day)
            if firm is None:
                continue  # nobody known in this person's patch yet (first days of the range)
            channel = rng.choices(CHANNELS, weights=ROUTINE_CHANNEL_WEIGHTS, k=1)[0]
            needs = []
            if rng.random() < self.need_probability:
                count = 2 if rng.random() < TWO_NEEDS_SHARE else 1
                weights = self._category_weights(day)
                categories: list[str] = []
                while len(categories) < count:
                    category = rng.choices(NEED_CATEGORIES, weights=weights, k=1)[0]
                    if category not in categories:
                        categories.append(category)
                for category in categories:
                    description = rng.choice(NEED_DESCRIPTIONS[category])
                    needs.append(self._raise_need(rng, day, member, firm, category, description))
            visits.append(self._visit(day, member, firm, channel, needs, "routine"))
        for _ in range(self._burst_days.get(day, 0)):
            visit = self._burst_visit(rng, day)
            if visit is not None:
                visits.append(visit)
        rng.shuffle(visits)  # platform entry order: roles and follow-ups interleave
        for index, visit in enumerate(visits, start=1):
            visit.sequence = index
        return visits

    def _category_weights(self, day: date) -> list[float]:
        window_start = day - timedelta(days=6)
        weights = []
        for category, weight in zip(NEED_CATEGORIES, NEED_CATEGORY_WEIGHTS, strict=True):
            recent = self._recent_needs[category]
            while recent and recent[0][0] < window_start:
                recent.popleft()
            crowded = len({uscc for _, uscc in recent}) >= CROWDED_CATEGORY_FIRMS
            weights.append(weight * CROWDED_CATEGORY_DAMPING if crowded else weight)
        return weights

    def _visit(
        self, day: date, member: StaffMember, firm: KnownFirm, channel: str, needs: list[NeedRecord], purpose: str
    ) -> Visit:
        self._last_visit[firm.uscc] = day
        self._visited_in_quarter.add(firm.uscc)
        # The area of the visit is the firm's 片区: the visitor's own for 楼长 / 片长 (their firms
        # are drawn from it), wherever the firm sits for directors, agents and follow-ups.
        return Visit(day, member, firm, self.roster.area_of(firm.park, firm.uscc), channel, needs, purpose)

    # --- choosing firms ------------------------------------------------------------------------

    def _pick_firm(self, rng: Random, member: StaffMember, day: date) -> KnownFirm | None:
        park = member.park or self._busy_park(rng)
        if park is None:
            return None
        if rng.random() < UNKNOWN_FIRM_SHARE:
            return self._outsider(rng, park, day)
        preference = DUE_KEY_PREFERENCE.get(member.role, 0.0)
        if member.area is not None:
            if rng.random() < preference:
                due = self._due_key_firm(day, [member.area])
                if due is not None:
                    return due
            return self._random_firm(rng, park.name, day, member.area)
        if member.role == ROLE_SERVICE_DIRECTOR:
            if rng.random() < preference:
                areas = list(self.roster.areas_by_park[park.name])
                rng.shuffle(areas)
                due = self._due_key_firm(day, areas)
                if due is not None:
                    return due
            key = self._random_from(rng, self.registry.key_by_park[park.name], day)
            if key is not None:
                return key
        return self._random_firm(rng, park.name, day, None)

    def _busy_park(self, rng: Random) -> Park | None:
        """A park for a zone-wide agent, in proportion to the firms known there."""
        pools = self.registry.active_by_park
        total = sum(len(pool) for pool in pools.values())
        if total == 0:
            return None
        target = rng.randrange(total)
        for park in self.ref.parks:
            target -= len(pools[park.name])
            if target < 0:
                return park
        return self.ref.parks[-1]

    def _random_from(self, rng: Random, pool: IndexedPool, day: date) -> KnownFirm | None:
        fallback = None
        for _ in range(6):
            uscc = pool.pick(rng)
            if uscc is None:
                return None
            fallback = fallback or uscc
            if not self._recently_visited(uscc, day):
                return self.registry.firms[uscc]
        return self.registry.firms[fallback] if fallback else None

    def _random_firm(self, rng: Random, park_name: str, day: date, area: Area | None) -> KnownFirm | None:
        """A known firm of the park (of the area, when given), preferring one not visited lately."""
        pool = self.registry.active_by_park[park_name]
        if not len(pool):
            return None
        in_area_fallback = None
        for _ in range(16):
            uscc = pool.pick(rng)
            firm = self.registry.firms[uscc]
            if area is not None and self.roster.area_of(firm.park, uscc) != area:
                continue
            if not self._recently_visited(uscc, day):
                return firm
            in_area_fallback = in_area_fallback or firm
        return in_area_fallback or self.registry.firms[pool.pick(rng)]

    def _recently_visited(self, uscc: str, day: date) -> bool:
        last = self._last_visit.get(uscc)
        return last is not None and (day - last).days < REVISIT_DAYS

    def _outsider(self, rng: Random, park: Park, day: date) -> KnownFirm:
        """A firm registered elsewhere: a few per park, visited again now and then."""
        known = self._outsiders[park.name]
        if len(known) < OUTSIDERS_PER_PARK and (not known or rng.random() < 0.5):
            known.append(outsider_firm(self._outsider_factory, rng, park, day))
            return known[-1]
        return rng.choice(known)

    # --- key enterprises -------------------------------------------------------------------------

    def _update_key_plan(self, rng: Random, day: date, changed: list[KnownFirm]) -> None:
        """Give each key firm a due date in the quarter (a few are left out); new key firms join."""
        quarter = quarter_start(day)
        if quarter != self._quarter:
            self._close_quarter()
            self._quarter = quarter
            self._due.clear()
            self._planned.clear()
            self._visited_in_quarter.clear()
            candidates = list(self.registry.key_firms())
        else:
            candidates = [firm for firm in changed if firm.is_key]
        slack_end = quarter_end(day) - timedelta(days=KEY_DUE_SLACK_DAYS)
        for firm in candidates:
            if firm.uscc in self._planned or firm.uscc in self._visited_in_quarter:
                continue
            self._planned.add(firm.uscc)
            if rng.random() < KEY_NEGLECT_SHARE:
                continue
            due = day + timedelta(days=rng.randint(0, max(0, (slack_end - day).days)))
            area = self.roster.area_of(firm.park, firm.uscc)
            heapq.heappush(self._due[(firm.park.name, area.index)], (due, firm.uscc))

    def _due_key_firm(self, day: date, areas: list[Area]) -> KnownFirm | None:
        for area in areas:
            heap = self._due.get((area.park.name, area.index))
            while heap and heap[0][0] <= day:
                _, uscc = heapq.heappop(heap)
                firm = self.registry.firms.get(uscc)
                if firm is None or not firm.active or uscc in self._visited_in_quarter:
                    continue
                if firm.park != area.park:  # moved park since it was planned: the new area's staff go
                    moved_to = self.roster.area_of(firm.park, uscc)
                    heapq.heappush(self._due[(firm.park.name, moved_to.index)], (day, uscc))
                    continue
                return firm
        return None

    def _close_quarter(self) -> None:
        """Coverage of the quarter so far by the platform's key list (known, active, key firms)."""
        if self._quarter is None or self._last_day is None:
            return
        if self.key_coverage and self.key_coverage[-1].quarter == self._quarter:
            return
        key_usccs = [firm.uscc for firm in self.registry.key_firms()]
        visited = sum(uscc in self._visited_in_quarter for uscc in key_usccs)
        self.key_coverage.append(KeyCoverage(self._quarter, self._last_day, len(key_usccs), visited))

    # --- needs ---------------------------------------------------------------------------------

    def _burst_visit(self, rng: Random, day: date) -> Visit | None:
        """A visit where a (mostly 张江 / 临港, mostly tech) firm reports the liquid-nitrogen shortage."""
        for _ in range(20):
            if rng.random() < BURST_PARK_SHARE:
                park_name = rng.choice(BURST_PARKS)
            else:
                park = self._busy_park(rng)
                if park is None:
                    return None
                park_name = park.name
            pool = self.registry.tech_by_park[park_name]
            uscc = pool.pick(rng) or self.registry.active_by_park[park_name].pick(rng)
            if uscc is None or uscc in self._burst_firms:
                continue
            self._burst_firms.add(uscc)
            firm = self.registry.firms[uscc]
            area = self.roster.area_of(firm.park, uscc)
            heads = self.roster.building_heads(area)
            visitor = rng.choice(heads) if heads else self.roster.service_director(firm.park)
            if visitor is None:
                return None
            need = self._raise_need(rng, day, visitor, firm, BURST_CATEGORY, BURST_DESCRIPTION)
            return self._visit(day, visitor, firm, CHANNEL_ON_SITE, [need], "burst")
        return None

    def _raise_need(
        self, rng: Random, day: date, member: StaffMember, firm: KnownFirm, category: str, description: str
    ) -> NeedRecord:
        """The need as first reported, with its future status changes queued as follow-ups."""
        self.need_sequence[day] += 1
        need_id = f"N{day:%Y%m%d}{self.need_sequence[day]:03d}"
        self._recent_needs[category].append((day, firm.uscc))
        if rng.random() < RESOLVED_AT_ONCE_SHARE:
            return NeedRecord(need_id, category, description, STATUS_RESOLVED, day, day, self._satisfaction(rng))
        never = rng.random() < NEVER_RESOLVED_SHARE
        total = rng.lognormvariate(math.log(RESOLUTION_MEDIAN_DAYS), RESOLUTION_SIGMA)
        total_days = min(MAX_RESOLUTION_DAYS, max(1, round(total)))
        resolved_on = next_workday(day + timedelta(days=total_days))
        in_progress_on = None
        if rng.random() < IN_PROGRESS_STEP_SHARE:
            offset = max(1, round(total_days * rng.uniform(0.15, 0.5)))
            in_progress_on = next_workday(day + timedelta(days=offset))
            if in_progress_on >= resolved_on:
                in_progress_on = None
        satisfaction = self._satisfaction(rng)
        if in_progress_on is not None:
            self._follow_up(
                in_progress_on, member, firm, NeedRecord(need_id, category, description, STATUS_IN_PROGRESS, day)
            )
        if not never:
            record = NeedRecord(need_id, category, description, STATUS_RESOLVED, day, resolved_on, satisfaction)
            self._follow_up(resolved_on, member, firm, record)
        return NeedRecord(need_id, category, description, STATUS_OPEN, day)

    def _follow_up(self, day: date, member: StaffMember, firm: KnownFirm, record: NeedRecord) -> None:
        if day <= self.last_day:  # later changes happen after the range: the need stays as it was
            self._follow_ups[day].append((member, firm, record))

    @staticmethod
    def _satisfaction(rng: Random) -> int | None:
        if rng.random() < SATISFACTION_ABSENT_SHARE:
            return None
        return rng.choices(SATISFACTION_SCORES, weights=SATISFACTION_WEIGHTS, k=1)[0]


# --- files ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Literal:
    """A JSON value written as is (a defect's wrong type or text), bypassing value rendering."""

    value: object


_ABSENT = object()


@dataclass(frozen=True)
class JsonStyle:
    """How one exported file looks: drawn once per file from its own random stream."""

    encoding: str
    fields: tuple[str, ...]
    need_fields: tuple[str, ...]
    date_style: int
    mixed_date_share: float
    compact: bool
    omit_missing: bool  # leave out resolved_date / satisfaction when they do not apply (else null)
    line_terminator: str


def draw_json_style(rng: Random, encoding: str) -> JsonStyle:
    fields = list(FIELDS)
    need_fields = list(NEED_FIELDS)
    if rng.random() < 0.35:  # another export template: key order differs
        rng.shuffle(fields)
        rng.shuffle(need_fields)
    return JsonStyle(
        encoding=encoding,
        fields=tuple(fields),
        need_fields=tuple(need_fields),
        date_style=rng.choices(range(4), weights=(70, 10, 10, 10), k=1)[0],
        mixed_date_share=rng.choice((0.0, 0.0, 0.05, 0.2)),
        compact=rng.random() < 0.3,
        omit_missing=rng.random() < 0.5,
        line_terminator=rng.choice(("\n", "\n", "\n", "\r\n")),
    )


@dataclass
class VisitLine:
    """One line of a file: the visit, its defect, and the JSON object written (for corrections)."""

    visit: Visit
    delivery: date
    defect: str | None = None
    duplicate_of: str | None = None  # the earlier valid visit_id a duplicate_visit_id line repeats
    payload: dict[str, object] | None = None
    text: str = ""


@dataclass
class PlannedVisitFile:
    name: str
    delivery: date
    encoding: str
    lines: list[VisitLine] = field(default_factory=list)
    file_defect: str | None = None
    style: JsonStyle | None = None  # drawn when rendered

    @property
    def rejected(self) -> bool:
        return self.file_defect == FILE_UNDECODABLE


class LineRenderer:
    def __init__(self, style: JsonStyle, rng: Random) -> None:
        self.style = style
        self.rng = rng

    def date(self, value: object) -> object:
        if isinstance(value, Literal):
            return value.value
        if value is None:
            return None
        assert isinstance(value, date)
        style = self.style.date_style
        if self.rng.random() < self.style.mixed_date_share:
            style = self.rng.randrange(4)
        return date_text(value, style)

    def payload(self, values: dict[str, object]) -> dict[str, object]:
        rng = self.rng
        fields = list(self.style.fields)
        if rng.random() < 0.03:
            rng.shuffle(fields)  # the odd hand-edited line
        out: dict[str, object] = {}
        for name in fields:
            value = values.get(name, _ABSENT)
            if value is _ABSENT:
                continue
            if isinstance(value, Literal):
                out[name] = value.value
            elif name == "visit_date":
                out[name] = self.date(value)
            elif name == "uscc":
                out[name] = self.uscc(str(value))
            elif name == "needs":  # a list; a bare need object only as the needs_not_list defect
                out[name] = [self.need(need) for need in value] if isinstance(value, list) else self.need(value)
            else:
                out[name] = value
        if rng.random() < EXTRA_KEY_SHARE:
            items = list(out.items())
            items.insert(rng.randint(0, len(items)), (EXTRA_KEY, rng.choice(REMARKS)))
            out = dict(items)
        return out

    def uscc(self, code: str) -> str:
        roll = self.rng.random()
        if roll < 0.005:
            return full_width(code)
        if roll < 0.015:
            return f" {code} " if roll < 0.01 else f"{code} "
        return code

    def need(self, need: dict[str, object]) -> dict[str, object]:
        out: dict[str, object] = {}
        for name in self.style.need_fields:
            value = need.get(name, _ABSENT)
            if value is _ABSENT:
                continue
            if isinstance(value, Literal):
                out[name] = value.value
            elif name in ("raised_date", "resolved_date"):
                if value is None and self.style.omit_missing:
                    continue
                out[name] = self.date(value)
            elif name == "satisfaction" and value is None and self.style.omit_missing:
                continue
            else:
                out[name] = value
        return out

    def dumps(self, payload: dict[str, object]) -> str:
        separators = (",", ":") if self.style.compact else (", ", ": ")
        return json.dumps(payload, ensure_ascii=False, separators=separators)


def need_values(need: NeedRecord) -> dict[str, object]:
    return {
        "need_id": need.need_id,
        "category": need.category,
        "description": need.description,
        "status": need.status,
        "raised_date": need.raised,
        "resolved_date": need.resolved,
        "satisfaction": need.satisfaction,
    }


def visit_values(visit: Visit) -> dict[str, object]:
    firm = visit.firm
    return {
        "visit_id": visit.visit_id,
        "visit_date": visit.visit_date,
        "visitor_id": visit.visitor.staff_id,
        "visitor_name": visit.visitor.name,
        "visitor_role": visit.visitor.role,
        "area": visit.area.name,
        "park_name": firm.park.name,
        "uscc": firm.uscc,
        "enterprise_name": firm.name,
        "channel": visit.channel,
        "is_key_enterprise": firm.is_key,
        "needs": [need_values(need) for need in visit.needs],
    }


def _bad_date(rng: Random, day: date) -> str:
    return rng.choice(BAD_DATE_TEXTS).format(y=day.year, m=day.month, d=day.day)


class DefectApplier:
    """Breaks exactly one rule of a line's values (the kind's name says which)."""

    def __init__(self, rng: Random, need_sequence: Counter[date], known_parks: set[str]) -> None:
        self.rng = rng
        self.need_sequence = need_sequence
        self.unknown_parks = [name for name in UNKNOWN_PARK_NAMES if name not in known_parks]

    def made_up_need(self, visit_date: date) -> dict[str, object]:
        """A need for a need-rule defect on a line that reports none (fresh id, never reused)."""
        self.need_sequence[visit_date] += 1
        category = self.rng.choice(NEED_CATEGORIES)
        return need_values(
            NeedRecord(
                f"N{visit_date:%Y%m%d}{self.need_sequence[visit_date]:03d}",
                category,
                self.rng.choice(NEED_DESCRIPTIONS[category]),
                STATUS_OPEN,
                visit_date,
            )
        )

    def apply(
        self, kind: str, values: dict[str, object], visit: Visit, delivery: date, duplicate_of: str | None
    ) -> None:
        rng = self.rng
        visit_date = visit.visit_date
        if kind == "invalid_json":
            return  # the rendered line is truncated instead (LineRenderer output, see _render_file)
        if kind == "missing_visit_id":
            roll = rng.random()
            if roll < 0.4:
                del values["visit_id"]
            else:
                values["visit_id"] = Literal(None if roll < 0.7 else "")
        elif kind == "duplicate_visit_id":
            assert duplicate_of is not None
            values["visit_id"] = duplicate_of
        elif kind == "unparseable_visit_date":
            values["visit_date"] = Literal(_bad_date(rng, visit_date))
        elif kind == "visit_date_after_delivery":
            values["visit_date"] = delivery + timedelta(days=rng.randint(1, 10))
        elif kind == "unknown_visitor_role":
            values["visitor_role"] = rng.choice(UNKNOWN_ROLES)
        elif kind == "unknown_channel":
            values["channel"] = rng.choice(UNKNOWN_CHANNELS)
        elif kind == "unknown_park":
            values["park_name"] = rng.choice(self.unknown_parks)
        elif kind == "invalid_uscc":
            broken = rng.choice(("uscc_bad_final_check", "uscc_bad_org_check"))
            values["uscc"] = Literal(corrupt_uscc(broken, str(values["uscc"]), rng))
        elif kind == "is_key_not_boolean":
            values["is_key_enterprise"] = Literal(rng.choice(NOT_BOOLEANS))
        elif kind == "needs_not_list":
            needs = values["needs"]
            assert isinstance(needs, list)
            values["needs"] = Literal(rng.choice(("无", "人才:研发人员招聘困难", {"category": "其他"})))
            if needs and rng.random() < 0.5:
                values["needs"] = needs[0]  # one need object, not wrapped in a list
        elif kind in NEED_DEFECT_KINDS:
            needs = values["needs"]
            assert isinstance(needs, list)
            if not needs:
                needs.append(self.made_up_need(visit_date))
            self._break_need(kind, needs[0], visit_date)
        else:
            raise ValueError(f"unknown visit defect kind: {kind}")

    def _break_need(self, kind: str, need: dict[str, object], visit_date: date) -> None:
        rng = self.rng
        raised = need["raised_date"]
        assert isinstance(raised, date)
        if kind == "unknown_need_category":
            need["category"] = rng.choice(UNKNOWN_CATEGORIES)
        elif kind == "unknown_need_status":
            need["status"] = rng.choice(UNKNOWN_STATUSES)
            need["resolved_date"] = None
            need["satisfaction"] = None
        elif kind == "resolved_without_date":
            need["status"] = STATUS_RESOLVED
            roll = rng.random()
            if roll < 0.5:
                del need["resolved_date"]
            else:
                need["resolved_date"] = Literal(None if roll < 0.75 else "")
        elif kind == "resolved_before_raised":
            need["status"] = STATUS_RESOLVED
            need["resolved_date"] = raised - timedelta(days=rng.randint(1, 10))
        elif kind == "satisfaction_out_of_range":
            if need["status"] != STATUS_RESOLVED:
                need["status"] = STATUS_RESOLVED
                need["resolved_date"] = visit_date
            need["satisfaction"] = rng.choice(BAD_SATISFACTION)
        elif kind == "satisfaction_not_resolved":
            if need["status"] == STATUS_RESOLVED:
                need["status"] = rng.choice((STATUS_OPEN, STATUS_IN_PROGRESS))
                need["resolved_date"] = None
            need["satisfaction"] = rng.randint(1, 5)
        elif kind == "raised_after_visit":
            need["raised_date"] = visit_date + timedelta(days=rng.randint(1, 5))
            if need["status"] == STATUS_RESOLVED:
                need["resolved_date"] = need["raised_date"]
        else:
            raise ValueError(f"not a need defect: {kind}")


# --- summary -------------------------------------------------------------------------------------


@dataclass
class NeedState:
    need_id: str
    category: str
    description: str
    raised: date
    uscc: str
    park: str
    status: str
    resolved: date | None
    records: int


@dataclass
class VisitSummary(FeedSummary):
    settings: VisitSettings | None = None
    #: Loadable visits (valid line in an accepted file, first delivery of its bytes).
    loadable_visits: int = 0
    visits_by_date: Counter[date] = field(default_factory=Counter)
    weekly_visits: dict[tuple[date, str], int] = field(default_factory=dict)  # (ISO Monday, visitor_id)
    visitor_roles: dict[str, str] = field(default_factory=dict)
    needs: dict[str, NeedState] = field(default_factory=dict)
    burst_week: date | None = None
    burst_firms: int = 0
    key_coverage: list[KeyCoverage] = field(default_factory=list)
    unknown_firm_visits: int = 0


# --- writing -------------------------------------------------------------------------------------


def file_name(delivery: date, sequence: int) -> str:
    return f"visits_{delivery:%Y%m%d}_{sequence:02d}.jsonl"


def plan_file_defects(settings: VisitSettings) -> dict[date, str]:
    """Each file defect once, on deterministic days after the first two (those carry few lines)."""
    if settings.days < MIN_DAYS_FOR_FILE_DEFECTS:
        return {}
    rng = Random(f"{settings.seed}|visit-file-defects|{settings.start}|{settings.end}")
    offsets = rng.sample(range(3, settings.days), 3)
    kinds = (FILE_UNDECODABLE, FILE_REDELIVERY, FILE_CORRECTED)
    return {settings.start + timedelta(days=offset): kind for offset, kind in zip(offsets, kinds, strict=True)}


def _assign_deliveries(settings: VisitSettings, visit_date: date, visits: list[Visit]) -> Iterator[tuple[date, Visit]]:
    """(delivery day, visit) for the visits of one date that are delivered within the range."""
    rng = Random(f"{settings.seed}|visit-delivery|{visit_date}")
    for visit in visits:
        lag = 1 if visit.purpose == "burst" else rng.choices(DELIVERY_LAGS, weights=DELIVERY_LAG_WEIGHTS, k=1)[0]
        delivery = visit_date + timedelta(days=lag)
        if delivery <= settings.end:
            yield delivery, visit


def _plan_delivery(
    settings: VisitSettings, day: date, visits: list[Visit], defect: str | None
) -> list[PlannedVisitFile]:
    """The files of one delivery day and which of its visits each carries."""
    rng = Random(f"{settings.seed}|visit-files|{day}")
    count = rng.choices(FILE_COUNTS, weights=FILE_COUNT_WEIGHTS, k=1)[0]
    if not visits:
        count = 1  # the export still runs and writes an empty file (the first day of a range)
    encodings = rng.choices(ENCODINGS, weights=ENCODING_WEIGHTS, k=count)
    day_files = [PlannedVisitFile(file_name(day, i + 1), day, encodings[i]) for i in range(count)]
    rejected = None
    if defect == FILE_UNDECODABLE:
        rejected = PlannedVisitFile(file_name(day, count + 1), day, "utf-8", file_defect=FILE_UNDECODABLE)
    for visit in sorted(visits, key=lambda v: (v.visit_date, v.sequence)):
        if rejected is not None and rng.random() < REJECTED_FILE_SHARE:
            target = rejected
        else:
            target = day_files[rng.randrange(count)]
        target.lines.append(VisitLine(visit, day))
    if rejected is not None and not rejected.lines:
        # An empty file cannot be made undecodable: it takes one visit, or (a day without
        # visits, in a sparse range) the defect is left out.
        donor = next((f for f in day_files if f.lines), None)
        if donor is not None:
            rejected.lines.append(donor.lines.pop())
    if rejected is not None and rejected.lines:
        day_files.append(rejected)
    return day_files


class _DefectDeck:
    """One kind per defective line, in delivery order (the pipeline's load order), file by file.

    A ``duplicate_visit_id`` line repeats the id of a valid line loaded before it: an earlier
    valid line of the same file when there is one, else the last valid line of an earlier file,
    so the pipeline quarantines the repeat and never the original.
    """

    def __init__(self, settings: VisitSettings) -> None:
        self.dealer = KindDealer(settings.seed, "visit-defects", settings.defect_rate, ROW_DEFECT_KINDS)
        self.rng = Random(f"{settings.seed}|visit-duplicates")
        self.last_valid_id: str | None = None

    def deal(self, planned: PlannedVisitFile) -> None:
        if planned.rejected:
            return
        valid_in_file: list[str] = []
        for line in planned.lines:
            kind = self.dealer.next()
            if kind == "duplicate_visit_id":
                source = self.rng.choice(valid_in_file[-20:]) if valid_in_file else self.last_valid_id
                if source is None:
                    self.dealer.give_back(kind)
                    kind = None
                else:
                    line.duplicate_of = source
            line.defect = kind
            if kind is None:
                valid_in_file.append(line.visit.visit_id)
                self.last_valid_id = line.visit.visit_id


def _render_file(
    settings: VisitSettings, planned: PlannedVisitFile, need_sequence: Counter[date], known_parks: set[str]
) -> bytes:
    rng = Random(f"{settings.seed}|visit-render|{planned.delivery}|{planned.name}")
    planned.style = draw_json_style(rng, planned.encoding)
    renderer = LineRenderer(planned.style, rng)
    applier = DefectApplier(rng, need_sequence, known_parks)
    for line in planned.lines:
        values = visit_values(line.visit)
        if line.defect:
            applier.apply(line.defect, values, line.visit, planned.delivery, line.duplicate_of)
        line.payload = renderer.payload(values)
        text = renderer.dumps(line.payload)
        if line.defect == "invalid_json":
            text = text[: rng.randint(len(text) // 3, len(text) - 2)]  # a truncated object never parses
        line.text = text
    return _encode(planned, [line.text for line in planned.lines])


def _encode(planned: PlannedVisitFile, texts: list[str]) -> bytes:
    assert planned.style is not None
    terminator = planned.style.line_terminator
    return "".join(text + terminator for text in texts).encode(planned.style.encoding)


#: Redeliveries copy a file delivered at most this many days before: the writer keeps those.
REDELIVERY_WINDOW_DAYS = 5


def write_visits(settings: VisitSettings, history: KnownFirmHistory | None = None) -> VisitSummary:
    """Simulate and write every delivery day of the range; return what was written.

    Streams: delivery day D is complete once visit date D - 1 is simulated (the lag is at least
    one day), so it is planned, dealt its defects, rendered, written and tallied right then. Only
    the last ``REDELIVERY_WINDOW_DAYS`` days of files stay in memory (a redelivery copies one),
    and the ledger keeps counts and the latest record per need, not the visits.
    """
    started = time.perf_counter()
    history = history or KnownFirmHistory.replay(settings.registration_settings())
    simulation = VisitSimulation(settings, history)
    writer = _VisitWriter(settings, simulation, {park.name for park in history.ref.parks})
    pending: dict[date, list[Visit]] = defaultdict(list)
    for visit_date, visits in simulation.days():
        for delivery, visit in _assign_deliveries(settings, visit_date, visits):
            pending[delivery].append(visit)
        writer.deliver_through(visit_date + timedelta(days=1), pending)
    writer.deliver_through(settings.end, pending)
    summary = writer.finish()
    summary.elapsed_seconds = time.perf_counter() - started
    summary.notes = visit_notes(summary, simulation)
    return summary


class _VisitWriter:
    """Writes delivery days in order as the simulation completes them (see ``write_visits``)."""

    def __init__(self, settings: VisitSettings, simulation: VisitSimulation, known_parks: set[str]) -> None:
        self.settings = settings
        self.simulation = simulation
        self.known_parks = known_parks
        self.file_defects = plan_file_defects(settings)
        self.deck = _DefectDeck(settings)
        self.next_day = settings.start
        self.recent: deque[tuple[PlannedVisitFile, bytes]] = deque()  # the redelivery window
        self.used_sources: set[str] = set()
        self.redelivered: list[FeedFile] = []  # listed after the first deliveries, as always
        self.ledger = _Ledger()
        self.summary = VisitSummary(
            feed=FEED,
            headline=(
                f"visits {settings.start}..{settings.end} seed={settings.seed} defect_rate={settings.defect_rate} "
                f"staff_scale={settings.staff_scale} needs_per_day={settings.needs_per_day} "
                f"-> {settings.landing / FEED}"
            ),
            row_defect_kinds=ROW_DEFECT_KINDS,
            row_unit="lines",
            settings=settings,
        )

    def deliver_through(self, last: date, pending: dict[date, list[Visit]]) -> None:
        while self.next_day <= min(last, self.settings.end):
            self._deliver(self.next_day, pending.pop(self.next_day, []))
            self.next_day += timedelta(days=1)

    def _deliver(self, day: date, visits: list[Visit]) -> None:
        settings = self.settings
        summary = self.summary
        folder = settings.landing / FEED / day.isoformat()
        written: set[str] = set()
        while self.recent and self.recent[0][0].delivery < day - timedelta(days=REDELIVERY_WINDOW_DAYS):
            self.recent.popleft()
        for planned in _plan_delivery(settings, day, visits, self.file_defects.get(day)):
            self.deck.deal(planned)
            data = _render_file(settings, planned, self.simulation.need_sequence, self.known_parks)
            if planned.rejected:
                data = corrupt_encoding(data, Random(f"{settings.seed}|visit-undecodable|{planned.name}"))
            write_file(folder / planned.name, data)
            written.add(planned.name)
            row_defects = Counter(line.defect for line in planned.lines if line.defect)
            summary.row_defects.update(row_defects)
            summary.files.append(
                FeedFile(
                    path=f"{FEED}/{day.isoformat()}/{planned.name}",
                    file_format=f"jsonl-{planned.encoding}",
                    rows=len(planned.lines),
                    file_defect=planned.file_defect,
                    row_defects=row_defects,
                )
            )
            self.ledger.add(summary, planned)
            self.recent.append((planned, data))
        kind = self.file_defects.get(day)
        if kind in (FILE_REDELIVERY, FILE_CORRECTED):
            name = self._redeliver(day, kind)
            if name is not None:
                written.add(name)
        summary.removed_stale_files += clean_folder(folder, written, FILE_PATTERN)

    def _redeliver(self, day: date, kind: str) -> str | None:
        """The byte-identical copy of an earlier file, or the corrected redelivery: an earlier file
        under the same name in a later folder with one valid line's channel corrected."""
        settings = self.settings
        rng = Random(f"{settings.seed}|visit-redelivery|{day}")
        candidates = [
            (planned, data)
            for planned, data in self.recent
            if not planned.rejected
            and day - timedelta(days=REDELIVERY_WINDOW_DAYS) <= planned.delivery < day
            and planned.name not in self.used_sources
            and any(line.defect is None and not line.visit.needs for line in planned.lines)
        ]
        if not candidates:
            return None
        source, source_data = rng.choice(candidates)
        self.used_sources.add(source.name)
        data = source_data if kind == FILE_REDELIVERY else _corrected(source, rng)
        write_file(settings.landing / FEED / day.isoformat() / source.name, data)
        self.redelivered.append(
            FeedFile(
                path=f"{FEED}/{day.isoformat()}/{source.name}",
                file_format=f"jsonl-{source.encoding}",
                rows=len(source.lines),
                file_defect=kind,
                row_defects=Counter(line.defect for line in source.lines if line.defect),
            )
        )
        return source.name

    def finish(self) -> VisitSummary:
        summary = self.summary
        summary.files.extend(self.redelivered)
        self.ledger.close(summary, self.simulation)
        return summary


def _corrected(source: PlannedVisitFile, rng: Random) -> bytes:
    """The source file again, same style and encoding, with one valid line's channel corrected
    (a line without needs, so the need histories are the same in both versions)."""
    assert source.style is not None
    candidates = [i for i, line in enumerate(source.lines) if line.defect is None and not line.visit.needs]
    index = rng.choice(candidates)
    line = source.lines[index]
    assert line.payload is not None
    payload = dict(line.payload)
    payload["channel"] = CHANNEL_PHONE if payload.get("channel") == CHANNEL_ON_SITE else CHANNEL_ON_SITE
    texts = [other.text for other in source.lines]
    texts[index] = LineRenderer(source.style, rng).dumps(payload)
    return _encode(source, texts)


class _Ledger:
    """What the pipeline will hold: valid lines of accepted files (redelivered bytes add nothing).

    Fed file by file in load order; per need it keeps only the latest record so far and how many
    there were (the pipeline's "latest record wins"), never the visits themselves.
    """

    def __init__(self) -> None:
        # need_id -> (load order, the record, uscc, park); insertion order = first appearance
        self.latest: dict[str, tuple[tuple, NeedRecord, str, str]] = {}
        self.records: Counter[str] = Counter()

    def add(self, summary: VisitSummary, planned: PlannedVisitFile) -> None:
        if planned.rejected:
            return
        for row, line in enumerate(planned.lines, start=1):
            if line.defect is not None:
                continue
            visit = line.visit
            summary.loadable_visits += 1
            summary.visits_by_date[visit.visit_date] += 1
            monday = visit.visit_date - timedelta(days=visit.visit_date.weekday())
            key = (monday, visit.visitor.staff_id)
            summary.weekly_visits[key] = summary.weekly_visits.get(key, 0) + 1
            summary.visitor_roles[visit.visitor.staff_id] = visit.visitor.role
            if not visit.firm.registered:
                summary.unknown_firm_visits += 1
            for position, need in enumerate(visit.needs):
                order = (visit.visit_date, planned.delivery, planned.name, row, position)
                self.records[need.need_id] += 1
                current = self.latest.get(need.need_id)
                if current is None or order > current[0]:
                    self.latest[need.need_id] = (order, need, visit.firm.uscc, visit.firm.park.name)

    def close(self, summary: VisitSummary, simulation: VisitSimulation) -> None:
        for need_id, (_, latest, uscc, park) in self.latest.items():
            summary.needs[need_id] = NeedState(
                need_id=need_id,
                category=latest.category,
                description=latest.description,
                raised=latest.raised,
                uscc=uscc,
                park=park,
                status=latest.status,
                resolved=latest.resolved,
                records=self.records[need_id],
            )
        summary.burst_week = simulation.burst_monday
        if simulation.burst_monday is not None:
            window_end = simulation.burst_monday + timedelta(days=6)
            summary.burst_firms = len(
                {
                    state.uscc
                    for state in summary.needs.values()
                    if state.description == BURST_DESCRIPTION and simulation.burst_monday <= state.raised <= window_end
                }
            )
        summary.key_coverage = simulation.key_coverage


def visit_notes(summary: VisitSummary, simulation: VisitSimulation) -> list[str]:
    settings = summary.settings
    assert settings is not None
    notes = []
    first, last = simulation.first_day, simulation.last_day
    visit_days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    working = [day for day in visit_days if is_workday(day)]
    working_visits = sum(summary.visits_by_date[day] for day in working)
    off_visits = summary.loadable_visits - working_visits
    roster_counts = Counter(member.role for member in simulation.roster.staff)
    notes.append(
        "roster: "
        + ", ".join(f"{role} {roster_counts[role]}" for role in ROLES)
        + f" (staff_scale {settings.staff_scale})"
    )
    if working:
        notes.append(
            f"loadable visits {summary.loadable_visits:,}: {working_visits / len(working):.0f} per working day "
            f"({len(working)} days), {off_visits} on off days; to unregistered firms {summary.unknown_firm_visits}"
        )
    full_weeks = {
        monday
        for monday, _ in summary.weekly_visits
        if monday >= first
        and monday + timedelta(days=6) <= last
        and sum(is_workday(monday + timedelta(days=i)) for i in range(7)) >= 5
    }
    for role in ROLES:
        counts = [
            count
            for (monday, visitor), count in summary.weekly_visits.items()
            if monday in full_weeks and summary.visitor_roles[visitor] == role
        ]
        if counts:
            in_band = sum(3 <= c <= 4 for c in counts) / len(counts)
            notes.append(
                f"{role}: {statistics.mean(counts):.2f} visits per visitor-week over {len(full_weeks)} full weeks"
                + (
                    f", {in_band:.0%} of weeks with 3-4, {sum(c >= 3 for c in counts) / len(counts):.0%} >= 3"
                    if role == ROLE_AREA_HEAD
                    else ""
                )
            )
    needs = list(summary.needs.values())
    if needs:
        burst = {
            n.need_id
            for n in needs
            if n.description == BURST_DESCRIPTION
            and summary.burst_week
            and summary.burst_week <= n.raised <= summary.burst_week + timedelta(days=6)
        }
        baseline = len(needs) - len(burst)
        resolved = [(n.resolved - n.raised).days for n in needs if n.status == STATUS_RESOLVED and n.resolved]
        open_share = sum(n.status != STATUS_RESOLVED for n in needs) / len(needs)
        statuses = Counter(n.status for n in needs)
        notes.append(
            f"needs {len(needs)}: {baseline / settings.days:.2f} per calendar day besides the burst "
            f"(target {settings.needs_per_day}); status at the end "
            + ", ".join(f"{s} {statuses[s]}" for s in STATUSES)
            + f"; open {open_share:.0%}; median days to resolve {statistics.median(resolved) if resolved else '-'}"
        )
    if summary.burst_week:
        notes.append(
            f"burst: {summary.burst_firms} firms raised {BURST_CATEGORY} {BURST_DESCRIPTION} in the week of "
            f"{summary.burst_week}"
        )
    for coverage in summary.key_coverage:
        notes.append(
            f"key firms {coverage.quarter:%Y}Q{(coverage.quarter.month - 1) // 3 + 1} (to {coverage.through}): "
            f"{coverage.visited}/{coverage.key_firms} visited = {coverage.percent:.0f}%"
        )
    return notes


def format_visit_summary(summary: VisitSummary) -> str:
    return format_feed_summary(summary)
