"""Audit the locked dependencies (requirements.lock) for known vulnerabilities.

Exit 1 when a locked package has a known vulnerability with a fixed release (upgrade it);
unfixed advisories are printed, not fatal. Exit 0 otherwise. ``--strict`` also fails (exit 2)
when some package could not be looked up at all.

Sources, in order:
1. pip-audit (PyPI's per-version advisory data, the normal case with full network access);
2. for every package pip-audit could not look up: PyPI's JSON document of the package, whose
   ``vulnerabilities`` describe its *latest* release, so it is used only when the locked version
   is that release. (Some networks, this project's CI among them, serve PyPI's per-package
   documents but not the per-version ones pip-audit asks for.)

What could not be audited is always listed, so a green run never hides a blind spot.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PYPI_JSON = "https://pypi.org/pypi/{name}/json"


@dataclass(frozen=True)
class Advisory:
    id: str
    fixed_in: tuple[str, ...]


@dataclass
class Report:
    """Per package: its advisories (audited) or why it could not be audited."""

    advisories: dict[str, list[Advisory]] = field(default_factory=dict)
    unaudited: dict[str, str] = field(default_factory=dict)

    def fixable(self) -> dict[str, list[Advisory]]:
        found = {name: [a for a in advs if a.fixed_in] for name, advs in self.advisories.items()}
        return {name: advs for name, advs in found.items() if advs}


def canonical(name: str) -> str:
    """PEP 503 name: ``PyWavelets`` and ``jsonschema_rs`` as PyPI and pip-audit spell them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(path: Path) -> dict[str, str]:
    """``name==version`` lines (comments, blanks and local version labels ignored)."""
    pins: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, version = line.partition("==")
        if not sep:
            raise ValueError(f"{path}: not pinned with ==: {raw!r}")
        pins[canonical(name.strip())] = version.strip().split("+", 1)[0]
    return pins


def from_pip_audit(data: dict[str, Any], pins: dict[str, str]) -> Report:
    """Read pip-audit's JSON (``-f json``)."""
    report = Report()
    for dep in data.get("dependencies", []):
        name = canonical(str(dep["name"]))
        if name not in pins:
            continue
        if "skip_reason" in dep:
            report.unaudited[name] = str(dep["skip_reason"])
            continue
        report.advisories[name] = [
            Advisory(str(v["id"]), tuple(v.get("fix_versions") or ())) for v in dep["vulns"]
        ]
    for name in pins.keys() - report.advisories.keys() - report.unaudited.keys():
        report.unaudited[name] = "not in pip-audit's report"
    return report


def from_latest_documents(
    report: Report, pins: dict[str, str], fetch: Callable[[str], dict[str, Any] | None]
) -> None:
    """Fill in packages pip-audit skipped, where the locked version is PyPI's latest release."""
    names = sorted(report.unaudited)
    with ThreadPoolExecutor(8) as pool:
        documents = dict(zip(names, pool.map(fetch, names), strict=True))
    for name, doc in documents.items():
        if doc is None:
            report.unaudited[name] = "PyPI's package document is unreachable"
            continue
        latest = str(doc.get("info", {}).get("version", ""))
        if latest != pins[name]:
            report.unaudited[name] = f"locked {pins[name]}, PyPI only describes latest {latest}"
            continue
        report.advisories[name] = [
            Advisory(str(v.get("id")), tuple(v.get("fixed_in") or ()))
            for v in doc.get("vulnerabilities") or []
        ]
        del report.unaudited[name]


def run_pip_audit(lock: Path) -> dict[str, Any]:
    exe = shutil.which("pip-audit", path=str(Path(sys.executable).parent)) or "pip-audit"
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "audit.json"
        cmd = [exe, "-r", str(lock), "--no-deps", "--disable-pip", "-f", "json", "-o", str(out),
               "--progress-spinner", "off"]  # fmt: skip
        try:
            subprocess.run(cmd, capture_output=True, timeout=600, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            print(f"pip-audit could not run: {exc}", file=sys.stderr)
            return {}
        if not out.exists():
            return {}
        result: dict[str, Any] = json.loads(out.read_text())
        return result


def fetch_latest(name: str) -> dict[str, Any] | None:
    import httpx

    try:
        resp = httpx.get(PYPI_JSON.format(name=name), timeout=20, follow_redirects=True)
    except httpx.HTTPError:
        return None
    if resp.status_code != 200:
        return None
    doc: dict[str, Any] = resp.json()
    return doc


def verdict(report: Report, pins: dict[str, str], strict: bool) -> tuple[int, list[str]]:
    lines = [f"audited {len(report.advisories)} of {len(pins)} locked packages"]
    for name, advs in sorted(report.advisories.items()):
        for adv in advs:
            fix = ", ".join(adv.fixed_in) or "no fixed release yet"
            lines.append(f"  VULNERABLE {name}=={pins[name]}: {adv.id} (fixed in: {fix})")
    if report.unaudited:
        lines.append(f"NOT AUDITED ({len(report.unaudited)}):")
        lines += [
            f"  {name}=={pins[name]}: {why}" for name, why in sorted(report.unaudited.items())
        ]
    if report.fixable():
        lines.append("FAIL: upgrade the packages above that have a fixed release")
        return 1, lines
    if strict and report.unaudited:
        lines.append("FAIL (--strict): some packages could not be audited")
        return 2, lines
    lines.append("OK: no known vulnerability with a fix available")
    return 0, lines


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("lock", type=Path, nargs="?", default=Path("requirements.lock"))
    parser.add_argument("--strict", action="store_true", help="fail if anything is unaudited")
    args = parser.parse_args(list(argv) if argv is not None else None)
    pins = read_lock(args.lock)
    report = from_pip_audit(run_pip_audit(args.lock), pins)
    if report.unaudited:
        from_latest_documents(report, pins, fetch_latest)
    code, lines = verdict(report, pins, args.strict)
    print("\n".join(lines))
    return code


if __name__ == "__main__":
    sys.exit(main())
