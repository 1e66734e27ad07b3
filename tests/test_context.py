"""Context fitting: the system prompt and the newest question always go; pairs stay pairs."""

from __future__ import annotations

from moviechat_tui.capabilities import capabilities_for
from moviechat_tui.context import estimate_tokens, fit_history

SYSTEM = {"role": "system", "content": "You are a film expert."}


def _turns(n: int, size: int) -> list[dict[str, str]]:
    history: list[dict[str, str]] = []
    for i in range(n):
        history.append({"role": "user", "content": f"q{i} " + "x" * size})
        history.append({"role": "assistant", "content": f"a{i} " + "y" * size})
    return history


def test_hangul_counts_more_tokens_per_character_than_latin() -> None:
    assert estimate_tokens("가" * 400) > 3 * estimate_tokens("a" * 400)


def test_everything_fits_when_small() -> None:
    history = _turns(3, 10)
    fitted = fit_history(SYSTEM, history, context_window=8_000)
    assert fitted.dropped == 0 and fitted.messages == [SYSTEM, *history]


def test_oldest_pairs_go_first_and_replies_never_lose_their_question() -> None:
    history = [*_turns(5, 400), {"role": "user", "content": "newest"}]
    fitted = fit_history(SYSTEM, history, context_window=700, reply_reserve=100)
    kept = fitted.messages[1:]
    assert fitted.messages[0] == SYSTEM
    assert kept[-1]["content"] == "newest"
    assert kept[0]["role"] == "user"
    assert fitted.dropped == len(history) - len(kept) > 0
    assert fitted.estimated_tokens <= 600


def test_the_last_message_stays_even_if_it_alone_is_too_big() -> None:
    history = [{"role": "user", "content": "z" * 100_000}]
    fitted = fit_history(SYSTEM, history, context_window=1_000)
    assert fitted.messages == [SYSTEM, *history]


def test_capabilities_are_data_with_overrides() -> None:
    assert capabilities_for("o3-mini").reasoning
    assert not capabilities_for("gpt-4o-mini").reasoning
    assert capabilities_for("openai/gpt-4o").context_window == 128_000
    assert capabilities_for("SmolLM2-135M-Instruct.Q4_1").context_window == 2_048
    assert capabilities_for("some-unknown-model").context_window == 8_192
    assert capabilities_for("gpt-4o", context_window=4_096).context_window == 4_096
