// Package events defines the contract every event of this project follows and
// the event models built on it.
//
// An event is the JSON data of one CloudEvent. Its entity id ([Event.GetId])
// is the Kafka record key, the CloudEvents subject and the CloudEvents
// partitionkey extension, so every event of one entity lands on the same
// partition and is handled in the order it was produced.
package events

// Event is the contract of every event model.
//
// GetId returns the id of the entity the event is about, never the id of the
// event itself: two updates of one user share it. The producer uses it as the
// Kafka record key (so one entity's events share a partition and keep their
// order), as the CloudEvents subject and as the partitionkey extension. An
// empty id is invalid and is refused before anything is written.
type Event interface {
	GetId() string //nolint:revive // the contract's name is fixed by the design.
}
