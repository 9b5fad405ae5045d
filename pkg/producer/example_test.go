package producer_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"function/pkg/events"
	"function/pkg/kafka"
	"function/pkg/producer"
	"function/pkg/topology"
)

// startBroker starts an embedded broker with the users topic and returns
// connection settings for it, as a test or `make run` would.
func startBroker() (*kafka.Embedded, kafka.Config) {
	e, err := kafka.StartEmbedded(kafka.EmbeddedOptions{
		Topics: map[string]int32{topology.UsersTopic: topology.UsersPartitions},
	})
	if err != nil {
		log.Fatal(err)
	}
	return e, kafka.Config{
		Brokers:        e.Addrs(),
		ClientID:       "example",
		Version:        "3.9.0",
		DialTimeout:    5 * time.Second,
		RequestTimeout: 10 * time.Second,
	}
}

// newUserProducer builds the user producer from the environment's defaults,
// pointed at the embedded broker.
func newUserProducer(kc kafka.Config) *producer.UserProducer {
	cfg, err := producer.LoadConfig()
	if err != nil {
		log.Fatal(err)
	}
	cfg.Config = kc
	p, err := producer.NewUserProducer(cfg)
	if err != nil {
		log.Fatal(err)
	}
	return p
}

// The user producer writes each event to the partition of its user id and
// returns once the broker has acknowledged it.
func ExampleProducer_Send() {
	broker, kc := startBroker()
	defer broker.Close()
	p := newUserProducer(kc)
	defer func() { _ = p.Close(context.Background()) }()

	at := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	r, err := p.Send(context.Background(), events.TypeUserCreated, events.UserEvent{
		ID: "user-42", Name: "Ada", Email: "ada@example.com", Version: 1,
		CreatedAt: at, UpdatedAt: at,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s partition=%d offset=%d subject=%s\n", r.Topic, r.Partition, r.Offset,
		r.Subject)
	// Output: users partition=4 offset=0 subject=user-42
}

// SendAll pipelines a batch and reports one result per event; an invalid
// event is refused without stopping the others.
func ExampleProducer_SendAll() {
	broker, kc := startBroker()
	defer broker.Close()
	p := newUserProducer(kc)
	defer func() { _ = p.Close(context.Background()) }()

	batch := []events.UserEvent{
		{ID: "user-42", Name: "Ada", Version: 2},
		{ID: "", Name: "nobody"},
		{ID: "user-42", Name: "Ada L.", Version: 3},
	}
	for i, r := range p.SendAll(context.Background(), events.TypeUserUpdated, batch) {
		if r.Err != nil {
			fmt.Printf("%d: %v\n", i, r.Err)
			continue
		}
		fmt.Printf("%d: partition=%d offset=%d\n", i, r.Partition, r.Offset)
	}
	// Output:
	// 0: partition=4 offset=0
	// 1: producer: invalid event: topic users: empty entity id
	// 2: partition=4 offset=1
}

// Close flushes what is in flight; a send after it fails with ErrClosed.
func ExampleProducer_Close() {
	broker, kc := startBroker()
	defer broker.Close()
	p := newUserProducer(kc)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Close(ctx); err != nil {
		log.Fatal(err)
	}
	_, err := p.Send(ctx, events.TypeUserDeleted, events.UserEvent{ID: "user-42"})
	fmt.Println(err)
	// Output: producer: topic users: producer: closed
}

// New builds a producer of any event type, bound to the topic and source of
// its configuration.
func ExampleNew() {
	broker, kc := startBroker()
	defer broker.Close()

	p, err := producer.New[events.UserEvent](producer.Config{
		Config:          kc,
		Topic:           "users-audit",
		Source:          "/examples/audit",
		MaxMessageBytes: producer.DefaultMaxMessageBytes,
		SendTimeout:     10 * time.Second,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = p.Close(context.Background()) }()
	fmt.Println(p.Topic())
	// Output: users-audit
}
