package validate

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"function/pkg/topology"

	"github.com/rickb777/date/period"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	sourcesv1 "knative.dev/eventing-kafka-broker/control-plane/pkg/apis/sources/v1"
	eventingduckv1 "knative.dev/eventing/pkg/apis/duck/v1"
	kinddefaults "sigs.k8s.io/kind/pkg/apis/config/defaults"
	"sigs.k8s.io/yaml"
)

var (
	strimzi       = schema.GroupVersion{Group: "kafka.strimzi.io", Version: "v1"}
	kafkaKind     = strimzi.WithKind("Kafka")
	nodePoolKind  = strimzi.WithKind("KafkaNodePool")
	topicKind     = strimzi.WithKind("KafkaTopic")
	serviceKind   = schema.GroupVersionKind{Version: "v1", Kind: "Service"}
	configMapKind = schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}
	claimKind     = schema.GroupVersionKind{Version: "v1", Kind: "PersistentVolumeClaim"}
	serving       = schema.GroupVersion{Group: "serving.knative.dev", Version: "v1"}
	ksvcKind      = serving.WithKind("Service")
)

// clusterLabel is the label that ties Strimzi resources to their Kafka.
const clusterLabel = "strimzi.io/cluster"

// TestTopics_MatchTopology checks the KafkaTopics are exactly the topics of
// pkg/topology, with its partition counts, on the Kafka cluster of config/.
func TestTopics_MatchTopology(t *testing.T) {
	docs := configDocs(t)
	kafka := single(t, docs, kafkaKind)
	want := map[string]int64{
		topology.UsersTopic:      topology.UsersPartitions,
		topology.DeadLetterTopic: topology.DeadLetterPartitions,
	}

	got := make(map[string]int64)
	for _, d := range ofKind(docs, topicKind) {
		got[topicName(d)] = nestedInt(t, d, "spec", "partitions")
		assert.Equal(t, kafka.Namespace(), d.Namespace(), "%s: not in the Kafka's namespace", d)
		assert.Equal(t, kafka.Name(), label(d, clusterLabel), "%s: %s label", d, clusterLabel)
		assert.LessOrEqual(t, nestedInt(t, d, "spec", "replicas"), brokerCount(t, docs),
			"%s: more replicas than brokers", d)
	}
	assert.Equal(t, want, got, "topics (name: partitions) differ from pkg/topology")
}

// TestKafka_FitsItsNodePools checks the node pools belong to the Kafka, that
// some node is a controller and some a broker, and that no replication
// setting of the broker config asks for more brokers than there are.
func TestKafka_FitsItsNodePools(t *testing.T) {
	docs := configDocs(t)
	kafka := single(t, docs, kafkaKind)
	roles := make(map[string]bool)
	for _, d := range ofKind(docs, nodePoolKind) {
		assert.Equal(t, kafka.Namespace(), d.Namespace(), "%s: not in the Kafka's namespace", d)
		assert.Equal(t, kafka.Name(), label(d, clusterLabel), "%s: %s label", d, clusterLabel)
		for _, r := range nestedStrings(t, d, "spec", "roles") {
			roles[r] = true
		}
	}
	assert.True(t, roles["controller"] && roles["broker"],
		"roles %v: need controller and broker", roles)

	brokers := brokerCount(t, docs)
	config, _, err := unstructured.NestedMap(kafka.Object, "spec", "kafka", "config")
	require.NoError(t, err)
	for _, key := range []string{"offsets.topic.replication.factor",
		"transaction.state.log.replication.factor", "transaction.state.log.min.isr",
		"default.replication.factor", "min.insync.replicas"} {
		v, ok := config[key].(int64)
		require.True(t, ok, "spec.kafka.config[%q] = %v: want an integer", key, config[key])
		assert.LessOrEqual(t, v, brokers, "spec.kafka.config[%q] above the broker count", key)
	}
}

// TestKafkaSources_MatchTopology checks there is exactly one KafkaSource per
// pkg/topology source, with its namespace, topic, consumer group and route,
// and no other.
func TestKafkaSources_MatchTopology(t *testing.T) {
	sources := kafkaSources(t, configDocs(t))
	require.Len(t, sources, len(topology.Sources), "one KafkaSource per topology source")
	for _, want := range topology.Sources {
		ks, ok := sources[want.Name]
		if !assert.True(t, ok, "no KafkaSource %s", want.Name) {
			continue
		}
		assert.Equal(t, topology.Namespace, ks.Namespace, "%s namespace", want.Name)
		assert.Equal(t, []string{want.Topic}, ks.Spec.Topics, "%s topics", want.Name)
		assert.Equal(t, want.ConsumerGroup, ks.Spec.ConsumerGroup, "%s consumerGroup", want.Name)
		require.NotNil(t, ks.Spec.CloudEventOverrides, "%s: no ceOverrides", want.Name)
		assert.Equal(t, map[string]string{topology.RouteExtension: want.Handler},
			ks.Spec.CloudEventOverrides.Extensions, "%s ceOverrides.extensions", want.Name)
		assert.Equal(t, sourcesv1.Ordered, *ks.Spec.Ordering, "%s ordering", want.Name)
		assert.Equal(t, sourcesv1.OffsetEarliest, ks.Spec.InitialOffset,
			"%s initialOffset", want.Name)
	}
}

// TestKafkaSources_SinkIsTheFunction checks every KafkaSource delivers to the
// function's Knative Service, in the function's namespace.
func TestKafkaSources_SinkIsTheFunction(t *testing.T) {
	for name, ks := range kafkaSources(t, configDocs(t)) {
		ref := ks.Spec.Sink.Ref
		require.NotNil(t, ref, "%s: sink has no ref", name)
		assert.Equal(t, ksvcKind.GroupVersion().String(), ref.APIVersion,
			"%s sink apiVersion", name)
		assert.Equal(t, ksvcKind.Kind, ref.Kind, "%s sink kind", name)
		assert.Equal(t, topology.FunctionName, ref.Name, "%s sink name", name)
		assert.Equal(t, topology.Namespace, ref.Namespace, "%s sink namespace", name)
	}
}

// TestKafkaSources_DeliveryIsExplicit checks each KafkaSource sets retry,
// backoff and a timeout well under the 10-minute default, and dead-letters to
// the KafkaSink of config/.
func TestKafkaSources_DeliveryIsExplicit(t *testing.T) {
	docs := configDocs(t)
	sinks := make(map[string]bool)
	for _, d := range ofKind(docs, KafkaSinkKind) {
		sinks[d.Namespace()+"/"+d.Name()] = true
	}

	for name, ks := range kafkaSources(t, docs) {
		d := ks.Spec.Delivery
		require.NotNil(t, d, "%s: no delivery", name)
		require.NotNil(t, d.Retry, "%s: no delivery.retry", name)
		assert.Positive(t, *d.Retry, "%s delivery.retry", name)
		require.NotNil(t, d.BackoffPolicy, "%s: no delivery.backoffPolicy", name)
		assertDuration(t, d.BackoffDelay, time.Millisecond, time.Minute, name+" backoffDelay")
		assertDuration(t, d.Timeout, time.Second, 5*time.Minute, name+" timeout")
		assertDeadLetterSink(t, name, d, sinks)
	}
}

// TestDeadLetterSink_WritesDeadLetterTopic checks the dead-letter KafkaSink
// writes the topology's dead-letter topic and leaves the topic to its
// KafkaTopic (no numPartitions or replicationFactor, which would create it).
func TestDeadLetterSink_WritesDeadLetterTopic(t *testing.T) {
	sink := single(t, configDocs(t), KafkaSinkKind)
	s, err := AdmitKafkaSink(context.Background(), sink.Object)
	require.NoError(t, err)
	assert.Equal(t, topology.DeadLetterTopic, s.Spec.Topic)
	assert.Equal(t, topology.Namespace, s.Namespace)
	assert.Nil(t, s.Spec.NumPartitions, "numPartitions set: the sink would create the topic")
	assert.Nil(t, s.Spec.ReplicationFactor,
		"replicationFactor set: the sink would create the topic")
}

// TestBootstrapServers_PointAtKafka checks every KafkaSource and KafkaSink
// connects to the plaintext internal listener of the Kafka of config/.
func TestBootstrapServers_PointAtKafka(t *testing.T) {
	docs := configDocs(t)
	want := []any{plainBootstrap(t, single(t, docs, kafkaKind))}
	for _, d := range append(ofKind(docs, KafkaSourceKind), ofKind(docs, KafkaSinkKind)...) {
		got, _, err := unstructured.NestedSlice(d.Object, "spec", "bootstrapServers")
		require.NoError(t, err)
		assert.Equal(t, want, got, "%s bootstrapServers", d)
	}
}

// TestKindCluster_PublishesNodePorts checks kind publishes every node port
// the manifests fix (Kourier, Kafka bootstrap and brokers), that a broker's
// advertised port is the host port it is published on, and that Knative's
// domain resolves to the address Kourier is published on.
func TestKindCluster_PublishesNodePorts(t *testing.T) {
	docs := configDocs(t)
	cluster, err := AdmitKindCluster(single(t, docs, KindClusterKind).Object)
	require.NoError(t, err)
	published := make(map[int64]int64) // node port -> host port
	listen := make(map[int64]string)
	for _, n := range cluster.Nodes {
		for _, m := range n.ExtraPortMappings {
			published[int64(m.ContainerPort)] = int64(m.HostPort)
			listen[int64(m.ContainerPort)] = m.ListenAddress
		}
	}

	kourier := kourierNodePort(t, docs)
	assert.Contains(t, published, kourier, "Kourier node port %d not published", kourier)
	domain := named(t, docs, configMapKind, "config-domain")
	for key := range nestedStringMap(t, domain, "data") {
		assert.True(t, strings.HasPrefix(key, listen[kourier]+"."),
			"domain %s does not resolve to %s, where Kourier is published", key, listen[kourier])
	}

	for _, l := range nodePortListeners(t, single(t, docs, kafkaKind)) {
		host, ok := published[l.nodePort]
		if assert.True(t, ok, "Kafka node port %d not published", l.nodePort) && l.advertised != 0 {
			assert.Equal(t, l.advertised, host, "broker advertises port %d, published on %d",
				l.advertised, host)
		}
	}
}

// TestFuncYAML_MatchesManifests checks func.yaml (written at the repository
// root) agrees with config/: see [funcYAMLErrors].
func TestFuncYAML_MatchesManifests(t *testing.T) {
	f := readFuncYAML(t, filepath.Join(repoRoot, "func.yaml"))
	assert.Empty(t, funcYAMLErrors(f, configDocs(t)))
}

// TestFuncYAMLErrors_CatchMismatches checks the func.yaml comparison on
// samples: a func.yaml that fits config/, and ones that break it.
func TestFuncYAMLErrors_CatchMismatches(t *testing.T) {
	cases := map[string]string{
		"good.yaml":            "",
		"wrong-name.yaml":      `name "users" is not the KafkaSources' sink "user-handlers"`,
		"wrong-namespace.yaml": `deploy.namespace "default" is not "functions"`,
		"unknown-claim.yaml":   `mounts claim "data" that config/ does not create in "functions"`,
	}
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			f := readFuncYAML(t, filepath.Join("testdata", "func", name))
			errs := funcYAMLErrors(f, configDocs(t))
			if want == "" {
				assert.Empty(t, errs)
				return
			}
			assert.Equal(t, []string{want}, errs)
		})
	}
}

// TestMakefile_AgreesWithConfig checks mk/cluster.mk pins the kind release
// this module validates with and its node image, installs the releases whose
// CRDs the tests load, and uses the names of config/ and pkg/topology.
func TestMakefile_AgreesWithConfig(t *testing.T) {
	vars := makeVars(t, filepath.Join(repoRoot, "mk", "cluster.mk"))
	docs := configDocs(t)
	kafka := single(t, docs, kafkaKind)

	assert.Equal(t, moduleVersion(t, "sigs.k8s.io/kind"), vars["KIND_VERSION"], "KIND_VERSION")
	assert.Equal(t, kinddefaults.Image, vars["KIND_NODE_IMAGE"], "KIND_NODE_IMAGE")
	assert.Equal(t, "strimzi-"+vars["STRIMZI_VERSION"], strimziCRDs, "STRIMZI_VERSION")
	assert.Equal(t, "knative-eventing-kafka-"+vars["KNATIVE_VERSION"], knativeCRDs,
		"KNATIVE_VERSION")
	assert.Equal(t, kafka.Namespace(), vars["KAFKA_NAMESPACE"], "KAFKA_NAMESPACE")
	assert.Equal(t, kafka.Name(), vars["KAFKA_CLUSTER"], "KAFKA_CLUSTER")
	assert.Equal(t, topology.Namespace, vars["FUNCTION_NAMESPACE"], "FUNCTION_NAMESPACE")
	assert.Equal(t, topology.FunctionName, vars["FUNCTION_NAME"], "FUNCTION_NAME")

	hosting := named(t, docs, configMapKind, "local-registry-hosting")
	data := nestedStringMap(t, hosting, "data")
	assert.Contains(t, data["localRegistryHosting.v1"],
		fmt.Sprintf("host: \"localhost:%s\"", vars["REGISTRY_PORT"]), "REGISTRY_PORT")
}

// ---- helpers ----

// ofKind returns the documents of one kind.
func ofKind(docs []Document, gvk schema.GroupVersionKind) []Document {
	var out []Document
	for _, d := range docs {
		if d.GroupVersionKind() == gvk {
			out = append(out, d)
		}
	}
	return out
}

// single returns the one document of a kind under config/.
func single(t *testing.T, docs []Document, gvk schema.GroupVersionKind) Document {
	t.Helper()
	found := ofKind(docs, gvk)
	require.Len(t, found, 1, "want exactly one %s under config/", gvk)
	return found[0]
}

// named returns the one document of a kind with the given name.
func named(t *testing.T, docs []Document, gvk schema.GroupVersionKind, name string) Document {
	t.Helper()
	var found []Document
	for _, d := range ofKind(docs, gvk) {
		if d.Name() == name {
			found = append(found, d)
		}
	}
	require.Len(t, found, 1, "want exactly one %s %s under config/", gvk.Kind, name)
	return found[0]
}

func kafkaSources(t *testing.T, docs []Document) map[string]*sourcesv1.KafkaSource {
	t.Helper()
	out := make(map[string]*sourcesv1.KafkaSource)
	for _, d := range ofKind(docs, KafkaSourceKind) {
		ks, err := AdmitKafkaSource(context.Background(), d.Object)
		require.NoError(t, err)
		require.NotContains(t, out, ks.Name, "%s: duplicate KafkaSource name", d)
		out[ks.Name] = ks
	}
	return out
}

func assertDeadLetterSink(
	t *testing.T,
	name string,
	d *eventingduckv1.DeliverySpec,
	sinks map[string]bool,
) {
	t.Helper()
	require.NotNil(t, d.DeadLetterSink, "%s: no delivery.deadLetterSink", name)
	ref := d.DeadLetterSink.Ref
	require.NotNil(t, ref, "%s: deadLetterSink has no ref", name)
	assert.Equal(t, KafkaSinkKind.GroupVersion().String(), ref.APIVersion,
		"%s dead letter apiVersion", name)
	assert.Equal(t, KafkaSinkKind.Kind, ref.Kind, "%s dead letter kind", name)
	assert.True(t, sinks[ref.Namespace+"/"+ref.Name], "%s: dead letter sink %s/%s not in config/",
		name, ref.Namespace, ref.Name)
}

func assertDuration(t *testing.T, iso *string, lo, hi time.Duration, what string) {
	t.Helper()
	if !assert.NotNil(t, iso, "%s not set", what) {
		return
	}
	p, err := period.Parse(*iso)
	require.NoError(t, err, "%s %q", what, *iso)
	d, _ := p.Duration()
	assert.True(t, d >= lo && d <= hi, "%s %s outside [%s, %s]", what, d, lo, hi)
}

func topicName(d Document) string {
	if name, _, _ := unstructured.NestedString(d.Object, "spec", "topicName"); name != "" {
		return name
	}
	return d.Name()
}

// brokerCount is the number of broker nodes of all node pools.
func brokerCount(t *testing.T, docs []Document) int64 {
	t.Helper()
	var n int64
	for _, d := range ofKind(docs, nodePoolKind) {
		for _, r := range nestedStrings(t, d, "spec", "roles") {
			if r == "broker" {
				n += nestedInt(t, d, "spec", "replicas")
			}
		}
	}
	return n
}

// plainBootstrap is the in-cluster address of the Kafka's internal
// plaintext listener, as Strimzi names its bootstrap service.
func plainBootstrap(t *testing.T, kafka Document) string {
	t.Helper()
	for _, l := range listeners(t, kafka) {
		if l["type"] == "internal" && l["tls"] == false {
			return fmt.Sprintf("%s-kafka-bootstrap.%s.svc:%d",
				kafka.Name(), kafka.Namespace(), l["port"])
		}
	}
	t.Fatalf("%s has no internal plaintext listener", kafka)
	return ""
}

type nodePortListener struct {
	nodePort, advertised int64
}

// nodePortListeners returns the fixed bootstrap and broker node ports of the
// Kafka's nodeport listeners, with each broker's advertised port.
func nodePortListeners(t *testing.T, kafka Document) []nodePortListener {
	t.Helper()
	var out []nodePortListener
	for _, l := range listeners(t, kafka) {
		if l["type"] != "nodeport" {
			continue
		}
		if p, ok, _ := unstructured.NestedInt64(l, "configuration", "bootstrap", "nodePort"); ok {
			out = append(out, nodePortListener{nodePort: p})
		}
		brokers, _, err := unstructured.NestedSlice(l, "configuration", "brokers")
		require.NoError(t, err)
		for _, b := range brokers {
			bm := b.(map[string]any)
			p, _ := bm["nodePort"].(int64)
			adv, _ := bm["advertisedPort"].(int64)
			out = append(out, nodePortListener{nodePort: p, advertised: adv})
		}
	}
	require.NotEmpty(t, out, "%s has no fixed node ports", kafka)
	return out
}

func listeners(t *testing.T, kafka Document) []map[string]any {
	t.Helper()
	raw, _, err := unstructured.NestedSlice(kafka.Object, "spec", "kafka", "listeners")
	require.NoError(t, err)
	out := make([]map[string]any, len(raw))
	for i, l := range raw {
		out[i] = l.(map[string]any)
	}
	return out
}

// kourierNodePort is the node port of the NodePort Service in front of the
// Kourier gateway.
func kourierNodePort(t *testing.T, docs []Document) int64 {
	t.Helper()
	for _, d := range ofKind(docs, serviceKind) {
		if d.Namespace() != "kourier-system" {
			continue
		}
		ports, _, err := unstructured.NestedSlice(d.Object, "spec", "ports")
		require.NoError(t, err)
		require.Len(t, ports, 1, "%s: one port expected", d)
		return ports[0].(map[string]any)["nodePort"].(int64)
	}
	t.Fatal("no Service in kourier-system under config/")
	return 0
}

func label(d Document, key string) string {
	v, _, _ := unstructured.NestedString(d.Object, "metadata", "labels", key)
	return v
}

func nestedInt(t *testing.T, d Document, path ...string) int64 {
	t.Helper()
	v, ok, err := unstructured.NestedInt64(d.Object, path...)
	require.NoError(t, err, "%s %v", d, path)
	require.True(t, ok, "%s: no %v", d, path)
	return v
}

func nestedStrings(t *testing.T, d Document, path ...string) []string {
	t.Helper()
	v, _, err := unstructured.NestedStringSlice(d.Object, path...)
	require.NoError(t, err, "%s %v", d, path)
	return v
}

func nestedStringMap(t *testing.T, d Document, path ...string) map[string]string {
	t.Helper()
	v, _, err := unstructured.NestedStringMap(d.Object, path...)
	require.NoError(t, err, "%s %v", d, path)
	return v
}

// funcYAML holds the fields of func.yaml that config/ must agree with.
type funcYAML struct {
	Name   string `json:"name"`
	Deploy struct {
		Namespace string `json:"namespace"`
	} `json:"deploy"`
	Run struct {
		Volumes []struct {
			PersistentVolumeClaim *struct {
				ClaimName string `json:"claimName"`
			} `json:"persistentVolumeClaim"`
		} `json:"volumes"`
	} `json:"run"`
}

// readFuncYAML reads a func.yaml. Outside CI a missing file skips the test
// (the repository's func.yaml comes with the function's own work); under CI it
// fails it.
func readFuncYAML(t *testing.T, path string) funcYAML {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("func.yaml missing under CI: %v", err)
		}
		t.Skipf("skipping: no %s yet: %v", path, err)
	}
	var f funcYAML
	require.NoError(t, yaml.Unmarshal(data, &f), path)
	return f
}

// funcYAMLErrors lists where func.yaml disagrees with config/: its name must
// be the Service every KafkaSource delivers to (pkg/topology.FunctionName),
// its deploy namespace (when set) theirs, and every claim it mounts one that
// config/ creates in that namespace.
func funcYAMLErrors(f funcYAML, docs []Document) []string {
	var errs []string
	if f.Name != topology.FunctionName {
		errs = append(errs, fmt.Sprintf("name %q is not the KafkaSources' sink %q",
			f.Name, topology.FunctionName))
	}
	if f.Deploy.Namespace != "" && f.Deploy.Namespace != topology.Namespace {
		errs = append(errs, fmt.Sprintf("deploy.namespace %q is not %q",
			f.Deploy.Namespace, topology.Namespace))
	}

	claims := make(map[string]bool)
	for _, d := range ofKind(docs, claimKind) {
		if d.Namespace() == topology.Namespace {
			claims[d.Name()] = true
		}
	}
	for _, v := range f.Run.Volumes {
		if v.PersistentVolumeClaim != nil && !claims[v.PersistentVolumeClaim.ClaimName] {
			errs = append(errs, fmt.Sprintf("mounts claim %q that config/ does not create in %q",
				v.PersistentVolumeClaim.ClaimName, topology.Namespace))
		}
	}
	return errs
}

var (
	makeVar = regexp.MustCompile(`(?m)^([A-Z_]+) \?= (.*)$`)
	makeRef = regexp.MustCompile(`\$\(([A-Z_]+)\)`)
)

// makeVars returns the `NAME ?= value` assignments of a makefile, with
// references to variables assigned earlier the same way expanded.
func makeVars(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	vars := make(map[string]string)
	for _, m := range makeVar.FindAllStringSubmatch(string(data), -1) {
		vars[m[1]] = makeRef.ReplaceAllStringFunc(strings.TrimSpace(m[2]), func(ref string) string {
			return vars[makeRef.FindStringSubmatch(ref)[1]]
		})
	}
	return vars
}

// moduleVersion returns the selected version of a dependency.
func moduleVersion(t *testing.T, path string) string {
	t.Helper()
	m, err := listModule(path)
	require.NoError(t, err)
	return m.Version
}
