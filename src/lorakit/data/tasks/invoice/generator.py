"""Deterministic generator of invoice messages and their bookkeeping records.

The second example task: a schema unlike the support ticket's (numbers, a date normalised to
ISO, an array of objects). Every value in a label is either copied from the message or a
fixed normalisation of it (date -> YYYY-MM-DD, currency symbol -> ISO code, status phrase ->
enum); the stated total is the sum of the line items. Train and eval draw vendors, items,
templates and phrasings from disjoint pools (every fourth entry goes to eval).
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from lorakit.data.tasks.pools import split_pool

CATEGORIES = ("clean", "email", "table", "missing_fields", "chatty")

VENDORS = [
    "Acme Supplies", "Nordlicht GmbH", "Blue Harbor Ltd", "Kite & Co", "Pixelworks Studio", "Greenleaf Catering",
    "Summit Office Furniture", "Bright Spark Electric", "Atlas Freight", "Maple Print Shop", "Orbit Cloud Services",
    "Riverside Plumbing", "Helvetia Treuhand AG", "Tokyo Design Lab", "Lumen Lighting", "Crescent Legal LLP",
    "Falcon IT Consulting", "Oak & Iron Joinery", "Polar Cooling Systems", "Sunrise Bakery", "Vertex Analytics",
    "Harbor View Hotel", "Cobalt Security", "Meadow Florists", "Quantum Labs", "Redwood Landscaping",
    "Silverline Couriers", "Tandem Translation", "Urban Coffee Roasters", "Willow Cleaning Co",
]

ITEMS = [
    "A4 paper (box)", "Toner cartridge", "Consulting hours", "Website hosting (monthly)", "Desk chair", "Catering for 20",
    "Delivery fee", "USB-C cable", "Logo design", "Laptop stand", "Cleaning service", "Legal review",
    "Annual software licence", "Translation per page", "Coffee beans 1kg", "Flower arrangement", "Server maintenance",
    "Security audit", "Business cards (500)", "Conference room rental", "Monitor 27 inch", "Installation labour",
    "Spare parts kit", "Printer repair", "Training session", "Shipping pallet", "Data backup service",
    "Ergonomic keyboard", "Window cleaning", "Travel expenses",
]

CURRENCIES = {"USD": ["$", "USD "], "EUR": ["€", "EUR "], "GBP": ["£", "GBP "], "CHF": ["CHF "], "JPY": ["¥", "JPY "]}

STATUS = {
    "paid": ["paid in full", "payment received, thank you", "settled", "already paid by card", "paid via bank transfer",
             "marked as paid", "we received your payment", "fully paid"],
    "unpaid": ["payment due within 30 days", "awaiting payment", "please pay by the due date", "not yet paid",
               "payable on receipt", "due at the end of the month", "open, to be paid", "outstanding"],
    "overdue": ["this invoice is past due", "payment is overdue", "overdue since last month", "second reminder: unpaid",
                "now 15 days late", "final notice, payment overdue", "past its due date", "late, please pay now"],
    "partially_paid": ["deposit received, balance due", "partially paid", "half paid so far", "first instalment paid",
                       "part payment received", "balance still open after deposit", "paid in part",
                       "remaining amount outstanding"],
}

INVOICE_FORMATS = ["INV-{n5}", "{y}-{n4}", "#{n6}", "RE{n5}", "F{y}/{n3}", "INV{n4}-{L}", "No. {n5}", "{L}{L}-{n4}"]

DATE_FORMATS = ["iso", "day_month", "month_day", "dotted"]

INTROS = ["Here is the invoice from {V}.", "Invoice from {V} attached below.", "{V} sent us this invoice.",
          "Please book this invoice from {V}.", "New bill from {V}:", "Forwarding an invoice by {V}.",
          "Got this one from {V} today.", "Invoice received - vendor: {V}.", "{V} billed us as follows.",
          "For the books: an invoice from {V}.", "Supplier {V} has invoiced us.", "Booking request, vendor {V}."]

ITEM_LINES = ["{q} x {d} at {p}", "{d}: {q} @ {p}", "{q} units of {d}, {p} each", "{d} (qty {q}) - {p} per unit",
              "{q} pcs {d} for {p} each", "{d}, quantity {q}, unit price {p}", "{q} × {d} @ {p}",
              "{d} - {q} at {p} apiece"]

CHATTY = ["hey, can you log this? ", "quick one: ", "fyi ", "sorry for the delay, ", "hi! another bill: ",
          "for accounting pls: ", "ok so ", "reminder to file this: "]


def _fmt_money(amount: float, cur: str, rng: random.Random) -> str:
    sym = rng.choice(CURRENCIES[cur])
    return sym + (f"{amount:,.0f}" if cur == "JPY" else f"{amount:,.2f}")


def _fmt_date(d: date, style: str) -> str:
    if style == "iso":
        return d.isoformat()
    if style == "day_month":
        return f"{d.day} {d.strftime('%B')} {d.year}"
    if style == "month_day":
        return f"{d.strftime('%b')} {d.day}, {d.year}"
    return f"{d.day:02d}.{d.month:02d}.{d.year}"


def _invoice_number(rng: random.Random, fmt: str, year: int) -> str:
    return fmt.format(n3=rng.randint(100, 999), n4=rng.randint(1000, 9999), n5=rng.randint(10000, 99999),
                      n6=rng.randint(100000, 999999), y=year, L=rng.choice("ABCDEFGHKLMNPRSTUVWXYZ"))


def generate_invoice(rng: random.Random, split: str, category: str) -> tuple[str, dict]:
    vendor = rng.choice(split_pool(VENDORS, split))
    cur = rng.choice(list(CURRENCIES))
    items = []
    for desc in rng.sample(split_pool(ITEMS, split), rng.randint(1, 4)):
        qty = rng.choice([1, 1, 2, 3, 4, 5, 10, 12, 20])
        price = float(rng.randint(1, 400) * 100) if cur == "JPY" else round(rng.randint(100, 60000) / 100, 2)
        items.append({"description": desc, "quantity": qty, "unit_price": price})
    total = round(sum(i["quantity"] * i["unit_price"] for i in items), 2)
    status = rng.choice(list(STATUS))
    d = date(2025, 1, 1) + timedelta(days=rng.randint(0, 600))
    number = _invoice_number(rng, rng.choice(split_pool(INVOICE_FORMATS, split)), d.year)
    missing = category == "missing_fields"
    drop_number = missing and rng.random() < 0.7
    drop_date = missing and (not drop_number or rng.random() < 0.5)
    label = {"vendor": vendor, "invoice_number": None if drop_number else number,
             "date": None if drop_date else d.isoformat(), "currency": cur, "line_items": items,
             "total": int(total) if total == int(total) else total, "status": status}
    for it in items:
        if it["unit_price"] == int(it["unit_price"]):
            it["unit_price"] = int(it["unit_price"])

    money = lambda x: _fmt_money(x, cur, rng)  # noqa: E731
    head = rng.choice(split_pool(INTROS, split)).format(V=vendor)
    meta = []
    if not drop_number:
        meta.append(rng.choice(["Invoice {N}", "invoice no. {N}", "ref {N}", "Invoice number: {N}"]).format(N=number))
    if not drop_date:
        meta.append(rng.choice(["dated {D}", "issued {D}", "date: {D}", "from {D}"]).format(
            D=_fmt_date(d, rng.choice(DATE_FORMATS))))
    status_text = rng.choice(split_pool(STATUS[status], split))
    total_text = rng.choice(["Total {T}.", "Total due: {T}.", "Amount: {T}.", "Grand total {T}."]).format(T=money(total))
    if category == "table":
        rows = "\n".join(f"| {i['description']} | {i['quantity']} | {money(i['unit_price'])} |" for i in items)
        body = f"| item | qty | unit price |\n|---|---|---|\n{rows}"
    else:
        lines = split_pool(ITEM_LINES, split)
        body = "; ".join(rng.choice(lines).format(q=i["quantity"], d=i["description"], p=money(i["unit_price"]))
                         for i in items)
    text = f"{head} {', '.join(meta)}{'.' if meta else ''}\n{body}\n{total_text} Status: {status_text}."
    if category == "email":
        text = (f"From: billing@{vendor.split()[0].lower().strip('&')}.example\nSubject: Your invoice\n\n"
                f"Dear customer,\n\n{text}\n\nKind regards,\n{vendor} accounts team")
    elif category == "chatty":
        text = rng.choice(split_pool(CHATTY, split)) + text.replace("\n", " ")
    return text, label


def generate_split(n: int, split: str, seed: int) -> list[tuple[str, dict, str]]:
    """``n`` invoices as ``(message, label, category)``, categories balanced."""
    rng = random.Random(f"invoice/{split}/{seed}")
    cats = [CATEGORIES[i % len(CATEGORIES)] for i in range(n)]
    rng.shuffle(cats)
    return [(*generate_invoice(rng, split, c), c) for c in cats]
