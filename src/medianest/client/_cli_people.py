"""``medianest people``: persons found in the faces; name, merge, list their photos."""

from __future__ import annotations

from typing import Annotated

import typer

from medianest.client._cli_common import (
    EXIT_CODES_HELP,
    handled,
    open_client,
    out,
    print_json,
    short_when,
    table,
)
from medianest.client.models import PersonRead

Json = Annotated[bool, typer.Option("--json", help="Print JSON on stdout (for scripts).")]
PersonId = Annotated[int, typer.Argument(help="Person id", min=1)]

app = typer.Typer(
    help="People: faces grouped into persons (list, show, name, merge, photos).",
    invoke_without_command=True,
    no_args_is_help=False,
    epilog=EXIT_CODES_HELP,
)
PERSON_COLUMNS = ("person", "name", "faces", "photos", "hidden", "cover face")


def _row(p: PersonRead) -> list[object]:
    return [p.id, p.name or "", p.face_count, p.media_count, "yes" if p.hidden else "",
            p.cover_face_id or ""]  # fmt: skip


@app.callback()
def people(
    ctx: typer.Context,
    named: Annotated[bool, typer.Option("--named", help="Only persons with a name")] = False,
    hidden: Annotated[
        bool | None, typer.Option("--hidden/--visible", help="Only hidden / visible persons")
    ] = None,
    by_name: Annotated[bool, typer.Option("--by-name", help="Order by name")] = False,
    page: Annotated[int, typer.Option(min=1)] = 1,
    page_size: Annotated[int, typer.Option(min=1, max=100)] = 20,
    json_out: Json = False,
) -> None:
    """List persons, most faces first (a sub-command does something else)."""
    if ctx.invoked_subcommand is not None:
        return
    order = "name" if by_name else None
    with handled(), open_client() as client:
        result = client.list_people(page, page_size, True if named else None, hidden, order)
    if json_out:
        return print_json(result)
    table(PERSON_COLUMNS, [_row(p) for p in result.items], title="people")
    p = result.pagination
    out.print(f"page {p.page}/{max(p.total_pages, 1)} · {p.total_items} persons", style="dim")


@app.command(epilog=EXIT_CODES_HELP)
def show(person_id: PersonId, json_out: Json = False) -> None:
    """One person with its counts and first faces."""
    with handled(), open_client() as client:
        person = client.get_person(person_id)
        faces = client.person_faces(person_id, 1, 10)
    if json_out:
        return print_json({"person": person, "faces": faces.items})
    table(PERSON_COLUMNS, [_row(person)], title=f"person {person_id}")
    rows = [[f.face_id, f.media_store_id, f"{f.confidence:.2f}", f.assigned_by or ""]
            for f in faces.items]  # fmt: skip
    table(("face", "media", "confidence", "assigned by"), rows, title="faces")


@app.command(epilog=EXIT_CODES_HELP)
def name(
    person_id: PersonId,
    new_name: Annotated[str, typer.Argument(help='The name ("" makes it unnamed again)')],
    json_out: Json = False,
) -> None:
    """Name a person (or un-name it with "")."""
    with handled(), open_client() as client:
        person = client.name_person(person_id, new_name or None)
    if json_out:
        return print_json(person)
    out.print(f"person {person.id}: {person.name or '(unnamed)'}")


@app.command(epilog=EXIT_CODES_HELP)
def merge(
    person_id: PersonId,
    others: Annotated[list[int], typer.Argument(help="Persons merged into PERSON_ID", min=1)],
    json_out: Json = False,
) -> None:
    """Merge other persons into this one (their faces and decisions move)."""
    with handled(), open_client() as client:
        person = client.merge_people(person_id, others)
    if json_out:
        return print_json(person)
    table(PERSON_COLUMNS, [_row(person)], title=f"merged into {person_id}")


@app.command(epilog=EXIT_CODES_HELP)
def photos(
    person_id: PersonId,
    page: Annotated[int, typer.Option(min=1)] = 1,
    page_size: Annotated[int, typer.Option(min=1, max=100)] = 20,
    json_out: Json = False,
) -> None:
    """Photos showing this person, newest first, with their capture dates."""
    with handled(), open_client() as client:
        result = client.person_media(person_id, page, page_size)
    if json_out:
        return print_json(result)
    rows = [[m.media_store_id, short_when(m.capture_date), len(m.face_ids)] for m in result.items]
    table(("media", "taken", "faces"), rows, title=f"photos of person {person_id}")
    p = result.pagination
    out.print(f"page {p.page}/{max(p.total_pages, 1)} · {p.total_items} photos", style="dim")
