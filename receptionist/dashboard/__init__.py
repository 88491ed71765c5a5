"""What the staff dashboard shows, apart from the web: staff accounts, the queries behind each page, and pure
formatting. The blueprints in `web/dashboard/` stay thin over these."""
