"""'Copy code block N' counts the fenced code blocks the screen shows, in their order."""

from __future__ import annotations

from moviechat_tui.core.codeblocks import CodeBlock, code_blocks


def test_fences_inside_lists_and_quotes_count_in_order() -> None:
    reply = ("1. Install:\n\n   ```sh\n   pip install x\n   ```\n\n"
             "> Quote:\n> ~~~ python title=a.py\n> print(1)\n> ~~~\n\n"
             "```\nplain\n```\n")
    assert code_blocks(reply) == [CodeBlock("sh", "pip install x\n"),
                                  CodeBlock("python", "print(1)\n"),
                                  CodeBlock("", "plain\n")]


def test_indented_code_is_not_counted_and_an_unclosed_fence_runs_to_the_end() -> None:
    reply = "Old style:\n\n    indented = True\n\n```js\nf()\n\ng()"
    assert code_blocks(reply) == [CodeBlock("js", "f()\n\ng()")]
    assert code_blocks(reply)[0].line_count == 3
