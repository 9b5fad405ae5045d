package validate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/objectmeta"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"
)

var (
	// ErrRejected is wrapped by every error that reports a document the API
	// server or a webhook would refuse.
	ErrRejected = errors.New("validate: rejected")

	// ErrNoSchema is returned for a document whose apiVersion and kind no
	// loaded CustomResourceDefinition serves.
	ErrNoSchema = errors.New("validate: no schema for kind")

	// ErrBadCRD is returned when a CustomResourceDefinition cannot be
	// compiled, for example because its schema is not structural.
	ErrBadCRD = errors.New("validate: bad CustomResourceDefinition")
)

// Schemas holds the served versions of a set of CustomResourceDefinitions,
// compiled as the API server compiles them.
type Schemas struct {
	versions map[schema.GroupVersionKind]*crdVersion
}

// crdVersion is one served version of a CRD.
type crdVersion struct {
	namespaced bool
	structural *structuralschema.Structural
	validator  apiservervalidation.SchemaValidator
	// rules is nil when the schema has no x-kubernetes-validations.
	rules *cel.Validator
}

// NewSchemas returns an empty set of schemas.
func NewSchemas() *Schemas {
	return &Schemas{versions: make(map[schema.GroupVersionKind]*crdVersion)}
}

// LoadCRDs reads the CustomResourceDefinitions in paths (files, or
// directories whose *.yaml files are read) and compiles their served
// versions. Documents of other kinds are ignored.
func (s *Schemas) LoadCRDs(paths ...string) error {
	for _, p := range paths {
		files, err := yamlFiles(p)
		if err != nil {
			return err
		}
		for _, f := range files {
			if err := s.loadFile(f); err != nil {
				return err
			}
		}
	}
	return nil
}

// Kinds lists the kinds the loaded CRDs serve, sorted.
func (s *Schemas) Kinds() []schema.GroupVersionKind {
	kinds := make([]schema.GroupVersionKind, 0, len(s.versions))
	for gvk := range s.versions {
		kinds = append(kinds, gvk)
	}
	sort.Slice(kinds, func(i, j int) bool { return kinds[i].String() < kinds[j].String() })
	return kinds
}

// Serves reports whether a loaded CRD serves gvk.
func (s *Schemas) Serves(gvk schema.GroupVersionKind) bool {
	_, ok := s.versions[gvk]
	return ok
}

func (s *Schemas) loadFile(path string) error {
	docs, err := ReadFile(path)
	if err != nil {
		return err
	}
	crdKind := apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition")
	for _, d := range docs {
		if d.GroupVersionKind() != crdKind {
			continue
		}
		if err := s.add(d); err != nil {
			return err
		}
	}
	return nil
}

func (s *Schemas) add(d Document) error {
	crd, err := decodeCRD(d)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrBadCRD, d, err)
	}
	for _, v := range crd.Spec.Versions {
		if !v.Served {
			continue
		}
		compiled, err := compileVersion(crd, v)
		if err != nil {
			return fmt.Errorf("%w: %s version %s: %w", ErrBadCRD, crd.Name, v.Name, err)
		}
		gv := schema.GroupVersion{Group: crd.Spec.Group, Version: v.Name}
		s.versions[gv.WithKind(crd.Spec.Names.Kind)] = compiled
	}
	return nil
}

func decodeCRD(d Document) (*apiextensionsv1.CustomResourceDefinition, error) {
	u := &unstructured.Unstructured{Object: d.Object}
	j, err := runtime.Encode(unstructured.UnstructuredJSONScheme, u)
	if err != nil {
		return nil, err
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.UnmarshalStrict(j, crd); err != nil {
		return nil, err
	}
	return crd, nil
}

// compileVersion builds what the API server builds for a served version: the
// structural schema (pruning, defaulting, CEL), the OpenAPI validator and the
// CEL rules.
func compileVersion(
	crd *apiextensionsv1.CustomResourceDefinition,
	v apiextensionsv1.CustomResourceDefinitionVersion,
) (*crdVersion, error) {
	if v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
		return nil, errors.New("no openAPIV3Schema")
	}
	internal := &apiextensions.JSONSchemaProps{}
	err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(
		v.Schema.OpenAPIV3Schema, internal, nil)
	if err != nil {
		return nil, err
	}

	structural, err := structuralschema.NewStructural(internal)
	if err != nil {
		return nil, err
	}
	if errs := structuralschema.ValidateStructural(nil, structural); len(errs) > 0 {
		return nil, fmt.Errorf("schema is not structural: %w", errs.ToAggregate())
	}

	validator, _, err := apiservervalidation.NewSchemaValidator(internal)
	if err != nil {
		return nil, err
	}
	return &crdVersion{
		namespaced: crd.Spec.Scope == apiextensionsv1.NamespaceScoped,
		structural: structural,
		validator:  validator,
		rules:      cel.NewValidator(structural, true, celconfig.PerCallLimit),
	}, nil
}

// Admit decodes and validates obj as the API server does on create: it
// rejects unknown fields (kubectl's default strict field validation), prunes
// and defaults by the structural schema, then checks metadata, the OpenAPI
// schema (types, enums, patterns, required), list-type invariants and the
// x-kubernetes-validations CEL rules. It returns the object as it would be
// stored. Metadata.namespace is required for namespaced kinds: manifests here
// name their namespace rather than rely on kubectl's context.
func (s *Schemas) Admit(ctx context.Context, obj map[string]any) (map[string]any, error) {
	u := &unstructured.Unstructured{Object: runtime.DeepCopyJSON(obj)}
	gvk := u.GroupVersionKind()
	v, ok := s.versions[gvk]
	if !ok {
		return nil, fmt.Errorf("%w %s", ErrNoSchema, gvk)
	}

	unknown, err := v.coerce(u)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRejected, err)
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("%w: strict decoding error: %s", ErrRejected, unknownFields(unknown))
	}

	defaulting.Default(u.Object, v.structural)
	if errs := v.validate(ctx, u, gvk); len(errs) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrRejected, errs.ToAggregate())
	}
	return u.Object, nil
}

// coerce follows the API server's decoding of a custom resource: unknown
// metadata fields, schema pruning, null pruning and embedded ObjectMeta
// coercion, returning the paths of the unknown fields it dropped.
func (v *crdVersion) coerce(u *unstructured.Unstructured) ([]string, error) {
	kind, apiVersion := u.GetKind(), u.GetAPIVersion()
	meta, hasMeta, unknown, err := objectmeta.GetObjectMetaWithOptions(u.Object,
		objectmeta.ObjectMetaOptions{ReturnUnknownFieldPaths: true})
	if err != nil {
		return nil, err
	}

	pruneOpts := structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true}
	unknown = append(unknown, pruning.PruneWithOptions(u.Object, v.structural, true, pruneOpts)...)
	defaulting.PruneNonNullableNullsWithoutDefaults(u.Object, v.structural)
	coerceErr, paths := objectmeta.CoerceWithOptions(nil, u.Object, v.structural, false,
		objectmeta.CoerceOptions{ReturnUnknownFieldPaths: true})
	if coerceErr != nil {
		return nil, coerceErr
	}
	unknown = append(unknown, paths...)

	u.SetKind(kind)
	u.SetAPIVersion(apiVersion)
	if hasMeta {
		if err := objectmeta.SetObjectMeta(u.Object, meta); err != nil {
			return nil, err
		}
	}
	return unknown, nil
}

// validate runs the create-time checks of the API server's custom resource
// strategy, in its order.
func (v *crdVersion) validate(
	ctx context.Context,
	u *unstructured.Unstructured,
	gvk schema.GroupVersionKind,
) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, apivalidation.ValidateObjectMetaAccessor(u, v.namespaced,
		apivalidation.NameIsDNSSubdomain, field.NewPath("metadata"))...)
	errs = append(errs, apiservervalidation.ValidateCustomResource(nil, u.Object, v.validator)...)
	errs = append(errs, objectmeta.Validate(nil, u.Object, v.structural, false)...)
	errs = append(errs, listtype.ValidateListSetsAndMaps(nil, v.structural, u.Object)...)
	if v.rules == nil {
		return errs
	}

	// Like the API server, skip the CEL rules when a type, required or enum
	// error means they would evaluate against a malformed object.
	if blocking(errs) {
		msg := "CEL rules not checked: fix the errors above first"
		return append(errs, field.Invalid(nil, gvk.Kind, msg))
	}
	celErrs, _ := v.rules.Validate(ctx, nil, v.structural, u.Object, nil,
		celconfig.RuntimeCELCostBudget)
	return append(errs, celErrs...)
}

func blocking(errs field.ErrorList) bool {
	for _, e := range errs {
		switch e.Type {
		case field.ErrorTypeNotSupported, field.ErrorTypeRequired, field.ErrorTypeTooLong,
			field.ErrorTypeTooMany, field.ErrorTypeTypeInvalid:
			return true
		}
	}
	return false
}

func unknownFields(paths []string) string {
	msgs := make([]string, len(paths))
	for i, p := range paths {
		msgs[i] = fmt.Sprintf("unknown field %q", p)
	}
	return strings.Join(msgs, ", ")
}

// yamlFiles returns path itself, or the YAML files directly inside it when it
// is a directory.
func yamlFiles(path string) ([]string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("validate: %w", err)
	}
	if !info.IsDir() {
		return []string{path}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("validate: %w", err)
	}
	var files []string
	for _, e := range entries {
		if !e.IsDir() && isYAML(e.Name()) {
			files = append(files, filepath.Join(path, e.Name()))
		}
	}
	return files, nil
}
