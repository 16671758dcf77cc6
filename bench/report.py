"""The one results table of ``make bench``: every bench script records its figures here.

Each figure is measured against a baseline taken in the same run (the machine is shared and
noisy: only same-run ratios mean anything). Rows go to ``bench/results/latest.json`` as they are
measured; ``python bench/report.py`` prints the table (figure, value, baseline, ratio, goal,
met / not met) and ``python bench/report.py --reset`` starts a new run (``make bench`` does both).

From a bench script::

    from bench.report import record   # with the repository root on sys.path
    record("ingest: HTTP / bare loop", value=12.3, baseline=15.0, unit="files/s",
           goal=(">=", 0.7), on="ratio")
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
_OPS = {">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, "<": lambda a, b: a < b,
        ">": lambda a, b: a > b}  # fmt: skip


def _load() -> dict[str, Any]:
    if RESULTS.is_file():
        try:
            data: dict[str, Any] = json.loads(RESULTS.read_text())
            return data
        except json.JSONDecodeError:
            pass
    return _new_run()


def _new_run() -> dict[str, Any]:
    return {
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "figures": [],
    }


def reset() -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(_new_run(), indent=2) + "\n")


def record(
    figure: str,
    value: float,
    *,
    baseline: float | None = None,
    unit: str = "",
    goal: tuple[str, float] | None = None,
    on: str = "ratio",
    baseline_name: str = "",
    note: str = "",
) -> dict[str, Any]:
    """Store one figure (replacing an earlier one of the same name in this run).

    ``on``: what the goal applies to: ``"ratio"`` (value / baseline) or ``"value"`` itself.
    """
    ratio = value / baseline if baseline else None
    subject = ratio if on == "ratio" else value
    met = None if goal is None or subject is None else bool(_OPS[goal[0]](subject, goal[1]))
    row = {
        "figure": figure, "value": value, "unit": unit, "baseline": baseline,
        "baseline_name": baseline_name, "ratio": ratio,
        "goal": None if goal is None else f"{on} {goal[0]} {goal[1]:g}", "met": met,
        "note": note, "load_1min": round(os.getloadavg()[0], 2),
        "at": time.strftime("%H:%M:%S", time.gmtime()),
    }  # fmt: skip
    data = _load()
    data["figures"] = [f for f in data["figures"] if f["figure"] != figure] + [row]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(data, indent=2) + "\n")
    return row


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    text = f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return f"{text} {unit}".strip()


def table(data: dict[str, Any] | None = None) -> str:
    data = data or _load()
    rows = [("figure", "value", "baseline", "ratio", "goal", "result")]
    for f in data["figures"]:
        base = _fmt(f["baseline"], f["unit"])
        if f.get("baseline_name"):
            base += f" ({f['baseline_name']})"
        result = {True: "met", False: "NOT met", None: "-"}[f["met"]]
        rows.append((f["figure"], _fmt(f["value"], f["unit"]), base, _fmt(f["ratio"]),
                     f["goal"] or "-", result))  # fmt: skip
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    loads = [f["load_1min"] for f in data["figures"]]
    if loads:
        lines.append(f"\nload average (1 min) while measuring: {min(loads)}-{max(loads)} on "
                     f"{data['machine']['cpus']} cpus; figures are same-run ratios")  # fmt: skip
    lines.append(f"written to {RESULTS}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--reset", action="store_true", help="start a new run")
    args = parser.parse_args()
    if args.reset:
        reset()
        return
    print(table())


if __name__ == "__main__":
    main()
