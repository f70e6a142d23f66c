"""Exact arithmetic for finance answers: a safe expression evaluator and the step-line format.

A finance response is a few step lines ``Name = expression = value`` and a final line
``Answer: 1234.56``. The generator writes them; the metrics read the model's lines back and
recompute every expression, so numeric claims are checked exactly, not judged.

Written out rather than imported: ``ast`` with a whitelist of five operators is all it takes,
and a general-purpose evaluator (``eval``, sympy) would either be unsafe or add a large dependency.
"""

from __future__ import annotations

import ast
import math
import operator
import re

_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.Pow: operator.pow}
STEP_RE = re.compile(r"^\s*([^=\n]+?)\s*=\s*([^=\n]+?)\s*=\s*(-?[\d,]*\.?\d+)\s*%?\s*$")
ANSWER_RE = re.compile(r"^\s*Answer:\s*(-?[\d,]*\.?\d+)\s*%?\s*$")
NUMBER_RE = re.compile(r"(?<![\w.])\d+(?:\.\d+)?")
MAX_EXPR = 200  # characters: longer "expressions" are not steps a model should write


def safe_eval(expr: str) -> float | None:
    """The value of an arithmetic expression (+ - * / ^ or **, parentheses), or None if it is not one.

    Everything is a float, so ``2 ^ 10 ^ 10`` overflows quickly instead of hanging; a complex
    or non-finite result is None.
    """
    if len(expr) > MAX_EXPR:
        return None
    try:
        tree = ast.parse(expr.replace("^", "**").replace(",", ""), mode="eval")
        value = _eval(tree.body)
    except (SyntaxError, ValueError, ZeroDivisionError, OverflowError, TypeError, RecursionError):
        return None
    if isinstance(value, complex) or not math.isfinite(value):
        return None
    return value


def _eval(node) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        v = _eval(node.operand)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        return _BINOPS[type(node.op)](_eval(node.left), _eval(node.right))
    raise ValueError(f"not allowed in an arithmetic step: {ast.dump(node)[:40]}")


def to_number(text: str) -> float:
    return float(text.replace(",", ""))


def close(a: float | None, b: float | None, rel: float = 0.005) -> bool:
    """Within ``rel`` relative tolerance (0.5% by default); near zero, within 0.01 absolute."""
    if a is None or b is None:
        return False
    return abs(a - b) <= max(rel * abs(b), 0.01 if abs(b) < 1 else 0.0) or abs(a - b) < 1e-9


def final_answer(text: str) -> float | None:
    """The number on the last non-empty line when it reads ``Answer: <number>``, else None."""
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    m = ANSWER_RE.match(lines[-1]) if lines else None
    return to_number(m.group(1)) if m else None


_ANY_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?|-?\.\d+")


def last_number(text: str) -> float | None:
    """The answer a reader would take from free prose: the ``Answer:`` line, else the last number written."""
    stated = final_answer(text)
    if stated is not None:
        return stated
    found = _ANY_NUMBER.findall(text)
    try:
        return to_number(found[-1]) if found else None
    except ValueError:
        return None


def steps(text: str) -> list[tuple[str, str, float]]:
    """Every ``Name = expression = value`` line: (name, expression, stated value)."""
    out = []
    for line in text.splitlines():
        m = STEP_RE.match(line)
        if m and any(op in m.group(2) for op in "+-*/^"):
            out.append((m.group(1), m.group(2), to_number(m.group(3))))
    return out


def recompute(text: str) -> tuple[bool, float | None]:
    """``(every step is right, value of the last step recomputed)`` for a response.

    Each expression is re-evaluated; a number in a later step that equals an earlier step's
    stated value is replaced by that step's recomputed value, so the chain is executed by a
    calculator: the model's method, exact arithmetic ("the answer extracted from the steps").
    """
    found = steps(text)
    if not found:
        return False, None
    carried: dict[float, float] = {}
    consistent, value = True, None
    for _, expr, stated in found:
        exact = safe_eval(NUMBER_RE.sub(lambda m: repr(carried.get(float(m.group(0)), float(m.group(0)))), expr))
        plain = safe_eval(expr)
        consistent = consistent and close(plain, stated)
        value = exact
        if exact is not None:
            carried[stated] = exact
    return consistent, value


def fmt(x: float) -> str:
    """How the generator writes an intermediate value: 2 decimals from 1000 up, else 6 significant digits."""
    if abs(x) >= 1000:
        return f"{x:.2f}"
    s = f"{x:.6g}"
    return s if "e" not in s else f"{x:.8f}".rstrip("0")
