-- Version 2. Visits, the bulk of what phones push, carry the id of the mutation that recorded
-- them: HQ writes no separate `mutation` row for an applied visit (the visit row is its record,
-- and a resent one is recognised by it). Rows that existed before keep their mutation rows.
ALTER TABLE visit ADD COLUMN mutation_id TEXT;
