-- The operator console (SPEC §8): everyone's channel sales in one status, newest first, paged by id
-- (`channel_sales_in`); without it the page walked the primary key and filtered out the other
-- statuses (most rows are completed sales).
CREATE INDEX channel_sales_status_idx ON channel_sales (status, id);
