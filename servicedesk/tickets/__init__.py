"""The incident record and its lifecycle."""
