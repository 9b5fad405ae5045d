package validate

import (
	"bytes"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// builtin describes a built-in kind the manifests use: how to decode it and
// how to check what the API server's validation for it checks first.
type builtin struct {
	namespaced bool
	name       apivalidation.ValidateNameFunc
	newObject  func() metav1.Object
	check      func(obj metav1.Object) field.ErrorList
}

// builtins are the core/v1 kinds config/ holds. The API server's full
// validation for them lives in k8s.io/kubernetes, which is not a library;
// these checks cover strict decoding (unknown fields), metadata and the
// fields the manifests set.
var builtins = map[schema.GroupVersionKind]builtin{
	corev1.SchemeGroupVersion.WithKind("Namespace"): {
		name:      apivalidation.ValidateNamespaceName,
		newObject: func() metav1.Object { return &corev1.Namespace{} },
	},
	corev1.SchemeGroupVersion.WithKind("ConfigMap"): {
		namespaced: true,
		name:       apivalidation.NameIsDNSSubdomain,
		newObject:  func() metav1.Object { return &corev1.ConfigMap{} },
		check:      checkConfigMap,
	},
	corev1.SchemeGroupVersion.WithKind("Service"): {
		namespaced: true,
		name:       apivalidation.NameIsDNS1035Label,
		newObject:  func() metav1.Object { return &corev1.Service{} },
		check:      checkService,
	},
	corev1.SchemeGroupVersion.WithKind("PersistentVolumeClaim"): {
		namespaced: true,
		name:       apivalidation.NameIsDNSSubdomain,
		newObject:  func() metav1.Object { return &corev1.PersistentVolumeClaim{} },
		check:      checkClaim,
	},
}

// admitBuiltin strictly decodes obj into its Go type and validates it.
func admitBuiltin(b builtin, obj map[string]any) (metav1.Object, error) {
	typed := b.newObject()
	if err := decodeStrict(obj, typed); err != nil {
		return nil, fmt.Errorf("%w: strict decoding error: %w", ErrRejected, err)
	}

	errs := apivalidation.ValidateObjectMetaAccessor(typed, b.namespaced, b.name,
		field.NewPath("metadata"))
	if b.check != nil {
		errs = append(errs, b.check(typed)...)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrRejected, errs.ToAggregate())
	}
	return typed, nil
}

// decodeStrict decodes obj into out, refusing fields out does not have.
func decodeStrict(obj map[string]any, out any) error {
	j, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.DisallowUnknownFields()
	return dec.Decode(out)
}

func checkConfigMap(obj metav1.Object) field.ErrorList {
	cm := obj.(*corev1.ConfigMap)
	var errs field.ErrorList
	for key := range cm.Data {
		for _, msg := range utilvalidation.IsConfigMapKey(key) {
			errs = append(errs, field.Invalid(field.NewPath("data").Key(key), key, msg))
		}
	}
	return errs
}

func checkService(obj metav1.Object) field.ErrorList {
	svc := obj.(*corev1.Service)
	var errs field.ErrorList
	if len(svc.Spec.Ports) == 0 {
		errs = append(errs, field.Required(field.NewPath("spec", "ports"), ""))
	}
	ports := field.NewPath("spec", "ports")
	for i, p := range svc.Spec.Ports {
		errs = append(errs, checkServicePort(svc.Spec.Type, p, ports.Index(i))...)
	}
	return errs
}

func checkServicePort(
	t corev1.ServiceType,
	p corev1.ServicePort,
	path *field.Path,
) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range utilvalidation.IsValidPortNum(int(p.Port)) {
		errs = append(errs, field.Invalid(path.Child("port"), p.Port, msg))
	}
	for _, msg := range utilvalidation.IsDNS1123Label(p.Name) {
		errs = append(errs, field.Invalid(path.Child("name"), p.Name, msg))
	}
	if p.NodePort != 0 && t != corev1.ServiceTypeNodePort && t != corev1.ServiceTypeLoadBalancer {
		errs = append(errs, field.Forbidden(path.Child("nodePort"), "only for NodePort services"))
	}
	// The API server's default --service-node-port-range; kind keeps it.
	if p.NodePort != 0 && (p.NodePort < 30000 || p.NodePort > 32767) {
		errs = append(errs, field.Invalid(path.Child("nodePort"), p.NodePort,
			"outside the node port range 30000-32767"))
	}
	return errs
}

func checkClaim(obj metav1.Object) field.ErrorList {
	pvc := obj.(*corev1.PersistentVolumeClaim)
	var errs field.ErrorList
	if len(pvc.Spec.AccessModes) == 0 {
		errs = append(errs, field.Required(field.NewPath("spec", "accessModes"), ""))
	}
	if _, ok := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; !ok {
		storage := field.NewPath("spec", "resources", "requests", "storage")
		errs = append(errs, field.Required(storage, ""))
	}
	return errs
}
