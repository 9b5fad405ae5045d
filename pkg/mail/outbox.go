package mail

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Outbox is a [Mailer] that writes each message into a folder as an .eml
// file named after its key, a complete RFC 5322 message any mail client
// opens. Sending a message with the same key again replaces the file with the
// same content, so an outbox holds one file per key.
type Outbox struct {
	dir string
}

// NewOutbox returns an outbox writing into dir, which it creates when missing.
func NewOutbox(dir string) (*Outbox, error) {
	if dir == "" {
		return nil, errors.New("mail: outbox: empty folder name")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("mail: outbox %s: %w", dir, err)
	}
	return &Outbox{dir: dir}, nil
}

// Dir returns the outbox folder.
func (o *Outbox) Dir() string { return o.dir }

// Path returns the file a message with the given key is written to.
func (o *Outbox) Path(key string) string {
	return filepath.Join(o.dir, keyHash(key)+".eml")
}

// Send writes m into the outbox. The file appears whole or not at all: it is
// written under a temporary name and renamed.
func (o *Outbox) Send(ctx context.Context, m Message) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mail: outbox: %w", err)
	}
	msg, err := build(m)
	if err != nil {
		return err
	}

	f, err := os.CreateTemp(o.dir, ".sending-*.eml")
	if err != nil {
		return fmt.Errorf("mail: outbox: %w", err)
	}
	defer func() { _ = os.Remove(f.Name()) }()

	// CreateTemp makes the file private; an outbox is meant to be read.
	merr := f.Chmod(0o644)
	_, werr := msg.WriteTo(f)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(merr, werr, serr, cerr); err != nil {
		return fmt.Errorf("mail: outbox: write %s: %w", f.Name(), err)
	}
	if err := os.Rename(f.Name(), o.Path(m.Key)); err != nil {
		return fmt.Errorf("mail: outbox: %w", err)
	}
	return nil
}

// Close does nothing: an outbox holds no resources.
func (o *Outbox) Close() error { return nil }
