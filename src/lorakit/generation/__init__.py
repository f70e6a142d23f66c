"""Batched generation and grammar-constrained decoding, shared by eval, export, serve and predict."""
