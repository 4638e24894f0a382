"""The perception actor: one per stream, it plays the source and runs both perception lanes.

Three tasks share the actor's event loop:

- the reader takes items from the source and hands sampled video frames to a drop-oldest hop
  (the freshest frame matters) and audio to a backpressure hop (audio is never dropped);
- the video lane turns frames into observations, and groups observations into clips;
- the audio lane turns audio into utterances.

Outputs go to the decision actor, memory and the event hub through bounded senders. Nothing
here ever waits for the reaction stage: that is the point of the disentangled design.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from perception.audio import AudioPerception
from perception.clips import ClipSegmenter
from perception.speakers import SpeakerIdentity
from perception.video import VideoPerception
from runtime.actors.supervised import Supervised
from runtime.hops import Backpressure, BoundedSender, DropOldest
from runtime.priority import lower_priority
from runtime.sources import LiveSource, open_source
from vigil.images import shrink
from vigil.items import AudioChunk, Clip, EndOfStream, Item, StreamError, Utterance, VideoFrame

__all__ = ["PerceptionActor", "PerceptionStats"]

_DONE = object()


@dataclass(slots=True)
class PerceptionStats:
    """What one stream's perception did, for metrics, the bench and tests."""

    frames: int = 0
    audio_chunks: int = 0
    observations: int = 0
    clips: int = 0
    utterances: int = 0  # final ones
    partials: int = 0
    errors: int = 0
    media_end: float = 0.0
    play_seconds: float = 0.0  # from the first read to the last item delivered
    asr_seconds: float = 0.0  # Whisper's time, against speech_seconds of speech heard
    speech_seconds: float = 0.0
    video_step: list[float] = field(default_factory=list)
    audio_step: list[float] = field(default_factory=list)
    lag: list[float] = field(default_factory=list)
    hops: dict[str, dict[str, float]] = field(default_factory=dict)


class PerceptionActor(Supervised):
    """Plays ``source`` through the perception stages; wrapped with ``ray.remote`` by the graph.

    The stages come as factories so that their models load inside the actor's process.
    """

    def __init__(
        self,
        *,
        stream_id: str,
        source: str,
        paced: bool,
        video: Callable[[], VideoPerception],
        audio: Callable[[], AudioPerception],
        clips: Callable[[], ClipSegmenter] = ClipSegmenter,
        decision: Any,
        memory: Any,
        hub: Any,
        video_queue: int = 2,
        audio_queue_seconds: float = 30.0,
        in_flight: int = 64,
        nice: int = 0,
        keep_frames: int = 0,
        frame_max_side: int = 512,
    ) -> None:
        self.stream_id = stream_id
        # The newest analysed frames (media second, RGB shrunk), for a vision-language model.
        self._recent: deque[tuple[float, np.ndarray]] = deque(maxlen=keep_frames)
        self._frame_max_side = frame_max_side
        self._nice = nice
        self._source_spec = source
        self._paced = paced
        # Stages are built in ``ready``: a model that fails to load then raises from a method
        # call, whose error reaches the driver intact (a constructor's does not).
        self._factories = (video, audio, clips)
        self._video: VideoPerception
        self._audio: AudioPerception
        self._clips: ClipSegmenter
        # Live (paced), a lagging analysis drops the oldest frame to stay current; unpaced
        # (evaluation), the source waits instead, so that every sampled frame is analysed.
        self._frames: DropOldest[Any] | Backpressure[Any] = (
            DropOldest(video_queue) if paced else Backpressure(video_queue)
        )
        self._chunks: Backpressure[Any] = Backpressure(max(1, int(audio_queue_seconds * 50)))
        self._outputs = [
            BoundedSender(decision.submit.remote, in_flight),
            BoundedSender(memory.add_many.remote, in_flight),
            BoundedSender(hub.put.remote, in_flight),
        ]
        self._heard: deque[tuple[float, float]] = deque(maxlen=512)
        self._source: Any = None
        self.stats = PerceptionStats()

    async def ready(self) -> bool:
        """Load the models (so that a run starts only once every stage can keep pace)."""
        lower_priority(self._nice)  # before the models start their threads
        video, audio, clips = self._factories
        self._video, self._audio, self._clips = video(), audio(), clips()
        await self._video.start()
        await self._audio.start()
        return True

    async def restore_speakers(self, identities: list[SpeakerIdentity]) -> None:
        """Start from voices learnt in earlier sessions (long-term memory keeps them)."""
        self._audio.speakers.restore(identities)

    async def speakers(self) -> list[SpeakerIdentity]:
        """The voices known now, names included, for long-term memory to keep."""
        return self._audio.speakers.export()

    async def run(self, start_at: float = 0.0) -> PerceptionStats:
        """Play the source to its end; returns the stream's statistics.

        ``start_at``: the media second of a file to play from (a stream resumed after this
        actor was restarted); live sources are always at their live edge.
        """
        self._source = open_source(
            self._source_spec, stream_id=self.stream_id, paced=self._paced, start_at=start_at
        )
        try:
            await self._source.open()
        except Exception as error:
            await self._emit(
                [
                    StreamError(
                        stream_id=self.stream_id,
                        media_time=0.0,
                        stage="source",
                        message=str(error),
                        fatal=True,
                    )
                ]
            )
            await self._emit(
                [EndOfStream(stream_id=self.stream_id, media_time=0.0, reason="source failed")]
            )
            await self._drain()
            raise
        started = time.monotonic()
        lanes = [asyncio.create_task(self._video_lane()), asyncio.create_task(self._audio_lane())]
        end = await self._read()
        await asyncio.gather(*lanes)
        await self._emit([end])
        await self._drain()
        self.stats.play_seconds = time.monotonic() - started
        self.stats.asr_seconds = self._audio.asr_seconds
        self.stats.speech_seconds = self._audio.speech_seconds
        await self._source.close()
        self.stats.hops = {
            "video": self._frames.stats.as_dict(),
            "audio": self._chunks.stats.as_dict(),
        }
        return self.stats

    async def stop(self) -> None:
        if self._source is not None:
            await self._source.close()

    async def push(self, items: list[VideoFrame | AudioChunk]) -> int:
        """Hand a live stream what its client captured; returns how many were taken (none
        before ``run`` has opened the source, or once the stream has ended)."""
        source = self._source
        if not isinstance(source, LiveSource):
            return 0
        return sum(source.push(item) for item in items)

    async def finish(self, reason: str) -> None:
        """End a live stream after what was pushed so far (other sources end by themselves)."""
        if isinstance(self._source, LiveSource):
            self._source.finish(reason)

    async def recent_frames(self) -> list[tuple[float, np.ndarray]]:
        """The newest analysed frames, oldest first, with their media seconds (RGB, at most
        ``frame_max_side`` pixels long): what the reaction stage shows a vision-language model."""
        return list(self._recent)

    async def dropped(self) -> dict[str, float]:
        """What was lost so far: the source's overflow and sampled frames perception skipped."""
        source = self._source.stats if self._source is not None else None
        return {
            "source_frames": source.dropped_frames if source else 0,
            "source_audio_seconds": source.dropped_audio_seconds if source else 0.0,
            "sampled_frames": self._frames.stats.dropped,
        }

    async def _read(self) -> EndOfStream:
        end = EndOfStream(stream_id=self.stream_id, media_time=0.0)
        async for item in self._source:
            match item:
                case VideoFrame():
                    self.stats.frames += 1
                    if self._video.wants(item.media_time):
                        await self._put_frame(item.stamped("source"))
                case AudioChunk():
                    self.stats.audio_chunks += 1
                    await self._chunks.put(item.stamped("source"))
                case StreamError():
                    self.stats.errors += 1
                    await self._emit([item])
                case EndOfStream():
                    end = item
            self.stats.media_end = max(self.stats.media_end, item.media_time)
        await self._put_frame(_DONE)
        await self._chunks.put(_DONE)
        return end

    async def _put_frame(self, item: Any) -> None:
        if isinstance(self._frames, Backpressure):
            await self._frames.put(item)
        else:
            self._frames.put(item)

    async def _video_lane(self) -> None:
        while (frame := await self._frames.get()) is not _DONE:
            started = time.perf_counter()
            observation = await self._video.process(frame)
            self.stats.video_step.append(time.perf_counter() - started)
            if self._recent.maxlen:
                small = shrink(frame.image, self._frame_max_side)
                self._recent.append((frame.media_time, cv2.cvtColor(small, cv2.COLOR_BGR2RGB)))
            if observation is not None:
                self.stats.observations += 1
                self.stats.lag.append(time.time() - frame.stamps["source"])
                await self._emit([observation.stamped("perception")])
                await self._emit_clip(self._clips.push(observation))
        await self._emit_clip(self._clips.flush())

    async def _emit_clip(self, clip: Clip | None) -> None:
        if clip is not None:
            self.stats.clips += 1
            await self._emit([clip.stamped("perception")])

    async def _audio_lane(self) -> None:
        while (chunk := await self._chunks.get()) is not _DONE:
            self._heard.append((chunk.media_time, chunk.stamps["source"]))
            started = time.perf_counter()
            utterances = await self._audio.process(chunk)
            self.stats.audio_step.append(time.perf_counter() - started)
            await self._emit_utterances(utterances)
        await self._emit_utterances(await self._audio.flush())

    async def _emit_utterances(self, utterances: list[Utterance]) -> None:
        for utterance in utterances:
            if utterance.final:
                self.stats.utterances += 1
            else:
                self.stats.partials += 1
            heard = self._heard_wall(utterance.t1)
            await self._emit([utterance.stamped("heard", heard).stamped("perception")])

    def _heard_wall(self, media_time: float) -> float:
        """Wall-clock time at which the audio at ``media_time`` reached perception.

        Paced sources deliver a chunk when its first sample is due, so the moment inside it
        follows by its offset; unpaced sources deliver everything at once.
        """
        best = None
        for chunk_time, wall in self._heard:
            if chunk_time <= media_time:
                best = (chunk_time, wall)
        if best is None:
            return time.time()
        chunk_time, wall = best
        return wall + (media_time - chunk_time if self._paced else 0.0)

    async def _emit(self, items: list[Item]) -> None:
        for sender in self._outputs:
            await sender.send(items)

    async def _drain(self) -> None:
        for sender in self._outputs:
            await sender.drain()
