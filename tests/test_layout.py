"""The shape of the package: layers you can see, one home per idea, keys written once."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from ac_play.tui.app import TrainApp
from ac_play.tui.help import key_rows, markdown_table
from ac_play.window import human, keys, scrub, viewer

PACKAGE = Path(__file__).resolve().parent.parent / "ac_play"
README = PACKAGE.parent / "README.md"
UI_LIBRARIES = ("pygame", "textual", "textual_plotext")
MAX_MODULE_LINES = 400

BLOCK_UI = """
import importlib, importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ImportError(f"{{module}} pulls in the UI library {{name}}")
module = None
sys.meta_path.insert(0, Block())
for module in {modules!r}:
    importlib.import_module(module)
print("imported", len({modules!r}))
"""


def source_files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def top_level_modules() -> list[str]:
    return [f"ac_play.{path.stem}" for path in sorted(PACKAGE.glob("*.py")) if path.stem != "__main__"]


def test_the_top_level_imports_no_ui_library():
    modules = top_level_modules()
    assert {"ac_play.agent", "ac_play.cli", "ac_play.snapshot", "ac_play.cartpole"} <= set(modules)
    code = BLOCK_UI.format(blocked=set(UI_LIBRARIES), modules=modules)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"imported {len(modules)}"


def test_the_blocker_would_catch_a_ui_import():
    code = BLOCK_UI.format(blocked=set(UI_LIBRARIES), modules=["ac_play.window.draw"])
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "pulls in the UI library pygame" in result.stderr


def modules_matching(pattern: str) -> set[str]:
    found = set()
    for path in source_files():
        if re.search(pattern, path.read_text(encoding="utf-8")):
            found.add(str(path.relative_to(PACKAGE.parent)))
    return found


def test_the_forward_pass_is_written_in_one_module():
    assert modules_matching(r"@ *(\w+\[\"W1\"\]|w1\b)") == {"ac_play/agent.py"}


def test_sampling_from_probabilities_is_written_in_one_module():
    # cumulative weights across actions (axis 1), not the running totals over time that envs.py keeps
    pattern = r"cumsum\(\w+, axis=1|searchsorted|np\.random\.choice|\.choice\("
    assert modules_matching(pattern) == {"ac_play/sampling.py"}


def test_pygame_environment_is_set_in_one_place():
    assert modules_matching(r"PYGAME_HIDE_SUPPORT_PROMPT") == {"ac_play/window/__init__.py"}


@pytest.mark.parametrize("path", source_files(), ids=lambda path: str(path.relative_to(PACKAGE)))
def test_no_module_is_over_400_lines(path):
    assert len(path.read_text(encoding="utf-8").splitlines()) <= MAX_MODULE_LINES


@pytest.mark.parametrize(
    "rows",
    [key_rows(TrainApp.BINDINGS), keys.help_rows(viewer.KEYMAP), keys.help_rows(scrub.KEYMAP),
     keys.help_rows(human.KEYMAP)],
    ids=["tui", "watch", "timeline", "human"],
)
def test_the_readme_key_tables_are_the_keymaps(rows):
    assert markdown_table(rows) in README.read_text(encoding="utf-8")


def test_every_key_of_a_keymap_does_something_somewhere():
    screens = ((viewer.KEYMAP, viewer.Viewer), (scrub.KEYMAP, scrub.TimelineViewer), (human.KEYMAP, human.Game))
    for keymap, screen in screens:
        for row in keymap:
            assert row.action is None or callable(getattr(screen, row.action)), row
