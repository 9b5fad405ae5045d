-- The users directory, its tombstones, and the events handlers have processed.
-- Times are TEXT in UTC, RFC 3339 with nine fractional digits, so they sort
-- and compare as text.

-- +goose Up
CREATE TABLE users (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    email      TEXT NOT NULL,
    version    INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

-- A deleted user leaves its version here, so an older event delivered after
-- the delete cannot bring the user back.
CREATE TABLE user_tombstones (
    id         TEXT PRIMARY KEY,
    version    INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT NOT NULL
) STRICT;

-- One row per event a handler acted on, keyed by CloudEvents source and id.
CREATE TABLE processed_events (
    handler      TEXT NOT NULL,
    source       TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    processed_at TEXT NOT NULL,
    PRIMARY KEY (handler, source, event_id)
) STRICT;

-- +goose Down
DROP TABLE processed_events;
DROP TABLE user_tombstones;
DROP TABLE users;
