"""Attachments (evidence): photos, plans and documents on items, reviews, conventions and meetings."""
