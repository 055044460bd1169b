"""Evidence pipeline benchmark: prints ONE JSON line.

Makes N camera-size JPEGs (4000x3000, EXIF with GPS and capture time) in a temporary folder, then
runs, each in its own subprocess pinned to one CPU (so peak RSS and speed are the pipeline's own):

- pipeline: ``media.pipeline.process`` on every file (read, check, EXIF, SHA-256, perceptual hash,
  display copy, thumbnail, on-site/fresh/edited verdict);
- baseline: ``Image.open`` + full ``load()`` + ``resize`` to the display size with default settings.

Usage: python bench/evidence.py [--photos 100]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIZE = (4000, 3000)
HOME = (30.2741, 120.1551)  # WGS-84
CST = timezone(timedelta(hours=8))


def _exif(i: int) -> bytes:
    from PIL import Image
    from PIL.TiffImagePlugin import IFDRational

    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0112] = "BenchCam", "B-4000", 1
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = f"2024:05:01 10:{i % 60:02d}:00"
    sub[0x9011] = "+08:00"
    sub[0xA002], sub[0xA003] = SIZE
    gps = exif.get_ifd(0x8825)
    lat, lon = HOME[0] + (i % 7) * 0.0001, HOME[1] + (i % 5) * 0.0001

    def dms(v: float) -> tuple[IFDRational, IFDRational, IFDRational]:
        d = int(v)
        m = int((v - d) * 60)
        s = round(((v - d) * 60 - m) * 60 * 1000)
        return IFDRational(d, 1), IFDRational(m, 1), IFDRational(s, 1000)

    gps[1], gps[2], gps[3], gps[4] = "N", dms(lat), "E", dms(lon)
    gps[5], gps[6] = b"\x00", IFDRational(1234, 100)
    gps[29], gps[7] = "2024:05:01", (IFDRational(2, 1), IFDRational(i % 60, 1), IFDRational(0, 1))
    return exif.tobytes()


def make_photos(folder: Path, n: int) -> list[Path]:
    """Write ``n`` distinct camera-like 4000x3000 JPEGs (about 3 MB each) into ``folder``."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFilter

    rng = np.random.default_rng(2024)
    w, h = SIZE
    bases = []
    for _ in range(4):
        coarse = rng.normal(128, 40, (h // 50, w // 50, 3)).clip(0, 255).astype(np.uint8)
        img = Image.fromarray(coarse).resize(SIZE, Image.Resampling.BICUBIC)
        bases.append(np.asarray(img, dtype=np.int16))
    paths = []
    for i in range(n):
        arr = np.roll(bases[i % 4], shift=(i * 37) % h, axis=0)
        img = Image.fromarray(arr.clip(0, 255).astype(np.uint8))
        draw = ImageDraw.Draw(img)
        for _ in range(12):
            x0, y0 = int(rng.integers(0, w - 400)), int(rng.integers(0, h - 400))
            box = (x0, y0, x0 + int(rng.integers(100, 1200)), y0 + int(rng.integers(100, 900)))
            draw.rectangle(box, fill=tuple(int(c) for c in rng.integers(0, 255, 3)))
        img = img.filter(ImageFilter.BoxBlur(1))
        # sensor-like grain so the JPEG has camera-like entropy (~3 MB at quality 92)
        grain = rng.integers(-6, 7, (h, w, 1), dtype=np.int16)
        img = Image.fromarray((np.asarray(img, dtype=np.int16) + grain).clip(0, 255).astype(np.uint8))
        path = folder / f"cam_{i:03d}.jpg"
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=92, exif=_exif(i))
        path.write_bytes(buf.getvalue())
        paths.append(path)
    return paths


def _pin_one_cpu() -> None:
    if hasattr(os, "sched_setaffinity"):
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpus[-1]})


def _peak_rss_kb() -> int:
    # VmHWM belongs to this process image; ru_maxrss would also count the parent's pages the forked
    # child shared before exec.
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def worker(kind: str, folder: Path, part: str) -> None:
    """Run one side of the benchmark over half (``a``/``b``) or all of the folder; print JSON figures."""
    _pin_one_cpu()
    paths = sorted(folder.glob("*.jpg"))
    half = len(paths) // 2
    paths = {"a": paths[:half], "b": paths[half:]}.get(part, paths)
    if kind == "pipeline":
        from media.pipeline import process

        window = (datetime(2024, 5, 1, 9, 0, tzinfo=CST), datetime(2024, 5, 1, 12, 0, tzinfo=CST))
        process(paths[0], "telegram_document")  # warm-up: imports, HEIF registration, scipy
        accepted = 0
        start = time.perf_counter()
        for p in paths:
            report = process(p, "telegram_document", household=HOME, window=window)
            accepted += report.verdict.accepted
        elapsed = time.perf_counter() - start
        extra = {"accepted": accepted}
    else:
        from PIL import Image

        with Image.open(paths[0]) as im:
            im.load()
        start = time.perf_counter()
        for p in paths:
            with Image.open(p) as im:
                im.load()
                im.resize((1024, 768))
        elapsed = time.perf_counter() - start
        extra = {}
    peak_kb = _peak_rss_kb()
    print(json.dumps({"n": len(paths), "seconds": elapsed, "peak_rss_mb": peak_kb / 1024, **extra}))


def _run(kind: str, folder: Path, part: str) -> dict[str, float]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, __file__, "--worker", kind, "--part", part, str(folder)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _combine(parts: list[dict[str, float]]) -> dict[str, float]:
    return {
        "n": sum(p["n"] for p in parts),
        "seconds": sum(p["seconds"] for p in parts),
        "peak_rss_mb": max(p["peak_rss_mb"] for p in parts),
        "accepted": sum(p.get("accepted", 0) for p in parts),
    }


def main() -> None:
    """Generate the photos, run both sides, print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--photos", type=int, default=100)
    parser.add_argument("--worker", choices=["pipeline", "baseline"])
    parser.add_argument("--part", choices=["a", "b", "all"], default="all")
    parser.add_argument("folder", nargs="?")
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, Path(args.folder), args.part)
        return
    with tempfile.TemporaryDirectory(prefix="feijian-bench-") as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        paths = make_photos(folder, args.photos)
        gen_s = time.perf_counter() - t0
        mean_mb = sum(p.stat().st_size for p in paths) / len(paths) / 1e6
        # A-B-B-A order over two halves, so a change in machine load hits both sides alike
        runs = [
            ("pipeline", _run("pipeline", folder, "a")),
            ("baseline", _run("baseline", folder, "a")),
            ("baseline", _run("baseline", folder, "b")),
            ("pipeline", _run("pipeline", folder, "b")),
        ]
    pipe = _combine([r for k, r in runs if k == "pipeline"])
    base = _combine([r for k, r in runs if k == "baseline"])
    pipe_rate = pipe["n"] / pipe["seconds"]
    base_rate = base["n"] / base["seconds"]
    result = {
        "bench": "evidence",
        "photos": len(paths),
        "size": f"{SIZE[0]}x{SIZE[1]}",
        "mean_file_mb": round(mean_mb, 2),
        "pipeline_photos_per_s": round(pipe_rate, 2),
        "pipeline_ms_per_photo": round(1000 / pipe_rate, 1),
        "pipeline_peak_rss_mb": round(pipe["peak_rss_mb"], 1),
        "pipeline_accepted": pipe.get("accepted"),
        "baseline_photos_per_s": round(base_rate, 2),
        "baseline_ms_per_photo": round(1000 / base_rate, 1),
        "baseline_peak_rss_mb": round(base["peak_rss_mb"], 1),
        "speedup_vs_baseline": round(pipe_rate / base_rate, 2),
        "one_cpu": hasattr(os, "sched_setaffinity"),
        "generate_s": round(gen_s, 1),
        "targets_met": {
            "speedup_ge_3x": pipe_rate / base_rate >= 3,
            "ge_8_photos_per_s": pipe_rate >= 8,
            "peak_lt_250_mb": pipe["peak_rss_mb"] < 250,
        },
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
