"""Sources of customers and orders: Shopify over its Admin API, push stores over ingest."""
