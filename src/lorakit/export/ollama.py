"""An Ollama Modelfile whose TEMPLATE renders exactly what the model was trained on.

The Go template is derived from the tokenizer's own (Jinja) chat template by rendering sentinel
conversations: each role's prefix and suffix, the generation prompt, and any text the template
adds when a conversation has no system message. A template that is not a plain concatenation of
per-message pieces is refused rather than approximated: a silent mismatch between training and
serving templates is the most reported problem with exported fine-tunes.

:func:`render_go_template` interprets the subset of Go's text/template that lorakit emits, so
``lorakit export --check`` (and the tests) can compare the two renderings byte for byte.
"""

from __future__ import annotations

import json
import re

from lorakit.errors import ExportError

_S, _U, _A = "\x00SYSTEM\x00", "\x00USER\x00", "\x00ASSISTANT\x00"


def _render(tok, messages: list[dict], gen: bool = False) -> str:
    return tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=gen)


def template_pieces(tok) -> dict[str, str]:
    """Prefix/suffix per role, the generation prompt and the no-system preamble of ``tok``'s chat template."""
    s = [{"role": "system", "content": _S}]
    su = s + [{"role": "user", "content": _U}]
    sua = su + [{"role": "assistant", "content": _A}]
    one, two, three = _render(tok, s), _render(tok, su), _render(tok, sua)
    gen = _render(tok, su, gen=True)
    if not (two.startswith(one) and three.startswith(two) and gen.startswith(two)):
        raise ExportError("this model's chat template is not a concatenation of per-message pieces; lorakit cannot "
                           "write an Ollama TEMPLATE that matches it exactly (export --format gguf and write one by hand)")
    pieces = {}
    for role, text, marker in (("system", one, _S), ("user", two[len(one):], _U), ("assistant", three[len(two):], _A)):
        if text.count(marker) != 1:
            raise ExportError(f"cannot locate the {role} message in the chat template's output")
        pieces[f"{role}_prefix"], pieces[f"{role}_suffix"] = text.split(marker)
    pieces["generation"] = gen[len(two):]
    alone = _render(tok, [{"role": "user", "content": _U}])
    user_piece = pieces["user_prefix"] + _U + pieces["user_suffix"]
    if not alone.endswith(user_piece):
        raise ExportError("the chat template renders a conversation without a system message in a way lorakit "
                           "cannot express as an Ollama TEMPLATE")
    pieces["no_system_preamble"] = alone[: -len(user_piece)]
    return pieces


def go_template(p: dict[str, str]) -> str:
    """The Ollama TEMPLATE (Go text/template over ``.Messages``) for the pieces of :func:`template_pieces`."""
    for name, text in p.items():
        if "{{" in text or '"""' in text:
            raise ExportError(f"the chat template's {name} contains '{{{{' or '\"\"\"', which a Modelfile cannot quote")
    body = "".join(
        f'{{{{ {"if" if i == 0 else "else if"} eq .Role "{role}" }}}}{p[role + "_prefix"]}{{{{ .Content }}}}'
        f'{p[role + "_suffix"]}' for i, role in enumerate(("system", "user", "assistant")))
    pre = f'{{{{ if ne (index .Messages 0).Role "system" }}}}{p["no_system_preamble"]}{{{{ end }}}}' \
        if p["no_system_preamble"] else ""
    return f"{pre}{{{{ range .Messages }}}}{body}{{{{ end }}}}{{{{ end }}}}{p['generation']}"


def modelfile(gguf_name: str, tok, system_prompt: str | None) -> str:
    """A Modelfile: FROM the GGUF, the matching TEMPLATE, stop tokens, temperature 0, the task's system prompt."""
    p = template_pieces(tok)
    stops = dict.fromkeys(x for x in (p["assistant_suffix"].strip(), tok.eos_token) if x)
    lines = [f"FROM ./{gguf_name}", f'TEMPLATE """{go_template(p)}"""']
    lines += [f"PARAMETER stop {json.dumps(s)}" for s in stops]
    lines.append("PARAMETER temperature 0")
    if system_prompt:
        if '"""' in system_prompt:
            raise ExportError('the system prompt contains \'"""\', which a Modelfile cannot quote')
        lines.append(f'SYSTEM """{system_prompt}"""')
    return "\n".join(lines) + "\n"


_ACTION = re.compile(r"\{\{\s*(.*?)\s*\}\}", re.DOTALL)


def render_go_template(template: str, messages: list[dict]) -> str:
    """Render the Go-template subset :func:`go_template` emits (range .Messages, if/else if eq .Role,
    the first-message check, .Content) the way Go's text/template does; anything else raises."""
    tokens: list[tuple[str, str]] = []
    pos = 0
    for m in _ACTION.finditer(template):
        tokens.append(("text", template[pos:m.start()]))
        tokens.append(("action", m.group(1)))
        pos = m.end()
    tokens.append(("text", template[pos:]))
    out, _ = _run(tokens, 0, {"Messages": messages}, None)
    return out


def _run(tokens, i, ctx, msg, stop=("end",)):
    """Render from token ``i`` until an action in ``stop`` at this depth; returns (text, index of that action)."""
    out = []
    while i < len(tokens):
        kind, val = tokens[i]
        if kind == "text":
            out.append(val)
            i += 1
            continue
        if val == "end" or val == "else" or val.startswith("else if"):
            return "".join(out), i
        if val == ".Content":
            out.append(msg["content"])
            i += 1
        elif val == "range .Messages":
            j = i + 1
            for m in ctx["Messages"]:
                text, j = _run(tokens, i + 1, ctx, m)
                out.append(text)
            if not ctx["Messages"]:
                _, j = _run(tokens, i + 1, ctx, None)
            i = j + 1
        elif val.startswith("if "):
            text, i = _if(tokens, i, val[3:], ctx, msg)
            out.append(text)
        else:
            raise ValueError(f"unsupported template action {{{{ {val} }}}}")
    return "".join(out), i


def _cond(expr: str, ctx, msg) -> bool:
    m = re.fullmatch(r'eq \.Role "([a-z]+)"', expr)
    if m:
        return msg["role"] == m.group(1)
    m = re.fullmatch(r'ne \(index \.Messages 0\)\.Role "([a-z]+)"', expr)
    if m:
        return bool(ctx["Messages"]) and ctx["Messages"][0]["role"] != m.group(1)
    raise ValueError(f"unsupported condition {expr!r}")


def _if(tokens, i, expr, ctx, msg):
    """An if / else if / else / end chain starting at token ``i``; returns (text, index after its end)."""
    taken = None
    cond = _cond(expr, ctx, msg)
    while True:
        text, j = _run(tokens, i + 1, ctx, msg)
        if cond and taken is None:
            taken = text
        action = tokens[j][1]
        if action == "end":
            return taken or "", j + 1
        if action == "else":
            cond, i = taken is None, j
        else:  # else if
            cond, i = (taken is None and _cond(action[8:], ctx, msg)), j
