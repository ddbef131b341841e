"""Every command's --help works and shows at least one example; shell completion is available."""

from __future__ import annotations

import pytest
import typer.completion
import typer.main
from typer.testing import CliRunner

from b24sync.cli import app

runner = CliRunner()


def _commands(command, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """The path of every command reachable from the root (the root itself is ``()``), groups included."""
    found = [path]
    if hasattr(command, "list_commands"):  # a group (Typer's own click, so no isinstance on click.Group)
        ctx = command.context_class(command, info_name=path[-1] if path else "b24sync")
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None:
                found += _commands(sub, (*path, name))
    return found


COMMANDS = _commands(typer.main.get_command(app))


def test_the_walk_finds_the_commands():
    names = {path[0] for path in COMMANDS if path}
    assert {"reconcile", "apply", "doctor", "status", "init", "migrate", "conflicts", "snapshot", "serve", "worker",
            "sandbox", "demo"} <= names
    assert ("conflicts", "link") in COMMANDS


@pytest.mark.parametrize("path", COMMANDS, ids=lambda path: " ".join(path) or "b24sync")
def test_help_exits_0_and_shows_an_example(path):
    result = runner.invoke(app, [*path, "--help"], terminal_width=120)
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    description = result.output.split("╭")[0]  # the command's own text, above the option panels
    assert "Example" in description, f"'b24sync {' '.join(path)} --help' shows no example: add one to its *_HELP " \
                                       "message in b24sync/messages.py"


def test_shell_completion_is_offered_installed_and_completes_commands(monkeypatch, tmp_path):
    result = runner.invoke(app, ["--help"], terminal_width=120)
    assert "--install-completion" in result.output and "--show-completion" in result.output
    monkeypatch.setattr(typer.completion, "_get_shell_name", lambda: "bash")  # what shellingham detects in bash
    shown = runner.invoke(app, ["--show-completion"], prog_name="b24sync")
    assert shown.exit_code == 0 and "_B24SYNC_COMPLETE=complete_bash" in shown.output
    installed = runner.invoke(app, ["--install-completion"], prog_name="b24sync", env={"HOME": str(tmp_path)})
    assert installed.exit_code == 0, installed.output
    assert (tmp_path / ".bash_completions" / "b24sync.sh").is_file() and "b24sync.sh" in (
        tmp_path / ".bashrc").read_text()
    completed = runner.invoke(app, [], env={"_B24SYNC_COMPLETE": "complete_bash", "COMP_WORDS": "b24sync rec",
                                            "COMP_CWORD": "1"}, prog_name="b24sync")
    assert completed.exit_code == 0 and completed.output.split() == ["reconcile"]
    options = runner.invoke(app, [], env={"_B24SYNC_COMPLETE": "complete_bash",
                                          "COMP_WORDS": "b24sync reconcile --dry", "COMP_CWORD": "2"},
                            prog_name="b24sync")
    assert options.output.split() == ["--dry-run"]
