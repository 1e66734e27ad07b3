"""Context fitting: the system prompt and the newest question always go; pairs stay pairs."""

from __future__ import annotations

from moviechat_tui.core.capabilities import capabilities_for
from moviechat_tui.core.context import estimate_tokens, fit_history

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


def _fit_by_dropping_from_the_front(system: dict[str, str], history: list[dict[str, str]],
                                    budget: int) -> tuple[int, int]:
    """The rule as first written: drop the oldest until it fits, never start on a reply."""
    costs = [estimate_tokens(m["content"]) for m in history]
    total = estimate_tokens(system["content"]) + sum(costs)
    start = 0
    while total > budget and start < len(history) - 1:
        total -= costs[start]
        start += 1
        while start < len(history) - 1 and history[start]["role"] == "assistant":
            total -= costs[start]
            start += 1
    return start, total


def test_fitting_from_the_newest_keeps_exactly_the_same_messages() -> None:
    import random

    rng = random.Random(7)
    words = ["film", "롱테이크", "Ozu", "기생충은 계단의 영화", "x" * 50, "a"]
    for _ in range(400):
        history = [{"role": rng.choice(["user", "assistant", "assistant"]),
                    "content": " ".join(rng.choice(words) for _ in range(rng.randint(0, 40)))}
                   for _ in range(rng.randint(0, 12))]
        system = {"role": "system", "content": "You are a film critic."}
        window = rng.randint(40, 600)
        fitted = fit_history(system, history, context_window=window, reply_reserve=20)
        start, total = _fit_by_dropping_from_the_front(system, history, window - 20)
        assert (fitted.dropped, fitted.estimated_tokens) == (start, total), history


def test_estimate_counts_hangul_and_cjk_as_wide() -> None:
    assert estimate_tokens("abcd" * 10) == 10 + 4
    assert estimate_tokens("기생충") == 3 + 4
    assert estimate_tokens("é" * 8 + "映画") == 2 + 2 + 4  # U+00E9 narrow, CJK wide
