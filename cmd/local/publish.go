package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"function/pkg/events"
	"function/pkg/producer"
)

// publishOptions are the flags of `local publish`.
type publishOptions struct {
	kind    string
	id      string
	name    string
	email   string
	version int64
	count   int
	users   int
}

// eventTypes maps the --type flag to CloudEvents types.
var eventTypes = map[string]string{
	"created": events.TypeUserCreated,
	"updated": events.TypeUserUpdated,
	"deleted": events.TypeUserDeleted,
}

func newPublishCommand() *cobra.Command {
	var o publishOptions
	cmd := &cobra.Command{
		Use:   "publish",
		Short: "Send user events to the users topic through the typed producer",
		Long: `Send one user event, or with --count a demo burst: --count events spread
over --users users, each user's first event "created" and the next ones
"updated" with increasing versions. Kafka is KAFKA_BROKERS (127.0.0.1:9092).`,
		Example: `  local publish --type created --id u-1 --name Ada --email ada@example.com
  local publish --type updated --id u-1 --name "Ada L." --email ada@example.com
  local publish --type deleted --id u-1
  local publish --count 1000 --users 100`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.run(cmd.Context(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.kind, "type", "created", "event type: created, updated or deleted")
	f.StringVar(&o.id, "id", "", "user id: the Kafka key (required without --count)")
	f.StringVar(&o.name, "name", "", "user name")
	f.StringVar(&o.email, "email", "", "user e-mail address")
	f.Int64Var(&o.version, "version", 0,
		"user version (default: the current time in microseconds, so each publish is newer)")
	f.IntVar(&o.count, "count", 0, "send a burst of this many events instead of one")
	f.IntVar(&o.users, "users", 100, "distinct users in a --count burst")
	return cmd
}

func (o publishOptions) run(ctx context.Context, out io.Writer) error {
	if err := o.validate(); err != nil {
		return err
	}
	cfg, err := producer.LoadConfig()
	if err != nil {
		return err
	}
	p, err := producer.NewUserProducer(cfg)
	if err != nil {
		return err
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = p.Close(closeCtx)
	}()

	if o.count > 0 {
		return o.burst(ctx, p, out)
	}
	return o.one(ctx, p, out)
}

func (o publishOptions) validate() error {
	if _, ok := eventTypes[o.kind]; !ok {
		return fmt.Errorf("--type: %q is not created, updated or deleted", o.kind)
	}
	switch {
	case o.count < 0:
		return fmt.Errorf("--count: %d is negative", o.count)
	case o.count > 0 && o.users < 1:
		return fmt.Errorf("--users: %d is not positive", o.users)
	case o.count == 0 && o.id == "":
		return errors.New("--id: required (or --count for a burst)")
	case o.version < 0:
		return fmt.Errorf("--version: %d is negative", o.version)
	}
	return nil
}

func (o publishOptions) one(ctx context.Context, p *producer.UserProducer, out io.Writer) error {
	now := time.Now().UTC()
	version := o.version
	if version == 0 {
		version = now.UnixMicro()
	}
	ev := events.UserEvent{
		ID: o.id, Name: o.name, Email: o.email, Version: version,
		CreatedAt: now, UpdatedAt: now,
	}
	r, err := p.Send(ctx, eventTypes[o.kind], ev)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "sent %s %s: event id %s, %s partition %d offset %d\n",
		o.kind, r.Subject, r.ID, r.Topic, r.Partition, r.Offset)
	return nil
}

// burst sends o.count events in batches through SendAll, printing progress.
func (o publishOptions) burst(ctx context.Context, p *producer.UserProducer, out io.Writer) error {
	const batch = 500
	start := time.Now()
	sent := 0
	for sent < o.count {
		n := min(batch, o.count-sent)
		if err := o.sendBatch(ctx, p, sent, n); err != nil {
			fmt.Fprintln(out)
			return err
		}
		sent += n
		fmt.Fprintf(out, "\rsent %d/%d events", sent, o.count)
	}
	elapsed := time.Since(start)
	fmt.Fprintf(out, "\rsent %d events for %d users to %s in %s (%.0f events/s)\n",
		o.count, min(o.users, o.count), p.Topic(), elapsed.Round(time.Millisecond),
		float64(o.count)/elapsed.Seconds())
	return nil
}

// sendBatch sends events first..first+n of the burst. Event i is about user
// i%users; its version is i/users+1, so each user's first event is its
// creation and every later one an update with a higher version.
func (o publishOptions) sendBatch(
	ctx context.Context,
	p *producer.UserProducer,
	first, n int,
) error {
	created := make([]events.UserEvent, 0, n)
	updated := make([]events.UserEvent, 0, n)
	now := time.Now().UTC()
	for i := first; i < first+n; i++ {
		u, v := i%o.users, int64(i/o.users)+1
		ev := events.UserEvent{
			ID:        fmt.Sprintf("user-%04d", u),
			Name:      fmt.Sprintf("User %d (v%d)", u, v),
			Email:     fmt.Sprintf("user-%04d@example.com", u),
			Version:   v,
			CreatedAt: now,
			UpdatedAt: now,
		}
		if v == 1 {
			created = append(created, ev)
		} else {
			updated = append(updated, ev)
		}
	}
	// Creations go first: within one batch they precede any update of the
	// same user, so the per-key order on the partition stays created, then
	// updated.
	if err := sendAll(ctx, p, events.TypeUserCreated, created); err != nil {
		return err
	}
	return sendAll(ctx, p, events.TypeUserUpdated, updated)
}

func sendAll(
	ctx context.Context,
	p *producer.UserProducer,
	eventType string,
	evs []events.UserEvent,
) error {
	var errs []error
	for _, r := range p.SendAll(ctx, eventType, evs) {
		if r.Err != nil {
			errs = append(errs, r.Err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%d of %d events not sent: %w", len(errs), len(evs), errs[0])
	}
	return nil
}
