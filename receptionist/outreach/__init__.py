"""Reactivation outreach: who to contact, through which channel, and when a contact is allowed."""
