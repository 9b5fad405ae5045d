package validate

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	sinkv1alpha1 "knative.dev/eventing-kafka-broker/control-plane/pkg/apis/eventing/v1alpha1"
	sourcesv1 "knative.dev/eventing-kafka-broker/control-plane/pkg/apis/sources/v1"
	"knative.dev/eventing/pkg/apis/feature"
	"knative.dev/pkg/apis"
)

var (
	// KafkaSourceKind is the KafkaSource kind the manifests use.
	KafkaSourceKind = sourcesv1.SchemeGroupVersion.WithKind("KafkaSource")

	// KafkaSinkKind is the KafkaSink kind the manifests use.
	KafkaSinkKind = sinkv1alpha1.SchemeGroupVersion.WithKind("KafkaSink")
)

// webhooks maps the kinds that eventing-kafka's admission webhooks default
// and validate to the Go check that does the same.
var webhooks = map[schema.GroupVersionKind]func(context.Context, map[string]any) error{
	KafkaSourceKind: func(ctx context.Context, obj map[string]any) error {
		_, err := AdmitKafkaSource(ctx, obj)
		return err
	},
	KafkaSinkKind: func(ctx context.Context, obj map[string]any) error {
		_, err := AdmitKafkaSink(ctx, obj)
		return err
	},
}

// webhookContext is the context the eventing webhooks validate a new object
// in: a create, under the default feature flags of the release (which
// enable delivery.timeout), with the object's metadata as parent.
func webhookContext(ctx context.Context, parent metav1.ObjectMeta) (context.Context, error) {
	flags, err := feature.NewFlagsConfigFromMap(nil)
	if err != nil {
		return nil, fmt.Errorf("validate: feature flags: %w", err)
	}
	ctx = feature.ToContext(ctx, flags)
	return apis.WithinParent(apis.WithinCreate(ctx), parent), nil
}

// AdmitKafkaSource decodes obj into the Go type of knative.dev/eventing-kafka-broker
// strictly, as its webhook does, applies SetDefaults and runs Validate. It also
// validates spec.delivery with eventing's DeliverySpec rules (backoff policy,
// ISO-8601 durations, feature-gated fields): KafkaSource's own Validate skips
// them, and the controller would otherwise fail later on the same values.
func AdmitKafkaSource(ctx context.Context, obj map[string]any) (*sourcesv1.KafkaSource, error) {
	ks := &sourcesv1.KafkaSource{}
	if err := decodeStrict(obj, ks); err != nil {
		return nil, fmt.Errorf("%w: KafkaSource: %w", ErrRejected, err)
	}
	ctx, err := webhookContext(ctx, ks.ObjectMeta)
	if err != nil {
		return nil, err
	}

	ks.SetDefaults(ctx)
	errs := ks.Validate(ctx)
	errs = errs.Also(ks.Spec.Delivery.Validate(ctx).ViaField("spec", "delivery"))
	if errs != nil {
		return nil, fmt.Errorf("%w: KafkaSource: %w", ErrRejected, errs)
	}
	return ks, nil
}

// AdmitKafkaSink decodes obj into the KafkaSink Go type strictly, applies
// SetDefaults and runs Validate, as the eventing-kafka webhook does.
func AdmitKafkaSink(ctx context.Context, obj map[string]any) (*sinkv1alpha1.KafkaSink, error) {
	sink := &sinkv1alpha1.KafkaSink{}
	if err := decodeStrict(obj, sink); err != nil {
		return nil, fmt.Errorf("%w: KafkaSink: %w", ErrRejected, err)
	}
	ctx, err := webhookContext(ctx, sink.ObjectMeta)
	if err != nil {
		return nil, err
	}

	sink.SetDefaults(ctx)
	if errs := sink.Validate(ctx); errs != nil {
		return nil, fmt.Errorf("%w: KafkaSink: %w", ErrRejected, errs)
	}
	return sink, nil
}
