"""Where answers go besides the console: a log, WebSocket clients, a voice.

Every sink takes the reaction stage's output as it comes (deltas, then one final Response),
so text appears token by token and speech starts with the first sentence; a final Response
marked ``cancelled`` (barge-in) stops whatever the sink is still showing or saying.
"""

from reaction.sinks.base import Sink, fan_out
from reaction.sinks.speech import (
    EspeakSynthesizer,
    PiperSynthesizer,
    SpeechSink,
    default_synthesizer,
)
from reaction.sinks.text import LogSink
from reaction.sinks.websocket import WebSocketSink

__all__ = [
    "EspeakSynthesizer",
    "LogSink",
    "PiperSynthesizer",
    "Sink",
    "SpeechSink",
    "WebSocketSink",
    "default_synthesizer",
    "fan_out",
]
