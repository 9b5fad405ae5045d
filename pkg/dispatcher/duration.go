package dispatcher

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/rickb777/date/period"
)

// Duration is a [time.Duration] read from the environment either in the
// KafkaSource spec's ISO 8601 form (PT0.3S, PT10M) or as a Go duration
// (300ms, 10m). ISO 8601 is parsed with the library Knative's control plane
// uses for the same fields, which keeps one decimal: a finer value (PT0.25S)
// is refused rather than rounded, and can be written as a Go duration
// (250ms). Years and months count as 365.2425 and 30.436875 days.
type Duration time.Duration

// Decode implements envconfig.Decoder.
func (d *Duration) Decode(value string) error {
	v, err := ParseDuration(value)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// String formats d as a Go duration.
func (d Duration) String() string { return time.Duration(d).String() }

// ParseDuration parses s as ISO 8601 when it starts with P (or -P), else as a
// Go duration.
func ParseDuration(s string) (time.Duration, error) {
	if !strings.HasPrefix(strings.TrimPrefix(s, "-"), "P") {
		v, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("%q is neither ISO 8601 (PT0.3S) nor a Go duration (300ms)", s)
		}
		return v, nil
	}

	if tooPrecise.MatchString(s) {
		return 0, fmt.Errorf("%q has more than one decimal; write it as a Go duration "+
			"such as 250ms", s)
	}
	p, err := period.Parse(s, false)
	if err != nil {
		return 0, fmt.Errorf("%q is not an ISO 8601 duration such as PT0.3S: %w", s, err)
	}
	return p.DurationApprox(), nil
}

// tooPrecise matches a number with a non-zero second decimal, which the
// ISO 8601 parser would silently drop.
var tooPrecise = regexp.MustCompile(`[.,]\d\d*[1-9]`)
