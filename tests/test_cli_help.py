"""`imagesets --help` fit for people (issue 12): one line a command, three examples, no
docstring markup; -v/-q before or after the command; every option has help and its default."""

from __future__ import annotations

import argparse
import re

import pytest

from imagesets.cli import COMMANDS, build_parser, main


def _help(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--help"])
    assert exit_info.value.code == 0
    return capsys.readouterr().out


def test_top_help_lists_each_command_on_one_line_with_examples(
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = _help(capsys)
    for name, (line, _, _) in COMMANDS.items():
        assert re.search(rf"^    {re.escape(name)} +{re.escape(line)}$", text, re.M), name
    examples = text.split("examples:\n", 1)[1].splitlines()
    assert sum(line.startswith("  imagesets ") for line in examples) == 3
    assert "``" not in text and ":func:" not in text and "main(argv)" not in text


@pytest.mark.parametrize("argv", [["-q", "path", "mnist"], ["path", "mnist", "-q"],
                                  ["-v", "path", "mnist"], ["path", "-v", "mnist"]])  # fmt: skip
def test_verbosity_before_or_after_the_command(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)
    flag = "quiet" if "-q" in argv else "verbose"
    other = "verbose" if flag == "quiet" else "quiet"
    assert getattr(args, flag) is True and getattr(args, other) is False


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_option_has_help_and_shows_its_default(
    capsys: pytest.CaptureFixture[str], command: str
) -> None:
    sub = _subparsers()[command]
    for action in sub._actions:
        assert action.help, f"{command} {action.dest} has no help"
    text = _help(capsys, command)
    for action in sub._actions:
        default = action.default
        if action.option_strings and default not in (None, False, [], argparse.SUPPRESS):
            assert f"(default: {default})" in " ".join(text.split()), (command, action.dest)
