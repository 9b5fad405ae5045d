package delivery

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"golang.org/x/net/http/httpguts"
)

// ErrInvalidURL is returned by [NewHTTPSink] for a URL that is not an
// absolute http or https URL.
var ErrInvalidURL = errors.New("delivery: invalid sink url")

// Limits on how much of a response is read.
const (
	// maxBody is how much of a response body is kept; the dead letter
	// keeps 1024 bytes of it.
	maxBody = 64 << 10
	// maxDrain is how much more is read so the connection can be reused.
	maxDrain = 256 << 10
)

type httpSink struct {
	url    string
	client *http.Client
}

// NewHTTPSink returns a [Sink] that POSTs each event to rawURL as a
// binary-mode CloudEvent with Prefer: reply, as KafkaSource does; any status
// is a Response and the reply is discarded. A nil client means a client that
// does not follow redirects, so a 3xx is the final status as under
// KafkaSource; the per-attempt timeout comes from the context.
//
// Header values are written as the CloudEvents SDK writes them, raw, except
// one that holds bytes HTTP cannot carry (control characters, such as a
// newline from a Kafka header): that value is percent-encoded as the
// CloudEvents HTTP binding specifies, so the event is still delivered.
func NewHTTPSink(rawURL string, client *http.Client) (Sink, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %w", ErrInvalidURL, rawURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w %q: want http(s)://host[:port]/path", ErrInvalidURL, rawURL)
	}

	if client == nil {
		client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}
	}
	return &httpSink{url: u.String(), client: client}, nil
}

// Target returns the sink URL.
func (s *httpSink) Target() string { return s.url }

// Send posts ev once; see [NewHTTPSink]. A body that fails to read after the
// status arrived is cut where it failed, since the status decides.
func (s *httpSink) Send(ctx context.Context, ev event.Event) (Response, error) {
	req, err := s.request(ctx, ev)
	if err != nil {
		return Response{}, err
	}

	resp, err := s.client.Do(req)
	if err != nil {
		return Response{}, fmt.Errorf("delivery: post event %s to %s: %w", ev.ID(), s.url, err)
	}
	defer resp.Body.Close()

	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	return Response{Status: resp.StatusCode, Body: body}, nil
}

// request encodes ev as a binary-mode request.
func (s *httpSink) request(ctx context.Context, ev event.Event) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: event %s: %w", ErrUnsendable, ev.ID(), err)
	}
	err = cehttp.WriteRequest(binding.WithForceBinary(ctx), binding.ToMessage(&ev), req)
	if err != nil {
		return nil, fmt.Errorf("%w: event %s: %w", ErrUnsendable, ev.ID(), err)
	}

	escapeHeaders(req.Header)
	req.Header.Set("Prefer", "reply")
	return req, nil
}

// escapeHeaders percent-encodes the values net/http would refuse to send.
func escapeHeaders(h http.Header) {
	for _, values := range h {
		for i, v := range values {
			if !httpguts.ValidHeaderFieldValue(v) {
				values[i] = percentEncode(v)
			}
		}
	}
}

// percentEncode encodes the bytes the CloudEvents HTTP binding (section
// 3.1.3.2) says a header value must not hold raw: those outside printable
// ASCII, space, double quote and percent.
func percentEncode(v string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c <= ' ' || c >= 0x7F || c == '"' || c == '%' {
			b.Write([]byte{'%', hex[c>>4], hex[c&0xF]})
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
