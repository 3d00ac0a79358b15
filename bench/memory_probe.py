"""One document through `process_document` in a fresh process; prints its peak RSS as JSON.

Run by bench/memory.py: `python -m bench.memory_probe DATA_DIR ES_URL PREFIX FILE`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench.ingest_runs import Ingest


def main() -> None:
    data_dir, es_url, prefix, file = sys.argv[1:5]
    ingest = Ingest(Path(data_dir), es_url, prefix)
    document_id = ingest.record(Path(file))
    before = _status_mb("VmRSS")
    # Reset the peak: only processing counts, not this probe's set-up.
    Path("/proc/self/clear_refs").write_text("5")
    seconds = ingest.process(document_id)
    ingest.close()
    print(json.dumps({"seconds": seconds, "rss_before_mb": before, "peak_rss_mb": _status_mb("VmHWM")}))


def _status_mb(key: str) -> float:
    """From /proc/self/status. Not ru_maxrss: Linux carries that over from the parent across
    fork and exec, so a child of a large bench process would report the parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"{key} not in /proc/self/status")


if __name__ == "__main__":
    main()
