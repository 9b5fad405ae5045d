// Command function serves the function on its own with the knative func-go
// CloudEvents runtime, the way the image `kn func deploy` builds does. It
// listens on LISTEN_ADDRESS (default [::]:8080); `make function` runs it on
// 127.0.0.1:8080 with an outbox and a database under ./.local.
package main

import (
	"log/slog"
	"os"

	"knative.dev/func-go/cloudevents"

	"function"
)

func main() {
	if err := cloudevents.Start(function.New()); err != nil {
		slog.Error("function exited", "err", err)
		os.Exit(1)
	}
}
