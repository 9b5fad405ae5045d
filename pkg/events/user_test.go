package events_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"function/pkg/events"
)

var t0 = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)

// TestUserEvent_JSON pins the wire names and the RFC 3339 time encoding,
// which every producer and consumer of the users topic relies on.
func TestUserEvent_JSON(t *testing.T) {
	u := events.UserEvent{ID: "u-1", Name: "Ada", Email: "ada@example.com", Version: 3,
		CreatedAt: t0, UpdatedAt: t0.Add(1500 * time.Millisecond)}

	b, err := json.Marshal(u)
	require.NoError(t, err)
	assert.JSONEq(t, `{"id":"u-1","name":"Ada","email":"ada@example.com","version":3,`+
		`"created_at":"2024-05-01T10:00:00Z","updated_at":"2024-05-01T10:00:01.5Z"}`, string(b))

	var back events.UserEvent
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, u, back)
}

// TestUserEvent_Validate pins that an empty id and a negative version are
// refused, and that the id is the entity key.
func TestUserEvent_Validate(t *testing.T) {
	cases := []struct {
		name string
		ev   events.UserEvent
		want error
		msg  string
	}{
		{name: "valid", ev: events.UserEvent{ID: "u-1", Version: 1}},
		{name: "empty id", ev: events.UserEvent{Name: "Ada"}, want: events.ErrEmptyID},
		{name: "negative version", ev: events.UserEvent{ID: "u-1", Version: -1},
			msg: `user "u-1": negative version -1`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.ev.Validate()
			switch {
			case tc.want != nil:
				assert.ErrorIs(t, err, tc.want)
			case tc.msg != "":
				assert.ErrorContains(t, err, tc.msg)
			default:
				assert.NoError(t, err)
				assert.Equal(t, tc.ev.ID, tc.ev.GetId())
			}
		})
	}
}

// TestUserEvent_NewerThan pins the ordering the directory applies: version
// first, update time at equal versions, equal meaning a duplicate.
func TestUserEvent_NewerThan(t *testing.T) {
	stored := struct {
		version int64
		at      time.Time
	}{2, t0}
	cases := []struct {
		name    string
		version int64
		at      time.Time
		want    bool
	}{
		{"higher version, older time", 3, t0.Add(-time.Hour), true},
		{"lower version, newer time", 1, t0.Add(time.Hour), false},
		{"same version, later time", 2, t0.Add(time.Nanosecond), true},
		{"same version, earlier time", 2, t0.Add(-time.Nanosecond), false},
		{"duplicate", 2, t0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := events.UserEvent{ID: "u-1", Version: tc.version, UpdatedAt: tc.at}
			assert.Equal(t, tc.want, u.NewerThan(stored.version, stored.at))
		})
	}
}

// TestIsUserType pins the type names, which consumers route on and which
// must never change once published.
func TestIsUserType(t *testing.T) {
	assert.Equal(t, []string{"com.example.users.user.created",
		"com.example.users.user.updated", "com.example.users.user.deleted"}, events.UserTypes)
	for _, typ := range events.UserTypes {
		assert.True(t, events.IsUserType(typ), typ)
	}
	assert.False(t, events.IsUserType("dev.knative.kafka.event"))
	assert.False(t, events.IsUserType("com.example.users.user.Created"))
}
