-- The three business districts, the alliance's organisations and the merchant register.

CREATE TABLE districts (
    id               text PRIMARY KEY,
    name             text    NOT NULL,
    name_en          text    NOT NULL,
    is_alliance_base boolean NOT NULL DEFAULT false
);
INSERT INTO districts (id, name, name_en, is_alliance_base) VALUES
    ('wholesale_city', '德百物流批发城', 'Debai Logistics Wholesale City', true),
    ('aodele',         '澳德乐时代广场', 'Aodele Times Square',             false),
    ('outlets',        '德百奥莱广场',   'Debai Outlets Plaza',             false);

CREATE TABLE organisations (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    name_en     text NOT NULL,
    type        text NOT NULL CHECK (type IN ('alliance', 'party_branch', 'street_committee',
                    'government_department', 'bank', 'education_institution', 'enterprise')),
    parent_id   text REFERENCES organisations (id),
    district_id text REFERENCES districts (id)
);
INSERT INTO organisations (id, name, name_en, type, parent_id, district_id) VALUES
    ('songguantun_committee', '宋官屯街道党工委', 'Songguantun Street Party Working Committee',
        'street_committee', NULL, NULL),
    ('debai_group', '德百集团', 'Debai Group', 'enterprise', NULL, NULL),
    ('alliance', '红星德百商圈党建联盟', 'Red Star Debai Business-District Party-Building Alliance',
        'alliance', 'songguantun_committee', 'wholesale_city'),
    ('branch_wholesale_city', '德百物流批发城党支部', 'Wholesale City Party Branch',
        'party_branch', 'alliance', 'wholesale_city'),
    ('branch_aodele', '澳德乐时代广场党支部', 'Aodele Times Square Party Branch',
        'party_branch', 'alliance', 'aodele'),
    ('branch_outlets', '德百奥莱广场党支部', 'Outlets Plaza Party Branch',
        'party_branch', 'alliance', 'outlets');

CREATE TABLE merchants (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    shop_name       text NOT NULL,
    district_id     text NOT NULL REFERENCES districts (id),
    unit_no         text,
    category        text NOT NULL,
    credit_code     char(18) NOT NULL UNIQUE,
    contact_phone   text,
    online_shop_url text,
    status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'closed')),
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX merchants_district ON merchants (district_id);
