"""Traditional (pre-platform) systems for the traditional-vs-unified comparison (issue 11): static keys,
app-level checks, a hand-rolled login service, one log per system."""
