"""Second example task: an invoice in an e-mail or chat message -> a bookkeeping JSON record.

It exists to prove that nothing in lorakit is specific to support tickets: its schema has
numbers, a normalised date, and an array of objects, and the same gen / train / eval / report
pipeline (metrics derived from the schema) runs on it unchanged.
"""

from __future__ import annotations

import json
from importlib import resources

from lorakit.data.tasks.base import Task
from lorakit.data.tasks.invoice.generator import generate_split

SCHEMA = json.loads(resources.files(__package__).joinpath("schema.json").read_text(encoding="utf-8"))

TRAIN_PROMPT = "Extract the invoice into invoice JSON."

FULL_PROMPT = """You extract the invoice described in a message into one JSON object and output nothing else.
Keys, in this order:
{"vendor": ..., "invoice_number": ..., "date": ..., "currency": ..., "line_items": [{"description": ..., "quantity": ..., "unit_price": ...}], "total": ..., "status": ...}
Rules:
- vendor: the company that issued the invoice, as written.
- invoice_number: as written (without words like "Invoice" or "No."), else null.
- date: the invoice date as YYYY-MM-DD, else null.
- currency: USD for $, EUR for €, GBP for £, JPY for ¥, CHF for CHF.
- line_items: every item in the order given; quantity an integer, unit_price a number without currency or thousands separators.
- total: the stated total as a number.
- status: paid, unpaid, overdue or partially_paid.
Example output:
{"vendor":"Acme Supplies","invoice_number":"INV-20411","date":"2025-03-04","currency":"EUR","line_items":[{"description":"Toner cartridge","quantity":2,"unit_price":45.5}],"total":91,"status":"unpaid"}"""

TASK = Task(
    name="invoice",
    schema=SCHEMA,
    train_prompt=TRAIN_PROMPT,
    full_prompt=FULL_PROMPT,
    generate=lambda n, split, seed: generate_split(n, split, seed),
)
