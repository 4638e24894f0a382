"""Any OpenAI-compatible chat endpoint: ``vllm serve``, llama.cpp's server, a hosted API.

Tokens stream as server-sent events (``stream: true``) read with httpx, without the OpenAI
SDK: the protocol is a handful of JSON lines, and the SDK would add its own retries and
timeouts on top of the ones :class:`Backend` already applies uniformly to every backend.

Cancellation closes the HTTP response: the connection drops, and the servers named above stop
generating for a client that went away. Connection failures, timeouts, 429 and 5xx are
retryable (the base class retries them before the first token); other 4xx are not, and say
which setting to check.

A JSON schema goes to the server as ``response_format`` (``json_schema``, as OpenAI, vLLM and
llama.cpp's own server read it). Choices are scored from the first token's ``top_logprobs``
(20, the most OpenAI's API gives), so a choice must be one token ("A", "Yes").

Frames (a :class:`FramesMessage`) go as the chat API's image parts, which vLLM, llama.cpp's
server with a vision projector and hosted APIs all read: the ``frames`` most recent of the
prompt, each a JPEG data URL at most ``frame_max_side`` pixels long, after a text part with its
media second in the timeline's own notation ("t=12.0s"), so that the model can tell which
moment each frame shows. ``frames`` 0 sends text only, which any server takes.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

import cv2
import httpx
import numpy as np

from reaction.backends.base import (
    Backend,
    ChatMessage,
    FramesMessage,
    Schema,
    ScoreMethod,
    first_tokens,
    frame_label,
)
from vigil.errors import BackendError
from vigil.images import shrink

__all__ = ["OpenAIBackend"]

_DONE = "[DONE]"
_JPEG_QUALITY = 85
"""On 512-pixel camera frames, about half the bytes of OpenCV's default (95) and a sixth of a
PNG's; a data URL travels in the request body, and every byte of it is sent per answer."""


class OpenAIBackend(Backend):
    """Streams chat completions from ``base_url`` (the part before ``/chat/completions``).

    ``model`` None asks the server which models it serves and takes the first (servers of
    one model, like llama.cpp's and ``vllm serve``, need no name). ``connect_timeout`` bounds
    reaching the server, so that a dead endpoint fails fast instead of at ``timeout``.
    ``frames`` and ``frame_max_side`` bound what a prompt's frames cost (see the module).
    """

    name = "openai"
    score_methods = frozenset({"first_token"})
    top_logprobs = 20

    def __init__(
        self,
        base_url: str,
        *,
        model: str | None = None,
        api_key: str | None = None,
        concurrency: int = 4,
        timeout: float = 60.0,
        connect_timeout: float = 5.0,
        retries: int = 2,
        backoff: float = 0.25,
        frames: int = 0,
        frame_max_side: int = 512,
    ) -> None:
        super().__init__(concurrency=concurrency, timeout=timeout, retries=retries, backoff=backoff)
        if frames < 0 or frame_max_side < 1:
            raise ValueError("frames >= 0 and frame_max_side >= 1 are required")
        self.base_url = base_url.rstrip("/")
        self.frames = frames
        self.frame_max_side = frame_max_side
        self.model = model
        self._api_key = api_key
        self._timeout = httpx.Timeout(timeout, connect=connect_timeout)
        self._client: httpx.AsyncClient | None = None

    @property
    def _hint(self) -> str:
        return f"is an OpenAI-compatible server running at {self.base_url}? (reaction.base_url)"

    async def _load(self) -> None:
        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            headers=headers,
            timeout=self._timeout,
            limits=httpx.Limits(max_connections=self.concurrency + 1),
        )
        if self.model is None:
            try:
                self.model = await self._first_model()
            except BaseException:
                await self._unload()
                raise

    async def _unload(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            raise BackendError("the openai backend is not started", hint="await start() first")
        return self._client

    async def _first_model(self) -> str:
        try:
            response = await self.client.get("/models")
        except httpx.HTTPError as error:
            raise self._transport_error(error) from error
        self._check_status(response.status_code, response.text)
        models = response.json().get("data") or []
        if not models:
            raise BackendError(
                f"{self.base_url} serves no model", hint="set reaction.model to the model's name"
            )
        return str(models[0]["id"])

    async def _generate(
        self,
        messages: list[ChatMessage],
        *,
        max_tokens: int,
        temperature: float,
        stop: Sequence[str],
        schema: Schema | None,
    ) -> AsyncIterator[str]:
        payload = await self._payload(messages, max_tokens=max_tokens, temperature=temperature)
        payload["stream"] = True
        if stop:
            payload["stop"] = list(stop)
        if schema is not None:
            payload["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "reply", "schema": dict(schema)},
            }
        events = 0
        try:
            async with self.client.stream("POST", "/chat/completions", json=payload) as response:
                if response.status_code != 200:
                    self._check_status(response.status_code, (await response.aread()).decode())
                async for line in response.aiter_lines():
                    events += line.startswith("data:")
                    piece = self._piece(line)
                    if piece is None:
                        return
                    if piece:
                        yield piece
        except httpx.HTTPError as error:
            raise self._transport_error(error) from error
        if events:
            return  # a server that omits [DONE] after its last event: the answer stands
        # A server whose handler fails after sending its headers (llama.cpp's server given image
        # parts for a text-only model) ends the stream with no event: not an empty answer.
        raise BackendError(
            f"{self.base_url} ended the stream without a single event: the server failed",
            hint="serve a vision-language model, or set reaction.frames = 0"
            if self._sends_frames(messages)
            else "see the server's log",
        )

    async def _score(
        self, messages: list[ChatMessage], choices: list[str], method: ScoreMethod
    ) -> list[float]:
        payload = await self._payload(messages, max_tokens=1, temperature=0.0)
        payload |= {"logprobs": True, "top_logprobs": self.top_logprobs}
        try:
            response = await self.client.post("/chat/completions", json=payload)
        except httpx.HTTPError as error:
            raise self._transport_error(error) from error
        self._check_status(response.status_code, response.text)
        try:
            first = response.json()["choices"][0]["logprobs"]["content"][0]["top_logprobs"]
            top = {str(entry["token"]): float(entry["logprob"]) for entry in first}
        except (KeyError, IndexError, TypeError, ValueError) as error:
            raise BackendError(
                f"{self.base_url} returned no log-probabilities: {response.text[:200]}",
                hint="use a server that returns top_logprobs, or reaction.choice_method=generate",
            ) from error
        return first_tokens(top, choices)

    def chat(self, messages: Sequence[ChatMessage]) -> list[dict[str, Any]]:
        """The request's ``messages``: the prompt's ``frames`` most recent frames as image
        parts (each after its time), everything else as text."""
        budget = self.frames
        kept: list[int] = []  # how many of its last frames each message sends, newest first
        for message in reversed(messages):
            count = min(budget, len(message.images)) if isinstance(message, FramesMessage) else 0
            kept.append(count)
            budget -= count
        return [
            _turn(message, count, self.frame_max_side)
            for message, count in zip(messages, reversed(kept), strict=True)
        ]

    async def _payload(
        self, messages: list[ChatMessage], *, max_tokens: int, temperature: float
    ) -> dict[str, Any]:
        if self._sends_frames(messages):  # milliseconds per frame: not on the event loop
            chat = await asyncio.to_thread(self.chat, messages)
        else:
            chat = self.chat(messages)
        return {
            "model": self.model,
            "messages": chat,
            "max_tokens": max_tokens,
            "temperature": temperature,
        }

    def _sends_frames(self, messages: Sequence[ChatMessage]) -> bool:
        return self.frames > 0 and any(isinstance(m, FramesMessage) and m.images for m in messages)

    def _piece(self, line: str) -> str | None:
        """The text in one SSE line: '' for lines without any, None at the end of the stream."""
        if not line.startswith("data:"):
            return ""  # blank separators, comments (": ping"), event names
        data = line[len("data:") :].strip()
        if data == _DONE:
            return None
        try:
            event = json.loads(data)
        except json.JSONDecodeError as error:
            raise BackendError(f"{self.base_url} sent a malformed event: {data[:200]!r}") from error
        if "error" in event:
            raise BackendError(f"{self.base_url} failed mid-answer: {event['error']}")
        choices = event.get("choices") or [{}]
        return (choices[0].get("delta") or {}).get("content") or ""

    def _transport_error(self, error: httpx.HTTPError) -> BackendError:
        if isinstance(error, httpx.TimeoutException):
            what = f"{self.base_url} did not answer in time ({type(error).__name__})"
        else:
            what = f"cannot reach {self.base_url}: {error or type(error).__name__}"
        return BackendError(what, hint=self._hint, retryable=True)

    def _check_status(self, status: int, body: str) -> None:
        if status == 200:
            return
        detail = f"{self.base_url} answered HTTP {status}: {body[:300]}"
        if status in (401, 403):
            raise BackendError(detail, hint="set VIGIL_REACTION__API_KEY to a valid key")
        if status == 404:
            raise BackendError(detail, hint="check reaction.base_url (it ends in /v1) and model")
        if status == 429 or status >= 500:
            raise BackendError(detail, hint=self._hint, retryable=True)
        raise BackendError(detail, hint="check reaction.model and reaction.max_tokens")


def _turn(message: ChatMessage, frames: int, max_side: int) -> dict[str, Any]:
    """One chat turn; with ``frames`` (its last ones), a list of parts: each frame's time,
    then the frame, and the message's text last, as a question follows what it asks about."""
    if not isinstance(message, FramesMessage) or frames == 0:
        return message.as_dict()
    images = message.images[-frames:]
    times = message.times[-frames:]
    parts: list[dict[str, Any]] = []
    for index, image in enumerate(images):
        label = frame_label(times[index]) if times else f"frame {index + 1} of {frames}"
        parts.append({"type": "text", "text": label})
        parts.append({"type": "image_url", "image_url": {"url": _jpeg_url(image, max_side)}})
    parts.append({"type": "text", "text": message.content})
    return {"role": message.role, "content": parts}


def _jpeg_url(image: np.ndarray, max_side: int) -> str:
    """An RGB frame as a JPEG data URL, shrunk (never enlarged) to ``max_side`` pixels at
    most on its longest side: servers bill and attend to images by their size."""
    height, width = image.shape[:2]
    bgr = cv2.cvtColor(shrink(image, max_side), cv2.COLOR_RGB2BGR)
    ok, jpeg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, _JPEG_QUALITY])
    if not ok:
        raise BackendError(f"a {width}x{height} frame could not be encoded as JPEG")
    return "data:image/jpeg;base64," + base64.b64encode(jpeg.tobytes()).decode("ascii")
