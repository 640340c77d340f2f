"""The way in: webhooks and push ingest are committed to the inbox, then processed."""
