"""Frame encoders: the protocol and the CPU implementation."""

from perception.encoders.base import Box, FrameEncoder, FrameFeatures
from perception.encoders.cpu import CpuEncoderOptions, CpuFrameEncoder

__all__ = ["Box", "CpuEncoderOptions", "CpuFrameEncoder", "FrameEncoder", "FrameFeatures"]
