"""The acceptance suite of whole English calls: data files in `en/`, the fixture practice, the harness."""
