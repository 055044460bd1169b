"""Benchmark: import a 12345 work-order export (BENCH_ROWS rows, default 2000) into SQLite, with
households to match by name + village among BENCH_HOUSEHOLDS (default 5000) in 50 villages.

Prints one JSON line: rows, seconds, rows per second, how many matched and how many wait for a confirm.
"""

from __future__ import annotations

import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("FEIJIAN_PII_KEY", "ZmVpamlhbi1iZW5jaC1waWkta2V5LTMyLWJ5dGVzISE=")
os.environ.setdefault("FEIJIAN_SECRET_KEY", "ZmVpamlhbi1iZW5jaC1zZWNyZXQta2V5LTMyYnl0ZSE=")

ROWS = int(os.environ.get("BENCH_ROWS", "2000"))
HOUSEHOLDS = int(os.environ.get("BENCH_HOUSEHOLDS", "5000"))
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "建国秀英玉兰海燕志强春花桂芳红梅德明淑珍丽华永刚"


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))


def main() -> None:
    """Seeds the register, writes the export, imports it once, and prints the figures."""
    from sqlmodel import Session

    from models.db import make_engine
    from models.migrate import upgrade
    from models.region import Region
    from services import case_import
    from services.config import Settings
    from services.context import Actor
    from tests.factories import ensure_regions, make_household

    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.sqlite"
        upgrade(url)
        engine = make_engine(url)
        villages = [f"150422100{200 + i:03d}" for i in range(50)]
        heads: list[tuple[str, str]] = []
        with Session(engine) as s:
            for i, code in enumerate(villages):
                ensure_regions(s, code)
                region = s.get(Region, code)
                assert region is not None
                region.name = f"第{i + 1}村"
                s.add(region)
            for i in range(HOUSEHOLDS):
                code = villages[i % len(villages)]
                name = _name(rng)
                make_household(s, f"LB{i:06d}", village=code, head_name=name, phone=None)
                heads.append((name, f"第{i % len(villages) + 1}村"))
            s.commit()
        lines = ["工单编号,来电时间,来电内容,来电人,联系电话,所属区域,诉求类型"]
        for i in range(ROWS):
            name, village = rng.choice(heads)
            phone = f"1390476{i % 10000:04d}"
            lines.append(
                f"GD{i:012d},2026-11-02 09:15,反映低保金没有到账,{name},{phone},林东镇{village},低保金发放"
            )
        data = ("\n".join(lines) + "\n").encode("gb18030")
        with Session(engine) as s:
            start = time.perf_counter()
            result = case_import.import_cases(
                s, Settings(env="test"), Actor.system("bench"), data, "12345.csv"
            )
            s.commit()
            seconds = time.perf_counter() - start
        engine.dispose()
    print(
        json.dumps(
            {
                "rows": ROWS,
                "households": HOUSEHOLDS,
                "seconds": round(seconds, 2),
                "rows_per_s": round(ROWS / seconds, 1),
                "created": result.created,
                "matched": result.matched,
                "to_confirm": result.to_confirm,
            }
        )
    )


if __name__ == "__main__":
    main()
