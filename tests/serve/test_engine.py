"""The engine's per-row stop strings and streaming hold-back (hand-computed cases) and its prefix cache on
the tiny trained run (the batching itself is tested through the real server in test_server.py)."""

from lorakit.serve.engine import _held_back, cut_at_stop


def test_an_answer_ends_before_its_first_stop_string():
    assert cut_at_stop("alpha END beta STOP", ["STOP", "END"]) == ("alpha ", True)
    assert cut_at_stop("alpha beta", ["STOP"]) == ("alpha beta", False)
    assert cut_at_stop("alpha", []) == ("alpha", False)


def test_streaming_holds_back_what_could_be_the_start_of_a_stop_string():
    assert _held_back("hello wor", ["world"]) == 3  # "wor" may become "world"
    assert _held_back("hello w", ["world", "xyz"]) == 1
    assert _held_back("hello", ["world"]) == 0
    assert _held_back("abc", []) == 0
    assert _held_back("ab", ["abcdef"]) == 2  # never more than the text itself


def test_a_recurring_system_prompt_is_encoded_once_and_changes_no_answer(trained_run):
    """fp32, base and adapter, a lone request then a batch: with the prefix cache the answers are those
    without it; the system turn is encoded once per adapter, dropped when that adapter is reloaded."""
    from lorakit.serve.engine import Engine, Job

    run_dir, cfg = trained_run
    engines = [Engine(cfg.model.name, {"ticket": run_dir}, precision="fp32", device="cpu", prefix_cache=on)
               for on in ("auto", "off")]
    system = {"role": "system", "content": "You read customer support tickets and answer with one JSON object: the "
              "intent, the priority, the product and the order id. Nothing else."}

    def answers(engine, adapter, texts):
        jobs = [Job(adapter, [system, {"role": "user", "content": t}], max_tokens=8) for t in texts]
        return [r["text"] for r in engine.run_batch(jobs)]

    for adapter in ("ticket", "base"):
        for texts in (["where is ORD-12345?"], ["refund please, it broke", "hi"], ["cancel ORD-99812 today"]):
            assert answers(engines[0], adapter, texts) == answers(engines[1], adapter, texts)
    cached = engines[0]
    assert cached.prefix_cache and not engines[1].prefix_cache  # auto: on in fp32
    assert sorted(adapter for adapter, _ in cached._prefixes) == ["base", "ticket"] and not engines[1]._prefixes
    cached.load_adapter("ticket", run_dir)  # new weights under the name: its encoded prefix is stale
    assert [adapter for adapter, _ in cached._prefixes] == ["base"]
