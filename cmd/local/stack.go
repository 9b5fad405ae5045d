package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/kelseyhightower/envconfig"
	fnruntime "knative.dev/func-go/cloudevents"

	function "function"
	"function/pkg/delivery"
	"function/pkg/dispatcher"
	"function/pkg/kafka"
	"function/pkg/topology"
)

// stackConfig is what `local run` reads from the environment besides the
// shared KAFKA_* settings and the handlers' own variables.
type stackConfig struct {
	// StateDir holds all local state: the outbox and the database.
	StateDir string `envconfig:"LOCAL_STATE_DIR" default:".local"`

	// FunctionAddress is where the function listens.
	FunctionAddress string `envconfig:"FUNCTION_ADDRESS" default:"127.0.0.1:8080"`

	// EmbeddedKafkaPort is the port of the embedded broker, started when
	// KAFKA_BROKERS is unset.
	EmbeddedKafkaPort int `envconfig:"EMBEDDED_KAFKA_PORT" default:"9092"`

	// LogLevel is debug (one line per delivered event), info, warn or error.
	LogLevel string `envconfig:"LOG_LEVEL" default:"debug"`
}

// stack is the local stack: a broker, the function and one dispatcher per
// KafkaSource of [topology.Sources].
type stack struct {
	cfg      stackConfig
	kafka    kafka.Config
	embedded bool
	log      *slog.Logger

	// broker is the embedded broker while the stack runs with one.
	broker *kafka.Embedded

	// topic, deadLetter and groupPrefix default to the topology's names;
	// tests against a shared broker make them unique.
	topic       string
	deadLetter  string
	groupPrefix string
}

// loadStack reads the stack's configuration from the environment.
func loadStack() (*stack, error) {
	var sc stackConfig
	if err := envconfig.Process("", &sc); err != nil {
		return nil, err
	}
	log, err := newLogger(sc.LogLevel)
	if err != nil {
		return nil, err
	}
	kc, err := kafka.LoadConfig()
	if err != nil {
		return nil, err
	}
	_, external := os.LookupEnv("KAFKA_BROKERS")
	return &stack{
		cfg:        sc,
		kafka:      kc,
		embedded:   !external,
		log:        log,
		topic:      topology.UsersTopic,
		deadLetter: topology.DeadLetterTopic,
	}, nil
}

// run starts everything, calls ready once the function answers and the
// dispatchers are started, and stops it all in reverse order when ctx ends.
func (s *stack) run(ctx context.Context, ready func()) error {
	if err := s.startKafka(); err != nil {
		return err
	}
	if s.broker != nil {
		defer s.broker.Close()
	}

	stopFunction, err := s.startFunction(ctx)
	if err != nil {
		return err
	}

	// The dispatchers stop first, so no delivery is cut off by a function
	// that is already gone; the function then finishes its own requests.
	dispErr := s.runDispatchers(ctx, ready)
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	fnErr := stopFunction(stopCtx)
	s.log.Info("stack stopped")
	return errors.Join(dispErr, fnErr)
}

// startKafka starts the embedded broker with the topics seeded, or makes sure
// the topics exist on the broker KAFKA_BROKERS names.
func (s *stack) startKafka() error {
	topics := map[string]int32{
		s.topic:      topology.UsersPartitions,
		s.deadLetter: topology.DeadLetterPartitions,
	}
	if !s.embedded {
		s.log.Info("using kafka", "brokers", s.kafka.Brokers)
		return ensureTopics(s.kafka, topics)
	}

	b, err := kafka.StartEmbedded(kafka.EmbeddedOptions{
		Port:   s.cfg.EmbeddedKafkaPort,
		Topics: topics,
	})
	if err != nil {
		return fmt.Errorf("%w (set EMBEDDED_KAFKA_PORT, or KAFKA_BROKERS to use a running "+
			"Kafka)", err)
	}
	s.broker = b
	s.kafka.Brokers = b.Addrs()
	s.log.Info("embedded kafka started", "brokers", s.kafka.Brokers,
		"topics", fmt.Sprintf("%s(%d) %s(%d)", s.topic, topology.UsersPartitions,
			s.deadLetter, topology.DeadLetterPartitions))
	return nil
}

// ensureTopics creates the topics that do not exist yet; existing topics are
// left as they are, whatever their partition count.
func ensureTopics(kc kafka.Config, topics map[string]int32) error {
	sc, err := kc.Sarama()
	if err != nil {
		return err
	}
	admin, err := sarama.NewClusterAdmin(kc.Brokers, sc)
	if err != nil {
		return fmt.Errorf("connect to kafka %v: %w", kc.Brokers, err)
	}
	defer admin.Close()

	for name, partitions := range topics {
		err := admin.CreateTopic(name, &sarama.TopicDetail{
			NumPartitions:     partitions,
			ReplicationFactor: -1,
		}, false)
		if err != nil && !errors.Is(err, sarama.ErrTopicAlreadyExists) {
			return fmt.Errorf("create topic %s: %w", name, err)
		}
	}
	return nil
}

// startFunction starts the function and serves it with the knative func-go
// runtime's HTTP handler (health endpoints and CloudEvents receiver), the one
// the deployed image serves. The stack runs the lifecycle itself rather than
// through the runtime's Start, which stops the server on the first Ctrl-C
// while the dispatchers still deliver. The returned func stops the server,
// letting requests finish, then the function.
func (s *stack) startFunction(ctx context.Context) (func(context.Context) error, error) {
	if err := os.MkdirAll(s.cfg.StateDir, 0o755); err != nil {
		return nil, fmt.Errorf("LOCAL_STATE_DIR: %w", err)
	}
	// The function reads its settings from the environment: the stack's
	// state folder fills in the paths the user did not set.
	env := map[string]string{
		"DATABASE_PATH":   filepath.Join(s.cfg.StateDir, "users.db"),
		"MAIL_OUTBOX_DIR": filepath.Join(s.cfg.StateDir, "outbox"),
		// The dispatchers log each delivery; the function logs only what
		// went wrong, so one event is one line.
		"LOG_LEVEL": "info",
	}
	for k, v := range env {
		if _, set := os.LookupEnv(k); set {
			continue
		}
		if err := os.Setenv(k, v); err != nil {
			return nil, err
		}
	}

	l, err := net.Listen("tcp", s.cfg.FunctionAddress)
	if err != nil {
		return nil, fmt.Errorf("FUNCTION_ADDRESS: %w", err)
	}
	f := function.New()
	if err := f.Start(ctx, nil); err != nil {
		_ = l.Close()
		return nil, err
	}
	// The runtime's own zerolog lines would repeat, in another format, what
	// the stack logs.
	fnruntime.SetLogLevel(fnruntime.LogWarn)
	svc := fnruntime.New(f)
	served := make(chan error, 1)
	go func() { served <- svc.Serve(l) }()

	url := "http://" + s.cfg.FunctionAddress
	if err := waitReady(ctx, url+"/health/readiness", served); err != nil {
		_ = svc.Close()
		return nil, errors.Join(err, f.Stop(ctx))
	}
	s.log.Info("function ready", "url", url,
		"outbox", absPath(os.Getenv("MAIL_OUTBOX_DIR")),
		"database", absPath(os.Getenv("DATABASE_PATH")))

	return func(ctx context.Context) error {
		err := svc.Shutdown(ctx)
		return errors.Join(err, f.Stop(ctx))
	}, nil
}

// waitReady polls a readiness URL until it answers 200, the runtime exits,
// or 30 seconds pass.
func waitReady(ctx context.Context, url string, exited <-chan error) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()

	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case err := <-exited:
			return fmt.Errorf("function server stopped before it was ready: %w", err)
		case <-ctx.Done():
			return fmt.Errorf("function not ready at %s: %w", url, ctx.Err())
		case <-tick.C:
		}
	}
}

// runDispatchers runs one dispatcher per KafkaSource until ctx ends.
func (s *stack) runDispatchers(ctx context.Context, ready func()) error {
	httpSink, err := delivery.NewHTTPSink("http://"+s.cfg.FunctionAddress, nil)
	if err != nil {
		return err
	}
	sink := newSerialSink(httpSink)
	var ds []*dispatcher.Dispatcher
	for _, src := range topology.Sources {
		d, err := dispatcher.New(s.dispatcherConfig(src), s.kafka, sink, s.log)
		if err != nil {
			return fmt.Errorf("dispatcher %s: %w", src.Name, err)
		}
		ds = append(ds, d)
	}

	var wg sync.WaitGroup
	errs := make([]error, len(ds))
	for i, d := range ds {
		wg.Go(func() { errs[i] = d.Run(ctx) })
	}
	if ready != nil {
		ready()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// dispatcherConfig mirrors one KafkaSource of config/eventing: the same
// consumer group, route, ordering, initial offset and delivery policy.
func (s *stack) dispatcherConfig(src topology.Source) dispatcher.Config {
	delay, _ := dispatcher.ParseDuration(topology.Delivery.BackoffDelay)
	timeout, _ := dispatcher.ParseDuration(topology.Delivery.Timeout)
	return dispatcher.Config{
		SourceName:            src.Name,
		SourceNamespace:       topology.Namespace,
		Topics:                []string{s.topic},
		ConsumerGroup:         s.groupPrefix + src.ConsumerGroup,
		InitialOffset:         dispatcher.Earliest,
		Ordering:              dispatcher.Ordered,
		DeliveryRetry:         topology.Delivery.Retry,
		DeliveryBackoffPolicy: delivery.BackoffPolicy(topology.Delivery.BackoffPolicy),
		DeliveryBackoffDelay:  dispatcher.Duration(delay),
		DeliveryTimeout:       dispatcher.Duration(timeout),
		KeyType:               "string",
		CEOverrides:           map[string]string{topology.RouteExtension: src.Handler},
		DeadLetterTopic:       s.deadLetter,
		MaxInFlight:           50,
		StopTimeout:           dispatcher.Duration(10 * time.Second),
		CommitInterval:        dispatcher.Duration(time.Second),
	}
}

func absPath(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}
