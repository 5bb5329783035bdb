"""Import a script of ``examples/`` (not a package) as a module, once per test session."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load_example(stem: str) -> ModuleType:
    """``examples/<stem>.py`` as the module ``boostprop_example_<stem>`` (cached in sys.modules).

    Example:
        >>> load_example("lightning_train").warmup_cosine(1, 2)(0)
        1.0
    """
    name = f"boostprop_example_{stem}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{stem}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module
