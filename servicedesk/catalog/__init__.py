"""What tickets are about: services, categories, the impact x urgency priority matrix."""
