package validate

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// Paths, relative to this package's folder (config/validate).
const (
	configDir = ".."
	repoRoot  = "../.."
	// sharedCRDs is ../shared/crds seen from the repository root.
	sharedCRDs = "../../../shared/crds"
	// strimziCRDs and knativeCRDs are the release folders of sharedCRDs.
	strimziCRDs = "strimzi-1.2.0"
	knativeCRDs = "knative-eventing-kafka-1.23.0"
	// kafkaBrokerModule ships the KafkaSink CRD that ../shared/crds lacks.
	kafkaBrokerModule = "knative.dev/eventing-kafka-broker"
	kafkaBrokerCRDs   = "control-plane/config/eventing-kafka-broker/"
	kafkaSinkCRD      = kafkaBrokerCRDs + "100-sink/100-kafka-sink.yaml"
	kafkaSourceCRD    = kafkaBrokerCRDs + "100-source/100-kafka-source.yaml"
)

// requireShared returns the shared CRD folder. Outside CI a missing folder
// skips the test; under CI (CI set) it fails it, since CI always lays
// ../shared beside the repository and a silent skip would hide a broken setup.
func requireShared(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(sharedCRDs); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CRD schemas missing at %s under CI: %v", sharedCRDs, err)
		}
		t.Skipf("skipping: no CRD schemas at %s (the shared folder beside the repository; "+
			"CI has it): %v", sharedCRDs, err)
	}
	return sharedCRDs
}

// goModule is what `go list -m -json` says of a dependency.
type goModule struct {
	Path, Version, Dir string
}

// listModule asks the go command about a module this package depends on:
// its selected version and its folder in the module cache. (Test binaries
// carry no dependency list in their build info.)
func listModule(path string) (goModule, error) {
	var m goModule
	out, err := exec.Command("go", "list", "-m", "-json", path).Output()
	if err != nil {
		return m, fmt.Errorf("go list -m %s: %w", path, err)
	}
	err = json.Unmarshal(out, &m)
	return m, err
}

var loadSchemas = sync.OnceValues(func() (*Schemas, error) {
	broker, err := listModule(kafkaBrokerModule)
	if err != nil {
		return nil, err
	}
	s := NewSchemas()
	err = s.LoadCRDs(
		filepath.Join(sharedCRDs, strimziCRDs),
		filepath.Join(sharedCRDs, knativeCRDs),
		filepath.Join(broker.Dir, kafkaSinkCRD),
	)
	return s, err
})

// testValidator returns a Validator loaded with the shared CRDs and the
// KafkaSink CRD of the eventing-kafka-broker module.
func testValidator(t *testing.T) *Validator {
	t.Helper()
	requireShared(t)
	s, err := loadSchemas()
	require.NoError(t, err)
	return NewValidator(s)
}

var loadConfig = sync.OnceValues(func() ([]Document, error) {
	return ReadDir(configDir, "validate")
})

// configDocs returns every document of every manifest under config/, except
// this module's own folder (its testdata holds the known-bad manifests).
func configDocs(t *testing.T) []Document {
	t.Helper()
	docs, err := loadConfig()
	require.NoError(t, err)
	require.NotEmpty(t, docs, "no manifests under %s", configDir)
	return docs
}
