package handler_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/cloudevents/sdk-go/v2/event"

	"function/pkg/events"
	"function/pkg/handler"
)

// A handler author writes only the business step; the adapter decodes the
// data and gives each failure its status.
func ExampleNew() {
	greet := func(_ context.Context, m handler.Meta, u events.UserEvent) error {
		if u.Email == "" {
			return handler.Permanent(errors.New("no e-mail address"))
		}
		fmt.Printf("hello %s (%s)\n", u.Name, m.ID)
		return nil
	}
	h, err := handler.New("greeter", []string{events.TypeUserCreated}, greet, nil)
	if err != nil {
		panic(err)
	}

	for i, data := range []string{
		`{"id":"u-1","name":"Ada","email":"ada@example.com","version":1}`,
		`{"id":"u-2","name":"Bob","version":1}`,
		`"{\"id\":\"u-3\"}"`,
	} {
		e := event.New()
		e.SetID(fmt.Sprint("e-", i+1))
		e.SetSource("/example")
		e.SetType(events.TypeUserCreated)
		_ = e.SetData(event.ApplicationJSON, []byte(data))

		err := h.Handle(context.Background(), e)
		fmt.Println(handler.StatusOf(err), errors.Is(err, handler.ErrBadData))
	}
	// Output:
	// hello Ada (e-1)
	// 200 false
	// 422 false
	// 400 true
}

// StatusOf tells a caller that runs handlers in-process which status the HTTP
// runtime would have answered.
func ExampleStatusOf() {
	fmt.Println(handler.StatusOf(nil))
	fmt.Println(handler.StatusOf(errors.New("database is locked")))
	fmt.Println(handler.StatusOf(handler.Transient(errors.New("smtp: timeout"))))
	fmt.Println(handler.StatusOf(handler.Permanent(errors.New("no e-mail address"))))
	// Output:
	// 200
	// 500
	// 503
	// 422
}
