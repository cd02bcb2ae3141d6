"""The shipped code's import graph: no module imports itself through others (imports inside functions
count), and the apps' layers point one way."""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = (
    "accounts", "actions", "adaptation", "api", "audit", "exports", "hospitals", "inference", "ml", "operations",
    "patients", "portal", "reviews", "scans",
)  # fmt: skip
APPS = tuple(package for package in PACKAGES if package not in ("portal", "ml"))
# Where requests, tasks and commands come in: they sit on top of everything, the actions layer included,
# and nothing imports them (the URL conf and Celery's autodiscovery find them by name).
ENTRY_MODULES = ("views", "urls", "admin", "tasks", "dicomweb", "dicomweb_read")
ENTRY_PACKAGES = ("management", "templatetags")
# What each app's own modules must not import (its entry points: FORBIDDEN_TO_ENTRY_POINTS): lower layers
# know nothing of the ones built on them. From the bottom: accounts, audit, patients; scans; hospitals;
# reviews; adaptation (it learns from scans and sites, the review hands it verdicts through actions);
# actions (what follows a reading, a review, an upload, a showing); inference (the worker) and exports;
# api and operations on top.
EVERY_APP = set(APPS)
ALLOWED = {
    "accounts": {"audit"},
    "audit": set(),
    "patients": set(),
    "scans": {"accounts", "audit", "patients"},
    "hospitals": {"accounts", "audit", "patients", "scans"},
    "reviews": {"accounts", "audit", "patients", "scans", "hospitals"},
    "adaptation": {"accounts", "audit", "patients", "scans", "hospitals"},
    "actions": {"accounts", "audit", "patients", "scans", "hospitals", "reviews", "adaptation"},
    # The worker knows the scan, the model and the site's reading head; what follows is the actions'.
    # operations.log_context only tags its log lines with the scan.
    "inference": {"scans", "adaptation", "actions", "operations"},
    "exports": {"accounts", "audit", "patients", "scans"},
    "api": EVERY_APP - {"api", "inference", "operations", "exports"},
    "operations": EVERY_APP - {"operations", "api", "inference"},
}
FORBIDDEN = {app: tuple(sorted(EVERY_APP - allowed - {app})) for app, allowed in ALLOWED.items()}
FORBIDDEN["ml"] = tuple(sorted(EVERY_APP | {"portal"}))  # the model's code runs without Django
# An app's views, tasks and admin sit above the actions layer: they may call it and what it builds on.
FORBIDDEN_TO_ENTRY_POINTS = {
    app: tuple(sorted(set(forbidden) - {"actions"} - ALLOWED["actions"])) for app, forbidden in FORBIDDEN.items()
}
FORBIDDEN_TO_ENTRY_POINTS["ml"] = FORBIDDEN["ml"]


def shipped_modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = path.relative_to(REPO).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path
    return modules


def imported_modules(path: Path, name: str, modules: dict[str, Path]) -> set[str]:
    """Every shipped module this file imports, at the top or inside functions."""
    found = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        found |= {target for target in targets if target in modules and target != name}
    return found


def import_graph() -> dict[str, set[str]]:
    modules = shipped_modules()
    return {name: imported_modules(path, name, modules) for name, path in modules.items()}


def circles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(component)

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_no_shipped_module_imports_itself_through_others():
    graph = import_graph()

    assert "scans.models" in graph["reviews.services"]  # the graph is read, not empty
    assert "portal.celery" in graph["scans.models"]  # imports inside functions count
    assert circles(graph) == []


def test_the_circle_finder_finds_a_circle():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]


def is_entry(module: str) -> bool:
    parts = module.split(".")
    return parts[-1] in ENTRY_MODULES or any(part in ENTRY_PACKAGES for part in parts)


def test_every_app_has_its_layer():
    assert set(ALLOWED) == EVERY_APP == {path.parent.name for path in REPO.glob("*/apps.py")} | {"actions"}


@pytest.mark.parametrize("app", sorted(FORBIDDEN))
def test_lower_layers_know_nothing_of_the_apps_built_on_them(app):
    graph = import_graph()
    reaching_up = {
        (module, target)
        for module, targets in graph.items()
        if module.split(".")[0] == app
        for target in targets
        if target.split(".")[0] in (FORBIDDEN_TO_ENTRY_POINTS[app] if is_entry(module) else FORBIDDEN[app])
    }

    assert reaching_up == set()


def test_entry_points_may_call_the_actions_but_nothing_imports_an_entry_point():
    graph = import_graph()
    importing_an_entry = {
        (module, target)
        for module, targets in graph.items()
        if module != "portal.urls"
        for target in targets
        if is_entry(target) and not (module.endswith("urls") and target.split(".")[0] == module.split(".")[0])
    }

    assert any(module.startswith("reviews.views") for module in graph if "actions.reviews" in graph[module])
    assert importing_an_entry == set()


def app_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """Which apps each app's own modules import (entry points, which nothing imports, left out)."""
    apps = {name.split(".")[0] for name in graph}
    edges = {app: set() for app in apps}
    for module, targets in graph.items():
        if not is_entry(module):
            edges[module.split(".")[0]] |= {target.split(".")[0] for target in targets} - {module.split(".")[0]}
    return edges


def test_no_app_imports_itself_through_others():
    apps = app_graph(import_graph())

    assert "scans" in apps["reviews"]  # the graph is read
    assert circles(apps) == []


def module_constants(tree: ast.Module) -> dict[str, str]:
    """The module's top-level NAME = "string" assignments."""
    return {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
        for target in node.targets
        if isinstance(target, ast.Name)
    }


def sent_task_names() -> dict[str, str]:
    """Every task name the shipped code sends, with where: the first argument of each send_after_commit,
    a literal or a module constant (its own or one it imports). Any other way of sending fails here."""
    modules = shipped_modules()
    trees = {name: ast.parse(path.read_text(), filename=str(path)) for name, path in modules.items()}
    sent, unreadable = {}, []
    for name, tree in trees.items():
        constants = module_constants(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module in trees:
                imported = module_constants(trees[node.module])
                constants |= {
                    alias.asname or alias.name: imported[alias.name] for alias in node.names if alias.name in imported
                }
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            where = f"{name}:{node.lineno}"
            if called in ("send_task", "apply_async", "delay", "signature") and name != "portal.celery":
                unreadable.append(f"{where} sends with {called}, not portal.celery.send_after_commit")
            if called != "send_after_commit" or name == "portal.celery":
                continue
            first = node.args[0] if node.args else None
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                sent[where] = first.value
            elif isinstance(first, ast.Name) and first.id in constants:
                sent[where] = constants[first.id]
            else:
                unreadable.append(f"{where} sends a task whose name is not a literal or a module constant")
    assert unreadable == []
    return sent


def test_every_task_sent_by_name_is_one_the_worker_registers(db):  # celery checks the models at import
    from celery_worker import app

    app.loader.import_default_modules()  # what a worker imports at start
    sent = sent_task_names()

    assert "inference.tasks.run_inference" in sent.values()  # the scan found the sends
    assert len(sent) >= 8
    assert {where: name for where, name in sent.items() if name not in app.tasks} == {}


# Calls whose keyword names or string arguments are ORM lookups. select_related and prefetch_related
# only load what a page shows, the way an attribute does; they are not rules about another app's rows.
LOOKUP_CALLS = {
    "filter", "exclude", "get", "get_or_create", "update_or_create", "Q", "F", "values", "values_list",
    "order_by", "annotate", "aggregate", "Count", "Sum", "Min", "Max", "Avg", "Exists", "OuterRef",
}  # fmt: skip


def reverse_relation_names() -> dict[str, str]:
    """The names by which a model's rows are reached from another app's model (related_name, or
    Django's default), each with the app that owns it: the app whose model declares the relation."""
    from django.apps import apps

    owned = {}
    for model in apps.get_models():
        owner = model._meta.app_label
        for field in model._meta.get_fields(include_hidden=False):
            if not field.is_relation or field.auto_created or field.related_model is None:
                continue
            if field.related_model._meta.app_label == owner or (field.remote_field.related_name or "").endswith("+"):
                continue
            owned[field.related_query_name()] = owner
    return owned


def lookups_in(tree: ast.AST):
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
        if called not in LOOKUP_CALLS:
            continue
        for keyword in node.keywords:
            if keyword.arg:
                yield node.lineno, keyword.arg
        for argument in node.args:
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                yield node.lineno, argument.value.lstrip("-")


def foreign_lookups() -> set[tuple[str, int, str]]:
    owned = reverse_relation_names()
    found = set()
    for name, path in shipped_modules().items():
        app = name.split(".")[0]
        for line, lookup in lookups_in(ast.parse(path.read_text(), filename=str(path))):
            first = lookup.split("__")[0]
            if "__" in lookup and owned.get(first, app) != app:
                found.add((name, line, lookup))
    return found


def test_no_app_looks_up_rows_through_another_apps_relation_names():
    assert reverse_relation_names()["review_case"] == "reviews"  # the names are read

    assert foreign_lookups() == set()
