"""Parsing a large register file in a second process while the first one writes.

The parser process reads, validates and encrypts the rows (under the importer's current key) and
hands them over in batches through a bounded queue (so at most QUEUE_BATCHES × BATCH_ROWS parsed
rows are in flight: memory stays flat); the importing process groups and writes them in its own
transaction. A refusal found by the
parser (a malformed file, too many rows) is raised in the importing process as the same error.
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import queue
from collections.abc import Generator
from typing import Any

from services.errors import TooLarge, ValidationFailed
from services.household_reader import read_again
from services.household_validate import Parsed, RowError, Validator
from services.pii import PiiCipher

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
    key: tuple[bytes, bytes, str],
    out: Any,
) -> None:
    """The parser process: batches of checked, encrypted rows, then ("end",) or why it stopped."""
    gc.disable()  # this process only parses: see household_import.gc_paused
    try:
        cipher = PiiCipher(*key)
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
                out.put(("rows", count, seal(batch, cipher), validator.errors))
                batch, validator.errors = [], []
        out.put(("rows", count, seal(batch, cipher), validator.errors))
        out.put(("end",))
    except ValidationFailed as exc:
        out.put(("refused", exc.code, exc.params))
    except Exception as exc:  # reported to the importing process, which fails the import with it
        out.put(("crashed", f"{type(exc).__name__}: {exc}"))


def seal(batch: list[Parsed], cipher: PiiCipher) -> list[Parsed]:
    """Encrypts and hashes a batch's personal identifiers ahead of the writer (which uses them as
    they are: `sealed` on the household data and on a member)."""
    head_ids = [p.data["head_id"] for p in batch]
    phones = [p.data["phone"] for p in batch]
    columns = zip(
        cipher.encrypt_many(head_ids),
        cipher.lookup_hash_many(head_ids),
        cipher.encrypt_many(phones),
        cipher.lookup_hash_many(phones),
        cipher.encrypt_many([p.data["bank"] for p in batch]),
        strict=True,
    )
    for p, sealed in zip(batch, columns, strict=True):
        p.data["sealed"] = sealed
    members = [p.member for p in batch if p.member is not None]
    ids = [m["id"] for m in members]
    for m, enc, digest in zip(members, cipher.encrypt_many(ids), cipher.lookup_hash_many(ids), strict=True):
        m["sealed"] = (enc, digest)
    return batch


def parsed_batches(
    data: bytes,
    filename: str,
    mapping: dict[str, int],
    villages: dict[str, str],
    has_members: bool,
    max_rows: int,
    cipher: PiiCipher,
) -> Generator[Batch, None, None]:
    """The file's checked rows in batches, parsed in a second process.

    The process is forked where the platform can (it inherits the file and the villages instead of
    receiving copies, and starts in milliseconds); it only parses, puts batches on the queue and
    leaves with os._exit, so it never touches the database connections it inherits.
    """
    ctx: Any = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    out = ctx.Queue(maxsize=QUEUE_BATCHES)
    key = (cipher.enc_key, cipher.mac_key, cipher.key_id)  # the writer's key, whatever the start method
    proc = ctx.Process(
        target=_produce,
        args=(data, filename, mapping, villages, has_members, max_rows, key, out),
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
