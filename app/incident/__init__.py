"""Incidents: declare, respond, update customers on a cadence, resolve, post-mortem."""
