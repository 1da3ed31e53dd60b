-- Discovery's newest-first order is by the later of registration and last listing (SPEC §3).
ALTER TABLE nfts ADD COLUMN listed_at TIMESTAMPTZ;
