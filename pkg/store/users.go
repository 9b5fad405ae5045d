package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"function/pkg/events"
)

// UpsertUser stores u as the user's current state when u is newer than the
// stored user or tombstone, and reports whether it did. A newer create or
// update of a deleted user removes its tombstone.
func (s *SQLite) UpsertUser(ctx context.Context, u events.UserEvent) (bool, error) {
	return s.applyIfNewer(ctx, u, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx,
			`DELETE FROM user_tombstones WHERE id = ?`, u.ID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `
			INSERT INTO users (id, name, email, version, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET
				name = excluded.name, email = excluded.email, version = excluded.version,
				created_at = excluded.created_at, updated_at = excluded.updated_at`,
			u.ID, u.Name, u.Email, u.Version, formatTime(u.CreatedAt), formatTime(u.UpdatedAt))
		return err
	})
}

// DeleteUser removes the user when u is newer than the stored user or
// tombstone, keeping a tombstone with u's version, and reports whether it
// did. A delete of a user never stored leaves a tombstone too, so its create
// delivered late is ignored.
func (s *SQLite) DeleteUser(ctx context.Context, u events.UserEvent) (bool, error) {
	return s.applyIfNewer(ctx, u, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, u.ID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `
			INSERT INTO user_tombstones (id, version, updated_at, deleted_at)
			VALUES (?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET version = excluded.version,
				updated_at = excluded.updated_at, deleted_at = excluded.deleted_at`,
			u.ID, u.Version, formatTime(u.UpdatedAt), formatTime(time.Now()))
		return err
	})
}

// applyIfNewer runs write in a transaction when u is newer than the state
// stored for its user, and reports whether it ran.
func (s *SQLite) applyIfNewer(
	ctx context.Context,
	u events.UserEvent,
	write func(*sql.Tx) error,
) (bool, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("store: user %q: begin: %w", u.ID, err)
	}
	defer func() { _ = tx.Rollback() }()

	version, updatedAt, found, err := storedVersion(ctx, tx, u.ID)
	if err != nil {
		return false, fmt.Errorf("store: user %q: read version: %w", u.ID, err)
	}
	if found && !u.NewerThan(version, updatedAt) {
		return false, nil
	}

	if err := write(tx); err != nil {
		return false, fmt.Errorf("store: user %q: write version %d: %w", u.ID, u.Version, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("store: user %q: commit: %w", u.ID, err)
	}
	return true, nil
}

// storedVersion returns the version and update time of the user's row or
// tombstone (only one of them exists), and whether there is one.
func storedVersion(ctx context.Context, tx *sql.Tx, id string) (int64, time.Time, bool, error) {
	var (
		version   int64
		updatedAt string
	)
	err := tx.QueryRowContext(ctx, `
		SELECT version, updated_at FROM users WHERE id = ?1
		UNION ALL
		SELECT version, updated_at FROM user_tombstones WHERE id = ?1
		ORDER BY version DESC, updated_at DESC
		LIMIT 1`, id).Scan(&version, &updatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, time.Time{}, false, nil
	}
	if err != nil {
		return 0, time.Time{}, false, err
	}

	t, err := parseTime(updatedAt)
	if err != nil {
		return 0, time.Time{}, false, fmt.Errorf("stored updated_at: %w", err)
	}
	return version, t, true, nil
}

// User returns the stored user with the given id, or [ErrNotFound] when it
// was never stored or was deleted.
func (s *SQLite) User(ctx context.Context, id string) (events.UserEvent, error) {
	var (
		u                    events.UserEvent
		createdAt, updatedAt string
	)
	err := s.db.QueryRowContext(ctx, `
		SELECT id, name, email, version, created_at, updated_at FROM users WHERE id = ?`, id).
		Scan(&u.ID, &u.Name, &u.Email, &u.Version, &createdAt, &updatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return u, fmt.Errorf("user %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return u, fmt.Errorf("store: user %q: %w", id, err)
	}

	if u.CreatedAt, err = parseTime(createdAt); err != nil {
		return u, fmt.Errorf("store: user %q: created_at: %w", id, err)
	}
	if u.UpdatedAt, err = parseTime(updatedAt); err != nil {
		return u, fmt.Errorf("store: user %q: updated_at: %w", id, err)
	}
	return u, nil
}
