"""The practice's other doors: online booking, intake forms and the practice-management system (issue 8)."""
