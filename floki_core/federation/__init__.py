"""This appliance as one site of a trust hub: its committed events, kept in the outbox
(``floki_core.storage.outbox``), sent to the hub's NATS JetStream (docs/federation.md)."""
