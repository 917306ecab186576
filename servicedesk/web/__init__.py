"""Cross-cutting HTTP glue: auth decorators, the API parent blueprint, templating helpers."""
