"""core/ must run without Qt: import every core module with PySide6/pyqtgraph made unimportable."""
import subprocess
import sys
from pathlib import Path

import biodeep_gui.core

CODE = r"""
import sys, importlib, pkgutil
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('PySide6', 'pyqtgraph', 'shiboken6') or name.startswith('biodeep_gui.gui'):
            raise ImportError('blocked: ' + name)
sys.meta_path.insert(0, Block())
import biodeep_gui.core as core
for m in pkgutil.walk_packages(core.__path__, 'biodeep_gui.core.'):
    importlib.import_module(m.name)
print('ok', len(sys.modules))
"""


def test_core_imports_without_qt():
    root = Path(biodeep_gui.core.__file__).parents[2]
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, cwd=root)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ok")


def test_import_linter_contract():
    import shutil

    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    root = Path(biodeep_gui.core.__file__).parents[2]
    out = subprocess.run([exe, "--no-cache"], capture_output=True, text=True, cwd=root)
    assert out.returncode == 0, out.stdout + out.stderr
