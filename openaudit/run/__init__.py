"""Orchestration: run options, targets, linking, worker processes and the read -> link -> audit pipeline."""
