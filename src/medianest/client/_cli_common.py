"""What every CLI command shares: the saved session, error → exit code, and output."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, NoReturn

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from medianest.client import errors
from medianest.client.sync import MediaNestClient

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_AUTH, EXIT_NOT_FOUND, EXIT_SERVER = 0, 1, 2, 3, 4, 5
EXIT_CODES_HELP = (
    "Exit codes: 0 ok; 1 the request or some items failed; 2 usage error; "
    "3 not logged in or not allowed; 4 not found; 5 server or connection error; "
    "130 interrupted."
)

out = Console(soft_wrap=True)
err = Console(stderr=True)


def open_client() -> MediaNestClient:
    return MediaNestClient.from_saved_session()


def _exit_code(exc: errors.MediaNestError) -> int:
    if isinstance(exc, errors.Unauthorized | errors.Forbidden):
        return EXIT_AUTH
    if isinstance(exc, errors.NotFound):
        return EXIT_NOT_FOUND
    if isinstance(exc, errors.ServerError | errors.ConnectionFailed):
        return EXIT_SERVER
    return EXIT_FAILED


def _hint(exc: errors.MediaNestError) -> str:
    if isinstance(exc, errors.Unauthorized):
        return " (run `medianest login`)"
    if isinstance(exc, errors.ConnectionFailed):
        return " (is the service running? check MEDIANEST_*_URL)"
    return ""


def fail(message: str, code: int) -> NoReturn:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(code)


@contextlib.contextmanager
def handled() -> Iterator[None]:
    """Turn SDK errors into a one-line message and the documented exit code."""
    try:
        yield
    except errors.MediaNestError as exc:
        detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
        status = f"{exc.status_code} " if exc.status_code else ""
        fail(f"{status}{detail}{_hint(exc)}", _exit_code(exc))


def jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    return value


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(jsonable(value), default=str) + "\n")
    sys.stdout.flush()


def when(ms: int | None) -> str:
    if ms is None:
        return ""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def short_when(ms: int | None) -> str:
    if ms is None:
        return ""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).astimezone().strftime("%m-%d %H:%M:%S")


def size(n: int | None) -> str:
    if n is None:
        return ""
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return str(n)


def table(columns: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None) -> None:
    grid = Table(title=title, show_lines=False, header_style="bold")
    # ids (first column) stay whole, since they are typed back into commands; others shorten
    id_width = max([len(str(row[0])) for row in rows if row] + [len(columns[0]) if columns else 0])
    for n, name in enumerate(columns):
        grid.add_column(name, no_wrap=True, min_width=id_width if n == 0 else None)
    for row in rows:
        grid.add_row(*("" if v is None else str(v) for v in row))
    out.print(grid)


def parse_when(value: str | None) -> int | None:
    """Epoch milliseconds from ``2024-05-01``, ``2024-05-01T10:00:00+02:00`` or a number."""
    if value is None:
        return None
    if value.isdigit():
        return int(value)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"not a date: {value!r} (use YYYY-MM-DD)") from None
    if moment.tzinfo is None:
        moment = moment.astimezone()
    return int(moment.timestamp() * 1000)
