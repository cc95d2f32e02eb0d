"""Generated landing data for tests, through the generator's CLI as the Makefile uses it."""

from __future__ import annotations

import csv
import datetime as dt
import subprocess
import sys
from pathlib import Path


def generate_registrations(
    root: Path, first: dt.date, last: dt.date, *, seed: int = 7, defect_rate: float = 0.02
) -> Path:
    """Write registration files for delivery days first..last under ``root``; returns ``root``."""
    command = [sys.executable, "-m", "parkops_tools.generator", "registrations", "--landing", str(root)]
    command += ["--from", first.isoformat(), "--to", last.isoformat()]
    command += ["--seed", str(seed), "--defect-rate", str(defect_rate)]
    subprocess.run(command, check=True, capture_output=True)
    return root


#: The registrations CSV header of sources.md, in contract order.
REGISTRATION_HEADERS = [
    "统一社会信用代码",
    "企业名称",
    "事件类型",
    "事件日期",
    "成立日期",
    "企业类型",
    "注册资本（万元）",
    "币种",
    "行业代码",
    "所属园区",
    "注册地址",
    "法定代表人",
    "联系电话",
    "资质标签",
    "参保人数",
]


def numbered_uscc(number: int, *, bad: bool = False) -> str:
    """A valid code of an enterprise in 浦东 numbered ``number``; ``bad``: its check character wrong."""
    from support.independent import build_uscc

    code = build_uscc(f"91310115MA{number:06d}")
    return code[:17] + ("0" if code[17] != "0" else "1") if bad else code


def write_registration_delivery(
    landing: Path,
    delivery: dt.date,
    name: str,
    numbers: range,
    *,
    bad: set[int] = frozenset(),
    enterprise_name: str = "上海张江测试{number}科技有限公司",
) -> Path:
    """A hand-written registrations CSV: one valid 设立 of a tech firm per number, dated the day
    before ``delivery``; the numbers in ``bad`` carry a wrong USCC check character (uscc_invalid)."""
    folder = landing / "registrations" / delivery.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    event = (delivery - dt.timedelta(days=1)).isoformat()
    path = folder / name
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(REGISTRATION_HEADERS)
        for number in numbers:
            writer.writerow(
                [
                    numbered_uscc(number, bad=number in bad),
                    enterprise_name.format(number=number),
                    "设立",
                    event,
                    event,
                    "有限责任公司（自然人投资或控股）",
                    "500",
                    "人民币",
                    "6520",
                    "张江核心园",
                    "上海市浦东新区张江路1号",
                    "张三",
                    "13800000000",
                    "高新技术企业",
                    "12",
                ]
            )
    return path
