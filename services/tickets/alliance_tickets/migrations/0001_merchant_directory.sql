-- Read model of the registry's merchants, kept current from registry events.
CREATE TABLE merchant_directory (
    merchant_id uuid PRIMARY KEY,
    shop_name   text NOT NULL,
    district_id text NOT NULL,
    status      text NOT NULL
);
