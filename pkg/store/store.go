// Package store keeps the state the handlers need: the users directory and
// the ledger of processed events. [SQLite] is the embedded default, through
// the pure-Go modernc.org/sqlite driver, with its schema created at open by
// goose migrations embedded from migrations/sqlite.
//
// The methods are those of the ports the handlers declare
// (functions/directory.Repository, functions/welcome.Ledger), written
// against plain SQL; another database is added beside SQLite as a type with
// the same methods, its own migrations/<dialect> folder, and a run of the
// same conformance tests.
//
// # Newest state wins
//
// [SQLite.UpsertUser] and [SQLite.DeleteUser] write an event only when it is
// newer than what is stored, by [events.UserEvent.NewerThan], inside one
// transaction. A delete removes the user's row and keeps a tombstone with its
// version, so an older create or update delivered after it is ignored, and a
// newer one brings the user back.
//
// Tombstones and processed-event rows are never removed: they grow with the
// users ever deleted and the events ever mailed. Pruning them is safe only
// past the longest time an event can still be redelivered (the KafkaSource's
// retries plus the topic's retention), which this package does not know.
package store

import (
	"errors"
	"time"
)

// ErrNotFound is returned by [SQLite.User] for a user that is not stored.
var ErrNotFound = errors.New("store: not found")

// timeLayout stores times as fixed-width UTC text, so they compare as text.
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// formatTime returns t in the stored layout.
func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// parseTime reads a time in the stored layout.
func parseTime(s string) (time.Time, error) { return time.Parse(timeLayout, s) }
