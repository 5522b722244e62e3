-- The teams a person belongs to (团队): the names the tickets service routes demands to when no
-- single person is proposed (its ROUTING_RULES: bank-liaisons, government-liaisons,
-- service-centre, party-branches, or a unit named for a child task). An administrator keeps them
-- with register_person / update_person; resolve_audience(team=...) lists a team's members.
ALTER TABLE people ADD COLUMN teams text[] NOT NULL DEFAULT '{}';
CREATE INDEX people_teams ON people USING gin (teams);
