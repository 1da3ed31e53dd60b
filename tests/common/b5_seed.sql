-- QUALITY.md's B5 market, seeded in SQL into a migrated, empty database. `{nfts}`, `{users}`,
-- `{ledger}` and `{events}` are replaced before it runs (the benchmark: 1,000,000 / 100,000 /
-- 5,000,000 / 2,000,000; the plan test: a smaller market of the same shape).
--
-- The shape: 100 collections of skewed size ("c00" is the biggest); in each, 50 models, 50
-- backdrops and 50 symbols whose frequencies fall off like Telegram's (the most common value of
-- an attribute is ~10-20 times as frequent as the rarest), `rarity_per_mille` being the value's
-- true share; numbers 1..n within a collection; owners skewed (a few holders of thousands, most of
-- a handful); 30 % listed at prices that depend on the collection and on the rarity of the model;
-- 2 % withdrawn; registrations spread over a year, listings later. Ledger entries are balanced
-- deposit pairs and the balances agree with them; market events are time-ordered (UUIDv7 ids).

SET synchronous_commit = off;

INSERT INTO users (id, username, created_at)
SELECT u, 'u' || u, now() - interval '400 days' + u * interval '1 second' FROM generate_series(1, {users}) u;

-- Attribute values per kind: index k in 0..49 is drawn as floor(50 * random() ^ p), so its share is
-- ((k+1)/50)^(1/p) - (k/50)^(1/p).
CREATE TEMP TABLE b5_attr AS
SELECT kind, k, p,
       initcap(kind) || ' ' || lpad(k::text, 2, '0') AS name,
       round(1000 * (power((k + 1) / 50.0, 1 / p) - power(k / 50.0, 1 / p)))::smallint AS rarity
  FROM (VALUES ('model', 2.0), ('backdrop', 1.5), ('symbol', 1.8)) v(kind, p), generate_series(0, 49) k;

CREATE TEMP TABLE b5_nft AS
SELECT i,
       floor(100 * power(random(), 1.6))::int AS c,
       floor(50 * power(random(), 2.0))::int AS m,
       floor(50 * power(random(), 1.5))::int AS b,
       floor(50 * power(random(), 1.8))::int AS s,
       1 + floor({users} * power(random(), 2.0))::bigint AS owner,
       random() < 0.30 AS listed,
       random() < 0.02 AS withdrawn,
       now() - interval '365 days' + (i::float8 / {nfts}) * interval '360 days' AS created_at,
       random() AS r
  FROM generate_series(1, {nfts}) i;

-- The rows come in one statement: the counts of attribute values are added up once afterwards
-- rather than by the trigger row by row.
ALTER TABLE nfts DISABLE TRIGGER nfts_attribute_counts_insert;
INSERT INTO nfts (id, gift_id, title, collection, owner_id, price, status, created_at, number,
                  model, model_rarity, backdrop, backdrop_rarity, symbol, symbol_rarity, listed_at)
SELECT gen_random_uuid(), 'b5-' || n.i, 'C' || lpad(n.c::text, 2, '0') || ' #' || n.num,
       'c' || lpad(n.c::text, 2, '0'), n.owner,
       CASE WHEN n.listed AND NOT n.withdrawn
            THEN round(((1 + n.c / 10.0) * (2 + 40 * power(n.r, 3)) * (1 + (150 - ma.rarity) / 50.0))::numeric, 2) END,
       CASE WHEN n.withdrawn THEN 'withdrawn' ELSE 'available' END,
       n.created_at, n.num,
       ma.name, ma.rarity, ba.name, ba.rarity, sa.name, sa.rarity,
       CASE WHEN n.listed AND NOT n.withdrawn THEN n.created_at + n.r * interval '5 days' END
  FROM (SELECT *, row_number() OVER (PARTITION BY c ORDER BY i) AS num FROM b5_nft) n
  JOIN b5_attr ma ON ma.kind = 'model' AND ma.k = n.m
  JOIN b5_attr ba ON ba.kind = 'backdrop' AND ba.k = n.b
  JOIN b5_attr sa ON sa.kind = 'symbol' AND sa.k = n.s;
ALTER TABLE nfts ENABLE TRIGGER nfts_attribute_counts_insert;
INSERT INTO nft_attribute_counts AS a (collection, kind, name, rarity_per_mille, count)
SELECT collection, kind, name, min(rarity), count(*)
  FROM nfts, LATERAL (VALUES ('model', model, model_rarity), ('backdrop', backdrop, backdrop_rarity),
                             ('symbol', symbol, symbol_rarity)) v(kind, name, rarity)
 WHERE gift_id LIKE 'b5-%' AND status <> 'withdrawn' AND name IS NOT NULL
 GROUP BY collection, kind, name
ON CONFLICT (collection, kind, name) DO UPDATE
   SET count = a.count + EXCLUDED.count, rarity_per_mille = LEAST(a.rarity_per_mille, EXCLUDED.rarity_per_mille);

-- Balanced deposit pairs: {ledger} entries in all.
INSERT INTO ledger_entries (id, operation_id, operation, user_id, account, amount, reference, created_at)
SELECT (lpad(to_hex((extract(epoch FROM t) * 1000)::bigint), 12, '0') || '7000' || '8' || x.side
        || lpad(to_hex(o), 14, '0'))::uuid,
       ('00000000-0000-4000-8000-' || lpad(to_hex(o), 12, '0'))::uuid, 'deposit',
       CASE WHEN x.side = '1' THEN u END, CASE WHEN x.side = '1' THEN 'available' ELSE 'external' END,
       CASE WHEN x.side = '1' THEN a ELSE -a END, 'b5-' || o, t
  FROM (SELECT o, 1 + floor({users} * power(random(), 1.5))::bigint AS u, round((1 + 99 * random())::numeric, 2) AS a,
               now() - interval '365 days' + (o::float8 / ({ledger} / 2)) * interval '360 days' AS t
          FROM generate_series(1, {ledger} / 2) o) d,
       (VALUES ('0'), ('1')) x(side);

UPDATE users SET available = s.total
  FROM (SELECT user_id, sum(amount) AS total FROM ledger_entries WHERE user_id IS NOT NULL GROUP BY user_id) s
 WHERE users.id = s.user_id;

-- Market events, oldest first; 10 % private (offers received).
INSERT INTO market_events (id, kind, collection, nft_id, price, recipient, created_at)
SELECT (lpad(to_hex((extract(epoch FROM t) * 1000)::bigint), 12, '0') || '70008' || lpad(to_hex(e), 15, '0'))::uuid,
       k.kind, 'c' || lpad(floor(100 * power(random(), 1.6))::text, 2, '0'), gen_random_uuid(),
       CASE WHEN k.kind IN ('unlisted', 'offer_received') THEN NULL ELSE round((1 + 50 * random())::numeric, 2) END,
       CASE WHEN k.kind = 'offer_received' THEN 1 + floor({users} * random())::bigint END, t
  FROM (SELECT e, now() - interval '30 days' + (e::float8 / {events}) * interval '30 days' AS t,
               floor(10 * random())::int AS pick
          FROM generate_series(1, {events}) e) ev
  JOIN (VALUES (0, 'listed'), (1, 'listed'), (2, 'sold'), (3, 'sold'), (4, 'price_changed'), (5, 'unlisted'),
               (6, 'offer_made'), (7, 'offer_accepted'), (8, 'auction_bid'), (9, 'offer_received')) k(pick, kind)
    ON k.pick = ev.pick;

DROP TABLE b5_attr;
DROP TABLE b5_nft;

-- The panels' listed counts, folded as a running service folds them (migration 0022).
SELECT nft_listed_fold(2147483647);
