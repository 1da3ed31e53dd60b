-- Delivered rows are purged after OUTBOX_RETENTION_HOURS; this finds them without a scan.
CREATE INDEX outbox_delivered_idx ON outbox (delivered_at) WHERE delivered_at IS NOT NULL;
