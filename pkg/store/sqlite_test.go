package store_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"function/pkg/store"
)

// openSQLite opens a fresh database in a temporary folder, closed at the end.
func openSQLite(t *testing.T) *store.SQLite {
	t.Helper()

	s, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "users.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestSQLite_Conformance runs the adapter conformance tests on SQLite.
func TestSQLite_Conformance(t *testing.T) {
	runConformance(t, func(t *testing.T) repository { return openSQLite(t) })
}

// TestOpenSQLite_CreatesAndReopens pins that open creates the folder and the
// schema, and that reopening keeps the data and migrates nothing twice.
func TestOpenSQLite_CreatesAndReopens(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "nested", "dir", "users.db")

	s, err := store.OpenSQLite(ctx, path)
	require.NoError(t, err)
	_, err = s.UpsertUser(ctx, user("u-1", 1))
	require.NoError(t, err)
	require.NoError(t, s.Close())
	assert.FileExists(t, path)

	s, err = store.OpenSQLite(ctx, path)
	require.NoError(t, err)
	defer func() { _ = s.Close() }()
	got, err := s.User(ctx, "u-1")
	require.NoError(t, err)
	assert.Equal(t, user("u-1", 1), got)
}

// TestOpenSQLite_BadPaths pins the refusals of paths that cannot be a
// database, each naming the path.
func TestOpenSQLite_BadPaths(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, []byte("x"), 0o600))
	notDB := filepath.Join(dir, "not.db")
	require.NoError(t, os.WriteFile(notDB, []byte("this is not a database, just text"), 0o600))

	for name, path := range map[string]string{
		"empty":          "",
		"query":          filepath.Join(dir, "a.db?mode=ro"),
		"under a file":   filepath.Join(file, "users.db"),
		"a folder":       dir,
		"not a database": notDB,
	} {
		t.Run(name, func(t *testing.T) {
			s, err := store.OpenSQLite(context.Background(), path)
			if s != nil {
				_ = s.Close()
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), "store: open sqlite")
			if path != "" {
				assert.Contains(t, err.Error(), path)
			}
		})
	}
}

// TestSQLite_PingAfterClose pins that a closed store fails its ping and its
// writes instead of panicking.
func TestSQLite_PingAfterClose(t *testing.T) {
	s := openSQLite(t)
	ctx := context.Background()
	require.NoError(t, s.Ping(ctx))

	require.NoError(t, s.Close())

	assert.Error(t, s.Ping(ctx))
	_, err := s.UpsertUser(ctx, user("u-1", 1))
	assert.ErrorContains(t, err, `store: user "u-1"`)
}

// TestSQLite_ConcurrentWriters pins that concurrent writers of one user wait
// for each other rather than fail, and leave the newest state.
func TestSQLite_ConcurrentWriters(t *testing.T) {
	s := openSQLite(t)
	ctx := context.Background()

	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for v := int64(1); v <= 40; v++ {
		wg.Go(func() {
			var err error
			if v%10 == 0 {
				_, err = s.DeleteUser(ctx, user("u-1", v))
			} else {
				_, err = s.UpsertUser(ctx, user("u-1", v))
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)

	for err := range errs {
		require.NoError(t, err)
	}
	_, err := s.User(ctx, "u-1")
	assert.ErrorIs(t, err, store.ErrNotFound, "version 40 is a delete")
	_, err = s.UpsertUser(ctx, user("u-1", 39))
	require.NoError(t, err)
	_, err = s.User(ctx, "u-1")
	assert.ErrorIs(t, err, store.ErrNotFound, "an older update cannot resurrect")
}
