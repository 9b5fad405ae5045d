package events

import (
	"errors"
	"fmt"
	"time"
)

// The CloudEvents types of user events. They are stable reverse-DNS names: a
// consumer routes on them, so they never change once published.
const (
	// TypeUserCreated says a user was created.
	TypeUserCreated = "com.example.users.user.created"
	// TypeUserUpdated says a user's name or e-mail changed.
	TypeUserUpdated = "com.example.users.user.updated"
	// TypeUserDeleted says a user was deleted.
	TypeUserDeleted = "com.example.users.user.deleted"
)

// UserTypes lists every user event type, in lifecycle order.
var UserTypes = []string{TypeUserCreated, TypeUserUpdated, TypeUserDeleted}

// IsUserType reports whether t is one of [UserTypes].
func IsUserType(t string) bool {
	for _, ut := range UserTypes {
		if t == ut {
			return true
		}
	}
	return false
}

// UserEvent is the data of every user event.
//
// JSON names are snake_case. Times are encoded as RFC 3339 strings with
// nanoseconds (Go's [time.Time] JSON form) and are meant to be UTC.
//
// Version orders the events of one user: the producer of the user entity
// increments it with every change, and a consumer applies an event only when
// its version is greater than the one it holds, so duplicate and out-of-order
// deliveries leave the newest state. When two events carry the same version,
// UpdatedAt breaks the tie (see [UserEvent.NewerThan]).
type UserEvent struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Email     string    `json:"email"`
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ErrEmptyID is returned by [UserEvent.Validate] for an event without an id.
var ErrEmptyID = errors.New("events: empty entity id")

// GetId returns the user's id.
func (u UserEvent) GetId() string { return u.ID }

// Validate reports whether u can be produced or applied: the id is required,
// the version cannot be negative.
func (u UserEvent) Validate() error {
	if u.ID == "" {
		return ErrEmptyID
	}
	if u.Version < 0 {
		return fmt.Errorf("events: user %q: negative version %d", u.ID, u.Version)
	}
	return nil
}

// NewerThan reports whether u should replace a stored state with the given
// version and update time: a greater version wins, and at an equal version a
// later UpdatedAt wins. Equal versions and times are a duplicate: not newer.
func (u UserEvent) NewerThan(version int64, updatedAt time.Time) bool {
	if u.Version != version {
		return u.Version > version
	}
	return u.UpdatedAt.After(updatedAt)
}
