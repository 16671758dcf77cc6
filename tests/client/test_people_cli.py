"""People through the SDK (sync and async) and the CLI, against a served inference API."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from medianest.cli import app as cli_app
from medianest.client.async_ import AsyncMediaNestClient
from medianest.client.errors import NotFound
from medianest.client.sync import MediaNestClient
from medianest.common.permissions import Permission
from medianest.inference.app import create_app
from medianest.inference.config import Settings
from tests.conftest import TokenMinter
from tests.inference.conftest import make_settings, store  # noqa: F401 - fixtures
from tests.inference.standin import serve
from tests.inference.test_people_api import People

pytestmark = [pytest.mark.inference]


@pytest.fixture
def served(
    make_settings: Callable[..., Settings],  # noqa: F811
    token_minter: TokenMinter,
) -> Iterator[tuple[str, People, str]]:
    token = token_minter(sub=2, permissions=[Permission.AI_INFERENCE_SUPPORT.value])
    worker = token_minter.header(sub=3, permissions=[Permission.AI_INFERENCE_WORKER.value])
    app = create_app(make_settings(check_media_exists=False))
    with serve(app) as url, httpx.Client(base_url=url, timeout=30) as http:
        user = {"Authorization": f"Bearer {token}"}
        people = People(http, user, worker, token_minter.header(sub=1, is_admin=True), app=app)
        people.load({m: [0] if m < 4 else [1] for m in range(1, 7)})
        people.group()
        yield url, people, token


def cli(url: str, token: str, *args: str) -> Any:
    env = {"MEDIANEST_INFERENCE_URL": url, "MEDIANEST_TOKEN": token, "COLUMNS": "200"}
    result = CliRunner().invoke(cli_app, list(args), env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout) if "--json" in args else result.stdout


def test_sdk_lists_names_searches_merges_moves_and_regroups(
    served: tuple[str, People, str],
) -> None:
    url, people, token = served
    with MediaNestClient(inference_url=url, token=token) as client:
        persons = client.list_people()
        assert [p.face_count for p in persons.items] == [3, 3]
        first, second = persons.items
        assert client.name_person(first.id, "Élodie").name == "Élodie"
        assert [p.id for p in client.search_people("elo").items] == [first.id]
        assert [p.id for p in client.list_people(named=True).items] == [first.id]
        media = client.person_media(first.id)
        assert media.pagination.total_items == 3
        face = client.person_faces(second.id).items[0]
        moved = client.set_face_person(face.face_id, first.id)
        assert (moved.person_id, moved.assigned_by) == (first.id, "user")
        merged = client.merge_people(first.id, [second.id])
        assert (merged.face_count, merged.name) == (6, "Élodie")
        with pytest.raises(NotFound):
            client.get_person(second.id)

    async def run() -> None:
        async with AsyncMediaNestClient(inference_url=url, token=token) as client:
            (only,) = (await client.list_people()).items
            assert (await client.get_person(only.id)).name == "Élodie"
            assert (await client.search_people("ÉLO")).items[0].id == only.id

    asyncio.run(run())
    admin_token = people.admin["Authorization"].split()[1]
    with MediaNestClient(inference_url=url, token=admin_token) as admin:
        assert admin.regroup_people().state in ("running", "completed")
        deadline = time.monotonic() + 60
        while (state := admin.regroup_status()).state == "running":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert state.state == "completed"
        assert state.report is not None
        assert state.report.grouped == 6


def test_cli_people_commands(served: tuple[str, People, str]) -> None:
    url, _, token = served
    listed = cli(url, token, "people", "--json")
    first, second = (p["id"] for p in listed["items"])
    assert "persons" in cli(url, token, "people")
    named = cli(url, token, "people", "name", str(first), "Ada Lovelace", "--json")
    assert named["name"] == "Ada Lovelace"
    assert [p["id"] for p in cli(url, token, "people", "--named", "--json")["items"]] == [first]
    shown = cli(url, token, "people", "show", str(first), "--json")
    assert shown["person"]["face_count"] == 3
    photos = cli(url, token, "people", "photos", str(first), "--json")
    assert len(photos["items"]) == 3
    face = shown["faces"][0]["face_id"]
    moved = cli(url, token, "faces", face, "--person", str(second), "--json")
    assert moved["person_id"] == second
    freed = cli(url, token, "faces", face, "--unassign", "--json")
    assert freed["person_id"] is None
    merged = cli(url, token, "people", "merge", str(first), str(second), "--json")
    assert merged["face_count"] == 5
    media_faces = cli(url, token, "faces", "1", "--json")
    assert len(media_faces["items"]) == 1
    missing = CliRunner().invoke(
        cli_app, ["people", "show", "999999"], env={"MEDIANEST_INFERENCE_URL": url,
                                                    "MEDIANEST_TOKEN": token},
    )  # fmt: skip
    assert missing.exit_code == 4
    bad = CliRunner().invoke(cli_app, ["faces", "abc"], env={"MEDIANEST_INFERENCE_URL": url,
                                                             "MEDIANEST_TOKEN": token})  # fmt: skip
    assert bad.exit_code == 2
