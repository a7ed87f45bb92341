"""The issue's measures, counted from the source: short signatures, verbs compared only where the plan
decides, ``run.finished`` written in one place, one back-off.

Each check is a function over a module's source, so the planted offenders below prove it sees what it
forbids (a check that finds nothing because it looks at nothing would pass silently otherwise).
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "migrator"
MAX_PARAMETERS = 6
VERB_NAMES = frozenset({"command", "action"})
DECIDES = "core/plan.py"  # the one place a verb's name is compared (STYLE.md, habit 17)
FINISHES = "core/run.py"  # the only writer of how a run ended
FINISHED = "run.finished"
RETRIES = "core/retry.py"  # THE back-off
# online.py's public helpers are called from users' revision files with Alembic's own parameters
# (add_foreign_key mirrors op.create_foreign_key, create_index_concurrently op.create_index, backfill
# has taken its tuning positionally since it was published): fewer parameters would break those calls.
PUBLIC_API = ("online.py", frozenset({"add_foreign_key", "backfill", "create_index_concurrently"}))


def modules() -> dict[str, str]:
    """Every module of the package by its path under migrator/, e.g. ``core/plan.py``."""
    return {path.relative_to(PACKAGE).as_posix(): path.read_text(encoding="utf-8") for path in PACKAGE.rglob("*.py")}


def _walk(source: str) -> list[ast.AST]:
    """Every node of the module, in the order of the source."""
    nodes = list(ast.walk(ast.parse(source)))
    return sorted(nodes, key=lambda node: (getattr(node, "lineno", 0), getattr(node, "col_offset", 0)))


def _functions(source: str) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [node for node in _walk(source) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]


def parameter_count(function: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Positional, keyword-only, *args and **kwargs; a method's ``self`` or ``cls`` is not counted."""
    arguments = function.args
    positional = [*arguments.posonlyargs, *arguments.args]
    if positional and positional[0].arg in ("self", "cls"):
        positional = positional[1:]
    starred = (arguments.vararg is not None) + (arguments.kwarg is not None)
    return len(positional) + len(arguments.kwonlyargs) + starred


def long_signatures(name: str, source: str) -> list[str]:
    """Functions and methods of more than MAX_PARAMETERS parameters, as ``module:line function (count)``."""
    module, exempt = PUBLIC_API
    return [
        f"{name}:{function.lineno} {function.name} ({parameter_count(function)})"
        for function in _functions(source)
        if parameter_count(function) > MAX_PARAMETERS and not (name == module and function.name in exempt)
    ]


def _named_verb(node: ast.expr) -> bool:
    return (isinstance(node, ast.Name) and node.id in VERB_NAMES) or (
        isinstance(node, ast.Attribute) and node.attr in VERB_NAMES
    )


def _literal(node: ast.expr) -> bool:
    """A string, or a tuple, list or set of them, written out: a copy of a verb's name."""
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return any(_literal(item) for item in node.elts)
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _compares_verb(left: ast.expr, op: ast.cmpop, right: ast.expr) -> bool:
    """``command == x`` / ``!=`` whatever ``x`` is; ``in`` / ``not in`` when the other side is written out.
    Membership in a table's data (``command in option.commands``: the one option table) is a lookup, not a
    second copy of the verb."""
    if not any(_named_verb(side) for side in (left, right)):
        return False
    if isinstance(op, (ast.Eq, ast.NotEq)):
        return True
    return isinstance(op, (ast.In, ast.NotIn)) and (_literal(left) or _literal(right))


def verb_comparisons(name: str, source: str) -> list[str]:
    """``command == …``, ``action != …``, ``command in ("a", "b")`` and the like, outside the plan."""
    if name == DECIDES:
        return []
    found = []
    for node in _walk(source):
        if not isinstance(node, ast.Compare):
            continue
        sides = [node.left, *node.comparators]
        if any(_compares_verb(sides[i], op, sides[i + 1]) for i, op in enumerate(node.ops)):
            found.append(f"{name}:{node.lineno} {ast.unparse(node)}")
    return found


def finished_writers(name: str, source: str) -> list[str]:
    """Where the event name ``run.finished`` is written (emitted, bound, put in a dict), outside core/run.py."""
    if name == FINISHES:
        return []
    return [
        f"{name}:{node.lineno}" for node in _walk(source) if isinstance(node, ast.Constant) and node.value == FINISHED
    ]


def _is_two(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) in (int, float) and node.value == 2


def _is_jitter(node: ast.expr) -> bool:
    """``random.uniform(...)``, ``random.random()``, or either imported by name."""
    function = node.func if isinstance(node, ast.Call) else None
    if isinstance(function, ast.Attribute):
        return isinstance(function.value, ast.Name) and function.value.id == "random"
    return isinstance(function, ast.Name) and function.id in ("uniform", "random")


def _imports_tenacity(node: ast.AST) -> bool:
    if isinstance(node, ast.Import):
        return any(alias.name.split(".")[0] == "tenacity" for alias in node.names)
    return isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "tenacity"


def backoff_formulas(name: str, source: str) -> list[str]:
    """A doubling with a variable exponent (``2 ** attempt``; ``2**31`` is a constant), random jitter or
    tenacity (a second retry policy beside the one), outside the retry module."""
    if name == RETRIES:
        return []
    found = []
    for node in _walk(source):
        doubling = (
            isinstance(node, ast.BinOp)
            and isinstance(node.op, ast.Pow)
            and _is_two(node.left)
            and not isinstance(node.right, ast.Constant)
        )
        jitter = isinstance(node, ast.expr) and _is_jitter(node)
        if doubling or jitter or _imports_tenacity(node):
            found.append(f"{name}:{getattr(node, 'lineno', 0)} {ast.unparse(node)}")
    return found


def offenders(check: Callable[[str, str], list[str]]) -> list[str]:
    """What ``check`` finds in every module of the package."""
    return [found for name, source in sorted(modules().items()) for found in check(name, source)]


# --- the measures, over the package ---------------------------------------------------------------


def test_no_function_takes_more_than_six_parameters() -> None:
    """A seventh parameter means a value object is missing (online.py's public helpers excepted, see PUBLIC_API)."""
    found = offenders(long_signatures)
    assert not found, f"functions with more than {MAX_PARAMETERS} parameters: {found}"


def test_verbs_are_compared_only_in_the_plan() -> None:
    """Outside core/plan.py no code compares a command's or an action's name: it asks the plan or gets the fact."""
    found = offenders(verb_comparisons)
    assert not found, f"verb names compared outside {DECIDES}: {found}"


def test_run_finished_is_written_only_by_the_run() -> None:
    """Every verb ends through Run.finished; nothing else writes the event."""
    found = offenders(finished_writers)
    assert not found, f"{FINISHED} written outside {FINISHES}: {found}"
    assert finished_writers("elsewhere.py", modules()[FINISHES]), f"{FINISHES} no longer writes {FINISHED}"


def test_there_is_one_back_off() -> None:
    """Exponential waits, jitter and tenacity live in core/retry.py; everything that retries goes through it."""
    found = offenders(backoff_formulas)
    assert not found, f"back-off formulas outside {RETRIES}: {found}"
    assert backoff_formulas("elsewhere.py", modules()[RETRIES]), f"{RETRIES} has no back-off any more"


# --- the checks see what they forbid ----------------------------------------------------------------


def test_the_parameter_count_sees_every_kind_of_parameter() -> None:
    """Positional, keyword-only, *args and **kwargs count; self and cls do not; the public API is named."""
    source = (
        "def seven(a, b, c, d, e, f, g): ...\n"
        "def mixed(a, /, b, *args, c, **kw): ...\n"
        "def starred(a, b, c, d, *args, e, **kwargs): ...\n"
        "class C:\n"
        "    def method(self, a, b, c, d, e, f): ...\n"
        "    @classmethod\n"
        "    def built(cls, a, b, c, d, e, f, g): ...\n"
        "def backfill(a, b, c, d, e, f, g): ...\n"
    )
    assert long_signatures("x.py", source) == [
        "x.py:1 seven (7)",
        "x.py:3 starred (7)",
        "x.py:7 built (7)",
        "x.py:8 backfill (7)",
    ]
    assert long_signatures("online.py", source) == [
        "online.py:1 seven (7)",
        "online.py:3 starred (7)",
        "online.py:7 built (7)",
    ]


def test_the_verb_check_sees_names_and_attributes_on_either_side() -> None:
    """==, !=, in and not in a written-out list, with the verb on either side; the plan is free to compare."""
    source = (
        'if command != "upgrade": pass\n'
        'if "downgrade" == self.command: pass\n'
        'ok = action in ("a", "b")\n'
        'ok = "x" not in job.action\n'
        "ok = command == self.name\n"
        "ok = command is None\n"
        "ok = commands == 1\n"
        'ok = kind == "switch"\n'
        "ok = command in option.commands\n"
    )
    found = [found.split(" ")[0] for found in verb_comparisons("x.py", source)]
    assert found == ["x.py:1", "x.py:2", "x.py:3", "x.py:4", "x.py:5"]
    assert verb_comparisons(DECIDES, source) == []


def test_the_finished_check_sees_the_event_however_it_is_written() -> None:
    """An emit, a structlog call or a dict naming the event; prose mentioning it is not a writer."""
    source = (
        '"""Docstrings may say that run.finished comes last."""\n'
        'emitter.emit("run.finished", revision="a")\n'
        'log.info("run.finished")\n'
        'line = {"event": "run.finished"}\n'
    )
    assert finished_writers("x.py", source) == ["x.py:2", "x.py:3", "x.py:4"]
    assert finished_writers(FINISHES, source) == []


def test_the_backoff_check_sees_doubling_jitter_and_tenacity() -> None:
    """A doubling with a variable exponent, random jitter and tenacity are found; constant powers of two are not."""
    source = (
        "import random\n"
        "from random import uniform\n"
        "delay = min(10.0, 0.5 * 2 ** (attempt - 1)) + random.uniform(0, 0.25)\n"
        "delay = 2.0**n + random.random()\n"
        "delay = uniform(0, 1)\n"
        "LIMIT = 2**31 - 1\n"
        "import tenacity\n"
        "from tenacity import wait_exponential\n"
    )
    found = [found.split(" ")[0] for found in backoff_formulas("x.py", source)]
    assert found == ["x.py:3", "x.py:3", "x.py:4", "x.py:4", "x.py:5", "x.py:7", "x.py:8"]
    assert backoff_formulas(RETRIES, source) == []
