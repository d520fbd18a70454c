"""Support budgets: time spent on tickets against each community's hours per period."""
