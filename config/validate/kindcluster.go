package validate

import (
	"bytes"
	"encoding/json"
	"fmt"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	kindv1alpha4 "sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
)

// KindClusterKind is the kind of a kind cluster configuration file.
var KindClusterKind = schema.GroupVersionKind{
	Group: "kind.x-k8s.io", Version: "v1alpha4", Kind: "Cluster",
}

// AdmitKindCluster decodes a kind cluster configuration as `kind create
// cluster --config` does (strict YAML into the v1alpha4 types, then kind's
// defaults) and checks its nodes and port mappings.
func AdmitKindCluster(obj map[string]any) (*kindv1alpha4.Cluster, error) {
	// JSON is YAML: re-encode and let kind's own decoding rules apply,
	// including its custom UnmarshalYAML checks of protocols and mounts.
	j, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("validate: %w", err)
	}
	cluster := &kindv1alpha4.Cluster{}
	dec := yaml.NewDecoder(bytes.NewReader(j))
	dec.KnownFields(true)
	if err := dec.Decode(cluster); err != nil {
		return nil, fmt.Errorf("%w: kind config: %w", ErrRejected, err)
	}

	kindv1alpha4.SetDefaultsCluster(cluster)
	if errs := checkKindCluster(cluster); len(errs) > 0 {
		return nil, fmt.Errorf("%w: kind config: %w", ErrRejected, errs.ToAggregate())
	}
	return cluster, nil
}

func checkKindCluster(c *kindv1alpha4.Cluster) field.ErrorList {
	var errs field.ErrorList
	controlPlanes := 0
	for i, n := range c.Nodes {
		path := field.NewPath("nodes").Index(i)
		switch n.Role {
		case kindv1alpha4.ControlPlaneRole:
			controlPlanes++
		case kindv1alpha4.WorkerRole:
		default:
			errs = append(errs, field.NotSupported(path.Child("role"), n.Role,
				[]string{string(kindv1alpha4.ControlPlaneRole), string(kindv1alpha4.WorkerRole)}))
		}
		mappings := path.Child("extraPortMappings")
		errs = append(errs, checkPortMappings(n.ExtraPortMappings, mappings)...)
	}
	if controlPlanes == 0 {
		errs = append(errs, field.Required(field.NewPath("nodes"), "no control-plane node"))
	}
	return errs
}

func checkPortMappings(mappings []kindv1alpha4.PortMapping, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := make(map[string]bool)
	for i, m := range mappings {
		p := path.Index(i)
		for _, msg := range utilvalidation.IsValidPortNum(int(m.ContainerPort)) {
			errs = append(errs, field.Invalid(p.Child("containerPort"), m.ContainerPort, msg))
		}
		for _, msg := range utilvalidation.IsValidPortNum(int(m.HostPort)) {
			errs = append(errs, field.Invalid(p.Child("hostPort"), m.HostPort, msg))
		}
		key := fmt.Sprintf("%s:%d/%s", m.ListenAddress, m.HostPort, m.Protocol)
		if seen[key] {
			errs = append(errs, field.Duplicate(p.Child("hostPort"), key))
		}
		seen[key] = true
	}
	return errs
}
