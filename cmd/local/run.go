package main

import (
	"github.com/spf13/cobra"
)

const runHelp = `Start the local stack and keep it running until Ctrl-C:

  - Kafka: an embedded broker on 127.0.0.1:$EMBEDDED_KAFKA_PORT (9092) with the
    users and users-dead-letter topics seeded, or the Kafka that KAFKA_BROKERS
    names (its missing topics are created);
  - the function, served by the knative func-go runtime on $FUNCTION_ADDRESS
    (127.0.0.1:8080);
  - one KafkaSource-compatible dispatcher per handler, with the consumer groups,
    routes and delivery policy of the KafkaSources in config/eventing.

Environment: LOCAL_STATE_DIR (.local), FUNCTION_ADDRESS, EMBEDDED_KAFKA_PORT,
KAFKA_BROKERS, KAFKA_VERSION, LOG_LEVEL (debug: one line per delivered event),
and the handlers' own variables (see the README).`

func newRunCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "run",
		Short: "Start embedded Kafka, the function and its dispatchers",
		Long:  runHelp,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := loadStack()
			if err != nil {
				return err
			}
			return s.run(cmd.Context(), func() {
				s.log.Info("stack ready", "publish", "go run ./cmd/local publish",
					"stop", "Ctrl-C")
			})
		},
	}
}
