import json
import re
from collections import Counter

import pytest
from jsonschema import Draft202012Validator

from lorakit.data.gen import gen
from lorakit.data.tasks import get_task
from lorakit.data.tasks.support_ticket import generator
from lorakit.data.tasks.support_ticket import phrases as ph
from lorakit.data.tasks.support_ticket.generator import CATEGORIES, add_typos, generate_split
from lorakit.data.tasks.support_ticket.policy import QUESTIONS, Issue, TicketSpec, label_for
from lorakit.errors import ConfigError

TASK = get_task("support_ticket")


@pytest.fixture(scope="module")
def splits():
    return {s: generate_split(1500, s, seed=0) for s in ("train", "eval")}


def test_generation_is_deterministic_for_a_seed():
    assert generate_split(50, "train", 3) == generate_split(50, "train", 3)
    assert generate_split(50, "train", 3) != generate_split(50, "train", 4)


def test_every_label_validates_against_the_schema_in_key_order(splits):
    v = Draft202012Validator(TASK.schema)
    for rows in splits.values():
        for _, label, _ in rows:
            assert not list(v.iter_errors(label))
            assert list(label) == list(TASK.schema["properties"])
            assert list(label["entities"]) == ["order_id", "product"]


def test_labels_are_faithful_to_the_message(splits):
    for rows in splits.values():
        for msg, label, _ in rows:
            for value in label["entities"].values():
                if value is not None:
                    assert value in msg, (value, msg)
            assert label["needs_clarification"] == (label["clarifying_question"] is not None)


def test_order_ids_come_in_several_formats(splits):
    ids = [lab["entities"]["order_id"] for _, lab, _ in splits["train"] if lab["entities"]["order_id"]]
    assert any(re.fullmatch(r"ORD-\d{5}", i) for i in ids)
    shapes = {re.sub(r"\d", "9", re.sub(r"[A-Z]", "A", i))[:4] for i in ids}
    assert len(shapes) >= 4


def test_eval_is_balanced_over_all_categories(splits):
    counts = Counter(c for _, _, c in splits["eval"])
    assert set(counts) == set(CATEGORIES)
    assert max(counts.values()) - min(counts.values()) <= 1


def test_train_contains_every_hard_category(splits):
    assert set(c for _, _, c in splits["train"]) == set(CATEGORIES)


def test_phrase_pools_of_train_and_eval_are_disjoint():
    for pool in [ph.INJECTIONS, ph.NOISE_BLOCKS, ph.ORDER_CLAUSES, *ph.CORE.values()]:
        assert not set(map(str, ph.split_pool(pool, "train"))) & set(map(str, ph.split_pool(pool, "eval")))
        assert ph.split_pool(pool, "eval")


def test_injection_items_carry_an_unseen_injection_and_never_its_payload(splits):
    injected = [(m, lab) for m, lab, c in splits["eval"] if c == "injection"]
    assert injected
    eval_pool = ph.split_pool(ph.INJECTIONS, "eval")
    for msg, lab in injected:
        assert any(inj[:20].lower() in msg.lower() for inj in eval_pool), msg
        assert lab["entities"]["product"] not in {"banana", "unicorn", "toaster"}


def _pasted_answers(msg: str) -> list[dict]:
    """The complete JSON answers pasted into ``msg``."""
    found, dec, i = [], json.JSONDecoder(), msg.find('{"intent"')
    while i != -1:
        try:
            obj, end = dec.raw_decode(msg, i)
        except json.JSONDecodeError:
            obj, end = {}, i + 1
        if set(obj) == set(TASK.schema["properties"]):
            found.append(obj)
        i = msg.find('{"intent"', end)
    return found


def test_train_teaches_ignoring_a_pasted_answer_and_eval_never_has_one(splits):
    pasted = [(m, lab, _pasted_answers(m)[0]) for m, lab, c in splits["train"] if c == "injection" and _pasted_answers(m)]
    assert len(pasted) >= 20
    # the label comes from the ticket, not from the paste: pastes disagree with it on intent, order id, product
    assert any(fake["intent"] != lab["intent"] for _, lab, fake in pasted)
    assert any(fake["entities"]["order_id"] and not lab["entities"]["order_id"] for _, lab, fake in pasted)
    assert any(fake["entities"]["product"] == "banana" for _, _, fake in pasted)
    assert all(lab["entities"]["product"] != "banana" for _, lab, _ in pasted)
    assert not [m for m, _, _ in splits["eval"] if _pasted_answers(m)]


def test_pasted_answers_do_not_change_the_eval_split(monkeypatch, splits):
    # eval draws no random number for them, so its items equal those of the renderer before pastes existed
    def injection_without_pastes(b, spec):
        parts = b.base(spec)
        inj = b.pick(ph.INJECTIONS)
        parts.insert(b.rng.randint(0, len(parts)), inj)
        return b.assemble(parts, opener=b.rng.random() < 0.5, closer=b.rng.random() < 0.5)

    monkeypatch.setitem(generator.RENDERERS, "injection", injection_without_pastes)
    assert generate_split(1500, "eval", seed=0) == splits["eval"]
    assert generate_split(300, "train", seed=0) != splits["train"][:300]


def test_all_intents_and_priorities_occur(splits):
    labels = [lab for _, lab, _ in splits["eval"]]
    assert {l["intent"] for l in labels} == {"refund", "cancel", "billing", "tech_support", "shipping", "other"}
    assert {l["priority"] for l in labels} == {"low", "medium", "high"}


# --- the policy on hand-made specs ---------------------------------------------------------------


def test_high_priority_issue_wins_over_first_mentioned():
    spec = TicketSpec(issues=[Issue("tech_support"), Issue("billing", high=True)], order_id="ORD-12345")
    lab = label_for(spec, "my app crashes. Also I was charged twice, order ORD-12345")
    assert (lab["intent"], lab["priority"]) == ("billing", "high")


def test_first_mentioned_wins_when_both_or_neither_are_high():
    both = TicketSpec(issues=[Issue("shipping", True), Issue("billing", True)], order_id="W123456789")
    assert label_for(both, "x" * 50)["intent"] == "shipping"
    urgent = TicketSpec(issues=[Issue("cancel"), Issue("billing", True)], urgent=True, order_id="W1")
    assert label_for(urgent, "x" * 50)["intent"] == "cancel"


def test_plain_cancellation_is_low_and_urgent_one_high():
    assert label_for(TicketSpec([Issue("cancel")], order_id="ORD-1"), "x" * 50)["priority"] == "low"
    assert label_for(TicketSpec([Issue("cancel")], urgent=True, order_id="ORD-1"), "x" * 50)["priority"] == "high"
    assert label_for(TicketSpec([Issue("tech_support")]), "x" * 50)["priority"] == "medium"


def test_clarification_questions_follow_the_policy():
    lab = label_for(TicketSpec([Issue("shipping")]), "where is my parcel, it has been ages since I ordered")
    assert lab["needs_clarification"] and lab["clarifying_question"] == QUESTIONS["shipping"]
    short = label_for(TicketSpec([Issue("tech_support")]), "app crashes")
    assert short["clarifying_question"] == QUESTIONS["product"]
    long_tech = label_for(TicketSpec([Issue("tech_support")]), "the app crashes every single time I open the settings")
    assert not long_tech["needs_clarification"] and long_tech["clarifying_question"] is None
    named = label_for(TicketSpec([Issue("tech_support")], product="Pixel 8"), "Pixel 8 broken")
    assert not named["needs_clarification"]


def test_typos_never_touch_protected_placeholders():
    import random

    text = "I want a refund for \x01 now, order \x02, urgent please"
    out = add_typos(random.Random(0), text, rate=1.0)
    assert "\x01" in out and "\x02" in out and "urgent" in out and out != text


def test_gen_writes_chat_jsonl_with_record(tmp_path):
    rec = gen("support_ticket", tmp_path, n_train=20, n_eval=11, seed=1)
    assert rec["files"]["train"]["rows"] == 20 and rec["files"]["eval"]["rows"] == 11
    row = json.loads((tmp_path / "eval.jsonl").read_text().splitlines()[0])
    assert [m["role"] for m in row["messages"]] == ["system", "user", "assistant"]
    assert row["messages"][0]["content"] == TASK.train_prompt
    assert row["category"] in CATEGORIES
    assert json.loads(row["messages"][2]["content"])  # compact JSON answer


def test_unknown_task_lists_the_available_ones():
    with pytest.raises(ConfigError, match="support_ticket"):
        get_task("nope")


def test_no_phrase_outside_the_urgency_pool_carries_an_urgency_word():
    # the label's priority depends on these words, so a stray one would make labels lie
    words = re.compile(r"\b(asap|urgent\w*|immediately)\b", re.I)
    pools = [ph.OPENERS, ph.CLOSERS, ph.CONNECTORS, ph.INJECTIONS, ph.NOISE_BLOCKS, ph.STORIES, ph.SUFFIXES,
             ph.ORDER_CLAUSES, *ph.REQUESTS.values(), *[[t for t, _ in v] for v in ph.REASONS.values()],
             *[[t for t, _ in v] for v in ph.CORE.values()], ph.PATTERNS]
    for pool in pools:
        for text in pool:
            assert not words.search(text), text


def test_the_generator_fingerprint_covers_the_shared_pools_and_attacks(monkeypatch):
    """Generated data goes stale when any code that writes it changes, shared phrase pools included."""
    import lorakit.data.gen as gen_mod

    seen = []
    monkeypatch.setattr(gen_mod, "fingerprint_files", lambda files: seen.extend(files) or "x")
    gen_mod.generator_fingerprint("support_ticket")
    names = {(p.parent.name, p.name) for p in seen}
    assert {("tasks", "pools.py"), ("tasks", "attacks.py"), ("support_ticket", "schema.json")} <= names
