"""The tag rule language: a small, safe expression language over accounts, parsed here into
a tree that `relational/repositories/tag_rules.py` compiles to parameterised SQL (never text
concatenated from the rule). README.md documents it; in short::

    region = "华东" and annualRevenue > 1000000
    interactions(channel: "咨询", days: 30) >= 5 and wonOpportunities(days: 365) = 0
    not (lifecycleStage = "CHURNED" or valueTier = "D")

Errors name the 1-based position of the offending token. Rules are bounded: at most
MAX_LENGTH characters, MAX_NODES comparisons and MAX_COUNTS counts, periods of 1–3650 days.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from services.errors import BadUserInput
from services.vocabulary import (
    LIFECYCLE_STAGES,
    REGIONS,
    TICKET_CATEGORIES,
    InteractionChannel,
    ValueTier,
)

MAX_LENGTH = 2000
MAX_NODES = 64
MAX_COUNTS = 8
MAX_DAYS = 3650

# Account attributes a rule may compare: name → (type, allowed values or None).
FIELDS: dict[str, tuple[str, tuple[str, ...] | None]] = {
    "region": ("string", REGIONS),
    "industry": ("string", None),
    "name": ("string", None),
    "lifecycleStage": ("string", LIFECYCLE_STAGES),
    "valueTier": ("string", tuple(tier.value for tier in ValueTier)),
    "annualRevenue": ("number", None),
    "tagCount": ("number", None),
}
# Counts over a period: name → {argument: (type, required)}.
COUNTS: dict[str, dict[str, tuple[str, bool]]] = {
    "interactions": {"channel": ("string", False), "days": ("number", True)},
    "wonOpportunities": {"days": ("number", True)},
    "orders": {"days": ("number", True)},
    "tickets": {"category": ("string", False), "days": ("number", True)},
}
OPERATORS = ("=", "!=", ">", ">=", "<", "<=")


class RuleError(BadUserInput):
    """A rule that does not parse or type-check; `position` is 1-based."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} at position {position}", field="expression")
        self.position = position


@dataclass(frozen=True)
class Literal:
    value: str | Decimal
    position: int


@dataclass(frozen=True)
class Field:
    name: str
    position: int


@dataclass(frozen=True)
class Count:
    function: str
    arguments: dict[str, str | Decimal]
    position: int


@dataclass(frozen=True)
class Compare:
    operator: str
    left: Field | Count
    right: Literal
    position: int


@dataclass(frozen=True)
class Logical:
    operator: str  # and | or | not
    operands: tuple[Node, ...]


Node = Compare | Logical

_TOKEN = re.compile(r"""\s*(?:(?P<number>\d+(?:\.\d+)?)|"(?P<string>(?:[^"\\]|\\.)*)"
                      |(?P<op>>=|<=|!=|[=<>(),:])|(?P<word>[A-Za-z_][A-Za-z0-9_]*))""", re.X)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    position: int


def tokenize(source: str) -> list[Token]:
    tokens: list[Token] = []
    index = 0
    while index < len(source):
        if source[index:].strip() == "":
            break
        match = _TOKEN.match(source, index)
        if match is None or match.end() == index:
            start = index + len(source[index:]) - len(source[index:].lstrip())
            raise RuleError(f"unexpected character `{source[start]}`", start + 1)
        kind = match.lastgroup or "op"
        value = match.group(kind)
        position = match.start(kind) + (0 if kind != "string" else -1) + 1
        if kind == "string":
            value = re.sub(r"\\(.)", r"\1", value)
        tokens.append(Token(kind, value, position))
        index = match.end()
    tokens.append(Token("end", "", len(source) + 1))
    return tokens


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens, self.index, self.nodes, self.counts = tokens, 0, 0, 0

    @property
    def peek(self) -> Token:
        return self.tokens[self.index]

    def take(self, kind: str, text: str | None = None) -> Token:
        token = self.peek
        if token.kind != kind or (text is not None and token.text.lower() != text):
            wanted = f"`{text}`" if text else kind
            found = f"`{token.text}`" if token.kind != "end" else "the end"
            raise RuleError(f"expected {wanted}, found {found}", token.position)
        self.index += 1
        return token

    def keyword(self, word: str) -> bool:
        if self.peek.kind == "word" and self.peek.text.lower() == word:
            self.index += 1
            return True
        return False

    def expression(self) -> Node:
        operands = [self.conjunction()]
        while self.keyword("or"):
            operands.append(self.conjunction())
        return operands[0] if len(operands) == 1 else Logical("or", tuple(operands))

    def conjunction(self) -> Node:
        operands = [self.negation()]
        while self.keyword("and"):
            operands.append(self.negation())
        return operands[0] if len(operands) == 1 else Logical("and", tuple(operands))

    def negation(self) -> Node:
        if self.keyword("not"):
            return Logical("not", (self.negation(),))
        if self.peek.kind == "op" and self.peek.text == "(":
            self.take("op", "(")
            inner = self.expression()
            self.take("op", ")")
            return inner
        return self.comparison()

    def comparison(self) -> Compare:
        left = self.operand()
        token = self.peek
        if token.kind != "op" or token.text not in OPERATORS:
            raise RuleError("expected a comparison (=, !=, >, >=, <, <=)", token.position)
        self.index += 1
        right = self.literal()
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise RuleError(f"more than {MAX_NODES} comparisons", token.position)
        return _checked(Compare(token.text, left, right, token.position))

    def operand(self) -> Field | Count:
        token = self.take("word")
        if self.peek.kind == "op" and self.peek.text == "(":
            return self.count(token)
        if token.text not in FIELDS:
            raise RuleError(f"unknown field `{token.text}`", token.position)
        return Field(token.text, token.position)

    def count(self, name: Token) -> Count:
        if name.text not in COUNTS:
            raise RuleError(f"unknown function `{name.text}`", name.position)
        self.counts += 1
        if self.counts > MAX_COUNTS:
            raise RuleError(f"more than {MAX_COUNTS} counts", name.position)
        self.take("op", "(")
        spec = COUNTS[name.text]
        given: dict[str, str | Decimal] = {}
        while not (self.peek.kind == "op" and self.peek.text == ")"):
            if given:
                self.take("op", ",")
            key = self.take("word")
            if key.text not in spec or key.text in given:
                raise RuleError(f"`{name.text}` has no argument `{key.text}`"
                                if key.text not in spec else f"`{key.text}` given twice",
                                key.position)
            self.take("op", ":")
            value = self.literal()
            given[key.text] = _argument(name.text, key.text, spec[key.text][0], value)
        closing = self.take("op", ")")
        for argument, (_, required) in spec.items():
            if required and argument not in given:
                raise RuleError(f"`{name.text}` needs `{argument}`", closing.position)
        return Count(name.text, given, name.position)

    def literal(self) -> Literal:
        token = self.peek
        if token.kind == "string":
            self.index += 1
            return Literal(token.text, token.position)
        if token.kind == "number":
            self.index += 1
            try:
                return Literal(Decimal(token.text), token.position)
            except InvalidOperation as error:  # pragma: no cover - the pattern is a number
                raise RuleError("not a number", token.position) from error
        raise RuleError("expected a string or a number", token.position)


def _argument(function: str, key: str, kind: str, value: Literal) -> str | Decimal:
    if kind == "number":
        if not isinstance(value.value, Decimal) or value.value != int(value.value) or \
                not 1 <= value.value <= MAX_DAYS:
            raise RuleError(f"`{key}` must be a whole number of days, 1 to {MAX_DAYS}",
                            value.position)
        return value.value
    if not isinstance(value.value, str):
        raise RuleError(f"`{key}` must be a string", value.position)
    if function == "interactions":
        try:  # by value (CONSULTATION) or by its Chinese label (咨询)
            return InteractionChannel.named(value.value).value
        except ValueError:
            raise RuleError(f"unknown channel `{value.value}`", value.position) from None
    if value.value not in TICKET_CATEGORIES:
        raise RuleError(f"unknown ticket category `{value.value}`", value.position)
    return value.value


def _checked(compare: Compare) -> Compare:
    kind = "number" if isinstance(compare.left, Count) else FIELDS[compare.left.name][0]
    right = compare.right
    if kind == "number" and not isinstance(right.value, Decimal):
        raise RuleError("expected a number", right.position)
    if kind == "string":
        if not isinstance(right.value, str):
            raise RuleError("expected a string", right.position)
        if compare.operator not in ("=", "!="):
            raise RuleError("strings compare with = or != only", compare.position)
        assert isinstance(compare.left, Field)  # noqa: S101 - counts are numbers
        allowed = FIELDS[compare.left.name][1]
        if allowed is not None and right.value not in allowed:
            raise RuleError(f"`{compare.left.name}` is one of {', '.join(allowed)}",
                            right.position)
    return compare


def parse(source: str) -> Node:
    """The rule's tree; RuleError (BAD_USER_INPUT on `expression`) if it is not one."""
    if len(source) > MAX_LENGTH:
        raise RuleError(f"longer than {MAX_LENGTH} characters", MAX_LENGTH + 1)
    parser = _Parser(tokenize(source))
    tree = parser.expression()
    parser.take("end")
    return tree


def counts_used(node: Node) -> set[str]:
    if isinstance(node, Compare):
        return {node.left.function} if isinstance(node.left, Count) else set()
    return set().union(*(counts_used(operand) for operand in node.operands))
