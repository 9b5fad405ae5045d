package delivery

import (
	"encoding/base64"
	"strconv"

	"github.com/cloudevents/sdk-go/v2/event"
)

// Extensions of a dead-lettered event.
const (
	// ExtErrorDest is the sink the event failed to reach.
	ExtErrorDest = "knativeerrordest"
	// ExtErrorCode is the last HTTP status, absent when there was none.
	ExtErrorCode = "knativeerrorcode"
	// ExtErrorData is the base64 of at most [MaxErrorData] bytes of the last
	// response body, absent when it was empty.
	ExtErrorData = "knativeerrordata"
)

// MaxErrorData is how many response body bytes [ExtErrorData] keeps.
const MaxErrorData = 1024

// DeadLetter returns a copy of ev for the dead-letter sink, carrying
// [ExtErrorDest] (target), and [ExtErrorCode] and [ExtErrorData] from the
// outcome's status and body when it had them, as KafkaSource does. Any of
// these extensions ev already had (a dead letter fed back in) is replaced or
// removed, so they always describe this failure.
func DeadLetter(ev event.Event, target string, o Outcome) event.Event {
	dl := ev.Clone()
	set := func(name string, value any) {
		// The names are valid and value is a string or nil, so this cannot
		// fail.
		_ = dl.Context.SetExtension(name, value)
	}

	set(ExtErrorDest, target)
	set(ExtErrorCode, nil)
	set(ExtErrorData, nil)
	if o.Status > 0 {
		set(ExtErrorCode, strconv.Itoa(o.Status))
	}
	if len(o.Body) > 0 {
		body := o.Body[:min(len(o.Body), MaxErrorData)]
		set(ExtErrorData, base64.StdEncoding.EncodeToString(body))
	}
	return dl
}
