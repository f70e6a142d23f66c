"""Evaluation: batched generation, schema-derived metrics, base-vs-tuned comparison, reports."""
