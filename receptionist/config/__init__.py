"""Settings and the practice file: what the product is told, read once."""
