"""The requester portal: one-time e-mail sign-in links, the contact's view of tickets,
approvals by representatives and the resolution loop (confirm, rate, reopen)."""
