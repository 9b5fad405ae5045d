// Package directory keeps the users table current.
//
// It consumes [events.TypeUserCreated] and [events.TypeUserUpdated], which
// store the user's state, and [events.TypeUserDeleted], which removes the
// user; it ignores every other type. An event is applied only when it is
// newer than what is stored ([events.UserEvent.NewerThan]: version, then
// updated_at), so duplicate and out-of-order deliveries leave the newest
// state, and a deleted user is not brought back by an older event delivered
// late. The [Repository] keeps that rule; pkg/store implements it.
package directory

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"function/pkg/events"
	"function/pkg/handler"
	"function/pkg/topology"
)

// Name is the handler's route.
const Name = topology.DirectoryHandler

// Types lists the event types the handler acts on.
var Types = []string{events.TypeUserCreated, events.TypeUserUpdated, events.TypeUserDeleted}

// Repository stores users, applying an event only when it is newer than the
// stored state of its user, deleted users included.
type Repository interface {
	// UpsertUser stores u when newer, and reports whether it did.
	UpsertUser(ctx context.Context, u events.UserEvent) (bool, error)
	// DeleteUser removes the user when u is newer, remembering u's version,
	// and reports whether it did.
	DeleteUser(ctx context.Context, u events.UserEvent) (bool, error)
}

// Handler applies user events to a [Repository].
type Handler struct {
	repo Repository
	log  *slog.Logger
}

// New returns a handler writing to repo and logging skipped stale events at
// debug level to log (nil discards).
func New(repo Repository, log *slog.Logger) (*Handler, error) {
	if repo == nil {
		return nil, errors.New("directory: a repository is required")
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Handler{repo: repo, log: log.With("handler", Name)}, nil
}

// Handle applies u. A failing repository is a transient failure.
func (h *Handler) Handle(ctx context.Context, m handler.Meta, u events.UserEvent) error {
	var apply func(context.Context, events.UserEvent) (bool, error)
	switch m.Type {
	case events.TypeUserCreated, events.TypeUserUpdated:
		apply = h.repo.UpsertUser
	case events.TypeUserDeleted:
		apply = h.repo.DeleteUser
	default:
		return nil
	}

	applied, err := apply(ctx, u)
	if err != nil {
		return handler.Transient(fmt.Errorf("directory: %w", err))
	}
	if !applied {
		h.log.DebugContext(ctx, "stale event skipped", "event_id", m.ID, "event_type", m.Type)
	}
	return nil
}
