"""Writes the synthetic 12345 work-order exports in this folder (run from the repository root:
`python tests/data/hotline/make_files.py`). Every name, number and event in them is made up."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).resolve().parent
HEADER = [
    "工单编号",
    "来电时间",
    "来电内容",
    "来电人",
    "联系电话",
    "所属区域",
    "诉求类型",
    "受理坐席",
    "回访要求",
]
ROWS = [
    [
        "GD20261102000101",
        "2026-11-02 09:15:32",
        "反映东升村包玉兰家的低保金九月、十月两个月没有到账，去镇里问说系统问题，希望尽快补发。",
        "包玉兰",
        "13904761111",
        "巴林左旗林东镇东升村",
        "社会救助-低保金发放",
        "0371号",
        "需回访",
    ],
    [
        "GD20261103000207",
        "2026/11/3 14:20",
        "来电人称其本人低保被取消，村里没有入户调查也没有公示，要求说明取消依据。",
        "张三丰",
        "13904762222",
        "林东镇东升村三组",
        "低保资格认定",
        "0412号",
        "需回访",
    ],
    [
        "GD20261105000318",
        "2026-11-05 10:02:11",
        "匿名反映某村干部的亲属享受低保，家里有两套楼房和一辆轿车，属于关系保。",
        "",
        "",
        "林东镇",
        "投诉举报",
        "0371号",
        "不需回访",
    ],
]


def main() -> None:
    """Writes the CSV files (three encodings), an XLSX with an ID column, and a file with bad rows."""
    text = "\n".join(",".join(_quote(c) for c in row) for row in [HEADER, *ROWS]) + "\n"
    (HERE / "orders_utf8.csv").write_text(text, encoding="utf-8")
    (HERE / "orders_gbk.csv").write_bytes(text.encode("gb18030"))
    # with a byte-order mark, as Excel writes "Unicode text"
    (HERE / "orders_utf16.csv").write_bytes(text.encode("utf-16"))
    bom_header = ["工单号", "受理时间", "诉求内容", "诉求人", "联系方式", "地址", "工单类型"]
    bom = "\n".join(",".join(_quote(c) for c in row[:7]) for row in [bom_header, *ROWS]) + "\n"
    (HERE / "orders_bom.csv").write_bytes(b"\xef\xbb\xbf" + bom.encode("utf-8"))
    wb = Workbook()
    ws = wb.active
    ws.append(["工单编号", "来电时间", "诉求内容", "诉求人", "联系电话", "地址", "诉求类型", "身份证号"])
    ws.append(
        [
            "GD20261110000455",
            datetime(2026, 11, 10, 16, 45),
            "来电反映低保金被村会计代领，要求核查。",
            "王五",
            "13904763333",
            "林东镇",
            "低保金发放",
            "{ID}",
        ]
    )
    ws.append(
        [
            "GD20261110000456",
            datetime(2026, 11, 10, 17, 1),
            '=HYPERLINK("http://x")咨询低保申请条件',
            "",
            "",
            "",
            "政策咨询",
            "",
        ]
    )
    wb.save(HERE / "orders.xlsx")
    bad = [
        HEADER,
        [
            "GD20261120000001",
            "2026-11-20 08:00",
            "反映低保评议没有开会。",
            "赵六",
            "13904764444",
            "东升村",
            "低保资格认定",
            "",
            "",
        ],
        ["", "2026-11-20 08:05", "没有工单编号的一行。", "赵六", "13904764444", "东升村", "", "", ""],
        ["GD20261120000003", "2026-11-20 08:10", "   ", "赵六", "13904764444", "东升村", "", "", ""],
        [
            "GD20261120000001",
            "2026-11-20 08:15",
            "同一工单又出现一次。",
            "赵六",
            "13904764444",
            "东升村",
            "",
            "",
            "",
        ],
        ["GD20261120000005", "昨天上午", "来电时间写错了。", "赵六", "13904764444", "东升村", "", "", ""],
        ["GD20261120000006", "2026-11-20 08:30", "电话号码写错了。", "赵六", "12345", "东升村", "", "", ""],
        [
            "GD20261120000007",
            "2026-11-20 08:35",
            "反映南河村低保户问题。",
            "孙七",
            "13904765555",
            "林西县南河村",
            "",
            "",
            "",
        ],
    ]
    (HERE / "orders_bad.csv").write_text(
        "\n".join(",".join(_quote(c) for c in row) for row in bad) + "\n", encoding="utf-8"
    )


def _quote(cell: str) -> str:
    return '"' + cell.replace('"', '""') + '"' if any(ch in cell for ch in ',"\n') else cell


if __name__ == "__main__":
    main()
