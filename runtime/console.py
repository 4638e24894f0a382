"""How a run looks in a terminal: one line per event, each with its media time.

Observations are shown when they say something new (a change in what is seen), transcripts
when final, answers as they stream with their latency. ``--json`` prints one JSON object per
event instead, for logs and other programs.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.markup import escape

from vigil.items import (
    Clarification,
    Clip,
    EndOfStream,
    Interrupt,
    Item,
    Notice,
    Observation,
    Reply,
    Request,
    Response,
    ResponseDelta,
    StreamError,
    Trigger,
    Understood,
    Utterance,
)

__all__ = ["EventPrinter", "JsonEventPrinter", "plain"]


def _when(item: Item) -> str:
    return f"[dim]{item.media_time:7.1f}s[/dim]"


class EventPrinter:
    """Human-readable live output."""

    def __init__(
        self,
        console: Console | None = None,
        *,
        show_tokens: bool = True,
        label: str | None = None,
    ) -> None:
        """``label`` starts every line (the stream id, when several streams share a console)."""
        self.console = console or Console(highlight=False)
        self._label = label
        self._last_seen = ""
        self._show_tokens = show_tokens and self.console.is_terminal
        self._streaming = False

    def __call__(self, item: Item) -> None:
        match item:
            case Observation():
                seen = item.description
                if seen != self._last_seen:
                    self._last_seen = seen
                    self._line(f"{_when(item)} [cyan]sees[/cyan]   {escape(seen)}")
            case Clip():
                self._line(
                    f"{_when(item)} [blue]clip[/blue]   {item.t0:.1f}-{item.t1:.1f}s: "
                    f"{escape(item.summary)}"
                )
            case Utterance(final=True):
                self._line(
                    f"{_when(item)} [yellow]hears[/yellow]  {escape(item.speaker)}: "
                    f"{escape(item.text)} [dim]({item.t0:.1f}-{item.t1:.1f}s)[/dim]"
                )
            case Request(origin="typed"):
                self._line(f"{_when(item)} [magenta]asked[/magenta]  {escape(item.text)}")
            case Understood(condition=None):
                self._line(
                    f"{_when(item)} [yellow]note[/yellow]   could not understand the "
                    f"instruction {escape(item.request.text)!r}"
                )
            case Understood():
                self._line(
                    f"{_when(item)} [magenta]watches[/magenta] {escape(item.description)} "
                    f"[dim](understood by the {item.source}: {escape(item.request.text)!r})[/dim]"
                )
            case Trigger(evidence=evidence) if evidence:
                self._line(f"{_when(item)} [magenta]fires[/magenta]  {escape(evidence)}")
            case ResponseDelta() if self._show_tokens:
                if not self._streaming:
                    self.console.print(f"{_when(item)} [green]vigil[/green]  ", end="")
                    self._streaming = True
                self.console.print(escape(item.text), end="")
            case Response():
                self._answer(item)
            case Clarification():
                self._line(f"{_when(item)} [green]vigil?[/green] {escape(item.question)}")
            case Reply():
                self._line(
                    f"{_when(item)} [magenta]reply[/magenta]  {escape(item.speaker)}: "
                    f"{escape(item.text)}"
                )
            case Notice():
                self._line(f"{_when(item)} [dim]note[/dim]   {escape(item.text)}")
            case Interrupt():
                self._line(f"{_when(item)} [red]barge-in[/red] {escape(item.reason)}")
            case StreamError():
                level = "[bold red]error[/bold red]" if item.fatal else "[red]warn[/red] "
                self._line(f"{_when(item)} {level}  {item.stage}: {escape(item.message)}")
            case EndOfStream():
                self._line(f"{_when(item)} [dim]end of stream ({item.reason})[/dim]")

    def _answer(self, response: Response) -> None:
        note = "cancelled" if response.cancelled else f"{response.latency:.2f}s to first token"
        if "queued" in response.stamps and not response.cancelled:
            note += f", {response.queue_wait:.1f}s of it waiting in the queue"
        if self._streaming:
            self.console.print(f" [dim]({note})[/dim]")
            self._streaming = False
        else:
            self._line(
                f"{_when(response)} [green]vigil[/green]  {escape(response.text)} "
                f"[dim](to {escape(response.question)!r}; {note})[/dim]"
            )

    def _line(self, text: str) -> None:
        if self._streaming:
            self.console.print()
            self._streaming = False
        self.console.print(f"[bold]{escape(self._label)}[/bold] {text}" if self._label else text)


def plain(item: Item) -> dict[str, Any]:
    """An item as JSON-ready data: arrays are left out, nested items flattened."""
    out: dict[str, Any] = {"type": type(item).__name__}
    for name in item.__dataclass_fields__:
        value = getattr(item, name)
        if hasattr(value, "shape"):
            continue
        if hasattr(value, "__dataclass_fields__"):
            value = plain(value)
        elif isinstance(value, tuple):
            value = [plain(v) if hasattr(v, "__dataclass_fields__") else v for v in value]
        elif not isinstance(value, str | int | float | bool | type(None) | dict):
            value = str(value)
        out[name] = value
    return out


class JsonEventPrinter:
    """One JSON object per line on stdout (frames' pixels and embeddings omitted)."""

    def __call__(self, item: Item) -> None:
        if isinstance(item, ResponseDelta):
            return
        sys.stdout.write(json.dumps(plain(item)) + "\n")
        sys.stdout.flush()
