"""The ``batch`` method: up to 50 sub-calls in one HTTP request, with result substitution.

Reproduces ``CRestProvider::methodsBatch`` and ``CRestUtil::ParseBatchQuery``, including the
parts clients trip over: ``halt`` is a PHP ``(bool)`` cast (the string ``"false"`` halts), the
51st command onwards is answered with an error instead of being run, sections that stayed empty
are JSON ``[]`` rather than ``{}``, and a ``$result[...]`` reference whose path does not exist
silently resolves to the deepest value that does.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

from .dispatch import CallOutcome
from .phpparams import parse_str, php_bool, php_key
from .render import error_body, php_array

__all__ = ["BATCH_MAX_LENGTH", "BatchRun", "resolve_reference", "run_batch", "substitute"]

BATCH_MAX_LENGTH = 50
NOT_ALLOWED_IN_BATCH = frozenset({"batch", "download", "upload"})
LENGTH_EXCEEDED = ("ERROR_BATCH_LENGTH_EXCEEDED", "Max batch length exceeded")
METHOD_NOT_ALLOWED = ("ERROR_BATCH_METHOD_NOT_ALLOWED", "Method is not allowed for batch usage")

_REFERENCE = re.compile(r"\$(result|next|total|time|error)(\S*)", re.IGNORECASE)
_SEGMENT = re.compile(r"\[([^\]]+)\]")
_MISSING = object()

SubCall = Callable[[str, dict[str, Any]], CallOutcome]


def _step(node: Any, segment: str) -> Any:
    """PHP ``isset($node[$segment]) ? $node[$segment] : <missing>`` (null counts as missing)."""
    key = php_key(segment)
    value: Any = _MISSING
    if isinstance(node, dict):
        for candidate in (key, segment, str(key)):
            if candidate in node:
                value = node[candidate]
                break
    elif isinstance(node, list):
        if isinstance(key, int) and 0 <= key < len(node):
            value = node[key]
    elif isinstance(node, str) and isinstance(key, int) and -len(node) <= key < len(node):
        value = node[key]
    return _MISSING if value is None else value


def resolve_reference(sections: dict[str, Any], name: str, path: str) -> Any:
    """Walk ``[a][b]…`` from section ``name``, stopping at the first missing key (deepest value wins)."""
    node = sections.get(name)  # the portal looks the section up case-sensitively
    for segment in _SEGMENT.findall(path):
        value = _step(node, segment)
        if value is _MISSING:
            break
        node = value
    return node


def _php_string(value: Any) -> str | None:
    """The string an embedded reference is replaced with, or ``None`` to leave it as written."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, str):
        return value
    return None  # arrays cannot be embedded in a string


def _substitute_value(value: str, sections: dict[str, Any]) -> Any:
    result: Any = value
    for match in _REFERENCE.finditer(value):
        if not _SEGMENT.search(match.group(2)):
            continue
        resolved = resolve_reference(sections, match.group(1), match.group(2))
        if match.group(0) == value:
            # the whole value is a reference: the raw, typed value (copied: PHP arrays are values)
            return copy.deepcopy(resolved)
        text = _php_string(resolved)
        if text is not None and isinstance(result, str):
            result = result.replace(match.group(0), text)
    return result


def substitute(params: Any, sections: dict[str, Any]) -> Any:
    """Apply ``$result[...]``-style references to every key and value of a sub-call's parameters.

    Keys only take string replacements (a key cannot hold an array). Note that a reference inside a
    bracketed key cannot survive ``parse_str`` (an index ends at the first ``]``), so in practice only
    values carry references; keys are handled because the portal runs the same code over them.
    """
    if isinstance(params, dict):
        out: dict[str, Any] = {}
        for key, value in params.items():
            new_key = _substitute_value(key, sections) if "$" in key else key
            if not isinstance(new_key, str):
                new_key = _php_string(new_key) or key
            out[new_key] = substitute(value, sections)
        return out
    if isinstance(params, list):
        return [substitute(item, sections) for item in params]
    if isinstance(params, str) and "$" in params:
        return _substitute_value(params, sections)
    return params


def _split_command(command: str) -> tuple[str, str]:
    """``parse_url``'s path and query of ``"method?query#fragment"``."""
    command = command.split("#", 1)[0]
    method, _, query = command.partition("?")
    return method, query


class BatchRun:
    """The outcome of one batch: the ``result`` payload and the methods that were dispatched."""

    def __init__(self) -> None:
        self.sections: dict[str, dict[Any, Any]] = {
            "result": {},
            "next": {},
            "total": {},
            "time": {},
            "error": {},
        }
        self.dispatched: list[str] = []  # methods that actually ran, in order
        self.refused: list[str] = []  # methods the operating-time limit refused (429), in order

    def payload(self) -> dict[str, Any]:
        s = self.sections
        return {
            "result": php_array(s["result"]),
            "result_error": php_array(s["error"]),
            "result_total": php_array(s["total"]),
            "result_next": php_array(s["next"]),
            "result_time": php_array(s["time"]),
        }


def _commands(params: dict[str, Any]) -> tuple[list[tuple[Any, Any]], bool]:
    upper: dict[str, Any] = {}
    for key, value in params.items():
        upper[str(key).upper()] = value  # array_change_key_case: a later spelling wins
    halt = php_bool(upper.get("HALT"))
    cmd = upper.get("CMD")
    if isinstance(cmd, list):
        return list(enumerate(cmd)), halt
    if isinstance(cmd, dict):
        return [(php_key(k), v) for k, v in cmd.items()], halt
    return [], halt


def command_methods(params: dict[str, Any]) -> list[str]:
    """Lower-case methods named by a batch's commands (for fault matching), without running anything."""
    return [_split_command(c)[0].lower() for _, c in _commands(params)[0] if isinstance(c, str)]


def run_batch(params: dict[str, Any], call: SubCall, time_of: Callable[[CallOutcome], dict]) -> BatchRun:
    """Execute a batch's commands in order through ``call``; ``time_of`` renders a sub-call's time."""
    run = BatchRun()
    sections = run.sections
    commands, halt = _commands(params)
    for position, (key, command) in enumerate(commands):
        if position >= BATCH_MAX_LENGTH:
            error: dict[str, Any] | None = error_body(*LENGTH_EXCEEDED)
        elif not isinstance(command, str):
            continue  # the portal skips non-string commands silently
        else:
            method, query = _split_command(command)
            method = method.lower()
            if method in NOT_ALLOWED_IN_BATCH:
                error = error_body(*METHOD_NOT_ALLOWED)
            else:
                sub_params = substitute(parse_str(query), sections) if query else {}
                outcome = call(method, sub_params)
                if outcome.executed:
                    run.dispatched.append(method)
                elif outcome.status == 429:
                    run.refused.append(method)
                error = outcome.error
                if error is None and outcome.result is not None:
                    sections["result"][key] = outcome.result.result
                    if outcome.result.next is not None:
                        sections["next"][key] = int(outcome.result.next)
                    if outcome.result.total is not None:
                        sections["total"][key] = int(outcome.result.total)
                    sections["time"][key] = time_of(outcome)
        if error is not None:
            sections["error"][key] = error
            if halt:  # the stored error is a non-empty array, so even a "" code halts
                break
    return run
