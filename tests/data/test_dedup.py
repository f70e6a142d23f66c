"""Exact and near duplicates, and train rows that leak an eval prompt: hand-made cases."""

from lorakit.data.dedup import contaminated, dedup, ngrams, words

BASE = "my order ORD-12345 never arrived and I would like a refund for the blue kettle please"


def test_words_and_ngrams_ignore_case_and_punctuation():
    assert words("Hello, World! hello") == ["hello", "world", "hello"]
    assert ngrams("a b c d", 3) == {"a b c", "b c d"}


def test_the_first_occurrence_stays_exact_and_near_copies_go_with_what_they_copy():
    texts = [BASE,
             BASE.upper() + "!",  # the same words: an exact duplicate
             BASE + " today",  # one word more: near duplicate (Jaccard of word 5-grams 13/14)
             "where is the invoice for march, I cannot find it in the portal anywhere at all"]
    keep, dropped = dedup(texts)
    assert keep == [0, 3]
    assert dropped[0] == {"index": 1, "reason": "exact duplicate", "of": 0}
    assert dropped[1]["index"] == 2 and dropped[1]["of"] == 0 and dropped[1]["reason"].startswith("near duplicate")


def test_a_train_prompt_leaks_by_copy_or_by_a_shared_13_gram():
    eval_prompts = [BASE]
    train = [BASE.lower(),  # the same prompt
             "hello " + BASE,  # holds all 16 words of the eval prompt: shares its 13-grams
             "my order never arrived",  # too short to share a 13-gram
             "a completely different message about changing the delivery address of an order before it ships"]
    assert contaminated(train, eval_prompts) == {0: "same prompt as an eval row",
                                                 1: "shares a 13-gram with an eval prompt"}
