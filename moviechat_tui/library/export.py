"""One conversation as a Markdown file to keep (ctrl+s, `moviechat export ID`).

The export is a document of its own: `# title`, then `## speaker · time` per message, then
the message. Tool traffic (the catalogue lookups a reply made, the facts that went along
with a question) is left out unless asked for (`tools=True`, `moviechat export --tools`):
then each call is written before the reply's text, with its arguments and result in code
blocks, as the model sent and got them.

A reply is Markdown too, so its own headings are moved two levels down (a
reply's `## Plot` becomes `#### Plot`, under its speaker instead of beside it), a code block
a stopped reply left open is closed (or the rest of the export would become code), and a reply
that did not end normally says so, as it does on screen.

markdown-it (already the renderer's parser) finds the headings and code blocks, so a `#` in a
code block or a table is left alone; it is imported on the first export, never at start-up.
"""

from __future__ import annotations

import re
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from moviechat_tui.core.conversation import (
    Conversation,
    Message,
    ending_label,
)
from moviechat_tui.core.errors import UserFacingError
from moviechat_tui.core.i18n import _
from moviechat_tui.core.markdown import thread_parser
from moviechat_tui.core.persona import Persona, find
from moviechat_tui.core.spoilers import visibly_marked
from moviechat_tui.storage.errors import StoreWriteError, why_not_written
from moviechat_tui.storage.files import write_atomically

if TYPE_CHECKING:
    pass

HEADING_SHIFT = 2
"""How many levels a reply's headings move down: below the export's `#` title and its `##`
speaker lines."""
_ATX_MARKER = re.compile(r"([ \t>*+\-0-9.)]*?)(#{1,6})(?=[ \t]|$)")
"""The `#` run of an ATX heading line, after any container markers (`> `, `- `, `1. `)."""


class ExportError(UserFacingError):
    """The export could not be written (the folder is missing, the disk is full, ...);
    nothing else changed."""


def _speaker(message: Message, personas: Iterable[Persona]) -> str:
    if message.role == "user":
        return _("You")
    persona = find(tuple(personas), message.persona or "")
    name = persona.display_name if persona else (message.persona or _("Assistant"))
    return f"{name} ({message.model})" if message.model else name


def _fence_is_closed(lines: list[str], start: int, end: int, markup: str) -> bool:
    if end - start < 2:
        return False
    closing = re.compile(r" {0,3}" + re.escape(markup[0]) + "{" + str(len(markup)) + r",}[ \t]*")
    return closing.fullmatch(lines[end - 1]) is not None


def nested_markdown(text: str) -> str:
    """`text` (a reply) made to sit under a `##` heading: its headings two levels down
    (at most `######`; a setext heading at the top level becomes an ATX one), and a code
    block left open at its end closed."""
    lines = text.split("\n")
    counted = len(lines) - 1 if lines[-1] == "" else len(lines)  # as markdown-it counts
    tokens = thread_parser().parse(text)
    replaced: dict[int, str | None] = {}
    for index, token in enumerate(tokens):
        if token.map is None:
            continue
        start, end = token.map
        if token.type == "heading_open":
            marker = "#" * min(int(token.tag[1]) + HEADING_SHIFT, 6)
            if token.markup.startswith("#"):
                found = _ATX_MARKER.match(lines[start])
                if found is not None:
                    replaced[start] = found.group(1) + marker + lines[start][found.end():]
            elif token.level == 0:  # setext (`Title` over `===`): one ATX line instead
                title = " ".join(tokens[index + 1].content.split("\n"))
                replaced[start] = f"{marker} {title}"
                replaced.update((line, None) for line in range(start + 1, end))
        elif (token.type == "fence" and token.level == 0 and end >= counted
              and not _fence_is_closed(lines, start, end, token.markup)):
            lines.insert(counted, token.markup)
    if not replaced:
        return "\n".join(lines)
    out = [replaced.get(number, line) for number, line in enumerate(lines)]
    return "\n".join(line for line in out if line is not None)


def fence_for(text: str) -> str:
    """A backtick fence longer than any run of backticks in `text` (so it cannot close it)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _tool_traffic(message: Message) -> list[str]:
    """The calls of a reply and the facts that went along, as Markdown lines."""
    lines: list[str] = []
    if message.facts:
        lines += ["*" + _("Catalogue facts sent with the question: {films}").format(
            films=", ".join(message.facts)) + "*", ""]
    for turn in message.tool_rounds:
        for call in turn.calls:
            heading = _("Tool call `{name}`").format(name=call.name.replace("`", "'"))
            if call.failed:
                heading += " " + _("(failed)")
            lines += [f"**{heading}**", ""]
            for label, text in ((_("Arguments:"), call.arguments),
                                (_("Result:"), call.result)):
                fence = fence_for(text)
                lines += [label, "", fence, text, fence, ""]
    return lines


def export_markdown(conv: Conversation, personas: Iterable[Persona], *,
                    tools: bool = False) -> str:
    """The visible conversation as Markdown: who said what, with which persona and model;
    with `tools`, also the tool calls each reply made and the catalogue facts it got."""
    personas = tuple(personas)
    untitled = _("Untitled conversation")
    lines = [f"# {conv.title or untitled}", "",
             _("Exported from moviechat · created {created} · updated {updated}").format(
                 created=conv.created.strftime("%Y-%m-%d %H:%M UTC"),
                 updated=conv.updated.strftime("%Y-%m-%d %H:%M UTC")), ""]
    for message in conv.messages:
        if message.hidden:
            continue
        if message.role == "notice":
            if message.notice == "persona":
                persona = find(personas, message.persona or "")
                name = persona.display_name if persona else message.content
                lines += ["---", "", "*" + _("Persona: {name}").format(name=name) + "*", ""]
            continue
        stamp = message.created.strftime("%Y-%m-%d %H:%M")
        lines += [f"## {_speaker(message, personas)} · {stamp}", ""]
        if tools and message.role == "assistant":
            lines += _tool_traffic(message)
        # A reply's spoilers are kept, between visible "[spoiler]" and "[/spoiler]": the
        # export is the user's own file (docs/user-guide.md, "Spoiler shield").
        content = (visibly_marked(message.content) if message.role == "assistant"
                   else message.content)
        lines += [nested_markdown(content).rstrip("\n"), ""]
        ended = ending_label(message.finish_reason) if message.role == "assistant" else ""
        if ended:
            lines += [f"*({ended})*", ""]
    return "\n".join(lines).rstrip() + "\n"


def write_export(path: Path, text: str) -> None:
    """Write an export the way the app writes conversations: private (0600, since it holds the
    whole conversation) and atomic (a failed write never leaves half a file over an earlier
    export). A path that is not a regular file (`/dev/stdout`, a pipe) is simply written to.
    Raises `ExportError`, whose message says where and why."""
    try:
        try:
            special = not stat.S_ISREG(path.stat().st_mode)
        except FileNotFoundError:
            special = False
        if special:
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(text)
            return
        write_atomically(path, text.encode("utf-8"))
    except (OSError, StoreWriteError) as err:
        reason = err.error if isinstance(err, StoreWriteError) else err
        raise ExportError(_("Could not export to {path}: {why}.").format(
            path=path, why=why_not_written(reason))) from err
