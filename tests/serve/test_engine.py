"""The engine's per-row stop strings and streaming hold-back: hand-computed cases (the batching itself is
tested through the real server in test_server.py)."""

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
