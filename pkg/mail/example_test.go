package mail_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"function/pkg/mail"
)

// An outbox keeps one .eml file per message key, however often it is sent.
func ExampleOutbox() {
	dir, _ := os.MkdirTemp("", "outbox-example")
	defer func() { _ = os.RemoveAll(dir) }()

	o, err := mail.NewOutbox(dir)
	if err != nil {
		panic(err)
	}
	m := mail.Message{
		Key:     "/users/e-1",
		From:    "Example <welcome@example.com>",
		To:      "ada@example.com",
		ToName:  "Ada",
		Subject: "Welcome",
		Text:    "Hello Ada.",
	}
	for range 2 {
		if err := o.Send(context.Background(), m); err != nil {
			panic(err)
		}
	}

	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	eml, _ := os.ReadFile(o.Path(m.Key))
	fmt.Println(len(files), strings.Contains(string(eml), `To: "Ada" <ada@example.com>`))
	// Output: 1 true
}
