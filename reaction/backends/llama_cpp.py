"""llama.cpp in process: the default CPU backend (the 1.5B GGUF's first token in 1-2 s on 2 cores).

The model is loaded and used on one worker thread, so the event loop never blocks and llama.cpp
is never entered from two threads. llama-cpp-python keeps the tokens of the last prompt in its
KV cache and re-evaluates only what follows the longest common prefix; the reaction stage
therefore keeps the system prompt (and the oldest context) first and unchanged, which makes a
warm request skip that part of the prompt evaluation.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reaction.backends.base import ChatMessage, Schema, ThreadedBackend
from reaction.backends.llama_scoring import LlamaScorer
from vigil.errors import BackendError, ModelError

if TYPE_CHECKING:
    from llama_cpp import Llama, LlamaGrammar

__all__ = ["LlamaCppBackend"]

_HINT = "run `vigil models prepare qwen2.5-1.5b-instruct`, or set models.llm to a GGUF file"


class LlamaCppBackend(ThreadedBackend):
    """A GGUF chat model through llama-cpp-python; one generation at a time.

    JSON schemas become llama.cpp grammars (compiled once per schema); choices are scored from
    the model's own log-probabilities (:class:`LlamaScorer`).
    """

    name = "llama.cpp"
    score_methods = frozenset({"first_token", "mean_logprob", "sum_logprob"})

    def __init__(
        self,
        model_path: str | os.PathLike[str],
        *,
        n_ctx: int = 2048,
        n_threads: int = 2,
        n_batch: int = 512,
        timeout: float = 60.0,
        retries: int = 1,
        backoff: float = 0.25,
    ) -> None:
        super().__init__(concurrency=1, timeout=timeout, retries=retries, backoff=backoff)
        self.model_path = Path(model_path)
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.n_batch = n_batch
        self._llm: Llama | None = None
        self._scorer: LlamaScorer | None = None
        self._grammars: dict[str, LlamaGrammar] = {}

    async def _load(self) -> None:
        self._check_file()
        self._llm = await self._in_thread(self._open)
        self._scorer = LlamaScorer(self._llm)

    async def _unload(self) -> None:
        llm, self._llm, self._scorer = self._llm, None, None
        if llm is not None:
            await self._in_thread(llm.close)
        await super()._unload()

    def _check_file(self) -> None:
        """Fail with a clear message before llama.cpp fails with a vague one."""
        path = self.model_path
        if not path.is_file():
            what = "is a folder, not a GGUF file" if path.is_dir() else "does not exist"
            raise ModelError(f"LLM model file {path} {what}", hint=_HINT)
        with path.open("rb") as handle:
            magic = handle.read(4)
        if magic != b"GGUF":
            raise ModelError(f"LLM model file {path} is not a GGUF file", hint=_HINT)

    def _open(self) -> Llama:
        try:
            from llama_cpp import Llama
        except ImportError as error:
            raise ModelError(
                "the llama.cpp backend needs llama-cpp-python",
                hint="pip install llama-cpp-python==0.3.36",
            ) from error
        try:
            return Llama(
                model_path=str(self.model_path),
                n_ctx=self.n_ctx,
                n_threads=self.n_threads,
                n_threads_batch=self.n_threads,
                n_batch=self.n_batch,
                verbose=False,
            )
        except (ValueError, RuntimeError) as error:
            raise ModelError(
                f"llama.cpp could not load {self.model_path} (truncated or corrupt?): {error}",
                hint=_HINT,
            ) from error

    @property
    def llm(self) -> Llama:
        """The loaded model (after ``start``), for token counts and measurements."""
        if self._llm is None:
            raise BackendError("the llama.cpp backend is not started", hint="await start() first")
        return self._llm

    def count_tokens(self, text: str) -> int:
        """Tokens in ``text`` by the model's own tokenizer (cheap: no evaluation)."""
        return len(self.llm.tokenize(text.encode(), add_bos=False, special=True))

    def _generate_sync(
        self,
        messages: list[ChatMessage],
        *,
        max_tokens: int,
        temperature: float,
        stop: Sequence[str],
        schema: Schema | None,
        cancelled: threading.Event,
    ) -> Iterator[str]:
        llm = self.llm
        try:
            chunks: Iterator[Any] = llm.create_chat_completion(  # type: ignore[assignment]
                messages=[m.as_dict() for m in messages],  # type: ignore[misc]
                stream=True,
                max_tokens=max_tokens,
                temperature=temperature,
                stop=list(stop) or None,
                grammar=self._grammar(schema) if schema is not None else None,
            )
            for chunk in chunks:
                if cancelled.is_set():
                    break
                content = chunk["choices"][0]["delta"].get("content")
                if content:
                    yield content
        except ValueError as error:  # e.g. "Requested tokens (2100) exceed context window"
            raise BackendError(
                f"llama.cpp rejected the prompt: {error}",
                hint="lower reaction.budget_tokens or raise reaction.context_tokens",
            ) from error
        except RuntimeError as error:  # llama_decode failed
            llm.reset()
            raise BackendError(f"llama.cpp failed: {error}", retryable=True) from error

    def _grammar(self, schema: Schema) -> LlamaGrammar:
        from llama_cpp import LlamaGrammar

        key = json.dumps(schema, sort_keys=True)
        if key not in self._grammars:
            self._grammars[key] = LlamaGrammar.from_json_schema(key, verbose=False)
        return self._grammars[key]

    def _score_sync(
        self, messages: list[ChatMessage], choices: list[str], method: str
    ) -> list[float]:
        if self._scorer is None:
            raise BackendError("the llama.cpp backend is not started", hint="await start() first")
        turns = [m.as_dict() for m in messages]
        try:
            if method == "first_token":
                return self._scorer.first_token_logprobs(turns, choices)
            return self._scorer.mean_logprobs(turns, choices, mean=method == "mean_logprob")
        except RuntimeError as error:  # llama_decode failed
            self.llm.reset()
            raise BackendError(f"llama.cpp failed: {error}", retryable=True) from error
