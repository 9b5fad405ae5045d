package directory_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"function/functions/directory"
	"function/pkg/events"
	"function/pkg/handler"
	"function/pkg/store"
)

// openStore opens a store in a temporary folder.
func openStore(t *testing.T) *store.SQLite {
	t.Helper()

	s, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "users.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// newHandler returns a directory handler over repo.
func newHandler(t *testing.T, repo directory.Repository) *directory.Handler {
	t.Helper()

	h, err := directory.New(repo, nil)
	require.NoError(t, err)
	return h
}

var t0 = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)

// ada returns user u-1 at version v, named name.
func ada(v int64, name string) events.UserEvent {
	return events.UserEvent{ID: "u-1", Name: name, Email: "ada@example.com", Version: v,
		CreatedAt: t0, UpdatedAt: t0.Add(time.Duration(v) * time.Hour)}
}

// delivery is one event handed to the handler.
type delivery struct {
	typ  string
	user events.UserEvent
}

// TestHandle_KeepsNewestState pins the state each delivery order leaves.
func TestHandle_KeepsNewestState(t *testing.T) {
	created, updated, deleted := events.TypeUserCreated, events.TypeUserUpdated,
		events.TypeUserDeleted
	tests := []struct {
		name       string
		deliveries []delivery
		want       *events.UserEvent
	}{
		{"created", []delivery{{created, ada(1, "Ada")}}, new(ada(1, "Ada"))},
		{"updated", []delivery{{created, ada(1, "Ada")}, {updated, ada(2, "Ada L.")}},
			new(ada(2, "Ada L."))},
		{"update before create", []delivery{{updated, ada(2, "Ada L.")},
			{created, ada(1, "Ada")}}, new(ada(2, "Ada L."))},
		{"duplicate update", []delivery{{created, ada(1, "Ada")}, {updated, ada(2, "Ada L.")},
			{updated, ada(2, "Ada L.")}}, new(ada(2, "Ada L."))},
		{"deleted", []delivery{{created, ada(1, "Ada")}, {deleted, ada(2, "")}}, nil},
		{"older update after delete", []delivery{{created, ada(1, "Ada")},
			{deleted, ada(3, "")}, {updated, ada(2, "Ada L.")}}, nil},
		{"delete first", []delivery{{deleted, ada(3, "")}, {created, ada(1, "Ada")},
			{updated, ada(2, "Ada L.")}}, nil},
		{"recreated after delete", []delivery{{created, ada(1, "Ada")},
			{deleted, ada(2, "")}, {created, ada(3, "Ada")}}, new(ada(3, "Ada"))},
		{"other types ignored", []delivery{{created, ada(1, "Ada")},
			{"com.example.users.user.suspended", ada(2, "X")}}, new(ada(1, "Ada"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t)
			h := newHandler(t, s)

			for i, d := range tt.deliveries {
				m := handler.Meta{ID: fmt.Sprint("e-", i), Source: "/s", Type: d.typ}
				require.NoError(t, h.Handle(context.Background(), m, d.user))
			}

			got, err := s.User(context.Background(), "u-1")
			if tt.want == nil {
				assert.ErrorIs(t, err, store.ErrNotFound, "got %+v", got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, *tt.want, got)
		})
	}
}

// brokenRepo fails every write.
type brokenRepo struct{}

var errDisk = errors.New("disk I/O error")

func (brokenRepo) UpsertUser(context.Context, events.UserEvent) (bool, error) {
	return false, errDisk
}

func (brokenRepo) DeleteUser(context.Context, events.UserEvent) (bool, error) {
	return false, errDisk
}

// TestHandle_RepositoryFailureIsTransient pins that a failing database gets
// the event retried.
func TestHandle_RepositoryFailureIsTransient(t *testing.T) {
	h := newHandler(t, brokenRepo{})

	for _, typ := range []string{events.TypeUserCreated, events.TypeUserDeleted} {
		err := h.Handle(context.Background(), handler.Meta{Type: typ}, ada(1, "Ada"))

		assert.Equal(t, handler.StatusTransient, handler.StatusOf(err), "%s: %v", typ, err)
		assert.ErrorIs(t, err, errDisk)
	}
}

// TestNew_RequiresRepository pins the constructor's refusal.
func TestNew_RequiresRepository(t *testing.T) {
	_, err := directory.New(nil, nil)
	assert.Error(t, err)
}
