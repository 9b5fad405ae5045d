package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/cobra"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// newSQLCmd returns the sql subcommand.
func newSQLCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "sql DATABASE QUERY [ARG...]",
		Short: "Run a read-only query on a SQLite database and print the rows",
		Long: "Run a read-only query on a SQLite database and print each row on a line,\n" +
			"columns separated by tabs and NULL printed as NULL. ARGs bind the query's\n" +
			"? placeholders as text.",
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return query(cmd.Context(), cmd.OutOrStdout(), args[0], args[1], args[2:])
		},
	}
}

// query opens the database at path read-only, runs q with args and prints
// the rows. A missing database file is an error, not an empty result.
func query(ctx context.Context, out io.Writer, path, q string, args []string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("funccheck: database: %w", err)
	}
	dsn := (&url.URL{Scheme: "file", Opaque: path, RawQuery: "mode=ro&_pragma=busy_timeout(5000)"})
	db, err := sql.Open("sqlite", dsn.String())
	if err != nil {
		return fmt.Errorf("funccheck: open %s: %w", path, err)
	}
	defer db.Close()

	bound := make([]any, len(args))
	for i, a := range args {
		bound[i] = a
	}
	rows, err := db.QueryContext(ctx, q, bound...)
	if err != nil {
		return fmt.Errorf("funccheck: query %s: %w", path, err)
	}
	defer rows.Close()
	return printRows(out, rows)
}

// printRows writes each row as tab-separated columns.
func printRows(out io.Writer, rows *sql.Rows) error {
	cols, err := rows.Columns()
	if err != nil {
		return fmt.Errorf("funccheck: columns: %w", err)
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}

	cells := make([]string, len(cols))
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return fmt.Errorf("funccheck: scan: %w", err)
		}
		for i, v := range vals {
			cells[i] = cell(v)
		}
		fmt.Fprintln(out, strings.Join(cells, "\t"))
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("funccheck: rows: %w", err)
	}
	return nil
}

// cell formats one column value.
func cell(v any) string {
	switch v := v.(type) {
	case nil:
		return "NULL"
	case []byte:
		return string(v)
	default:
		return fmt.Sprint(v)
	}
}
