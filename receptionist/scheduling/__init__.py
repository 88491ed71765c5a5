"""The schedule: open slots per location and provider, and booking into them without double-booking."""
