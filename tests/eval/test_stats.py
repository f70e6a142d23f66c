"""Bootstrap intervals and McNemar's exact test against hand-computed values."""

from __future__ import annotations

import math

from lorakit.eval.stats import bootstrap_cis, mcnemar, paired_test, permutation_test, runs_bootstrap_diff


def test_bootstrap_of_a_constant_is_a_point():
    assert bootstrap_cis({"m": [True] * 50, "z": [False] * 50}) == {"m": (1.0, 1.0), "z": (0.0, 0.0)}


def test_bootstrap_matches_the_normal_approximation_on_a_known_case():
    values = [True, False] * 200  # p = 0.5, n = 400: normal interval 0.5 +- 1.96 * sqrt(0.25 / 400) = +-0.049
    lo, hi = bootstrap_cis({"m": values})["m"]
    half = 1.96 * math.sqrt(0.25 / 400)
    assert abs((0.5 - lo) - half) < 0.012 and abs((hi - 0.5) - half) < 0.012
    assert bootstrap_cis({"m": values}) == bootstrap_cis({"m": values})  # seeded: reproducible


def test_mcnemar_exact_p_values_by_hand():
    # 5 discordant items all favour b: p = 2 * C(5,0) / 2^5 = 0.0625, not significant
    r = mcnemar([False] * 5 + [True] * 10, [True] * 15)
    assert (r["a_only"], r["b_only"]) == (0, 5) and math.isclose(r["p_value"], 0.0625) and not r["significant"]
    # 1 vs 9: p = 2 * (C(10,0) + C(10,1)) / 2^10 = 22 / 1024
    a = [True] + [False] * 9
    b = [False] + [True] * 9
    r = mcnemar(a, b)
    assert math.isclose(r["p_value"], 22 / 1024) and r["significant"]
    assert mcnemar([True, False], [True, False]) == {"a_only": 0, "b_only": 0, "p_value": 1.0, "significant": False}


def test_kl_is_zero_for_the_same_model_and_positive_after_a_change(tiny_model_dir):
    import torch

    from lorakit.eval.stats import next_token_kl
    from lorakit.models import load_model

    a, tok, _ = load_model(tiny_model_dir)
    b, _, _ = load_model(tiny_model_dir)
    convs = [[{"role": "user", "content": "hello"}], [{"role": "user", "content": "a longer message here"}]]
    answers = ['{"intent":"other"}', '{"intent":"refund"}']
    same = next_token_kl(a, b, tok, convs, answers)
    assert same["kl_mean"] == 0.0 and same["items"] == 2 and same["positions"] >= 8
    with torch.no_grad():
        b.get_output_embeddings().weight.mul_(3.0)  # sharper distributions: a different model
    assert next_token_kl(a, b, tok, convs, answers)["kl_mean"] > 0.01


def _exact_swap_p(a, b):
    """The swap test's p-value by enumerating all 2^n swaps (small n only)."""
    import itertools

    def diff(x, y):
        mx, my = [v for v in x if v is not None], [v for v in y if v is not None]
        return (sum(my) / len(my) if my else 0.0) - (sum(mx) / len(mx) if mx else 0.0)

    observed = abs(diff(a, b))
    hits = total = 0
    for mask in itertools.product([False, True], repeat=len(a)):
        x = [bi if s else ai for ai, bi, s in zip(a, b, mask)]
        y = [ai if s else bi for ai, bi, s in zip(a, b, mask)]
        hits += abs(diff(x, y)) >= observed - 1e-12
        total += 1
    return hits / total


def test_a_ratio_over_model_dependent_items_gets_the_permutation_test():
    # refusal precision: each arm's value exists only where that arm refused. b refuses 12 items, all due;
    # a refuses 12 others, 3 of them due. The two sets share no item, so dropping every item one arm left out
    # (the former behaviour) compared nothing and always said p = 1.
    a = [True] * 3 + [False] * 9 + [None] * 12
    b = [None] * 12 + [True] * 12
    r = paired_test(a, b)
    assert (r["a_only"], r["b_only"]) == (0, 0)  # no item scored by both
    assert r["significant"] and r["p_value"] < 0.01
    assert paired_test(b, b) == {"a_only": 0, "b_only": 0, "p_value": 1.0, "significant": False}


def test_permutation_test_matches_exact_enumeration():
    # model-dependent None: both ratios recomputed under every swap
    a = [True, False, None, True, False, None, True, False, None, False]
    b = [True, True, True, None, True, None, None, True, False, True]
    r = permutation_test(a, b, n_perm=20000)
    assert math.isclose(r["p_value"], _exact_swap_p(a, b), abs_tol=0.015)
    assert 0.05 < r["p_value"] < 1  # a real difference on 10 items, not significant
    assert (r["a_only"], r["b_only"]) == (0, 4)  # of the 5 items both score, b is higher on 4
    # F1-type scores on the same items: the sign-flip test on per-item differences
    f_a, f_b = [0.2, 0.5, 0.1, 0.9, 0.4, 0.3, 0.0, 0.6], [0.6, 0.5, 0.7, 0.8, 0.9, 0.3, 0.5, 0.9]
    r = paired_test(f_a, f_b)
    assert math.isclose(r["p_value"], _exact_swap_p(f_a, f_b), abs_tol=0.015)
    assert (r["a_only"], r["b_only"]) == (1, 5)


def test_runs_bootstrap_of_a_constant_shift_is_a_point():
    a = [[0.2, 0.5, None, 1.0], [0.2, 0.5, None, 1.0]]
    b = [[0.3, 0.6, None, 1.1], [0.3, 0.6, None, 1.1]]  # every item 0.1 higher in every run: no noise anywhere
    lo, hi = runs_bootstrap_diff(a, b)
    assert math.isclose(lo, 0.1) and math.isclose(hi, 0.1)


def test_runs_bootstrap_holds_the_seeds_noise_that_an_item_interval_hides():
    # the same 40 items; within each arm the two runs differ by a whole 0.2 on every item (a seed's offset),
    # and the arms' means are equal (0.5 both): only resampling the runs can see that spread
    items = [0.4, 0.6] * 20
    a = [[v - 0.1 for v in items], [v + 0.1 for v in items]]
    b = [list(items), list(items)]
    lo, hi = runs_bootstrap_diff(a, b)
    assert lo < -0.05 and hi > 0.05  # draws of both low runs or both high runs: -/+0.1
    assert runs_bootstrap_diff(a, b) == (lo, hi)  # seeded
    one_run = runs_bootstrap_diff([items], [items])
    assert one_run == (0.0, 0.0)  # one identical run per arm: only the items vary, and they are paired
