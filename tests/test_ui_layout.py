"""Every page is built the same way: ``page_setup`` then one ``ui`` module's ``render()``; page
modules never import each other, and session keys shared by modules live in ``ui/state.py``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
PAGE_SCRIPTS = sorted(
    [REPO_ROOT / "app.py", *(REPO_ROOT / "pages").glob("*.py")], key=lambda p: p.name
)


def ui_imports(path: Path) -> list[tuple[str, str]]:
    """Each ``(module, name)`` that ``path`` imports from the ``ui`` package (``from ui import
    x`` gives ``("ui.x", "")``), inside functions too."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ui"):
            for alias in node.names:
                if node.module == "ui":
                    found.append((f"ui.{alias.name}", ""))
                else:
                    found.append((node.module, alias.name))
        elif isinstance(node, ast.Import):
            found += [(alias.name, "") for alias in node.names if alias.name.startswith("ui.")]
    return found


def rendered_module(script: Path) -> str:
    """The ``ui`` module whose ``render()`` the page script calls (the script's only logic)."""
    tree = ast.parse(script.read_text())
    calls = [
        node.value.func
        for node in tree.body
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
    ]
    assert len(calls) == 2, f"{script.name}: page_setup and render are its only calls"
    first, second = calls
    assert isinstance(first, ast.Name) and first.id == "page_setup", script.name
    assert isinstance(second, ast.Attribute) and second.attr == "render", script.name
    return f"ui.{ast.unparse(second.value)}"


def test_every_page_script_is_page_setup_then_one_render() -> None:
    for script in PAGE_SCRIPTS:
        tree = ast.parse(script.read_text())
        statements = [n for n in tree.body if not isinstance(n, (ast.Import, ast.ImportFrom))]
        assert len(statements) == 3, f"{script.name}: docstring, page_setup, render only"
        rendered_module(script)


@pytest.mark.parametrize("script", PAGE_SCRIPTS, ids=lambda p: p.name)
def test_a_page_module_imports_no_other_page_module(script: Path) -> None:
    pages = {rendered_module(s) for s in PAGE_SCRIPTS}
    module = rendered_module(script)
    path = REPO_ROOT / (module.replace(".", "/") + ".py")
    imported = {name for name, _ in ui_imports(path)}
    assert not imported & (pages - {module}), f"{module} imports {imported & pages}"


def test_session_keys_shared_by_modules_are_imported_from_ui_state_only() -> None:
    importers = [REPO_ROOT / "app.py", *(REPO_ROOT / "pages").glob("*.py")]
    importers += (REPO_ROOT / "ui").glob("*.py")
    for path in importers:
        for module, name in ui_imports(path):
            if name.endswith("_KEY"):
                assert module == "ui.state", f"{path.name} imports {name} from {module}"
