"""The UI's msgids, found with ast: the English text of every t(...) call in app.py, pages/ and cockpit/."""
from __future__ import annotations

import ast
import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
I18N = ("cockpit.ui.i18n", "cockpit.i18n", "models.phrases")
# t() translates now; N_() marks a msgid that is translated where it is drawn; phrase() and
# Phrase() hold a model's sentence template, translated by cockpit.i18n.say where it is shown.
MARKERS = ("t", "N_", "phrase", "Phrase")
MACHINERY = {"cockpit/i18n.py", "cockpit/ui/i18n.py", "models/phrases.py"}  # they pass on text they are given

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


def ui_files() -> list[Path]:
    """The files whose t(...) calls hold visible text: app.py, pages/*.py, cockpit/**/*.py, and
    models/*.py (whose phrase(...) / Phrase(...) templates are msgids)."""
    return [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py")), *sorted((ROOT / "cockpit").rglob("*.py")),
            *sorted((ROOT / "models").glob("*.py"))]


def _literals_in(path: str, *texts: str) -> Callable[[], list[str]]:
    """Those of `texts` still written as string constants in `path` (a vanished one drops out, and
    the stale-entry test then names its translation)."""
    def values() -> list[str]:
        found = {n.value for n in ast.walk(_module(ROOT / path).tree)
                 if isinstance(n, ast.Constant) and isinstance(n.value, str)}
        return [text for text in texts if text in found]
    return values


def _attribute(module: str, name: str, pick: Callable = lambda v: v) -> Callable[[], list[str]]:
    return lambda: list(pick(getattr(importlib.import_module(module), name)))


# t() calls whose text comes from data at run time, so ast cannot follow it: where the values come
# from, keyed by (file, the call's first argument as ast.unparse writes it).
FROM_DATA: dict[tuple[str, str], Callable[[], Iterable[str]]] = {
    ("pages/04_ads.py", "row['status']"): _literals_in("cockpit/actions.py", "active", "paused"),
    ("pages/06_forecasts.py", "found['dimensions'][row.metric]"):
        _attribute("cockpit.metrics.anomalies", "EXPLAINED_BY", dict.values),
    ("pages/06_forecasts.py", "level"): _literals_in("pages/06_forecasts.py", "low", "medium", "high"),
    ("pages/14_logistics.py", "split.capitalize()"):
        lambda: [s.capitalize() for s in _literals_in("pages/14_logistics.py", "tier", "carrier", "region")()],
    ("cockpit/ui/charts.py", "row.status"): _attribute("cockpit.alerts", "ACTIVE_STATUSES"),
    ("cockpit/ui/customer_charts.py", "rfm.segment_label(key)"):
        _attribute("models.rfm", "SEGMENT_LABELS", lambda labels: [v["en"] for v in labels.values()]),
    ("cockpit/ui/rule_editor.py", "rule.direction"): _attribute("cockpit.alerts", "DIRECTIONS"),
    ("cockpit/ui/sign_in.py", "principal.role"): _attribute("cockpit.auth", "ROLES"),
    ("cockpit/ui/assortment_charts.py", "bands['band'].map(t)"): _attribute("models.assortment", "BANDS"),
}

# t() calls that pass on text they are handed, every piece of which is a msgid marked where it
# was written (N_ or t): exports.localized_columns translating a table's column config.
PASSED_ON: set[tuple[str, str]] = {
    ("cockpit/ui/exports.py", "config"),
    ("cockpit/ui/exports.py", "config[key]"),
    ("cockpit/ui/exports.py", "out[key]"),
    ("cockpit/ui/charts.py", "words[code]"),  # charts.translated: a vocabulary dict of N_ msgids
    ("cockpit/alerts.py", "name"),  # alerts.rule_name: only names in SHIPPED_RULE_NAMES (N_) are translated
    ("cockpit/alerts.py", "args['rule']"),  # alerts.message_phrase: likewise
}

# t() calls given a sentence already formatted elsewhere: no catalogue entry can match it, so it
# shows in English until the text moves into a t() template.
ENGLISH_ONLY: set[tuple[str, str]] = set()


@dataclass(frozen=True)
class Extraction:
    """msgids: each msgid with the "file:line" of the calls that use it; unresolved: the calls
    whose text is neither a literal, nor followed by ast, nor in FROM_DATA or ENGLISH_ONLY;
    unused_keys: FROM_DATA and ENGLISH_ONLY keys that match no call any more."""

    msgids: dict[str, list[str]]
    unresolved: list[str]
    unused_keys: list[tuple[str, str]]


@dataclass
class _Module:
    path: Path
    tree: ast.Module
    parents: dict[int, ast.AST]


@cache
def _module(path: Path) -> _Module:
    tree = ast.parse(path.read_text(), filename=str(path))
    parents = {id(child): node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    return _Module(path, tree, parents)


def _module_path(dotted: str) -> Path | None:
    base = ROOT.joinpath(*dotted.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports_t(module: _Module) -> bool:
    return any(isinstance(n, ast.ImportFrom) and n.module in I18N and any(a.name in MARKERS for a in n.names)
               for n in ast.walk(module.tree))


def _own_nodes(body: list[ast.stmt]):
    """The nodes of a scope's body, not descending into nested functions or classes."""
    todo = list(body)
    while todo:
        node = todo.pop()
        yield node
        todo.extend(c for c in ast.iter_child_nodes(node) if not isinstance(c, (*_SCOPES, ast.ClassDef)))


def _bindings(name: str, at: ast.AST, module: _Module) -> list[tuple[str, ast.AST, _Module]] | None:
    """How `name` is bound where `at` reads it: ("value", expr) or ("item", iterable) pairs with
    their module, from the innermost scope that binds it; None when one binding cannot be followed."""
    node = at
    while (node := module.parents.get(id(node))) is not None:
        if isinstance(node, _SCOPES):
            a = node.args
            if name in {x.arg for x in (*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg) if x}:
                return None
            found = _scope_bindings(name, [node.body] if isinstance(node, ast.Lambda) else node.body, module)
            if found:
                return found
    return _scope_bindings(name, module.tree.body, module) or None


def _scope_bindings(name: str, body: list, module: _Module) -> list[tuple[str, ast.AST, _Module]]:
    found: list[tuple[str, ast.AST, _Module]] = []
    for node in _own_nodes(body):
        if isinstance(node, ast.Assign) and any(isinstance(x, ast.Name) and x.id == name for x in node.targets):
            found.append(("value", node.value, module))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == name:
            found.append(("value", node.value, module))
        elif isinstance(node, (ast.For, ast.comprehension)) and isinstance(node.target, ast.Name) \
                and node.target.id == name:
            found.append(("item", node.iter, module))
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                if (alias.asname or alias.name) == name:
                    found.extend(_imported(node.module, alias.name))
        elif isinstance(node, (ast.AugAssign, ast.NamedExpr, ast.With)) and name in {
                n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}:
            found.append(("opaque", node, module))
    return found


def _imported(package: str, name: str) -> list[tuple[str, ast.AST, _Module]]:
    """`from package import name`: the module itself, or the name's top-level bindings there."""
    as_module = _module_path(f"{package}.{name}")
    if as_module is not None:
        return [("module", ast.Constant(None), _module(as_module))]
    source = _module_path(package)
    if source is None:
        return [("opaque", ast.Constant(None), None)]
    return _scope_bindings(name, _module(source).tree.body, _module(source))


def _container(expr: ast.AST, module: _Module) -> tuple[ast.AST, _Module] | None:
    """The dict, tuple, list or set literal `expr` names, with the module it is written in."""
    if isinstance(expr, (ast.Dict, ast.Tuple, ast.List, ast.Set)):
        return expr, module
    if isinstance(expr, ast.Name):
        found = _bindings(expr.id, expr, module)
        values = [(value, where) for kind, value, where in found or () if kind == "value"]
        return _container(*values[0]) if found and len(found) == 1 and values else None
    if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name):
        found = _bindings(expr.value.id, expr, module)
        if found and len(found) == 1 and found[0][0] == "module":
            owner = found[0][2]
            inner = _scope_bindings(expr.attr, owner.tree.body, owner)
            if len(inner) == 1 and inner[0][0] == "value":
                return _container(inner[0][1], owner)
    return None


def _texts(expr: ast.AST, module: _Module) -> set[str] | None:
    """Every string `expr` can evaluate to, or None when ast cannot tell."""
    if isinstance(expr, ast.Constant):
        return {expr.value} if isinstance(expr.value, str) else None
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id == "N_" and expr.args:
        return _texts(expr.args[0], module)  # a msgid marked where it is defined, translated here
    if isinstance(expr, ast.IfExp):
        a, b = _texts(expr.body, module), _texts(expr.orelse, module)
        return a | b if a is not None and b is not None else None
    if isinstance(expr, ast.Name):
        found = _bindings(expr.id, expr, module)
        if not found:
            return None
        out: set[str] = set()
        for kind, value, where in found:
            part = _texts(value, where) if kind == "value" else _items(value, where) if kind == "item" else None
            if part is None:
                return None
            out |= part
        return out
    if isinstance(expr, ast.Subscript):
        return _values(expr.value, module)
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr == "get":
        return _values(expr.func.value, module)  # the default (the raw key) is data, not text
    return None


def _items(expr: ast.AST, module: _Module) -> set[str] | None:
    """The strings iterating over `expr` yields (a dict's keys)."""
    found = _container(expr, module)
    if found is None:
        return None
    node, where = found
    return _union([_texts(k, where) for k in node.keys] if isinstance(node, ast.Dict)
                  else [_texts(e, where) for e in node.elts])


def _values(expr: ast.AST, module: _Module) -> set[str] | None:
    """The strings indexing `expr` gives (a dict's values, a sequence's items)."""
    found = _container(expr, module)
    if found is None:
        return None
    node, where = found
    return _union([_texts(v, where) for v in (node.values if isinstance(node, ast.Dict) else node.elts)])


def _union(parts: list[set[str] | None]) -> set[str] | None:
    return None if any(p is None for p in parts) else set().union(*parts)


def extract() -> Extraction:
    """Walk every UI file that imports t from cockpit.ui.i18n and collect the text of its t() calls:
    string literals, texts ast can follow (conditional expressions, names bound to literals, lookups
    in dict and tuple literals, loops over them), and the FROM_DATA values of the rest."""
    msgids: dict[str, list[str]] = {}
    unresolved: list[str] = []
    used: set[tuple[str, str]] = set()
    for path in ui_files():
        module = _module(path)
        if path.relative_to(ROOT).as_posix() in MACHINERY or not _imports_t(module):
            continue
        rel = path.relative_to(ROOT).as_posix()
        calls = {id(n.func): n for n in ast.walk(module.tree) if isinstance(n, ast.Call)}
        for node in ast.walk(module.tree):
            if not (isinstance(node, ast.Name) and node.id in MARKERS and isinstance(node.ctx, ast.Load)):
                continue
            call = calls.get(id(node))
            if call is None and node.id != "t":  # e.g. isinstance(text, Phrase): no text of its own
                continue
            if call is None:  # t handed on as a function, e.g. frame["band"].map(t)
                texts, source = None, ast.unparse(module.parents[id(node)])
                shown = f"t handed on in {source}"
            else:
                texts = _texts(call.args[0], module) if call.args else None
                source = ast.unparse(call.args[0]) if call.args else ast.unparse(call)
                shown = f"{node.id}({source})"
            where = f"{rel}:{node.lineno}"
            if texts is None and (rel, source) in FROM_DATA:
                used.add((rel, source))
                texts = set(FROM_DATA[rel, source]())
            elif texts is None and ((rel, source) in ENGLISH_ONLY or (rel, source) in PASSED_ON):
                used.add((rel, source))
                continue
            if texts is None:
                unresolved.append(f"{where}: {shown}")
                continue
            for text in texts:
                msgids.setdefault(text, []).append(where)
    unused = sorted((set(FROM_DATA) | ENGLISH_ONLY | PASSED_ON) - used)
    return Extraction(dict(sorted(msgids.items())), sorted(unresolved), unused)
