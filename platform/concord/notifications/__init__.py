"""In-app notifications and signed webhooks."""
