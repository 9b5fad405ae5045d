package events_test

import (
	"fmt"

	"function/pkg/events"
)

// ExampleEvent shows the contract: the entity id, not an event id, is what
// keys an event, so every event of one user shares a partition.
func ExampleEvent() {
	var ev events.Event = events.UserEvent{ID: "u-42", Name: "Ada", Version: 1}
	fmt.Println("kafka key, subject and partitionkey:", ev.GetId())
	// Output: kafka key, subject and partitionkey: u-42
}

// ExampleUserEvent_NewerThan shows how a consumer decides whether to apply
// an event over the state it holds.
func ExampleUserEvent_NewerThan() {
	stored := events.UserEvent{ID: "u-1", Version: 2}
	late := events.UserEvent{ID: "u-1", Version: 1}
	next := events.UserEvent{ID: "u-1", Version: 3}

	fmt.Println(late.NewerThan(stored.Version, stored.UpdatedAt))
	fmt.Println(next.NewerThan(stored.Version, stored.UpdatedAt))
	// Output:
	// false
	// true
}
