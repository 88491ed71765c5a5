"""The practice's patients: imports (CSV), the export, the scorer that runs the scoring maths on the store, the tier cache."""
