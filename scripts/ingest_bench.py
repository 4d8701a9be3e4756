"""Ingestion at size: time and peak memory of parsing large IATI files and Grants.gov extracts.

    .venv/bin/python scripts/ingest_bench.py [--sizes-mb 25 100 200] [--shared ../shared]

Large inputs are synthesised from the recorded fixtures: the activities of DFID's IATI 1.01 file
(../shared/fixtures/iati/dfid-v1.01.xml) repeated under new identifiers, and the opportunities of
tests/fixtures/grants-gov/ repeated under new ids, zipped as Grants.gov publishes its extract.
Each parse runs in a fresh child process so that its peak RSS (ru_maxrss) is its own. Prints one
row per input: XML size, records, seconds, peak RSS, and RSS per MB of XML.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ACTIVITY = re.compile(rb"<iati-activity\b.*?</iati-activity>", re.S)
IDENTIFIER = re.compile(rb"<iati-identifier>(.*?)</iati-identifier>", re.S)
RECORD = re.compile(rb"<OpportunitySynopsisDetail_1_0>.*?</OpportunitySynopsisDetail_1_0>", re.S)
OPP_ID = re.compile(rb"<OpportunityID>(\d+)</OpportunityID>")

CHILD = """
import resource, sys, time
from pathlib import Path
kind, path = sys.argv[1], Path(sys.argv[2])
start = time.perf_counter()
if kind == "iati":
    from scrapers.iati import read_iati
    count = len(read_iati(path).projects)
else:
    from scrapers.grants_gov import parse_grants_gov
    count = len(parse_grants_gov(path.read_bytes()).calls)
seconds = time.perf_counter() - start
print(count, round(seconds, 2), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


def synth_iati(source: Path, out: Path, target_mb: int) -> None:
    data = source.read_bytes()
    activities = ACTIVITY.findall(data)
    head = data[: data.index(b"<iati-activity")]
    with out.open("wb") as f:
        f.write(head)
        copy = 0
        while f.tell() < target_mb * 1024 * 1024:
            for activity in activities:
                renamed = IDENTIFIER.sub(
                    lambda m, c=copy: (
                        b"<iati-identifier>" + m.group(1) + b"-copy%d" % c + b"</iati-identifier>"
                    ),
                    activity,
                    count=1,
                )
                f.write(renamed + b"\n")
            copy += 1
        f.write(b"</iati-activities>\n")


def synth_grants(source: Path, out: Path, target_mb: int) -> None:
    data = source.read_bytes()
    records = [r for r in RECORD.findall(data) if OPP_ID.search(r)]
    head = data[: data.index(b"<OpportunitySynopsisDetail_1_0>")]
    xml = out.with_suffix(".xml")
    with xml.open("wb") as f:
        f.write(head)
        n = 0
        while f.tell() < target_mb * 1024 * 1024:
            for record in records:
                n += 1
                f.write(
                    OPP_ID.sub(b"<OpportunityID>%d</OpportunityID>" % (10_000_000 + n), record)
                    + b"\n"
                )
        f.write(b"</Grants>\n")
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(xml, "GrantsDBExtract.xml")
    xml.unlink()


def measure(kind: str, path: Path) -> tuple[int, float, int]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, kind, str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    count, seconds, rss = done.stdout.split()
    return int(count), float(seconds), int(rss)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes-mb", type=int, nargs="+", default=[25, 100, 200])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    args = parser.parse_args()
    dfid = args.shared / "fixtures" / "iati" / "dfid-v1.01.xml"
    grants = ROOT / "tests" / "fixtures" / "grants-gov" / "GrantsDBExtract-sample.xml"
    print(
        f"{'input':<34} {'MB':>7} {'records':>8} {'seconds':>8} {'peak RSS MB':>12} {'RSS/MB':>7}"
    )
    with tempfile.TemporaryDirectory() as folder:
        for size in args.sizes_mb:
            for kind, synth, source, name in (
                ("iati", synth_iati, dfid, f"iati-dfid-x-{size}mb.xml"),
                ("grants", synth_grants, grants, f"grants-extract-{size}mb.zip"),
            ):
                path = Path(folder) / name
                built = time.perf_counter()
                synth(source, path, size)
                mb = size  # XML, uncompressed (the Grants.gov zip is smaller on disk)
                count, seconds, rss = measure(kind, path)
                label = f"{name} ({time.perf_counter() - built:.0f}s)"
                per_mb = rss / size
                print(f"{label:<34} {mb:>7.1f} {count:>8} {seconds:>8.1f} {rss:>12} {per_mb:>7.2f}")
                path.unlink()


if __name__ == "__main__":
    main()
