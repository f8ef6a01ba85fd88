"""Webhooks: signed POSTs on recording and task events, delivered through the queue (docs/webhooks.md)."""
