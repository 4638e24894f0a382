"""The audio half of perception: chunks in, final :class:`Utterance` items out.

Per chunk: downmix and resample to 16 kHz (stateful, so chunk boundaries are seamless), run
silero VAD on each 32 ms window, and when the segmenter sees the end of a segment, transcribe
that segment with Whisper in a worker thread. Resampling and VAD cost about 1 ms per 100 ms
chunk and run inline; Whisper (0.1-0.5 s a segment) never runs on the event loop.

Speakers: given a :class:`~perception.speakers.VoiceEmbedder`, each segment's voice is embedded
while Whisper transcribes it, and the :class:`~perception.speakers.SpeakerRegistry` names the
speaker (an id such as ``speaker-2``, or a name once enrolled). Partial utterances carry the
best guess so far: a partial transcript's audio is embedded in the same worker thread and
matched against the known voices without changing them (``unknown`` for a voice not known
yet); the onset partial, and any with too little speech to embed, carry the last final
utterance's speaker (often the next one, with one person talking to the agent).

Latency: a segment ends after ``min_silence`` of pause, but as soon as a pause has lasted long
enough to hold the trailing padding, the segment-so-far is transcribed speculatively in the
background. If the pause becomes the end, that result is used and the final transcript comes
about one Whisper call sooner; if speech resumes, it is discarded.

Time: a chunk's ``media_time`` is the time of its first sample. The stage keeps a sample clock
from an anchor (the media time of sample 0 of the current "epoch"), so word and segment times
do not accumulate per-chunk jitter. A gap up to ``max_gap_fill`` is filled with silence; a
larger gap, a jump back, or a change of sample rate ends the epoch (closing any open segment)
and starts a new one at the chunk's own time.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from perception.asr import Transcriber
from perception.resample import Resampler
from perception.speakers import SpeakerRegistry, VoiceEmbedder
from perception.vad import SAMPLE_RATE, SileroVad, SpeechSegment, SpeechSegmenter, VadOptions
from vigil.items import AudioChunk, Utterance, Word, new_id

__all__ = ["AudioOptions", "AudioPerception"]

_Text = tuple[str, list[Word], float]  # text, words relative to the clip, seconds taken
_Partial = tuple[_Text, np.ndarray | None]  # with the voice embedding of the audio so far


@dataclass(frozen=True, slots=True, kw_only=True)
class AudioOptions:
    """Settings of the audio stage, validated once.

    - ``threshold``, ``min_speech``, ``min_silence``, ``pad``, ``max_speech``: the segmenter's
      hysteresis (see :class:`~perception.vad.VadOptions`); ``min_silence`` is most of the
      delay from the end of speech to the final transcript, and must hold ``pad``.
    - ``speaker``: the label of every utterance when no voice embedder is given.
    - ``partial_interval``: while someone speaks, a partial (non-final) utterance is emitted as
      soon as the speech has lasted ``min_speech`` (empty text: "someone started speaking",
      which is what barge-in needs), then the transcript so far every ``partial_interval``
      seconds; None turns partials off. A partial transcript runs only when Whisper is idle.
    - ``max_gap_fill``: a gap in the chunks' media times up to this long is filled with
      silence; a longer one (or a jump back) closes the open segment and re-anchors the clock.
      Gaps under ``gap_tolerance`` are timestamp jitter and ignored.
    """

    threshold: float = 0.5
    min_speech: float = 0.25
    min_silence: float = 0.4
    pad: float = 0.2
    max_speech: float = 20.0
    speaker: str = "speaker"
    partial_interval: float | None = 1.0
    max_gap_fill: float = 1.0
    gap_tolerance: float = 0.02
    vad_threads: int = 1

    def __post_init__(self) -> None:
        if not 0 < self.threshold < 1:
            raise ValueError(f"threshold must be in (0, 1), got {self.threshold}")
        if not 0 <= self.pad <= self.min_silence:
            raise ValueError("pad must be between 0 and min_silence (the pause must hold it)")
        if self.min_speech < 0 or self.max_speech <= self.min_speech:
            raise ValueError("need 0 <= min_speech < max_speech")
        if self.partial_interval is not None and self.partial_interval <= 0:
            raise ValueError("partial_interval must be positive (or None for no partials)")
        if self.max_gap_fill < 0 or self.gap_tolerance < 0:
            raise ValueError("gap settings must not be negative")

    @property
    def vad(self) -> VadOptions:
        """The segmenter's share of these settings."""
        return VadOptions(
            threshold=self.threshold,
            min_speech=self.min_speech,
            min_silence=self.min_silence,
            pad=self.pad,
            max_speech=self.max_speech,
        )


class AudioPerception:
    """One stream's audio perception: resampler, VAD, segmenter and transcriber."""

    def __init__(
        self,
        transcriber: Transcriber,
        vad_model_path: str | Path,
        options: AudioOptions | None = None,
        *,
        voices: VoiceEmbedder | None = None,
        speakers: SpeakerRegistry | None = None,
    ) -> None:
        self.transcriber = transcriber
        self.options = options or AudioOptions()
        self.voices = voices
        self.speakers = speakers or SpeakerRegistry()
        if voices is not None:
            self.speakers.calibrate(voices.calibration)
        self.vad = SileroVad(vad_model_path, threads=self.options.vad_threads)
        self.segmenter = SpeechSegmenter(self.options.vad)
        self.asr_seconds = 0.0
        self.speech_seconds = 0.0
        self.speculative_hits = 0
        self._stream_id = ""
        self._resampler: Resampler | None = None
        self._anchor = 0.0  # media time of 16 kHz sample 0 of this epoch
        self._received = 0  # input samples since the anchor
        self._buffer = np.zeros(0, dtype=np.float32)
        self._buffer_start = 0  # 16 kHz index of _buffer[0]
        self._epoch = 0
        self._speculation: tuple[tuple[int, int, int], asyncio.Task[_Text]] | None = None
        self._ids: dict[tuple[int, int], str] = {}  # (epoch, first sample) -> utterance id
        self._partial_due: tuple[tuple[int, int], int] | None = None  # segment, next sample
        self._partial: tuple[tuple[int, int], int, asyncio.Task[_Partial]] | None = None
        self._last_speaker: str | None = None  # the label of the last final utterance

    async def start(self) -> None:
        """Load Whisper and the VAD model (once; about 0.3 s)."""
        await asyncio.to_thread(self._load)

    def _load(self) -> None:
        self.transcriber.load()
        self.vad.load()
        if self.voices is not None:
            self.voices.load()

    async def process(self, chunk: AudioChunk) -> list[Utterance]:
        """Feed one chunk; returns the utterances whose end it revealed (usually none)."""
        self._stream_id = chunk.stream_id
        done: list[_Clip] = []
        resampler = self._resampler
        if resampler is not None:
            expected = self._anchor + self._received / resampler.in_rate
            gap = chunk.media_time - expected
            if (
                resampler.in_rate != chunk.sample_rate
                or gap > self.options.max_gap_fill
                or gap < -self.options.max_gap_fill
            ):
                done += self._end_epoch()
                resampler = None
            elif gap > self.options.gap_tolerance:
                silence = np.zeros(round(gap * resampler.in_rate), dtype=np.float32)
                done += self._feed(resampler.process(silence), silence.size)
            # A small overlap (gap < 0) is jitter: the running clock stays authoritative.
        if resampler is None:
            resampler = self._resampler = Resampler(chunk.sample_rate, SAMPLE_RATE)
            self._anchor = chunk.media_time
        done += self._feed(resampler.process(chunk.samples), chunk.samples.shape[0])
        partials = self._partials()
        return partials + await self._transcribe_all(done)

    async def flush(self) -> list[Utterance]:
        """End of stream: close an open segment and transcribe it."""
        return await self._transcribe_all(self._end_epoch())

    async def stop(self) -> None:
        """Drop all state; a speculative transcription in flight is awaited, then discarded."""
        self._end_epoch()
        await self._drop_speculation()

    def media_time_of(self, sample: int) -> float:
        """Media time of a 16 kHz sample index of the current epoch."""
        return self._anchor + sample / SAMPLE_RATE

    # --- internals ------------------------------------------------------------------------

    def _feed(self, audio: np.ndarray, received: int) -> list[_Clip]:
        """Append resampled audio, run VAD, and cut the clips of segments that just ended."""
        self._received += received
        self._buffer = np.concatenate([self._buffer, audio])
        clips = []
        for p in self.vad.process(audio):
            segment = self.segmenter.push(float(p))
            if segment is not None:
                # min_silence >= pad, so the trailing padding has already arrived.
                clips.append(self._clip(segment))
        self._trim()
        self._maybe_speculate()
        return clips

    def _maybe_speculate(self) -> None:
        """Start transcribing the segment-so-far once a pause can hold its trailing padding."""
        pause = self.segmenter.pause
        start = self.segmenter.open_start
        if pause is None or start is None or pause[1] < round(self.options.pad * SAMPLE_RATE):
            return
        key = (self._epoch, start, pause[0])
        if self._speculation is not None:
            previous_key, previous = self._speculation
            if previous_key == key or not previous.done():
                return  # already running, or one Whisper call at a time
            if not previous.cancelled():
                previous.exception()  # an outdated guess: mark any error as seen
        clip = self._clip(SpeechSegment(start, pause[0]))
        task = asyncio.get_running_loop().create_task(
            asyncio.to_thread(self._recognise, clip.audio), name="vigil-asr-speculative"
        )
        self._speculation = (key, task)

    def _partials(self) -> list[Utterance]:
        """The partial utterances due now: an onset, or a finished partial transcript."""
        out: list[Utterance] = []
        start = self.segmenter.open_start
        if self._partial is not None and self._partial[2].done():
            (epoch, first), end, task = self._partial
            self._partial = None
            if (
                not task.cancelled()
                and task.exception() is None
                and (epoch, first)
                == (
                    self._epoch,
                    start,
                )
            ):
                (text, _, seconds), voice = task.result()
                self.asr_seconds += seconds
                if text:
                    out.append(self._partial_utterance(first, end, text, self._guess(voice)))
        if self.options.partial_interval is None or start is None:
            return out
        key = (self._epoch, start)
        now = self._buffer_start + self._buffer.size
        if self._partial_due is None or self._partial_due[0] != key:
            if now - start >= round(self.options.min_speech * SAMPLE_RATE):
                out.append(self._partial_utterance(start, now, "", self._guess(None)))
                step = round(self.options.partial_interval * SAMPLE_RATE)
                self._partial_due = (key, start + step)
            return out
        whisper_busy = self._partial is not None or (
            self._speculation is not None and not self._speculation[1].done()
        )
        if now >= self._partial_due[1] and not whisper_busy:
            audio = self._buffer[max(0, start - self._buffer_start) : now - self._buffer_start]
            task = asyncio.get_running_loop().create_task(
                asyncio.to_thread(self._recognise_partial, audio.copy()), name="vigil-asr-partial"
            )
            self._partial = (key, now, task)
            step = round(self.options.partial_interval * SAMPLE_RATE)
            self._partial_due = (key, now + step)
        return out

    def _guess(self, voice: np.ndarray | None) -> str | None:
        """Who a partial's speaker is: the known identity its voice is near, else ``unknown``;
        with too little voice to embed (None), the last final utterance's speaker. None when
        speakers are not told apart."""
        if self.voices is None:
            return None
        if voice is None:
            return self._last_speaker or self.speakers.options.unknown
        identity = self.speakers.guess(voice)
        return identity.label if identity is not None else self.speakers.options.unknown

    def _partial_utterance(
        self, start: int, end: int, text: str, speaker: str | None = None
    ) -> Utterance:
        t0, t1 = self.media_time_of(start), self.media_time_of(end)
        while len(self._ids) > 64:  # segments that never became final
            del self._ids[next(iter(self._ids))]
        return Utterance(
            stream_id=self._stream_id,
            media_time=t1,
            stamps={"perception": time.time()},
            utterance_id=self._ids.setdefault((self._epoch, start), new_id()),
            t0=t0,
            t1=t1,
            text=text,
            speaker=speaker or self.options.speaker,
            final=False,
        )

    def _recognise(self, audio: np.ndarray) -> _Text:
        text, words = self.transcriber.transcribe(audio)
        return text, words, self.transcriber.last_seconds

    def _recognise_partial(self, audio: np.ndarray) -> _Partial:
        """The transcript so far and, when speakers are told apart, the voice so far."""
        enough = audio.size >= self.speakers.options.min_seconds * SAMPLE_RATE
        voice = self.voices.embed(audio) if self.voices is not None and enough else None
        return self._recognise(audio), voice

    async def _drop_speculation(self) -> None:
        """Wait out the background Whisper calls (never two at once with the final one)."""
        speculation, self._speculation = self._speculation, None
        partial, self._partial = self._partial, None
        for task in (speculation[1] if speculation else None, partial[2] if partial else None):
            if task is not None:
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await task

    def _trim(self) -> None:
        """Keep the audio an open or future segment may still need, with its padding."""
        pad = round(self.options.pad * SAMPLE_RATE)
        end = self._buffer_start + self._buffer.size
        open_start = self.segmenter.open_start
        keep_from = (open_start if open_start is not None else end - SAMPLE_RATE) - pad
        drop = keep_from - self._buffer_start
        if drop > 0:
            self._buffer = self._buffer[drop:]
            self._buffer_start += drop

    def _end_epoch(self) -> list[_Clip]:
        """Release the resampler's tail, close the open segment and reset the clock."""
        clips: list[_Clip] = []
        if self._resampler is not None:
            clips += self._feed(self._resampler.flush(), 0)
        last = self.segmenter.flush()
        if last is not None:
            clips.append(self._clip(last))
        self._resampler = None
        self._received = 0
        self.vad.reset()
        self.segmenter.reset()
        self._buffer = np.zeros(0, dtype=np.float32)
        self._buffer_start = 0
        self._epoch += 1
        return clips

    def _clip(self, segment: SpeechSegment) -> _Clip:
        """A segment's times in this epoch's clock and its audio with padding."""
        pad = round(self.options.pad * SAMPLE_RATE)
        lo = max(segment.start - pad, self._buffer_start)
        hi = min(segment.end + pad, self._buffer_start + self._buffer.size)
        return _Clip(
            key=(self._epoch, segment.start, segment.end),
            t0=self.media_time_of(segment.start),
            t1=self.media_time_of(segment.end),
            start=self.media_time_of(lo),
            audio=self._buffer[lo - self._buffer_start : hi - self._buffer_start].copy(),
        )

    async def _transcribe_all(self, clips: list[_Clip]) -> list[Utterance]:
        results = []
        for clip in clips:
            # The voice is embedded on a second thread while Whisper reads the words.
            voice = None
            if self.voices is not None:
                voice = asyncio.ensure_future(asyncio.to_thread(self.voices.embed, clip.audio))
            speculation = self._speculation
            if speculation is not None and speculation[0] == clip.key:
                self._speculation = None
                self.speculative_hits += 1
                text, words, seconds = await speculation[1]
            else:
                await self._drop_speculation()  # never two Whisper calls at once
                text, words, seconds = await asyncio.to_thread(self._recognise, clip.audio)
            self.asr_seconds += seconds
            self.speech_seconds += clip.audio.size / SAMPLE_RATE
            speaker = self.options.speaker
            if voice is not None:
                identity = self.speakers.assign(await voice, clip.t1 - clip.t0, text)
                speaker = identity.label if identity is not None else self.speakers.options.unknown
                self._last_speaker = speaker
            if not text:
                continue
            results.append(
                Utterance(
                    stream_id=self._stream_id,
                    media_time=clip.t1,
                    stamps={"perception": time.time()},
                    utterance_id=self._ids.pop(clip.key[:2], None) or new_id(),
                    t0=clip.t0,
                    t1=clip.t1,
                    text=text,
                    speaker=speaker,
                    final=True,
                    words=tuple(
                        Word(text=w.text, t0=clip.start + w.t0, t1=clip.start + w.t1) for w in words
                    ),
                )
            )
        return results


@dataclass(frozen=True, slots=True)
class _Clip:
    """Audio of one ended segment: speech from ``t0`` to ``t1``; the audio starts at ``start``."""

    key: tuple[int, int, int]  # (epoch, first sample, end sample): matches a speculation
    t0: float
    t1: float
    start: float
    audio: np.ndarray
