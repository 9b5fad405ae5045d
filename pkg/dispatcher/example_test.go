package dispatcher_test

import (
	"context"
	"log/slog"
	"os"
	"os/signal"

	"github.com/cloudevents/sdk-go/v2/event"

	"function/pkg/delivery"
	"function/pkg/dispatcher"
	"function/pkg/kafka"
)

// ExampleDispatcher_Run delivers the records of the topics that the
// WELCOME_* (or shared) variables name to an in-process handler until
// interrupted, then stops cleanly.
func ExampleDispatcher_Run() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	kc, err := kafka.LoadConfig()
	if err != nil {
		logger.Error("kafka configuration", "err", err)
		return
	}
	cfg, err := dispatcher.LoadConfig("WELCOME")
	if err != nil {
		logger.Error("dispatcher configuration", "err", err)
		return
	}

	welcome := func(ctx context.Context, ev event.Event) (*event.Event, error) {
		logger.Info("welcome", "event_id", ev.ID(), "event_type", ev.Type())
		return nil, nil
	}
	d, err := dispatcher.New(cfg, kc, delivery.NewHandlerSink("welcome", welcome), logger)
	if err != nil {
		logger.Error("dispatcher", "err", err)
		return
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := d.Run(ctx); err != nil {
		logger.Error("dispatcher stopped", "err", err)
	}
}
