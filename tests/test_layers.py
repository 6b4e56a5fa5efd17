"""The package's layers, read from its imports: every import points down the stages.

cli -> jobs -> live | output | playlist -> render -> timeline -> script -> voices
-> sounds | media | cover -> base (errors, units, breathing, dsp, ffmpeg, atomic, progress).

Imports are read with `ast` (those inside functions and `if TYPE_CHECKING:` too), so a
lazy import cannot hide an upward one.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import audioguide

PACKAGE = Path(audioguide.__file__).parent

#: Each stage and its height; an import may only go to a lower stage, or stay in its own
#: package. Stages of one height are siblings and keep apart.
STAGES = {
    "__init__": 100, "__main__": 100,        # the public API and `python -m audioguide`
    "cli": 90, "studio": 90,
    "jobs": 80,
    "live": 70, "output": 70, "playlist": 70,
    "render": 60,
    "timeline": 50,
    "script": 40,
    "voices": 30,
    "sounds": 20, "media": 20, "cover": 20,
    "errors": 10, "units": 10, "breathing": 10, "dsp": 10, "ffmpeg": 10, "atomic": 10,
    "progress": 10,
    "content": 0,                            # the built-in sessions (data)
}
#: Siblings that may lean on one another: a playlist writes its chapters as output does.
SIBLINGS = {("playlist", "output")}
#: The base modules are one layer; they may use each other.
BASE = 10
#: The one name anything may take from the package root.
FROM_ROOT = {"__version__"}


def stage_of(module: str) -> str:
    """`audioguide.render.mixer` → "render"; the root package → "__init__"."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path, root: Path) -> Iterator[tuple[int, str, list[str]]]:
    """(line, absolute module, names taken) for each import of the package in `path`."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    here = module_name(path, root)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    top = root.name
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == top or alias.name.startswith(top + "."):
                    yield node.lineno, alias.name, []
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target != top and not target.startswith(top + "."):
                continue
            names = [alias.name for alias in node.names]
            if target == top:
                # `from . import x`: x may be a module (a stage) or a name of the root.
                for name in names:
                    if name in FROM_ROOT:
                        yield node.lineno, target, [name]
                    else:
                        yield node.lineno, f"{top}.{name}", []
            else:
                yield node.lineno, target, names


def upward_imports(root: Path) -> list[str]:
    """Every import in the package at `root` that breaks the layering, as `file:line: why`."""
    problems = []
    for path in sorted(root.rglob("*.py")):
        here = module_name(path, root)
        source = stage_of(here)
        if source not in STAGES:
            problems.append(f"{path.relative_to(root.parent)}: {source} is in no stage; "
                            "add it to STAGES")
            continue
        for line, target, names in imports(path, root):
            where = f"{path.relative_to(root.parent)}:{line}"
            goal = stage_of(target)
            if goal == source:
                continue
            if goal == "__init__":
                if source != "__main__" and not set(names) <= FROM_ROOT:
                    problems.append(f"{where}: takes {names} from the package root (the API)")
                continue
            if goal not in STAGES:
                problems.append(f"{where}: imports {target}, which is in no stage")
                continue
            low, high = STAGES[goal], STAGES[source]
            if low < high or (low == high == BASE) or (source, goal) in SIBLINGS:
                continue
            way = "up" if low > high else "sideways"
            problems.append(f"{where}: {source} imports {target} ({way}: {goal} is not "
                            f"below {source})")
    return problems


def test_every_import_points_down_the_stages() -> None:
    assert upward_imports(PACKAGE) == []


def test_every_stage_is_a_folder_or_a_base_module() -> None:
    present = {path.stem if path.is_file() else path.name
               for path in PACKAGE.iterdir()
               if (path.suffix == ".py" or (path / "__init__.py").exists())}
    assert present - set(STAGES) == set()
    assert {"cli", "jobs", "live", "output", "playlist", "render", "timeline", "script",
            "voices", "sounds"} <= present


def test_an_upward_import_is_caught(tmp_path: Path) -> None:
    root = tmp_path / "audioguide"
    for folder in ("script", "timeline", "cli"):
        (root / folder).mkdir(parents=True)
        (root / folder / "__init__.py").write_text("")
    (root / "__init__.py").write_text("__version__ = '0'\n")
    (root / "errors.py").write_text("")
    (root / "timeline" / "compile.py").write_text(
        "from ..script import model\nfrom ..errors import Issue\nfrom .. import __version__\n")
    (root / "script" / "model.py").write_text(
        "from ..errors import Issue\n\n\ndef later():\n    from ..timeline.compile import x\n")
    (root / "script" / "load.py").write_text("import audioguide.cli\nfrom .. import render\n")
    assert upward_imports(root) == [
        "audioguide/script/load.py:1: script imports audioguide.cli (up: cli is not below "
        "script)",
        "audioguide/script/load.py:2: script imports audioguide.render (up: render is not "
        "below script)",
        "audioguide/script/model.py:5: script imports audioguide.timeline.compile (up: "
        "timeline is not below script)",
    ]


def test_only_the_command_line_imports_click_prints_or_exits() -> None:
    """Below cli/ nothing talks to the terminal or ends the process: it raises, returns, logs.

    The two voice worker scripts run as child programs and speak their protocol on stdout.
    """
    workers = {"_pyttsx3_worker.py", "_piper_worker.py"}
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] in ("cli", "studio") or path.name in workers:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                         else [node.module or ""])
                if any(name == "click" or name.startswith("click.") for name in names):
                    found.append(f"{relative}:{node.lineno}: imports click")
            elif isinstance(node, ast.Call):
                func = node.func
                name = (func.id if isinstance(func, ast.Name)
                        else f"{getattr(func.value, 'id', '')}.{func.attr}"
                        if isinstance(func, ast.Attribute) else "")
                if name in ("print", "exit", "quit", "sys.exit", "os._exit"):
                    found.append(f"{relative}:{node.lineno}: calls {name}")
    assert found == []
