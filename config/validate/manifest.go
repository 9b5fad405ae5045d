// Package validate checks the manifests under config/ the way a Kubernetes API
// server and the Knative webhooks would check them, and checks that they agree
// with the names the code uses (pkg/topology, func.yaml). It is a separate
// module so that the Kubernetes libraries it needs stay out of the function's
// own module, which is the function image's build context.
package validate

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// ErrNotObject is returned when a YAML document is not a mapping.
var ErrNotObject = errors.New("validate: document is not an object")

// Document is one YAML document of a manifest file, decoded as kubectl sends
// it to the API server: a JSON object whose integers are int64.
type Document struct {
	// Path is the file the document was read from.
	Path string
	// Index is the document's position in its file, from 0, counting
	// comment-only documents too.
	Index int
	// Object is the decoded document.
	Object map[string]any
}

// GroupVersionKind returns the document's apiVersion and kind.
func (d Document) GroupVersionKind() schema.GroupVersionKind {
	apiVersion, _ := d.Object["apiVersion"].(string)
	kind, _ := d.Object["kind"].(string)
	return schema.FromAPIVersionAndKind(apiVersion, kind)
}

// Name returns metadata.name, or "" when it is missing.
func (d Document) Name() string {
	return d.metadataString("name")
}

// Namespace returns metadata.namespace, or "" when it is missing.
func (d Document) Namespace() string {
	return d.metadataString("namespace")
}

// String names the document for error messages: file, index, kind and name.
func (d Document) String() string {
	name := d.Name()
	if ns := d.Namespace(); ns != "" {
		name = ns + "/" + name
	}
	return fmt.Sprintf("%s#%d (%s %s)", d.Path, d.Index, d.GroupVersionKind().Kind, name)
}

func (d Document) metadataString(key string) string {
	meta, _ := d.Object["metadata"].(map[string]any)
	s, _ := meta[key].(string)
	return s
}

// ReadDir reads every *.yaml and *.yml file below root, skipping the
// directories whose base name is in skip, and returns their documents in
// lexical file order.
func ReadDir(root string, skip ...string) ([]Document, error) {
	var docs []Document
	err := filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() {
			if path != root && slices.Contains(skip, e.Name()) {
				return filepath.SkipDir
			}
			return nil
		}
		if !isYAML(path) {
			return nil
		}
		fileDocs, err := ReadFile(path)
		docs = append(docs, fileDocs...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("validate: read %s: %w", root, err)
	}
	return docs, nil
}

// ReadFile returns the documents of one multi-document YAML file. Documents
// that hold only comments are left out.
func ReadFile(path string) ([]Document, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("validate: %w", err)
	}
	return Parse(path, data)
}

// Parse splits data at "---" lines and decodes each document. A duplicate
// mapping key is an error, as it is for the API server's strict decoding.
func Parse(path string, data []byte) ([]Document, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs []Document
	for index := 0; ; index++ {
		raw, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("validate: %s#%d: %w", path, index, err)
		}
		obj, err := decode(raw)
		if err != nil {
			return nil, fmt.Errorf("validate: %s#%d: %w", path, index, err)
		}
		if obj != nil {
			docs = append(docs, Document{Path: path, Index: index, Object: obj})
		}
	}
}

// decode turns one YAML document into a JSON object, or nil for a document
// with no content. apimachinery's JSON decoding keeps integers as int64, which
// the CEL rules of the CRD schemas need.
func decode(raw []byte) (map[string]any, error) {
	j, err := yaml.YAMLToJSONStrict(raw)
	if err != nil {
		return nil, err
	}
	if string(bytes.TrimSpace(j)) == "null" {
		return nil, nil
	}
	var v any
	if err := utiljson.Unmarshal(j, &v); err != nil {
		return nil, err
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, ErrNotObject
	}
	return obj, nil
}

func isYAML(path string) bool {
	ext := strings.ToLower(filepath.Ext(path))
	return ext == ".yaml" || ext == ".yml"
}
