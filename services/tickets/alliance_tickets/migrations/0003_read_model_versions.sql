-- Registry events carry a version per merchant and person; handlers run concurrently, so the read
-- model keeps the highest version seen instead of trusting arrival order.
ALTER TABLE merchant_directory ADD COLUMN version integer NOT NULL DEFAULT 1;
ALTER TABLE people_directory ADD COLUMN version integer NOT NULL DEFAULT 1;
