"""What customers think and ask for: CSAT surveys on resolution, unmet requests at intake."""
