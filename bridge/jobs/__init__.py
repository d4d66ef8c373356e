"""Tasks: each one is gather -> plan (bridge.domain) -> apply -> record, returning a TaskReport."""
