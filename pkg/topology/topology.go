// Package topology names the Kafka topics, consumer groups and handler routes
// that the code, the local stack and the manifests under config/ share. The
// manifest tests check config/ against these values, so a rename here that
// is not made there fails the build.
package topology

const (
	// Namespace is the Kubernetes namespace of the function and its sources.
	Namespace = "functions"

	// FunctionName is the function's name in func.yaml and its Knative
	// Service name, the sink of every KafkaSource.
	FunctionName = "user-handlers"

	// UsersTopic is the topic every user event is produced to.
	UsersTopic = "users"

	// UsersPartitions is the partition count of [UsersTopic].
	UsersPartitions = 6

	// DeadLetterTopic receives the events a handler failed on for good.
	DeadLetterTopic = "users-dead-letter"

	// DeadLetterPartitions is the partition count of [DeadLetterTopic].
	DeadLetterPartitions = 1

	// RouteExtension is the CloudEvents extension that names the handler a
	// delivery is for. Each KafkaSource sets it with ceOverrides, and the
	// local dispatchers set it the same way.
	RouteExtension = "handler"
)

// Source describes one KafkaSource: the handler it feeds and the consumer
// group it reads with.
type Source struct {
	// Name is the KafkaSource's name; wrapped records get the CloudEvents
	// source /apis/v1/namespaces/<Namespace>/kafkasources/<Name>#<topic>.
	Name string
	// Handler is the route: the value of [RouteExtension].
	Handler string
	// ConsumerGroup is the Kafka consumer group; each handler has its own,
	// so a failing handler never re-runs another.
	ConsumerGroup string
	// Topic is the topic the source reads.
	Topic string
}

// DeliverySpec is a KafkaSource's spec.delivery, in the spec's own notation.
type DeliverySpec struct {
	// Retry is the number of retries after the first attempt.
	Retry int
	// BackoffPolicy is linear or exponential.
	BackoffPolicy string
	// BackoffDelay is the backoff unit, an ISO 8601 duration.
	BackoffDelay string
	// Timeout bounds one attempt, an ISO 8601 duration.
	Timeout string
}

// Delivery is the delivery policy of every KafkaSource: five retries at
// 1, 2, 4, 8 and 16 seconds, so a handler gets about half a minute to come
// back before an event is dead-lettered, and no attempt may hang for the
// 10-minute default.
var Delivery = DeliverySpec{
	Retry:         5,
	BackoffPolicy: "exponential",
	BackoffDelay:  "PT0.5S",
	Timeout:       "PT15S",
}

// Handler routes.
const (
	// WelcomeHandler sends a welcome mail to each created user.
	WelcomeHandler = "welcome"
	// DirectoryHandler keeps the users table current.
	DirectoryHandler = "directory"
)

// Sources lists every KafkaSource of the project, one per handler.
var Sources = []Source{
	{
		Name:          "users-welcome",
		Handler:       WelcomeHandler,
		ConsumerGroup: "users-welcome",
		Topic:         UsersTopic,
	},
	{
		Name:          "users-directory",
		Handler:       DirectoryHandler,
		ConsumerGroup: "users-directory",
		Topic:         UsersTopic,
	},
}
