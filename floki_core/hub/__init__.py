"""The trust hub: every site's events, read from NATS JetStream into PostgreSQL (docs/hub.md)."""
