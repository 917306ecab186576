"""The knowledge base's database side: articles and their lifecycle, use on tickets, votes,
must-read broadcasts, problems and known errors, portal self-service, and the outbox that keeps
the search index (``kb/``) in step. See docs/ARCHITECTURE.md, "Knowledge base"."""
