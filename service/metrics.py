"""Prometheus metrics of the service, in a registry of its own (one per app, so that tests
and several apps in one process do not collide)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from vigil.items import Item, Observation, Response, StreamError, Utterance

__all__ = ["ServiceMetrics"]

_SECONDS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)


class ServiceMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.sessions = Gauge("vigil_sessions_active", "Open sessions.", registry=r)
        self.streams = Gauge("vigil_streams_active", "Streams starting or playing.", registry=r)
        self.ready = Gauge("vigil_models_ready", "1 once the models are verified.", registry=r)
        self.events = Counter("vigil_events_total", "Events from graphs.", ["type"], registry=r)
        self.stage = Histogram(
            "vigil_stage_latency_seconds",
            "Capture to the end of a perception stage (video: a frame analysed; audio: an "
            "utterance transcribed, from its end).",
            ["stage"],
            buckets=_SECONDS,
            registry=r,
        )
        self.answer = Histogram(
            "vigil_answer_latency_seconds",
            "End of a question to the first token of its answer.",
            buckets=_SECONDS,
            registry=r,
        )
        self.errors = Counter("vigil_stream_errors_total", "Stream errors.", ["fatal"], registry=r)
        self.ingest = Counter(
            "vigil_ingest_messages_total", "Client media messages.", ["kind"], registry=r
        )
        self.ingest_dropped = Counter(
            "vigil_ingest_dropped_total",
            "Client media not taken (unreadable, or the stream was not playing).",
            registry=r,
        )
        self.readers_missed = Counter(
            "vigil_events_missed_total", "Events a slow reader lost.", registry=r
        )
        self.waiting = Gauge(
            "vigil_answers_waiting",
            "Answers waiting for their turn, per playing stream (read at each scrape).",
            ["stream"],
            registry=r,
        )
        self.model_waiting = Gauge(
            "vigil_model_waiting",
            "Generations and scorings waiting for a turn on the shared language model, per "
            "stream with any (turns go round the streams; read at each scrape).",
            ["stream"],
            registry=r,
        )
        self.dropped = Gauge(
            "vigil_stream_dropped",
            "What a playing stream lost so far (read at each scrape): source_frames and "
            "source_audio_seconds to overflow, sampled_frames perception skipped to stay live.",
            ["stream", "what"],
            registry=r,
        )
        self.http = Counter(
            "vigil_http_requests_total", "HTTP requests.", ["method", "status"], registry=r
        )

    def observe(self, item: Item) -> None:
        """Count an event from a graph and time it where it carries its stamps."""
        self.events.labels(type(item).__name__).inc()
        stamps = item.stamps
        match item:
            case Observation() if "perception" in stamps and "source" in stamps:
                self.stage.labels("video").observe(stamps["perception"] - stamps["source"])
            case Utterance(final=True) if "heard" in stamps and "perception" in stamps:
                self.stage.labels("audio").observe(max(0.0, stamps["perception"] - stamps["heard"]))
            case Response(cancelled=False) if item.first_token_wall and item.asked_wall:
                self.answer.observe(max(0.0, item.latency))
            case StreamError():
                self.errors.labels(str(item.fatal).lower()).inc()
            case _:
                pass
