"""Who can do what: users, roles, groups, vendors, API tokens."""
