package validate

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// TestManifests_Accepted checks every document under config/ as the API
// server, the eventing-kafka webhooks and kind would on create.
func TestManifests_Accepted(t *testing.T) {
	v := testValidator(t)
	for _, d := range configDocs(t) {
		t.Run(d.String(), func(t *testing.T) {
			assert.NoError(t, v.Validate(context.Background(), d))
		})
	}
}

// TestManifests_HoldEveryKindOfThePath pins down that the walk found the whole
// install path, so the acceptance test above cannot pass on an empty folder.
func TestManifests_HoldEveryKindOfThePath(t *testing.T) {
	want := []schema.GroupVersionKind{
		KindClusterKind,
		{Version: "v1", Kind: "Namespace"},
		{Version: "v1", Kind: "ConfigMap"},
		{Version: "v1", Kind: "Service"},
		{Version: "v1", Kind: "PersistentVolumeClaim"},
		{Group: "kafka.strimzi.io", Version: "v1", Kind: "Kafka"},
		{Group: "kafka.strimzi.io", Version: "v1", Kind: "KafkaNodePool"},
		{Group: "kafka.strimzi.io", Version: "v1", Kind: "KafkaTopic"},
		KafkaSourceKind,
		KafkaSinkKind,
	}
	got := make(map[schema.GroupVersionKind]bool)
	for _, d := range configDocs(t) {
		got[d.GroupVersionKind()] = true
	}
	for _, gvk := range want {
		assert.True(t, got[gvk], "no %s under config/", gvk)
	}
}

// TestSchemas_ServeTheManifestKinds checks the loaded CRDs serve the custom
// kinds the manifests use, at the versions they use.
func TestSchemas_ServeTheManifestKinds(t *testing.T) {
	requireShared(t)
	s, err := loadSchemas()
	require.NoError(t, err)
	for _, d := range configDocs(t) {
		gvk := d.GroupVersionKind()
		if gvk == KindClusterKind || gvk.Group == "" {
			continue
		}
		assert.True(t, s.Serves(gvk), "%s: no CRD serves %s; loaded %v", d, gvk, s.Kinds())
	}
}

// TestSchemas_SharedKafkaSourceMatchesModule proves the eventing-kafka-broker
// module is the release whose CRDs ../shared holds, which is what allows the
// module's KafkaSink CRD (absent from ../shared) to stand in for the release's.
func TestSchemas_SharedKafkaSourceMatchesModule(t *testing.T) {
	shared := requireShared(t)
	broker, err := listModule(kafkaBrokerModule)
	require.NoError(t, err)

	want, err := os.ReadFile(filepath.Join(shared, knativeCRDs, "100-kafka-source.yaml"))
	require.NoError(t, err)
	got, err := os.ReadFile(filepath.Join(broker.Dir, kafkaSourceCRD))
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got), "KafkaSource CRD of %s differs from ../shared",
		kafkaBrokerModule)
}

// TestSchemas_RejectNonStructuralCRD checks a CRD the API server would refuse
// (a property with no type) is refused here too, instead of validating
// nothing.
func TestSchemas_RejectNonStructuralCRD(t *testing.T) {
	err := NewSchemas().LoadCRDs("testdata/crd-not-structural.yaml")
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrBadCRD), "got %v", err)
	assert.Contains(t, err.Error(), "type: Required value")
}

// TestValidator_RefusesUnknownKinds checks a kind with no schema is an error,
// so nothing under config/ passes unchecked.
func TestValidator_RefusesUnknownKinds(t *testing.T) {
	doc := Document{Path: "x.yaml", Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "x", "namespace": "functions"},
	}}
	err := NewValidator(NewSchemas()).Validate(context.Background(), doc)
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrNoSchema), "got %v", err)
	assert.Contains(t, err.Error(), "apps/v1, Kind=Deployment")
}
