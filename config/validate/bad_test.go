package validate

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// knownBad maps each manifest under testdata/bad to the error it must get:
// the sentinel and a part of the message the API server, webhook or kind
// would print.
var knownBad = map[string]struct {
	sentinel error
	want     string
}{
	"kafka-listener-name.yaml": {ErrRejected,
		`spec.kafka.listeners[0].name: Invalid value: "external-host": ` +
			`spec.kafka.listeners[0].name in body should match '^[a-z0-9]{1,11}$'`},
	"kafka-listener-type.yaml": {ErrRejected,
		`spec.kafka.listeners[0].type: Unsupported value: "hostport": supported values: ` +
			`"internal", "route", "tlsroute", "loadbalancer", "nodeport", "ingress", "cluster-ip"`},
	"kafka-listener-port.yaml": {ErrRejected,
		`spec.kafka.listeners[0].port: Invalid value: 9000: ` +
			`spec.kafka.listeners[0].port in body should be greater than or equal to 9092`},
	"kafka-listener-tls-missing.yaml": {ErrRejected,
		`spec.kafka.listeners[0].tls: Required value`},
	"kafka-metrics-cel.yaml": {ErrRejected,
		`spec.kafka.metricsConfig: Invalid value: valueFrom property is required`},
	"nodepool-roles-missing.yaml": {ErrRejected, `spec.roles: Required value`},
	"nodepool-role-enum.yaml": {ErrRejected,
		`spec.roles[0]: Unsupported value: "zookeeper": supported values: "controller", "broker"`},
	"topic-unknown-field.yaml": {ErrRejected,
		`strict decoding error: unknown field "spec.partition"`},
	"topic-partitions-type.yaml": {ErrRejected,
		`spec.partitions: Invalid value: "string": ` +
			`spec.partitions in body must be of type integer`},
	"topic-partitions-zero.yaml": {ErrRejected,
		`spec.partitions: Invalid value: 0: ` +
			`spec.partitions in body should be greater than or equal to 1`},
	"topic-bad-name.yaml": {ErrRejected,
		`metadata.name: Invalid value: "users_v2": a lowercase RFC 1123 subdomain`},
	"topic-namespace-missing.yaml": {ErrRejected, `metadata.namespace: Required value`},
	"kafkasource-ordering.yaml": {ErrRejected,
		`invalid value: sideways: spec.ordering`},
	"kafkasource-initial-offset.yaml": {ErrRejected,
		`invalid value: newest: spec.initialOffset`},
	"kafkasource-sink-missing.yaml": {ErrRejected,
		`expected at least one, got none: spec.sink.ref, spec.sink.uri`},
	"kafkasource-topics-missing.yaml": {ErrRejected, `spec.topics: Required value`},
	"kafkasource-delivery-timeout.yaml": {ErrRejected,
		`invalid value: 15s: spec.delivery.timeout`},
	"kafkasource-backoff-policy.yaml": {ErrRejected,
		`invalid value: fibonacci: spec.delivery.backoffPolicy`},
	"kafkasource-unknown-metadata.yaml": {ErrRejected,
		`strict decoding error: unknown field "metadata.label"`},
	"kafkasink-content-mode.yaml": {ErrRejected,
		`spec.contentMode: Unsupported value: "json": supported values: "binary", "structured"`},
	"service-unknown-field.yaml": {ErrRejected,
		`strict decoding error: json: unknown field "nodeport"`},
	"service-node-port-range.yaml": {ErrRejected,
		`spec.ports[0].nodePort: Invalid value: 8080: outside the node port range 30000-32767`},
	"kind-unknown-field.yaml": {ErrRejected,
		`field extraPortMapping not found in type v1alpha4.Node`},
	"kind-protocol.yaml": {ErrRejected, `Unknown PortMappingProtocol: "HTTP"`},
	"unknown-kind.yaml": {ErrNoSchema,
		`no schema for kind serving.knative.dev/v1, Kind=Service`},
}

// TestValidate_RejectsKnownBad feeds manifests that break one rule each (an
// enum, a pattern, a required field, an unknown field, a CEL rule, a webhook
// rule) and expects each to be refused with the server's reason.
func TestValidate_RejectsKnownBad(t *testing.T) {
	v := testValidator(t)
	for name, tc := range knownBad {
		t.Run(name, func(t *testing.T) {
			docs, err := ReadFile(filepath.Join("testdata", "bad", name))
			require.NoError(t, err)
			require.Len(t, docs, 1)

			err = v.Validate(context.Background(), docs[0])
			require.Error(t, err, "accepted a known-bad manifest")
			assert.True(t, errors.Is(err, tc.sentinel), "want %v, got %v", tc.sentinel, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// TestValidate_KnownBadListIsComplete checks every file in testdata/bad has
// an expectation, so a new bad manifest cannot sit there untested.
func TestValidate_KnownBadListIsComplete(t *testing.T) {
	entries, err := os.ReadDir(filepath.Join("testdata", "bad"))
	require.NoError(t, err)
	files := make(map[string]bool)
	for _, e := range entries {
		files[e.Name()] = true
		assert.Contains(t, knownBad, e.Name(), "testdata/bad/%s has no expectation", e.Name())
	}
	for name := range knownBad {
		assert.True(t, files[name], "expectation for missing file testdata/bad/%s", name)
	}
}
