"""The direction of dependencies (STYLE.md), checked by walking every module's imports with ast."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = ("cockpit", "pages", "models", "data", "app")


def imports_of(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def top(name: str) -> str:
    return name.split(".")[0]


@pytest.mark.parametrize("folder", ["models", "data"])
def test_the_bottom_floor_imports_nothing_of_ours(folder):
    for path in modules(folder):
        ours = {name for name in imports_of(path) if top(name) in OURS and top(name) != folder}
        assert not ours, f"{path.relative_to(ROOT)} imports {ours}"
        assert "streamlit" not in {top(n) for n in imports_of(path)}
        assert "sqlalchemy" not in {top(n) for n in imports_of(path)}


def test_only_cockpit_ui_imports_streamlit_in_the_core():
    for path in modules("cockpit"):
        if "ui" in path.relative_to(ROOT / "cockpit").parts:
            continue
        names = imports_of(path)
        assert "streamlit" not in {top(n) for n in names}, path
        assert not any(n.startswith("cockpit.ui") for n in names), f"{path} reaches up into cockpit.ui"
        assert not any(top(n) == "pages" for n in names), path


def test_pages_are_thin_and_never_touch_the_database():
    pages = modules("pages")
    assert pages, "no pages found"
    for path in pages:
        names = imports_of(path)
        assert "sqlalchemy" not in {top(n) for n in names}, f"{path.name} talks SQL"
        assert not any(n.startswith(("cockpit.db", "cockpit.ingest", "cockpit.metrics")) for n in names), path
        lines = len(path.read_text().splitlines())
        assert lines <= 150, f"{path.name} has {lines} lines; pages stay within 150"
        assert "__main__" not in path.read_text()


def test_nothing_imports_pages():
    for folder in ("cockpit", "models", "data", "pages"):
        for path in modules(folder):
            assert not any(top(n) == "pages" for n in imports_of(path)), path


def test_only_config_reads_the_environment():
    for path in modules("cockpit") + modules("pages") + modules("models") + modules("data"):
        if path.name == "config.py":
            continue
        assert "os.environ" not in path.read_text() or path.name == "cli.py", path
