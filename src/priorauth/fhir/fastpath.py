"""Closures built from fhirpathpy's own parse tree for a small FHIRPath subset.

fhirpathpy's interpreter walks the parse tree on every call (dispatch tables, a ``ResourceNode`` per
value, parameters re-evaluated through ``make_param``), which costs ~0.1 ms even for ``birthDate``.
Here the tree that ``fhirpathpy.parser.parse`` returns is compiled once into nested Python closures,
so the FHIRPath text stays the single source of truth and no FHIRPath is parsed by hand.

Supported: member navigation (lists flattened like FHIRPath collections, primitive ``_element``
siblings, FHIR choice types from the model's ``choiceTypePaths``), ``where(criteria)``,
``exists([criteria])``, ``empty()``, ``first()``, ``startsWith``/``endsWith`` with a string literal
or ``%constant`` argument, ``=``, ``!=``, ``and``, ``or``, union ``|``, parentheses, string literals and
``%name`` constants. Anything else raises :class:`Unsupported` at compile time.

Every construct mirrors what fhirpathpy 2.x does, quirks included (``=`` compares only the first items
of equally long collections, a union forgets the element types, the result is exported through the
same ``visit`` as ``fhirpathpy.apply_parsed_path``), and raises where fhirpathpy raises. The rare
values whose semantics hinge on fhirpathpy's own types (Quantity equality, FP_* constants) are handed
to fhirpathpy's function for that operation. ``tests/fhir/test_fastpath.py`` holds both equal.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from fhirpathpy.engine import util as fp_util
from fhirpathpy.engine.evaluators import identifier as fp_identifier
from fhirpathpy.engine.evaluators import string_literal as fp_string_literal
from fhirpathpy.engine.invocations import equality as fp_equality
from fhirpathpy.engine.invocations import existence as fp_existence
from fhirpathpy.engine.invocations import logic as fp_logic
from fhirpathpy.engine.nodes import FP_Quantity, FP_Type, ResourceNode
from fhirpathpy.parser import parse as fp_parse

__all__ = ["Compiled", "EvaluationError", "Unsupported", "compile_expression"]

Compiled = Callable[[Any, Mapping[str, Any]], list[Any]]
# (focus collection, environment, the resource the expression was called on) -> collection
_Fn = Callable[[list[Any], Mapping[str, Any], Any], list[Any]]

_UCUM = "http://unitsofmeasure.org"
# Types a parsed JSON document is made of; anything else came from the environment and is left to fhirpathpy.
_JSON_TYPES = frozenset({str, int, float, bool, dict, list, type(None)})
# fhirpathpy reads a node whose type name is Quantity as a UCUM quantity before comparing it.
_QUANTITY_PATHS = frozenset({"Quantity", "System.Quantity"})
# fhirpathpy's own helpers, reused so that text handling, deduplication and logic match it exactly
# (fhirpathpy leaves them unannotated; these names give them types).
_parse: Callable[[str], dict[str, Any]] = fp_parse
_identifier: Callable[[Any, Any, Mapping[str, Any]], list[str]] = fp_identifier
_string_literal: Callable[[Any, Any, Mapping[str, Any]], list[str]] = fp_string_literal
_is_capitalized: Callable[[str], bool] = fp_util.is_capitalized
_flatten: Callable[[list[Any]], list[Any]] = fp_util.flatten
_uniq: Callable[[list[Any]], list[Any]] = fp_util.uniq
_arraify_value: Callable[[Any], list[Any]] = fp_util.arraify
_distinct: Callable[[Any, list[Any]], list[Any]] = fp_existence.distinct_fn
_equal: Callable[[Any, list[Any], list[Any]], list[Any]] = fp_equality.equal
_unequal: Callable[[Any, list[Any], list[Any]], list[Any]] = fp_equality.unequal
_or: Callable[[Any, Any, Any], Any] = fp_logic.or_op
_and: Callable[[Any, Any, Any], Any] = fp_logic.and_op
_resource_node: Callable[[Any, Any], Any] = ResourceNode
# Bounds each navigation step's per-type cache: resource types come from input, so they are not a closed set.
_CACHE_LIMIT = 512


class Unsupported(Exception):  # noqa: N818 - the name callers catch, as briefed
    """The expression uses FHIRPath outside the subset this module compiles (use fhirpathpy's evaluator)."""


class EvaluationError(Exception):
    """Evaluation failed where fhirpathpy's evaluator fails too (e.g. ``endsWith`` on several strings)."""


class _Node:
    """An element reached by navigation, with its FHIR type path (what fhirpathpy's ResourceNode holds)."""

    # No __repr__/__str__ on purpose: a union of nodes and plain values keys nodes on str(), which must
    # stay unique per object as it is for ResourceNode.
    __slots__ = ("data", "path")

    def __init__(self, data: Any, path: Any) -> None:
        # As ResourceNode: a (contained) resource is typed by its own resourceType.
        kind = type(data)
        if (kind is dict or (kind is not str and isinstance(data, Mapping))) and "resourceType" in data:
            path = data["resourceType"]
        self.data = data
        self.path = path


def _data(item: Any) -> Any:
    """fhirpathpy's ``util.get_data``: the value of a node, floats as Decimal."""
    value = item.data if type(item) is _Node else item
    return Decimal(str(value)) if isinstance(value, float) else value


def _arraify(item: Any) -> list[Any]:
    """fhirpathpy's ``util.arraify`` for one collection item (a raw list is a collection already)."""
    if type(item) is _Node:
        return [item]
    if isinstance(item, list):
        return item
    return [] if item is None else [item]


def _to_fhirpathpy(items: list[Any]) -> list[Any]:
    return [_resource_node(i.data, i.path) if type(i) is _Node else i for i in items]


def _plain(item: Any) -> bool:
    """Whether ``=`` on this item is plain Python equality of JSON data in fhirpathpy too."""
    if type(item) is _Node:
        path = item.path
        return (path is None or (type(path) is str and path not in _QUANTITY_PATHS)) and type(item.data) in _JSON_TYPES
    return type(item) in _JSON_TYPES


def _visit(item: Any) -> Any:
    """One result item exported as ``fhirpathpy.apply_parsed_path``'s ``visit`` does."""
    if type(item) is _Node:
        value = item.data
        if type(value) is str:
            return value
        is_list = False
    else:
        value = item
        is_list = isinstance(item, list)
    if isinstance(value, float):
        value = Decimal(str(value))
    if is_list:
        return [v for v in map(_visit, value) if not _extension_only(v)]
    if isinstance(value, dict) and not isinstance(value, FP_Type):
        return {key: _visit(v) for key, v in value.items()}
    return value


def _extension_only(value: Any) -> bool:
    # fhirpathpy drops these from results: they stand for the `_element` of a primitive.
    return isinstance(value, dict) and list(value.keys()) == ["extension"]


def _export(items: list[Any]) -> list[Any]:
    return [v for v in map(_visit, items) if not _extension_only(v)]


# How a member is read below one element type: (choice fields as (field, _field, type path) in model
# order, or None; the same keyed by field and _field name with their rank; type path of a plain field;
# type path when the parent is a Quantity object).
_Choice = tuple[str, str, Any]
_ChildInfo = tuple[tuple[_Choice, ...] | None, dict[Any, tuple[int, _Choice]], Any, Any]


def _child_info(model: Mapping[str, Any] | None, parent: Any, key: str) -> _ChildInfo:
    """How ``key`` is read below an element of type ``parent``, as in fhirpathpy's member invocation."""
    child = f"{parent}.{key}" if parent else f"_.{key}"
    types = None
    if model is not None:
        child = model["pathsDefinedElsewhere"].get(child, child)
        types = model["choiceTypePaths"].get(child)
    to_type: dict[str, Any] = model["path2Type"] if model is not None and "path2Type" in model else {}
    plain = "Extension" if key == "extension" else child
    choices = None
    ranked: dict[Any, tuple[int, _Choice]] = {}
    if types:
        choices = tuple((f"{key}{t}", f"_{key}{t}", to_type.get(child + t, child + t)) for t in types)
        for rank, choice in enumerate(choices):
            ranked[choice[0]] = ranked[choice[1]] = (rank, choice)
    return choices, ranked, to_type.get(plain, plain), to_type.get(child, child)


def _choose(data: Mapping[Any, Any], choices: tuple[_Choice, ...], ranked: dict[Any, tuple[int, _Choice]]) -> Any:
    """The first choice (model order) whose field or _field is present and not null, else None."""
    if type(data) is dict:
        # A resource element has a handful of keys and value[x] has ~50 types: scan the keys instead.
        best: tuple[int, _Choice] | None = None
        for name, value in data.items():
            if value is not None:
                hit = ranked.get(name)
                if hit is not None and (best is None or hit[0] < best[0]):
                    best = hit
        return best[1] if best is not None else None
    for choice in choices:
        if data.get(choice[0]) is not None or data.get(choice[1]) is not None:
            return choice
    return None


def _member(key: str, model: Mapping[str, Any] | None) -> _Fn:
    underscored = f"_{key}"
    cache: dict[Any, _ChildInfo] = {}

    def info(parent: Any) -> _ChildInfo:
        found = _child_info(model, parent, key)
        try:
            if len(cache) < _CACHE_LIMIT:
                cache[parent] = found
        except TypeError:  # an unhashable resourceType in malformed input
            pass
        return found

    def navigate(focus: list[Any], env: Mapping[str, Any], resource: Any) -> list[Any]:
        out: list[Any] = []
        for item in focus:
            if type(item) is _Node:
                data, parent = item.data, item.path
            else:
                data, parent = item, _Node(item, None).path
            try:
                choices, ranked, plain_path, quantity_path = cache[parent]
            except (KeyError, TypeError):
                choices, ranked, plain_path, quantity_path = info(parent)
            if type(data) is dict or isinstance(data, Mapping):
                if choices:
                    choice = _choose(data, choices, ranked)
                    if choice is None:
                        continue
                    value, extra, path = data.get(choice[0]), data.get(choice[1]), choice[2]
                else:
                    value, extra, path = data.get(key), data.get(underscored), plain_path
            elif isinstance(data, FP_Quantity):
                value, extra, path = data.value, None, quantity_path
            else:
                continue
            # fhirpathpy adds the value, then its `_key` sibling, each only when "some" (not None, not []).
            if value is not None:
                if isinstance(value, list):
                    for x in value:
                        out.append(_Node(x, path))
                else:
                    out.append(_Node(value, path))
            if extra is not None:
                if isinstance(extra, list):
                    out.extend(_Node(x, path) for x in extra)
                else:
                    out.append(_Node(extra, path))
        return out

    return navigate


def _chain(first: _Fn, rest: list[_Fn]) -> _Fn:
    if len(rest) == 1:
        (second,) = rest

        def pair(focus: list[Any], env: Mapping[str, Any], resource: Any) -> list[Any]:
            return second(first(focus, env, resource), env, resource)

        return pair

    def chain(focus: list[Any], env: Mapping[str, Any], resource: Any) -> list[Any]:
        result = first(focus, env, resource)
        for step in rest:
            result = step(result, env, resource)
        return result

    return chain


def _where(criteria: _Fn) -> _Fn:
    def where(focus: list[Any], env: Mapping[str, Any], resource: Any) -> list[Any]:
        out = []
        for item in focus:
            result = criteria(_arraify(item), env, resource)
            # fhirpathpy keeps the item when the first result is truthy (a node always is).
            if result and result[0]:
                out.append(item)
        if any(isinstance(i, list) for i in out):
            return _flatten(out)
        return out

    return where


def _exists(criteria: _Fn | None) -> _Fn:
    where = _where(criteria) if criteria is not None else None

    def exists(focus: list[Any], env: Mapping[str, Any], resource: Any) -> list[Any]:
        return [bool(where(focus, env, resource) if where is not None else focus)]

    return exists


def _empty(focus: list[Any], env: Mapping[str, Any], resource: Any) -> list[Any]:
    return [not focus]


def _first(focus: list[Any], env: Mapping[str, Any], resource: Any) -> list[Any]:
    return _arraify(focus[0]) if focus else []


def _affix(argument: _Fn | str, test: Callable[[str, str], bool]) -> _Fn:
    """``startsWith``/``endsWith`` (fhirpathpy's ``strings.starts_with``/``ends_with`` and parameter checks).

    ``argument`` is the string literal itself, or the closure of a ``%constant``.
    """

    def affix(focus: list[Any], env: Mapping[str, Any], resource: Any) -> list[Any]:
        if not focus:
            return []
        if isinstance(argument, str):
            fix = argument
        else:
            arg = argument(focus, env, resource)
            if len(arg) > 1:
                raise EvaluationError("Unexpected collection; expected singleton of type String")
            if not arg:
                return []
            fix = _data(arg[0])
            if not isinstance(fix, str):
                raise EvaluationError(f"Expected string, got: {fix!r}")
        value = _data(focus[0]) if len(focus) == 1 else None
        if not isinstance(value, str):
            raise EvaluationError(f"Expected string, but got {[_raw(i) for i in focus]!r}")
        return [bool(value) and test(value, fix)]

    return affix


def _equality(left: _Fn, right: _Fn, negate: bool) -> _Fn:
    def equal(focus: list[Any], env: Mapping[str, Any], resource: Any) -> list[Any]:
        a = left(focus, env, resource)
        b = right(focus, env, resource)
        if not a or not b:
            return []
        if _plain(a[0]) and _plain(b[0]):
            # fhirpathpy compares only the first items, once the lengths agree.
            same = len(a) == len(b) and _raw(a[0]) == _raw(b[0])
            return [not same if negate else same]
        return (_unequal if negate else _equal)({}, _to_fhirpathpy(a), _to_fhirpathpy(b))

    return equal


def _raw(item: Any) -> Any:
    return item.data if type(item) is _Node else item


def _boolean(items: list[Any]) -> Any:
    """An ``and``/``or`` operand as fhirpathpy's ``make_param`` checks it: [] or one boolean."""
    if not items:
        return []
    if len(items) > 1:
        raise EvaluationError("Unexpected collection; expected singleton of type Boolean")
    value = _data(items[0])
    if value is True or value is False:
        return value
    raise EvaluationError(f"Expected boolean, got: {value!r}")


def _logic(left: _Fn, right: _Fn, op: Callable[[Any, Any, Any], Any]) -> _Fn:
    def logic(focus: list[Any], env: Mapping[str, Any], resource: Any) -> list[Any]:
        a = _boolean(left(focus, env, resource))
        b = _boolean(right(focus, env, resource))
        return _arraify_value(op({}, a, b))

    return logic


def _union(left: _Fn, right: _Fn) -> _Fn:
    def union(focus: list[Any], env: Mapping[str, Any], resource: Any) -> list[Any]:
        items = left(focus, env, resource) + right(focus, env, resource)
        # fhirpathpy's distinct_fn: elements are deduplicated on their JSON and lose their type.
        if all(type(i) is _Node for i in items):
            values = [i.data for i in items]
            # dict.fromkeys is what keying on json.dumps amounts to for strings, without the cost.
            unique = list(dict.fromkeys(values)) if all(type(v) is str for v in values) else _uniq(values)
            return [_Node(v, None) for v in unique]
        if all(isinstance(i, FP_Quantity) for i in items):
            return _distinct({}, items)
        return _uniq(items)

    return union


def _string(value: str) -> _Fn:
    def literal(focus: list[Any], env: Mapping[str, Any], resource: Any) -> list[Any]:
        return [value]

    return literal


def _constant(name: str) -> _Fn:
    def constant(focus: list[Any], env: Mapping[str, Any], resource: Any) -> list[Any]:
        # fhirpathpy's variables: %context and %ucum unless the environment overrides them.
        if name in env:
            value = env[name]
        elif name == "context":
            value = resource
        elif name == "ucum":
            value = _UCUM
        else:
            raise ValueError(f"Attempting to access an undefined environment variable: {name}")
        if value is None:
            return []
        return list(value) if isinstance(value, list) else [value]

    return constant


class _Compiler:
    def __init__(self, model: Mapping[str, Any] | None) -> None:
        self.model = model

    def compile(self, node: Mapping[str, Any]) -> _Fn:
        kind = node.get("type")
        children: list[Mapping[str, Any]] = node.get("children") or []
        if kind in ("TermExpression", "InvocationTerm", "ParenthesizedTerm"):
            return self.compile(children[0])
        if kind == "InvocationExpression":
            return _chain(self.compile(children[0]), [self.compile(c) for c in children[1:]])
        if kind == "MemberInvocation":
            return self.member(children[0])
        if kind == "FunctionInvocation":
            return self.function(children[0])
        if kind == "LiteralTerm" and children and children[0].get("type") == "StringLiteral":
            return _string(_string_literal(None, None, children[0])[0])
        if kind == "ExternalConstantTerm":
            name_node = ((children[0].get("children") if children else None) or [{}])[0]
            if name_node.get("type") != "Identifier":
                raise Unsupported(f"external constant {node.get('text')!r}")
            return _constant(_identifier(None, None, name_node)[0].replace("`", ""))
        op = (node.get("terminalNodeText") or [None])[0]
        if kind == "EqualityExpression" and op in ("=", "!="):
            return _equality(self.compile(children[0]), self.compile(children[1]), negate=op == "!=")
        if kind == "OrExpression" and op == "or":
            return _logic(self.compile(children[0]), self.compile(children[1]), _or)
        if kind == "AndExpression" and op == "and":
            return _logic(self.compile(children[0]), self.compile(children[1]), _and)
        if kind == "UnionExpression":
            return _union(self.compile(children[0]), self.compile(children[1]))
        raise Unsupported(f"{kind} {op!r} in {node.get('text')!r}")

    def member(self, identifier: Mapping[str, Any]) -> _Fn:
        key: str = _identifier(None, None, identifier)[0].replace("`", "")
        if not key or _is_capitalized(key):
            # fhirpathpy treats it as a resource type filter on raw resources (`Patient.birthDate`).
            raise Unsupported(f"type-name navigation {key!r}")
        if key == "length":
            raise Unsupported("member 'length' (fhirpathpy reads it as the length of a string)")
        return _member(key, self.model)

    def function(self, functn: Mapping[str, Any]) -> _Fn:
        children: list[Mapping[str, Any]] = functn.get("children") or []
        name = _identifier(None, None, children[0])[0]
        params: list[Mapping[str, Any]] = list(children[1].get("children") or []) if len(children) > 1 else []
        arity = len(params)
        if name == "where" and arity == 1:
            return _where(self.compile(params[0]))
        if name == "exists" and arity <= 1:
            return _exists(self.compile(params[0]) if params else None)
        if name == "empty" and arity == 0:
            return _empty
        if name == "first" and arity == 0:
            return _first
        if name in ("startsWith", "endsWith") and arity == 1:
            test = str.startswith if name == "startsWith" else str.endswith
            return _affix(self.constant_argument(params[0]), test)
        raise Unsupported(f"function {name}() with {arity} argument(s)")

    def constant_argument(self, param: Mapping[str, Any]) -> _Fn | str:
        """A string literal argument's value, or the closure of a ``%constant`` argument."""
        # fhirpathpy evaluates function arguments against $this, not the focus; only arguments that do
        # not depend on either are compiled, so that difference never shows.
        inner = (param.get("children") or [{}])[0] if param.get("type") == "TermExpression" else {}
        literal = (inner.get("children") or [{}])[0] if inner.get("type") == "LiteralTerm" else {}
        if literal.get("type") == "StringLiteral":
            return _string_literal(None, None, literal)[0]
        if inner.get("type") != "ExternalConstantTerm":
            raise Unsupported(f"argument {param.get('text')!r} (only a string literal or %constant)")
        return self.compile(param)


def compile_expression(expression: str, model: Mapping[str, Any] | None = None) -> Compiled:
    """Compile FHIRPath text into a ``(resource, env) -> list`` equal to ``fhirpathpy.compile(expression, model)``.

    The text is parsed by fhirpathpy's parser; raises :class:`Unsupported` when the parse tree uses
    anything outside this module's subset, and fhirpathpy's own error for invalid FHIRPath.
    """
    tree = _parse(expression)
    # fhirpathpy ignores a model that is not a dict (it checks isinstance(model, dict) at each step).
    body = _Compiler(model if isinstance(model, dict) else None).compile(tree["children"][0])

    def evaluate(resource: Any, env: Mapping[str, Any] | None = None) -> list[Any]:
        # fhirpathpy's dataRoot: a list is the collection itself, None is empty.
        focus = resource if isinstance(resource, list) else ([] if resource is None else [resource])
        return _export(body(focus, env or {}, resource))

    return evaluate
