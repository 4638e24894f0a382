"""Scoring choices with llama.cpp: log-probabilities read from the model, not sampled text.

A multiple-choice answer should be one of the options, and the model's confidence in each
should be comparable with evidence from perception. llama-cpp-python exposes per-token
log-probabilities only with ``logits_all=True``, which costs an n_ctx x vocabulary array and
time on every prompt; instead, this module evaluates the chat prompt itself, reusing the
cached prefix exactly as ``create_chat_completion`` does (so the timeline prefilled in the
background still counts), and reads the logits of the last position. For a whole
continuation (an option's text) it decodes the continuation as one batch with logits for
every position, then rewinds to the prompt for the next option.

These helpers reach into ``Llama``'s evaluation state (``n_tokens``, ``input_ids``, the batch
and context objects), which is why the llama-cpp-python version is pinned.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from llama_cpp import Llama

__all__ = ["LlamaScorer", "log_softmax"]


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits.astype(np.float64) - np.max(logits, axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


class LlamaScorer:
    """Log-probabilities of replies to a chat prompt, from one loaded model."""

    def __init__(self, llm: Llama) -> None:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        def text(token: int) -> str:
            return llm._model.token_get_text(token) if token != -1 else ""

        self.llm = llm
        self._format = Jinja2ChatFormatter(
            template=llm.metadata["tokenizer.chat_template"],
            eos_token=text(llm.token_eos()),
            bos_token=text(llm.token_bos()),
        )

    def chat_tokens(self, messages: Sequence[dict[str, str]]) -> list[int]:
        """The tokens ``create_chat_completion`` evaluates for ``messages`` (generation prompt
        included), so that both share the cached prefix."""
        prompt = self._format(messages=list(messages)).prompt  # type: ignore[arg-type]
        return list(self.llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True))

    def _tokens(self, text: str) -> list[int]:
        return list(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def _evaluate(self, tokens: list[int]) -> np.ndarray:
        """Evaluate ``tokens`` (reusing the longest cached prefix); the log-probabilities of
        the next token."""
        llm = self.llm
        shared = 0
        for a, b in zip(llm.input_ids[: llm.n_tokens], tokens, strict=False):
            if a != b:
                break
            shared += 1
        shared = min(shared, len(tokens) - 1)  # decode at least one token, for fresh logits
        if shared > 0 and llm._ctx.kv_cache_seq_rm(-1, shared, -1):
            llm.n_tokens = shared
        else:
            llm.reset()
            shared = 0
        llm.eval(tokens[shared:])
        logits = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),))
        return log_softmax(logits.copy())

    def first_token_logprobs(
        self, messages: Sequence[dict[str, str]], labels: Sequence[str]
    ) -> list[float]:
        """The log-probability that the reply starts with each label (an option letter,
        "yes"): each label's first token, read from one evaluation of the prompt."""
        logprobs = self._evaluate(self.chat_tokens(messages))
        return [float(logprobs[self._tokens(label)[0]]) for label in labels]

    def mean_logprobs(
        self, messages: Sequence[dict[str, str]], continuations: Sequence[str], *, mean: bool = True
    ) -> list[float]:
        """The mean (or, with ``mean`` False, total) log-probability per token of each
        continuation as the reply.

        The prompt is evaluated once; each continuation is then decoded as one batch with
        logits at every position, and the cache is rewound to the prompt before the next.
        """
        llm = self.llm
        first = self._evaluate(self.chat_tokens(messages))
        end = llm.n_tokens
        scores = []
        for text in continuations:
            tokens = self._tokens(text)
            total = float(first[tokens[0]])
            if len(tokens) > 1:
                llm._ctx.kv_cache_seq_rm(-1, end, -1)
                batch = tokens[:-1]
                llm._batch.set_batch(batch=batch, n_past=end, logits_all=True)
                llm._ctx.decode(llm._batch)
                shape = (len(batch), llm.n_vocab())
                rows = log_softmax(np.ctypeslib.as_array(llm._ctx.get_logits(), shape=shape).copy())
                total += float(sum(rows[i, t] for i, t in enumerate(tokens[1:])))
            scores.append(total / len(tokens) if mean else total)
        llm._ctx.kv_cache_seq_rm(-1, end, -1)  # the prompt stays cached, as after a generation
        llm.n_tokens = end
        llm._requires_eval = True  # the logits are a continuation's: a generation must replay
        return scores
