"""``vigil serve`` on a real uvicorn server on loopback: tokens and tenants, the allow-list,
limits, a file stream answered, a live stream fed over the ingest WebSocket (with garbage, a
message cut off mid-frame and a reader that never reads), and the web page in headless
Chromium with a fake camera and microphone.

One server for the module, on the session's Ray cluster. The streams play a 12 s clip: a sign
on screen and a spoken question about it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import cv2
import httpx
import numpy as np
import pytest
import websockets

from evaluation.demo import BuiltClip, Overlay, build_clip, clip_info
from evaluation.samples import sample_video
from runtime.config import load_config
from runtime.stages import ModelPaths
from service.app import create_app
from service.client import clip_media, message, send_media
from service.ingest import HEADER
from service.server import BackgroundServer
from vigil.items import AudioChunk, VideoFrame

SIGN = "GATE 7 CLOSED"
SPOKEN = "What does the sign say?"
TOKENS = {"tok-a": "tenant-a", "tok-b": "tenant-b"}
A = {"Authorization": "Bearer tok-a"}
B = {"Authorization": "Bearer tok-b"}
MAX_MESSAGE = 256 * 1024
ANSWER_WAIT = 90.0
ARTIFACTS = Path(__file__).resolve().parent.parent / "reports" / "test-artifacts"


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> BuiltClip:
    folder = tmp_path_factory.mktemp("served")
    path = build_clip(
        sample_video("vtest.avi"),
        folder / "sign.mp4",
        start=30.0,
        duration=12.0,
        speech=[(SPOKEN, 6.0)],  # once OCR has read the sign (as in test_end_to_end)
        overlays=[Overlay(text=SIGN, t0=0.0, t1=12.0, position="top")],
    )
    return clip_info(Path(path))


@pytest.fixture(scope="module")
def base_url(ray_cluster: None, model_paths: ModelPaths, clip: BuiltClip) -> Iterator[str]:
    config = load_config(
        service={
            "tokens": TOKENS,
            "allowed_paths": [str(clip.path.parent)],
            "allowed_urls": ["rtsp://cameras.example/"],
            "max_message_bytes": MAX_MESSAGE,
            "max_text_chars": 500,
            "disconnect_grace_s": 2.0,
        },
        reaction={"max_tokens": 40},
    )
    with BackgroundServer(create_app(config, paths=model_paths)) as url:
        yield url


@pytest.fixture
def http(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=30) as client:
        yield client


def _session(http: httpx.Client, headers: dict[str, str] = A) -> str:
    response = http.post("/v1/sessions", headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _live(http: httpx.Client) -> tuple[str, dict[str, Any]]:
    """A new session of tenant A with a live stream attached: (session id, the stream)."""
    session = _session(http)
    stream = http.post(f"/v1/sessions/{session}/streams", headers=A, json={"source": "live"})
    assert stream.status_code == 201, stream.text
    assert stream.json()["ingest"] == f"/v1/streams/{stream.json()['id']}/ingest"
    return session, stream.json()


def _answers(http: httpx.Client, session: str, *, count: int = 1) -> list[dict[str, Any]]:
    deadline = time.monotonic() + ANSWER_WAIT
    while time.monotonic() < deadline:
        answers = http.get(f"/v1/sessions/{session}/answers", headers=A).json()
        if len(answers) >= count:
            return answers
        time.sleep(0.5)
    pytest.fail(f"no answer within {ANSWER_WAIT} s")


def _playing(http: httpx.Client, stream: str) -> None:
    deadline = time.monotonic() + 120
    while (state := http.get(f"/v1/streams/{stream}", headers=A).json()["state"]) == "starting":
        assert time.monotonic() < deadline, "the stream did not start"
        time.sleep(0.2)
    assert state == "playing"


# --- without streams ---------------------------------------------------------------------------


PROTECTED = (
    ("GET", "/metrics"),
    ("GET", "/v1/sessions"),
    ("POST", "/v1/sessions"),
    ("GET", "/v1/memory/search?q=x"),
)


def test_probes_and_the_page_need_no_token_and_everything_else_does(http: httpx.Client) -> None:
    assert http.get("/healthz").json() == {"status": "ok"}
    deadline = time.monotonic() + 10  # models are verified in the background
    while http.get("/readyz").status_code == 503 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert http.get("/readyz").json() == {"ready": True}
    assert "Start camera and microphone" in http.get("/").text
    assert http.get("/static/app.js").status_code == 200
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "tok-a"}):
        for method, path in PROTECTED:
            response = http.request(method, path, headers=headers)
            assert response.status_code == 401, (method, path, headers)
            assert "tok-a" not in response.text
    metrics = http.get("/metrics", headers=A)
    assert metrics.status_code == 200
    assert "vigil_sessions_active" in metrics.text
    assert "vigil_answer_latency_seconds_bucket" in metrics.text


def test_a_tenant_sees_and_touches_only_its_own_sessions(http: httpx.Client) -> None:
    mine = _session(http, A)
    theirs = _session(http, B)
    assert mine in [s["id"] for s in http.get("/v1/sessions", headers=A).json()]
    assert mine not in [s["id"] for s in http.get("/v1/sessions", headers=B).json()]
    assert theirs not in [s["id"] for s in http.get("/v1/sessions", headers=A).json()]
    for method, path, body in (
        ("GET", f"/v1/sessions/{mine}", None),
        ("GET", f"/v1/sessions/{mine}/answers", None),
        ("POST", f"/v1/sessions/{mine}/questions", {"text": "hi?"}),
        ("POST", f"/v1/sessions/{mine}/instructions", {"text": "tell me when X appears"}),
        ("POST", f"/v1/sessions/{mine}/streams", {"source": "live"}),
        ("DELETE", f"/v1/sessions/{mine}", None),
    ):
        response = http.request(method, path, headers=B, json=body)
        assert response.status_code == 404, (method, path, response.text)
    assert http.get(f"/v1/sessions/{mine}", headers=A).json()["ended"] is False


def test_sources_outside_the_allow_list_are_refused(http: httpx.Client, clip: BuiltClip) -> None:
    session = _session(http)
    for source, word in (
        ("/etc/passwd", "allowed_paths"),
        (str(clip.path.parent / ".." / "elsewhere.mp4"), "allowed_paths"),
        ("rtsp://intruder.example/cam", "allowed_urls"),
        ("webcam:0", "allow_devices"),
        ("/dev/../etc/passwd", "allowed_paths"),
    ):
        response = http.post(f"/v1/sessions/{session}/streams", headers=A, json={"source": source})
        assert response.status_code == 403, source
        assert word in response.json()["detail"]
    missing = http.post(
        f"/v1/sessions/{session}/streams",
        headers=A,
        json={"source": str(clip.path.parent / "missing.mp4")},
    )
    assert missing.status_code == 404


def test_malformed_and_oversize_requests_get_clear_errors(http: httpx.Client) -> None:
    session = _session(http)
    path = f"/v1/sessions/{session}/questions"
    broken = http.post(path, headers={**A, "Content-Type": "application/json"}, content=b"{nope")
    assert broken.status_code == 422
    assert http.post(path, headers=A, json={"question": "x"}).status_code == 422
    long = http.post(path, headers=A, json={"text": "why " * 200})
    assert long.status_code == 413 and "max_text_chars" in long.json()["detail"]
    huge = http.post(path, headers=A, content=b"x" * 70_000)
    assert huge.status_code == 413 and "max_request_bytes" in huge.json()["detail"]
    nothing = http.post(path, headers=A, json={"text": "anyone there?"})
    assert nothing.status_code == 409 and "attach" in nothing.json()["detail"]


def test_a_websocket_with_a_wrong_token_is_closed_with_a_reason(base_url: str) -> None:
    async def connect() -> tuple[int | None, str]:
        url = base_url.replace("http", "ws") + "/v1/sessions/x/events?token=wrong"
        async with websockets.connect(url) as socket:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await socket.recv()
        return closed.value.rcvd.code, closed.value.rcvd.reason

    code, reason = asyncio.run(connect())
    assert code == 1008 and "token" in reason


# --- streams -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_file_stream_answers_the_spoken_and_the_typed_question(
    http: httpx.Client, base_url: str, clip: BuiltClip
) -> None:
    session = _session(http)
    stream = http.post(
        f"/v1/sessions/{session}/streams", headers=A, json={"source": str(clip.path)}
    ).json()
    assert http.get(f"/v1/streams/{stream['id']}", headers=B).status_code == 404
    _playing(http, stream["id"])
    metrics = http.get("/metrics", headers=A).text
    assert f'vigil_answers_waiting{{stream="{stream["id"]}"}}' in metrics
    assert f'vigil_stream_dropped{{stream="{stream["id"]}",what="source_frames"}} 0.0' in metrics
    asked = http.post(
        f"/v1/sessions/{session}/questions",
        headers=A,
        json={"text": "Which gate does the sign name?", "at": 9.0},
    )
    assert asked.status_code == 202
    answers = _answers(http, session, count=2)
    assert any("7" in a["text"] or "GATE" in a["text"].upper() for a in answers), [
        (a["question"], a["text"], a["asked_at"]) for a in answers
    ]
    assert {a["question"] for a in answers} == {SPOKEN, "Which gate does the sign name?"}
    events = _read_events(base_url, session, until="Response")
    assert any(e["type"] == "Utterance" and e["final"] and "sign" in e["text"] for e in events)
    ended = http.delete(f"/v1/sessions/{session}", headers=A).json()
    assert ended["ended"] is True
    assert http.get(f"/v1/streams/{stream['id']}", headers=A).json()["state"] == "ended"


def _read_events(base_url: str, session: str, *, until: str) -> list[dict[str, Any]]:
    async def read() -> list[dict[str, Any]]:
        url = base_url.replace("http", "ws") + f"/v1/sessions/{session}/events?token=tok-a"
        seen: list[dict[str, Any]] = []
        async with websockets.connect(url) as socket:
            while not any(e["type"] == until for e in seen):
                seen.append(json.loads(await asyncio.wait_for(socket.recv(), ANSWER_WAIT)))
        return seen

    return asyncio.run(read())


def _message(kind: bytes, payload: bytes) -> bytes:
    return HEADER.pack(kind, 0.0) + payload


GARBAGE = (
    b"\x01",
    b"X" + bytes(20),
    _message(b"V", b"not a jpeg"),
    _message(b"A", b"\x00" * 3),
    _message(b"V", bytes(MAX_MESSAGE)),
)


def _cut_mid_message(url: str) -> None:
    """Open a WebSocket by hand, send a third of a binary message, and hang up: a client
    that lost its network mid-frame."""
    where = urlsplit(url)
    with socket.create_connection((where.hostname, where.port), timeout=120) as raw:
        key = base64.b64encode(os.urandom(16)).decode()
        raw.sendall(
            f"GET {where.path}?{where.query} HTTP/1.1\r\nHost: {where.netloc}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        assert b" 101 " in raw.recv(4096).split(b"\r\n")[0]
        length, mask = 60_000, os.urandom(4)
        raw.sendall(bytes([0x82, 0x80 | 126]) + length.to_bytes(2, "big") + mask)
        raw.sendall(os.urandom(length // 3))


@pytest.mark.slow
def test_a_live_stream_survives_broken_clients_and_its_spoken_question_is_answered(
    http: httpx.Client, base_url: str, clip: BuiltClip
) -> None:
    """Garbage messages, a message cut off by a lost connection, and an events reader that
    never reads: each gets a clear error or is let go, and the stream goes on."""
    session, stream = _live(http)
    ingest = base_url.replace("http", "ws") + stream["ingest"] + "?token=tok-a"
    events = base_url.replace("http", "ws") + f"/v1/sessions/{session}/events?token=tok-a"
    media = asyncio.run(clip_media(str(clip.path)))

    async def play() -> list[dict[str, Any]]:
        async with websockets.connect(events, max_queue=1):  # connected, never read
            await asyncio.to_thread(_cut_mid_message, ingest)
            return await send_media(ingest, media, before=GARBAGE)

    replies = asyncio.run(play())
    assert all(r["type"] == "error" for r in replies)
    assert "type byte" in replies[0]["error"] and "unknown message type" in replies[1]["error"]
    assert "JPEG" in replies[2]["error"] and "odd number" in replies[3]["error"]
    assert "max_message_bytes" in replies[4]["error"]
    answers = _answers(http, session)
    assert any("7" in a["text"] or "GATE" in a["text"].upper() for a in answers), answers
    metrics = http.get("/metrics", headers=A).text
    assert 'vigil_ingest_messages_total{kind="video"}' in metrics


@pytest.mark.slow
def test_a_live_stream_whose_client_left_ends_after_the_grace_period(
    http: httpx.Client, base_url: str, clip: BuiltClip
) -> None:
    _, stream = _live(http)
    ingest = base_url.replace("http", "ws") + stream["ingest"] + "?token=tok-a"
    media = asyncio.run(clip_media(str(clip.path)))[:40]

    async def leave() -> None:  # a few items, then the connection drops without an end
        async with websockets.connect(ingest, max_size=None) as socket:
            assert json.loads(await asyncio.wait_for(socket.recv(), 120))["type"] == "ready"
            for item in media:
                await socket.send(message(item))

    asyncio.run(leave())
    left = time.monotonic()
    while http.get(f"/v1/streams/{stream['id']}", headers=A).json()["state"] == "playing":
        assert time.monotonic() - left < 60, "the stream outlived its client"
        time.sleep(0.2)
    assert time.monotonic() - left >= 1.5  # disconnect_grace_s is 2


@pytest.mark.slow
def test_a_live_stream_fed_over_webrtc_is_answered(
    http: httpx.Client, base_url: str, clip: BuiltClip, monkeypatch: pytest.MonkeyPatch
) -> None:
    import aioice.ice
    from aiortc import RTCPeerConnection, RTCSessionDescription
    from aiortc.contrib.media import MediaPlayer

    # Both ends on loopback: no other interface's candidates to try.
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda *_, **__: ["127.0.0.1"])
    session, stream = _live(http)
    offer_url = f"/v1/streams/{stream['id']}/webrtc"

    async def call() -> None:
        player = MediaPlayer(str(clip.path))  # plays the file in real time, as a camera would
        peer = RTCPeerConnection()
        peer.addTrack(player.video)
        peer.addTrack(player.audio)
        await peer.setLocalDescription(await peer.createOffer())
        async with httpx.AsyncClient(base_url=base_url, headers=A, timeout=300) as client:
            reply = await client.post(
                offer_url, json={"sdp": peer.localDescription.sdp, "type": "offer"}
            )
        assert reply.status_code == 200, reply.text
        await peer.setRemoteDescription(RTCSessionDescription(**reply.json()))
        await asyncio.sleep(clip.duration + 1.0)
        await peer.close()

    asyncio.run(call())
    answers = _answers(http, session)
    assert any("7" in a["text"] or "GATE" in a["text"].upper() for a in answers), answers
    assert answers[0]["question"] == SPOKEN


@pytest.mark.slow
def test_the_page_attaches_camera_and_microphone_and_shows_the_answer(
    base_url: str, clip: BuiltClip, tmp_path: Path
) -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (scripts/setup.sh installs it)")
    from playwright.sync_api import sync_playwright

    video, audio = _fake_devices(clip, tmp_path)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium,
            args=[
                "--use-fake-device-for-media-stream",
                "--use-fake-ui-for-media-stream",
                f"--use-file-for-fake-video-capture={video}",
                f"--use-file-for-fake-audio-capture={audio}",
                "--autoplay-policy=no-user-gesture-required",
            ],
        )
        try:
            page = browser.new_page()
            said: list[str] = []
            page.on("console", lambda message: said.append(message.text))
            page.goto(base_url + "/")
            page.fill("#token", "tok-a")
            page.click("#connect")
            page.wait_for_selector("#start:not([disabled])", timeout=10_000)
            page.click("#start")
            try:
                page.wait_for_selector("#stop:not([disabled])", timeout=120_000)
                answer = page.wait_for_selector(
                    "#answers li[data-done]", timeout=int(ANSWER_WAIT * 1000)
                )
            except Exception:
                page.screenshot(path=str(ARTIFACTS / "service-page-failed.png"), full_page=True)
                status = page.inner_text("#status")
                notices = page.inner_text("#notices")
                pytest.fail(f"the page: {status!r}, notices {notices!r}, console {said}")
            text = answer.inner_text()
            transcript = page.inner_text("#transcript")
            page.screenshot(path=str(ARTIFACTS / "service-page.png"), full_page=True)
            page.click("#stop")
        finally:
            browser.close()
    assert "sign" in transcript.lower()
    assert "7" in text or "GATE" in text.upper(), text


def _fake_devices(clip: BuiltClip, folder: Path) -> tuple[Path, Path]:
    """The clip as Chromium's fake camera (a y4m file) and microphone (a wav file)."""
    import soundfile

    media = asyncio.run(clip_media(str(clip.path)))
    frames = [m for m in media if isinstance(m, VideoFrame)]
    height, width = frames[0].image.shape[:2]
    video = folder / "camera.y4m"
    with video.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        due = 0.0
        for frame in frames:  # at 10 fps, whatever the clip's rate
            if frame.media_time + 1e-6 >= due:
                due += 0.1
                out.write(b"FRAME\n" + cv2.cvtColor(frame.image, cv2.COLOR_BGR2YUV_I420).tobytes())
    chunks = [m for m in media if isinstance(m, AudioChunk)]
    samples = np.concatenate([c.samples[:, 0] for c in chunks])
    audio = folder / "microphone.wav"
    soundfile.write(audio, samples, chunks[0].sample_rate, subtype="PCM_16")
    return video, audio


def test_client_messages_decode_to_the_media_they_carry() -> None:
    from service.ingest import Ingest, IngestError

    image = np.full((48, 64, 3), (0, 0, 255), np.uint8)
    sound = np.linspace(-0.5, 0.5, 1600, dtype=np.float32).reshape(-1, 1)
    ingest = Ingest("s")
    with pytest.raises(IngestError):
        ingest.decode(_message(b"V", b"junk"))  # sets no origin for what follows
    frame = ingest.decode(message(VideoFrame(stream_id="c", media_time=2.0, image=image)))
    audio = ingest.decode(
        message(AudioChunk(stream_id="c", media_time=2.5, samples=sound, sample_rate=16_000))
    )
    assert isinstance(frame, VideoFrame) and frame.media_time == 0.0
    assert frame.image.shape == image.shape and frame.image[..., 2].mean() > 240
    assert isinstance(audio, AudioChunk) and audio.media_time == pytest.approx(0.5)
    assert np.abs(audio.samples - sound).max() < 1e-3


@pytest.fixture(scope="module")
def memory_url(
    ray_cluster: None, model_paths: ModelPaths, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A second service whose long-term memory holds what tenant A's earlier session heard."""
    from memory.persistent import PersistentMemory

    root = tmp_path_factory.mktemp("memory")

    async def seed() -> None:
        memory = PersistentMemory(root)
        for tenant, session, speaker, text in (
            ("tenant-a", "monday", "spk-1", "Rosa said: the spare key is under the blue flowerpot"),
            ("tenant-b", "tuesday", "spk-9", "Omar said: the spare key is in the red drawer"),
        ):
            await memory.note(tenant, "cam", session, "utterance", text, speaker=speaker)
        memory.speakers.enroll("tenant-a", "spk-1", name="Rosa")
        memory.speakers.enroll("tenant-b", "spk-9", name="Omar")
        memory.store.close()

    asyncio.run(seed())
    config = load_config(service={"tokens": TOKENS}, memory={"persistent": True, "path": str(root)})
    with BackgroundServer(create_app(config, paths=model_paths)) as url:
        yield url


def test_a_tenant_searches_and_forgets_only_its_own_memory(memory_url: str) -> None:
    with httpx.Client(base_url=memory_url, timeout=60) as http:

        def search(headers: dict[str, str]) -> str:
            hits = http.get("/v1/memory/search", params={"q": "where is the spare key?"},
                            headers=headers)  # fmt: skip
            assert hits.status_code == 200, hits.text
            return " ".join(hit["text"] for hit in hits.json())

        assert "flowerpot" in search(A) and "drawer" not in search(A)
        assert "drawer" in search(B) and "flowerpot" not in search(B)
        assert http.delete("/v1/memory/speakers/Rosa", headers=B).status_code == 404
        assert http.delete("/v1/memory/sessions/monday", headers=B).json()["deleted"] == 0
        assert "flowerpot" in search(A)
        forgot = http.delete("/v1/memory/speakers/Rosa", headers=A)
        assert forgot.status_code == 200 and forgot.json()["deleted"] == 1
        assert "flowerpot" not in search(A) and "drawer" in search(B)


def test_a_reader_that_falls_behind_is_told_what_it_missed_and_gets_the_newest() -> None:
    from service.sessions import Session

    async def read() -> list[dict[str, Any]]:
        session = Session("s", "tenant", keep=100)
        reader = session.subscribe(size=3)
        for n in range(5):
            session.publish({"type": "Notice", "n": n})
        got = [await reader.get(timeout=1) for _ in range(4)]
        with pytest.raises(TimeoutError):
            await reader.get(timeout=0.05)
        return got

    got = asyncio.run(read())
    assert got[0] == {"type": "Missed", "count": 2}
    assert [e["n"] for e in got[1:]] == [2, 3, 4]


def test_tokens_never_reach_the_log_and_hostile_frames_are_refused_before_decoding() -> None:
    import logging

    from service.ingest import Ingest, IngestError
    from service.logs import JsonFormatter

    line = logging.LogRecord(
        "uvicorn.error", logging.INFO, __file__, 1, '%s - "WebSocket %s" [accepted]',
        ("127.0.0.1:5", "/v1/streams/x/ingest?token=tok-a&n=1"), None,
    )  # fmt: skip
    assert "tok-a" not in JsonFormatter().format(line)
    ingest = Ingest("s")
    ppm = b"P6\n60000 60000\n255\n" + bytes(12)
    huge = b"\xff\xd8\xff\xc0\x00\x11\x08" + (30000).to_bytes(2, "big") * 2 + bytes(10)
    for payload, why in ((ppm, "not a JPEG"), (huge, "pixels")):
        with pytest.raises(IngestError, match=why):
            ingest.decode(_message(b"V", payload))


def test_a_restarted_service_lists_its_sessions_and_reopens_those_not_ended(
    ray_cluster: None, model_paths: ModelPaths, tmp_path: Path
) -> None:
    config = load_config(
        service={"tokens": TOKENS}, memory={"persistent": True, "path": str(tmp_path)}
    )
    with (
        BackgroundServer(create_app(config, paths=model_paths)) as url,
        httpx.Client(base_url=url, timeout=60) as http,
    ):
        kept, ended = _session(http), _session(http)
        instruction = {"text": "Tell me when a dog appears"}
        said = http.post(f"/v1/sessions/{kept}/instructions", json=instruction, headers=A)
        assert said.status_code in (200, 201, 202), said.text
        assert http.delete(f"/v1/sessions/{ended}", headers=A).status_code in (200, 204)
        other = _session(http, B)
    # the service stops (each change was written when it happened) and starts again
    with (
        BackgroundServer(create_app(config, paths=model_paths)) as url,
        httpx.Client(base_url=url, timeout=60) as http,
    ):
        listed = {s["id"]: s for s in http.get("/v1/sessions", headers=A).json()}
        assert set(listed) == {kept, ended}, "tenant B's session stays B's"
        assert listed[kept]["restored"] and not listed[kept]["ended"]
        assert listed[kept]["instructions"] == ["Tell me when a dog appears"]
        assert listed[ended]["ended"]
        assert [s["id"] for s in http.get("/v1/sessions", headers=B).json()] == [other]
        assert http.get(f"/v1/sessions/{kept}/answers", headers=A).status_code == 200
        forgot = http.delete(f"/v1/memory/sessions/{ended}", headers=A)
        assert forgot.status_code == 200, forgot.text
    with (
        BackgroundServer(create_app(config, paths=model_paths)) as url,
        httpx.Client(base_url=url, timeout=60) as http,
    ):
        assert [s["id"] for s in http.get("/v1/sessions", headers=A).json()] == [kept]


def test_the_ledger_keeps_answers_in_order_across_a_reopen(tmp_path: Path) -> None:
    from service.ledger import Ledger

    ledger = Ledger(tmp_path / "ledger.sqlite3")
    ledger.created("s1", "tenant-a", 1.0)
    for n in range(3):
        ledger.answer("s1", {"text": f"answer {n}", "asked_at": float(n)})
    ledger.ended("s1", ["they talked about keys"])
    ledger.close()
    (saved,) = Ledger(tmp_path / "ledger.sqlite3").load()
    assert (saved.id, saved.tenant, saved.ended) == ("s1", "tenant-a", True)
    assert [a["text"] for a in saved.answers] == ["answer 0", "answer 1", "answer 2"]
    assert saved.summaries == ["they talked about keys"]


def test_a_damaged_ledger_is_a_clear_error_and_is_left_as_it_was(tmp_path: Path) -> None:
    from service.sessions import Sessions
    from vigil.errors import ConfigError

    ledger = tmp_path / "service-sessions.sqlite3"
    ledger.write_bytes(b"not a database, " * 64)
    config = load_config(memory={"persistent": True, "path": str(tmp_path)})
    with pytest.raises(ConfigError, match="cannot be read") as raised:
        Sessions(config, lambda: None)  # type: ignore[arg-type,return-value]
    assert "move the file away" in raised.value.hint
    assert ledger.read_bytes() == b"not a database, " * 64
