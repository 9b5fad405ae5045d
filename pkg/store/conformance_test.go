package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"function/pkg/events"
	"function/pkg/store"
)

// repository is what every store adapter offers; the conformance tests below
// run against each adapter so they all behave alike.
type repository interface {
	UpsertUser(ctx context.Context, u events.UserEvent) (bool, error)
	DeleteUser(ctx context.Context, u events.UserEvent) (bool, error)
	User(ctx context.Context, id string) (events.UserEvent, error)
	Processed(ctx context.Context, handler, source, id string) (bool, error)
	MarkProcessed(ctx context.Context, handler, source, id string) error
}

var t0 = time.Date(2024, 5, 1, 10, 0, 0, 123456789, time.UTC)

// user returns the state of user id at version v, updated v minutes after t0.
func user(id string, v int64) events.UserEvent {
	return events.UserEvent{
		ID: id, Name: "Ada", Email: "ada@example.com", Version: v,
		CreatedAt: t0, UpdatedAt: t0.Add(time.Duration(v) * time.Minute),
	}
}

// op is one event applied to a repository.
type op struct {
	deleted bool
	u       events.UserEvent
}

func (o op) apply(ctx context.Context, r repository) (bool, error) {
	if o.deleted {
		return r.DeleteUser(ctx, o.u)
	}
	return r.UpsertUser(ctx, o.u)
}

// runConformance runs every conformance test against the adapter open
// returns.
func runConformance(t *testing.T, open func(t *testing.T) repository) {
	t.Run("Sequences", func(t *testing.T) { testSequences(t, open) })
	t.Run("AnyOrder", func(t *testing.T) { testAnyOrder(t, open) })
	t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, open) })
	t.Run("Processed", func(t *testing.T) { testProcessed(t, open) })
}

// testSequences pins which event of a sequence is applied and the state left.
func testSequences(t *testing.T, open func(t *testing.T) repository) {
	sameVersionLater := user("u-1", 2)
	sameVersionLater.UpdatedAt = sameVersionLater.UpdatedAt.Add(time.Second)
	renamed := user("u-1", 2)
	renamed.Name = "Ada L."

	tests := []struct {
		name    string
		ops     []op
		applied []bool
		want    *events.UserEvent
	}{
		{"create", []op{{false, user("u-1", 1)}}, []bool{true}, ptr(user("u-1", 1))},
		{"duplicate", []op{{false, user("u-1", 1)}, {false, user("u-1", 1)}},
			[]bool{true, false}, ptr(user("u-1", 1))},
		{"update", []op{{false, user("u-1", 1)}, {false, user("u-1", 2)}},
			[]bool{true, true}, ptr(user("u-1", 2))},
		{"older update", []op{{false, user("u-1", 2)}, {false, user("u-1", 1)}},
			[]bool{true, false}, ptr(user("u-1", 2))},
		{"same version, same time, other data",
			[]op{{false, user("u-1", 2)}, {false, renamed}},
			[]bool{true, false}, ptr(user("u-1", 2))},
		{"same version, later time", []op{{false, user("u-1", 2)}, {false, sameVersionLater}},
			[]bool{true, true}, &sameVersionLater},
		{"delete", []op{{false, user("u-1", 1)}, {true, user("u-1", 2)}},
			[]bool{true, true}, nil},
		{"older update after delete",
			[]op{{false, user("u-1", 1)}, {true, user("u-1", 3)}, {false, user("u-1", 2)}},
			[]bool{true, true, false}, nil},
		{"newer create after delete",
			[]op{{false, user("u-1", 1)}, {true, user("u-1", 2)}, {false, user("u-1", 3)}},
			[]bool{true, true, true}, ptr(user("u-1", 3))},
		{"delete before create", []op{{true, user("u-1", 2)}, {false, user("u-1", 1)}},
			[]bool{true, false}, nil},
		{"duplicate delete", []op{{true, user("u-1", 2)}, {true, user("u-1", 2)}},
			[]bool{true, false}, nil},
		{"older delete", []op{{false, user("u-1", 3)}, {true, user("u-1", 2)}},
			[]bool{true, false}, ptr(user("u-1", 3))},
	}
	r := open(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// One database for all cases, a user of its own for each.
			id := tt.name
			ctx := context.Background()

			for i, o := range tt.ops {
				o.u.ID = id
				applied, err := o.apply(ctx, r)
				require.NoError(t, err)
				assert.Equal(t, tt.applied[i], applied, "op %d applied", i)
			}

			if tt.want != nil {
				tt.want.ID = id
			}
			assertState(t, r, id, tt.want)
		})
	}
}

// testAnyOrder pins that every delivery order of one user's events leaves
// the newest state.
func testAnyOrder(t *testing.T, open func(t *testing.T) repository) {
	ops := []op{
		{false, user("u-1", 1)}, {false, user("u-1", 2)},
		{false, user("u-1", 3)}, {true, user("u-1", 4)},
	}
	r := open(t)
	for _, n := range []int{3, 4} {
		for i, order := range permutations(ops[:n]) {
			id := fmt.Sprintf("u-%d-%d", n, i)
			for _, o := range order {
				o.u.ID = id
				_, err := o.apply(context.Background(), r)
				require.NoError(t, err)
			}

			var want *events.UserEvent
			if n == 3 {
				want = ptr(user(id, 3))
			}
			assertState(t, r, id, want)
		}
	}
}

// testRoundTrip pins that a stored user reads back equal, times in UTC with
// nanoseconds, and that users do not see each other.
func testRoundTrip(t *testing.T, open func(t *testing.T) repository) {
	r := open(t)
	ctx := context.Background()
	u := events.UserEvent{
		ID: "u-ü 1", Name: "Zoë O'Brien", Email: "zoe@example.com", Version: 1 << 40,
		CreatedAt: time.Date(2024, 1, 2, 3, 4, 5, 6, time.FixedZone("CEST", 7200)),
		UpdatedAt: time.Date(2024, 1, 2, 3, 4, 5, 7, time.FixedZone("CEST", 7200)),
	}

	_, err := r.UpsertUser(ctx, u)
	require.NoError(t, err)
	_, err = r.UpsertUser(ctx, user("u-2", 1))
	require.NoError(t, err)

	got, err := r.User(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, u.ID, got.ID)
	assert.Equal(t, u.Name, got.Name)
	assert.Equal(t, u.Version, got.Version)
	assert.True(t, u.CreatedAt.Equal(got.CreatedAt), "created_at %v, want %v",
		got.CreatedAt, u.CreatedAt)
	assert.True(t, u.UpdatedAt.Equal(got.UpdatedAt), "updated_at %v, want %v",
		got.UpdatedAt, u.UpdatedAt)
	assert.Equal(t, time.UTC, got.UpdatedAt.Location())
}

// testProcessed pins the ledger: keyed by handler, source and id; marking
// twice is harmless.
func testProcessed(t *testing.T, open func(t *testing.T) repository) {
	r := open(t)
	ctx := context.Background()

	done, err := r.Processed(ctx, "welcome", "/s", "e-1")
	require.NoError(t, err)
	assert.False(t, done, "before marking")

	require.NoError(t, r.MarkProcessed(ctx, "welcome", "/s", "e-1"))
	require.NoError(t, r.MarkProcessed(ctx, "welcome", "/s", "e-1"), "marking twice")

	for _, k := range []struct {
		handler, source, id string
		want                bool
	}{
		{"welcome", "/s", "e-1", true},
		{"welcome", "/other", "e-1", false},
		{"welcome", "/s", "e-2", false},
		{"audit", "/s", "e-1", false},
	} {
		done, err := r.Processed(ctx, k.handler, k.source, k.id)
		require.NoError(t, err)
		assert.Equal(t, k.want, done, "%+v", k)
	}
}

// assertState checks the stored user id: want, or absent when want is nil.
func assertState(t *testing.T, r repository, id string, want *events.UserEvent) {
	t.Helper()

	got, err := r.User(context.Background(), id)
	if want == nil {
		assert.ErrorIs(t, err, store.ErrNotFound, "got %+v", got)
		return
	}
	require.NoError(t, err)
	assert.Equal(t, *want, got)
}

// permutations returns every order of ops.
func permutations(ops []op) [][]op {
	if len(ops) <= 1 {
		return [][]op{append([]op(nil), ops...)}
	}
	var all [][]op
	for i := range ops {
		rest := append(append([]op(nil), ops[:i]...), ops[i+1:]...)
		for _, p := range permutations(rest) {
			all = append(all, append([]op{ops[i]}, p...))
		}
	}
	return all
}

func ptr[T any](v T) *T { return &v }
