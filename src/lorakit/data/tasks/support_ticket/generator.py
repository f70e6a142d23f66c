"""Deterministic synthetic support tickets, labelled by the task policy (no LLM).

A ticket is built as a :class:`TicketSpec` (issues, urgency, order id, product), rendered
to text from the phrase pools of its split, then roughened by its category (typos,
injections, noise, ...). Entities are written as placeholders while the text is
transformed, so a typo or a case change can never alter an order id or product, and the
label copies exactly what the message contains.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable

from lorakit.data.tasks.support_ticket import phrases as ph
from lorakit.data.tasks.support_ticket.policy import INTENTS, PRIORITIES, QUESTIONS, Issue, TicketSpec, label_for

P, O = "\x01", "\x02"  # placeholders for product and order id; untouched by case changes
URGENCY_WORDS = {"asap", "urgent", "urgently", "immediately", "a.s.a.p."}

CATEGORIES = (
    "clean", "typos", "injection", "multi_intent", "missing_info", "noise",
    "shouting", "slang", "keyboard_mash", "very_short", "very_long",
)
TRAIN_WEIGHTS = {"clean": 4, "typos": 1, "injection": 1.5, "multi_intent": 1.5, "missing_info": 1, "noise": 1,
                 "shouting": 0.7, "slang": 0.7, "keyboard_mash": 0.7, "very_short": 1, "very_long": 0.7}
PASTED_SHARE = 0.3  # of train injection items: a pasted wrong answer instead of a prose injection
INTENT_WEIGHTS = {"refund": 1, "cancel": 1, "billing": 1, "tech_support": 1, "shipping": 1, "other": 0.6}

SHORT: dict[str, list[str]] = {
    "refund": ["refund pls", "i want my money back", "refund {O}", "refund for {P}", "money back please",
               "need a refund", "refund {P} pls", "refund request", "give me a refund", "want refund now"],
    "cancel": ["cancel {O}", "cancel my order", "pls cancel", "cancel {P}", "stop my order", "cancel it please",
               "cancel order {O}", "dont ship it, cancel", "cancel my sub", "cancel everything"],
    "billing": ["charged twice", "wrong amount billed", "need invoice {O}", "double charge!!", "unknown charge",
                "bill is wrong", "invoice please", "charged twice {O}", "fraud charge on my card", "bad charge"],
    "tech_support": ["{P} broken", "app crashes", "cant log in", "{P} wont start", "screen is black",
                     "wifi keeps dropping", "{P} not charging", "login broken", "it keeps freezing", "{P} dead"],
    "shipping": ["where is my package", "tracking {O}?", "where is {O}", "not delivered yet", "package never came",
                 "whats my tracking", "parcel missing", "when does {O} ship", "delivery late", "where is my order"],
    "other": ["hi", "hello?", "thanks!", "are you open sunday", "love the shop", "test", "job openings?",
              "do you sell gift cards", "ok", "good service"],
}
SHORT_HIGH = {"package never came", "parcel missing", "charged twice", "double charge!!", "unknown charge",
              "charged twice {O}", "fraud charge on my card"}


def make_order_id(rng: random.Random) -> str:
    fmt = rng.choice(ph.ORDER_ID_FORMATS)
    out = []
    for ch in fmt:
        if ch == "#":
            out.append(rng.choice("0123456789"))
        elif ch == "@":
            out.append(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789"))
        else:
            out.append(ch)
    return "".join(out)


def product_pool(split: str) -> list[str]:
    # eval draws from the whole catalogue, so a quarter of its products are never seen in training
    return ph.PRODUCTS if split == "eval" else ph.split_pool(ph.PRODUCTS, "train")


class _Builder:
    """Renders one ticket; holds the RNG and the split's phrase pools."""

    def __init__(self, rng: random.Random, split: str):
        self.rng = rng
        self.split = split
        self.products = product_pool(split)

    def pick(self, pool: list, sub: bool = True):
        return self.rng.choice(ph.split_pool(pool, self.split) if sub else pool)

    def intent(self, exclude: str | None = None) -> str:
        names = [k for k in INTENT_WEIGHTS if k != exclude]
        return self.rng.choices(names, weights=[INTENT_WEIGHTS[k] for k in names])[0]

    def product_name(self, intent: str) -> str:
        pool = [p for p in self.products if p in ph.DEVICES] if intent == "tech_support" else self.products
        name = self.rng.choice(pool)
        return name.lower() if self.rng.random() < 0.15 else name

    def core_template(self, intent: str) -> tuple[str, bool]:
        """A sentence template for ``intent`` (with ``{P}``) and whether its reason is a high trigger."""
        if intent in ph.REQUESTS:
            request = self.pick(ph.REQUESTS[intent])
            reason, high = self.pick(ph.REASONS[intent])
            text = self.pick(ph.PATTERNS).format(request=request, reason=reason)
            return text, high
        template, high = self.pick(ph.CORE[intent])
        if self.rng.random() < 0.25:
            template = f"{template.rstrip('?.')}, {self.pick(ph.SUFFIXES)}"
        return template, high

    def core_sentence(self, intent: str, name_product: bool, spec: TicketSpec) -> tuple[str, Issue]:
        template, high = self.core_template(intent)
        slots = template.count("{P}")
        if slots:
            if name_product and spec.product is None:
                spec.product = self.product_name(intent)
                filler = self.rng.choice([P, P, f"my {P}", f"my {P}", f"the {P}"])
            else:
                filler = self.rng.choice(ph.GENERIC_NOUN[intent])
            template = template.replace("{P}", filler, 1).replace("{P}", "it")
        return template, Issue(intent, high)

    def order_clause(self, spec: TicketSpec) -> str:
        spec.order_id = make_order_id(self.rng)
        return self.pick(ph.ORDER_CLAUSES).replace("{O}", O)

    def base(self, spec: TicketSpec, *, intent: str | None = None, order_p: float | None = None,
             product_p: float = 0.6) -> list[str]:
        """Sentences of a plain single-issue ticket (fills ``spec`` as it goes)."""
        intent = intent or self.intent()
        sentence, issue = self.core_sentence(intent, self.rng.random() < product_p, spec)
        spec.issues.append(issue)
        if order_p is None:
            order_p = {"tech_support": 0.3, "other": 0.1}.get(intent, 0.7)
        parts = [sentence]
        if self.rng.random() < order_p:
            clause = self.order_clause(spec)
            parts.insert(self.rng.choice([0, 1]), clause)
        if self.rng.random() < 0.15:
            spec.urgent = True
            parts.append(self.pick(ph.URGENCY))
        return parts

    def assemble(self, parts: list[str], opener: bool = True, closer: bool = True) -> str:
        parts = [_sentence(p) for p in parts if p]
        if opener:
            parts.insert(0, self.pick(ph.OPENERS))
        if closer:
            parts.append(self.pick(ph.CLOSERS))
        return " ".join(p for p in parts if p)


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:] if text[0].isalpha() else text
    return text if text[-1] in ".!?:" else text + "."


# --- categories: each returns the message text with placeholders and fills the spec -----------------


def cat_clean(b: _Builder, spec: TicketSpec) -> str:
    return b.assemble(b.base(spec), opener=b.rng.random() < 0.7, closer=b.rng.random() < 0.6)


def cat_typos(b: _Builder, spec: TicketSpec) -> str:
    return add_typos(b.rng, cat_clean(b, spec), rate=b.rng.uniform(0.15, 0.35))


def pasted_answer(b: _Builder) -> str:
    """A complete answer in the output format, drawn at random (so nearly always wrong), pasted into the message.

    Train only: the robustness suite showed the tuned model copying such a paste (its ``pasted_json``
    attack), and prose injections never look like the output format. The eval split never gets one,
    so its items are unchanged.
    """
    intent = b.rng.choice(INTENTS)
    question = b.rng.choice([None, None, QUESTIONS.get(intent), QUESTIONS["product"]])
    fake = {"intent": intent, "priority": b.rng.choice(PRIORITIES),
            "entities": {"order_id": b.rng.choice([None, make_order_id(b.rng)]),
                         "product": b.rng.choice([None, b.rng.choice(b.products), "banana"])},
            "needs_clarification": question is not None, "clarifying_question": question}
    body = json.dumps(fake, separators=(",", ":")) if b.rng.random() < 0.6 else json.dumps(fake)
    return f"{b.rng.choice(ph.PASTE_LEADS)}{body}"


def cat_injection(b: _Builder, spec: TicketSpec) -> str:
    parts = b.base(spec)
    pasted = b.split == "train" and b.rng.random() < PASTED_SHARE  # no RNG draw for eval: its items stay as they were
    inj = pasted_answer(b) if pasted else b.pick(ph.INJECTIONS)
    parts.insert(b.rng.randint(0, len(parts)), inj)
    return b.assemble(parts, opener=b.rng.random() < 0.5, closer=b.rng.random() < 0.5)


def cat_multi_intent(b: _Builder, spec: TicketSpec) -> str:
    first = b.intent(exclude="other")
    second = b.intent(exclude=first)
    name_first = b.rng.random() < 0.5
    s1, i1 = b.core_sentence(first, name_first, spec)
    s2, i2 = b.core_sentence(second, not name_first and b.rng.random() < 0.7, spec)
    spec.issues += [i1, i2]
    parts = [s1]
    if b.rng.random() < 0.6:
        parts.append(b.order_clause(spec))
    parts.append(b.pick(ph.CONNECTORS) + s2)
    if b.rng.random() < 0.12:
        spec.urgent = True
        parts.append(b.pick(ph.URGENCY))
    return b.assemble(parts, opener=b.rng.random() < 0.6, closer=b.rng.random() < 0.5)


def cat_missing_info(b: _Builder, spec: TicketSpec) -> str:
    intent = b.rng.choice(["refund", "cancel", "billing", "shipping", "tech_support"])
    return b.assemble(b.base(spec, intent=intent, order_p=0.0, product_p=0.3), opener=b.rng.random() < 0.6)


def cat_noise(b: _Builder, spec: TicketSpec) -> str:
    text = cat_clean(b, spec)
    for _ in range(b.rng.choice([1, 1, 2])):
        block = b.pick(ph.NOISE_BLOCKS)
        text = f"{block}\n\n{text}" if b.rng.random() < 0.4 else f"{text}\n\n{block}"
    return text


def cat_shouting(b: _Builder, spec: TicketSpec) -> str:
    return cat_clean(b, spec).upper().rstrip(".") + b.rng.choice(["!!!", "!!", "!!!!!", " !!!"])


def cat_slang(b: _Builder, spec: TicketSpec) -> str:
    text = cat_clean(b, spec).lower()
    for word, subs in ph.SLANG.items():
        if word in text and b.rng.random() < 0.8:
            text = text.replace(word, b.rng.choice(subs))
    fillers = ph.split_pool(ph.SLANG_FILLERS, b.split)
    return f"{b.rng.choice(fillers)} {text} {b.rng.choice(fillers)}".replace(".", "")


def cat_keyboard_mash(b: _Builder, spec: TicketSpec) -> str:
    mash = ph.split_pool(ph.MASH, b.split)
    if b.rng.random() < 0.25:  # nothing but mash: no supported request
        spec.issues.append(Issue("other"))
        return " ".join(b.rng.choice(mash) for _ in range(b.rng.randint(1, 4)))
    parts = b.base(spec)
    parts.insert(b.rng.randint(0, len(parts)), b.rng.choice(mash))
    return b.assemble(parts, opener=False, closer=False)


def cat_very_short(b: _Builder, spec: TicketSpec) -> str:
    intent = b.intent()
    template = b.pick(SHORT[intent])
    spec.issues.append(Issue(intent, template in SHORT_HIGH))
    if "{P}" in template:
        spec.product = b.rng.choice([p for p in b.products if len(p) <= 14])
        template = template.replace("{P}", P)
    if "{O}" in template:
        spec.order_id = make_order_id(b.rng)
        template = template.replace("{O}", O)
    return template


def cat_very_long(b: _Builder, spec: TicketSpec) -> str:
    stories = ph.split_pool(ph.STORIES, b.split)
    parts = b.rng.sample(stories, k=min(len(stories), b.rng.randint(3, 4)))
    parts[1:1] = b.base(spec)
    text = b.assemble(parts)
    if b.rng.random() < 0.5:
        text += "\n\n" + b.pick(ph.NOISE_BLOCKS)
    return text


RENDERERS: dict[str, Callable[[_Builder, TicketSpec], str]] = {
    "clean": cat_clean, "typos": cat_typos, "injection": cat_injection, "multi_intent": cat_multi_intent,
    "missing_info": cat_missing_info, "noise": cat_noise, "shouting": cat_shouting, "slang": cat_slang,
    "keyboard_mash": cat_keyboard_mash, "very_short": cat_very_short, "very_long": cat_very_long,
}


def add_typos(rng: random.Random, text: str, rate: float) -> str:
    """Swap, drop, double or fat-finger letters in ``rate`` of the words; entities and urgency words stay intact."""
    words = text.split(" ")
    for i, w in enumerate(words):
        core = w.strip(".,!?:;").lower()
        if len(core) < 3 or P in w or O in w or core in URGENCY_WORDS or rng.random() > rate:
            continue
        j = rng.randrange(1, len(w) - 1)
        kind = rng.randrange(4)
        if kind == 0:
            w = w[:j] + w[j + 1] + w[j] + w[j + 2:]
        elif kind == 1:
            w = w[:j] + w[j + 1:]
        elif kind == 2:
            w = w[:j] + w[j] + w[j:]
        else:
            w = w[:j] + rng.choice(ph.KEY_NEIGHBOURS.get(w[j].lower(), w[j])) + w[j + 1:]
        words[i] = w
    return " ".join(words)


def generate_ticket(rng: random.Random, split: str, category: str) -> tuple[str, dict]:
    """One ``(message, label)`` pair of ``category`` from ``split``'s phrase pools."""
    spec = TicketSpec(issues=[])
    text = RENDERERS[category](_Builder(rng, split), spec)
    message = text.replace(P, spec.product or "").replace(O, spec.order_id or "")
    return message, label_for(spec, message)


def generate_split(n: int, split: str, seed: int) -> list[tuple[str, dict, str]]:
    """``n`` tickets as ``(message, label, category)``; eval is balanced over categories, train weighted."""
    rng = random.Random(f"support_ticket/{split}/{seed}")
    if split == "eval":
        cats = [CATEGORIES[i % len(CATEGORIES)] for i in range(n)]
        rng.shuffle(cats)
    else:
        cats = rng.choices(list(TRAIN_WEIGHTS), weights=list(TRAIN_WEIGHTS.values()), k=n)
    return [(*generate_ticket(rng, split, c), c) for c in cats]
