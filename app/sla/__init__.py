"""SLAs: business calendars (pure clock), policies, per-ticket clocks, the breach sweep and reports."""
