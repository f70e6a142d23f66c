"""Policy documents: build a realistic test PDF, parse PDFs into structured blocks, chunk them."""
