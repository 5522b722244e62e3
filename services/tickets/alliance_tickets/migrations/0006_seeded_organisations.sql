-- The organisations the registry seeds in its first migrations (the street committee, the Debai
-- group, the alliance and its three district branches) are never announced as organisation_added:
-- they exist before any queue could hear of them. The directory starts with them as the registry
-- has them at version 1 (no liaisons); their later changes arrive as organisation_* events of
-- version 2 and up and replace these rows like any other. A use-case test compares the two.
INSERT INTO organisation_directory (organisation_id, type, name, short_name, status, liaison_ids, version) VALUES
    ('songguantun_committee', 'street_committee', '宋官屯街道党工委', '宋官屯街道党工委', 'active', '{}', 1),
    ('debai_group', 'enterprise', '德百集团', '德百集团', 'active', '{}', 1),
    ('alliance', 'alliance', '红星德百商圈党建联盟', '商圈党建联盟', 'active', '{}', 1),
    ('branch_wholesale_city', 'party_branch', '德百物流批发城党支部', '批发城党支部', 'active', '{}', 1),
    ('branch_aodele', 'party_branch', '澳德乐时代广场党支部', '澳德乐党支部', 'active', '{}', 1),
    ('branch_outlets', 'party_branch', '德百奥莱广场党支部', '奥莱党支部', 'active', '{}', 1)
ON CONFLICT (organisation_id) DO NOTHING;
