"""Deterministic generator of financial reasoning problems whose answers are computed, not written.

Every problem type draws its inputs at random, states them in one of several phrasings, and
builds the response from step lines ``Name = expression = value`` whose values are computed
here by :func:`~lorakit.data.tasks.finance.calc.safe_eval` (the same evaluator the metrics use),
then ``Answer: <value to 2 decimals>``. Rates appear as percentages in the question and as
decimals in the expressions. The last phrasing of every type is held out of the train split,
so the eval also measures phrasings the model never saw.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from lorakit.data.tasks.finance.calc import fmt, safe_eval

Problem = tuple[str, list[tuple[str, str]]]  # question, [(step name, expression)]


def _money(rng: random.Random, lo: int, hi: int, step: int = 50) -> int:
    return rng.randrange(lo, hi, step)


def _rate(rng: random.Random, lo: float, hi: float) -> float:
    return round(rng.uniform(lo, hi) * 4) / 4  # quarter-point rates: 3.25%, 7.5%


def _pct(r: float) -> str:
    return f"{r:g}%"


def _usd(x: float) -> str:
    return f"${x:,.0f}" if x == int(x) else f"${x:,.2f}"


def _dec(r: float) -> str:
    return f"{r / 100:.6g}"


def percent_change(rng, say) -> Problem:
    old = _money(rng, 200, 20000, 10)
    new = round(old * rng.uniform(0.5, 1.8) / 10) * 10
    thing = rng.choice(["revenue", "the share price", "monthly sales", "operating costs", "the portfolio value"])
    return say(thing=thing, old=_usd(old), new=_usd(new)), [
        ("Percent change", f"({new} - {old}) / {old} * 100")]


def cagr(rng, say) -> Problem:
    start = _money(rng, 1000, 50000)
    years = rng.randint(2, 10)
    end = round(start * rng.uniform(1.1, 3.0) / 50) * 50
    return say(start=_usd(start), end=_usd(end), years=years), [
        ("CAGR", f"(({end} / {start}) ^ (1 / {years}) - 1) * 100")]


def simple_interest(rng, say) -> Problem:
    p, r, t = _money(rng, 500, 50000), _rate(rng, 1, 12), rng.randint(1, 10)
    return say(p=_usd(p), r=_pct(r), t=t), [("Interest", f"{p} * {_dec(r)} * {t}")]


COMPOUNDING = {1: "annually", 4: "quarterly", 12: "monthly"}


def compound_interest(rng, say) -> Problem:
    p, r, t = _money(rng, 500, 50000), _rate(rng, 1, 10), rng.randint(1, 15)
    n = rng.choice(list(COMPOUNDING))
    return say(p=_usd(p), r=_pct(r), t=t, freq=COMPOUNDING[n]), [
        ("Amount", f"{p} * (1 + {_dec(r)} / {n}) ^ ({n} * {t})")]


def loan_payment(rng, say) -> Problem:
    p, r, t = _money(rng, 5000, 400000, 500), _rate(rng, 2, 9), rng.choice([3, 5, 10, 15, 20, 25, 30])
    i = safe_eval(f"{_dec(r)} / 12")
    return say(p=_usd(p), r=_pct(r), t=t), [
        ("Monthly rate", f"{_dec(r)} / 12"),
        ("Number of payments", f"{t} * 12"),
        ("Payment", f"{p} * {fmt(i)} / (1 - (1 + {fmt(i)}) ^ -{t * 12})")]


def real_return(rng, say) -> Problem:
    nominal, infl = _rate(rng, 2, 15), _rate(rng, 0.5, 8)
    return say(nominal=_pct(nominal), infl=_pct(infl)), [
        ("Real return", f"((1 + {_dec(nominal)}) / (1 + {_dec(infl)}) - 1) * 100")]


def margin(rng, say) -> Problem:
    revenue = _money(rng, 10000, 900000, 100)
    cost = round(revenue * rng.uniform(0.3, 0.95) / 100) * 100
    return say(revenue=_usd(revenue), cost=_usd(cost)), [
        ("Gross margin", f"({revenue} - {cost}) / {revenue} * 100")]


def ratio(rng, say) -> Problem:
    price = round(rng.uniform(5, 400), 2)
    eps = round(price / rng.uniform(5, 60), 2)
    return say(price=_usd(price), eps=_usd(eps)), [("P/E ratio", f"{price} / {eps}")]


def break_even(rng, say) -> Problem:
    fixed = _money(rng, 2000, 200000, 100)
    var = round(rng.uniform(2, 80), 2)
    price = round(var + rng.uniform(1, 60), 2)
    return say(fixed=_usd(fixed), price=_usd(price), var=_usd(var)), [
        ("Break-even units", f"{fixed} / ({price} - {var})")]


def present_value(rng, say) -> Problem:
    fv, r, t = _money(rng, 1000, 100000), _rate(rng, 1, 10), rng.randint(1, 20)
    return say(fv=_usd(fv), r=_pct(r), t=t), [("Present value", f"{fv} / (1 + {_dec(r)}) ^ {t}")]


def future_value(rng, say) -> Problem:
    pmt, r, t = _money(rng, 100, 20000), _rate(rng, 1, 10), rng.randint(2, 30)
    return say(pmt=_usd(pmt), r=_pct(r), t=t), [("Future value", f"{pmt} * ((1 + {_dec(r)}) ^ {t} - 1) / {_dec(r)}")]


# problem type -> (builder, phrasings); the last phrasing of each type is eval-only
TYPES: dict[str, tuple[Callable, list[str]]] = {
    "percent_change": (percent_change, [
        "{thing} went from {old} to {new}. What is the percent change?",
        "What is the percentage change if {thing} moves from {old} to {new}?",
        "Last year {thing} was {old}; this year it is {new}. By what percent did it change?",
        "Compute the % change from {old} to {new}.",
        "If {thing} was {old} and is now {new}, how much did it change in percent?",
    ]),
    "cagr": (cagr, [
        "An investment grew from {start} to {end} over {years} years. What is its CAGR?",
        "Calculate the compound annual growth rate for a value rising from {start} to {end} in {years} years.",
        "What annual growth rate, compounded, takes {start} to {end} in {years} years?",
        "Revenue was {start} and {years} years later it reached {end}. Find the CAGR in percent.",
        "Over {years} years a fund went from {start} to {end}; what was the compound annual growth rate?",
    ]),
    "simple_interest": (simple_interest, [
        "How much simple interest does {p} earn at {r} per year for {t} years?",
        "Find the simple interest on a principal of {p} at an annual rate of {r} over {t} years.",
        "A deposit of {p} earns {r} simple interest annually. What interest is earned after {t} years?",
        "Calculate the interest on {p} borrowed for {t} years at {r} simple interest.",
        "What is the total simple interest after {t} years on {p} at {r} a year?",
    ]),
    "compound_interest": (compound_interest, [
        "{p} is invested at {r} per year compounded {freq} for {t} years. What is the final amount?",
        "What will {p} grow to after {t} years at {r} annual interest, compounded {freq}?",
        "Compute the future balance of {p} at {r} a year, compounding {freq}, after {t} years.",
        "If you deposit {p} at {r} interest compounded {freq}, how much do you have after {t} years?",
        "Find the amount after {t} years for a principal of {p} at {r}, compounded {freq}.",
    ]),
    "loan_payment": (loan_payment, [
        "What is the monthly payment on a {p} loan at {r} annual interest over {t} years?",
        "A {t}-year loan of {p} carries an interest rate of {r} per year. Compute the monthly payment.",
        "Calculate the monthly installment for borrowing {p} for {t} years at {r} APR.",
        "Find the fixed monthly payment that repays {p} in {t} years at {r} a year.",
        "How much is each monthly payment on a {p} mortgage at {r} for {t} years?",
    ]),
    "real_return": (real_return, [
        "A bond returned {nominal} while inflation was {infl}. What is the real return?",
        "Compute the inflation-adjusted return for a nominal return of {nominal} and inflation of {infl}.",
        "If your investment earned {nominal} and prices rose {infl}, what was your real rate of return?",
        "Nominal return {nominal}, inflation {infl}: find the real return in percent.",
        "What is the real return when the nominal return is {nominal} and inflation is {infl}?",
    ]),
    "margin": (margin, [
        "A company had revenue of {revenue} and cost of goods sold of {cost}. What is its gross margin?",
        "Compute the gross profit margin given sales of {revenue} and COGS of {cost}.",
        "Revenue: {revenue}. Cost of sales: {cost}. What is the gross margin in percent?",
        "With {revenue} in sales and {cost} in direct costs, what percent gross margin did the firm make?",
        "Find the gross margin for a business with revenue {revenue} and cost of goods sold {cost}.",
    ]),
    "ratio": (ratio, [
        "A stock trades at {price} and its earnings per share are {eps}. What is the P/E ratio?",
        "Compute the price-to-earnings ratio for a share price of {price} and EPS of {eps}.",
        "What is the P/E of a company whose stock is {price} with EPS {eps}?",
        "Share price {price}, earnings per share {eps}: find the P/E ratio.",
        "If the EPS is {eps} and the share price is {price}, what P/E multiple does the stock trade at?",
    ]),
    "break_even": (break_even, [
        "Fixed costs are {fixed}, the selling price is {price} per unit and the variable cost is {var} per unit. "
        "What is the break-even point in units?",
        "How many units must be sold to break even with fixed costs of {fixed}, price {price} and variable cost {var}?",
        "Compute the break-even quantity: fixed costs {fixed}, unit price {price}, unit variable cost {var}.",
        "A product sells for {price} and costs {var} per unit to make; fixed costs are {fixed}. Find the break-even units.",
        "With {fixed} of fixed costs, a {price} price and {var} variable cost per unit, at how many units do we break even?",
    ]),
    "present_value": (present_value, [
        "What is the present value of {fv} received in {t} years at a discount rate of {r}?",
        "How much must you invest today at {r} per year to have {fv} in {t} years?",
        "Discount {fv} due in {t} years at {r} annually. What is it worth today?",
        "Compute the present value of a {fv} payment {t} years from now, discounted at {r}.",
        "Find today's value of {fv} to be paid after {t} years if the discount rate is {r}.",
    ]),
    "future_value": (future_value, [
        "You save {pmt} at the end of every year for {t} years at {r} interest. What is the future value?",
        "Compute the future value of an annuity of {pmt} per year for {t} years at {r}.",
        "What will annual deposits of {pmt} grow to after {t} years if they earn {r} a year?",
        "An employee puts {pmt} into a fund each year for {t} years; it earns {r}. How much is there at the end?",
        "Find the value after {t} years of yearly payments of {pmt} earning {r} annually.",
    ]),
}

CATEGORIES = tuple(TYPES)


def render(steps: list[tuple[str, str]]) -> str:
    """The response: each step with its computed value, then ``Answer:`` to 2 decimals."""
    lines, value = [], None
    for name, expr in steps:
        value = safe_eval(expr)
        if value is None:
            raise ValueError(f"generator bug: {expr!r} does not evaluate")
        lines.append(f"{name} = {expr} = {fmt(value)}")
    lines.append(f"Answer: {value:.2f}")
    return "\n".join(lines)


def generate_split(n: int, split: str, seed: int) -> list[tuple[str, str, str]]:
    """``n`` rows of (question, response, problem type), the types in rotation."""
    rng = random.Random(f"finance/{split}/{seed}")
    rows = []
    names = list(TYPES)
    for i in range(n):
        kind = names[i % len(names)]
        build, phrasings = TYPES[kind]
        pool = phrasings if split == "eval" else phrasings[:-1]
        template = rng.choice(pool)

        def say(**kw):
            text = template.format(**kw)
            return text[0].upper() + text[1:]

        question, steps = build(rng, say)
        rows.append((question, render(steps), kind))
    return rows
