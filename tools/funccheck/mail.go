package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/mail"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
)

// ErrMailCount is returned when the outbox holds another number of messages
// to an address than expected.
var ErrMailCount = errors.New("funccheck: unexpected number of mails")

// newMailCmd returns the mail subcommand.
func newMailCmd() *cobra.Command {
	var (
		to    string
		count int
	)
	cmd := &cobra.Command{
		Use:   "mail OUTBOX_DIR",
		Short: "Require a number of .eml messages to an address in an outbox folder",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return checkMail(cmd.OutOrStdout(), args[0], to, count)
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "recipient address to count (required)")
	cmd.Flags().IntVar(&count, "count", 1, "number of messages to the address required")
	_ = cmd.MarkFlagRequired("to")
	return cmd
}

// checkMail parses every .eml file in dir and requires that exactly want of
// them are addressed to addr. A file that is not a valid message fails the
// check, and so does a missing dir unless want is 0. Files whose name starts
// with a dot are messages still being written and are skipped.
func checkMail(out io.Writer, dir, addr string, want int) error {
	paths, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	if err != nil {
		return fmt.Errorf("funccheck: list %s: %w", dir, err)
	}
	if _, err := os.Stat(dir); err != nil && !(errors.Is(err, fs.ErrNotExist) && want == 0) {
		return fmt.Errorf("funccheck: outbox: %w", err)
	}

	got := 0
	for _, p := range paths {
		if strings.HasPrefix(filepath.Base(p), ".") {
			continue
		}
		ok, err := mailTo(out, p, addr)
		if err != nil {
			return err
		}
		if ok {
			got++
		}
	}
	if got != want {
		return fmt.Errorf("%w to %s in %s: got %d, want %d", ErrMailCount, addr, dir, got, want)
	}
	return nil
}

// mailTo parses the message in path and reports whether one of its To
// addresses is addr, printing the message when it is.
func mailTo(out io.Writer, path, addr string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, fmt.Errorf("funccheck: %w", err)
	}
	defer f.Close()

	m, err := mail.ReadMessage(f)
	if err != nil {
		return false, fmt.Errorf("funccheck: parse %s: %w", path, err)
	}
	to, err := m.Header.AddressList("To")
	if err != nil {
		return false, fmt.Errorf("funccheck: parse To of %s: %w", path, err)
	}
	for _, a := range to {
		if strings.EqualFold(a.Address, addr) {
			subject, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
			fmt.Fprintf(out, "mail %s to=%s subject=%q\n", filepath.Base(path), a.Address, subject)
			return true, nil
		}
	}
	return false, nil
}
