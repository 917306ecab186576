"""What happens when a clock runs late: escalation rules, vendor engagements, budgets."""
