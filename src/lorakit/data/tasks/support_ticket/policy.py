"""The labelling policy of the support-ticket task, as code.

The generator builds a ticket from a :class:`TicketSpec` (what the customer wants, what
they mention) and labels it with :func:`label_for`; the label never looks at injected
instructions, only at the facts the message really contains.
"""

from __future__ import annotations

from dataclasses import dataclass, field

INTENTS = ("refund", "cancel", "billing", "tech_support", "shipping", "other")
PRIORITIES = ("low", "medium", "high")
NEEDS_ORDER_ID = frozenset({"refund", "cancel", "billing", "shipping"})
SHORT_MESSAGE_CHARS = 40

QUESTIONS = {
    "refund": "Can you share your order ID so I can process the refund?",
    "cancel": "Can you share your order ID so I can cancel it for you?",
    "billing": "Can you share your order ID or the charge details (date and last 4 digits) so I can investigate?",
    "shipping": "Can you share your order ID and the delivery address ZIP code so I can check the shipment status?",
    "product": "Which product is this about, and what exactly is the issue?",
}


@dataclass
class Issue:
    """One thing the customer asks for; ``high`` when its reason is a high-priority trigger."""

    intent: str
    high: bool = False


@dataclass
class TicketSpec:
    issues: list[Issue]
    urgent: bool = False
    order_id: str | None = None
    product: str | None = None
    tags: list[str] = field(default_factory=list)


def primary_issue(issues: list[Issue], urgent: bool) -> Issue:
    """The issue that on its own would be high priority wins; if both or neither would be, the first."""
    if urgent:
        return issues[0]
    highs = [i for i in issues if i.high]
    return highs[0] if len(highs) == 1 else issues[0]


def priority_of(issue: Issue, urgent: bool) -> str:
    if urgent or issue.high:
        return "high"
    return "low" if issue.intent == "cancel" else "medium"


def label_for(spec: TicketSpec, message: str) -> dict:
    """The gold JSON for ``message`` written from ``spec``; keys in the schema's order."""
    main = primary_issue(spec.issues, spec.urgent)
    question = None
    if main.intent in NEEDS_ORDER_ID and spec.order_id is None:
        question = QUESTIONS[main.intent]
    elif (
        main.intent in ("refund", "tech_support")
        and spec.product is None
        and len(message.strip()) < SHORT_MESSAGE_CHARS
    ):
        question = QUESTIONS["product"]
    return {
        "intent": main.intent,
        "priority": priority_of(main, spec.urgent),
        "entities": {"order_id": spec.order_id, "product": spec.product},
        "needs_clarification": question is not None,
        "clarifying_question": question,
    }
