"""The live call path: a webhook's call flow, the caller lookup, the routing policy, call state, the call record and its journal, the whisper."""
