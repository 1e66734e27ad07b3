"""A reply's tool traffic: the functions the model called and what the app answered.

A reply that used tools is still one `Message` (one bubble on screen, one version of a
reply, one thing to regenerate); its `tool_rounds` hold, in order, each time the model asked
for calls before it answered. Sent back to a model that can call tools, the message stands
for the chat messages the model saw — per round an assistant message with `tool_calls` and
one `tool` message per call, then the answer — so `--continue` and the next question send
exactly what the model was told. To a model offered no tools, only the answer is sent.

Plain data and pure functions (core/: no I/O, nothing else of the package).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from moviechat_tui.core.records import Record

if TYPE_CHECKING:
    from moviechat_tui.core.conversation import Message


class ToolCall(Record):
    """One call as the model asked for it, and what was sent back for it."""

    id: str
    name: str
    arguments: str
    """The JSON text as the model wrote it (sanitised), valid or not."""
    result: str
    """What the model was sent: the tool's answer, or what was wrong with the call."""
    failed: bool = False
    """The result says why the call could not run (unknown tool, bad arguments, the tool
    failed or was stopped), rather than being the tool's answer."""


class ToolRound(Record):
    """One turn of the model asking for calls: the calls in the order asked, and the text
    it wrote before asking (usually none; it is part of the reply's `content`)."""

    calls: tuple[ToolCall, ...]
    text: str = ""


def round_messages(rounds: tuple[ToolRound, ...]) -> list[dict[str, Any]]:
    """The chat messages of `rounds`: per round the assistant's `tool_calls` message and
    one `tool` message per call, in order."""
    out: list[dict[str, Any]] = []
    for turn in rounds:
        out.append({"role": "assistant", "content": turn.text or None, "tool_calls": [
            {"id": call.id, "type": "function",
             "function": {"name": call.name, "arguments": call.arguments}}
            for call in turn.calls]})
        out += [{"role": "tool", "tool_call_id": call.id, "content": call.result}
                for call in turn.calls]
    return out


def answer_text(message: Message) -> str:
    """The part of a reply's content written after its last round of calls (all of it when
    it made none)."""
    spoken = "".join(turn.text for turn in message.tool_rounds)
    if spoken and message.content.startswith(spoken):
        return message.content[len(spoken):]
    return message.content


def reply_messages(message: Message, *, with_tools: bool) -> list[dict[str, Any]]:
    """The chat messages that an assistant `message` stands for in a request: with its tool
    traffic for a model offered tools, else only its text."""
    if not with_tools or not message.tool_rounds:
        return [{"role": "assistant", "content": message.content}]
    out = round_messages(message.tool_rounds)
    answer = answer_text(message)
    if answer:
        out.append({"role": "assistant", "content": answer})
    return out
