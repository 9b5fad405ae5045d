package validate

import (
	"context"
	"fmt"
)

// Validator checks documents of every kind config/ holds: custom resources
// against their CRD schemas (and, for eventing-kafka kinds, the webhooks' Go
// rules), core/v1 kinds against their Go types, and kind's cluster config.
type Validator struct {
	schemas *Schemas
}

// NewValidator returns a Validator for custom resources of the kinds that
// schemas serves.
func NewValidator(schemas *Schemas) *Validator {
	return &Validator{schemas: schemas}
}

// Validate reports why the API server (or kind, for its config) would refuse
// d; it returns nil when d would be accepted. Errors wrap [ErrRejected], or
// [ErrNoSchema] for a kind the Validator cannot check: nothing passes
// unchecked.
func (v *Validator) Validate(ctx context.Context, d Document) error {
	if err := v.validate(ctx, d); err != nil {
		return fmt.Errorf("%s: %w", d, err)
	}
	return nil
}

func (v *Validator) validate(ctx context.Context, d Document) error {
	gvk := d.GroupVersionKind()
	if gvk == KindClusterKind {
		_, err := AdmitKindCluster(d.Object)
		return err
	}
	if b, ok := builtins[gvk]; ok {
		_, err := admitBuiltin(b, d.Object)
		return err
	}

	stored, err := v.schemas.Admit(ctx, d.Object)
	if err != nil {
		return err
	}
	if webhook, ok := webhooks[gvk]; ok {
		return webhook(ctx, stored)
	}
	return nil
}
