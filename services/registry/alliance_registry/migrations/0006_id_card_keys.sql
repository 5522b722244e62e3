-- ID-card keys can be rotated (domain/id_cards.py): each sealed number names the key it is sealed
-- under in its first byte (the numbers sealed before keys had ids start with 1: key 1), and its
-- lookup digest is made with the same key. The key id as a column of its own, generated from the
-- sealed value, so it can never disagree with it: the re-sealing timer finds the rows under an
-- old key by this index, and the operator's report counts the numbers under each key.
ALTER TABLE people
    ADD COLUMN id_card_key_id smallint GENERATED ALWAYS AS (get_byte(id_card_sealed, 0)) STORED;
CREATE INDEX people_id_card_key ON people (id_card_key_id, id) WHERE id_card_key_id IS NOT NULL;
