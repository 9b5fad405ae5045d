package store

import (
	"context"
	"fmt"
	"time"
)

// Processed reports whether the named handler has marked the event with the
// given CloudEvents source and id as processed.
func (s *SQLite) Processed(ctx context.Context, handler, source, id string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `
		SELECT count(*) FROM processed_events
		WHERE handler = ? AND source = ? AND event_id = ?`, handler, source, id).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("store: %s: processed %q from %q: %w", handler, id, source, err)
	}
	return n > 0, nil
}

// MarkProcessed records that the named handler processed the event with the
// given CloudEvents source and id. Marking an event twice is not an error.
func (s *SQLite) MarkProcessed(ctx context.Context, handler, source, id string) error {
	_, err := s.db.ExecContext(ctx, `
		INSERT INTO processed_events (handler, source, event_id, processed_at)
		VALUES (?, ?, ?, ?)
		ON CONFLICT DO NOTHING`, handler, source, id, formatTime(time.Now()))
	if err != nil {
		return fmt.Errorf("store: %s: mark %q from %q: %w", handler, id, source, err)
	}
	return nil
}
