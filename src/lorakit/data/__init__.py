"""Data: tasks and their generators, chat JSONL loading, the ``gen`` verb."""
