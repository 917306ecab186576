"""Read-only analytics for managers: SQL aggregates, dashboards, drill-down, export."""
