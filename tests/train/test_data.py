from lorakit.data.chat import ChatExample
from lorakit.train.data import IGNORE, batch_order, collate, tokenize_example


def _ex(answer="{\"a\":1}"):
    return ChatExample(messages=[{"role": "system", "content": "sys"}, {"role": "user", "content": "hello there"},
                                 {"role": "assistant", "content": answer}])


def test_only_answer_tokens_are_labelled(smollm2_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(smollm2_dir)
    t = tokenize_example(_ex(), tok, 512)
    labelled = [i for i, l in zip(t.input_ids, t.labels) if l != IGNORE]
    assert tok.decode(labelled).startswith('{"a":1}<|im_end|>')
    n_prompt = t.labels.index(next(l for l in t.labels if l != IGNORE))
    assert tok.decode(t.input_ids[:n_prompt]).endswith("<|im_start|>assistant\n")


def test_long_prompts_are_cut_from_the_left_and_long_answers_skipped(smollm2_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(smollm2_dir)
    long_user = ChatExample(messages=[{"role": "user", "content": "word " * 400},
                                      {"role": "assistant", "content": "ok"}])
    t = tokenize_example(long_user, tok, 64)
    assert len(t.input_ids) == 64 and t.labels[-1] != IGNORE
    assert tokenize_example(_ex("x " * 200), tok, 64) is None


def test_batch_order_is_deterministic_and_covers_every_item():
    lengths = [(i * 37) % 101 for i in range(300)]
    a = batch_order(lengths, 16, seed=1, epoch=0)
    assert a == batch_order(lengths, 16, seed=1, epoch=0)
    assert a != batch_order(lengths, 16, seed=1, epoch=1)
    assert sorted(i for b in a for i in b) == list(range(300))


def test_batch_order_groups_by_length_unless_told_not_to():
    import random

    lengths = [random.Random(i).randint(10, 500) for i in range(1024)]
    grouped = batch_order(lengths, 8, seed=3, epoch=0)
    plain = batch_order(lengths, 8, seed=3, epoch=0, group_by_length=False)
    assert plain == batch_order(lengths, 8, seed=3, epoch=0, group_by_length=False)  # exact resume
    assert sorted(i for b in plain for i in b) == list(range(1024)) and all(len(b) == 8 for b in plain)

    def padded(order):  # padding to each batch's longest row, as collate pads
        return sum(max(lengths[i] for i in b) * len(b) for b in order) - sum(lengths)

    assert padded(grouped) < 0.05 * sum(lengths) < padded(plain)
    rng = random.Random("3/0")  # the rows in the seed's shuffled order, cut into batches: HF's random sampler
    idx = list(range(1024))
    rng.shuffle(idx)
    assert plain == [idx[i:i + 8] for i in range(0, 1024, 8)]


def test_collate_pads_right_to_a_multiple_of_8():
    from lorakit.train.data import Tokenized

    ids, labels, mask = collate([Tokenized([1, 2, 3], [IGNORE, 2, 3]), Tokenized([4] * 9, [4] * 9)], pad_id=0)
    assert ids.shape == (2, 16)
    assert mask[0].tolist()[:4] == [1, 1, 1, 0] and labels[0, 3:].eq(IGNORE).all()
