"""The import contract: stages depend one way, imports inside functions included.

An AST walk over ``src/lorakit`` instead of import-linter: imports inside functions are the ones
that hid the cycles (pipeline <-> train, eval -> train), and a plain test needs no extra tool.
"""

from __future__ import annotations

import ast
from pathlib import Path

import lorakit

# bottom to top; a module may import its own layer and the layers below it, never above
LAYERS = [
    {"", "errors", "io", "config", "runtime", "rundir", "tracking"},  # "" is lorakit/__init__.py
    {"models"},
    {"generation", "clients"},  # shared leaves: batched + constrained generation, the OpenAI-compatible client
    {"data"},
    {"train"},
    {"eval"},
    {"export"},
    {"serve"},
    {"predict", "ask", "pipeline", "cli", "__main__"},
]
ROOT = Path(lorakit.__file__).parent


def _layer(module: str) -> int:
    top = module.split(".")[1] if "." in module else ""
    for rank, names in enumerate(LAYERS):
        if top in names:
            return rank
    raise AssertionError(f"lorakit.{top} is in no layer: add it to LAYERS in {__file__}")


def _imports(path: Path, module: str) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "lorakit"]
        elif isinstance(node, ast.ImportFrom) and node.level:
            base = module.split(".")[: -node.level or None]
            out.append((node.lineno, ".".join(base + ([node.module] if node.module else []))))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "lorakit":
            out.append((node.lineno, node.module))
    return out


def _modules():
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        yield path, ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_every_import_points_down_or_sideways():
    wrong = [f"{path.relative_to(ROOT.parent)}:{line}: {module} imports {target}"
             for path, module in _modules() for line, target in _imports(path, module)
             if _layer(target) > _layer(module)]
    assert not wrong, "imports against the layer order:\n" + "\n".join(wrong)


def test_the_contract_sees_imports_inside_functions(tmp_path):
    src = tmp_path / "m.py"
    src.write_text("def f():\n    from lorakit.train.trainer import train\n")
    assert _imports(src, "lorakit.eval.m") == [(2, "lorakit.train.trainer")]
    assert _layer("lorakit.train.trainer") < _layer("lorakit.eval.m")  # eval may use train ...
    assert _layer("lorakit.eval.runner") > _layer("lorakit.data.gen")  # ... data may not use eval
