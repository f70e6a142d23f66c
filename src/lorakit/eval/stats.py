"""Statistics that hold: bootstrap intervals per metric, McNemar's exact test and permutation tests for paired models.

Written out rather than imported: each is a few lines over per-item values, and scipy or
statsmodels would add ~100 MB for them.
"""

from __future__ import annotations

import math
import warnings


def bootstrap_cis(per_item: dict[str, list], *, n_boot: int = 2000, seed: int = 0,
                  level: float = 0.95) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap interval of the mean of each metric's per-item values.

    All metrics share the same resampled item sets, so intervals are consistent with each other;
    a fixed seed makes them reproducible. ``None`` marks an item a metric does not apply to
    (a free-text item has no label accuracy); it is left out of that metric's means.
    """
    import numpy as np

    n = len(next(iter(per_item.values()), []))
    if n == 0:
        return {k: (0.0, 0.0) for k in per_item}
    idx = np.random.default_rng(seed).integers(0, n, size=(n_boot, n))
    out = {}
    for name, values in per_item.items():
        arr = np.asarray([np.nan if v is None else float(v) for v in values])
        if np.isnan(arr).all():
            continue
        with np.errstate(invalid="ignore"):
            means = np.nanmean(arr[idx], axis=1)
        means = np.sort(means[~np.isnan(means)])
        if not len(means):
            continue
        lo = means[int((1 - level) / 2 * len(means))]
        hi = means[min(len(means) - 1, int((1 + level) / 2 * len(means)))]
        out[name] = (float(lo), float(hi))
    return out


def paired_test(a: list, b: list) -> dict:
    """The right paired test for a metric: McNemar for booleans, the permutation test otherwise.

    ``None`` marks an item a metric does not apply to. When that is a property of the item (a
    free-text item has no label accuracy) both arms skip it and McNemar runs on the rest. When it
    depends on the model (refusal precision counts the items each model refused), the metric is
    two ratios over different items: McNemar on the items both refused would always find them
    agreeing, so :func:`permutation_test` recomputes both ratios instead.
    """
    same_items = all((x is None) == (y is None) for x, y in zip(a, b))
    pairs = [(x, y) for x, y in zip(a, b) if x is not None and y is not None]
    if same_items and all(isinstance(x, bool) and isinstance(y, bool) for x, y in pairs):
        return mcnemar([x for x, _ in pairs], [y for _, y in pairs])
    return permutation_test(a, b)


def permutation_test(a: list, b: list, *, n_perm: int = 5000, seed: int = 0) -> dict:
    """Paired permutation test of ``mean(b) - mean(a)`` (two-sided, seeded); each mean skips its ``None`` items.

    Under the null the arms are exchangeable item by item, so each item's two outcomes are swapped
    with probability 1/2 and both means recomputed. With no ``None`` this is the sign-flip test on
    the per-item differences. ``a_only`` / ``b_only``: items both arms score where a / b is higher.
    """
    import numpy as np

    arr_a = np.asarray([np.nan if x is None else float(x) for x in a])
    arr_b = np.asarray([np.nan if y is None else float(y) for y in b])
    keep = ~(np.isnan(arr_a) & np.isnan(arr_b))
    arr_a, arr_b = arr_a[keep], arr_b[keep]
    with np.errstate(invalid="ignore"):
        a_only, b_only = int((arr_a > arr_b).sum()), int((arr_b > arr_a).sum())

    def diff(x, y):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a draw with no items on one side: counted as 0
            return np.nan_to_num(np.nanmean(y, axis=-1) - np.nanmean(x, axis=-1))

    observed = float(diff(arr_a, arr_b)) if len(arr_a) else 0.0
    if not observed:
        return {"a_only": a_only, "b_only": b_only, "p_value": 1.0, "significant": False}
    swap = np.random.default_rng(seed).random((n_perm, len(arr_a))) < 0.5
    null = np.abs(diff(np.where(swap, arr_b, arr_a), np.where(swap, arr_a, arr_b)))
    p = float((np.sum(null >= abs(observed) - 1e-12) + 1) / (n_perm + 1))
    return {"a_only": a_only, "b_only": b_only, "p_value": p, "significant": p < 0.05}


def mcnemar(a: list[bool], b: list[bool]) -> dict:
    """McNemar's exact test on paired verdicts: does ``b`` differ from ``a`` beyond chance?

    Only discordant items count: ``a_only`` (a right, b wrong) and ``b_only``. Under the null each
    discordant item is a fair coin, so the two-sided p-value is a binomial tail.
    """
    a_only = sum(1 for x, y in zip(a, b) if x and not y)
    b_only = sum(1 for x, y in zip(a, b) if y and not x)
    n = a_only + b_only
    if n == 0:
        p = 1.0
    else:
        k = min(a_only, b_only)
        p = min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n)
    return {"a_only": a_only, "b_only": b_only, "p_value": p, "significant": p < 0.05}


def next_token_kl(base, tuned, tok, conversations: list[list[dict]], answers: list[str], device: str = "cpu") -> dict:
    """Mean KL(tuned || base) of the next-token distributions over the answer positions.

    Both models read the same text (the prompt and the expected answer, teacher-forced), so the
    number measures how far the adapter moved the model's predictions where it matters: 0 means
    unchanged behaviour. Also returns the KL at the first answer token alone.
    """
    import torch
    import torch.nn.functional as F

    total, positions, first = 0.0, 0, []
    for conv, answer in zip(conversations, answers):
        prompt = tok.apply_chat_template(conv, add_generation_prompt=True, tokenize=False)
        p_ids = tok(prompt, add_special_tokens=False)["input_ids"]
        a_ids = tok(answer, add_special_tokens=False)["input_ids"]
        ids = torch.tensor([p_ids + a_ids], device=device)
        span = slice(len(p_ids) - 1, len(p_ids) + len(a_ids) - 1)  # positions that predict answer tokens
        with torch.inference_mode():
            lp_t = F.log_softmax(tuned(ids).logits[0, span].float(), dim=-1)
            lp_b = F.log_softmax(base(ids).logits[0, span].float(), dim=-1)
        kl = (lp_t.exp() * (lp_t - lp_b)).sum(-1)
        total += float(kl.sum())
        positions += kl.numel()
        first.append(float(kl[0]))
    return {"kl_mean": total / max(positions, 1), "kl_first_token": sum(first) / max(len(first), 1),
            "items": len(answers), "positions": positions}


def runs_bootstrap_diff(a_runs: list[list], b_runs: list[list], *, n_boot: int = 2000, seed: int = 0,
                        level: float = 0.95) -> tuple[float, float]:
    """Interval of ``mean(b) - mean(a)`` for two arms of several runs each (one per training seed), on the same items.

    Each arm's value is the mean over its runs of each run's mean over items (``None``: the metric does not apply
    to that item in that run, left out, as in ``overall``). Two levels are resampled together, seeded: each arm's
    runs (with replacement, within the arm), then the items (the same draw for every run of both arms, since they
    are paired). So the interval holds the seed's noise as well as the items', which an interval over items
    alone hides: one run of a small model moves several points with the seed. With one run per arm only the
    items vary.
    """
    import numpy as np

    a = np.asarray([[np.nan if v is None else float(v) for v in run] for run in a_runs])
    b = np.asarray([[np.nan if v is None else float(v) for v in run] for run in b_runs])
    rng = np.random.default_rng(seed)
    n = a.shape[1]
    items = rng.integers(0, n, size=(n_boot, n))
    ra = rng.integers(0, len(a), size=(n_boot, len(a)))
    rb = rng.integers(0, len(b), size=(n_boot, len(b)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a draw where a run has no applicable item
        mean_a = np.nanmean(a[:, items], axis=2)  # (runs, draws): each run's mean on each draw's items
        mean_b = np.nanmean(b[:, items], axis=2)
        diffs = (np.nanmean(np.take_along_axis(mean_b, rb.T, axis=0), axis=0)
                 - np.nanmean(np.take_along_axis(mean_a, ra.T, axis=0), axis=0))
    diffs = np.sort(diffs[~np.isnan(diffs)])
    if not len(diffs):
        return (0.0, 0.0)
    lo = diffs[int((1 - level) / 2 * len(diffs))]
    hi = diffs[min(len(diffs) - 1, int((1 + level) / 2 * len(diffs)))]
    return (float(lo), float(hi))
