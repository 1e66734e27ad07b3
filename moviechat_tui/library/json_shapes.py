"""The JSON that `moviechat list --json` and `moviechat search --json` print: a stable
interface for scripts (docs/scripting.md), so it lives apart from the code that finds what
it describes and changes only on purpose."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from moviechat_tui.core.conversation import ConversationSummary

if TYPE_CHECKING:
    from moviechat_tui.library.search import SearchHit


def summary_json(summary: ConversationSummary) -> dict[str, Any]:
    """One conversation of `moviechat list --json`."""
    return {
        "id": summary.id,
        "title": summary.title,
        "persona": summary.persona,
        "model": summary.model,
        "created": summary.created.isoformat(),
        "updated": summary.updated.isoformat(),
        "message_count": summary.message_count,
    }


def hit_json(hit: SearchHit) -> dict[str, Any]:
    """One matching message of `moviechat search --json`."""
    return {
        "conversation_id": hit.conversation_id,
        "title": hit.title,
        "updated": hit.updated.isoformat(),
        "message_id": hit.message_id,
        "role": hit.role,
        "snippet": hit.snippet,
        "match": [hit.match_start, hit.match_end],
    }
