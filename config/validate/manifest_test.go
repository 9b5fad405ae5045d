package validate

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestParse_SplitsDocuments checks multi-document files are split at "---",
// comment-only documents are dropped and indexes count every document.
func TestParse_SplitsDocuments(t *testing.T) {
	data := []byte("# only a comment\n---\nkind: A\n---\n\n---\nkind: B\n")
	docs, err := Parse("f.yaml", data)
	require.NoError(t, err)
	require.Len(t, docs, 2)
	assert.Equal(t, "A", docs[0].Object["kind"])
	assert.Equal(t, 1, docs[0].Index)
	assert.Equal(t, "B", docs[1].Object["kind"])
	assert.Equal(t, 3, docs[1].Index)
}

// TestParse_KeepsIntegersInt64 checks integers decode as int64, the type the
// CEL rules of CRD schemas compare against; float64 would fail them.
func TestParse_KeepsIntegersInt64(t *testing.T) {
	docs, err := Parse("f.yaml", []byte("spec:\n  partitions: 6\n  ratio: 0.5\n"))
	require.NoError(t, err)
	spec := docs[0].Object["spec"].(map[string]any)
	assert.Equal(t, int64(6), spec["partitions"])
	assert.Equal(t, 0.5, spec["ratio"])
}

// TestParse_RejectsDuplicateKeys checks a key given twice is an error rather
// than the last value silently winning.
func TestParse_RejectsDuplicateKeys(t *testing.T) {
	_, err := Parse("f.yaml", []byte("kind: A\nspec:\n  partitions: 6\n  partitions: 3\n"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `f.yaml#0`)
	assert.Contains(t, err.Error(), `"partitions" already set in map`)
}

// TestParse_RejectsNonObject checks a document that is a list or a scalar is
// refused with ErrNotObject.
func TestParse_RejectsNonObject(t *testing.T) {
	_, err := Parse("f.yaml", []byte("kind: A\n---\n- a\n- b\n"))
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrNotObject), "got %v", err)
	assert.Contains(t, err.Error(), "f.yaml#1")
}

// TestParse_RejectsBrokenYAML checks a syntax error names the file and
// document.
func TestParse_RejectsBrokenYAML(t *testing.T) {
	_, err := Parse("f.yaml", []byte("kind: A\n---\nspec: [unclosed\n"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "f.yaml#1")
}

// TestReadDir_SkipsNamedDirsAndOtherFiles checks the walk reads *.yaml and
// *.yml below the root, skips the named folders and ignores other files.
func TestReadDir_SkipsNamedDirsAndOtherFiles(t *testing.T) {
	root := t.TempDir()
	write := func(rel, content string) {
		t.Helper()
		path := filepath.Join(root, rel)
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	}
	write("a.yaml", "kind: A\n")
	write("sub/b.yml", "kind: B\n")
	write("sub/notes.md", "kind: C\n")
	write("validate/bad.yaml", "kind: D\n")

	docs, err := ReadDir(root, "validate")
	require.NoError(t, err)
	var kinds []any
	for _, d := range docs {
		kinds = append(kinds, d.Object["kind"])
	}
	assert.Equal(t, []any{"A", "B"}, kinds)
}

// TestReadDir_ReportsMissingRoot checks a missing folder is an error, not an
// empty result that would make every check pass.
func TestReadDir_ReportsMissingRoot(t *testing.T) {
	_, err := ReadDir(filepath.Join(t.TempDir(), "nope"))
	require.Error(t, err)
	assert.True(t, errors.Is(err, os.ErrNotExist), "got %v", err)
}
