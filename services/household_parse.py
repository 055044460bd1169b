"""Parsing a large register file in a second process while the first one writes.

The parser process reads and validates the rows and hands them over in batches through a bounded
queue (so at most QUEUE_BATCHES × BATCH_ROWS parsed rows are in flight: memory stays flat); the
importing process groups, encrypts and writes them in its own transaction. A refusal found by the
parser (a malformed file, too many rows) is raised in the importing process as the same error.
"""

from __future__ import annotations

import multiprocessing as mp
import queue
from collections.abc import Iterator
from typing import Any

from services.errors import TooLarge, ValidationFailed
from services.household_reader import read_again
from services.household_validate import Parsed, RowError, Validator

PARALLEL_MIN_BYTES = 1_000_000  # below about 10,000 rows starting a process costs more than it saves
BATCH_ROWS = 2000
QUEUE_BATCHES = 4
_POLL_S = 2.0

Batch = tuple[int, list[Parsed], list[RowError]]  # non-empty rows so far, valid rows, errors


def blank(row: list[object]) -> bool:
    """Whether a row has no value at all (skipped, not counted)."""
    # any() settles the usual row at C speed; a row of falsy values gets the exact test
    return not any(row) and not any(v not in (None, "") for v in row)


def _produce(
    data: bytes,
    filename: str,
    mapping: dict[str, int],
    villages: dict[str, str],
    has_members: bool,
    max_rows: int,
    out: Any,
) -> None:
    """The parser process: batches of checked rows, then ("end",) or the reason it stopped."""
    try:
        validator = Validator(villages, has_members)
        parse = validator.parse
        count = 0
        batch: list[Parsed] = []
        for rownum, row in enumerate(read_again(data, filename), start=2):
            if blank(row):
                continue
            count += 1
            if count > max_rows:
                out.put(("too_large",))
                return
            p = parse(rownum, row, mapping)
            if p is not None:
                batch.append(p)
            if count % BATCH_ROWS == 0:
                out.put(("rows", count, batch, validator.errors))
                batch, validator.errors = [], []
        out.put(("rows", count, batch, validator.errors))
        out.put(("end",))
    except ValidationFailed as exc:
        out.put(("refused", exc.code, exc.params))
    except Exception as exc:  # reported to the importing process, which fails the import with it
        out.put(("crashed", f"{type(exc).__name__}: {exc}"))


def parsed_batches(
    data: bytes,
    filename: str,
    mapping: dict[str, int],
    villages: dict[str, str],
    has_members: bool,
    max_rows: int,
) -> Iterator[Batch]:
    """The file's checked rows in batches, parsed in a second process.

    The process is forked where the platform can (it inherits the file and the villages instead of
    receiving copies, and starts in milliseconds); it only parses, puts batches on the queue and
    leaves with os._exit, so it never touches the database connections it inherits.
    """
    ctx: Any = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    out = ctx.Queue(maxsize=QUEUE_BATCHES)
    proc = ctx.Process(
        target=_produce,
        args=(data, filename, mapping, villages, has_members, max_rows, out),
        name="feijian-register-parser",
        daemon=True,
    )
    proc.start()
    try:
        while True:
            try:
                msg = out.get(timeout=_POLL_S)
            except queue.Empty:
                if not proc.is_alive():
                    raise RuntimeError(f"the register parser stopped (exit code {proc.exitcode})") from None
                continue
            kind = msg[0]
            if kind == "rows":
                yield msg[1], msg[2], msg[3]
            elif kind == "end":
                return
            elif kind == "too_large":
                raise TooLarge(limit=f"{max_rows} rows")
            elif kind == "refused":
                raise ValidationFailed(msg[1], **msg[2])
            else:
                raise RuntimeError(f"the register parser failed: {msg[1]}")
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join()
        out.close()
        out.cancel_join_thread()
