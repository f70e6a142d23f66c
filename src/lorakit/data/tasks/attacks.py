"""Robustness attacks that fit any task: text that carries no label information, added to a message.

A task adds its own (instruction overrides naming its fields, a pasted answer in its format) with
``Task.attacks``; see :mod:`lorakit.data.tasks.support_ticket.attacks`.
"""

from __future__ import annotations

from collections.abc import Callable

FILLER = ("I have been a customer for years and usually everything goes fine. Last week was busy at work and "
          "the weather was awful, so I only now found time to write. My family says I should just call, but I "
          "prefer writing things down so there is a record of what was said. ") * 4

GENERIC_ATTACKS: dict[str, Callable[[str], str]] = {
    "json_breakers": lambda m: f'{m} P.S. my note says "}}{{\\" \\\\ \'quoted\' ]]',
    "emoji": lambda m: f"{m} 🙏😡📦✨",
    "non_latin": lambda m: f"{m} Спасибо! 谢谢！ありがとう。شكرا",
    "repeated": lambda m: f"{m} {m}",
    "very_long": lambda m: f"{FILLER}{m} {FILLER}",
}
