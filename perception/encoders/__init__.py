"""Frame encoders: the protocol, the CPU implementation, a transformers vision encoder, and
a batcher that shares one encoder between streams. The vision encoder imports torch and
transformers only when it loads."""

from perception.encoders.base import Box, FrameEncoder, FrameFeatures
from perception.encoders.batching import FrameBatcher
from perception.encoders.cpu import CpuEncoderOptions, CpuFrameEncoder
from perception.encoders.vision import TorchFrameEncoder

__all__ = [
    "Box",
    "CpuEncoderOptions",
    "CpuFrameEncoder",
    "FrameBatcher",
    "FrameEncoder",
    "FrameFeatures",
    "TorchFrameEncoder",
]
