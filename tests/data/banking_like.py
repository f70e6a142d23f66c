"""A synthetic file shaped like the reference's "financial" instruction data.

A JSON list of {"instruction": customer banking query, "response": intent id "0".."76"} rows,
plus a few headline -> key-phrase rows (free text) mixed in: classification in disguise.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

TOPICS = [
    "card arrival", "card linking", "exchange rate", "card payment wrong exchange rate", "extra charge on statement",
    "pending cash withdrawal", "top up failed", "lost or stolen card", "change pin", "contactless not working",
    "verify identity", "declined transfer", "refund not showing", "transfer timing", "card about to expire",
    "cash withdrawal charge", "beneficiary not allowed", "apple pay or google pay", "atm support", "balance not updated",
    "cancel transfer", "card acceptance", "card delivery estimate", "compromised card", "country support",
    "declined card payment", "direct debit payment not recognised", "disposable card limits", "edit personal details",
    "exchange charge", "fiat currency support", "get disposable virtual card", "get physical card", "getting spare card",
    "lost or stolen phone", "order physical card", "passcode forgotten", "pending card payment", "pending top up",
    "pending transfer", "pin blocked", "receiving money", "request refund", "reverted card payment",
    "supported cards and currencies", "terminate account", "top up by bank transfer charge", "top up by card charge",
    "top up by cash or cheque", "top up limits", "top up reverted", "topping up by card", "transaction charged twice",
    "transfer fee charged", "transfer into account", "transfer not received by recipient", "unable to verify identity",
    "verify my identity", "verify source of funds", "verify top up", "virtual card not working", "visa or mastercard",
    "why verify identity", "wrong amount of cash received", "wrong exchange rate for cash withdrawal", "age limit",
    "activate my card", "automatic top up", "card not working", "card swallowed", "cash withdrawal not recognised",
    "declined cash withdrawal", "failed transfer", "getting virtual card", "card payment not recognised",
    "card payment fee charged", "beneficiary setup",
]
OPENERS = ["", "hi, ", "hello, ", "quick question: ", "please help, ", "urgent: "]
FRAMES = ["I have a problem with {t}", "what about {t}?", "need help with {t}", "question regarding {t}",
          "can you explain {t}", "issue: {t}", "how does {t} work", "something is wrong, {t}"]
HEADLINES = [
    ("Central bank raises rates by 50 basis points amid inflation fears", "rate hike"),
    ("Tech giant reports record quarterly revenue on cloud growth", "record revenue"),
    ("Oil prices slump as demand outlook weakens", "oil price slump"),
    ("Retailer files for bankruptcy after years of losses", "bankruptcy filing"),
    ("Merger talks between two regional lenders collapse", "merger collapse"),
    ("Startup raises 200 million in late-stage funding round", "funding round"),
]


def rows(n: int = 600, seed: int = 0, n_free: int = 12) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        label = rng.randrange(len(TOPICS))
        text = rng.choice(OPENERS) + rng.choice(FRAMES).format(t=TOPICS[label])
        out.append({"instruction": text, "response": str(label)})
    for i in range(n_free):
        head, phrase = HEADLINES[i % len(HEADLINES)]
        out.insert(rng.randrange(len(out)), {"instruction": f"Extract the key phrase: {head} ({i})",
                                             "response": phrase if i < len(HEADLINES) else f"{phrase} news"})
    return out


def write(path: Path, n: int = 600, seed: int = 0) -> Path:
    path.write_text(json.dumps(rows(n, seed), indent=1) + "\n", encoding="utf-8")
    return path
