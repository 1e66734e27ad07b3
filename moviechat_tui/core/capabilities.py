"""What each model family accepts, kept as data rather than if-chains.

Matched by the first pattern that fits the model name (fnmatch, case-insensitive). Unknown
models get conservative defaults that any OpenAI-compatible server accepts. Users can set
`context_window` in the config for a model we do not know.

`tools` says whether the model is offered the film tools (function calling) or is given
catalogue facts in its system message instead (session/grounding.py). A model we do not know
is offered tools first: a server that refuses them gets the question again without, and the
app remembers that for the endpoint and model.
"""

from __future__ import annotations

import fnmatch

from moviechat_tui.core.records import Record


class ModelCapabilities(Record):
    context_window: int
    """Tokens of prompt + reply the model accepts."""
    reasoning: bool = False
    """Reasoning models reject `temperature` and want `max_completion_tokens`."""
    reports_usage: bool = False
    """The endpoint sends a usage chunk when asked (`stream_options.include_usage`)."""
    window_known: bool = True
    """False for the default guess given to a model we do not know: a message is then never
    refused as too long before the server has had its say."""
    tools: bool = True
    """The model can call functions: offer it the film tools. False: it cannot (or does it
    badly), so catalogue facts go in its system message instead."""
    temperature: float | None = None
    """Sent when the persona sets none (None: the server's default). The bundled SmolLM2
    repeats the catalogue facts it is given at 0.2 and wanders off them at llama.cpp's
    default (docs/facts measured at 0.2: "Bong Joon Ho … 2019" three times of three)."""


DEFAULT = ModelCapabilities(context_window=8_192, window_known=False)

KNOWN: tuple[tuple[str, ModelCapabilities], ...] = (
    ("o1-mini*", ModelCapabilities(128_000, reasoning=True, reports_usage=True, tools=False)),
    ("o1-preview*", ModelCapabilities(128_000, reasoning=True, reports_usage=True,
                                      tools=False)),
    ("o1*", ModelCapabilities(200_000, reasoning=True, reports_usage=True)),
    ("o3*", ModelCapabilities(200_000, reasoning=True, reports_usage=True)),
    ("o4*", ModelCapabilities(200_000, reasoning=True, reports_usage=True)),
    ("gpt-5*", ModelCapabilities(400_000, reasoning=True, reports_usage=True)),
    ("gpt-4.1*", ModelCapabilities(1_047_576, reports_usage=True)),
    ("gpt-4o*", ModelCapabilities(128_000, reports_usage=True)),
    ("gpt-4-turbo*", ModelCapabilities(128_000, reports_usage=True)),
    ("gpt-4*", ModelCapabilities(8_192, reports_usage=True)),
    ("gpt-3.5-turbo*", ModelCapabilities(16_385, reports_usage=True)),
    ("smollm2-135m*", ModelCapabilities(2_048, tools=False, temperature=0.2)),
    ("smollm*", ModelCapabilities(2_048, tools=False, temperature=0.2)),
    ("llama3*", ModelCapabilities(8_192)),
    ("llama-3*", ModelCapabilities(8_192)),
    ("qwen2.5*", ModelCapabilities(32_768)),
    ("mistral*", ModelCapabilities(32_768)),
    ("gemma*", ModelCapabilities(8_192, tools=False)),
    ("phi-2*", ModelCapabilities(2_048, tools=False)),
    ("tinyllama*", ModelCapabilities(2_048, tools=False)),
)


def capabilities_for(model: str, *, context_window: int | None = None) -> ModelCapabilities:
    name = model.lower().rsplit("/", 1)[-1]  # "openai/gpt-4o" (OpenRouter) → "gpt-4o"
    found = next((caps for pattern, caps in KNOWN if fnmatch.fnmatch(name, pattern)), DEFAULT)
    if context_window:
        from moviechat_tui.core.records import replace

        found = replace(found, context_window=context_window, window_known=True)
    return found


def reply_reserve(caps: ModelCapabilities, max_tokens: int | None) -> int:
    """Tokens of the window kept for the reply: the persona's limit, else a share of it."""
    from moviechat_tui.core.context import REPLY_RESERVE

    return max_tokens or min(REPLY_RESERVE, caps.context_window // 4)
