-- 相约星期五: a community's weekly meeting and its 民情清单 (residents' requests list). Each item
-- becomes a task (source weekly_meeting) owned by a unit or a worker and is tracked to closure
-- through it.
CREATE TABLE meeting (
    id TEXT PRIMARY KEY, community_id TEXT NOT NULL, held_on TEXT NOT NULL, attendees BIGINT NOT NULL,
    note TEXT, created_by TEXT NOT NULL, created_ms BIGINT NOT NULL, held_ms BIGINT NOT NULL
);
CREATE INDEX meeting_community ON meeting (community_id, held_ms);
CREATE TABLE list_item (
    id TEXT PRIMARY KEY, meeting_id TEXT NOT NULL, n BIGINT NOT NULL, topic TEXT NOT NULL,
    raised_by TEXT, household_id TEXT, task_id TEXT NOT NULL
);
CREATE INDEX list_item_meeting ON list_item (meeting_id, n);
