"""The web app in a real headless Chromium against a real MediaNest (`medianest up`, one worker
for the analysis): what a person does, found by role and label as they would."""

from __future__ import annotations

import base64
import io
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.web.browser import *  # noqa: F403
from tests.web.browser import WebSystem, jpeg, mp4, playwright_sync, save_screenshots

expect = playwright_sync.expect
pytestmark = [pytest.mark.integration]
WORKERS = 1  # label search needs the analysis


@pytest.fixture(scope="module", autouse=True)
def labelled_photo(web_system: WebSystem) -> int:
    """Uploaded first, so the worker has analysed it by the time the search test runs."""
    return web_system.upload("labelled.jpg", jpeg(640, 480, seed=80))


@pytest.fixture(scope="module", autouse=True)
def face_photos(web_system: WebSystem) -> list[int]:
    """Three edited photos of one face (scikit-image's astronaut), uploaded early so the worker
    detects, embeds and groups them into one person while the other tests run."""
    from tests.inference.people_photos import photo_set

    photos = [p for p in photo_set() if p.person == "astronaut"][:3]
    return [web_system.upload(f"face-{p.edit}.jpg", p.jpeg) for p in photos]


def _open_viewer(page: Any, name: str) -> Any:
    page.get_by_role("button", name=f"Open {name}").first.click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading", name=name)).to_be_visible()
    return dialog


def test_login_refuses_a_wrong_password_then_returns_to_the_asked_page(
    browser: Any, web_system: WebSystem
) -> None:
    ctx = browser.new_context(base_url=web_system.web_url)
    page = ctx.new_page()
    page.goto("/albums")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("wrong-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    page.get_by_label("Password").fill(web_system.password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Albums", exact=True)).to_be_visible()
    assert page.url.endswith("/albums")
    ctx.close()


def test_expired_session_goes_to_login_and_back_and_logout_revokes(
    browser: Any, web_system: WebSystem
) -> None:
    ctx = browser.new_context(base_url=web_system.web_url)
    page = ctx.new_page()
    page.goto("/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(web_system.password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("link", name="Photos")).to_be_visible()
    # A session whose tokens no longer work (expired access token, revoked refresh token).
    page.evaluate(
        """() => { const s = JSON.parse(localStorage.getItem('medianest.session'));
        s.access_token = 'expired'; s.refresh_token = 'revoked'; s.expires_at = Date.now() + 600000;
        localStorage.setItem('medianest.session', JSON.stringify(s)); }"""
    )
    page.goto("/trash")
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(web_system.password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Trash")).to_be_visible()
    refresh_token = page.evaluate(
        "() => JSON.parse(localStorage.getItem('medianest.session')).refresh_token"
    )
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    resp = httpx.post(
        f"{web_system.web_url}/api/auth/auth/refresh", json={"refresh_token": refresh_token}
    )
    assert resp.status_code == 401, resp.text
    ctx.close()


def test_upload_with_the_file_picker_shows_the_photos(page: Any, tmp_path: Path) -> None:
    files = []
    for i in range(3):
        f = tmp_path / f"picked-{i}.jpg"
        f.write_bytes(jpeg(640 + i * 80, 480, seed=10 + i))
        files.append(f)
    page.goto("/")
    page.get_by_label("Upload", exact=True).set_input_files(files)
    expect(page.get_by_text("Uploads finished (3)")).to_be_visible()
    for i in range(3):
        expect(page.get_by_role("img", name=f"picked-{i}.jpg")).to_be_visible()
    # the same file again is reported as already there, with a link to it
    page.get_by_label("Upload", exact=True).set_input_files(files[:1])
    expect(page.get_by_role("link", name="Already in your library")).to_be_visible()


def test_a_photo_uploaded_through_the_api_appears_without_a_reload(
    page: Any, web_system: WebSystem
) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", level=2).first).to_be_visible()
    web_system.upload("from-the-cli.jpg", jpeg(500, 400, seed=21))
    expect(page.get_by_role("img", name="from-the-cli.jpg")).to_be_visible(timeout=15_000)


def test_viewer_opens_navigates_with_the_keyboard_zooms_and_closes(
    page: Any, web_system: WebSystem
) -> None:
    for i in range(3):
        web_system.upload(f"walk-{i}.jpg", jpeg(600, 400, seed=30 + i))
    page.goto("/")
    dialog = _open_viewer(page, "walk-1.jpg")
    expect(dialog.get_by_role("img", name="walk-1.jpg")).to_be_visible()
    expect(dialog.get_by_text("600 \u00d7 400")).to_be_visible()
    page.keyboard.press("ArrowRight")
    expect(dialog.get_by_role("heading", name="walk-0.jpg")).to_be_visible()
    page.keyboard.press("ArrowLeft")
    expect(dialog.get_by_role("heading", name="walk-1.jpg")).to_be_visible()
    dialog.get_by_role("button", name="Zoom in").click()
    expect(dialog.get_by_role("button", name="Zoom out")).to_be_enabled()
    download = dialog.get_by_role("link", name="Download")
    assert download.get_attribute("href", timeout=1000).endswith("/file")
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)
    # keyboard only: Enter on a thumbnail opens it, Esc returns the focus to that thumbnail
    thumb = page.get_by_role("button", name="Open walk-2.jpg")
    thumb.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog").get_by_role("heading", name="walk-2.jpg")).to_be_visible()
    page.keyboard.press("Escape")
    expect(thumb).to_be_focused()


def test_a_video_plays_and_seeks(page: Any, web_system: WebSystem, tmp_path: Path) -> None:
    web_system.upload("clip.mp4", mp4(tmp_path / "clip.mp4").read_bytes(), "video/mp4")
    page.goto("/")
    dialog = _open_viewer(page, "clip.mp4")
    video = dialog.locator("video")
    expect(video).to_be_visible()
    page.wait_for_function(
        "() => { const v = document.querySelector('video'); return v && v.readyState >= 2; }"
    )
    video.evaluate("v => { v.muted = true; return v.play(); }")
    page.wait_for_function("() => document.querySelector('video').currentTime > 0.2")
    video.evaluate(
        """v => new Promise(ok => { v.pause(); v.addEventListener('seeked', ok, {once: true});
        v.currentTime = 2.5; })"""
    )
    assert video.evaluate("v => v.currentTime") == pytest.approx(2.5, abs=0.3)
    page.keyboard.press("Escape")


def test_create_an_album_move_a_photo_in_and_out(page: Any, web_system: WebSystem) -> None:
    web_system.upload("for-album.jpg", jpeg(640, 480, seed=40))
    page.goto("/albums")
    page.get_by_label("New album").fill("Summer")
    page.get_by_role("button", name="Create album").click()
    expect(page.get_by_role("link", name="Summer")).to_be_visible()
    page.goto("/")
    dialog = _open_viewer(page, "for-album.jpg")
    dialog.get_by_label("Add to album").select_option(label="Summer")
    dialog.get_by_role("button", name="Move", exact=True).click()
    expect(dialog.get_by_role("link", name="Summer")).to_be_visible()
    page.keyboard.press("Escape")
    page.get_by_role("link", name="Albums").click()
    page.get_by_role("link", name="Summer").click()
    expect(page.get_by_role("heading", name="Summer", level=1)).to_be_visible()
    expect(page.get_by_role("img", name="for-album.jpg")).to_be_visible()
    # rename, nest an album inside, then take the photo out again
    page.get_by_text("Edit album").click()
    page.get_by_label("Album name").fill("Summer 2026")
    page.get_by_role("button", name="Rename").click()
    expect(page.get_by_role("heading", name="Summer 2026", level=1)).to_be_visible()
    page.get_by_label("New album inside").fill("Beach")
    page.get_by_role("button", name="Create album").click()
    expect(page.get_by_role("link", name="Beach")).to_be_visible()
    dialog = _open_viewer(page, "for-album.jpg")
    dialog.get_by_role("button", name="Remove from album").click()
    expect(dialog.get_by_text("Not in an album.")).to_be_visible()


def test_restore_an_earlier_version(page: Any, web_system: WebSystem) -> None:
    web_system.upload("versioned.jpg", jpeg(640, 480, seed=50))
    page.goto("/")
    dialog = _open_viewer(page, "versioned.jpg")
    dialog.get_by_label("Title").fill("Grandma's garden")
    dialog.get_by_role("button", name="Save title").click()
    expect(dialog.get_by_role("heading", name="Grandma's garden")).to_be_visible()
    dialog.get_by_role("button", name="Restore version 1").click()
    expect(dialog.get_by_role("heading", name="versioned.jpg")).to_be_visible()
    expect(dialog.get_by_text("Version restored.")).to_be_visible()


def test_trash_and_restore(page: Any, web_system: WebSystem) -> None:
    web_system.upload("oops.jpg", jpeg(640, 480, seed=60))
    page.goto("/")
    dialog = _open_viewer(page, "oops.jpg")
    dialog.get_by_role("button", name="Move to trash").click()
    expect(dialog.get_by_text("Moved to the trash.")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("img", name="oops.jpg")).to_have_count(0)
    page.get_by_role("link", name="Trash").click()
    dialog = _open_viewer(page, "oops.jpg")
    dialog.get_by_role("button", name="Restore", exact=True).click()
    expect(dialog.get_by_text("Restored.")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("img", name="oops.jpg")).to_have_count(0)
    page.get_by_role("link", name="Photos").click()
    expect(page.get_by_role("img", name="oops.jpg")).to_be_visible()


def _resized(data: bytes, size: tuple[int, int]) -> bytes:
    buf = io.BytesIO()
    Image.open(io.BytesIO(data)).resize(size).save(buf, "JPEG", quality=70)
    return buf.getvalue()


def test_review_duplicates_keeps_one_and_trashes_the_other(
    page: Any, web_system: WebSystem
) -> None:
    original = jpeg(800, 600, seed=70)
    web_system.upload("twin-big.jpg", original)
    web_system.upload("twin-small.jpg", _resized(original, (400, 300)))
    page.goto("/duplicates")
    group = page.locator("section").filter(has=page.get_by_role("img", name="twin-big.jpg"))
    expect(group.get_by_role("img", name="twin-small.jpg")).to_be_visible()
    expect(group.get_by_text("800 \u00d7 600 (largest)")).to_be_visible()
    group.get_by_role("button", name="Keep twin-big.jpg, trash the others").click()
    expect(page.get_by_text("Kept twin-big.jpg; moved 1 to the trash.")).to_be_visible()
    page.get_by_role("link", name="Trash").click()
    expect(page.get_by_role("img", name="twin-small.jpg")).to_be_visible()


def test_admin_creates_a_user_disables_it_and_sees_the_job_queue(
    page: Any, web_system: WebSystem
) -> None:
    page.goto("/admin")
    expect(page.get_by_role("heading", name="Admin", level=1)).to_be_visible()
    page.get_by_label("New username").fill("grandpa")
    page.get_by_label("New password").fill("a-long-password-1")
    page.get_by_role("button", name="Create user").click()
    expect(page.get_by_text("User grandpa created.")).to_be_visible()
    active = page.get_by_role("checkbox", name="grandpa: active")
    expect(active).to_be_checked()
    active.click()
    expect(page.get_by_text("grandpa updated.")).to_be_visible()
    expect(active).not_to_be_checked()
    with web_system.api("auth") as api:
        users = {u["username"]: u for u in api.get("/users/").json()}
    assert users["grandpa"]["is_active"] is False
    expect(page.get_by_role("heading", name="Analysis jobs")).to_be_visible()
    expect(page.get_by_text("completed")).to_be_visible()
    expect(page.get_by_label("Require login to view photos")).not_to_be_checked()
    expect(page.get_by_text("Storage used:")).to_be_visible()
    page.get_by_role("button", name="Compute placeholders for older photos").click()
    expect(page.get_by_text("Placeholders computed for")).to_be_visible()


def _people(web_system: WebSystem) -> list[dict[str, Any]]:
    with web_system.api("inference") as api:
        resp = api.get("/people")
    return list(resp.json()["items"]) if resp.status_code == 200 else []


def test_name_a_person_and_find_them_by_name(
    page: Any, web_system: WebSystem, face_photos: list[int]
) -> None:
    deadline = time.monotonic() + 150  # detection, embedding and grouping by the real worker
    people = _people(web_system)
    while not people and time.monotonic() < deadline:
        time.sleep(1)
        people = _people(web_system)
    assert people, "the face photos were not grouped into a person in time"
    person = people[0]
    assert person["face_count"] == len(face_photos)
    page.goto("/people")
    expect(page.get_by_role("heading", name="People", level=1)).to_be_visible()
    page.goto(f"/people/{person['id']}")
    page.get_by_label("Name").fill("Grandma")
    page.get_by_role("button", name="Save name").click()
    expect(page.get_by_role("heading", name="Grandma", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="Photos")).to_be_visible()
    page.goto("/people")
    expect(page.get_by_text("Grandma").first).to_be_visible()
    with web_system.api("inference") as api:
        found = api.get("/search/people", params={"q": "grand"}).json()["items"]
    assert [p["id"] for p in found] == [person["id"]]


def test_phone_sized_screen_shows_the_timeline_the_viewer_and_admin(
    browser: Any, web_system: WebSystem, context: Any, shots: Path, request: Any
) -> None:
    web_system.upload("pocket.jpg", jpeg(480, 640, seed=120))
    ctx = browser.new_context(
        base_url=web_system.web_url,
        viewport={"width": 390, "height": 844},
        storage_state=context.storage_state(),
        is_mobile=True,
    )
    try:
        page = ctx.new_page()
        page.goto("/")
        expect(page.get_by_role("img", name="pocket.jpg")).to_be_visible()
        _open_viewer(page, "pocket.jpg")
        page.keyboard.press("Escape")
        for path in ("/", "/admin", "/albums", "/duplicates"):
            page.goto(path)
            expect(page.get_by_role("heading", level=1)).to_be_attached()
            width = page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= 390, f"{path} scrolls sideways on a phone ({width}px)"
    except BaseException:
        save_screenshots(ctx, shots, request.node.name)
        raise
    finally:
        ctx.close()


def test_select_several_photos_and_move_them_into_an_album_at_once(
    page: Any, web_system: WebSystem
) -> None:
    for i in range(2):
        web_system.upload(f"bulk-{i}.jpg", jpeg(640, 480, seed=90 + i))
    with web_system.api("media_store") as api:
        api.post("/entity/", data={"is_collection": "true", "label": "Bulk"}).raise_for_status()
    page.goto("/")
    page.get_by_role("checkbox", name="Select bulk-0.jpg").check()
    page.get_by_role("checkbox", name="Select bulk-1.jpg").check()
    bar = page.get_by_role("region", name="Selection")
    expect(bar.get_by_text("2 selected")).to_be_visible()
    bar.get_by_label("Album for the selected items").select_option(label="Bulk")
    bar.get_by_role("button", name="Add selected to album").click()
    expect(bar).to_have_count(0)
    page.get_by_role("link", name="Albums").click()
    page.get_by_role("link", name="Bulk").click()
    expect(page.get_by_role("img", name="bulk-0.jpg")).to_be_visible()
    expect(page.get_by_role("img", name="bulk-1.jpg")).to_be_visible()


def test_files_dropped_on_the_page_are_uploaded(page: Any) -> None:
    page.goto("/")
    expect(page.get_by_role("link", name="Photos")).to_be_visible()
    encoded = [base64.b64encode(jpeg(600, 450, seed=100 + i)).decode() for i in range(2)]
    files = [{"name": f"dropped-{i}.jpg", "data": data} for i, data in enumerate(encoded)]
    page.evaluate(
        """files => {
          const dt = new DataTransfer();
          for (const f of files) {
            const bytes = Uint8Array.from(atob(f.data), c => c.charCodeAt(0));
            dt.items.add(new File([bytes], f.name, {type: 'image/jpeg'}));
          }
          const app = document.querySelector('main');
          app.dispatchEvent(new DragEvent('dragover', {dataTransfer: dt, bubbles: true}));
          app.dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true}));
        }""",
        files,
    )
    for i in range(2):
        expect(page.get_by_role("img", name=f"dropped-{i}.jpg")).to_be_visible()


def _labels(web_system: WebSystem, entity_id: int) -> list[str]:
    with web_system.api("inference") as api:
        resp = api.get(f"/entity/{entity_id}/analysis")
    if resp.status_code != 200:
        return []
    return [str(label["label"]) for label in resp.json()["labels"]]


def test_search_by_a_label_finds_the_photo(
    page: Any, web_system: WebSystem, labelled_photo: int
) -> None:
    entity_id = labelled_photo
    deadline = time.monotonic() + 90  # the worker analyses it (real model)
    labels: list[str] = []
    while not labels and time.monotonic() < deadline:
        labels = _labels(web_system, entity_id)
        time.sleep(0.5)
    assert labels, "the photo was not analysed in time"
    page.goto("/")
    search = page.get_by_role("searchbox", name="Search")
    search.fill(labels[0])
    search.press("Enter")
    expect(page.get_by_role("heading", name=f"Results for “{labels[0]}”")).to_be_visible()
    expect(page.get_by_role("img", name="labelled.jpg")).to_be_visible()
    # the viewer shows the labels too
    dialog = _open_viewer(page, "labelled.jpg")
    expect(dialog.get_by_role("link", name=labels[0])).to_be_visible()
    dialog.get_by_role("link", name="More like this").click()
    expect(page.get_by_role("heading", name="More like labelled.jpg")).to_be_visible()


def test_thumbnails_load_when_reading_needs_a_login(
    browser: Any, web_system: WebSystem, context: Any, shots: Path, request: Any
) -> None:
    web_system.upload("private.jpg", jpeg(640, 480, seed=130))
    page = context.new_page()
    page.goto("/admin")
    switch = page.get_by_label("Require login to view photos")
    switch.check()
    expect(switch).to_be_checked()
    page.close()
    anonymous = httpx.get(f"{web_system.web_url}/api/store/timeline/buckets")
    try:
        assert anonymous.status_code == 401, anonymous.text
        # a fresh browser cache: every thumbnail comes from the server, with the session cookie
        ctx = browser.new_context(
            base_url=web_system.web_url, storage_state=context.storage_state()
        )
        try:
            tab = ctx.new_page()
            tab.goto("/")
            thumb = tab.get_by_role("img", name="private.jpg")
            expect(thumb).to_be_visible()
            tab.wait_for_function(
                "img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle()
            )
        except BaseException:
            save_screenshots(ctx, shots, request.node.name)
            raise
        finally:
            ctx.close()
    finally:
        with web_system.api("media_store") as api:
            api.put("/admin/config/read-auth", json={"enabled": False}).raise_for_status()


def test_a_folder_chosen_with_upload_folder_is_uploaded(page: Any, tmp_path: Path) -> None:
    folder = tmp_path / "Trip"
    (folder / "day 2").mkdir(parents=True)
    (folder / "first.jpg").write_bytes(jpeg(640, 480, seed=110))
    (folder / "day 2" / "second.jpg").write_bytes(jpeg(480, 640, seed=111))
    page.goto("/")
    page.get_by_label("Upload folder").set_input_files(folder)
    expect(page.get_by_text("Uploads finished (2)")).to_be_visible()
    expect(page.get_by_role("img", name="first.jpg")).to_be_visible()
    expect(page.get_by_role("img", name="second.jpg")).to_be_visible()
