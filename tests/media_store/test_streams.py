"""Video streaming with the real ffmpeg: HLS playlists that parse strictly, segments that decode,
durations that match, a playable MP4 with Range, HDR tone-mapped, and the life cycle (made on
first play or at upload, 202 while being made, deleted with the entity, rebuilt after a PUT)."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from medianest.media_store.streams import StreamBuilder
from tests.media_store import hls_check as hc
from tests.media_store import media_factory as mf
from tests.media_store.conftest import Store, StoreFactory
from tests.polling import wait_until

pytestmark = [
    pytest.mark.media_store,
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(not mf.ffmpeg_available(), reason="ffmpeg/ffprobe missing"),
]


def _upload(store: Store, path: Path) -> dict[str, Any]:
    resp = store.upload(path.read_bytes(), filename=path.name)
    assert resp.status_code == 201, resp.text
    body: dict[str, Any] = resp.json()
    assert body["type"] == "video"
    return body


def _master(store: Store, entity_id: int, timeout: float = 120) -> str:
    """Ask for the master playlist until it is made; every answer before is 202."""

    def ready() -> str | None:
        resp = store.client.get(f"/entity/{entity_id}/stream/master.m3u8")
        if resp.status_code == 202:
            assert int(resp.headers["Retry-After"]) > 0
            assert resp.json()["detail"]
            return None
        assert resp.status_code == 200, resp.text
        return str(resp.text)

    text: str = wait_until(ready, "the HLS stream", timeout, interval=0.3)
    return text


def _check_stream(
    store: Store, entity_id: int, tmp: Path, source: Path, audio: bool = True
) -> list[hc.Variant]:
    master = _master(store, entity_id)
    variants = hc.parse_master(master)
    source_info = hc.ffprobe(source)
    duration = float(source_info["format"]["duration"])
    src_video = next(s for s in source_info["streams"] if s["codec_type"] == "video")
    for variant in variants:
        assert min(variant.width, variant.height) <= min(src_video["width"], src_video["height"])
        resp = store.client.get(f"/entity/{entity_id}/stream/{variant.uri}")
        assert resp.status_code == 200
        assert resp.headers["content-type"] == "application/vnd.apple.mpegurl"
        playlist = hc.parse_media(resp.text)
        assert playlist.ended  # a complete VOD playlist, never a half one
        assert abs(playlist.duration - duration) < 0.5
        for _, uri in playlist.segments:
            seg = store.client.get(f"/entity/{entity_id}/stream/{uri}")
            assert seg.status_code == 200
            assert seg.headers["content-type"] == "video/mp2t"
            path = tmp / uri
            path.write_bytes(seg.content)
            info = hc.ffprobe(path)
            codecs = {s["codec_type"]: s["codec_name"] for s in info["streams"]}
            assert codecs["video"] == "h264"
            assert codecs.get("audio") == ("aac" if audio else None)
            video = next(s for s in info["streams"] if s["codec_type"] == "video")
            assert (video["width"], video["height"]) == (variant.width, variant.height)
            assert int(video["nb_read_frames"]) > 0
            assert hc.decode_errors(path) == ""
    return variants


@pytest.mark.parametrize(
    ("codec", "suffix", "size"),
    [("hevc", ".mov", (320, 240)), ("h264", ".mp4", (320, 240))],
)
def test_video_streams_as_hls_that_parses_and_decodes(
    make_store: StoreFactory, tmp_path: Path, codec: str, suffix: str, size: tuple[int, int]
) -> None:
    store = make_store()
    source = hc.clip(tmp_path / f"clip{suffix}", codec=codec, size=size, duration=2.0)
    entity = _upload(store, source)
    variants = _check_stream(store, entity["id"], tmp_path, source)
    assert [(v.width, v.height) for v in variants] == [(320, 240)]  # never above the source


def test_ladder_has_lower_rungs_and_stops_at_the_source(
    make_store: StoreFactory, tmp_path: Path
) -> None:
    store = make_store(video_stream_heights=[240, 1080])
    source = hc.clip(tmp_path / "wide.mp4", size=(640, 360), duration=1.0)
    entity = _upload(store, source)
    variants = _check_stream(store, entity["id"], tmp_path, source)
    assert [(v.width, v.height) for v in variants] == [(426, 240), (640, 360)]
    assert variants[0].bandwidth < variants[1].bandwidth


def test_portrait_phone_video_without_sound_keeps_its_orientation(
    make_store: StoreFactory, tmp_path: Path
) -> None:
    store = make_store()
    source = mf.video_file(tmp_path / "portrait.mov", "mov", size=(320, 240), rotate=90)
    entity = _upload(store, source)
    variants = _check_stream(store, entity["id"], tmp_path, source, audio=False)
    assert [(v.width, v.height) for v in variants] == [(240, 320)]
    assert "mp4a" not in variants[0].codecs


def test_playback_mp4_plays_in_a_browser_with_range_and_head(
    make_store: StoreFactory, tmp_path: Path
) -> None:
    store = make_store()
    source = hc.clip(tmp_path / "clip.mov", codec="hevc", duration=1.5)
    entity_id = _upload(store, source)["id"]
    _master(store, entity_id)
    url = f"/entity/{entity_id}/playback"
    full = store.client.get(url)
    assert full.status_code == 200
    assert full.headers["content-type"] == "video/mp4"
    (tmp_path / "playback.mp4").write_bytes(full.content)
    info = hc.ffprobe(tmp_path / "playback.mp4")
    assert {s["codec_name"] for s in info["streams"]} == {"h264", "aac"}
    assert abs(float(info["format"]["duration"]) - 1.5) < 0.5
    assert full.content[4:8] == b"ftyp"
    assert b"moov" in full.content[:4096]  # faststart: plays before the download ends
    part = store.client.get(url, headers={"Range": "bytes=0-99"})
    assert part.status_code == 206
    assert part.content == full.content[:100]
    head = store.client.head(url)
    assert head.status_code == 200
    assert head.content == b""
    assert int(head.headers["content-length"]) == len(full.content)
    head = store.client.head(f"/entity/{entity_id}/stream/master.m3u8")
    assert head.status_code == 200


def test_hdr_video_is_tone_mapped_to_sdr(make_store: StoreFactory, tmp_path: Path) -> None:
    store = make_store()
    source = hc.clip(tmp_path / "hdr.mov", codec="hevc", hdr=True, duration=1.0)
    src_video = next(s for s in hc.ffprobe(source)["streams"] if s["codec_type"] == "video")
    assert src_video["color_transfer"] == "smpte2084"
    entity_id = _upload(store, source)["id"]
    _master(store, entity_id)
    data = store.client.get(f"/entity/{entity_id}/playback").content
    (tmp_path / "out.mp4").write_bytes(data)
    video = next(
        s for s in hc.ffprobe(tmp_path / "out.mp4")["streams"] if s["codec_type"] == "video"
    )
    assert video["pix_fmt"] == "yuv420p"
    assert video["color_transfer"] == "bt709"
    assert video["color_primaries"] == "bt709"


def test_stream_follows_the_file_routes_permissions(
    make_store: StoreFactory, tmp_path: Path
) -> None:
    store = make_store()
    entity_id = _upload(store, hc.clip(tmp_path / "c.mp4", duration=1.0))["id"]
    store.client.put("/admin/config/read-auth", json={"enabled": True}, headers=store.admin)
    time.sleep(store.settings.read_auth_cache_s)  # the flag is cached for this long
    for path in ("stream/master.m3u8", "playback"):
        assert store.client.get(f"/entity/{entity_id}/{path}").status_code == 401
        assert store.client.head(f"/entity/{entity_id}/{path}").status_code == 401
        ok = store.client.get(f"/entity/{entity_id}/{path}", headers=store.reader)
        assert ok.status_code in (200, 202)


def test_not_a_video_bad_names_and_streaming_off_are_404(
    make_store: StoreFactory, tmp_path: Path
) -> None:
    store = make_store()
    photo = store.media()
    resp = store.client.get(f"/entity/{photo['id']}/stream/master.m3u8")
    assert resp.status_code == 404
    assert "not a video" in resp.json()["detail"]
    video_id = _upload(store, hc.clip(tmp_path / "c.mp4", duration=1.0))["id"]
    for bad in ("../x.m3u8", "master.m3u", "480p_1.ts", "x.ts", "%2e%2e%2fetc"):
        assert store.client.get(f"/entity/{video_id}/stream/{bad}").status_code in (404, 422)
    assert store.client.get("/entity/999999/stream/master.m3u8").status_code == 404
    off = make_store(video_streams="off")
    resp = off.client.get(f"/entity/{video_id}/playback")
    assert resp.status_code == 404
    assert "off" in resp.json()["detail"]


def test_eager_stream_is_made_at_upload_deleted_with_the_entity_and_rebuilt_after_put(
    make_store: StoreFactory, tmp_path: Path
) -> None:
    store = make_store(video_streams="eager")
    streams = store.settings.store_root() / "streams"
    first = hc.clip(tmp_path / "a.mp4", duration=1.0)
    entity = _upload(store, first)
    folder = streams / entity["sha256"]
    wait_until(lambda: (folder / "master.m3u8").exists(), "the eager stream", 120)
    second = hc.clip(tmp_path / "b.mov", codec="hevc", duration=1.5)
    resp = store.client.put(
        f"/entity/{entity['id']}",
        data={"is_collection": "false"},
        files={"image": ("b.mov", second.read_bytes(), "application/octet-stream")},
        headers=store.writer,
    )
    assert resp.status_code == 200, resp.text
    new_folder = streams / resp.json()["sha256"]
    wait_until(lambda: (new_folder / "master.m3u8").exists(), "the rebuilt stream", 120)
    wait_until(lambda: not folder.exists(), "the old stream dropped", 30)
    _check_stream(store, entity["id"], tmp_path, second)
    assert store.client.delete(f"/entity/{entity['id']}", headers=store.writer).status_code == 204
    wait_until(lambda: not new_folder.exists(), "the stream deleted with its entity", 30)
    assert [p.name for p in streams.iterdir()] == []


def test_a_broken_video_fails_once_with_a_clear_error(
    make_store: StoreFactory, tmp_path: Path
) -> None:
    store = make_store()
    entity = _upload(store, hc.clip(tmp_path / "c.mp4", duration=1.0))
    original = store.settings.store_root() / entity["file_path"]
    original.write_bytes(original.read_bytes()[:2000])  # bit rot after the upload

    def failed() -> bool:
        resp = store.client.get(f"/entity/{entity['id']}/stream/master.m3u8")
        return bool(resp.status_code == 422)

    wait_until(failed, "the failure", 120, interval=0.3)
    resp = store.client.get(f"/entity/{entity['id']}/playback")
    assert resp.status_code == 422
    assert "cannot be streamed" in resp.json()["detail"]


HOLD = """#!/bin/sh
echo $$ >> "{box}/pids"
while [ ! -e "{box}/go" ]; do sleep 0.02; done
exec "{real}" "$@"
"""


def test_a_killed_ffmpeg_is_retried_and_no_half_stream_is_served(
    make_store: StoreFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = make_store()
    source = hc.clip(tmp_path / "c.mov", codec="hevc", duration=2.0)
    entity = _upload(store, source)
    box = tmp_path / "box"
    box.mkdir()
    real = shutil.which("ffmpeg")
    assert real
    (box / "ffmpeg").write_text(HOLD.format(box=box, real=real))
    (box / "ffmpeg").chmod(0o755)
    monkeypatch.setenv("PATH", f"{box}{os.pathsep}{os.environ['PATH']}")
    caplog.set_level(logging.INFO, logger="medianest.media_store.streams")
    url = f"/entity/{entity['id']}/stream/master.m3u8"
    assert store.client.get(url).status_code == 202
    pids = box / "pids"
    wait_until(pids.exists, "the transcoding ffmpeg", 60)
    first = int(pids.read_text().split()[0])
    assert store.client.get(url).status_code == 202  # held mid-build: nothing is served
    streams = store.settings.store_root() / "streams"
    assert not (streams / entity["sha256"]).exists()
    (box / "go").touch()
    os.kill(first, signal.SIGKILL)  # as the OOM killer or an operator would
    _check_stream(store, entity["id"], tmp_path, source)
    assert "video stream attempt failed" in caplog.text
    assert any("SIGKILL" in str(getattr(r, "error", "")) for r in caplog.records)
    assert len(pids.read_text().split()) > 1  # ffmpeg ran again
    assert [p.name for p in streams.iterdir()] == [entity["sha256"]]  # no work folder left


def test_stopping_the_store_kills_a_running_ffmpeg_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = hc.clip(tmp_path / "c.mp4", duration=1.0)
    box = tmp_path / "box"
    box.mkdir()
    real = shutil.which("ffmpeg")
    assert real
    (box / "ffmpeg").write_text(HOLD.format(box=box, real=real))  # held until "go": forever
    (box / "ffmpeg").chmod(0o755)
    monkeypatch.setenv("PATH", f"{box}{os.pathsep}{os.environ['PATH']}")
    builder = StreamBuilder(tmp_path / "streams", [480])
    assert builder.request("a" * 64, lambda: source)
    wait_until((box / "pids").exists, "the transcoding ffmpeg", 60)
    pid = int((box / "pids").read_text().split()[0])
    builder.close()  # returns once the held ffmpeg is killed
    assert not Path(f"/proc/{pid}").exists()  # killed and reaped
    assert list((tmp_path / "streams").iterdir()) == []  # no work folder, no failure marker
