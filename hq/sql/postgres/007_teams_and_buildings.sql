-- Organisation beyond grids: volunteer teams of a community (a worker in one at most) and the
-- buildings under a grid.
CREATE TABLE team (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, community_id TEXT NOT NULL,
    created_ms BIGINT NOT NULL, updated_ms BIGINT NOT NULL
);
CREATE TABLE team_member (worker_id TEXT PRIMARY KEY, team_id TEXT NOT NULL);
CREATE INDEX team_member_team ON team_member (team_id);
CREATE TABLE building (
    id TEXT PRIMARY KEY, grid_id TEXT NOT NULL, name TEXT NOT NULL,
    created_ms BIGINT NOT NULL, updated_ms BIGINT NOT NULL
);
CREATE INDEX building_grid ON building (grid_id);
