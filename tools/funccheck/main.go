// Command funccheck checks what the knative func CLI and the function left
// behind during scripts/func-e2e.sh: the OCI image the host builder wrote,
// the mails in the outbox folder and the rows in the SQLite database. It
// exists so the script needs nothing beyond Go: no jq, no sqlite3.
//
// Each subcommand prints what it found and exits with status 1 when the
// check fails, naming what was expected and what was there.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// newRootCmd returns the funccheck command with its subcommands.
func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "funccheck",
		Short:         "Check the effects of a knative func build and run",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newImageCmd(), newMailCmd(), newSQLCmd())
	return root
}
