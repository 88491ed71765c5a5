"""`python -m receptionist.cli` runs the console script (the tests and `up` start processes this way)."""

from receptionist.cli import main

main()
