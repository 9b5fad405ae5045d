// Command local is the developer's command line for this function: `run`
// starts the whole stack on a laptop (an embedded Kafka, the function served
// by the knative func-go runtime, and one KafkaSource-compatible dispatcher
// per handler) and `publish` sends user events through the typed producer.
//
// Every setting comes from the environment; `local run --help` lists them.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if err := newRootCommand().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "local:", err)
		os.Exit(1)
	}
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "local",
		Short:         "Run the user-handlers function and its Kafka path on this machine",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newRunCommand(), newPublishCommand())
	return root
}

// newLogger returns a text logger on stderr at the level LOG_LEVEL names.
func newLogger(level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("LOG_LEVEL: %q is not debug, info, warn or error", level)
	}
	h := slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l})
	return slog.New(h), nil
}
