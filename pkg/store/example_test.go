package store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"function/pkg/events"
	"function/pkg/store"
)

// Out-of-order deliveries leave the newest state: an update older than a
// delete cannot bring the user back.
func ExampleOpenSQLite() {
	dir, _ := os.MkdirTemp("", "store-example")
	defer func() { _ = os.RemoveAll(dir) }()
	ctx := context.Background()

	s, err := store.OpenSQLite(ctx, filepath.Join(dir, "users.db"))
	if err != nil {
		panic(err)
	}
	defer func() { _ = s.Close() }()

	at := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	v1 := events.UserEvent{ID: "u-1", Name: "Ada", Version: 1, UpdatedAt: at}
	v2 := events.UserEvent{ID: "u-1", Name: "Ada L.", Version: 2, UpdatedAt: at}
	v3 := events.UserEvent{ID: "u-1", Version: 3, UpdatedAt: at}

	fmt.Println(s.UpsertUser(ctx, v1))
	fmt.Println(s.DeleteUser(ctx, v3))
	fmt.Println(s.UpsertUser(ctx, v2))
	_, err = s.User(ctx, "u-1")
	fmt.Println(err)
	// Output:
	// true <nil>
	// true <nil>
	// false <nil>
	// user "u-1": store: not found
}
