"""Limits checked during validation, before anything executes: query cost, and no field
suggestions when introspection is off (they would leak the schema piece by piece); and the
parse of each operation text, once."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValidationRule,
    VariableNode,
    get_named_type,
)
from strawberry.extensions import ParserCache, SchemaExtension

from services.pagination import MAX_PAGE_SIZE

_DEFAULT_FIRST = 20
_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


def cost_rule(max_cost: int) -> type[ValidationRule]:
    """A rule refusing operations whose estimated cost exceeds `max_cost`. Each field costs 1;
    a field with a `first` argument multiplies the cost of what is selected below it, so
    nested connections multiply (a `first` given as a variable counts as the maximum)."""

    class CostLimit(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            schema = self.context.schema
            root = {OperationType.QUERY: schema.query_type,
                    OperationType.MUTATION: schema.mutation_type,
                    OperationType.SUBSCRIPTION: schema.subscription_type}[node.operation]
            cost = self._cost(node.selection_set, root, frozenset())
            if cost > max_cost:
                self.report_error(GraphQLError(
                    f"Query cost {cost} exceeds the limit of {max_cost}: ask for smaller "
                    "pages or less nesting.", node))

        def _cost(self, selections: SelectionSetNode | None, parent: GraphQLNamedType | None,
                  seen: frozenset[str]) -> int:
            if selections is None:
                return 0
            total = 0
            for selection in selections.selections:
                if isinstance(selection, FieldNode):
                    total += self._field_cost(selection, parent, seen)
                elif isinstance(selection, InlineFragmentNode):
                    condition = selection.type_condition
                    target = self.context.schema.get_type(condition.name.value) if condition \
                        else parent
                    total += self._cost(selection.selection_set, target, seen)
                elif isinstance(selection, FragmentSpreadNode):
                    name = selection.name.value
                    fragment = self.context.get_fragment(name)
                    if fragment is not None and name not in seen:
                        target = self.context.schema.get_type(fragment.type_condition.name.value)
                        total += self._cost(fragment.selection_set, target, seen | {name})
            return total

        def _field_cost(self, node: FieldNode, parent: GraphQLNamedType | None,
                        seen: frozenset[str]) -> int:
            fields = parent.fields if isinstance(
                parent, GraphQLObjectType | GraphQLInterfaceType) else {}
            definition = fields.get(node.name.value)
            if definition is None:
                return 1
            multiplier = 1
            if "first" in definition.args:
                multiplier = _first(node, definition.args["first"].default_value)
            child = get_named_type(definition.type)
            return 1 + multiplier * self._cost(node.selection_set, child, seen)

    return CostLimit


def _first(node: FieldNode, default: Any) -> int:
    for argument in node.arguments or ():
        if argument.name.value != "first":
            continue
        if isinstance(argument.value, IntValueNode):
            return max(1, int(argument.value.value))
        if isinstance(argument.value, VariableNode):
            return MAX_PAGE_SIZE
    return default if isinstance(default, int) and default > 0 else _DEFAULT_FIRST


class HideSuggestions(SchemaExtension):
    """Strips "Did you mean …?" from validation errors."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        for error in getattr(result, "errors", None) or []:
            error.message = _SUGGESTION.sub("", error.message)


class ParseOnce(ParserCache):
    """ParserCache that leaves a text it cannot parse (syntax, token limit) to Strawberry's own
    parse, which reports the error the usual way (through ErrorCodes); ParserCache would raise
    it from the parsing hook, past the error formatting."""

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        with contextlib.suppress(GraphQLError):
            context.graphql_document = self.cached_parse_document(context.query,
                                                                  **context.parse_options)
        yield
