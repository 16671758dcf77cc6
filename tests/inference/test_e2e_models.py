"""End to end with real processes: upload photos through the media store over HTTP and see
faces, labels and similar images appear in the inference API with no manual job submission
(the inference API follows the store's change feed; one `medianest worker` runs the models)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import httpx
import pytest

from tests.inference import photos
from tests.inference.cluster import System, running_system
from tests.polling import wait_until

pytestmark = [pytest.mark.inference, pytest.mark.integration, pytest.mark.slow]

pytest.importorskip("medianest.media_store.app")
pytest.importorskip("medianest.authentication.app")


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    with running_system(tmp_path_factory.mktemp("e2e-home")) as running:
        yield running


def astronaut_video(folder: Path) -> bytes:
    """A one-second MP4 showing the astronaut photo (made with ffmpeg)."""
    still, video = folder / "astronaut.png", folder / "astronaut.mp4"
    from PIL import Image

    Image.fromarray(photos.astronaut()).save(still)
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", "-loop", "1", "-i", str(still), "-t", "1",
         "-r", "5", "-pix_fmt", "yuv420p", "-c:v", "libx264", str(video)],
        check=True, timeout=60,
    )  # fmt: skip
    return video.read_bytes()


def _logs(system: System) -> str:
    return "\n".join(f"--- {n}\n{system.log(n)}" for n in ("inference", "worker"))


def test_uploads_get_faces_labels_and_similar_images_without_submitting_jobs(
    system: System, tmp_path: Path
) -> None:
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed (scripts/install-system-deps.sh installs it)")
    uploads = {
        "astronaut.jpg": photos.jpeg(photos.astronaut()),
        "grace.jpg": photos.jpeg(photos.grace_hopper()),
        "coffee.jpg": photos.jpeg(photos.coffee()),
        "coffee-copy.jpg": photos.jpeg(photos.recompressed(photos.coffee(), 30), 80),
        "astronaut.mp4": astronaut_video(tmp_path),
    }
    with httpx.Client(timeout=30) as client:
        ids = {name: system.upload(client, name, data)["id"] for name, data in uploads.items()}
        api = httpx.Client(base_url=system.urls["inference"], headers=system.headers, timeout=30)

        def analysed() -> bool:
            for media_id in ids.values():
                jobs = api.get(f"/entity/{media_id}/analysis").json()["jobs"]
                states = {j["task_type"]: j["status"] for j in jobs}
                assert "error" not in states.values(), jobs
                if states != {"face_embedding": "completed", "image_embedding": "completed"}:
                    return False
            return True

        wait_until(analysed, "every upload to be analysed", 120, partial(_logs, system))
        faces = {
            name: api.get("/faces", params={"media_store_id": media_id}).json()["items"]
            for name, media_id in ids.items()
        }
        assert {name: len(items) for name, items in faces.items()} == {
            "astronaut.jpg": 1, "grace.jpg": 1, "coffee.jpg": 0, "coffee-copy.jpg": 0,
            "astronaut.mp4": 1,
        }  # fmt: skip
        video_jobs = api.get("/job/", params={"media_store_id": ids["astronaut.mp4"]}).json()
        assert {j["result"]["source"] for j in video_jobs["items"]} == {"poster_frame"}
        crop = api.get(f"/faces/{faces['astronaut.jpg'][0]['face_id']}/crop")
        assert crop.status_code == 200
        assert crop.headers["content-type"] == "image/jpeg"
        similar = api.get("/search/similar-images",
                          params={"media_store_id": ids["coffee-copy.jpg"]}).json()  # fmt: skip
        assert similar["items"][0]["media_store_id"] == ids["coffee.jpg"]
        found = api.get("/search/labels", params={"q": "espresso coffee cup"}).json()["items"]
        assert {item["media_store_id"] for item in found} >= {
            ids["coffee.jpg"],
            ids["coffee-copy.jpg"],
        }
        face_id = faces["grace.jpg"][0]["face_id"]
        others = api.get(f"/faces/{face_id}/similar", params={"min_score": -1}).json()["items"]
        assert {o["media_store_id"] for o in others} == {ids["astronaut.jpg"], ids["astronaut.mp4"]}
        assert all(o["score"] < 0.363 for o in others)  # neither is Grace Hopper

        deleted = client.delete(f"{system.urls['media_store']}/entity/{ids['grace.jpg']}",
                                headers=system.headers)  # fmt: skip
        assert deleted.status_code == 204, deleted.text
        wait_until(
            lambda: api.get("/faces", params={"media_store_id": ids["grace.jpg"]}).json()["items"]
            == [],
            "the deleted media's faces to go", 120, partial(_logs, system),
        )  # fmt: skip
        gone = api.get("/search/similar-images", params={"media_store_id": ids["grace.jpg"]})
        assert gone.status_code == 404
        api.close()


def test_the_worker_log_shows_no_crash(system: System) -> None:
    assert "Traceback" not in system.log("worker"), system.log("worker")
    assert isinstance(system.home, Path)
