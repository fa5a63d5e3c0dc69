"""What the benches that time each path in a fresh process share: the run's
header (date, machine, load) and a worker process whose last line of output is
its JSON result."""
from __future__ import annotations

import datetime
import json
import os
import platform
import resource
import subprocess
import sys
from pathlib import Path
from typing import Dict, List


def header() -> Dict[str, str]:
    """The date, the machine and its load average now."""
    return {"date": datetime.datetime.now().isoformat(timespec="minutes"),
            "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
            "load": load()}


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def peak_rss_mb() -> float:
    """This process's peak RSS: VmHWM, which starts afresh at exec (ru_maxrss keeps
    the parent's peak across fork and exec, where the parent may have held the data)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_json(script: str, label: str, args: List[str], threads: int = 1) -> dict:
    """Run ``script`` with ``args`` in a fresh Python process with ``threads``
    OpenMP threads; its last line of output, parsed as JSON (printed too)."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    done = subprocess.run([sys.executable, script] + args, capture_output=True, text=True,
                          env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"worker {label} failed:\n{done.stderr[-3000:]}")
    out = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"  {label}: {out}", flush=True)
    return out
