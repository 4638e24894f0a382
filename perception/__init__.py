"""Perception: sampled video frames become observations, audio becomes utterances.

Plain Python stages with ``start`` / ``process`` / ``stop`` and no Ray imports; ``runtime/``
turns them into actors. Models are passed in as filesystem paths. Heavy libraries
(faster-whisper, RapidOCR, onnxruntime) are imported when a model is loaded, not here.
"""

from perception.asr import Transcriber
from perception.audio import AudioOptions, AudioPerception
from perception.describe import describe
from perception.encoders import CpuEncoderOptions, CpuFrameEncoder, FrameEncoder, FrameFeatures
from perception.motion import MotionMeter, SceneChangeDetector, cosine_distance
from perception.ocr import TextLine, TextReader
from perception.resample import Resampler, to_mono, to_mono_16k
from perception.sampler import FrameSampler
from perception.vad import SileroVad, SpeechSegment, SpeechSegmenter, VadOptions
from perception.video import VideoOptions, VideoPerception

__all__ = [
    "AudioOptions",
    "AudioPerception",
    "CpuEncoderOptions",
    "CpuFrameEncoder",
    "FrameEncoder",
    "FrameFeatures",
    "FrameSampler",
    "MotionMeter",
    "Resampler",
    "SceneChangeDetector",
    "SileroVad",
    "SpeechSegment",
    "SpeechSegmenter",
    "TextLine",
    "TextReader",
    "Transcriber",
    "VadOptions",
    "VideoOptions",
    "VideoPerception",
    "cosine_distance",
    "describe",
    "to_mono",
    "to_mono_16k",
]
