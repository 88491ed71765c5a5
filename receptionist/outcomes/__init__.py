"""Outcomes back into statistics and planning: the outcome log, live counters, attribution, stats, learning."""
