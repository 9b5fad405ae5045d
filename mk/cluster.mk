# The dev cluster: kind + Knative (Serving, Kourier, Eventing, eventing-kafka
# source and sink) + Strimzi Kafka, the function deployed with `func deploy`
# and its KafkaSources. Needs Docker and curl; kind, kubectl and func are
# downloaded at the pinned versions into $(TOOLS_DIR) on first use.
#
#   make cluster-up        create the cluster and install everything but the function
#   make cluster-deploy    build and deploy the function, then apply its sources
#   make cluster-undeploy  remove the sources and the function
#   make cluster-down      delete the cluster and the local registry
#   make test-config       validate config/ against the CRDs and the code (no cluster)
#
# Each step target (cluster-create ... cluster-sources) can be re-run alone: every
# step applies idempotently and waits until what it installed is ready.

# ---- Pinned versions: change them here and nowhere else. ----
# kind release and the node image it was released with (kind's own default).
KIND_VERSION ?= v0.32.0
KIND_NODE_DIGEST ?= sha256:3489c7674813ba5d8b1a9977baea8a6e553784dab7b84759d1014dbd78f7ebd5
KIND_NODE_IMAGE ?= kindest/node:v1.36.1@$(KIND_NODE_DIGEST)
KUBECTL_VERSION ?= v1.36.1
# One Knative release for Serving, net-kourier, Eventing, eventing-kafka-broker
# and the func CLI (their release tags are knative-v$(KNATIVE_VERSION)).
KNATIVE_VERSION ?= 1.23.0
STRIMZI_VERSION ?= 1.2.0
REGISTRY_IMAGE ?= registry:3

# ---- Names shared with config/ (config/validate checks they agree). ----
KIND_CLUSTER ?= user-handlers
KAFKA_NAMESPACE ?= kafka
KAFKA_CLUSTER ?= dev
FUNCTION_NAMESPACE ?= functions
FUNCTION_NAME ?= user-handlers
# `func deploy` pushes the image here from the host; the kind node pulls the
# same name through the hosts.toml that cluster-registry writes.
REGISTRY_NAME ?= kind-registry
REGISTRY_PORT ?= 5001
FUNC_REGISTRY ?= localhost:$(REGISTRY_PORT)

# ---- Tools and downloads. ----
TOOLS_DIR ?= $(CURDIR)/.tools
CLUSTER_CACHE ?= $(CURDIR)/.cache/cluster
HOST_OS = $(shell $(GO) env GOOS)
HOST_ARCH = $(shell $(GO) env GOARCH)
DOCKER ?= docker
KIND ?= $(TOOLS_DIR)/kind-$(KIND_VERSION)
KUBECTL_BIN ?= $(TOOLS_DIR)/kubectl-$(KUBECTL_VERSION)
FUNC ?= $(TOOLS_DIR)/func-$(KNATIVE_VERSION)
# Every kubectl call names the kind context: never another cluster by mistake.
KUBECTL = $(KUBECTL_BIN) --context kind-$(KIND_CLUSTER)
# func has no --context flag and uses the current one: check it first.
REQUIRE_KIND_CONTEXT = test "$$($(KUBECTL_BIN) config current-context)" = kind-$(KIND_CLUSTER) \
	|| { echo "kubectl's current context is not kind-$(KIND_CLUSTER)"; exit 1; }
WAIT_TIMEOUT ?= 5m
KAFKA_WAIT_TIMEOUT ?= 10m

KNATIVE_TAG = knative-v$(KNATIVE_VERSION)
GITHUB = https://github.com
KIND_URL = $(GITHUB)/kubernetes-sigs/kind/releases/download/$(KIND_VERSION)
KUBECTL_URL = https://dl.k8s.io/release/$(KUBECTL_VERSION)
FUNC_URL = $(GITHUB)/knative/func/releases/download/$(KNATIVE_TAG)
SERVING_URL = $(GITHUB)/knative/serving/releases/download/$(KNATIVE_TAG)
KOURIER_URL = $(GITHUB)/knative-extensions/net-kourier/releases/download/$(KNATIVE_TAG)
EVENTING_URL = $(GITHUB)/knative/eventing/releases/download/$(KNATIVE_TAG)
EVENTING_KAFKA_URL = \
	$(GITHUB)/knative-extensions/eventing-kafka-broker/releases/download/$(KNATIVE_TAG)
STRIMZI_URL = $(GITHUB)/strimzi/strimzi-kafka-operator/releases/download/$(STRIMZI_VERSION)

KNATIVE_CACHE = $(CLUSTER_CACHE)/$(KNATIVE_TAG)
STRIMZI_CACHE = $(CLUSTER_CACHE)/strimzi-$(STRIMZI_VERSION)
SERVING_CRDS = $(KNATIVE_CACHE)/serving-crds.yaml
SERVING_CORE = $(KNATIVE_CACHE)/serving-core.yaml
KOURIER = $(KNATIVE_CACHE)/kourier.yaml
EVENTING_CRDS = $(KNATIVE_CACHE)/eventing-crds.yaml
EVENTING_CORE = $(KNATIVE_CACHE)/eventing-core.yaml
EVENTING_KAFKA = $(addprefix $(KNATIVE_CACHE)/eventing-kafka-,controller.yaml source.yaml sink.yaml)
STRIMZI_OPERATOR = $(STRIMZI_CACHE)/strimzi-cluster-operator-$(STRIMZI_VERSION).yaml

# download URL -> $@, atomically, failing on HTTP errors.
define download
	@mkdir -p $(dir $@)
	curl -fsSL --retry 3 -o $@.part $(1)
	mv $@.part $@
endef

.PHONY: cluster-up cluster-deploy cluster-undeploy cluster-down cluster-clean test-config \
	cluster-tools cluster-downloads cluster-registry cluster-create cluster-serving \
	cluster-kourier cluster-eventing cluster-eventing-kafka cluster-strimzi cluster-kafka \
	cluster-function cluster-sources cluster-status

cluster-up: ## Create the kind cluster and install Knative, eventing-kafka, Strimzi and Kafka.
	$(MAKE) --no-print-directory cluster-create
	$(MAKE) --no-print-directory cluster-serving
	$(MAKE) --no-print-directory cluster-kourier
	$(MAKE) --no-print-directory cluster-eventing
	$(MAKE) --no-print-directory cluster-eventing-kafka
	$(MAKE) --no-print-directory cluster-strimzi
	$(MAKE) --no-print-directory cluster-kafka

cluster-deploy: ## Deploy the function with `func deploy`, then its dead-letter sink and sources.
	$(MAKE) --no-print-directory cluster-function
	$(MAKE) --no-print-directory cluster-sources

test-config: ## Validate config/ against the CRD schemas, the webhooks' rules and the code.
	cd config/validate && $(GO) test -count=1 ./...

# ---- Tools and release manifests. ----
cluster-tools: | $(filter $(TOOLS_DIR)/%,$(KIND) $(KUBECTL_BIN) $(FUNC))

$(TOOLS_DIR)/kind-$(KIND_VERSION):
	$(call download,$(KIND_URL)/kind-$(HOST_OS)-$(HOST_ARCH))
	chmod +x $@

$(TOOLS_DIR)/kubectl-$(KUBECTL_VERSION):
	$(call download,$(KUBECTL_URL)/bin/$(HOST_OS)/$(HOST_ARCH)/kubectl)
	chmod +x $@

$(TOOLS_DIR)/func-$(KNATIVE_VERSION):
	$(call download,$(FUNC_URL)/func_$(HOST_OS)_$(HOST_ARCH))
	chmod +x $@

cluster-downloads: $(SERVING_CRDS) $(SERVING_CORE) $(KOURIER) $(EVENTING_CRDS) $(EVENTING_CORE) \
	$(EVENTING_KAFKA) $(STRIMZI_OPERATOR)

$(SERVING_CRDS) $(SERVING_CORE):
	$(call download,$(SERVING_URL)/$(notdir $@))
$(KOURIER):
	$(call download,$(KOURIER_URL)/$(notdir $@))
$(EVENTING_CRDS) $(EVENTING_CORE):
	$(call download,$(EVENTING_URL)/$(notdir $@))
$(EVENTING_KAFKA):
	$(call download,$(EVENTING_KAFKA_URL)/$(notdir $@))
$(STRIMZI_OPERATOR):
	$(call download,$(STRIMZI_URL)/$(notdir $@))

# ---- 1. kind cluster and local registry. ----
cluster-registry: ## Start the local image registry container `func deploy` pushes to.
	@running=$$($(DOCKER) inspect -f '{{.State.Running}}' $(REGISTRY_NAME) 2>/dev/null); \
	if [ "$$running" != true ]; then \
		echo "$(DOCKER) run $(REGISTRY_NAME)"; \
		$(DOCKER) run -d --restart=always -p 127.0.0.1:$(REGISTRY_PORT):5000 --network bridge \
			--name $(REGISTRY_NAME) $(REGISTRY_IMAGE); \
	fi

cluster-create: cluster-tools cluster-registry ## Create the kind cluster wired to the registry.
	@if ! $(KIND) get clusters | grep -qx '$(KIND_CLUSTER)'; then \
		echo "$(KIND) create cluster --name $(KIND_CLUSTER)"; \
		$(KIND) create cluster --name $(KIND_CLUSTER) --image $(KIND_NODE_IMAGE) \
			--config config/kind/cluster.yaml --wait $(WAIT_TIMEOUT); \
	fi
	# containerd on each node: localhost:$(REGISTRY_PORT) is the registry container.
	for node in $$($(KIND) get nodes --name $(KIND_CLUSTER)); do \
		$(DOCKER) exec $$node mkdir -p /etc/containerd/certs.d/localhost:$(REGISTRY_PORT); \
		printf '[host."http://%s:5000"]\n' $(REGISTRY_NAME) | $(DOCKER) exec -i $$node \
			cp /dev/stdin /etc/containerd/certs.d/localhost:$(REGISTRY_PORT)/hosts.toml; \
	done
	@net=$$($(DOCKER) inspect -f '{{json .NetworkSettings.Networks.kind}}' $(REGISTRY_NAME)); \
	if [ "$$net" = null ]; then \
		echo "$(DOCKER) network connect kind $(REGISTRY_NAME)"; \
		$(DOCKER) network connect kind $(REGISTRY_NAME); \
	fi
	$(KUBECTL) apply -f config/kind/local-registry-hosting.yaml
	$(KUBECTL) apply -f config/namespaces.yaml

# ---- 2. Knative Serving with Kourier. ----
cluster-serving: cluster-tools $(SERVING_CRDS) $(SERVING_CORE) ## Install Knative Serving.
	$(KUBECTL) apply -f $(SERVING_CRDS)
	$(KUBECTL) wait --for=condition=Established --timeout=$(WAIT_TIMEOUT) -f $(SERVING_CRDS)
	$(KUBECTL) apply -f $(SERVING_CORE)
	$(KUBECTL) wait --for=condition=Available --timeout=$(WAIT_TIMEOUT) \
		-n knative-serving deployment --all

cluster-kourier: cluster-tools $(KOURIER) ## Install Kourier and make it Serving's ingress.
	$(KUBECTL) apply -f $(KOURIER)
	$(KUBECTL) wait --for=condition=Available --timeout=$(WAIT_TIMEOUT) \
		-n kourier-system deployment --all
	$(KUBECTL) wait --for=condition=Available --timeout=$(WAIT_TIMEOUT) \
		-n knative-serving deployment --all
	$(KUBECTL) apply -f config/knative/kourier-nodeport.yaml
	$(KUBECTL) patch -n knative-serving configmap/config-network --type merge \
		--patch-file config/knative/config-network.yaml
	$(KUBECTL) patch -n knative-serving configmap/config-domain --type merge \
		--patch-file config/knative/config-domain.yaml
	$(KUBECTL) patch -n knative-serving configmap/config-features --type merge \
		--patch-file config/knative/config-features.yaml

# ---- 3. Knative Eventing with the Kafka source and sink. ----
cluster-eventing: cluster-tools $(EVENTING_CRDS) $(EVENTING_CORE) ## Install Knative Eventing.
	$(KUBECTL) apply -f $(EVENTING_CRDS)
	$(KUBECTL) wait --for=condition=Established --timeout=$(WAIT_TIMEOUT) -f $(EVENTING_CRDS)
	$(KUBECTL) apply -f $(EVENTING_CORE)
	$(KUBECTL) wait --for=condition=Available --timeout=$(WAIT_TIMEOUT) \
		-n knative-eventing deployment --all

# The controller file carries the CRDs and the webhook; the source and sink
# files add their data planes.
cluster-eventing-kafka: cluster-tools $(EVENTING_KAFKA) ## Install the KafkaSource and KafkaSink.
	$(KUBECTL) apply -f $(KNATIVE_CACHE)/eventing-kafka-controller.yaml
	$(KUBECTL) apply -f $(KNATIVE_CACHE)/eventing-kafka-source.yaml
	$(KUBECTL) apply -f $(KNATIVE_CACHE)/eventing-kafka-sink.yaml
	$(KUBECTL) wait --for=condition=Established --timeout=$(WAIT_TIMEOUT) \
		crd/kafkasources.sources.knative.dev crd/kafkasinks.eventing.knative.dev
	$(KUBECTL) wait --for=condition=Available --timeout=$(WAIT_TIMEOUT) \
		-n knative-eventing deployment --all

# ---- 4. Strimzi and the Kafka cluster. ----
# The release file names the placeholder namespace "myproject"; the operator is
# installed into, and watches, $(KAFKA_NAMESPACE). Server-side apply: Strimzi's
# CRDs are too large for the last-applied annotation of client-side apply.
cluster-strimzi: cluster-tools $(STRIMZI_OPERATOR) ## Install the Strimzi operator.
	sed 's/namespace: myproject/namespace: $(KAFKA_NAMESPACE)/' $(STRIMZI_OPERATOR) \
		| $(KUBECTL) apply --server-side -n $(KAFKA_NAMESPACE) -f -
	$(KUBECTL) wait --for=condition=Established --timeout=$(WAIT_TIMEOUT) \
		crd/kafkas.kafka.strimzi.io crd/kafkanodepools.kafka.strimzi.io \
		crd/kafkatopics.kafka.strimzi.io
	$(KUBECTL) wait --for=condition=Available --timeout=$(WAIT_TIMEOUT) \
		-n $(KAFKA_NAMESPACE) deployment/strimzi-cluster-operator

cluster-kafka: cluster-tools ## Create the Kafka cluster and its topics.
	$(KUBECTL) apply -f config/strimzi/kafka.yaml
	$(KUBECTL) wait --for=condition=Ready --timeout=$(KAFKA_WAIT_TIMEOUT) \
		-n $(KAFKA_NAMESPACE) kafka/$(KAFKA_CLUSTER)
	$(KUBECTL) apply -f config/strimzi/topics.yaml
	$(KUBECTL) wait --for=condition=Ready --timeout=$(WAIT_TIMEOUT) \
		-n $(KAFKA_NAMESPACE) kafkatopic --all

# ---- 5. The function and its sources. ----
cluster-function: cluster-tools ## Build the function, push it to the local registry, deploy it.
	@$(REQUIRE_KIND_CONTEXT)
	$(KUBECTL) apply -f config/function/data.yaml
	$(FUNC) deploy --path . --registry $(FUNC_REGISTRY) --namespace $(FUNCTION_NAMESPACE)
	# One request at a time per pod: the func-go runtime's CloudEvents receiver
	# (sdk-go v2.16) can stall overlapping requests (cloudevents/sdk-go#1224).
	$(KUBECTL) patch -n $(FUNCTION_NAMESPACE) ksvc/$(FUNCTION_NAME) --type merge \
		-p '{"spec":{"template":{"spec":{"containerConcurrency":1}}}}'
	$(KUBECTL) wait --for=condition=Ready --timeout=$(WAIT_TIMEOUT) \
		-n $(FUNCTION_NAMESPACE) ksvc/$(FUNCTION_NAME)

cluster-sources: cluster-tools ## Apply the dead-letter KafkaSink and the KafkaSources.
	$(KUBECTL) apply -f config/eventing/dead-letter.yaml
	$(KUBECTL) wait --for=condition=Ready --timeout=$(WAIT_TIMEOUT) \
		-n $(FUNCTION_NAMESPACE) kafkasink --all
	$(KUBECTL) apply -f config/eventing/sources.yaml
	$(KUBECTL) wait --for=condition=Ready --timeout=$(WAIT_TIMEOUT) \
		-n $(FUNCTION_NAMESPACE) kafkasource --all

cluster-status: cluster-tools ## Show the state of Kafka, the function and its sources.
	$(KUBECTL) get -n $(KAFKA_NAMESPACE) kafka,kafkanodepool,kafkatopic
	$(KUBECTL) get -n $(FUNCTION_NAMESPACE) ksvc,kafkasink,kafkasource

# ---- Teardown. ----
cluster-undeploy: cluster-tools ## Remove the sources, the dead-letter sink and the function.
	$(KUBECTL) delete --ignore-not-found -f config/eventing/sources.yaml
	$(KUBECTL) delete --ignore-not-found -f config/eventing/dead-letter.yaml
	@$(REQUIRE_KIND_CONTEXT)
	$(FUNC) delete $(FUNCTION_NAME) --namespace $(FUNCTION_NAMESPACE)
	$(KUBECTL) delete --ignore-not-found -f config/function/data.yaml

cluster-down: cluster-tools ## Delete the kind cluster (Kafka data too) and the registry.
	-$(KIND) delete cluster --name $(KIND_CLUSTER)
	-$(DOCKER) rm -f $(REGISTRY_NAME)

cluster-clean: cluster-down ## cluster-down, then drop the downloaded tools and manifests.
	rm -rf $(TOOLS_DIR) $(CLUSTER_CACHE)
