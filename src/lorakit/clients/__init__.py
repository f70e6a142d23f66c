"""Clients for models behind an API (an OpenAI-compatible endpoint), shared by data and eval."""
