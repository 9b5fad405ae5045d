package main

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newDatabase creates a SQLite database with a users table and two rows.
func newDatabase(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "users.db")
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	defer db.Close()

	_, err = db.Exec(`CREATE TABLE users (id TEXT PRIMARY KEY, email TEXT, version INTEGER);
		INSERT INTO users VALUES ('u-1', 'ada@example.com', 3), ('u-2', NULL, 1);`)
	require.NoError(t, err)
	return path
}

// TestQuery_PrintsRows prints each row tab-separated, NULL as NULL, with
// the arguments bound to the placeholders.
func TestQuery_PrintsRows(t *testing.T) {
	path := newDatabase(t)
	q := "SELECT id, email, version FROM users WHERE id >= ? ORDER BY id"

	var out bytes.Buffer
	require.NoError(t, query(context.Background(), &out, path, q, []string{"u-1"}))
	assert.Equal(t, "u-1\tada@example.com\t3\nu-2\tNULL\t1\n", out.String())
}

// TestQuery_IsReadOnly refuses a statement that would change the database
// the function owns.
func TestQuery_IsReadOnly(t *testing.T) {
	path := newDatabase(t)

	err := query(context.Background(), &bytes.Buffer{}, path, "DELETE FROM users", nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "readonly")
}

// TestQuery_MissingDatabase fails instead of creating an empty database.
func TestQuery_MissingDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent.db")

	err := query(context.Background(), &bytes.Buffer{}, path, "SELECT 1", nil)
	require.ErrorIs(t, err, os.ErrNotExist)
	assert.NoFileExists(t, path)
}

// TestQuery_BadQuery names the database when the query does not compile.
func TestQuery_BadQuery(t *testing.T) {
	path := newDatabase(t)

	err := query(context.Background(), &bytes.Buffer{}, path, "SELECT nope FROM users", nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), path)
}
