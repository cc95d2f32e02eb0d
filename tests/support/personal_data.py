"""Landing files holding personal data in held deliveries (tests of who sees it, and where).

Visit lines whose needs are free text (a name, a mobile number, an ID number) instead of a list,
and registrations whose 统一社会信用代码 holds an ID number, with 法定代表人 and 联系电话 filled in:
6 of 10 rows of each delivery are quarantined, so the quality gate holds both.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

from support.independent import build_uscc
from support.landing import REGISTRATION_HEADERS

DELIVERY = dt.date(2025, 3, 10)
NAME, MOBILE, ID_NUMBER = "李秀英", "13912345678", "31011519850302123X"
PHONE_OF_REPRESENTATIVE, REPRESENTATIVE = "13787654321", "赵建国"
PERSONAL = (NAME, MOBILE, ID_NUMBER, PHONE_OF_REPRESENTATIVE, REPRESENTATIVE)
FREE_TEXT_NEEDS = f"{NAME}反映用工难，电话{MOBILE}，身份证{ID_NUMBER}"


def visit_line(number: int, needs: object) -> str:
    visit = {
        "visit_id": f"V20250309{number:05d}",
        "visit_date": "2025-03-09",
        "visitor_id": "S0107",
        "visitor_name": NAME,
        "visitor_role": "片长",
        "area": "张江中区",
        "park_name": "张江核心园",
        "uscc": build_uscc(f"91310115MA{number:06d}"),
        "enterprise_name": f"上海张江测试{number}科技有限公司",
        "channel": "上门走访",
        "is_key_enterprise": True,
        "needs": needs,
    }
    return json.dumps(visit, ensure_ascii=False)


def write_personal_landing(root: Path) -> Path:
    """The visits and registrations deliveries of :data:`DELIVERY` under ``root``; returns ``root``."""
    visits = root / "visits" / DELIVERY.isoformat()
    visits.mkdir(parents=True)
    lines = [visit_line(number, FREE_TEXT_NEEDS if number <= 6 else []) for number in range(1, 11)]
    (visits / "visits_20250310.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    registrations = root / "registrations" / DELIVERY.isoformat()
    registrations.mkdir(parents=True)
    with (registrations / "reg_20250310_01.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(REGISTRATION_HEADERS)
        for number in range(1, 11):
            code = ID_NUMBER if number <= 6 else build_uscc(f"91310115MA{number:06d}")
            firm = f"上海张江测试{number}科技有限公司"
            contacts = [REPRESENTATIVE, PHONE_OF_REPRESENTATIVE]
            event = [code, firm, "设立", "2025-03-09", "2025-03-09", "有限责任公司", "500", "人民币", "6520"]
            writer.writerow([*event, "张江核心园", "上海市浦东新区张江路1号", *contacts, "高新技术企业", "12"])
    return root
