"""The AI receptionist's conversation: engines (offline now, LLM later) acting only through `Tools`."""
