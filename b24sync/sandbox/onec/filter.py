"""``$filter`` as 1C's standard OData interface understands it: OData v3 grammar, 1C's function set.

The parser turns the expression into a small AST (tuples); :func:`compile_filter` type-checks it
once against the model with a probe record (a real base refuses a bad filter even on an empty
table) and returns a predicate over stored records. Deliberate 1C traits reproduced here:
only the functions of the vendor chapter (``tolower``, ``length``… are code 21, unknown names and
v4 syntax such as ``in``/``contains`` are code 14), a composite attribute compared with a bare
``guid'…'`` silently matches nothing (``cast`` is required), strings compare case-insensitively,
and Guid/DateTime properties only compare with ``guid'…'``/``datetime'…'`` literals.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .errors import ODataError, parse_error
from .filter_eval import Env, Shape, evaluate, probe_env

__all__ = ["Node", "compile_filter", "parse_filter"]

Node = tuple[Any, ...]

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<typed>(?:guid|datetime|datetimeoffset|time|X|binary)'[^']*')
      | (?P<str>'(?:[^']|'')*')
      | (?P<num>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[mMdDfFlL]?)(?![\w])
      | (?P<name>[^\W\d]\w*|\*)
      | (?P<punct>[(),/:])
      | (?P<bad>\S)
    )""",
    re.VERBOSE | re.UNICODE,
)
_COMPARE = {"eq", "ne", "gt", "ge", "lt", "le"}
_KEYWORDS = _COMPARE | {"and", "or", "not", "add", "sub", "mul", "div", "mod", "true", "false", "null"}
FUNCTIONS: dict[str, tuple[int, ...]] = {
    "substringof": (2,), "startswith": (2,), "endswith": (2,), "like": (2,), "substring": (2, 3), "concat": (2,),
    "year": (1,), "month": (1,), "day": (1,), "hour": (1,), "minute": (1,), "second": (1,), "quarter": (1,),
    "dayofweek": (1,), "dayofyear": (1,), "dateadd": (3,), "datedifference": (3,), "round": (1,), "cast": (2,),
    "isof": (2,),
}
UNIMPLEMENTED = {"length", "lenght", "indexof", "replace", "tolower", "toupper", "trim", "years", "days", "hours",
                 "minutes", "seconds", "floor", "ceiling"}


def not_implemented(what: str) -> ODataError:
    return ODataError(400, "21", f"Вызов нереализованной функции: {what}")


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            if text[pos:].strip() == "":
                break
            raise parse_error()
        pos = match.end()
        kind = match.lastgroup or "bad"
        if kind == "bad":
            raise parse_error()
        tokens.append((kind, match.group(kind)))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.pos = 0

    def peek(self, offset: int = 0) -> tuple[str, str]:
        index = self.pos + offset
        return self.tokens[index] if index < len(self.tokens) else ("end", "")

    def take(self) -> tuple[str, str]:
        token = self.peek()
        self.pos += 1
        return token

    def expect(self, value: str) -> None:
        if self.take()[1] != value:
            raise parse_error()

    def keyword(self, *words: str) -> str | None:
        kind, value = self.peek()
        if kind == "name" and value in words:
            self.pos += 1
            return value
        return None

    def parse(self) -> Node:
        node = self.or_expr()
        if self.peek()[0] != "end":
            raise parse_error()
        return node

    def or_expr(self) -> Node:
        node = self.and_expr()
        while self.keyword("or"):
            node = ("or", node, self.and_expr())
        return node

    def and_expr(self) -> Node:
        node = self.compare()
        while self.keyword("and"):
            node = ("and", node, self.compare())
        return node

    def compare(self) -> Node:
        node = self.additive()
        op = self.keyword(*_COMPARE)
        if op:
            node = ("cmp", op, node, self.additive())
        elif self.peek() == ("name", "in"):
            raise parse_error()  # OData v4 'in' operator
        return node

    def additive(self) -> Node:
        node = self.multiplicative()
        while op := self.keyword("add", "sub"):
            node = ("arith", op, node, self.multiplicative())
        return node

    def multiplicative(self) -> Node:
        node = self.unary()
        while op := self.keyword("mul", "div"):
            node = ("arith", op, node, self.unary())
        if self.peek() == ("name", "mod"):
            raise parse_error()
        return node

    def unary(self) -> Node:
        if self.keyword("not"):
            return ("not", self.unary())
        if self.peek() == ("bad", "-"):
            self.take()
            return ("neg", self.unary())
        return self.primary()

    def primary(self) -> Node:
        kind, value = self.take()
        if value == "(" and kind == "punct":
            node = self.or_expr()
            self.expect(")")
            return node
        if kind == "str":
            return ("lit", "string", value[1:-1].replace("''", "'"))
        if kind == "num":
            return ("lit", "number", _number(value))
        if kind == "typed":
            return _typed_literal(value)
        if kind != "name" or value == "*":
            raise parse_error()
        if value in ("true", "false"):
            return ("lit", "bool", value == "true")
        if value == "null":
            return ("lit", "null", None)
        if value in _KEYWORDS:
            raise parse_error()
        if self.peek() == ("punct", "("):
            return self.call(value)
        return self.path(value)

    def call(self, name: str) -> Node:
        self.expect("(")
        args: list[Node] = []
        if self.peek() != ("punct", ")"):
            args.append(self.or_expr())
            while self.peek() == ("punct", ","):
                self.take()
                args.append(self.or_expr())
        self.expect(")")
        if name in UNIMPLEMENTED:
            raise not_implemented(name)
        if name not in FUNCTIONS:
            raise parse_error()
        if len(args) not in FUNCTIONS[name]:
            raise not_implemented(f"{name}: неверное количество аргументов")
        node: Node = ("call", name, tuple(args))
        while self.peek() == ("punct", "/"):  # cast(...)/Реквизит
            self.take()
            node = ("nav", node, self._segment())
        return node

    def _segment(self) -> str:
        kind, value = self.take()
        if kind != "name" or value in _KEYWORDS:
            raise parse_error()
        return value

    def path(self, first: str) -> Node:
        node: Node = ("prop", first)
        while self.peek() == ("punct", "/"):
            self.take()
            segment = self._segment()
            if self.peek() == ("punct", "(") and segment in ("any", "all"):
                node = self.lambda_(node, segment)
            elif self.peek() == ("punct", "("):
                raise not_implemented(segment)
            else:
                node = ("nav", node, segment)
        return node

    def lambda_(self, collection: Node, kind: str) -> Node:
        self.expect("(")
        if self.peek() == ("punct", ")"):
            self.take()
            if kind == "all":
                raise not_implemented("all()")
            return ("lambda", kind, collection, "", None)
        var = self._segment()
        self.expect(":")
        body = self.or_expr()
        self.expect(")")
        return ("lambda", kind, collection, var, body)


def _number(text: str) -> float | int:
    text = text.rstrip("mMdDfFlL")
    return float(text) if any(c in text for c in ".eE") else int(text)


def _typed_literal(text: str) -> Node:
    prefix, _, rest = text.partition("'")
    value = rest[:-1]
    if prefix == "guid" and re.fullmatch(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}", value):
        return ("lit", "guid", value.lower())
    if prefix == "datetime" and re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?", value):
        return ("lit", "datetime", value if len(value) == 19 else value + ":00")
    raise parse_error()


def parse_filter(text: str) -> Node:
    """Parse a decoded ``$filter`` value; raises code 14 (syntax) or 21 (unimplemented function)."""
    if not text.strip():
        raise parse_error()
    return _Parser(text).parse()


def compile_filter(text: str, shape: Shape, store: Any) -> Callable[[dict[str, Any]], bool]:
    """A predicate over stored records of ``shape``; errors surface now, not per record."""
    tree = parse_filter(text)
    result = evaluate(tree, probe_env(shape, store))
    if result[0] not in ("bool", "null"):
        raise parse_error()

    def predicate(record: dict[str, Any]) -> bool:
        kind, value = evaluate(tree, Env(shape, record, store))
        return kind == "bool" and value is True

    return predicate
